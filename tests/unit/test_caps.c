/* Unit tests for the pure part of src/caps.c: the default set and
 * --cap-add/--cap-drop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <string.h>

#include "rl_caps.h"
#include "rl_error.h"
#include "rl_util.h"

int rl_log_level = 0;

#define BIT(n) ((uint64_t)1 << (n))

/* Every capability the headers know: CAP_LAST_CAP is at least 40 (CHECKPOINT_RESTORE). */
#define ALL_CAPS (CAP_LAST_CAP >= 63 ? ~(uint64_t)0 : BIT(CAP_LAST_CAP + 1) - 1)

/* Build a vector from a NULL-terminated list. */
static rl_strv_t strv(const char *first, ...)
{
  rl_strv_t s = {0};
  va_list ap;
  va_start(ap, first);
  for (const char *p = first; p; p = va_arg(ap, const char *))
    rl_strv_push(&s, p);
  va_end(ap);
  return s;
}

static uint64_t compute_ok(rl_strv_t add, rl_strv_t drop)
{
  uint64_t mask = 0xdeadbeef;
  rl_error_t err = NULL;
  int r = rl_caps_compute(&add, &drop, &mask, &err);
  if (r != 0)
    fail_msg("rl_caps_compute failed: %s", err ? err->msg : "(no error)");
  assert_null(err);
  rl_strv_free(&add);
  rl_strv_free(&drop);
  return mask;
}

static void test_default(void **state)
{
  assert_int_equal(rl_caps_default(), 0x00000000800405fbULL);
  /* Spot checks against the kernel's numbering. */
  uint64_t d = rl_caps_default();
  assert_true(d & BIT(CAP_CHOWN));
  assert_true(d & BIT(CAP_NET_BIND_SERVICE));
  assert_true(d & BIT(CAP_SETFCAP));
  assert_true(d & BIT(CAP_SYS_CHROOT));
  assert_false(d & BIT(CAP_NET_RAW));
  assert_false(d & BIT(CAP_SYS_ADMIN));
  assert_false(d & BIT(CAP_MKNOD));
  assert_false(d & BIT(CAP_AUDIT_WRITE));
}

static void test_no_changes(void **state)
{
  rl_strv_t empty = {0};
  assert_int_equal(compute_ok(empty, empty), 0x800405fbULL);
}

static void test_add_drop_spellings(void **state)
{
  /* Every spelling of NET_ADMIN (12) and SYS_PTRACE (19). */
  static const char *const admin[] = {"NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_net_admin",
                                      "Cap_Net_Admin"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(admin); i++)
    assert_int_equal(compute_ok(strv(admin[i], "sys_PTRACE", NULL), strv(NULL)),
                     0x800405fbULL | BIT(12) | BIT(19));

  /* Drop CHOWN (0) and cap_kill (5), in both spellings. */
  assert_int_equal(compute_ok(strv(NULL), strv("chown", "CAP_KILL", NULL)),
                   0x800405fbULL & ~(BIT(0) | BIT(5)));
  assert_int_equal(compute_ok(strv(NULL), strv("CAP_chown", "Kill", NULL)), 0x800405daULL);

  /* Adding something already there, dropping something absent: no change. */
  assert_int_equal(compute_ok(strv("CHOWN", NULL), strv("NET_RAW", NULL)), 0x800405fbULL);
}

static void test_add_then_drop(void **state)
{
  /* The header's rule: add, then drop, so a cap in both lists ends up dropped. */
  assert_int_equal(compute_ok(strv("NET_RAW", NULL), strv("net_raw", NULL)), 0x800405fbULL);
}

static void test_drop_all(void **state)
{
  assert_int_equal(compute_ok(strv("CHOWN", NULL), strv("ALL", NULL)), 0x1ULL);
  assert_int_equal(compute_ok(strv(NULL), strv("all", NULL)), 0);
  assert_int_equal(compute_ok(strv("cap_net_bind_service", "SETUID", NULL), strv("ALL", NULL)),
                   BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SETUID));
  /* Names beside ALL in the drop list are still dropped from what add brought. */
  assert_int_equal(compute_ok(strv("KILL", NULL), strv("ALL", "CHOWN", NULL)), BIT(5));
}

static void test_add_all(void **state)
{
  uint64_t m = compute_ok(strv("ALL", NULL), strv("NET_RAW", NULL));
  assert_int_equal(m, ALL_CAPS & ~BIT(13));
  assert_false(m & BIT(CAP_NET_RAW));
  assert_true(m & BIT(CAP_SYS_ADMIN));
  assert_true(m & BIT(CAP_LAST_CAP));
  if (CAP_LAST_CAP < 63)
    assert_false(m & BIT(CAP_LAST_CAP + 1));
  assert_true(m & BIT(40)); /* CAP_CHECKPOINT_RESTORE */

  assert_int_equal(compute_ok(strv("all", NULL), strv(NULL)), ALL_CAPS);
  /* add ALL wins over drop ALL, as in docker. */
  assert_int_equal(compute_ok(strv("ALL", NULL), strv("ALL", NULL)), ALL_CAPS);
}

static void test_unknown(void **state)
{
  static const char *const bad[] = {"NOT_A_CAP", "CAP_", "", "cap_chownx", "5"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    rl_strv_t add = strv(bad[i], NULL), drop = {0};
    uint64_t mask = 42;
    rl_error_t err = NULL;
    assert_int_equal(rl_caps_compute(&add, &drop, &mask, &err), -1);
    assert_non_null(err);
    cleanup_free char *want = rl_xasprintf("unknown capability `%s`", bad[i]);
    assert_string_equal(err->msg, want);
    assert_non_null(err->hint);
    assert_int_equal(err->exit_code, 125);
    assert_int_equal(mask, 42); /* untouched on error */
    rl_error_free(&err);
    rl_strv_free(&add);
  }

  /* In the drop list too, after valid names. */
  rl_strv_t add = strv("CHOWN", NULL), drop = strv("KILL", "bogus_cap", NULL);
  uint64_t mask = 42;
  rl_error_t err = NULL;
  assert_int_equal(rl_caps_compute(&add, &drop, &mask, &err), -1);
  assert_string_equal(err->msg, "unknown capability `bogus_cap`");
  assert_int_equal(mask, 42);
  rl_error_free(&err);
  rl_strv_free(&add);
  rl_strv_free(&drop);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default),
      cmocka_unit_test(test_no_changes),
      cmocka_unit_test(test_add_drop_spellings),
      cmocka_unit_test(test_add_then_drop),
      cmocka_unit_test(test_drop_all),
      cmocka_unit_test(test_add_all),
      cmocka_unit_test(test_unknown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
