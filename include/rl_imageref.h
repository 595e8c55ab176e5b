/* Image references as docker parses them, and short names resolved through
 * the registries config (in the spirit of containers-registries.conf, as JSON). */
#ifndef RL_IMAGEREF_H
#define RL_IMAGEREF_H

#include <stdbool.h>
#include <stddef.h>

#include "rl_error.h"

struct rl_imageref {
  char *registry;   /* "docker.io", "127.0.0.1:5000"; NULL when the name had none (short name) */
  char *repository; /* "library/alpine" (docker.io's library/ added for one-component names) */
  char *tag;        /* "latest" when neither tag nor digest was given; NULL with a digest only */
  char *digest;     /* "sha256:<64 hex>" or NULL */
};

/* Parse and validate (lowercase repository components, tag charset and
 * length, digest algorithm and hex length).  A name whose first component has
 * no '.', ':' and is not "localhost" has no registry (registry NULL). */
int rl_imageref_parse(const char *s, struct rl_imageref *out, rl_error_t *err);
void rl_imageref_free(struct rl_imageref *r);
/* "registry/repository[:tag][@digest]" (registry omitted when NULL). */
char *rl_imageref_string(const struct rl_imageref *r);

/* docker's NameTotalLengthMax: the limit on rl_imageref_name_len. */
#define RL_IMAGEREF_NAME_MAX 255
/* Length of the canonical name REGISTRY/REPOSITORY (docker.io's library/ counts). */
size_t rl_imageref_name_len(const struct rl_imageref *r);
/* A registry name alone (`rless login`, the config's hosts): host[:port] by
 * the same rules as a reference's registry; index.docker.io is folded to
 * docker.io.  *out is the canonical name (free it). */
int rl_imageref_parse_registry(const char *s, char **out, rl_error_t *err);

struct rl_registry_conf {
  char *prefix;   /* "127.0.0.1:5000" or "docker.io" (a registry host[:port]) */
  bool insecure;  /* plain http */
  char **mirrors; /* NULL-terminated list of registry hosts tried first */
};

struct rl_registries_conf {
  char **search; /* unqualified-search-registries, NULL-terminated; default {"docker.io"} */
  char **alias_names, **alias_targets; /* parallel NULL-terminated lists */
  struct rl_registry_conf *registries;
  size_t n_registries;
};

/* Load the JSON config: `path` when given, else $RLESS_REGISTRIES_CONF, else
 * $XDG_CONFIG_HOME/rless/registries.json (~/.config/...), else built-in
 * defaults.  A missing default file is not an error; a missing explicit one is. */
int rl_registries_conf_load(const char *path, struct rl_registries_conf *c, rl_error_t *err);
void rl_registries_conf_free(struct rl_registries_conf *c);

/* Candidates for `name`, in the order to try: an alias gives its target; a
 * short name one per search registry (docker.io gets library/ for one
 * component); a qualified name itself.  *out is an array of *n refs. */
int rl_imageref_resolve(const char *name, const struct rl_registries_conf *c,
                        struct rl_imageref **out, size_t *n, rl_error_t *err);

/* The config entry for a registry host, or NULL. */
const struct rl_registry_conf *rl_registries_find(const struct rl_registries_conf *c,
                                                  const char *registry);

#endif
