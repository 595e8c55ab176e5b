/* Where a container's root filesystem comes from.  Each source ends as the
 * same thing: an O_PATH fd to a mounted root, private to the container's
 * mount namespace; everything after that (mount plan, pivot_root) is shared. */
#ifndef RL_ROOTFS_H
#define RL_ROOTFS_H

#include <sys/types.h>

#include "rl_error.h"
#include "rl_util.h"

enum rl_rootfs_kind {
  RL_ROOTFS_DIR,          /* --rootfs DIR: the tree bound onto itself */
  RL_ROOTFS_OVERLAY,      /* an image: kernel overlayfs (userxattr) */
  RL_ROOTFS_FUSE_OVERLAY, /* an image: fuse-overlayfs */
};

struct rl_rootfs_source {
  enum rl_rootfs_kind kind;
  char *dir;        /* DIR: the tree */
  rl_strv_t lowers; /* OVERLAY: image layers, topmost first */
  char *upper, *work, *merged;
};

void rl_rootfs_source_free(struct rl_rootfs_source *s);

/* Mount the source (in the caller's private mount namespace) and return an
 * O_PATH fd to its root.  For fuse-overlayfs, *helper_pid is the daemon, to
 * be stopped when the container is gone (else -1). */
int rl_rootfs_open(const struct rl_rootfs_source *s, pid_t *helper_pid, rl_error_t *err);

#endif
