#include "rl_storage.h"

#include <string.h>

int rl_storage_select(const char *name, struct rl_storage *st, rl_error_t *err)
{
  if (name == NULL || strcmp(name, "overlay") == 0) {
    *st = (struct rl_storage){"overlay", "overlay", RL_WHITEOUT_OVERLAY_XATTR, RL_ROOTFS_OVERLAY};
    return 0;
  }
  if (strcmp(name, "fuse-overlayfs") == 0) {
    *st = (struct rl_storage){"fuse-overlayfs", "fuse", RL_WHITEOUT_FUSE, RL_ROOTFS_FUSE_OVERLAY};
    return 0;
  }
  return rl_make_error(err, 0, "unknown storage driver `%s`: use overlay or fuse-overlayfs", name);
}
