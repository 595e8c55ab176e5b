/* Unit tests for src/env.c: -e arguments, replacement and --env-file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rl_error.h"
#include "rl_options.h"
#include "rl_util.h"

int rl_log_level = 0;

static char *write_temp(const char *text)
{
  char *path = rl_xstrdup("/tmp/rless-test-env-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, text, strlen(text)), 0);
  close(fd);
  return path;
}

static void assert_env(const rl_strv_t *env, const char *const *want, size_t n)
{
  if (env->n != n)
    fail_msg("got %zu variables, want %zu", env->n, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(env->v[i], want[i]);
  assert_null(env->v[n]);
}

static void test_add_key_value(void **state)
{
  rl_strv_t env = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_env_add(&env, "A=1", &err), 0);
  assert_int_equal(rl_env_add(&env, "B=", &err), 0);
  assert_int_equal(rl_env_add(&env, "C=x=y", &err), 0);
  assert_int_equal(rl_env_add(&env, "A=2", &err), 0); /* replaces in place */
  assert_null(err);
  const char *const want[] = {"A=2", "B=", "C=x=y"};
  assert_env(&env, want, 3);
  rl_strv_free(&env);
}

static void test_add_host_value(void **state)
{
  rl_strv_t env = {0};
  rl_error_t err = NULL;
  setenv("RLESS_TEST_ENV_SET", "host value", 1);
  unsetenv("RLESS_TEST_ENV_UNSET");
  assert_int_equal(rl_env_add(&env, "RLESS_TEST_ENV_SET", &err), 0);
  assert_int_equal(rl_env_add(&env, "RLESS_TEST_ENV_UNSET", &err), 0); /* dropped */
  assert_null(err);
  const char *const want[] = {"RLESS_TEST_ENV_SET=host value"};
  assert_env(&env, want, 1);

  /* KEY alone replaces an earlier KEY=VALUE. */
  assert_int_equal(rl_env_add(&env, "X=old", &err), 0);
  setenv("X", "new", 1);
  assert_int_equal(rl_env_add(&env, "X", &err), 0);
  unsetenv("X");
  const char *const want2[] = {"RLESS_TEST_ENV_SET=host value", "X=new"};
  assert_env(&env, want2, 2);
  /* An unset KEY alone leaves an earlier value alone. */
  assert_int_equal(rl_env_add(&env, "X", &err), 0);
  assert_env(&env, want2, 2);
  rl_strv_free(&env);
  unsetenv("RLESS_TEST_ENV_SET");
}

static void test_add_invalid(void **state)
{
  static const char *const bad[] = {"", "=v", "A B=1", " A=1", "A\t"};
  rl_strv_t env = {0};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    rl_error_t err = NULL;
    assert_int_equal(rl_env_add(&env, bad[i], &err), -1);
    assert_non_null(err);
    cleanup_free char *want =
        rl_xasprintf("invalid environment variable `%s`: expected KEY=VALUE or KEY", bad[i]);
    assert_string_equal(err->msg, want);
    assert_int_equal(err->exit_code, 125);
    rl_error_free(&err);
  }
  assert_int_equal(env.n, 0);
}

static void test_set(void **state)
{
  rl_strv_t env = {0};
  rl_env_set(&env, "PATH=/bin");
  rl_env_set(&env, "P=1");
  rl_env_set(&env, "PATHX=2");
  rl_env_set(&env, "HOME=/root");
  const char *const want[] = {"PATH=/bin", "P=1", "PATHX=2", "HOME=/root"};
  assert_env(&env, want, 4);

  /* Replacement matches the whole key, not a prefix of it. */
  rl_env_set(&env, "PATH=/usr/bin:/bin");
  rl_env_set(&env, "P=");
  const char *const want2[] = {"PATH=/usr/bin:/bin", "P=", "PATHX=2", "HOME=/root"};
  assert_env(&env, want2, 4);
  rl_env_set(&env, "PAT=3");
  const char *const want3[] = {"PATH=/usr/bin:/bin", "P=", "PATHX=2", "HOME=/root", "PAT=3"};
  assert_env(&env, want3, 5);
  rl_strv_free(&env);
}

static void test_file_load(void **state)
{
  setenv("RLESS_TEST_ENVF_HOST", "h", 1);
  unsetenv("RLESS_TEST_ENVF_UNSET");
  char *path = write_temp("# comment\n"
                          "\n"
                          "\t \n"
                          "A=1\n"
                          "   B=two words  \n"
                          "  # indented comment\n"
                          "RLESS_TEST_ENVF_HOST\n"
                          "\tRLESS_TEST_ENVF_UNSET \n"
                          "A=3\n"
                          "URL=http://x/?a=b#frag\n"
                          "Z=no newline");
  rl_strv_t env = {0};
  rl_strv_push(&env, "PRE=0");
  rl_error_t err = NULL;
  assert_int_equal(rl_env_file_load(path, &env, &err), 0);
  assert_null(err);
  const char *const want[] = {
      "PRE=0",       "A=3", "B=two words  ", "RLESS_TEST_ENVF_HOST=h", "URL=http://x/?a=b#frag",
      "Z=no newline"};
  assert_env(&env, want, 6);
  rl_strv_free(&env);
  unlink(path);
  free(path);
  unsetenv("RLESS_TEST_ENVF_HOST");
}

static void test_file_load_empty(void **state)
{
  char *path = write_temp("");
  rl_strv_t env = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_env_file_load(path, &env, &err), 0);
  assert_int_equal(env.n, 0);
  unlink(path);
  free(path);
}

static void test_file_missing(void **state)
{
  rl_strv_t env = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_env_file_load("/nonexistent/dir/env.list", &env, &err), -1);
  assert_non_null(err);
  assert_string_equal(err->msg, "open env file `/nonexistent/dir/env.list`");
  assert_int_equal(err->errnum, ENOENT);
  assert_int_equal(err->exit_code, 125);
  cleanup_free char *text = rl_error_format(err);
  assert_non_null(strstr(text, "/nonexistent/dir/env.list"));
  rl_error_free(&err);
  assert_int_equal(env.n, 0);
}

static void test_file_bad_line(void **state)
{
  char *path = write_temp("GOOD=1\n# c\nBAD KEY=x\nNEVER=1\n");
  rl_strv_t env = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_env_file_load(path, &env, &err), -1);
  assert_non_null(err);
  cleanup_free char *want = rl_xasprintf(
      "env file `%s` line 3: invalid environment variable `BAD KEY=x`: expected KEY=VALUE or KEY",
      path);
  assert_string_equal(err->msg, want);
  rl_error_free(&err);
  /* Lines before the bad one were added, none after. */
  const char *const got[] = {"GOOD=1"};
  assert_env(&env, got, 1);
  rl_strv_free(&env);
  unlink(path);
  free(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_key_value), cmocka_unit_test(test_add_host_value),
      cmocka_unit_test(test_add_invalid),   cmocka_unit_test(test_set),
      cmocka_unit_test(test_file_load),     cmocka_unit_test(test_file_load_empty),
      cmocka_unit_test(test_file_missing),  cmocka_unit_test(test_file_bad_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
