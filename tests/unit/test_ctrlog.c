/* k8s-file log lines: format, parse, the writer's line splitting, --since. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rl_ctrlog.h"
#include "rl_util.h"

int rl_log_level = 0;

static void test_format(void **state)
{
  char out[128];
  struct timespec ts = {.tv_sec = 1764615600, .tv_nsec = 5};
  size_t n = rl_ctrlog_format(out, &ts, "stdout", false, "hello", 5);
  out[n] = '\0';
  assert_string_equal(out, "2025-12-01T19:00:00.000000005Z stdout F hello\n");
  n = rl_ctrlog_format(out, &ts, "stderr", true, "", 0);
  out[n] = '\0';
  assert_string_equal(out, "2025-12-01T19:00:00.000000005Z stderr P \n");
}

/* The hand-made header agrees with gmtime_r + strftime across leap days,
 * century rules and the epoch. */
static void test_format_matches_libc(void **state)
{
  long long fixed[] = {0,
                       59,
                       86399,
                       86400,
                       951782400 /* 2000-02-29 */,
                       951868800,
                       4107542400 /* 2100-03-01 */,
                       1709164800 /* 2024-02-29 */,
                       253402300799,
                       -1,
                       -86401};
  unsigned long long x = 88172645463325252ull;
  for (int i = 0; i < 2000; i++) {
    long long sec;
    if (i < (int)RL_ARRAY_SIZE(fixed)) {
      sec = fixed[i];
    } else {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      sec = (long long)(x % 253402300800ull); /* up to 9999-12-31 */
    }
    if (sec < 0)
      continue; /* before 1970: the log never has such times, gmtime's year 1969 is fine too */
    struct timespec ts = {.tv_sec = sec, .tv_nsec = 123456789};
    char out[128], want[128];
    size_t n = rl_ctrlog_format(out, &ts, "stdout", false, "x", 1);
    out[n] = '\0';
    struct tm tm;
    time_t t = (time_t)sec;
    gmtime_r(&t, &tm);
    size_t k = strftime(want, 64, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(want + k, sizeof(want) - k, ".123456789Z stdout F x\n");
    if (strcmp(out, want) != 0)
      fail_msg("at %lld: got %s, want %s", sec, out, want);
  }
}

static void test_parse(void **state)
{
  struct rl_logline l;
  const char *s = "2025-12-01T19:00:00.123456789Z stderr P part of it";
  assert_int_equal(rl_ctrlog_parse(s, strlen(s), &l), 0);
  assert_true(l.is_stderr);
  assert_true(l.partial);
  assert_int_equal(l.ts.tv_sec, 1764615600);
  assert_int_equal(l.ts.tv_nsec, 123456789);
  assert_int_equal(l.len, strlen("part of it"));
  assert_memory_equal(l.text, "part of it", l.len);
  assert_int_equal(l.stamp_len, strlen("2025-12-01T19:00:00.123456789Z"));

  const char *empty = "2025-12-01T19:00:00Z stdout F ";
  assert_int_equal(rl_ctrlog_parse(empty, strlen(empty), &l), 0);
  assert_int_equal(l.len, 0);
  assert_false(l.partial);

  const char *bad[] = {"",
                       "2025-12-01T19:00:00Z",
                       "2025-12-01T19:00:00Z stdin F x",
                       "2025-12-01T19:00:00Z stdout X x",
                       "yesterday stdout F x",
                       "2025-12-01T19:00:00Z stdout F"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(rl_ctrlog_parse(bad[i], strlen(bad[i]), &l), -1);
}

/* What the writer puts in the file, parsed back: whole lines F, the rest P. */
static void test_feed_and_flush(void **state)
{
  char path[] = "/tmp/rless-ctrlog-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  struct rl_logbuf b = {.stream = "stdout"};
  rl_ctrlog_feed(fd, &b, "one\ntw", 6);
  rl_ctrlog_feed(fd, &b, "o\n\nthree", 8);
  rl_ctrlog_flush(fd, &b);
  char *big = rl_xmalloc(RL_CTRLOG_PIECE + 10);
  memset(big, 'x', RL_CTRLOG_PIECE + 10);
  big[RL_CTRLOG_PIECE + 9] = '\n';
  rl_ctrlog_feed(fd, &b, big, RL_CTRLOG_PIECE + 10);
  free(big);

  char buf[2 * RL_CTRLOG_PIECE];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  assert_true(n > 0);
  buf[n] = '\0';
  close(fd);
  const char *want[][2] = {{"F", "one"}, {"F", "two"}, {"F", ""}, {"P", "three"}};
  char *line = buf;
  for (size_t i = 0; i < 4; i++) {
    char *nl = strchr(line, '\n');
    struct rl_logline l;
    assert_non_null(nl);
    assert_int_equal(rl_ctrlog_parse(line, (size_t)(nl - line), &l), 0);
    assert_int_equal(l.partial, want[i][0][0] == 'P');
    assert_int_equal(l.len, strlen(want[i][1]));
    assert_memory_equal(l.text, want[i][1], l.len);
    line = nl + 1;
  }
  /* The long line: one full piece as P, then the rest as F. */
  struct rl_logline l;
  char *nl = strchr(line, '\n');
  assert_int_equal(rl_ctrlog_parse(line, (size_t)(nl - line), &l), 0);
  assert_true(l.partial);
  assert_int_equal(l.len, RL_CTRLOG_PIECE);
  line = nl + 1;
  nl = strchr(line, '\n');
  assert_int_equal(rl_ctrlog_parse(line, (size_t)(nl - line), &l), 0);
  assert_false(l.partial);
  assert_int_equal(l.len, 9);
  assert_string_equal(nl + 1, "");
}

static void test_since(void **state)
{
  struct timespec ts;
  assert_int_equal(rl_ctrlog_parse_since("1764615600", 0, &ts), 0);
  assert_int_equal(ts.tv_sec, 1764615600);
  assert_int_equal(rl_ctrlog_parse_since("10m", 1000, &ts), 0);
  assert_int_equal(ts.tv_sec, 400);
  assert_int_equal(rl_ctrlog_parse_since("1h30m5s", 10000, &ts), 0);
  assert_int_equal(ts.tv_sec, 10000 - 5405);
  assert_int_equal(rl_ctrlog_parse_since("2025-12-01T20:00:00+01:00", 0, &ts), 0);
  assert_int_equal(ts.tv_sec, 1764615600);
  assert_int_equal(rl_ctrlog_parse_since("2025-12-01T19:00:00.5Z", 0, &ts), 0);
  assert_int_equal(ts.tv_nsec, 500000000);
  assert_int_equal(rl_ctrlog_parse_since("soon", 0, &ts), -1);
  assert_int_equal(rl_ctrlog_parse_since("10x", 0, &ts), -1);
  assert_int_equal(rl_ctrlog_parse_since("", 0, &ts), -1);
  assert_int_equal(rl_ctrlog_parse_since("2025-12-01T19:00:00", 0, &ts), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format), cmocka_unit_test(test_format_matches_libc),
      cmocka_unit_test(test_parse),  cmocka_unit_test(test_feed_and_flush),
      cmocka_unit_test(test_since),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
