/* Which mounts a container gets, in order.  Pure: no system calls, so the
 * plan can be unit-tested and printed. */
#include "rl_etcfiles.h"
#include "rl_mount.h"

#include <string.h>
#include <sys/mount.h>

static const char *const masked_paths[] = {
    "/proc/acpi",       "/proc/kcore",       "/proc/keys",        "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",    "/sys/fs/selinux",   "/sys/dev/block",    "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

static const char *const dev_links[][2] = {
    {"/dev/fd", "/proc/self/fd"},       {"/dev/stdin", "/proc/self/fd/0"},
    {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"},
    {"/dev/ptmx", "pts/ptmx"},          {"/dev/core", "/proc/kcore"},
};

static bool listed(const rl_strv_t *v, const char *path)
{
  for (size_t i = 0; v && i < v->n; i++)
    if (strcmp(v->v[i], path) == 0 || strcmp(v->v[i], "ALL") == 0)
      return true;
  return false;
}

static struct rl_mnt *add(struct rl_mount_plan *p, enum rl_mnt_kind kind, const char *target);

/* The default masked and read-only paths less what was unmasked, then the
 * extra masks; none at all for --privileged. */
static void add_masks(const struct rl_mount_cfg *c, struct rl_mount_plan *p)
{
  if (c->privileged)
    return;
  for (size_t i = 0; i < RL_ARRAY_SIZE(masked_paths); i++)
    if (!listed(c->unmask, masked_paths[i]))
      add(p, RL_MNT_MASK, masked_paths[i]);
  for (size_t i = 0; i < RL_ARRAY_SIZE(readonly_paths); i++)
    if (!listed(c->unmask, readonly_paths[i]))
      add(p, RL_MNT_RO, readonly_paths[i]);
  for (size_t i = 0; c->mask && i < c->mask->n; i++)
    add(p, RL_MNT_MASK, c->mask->v[i]);
}

static struct rl_mnt *add(struct rl_mount_plan *p, enum rl_mnt_kind kind, const char *target)
{
  p->m = rl_xrealloc(p->m, (p->n + 1) * sizeof(*p->m));
  struct rl_mnt *m = &p->m[p->n++];
  memset(m, 0, sizeof(*m));
  m->kind = kind;
  m->target = rl_xstrdup(target);
  return m;
}

static void add_fs(struct rl_mount_plan *p, const char *target, const char *fstype,
                   const char *options, unsigned attrs)
{
  struct rl_mnt *m = add(p, RL_MNT_FS, target);
  m->fstype = rl_xstrdup(fstype);
  m->source = rl_xstrdup(fstype);
  m->options = options ? rl_xstrdup(options) : NULL;
  m->attrs = attrs;
}

static void add_bind(struct rl_mount_plan *p, const char *target, const char *source,
                     bool recursive, unsigned attrs)
{
  struct rl_mnt *m = add(p, RL_MNT_BIND, target);
  m->source = rl_xstrdup(source);
  m->recursive = recursive;
  m->attrs = attrs;
}

static void plan_dev(const struct rl_mount_cfg *c, struct rl_mount_plan *p)
{
  const unsigned nosuid_noexec = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
  add_fs(p, "/dev", "tmpfs", "mode=755,size=65536k", MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME);
  for (size_t i = 0; i < RL_ARRAY_SIZE(dev_nodes); i++) {
    cleanup_free char *host = rl_xasprintf("/dev/%s", dev_nodes[i]);
    add_bind(p, host, host, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  }
  add_fs(p, "/dev/pts", "devpts",
         c->tty_gid_mapped ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
                           : "newinstance,ptmxmode=0666,mode=0620",
         nosuid_noexec);
  add_fs(p, "/dev/shm", "tmpfs", "mode=1777,size=65536k", nosuid_noexec | MOUNT_ATTR_NODEV);
  add_fs(p, "/dev/mqueue", "mqueue", NULL, nosuid_noexec | MOUNT_ATTR_NODEV);
  for (size_t i = 0; i < RL_ARRAY_SIZE(dev_links); i++)
    add(p, RL_MNT_SYMLINK, dev_links[i][0])->source = rl_xstrdup(dev_links[i][1]);
}

void rl_mount_plan_build(const struct rl_mount_cfg *c, struct rl_mount_plan *p)
{
  const unsigned safe = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  memset(p, 0, sizeof(*p));
  add_fs(p, "/proc", "proc", NULL, safe);
  plan_dev(c, p);
  if (c->own_netns)
    add_fs(p, "/sys", "sysfs", NULL, safe | MOUNT_ATTR_RDONLY);
  else
    add_bind(p, "/sys", "/sys", true, safe | MOUNT_ATTR_RDONLY);
  /* An image's `/proc -> /` or `/proc -> /dev/x/../../p` would put proc
   * where the masks' paths do not lead. */
  for (size_t i = 0; i < p->n; i++)
    p->m[i].plain = true;
  /* Before the volumes, so `-v FILE:/etc/hosts` wins. */
  for (size_t i = 0; c->etc_prefix && i < RL_ARRAY_SIZE(rl_etc_file_names); i++) {
    cleanup_free char *src = rl_xasprintf("%s%s", c->etc_prefix, rl_etc_file_names[i]);
    cleanup_free char *dst = rl_xasprintf("/etc/%s", rl_etc_file_names[i]);
    add_bind(p, dst, src, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    p->m[p->n - 1].if_exists = !c->etc_create;
  }
  for (size_t i = 0; i < c->n_volumes; i++)
    add_bind(p, c->volumes[i].dst, c->volumes[i].src, true,
             c->volumes[i].ro ? MOUNT_ATTR_RDONLY : 0);
  for (size_t i = 0; c->tmpfs && i < c->tmpfs->n; i++)
    add_fs(p, c->tmpfs->v[i], "tmpfs", "mode=1777", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  add_masks(c, p);
}

void rl_mount_plan_free(struct rl_mount_plan *p)
{
  for (size_t i = 0; i < p->n; i++) {
    free(p->m[i].target);
    free(p->m[i].source);
    free(p->m[i].fstype);
    free(p->m[i].options);
  }
  free(p->m);
  memset(p, 0, sizeof(*p));
}
