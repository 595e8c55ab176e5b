/* libFuzzer target for the manifest, index and image config parsers: the
 * same untrusted bytes go through rl_manifest_parse (under each kind of
 * Content-Type a registry may send), rl_manifest_select on any index that
 * parses, and rl_image_config_parse.  Whatever parses must hold the
 * invariants the callers rely on; a violation aborts.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_manifest.c src/manifest.c src/error.c src/util.c \
 *     $(pkg-config --cflags --libs jansson) -o build/fuzz_manifest
 *   build/fuzz_manifest -max_total_time=60 tests/fuzz/corpus/manifest
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rl_manifest.h"
#include "rl_util.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    NULL,
    "application/json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
};

static bool digest_ok(const char *d)
{
  if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
    return false;
  return strspn(d + 7, "0123456789abcdef") == 64;
}

static void check_descriptor(const struct rl_descriptor *d, bool entry)
{
  if (!digest_ok(d->digest) || d->media_type == NULL || d->size < 0)
    abort();
  /* An entry has both os and architecture or neither; images have none. */
  if ((d->os == NULL) != (d->arch == NULL) || (!entry && (d->os || d->variant)))
    abort();
}

static void check_select(const struct rl_manifest *m)
{
  static const char *const wants[][3] = {{"linux", "amd64", NULL},
                                         {"linux", "arm", "v7"},
                                         {"linux", "arm64", NULL},
                                         {"unknown", "unknown", NULL},
                                         {"linux", "arm64", "v8"}};
  for (size_t i = 0; i < RL_ARRAY_SIZE(wants); i++) {
    const struct rl_descriptor *d = NULL;
    rl_error_t err = NULL;
    int r = rl_manifest_select(m, wants[i][0], wants[i][1], wants[i][2], &d, &err);
    bool inside = d >= m->manifests && d < m->manifests + m->n_manifests;
    if ((r == 0) != (err == NULL) || (r == 0) != inside || (r == 0 && strcmp(d->os, wants[i][0])))
      abort();
    rl_error_free(&err);
  }
}

static void fuzz_manifest(const char *body, size_t size, const char *ct)
{
  struct rl_manifest m;
  rl_error_t err = NULL;
  int r = rl_manifest_parse(body, size, ct, &m, &err);
  if ((r == 0) != (err == NULL) || (r < 0 && (m.layers || m.manifests || m.config.digest)))
    abort();
  if (r == 0 && m.kind == RL_MANIFEST_IMAGE) {
    check_descriptor(&m.config, false);
    for (size_t i = 0; i < m.n_layers; i++)
      check_descriptor(&m.layers[i], false);
    if (m.n_layers > 1000 || m.manifests)
      abort();
  } else if (r == 0) {
    for (size_t i = 0; i < m.n_manifests; i++)
      check_descriptor(&m.manifests[i], true);
    if (m.n_manifests > 1000 || m.layers)
      abort();
    check_select(&m);
  }
  rl_error_free(&err);
  rl_manifest_free(&m);
}

static void fuzz_config(const char *body, size_t size)
{
  struct rl_image_config c;
  rl_error_t err = NULL;
  int r = rl_image_config_parse(body, size, &c, &err);
  if ((r == 0) != (err == NULL) || (r == 0 && c.diff_ids == NULL))
    abort();
  for (size_t i = 0; r == 0 && c.diff_ids[i]; i++)
    if (!digest_ok(c.diff_ids[i]))
      abort();
  for (size_t i = 0; r == 0 && c.env && c.env[i]; i++)
    if (strchr(c.env[i], '=') == NULL || c.env[i][0] == '=')
      abort();
  rl_error_free(&err);
  rl_image_config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* An exact-size copy, so reading past `size` is an ASan report. */
  char *body = rl_xmalloc(size);
  memcpy(body, data, size);
  for (size_t i = 0; i < RL_ARRAY_SIZE(content_types); i++)
    fuzz_manifest(body, size, content_types[i]);
  fuzz_config(body, size);
  free(body);
  return 0;
}
