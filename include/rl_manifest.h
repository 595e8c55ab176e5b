/* Image manifests, indexes and configs (OCI and docker schema2): parsed from
 * untrusted JSON into plain structs.  Pure: no I/O. */
#ifndef RL_MANIFEST_H
#define RL_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "rl_error.h"

struct rl_descriptor {
  char *media_type;
  char *digest; /* validated "sha256:<64 lowercase hex>" */
  long long size;
  char *os, *arch, *variant; /* index entries only */
};

enum rl_manifest_kind { RL_MANIFEST_IMAGE, RL_MANIFEST_INDEX };

struct rl_manifest {
  enum rl_manifest_kind kind;
  struct rl_descriptor config;  /* IMAGE */
  struct rl_descriptor *layers; /* IMAGE: layers, bottom first */
  size_t n_layers;
  struct rl_descriptor *manifests; /* INDEX */
  size_t n_manifests;
};

/* media_type from the HTTP Content-Type may be NULL: then the body's mediaType decides. */
int rl_manifest_parse(const char *body, size_t len, const char *media_type, struct rl_manifest *m,
                      rl_error_t *err);
void rl_manifest_free(struct rl_manifest *m);

/* The index entry for os/arch/variant (variant may be NULL: any, preferring
 * the host's); error listing the platforms available when none matches. */
int rl_manifest_select(const struct rl_manifest *index, const char *os, const char *arch,
                       const char *variant, const struct rl_descriptor **out, rl_error_t *err);

/* The same for a given host platform {os, arch, variant} (tests). */
int rl_manifest_select_for(const struct rl_manifest *index, const char *os, const char *arch,
                           const char *variant, const char *const host[3],
                           const struct rl_descriptor **out, rl_error_t *err);

/* "linux/amd64" for this machine (variant for arm). */
void rl_platform_host(const char **os, const char **arch, const char **variant);
/* Parse --platform os/arch[/variant]. */
int rl_platform_parse(const char *s, char **os, char **arch, char **variant, rl_error_t *err);

struct rl_image_config {
  char **entrypoint, **cmd, **env; /* NULL-terminated, NULL when absent */
  char *working_dir, *user, *stop_signal;
  char *os, *arch;
  char **diff_ids; /* rootfs.diff_ids, NULL-terminated */
};

int rl_image_config_parse(const char *body, size_t len, struct rl_image_config *c, rl_error_t *err);
void rl_image_config_free(struct rl_image_config *c);

/* Layer media types rless can unpack (tar, tar+gzip, tar+zstd; OCI and docker). */
bool rl_layer_media_type_ok(const char *media_type);

#endif
