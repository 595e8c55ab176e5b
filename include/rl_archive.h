/* Image archives in and out of the store (rless-image only: libarchive,
 * OpenSSL):
 *
 *   save    images -> a tar: docker-archive (docker 25+ style: manifest.json
 *           whose Config and Layers are blobs/sha256/<hex>, plus the OCI
 *           layout files) or oci-archive (the OCI layout alone)
 *   load    either format (also what skopeo writes: <hex>.tar layers,
 *           legacy <id>/layer.tar symlinks) -> blobs, layers, images.json
 *   import  a root filesystem tarball -> a one-layer image
 *
 * The pure parts (JSON of the archive formats, member names, image names,
 * --change) are separate from the I/O so they can be unit tested. */
#ifndef RL_ARCHIVE_H
#define RL_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "rl_error.h"
#include "rl_images.h"
#include "rl_manifest.h"
#include "rl_storage.h"
#include "rl_store.h"
#include "rl_userns.h"
#include "rl_util.h"

#define RL_MT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define RL_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define RL_MT_OCI_CONFIG   "application/vnd.oci.image.config.v1+json"
#define RL_MT_OCI_LAYER    "application/vnd.oci.image.layer.v1.tar"

/* Annotations of index.json entries: the OCI one, and the one docker and
 * containerd write with the full name (their ref.name is only the tag). */
#define RL_ANNOT_REF_NAME   "org.opencontainers.image.ref.name"
#define RL_ANNOT_IMAGE_NAME "io.containerd.image.name"

/* Bounds on what an archive may make rless hold in memory. */
#define RL_ARCHIVE_MAX_META    (16 << 20) /* manifest.json, index.json, manifests, configs */
#define RL_ARCHIVE_MAX_MEMBERS 10000

/* ---- commands ---- */

enum rl_archive_format { RL_ARCHIVE_DOCKER, RL_ARCHIVE_OCI };

struct rl_save_opts {
  enum rl_archive_format format;
  const char *output; /* NULL: stdout */
};

/* Write the images named by refs (names, ids or id prefixes) to one archive. */
int rl_archive_save(struct rl_store *s, const struct rl_save_opts *o, char *const *refs, size_t n,
                    rl_error_t *err);

struct rl_load_opts {
  const char *input; /* NULL: stdin */
  const struct rl_storage *storage;
  const struct rl_userns *ns;
};

/* Read an archive, verify every blob, store and unpack its images and record
 * them.  For the caller to print: *names gets every name recorded, *ids the
 * id of each image that has none. */
int rl_archive_load(struct rl_store *s, const struct rl_load_opts *o, rl_strv_t *names,
                    rl_strv_t *ids, rl_error_t *err);

struct rl_import_opts {
  const char *input; /* path, or "-" for stdin */
  const char *name;  /* NULL: unnamed */
  const char *message;
  char *const *changes; /* NULL-terminated --change values */
  const struct rl_storage *storage;
  const struct rl_userns *ns;
};

/* A root filesystem tarball as a one-layer image; *id is its config digest. */
int rl_archive_import(struct rl_store *s, const struct rl_import_opts *o, char **id,
                      rl_error_t *err);

/* ---- image names ---- */

/* A name from an archive or a command line as images.json keeps it, parsed
 * with rl_imageref_parse (no tag and no digest: :latest).  A name without a
 * registry gets docker.io (library/ for one component) when it is a docker
 * reference (docker-archive RepoTags), else localhost (a local name, as
 * `rless tag` and podman store it: import NAME, an OCI ref.name). */
int rl_archive_name_normalize(const char *name, bool docker, char **out, rl_error_t *err);
/* The RepoTags spelling of a stored name ("busybox:latest"); NULL for a
 * digest reference, which RepoTags cannot hold. */
char *rl_archive_repo_tag(const char *name);
/* Whether an index.json ref.name is a whole reference, not just a tag:
 * docker writes "latest" there and the name in RL_ANNOT_IMAGE_NAME. */
bool rl_archive_ref_is_name(const char *ref_name);

/* ---- archive members ---- */

/* "./a//b/" -> "a/b", "./" -> "".  Absolute names and `..` components are
 * refused (an archive names files inside itself only). */
int rl_archive_member_clean(const char *raw, char **out, rl_error_t *err);
/* The member a symlink `name` -> `target` points to; refused when the
 * target is absolute or climbs out of the archive. */
int rl_archive_link_resolve(const char *name, const char *target, char **out, rl_error_t *err);
/* "blobs/sha256/<hex>" -> "sha256:<hex>"; NULL for any other name. */
char *rl_archive_blob_name_digest(const char *name);

/* ---- docker-archive manifest.json ---- */

struct rl_docker_image {
  char *config;     /* member name, cleaned */
  rl_strv_t tags;   /* RepoTags as written (may be empty) */
  rl_strv_t layers; /* member names, bottom first */
};

int rl_docker_manifest_parse(const char *body, size_t len, struct rl_docker_image **out, size_t *n,
                             rl_error_t *err);
void rl_docker_images_free(struct rl_docker_image *v, size_t n);
/* manifest.json for images (Config and Layers as blobs/sha256/<hex>). */
char *rl_docker_manifest_dump(const struct rl_docker_image *v, size_t n);

/* ---- OCI index.json ---- */

struct rl_oci_entry {
  char *media_type; /* NULL when absent */
  char *digest;
  long long size;
  char *ref_name;   /* RL_ANNOT_REF_NAME or NULL */
  char *image_name; /* RL_ANNOT_IMAGE_NAME or NULL */
};

int rl_oci_index_parse(const char *body, size_t len, struct rl_oci_entry **out, size_t *n,
                       rl_error_t *err);
void rl_oci_entries_free(struct rl_oci_entry *v, size_t n);
/* index.json with both annotations set to `name` where it is not NULL. */
char *rl_oci_index_dump(const struct rl_oci_entry *v, size_t n);

/* ---- manifests and configs rless writes ---- */

/* An OCI image manifest (compact JSON) for a config and layers. */
char *rl_oci_manifest_dump(const struct rl_descriptor *config, const struct rl_descriptor *layers,
                           size_t n);
/* Whether a stored manifest is an OCI one (mediaType, or its config's type
 * when mediaType is absent), i.e. fit for an OCI layout as it is. */
bool rl_manifest_is_oci(const char *body, size_t len);
/* The OCI layer media type for a blob starting with `head`: tar, tar+gzip,
 * tar+zstd; NULL for any other compression (xz, bzip2...). */
const char *rl_archive_layer_type(const unsigned char *head, size_t n);

/* Apply one --change ("CMD ...", "CMD=...", ENTRYPOINT, ENV, WORKDIR, USER;
 * CMD and ENTRYPOINT take a JSON array or a shell command) to an image
 * config's "config" object. */
int rl_archive_change_apply(json_t *config, const char *change, rl_error_t *err);
/* The config of an imported image: `config` (not consumed), one layer. */
char *rl_archive_import_config(const json_t *config, const char *diff_id, const char *os,
                               const char *arch, const char *variant, long long created,
                               const char *message);

/* ---- streaming sha256 and layer blobs (archive_blob.c) ---- */

struct rl_hasher {
  void *ctx; /* EVP_MD_CTX */
};

int rl_hasher_init(struct rl_hasher *h, rl_error_t *err);
void rl_hasher_update(struct rl_hasher *h, const void *data, size_t len);
/* "sha256:<hex>" (frees the context). */
char *rl_hasher_final(struct rl_hasher *h);
void rl_hasher_free(struct rl_hasher *h);

struct rl_tar_blob {
  char *path;     /* the blob file, in the work dir */
  char *digest;   /* its sha256 */
  char *diff_id;  /* sha256 of the uncompressed tar */
  long long size; /* its length */
  const char *media_type;
};

/* Make a layer blob of a tarball read from `fd` (any compression libarchive
 * detects).  gzip and zstd are kept byte for byte; uncompressed too when
 * keep_plain; anything else is gzipped.  With src_path, fd is that file and
 * a kept blob is that file itself; without, fd may be a pipe and a kept blob
 * is copied to dir while it is read. */
int rl_tar_blob_make(int fd, const char *src_path, const char *dir, bool keep_plain,
                     struct rl_tar_blob *out, rl_error_t *err);
void rl_tar_blob_free(struct rl_tar_blob *b);

/* The errno of a libarchive failure worth printing (0 for its own codes). */
struct archive;
int rl_archive_errno(struct archive *a);

/* ---- shared by load and import ---- */

/* Record images under the store lock; recs are consumed. */
int rl_archive_record(struct rl_store *s, struct rl_image_rec *recs, size_t n, rl_error_t *err);
/* images.json's record of an image (names left empty): id, manifest,
 * layers, size, and the runtime "config" object of the config body. */
int rl_archive_rec_init(struct rl_image_rec *rec, const char *manifest_digest,
                        const struct rl_descriptor *config, const struct rl_descriptor *layers,
                        size_t n, const char *config_body, size_t config_len, rl_error_t *err);

/* Remove a work dir below the store's tmp/ and free the path (cleanup attribute). */
void rl_archive_workdir_freep(char **dir);
#define cleanup_workdir __attribute__((cleanup(rl_archive_workdir_freep)))

/* Output to `out` by fill(ctx, fd): a regular file (or a new one) is written
 * beside itself and renamed, so a failure leaves no truncated file; anything
 * else (a fifo, /dev/stdout) is written directly. */
int rl_archive_write_file(const char *out, int (*fill)(void *ctx, int fd, rl_error_t *err),
                          void *ctx, rl_error_t *err);

#endif
