/* The storage driver: which overlay assembles image layers, and so which
 * whiteout format layers are unpacked in (each has its own layers/ dir). */
#ifndef RL_STORAGE_H
#define RL_STORAGE_H

#include "rl_error.h"
#include "rl_layer.h"
#include "rl_rootfs.h"

struct rl_storage {
  const char *driver;       /* "overlay" or "fuse-overlayfs" */
  const char *layer_format; /* store/layers/<format> */
  enum rl_whiteout_format whiteouts;
  enum rl_rootfs_kind rootfs_kind;
};

/* `name` from --storage-driver or $RLESS_STORAGE_DRIVER; NULL: kernel
 * overlay (rless info says when the kernel refuses it). */
int rl_storage_select(const char *name, struct rl_storage *st, rl_error_t *err);

struct rl_store;
/* The driver for a store: `name` when given (--storage-driver,
 * $RLESS_STORAGE_DRIVER); else the one the store was first used with
 * (<root>/storage-driver); else kernel overlay when a trial mount in a user
 * namespace works and fuse-overlayfs when not.  The first choice (asked
 * for or probed) is remembered in the store so every later command unpacks
 * and mounts the same format. */
int rl_storage_for_store(const char *name, const struct rl_store *s, struct rl_storage *st,
                         rl_error_t *err);

#endif
