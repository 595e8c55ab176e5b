/* libFuzzer target for the manifest, index and image config parsers: the
 * same untrusted bytes go through rl_manifest_parse (under each kind of
 * Content-Type a registry may send), rl_manifest_select on any index that
 * parses, rl_image_config_parse, and the JSON of image archives: a
 * docker-archive's manifest.json (rl_docker_manifest_parse) and an OCI
 * layout's index.json (rl_oci_index_parse), each also dumped and parsed
 * again.  Whatever parses must hold the invariants the callers rely on
 * (digests validated, platforms complete, archive member names cleaned);
 * a violation aborts.  Built and run by `make fuzz` (tests/fuzz/run.sh).
 */
#include "fuzz.h"
#include "rl_archive.h"
#include "rl_manifest.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

static const char *const content_types[] = {
    NULL,
    "application/json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
};

static void check_descriptor(const struct rl_descriptor *d, bool entry)
{
  FUZZ_CHECK(fuzz_digest_ok(d->digest) && d->media_type != NULL && d->size >= 0);
  /* An entry has both os and architecture or neither; images have none. */
  FUZZ_CHECK((d->os == NULL) == (d->arch == NULL) && (entry || (!d->os && !d->variant)));
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
    FUZZ_CHECK_ERR(r, err);
    FUZZ_CHECK((r == 0) == inside && (r < 0 || strcmp(d->os, wants[i][0]) == 0));
    rl_error_free(&err);
  }
}

static void fuzz_manifest(const char *body, size_t size, const char *ct)
{
  struct rl_manifest m;
  rl_error_t err = NULL;
  int r = rl_manifest_parse(body, size, ct, &m, &err);
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK(r == 0 || (!m.layers && !m.manifests && !m.config.digest));
  if (r == 0 && m.kind == RL_MANIFEST_IMAGE) {
    check_descriptor(&m.config, false);
    for (size_t i = 0; i < m.n_layers; i++)
      check_descriptor(&m.layers[i], false);
    FUZZ_CHECK(m.n_layers <= 1000 && !m.manifests);
  } else if (r == 0) {
    for (size_t i = 0; i < m.n_manifests; i++)
      check_descriptor(&m.manifests[i], true);
    FUZZ_CHECK(m.n_manifests <= 1000 && !m.layers);
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
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK(r < 0 || c.diff_ids != NULL);
  for (size_t i = 0; r == 0 && c.diff_ids[i]; i++)
    FUZZ_CHECK(fuzz_digest_ok(c.diff_ids[i]));
  for (size_t i = 0; r == 0 && c.env && c.env[i]; i++)
    FUZZ_CHECK(strchr(c.env[i], '=') != NULL && c.env[i][0] != '=');
  rl_error_free(&err);
  rl_image_config_free(&c);
}

/* A member name manifest.json may give: cleaned, and a file (not the top). */
static bool member_ok(const char *m)
{
  return m && *m && m[0] != '/' && !strstr(m, "//") && strcmp(m, "..") && strncmp(m, "../", 3) &&
         !strstr(m, "/../") && (strlen(m) < 3 || strcmp(m + strlen(m) - 3, "/.."));
}

static void check_docker_images(const struct rl_docker_image *a, const struct rl_docker_image *b,
                                size_t n)
{
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(strcmp(a[i].config, b[i].config) == 0 && a[i].tags.n == b[i].tags.n);
    FUZZ_CHECK(a[i].layers.n == b[i].layers.n);
    for (size_t j = 0; j < a[i].tags.n; j++)
      FUZZ_CHECK(strcmp(a[i].tags.v[j], b[i].tags.v[j]) == 0);
    for (size_t j = 0; j < a[i].layers.n; j++)
      FUZZ_CHECK(strcmp(a[i].layers.v[j], b[i].layers.v[j]) == 0);
  }
}

static void fuzz_docker_archive(const char *body, size_t size)
{
  struct rl_docker_image *v = NULL, *again = NULL;
  size_t n = 0, n2 = 0;
  rl_error_t err = NULL;
  int r = rl_docker_manifest_parse(body, size, &v, &n, &err);
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK((r == 0) == (n > 0) && n <= 1000);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(member_ok(v[i].config) && v[i].layers.n <= 1000);
    for (size_t j = 0; j < v[i].layers.n; j++)
      FUZZ_CHECK(member_ok(v[i].layers.v[j]));
  }
  if (r == 0) {
    cleanup_free char *dump = rl_docker_manifest_dump(v, n);
    FUZZ_CHECK(dump && rl_docker_manifest_parse(dump, strlen(dump), &again, &n2, NULL) == 0);
    FUZZ_CHECK(n2 == n);
    check_docker_images(v, again, n);
  }
  rl_docker_images_free(v, n);
  rl_docker_images_free(again, n2);
  rl_error_free(&err);
}

static void fuzz_oci_layout(const char *body, size_t size)
{
  struct rl_oci_entry *v = NULL, *again = NULL;
  size_t n = 0, n2 = 0;
  rl_error_t err = NULL;
  int r = rl_oci_index_parse(body, size, &v, &n, &err);
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK((r == 0) == (n > 0) && n <= 1000);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(fuzz_digest_ok(v[i].digest) && v[i].size >= 0);
  if (r == 0) {
    cleanup_free char *dump = rl_oci_index_dump(v, n);
    FUZZ_CHECK(dump && rl_oci_index_parse(dump, strlen(dump), &again, &n2, NULL) == 0 && n2 == n);
    for (size_t i = 0; i < n; i++)
      FUZZ_CHECK(strcmp(v[i].digest, again[i].digest) == 0 && v[i].size == again[i].size &&
                 fuzz_streq(v[i].ref_name, again[i].ref_name) &&
                 fuzz_streq(v[i].image_name, again[i].image_name));
  }
  rl_oci_entries_free(v, n);
  rl_oci_entries_free(again, n2);
  rl_error_free(&err);
  (void)rl_manifest_is_oci(body, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* An exact-size copy, so reading past `size` is an ASan report. */
  char *body = rl_xmalloc(size ? size : 1);
  memcpy(body, data, size);
  for (size_t i = 0; i < RL_ARRAY_SIZE(content_types); i++)
    fuzz_manifest(body, size, content_types[i]);
  fuzz_config(body, size);
  fuzz_docker_archive(body, size);
  fuzz_oci_layout(body, size);
  free(body);
  return 0;
}
