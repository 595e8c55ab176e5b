/* OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) written in the format of the
 * overlay that will stack the layer (formats and evidence: src/layer.c). */
#include "layer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define OVL_OPAQUE_XATTR "user.overlay.opaque"

bool layer_is_whiteout_name(const char *name)
{
  return strncmp(name, LAYER_WH_PREFIX, strlen(LAYER_WH_PREFIX)) == 0;
}

static bool is_chardev_whiteout(const struct stat *st)
{
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int opaque_marker(struct layer_ctx *c, struct layer_entry *e, int dfd)
{
  cleanup_close int fd =
      openat(dfd, LAYER_WH_OPAQUE, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    return rl_make_error(c->err, errno, "layer entry `%s`: create the opaque marker",
                         layer_label(e));
  return 0;
}

int layer_make_opaque(struct layer_ctx *c, struct layer_entry *e, int pfd, const char *name)
{
  bool fuse = c->o->whiteouts == RL_WHITEOUT_FUSE;
  int flags = (fuse ? O_PATH : O_RDONLY) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  cleanup_close int dfd = openat(pfd, name, flags);
  if (dfd < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: open the directory to make opaque",
                         layer_label(e));
  if (fuse)
    return opaque_marker(c, e, dfd);
  if (fsetxattr(dfd, OVL_OPAQUE_XATTR, "y", 1, 0) < 0) {
    rl_make_error(c->err, errno, "layer entry `%s`: mark the directory opaque (xattr %s)",
                  layer_label(e), OVL_OPAQUE_XATTR);
    return rl_error_hint(c->err, "the image store's filesystem needs user xattrs for the kernel "
                                 "overlay; or use --storage-driver fuse-overlayfs");
  }
  return 0;
}

int layer_take_whiteout(struct layer_ctx *c, struct layer_entry *e, int pfd, const char *name,
                        const struct stat *existing)
{
  if (existing) {
    /* Device nodes of the tar are skipped: a 0/0 device here is ours. */
    if (!is_chardev_whiteout(existing))
      return 0;
    if (unlinkat(pfd, name, 0) < 0)
      return rl_make_error(c->err, errno, "layer entry `%s`: remove the whiteout `%s` it replaces",
                           layer_label(e), name);
    return 1;
  }
  /* Only a layer that wrote `.wh.` files pays for this lookup. */
  if (c->o->whiteouts != RL_WHITEOUT_FUSE || c->whiteouts == 0)
    return 0;
  char marker[NAME_MAX + 1];
  if ((size_t)snprintf(marker, sizeof(marker), "%s%s", LAYER_WH_PREFIX, name) >= sizeof(marker))
    return 0;
  if (unlinkat(pfd, marker, 0) == 0)
    return 1;
  if (errno == ENOENT)
    return 0;
  return rl_make_error(c->err, errno, "layer entry `%s`: remove the whiteout `%s` it replaces",
                       layer_label(e), marker);
}

static int write_whiteout(struct layer_ctx *c, struct layer_entry *e, int pfd, const char *victim)
{
  c->whiteouts++;
  if (c->o->whiteouts == RL_WHITEOUT_OVERLAY_XATTR) {
    if (mknodat(pfd, victim, S_IFCHR | 0600, makedev(0, 0)) == 0)
      return 0;
    int errnum = errno;
    rl_make_error(c->err, errnum, "layer entry `%s`: create the whiteout (a 0/0 device)",
                  layer_label(e));
    return errnum == EPERM ? rl_error_hint(c->err, "Linux 5.8 or later allows 0/0 devices "
                                                   "without privileges; or use "
                                                   "--storage-driver fuse-overlayfs")
                           : -1;
  }
  cleanup_close int fd =
      openat(pfd, e->name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    return rl_make_error(c->err, errno, "layer entry `%s`: create the whiteout", layer_label(e));
  return 0;
}

int layer_whiteout(struct layer_ctx *c, struct layer_entry *e, int pfd)
{
  if (strcmp(e->name, LAYER_WH_OPAQUE) == 0)
    return layer_make_opaque(c, e, pfd, ".");
  /* aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): no meaning for an overlay. */
  if (strncmp(e->name, LAYER_WH_META, strlen(LAYER_WH_META)) == 0)
    return 0;
  const char *victim = e->name + strlen(LAYER_WH_PREFIX);
  if (*victim == '\0' || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
    return rl_make_error(c->err, EINVAL, "layer entry `%s`: refused: a whiteout of no name",
                         layer_label(e));
  struct stat st;
  if (fstatat(pfd, victim, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    /* This layer's own entry stays; a lower directory of that name must not
     * show through it.  A 0/0 device is a whiteout already. */
    return S_ISDIR(st.st_mode) ? layer_make_opaque(c, e, pfd, victim) : 0;
  }
  if (errno != ENOENT)
    return rl_make_error(c->err, errno, "layer entry `%s`: stat what it whites out",
                         layer_label(e));
  return write_whiteout(c, e, pfd, victim);
}
