/* Creating layer entries below the layer's root fd: parents resolved without
 * symlinks, the last component never followed, earlier entries replaced. */
#include "layer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>

int layer_open_beneath(int rootfd, const char *path, int flags)
{
  struct open_how how = {
      .flags = (unsigned long long)(flags | O_CLOEXEC),
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

int layer_clean_name(const char *raw, char **path_out, char **parent_out, const char **name_out)
{
  cleanup_free char *out = rl_xmalloc(strlen(raw) + 1);
  size_t o = 0, last = 0;
  for (const char *p = raw + strspn(raw, "/"); *p; p += strspn(p, "/")) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.')
      return -1;
    if (!(n == 1 && p[0] == '.')) {
      if (o)
        out[o++] = '/';
      last = o;
      memcpy(out + o, p, n);
      o += n;
    }
    p += n;
  }
  out[o] = '\0';
  *parent_out = rl_xstrndup(out, last ? last - 1 : 0);
  *name_out = out + last;
  *path_out = rl_steal_ptr(&out);
  return 0;
}

static int parent_error(struct layer_ctx *c, struct layer_entry *e, int errnum)
{
  if (errnum == ELOOP || errnum == ENOTDIR || errnum == EXDEV)
    return rl_make_error(c->err, errnum,
                         "layer entry `%s`: refused: its parent `%s` is not a directory of the "
                         "layer (a symlink or a file on the way)",
                         layer_label(e), e->parent);
  return rl_make_error(c->err, errnum, "layer entry `%s`: open its parent directory `%s`",
                       layer_label(e), e->parent);
}

/* A parent the layer does not list gets the usual 0755, whatever the umask. */
static int implicit_mode(struct layer_ctx *c, struct layer_entry *e, int pfd, const char *name)
{
  cleanup_close int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fchmod(fd, 0755) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: chmod its parent `%s`", layer_label(e),
                         name);
  return 0;
}

/* Make directory `name` in `pfd` unless there is one.  A whiteout this layer
 * wrote there gives way (and the directory becomes opaque); any other
 * non-directory gives way only to an explicit entry (`replace`): a missing
 * parent is never made over a symlink or file. */
static int ensure_dir(struct layer_ctx *c, struct layer_entry *e, int pfd, const char *name,
                      bool replace)
{
  struct stat st;
  int wh;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode))
      return 0;
    wh = layer_take_whiteout(c, e, pfd, name, &st);
    if (wh == 0 && !replace)
      return parent_error(c, e, ENOTDIR);
    if (wh == 0 && unlinkat(pfd, name, 0) < 0)
      return rl_make_error(c->err, errno, "layer entry `%s`: remove the earlier `%s`",
                           layer_label(e), name);
  } else if (errno == ENOENT) {
    wh = layer_take_whiteout(c, e, pfd, name, NULL);
  } else {
    return rl_make_error(c->err, errno, "layer entry `%s`: stat `%s`", layer_label(e), name);
  }
  if (wh < 0)
    return -1;
  /* 0700 until the deferred mode: a read-only dir must still take its contents. */
  if (mkdirat(pfd, name, 0700) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: mkdir `%s`", layer_label(e), name);
  if (!replace && implicit_mode(c, e, pfd, name) < 0)
    return -1;
  return wh ? layer_make_opaque(c, e, pfd, name) : 0;
}

/* The parent is missing: make it, one component at a time, none followed. */
static int make_parents(struct layer_ctx *c, struct layer_entry *e)
{
  cleanup_free char *walk = rl_xstrdup(e->parent);
  cleanup_close int cur = -1;
  char *save = NULL;
  for (char *comp = strtok_r(walk, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
    int at = cur >= 0 ? cur : c->rootfd;
    int fd = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
      if (ensure_dir(c, e, at, comp, false) < 0)
        return -1;
      fd = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
      return parent_error(c, e, errno);
    if (cur >= 0)
      close(cur);
    cur = fd;
  }
  return rl_steal_fd(&cur);
}

void layer_drop_cache(struct layer_ctx *c)
{
  free(c->cached_parent);
  c->cached_parent = NULL;
  if (c->cached_fd >= 0)
    close(c->cached_fd);
  c->cached_fd = -1;
}

int layer_parent_fd(struct layer_ctx *c, struct layer_entry *e)
{
  if (e->parent[0] == '\0')
    return c->rootfd;
  if (c->cached_parent && strcmp(c->cached_parent, e->parent) == 0)
    return c->cached_fd;
  layer_drop_cache(c);
  int fd = layer_open_beneath(c->rootfd, e->parent, O_PATH | O_DIRECTORY);
  /* Missing, or a whiteout on the way that a directory may replace: the
   * walk decides, one component at a time. */
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    fd = make_parents(c, e);
  else if (fd < 0)
    return parent_error(c, e, errno);
  if (fd < 0)
    return -1;
  c->cached_parent = rl_xstrdup(e->parent);
  c->cached_fd = fd;
  return fd;
}

/* An earlier entry of the same name gives way to a non-directory: tar
 * semantics, the later entry wins.  Nothing is followed: unlinkat removes a
 * symlink itself, the tree walk does not descend through symlinks. */
static int clear_existing(struct layer_ctx *c, struct layer_entry *e, int pfd)
{
  struct stat st;
  if (fstatat(pfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT
               ? 0
               : rl_make_error(c->err, errno, "layer entry `%s`: stat it", layer_label(e));
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(pfd, e->name, 0) < 0)
      return rl_make_error(c->err, errno, "layer entry `%s`: remove the earlier entry",
                           layer_label(e));
    return 0;
  }
  /* The cached parent may be this directory or below it. */
  layer_drop_cache(c);
  if (rl_rmtree_at(pfd, e->name, c->err) < 0)
    return rl_error_wrap(c->err, "layer entry `%s`: replace the earlier directory", layer_label(e));
  return 0;
}

int layer_make_dir(struct layer_ctx *c, struct layer_entry *e, int pfd)
{
  if (ensure_dir(c, e, pfd, e->name, true) < 0)
    return -1;
  cleanup_close int fd = openat(pfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: open the directory", layer_label(e));
  if (layer_set_owner(c, e, fd) < 0 || layer_set_xattrs(c, e, fd) < 0)
    return -1;
  return layer_defer_dir(c, e);
}

static int write_data(struct layer_ctx *c, struct layer_entry *e, int fd, struct archive *a)
{
  const void *buf;
  size_t size;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    /* pwrite at libarchive's offsets: the gaps of a sparse file stay holes. */
    for (size_t done = 0; done < size;) {
      ssize_t w = pwrite(fd, (const char *)buf + done, size - done, off + (off_t)done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return rl_make_error(c->err, w < 0 ? errno : EIO, "layer entry `%s`: write",
                             layer_label(e));
      done += (size_t)w;
    }
  }
  if (r != ARCHIVE_EOF) {
    const char *msg = archive_error_string(a);
    return rl_make_error(c->err, 0, "layer entry `%s`: read its data: %s", layer_label(e),
                         msg ? msg : "unknown libarchive error");
  }
  /* A trailing hole has no data block: the size makes it. */
  if (archive_entry_size_is_set(e->ae) && archive_entry_size(e->ae) > 0 &&
      ftruncate(fd, (off_t)archive_entry_size(e->ae)) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set its size", layer_label(e));
  return 0;
}

int layer_make_file(struct layer_ctx *c, struct layer_entry *e, int pfd, struct archive *a)
{
  if (layer_take_whiteout(c, e, pfd, e->name, NULL) < 0)
    return -1;
  const int flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC;
  cleanup_close int fd = openat(pfd, e->name, flags, 0600);
  if (fd < 0 && errno == EEXIST) {
    if (clear_existing(c, e, pfd) < 0)
      return -1;
    fd = openat(pfd, e->name, flags, 0600);
  }
  if (fd < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: create the file", layer_label(e));
  if (write_data(c, e, fd, a) < 0 || layer_set_owner(c, e, fd) < 0 ||
      layer_set_mode(c, e, fd) < 0 || layer_set_xattrs(c, e, fd) < 0)
    return -1;
  return layer_set_times(c, e, fd);
}

int layer_make_symlink(struct layer_ctx *c, struct layer_entry *e, int pfd)
{
  const char *target = archive_entry_symlink(e->ae);
  if (target == NULL || *target == '\0')
    return rl_make_error(c->err, EINVAL, "layer entry `%s`: symlink without a target",
                         layer_label(e));
  if (layer_take_whiteout(c, e, pfd, e->name, NULL) < 0)
    return -1;
  /* The target is stored as it is: only the container resolves it. */
  int r = symlinkat(target, pfd, e->name);
  if (r < 0 && errno == EEXIST) {
    if (clear_existing(c, e, pfd) < 0)
      return -1;
    r = symlinkat(target, pfd, e->name);
  }
  if (r < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: create the symlink", layer_label(e));
  return layer_set_link_meta(c, e, pfd);
}

/* A fifo: mkfifo needs no privilege, so an image's named pipes are kept. */
int layer_make_fifo(struct layer_ctx *c, struct layer_entry *e, int pfd)
{
  if (layer_take_whiteout(c, e, pfd, e->name, NULL) < 0)
    return -1;
  int r = mkfifoat(pfd, e->name, 0600);
  if (r < 0 && errno == EEXIST) {
    if (clear_existing(c, e, pfd) < 0)
      return -1;
    r = mkfifoat(pfd, e->name, 0600);
  }
  /* Opening a fifo would block: its mode is set by name, never followed
   * (mkfifoat just made it, and no symlink can be there). */
  if (r < 0 || fchmodat(pfd, e->name, e->perm & 07777, 0) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: create the fifo", layer_label(e));
  if ((e->uid != c->self_uid || e->gid != c->self_gid) &&
      fchownat(pfd, e->name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the owner %u:%u", layer_label(e),
                         (unsigned)e->uid, (unsigned)e->gid);
  if (e->has_times && utimensat(pfd, e->name, e->times, AT_SYMLINK_NOFOLLOW) < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: set the times", layer_label(e));
  return 0;
}

/* The target of a hard link: an entry already below the root, reached
 * without symlinks; its parent fd is returned, its name set.  `t` carries
 * the target's names (and its label for messages). */
static int link_target(struct layer_ctx *c, struct layer_entry *e, struct layer_entry *t)
{
  t->raw = archive_entry_hardlink(e->ae);
  if (layer_clean_name(t->raw, &t->path, &t->parent, &t->name) < 0)
    return rl_make_error(c->err, EINVAL,
                         "layer entry `%s`: refused: hard link target `%s` has a `..` component",
                         layer_label(e), layer_label(t));
  if (*t->name == '\0' || layer_is_whiteout_name(t->name))
    return rl_make_error(c->err, EINVAL, "layer entry `%s`: refused: hard link to `%s`",
                         layer_label(e), layer_label(t));
  int fd = *t->parent ? layer_open_beneath(c->rootfd, t->parent, O_PATH | O_DIRECTORY)
                      : openat(c->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(c->err, errno,
                         "layer entry `%s`: refused: hard link target `%s` is not an earlier "
                         "entry of this layer (reached without symlinks)",
                         layer_label(e), layer_label(t));
  return fd;
}

static void target_free(struct layer_entry *t)
{
  free(t->path);
  free(t->parent);
}

int layer_make_hardlink(struct layer_ctx *c, struct layer_entry *e, int pfd)
{
  __attribute__((cleanup(target_free))) struct layer_entry t = {0};
  cleanup_close int tfd = link_target(c, e, &t);
  if (tfd < 0)
    return -1;
  if (strcmp(t.path, e->path) == 0) /* a link to itself: already there */
    return 0;
  if (layer_take_whiteout(c, e, pfd, e->name, NULL) < 0)
    return -1;
  /* No AT_SYMLINK_FOLLOW: a symlink target is linked as the symlink. */
  int r = linkat(tfd, t.name, pfd, e->name, 0);
  if (r < 0 && errno == EEXIST) {
    if (clear_existing(c, e, pfd) < 0)
      return -1;
    r = linkat(tfd, t.name, pfd, e->name, 0);
  }
  if (r < 0 && errno == ENOENT)
    return rl_make_error(c->err, errno,
                         "layer entry `%s`: refused: hard link target `%s` is not an earlier "
                         "entry of this layer",
                         layer_label(e), layer_label(&t));
  if (r < 0)
    return rl_make_error(c->err, errno, "layer entry `%s`: hard link to `%s`", layer_label(e),
                         layer_label(&t));
  return 0;
}
