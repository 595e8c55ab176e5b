/* Unit tests for the pure parts of archives (src/archive_meta.c) and for
 * layer blobs made from tarballs (src/archive_blob.c, on temp files). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rl_archive.h"
#include "rl_error.h"
#include "rl_util.h"

int rl_log_level = 0;

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void expect_fail(int r, rl_error_t *err, const char *needle)
{
  assert_int_equal(r, -1);
  assert_non_null(*err);
  if (strstr((*err)->msg, needle) == NULL)
    fail_msg("error `%s` does not mention `%s`", (*err)->msg, needle);
  rl_error_free(err);
}

/* ---- member names ---- */

static void check_clean(const char *raw, const char *want)
{
  char *out = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_archive_member_clean(raw, &out, &err), 0);
  assert_string_equal(out, want);
  free(out);
}

static void test_member_clean(void **state)
{
  check_clean("manifest.json", "manifest.json");
  check_clean("./blobs//sha256/" HEX_A, "blobs/sha256/" HEX_A);
  check_clean("blobs/", "blobs");
  check_clean("./", "");
  check_clean("a/./b/.", "a/b");
  char *out = NULL;
  rl_error_t err = NULL;
  expect_fail(rl_archive_member_clean("../x", &out, &err), &err, "`..`");
  expect_fail(rl_archive_member_clean("a/../b", &out, &err), &err, "`..`");
  expect_fail(rl_archive_member_clean("a/..", &out, &err), &err, "`..`");
  expect_fail(rl_archive_member_clean("/etc/passwd", &out, &err), &err, "absolute");
  expect_fail(rl_archive_member_clean("", &out, &err), &err, "without a name");
  expect_fail(rl_archive_member_clean(NULL, &out, &err), &err, "without a name");
  /* A control byte in a name is refused and not echoed to the terminal. */
  expect_fail(rl_archive_member_clean("a\x1b[2J", &out, &err), &err,
              "archive member `a?[2J` has control characters");
  expect_fail(rl_archive_member_clean("../\x1b[2J", &out, &err), &err, "`../?[2J`");
  assert_null(out);
}

static void check_link(const char *name, const char *target, const char *want)
{
  char *out = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_archive_link_resolve(name, target, &out, &err), 0);
  assert_string_equal(out, want);
  free(out);
}

static void test_link_resolve(void **state)
{
  /* skopeo's legacy layout: <id>/layer.tar -> ../<hex>.tar */
  check_link("f26d/layer.tar", "../" HEX_A ".tar", HEX_A ".tar");
  check_link("a", "b", "b");
  check_link("a/b/c", "./d/../e", "a/b/e");
  char *out = NULL;
  rl_error_t err = NULL;
  expect_fail(rl_archive_link_resolve("a/b", "../../x", &out, &err), &err, "outside");
  expect_fail(rl_archive_link_resolve("a", "/etc/passwd", &out, &err), &err, "outside");
  expect_fail(rl_archive_link_resolve("a", "", &out, &err), &err, "outside");
  expect_fail(rl_archive_link_resolve("a/b", "..", &out, &err), &err, "outside");
  expect_fail(rl_archive_link_resolve("a", "b\n", &out, &err), &err, "`b?`, a name with control");
  assert_null(out);
}

static void test_blob_name_digest(void **state)
{
  char *d = rl_archive_blob_name_digest("blobs/sha256/" HEX_A);
  assert_string_equal(d, "sha256:" HEX_A);
  free(d);
  assert_null(rl_archive_blob_name_digest("blobs/sha256/" HEX_A "x"));
  assert_null(rl_archive_blob_name_digest("blobs/sha512/" HEX_A));
  assert_null(rl_archive_blob_name_digest(HEX_A ".tar"));
  assert_null(rl_archive_blob_name_digest("blobs/sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                          "AAAAAAAAAAAAAAAAAAAAAAAA"));
}

/* ---- docker-archive manifest.json ---- */

static void test_docker_manifest_skopeo(void **state)
{
  static const char body[] =
      "[{\"Config\":\"" HEX_A ".json\",\"RepoTags\":[\"example.com/t/bb:v1\",\"bb:2\"],"
      "\"Layers\":[\"" HEX_B ".tar\",\"./x/layer.tar\"]}]";
  struct rl_docker_image *v = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_docker_manifest_parse(body, strlen(body), &v, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].config, HEX_A ".json");
  assert_int_equal(v[0].tags.n, 2);
  assert_string_equal(v[0].tags.v[1], "bb:2");
  assert_int_equal(v[0].layers.n, 2);
  assert_string_equal(v[0].layers.v[0], HEX_B ".tar");
  assert_string_equal(v[0].layers.v[1], "x/layer.tar");
  rl_docker_images_free(v, n);
}

static void test_docker_manifest_untagged_roundtrip(void **state)
{
  struct rl_docker_image in[2] = {0};
  in[0].config = rl_xstrdup("blobs/sha256/" HEX_A);
  rl_strv_push(&in[0].layers, "blobs/sha256/" HEX_B);
  in[1].config = rl_xstrdup("blobs/sha256/" HEX_B);
  rl_strv_push(&in[1].tags, "busybox:latest");
  char *text = rl_docker_manifest_dump(in, 2);
  /* docker writes null for an untagged image. */
  assert_non_null(strstr(text, "\"RepoTags\":null"));
  struct rl_docker_image *v = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_docker_manifest_parse(text, strlen(text), &v, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].config, "blobs/sha256/" HEX_A);
  assert_int_equal(v[0].tags.n, 0);
  assert_string_equal(v[0].layers.v[0], "blobs/sha256/" HEX_B);
  assert_int_equal(v[1].layers.n, 0);
  assert_string_equal(v[1].tags.v[0], "busybox:latest");
  rl_docker_images_free(v, n);
  free(text);
  free(in[0].config);
  free(in[1].config);
  rl_strv_free(&in[0].layers);
  rl_strv_free(&in[1].tags);
}

static void docker_bad(const char *body, const char *needle)
{
  struct rl_docker_image *v = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  expect_fail(rl_docker_manifest_parse(body, strlen(body), &v, &n, &err), &err, needle);
  assert_null(v);
  assert_int_equal(n, 0);
}

static void test_docker_manifest_bad(void **state)
{
  docker_bad("{", "not valid JSON");
  docker_bad("{}", "not a list");
  docker_bad("[]", "not a list");
  docker_bad("[1]", "[0] is not an object");
  docker_bad("[{\"Layers\":[]}]", "[0].Config is not a string");
  docker_bad("[{\"Config\":\"c\"}]", "[0].Layers is not a list");
  docker_bad("[{\"Config\":\"c\",\"Layers\":[1]}]", "[0].Layers[0] is not a string");
  docker_bad("[{\"Config\":\"c\",\"Layers\":[],\"RepoTags\":\"x\"}]", "RepoTags is not a list");
  docker_bad("[{\"Config\":\"c\",\"Layers\":[],\"RepoTags\":[2]}]", "RepoTags[0]");
  docker_bad("[{\"Config\":\"../c\",\"Layers\":[]}]", "[0].Config: archive member `../c`");
  docker_bad("[{\"Config\":\"c\",\"Layers\":[\"a\",\"/etc/x\"]}]",
             "[0].Layers[1]: archive member `/etc/x` has an absolute name");
  docker_bad("[{\"Config\":\"c\",\"Config\":\"d\",\"Layers\":[]}]", "not valid JSON");
}

/* ---- OCI index.json ---- */

static void test_oci_index(void **state)
{
  static const char body[] =
      "{\"schemaVersion\":2,\"manifests\":["
      "{\"mediaType\":\"" RL_MT_OCI_MANIFEST "\",\"digest\":\"sha256:" HEX_A "\",\"size\":405,"
      "\"annotations\":{\"" RL_ANNOT_REF_NAME "\":\"latest\",\"" RL_ANNOT_IMAGE_NAME
      "\":\"docker.io/library/busybox:latest\"}},"
      "{\"digest\":\"sha256:" HEX_B "\",\"size\":0}]}";
  struct rl_oci_entry *v = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_oci_index_parse(body, strlen(body), &v, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].media_type, RL_MT_OCI_MANIFEST);
  assert_string_equal(v[0].digest, "sha256:" HEX_A);
  assert_int_equal(v[0].size, 405);
  assert_string_equal(v[0].ref_name, "latest");
  assert_string_equal(v[0].image_name, "docker.io/library/busybox:latest");
  assert_null(v[1].media_type);
  assert_null(v[1].ref_name);
  assert_null(v[1].image_name);
  rl_oci_entries_free(v, n);
}

static void test_oci_index_roundtrip(void **state)
{
  struct rl_oci_entry in[2] = {
      {.digest = "sha256:" HEX_A, .size = 10, .ref_name = "localhost/x:1", .image_name = "n"},
      {.digest = "sha256:" HEX_B, .size = 20},
  };
  char *text = rl_oci_index_dump(in, 2);
  assert_non_null(strstr(text, "\"mediaType\":\"" RL_MT_OCI_INDEX "\""));
  struct rl_oci_entry *v = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_oci_index_parse(text, strlen(text), &v, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].media_type, RL_MT_OCI_MANIFEST);
  assert_string_equal(v[0].ref_name, "localhost/x:1");
  assert_string_equal(v[0].image_name, "n");
  assert_int_equal(v[1].size, 20);
  assert_null(v[1].ref_name);
  rl_oci_entries_free(v, n);
  free(text);
}

static void oci_bad(const char *body, const char *needle)
{
  struct rl_oci_entry *v = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  expect_fail(rl_oci_index_parse(body, strlen(body), &v, &n, &err), &err, needle);
  assert_null(v);
}

static void test_oci_index_bad(void **state)
{
  oci_bad("[]", "not an OCI image index");
  oci_bad("{\"schemaVersion\":1,\"manifests\":[]}", "not an OCI image index");
  oci_bad("{\"schemaVersion\":2}", "manifests is not a list");
  oci_bad("{\"manifests\":[]}", "manifests is not a list");
  oci_bad("{\"manifests\":[{\"digest\":\"sha256:abc\",\"size\":1}]}",
          "manifests[0].digest is not a sha256 digest");
  oci_bad("{\"manifests\":[{\"digest\":\"sha256:" HEX_A "\"}]}", "manifests[0].size");
  oci_bad("{\"manifests\":[{\"digest\":\"sha256:" HEX_A "\",\"size\":-1}]}", "manifests[0].size");
  oci_bad("{\"manifests\":[{\"digest\":\"sha256:" HEX_A "\",\"size\":1,\"annotations\":[]}]}",
          "annotations is not an object");
  oci_bad("{\"manifests\":[{\"digest\":\"sha256:" HEX_A
          "\",\"size\":1,\"annotations\":{\"" RL_ANNOT_REF_NAME "\":3}}]}",
          "manifests[0].annotations." RL_ANNOT_REF_NAME " is not a string");
}

/* ---- image names ---- */

static void check_name(const char *typed, bool docker, const char *want)
{
  char *out = NULL;
  rl_error_t err = NULL;
  if (rl_archive_name_normalize(typed, docker, &out, &err) < 0)
    fail_msg("`%s`: %s", typed, err->msg);
  assert_string_equal(out, want);
  free(out);
}

static void test_name_normalize(void **state)
{
  /* docker-archive RepoTags are docker references. */
  check_name("busybox", true, "docker.io/library/busybox:latest");
  check_name("busybox:1.36", true, "docker.io/library/busybox:1.36");
  check_name("user/app:1", true, "docker.io/user/app:1");
  check_name("docker.io/busybox", true, "docker.io/library/busybox:latest");
  check_name("index.docker.io/library/busybox:2", true, "docker.io/library/busybox:2");
  check_name("example.com/t/bb:v1", true, "example.com/t/bb:v1");
  check_name("127.0.0.1:5000/x", true, "127.0.0.1:5000/x:latest");
  /* Local names (import, OCI ref.name) as `rless tag` stores them. */
  check_name("busybox", false, "localhost/busybox:latest");
  check_name("user/app:1", false, "localhost/user/app:1");
  check_name("library/busybox", false, "localhost/library/busybox:latest");
  check_name("localhost/mine:2", false, "localhost/mine:2");
  check_name("docker.io/busybox", false, "docker.io/library/busybox:latest");
  check_name("example.com/t/bb", false, "example.com/t/bb:latest");
  check_name("busybox@sha256:" HEX_A, true, "docker.io/library/busybox@sha256:" HEX_A);
  char *out = NULL;
  rl_error_t err = NULL;
  expect_fail(rl_archive_name_normalize("BusyBox", true, &out, &err), &err, "image name `BusyBox`");
  expect_fail(rl_archive_name_normalize("a b", false, &out, &err), &err, "image name `a b`");
  expect_fail(rl_archive_name_normalize("", false, &out, &err), &err, "image name ``");
  assert_null(out);
}

static void check_tag(const char *name, const char *want)
{
  char *t = rl_archive_repo_tag(name);
  if (want == NULL) {
    assert_null(t);
    return;
  }
  assert_string_equal(t, want);
  free(t);
}

static void test_repo_tag(void **state)
{
  check_tag("docker.io/library/busybox:latest", "busybox:latest");
  check_tag("docker.io/user/app:1", "user/app:1");
  check_tag("localhost/mine:2", "localhost/mine:2");
  check_tag("127.0.0.1:5000/x:y", "127.0.0.1:5000/x:y");
  check_tag("docker.io/library/busybox@sha256:" HEX_A, NULL);
  assert_true(rl_archive_ref_is_name("busybox:latest"));
  assert_true(rl_archive_ref_is_name("example.com/x"));
  assert_false(rl_archive_ref_is_name("latest"));
  assert_false(rl_archive_ref_is_name("v1.2"));
  assert_false(rl_archive_ref_is_name(NULL));
}

/* ---- --change ---- */

static json_t *apply_all(const char *const *changes)
{
  json_t *c = json_object();
  for (size_t i = 0; changes[i]; i++) {
    rl_error_t err = NULL;
    if (rl_archive_change_apply(c, changes[i], &err) < 0)
      fail_msg("--change `%s`: %s", changes[i], err->msg);
  }
  return c;
}

static void assert_json(json_t *j, const char *want)
{
  char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(got, want);
  free(got);
}

static void test_change_forms(void **state)
{
  static const char *const changes[] = {
      "CMD [\"/bin/echo\", \"hi\"]",
      "ENTRYPOINT=/bin/sh -x",
      "env A=1",
      "ENV=B=two words",
      "ENV C 3",
      "ENV A=replaced",
      "WORKDIR /srv",
      "USER=1000:1000",
      NULL,
  };
  json_t *c = apply_all(changes);
  assert_json(c, "{\"Cmd\":[\"/bin/echo\",\"hi\"],"
                 "\"Entrypoint\":[\"/bin/sh\",\"-c\",\"/bin/sh -x\"],"
                 "\"Env\":[\"A=replaced\",\"B=two words\",\"C=3\"],"
                 "\"User\":\"1000:1000\",\"WorkingDir\":\"/srv\"}");
  json_decref(c);
}

static void test_change_shell_fallback(void **state)
{
  /* Not a JSON list of strings: a shell command, as docker does. */
  static const char *const changes[] = {"CMD [ -f /x ] && echo yes", NULL};
  json_t *c = apply_all(changes);
  assert_json(c, "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[ -f /x ] && echo yes\"]}");
  json_decref(c);
  static const char *const mixed[] = {"CMD=[\"a\", 1]", NULL};
  c = apply_all(mixed);
  assert_json(c, "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[\\\"a\\\", 1]\"]}");
  json_decref(c);
}

static void test_change_bad(void **state)
{
  json_t *c = json_object();
  rl_error_t err = NULL;
  expect_fail(rl_archive_change_apply(c, "EXPOSE 80", &err), &err,
              "unsupported --change instruction `EXPOSE`");
  expect_fail(rl_archive_change_apply(c, "WORKDIR srv", &err), &err, "not an absolute path");
  expect_fail(rl_archive_change_apply(c, "ENV NOVALUE", &err), &err, "not KEY=VALUE");
  expect_fail(rl_archive_change_apply(c, "ENV =x", &err), &err, "not KEY=VALUE");
  expect_fail(rl_archive_change_apply(c, "CMD", &err), &err, "has no value");
  expect_fail(rl_archive_change_apply(c, "CMD   ", &err), &err, "has no value");
  expect_fail(rl_archive_change_apply(c, "USER a b", &err), &err, "not a user");
  expect_fail(rl_archive_change_apply(c, "=x", &err), &err, "not INSTRUCTION VALUE");
  expect_fail(rl_archive_change_apply(c, "CMD:x", &err), &err, "not INSTRUCTION VALUE");
  assert_int_equal(json_object_size(c), 0);
  json_decref(c);
}

/* ---- manifests and configs ---- */

static void test_import_config(void **state)
{
  json_t *c = json_pack("{s:[s]}", "Cmd", "sh");
  char *text = rl_archive_import_config(c, "sha256:" HEX_A, "linux", "arm64", "v8", 86400 + 61,
                                        "from a tarball");
  json_t *j = json_loads(text, 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "created")), "1970-01-02T00:01:01Z");
  assert_string_equal(json_string_value(json_object_get(j, "os")), "linux");
  assert_string_equal(json_string_value(json_object_get(j, "architecture")), "arm64");
  assert_string_equal(json_string_value(json_object_get(j, "variant")), "v8");
  assert_json(json_object_get(j, "config"), "{\"Cmd\":[\"sh\"]}");
  assert_json(json_object_get(j, "rootfs"),
              "{\"diff_ids\":[\"sha256:" HEX_A "\"],\"type\":\"layers\"}");
  json_t *h = json_array_get(json_object_get(j, "history"), 0);
  assert_string_equal(json_string_value(json_object_get(h, "comment")), "from a tarball");
  assert_string_equal(json_string_value(json_object_get(h, "created_by")), "rless import");
  /* The caller's object is copied, not taken. */
  assert_int_equal(c->refcount, 1);
  json_decref(j);
  free(text);
  text = rl_archive_import_config(c, "sha256:" HEX_A, "linux", "amd64", NULL, 0, NULL);
  j = json_loads(text, 0, NULL);
  assert_null(json_object_get(j, "variant"));
  assert_null(json_object_get(json_array_get(json_object_get(j, "history"), 0), "comment"));
  json_decref(j);
  free(text);
  json_decref(c);
}

static void test_oci_manifest_dump(void **state)
{
  struct rl_descriptor config = {
      .media_type = RL_MT_OCI_CONFIG, .digest = "sha256:" HEX_A, .size = 271};
  struct rl_descriptor layers[] = {
      {.media_type = RL_MT_OCI_LAYER "+gzip", .digest = "sha256:" HEX_B, .size = 1000}};
  char *text = rl_oci_manifest_dump(&config, layers, 1);
  assert_string_equal(text, "{\"schemaVersion\":2,\"mediaType\":\"" RL_MT_OCI_MANIFEST "\","
                            "\"config\":{\"mediaType\":\"" RL_MT_OCI_CONFIG
                            "\",\"digest\":\"sha256:" HEX_A "\",\"size\":271},"
                            "\"layers\":[{\"mediaType\":\"" RL_MT_OCI_LAYER
                            "+gzip\",\"digest\":\"sha256:" HEX_B "\",\"size\":1000}]}");
  assert_true(rl_manifest_is_oci(text, strlen(text)));
  free(text);
  static const char schema2[] =
      "{\"schemaVersion\":2,\"mediaType\":"
      "\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":"
      "\"application/vnd.docker.container.image.v1+json\"}}";
  assert_false(rl_manifest_is_oci(schema2, strlen(schema2)));
  static const char untyped[] =
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" RL_MT_OCI_CONFIG "\"}}";
  assert_true(rl_manifest_is_oci(untyped, strlen(untyped)));
  assert_false(rl_manifest_is_oci("nope", 4));
}

static void test_layer_type(void **state)
{
  static const unsigned char gz[] = {0x1f, 0x8b, 8, 0}, zst[] = {0x28, 0xb5, 0x2f, 0xfd, 0},
                             xz[] = {0xfd, '7', 'z', 'X', 'Z', 0}, bz[] = "BZh91AY",
                             tar[] = "bin/\0\0\0";
  assert_string_equal(rl_archive_layer_type(gz, sizeof(gz)), RL_MT_OCI_LAYER "+gzip");
  assert_string_equal(rl_archive_layer_type(zst, sizeof(zst)), RL_MT_OCI_LAYER "+zstd");
  assert_null(rl_archive_layer_type(xz, sizeof(xz)));
  assert_null(rl_archive_layer_type(bz, sizeof(bz)));
  assert_string_equal(rl_archive_layer_type(tar, sizeof(tar)), RL_MT_OCI_LAYER);
  /* The gzip magic cut short is no gzip. */
  assert_string_equal(rl_archive_layer_type(gz, 1), RL_MT_OCI_LAYER);
  assert_string_equal(rl_archive_layer_type(gz, 0), RL_MT_OCI_LAYER);
}

/* ---- layer blobs ---- */

struct tmp {
  char dir[64];
};

static int make_tmp(void **state)
{
  struct tmp *t = rl_xcalloc(1, sizeof(*t));
  snprintf(t->dir, sizeof(t->dir), "/tmp/rless-test-archive-XXXXXX");
  if (mkdtemp(t->dir) == NULL)
    return -1;
  *state = t;
  return 0;
}

static int drop_tmp(void **state)
{
  struct tmp *t = *state;
  rl_rmtree(t->dir, NULL);
  free(t);
  return 0;
}

/* A small tar with libarchive, through `filter` (ARCHIVE_FILTER_*), to path. */
static void write_tar(const char *path, int filter)
{
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "etc/hostname");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 5);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, "host\n", 5), 5);
  archive_entry_free(e);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

static char *file_digest(const char *path, long long *size)
{
  size_t len = 0;
  char *data = rl_read_file_at(AT_FDCWD, path, 1 << 24, &len);
  assert_non_null(data);
  char *d = rl_sha256_digest(data, len);
  free(data);
  if (size)
    *size = (long long)len;
  return d;
}

static void make_blob(const char *path, const char *src, const char *dir, bool keep_plain,
                      struct rl_tar_blob *b)
{
  rl_error_t err = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  if (rl_tar_blob_make(fd, src, dir, keep_plain, b, &err) < 0)
    fail_msg("rl_tar_blob_make `%s`: %s", path, err->msg);
  close(fd);
}

static void test_tar_blob(void **state)
{
  struct tmp *t = *state;
  char *plain = rl_xasprintf("%s/plain.tar", t->dir), *gz = rl_xasprintf("%s/l.tar.gz", t->dir);
  char *xz = rl_xasprintf("%s/l.tar.xz", t->dir);
  char *w1 = rl_xasprintf("%s/w1", t->dir), *w2 = rl_xasprintf("%s/w2", t->dir);
  char *w3 = rl_xasprintf("%s/w3", t->dir), *w4 = rl_xasprintf("%s/w4", t->dir);
  assert_int_equal(mkdir(w1, 0700) | mkdir(w2, 0700) | mkdir(w3, 0700) | mkdir(w4, 0700), 0);
  write_tar(plain, ARCHIVE_FILTER_NONE);
  write_tar(gz, ARCHIVE_FILTER_GZIP);
  write_tar(xz, ARCHIVE_FILTER_XZ);
  char *diff_id = file_digest(plain, NULL);
  long long size;

  /* gzip, read from a stream: copied byte for byte. */
  struct rl_tar_blob b;
  make_blob(gz, NULL, w1, false, &b);
  char *gz_digest = file_digest(gz, &size);
  assert_string_equal(b.media_type, RL_MT_OCI_LAYER "+gzip");
  assert_string_equal(b.diff_id, diff_id);
  assert_string_equal(b.digest, gz_digest);
  assert_int_equal(b.size, size);
  char *copy = file_digest(b.path, NULL);
  assert_string_equal(copy, gz_digest);
  free(copy);
  rl_tar_blob_free(&b);

  /* Uncompressed, for import: gzipped; its own digest, same diff_id. */
  make_blob(plain, NULL, w2, false, &b);
  assert_string_equal(b.media_type, RL_MT_OCI_LAYER "+gzip");
  assert_string_equal(b.diff_id, diff_id);
  copy = file_digest(b.path, &size);
  assert_string_equal(b.digest, copy);
  assert_int_equal(b.size, size);
  free(copy);
  struct rl_tar_blob again;
  make_blob(b.path, b.path, w3, true, &again); /* the gzip output reads back to the same tar */
  assert_string_equal(again.diff_id, diff_id);
  assert_string_equal(again.path, b.path);
  rl_tar_blob_free(&again);
  rl_tar_blob_free(&b);

  /* Uncompressed, kept (docker-archive), as the file itself. */
  make_blob(plain, plain, w3, true, &b);
  assert_string_equal(b.media_type, RL_MT_OCI_LAYER);
  assert_string_equal(b.path, plain);
  assert_string_equal(b.digest, diff_id);
  rl_tar_blob_free(&b);

  /* xz is no layer compression: gzipped. */
  make_blob(xz, xz, w4, true, &b);
  assert_string_equal(b.media_type, RL_MT_OCI_LAYER "+gzip");
  assert_string_equal(b.diff_id, diff_id);
  assert_string_not_equal(b.path, xz);
  rl_tar_blob_free(&b);

  /* Nothing at all is refused. */
  char *empty = rl_xasprintf("%s/empty", t->dir);
  close(open(empty, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  int fd = open(empty, O_RDONLY | O_CLOEXEC);
  rl_error_t err = NULL;
  expect_fail(rl_tar_blob_make(fd, empty, w4, true, &b, &err), &err, "empty");
  close(fd);
  free(empty);
  free(gz_digest);
  free(diff_id);
  free(plain);
  free(gz);
  free(xz);
  free(w1);
  free(w2);
  free(w3);
  free(w4);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_member_clean),
      cmocka_unit_test(test_link_resolve),
      cmocka_unit_test(test_blob_name_digest),
      cmocka_unit_test(test_docker_manifest_skopeo),
      cmocka_unit_test(test_docker_manifest_untagged_roundtrip),
      cmocka_unit_test(test_docker_manifest_bad),
      cmocka_unit_test(test_oci_index),
      cmocka_unit_test(test_oci_index_roundtrip),
      cmocka_unit_test(test_oci_index_bad),
      cmocka_unit_test(test_name_normalize),
      cmocka_unit_test(test_repo_tag),
      cmocka_unit_test(test_change_forms),
      cmocka_unit_test(test_change_shell_fallback),
      cmocka_unit_test(test_change_bad),
      cmocka_unit_test(test_import_config),
      cmocka_unit_test(test_oci_manifest_dump),
      cmocka_unit_test(test_layer_type),
      cmocka_unit_test_setup_teardown(test_tar_blob, make_tmp, drop_tmp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
