/* The container's mounts as a plan (pure data, built from the run options)
 * and its execution with fd-based mount calls: every target is resolved
 * inside the rootfs with openat2(RESOLVE_IN_ROOT), so a symlink in the rootfs
 * can never send a mount to a host path. */
#ifndef RL_MOUNT_H
#define RL_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_options.h"

enum rl_mnt_kind {
  RL_MNT_FS,      /* a new filesystem: fstype, source, options */
  RL_MNT_BIND,    /* a host path (source) bound at target, a file or a directory */
  RL_MNT_MASK,    /* hide target: /dev/null over a file, an empty ro tmpfs over a dir */
  RL_MNT_RO,      /* remount target read-only */
  RL_MNT_SYMLINK, /* create target as a symlink to source */
};

struct rl_mnt {
  enum rl_mnt_kind kind;
  char *target; /* absolute path inside the container */
  char *source;
  char *fstype;
  char *options;  /* comma-separated fsconfig key[=value] list */
  unsigned attrs; /* MOUNT_ATTR_* */
  bool recursive; /* BIND: include submounts */
  bool if_exists; /* BIND: only over a target the tree already has */
  /* The target and every directory on the way must be real, no symlink:
   * /proc, /sys and /dev, so the masks below them cover what the container
   * sees (runc's "must be mounted on ordinary directory"). */
  bool plain;
};

struct rl_mount_plan {
  struct rl_mnt *m;
  size_t n;
};

/* What the plan depends on, decided by the parent before clone. */
struct rl_mount_cfg {
  const struct rl_volume *volumes;
  size_t n_volumes;
  const rl_strv_t *tmpfs;
  bool own_netns;      /* sysfs can be mounted fresh only in our own net namespace */
  bool tty_gid_mapped; /* devpts gets gid=5 only when gid 5 exists inside */
  /* --security-opt mask=/unmask= ("ALL" unmasks every default path, masked
   * or read-only), and --privileged (no masks at all) */
  const rl_strv_t *mask, *unmask;
  bool privileged;
  /* The container's own /etc/hosts, /etc/hostname, /etc/resolv.conf are
   * files etc_prefix + name (rl_etcfiles.h), bound over the tree's
   * (created in the upper layer when the image has none; with --rootfs only
   * over existing ones, so nothing is written into the user's tree). */
  const char *etc_prefix;
  bool etc_create;
};

void rl_mount_plan_build(const struct rl_mount_cfg *c, struct rl_mount_plan *p);
void rl_mount_plan_free(struct rl_mount_plan *p);

/* Resolve `path` inside the tree at rootfd (an O_PATH fd), creating missing
 * directories (and the last component as a file when !dir) if `create`.
 * Returns an O_PATH fd, or -1 with *err (errnum ENOENT when absent). */
int rl_open_in_root(int rootfd, const char *path, bool create, bool dir, rl_error_t *err);

int rl_mount_plan_execute(int rootfd, const struct rl_mount_plan *p, rl_error_t *err);

/* Make the root mount at rootfd read-only (not its submounts). */
int rl_rootfs_make_readonly(int rootfd, rl_error_t *err);

/* pivot_root into rootfd and detach the old root. */
int rl_pivot_root(int rootfd, rl_error_t *err);

#endif
