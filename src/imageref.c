/* PLACEHOLDER: being written; replaced whole by its owner. */
#include "rl_imageref.h"

int rl_imageref_parse(const char *s, struct rl_imageref *out, rl_error_t *err)
{
  return rl_make_error(err, 0, "image references are not built yet");
}
void rl_imageref_free(struct rl_imageref *r) {}
char *rl_imageref_string(const struct rl_imageref *r) { return NULL; }
int rl_registries_conf_load(const char *path, struct rl_registries_conf *c, rl_error_t *err)
{
  return rl_make_error(err, 0, "registries config is not built yet");
}
void rl_registries_conf_free(struct rl_registries_conf *c) {}
int rl_imageref_resolve(const char *name, const struct rl_registries_conf *c,
                        struct rl_imageref **out, size_t *n, rl_error_t *err)
{
  return rl_make_error(err, 0, "image references are not built yet");
}
const struct rl_registry_conf *rl_registries_find(const struct rl_registries_conf *c,
                                                  const char *registry)
{
  return NULL;
}
