/* Unit tests for src/cgroup_limits.c: sizes, CPU quotas, cpusets, the files
 * the options become, HostConfig round trips, and where limits can go. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rl_cgroup.h"
#include "rl_host.h"
#include "rl_options.h"

int rl_log_level = 0;

static void test_sizes(void **state)
{
  int64_t b = 0;
  assert_int_equal(rl_parse_size("32m", &b), 0);
  assert_int_equal(b, 32 << 20);
  assert_int_equal(rl_parse_size("32M", &b), 0);
  assert_int_equal(b, 32 << 20);
  assert_int_equal(rl_parse_size("1.5g", &b), 0);
  assert_int_equal(b, 3LL << 29);
  assert_int_equal(rl_parse_size("512KiB", &b), 0);
  assert_int_equal(b, 512 << 10);
  assert_int_equal(rl_parse_size("100", &b), 0);
  assert_int_equal(b, 100);
  assert_int_equal(rl_parse_size("100b", &b), 0);
  assert_int_equal(b, 100);
  assert_int_equal(rl_parse_size("2 gb", &b), 0);
  assert_int_equal(b, 2LL << 30);
  const char *bad[] = {"",    "m",  "-1",  "1e3",  "0x10",         "1.", ".5m",
                       "5mm", "5q", "inf", "1..2", "99999999999t", "5 ", "5bb"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++)
    if (rl_parse_size(bad[i], &b) == 0)
      fail_msg("size `%s` was accepted", bad[i]);
}

static void test_cpus(void **state)
{
  int64_t q = 0;
  assert_int_equal(rl_parse_cpus("0.5", &q), 0);
  assert_int_equal(q, 50000);
  assert_int_equal(rl_parse_cpus("2", &q), 0);
  assert_int_equal(q, 200000);
  assert_int_equal(rl_parse_cpus("0.00001", &q), 0);
  assert_int_equal(q, 1);
  const char *bad[] = {"", "0", "0.000001", "-1", "1e2", "abc", "1.2.3", ".", "0.0"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++)
    if (rl_parse_cpus(bad[i], &q) == 0)
      fail_msg("--cpus `%s` was accepted", bad[i]);
}

static void test_cpusets(void **state)
{
  assert_true(rl_cpuset_valid("0"));
  assert_true(rl_cpuset_valid("0-3,5,7-8"));
  assert_false(rl_cpuset_valid(""));
  assert_false(rl_cpuset_valid("3-1"));
  assert_false(rl_cpuset_valid("0,"));
  assert_false(rl_cpuset_valid("0-"));
  assert_false(rl_cpuset_valid("a"));
  assert_false(rl_cpuset_valid("0 1"));
}

static void test_weights(void **state)
{
  assert_int_equal(rl_cpu_shares_to_weight(2), 1);
  assert_int_equal(rl_cpu_shares_to_weight(1024), 39);
  assert_int_equal(rl_cpu_shares_to_weight(262144), 10000);
  assert_int_equal(rl_blkio_to_io_weight(10), 1);
  assert_int_equal(rl_blkio_to_io_weight(1000), 10000);
}

/* `rless run` with these options; returns the limits parsed (or fails the test). */
static void parse(struct rl_run_opts *o, int argc, char **argv)
{
  rl_error_t err = NULL;
  if (rl_run_opts_parse(argc, argv, o, &err) != 0)
    fail_msg("parse failed: %s", err ? err->msg : "?");
}

static const char *file_value(const struct rl_cgroup_file *f, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(f[i].name, name) == 0)
      return f[i].value;
  return NULL;
}

static void test_files(void **state)
{
  char *argv[] = {"run", "-m",
                  "32m", "--cpus",
                  "0.5", "--pids-limit",
                  "10",  "--cpuset-cpus",
                  "0",   "--blkio-weight",
                  "500", "--rootfs",
                  "/r",  "true"};
  struct rl_run_opts o;
  parse(&o, (int)RL_ARRAY_SIZE(argv), argv);
  struct rl_cgroup_file *f;
  size_t n;
  rl_strv_t ctl = {0};
  rl_cgroup_limits_files(&o.limits, &f, &n, &ctl);
  assert_string_equal(file_value(f, n, "memory.max"), "33554432");
  assert_null(file_value(f, n, "memory.swap.max")); /* docker's default: as much as memory */
  assert_string_equal(file_value(f, n, "cpu.max"), "50000 100000");
  assert_string_equal(file_value(f, n, "pids.max"), "10");
  assert_string_equal(file_value(f, n, "cpuset.cpus"), "0");
  assert_string_equal(file_value(f, n, "io.weight"), "default 4950");
  assert_string_equal(f[0].name, "cpuset.cpus"); /* cpuset before anything else */
  assert_int_equal(ctl.n, 5);
  assert_true(rl_strv_contains(&ctl, "memory") && rl_strv_contains(&ctl, "cpu") &&
              rl_strv_contains(&ctl, "pids") && rl_strv_contains(&ctl, "cpuset") &&
              rl_strv_contains(&ctl, "io"));
  rl_cgroup_files_free(f, n);
  rl_strv_free(&ctl);
  rl_run_opts_free(&o);
}

static void test_swap(void **state)
{
  char *a1[] = {"run", "--memory", "64m", "--memory-swap", "128m", "--rootfs", "/r", "true"};
  char *a2[] = {"run", "--memory", "64m", "--memory-swap", "-1", "--rootfs", "/r", "true"};
  char **argvs[] = {a1, a2};
  const char *want[] = {"67108864", "max"};
  for (size_t k = 0; k < 2; k++) {
    struct rl_run_opts o;
    parse(&o, 8, argvs[k]);
    struct rl_cgroup_file *f;
    size_t n;
    rl_strv_t ctl = {0};
    rl_cgroup_limits_files(&o.limits, &f, &n, &ctl);
    assert_string_equal(file_value(f, n, "memory.swap.max"), want[k]);
    rl_cgroup_files_free(f, n);
    rl_strv_free(&ctl);
    rl_run_opts_free(&o);
  }
}

static void expect_error(int argc, char **argv, const char *needle)
{
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(argc, argv, &o, &err), -1);
  if (err == NULL || strstr(err->msg, needle) == NULL)
    fail_msg("error `%s` does not contain `%s`", err ? err->msg : "(none)", needle);
  rl_error_free(&err);
  rl_run_opts_free(&o);
}

static void test_rules(void **state)
{
  char *a1[] = {"run", "--memory-swap", "1g", "--rootfs", "/r", "true"};
  expect_error(6, a1, "--memory-swap needs --memory");
  char *a2[] = {"run", "-m", "1g", "--memory-swap", "512m", "--rootfs", "/r", "true"};
  expect_error(8, a2, "must be at least --memory");
  char *a3[] = {"run", "--cpus", "1", "--cgroups", "disabled", "--rootfs", "/r", "true"};
  expect_error(8, a3, "--cgroups=disabled");
  char *a4[] = {"run", "--pids-limit", "ten", "--rootfs", "/r", "true"};
  expect_error(6, a4, "invalid value `ten` for --pids-limit");
  char *a5[] = {"run", "--cgroups", "maybe", "--rootfs", "/r", "true"};
  expect_error(6, a5, "--cgroups");
  char *a6[] = {"run", "--cpu-shares", "1", "--rootfs", "/r", "true"};
  expect_error(6, a6, "from 2 to 262144");
}

static void test_json_round_trip(void **state)
{
  char *argv[] = {"run", "-m",     "1g",  "--memory-swap", "-1", "--pids-limit",
                  "0",   "--cpus", "1.5", "--cpuset-mems", "0",  "--rootfs",
                  "/r",  "true"};
  struct rl_run_opts o;
  parse(&o, (int)RL_ARRAY_SIZE(argv), argv);
  json_t *j = json_object();
  rl_cgroup_limits_to_json(&o.limits, j);
  assert_int_equal(json_integer_value(json_object_get(j, "Memory")), 1LL << 30);
  assert_int_equal(json_integer_value(json_object_get(j, "MemorySwap")), -1);
  assert_int_equal(json_integer_value(json_object_get(j, "NanoCpus")), 1500000000);
  assert_int_equal(json_integer_value(json_object_get(j, "PidsLimit")), -1);
  struct rl_cgroup_limits l;
  rl_cgroup_limits_from_json(j, &l);
  assert_int_equal(l.memory, o.limits.memory);
  assert_int_equal(l.memory_swap, o.limits.memory_swap);
  assert_int_equal(l.cpu_quota, 150000);
  assert_int_equal(l.pids_limit, 0);
  assert_string_equal(l.cpuset_mems, "0");
  assert_null(l.cpuset_cpus);
  assert_int_equal(l.cpu_shares, -1);
  /* Nothing set: PidsLimit null, numbers 0, and back to "not given". */
  struct rl_cgroup_limits none, back;
  rl_cgroup_limits_init(&none);
  json_t *k = json_object();
  rl_cgroup_limits_to_json(&none, k);
  assert_true(json_is_null(json_object_get(k, "PidsLimit")));
  rl_cgroup_limits_from_json(k, &back);
  assert_false(rl_cgroup_limits_any(&back));
  json_decref(j);
  json_decref(k);
  rl_cgroup_limits_free(&l);
  rl_run_opts_free(&o);
}

/* ---- decisions ---- */

static void host(struct rl_host_cgroup *h, enum rl_cgroup_layout layout, bool writable,
                 const char *root_ctl)
{
  memset(h, 0, sizeof(*h));
  h->layout = layout;
  h->mount = rl_xstrdup(layout == RL_CGROUP_HYBRID ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup");
  h->path = rl_xstrdup("/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope");
  h->dir = rl_xasprintf("%s%s", h->mount, h->path);
  h->writable = writable;
  rl_cgroup_parse_controllers(root_ctl, &h->root_controllers);
}

static int decide(const struct rl_host_cgroup *h, const char *have_text, char **argv, int argc,
                  rl_strv_t *want, rl_error_t *err)
{
  struct rl_run_opts o;
  parse(&o, argc, argv);
  struct rl_cgroup_file *f;
  size_t n;
  rl_strv_t needed = {0}, have = {0};
  rl_cgroup_limits_files(&o.limits, &f, &n, &needed);
  rl_cgroup_parse_controllers(have_text, &have);
  int r = rl_cgroup_decide(h, rl_cgroup_usable(h) ? h->dir : NULL, &have, f, n, &needed, want, err);
  rl_cgroup_files_free(f, n);
  rl_strv_free(&needed);
  rl_strv_free(&have);
  rl_run_opts_free(&o);
  return r;
}

static void test_decide_hybrid(void **state)
{
  struct rl_host_cgroup h;
  host(&h, RL_CGROUP_HYBRID, true, "hugetlb");
  char *argv[] = {"run", "--memory", "32m", "--rootfs", "/r", "true"};
  rl_strv_t want = {0};
  rl_error_t err = NULL;
  assert_int_equal(decide(&h, "hugetlb", argv, 6, &want, &err), -1);
  assert_non_null(strstr(err->msg, "--memory"));
  assert_non_null(strstr(err->msg, "hybrid"));
  assert_non_null(strstr(err->msg, "memory controller"));
  assert_non_null(strstr(err->hint, "systemd.unified_cgroup_hierarchy=1"));
  assert_int_equal(err->exit_code, 125);
  rl_error_free(&err);
  /* Not writable either (this CI machine): the hybrid layout is still the reason given. */
  h.writable = false;
  assert_int_equal(decide(&h, "hugetlb", argv, 6, &want, &err), -1);
  assert_non_null(strstr(err->msg, "hybrid"));
  rl_error_free(&err);
  rl_strv_free(&want);
  rl_host_cgroup_free(&h);
}

static void test_decide_not_delegated(void **state)
{
  struct rl_host_cgroup h;
  host(&h, RL_CGROUP_V2, true, "cpuset cpu io memory pids");
  char *argv[] = {"run", "--cpuset-cpus", "0", "--rootfs", "/r", "true"};
  rl_strv_t want = {0};
  rl_error_t err = NULL;
  /* Debian 12's default delegation: cpu memory pids. */
  assert_int_equal(decide(&h, "cpu memory pids", argv, 6, &want, &err), -1);
  assert_non_null(strstr(err->msg, "--cpuset-cpus"));
  assert_non_null(strstr(err->msg, "cpuset controller is not delegated"));
  assert_non_null(strstr(err->hint, "Delegate=cpu cpuset io memory pids"));
  rl_error_free(&err);
  /* Not writable at all. */
  h.writable = false;
  char *argv2[] = {"run", "--pids-limit", "5", "--rootfs", "/r", "true"};
  assert_int_equal(decide(&h, "cpu memory pids", argv2, 6, &want, &err), -1);
  assert_non_null(strstr(err->msg, "not writable"));
  assert_non_null(strstr(err->msg, "--pids-limit"));
  rl_error_free(&err);
  rl_strv_free(&want);
  rl_host_cgroup_free(&h);
}

static void test_decide_ok(void **state)
{
  struct rl_host_cgroup h;
  host(&h, RL_CGROUP_V2, true, "cpuset cpu io memory pids");
  char *argv[] = {"run", "--pids-limit", "10", "--rootfs", "/r", "true"};
  rl_strv_t want = {0};
  rl_error_t err = NULL;
  assert_int_equal(decide(&h, "cpuset cpu io memory pids", argv, 6, &want, &err), 0);
  assert_null(err);
  /* The needed one first, then those stats and OOM reports need. */
  assert_int_equal(want.n, 3);
  assert_string_equal(want.v[0], "pids");
  assert_true(rl_strv_contains(&want, "memory") && rl_strv_contains(&want, "cpu"));
  assert_false(rl_strv_contains(&want, "io"));
  rl_strv_free(&want);
  /* v1 only: any limit fails with the v2 hint. */
  rl_host_cgroup_free(&h);
  host(&h, RL_CGROUP_V1, false, "");
  assert_int_equal(decide(&h, "", argv, 6, &want, &err), -1);
  assert_non_null(strstr(err->hint, "cgroup v2"));
  rl_error_free(&err);
  rl_strv_free(&want);
  rl_host_cgroup_free(&h);
}

static void test_keyed(void **state)
{
  const char *ev = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
  assert_int_equal(rl_cgroup_keyed_value(ev, "oom_kill"), 1);
  assert_int_equal(rl_cgroup_keyed_value(ev, "oom"), 1);
  assert_int_equal(rl_cgroup_keyed_value(ev, "max"), 3);
  assert_int_equal(rl_cgroup_keyed_value(ev, "nope"), -1);
  assert_int_equal(rl_cgroup_keyed_value("populated 0\nfrozen 0\n", "populated"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes),         cmocka_unit_test(test_cpus),
      cmocka_unit_test(test_cpusets),       cmocka_unit_test(test_weights),
      cmocka_unit_test(test_files),         cmocka_unit_test(test_swap),
      cmocka_unit_test(test_rules),         cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_decide_hybrid), cmocka_unit_test(test_decide_not_delegated),
      cmocka_unit_test(test_decide_ok),     cmocka_unit_test(test_keyed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
