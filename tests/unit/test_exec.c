/* Unit tests for the pure parts of `rless exec`: option parsing, the
 * container config, CapBnd and the process environment. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rl_caps.h"
#include "rl_error.h"
#include "rl_exec.h"
#include "rl_util.h"

int rl_log_level = 0;

#define ARGC(a) ((int)RL_ARRAY_SIZE(a))
#define BIT(c)  ((uint64_t)1 << (c))

static void expect_parse_error(int argc, char **argv, const char *needle)
{
  struct rl_exec_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_opts_parse(argc, argv, &o, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->exit_code, RL_EXIT_FAILURE);
  if (strstr(err->msg, needle) == NULL)
    fail_msg("error message `%s` does not contain `%s`", err->msg, needle);
  rl_error_free(&err);
  rl_exec_opts_free(&o);
}

static void test_minimal(void **state)
{
  char *argv[] = {"exec", "c1", "ls", "-l", "--all"};
  struct rl_exec_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_null(err);
  assert_string_equal(o.container, "c1");
  /* Options after the command are the command's. */
  assert_int_equal(o.argv.n, 3);
  assert_string_equal(o.argv.v[0], "ls");
  assert_string_equal(o.argv.v[1], "-l");
  assert_string_equal(o.argv.v[2], "--all");
  assert_null(o.argv.v[3]);
  assert_false(o.interactive);
  assert_false(o.tty);
  assert_false(o.detach);
  assert_null(o.workdir);
  assert_null(o.user);
  assert_int_equal(o.env.n, 0);
  rl_exec_opts_free(&o);
}

static void test_all_options(void **state)
{
  setenv("RLESS_TEST_EXEC_HOST", "fromhost", 1);
  unsetenv("RLESS_TEST_EXEC_UNSET");
  char *argv[] = {"exec",   "-it",
                  "-e",     "A=1",
                  "--env",  "RLESS_TEST_EXEC_HOST",
                  "-e",     "RLESS_TEST_EXEC_UNSET",
                  "-e",     "A=2",
                  "-w",     "/srv",
                  "--user", "1000:100",
                  "web",    "sh",
                  "-c",     "x"};
  struct rl_exec_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_null(err);
  assert_true(o.interactive);
  assert_true(o.tty);
  assert_false(o.detach);
  assert_string_equal(o.workdir, "/srv");
  assert_string_equal(o.user, "1000:100");
  assert_string_equal(o.container, "web");
  /* A later -e replaces an earlier one in place; an unset host variable is dropped. */
  assert_int_equal(o.env.n, 2);
  assert_string_equal(o.env.v[0], "A=2");
  assert_string_equal(o.env.v[1], "RLESS_TEST_EXEC_HOST=fromhost");
  assert_int_equal(o.argv.n, 3);
  assert_string_equal(o.argv.v[2], "x");
  rl_exec_opts_free(&o);
  unsetenv("RLESS_TEST_EXEC_HOST");

  char *a2[] = {"exec", "-d", "--workdir=/", "c", "true"};
  assert_int_equal(rl_exec_opts_parse(ARGC(a2), a2, &o, &err), 0);
  assert_true(o.detach);
  assert_string_equal(o.workdir, "/");
  rl_exec_opts_free(&o);
}

static void test_env_file(void **state)
{
  char path[] = "/tmp/rless-test-exec-env-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "# comment\nFROMFILE=f\n\nB=file\n";
  assert_int_equal(rl_write_all(fd, text, strlen(text)), 0);
  close(fd);
  char *argv[] = {"exec", "-e", "B=cli", "--env-file", path, "c", "env"};
  struct rl_exec_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_int_equal(o.env.n, 2);
  assert_string_equal(o.env.v[0], "B=file");
  assert_string_equal(o.env.v[1], "FROMFILE=f");
  rl_exec_opts_free(&o);
  unlink(path);

  char *a2[] = {"exec", "--env-file", "/nonexistent/rless-exec-env", "c", "env"};
  expect_parse_error(ARGC(a2), a2, "/nonexistent/rless-exec-env");
}

static void test_errors(void **state)
{
  char *a1[] = {"exec"};
  expect_parse_error(ARGC(a1), a1, "needs a container and a command");
  char *a2[] = {"exec", "-it", "c1"};
  expect_parse_error(ARGC(a2), a2, "needs a command to run in container c1");
  char *a3[] = {"exec", "-w", "rel/dir", "c1", "pwd"};
  expect_parse_error(ARGC(a3), a3, "invalid --workdir `rel/dir`");
  char *a4[] = {"exec", "-d", "-t", "c1", "sh"};
  expect_parse_error(ARGC(a4), a4, "cannot be combined with -i or -t");
  char *a5[] = {"exec", "-i", "-d", "c1", "sh"};
  expect_parse_error(ARGC(a5), a5, "cannot be combined with -i or -t");
  char *a6[] = {"exec", "--privileged", "c1", "sh"};
  expect_parse_error(ARGC(a6), a6, "unknown option `--privileged`");
  char *a7[] = {"exec", "-x", "c1", "sh"};
  expect_parse_error(ARGC(a7), a7, "unknown option `-x`");
  char *a8[] = {"exec", "c1", "sh", "-u"};
  struct rl_exec_opts o;
  rl_error_t err = NULL;
  /* After the container everything is the command's, even a bare -u. */
  assert_int_equal(rl_exec_opts_parse(ARGC(a8), a8, &o, &err), 0);
  assert_string_equal(o.argv.v[1], "-u");
  rl_exec_opts_free(&o);
  char *a9[] = {"exec", "-u"};
  expect_parse_error(ARGC(a9), a9, "option `-u` of `rless exec` needs a value");
  char *a10[] = {"exec", "-e", "BAD KEY=1", "c1", "sh"};
  expect_parse_error(ARGC(a10), a10, "BAD KEY=1");
  char *a11[] = {"exec", "-u", "", "c1", "sh"};
  expect_parse_error(ARGC(a11), a11, "invalid --user");
}

static void test_help(void **state)
{
  char *argv[] = {"exec", "--help"};
  struct rl_exec_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_opts_parse(ARGC(argv), argv, &o, &err), 1);
  assert_null(err);
  rl_exec_opts_free(&o);
}

static json_t *parse_json(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (j == NULL)
    fail_msg("bad test JSON: %s", je.text);
  return j;
}

static void test_target_config(void **state)
{
  json_t *cfg = parse_json("{\"env\": [\"PATH=/bin\", \"A=1\", \"A=2\"], \"workdir\": \"/srv\","
                           " \"user\": \"www\", \"userns\": \"keep-id\", \"userns_resolved\": "
                           "\"keep-id\", \"cap_add\": [\"NET_ADMIN\"], \"cap_drop\": [\"chown\"],"
                           " \"hostname\": \"h\", \"tty\": true}");
  struct rl_exec_target t = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_target_config(cfg, &t, &err), 0);
  assert_null(err);
  assert_int_equal(t.env.n, 2);
  assert_string_equal(t.env.v[0], "PATH=/bin");
  assert_string_equal(t.env.v[1], "A=2");
  assert_string_equal(t.workdir, "/srv");
  assert_string_equal(t.user, "www");
  assert_true(t.keep_id);
  assert_int_equal(t.caps, (rl_caps_default() | BIT(CAP_NET_ADMIN)) & ~BIT(CAP_CHOWN));
  rl_exec_target_free(&t);
  json_decref(cfg);

  /* No config at all (or an empty one): run's defaults. */
  assert_int_equal(rl_exec_target_config(NULL, &t, &err), 0);
  assert_int_equal(t.env.n, 0);
  assert_null(t.workdir);
  assert_null(t.user);
  assert_false(t.keep_id);
  assert_int_equal(t.caps, rl_caps_default());
  rl_exec_target_free(&t);

  /* The resolved mode wins over the asked one; "" is no value. */
  cfg = parse_json("{\"userns\": \"auto\", \"userns_resolved\": \"subids\", \"workdir\": \"\","
                   " \"user\": null, \"cap_drop\": [\"ALL\"]}");
  assert_int_equal(rl_exec_target_config(cfg, &t, &err), 0);
  assert_false(t.keep_id);
  assert_null(t.workdir);
  assert_null(t.user);
  assert_int_equal(t.caps, 0);
  rl_exec_target_free(&t);
  json_decref(cfg);

  cfg = parse_json("{\"userns\": \"keep-id\"}");
  assert_int_equal(rl_exec_target_config(cfg, &t, &err), 0);
  assert_true(t.keep_id);
  rl_exec_target_free(&t);
  json_decref(cfg);
}

static void expect_config_error(const char *text, const char *needle)
{
  json_t *cfg = parse_json(text);
  struct rl_exec_target t = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_target_config(cfg, &t, &err), -1);
  assert_non_null(err);
  if (strstr(err->msg, needle) == NULL)
    fail_msg("error message `%s` does not contain `%s`", err->msg, needle);
  rl_error_free(&err);
  rl_exec_target_free(&t);
  json_decref(cfg);
}

static void test_target_config_errors(void **state)
{
  expect_config_error("{\"env\": \"A=1\"}", "`env` is not an array");
  expect_config_error("{\"env\": [1]}", "`env` holds a non-string");
  expect_config_error("{\"env\": [\"NOEQUALS\"]}", "invalid env entry `NOEQUALS`");
  expect_config_error("{\"env\": [\"=x\"]}", "invalid env entry `=x`");
  expect_config_error("{\"workdir\": 3}", "`workdir` is not a string");
  expect_config_error("{\"cap_add\": [\"NOT_A_CAP\"]}", "unknown capability `NOT_A_CAP`");
  expect_config_error("[]", "not a JSON object");
}

static void test_capbnd(void **state)
{
  uint64_t m = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_exec_parse_capbnd("Name:\tsleep\nCapPrm:\t0000000000000001\n"
                                        "CapBnd:\t00000000800405fb\nCapAmb:\t0000000000000000\n",
                                        &m, &err),
                   0);
  assert_int_equal(m, 0x800405fbULL);
  assert_int_equal(rl_exec_parse_capbnd("CapBnd:\t000001ffffffffff", &m, &err), 0);
  assert_int_equal(m, 0x1ffffffffffULL);
  assert_int_equal(rl_exec_parse_capbnd("Name:\tx\nCapEff:\t1\n", &m, &err), -1);
  assert_non_null(err);
  rl_error_free(&err);
  assert_int_equal(rl_exec_parse_capbnd("CapBnd:\tzz\n", &m, &err), -1);
  rl_error_free(&err);
  assert_int_equal(rl_exec_parse_capbnd("", &m, &err), -1);
  rl_error_free(&err);
}

static void test_proc_env(void **state)
{
  rl_strv_t base = {0}, extra = {0}, env = {0};
  rl_strv_push(&base, "PATH=/opt/bin");
  rl_strv_push(&base, "IMG=1");
  rl_strv_push(&extra, "IMG=2");
  rl_strv_push(&extra, "HOME=/elsewhere");
  rl_strv_push(&extra, "NEW=n");
  rl_proc_env("box", true, "/root", &base, &extra, &env);
  const char *want[] = {"PATH=/opt/bin", "HOSTNAME=box",    "container=rless",
                        "TERM=xterm",    "HOME=/elsewhere", "IMG=2",
                        "NEW=n"};
  assert_int_equal(env.n, RL_ARRAY_SIZE(want));
  for (size_t i = 0; i < env.n; i++)
    assert_string_equal(env.v[i], want[i]);
  assert_null(env.v[env.n]);
  rl_strv_free(&env);

  rl_proc_env("h", false, "/home/u", NULL, NULL, &env);
  assert_int_equal(env.n, 4);
  assert_string_equal(env.v[0],
                      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert_string_equal(env.v[1], "HOSTNAME=h");
  assert_string_equal(env.v[3], "HOME=/home/u");
  rl_strv_free(&env);
  rl_strv_free(&base);
  rl_strv_free(&extra);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_minimal),
      cmocka_unit_test(test_all_options),
      cmocka_unit_test(test_env_file),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_target_config),
      cmocka_unit_test(test_target_config_errors),
      cmocka_unit_test(test_capbnd),
      cmocka_unit_test(test_proc_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
