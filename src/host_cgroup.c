#include "rl_host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#define MOUNTINFO_MAX (1 << 22)

/* The controllers behind --memory, --cpus and --pids-limit. */
static const char *const limit_controllers[] = {"memory", "cpu", "pids"};

const char *rl_cgroup_layout_name(enum rl_cgroup_layout l)
{
  switch (l) {
  case RL_CGROUP_V1:
    return "v1";
  case RL_CGROUP_HYBRID:
    return "hybrid";
  case RL_CGROUP_V2:
    return "v2";
  case RL_CGROUP_NONE:
    break;
  }
  return "none";
}

/* mountinfo writes space, tab, newline and backslash in paths as \ooo. */
static char *unescape_octal(const char *s)
{
  char *out = rl_xmalloc(strlen(s) + 1), *o = out;
  while (*s) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
        s[3] <= '7') {
      *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 4;
    } else {
      *o++ = *s++;
    }
  }
  *o = '\0';
  return out;
}

/* Which cgroup2 mount to use when there are several: the v2 spot, then
 * systemd's hybrid spot, then whichever came first. */
static int mount_rank(const char *mountpoint)
{
  if (strcmp(mountpoint, "/sys/fs/cgroup") == 0)
    return 2;
  if (strcmp(mountpoint, "/sys/fs/cgroup/unified") == 0)
    return 1;
  return 0;
}

/* One line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS". */
static void parse_mount_line(char *line, struct rl_cgroup_mounts *m, bool *v1, bool *v2, int *best)
{
  char *f[6] = {NULL}, *save = NULL, *tok;
  size_t n = 0;
  for (tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save))
    f[n++] = tok;
  if (n < 6)
    return;
  while (tok && strcmp(tok, "-") != 0)
    tok = strtok_r(NULL, " ", &save);
  const char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
  if (fstype == NULL)
    return;
  if (strcmp(fstype, "cgroup") == 0) {
    *v1 = true;
    return;
  }
  if (strcmp(fstype, "cgroup2") != 0)
    return;
  *v2 = true;
  cleanup_free char *mountpoint = unescape_octal(f[4]);
  int rank = mount_rank(mountpoint);
  if (m->mount && rank <= *best)
    return;
  *best = rank;
  free(m->mount);
  free(m->root);
  m->mount = rl_steal_ptr(&mountpoint);
  m->root = unescape_octal(f[3]);
}

void rl_cgroup_parse_mountinfo(const char *text, struct rl_cgroup_mounts *m)
{
  bool v1 = false, v2 = false;
  int best = -1;
  memset(m, 0, sizeof(*m));
  for (const char *line = text; line && *line;) {
    size_t len = strcspn(line, "\n");
    cleanup_free char *l = rl_xstrndup(line, len);
    parse_mount_line(l, m, &v1, &v2, &best);
    line += len;
    if (*line == '\n')
      line++;
  }
  m->layout = v1 && v2 ? RL_CGROUP_HYBRID : v2 ? RL_CGROUP_V2 : v1 ? RL_CGROUP_V1 : RL_CGROUP_NONE;
}

void rl_cgroup_mounts_free(struct rl_cgroup_mounts *m)
{
  free(m->mount);
  free(m->root);
  memset(m, 0, sizeof(*m));
}

char *rl_cgroup_parse_self(const char *text)
{
  for (const char *line = text; line && *line;) {
    size_t len = strcspn(line, "\n");
    if (len >= 4 && strncmp(line, "0::/", 4) == 0)
      return rl_xstrndup(line + 3, len - 3);
    line += len;
    if (*line == '\n')
      line++;
  }
  return NULL;
}

char *rl_cgroup_dir(const char *mount, const char *root, const char *path)
{
  size_t rlen = strlen(root);
  while (rlen > 0 && root[rlen - 1] == '/')
    rlen--;
  if (strncmp(path, root, rlen) != 0 || (path[rlen] != '/' && path[rlen] != '\0'))
    return NULL;
  const char *rest = path + rlen;
  while (*rest == '/')
    rest++;
  if (*rest == '\0')
    return rl_xstrdup(mount);
  return rl_xasprintf("%s/%s", strcmp(mount, "/") == 0 ? "" : mount, rest);
}

void rl_cgroup_parse_controllers(const char *text, rl_strv_t *out)
{
  cleanup_free char *copy = rl_xstrdup(text ? text : "");
  char *save = NULL;
  for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
    rl_strv_push(out, w);
}

const char rl_cgroup_v2_hint[] =
    "switch the host to cgroup v2: as root, add `systemd.unified_cgroup_hierarchy=1` to "
    "GRUB_CMDLINE_LINUX in /etc/default/grub, run `update-grub` and reboot";

const char rl_cgroup_delegate_hint[] =
    "with systemd, as root, create /etc/systemd/system/user@.service.d/delegate.conf with the "
    "lines `[Service]` and `Delegate=cpu cpuset io memory pids`, run `systemctl daemon-reload` "
    "and log in again (or `systemctl restart user@$UID`); or run rless under "
    "`systemd-run --user --scope -p Delegate=yes rless ...`";

/* Which limit controllers are missing from our cgroup, as a list; NULL when none. */
static char *missing_controllers(const struct rl_host_cgroup *c)
{
  rl_strv_t missing = {0};
  for (size_t i = 0; i < RL_ARRAY_SIZE(limit_controllers); i++)
    if (!rl_strv_contains(&c->controllers, limit_controllers[i]))
      rl_strv_push(&missing, limit_controllers[i]);
  char *text = missing.n ? rl_strv_join(&missing, ", ") : NULL;
  rl_strv_free(&missing);
  return text;
}

void rl_cgroup_judge(struct rl_host_cgroup *c)
{
  free(c->limits_problem);
  free(c->hint);
  c->limits_problem = c->hint = NULL;
  if (c->layout == RL_CGROUP_NONE || c->layout == RL_CGROUP_V1) {
    c->limits_problem =
        rl_xstrdup(c->layout == RL_CGROUP_NONE ? "no cgroup filesystem is mounted"
                                               : "the host uses cgroup v1 only; rless sets limits "
                                                 "through cgroup v2");
    c->hint = rl_xstrdup(rl_cgroup_v2_hint);
    return;
  }
  if (c->path == NULL || c->dir == NULL) {
    c->limits_problem = rl_xstrdup(c->path == NULL ? "/proc/self/cgroup has no cgroup2 (\"0::\") "
                                                     "line"
                                                   : "your cgroup is not visible under the "
                                                     "cgroup2 mount (a cgroup namespace?)");
    c->hint = rl_xstrdup(rl_cgroup_v2_hint);
    return;
  }
  cleanup_free char *missing = missing_controllers(c);
  cleanup_free char *have = rl_strv_join(&c->controllers, ", ");
  if (missing && c->layout == RL_CGROUP_HYBRID) {
    c->limits_problem = rl_xasprintf(
        "cgroups are hybrid: the %s controllers are bound to v1 hierarchies, and the cgroup2 "
        "hierarchy at %s offers only: %s",
        missing, c->mount, *have ? have : "(none)");
    c->hint = rl_xstrdup(rl_cgroup_v2_hint);
  } else if (!c->writable) {
    c->limits_problem =
        rl_xasprintf("your cgroup %s is not writable by you (not delegated)", c->dir);
    c->hint = rl_xstrdup(rl_cgroup_delegate_hint);
  } else if (missing) {
    c->limits_problem =
        rl_xasprintf("the %s controllers are not enabled for your cgroup %s", missing, c->dir);
    c->hint = rl_xstrdup(rl_cgroup_delegate_hint);
  }
}

static void read_controllers(const char *dir, rl_strv_t *out)
{
  cleanup_free char *path = rl_xasprintf("%s/cgroup.controllers", dir);
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, 4096, NULL);
  rl_cgroup_parse_controllers(text, out);
}

void rl_host_cgroup_probe(struct rl_host_cgroup *c)
{
  memset(c, 0, sizeof(*c));
  cleanup_free char *mountinfo =
      rl_read_file_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_MAX, NULL);
  cleanup_free char *self = rl_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, NULL);
  struct rl_cgroup_mounts m;
  rl_cgroup_parse_mountinfo(mountinfo, &m);
  c->layout = m.layout;
  c->path = rl_cgroup_parse_self(self);
  if (m.mount) {
    read_controllers(m.mount, &c->root_controllers);
    if (c->path)
      c->dir = rl_cgroup_dir(m.mount, m.root, c->path);
  }
  if (c->dir) {
    c->writable = access(c->dir, W_OK) == 0;
    if (m.mount && strcmp(c->dir, m.mount) == 0) /* in the root cgroup: the file just read */
      for (size_t i = 0; i < c->root_controllers.n; i++)
        rl_strv_push(&c->controllers, c->root_controllers.v[i]);
    else
      read_controllers(c->dir, &c->controllers);
  }
  c->mount = rl_steal_ptr(&m.mount);
  rl_cgroup_mounts_free(&m);
  rl_cgroup_judge(c);
}

char *rl_host_cgroup_hybrid_unwritable(void)
{
  struct statfs fs;
  if (statfs("/sys/fs/cgroup", &fs) < 0 || fs.f_type == CGROUP2_SUPER_MAGIC ||
      statfs("/sys/fs/cgroup/unified", &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
    return NULL;
  cleanup_free char *self = rl_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, NULL);
  cleanup_free char *path = rl_cgroup_parse_self(self);
  if (path == NULL)
    return NULL;
  /* Only a cgroup that is there and refuses us: ENOENT may be a mount of a
   * subtree (inside a container), which the full probe gets right. */
  char *dir = rl_xasprintf("/sys/fs/cgroup/unified%s", strcmp(path, "/") == 0 ? "" : path);
  if (access(dir, W_OK) < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
    return dir;
  free(dir);
  return NULL;
}

void rl_host_cgroup_free(struct rl_host_cgroup *c)
{
  free(c->mount);
  free(c->path);
  free(c->dir);
  rl_strv_free(&c->controllers);
  rl_strv_free(&c->root_controllers);
  free(c->limits_problem);
  free(c->hint);
  memset(c, 0, sizeof(*c));
}
