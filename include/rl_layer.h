/* Unpacking one image layer (a tar stream, gzip/zstd/uncompressed) into an
 * empty directory, with libarchive, confined to that directory.  Runs inside
 * the user namespace with the full id mapping so ownership is kept. */
#ifndef RL_LAYER_H
#define RL_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"

/* How whiteouts and opaque directories are written, for the overlay in use
 * (the formats and the measurements behind them: top of src/layer.c). */
enum rl_whiteout_format {
  /* kernel overlayfs with userxattr: a whiteout is a 0/0 character device,
   * an opaque directory has user.overlay.opaque="y" */
  RL_WHITEOUT_OVERLAY_XATTR,
  /* fuse-overlayfs: the OCI names kept as empty files, `.wh.NAME` and
   * `.wh..wh..opq` (needs neither mknod nor user xattrs) */
  RL_WHITEOUT_FUSE,
};

struct rl_unpack_opts {
  enum rl_whiteout_format whiteouts;
  /* Ids at or above these are not mapped in the namespace: stored as the
   * overflow id 65534, or as the unpacking user's own id when 65534 is not
   * below the limit either (a single-id map). */
  unsigned long uid_limit, gid_limit;
};

struct rl_unpack_stats {
  size_t entries;
  size_t overflow_ids;    /* entries whose owner was outside the mapping */
  char *overflow_example; /* one of them, for the warning */
  size_t devices_skipped; /* device nodes and sockets skipped */
  char *device_example;
  /* entries with xattrs not kept: trusted.*, the overlays' own names, what
   * the kernel refused (security.* other than capabilities, symlinks') */
  size_t xattrs_skipped;
  char *xattr_example; /* "entry: xattr name" of one of them */
};

/* Read the layer from `fd` to its end and create its entries below `dirfd`,
 * an empty directory.  Refuses (error naming the entry, nothing followed)
 * entries with `..` components, writes through symlinks (also symlinks that
 * replaced a parent directory earlier in the same layer), and hard links to
 * anything outside the layer.  Absolute names are taken as relative to
 * `dirfd`; the entry for the layer's root itself (`./`) is ignored: the
 * overlay's root comes from its upper dir.  Device nodes and sockets are
 * skipped (counted).  Ownership is applied only where it differs from the
 * caller's euid/egid, so an unprivileged caller can unpack its own files.
 * On error `dirfd` holds a partial tree: the caller removes it. */
int rl_layer_unpack(int fd, int dirfd, const struct rl_unpack_opts *o, struct rl_unpack_stats *st,
                    rl_error_t *err);
void rl_unpack_stats_free(struct rl_unpack_stats *st);

#endif
