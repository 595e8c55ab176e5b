/* Unpacking one image layer (a tar stream, gzip/zstd/uncompressed) into an
 * empty directory, with libarchive, confined to that directory.  Runs inside
 * the user namespace with the full id mapping so ownership is kept. */
#ifndef RL_LAYER_H
#define RL_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"

/* How whiteouts and opaque directories are written, for the overlay in use. */
enum rl_whiteout_format {
  RL_WHITEOUT_OVERLAY_XATTR, /* kernel overlayfs with userxattr: see docs/architecture.md */
  RL_WHITEOUT_FUSE,          /* fuse-overlayfs */
};

struct rl_unpack_opts {
  enum rl_whiteout_format whiteouts;
  /* Ids at or above these are not mapped in the namespace: stored as the overflow id. */
  unsigned long uid_limit, gid_limit;
};

struct rl_unpack_stats {
  size_t entries;
  size_t overflow_ids;    /* entries whose owner was outside the mapping */
  char *overflow_example; /* one of them, for the warning */
  size_t devices_skipped; /* device nodes and fifos skipped */
  char *device_example;
};

/* Read the layer from `fd` to its end and create its entries below `dirfd`.
 * Refuses (error, nothing followed) entries with `..` components or absolute
 * names that escape, writes through symlinks, hard links to outside the
 * layer, and entries replacing a parent directory with a symlink. */
int rl_layer_unpack(int fd, int dirfd, const struct rl_unpack_opts *o, struct rl_unpack_stats *st,
                    rl_error_t *err);
void rl_unpack_stats_free(struct rl_unpack_stats *st);

#endif
