/* Owner, mode, xattrs and times of layer entries, and the deferred pass
 * that gives directories theirs once their contents are in place. */
#include "layer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>

static bool has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

int layer_set_owner(struct layer_ctx *c, struct layer_entry *e, int fd)
{
  /* New files are already ours: no call, and no EPERM for an unprivileged caller. */
  if (e->uid == c->self_uid && e->gid == c->self_gid)
    return 0;
  if (fchown(fd, e->uid, e->gid) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the owner %u:%u", layer_label(e),
                         (unsigned)e->uid, (unsigned)e->gid);
  return 0;
}

int layer_set_mode(struct layer_ctx *c, struct layer_entry *e, int fd)
{
  if (fchmod(fd, e->perm) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the mode %04o", layer_label(e),
                         (unsigned)e->perm);
  return 0;
}

int layer_set_times(struct layer_ctx *c, struct layer_entry *e, int fd)
{
  if (e->has_times && futimens(fd, e->times) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the times", layer_label(e));
  return 0;
}

/* trusted.* needs privileges over the whole machine; the overlays' own
 * names would be read as whiteouts, opaque dirs or redirects; other system.*
 * names are no data.  security.* is tried: a user namespace's root can set
 * file capabilities (namespaced), not SELinux labels. */
static bool xattr_wanted(const char *name)
{
  if (has_prefix(name, "trusted.") || has_prefix(name, "user.overlay.") ||
      has_prefix(name, "user.fuseoverlayfs."))
    return false;
  if (has_prefix(name, "system."))
    return strcmp(name, "system.posix_acl_access") == 0 ||
           strcmp(name, "system.posix_acl_default") == 0;
  return true;
}

static bool xattr_refused(int errnum)
{
  return errnum == EPERM || errnum == EACCES || errnum == ENOTSUP || errnum == EOPNOTSUPP ||
         errnum == EINVAL || errnum == E2BIG || errnum == ERANGE;
}

int layer_set_xattrs(struct layer_ctx *c, struct layer_entry *e, int fd)
{
  const char *name, *skipped = NULL;
  const void *value;
  size_t size;
  if (archive_entry_xattr_reset(e->ae) == 0)
    return 0;
  while (archive_entry_xattr_next(e->ae, &name, &value, &size) == ARCHIVE_OK) {
    if (name == NULL || *name == '\0')
      continue;
    if (xattr_wanted(name) && fsetxattr(fd, name, value, size, 0) == 0)
      continue;
    if (xattr_wanted(name) && !xattr_refused(errno))
      return rl_make_error(c->err, errno, "layer entry `%s`: set xattr `%s`", layer_label(e), name);
    skipped = skipped ? skipped : name;
  }
  /* Counted per entry: pax headers often carry each xattr twice (SCHILY.
   * and LIBARCHIVE.), and one warning per file is what a user can act on. */
  if (skipped)
    layer_note(&c->st->xattrs_skipped, &c->st->xattr_example, "%s: %s", e->path, skipped);
  return 0;
}

/* Symlinks: owner and times through the parent, never following; the
 * kernel allows no user.* xattrs on them, so theirs are counted as skipped. */
int layer_set_link_meta(struct layer_ctx *c, struct layer_entry *e, int pfd)
{
  if ((e->uid != c->self_uid || e->gid != c->self_gid) &&
      fchownat(pfd, e->name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the owner %u:%u", layer_label(e),
                         (unsigned)e->uid, (unsigned)e->gid);
  if (archive_entry_xattr_count(e->ae) > 0)
    layer_note(&c->st->xattrs_skipped, &c->st->xattr_example, "%s: (xattrs of a symlink)", e->path);
  if (e->has_times && utimensat(pfd, e->name, e->times, AT_SYMLINK_NOFOLLOW) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the times", layer_label(e));
  return 0;
}

int layer_defer_dir(struct layer_ctx *c, struct layer_entry *e)
{
  if (c->ndirs == c->capdirs) {
    c->capdirs = c->capdirs ? 2 * c->capdirs : 64;
    c->dirs = rl_xrealloc(c->dirs, c->capdirs * sizeof(*c->dirs));
  }
  struct layer_dirmeta *d = &c->dirs[c->ndirs];
  *d = (struct layer_dirmeta){
      .path = rl_xstrdup(e->path), .seq = c->ndirs, .mode = e->perm, .has_times = e->has_times};
  memcpy(d->times, e->times, sizeof(d->times));
  c->ndirs++;
  return 0;
}

/* Children before parents (a path sorts after its prefix, so descending),
 * and of two entries for one path the later first. */
static int dirmeta_cmp(const void *pa, const void *pb)
{
  const struct layer_dirmeta *a = pa, *b = pb;
  int r = strcmp(b->path, a->path);
  if (r)
    return r;
  return a->seq < b->seq ? 1 : (a->seq > b->seq ? -1 : 0);
}

static int apply_dir(struct layer_ctx *c, const struct layer_dirmeta *d)
{
  cleanup_close int fd =
      layer_open_beneath(c->rootfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  /* Replaced by a later non-directory entry, or removed with its parent. */
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
    return 0;
  if (fd < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: open the directory", d->path);
  if (fchmod(fd, d->mode) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the mode %04o", d->path,
                         (unsigned)d->mode);
  if (d->has_times && futimens(fd, d->times) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the times", d->path);
  return 0;
}

int layer_apply_dirs(struct layer_ctx *c)
{
  if (c->ndirs == 0)
    return 0;
  qsort(c->dirs, c->ndirs, sizeof(*c->dirs), dirmeta_cmp);
  for (size_t i = 0; i < c->ndirs; i++) {
    if (i > 0 && strcmp(c->dirs[i].path, c->dirs[i - 1].path) == 0)
      continue;
    if (apply_dir(c, &c->dirs[i]) < 0)
      return -1;
  }
  return 0;
}

void layer_free_dirs(struct layer_ctx *c)
{
  for (size_t i = 0; i < c->ndirs; i++)
    free(c->dirs[i].path);
  free(c->dirs);
  c->dirs = NULL;
  c->ndirs = c->capdirs = 0;
}
