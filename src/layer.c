/* Unpacking an image layer (tar, gzip/zstd/none, read by libarchive) below a
 * directory fd, with whiteouts written in the format of the overlay in use.
 *
 * Whiteout formats, measured on Linux 6.18 (ext4 store) as an unprivileged
 * user in `unshare -Urm` (single-id map), then with real overlay mounts of
 * several stacked lowerdirs:
 *
 * - RL_WHITEOUT_OVERLAY_XATTR (kernel overlayfs, `userxattr`): a whiteout
 *   is a 0/0 character device.  mknodat() of exactly 0/0 needs no CAP_MKNOD
 *   since Linux 5.8, in a user namespace or not, and overlayfs honours it in
 *   lower layers (the whited-out lower file vanished).  It is the format
 *   overlayfs itself writes, so it works on every kernel that has
 *   `userxattr` (5.11+).  The alternative, an empty file with
 *   user.overlay.whiteout, works only from 6.7 and only when the parent dir
 *   has user.overlay.opaque="x"; the user.overlay.whiteouts marker on the
 *   parent that early patches used is ignored by 6.18 (the file stayed
 *   visible), so it is not used.  Opaque dirs: user.overlay.opaque="y"
 *   (hid the lower dir's contents).
 * - RL_WHITEOUT_FUSE (fuse-overlayfs 1.10): it reads 0/0 devices, `.wh.NAME`
 *   files, `.wh..wh..opq` files and the user.fuseoverlayfs.opaque and
 *   user.overlay.opaque xattrs (all five checked with a mount).  The OCI
 *   names are kept as empty files: fuse-overlayfs is the fallback for hosts
 *   whose kernel or filesystem cannot serve the kernel overlay, and these
 *   files need neither mknod (pre-5.8 kernels) nor user xattrs (NFS, old
 *   tmpfs).
 *
 * OCI rule: a whiteout hides only what lower layers hold.  So `.wh.NAME`
 * next to this layer's own NAME keeps NAME; when NAME is a directory it
 * becomes opaque (this layer's copy, none of the lower one), in either
 * order of the two entries.
 *
 * Confinement: names are cleaned (no `/`, `.` or empty components) and `..`
 * refuses the layer; parents are opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), missing ones made one O_NOFOLLOW component at a
 * time, and the last component is only ever touched with calls that do not
 * follow it.  An earlier entry is replaced by unlinking it (a directory:
 * removing its tree) first. */
#include "layer_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYER_BLOCK (1U << 20)

void layer_note(size_t *count, char **example, const char *fmt, ...)
{
  (*count)++;
  if (*example)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(example, fmt, ap) < 0)
    *example = NULL;
  va_end(ap);
}

const char *layer_label(struct layer_entry *e)
{
  if (e->label[0])
    return e->label;
  const char *raw = e->raw ? e->raw : "?";
  size_t n = 0, max = sizeof(e->label) - 4;
  for (; raw[n] && n < max; n++)
    e->label[n] = ((unsigned char)raw[n] < 0x20 || raw[n] == 0x7f) ? '?' : raw[n];
  if (raw[n]) {
    memcpy(e->label + n, "...", 3);
    n += 3;
  }
  e->label[n] = '\0';
  return e->label;
}

static void entry_free(struct layer_entry *e)
{
  free(e->path);
  free(e->parent);
}

static void archive_freep(struct archive **a)
{
  if (*a)
    archive_read_free(*a);
}

/* An id outside the mapping cannot be stored: the kernel would refuse it. */
static unsigned map_id(int64_t id, unsigned long limit, unsigned self, bool *over)
{
  if (id >= 0 && (uint64_t)id < limit)
    return (unsigned)id;
  *over = true;
  return LAYER_OVERFLOWID < limit ? (unsigned)LAYER_OVERFLOWID : self;
}

static void entry_times(struct layer_entry *e)
{
  struct archive_entry *ae = e->ae;
  e->has_times = archive_entry_mtime_is_set(ae);
  if (!e->has_times)
    return;
  long mns = archive_entry_mtime_nsec(ae);
  e->times[1] = (struct timespec){archive_entry_mtime(ae), mns >= 0 && mns < 1000000000 ? mns : 0};
  e->times[0] = e->times[1]; /* no atime: the mtime, so unpacking is reproducible */
  if (archive_entry_atime_is_set(ae)) {
    long ans = archive_entry_atime_nsec(ae);
    e->times[0] =
        (struct timespec){archive_entry_atime(ae), ans >= 0 && ans < 1000000000 ? ans : 0};
  }
}

static void entry_meta(struct layer_ctx *c, struct layer_entry *e)
{
  bool over = false;
  e->perm = archive_entry_perm(e->ae) & 07777;
  e->uid = map_id(archive_entry_uid(e->ae), c->o->uid_limit, c->self_uid, &over);
  e->gid = map_id(archive_entry_gid(e->ae), c->o->gid_limit, c->self_gid, &over);
  if (over)
    layer_note(&c->st->overflow_ids, &c->st->overflow_example, "%s", e->path);
  entry_times(e);
}

/* 1: below an aufs bookkeeping dir (`.wh..wh.plnk/...`), skipped like the
 * dir itself; -1: below a whiteout, which no layer can mean. */
static int below_whiteout(struct layer_ctx *c, struct layer_entry *e)
{
  for (const char *p = e->parent; *p;) {
    size_t n = strcspn(p, "/");
    if (strncmp(p, LAYER_WH_META, strlen(LAYER_WH_META)) == 0)
      return 1;
    if (strncmp(p, LAYER_WH_PREFIX, strlen(LAYER_WH_PREFIX)) == 0)
      return rl_make_error(c->err, EINVAL, "layer entry `%s`: refused: it is below a whiteout",
                           layer_label(e));
    p += n + (p[n] == '/');
  }
  return 0;
}

static int unpack_typed(struct layer_ctx *c, struct layer_entry *e, struct archive *a)
{
  mode_t type = archive_entry_filetype(e->ae);
  bool hard = archive_entry_hardlink(e->ae) != NULL;
  if (!hard && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK)) {
    /* A user namespace cannot make device nodes, and a socket in a tar is
     * only a leftover of whoever made it. */
    layer_note(&c->st->devices_skipped, &c->st->device_example, "%s", e->path);
    return 0;
  }
  if (!hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFIFO)
    return rl_make_error(c->err, EINVAL, "layer entry `%s`: unknown file type 0%o", layer_label(e),
                         (unsigned)type);
  entry_meta(c, e);
  int pfd = layer_parent_fd(c, e);
  if (pfd < 0)
    return -1;
  if (hard)
    return layer_make_hardlink(c, e, pfd);
  if (type == AE_IFDIR)
    return layer_make_dir(c, e, pfd);
  if (type == AE_IFLNK)
    return layer_make_symlink(c, e, pfd);
  if (type == AE_IFIFO)
    return layer_make_fifo(c, e, pfd);
  return layer_make_file(c, e, pfd, a);
}

static int unpack_entry(struct layer_ctx *c, struct archive *a, struct archive_entry *ae)
{
  __attribute__((cleanup(entry_free))) struct layer_entry e = {.ae = ae};
  e.raw = archive_entry_pathname(ae);
  if (e.raw == NULL)
    return rl_make_error(c->err, EINVAL, "layer entry %zu has no usable name", c->st->entries);
  if (layer_clean_name(e.raw, &e.path, &e.parent, &e.name) < 0)
    return rl_make_error(c->err, EINVAL,
                         "layer entry `%s`: refused: a `..` component would leave the layer",
                         layer_label(&e));
  /* The layer's root: its owner and mode belong to the overlay's upper dir. */
  if (e.path[0] == '\0')
    return 0;
  int below = below_whiteout(c, &e);
  if (below != 0)
    return below < 0 ? -1 : 0;
  if (layer_is_whiteout_name(e.name)) {
    int pfd = layer_parent_fd(c, &e);
    return pfd < 0 ? -1 : layer_whiteout(c, &e, pfd);
  }
  return unpack_typed(c, &e, a);
}

static int archive_failure(struct layer_ctx *c, struct archive *a, const char *what)
{
  int errnum = archive_errno(a);
  /* libarchive's "misc" (-1) and "file format" (EILSEQ) codes say nothing
   * that its message does not. */
  if (errnum <= 0 || errnum == EILSEQ)
    errnum = 0;
  const char *msg = archive_error_string(a);
  if (msg == NULL)
    msg = "unknown libarchive error";
  if (c->st->entries == 0)
    return rl_make_error(c->err, errnum, "%s: %s", what, msg);
  return rl_make_error(c->err, errnum, "%s after entry %zu: %s", what, c->st->entries, msg);
}

static int read_entries(struct layer_ctx *c, struct archive *a)
{
  for (;;) {
    struct archive_entry *ae = NULL;
    int r = archive_read_next_header(a, &ae);
    if (r == ARCHIVE_EOF)
      return 0;
    /* Warnings are e.g. pax names not convertible to the C locale: the raw
     * bytes are kept, which is what the image means. */
    if (r == ARCHIVE_WARN)
      rl_debug("layer: %s", archive_error_string(a));
    else if (r != ARCHIVE_OK)
      return archive_failure(c, a, "read the layer");
    c->st->entries++;
    if (unpack_entry(c, a, ae) < 0)
      return -1;
  }
}

/* Read what follows the end of the archive (padding, trailing data), so a
 * writer feeding a pipe never sees EPIPE after a good layer. */
static void drain(int fd)
{
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    ;
}

int rl_layer_unpack(int fd, int dirfd, const struct rl_unpack_opts *o, struct rl_unpack_stats *st,
                    rl_error_t *err)
{
  __attribute__((cleanup(archive_freep))) struct archive *a = archive_read_new();
  if (a == NULL)
    return rl_make_error(err, ENOMEM, "set up the layer reader");
  struct layer_ctx c = {.rootfd = dirfd,
                        .o = o,
                        .st = st,
                        .self_uid = geteuid(),
                        .self_gid = getegid(),
                        .cached_fd = -1,
                        .err = err};
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, LAYER_BLOCK) != ARCHIVE_OK)
    return archive_failure(&c, a, "open the layer stream");
  int r = read_entries(&c, a);
  layer_drop_cache(&c);
  if (r == 0)
    r = layer_apply_dirs(&c);
  layer_free_dirs(&c);
  if (r == 0)
    drain(fd);
  return r;
}

void rl_unpack_stats_free(struct rl_unpack_stats *st)
{
  free(st->overflow_example);
  free(st->device_example);
  free(st->xattr_example);
  st->overflow_example = st->device_example = st->xattr_example = NULL;
}
