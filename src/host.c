#include "rl_host.h"
#include "rl_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>

#define SUBID_FIRST 100000UL
#define SUBID_BLOCK 65536UL

/* Text of an error, consumed; so a probe can report it instead of failing. */
static char *take_error(rl_error_t *err)
{
  char *text = rl_error_format(*err);
  rl_error_free(err);
  return text;
}

static unsigned long highest_end(const char *text)
{
  unsigned long max = 0;
  for (const char *line = text; line && *line;) {
    size_t len = strcspn(line, "\n");
    cleanup_free char *l = rl_xstrndup(line, len);
    char *save = NULL;
    char *owner = strtok_r(l, ":", &save);
    char *start = owner ? strtok_r(NULL, ":", &save) : NULL;
    char *count = start ? strtok_r(NULL, ":", &save) : NULL;
    unsigned long s, c;
    if (owner && owner[0] != '#' && count && rl_parse_ulong(start, &s) == 0 &&
        rl_parse_ulong(count, &c) == 0 && s + c > max)
      max = s + c;
    line += len;
    if (*line == '\n')
      line++;
  }
  return max;
}

unsigned long rl_subid_suggest_start(const char *subuid_text, const char *subgid_text)
{
  unsigned long a = highest_end(subuid_text), b = highest_end(subgid_text);
  unsigned long end = a > b ? a : b;
  if (end <= SUBID_FIRST)
    return SUBID_FIRST;
  return (end + SUBID_BLOCK - 1) / SUBID_BLOCK * SUBID_BLOCK;
}

static char *subid_hint(const struct rl_host_user *u)
{
  const char *files = u->n_subuid == 0 && u->n_subgid == 0 ? "/etc/subuid and /etc/subgid"
                      : u->n_subuid == 0                   ? "/etc/subuid"
                                                           : "/etc/subgid";
  cleanup_free char *uid_text = rl_read_file_at(AT_FDCWD, "/etc/subuid", 1 << 24, NULL);
  cleanup_free char *gid_text = rl_read_file_at(AT_FDCWD, "/etc/subgid", 1 << 24, NULL);
  unsigned long start = rl_subid_suggest_start(uid_text, gid_text);
  unsigned long last = start + SUBID_BLOCK - 1;
  if (u->name == NULL)
    return rl_xasprintf("as root, add \"%u:%lu:%lu\" to %s", (unsigned)u->uid, start, SUBID_BLOCK,
                        files);
  cleanup_free char *flags =
      u->n_subuid == 0 && u->n_subgid == 0
          ? rl_xasprintf("--add-subuids %lu-%lu --add-subgids %lu-%lu", start, last, start, last)
      : u->n_subuid == 0 ? rl_xasprintf("--add-subuids %lu-%lu", start, last)
                         : rl_xasprintf("--add-subgids %lu-%lu", start, last);
  return rl_xasprintf("as root, add \"%s:%lu:%lu\" to %s (usermod %s %s)", u->name, start,
                      SUBID_BLOCK, files, flags, u->name);
}

void rl_host_user_probe(struct rl_host_user *u)
{
  rl_error_t err = NULL;
  memset(u, 0, sizeof(*u));
  u->uid = geteuid();
  u->gid = getegid();
  struct passwd *pw = getpwuid(u->uid);
  if (pw)
    u->name = rl_xstrdup(pw->pw_name);
  int n = rl_subid_ranges(false, u->name, u->uid, &u->subuid, &err);
  if (n >= 0)
    u->n_subuid = (size_t)n;
  n = n < 0 ? n : rl_subid_ranges(true, u->name, u->uid, &u->subgid, &err);
  if (n >= 0)
    u->n_subgid = (size_t)n;
  if (err) {
    u->subid_error = take_error(&err);
    return;
  }
  if (u->n_subuid == 0 || u->n_subgid == 0)
    u->hint = subid_hint(u);
}

void rl_host_user_free(struct rl_host_user *u)
{
  free(u->name);
  free(u->subuid);
  free(u->subgid);
  free(u->subid_error);
  free(u->hint);
  memset(u, 0, sizeof(*u));
}

char *rl_idtool_hint(const char *name, const struct rl_idtool *t)
{
  if (t->path == NULL)
    return rl_xasprintf("`%s` is not on PATH: as root, run `apt-get install uidmap` (Fedora/RHEL: "
                        "`dnf install shadow-utils`)",
                        name);
  if (t->setuid_root || t->file_caps)
    return NULL;
  /* newgidmap needs CAP_SETGID, not CAP_SETUID: the capability follows the tool. */
  const char *cap = strcmp(name, "newgidmap") == 0 ? "cap_setgid" : "cap_setuid";
  return rl_xasprintf(
      "`%s` is neither setuid root nor has file capabilities, so it cannot write id "
      "maps: as root, run `chmod u+s %s` or `setcap %s+ep %s`",
      t->path, t->path, cap, t->path);
}

static const struct {
  const char *name, *path;
} sysctls[RL_HOST_N_SYSCTLS] = {
    {"user.max_user_namespaces", "/proc/sys/user/max_user_namespaces"},
    {"kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone"},
    {"kernel.apparmor_restrict_unprivileged_userns",
     "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"},
};

char *rl_sysctl_hint(const char *name, long value, const char *exe)
{
  if (strcmp(name, "user.max_user_namespaces") == 0 && value == 0)
    return rl_xstrdup("user namespaces are disabled: as root, run `sysctl -w "
                      "user.max_user_namespaces=15000` and add the line "
                      "`user.max_user_namespaces=15000` to /etc/sysctl.d/90-rless.conf to keep it");
  if (strcmp(name, "kernel.unprivileged_userns_clone") == 0 && value == 0)
    return rl_xstrdup("unprivileged user namespaces are disabled: as root, run `sysctl -w "
                      "kernel.unprivileged_userns_clone=1` and add the line "
                      "`kernel.unprivileged_userns_clone=1` to /etc/sysctl.d/90-rless.conf");
  if (strcmp(name, "kernel.apparmor_restrict_unprivileged_userns") == 0 && value == 1)
    return rl_xasprintf(
        "AppArmor gives a new user namespace capabilities only to programs whose profile allows "
        "`userns`; without one rless cannot mount anything in it: as root, write "
        "/etc/apparmor.d/rless containing `abi <abi/4.0>, include <tunables/global> profile rless "
        "%s flags=(unconfined) { userns, }` and run `apparmor_parser -r /etc/apparmor.d/rless` "
        "(or lift the restriction for all programs: `sysctl -w "
        "kernel.apparmor_restrict_unprivileged_userns=0`)",
        exe ? exe : "/usr/local/bin/rless");
  return NULL;
}

static long read_sysctl(const char *path)
{
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, 64, NULL);
  if (text == NULL)
    return -1;
  text[strcspn(text, " \t\n")] = '\0';
  unsigned long v;
  if (rl_parse_ulong(text, &v) < 0 || v > LONG_MAX)
    return -1;
  return (long)v;
}

void rl_host_sysctl_probe(struct rl_host_sysctl s[RL_HOST_N_SYSCTLS], const char *exe)
{
  for (size_t i = 0; i < RL_HOST_N_SYSCTLS; i++) {
    s[i].name = sysctls[i].name;
    s[i].path = sysctls[i].path;
    s[i].value = read_sysctl(sysctls[i].path);
    s[i].hint = rl_sysctl_hint(s[i].name, s[i].value, exe);
  }
}

static char *fuse_dev_hint(int errnum)
{
  if (errnum == ENOENT)
    return rl_xstrdup("/dev/fuse is missing: as root, run `modprobe fuse` and add the line `fuse` "
                      "to /etc/modules-load.d/fuse.conf (in a container: pass --device /dev/fuse)");
  if (errnum == EACCES)
    return rl_xstrdup("/dev/fuse is not accessible to you: as root, run `chmod 0666 /dev/fuse` "
                      "(the mode the fuse package's udev rule sets)");
  return rl_xasprintf("/dev/fuse cannot be opened (%s): in a container, the device must be "
                      "allowed to it",
                      strerror(errnum));
}

void rl_host_fuse_probe(struct rl_host_fuse *f)
{
  memset(f, 0, sizeof(*f));
  f->path = rl_find_program("fuse-overlayfs");
  cleanup_close int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  f->dev_fuse = fd >= 0;
  f->dev_errno = fd >= 0 ? 0 : errno;
  cleanup_free char *tool = f->path ? NULL
                                    : rl_xstrdup("fuse-overlayfs is not on PATH: as root, run "
                                                 "`apt-get install fuse-overlayfs`");
  cleanup_free char *dev = f->dev_fuse ? NULL : fuse_dev_hint(f->dev_errno);
  if (tool && dev)
    f->hint = rl_xasprintf("%s; %s", tool, dev);
  else if (tool || dev)
    f->hint = rl_steal_ptr(tool ? &tool : &dev);
}

void rl_host_fuse_free(struct rl_host_fuse *f)
{
  free(f->path);
  free(f->hint);
  memset(f, 0, sizeof(*f));
}

static const struct {
  unsigned long magic;
  const char *name;
  bool bad; /* the kernel refuses it as an overlay upper dir, or it breaks there */
} fs_types[] = {
    {0xEF53, "ext4", false},      {0x58465342, "xfs", false},     {0x9123683E, "btrfs", false},
    {0x01021994, "tmpfs", false}, {0x794C7630, "overlay", false}, {0x2FC12FC1, "zfs", false},
    {0xF2F52010, "f2fs", false},  {0x65735546, "fuse", false},    {0x00C36400, "ceph", false},
    {0x6969, "nfs", true},        {0x0BD00BD0, "lustre", true},   {0x47504653, "gpfs", true},
    {0xFF534D42, "cifs", true},   {0xFE534D42, "smb2", true},     {0x19830326, "beegfs", true},
};

const char *rl_fs_type_name(unsigned long magic, bool *bad)
{
  for (size_t i = 0; i < RL_ARRAY_SIZE(fs_types); i++) {
    if (fs_types[i].magic == magic) {
      *bad = fs_types[i].bad;
      return fs_types[i].name;
    }
  }
  *bad = false;
  return NULL;
}

/* The store may not exist yet: judge the filesystem it would be created on. */
static int nearest_statfs(const char *path, char **dir_out, struct statfs *sf, rl_error_t *err)
{
  cleanup_free char *dir = rl_xstrdup(path);
  while (statfs(dir, sf) < 0) {
    if (errno != ENOENT && errno != ENOTDIR)
      return rl_make_error(err, errno, "statfs `%s`", dir);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
      free(dir);
      dir = rl_xstrdup(".");
    } else if (slash == dir) {
      dir[1] = '\0';
    } else {
      *slash = '\0';
    }
  }
  *dir_out = rl_steal_ptr(&dir);
  return 0;
}

static void store_fs(struct rl_host_store *s)
{
  rl_error_t err = NULL;
  struct statfs sf;
  if (nearest_statfs(s->data_dir, &s->fs_dir, &sf, &err) < 0) {
    s->data_error = take_error(&err);
    return;
  }
  const char *name = rl_fs_type_name((unsigned long)sf.f_type, &s->fs_bad);
  s->fs_type = name ? rl_xstrdup(name) : rl_xasprintf("0x%lx", (unsigned long)sf.f_type);
  if (s->fs_bad)
    s->hint = rl_xasprintf("`%s` is on %s, where overlayfs cannot keep the containers' upper "
                           "dirs (a home on a network filesystem?): keep the store on a local "
                           "disk with `--root DIR`, e.g. `--root /var/tmp/$USER/rless` or a "
                           "node-local scratch dir",
                           s->fs_dir, s->fs_type);
}

void rl_host_store_probe(const char *root, struct rl_host_store *s)
{
  rl_error_t err = NULL;
  memset(s, 0, sizeof(*s));
  s->runtime_dir = rl_runtime_dir(&s->runtime_why, &err);
  if (s->runtime_dir == NULL)
    s->runtime_error = take_error(&err);
  s->data_dir = rl_data_dir(root, &err);
  if (s->data_dir == NULL) {
    s->data_error = take_error(&err);
    return;
  }
  store_fs(s);
}

void rl_host_store_free(struct rl_host_store *s)
{
  free(s->runtime_dir);
  free(s->runtime_why);
  free(s->runtime_error);
  free(s->data_dir);
  free(s->data_error);
  free(s->fs_dir);
  free(s->fs_type);
  free(s->hint);
  memset(s, 0, sizeof(*s));
}

void rl_host_net_probe(struct rl_host_net *n)
{
  memset(n, 0, sizeof(*n));
  n->pasta = rl_find_program("pasta");
  n->slirp4netns = rl_find_program("slirp4netns");
  if (n->pasta == NULL && n->slirp4netns == NULL)
    n->hint = rl_xstrdup("no user-mode network helper: as root, run `apt-get install passt` "
                         "(pasta, preferred) or `apt-get install slirp4netns`");
}

void rl_host_net_free(struct rl_host_net *n)
{
  free(n->pasta);
  free(n->slirp4netns);
  free(n->hint);
  memset(n, 0, sizeof(*n));
}

static char *self_exe(void)
{
  char buf[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (len <= 0)
    return NULL;
  return rl_xstrndup(buf, (size_t)len);
}

void rl_host_info_probe(const char *root, struct rl_host_info *h)
{
  memset(h, 0, sizeof(*h));
  struct utsname un;
  h->kernel = rl_xstrdup(uname(&un) == 0 ? un.release : "unknown");
  rl_host_user_probe(&h->user);
  rl_idtool_probe("newuidmap", &h->newuidmap);
  rl_idtool_probe("newgidmap", &h->newgidmap);
  h->newuidmap_hint = rl_idtool_hint("newuidmap", &h->newuidmap);
  h->newgidmap_hint = rl_idtool_hint("newgidmap", &h->newgidmap);
  cleanup_free char *exe = self_exe();
  rl_host_sysctl_probe(h->sysctl, exe);
  rl_host_store_probe(root, &h->store);
  rl_error_t err = NULL;
  if (rl_host_overlay_probe(h->store.runtime_dir ? h->store.runtime_dir : "/tmp", &h->overlay,
                            &err) < 0)
    h->overlay_error = take_error(&err);
  rl_host_fuse_probe(&h->fuse);
  rl_host_cgroup_probe(&h->cgroup);
  rl_host_net_probe(&h->net);
}

void rl_host_info_free(struct rl_host_info *h)
{
  free(h->kernel);
  rl_host_user_free(&h->user);
  rl_idtool_free(&h->newuidmap);
  rl_idtool_free(&h->newgidmap);
  free(h->newuidmap_hint);
  free(h->newgidmap_hint);
  for (size_t i = 0; i < RL_HOST_N_SYSCTLS; i++)
    free(h->sysctl[i].hint);
  rl_host_overlay_free(&h->overlay);
  free(h->overlay_error);
  rl_host_fuse_free(&h->fuse);
  rl_host_cgroup_free(&h->cgroup);
  rl_host_store_free(&h->store);
  rl_host_net_free(&h->net);
  memset(h, 0, sizeof(*h));
}
