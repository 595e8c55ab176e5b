/* Unit tests for src/passwd.c: -u USER[:GROUP] against the rootfs' files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rl_error.h"
#include "rl_passwd.h"
#include "rl_util.h"

int rl_log_level = 0;

static const char passwd[] = "# the container's users\n"
                             "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "#alice:x:999:999::/nope:/bin/sh\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                             "bob:x:1001:100::/home/bob:/bin/sh\n"
                             "nohome:x:1002:1002:::/bin/sh\n"
                             "broken:x:abc:0::/:/bin/sh\n"
                             "last:x:2000:2000::/home/last:/bin/sh"; /* no final newline */

static const char group[] = "root:x:0:\n"
                            "#comment:x:77:alice\n"
                            "wheel:x:10:root,alice\n"
                            "users:x:100:bob,alice\n"
                            "alice:x:1000:\n"
                            "audio:x:29:alicex,xalice\n"
                            "video:x:44:carol,alice,dave\n"
                            "video2:x:44:alice\n"
                            "staff:x:50:bob\n"
                            "last:x:2000:last";

static void assert_groups(const struct rl_user *u, const gid_t *want, size_t n)
{
  if (u->n_groups != n)
    fail_msg("got %zu supplementary groups, want %zu", u->n_groups, n);
  for (size_t i = 0; i < n; i++)
    if (u->groups[i] != want[i])
      fail_msg("group %zu: got %u, want %u", i, (unsigned)u->groups[i], (unsigned)want[i]);
}

static void expect_error(const char *spec, const char *pw, const char *gr, const char *msg)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve(spec, pw, gr, &u, &err), -1);
  assert_non_null(err);
  assert_string_equal(err->msg, msg);
  assert_int_equal(err->exit_code, 125);
  rl_error_free(&err);
  rl_user_free(&u);
}

static void test_null_spec_is_root(void **state)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve(NULL, passwd, group, &u, &err), 0);
  assert_null(err);
  assert_int_equal(u.uid, 0);
  assert_int_equal(u.gid, 0);
  assert_string_equal(u.home, "/root");
  const gid_t want[] = {10};
  assert_groups(&u, want, 1);
  rl_user_free(&u);
  assert_null(u.home);
  assert_null(u.groups);

  /* "" is root too. */
  assert_int_equal(rl_user_resolve("", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 0);
  assert_string_equal(u.home, "/root");
  rl_user_free(&u);
}

static void test_root_without_files(void **state)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve(NULL, NULL, NULL, &u, &err), 0);
  assert_null(err);
  assert_int_equal(u.uid, 0);
  assert_int_equal(u.gid, 0);
  assert_string_equal(u.home, "/");
  assert_int_equal(u.n_groups, 0);
  rl_user_free(&u);
}

static void test_name_lookup(void **state)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve("alice", passwd, group, &u, &err), 0);
  assert_null(err);
  assert_int_equal(u.uid, 1000); /* not the commented-out 999 */
  assert_int_equal(u.gid, 1000);
  assert_string_equal(u.home, "/home/alice");
  /* wheel, users, video (video2 has the same gid); not audio (alicex/xalice), not the comment. */
  const gid_t want[] = {10, 100, 44};
  assert_groups(&u, want, 3);
  rl_user_free(&u);

  assert_int_equal(rl_user_resolve("bob", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 1001);
  assert_int_equal(u.gid, 100);
  assert_string_equal(u.home, "/home/bob");
  const gid_t want_bob[] = {100, 50};
  assert_groups(&u, want_bob, 2);
  rl_user_free(&u);

  /* Last line without a newline, member list at the end of the group text. */
  assert_int_equal(rl_user_resolve("last", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 2000);
  assert_string_equal(u.home, "/home/last");
  const gid_t want_last[] = {2000};
  assert_groups(&u, want_last, 1);
  rl_user_free(&u);
}

static void test_empty_home(void **state)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve("nohome", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 1002);
  assert_int_equal(u.gid, 1002);
  assert_string_equal(u.home, "/");
  assert_int_equal(u.n_groups, 0);
  rl_user_free(&u);
}

static void test_numeric_uid(void **state)
{
  struct rl_user u;
  rl_error_t err = NULL;
  /* With a passwd entry: its gid, home and groups. */
  assert_int_equal(rl_user_resolve("1000", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 1000);
  assert_string_equal(u.home, "/home/alice");
  const gid_t want[] = {10, 100, 44};
  assert_groups(&u, want, 3);
  rl_user_free(&u);

  /* Without: gid 0, home "/", no groups. */
  assert_int_equal(rl_user_resolve("4242", passwd, group, &u, &err), 0);
  assert_null(err);
  assert_int_equal(u.uid, 4242);
  assert_int_equal(u.gid, 0);
  assert_string_equal(u.home, "/");
  assert_int_equal(u.n_groups, 0);
  rl_user_free(&u);

  /* No passwd file at all. */
  assert_int_equal(rl_user_resolve("1000", NULL, group, &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 0);
  assert_string_equal(u.home, "/");
  assert_int_equal(u.n_groups, 0);
  rl_user_free(&u);
}

static void test_uid_gid(void **state)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve("1000:1000", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 1000);
  rl_user_free(&u);

  assert_int_equal(rl_user_resolve("4242:4343", NULL, NULL, &u, &err), 0);
  assert_null(err);
  assert_int_equal(u.uid, 4242);
  assert_int_equal(u.gid, 4343);
  assert_string_equal(u.home, "/");
  rl_user_free(&u);

  /* A numeric group overrides the passwd primary group, groups still collected. */
  assert_int_equal(rl_user_resolve("alice:7", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 7);
  assert_string_equal(u.home, "/home/alice");
  const gid_t want[] = {10, 100, 44};
  assert_groups(&u, want, 3);
  rl_user_free(&u);

  /* "user:" keeps the primary group. */
  assert_int_equal(rl_user_resolve("bob:", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 1001);
  assert_int_equal(u.gid, 100);
  rl_user_free(&u);
}

static void test_name_groupname(void **state)
{
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve("alice:wheel", passwd, group, &u, &err), 0);
  assert_null(err);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 10);
  rl_user_free(&u);

  assert_int_equal(rl_user_resolve("4242:staff", passwd, group, &u, &err), 0);
  assert_int_equal(u.uid, 4242);
  assert_int_equal(u.gid, 50);
  assert_string_equal(u.home, "/");
  rl_user_free(&u);
}

static void test_errors(void **state)
{
  expect_error("nobody", passwd, group, "user `nobody` not found in the container's /etc/passwd");
  expect_error("nobody:wheel", passwd, group,
               "user `nobody` not found in the container's /etc/passwd");
  expect_error("alice", NULL, group, "user `alice` not found in the container's /etc/passwd");
  expect_error("alice:nogroup", passwd, group,
               "group `nogroup` not found in the container's /etc/group");
  expect_error("alice:wheel", passwd, NULL,
               "group `wheel` not found in the container's /etc/group");
  expect_error("broken", passwd, group, "malformed /etc/passwd entry for user `broken`");
  /* A name only in a comment is not a user. */
  expect_error("#alice", passwd, group, "user `#alice` not found in the container's /etc/passwd");
}

static void test_group_comment_not_matched(void **state)
{
  /* The commented group line names gid 77 and lists alice; it must not count. */
  struct rl_user u;
  rl_error_t err = NULL;
  assert_int_equal(rl_user_resolve("alice", passwd, group, &u, &err), 0);
  for (size_t i = 0; i < u.n_groups; i++)
    assert_int_not_equal(u.groups[i], 77);
  rl_user_free(&u);
  /* Nor can it be named. */
  expect_error("alice:#comment", passwd, group,
               "group `#comment` not found in the container's /etc/group");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_null_spec_is_root),
      cmocka_unit_test(test_root_without_files),
      cmocka_unit_test(test_name_lookup),
      cmocka_unit_test(test_empty_home),
      cmocka_unit_test(test_numeric_uid),
      cmocka_unit_test(test_uid_gid),
      cmocka_unit_test(test_name_groupname),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_group_comment_not_matched),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
