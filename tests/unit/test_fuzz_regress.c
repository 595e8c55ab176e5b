/* Regression tests for what the fuzzers of tests/fuzz/ found, so each bug stays fixed where
 * clang is missing too.  The inputs themselves are in tests/fuzz/regress/TARGET/ (replayed
 * by tests/fuzz/run.sh); each test here names its file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rl_archive.h"
#include "rl_error.h"
#include "rl_imageref.h"
#include "rl_passwd.h"
#include "rl_registry.h"
#include "rl_util.h"

int rl_log_level = 0;

static void expect_user_error(const char *spec, const char *pw, const char *gr, const char *msg)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve(spec, pw, gr, &u, &err), -1);
  assert_non_null(err);
  assert_string_equal(err->msg, msg);
  rl_error_free(&err);
  rl_user_free(&u);
}

/* passwd/uid-minus-one, passwd/uid-truncated-2pow64: a numeric -u was cut to 32 bits, so
 * 4294967295 became (uid_t)-1, which setresuid() takes as "unchanged" (root stayed root),
 * and 2^32 became 0. */
static void test_numeric_user_out_of_range(void **state)
{
  expect_user_error("4294967295", NULL, NULL,
                    "user id `4294967295` is out of range (0 to 2147483647)");
  expect_user_error("4294967296", NULL, NULL,
                    "user id `4294967296` is out of range (0 to 2147483647)");
  expect_user_error("1111111111111111111", NULL, NULL,
                    "user id `1111111111111111111` is out of range (0 to 2147483647)");
  expect_user_error("0:4294967296", NULL, NULL,
                    "group id `4294967296` is out of range (0 to 2147483647)");
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve("2147483647:2147483647", NULL, NULL, &u, &err), 0);
  assert_int_equal(u.uid, 2147483647);
  assert_int_equal(u.gid, 2147483647);
  rl_user_free(&u);
}

/* passwd/passwd-uid-out-of-range, passwd/gid-truncated-to-root: the image's files have the
 * same limits; a group line whose gid is out of range is no group at all. */
static void test_file_ids_out_of_range(void **state)
{
  expect_user_error("evil", "evil:x:4294967296:4294967295:Evil:/home/evil:/bin/sh\n", NULL,
                    "malformed /etc/passwd entry for user `evil`");
  expect_user_error("nobody:big", "nobody:x:65534:65534::/:/bin/false\n", "big:x:4294967296:\n",
                    "malformed /etc/group entry for group `big`");
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve("alice", "alice:x:1000:1000::/home/alice:/bin/sh\n",
                                   "root0:x:4294967296:alice\nusers:x:100:alice\n", &u, &err),
                   0);
  assert_int_equal(u.n_groups, 1);
  assert_int_equal(u.groups[0], 100);
  rl_user_free(&u);
}

/* www_auth/leak-basic-then-bad-scheme: a Basic challenge followed by text that is no
 * scheme leaked the Basic one (LeakSanitizer under `make check SANITIZE=...`). */
static void test_www_auth_error_after_basic(void **state)
{
  struct rl_auth_challenge c;
  rl_error_t err = NULL;
  assert_int_equal(rl_www_auth_parse("Basic realm=\"basic-realm\", Beare realm=\"https://h/t\","
                                     "servic\"https://h/t\",service=\"127",
                                     &c, &err),
                   -1);
  assert_non_null(strstr(err->msg, "expected an auth scheme"));
  rl_error_free(&err);
}

/* www_auth/quoted-cr-in-realm: a quoted-pair let a CR or LF into a parameter (the realm is
 * the URL of the token request), though a plain one was refused. */
static void test_www_auth_quoted_cr(void **state)
{
  static const char *const values[] = {
      "Bearer realm=\"https://h/t\\\rX\"",
      "Bearer realm=\"https://h/t\",service=\"s\\\n\"",
      "Bearer realm=\"https://h/t\\",
  };
  for (size_t i = 0; i < 3; i++) {
    struct rl_auth_challenge c;
    rl_error_t err = NULL;
    assert_int_equal(rl_www_auth_parse(values[i], &c, &err), -1);
    assert_null(c.realm);
    rl_error_free(&err);
  }
  struct rl_auth_challenge c;
  rl_error_t err = NULL;
  assert_int_equal(rl_www_auth_parse("Bearer realm=\"https://h/a\\\"b\"", &c, &err), 0);
  assert_string_equal(c.realm, "https://h/a\"b");
  rl_auth_challenge_free(&c);
}

/* imageref/library-prefix-too-long-a and -b: docker's 255 characters are of the canonical
 * name, so a name that fits only without docker.io's library/ (or without the registry a
 * short name resolves to, or the one an archive name is given) was taken, and its own
 * spelling no longer parsed. */
static void test_name_too_long_once_canonical(void **state)
{
  char name[300];
  memset(name, 'a', 250);
  memcpy(name, "docker.io/", 10);
  name[250] = '\0'; /* 250 characters, 258 with library/ */
  struct rl_imageref r;
  rl_error_t err = NULL;
  assert_int_equal(rl_imageref_parse(name, &r, &err), -1);
  assert_non_null(strstr(err->msg, "the name is 258 characters long with docker.io's library/"));
  rl_error_free(&err);
  name[247] = '\0'; /* 255 with library/: fine */
  assert_int_equal(rl_imageref_parse(name, &r, &err), 0);
  rl_imageref_free(&r);

  char *search[] = {"quay.io", "127.0.0.1:5000", NULL}, *none[] = {NULL};
  struct rl_registries_conf c = {.search = search, .alias_names = none, .alias_targets = none};
  struct rl_imageref *list = NULL;
  size_t n = 0;
  memset(name, 'b', 250);
  name[245] = '\0';
  assert_int_equal(rl_imageref_resolve(name, &c, &list, &n, &err), -1);
  assert_null(list);
  assert_int_equal(n, 0);
  assert_non_null(strstr(err->msg, "would be 260 characters long"));
  rl_error_free(&err);

  char *out = NULL;
  name[245] = 'b'; /* 256 characters as localhost/bbb... */
  name[246] = '\0';
  assert_int_equal(rl_archive_name_normalize(name, false, &out, &err), -1);
  assert_null(out);
  assert_non_null(strstr(err->msg, "longer than 255 characters as `localhost/...`"));
  rl_error_free(&err);
}

/* manifest/docker-archive-layer-dot: a docker-archive manifest.json naming `.` as a layer (or
 * config) was taken as the member "", which its own dump could not read back. */
static void test_docker_archive_member_dot(void **state)
{
  static const char *const bodies[] = {
      "[{\"Config\":\"c.json\",\"Layers\":[\"l/layer.tar\",\".\"]}]",
      "[{\"Config\":\"./\",\"Layers\":[]}]",
  };
  for (size_t i = 0; i < 2; i++) {
    struct rl_docker_image *v = NULL;
    size_t n = 0;
    rl_error_t err = NULL;
    assert_int_equal(rl_docker_manifest_parse(bodies[i], strlen(bodies[i]), &v, &n, &err), -1);
    assert_null(v);
    assert_non_null(strstr(err->msg, "names no file"));
    rl_error_free(&err);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numeric_user_out_of_range),
      cmocka_unit_test(test_file_ids_out_of_range),
      cmocka_unit_test(test_www_auth_error_after_basic),
      cmocka_unit_test(test_www_auth_quoted_cr),
      cmocka_unit_test(test_name_too_long_once_canonical),
      cmocka_unit_test(test_docker_archive_member_dot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
