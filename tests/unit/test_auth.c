/* Unit tests for src/auth.c: base64 credentials, key matching, the
 * auth.json search order, and atomic store/remove. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rl_auth.h"
#include "rl_error.h"
#include "rl_util.h"

int rl_log_level = 0;

/* A private HOME for each test, so the user's real credentials never count. */
static int setup_home(void **state)
{
  char *home = rl_xstrdup("/tmp/rless-test-auth-XXXXXX");
  assert_non_null(mkdtemp(home));
  setenv("HOME", home, 1);
  unsetenv("XDG_CONFIG_HOME");
  unsetenv("XDG_RUNTIME_DIR");
  unsetenv("REGISTRY_AUTH_FILE");
  *state = home;
  return 0;
}

static int teardown_home(void **state)
{
  char *home = *state;
  assert_int_equal(rl_rmtree(home, NULL), 0);
  free(home);
  return 0;
}

static void write_file(const char *path, const char *text)
{
  cleanup_free char *dir = rl_xstrdup(path);
  *strrchr(dir, '/') = '\0';
  cleanup_free char *cmd = rl_xasprintf("mkdir -p '%s'", dir);
  assert_int_equal(system(cmd), 0);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, text, strlen(text)), 0);
  close(fd);
}

static void assert_decodes(const char *b64, const char *user, const char *pass)
{
  rl_error_t err = NULL;
  cleanup_free char *u = NULL, *p = NULL;
  if (rl_auth_decode(b64, &u, &p, &err) < 0)
    fail_msg("decode %s: %s", b64, err->msg);
  assert_string_equal(u, user);
  assert_string_equal(p, pass);
}

static void test_decode(void **state)
{
  /* "u:p" needs no padding, "ab:c" one '=', "us:pw1x1" ... every padding case. */
  assert_decodes("dTpw", "u", "p");
  assert_decodes("YWI6Yw==", "ab", "c");
  assert_decodes("YWI6Y2Q=", "ab", "cd");
  assert_decodes("dXNlcjpwYTpzczp3b3Jk", "user", "pa:ss:word");
  assert_decodes("dXNlcjo=", "user", ""); /* an empty password is allowed */
  const char *bad[] = {"", "abc", "!!!!", "dXNlcg==" /* "user": no ':' */, "OnB3" /* ":pw" */};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    rl_error_t err = NULL;
    char *u = NULL, *p = NULL;
    assert_int_equal(rl_auth_decode(bad[i], &u, &p, &err), -1);
    assert_non_null(err);
    assert_null(u);
    rl_error_free(&err);
  }
}

static void test_encode_roundtrip(void **state)
{
  const char *users[] = {"a", "bob", "carol", "x@example.com"};
  const char *passes[] = {"", "p", "pw", "pwd", "p:w:d", "Ünïcödé pass"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(users); i++)
    for (size_t j = 0; j < RL_ARRAY_SIZE(passes); j++) {
      cleanup_free char *b64 = rl_auth_encode(users[i], passes[j]);
      assert_decodes(b64, users[i], passes[j]);
    }
  cleanup_free char *b64 = rl_auth_encode("user", "pa:ss:word");
  assert_string_equal(b64, "dXNlcjpwYTpzczp3b3Jk");
}

static void test_normalize(void **state)
{
  struct {
    const char *in, *out;
  } cases[] = {
      {"docker.io", "docker.io"},
      {"https://index.docker.io/v1/", "docker.io"},
      {"index.docker.io", "docker.io"},
      {"registry-1.docker.io", "docker.io"},
      {"Quay.IO", "quay.io"},
      {"http://localhost:5000", "localhost:5000"},
      {"https://127.0.0.1:5000/v2/", "127.0.0.1:5000"},
      {"quay.io/org/repo", NULL},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(cases); i++) {
    cleanup_free char *n = rl_auth_normalize_key(cases[i].in);
    if (cases[i].out == NULL)
      assert_null(n);
    else
      assert_string_equal(n, cases[i].out);
  }
}

/* 1 and the user, or 0. */
static int lookup(const char *auth_file, const char *registry, char **user)
{
  rl_error_t err = NULL;
  cleanup_free char *pass = NULL;
  int r = rl_auth_lookup(auth_file, registry, user, &pass, &err);
  if (r < 0)
    fail_msg("lookup %s: %s", registry, err->msg);
  return r;
}

static void test_lookup_order(void **state)
{
  const char *home = *state;
  cleanup_free char *primary = rl_xasprintf("%s/run/containers/auth.json", home);
  cleanup_free char *config = rl_xasprintf("%s/.config/containers/auth.json", home);
  cleanup_free char *docker = rl_xasprintf("%s/.docker/config.json", home);
  cleanup_free char *run = rl_xasprintf("%s/run", home);
  setenv("XDG_RUNTIME_DIR", run, 1);
  /* "primary:one", "config:two", "docker:three", "legacy:four" */
  write_file(primary, "{\"auths\":{\"a.example\":{\"auth\":\"cHJpbWFyeTpvbmU=\"}}}");
  write_file(config, "{\"auths\":{\"a.example\":{\"auth\":\"Y29uZmlnOnR3bw==\"},"
                     "\"b.example:5000\":{\"auth\":\"Y29uZmlnOnR3bw==\"}}}");
  write_file(docker, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"ZG9ja2VyOnRocmVl\"},"
                     "\"c.example\":{\"auth\":\"\"},"
                     "\"quay.io/org/repo\":{\"auth\":\"bGVnYWN5OmZvdXI=\"}},"
                     "\"credsStore\":\"desktop\"}");
  char *user = NULL;
  assert_int_equal(lookup(NULL, "a.example", &user), 1);
  assert_string_equal(user, "primary");
  free(user);
  assert_int_equal(lookup(NULL, "b.example:5000", &user), 1);
  assert_string_equal(user, "config");
  free(user);
  assert_int_equal(lookup(NULL, "docker.io", &user), 1);
  assert_string_equal(user, "docker");
  free(user);
  assert_int_equal(lookup(NULL, "b.example", &user), 0); /* the port is part of the name */
  assert_int_equal(lookup(NULL, "c.example", &user), 0); /* empty auth */
  assert_int_equal(lookup(NULL, "quay.io", &user), 0);   /* repository-scoped key */

  /* An explicit file replaces the primary one; the others are still searched. */
  cleanup_free char *explicit = rl_xasprintf("%s/mine.json", home);
  write_file(explicit, "{\"auths\":{\"a.example\":{\"auth\":\"bWluZTpwdw==\"}}}");
  assert_int_equal(lookup(explicit, "a.example", &user), 1);
  assert_string_equal(user, "mine");
  free(user);
  setenv("REGISTRY_AUTH_FILE", explicit, 1);
  assert_int_equal(lookup(NULL, "a.example", &user), 1);
  assert_string_equal(user, "mine");
  free(user);
  assert_int_equal(lookup(explicit, "b.example:5000", &user), 1);
  assert_string_equal(user, "config");
  free(user);
}

static void test_lookup_bad_files(void **state)
{
  const char *home = *state;
  char *user = NULL, *pass = NULL;
  cleanup_free char *missing = rl_xasprintf("%s/none/auth.json", home);
  assert_int_equal(lookup(missing, "a.example", &user), 0);

  cleanup_free char *bad = rl_xasprintf("%s/bad.json", home);
  write_file(bad, "{\"auths\": {");
  rl_error_t err = NULL;
  assert_int_equal(rl_auth_lookup(bad, "a.example", &user, &pass, &err), -1);
  assert_non_null(strstr(err->msg, bad));
  rl_error_free(&err);

  write_file(bad, "{\"auths\":{\"a.example\":{\"auth\":\"not base64!\"}}}");
  assert_int_equal(rl_auth_lookup(bad, "a.example", &user, &pass, &err), -1);
  assert_non_null(strstr(err->msg, bad));
  assert_non_null(strstr(err->msg, "a.example"));
  rl_error_free(&err);
}

static void test_default_path(void **state)
{
  const char *home = *state;
  rl_error_t err = NULL;
  cleanup_free char *p1 = rl_auth_default_path(NULL, &err);
  cleanup_free char *want1 = rl_xasprintf("%s/.config/containers/auth.json", home);
  assert_string_equal(p1, want1);
  setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
  cleanup_free char *p2 = rl_auth_default_path(NULL, &err);
  assert_string_equal(p2, "/run/user/4242/containers/auth.json");
  setenv("REGISTRY_AUTH_FILE", "/x/auth.json", 1);
  cleanup_free char *p3 = rl_auth_default_path(NULL, &err);
  assert_string_equal(p3, "/x/auth.json");
  cleanup_free char *p4 = rl_auth_default_path("/y/a.json", &err);
  assert_string_equal(p4, "/y/a.json");
  assert_null(err);
}

static void test_store_remove(void **state)
{
  const char *home = *state;
  cleanup_free char *dir = rl_xasprintf("%s/new/containers", home);
  cleanup_free char *path = rl_xasprintf("%s/auth.json", dir);
  rl_error_t err = NULL;
  assert_int_equal(rl_auth_store(path, "a.example", "alice", "pw:1", &err), 0);
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  /* Other entries and keys survive a store; the same registry is replaced. */
  write_file(path, "{\"auths\":{\"a.example\":{\"auth\":\"eDp5\"},"
                   "\"https://index.docker.io/v1/\":{\"auth\":\"ZG9ja2VyOnRocmVl\"}},"
                   "\"credHelpers\":{\"gcr.io\":\"gcloud\"}}");
  assert_int_equal(rl_auth_store(path, "a.example", "alice", "pw:2", &err), 0);
  assert_int_equal(rl_auth_store(path, "b.example:5000", "bob", "pw", &err), 0);
  char *user = NULL, *pass = NULL;
  assert_int_equal(rl_auth_lookup(path, "a.example", &user, &pass, &err), 1);
  assert_string_equal(user, "alice");
  assert_string_equal(pass, "pw:2");
  free(user);
  free(pass);
  json_t *root = json_load_file(path, 0, NULL);
  assert_non_null(root);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(root, "credHelpers"), "gcr.io")), "gcloud");
  assert_int_equal(json_object_size(json_object_get(root, "auths")), 3);
  json_decref(root);

  /* No temp files left behind. */
  cleanup_free char *cmd = rl_xasprintf("test $(ls -A '%s' | wc -l) -eq 1", dir);
  assert_int_equal(system(cmd), 0);

  /* docker.io removes the legacy key too. */
  assert_int_equal(rl_auth_remove(path, "docker.io", &err), 1);
  assert_int_equal(rl_auth_remove(path, "docker.io", &err), 0);
  assert_int_equal(rl_auth_remove(path, "a.example", &err), 1);
  assert_int_equal(rl_auth_lookup(path, "a.example", &user, &pass, &err), 0);
  assert_int_equal(rl_auth_lookup(path, "b.example:5000", &user, &pass, &err), 1);
  free(user);
  free(pass);
  cleanup_free char *nowhere = rl_xasprintf("%s/nowhere.json", home);
  assert_int_equal(rl_auth_remove(nowhere, "a.example", &err), 0);
  assert_null(err);
}

static void test_store_refuses_bad_file(void **state)
{
  const char *home = *state;
  cleanup_free char *path = rl_xasprintf("%s/broken.json", home);
  write_file(path, "[1, 2");
  rl_error_t err = NULL;
  assert_int_equal(rl_auth_store(path, "a.example", "u", "p", &err), -1);
  assert_non_null(strstr(err->msg, path));
  rl_error_free(&err);
  /* The user's file is left as it was, not replaced. */
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, 1024, NULL);
  assert_string_equal(text, "[1, 2");
  assert_int_equal(rl_auth_store(path, "a.example", "bad:user", "p", &err), -1);
  rl_error_free(&err);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_encode_roundtrip),
      cmocka_unit_test(test_normalize),
      cmocka_unit_test_setup_teardown(test_lookup_order, setup_home, teardown_home),
      cmocka_unit_test_setup_teardown(test_lookup_bad_files, setup_home, teardown_home),
      cmocka_unit_test_setup_teardown(test_default_path, setup_home, teardown_home),
      cmocka_unit_test_setup_teardown(test_store_remove, setup_home, teardown_home),
      cmocka_unit_test_setup_teardown(test_store_refuses_bad_file, setup_home, teardown_home),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
