/* Unit tests for src/mountplan.c: which mounts a container gets, in order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mount.h>

#include "rl_mount.h"
#include "rl_options.h"
#include "rl_util.h"

int rl_log_level = 0;

#define SAFE (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* Index of the entry with this kind and target, or -1. */
static int find(const struct rl_mount_plan *p, enum rl_mnt_kind kind, const char *target)
{
  for (size_t i = 0; i < p->n; i++)
    if (p->m[i].kind == kind && strcmp(p->m[i].target, target) == 0)
      return (int)i;
  return -1;
}

static int count_target(const struct rl_mount_plan *p, const char *target)
{
  int n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->m[i].target, target) == 0)
      n++;
  return n;
}

static void assert_str_or_null(const char *got, const char *want)
{
  if (want == NULL)
    assert_null(got);
  else
    assert_string_equal(got, want);
}

static void assert_mnt(const struct rl_mnt *m, enum rl_mnt_kind kind, const char *target,
                       const char *source, const char *fstype, const char *options, unsigned attrs,
                       bool recursive)
{
  assert_int_equal(m->kind, kind);
  assert_string_equal(m->target, target);
  assert_str_or_null(m->source, source);
  assert_str_or_null(m->fstype, fstype);
  assert_str_or_null(m->options, options);
  assert_int_equal(m->attrs, attrs);
  assert_int_equal(m->recursive, recursive);
}

static void test_base_plan_order(void **state)
{
  struct rl_mount_cfg c = {.own_netns = true, .tty_gid_mapped = true};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);

  /* proc, /dev + 6 nodes, pts, shm, mqueue, 6 links, sys, 12 masks, 6 ro. */
  assert_int_equal(p.n, 36);
  size_t i = 0;
  assert_mnt(&p.m[i++], RL_MNT_FS, "/proc", "proc", "proc", NULL, SAFE, false);
  assert_mnt(&p.m[i++], RL_MNT_FS, "/dev", "tmpfs", "tmpfs", "mode=755,size=65536k",
             MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME, false);
  static const char *const nodes[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                      "/dev/random", "/dev/urandom", "/dev/tty"};
  for (size_t k = 0; k < RL_ARRAY_SIZE(nodes); k++)
    assert_mnt(&p.m[i++], RL_MNT_BIND, nodes[k], nodes[k], NULL, NULL,
               MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);
  assert_mnt(&p.m[i++], RL_MNT_FS, "/dev/pts", "devpts", "devpts",
             "newinstance,ptmxmode=0666,mode=0620,gid=5", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
             false);
  assert_mnt(&p.m[i++], RL_MNT_FS, "/dev/shm", "tmpfs", "tmpfs", "mode=1777,size=65536k", SAFE,
             false);
  assert_mnt(&p.m[i++], RL_MNT_FS, "/dev/mqueue", "mqueue", "mqueue", NULL, SAFE, false);
  static const char *const links[][2] = {
      {"/dev/fd", "/proc/self/fd"},       {"/dev/stdin", "/proc/self/fd/0"},
      {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"},
      {"/dev/ptmx", "pts/ptmx"},          {"/dev/core", "/proc/kcore"},
  };
  for (size_t k = 0; k < RL_ARRAY_SIZE(links); k++)
    assert_mnt(&p.m[i++], RL_MNT_SYMLINK, links[k][0], links[k][1], NULL, NULL, 0, false);
  assert_mnt(&p.m[i++], RL_MNT_FS, "/sys", "sysfs", "sysfs", NULL, SAFE | MOUNT_ATTR_RDONLY, false);
  /* Then masks and read-only remounts, nothing else without volumes/tmpfs. */
  for (; i < 18 + 12; i++)
    assert_int_equal(p.m[i].kind, RL_MNT_MASK);
  for (; i < p.n; i++)
    assert_int_equal(p.m[i].kind, RL_MNT_RO);
  rl_mount_plan_free(&p);
  assert_int_equal(p.n, 0);
  assert_null(p.m);
}

static void test_dev_order(void **state)
{
  struct rl_mount_cfg c = {0};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  int proc = find(&p, RL_MNT_FS, "/proc");
  int dev = find(&p, RL_MNT_FS, "/dev");
  int null = find(&p, RL_MNT_BIND, "/dev/null");
  int pts = find(&p, RL_MNT_FS, "/dev/pts");
  int shm = find(&p, RL_MNT_FS, "/dev/shm");
  int mq = find(&p, RL_MNT_FS, "/dev/mqueue");
  int ptmx = find(&p, RL_MNT_SYMLINK, "/dev/ptmx");
  int sys = find(&p, RL_MNT_BIND, "/sys");
  assert_int_equal(proc, 0);
  assert_true(dev > proc);
  assert_true(null > dev);
  assert_true(pts > null);
  assert_true(shm > pts);
  assert_true(mq > shm);
  assert_true(ptmx > mq);
  assert_true(sys > ptmx);
  assert_string_equal(p.m[ptmx].source, "pts/ptmx");
  rl_mount_plan_free(&p);
}

static void test_sys_without_netns(void **state)
{
  struct rl_mount_cfg c = {.own_netns = false};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  assert_int_equal(find(&p, RL_MNT_FS, "/sys"), -1);
  int sys = find(&p, RL_MNT_BIND, "/sys");
  assert_int_equal(sys, 17);
  assert_mnt(&p.m[sys], RL_MNT_BIND, "/sys", "/sys", NULL, NULL, SAFE | MOUNT_ATTR_RDONLY, true);
  assert_int_equal(count_target(&p, "/sys"), 1);
  rl_mount_plan_free(&p);

  c.own_netns = true;
  rl_mount_plan_build(&c, &p);
  assert_int_equal(find(&p, RL_MNT_BIND, "/sys"), -1);
  assert_int_equal(find(&p, RL_MNT_FS, "/sys"), 17);
  assert_int_equal(count_target(&p, "/sys"), 1);
  rl_mount_plan_free(&p);
}

static void test_masked_and_readonly_paths(void **state)
{
  struct rl_mount_cfg c = {0};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  static const char *const masked[] = {"/proc/kcore",       "/proc/keys",    "/proc/timer_list",
                                       "/proc/sched_debug", "/sys/firmware", "/proc/acpi"};
  for (size_t k = 0; k < RL_ARRAY_SIZE(masked); k++) {
    int i = find(&p, RL_MNT_MASK, masked[k]);
    if (i < 0)
      fail_msg("%s is not masked", masked[k]);
    assert_null(p.m[i].source);
  }
  static const char *const ro[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"};
  for (size_t k = 0; k < RL_ARRAY_SIZE(ro); k++)
    if (find(&p, RL_MNT_RO, ro[k]) < 0)
      fail_msg("%s is not read-only", ro[k]);
  /* Masks and read-only remounts come after every real mount. */
  int first_mask = find(&p, RL_MNT_MASK, "/proc/acpi");
  for (size_t i = 0; i < p.n; i++) {
    if (p.m[i].kind == RL_MNT_MASK || p.m[i].kind == RL_MNT_RO)
      assert_true((int)i >= first_mask);
    else
      assert_true((int)i < first_mask);
  }
  rl_mount_plan_free(&p);
}

/* --security-opt mask=/unmask= and --privileged. */
static void test_mask_unmask_privileged(void **state)
{
  rl_strv_t mask = {0}, unmask = {0};
  rl_strv_push(&mask, "/srv/secret");
  rl_strv_push(&unmask, "/proc/keys");
  rl_strv_push(&unmask, "/proc/sys");
  struct rl_mount_cfg c = {.own_netns = true, .mask = &mask, .unmask = &unmask};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  assert_true(find(&p, RL_MNT_MASK, "/srv/secret") >= 0);
  assert_int_equal(find(&p, RL_MNT_MASK, "/proc/keys"), -1);
  assert_int_equal(find(&p, RL_MNT_RO, "/proc/sys"), -1);
  assert_true(find(&p, RL_MNT_MASK, "/proc/kcore") >= 0);
  assert_true(find(&p, RL_MNT_RO, "/proc/irq") >= 0);
  rl_mount_plan_free(&p);

  rl_strv_free(&unmask);
  rl_strv_push(&unmask, "ALL");
  rl_mount_plan_build(&c, &p);
  for (size_t i = 0; i < p.n; i++)
    if (p.m[i].kind == RL_MNT_RO ||
        (p.m[i].kind == RL_MNT_MASK && strcmp(p.m[i].target, "/srv/secret")))
      fail_msg("%s still masked or read-only with unmask=ALL", p.m[i].target);
  rl_mount_plan_free(&p);

  c.privileged = true;
  rl_mount_plan_build(&c, &p);
  for (size_t i = 0; i < p.n; i++)
    if (p.m[i].kind == RL_MNT_RO || p.m[i].kind == RL_MNT_MASK)
      fail_msg("%s masked or read-only with --privileged", p.m[i].target);
  rl_mount_plan_free(&p);
  rl_strv_free(&mask);
  rl_strv_free(&unmask);
}

static void test_volumes_tmpfs(void **state)
{
  struct rl_volume vols[] = {
      {.src = "/host/a", .dst = "/data", .ro = false},
      {.src = "/host/b", .dst = "/etc/conf", .ro = true},
      {.src = "/host/c", .dst = "/data/sub", .ro = false},
  };
  rl_strv_t tmpfs = {0};
  rl_strv_push(&tmpfs, "/tmp");
  rl_strv_push(&tmpfs, "/run");
  struct rl_mount_cfg c = {
      .volumes = vols,
      .n_volumes = 3,
      .tmpfs = &tmpfs,
      .own_netns = true,
  };
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  assert_int_equal(p.n, 36 + 3 + 2);

  /* Right after /sys: the volumes in order, the tmpfs mounts in order. */
  size_t i = (size_t)find(&p, RL_MNT_FS, "/sys") + 1;
  assert_mnt(&p.m[i++], RL_MNT_BIND, "/data", "/host/a", NULL, NULL, 0, true);
  assert_mnt(&p.m[i++], RL_MNT_BIND, "/etc/conf", "/host/b", NULL, NULL, MOUNT_ATTR_RDONLY, true);
  assert_mnt(&p.m[i++], RL_MNT_BIND, "/data/sub", "/host/c", NULL, NULL, 0, true);
  assert_mnt(&p.m[i++], RL_MNT_FS, "/tmp", "tmpfs", "tmpfs", "mode=1777",
             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
  assert_mnt(&p.m[i++], RL_MNT_FS, "/run", "tmpfs", "tmpfs", "mode=1777",
             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
  assert_int_equal(p.m[i].kind, RL_MNT_MASK);
  rl_mount_plan_free(&p);
  rl_strv_free(&tmpfs);
}

/* rless-init runs from a sealed memfd (rl_proc_exec): nothing of the host is
 * bound in for it, with or without --init. */
static void test_no_init_bind(void **state)
{
  struct rl_mount_cfg c = {0};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  assert_int_equal(count_target(&p, "/dev/rless-init"), 0);
  assert_int_equal(p.n, 36);
  rl_mount_plan_free(&p);
}

/* /proc, /dev (and everything below it) and /sys go only on real
 * directories, so the masks' paths lead into those mounts; volumes, tmpfs,
 * the /etc files and the masks follow symlinks inside the root. */
static void test_kernel_fs_targets_take_no_symlinks(void **state)
{
  struct rl_volume vols[] = {{.src = "/host/a", .dst = "/data"}};
  rl_strv_t tmpfs = {0};
  rl_strv_push(&tmpfs, "/tmp");
  for (int netns = 0; netns <= 1; netns++) {
    struct rl_mount_cfg c = {.volumes = vols,
                             .n_volumes = 1,
                             .tmpfs = &tmpfs,
                             .own_netns = netns,
                             .etc_prefix = "/run/etc-x-"};
    struct rl_mount_plan p;
    rl_mount_plan_build(&c, &p);
    for (size_t i = 0; i < p.n; i++) {
      const char *t = p.m[i].target;
      bool special = strcmp(t, "/proc") == 0 || strcmp(t, "/sys") == 0 || strcmp(t, "/dev") == 0 ||
                     strncmp(t, "/dev/", 5) == 0;
      if (p.m[i].plain != special)
        fail_msg("%s: plain is %d", t, p.m[i].plain);
    }
    assert_true(p.m[find(&p, netns ? RL_MNT_FS : RL_MNT_BIND, "/sys")].plain);
    rl_mount_plan_free(&p);
  }
  rl_strv_free(&tmpfs);
}

static void test_devpts_gid(void **state)
{
  struct rl_mount_cfg c = {.tty_gid_mapped = false};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  int i = find(&p, RL_MNT_FS, "/dev/pts");
  assert_true(i >= 0);
  assert_string_equal(p.m[i].options, "newinstance,ptmxmode=0666,mode=0620");
  assert_null(strstr(p.m[i].options, "gid="));
  rl_mount_plan_free(&p);

  c.tty_gid_mapped = true;
  rl_mount_plan_build(&c, &p);
  i = find(&p, RL_MNT_FS, "/dev/pts");
  assert_string_equal(p.m[i].options, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  rl_mount_plan_free(&p);
}

static void test_empty_tmpfs_list(void **state)
{
  rl_strv_t tmpfs = {0};
  struct rl_mount_cfg c = {.tmpfs = &tmpfs};
  struct rl_mount_plan p;
  rl_mount_plan_build(&c, &p);
  assert_int_equal(p.n, 36);
  rl_mount_plan_free(&p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base_plan_order),
      cmocka_unit_test(test_dev_order),
      cmocka_unit_test(test_sys_without_netns),
      cmocka_unit_test(test_masked_and_readonly_paths),
      cmocka_unit_test(test_volumes_tmpfs),
      cmocka_unit_test(test_no_init_bind),
      cmocka_unit_test(test_kernel_fs_targets_take_no_symlinks),
      cmocka_unit_test(test_devpts_gid),
      cmocka_unit_test(test_empty_tmpfs_list),
      cmocka_unit_test(test_mask_unmask_privileged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
