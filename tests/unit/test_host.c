/* Unit tests for the pure parts of the host probes (src/host*.c): cgroup
 * layout from sample mountinfo texts, the process's cgroup, the verdict on
 * limits, and the hints `rless info` prints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rl_host.h"
#include "rl_util.h"

int rl_log_level = 0;

/* A systemd host with the unified hierarchy only. */
static const char mountinfo_v2[] =
    "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
    "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

/* This test machine's shape: v1 controllers plus /sys/fs/cgroup/unified. */
static const char mountinfo_hybrid[] =
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char mountinfo_v1[] =
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory\n";

static const char cgroup_self_v2[] = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                                     "foot-server.service\n";
static const char cgroup_self_hybrid[] = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/8bca\n"
                                         "1:cpu:/\n0::/\n";
static const char cgroup_self_v1[] = "12:pids:/user.slice\n4:memory:/user.slice\n"
                                     "1:name=systemd:/user.slice/session-2.scope\n";

static void test_mountinfo_v2(void **state)
{
  struct rl_cgroup_mounts m;
  rl_cgroup_parse_mountinfo(mountinfo_v2, &m);
  assert_int_equal(m.layout, RL_CGROUP_V2);
  assert_string_equal(m.mount, "/sys/fs/cgroup");
  assert_string_equal(m.root, "/");
  rl_cgroup_mounts_free(&m);
}

static void test_mountinfo_hybrid(void **state)
{
  struct rl_cgroup_mounts m;
  rl_cgroup_parse_mountinfo(mountinfo_hybrid, &m);
  assert_int_equal(m.layout, RL_CGROUP_HYBRID);
  assert_string_equal(m.mount, "/sys/fs/cgroup/unified");
  assert_string_equal(rl_cgroup_layout_name(m.layout), "hybrid");
  rl_cgroup_mounts_free(&m);
}

static void test_mountinfo_v1_and_none(void **state)
{
  struct rl_cgroup_mounts m;
  rl_cgroup_parse_mountinfo(mountinfo_v1, &m);
  assert_int_equal(m.layout, RL_CGROUP_V1);
  assert_null(m.mount);
  rl_cgroup_mounts_free(&m);

  rl_cgroup_parse_mountinfo("27 1 254:0 / / rw - ext4 /dev/vda rw\n", &m);
  assert_int_equal(m.layout, RL_CGROUP_NONE);
  rl_cgroup_mounts_free(&m);

  rl_cgroup_parse_mountinfo(NULL, &m);
  assert_int_equal(m.layout, RL_CGROUP_NONE);
  rl_cgroup_mounts_free(&m);
}

/* A later mount at the canonical spot wins; escaped spaces are decoded; a
 * truncated line is skipped rather than misread. */
static void test_mountinfo_choice_and_escapes(void **state)
{
  static const char text[] = "50 1 0:40 /inner /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n"
                             "51 1 0:41 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
                             "52 1 0:42 / /broken\n";
  struct rl_cgroup_mounts m;
  rl_cgroup_parse_mountinfo(text, &m);
  assert_int_equal(m.layout, RL_CGROUP_V2);
  assert_string_equal(m.mount, "/sys/fs/cgroup/unified");
  rl_cgroup_mounts_free(&m);

  cleanup_free char *first = rl_xstrndup(text, strcspn(text, "\n") + 1);
  rl_cgroup_parse_mountinfo(first, &m);
  assert_string_equal(m.mount, "/mnt/my cg");
  assert_string_equal(m.root, "/inner");
  rl_cgroup_mounts_free(&m);
}

static void test_parse_self(void **state)
{
  cleanup_free char *v2 = rl_cgroup_parse_self(cgroup_self_v2);
  assert_string_equal(v2, "/user.slice/user-1000.slice/user@1000.service/app.slice/"
                          "foot-server.service");
  cleanup_free char *hybrid = rl_cgroup_parse_self(cgroup_self_hybrid);
  assert_string_equal(hybrid, "/");
  assert_null(rl_cgroup_parse_self(cgroup_self_v1));
  assert_null(rl_cgroup_parse_self(NULL));
}

static void test_cgroup_dir(void **state)
{
  cleanup_free char *a = rl_cgroup_dir("/sys/fs/cgroup", "/", "/");
  assert_string_equal(a, "/sys/fs/cgroup");
  cleanup_free char *b = rl_cgroup_dir("/sys/fs/cgroup", "/", "/user.slice/x.scope");
  assert_string_equal(b, "/sys/fs/cgroup/user.slice/x.scope");
  cleanup_free char *c = rl_cgroup_dir("/mnt/cg", "/inner", "/inner/job");
  assert_string_equal(c, "/mnt/cg/job");
  assert_null(rl_cgroup_dir("/mnt/cg", "/inner", "/innerx/job"));
  assert_null(rl_cgroup_dir("/mnt/cg", "/inner", "/other"));
}

static void test_parse_controllers(void **state)
{
  rl_strv_t s = {0};
  rl_cgroup_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n", &s);
  assert_int_equal(s.n, 8);
  assert_string_equal(s.v[1], "cpu");
  assert_string_equal(s.v[7], "misc");
  rl_strv_free(&s);
  rl_cgroup_parse_controllers("", &s);
  rl_cgroup_parse_controllers(NULL, &s);
  assert_int_equal(s.n, 0);
  rl_strv_free(&s);
}

static void fake_cgroup(struct rl_host_cgroup *c, enum rl_cgroup_layout l, bool writable,
                        const char *controllers)
{
  memset(c, 0, sizeof(*c));
  c->layout = l;
  c->mount = rl_xstrdup("/sys/fs/cgroup");
  c->path = rl_xstrdup("/user.slice/user-1000.slice/user@1000.service");
  c->dir = rl_xasprintf("%s%s", c->mount, c->path);
  c->writable = writable;
  rl_cgroup_parse_controllers(controllers, &c->controllers);
  rl_cgroup_judge(c);
}

static void test_judge(void **state)
{
  struct rl_host_cgroup c;
  fake_cgroup(&c, RL_CGROUP_V2, true, "cpuset cpu io memory pids");
  assert_null(c.limits_problem);
  assert_null(c.hint);
  rl_host_cgroup_free(&c);

  fake_cgroup(&c, RL_CGROUP_V2, false, "cpu memory pids");
  assert_non_null(strstr(c.limits_problem, "not writable"));
  assert_non_null(strstr(c.hint, "Delegate=yes"));
  assert_non_null(strstr(c.hint, "systemd-run --user --scope"));
  rl_host_cgroup_free(&c);

  fake_cgroup(&c, RL_CGROUP_V2, true, "memory pids");
  assert_non_null(strstr(c.limits_problem, "cpu"));
  assert_null(strstr(c.limits_problem, "memory"));
  assert_non_null(strstr(c.hint, "Delegate=yes"));
  rl_host_cgroup_free(&c);

  fake_cgroup(&c, RL_CGROUP_HYBRID, true, "hugetlb");
  assert_non_null(strstr(c.limits_problem, "hybrid"));
  assert_non_null(strstr(c.limits_problem, "hugetlb"));
  assert_non_null(strstr(c.hint, "systemd.unified_cgroup_hierarchy=1"));
  rl_host_cgroup_free(&c);

  fake_cgroup(&c, RL_CGROUP_V1, true, "");
  assert_non_null(strstr(c.limits_problem, "v1"));
  assert_non_null(strstr(c.hint, "systemd.unified_cgroup_hierarchy=1"));
  rl_host_cgroup_free(&c);
}

static void test_subid_suggest(void **state)
{
  assert_int_equal(rl_subid_suggest_start(NULL, NULL), 100000);
  assert_int_equal(rl_subid_suggest_start("", "# nothing\n"), 100000);
  assert_int_equal(rl_subid_suggest_start("alice:100000:65536\n", NULL), 196608);
  assert_int_equal(rl_subid_suggest_start("alice:100000:65536\n1001:600000:10\n",
                                          "bob:165536:65536\nbroken line\n"),
                   655360);
  assert_int_equal(rl_subid_suggest_start("a:10:20\n", "b:0:100\n"), 100000);
}

static void test_idtool_hint(void **state)
{
  struct rl_idtool t = {0};
  cleanup_free char *missing = rl_idtool_hint("newuidmap", &t);
  assert_non_null(strstr(missing, "apt-get install uidmap"));

  char path[] = "/usr/bin/newgidmap";
  t.path = path;
  cleanup_free char *plain = rl_idtool_hint("newgidmap", &t);
  assert_non_null(strstr(plain, "chmod u+s /usr/bin/newgidmap"));
  assert_non_null(strstr(plain, "setcap cap_setgid+ep /usr/bin/newgidmap"));

  t.setuid_root = true;
  assert_null(rl_idtool_hint("newgidmap", &t));
  t.setuid_root = false;
  t.file_caps = true;
  assert_null(rl_idtool_hint("newgidmap", &t));
}

static void test_sysctl_hint(void **state)
{
  cleanup_free char *off = rl_sysctl_hint("user.max_user_namespaces", 0, NULL);
  assert_non_null(strstr(off, "sysctl -w user.max_user_namespaces=15000"));
  assert_null(rl_sysctl_hint("user.max_user_namespaces", 15000, NULL));
  assert_null(rl_sysctl_hint("user.max_user_namespaces", -1, NULL));

  cleanup_free char *clone = rl_sysctl_hint("kernel.unprivileged_userns_clone", 0, NULL);
  assert_non_null(strstr(clone, "sysctl -w kernel.unprivileged_userns_clone=1"));
  assert_null(rl_sysctl_hint("kernel.unprivileged_userns_clone", 1, NULL));

  cleanup_free char *aa =
      rl_sysctl_hint("kernel.apparmor_restrict_unprivileged_userns", 1, "/opt/rless/bin/rless");
  assert_non_null(strstr(aa, "profile rless /opt/rless/bin/rless"));
  assert_null(rl_sysctl_hint("kernel.apparmor_restrict_unprivileged_userns", 0, NULL));
}

static void test_fs_type_name(void **state)
{
  bool bad = true;
  assert_string_equal(rl_fs_type_name(0xEF53, &bad), "ext4");
  assert_false(bad);
  assert_string_equal(rl_fs_type_name(0x6969, &bad), "nfs");
  assert_true(bad);
  assert_string_equal(rl_fs_type_name(0x0BD00BD0, &bad), "lustre");
  assert_true(bad);
  assert_string_equal(rl_fs_type_name(0x47504653, &bad), "gpfs");
  assert_true(bad);
  assert_null(rl_fs_type_name(0x12345678, &bad));
  assert_false(bad);
}

/* The shape overlayfs leaves behind: a mode-000 work/work dir. */
static void test_rmtree(void **state)
{
  char tmpl[] = "/tmp/rless-test-rmtree-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  cleanup_free char *work = rl_xasprintf("%s/work/work", tmpl);
  cleanup_free char *file = rl_xasprintf("%s/work/work/f", tmpl);
  cleanup_free char *link = rl_xasprintf("%s/link", tmpl);
  cleanup_free char *parent = rl_xasprintf("%s/work", tmpl);
  assert_int_equal(mkdir(parent, 0700), 0);
  assert_int_equal(mkdir(work, 0700), 0);
  int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(chmod(work, 0), 0);
  assert_int_equal(symlink("/etc", link), 0);

  cleanup_error rl_error_t err = NULL;
  assert_int_equal(rl_rmtree(tmpl, &err), 0);
  assert_null(err);
  assert_int_equal(access(tmpl, F_OK), -1);
  assert_int_equal(access("/etc/passwd", F_OK), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mountinfo_v2),
      cmocka_unit_test(test_mountinfo_hybrid),
      cmocka_unit_test(test_mountinfo_v1_and_none),
      cmocka_unit_test(test_mountinfo_choice_and_escapes),
      cmocka_unit_test(test_parse_self),
      cmocka_unit_test(test_cgroup_dir),
      cmocka_unit_test(test_parse_controllers),
      cmocka_unit_test(test_judge),
      cmocka_unit_test(test_subid_suggest),
      cmocka_unit_test(test_idtool_hint),
      cmocka_unit_test(test_sysctl_hint),
      cmocka_unit_test(test_fs_type_name),
      cmocka_unit_test(test_rmtree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
