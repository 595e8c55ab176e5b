/* Unit tests for src/options.c: `rless run` option parsing and -v specs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rl_error.h"
#include "rl_options.h"
#include "rl_util.h"

int rl_log_level = 0;

#define ARGC(a) ((int)RL_ARRAY_SIZE(a))

/* Parse argv expecting failure; check the message contains `needle`. */
static void expect_parse_error(int argc, char **argv, const char *needle)
{
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(argc, argv, &o, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->exit_code, RL_EXIT_FAILURE);
  assert_int_equal(err->exit_code, 125);
  assert_non_null(err->msg);
  if (strstr(err->msg, needle) == NULL)
    fail_msg("error message `%s` does not contain `%s`", err->msg, needle);
  rl_error_free(&err);
  rl_run_opts_free(&o);
}

/* Write `text` to a fresh temporary file; returns its path (free()). */
static char *write_temp(const char *text)
{
  char *path = rl_xstrdup("/tmp/rless-test-envfile-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, text, strlen(text)), 0);
  close(fd);
  return path;
}

static void test_minimal(void **state)
{
  char *argv[] = {"run", "--rootfs", "/r", "sh"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_null(err);
  assert_string_equal(o.rootfs, "/r");
  assert_int_equal(o.argv.n, 1);
  assert_string_equal(o.argv.v[0], "sh");
  assert_null(o.argv.v[1]);
  /* Defaults. */
  assert_false(o.interactive);
  assert_false(o.tty);
  assert_false(o.rm);
  assert_false(o.read_only);
  assert_false(o.init);
  assert_null(o.hostname);
  assert_null(o.workdir);
  assert_null(o.user);
  assert_int_equal(o.env.n, 0);
  assert_int_equal(o.n_volumes, 0);
  assert_int_equal(o.tmpfs.n, 0);
  assert_int_equal(o.cap_add.n, 0);
  assert_int_equal(o.cap_drop.n, 0);
  assert_int_equal(o.userns, RL_USERNS_AUTO);
  assert_int_equal(o.network, RL_NET_DEFAULT); /* pasta, slirp4netns or none: rl_net_prepare */
  rl_run_opts_free(&o);
  assert_null(o.rootfs);
  assert_int_equal(o.argv.n, 0);
}

static void test_all_options(void **state)
{
  setenv("RLESS_TEST_HOSTVAR", "from-host", 1);
  unsetenv("RLESS_TEST_UNSET");
  char *argv[] = {"run",
                  "-i",
                  "-t",
                  "-e",
                  "A=1",
                  "-e",
                  "RLESS_TEST_HOSTVAR",
                  "-e",
                  "RLESS_TEST_UNSET",
                  "--env",
                  "B=x=y",
                  "-w",
                  "/work",
                  "-u",
                  "1000:100",
                  "-h",
                  "box",
                  "-v",
                  "/src:/dst",
                  "--volume",
                  "/a:/b:ro",
                  "-v",
                  "rel:/c:rw",
                  "--tmpfs",
                  "/tmp",
                  "--tmpfs",
                  "/run",
                  "--read-only",
                  "--network",
                  "host",
                  "--init",
                  "--cap-add",
                  "NET_ADMIN",
                  "--cap-add",
                  "sys_ptrace",
                  "--cap-drop",
                  "CHOWN",
                  "--userns=keep-id",
                  "--rm",
                  "--rootfs",
                  "/root/fs",
                  "echo",
                  "hello"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_null(err);
  assert_true(o.interactive);
  assert_true(o.tty);
  assert_true(o.read_only);
  assert_true(o.init);
  assert_true(o.rm);
  assert_int_equal(o.network, RL_NET_HOST);
  assert_int_equal(o.userns, RL_USERNS_KEEP_ID);
  assert_string_equal(o.rootfs, "/root/fs");
  assert_string_equal(o.workdir, "/work");
  assert_string_equal(o.user, "1000:100");
  assert_string_equal(o.hostname, "box");

  /* -e KEY takes the host's value; an unset KEY is dropped. */
  assert_int_equal(o.env.n, 3);
  assert_string_equal(o.env.v[0], "A=1");
  assert_string_equal(o.env.v[1], "RLESS_TEST_HOSTVAR=from-host");
  assert_string_equal(o.env.v[2], "B=x=y");
  assert_null(o.env.v[3]);

  assert_int_equal(o.n_volumes, 3);
  assert_string_equal(o.volumes[0].src, "/src");
  assert_string_equal(o.volumes[0].dst, "/dst");
  assert_false(o.volumes[0].ro);
  assert_string_equal(o.volumes[1].src, "/a");
  assert_string_equal(o.volumes[1].dst, "/b");
  assert_true(o.volumes[1].ro);
  assert_string_equal(o.volumes[2].src, "rel");
  assert_string_equal(o.volumes[2].dst, "/c");
  assert_false(o.volumes[2].ro);

  assert_int_equal(o.tmpfs.n, 2);
  assert_string_equal(o.tmpfs.v[0], "/tmp");
  assert_string_equal(o.tmpfs.v[1], "/run");

  assert_int_equal(o.cap_add.n, 2);
  assert_string_equal(o.cap_add.v[0], "NET_ADMIN");
  assert_string_equal(o.cap_add.v[1], "sys_ptrace");
  assert_int_equal(o.cap_drop.n, 1);
  assert_string_equal(o.cap_drop.v[0], "CHOWN");

  assert_int_equal(o.argv.n, 2);
  assert_string_equal(o.argv.v[0], "echo");
  assert_string_equal(o.argv.v[1], "hello");
  assert_null(o.argv.v[2]);
  rl_run_opts_free(&o);
  unsetenv("RLESS_TEST_HOSTVAR");
}

static void test_clustered_short_options(void **state)
{
  char *argv[] = {"run", "-it", "-eK=V", "--rootfs=/r", "true"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_true(o.interactive);
  assert_true(o.tty);
  assert_int_equal(o.env.n, 1);
  assert_string_equal(o.env.v[0], "K=V");
  assert_string_equal(o.rootfs, "/r");
  assert_int_equal(o.argv.n, 1);
  assert_string_equal(o.argv.v[0], "true");
  rl_run_opts_free(&o);
}

static void test_userns_values(void **state)
{
  static const struct {
    const char *arg;
    enum rl_userns_mode mode;
  } cases[] = {
      {"--userns=auto", RL_USERNS_AUTO},
      {"--userns=keep-id", RL_USERNS_KEEP_ID},
      {"--userns=single", RL_USERNS_SINGLE},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(cases); i++) {
    char *argv[] = {"run", (char *)cases[i].arg, "--rootfs", "/r", "sh"};
    struct rl_run_opts o;
    rl_error_t err = NULL;
    assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
    assert_int_equal(o.userns, cases[i].mode);
    rl_run_opts_free(&o);
  }
  /* The separate-word form too. */
  char *argv[] = {"run", "--userns", "single", "--rootfs", "/r", "sh"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_int_equal(o.userns, RL_USERNS_SINGLE);
  rl_run_opts_free(&o);
}

static void test_network_values(void **state)
{
  char *a1[] = {"run", "--network", "host", "--network", "none", "--rootfs", "/r", "sh"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(a1), a1, &o, &err), 0);
  assert_int_equal(o.network, RL_NET_NONE); /* the last one wins */
  rl_run_opts_free(&o);

  char *a2[] = {"run", "--net=host", "--rootfs", "/r", "sh"};
  assert_int_equal(rl_run_opts_parse(ARGC(a2), a2, &o, &err), 0);
  assert_int_equal(o.network, RL_NET_HOST);
  rl_run_opts_free(&o);
}

static void test_command_options_kept(void **state)
{
  char *argv[] = {"run", "--rootfs", "R", "sh", "-c", "x", "--rm", "-i"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_false(o.rm); /* belongs to the command */
  assert_false(o.interactive);
  assert_int_equal(o.argv.n, 5);
  assert_string_equal(o.argv.v[0], "sh");
  assert_string_equal(o.argv.v[1], "-c");
  assert_string_equal(o.argv.v[2], "x");
  assert_string_equal(o.argv.v[3], "--rm");
  assert_string_equal(o.argv.v[4], "-i");
  rl_run_opts_free(&o);
}

static void test_double_dash(void **state)
{
  char *argv[] = {"run", "--rootfs", "R", "-t", "--", "--weird", "-c"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_true(o.tty);
  assert_int_equal(o.argv.n, 2);
  assert_string_equal(o.argv.v[0], "--weird");
  assert_string_equal(o.argv.v[1], "-c");
  rl_run_opts_free(&o);

  /* `--` followed by nothing: no command. */
  char *a2[] = {"run", "--rootfs", "R", "--"};
  expect_parse_error(ARGC(a2), a2, "needs a command");
}

static void test_env_file(void **state)
{
  setenv("RLESS_TEST_FILEVAR", "hostval", 1);
  unsetenv("RLESS_TEST_FILE_UNSET");
  char *path = write_temp("# a comment\n"
                          "\n"
                          "   \n"
                          "FIRST=one\n"
                          "  # indented comment\n"
                          "  INDENTED=two\n"
                          "RLESS_TEST_FILEVAR\n"
                          "  RLESS_TEST_FILE_UNSET  \n"
                          "SPACES=a b \n"
                          "EMPTY=\n"
                          "LAST=end");
  char *argv[] = {"run",           "-e", "FIRST=zero", "--env-file", path, "-e",
                  "INDENTED=over", "-e", "NEW=n",      "--rootfs",   "/r", "sh"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(argv), argv, &o, &err), 0);
  assert_null(err);
  assert_int_equal(o.env.n, 7);
  /* FIRST keeps its first position, gets the file's value. */
  assert_string_equal(o.env.v[0], "FIRST=one");
  /* A later -e replaces the file's value in place. */
  assert_string_equal(o.env.v[1], "INDENTED=over");
  assert_string_equal(o.env.v[2], "RLESS_TEST_FILEVAR=hostval");
  /* Values keep trailing blanks, like docker. */
  assert_string_equal(o.env.v[3], "SPACES=a b ");
  assert_string_equal(o.env.v[4], "EMPTY=");
  assert_string_equal(o.env.v[5], "LAST=end");
  assert_string_equal(o.env.v[6], "NEW=n");
  assert_null(o.env.v[7]);
  rl_run_opts_free(&o);
  unlink(path);
  free(path);
  unsetenv("RLESS_TEST_FILEVAR");
}

static void test_env_file_errors(void **state)
{
  char *argv[] = {"run", "--env-file", "/nonexistent/rless-env", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(argv), argv, "/nonexistent/rless-env");

  char *path = write_temp("OK=1\nBAD KEY=2\n");
  char *a2[] = {"run", "--env-file", path, "--rootfs", "/r", "sh"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(a2), a2, &o, &err), -1);
  assert_non_null(err);
  cleanup_free char *want = rl_xasprintf("env file `%s` line 2: ", path);
  if (strncmp(err->msg, want, strlen(want)) != 0)
    fail_msg("message `%s` does not start with `%s`", err->msg, want);
  assert_non_null(strstr(err->msg, "BAD KEY=2"));
  rl_error_free(&err);
  rl_run_opts_free(&o);
  unlink(path);
  free(path);
}

static void test_unknown_option(void **state)
{
  char *a1[] = {"run", "--bogus", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a1), a1, "unknown option `--bogus`");
  char *a2[] = {"run", "-x", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a2), a2, "unknown option `-x`");
  char *a3[] = {"run", "-ix", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a3), a3, "unknown option `-x`");
}

/* BUG (src/options.c, bad_option): a value given to a long option that takes
 * none, e.g. `rless run --tty=yes ...`, is reported as
 * "unknown option `-t` for `rless run`": glibc sets optopt to the option's
 * val ('t'), so the short-option branch names `-t`, a valid option the user
 * did not type.  The message should name what was typed (`--tty=yes`).
 * (Options whose val is >= 256, like --rm=yes, already get the right text.) */
static void test_long_flag_with_value(void **state)
{
  char *a1[] = {"run", "--rm=yes", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a1), a1, "`--rm=yes`");
  char *a2[] = {"run", "--tty=yes", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a2), a2, "`--tty=yes`");
}

static void test_missing_value(void **state)
{
  char *a2[] = {"run", "--rootfs"};
  expect_parse_error(ARGC(a2), a2, "option `--rootfs` of `rless run` needs a value");
  char *a3[] = {"run", "--rootfs", "/r", "-e"};
  expect_parse_error(ARGC(a3), a3, "option `-e` of `rless run` needs a value");
  char *a4[] = {"run", "--rootfs", "/r", "--network"};
  expect_parse_error(ARGC(a4), a4, "option `--network` of `rless run` needs a value");
}

static void test_bad_values(void **state)
{
  char *a1[] = {"run", "--network", "bridge", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a1), a1, "invalid value `bridge` for --network");
  char *a2[] = {"run", "--userns", "bogus", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a2), a2, "invalid value `bogus` for --userns");
  /* The empty string is a placeholder for SUBIDS in the table, not a valid value. */
  char *a3[] = {"run", "--userns=", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a3), a3, "invalid value `` for --userns");
  char *a4[] = {"run", "--tmpfs", "tmp", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a4), a4, "invalid --tmpfs `tmp`");
  char *a5[] = {"run", "-e", "=x", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a5), a5, "invalid environment variable `=x`");
}

static void test_bad_volumes(void **state)
{
  char *a1[] = {"run", "-v", "/nocolon", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a1), a1, "invalid volume `/nocolon`");
  char *a2[] = {"run", "-v", "/a:relative", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a2), a2, "invalid volume `/a:relative`");
  char *a3[] = {"run", "-v", "/a:/b:rx", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(a3), a3, "unknown mode `rx`");
}

static void test_missing_rootfs_and_command(void **state)
{
  char *a2[] = {"run", "--rootfs", "/r"};
  expect_parse_error(ARGC(a2), a2, "needs a command to run");
  char *a3[] = {"run"};
  expect_parse_error(ARGC(a3), a3, "needs an image or a root filesystem (--rootfs DIR)");
  char *a4[] = {"run", "--rm", "-t"};
  expect_parse_error(ARGC(a4), a4, "needs an image");
}

/* Without --rootfs the first operand is the image; what follows is the
 * command, options included, and may be empty (the image's Cmd runs). */
static void test_image_operand(void **state)
{
  struct rl_run_opts o;
  cleanup_error rl_error_t err = NULL;
  char *a1[] = {"run", "--rm", "alpine"};
  assert_int_equal(rl_run_opts_parse(ARGC(a1), a1, &o, &err), 0);
  assert_string_equal(o.image, "alpine");
  assert_null(o.rootfs);
  assert_int_equal(o.argv.n, 0);
  assert_int_equal(o.pull, RL_PULL_MISSING);
  rl_run_opts_free(&o);

  char *a2[] = {"run", "--entrypoint", "",        "--pull=never", "127.0.0.1:5000/x/y:1",
                "sh",  "-c",           "--rootfs"};
  assert_int_equal(rl_run_opts_parse(ARGC(a2), a2, &o, &err), 0);
  assert_string_equal(o.image, "127.0.0.1:5000/x/y:1");
  assert_string_equal(o.entrypoint, "");
  assert_int_equal(o.pull, RL_PULL_NEVER);
  assert_int_equal(o.argv.n, 3);
  assert_string_equal(o.argv.v[2], "--rootfs");
  assert_null(o.rootfs);
  rl_run_opts_free(&o);

  char *a3[] = {"run", "--pull", "sometimes", "alpine"};
  expect_parse_error(ARGC(a3), a3, "invalid value `sometimes` for --pull");
}

static void test_parse_twice(void **state)
{
  char *a1[] = {"run", "-t", "--rootfs", "/one", "a", "b"};
  char *a2[] = {"run", "--rootfs", "/two", "-i", "c"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  for (int round = 0; round < 2; round++) {
    assert_int_equal(rl_run_opts_parse(ARGC(a1), a1, &o, &err), 0);
    assert_true(o.tty);
    assert_false(o.interactive);
    assert_string_equal(o.rootfs, "/one");
    assert_int_equal(o.argv.n, 2);
    assert_string_equal(o.argv.v[0], "a");
    rl_run_opts_free(&o);

    assert_int_equal(rl_run_opts_parse(ARGC(a2), a2, &o, &err), 0);
    assert_false(o.tty);
    assert_true(o.interactive);
    assert_string_equal(o.rootfs, "/two");
    assert_int_equal(o.argv.n, 1);
    assert_string_equal(o.argv.v[0], "c");
    rl_run_opts_free(&o);
  }
  /* An error in the middle of a previous parse must not leak into the next. */
  char *bad[] = {"run", "-ix", "--rootfs", "/r", "sh"};
  expect_parse_error(ARGC(bad), bad, "unknown option `-x`");
  assert_int_equal(rl_run_opts_parse(ARGC(a2), a2, &o, &err), 0);
  assert_null(err);
  assert_string_equal(o.rootfs, "/two");
  assert_string_equal(o.argv.v[0], "c");
  rl_run_opts_free(&o);
}

static void test_volume_parse(void **state)
{
  struct rl_volume v;
  rl_error_t err = NULL;

  assert_int_equal(rl_volume_parse("/host/dir:/ctr", &v, &err), 0);
  assert_string_equal(v.src, "/host/dir");
  assert_string_equal(v.dst, "/ctr");
  assert_false(v.ro);
  free(v.src);
  free(v.dst);

  assert_int_equal(rl_volume_parse("/h:/c:ro", &v, &err), 0);
  assert_string_equal(v.src, "/h");
  assert_string_equal(v.dst, "/c");
  assert_true(v.ro);
  free(v.src);
  free(v.dst);

  v.ro = true; /* rw must reset it */
  assert_int_equal(rl_volume_parse("h:/c/d:rw", &v, &err), 0);
  assert_string_equal(v.src, "h");
  assert_string_equal(v.dst, "/c/d");
  assert_false(v.ro);
  free(v.src);
  free(v.dst);
  assert_null(err);

  static const struct {
    const char *spec, *needle;
  } bad[] = {
      {"nocolon", "invalid volume `nocolon`: expected SRC:DST[:ro] with an absolute DST"},
      {":/c", "invalid volume `:/c`"},
      {"/h:", "invalid volume `/h:`"},
      {"/h:c", "invalid volume `/h:c`"},
      {"/h:/c:", "unknown mode ``"},
      {"/h:/c:RO", "unknown mode `RO`"},
      {"/h:/c:ro:x", "unknown mode `ro:x`"},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    assert_int_equal(rl_volume_parse(bad[i].spec, &v, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->exit_code, 125);
    if (strstr(err->msg, bad[i].needle) == NULL)
      fail_msg("spec `%s`: message `%s` lacks `%s`", bad[i].spec, err->msg, bad[i].needle);
    rl_error_free(&err);
  }
}

static void test_help(void **state)
{
  char *argv[] = {"run", "--help"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  FILE *saved = stdout;
  stdout = fopen("/dev/null", "w");
  assert_non_null(stdout);
  int r = rl_run_opts_parse(ARGC(argv), argv, &o, &err);
  fclose(stdout);
  stdout = saved;
  assert_int_equal(r, 1);
  assert_null(err);
  rl_run_opts_free(&o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_minimal),
      cmocka_unit_test(test_all_options),
      cmocka_unit_test(test_clustered_short_options),
      cmocka_unit_test(test_userns_values),
      cmocka_unit_test(test_network_values),
      cmocka_unit_test(test_command_options_kept),
      cmocka_unit_test(test_double_dash),
      cmocka_unit_test(test_env_file),
      cmocka_unit_test(test_env_file_errors),
      cmocka_unit_test(test_unknown_option),
      cmocka_unit_test(test_long_flag_with_value),
      cmocka_unit_test(test_missing_value),
      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_bad_volumes),
      cmocka_unit_test(test_missing_rootfs_and_command),
      cmocka_unit_test(test_image_operand),
      cmocka_unit_test(test_parse_twice),
      cmocka_unit_test(test_volume_parse),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
