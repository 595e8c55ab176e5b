/* rless commit, diff and export: the pure rules and the tree walks.
 *
 * What the overlays leave in an upper dir, measured on Linux 6.18 (ext4
 * store) and fuse-overlayfs 1.10 with a container that deleted lower files
 * and ran `rm -rf DIR && mkdir DIR` on a lower directory:
 *
 * - kernel overlay (userxattr): a whiteout is a 0/0 character device,
 *   hard-linked to one shared whiteout under work/ (its link count says
 *   nothing); the re-made dir has user.overlay.opaque="y"; user.overlay.
 *   origin, impure and uuid are bookkeeping.  With userxattr the kernel
 *   makes neither redirects nor metacopy files: every upper file holds its
 *   data.
 * - fuse-overlayfs: whiteouts are 0/0 character devices too (`.wh.NAME`
 *   files where mknod is refused); the re-made dir has
 *   user.fuseoverlayfs.opaque="y", a `.wh..wh..opq` file and a 0/0 device
 *   named `.wh..opq`; user.fuseoverlayfs.origin is bookkeeping.
 *
 * Both come out as OCI: `.wh.NAME` per whiteout, `DIR/.wh..wh..opq` once per
 * opaque dir, without the overlays' xattrs.  Entries go out in name order,
 * so the same upper dir makes the same layer digest. */
#include "rl_archive.h"
#include "rl_commit.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define WH_PREFIX      ".wh."
#define WH_META        ".wh..wh."
#define WH_OPAQUE      ".wh..wh..opq"
#define FUSE_OPQ_DEV   ".wh..opq"
#define WALK_MAX_DEPTH 512
#define BLOCK          (1U << 20)

/* ---- classification ---- */

static const struct rl_xattr *xattr_find(const struct rl_upper_entry *e, const char *name)
{
  for (size_t i = 0; i < e->n_xattrs; i++)
    if (strcmp(e->xattrs[i].name, name) == 0)
      return &e->xattrs[i];
  return NULL;
}

static bool xattr_is_y(const struct rl_upper_entry *e, const char *name)
{
  const struct rl_xattr *x = xattr_find(e, name);
  return x && x->len == 1 && x->value[0] == 'y';
}

bool rl_layer_xattr_kept(const char *name)
{
  static const char *const own[] = {"user.overlay.", "trusted.overlay.", "user.fuseoverlayfs.",
                                    "trusted.fuseoverlayfs."};
  for (size_t i = 0; i < RL_ARRAY_SIZE(own); i++)
    if (strncmp(name, own[i], strlen(own[i])) == 0)
      return false;
  return true;
}

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static bool is_whiteout_dev(mode_t mode, dev_t rdev)
{
  return S_ISCHR(mode) && major(rdev) == 0 && minor(rdev) == 0;
}

/* What rless gives each container, not its image: left empty in the upper
 * dir when they are bind-mount targets. */
static bool runtime_file(const struct rl_upper_entry *e)
{
  static const char *const files[] = {"etc/hosts", "etc/resolv.conf", "etc/hostname"};
  for (size_t i = 0; S_ISREG(e->mode) && e->size == 0 && i < RL_ARRAY_SIZE(files); i++)
    if (strcmp(e->path, files[i]) == 0)
      return true;
  return false;
}

static bool has_redirect(const struct rl_upper_entry *e)
{
  static const char *const names[] = {"user.overlay.redirect", "trusted.overlay.redirect",
                                      "user.overlay.metacopy", "trusted.overlay.metacopy"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(names); i++)
    if (xattr_find(e, names[i]))
      return true;
  return false;
}

/* fuse-overlayfs: its `.wh.` names are its whiteout format. */
static void classify_fuse_marker(const struct rl_upper_entry *e, const char *name,
                                 struct rl_upper_class *c)
{
  if (strcmp(name, WH_OPAQUE) == 0 ||
      (strcmp(name, FUSE_OPQ_DEV) == 0 && is_whiteout_dev(e->mode, e->rdev))) {
    c->kind = RL_UPPER_OPAQUE;
  } else if (S_ISREG(e->mode) && name[strlen(WH_PREFIX)] != '\0' &&
             strncmp(name, WH_META, strlen(WH_META)) != 0) {
    c->kind = RL_UPPER_WHITEOUT;
    c->victim = rl_xasprintf("%.*s%s", (int)(name - e->path), e->path, name + strlen(WH_PREFIX));
  } else {
    c->kind = RL_UPPER_SKIP;
  }
}

int rl_upper_classify(enum rl_whiteout_format f, const struct rl_upper_entry *e,
                      struct rl_upper_class *c, rl_error_t *err)
{
  memset(c, 0, sizeof(*c));
  const char *name = base_name(e->path);
  if (has_redirect(e)) {
    rl_make_error(err, 0,
                  "`/%s` in the upper dir is an overlay redirect or metacopy entry: its "
                  "content is in another layer",
                  e->path);
    return rl_error_hint(err, "rless mounts the kernel overlay with userxattr, which makes "
                              "none; was the upper dir used by another overlay mount?");
  }
  if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
    if (f == RL_WHITEOUT_FUSE) {
      classify_fuse_marker(e, name, c);
    } else {
      c->kind = RL_UPPER_SKIP;
      c->skip_reason = "a name starting with .wh. marks a whiteout in an image layer";
    }
    return 0;
  }
  if (is_whiteout_dev(e->mode, e->rdev) ||
      (S_ISREG(e->mode) && e->size == 0 && xattr_find(e, "user.overlay.whiteout"))) {
    c->kind = RL_UPPER_WHITEOUT;
    c->victim = rl_xstrdup(e->path);
    return 0;
  }
  if (S_ISSOCK(e->mode) || runtime_file(e)) {
    c->kind = RL_UPPER_SKIP;
    return 0;
  }
  c->kind = RL_UPPER_KEEP;
  c->opaque = S_ISDIR(e->mode) &&
              (xattr_is_y(e, "user.overlay.opaque") || xattr_is_y(e, "trusted.overlay.opaque") ||
               xattr_is_y(e, "user.fuseoverlayfs.opaque"));
  return 0;
}

void rl_upper_class_free(struct rl_upper_class *c)
{
  free(c->victim);
  c->victim = NULL;
}

size_t rl_upper_tar_entries(const struct rl_upper_entry *e, const struct rl_upper_class *c,
                            bool opaque, struct rl_tar_out out[2])
{
  if (c->kind == RL_UPPER_WHITEOUT) {
    const char *b = base_name(c->victim);
    out[0] = (struct rl_tar_out){
        rl_xasprintf("%.*s" WH_PREFIX "%s", (int)(b - c->victim), c->victim, b), RL_TAR_MARKER};
    return 1;
  }
  if (c->kind != RL_UPPER_KEEP)
    return 0;
  out[0] = (struct rl_tar_out){rl_xstrdup(e->path), RL_TAR_ENTRY};
  if (!S_ISDIR(e->mode) || !opaque)
    return 1;
  out[1] = (struct rl_tar_out){rl_xasprintf("%s/" WH_OPAQUE, e->path), RL_TAR_MARKER};
  return 2;
}

void rl_tar_outs_free(struct rl_tar_out *out, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(out[i].path);
    out[i].path = NULL;
  }
}

/* ---- changes ---- */

void rl_changes_add(struct rl_changes *c, char kind, const char *path)
{
  c->v = rl_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
  c->v[c->n++] = (struct rl_change){kind, rl_xasprintf("/%s", path)};
}

static int change_cmp(const void *a, const void *b)
{
  const struct rl_change *x = a, *y = b;
  int r = strcmp(x->path, y->path);
  return r ? r : x->kind - y->kind;
}

void rl_changes_sort(struct rl_changes *c)
{
  if (c->n == 0)
    return;
  qsort(c->v, c->n, sizeof(*c->v), change_cmp);
  size_t k = 1;
  for (size_t i = 1; i < c->n; i++) {
    if (strcmp(c->v[i].path, c->v[k - 1].path) == 0)
      free(c->v[i].path);
    else
      c->v[k++] = c->v[i];
  }
  c->n = k;
}

void rl_changes_free(struct rl_changes *c)
{
  for (size_t i = 0; i < c->n; i++)
    free(c->v[i].path);
  free(c->v);
  c->v = NULL;
  c->n = 0;
}

char rl_diff_kind(const struct rl_upper_class *c, bool in_image)
{
  if (c->kind == RL_UPPER_WHITEOUT)
    return in_image ? 'D' : 0;
  if (c->kind == RL_UPPER_KEEP)
    return in_image ? 'C' : 'A';
  return 0;
}

/* ---- walking a tree ---- */

struct node {
  int dirfd; /* the parent's */
  const char *name;
  char *path; /* from the walk's root: "etc/passwd" */
  struct stat st;
  struct rl_xattr *x;
  size_t nx;
  struct rl_upper_entry e;
  struct rl_upper_class c;
  bool opaque;        /* a dir: its own xattr or a marker among its children */
  int fd;             /* a dir: open; else -1 */
  rl_strv_t children; /* a dir: names, sorted */
};

struct walk {
  bool upper; /* an upper dir of format f; else a tree taken as it is */
  enum rl_whiteout_format f;
  int (*visit)(struct walk *w, struct node *n, rl_error_t *err);
  void *ctx;
};

static void node_free(struct node *n)
{
  for (size_t i = 0; i < n->nx; i++) {
    free(n->x[i].name);
    free(n->x[i].value);
  }
  free(n->x);
  free(n->path);
  rl_upper_class_free(&n->c);
  if (n->fd >= 0)
    close(n->fd);
  rl_strv_free(&n->children);
}

static int cmp_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool names_have(const rl_strv_t *v, const char *name)
{
  return v->n && bsearch(&name, v->v, v->n, sizeof(char *), cmp_name) != NULL;
}

static int list_dir(int fd, rl_strv_t *names, rl_error_t *err)
{
  int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
  if (d == NULL) {
    int e = errno;
    if (dfd >= 0)
      close(dfd);
    return rl_make_error(err, e, "read a directory");
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      rl_strv_push(names, de->d_name);
  closedir(d);
  if (names->n)
    qsort(names->v, names->n, sizeof(char *), cmp_name);
  return 0;
}

/* The xattrs of `name` without following it (a symlink's own). */
static int read_xattrs(struct node *n, rl_error_t *err)
{
  cleanup_free char *path = rl_xasprintf("/proc/self/fd/%d/%s", n->dirfd, n->name);
  ssize_t len = llistxattr(path, NULL, 0);
  if (len <= 0)
    return len == 0 || errno == ENOTSUP || errno == ENOENT
               ? 0
               : rl_make_error(err, errno, "list the xattrs of `/%s`", n->path);
  cleanup_free char *list = rl_xmalloc((size_t)len);
  if ((len = llistxattr(path, list, (size_t)len)) < 0)
    return rl_make_error(err, errno, "list the xattrs of `/%s`", n->path);
  for (char *k = list; k < list + len; k += strlen(k) + 1) {
    ssize_t vlen = lgetxattr(path, k, NULL, 0);
    char *v = vlen < 0 ? NULL : rl_xmalloc((size_t)vlen + 1);
    if (v && (vlen = lgetxattr(path, k, v, (size_t)vlen)) >= 0) {
      n->x = rl_xrealloc(n->x, (n->nx + 1) * sizeof(*n->x));
      n->x[n->nx++] = (struct rl_xattr){rl_xstrdup(k), v, (size_t)vlen};
      continue;
    }
    free(v);
    if (errno != ENODATA)
      return rl_make_error(err, errno, "read xattr %s of `/%s`", k, n->path);
  }
  return 0;
}

/* fuse-overlayfs marks an opaque dir with files among its children too. */
static bool fuse_marker_child(const struct node *n)
{
  struct stat st;
  return names_have(&n->children, WH_OPAQUE) ||
         (names_have(&n->children, FUSE_OPQ_DEV) &&
          fstatat(n->fd, FUSE_OPQ_DEV, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          is_whiteout_dev(st.st_mode, st.st_rdev));
}

static int walk_dir(struct walk *w, int fd, const char *prefix, const rl_strv_t *names, int depth,
                    rl_error_t *err);

static int walk_node(struct walk *w, struct node *n, const char *prefix, int depth, rl_error_t *err)
{
  /* Gone meanwhile: a running container is committed as it is. */
  if (fstatat(n->dirfd, n->name, &n->st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT
               ? 0
               : rl_make_error(err, errno, "stat `/%s%s%s`", prefix, prefix[0] ? "/" : "", n->name);
  n->path = prefix[0] ? rl_xasprintf("%s/%s", prefix, n->name) : rl_xstrdup(n->name);
  if (read_xattrs(n, err) < 0)
    return -1;
  n->e = (struct rl_upper_entry){n->path, n->st.st_mode, n->st.st_rdev, (long long)n->st.st_size,
                                 n->x,    n->nx};
  if (w->upper && rl_upper_classify(w->f, &n->e, &n->c, err) < 0)
    return -1;
  if (!w->upper)
    n->c.kind = S_ISSOCK(n->st.st_mode) ? RL_UPPER_SKIP : RL_UPPER_KEEP;
  bool dir = n->c.kind == RL_UPPER_KEEP && S_ISDIR(n->st.st_mode);
  if (dir) {
    n->fd = openat(n->dirfd, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (n->fd < 0)
      return errno == ENOENT ? 0 : rl_make_error(err, errno, "open `/%s`", n->path);
    if (list_dir(n->fd, &n->children, err) < 0)
      return rl_error_wrap(err, "`/%s`", n->path);
    n->opaque = n->c.opaque || (w->upper && w->f == RL_WHITEOUT_FUSE && fuse_marker_child(n));
  }
  if (w->visit(w, n, err) < 0)
    return -1;
  return dir ? walk_dir(w, n->fd, n->path, &n->children, depth + 1, err) : 0;
}

static int walk_dir(struct walk *w, int fd, const char *prefix, const rl_strv_t *names, int depth,
                    rl_error_t *err)
{
  if (depth > WALK_MAX_DEPTH)
    return rl_make_error(err, ELOOP, "`/%s` is nested more than %d deep", prefix, WALK_MAX_DEPTH);
  for (size_t i = 0; i < names->n; i++) {
    struct node n = {.dirfd = fd, .name = names->v[i], .fd = -1};
    int r = walk_node(w, &n, prefix, depth, err);
    node_free(&n);
    if (r < 0)
      return -1;
  }
  return 0;
}

static int walk_root(struct walk *w, int dirfd, rl_error_t *err)
{
  cleanup_strv rl_strv_t names = {0};
  if (list_dir(dirfd, &names, err) < 0)
    return -1;
  return walk_dir(w, dirfd, "", &names, 0, err);
}

/* ---- tar ---- */

struct link {
  dev_t dev;
  ino_t ino;
  char *path;
};

struct tar_ctx {
  struct archive *a;
  struct link *links;
  size_t n_links;
  char *buf;
};

static int tar_fail(struct tar_ctx *t, const char *path, rl_error_t *err)
{
  return rl_make_error(err, rl_archive_errno(t->a), "write `/%s` to the tar: %s", path,
                       archive_error_string(t->a) ? archive_error_string(t->a) : "?");
}

/* The first path of a file with several links, or NULL (then it is this one). */
static const char *link_first(struct tar_ctx *t, const struct node *n)
{
  for (size_t i = 0; i < t->n_links; i++)
    if (t->links[i].dev == n->st.st_dev && t->links[i].ino == n->st.st_ino)
      return t->links[i].path;
  t->links = rl_xrealloc(t->links, (t->n_links + 1) * sizeof(*t->links));
  t->links[t->n_links++] = (struct link){n->st.st_dev, n->st.st_ino, rl_xstrdup(n->path)};
  return NULL;
}

static void entry_owner(struct archive_entry *ae, const struct node *n)
{
  archive_entry_set_uid(ae, n->st.st_uid);
  archive_entry_set_gid(ae, n->st.st_gid);
  archive_entry_set_mtime(ae, n->st.st_mtim.tv_sec, n->st.st_mtim.tv_nsec);
}

static int put_header(struct tar_ctx *t, struct archive_entry *ae, const char *path,
                      rl_error_t *err)
{
  int r = archive_write_header(t->a, ae) == ARCHIVE_OK ? 0 : tar_fail(t, path, err);
  archive_entry_free(ae);
  return r;
}

/* Empty regular files: whiteouts (0600, as docker writes them) and opaque
 * markers (the directory's permissions). */
static int put_marker(struct tar_ctx *t, const struct node *n, const char *path, rl_error_t *err)
{
  struct archive_entry *ae = archive_entry_new();
  archive_entry_set_pathname(ae, path);
  archive_entry_set_filetype(ae, AE_IFREG);
  archive_entry_set_perm(ae, S_ISDIR(n->st.st_mode) ? n->st.st_mode & 0777 : 0600);
  archive_entry_set_size(ae, 0);
  entry_owner(ae, n);
  return put_header(t, ae, path, err);
}

static int put_data(struct tar_ctx *t, int fd, const struct node *n, rl_error_t *err)
{
  for (long long left = n->st.st_size; left > 0;) {
    ssize_t r = read(fd, t->buf, left < BLOCK ? (size_t)left : BLOCK);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return rl_make_error(err, errno, "read `/%s`", n->path);
    if (r == 0)
      break; /* shrunk meanwhile: libarchive pads the entry */
    if (archive_write_data(t->a, t->buf, (size_t)r) < 0)
      return tar_fail(t, n->path, err);
    left -= r;
  }
  return 0;
}

static int entry_body(struct tar_ctx *t, const struct node *n, struct archive_entry *ae, int *fd,
                      rl_error_t *err)
{
  const char *first = !S_ISDIR(n->st.st_mode) && n->st.st_nlink > 1 ? link_first(t, n) : NULL;
  if (first) {
    archive_entry_set_hardlink(ae, first);
    archive_entry_set_size(ae, 0);
  } else if (S_ISREG(n->st.st_mode)) {
    archive_entry_set_size(ae, n->st.st_size);
    *fd = openat(n->dirfd, n->name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (*fd < 0)
      return rl_make_error(err, errno, "open `/%s`", n->path);
  } else if (S_ISLNK(n->st.st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t len = readlinkat(n->dirfd, n->name, target, PATH_MAX);
    if (len < 0)
      return rl_make_error(err, errno, "read the symlink `/%s`", n->path);
    target[len] = '\0';
    archive_entry_set_symlink(ae, target);
  } else if (S_ISCHR(n->st.st_mode) || S_ISBLK(n->st.st_mode)) {
    archive_entry_set_rdev(ae, n->st.st_rdev);
  }
  return 0;
}

static int put_entry(struct tar_ctx *t, const struct node *n, const char *path, rl_error_t *err)
{
  struct archive_entry *ae = archive_entry_new();
  archive_entry_set_pathname(ae, path);
  archive_entry_set_mode(ae, n->st.st_mode);
  entry_owner(ae, n);
  for (size_t i = 0; i < n->nx; i++)
    if (rl_layer_xattr_kept(n->x[i].name))
      archive_entry_xattr_add_entry(ae, n->x[i].name, n->x[i].value, n->x[i].len);
  cleanup_close int fd = -1;
  if (entry_body(t, n, ae, &fd, err) < 0) {
    archive_entry_free(ae);
    return -1;
  }
  if (put_header(t, ae, path, err) < 0)
    return -1;
  return fd >= 0 ? put_data(t, fd, n, err) : 0;
}

static int tar_visit(struct walk *w, struct node *n, rl_error_t *err)
{
  struct tar_ctx *t = w->ctx;
  struct rl_tar_out out[2];
  if (n->c.skip_reason)
    rl_warn("left `/%s` out of the layer: %s", n->path, n->c.skip_reason);
  size_t k = rl_upper_tar_entries(&n->e, &n->c, n->opaque, out);
  int r = 0;
  for (size_t i = 0; r == 0 && i < k; i++)
    r = out[i].kind == RL_TAR_ENTRY ? put_entry(t, n, out[i].path, err)
                                    : put_marker(t, n, out[i].path, err);
  rl_tar_outs_free(out, k);
  return r;
}

int rl_commit_tar(int dirfd, bool upper, enum rl_whiteout_format f, int out, rl_error_t *err)
{
  struct tar_ctx t = {.a = archive_write_new(), .buf = rl_xmalloc(BLOCK)};
  struct walk w = {.upper = upper, .f = f, .visit = tar_visit, .ctx = &t};
  int r = 0;
  if (t.a == NULL || archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
      /* docker and containerd (Go's archive/tar) read only SCHILY.xattr. */
      archive_write_set_options(t.a, "pax:xattrheader=SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(t.a, 1) != ARCHIVE_OK ||
      archive_write_open_fd(t.a, out) != ARCHIVE_OK)
    r = rl_make_error(err, t.a ? rl_archive_errno(t.a) : ENOMEM, "set up the tar writer");
  if (r == 0)
    r = walk_root(&w, dirfd, err);
  if (r == 0 && archive_write_close(t.a) != ARCHIVE_OK)
    r = tar_fail(&t, "(the end)", err);
  if (t.a)
    archive_write_free(t.a);
  for (size_t i = 0; i < t.n_links; i++)
    free(t.links[i].path);
  free(t.links);
  free(t.buf);
  return r;
}

/* ---- the image's view of a path, for diff ---- */

struct fdv {
  int *v;
  size_t n;
};

static void fdv_push(struct fdv *d, int fd)
{
  d->v = rl_xrealloc(d->v, (d->n + 1) * sizeof(int));
  d->v[d->n++] = fd;
}

static void fdv_close(struct fdv *d)
{
  for (size_t i = 0; i < d->n; i++)
    close(d->v[i]);
  free(d->v);
  d->v = NULL;
  d->n = 0;
}

enum lstate { L_ABSENT, L_WHITEOUT, L_PRESENT };

/* Layers in either format: 0/0 devices, or `.wh.NAME` files (fuse). */
static enum lstate layer_state(int pfd, const char *name, struct stat *st)
{
  if (fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
    return is_whiteout_dev(st->st_mode, st->st_rdev) ? L_WHITEOUT : L_PRESENT;
  cleanup_free char *wh = rl_xasprintf(WH_PREFIX "%s", name);
  struct stat ws;
  return fstatat(pfd, wh, &ws, AT_SYMLINK_NOFOLLOW) == 0 ? L_WHITEOUT : L_ABSENT;
}

static bool layer_dir_opaque(int fd)
{
  static const char *const names[] = {"user.overlay.opaque", "trusted.overlay.opaque",
                                      "user.fuseoverlayfs.opaque"};
  char v[2];
  struct stat st;
  for (size_t i = 0; i < RL_ARRAY_SIZE(names); i++)
    if (fgetxattr(fd, names[i], v, sizeof(v)) == 1 && v[0] == 'y')
      return true;
  return fstatat(fd, WH_OPAQUE, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* One component, as the overlay resolves it: the topmost entry wins, a
 * whiteout or a non-directory hides everything below, an opaque directory
 * hides the directories below.  *dirs gets the directories that make it up. */
static int lookup_step(const struct fdv *cur, const char *name, bool *found, struct fdv *next,
                       rl_error_t *err)
{
  *found = false;
  for (size_t k = 0; k < cur->n; k++) {
    struct stat st;
    enum lstate s = layer_state(cur->v[k], name, &st);
    if (s == L_ABSENT)
      continue;
    if (s == L_WHITEOUT || !S_ISDIR(st.st_mode)) {
      *found = *found || s == L_PRESENT;
      return 0;
    }
    *found = true;
    int fd = openat(cur->v[k], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return rl_make_error(err, errno, "open `%s` in an image layer", name);
    fdv_push(next, fd);
    if (layer_dir_opaque(fd))
      return 0;
  }
  return 0;
}

static int lower_lookup(const int *layers, size_t n, const char *path, bool *found,
                        struct fdv *dirs, rl_error_t *err)
{
  struct fdv cur = {0};
  for (size_t i = 0; i < n; i++) {
    int fd = fcntl(layers[i], F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
      fdv_close(&cur);
      return rl_make_error(err, errno, "dup an image layer's fd");
    }
    fdv_push(&cur, fd);
  }
  *found = true;
  for (const char *p = path; *p && *found;) {
    size_t len = strcspn(p, "/");
    cleanup_free char *name = rl_xstrndup(p, len);
    p += len + (p[len] == '/');
    struct fdv next = {0};
    int r = lookup_step(&cur, name, found, &next, err);
    fdv_close(&cur);
    cur = next;
    if (r < 0) {
      fdv_close(&cur);
      return -1;
    }
    *found = *found && (*p == '\0' || cur.n > 0); /* a file has nothing below */
  }
  if (dirs && *found)
    *dirs = cur;
  else
    fdv_close(&cur);
  return 0;
}

/* The names the image shows in a directory made of `dirs` (topmost first). */
static int lower_names(const struct fdv *dirs, rl_strv_t *out, rl_error_t *err)
{
  cleanup_strv rl_strv_t seen = {0};
  for (size_t i = 0; i < dirs->n; i++) {
    cleanup_strv rl_strv_t names = {0};
    if (list_dir(dirs->v[i], &names, err) < 0)
      return -1;
    for (size_t k = 0; k < names.n; k++) {
      const char *name = names.v[k];
      struct stat st;
      bool marker = strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) == 0;
      bool hidden = marker || (fstatat(dirs->v[i], name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                               is_whiteout_dev(st.st_mode, st.st_rdev));
      const char *victim = marker ? name + strlen(WH_PREFIX) : name;
      bool known = false;
      for (size_t j = 0; j < seen.n && !known; j++)
        known = strcmp(seen.v[j], victim) == 0;
      if (known || strncmp(name, WH_META, strlen(WH_META)) == 0)
        continue;
      rl_strv_push(&seen, victim);
      if (!hidden)
        rl_strv_push(out, victim);
    }
  }
  return 0;
}

struct diff_ctx {
  const int *layers;
  size_t n;
  struct rl_changes *out;
};

/* An opaque dir hides what the image had in it: each such name is gone. */
static int hidden_deleted(struct diff_ctx *d, const struct node *n, const struct fdv *dirs,
                          rl_error_t *err)
{
  cleanup_strv rl_strv_t names = {0};
  if (lower_names(dirs, &names, err) < 0)
    return -1;
  for (size_t i = 0; i < names.n; i++) {
    if (names_have(&n->children, names.v[i]))
      continue;
    cleanup_free char *path = rl_xasprintf("%s/%s", n->path, names.v[i]);
    rl_changes_add(d->out, 'D', path);
  }
  return 0;
}

/* /etc copied up only to hold the empty mount targets of the container's
 * own hosts, hostname and resolv.conf changed nothing the user made. */
static bool only_runtime_files(const struct node *n)
{
  if (strcmp(n->path, "etc") != 0 || !S_ISDIR(n->st.st_mode) || n->opaque || n->fd < 0)
    return false;
  for (size_t i = 0; i < n->children.n; i++) {
    struct stat st;
    cleanup_free char *path = rl_xasprintf("etc/%s", n->children.v[i]);
    if (fstatat(n->fd, n->children.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
      return false;
    struct rl_upper_entry e = {.path = path, .mode = st.st_mode, .size = st.st_size};
    if (!runtime_file(&e))
      return false;
  }
  return true;
}

static int diff_visit(struct walk *w, struct node *n, rl_error_t *err)
{
  struct diff_ctx *d = w->ctx;
  if (n->c.kind != RL_UPPER_KEEP && n->c.kind != RL_UPPER_WHITEOUT)
    return 0;
  const char *path = n->c.kind == RL_UPPER_WHITEOUT ? n->c.victim : n->path;
  bool found = false;
  struct fdv dirs = {0};
  if (lower_lookup(d->layers, d->n, path, &found, &dirs, err) < 0)
    return -1;
  char kind = rl_diff_kind(&n->c, found);
  if (kind == 'C' && only_runtime_files(n))
    kind = 0;
  if (kind)
    rl_changes_add(d->out, kind, path);
  int r = 0;
  if (kind == 'C' && n->fd >= 0 && n->opaque && dirs.n > 0)
    r = hidden_deleted(d, n, &dirs, err);
  fdv_close(&dirs);
  return r;
}

int rl_commit_diff(int upperfd, const int *layers, size_t n, enum rl_whiteout_format f,
                   struct rl_changes *out, rl_error_t *err)
{
  struct diff_ctx d = {.layers = layers, .n = n, .out = out};
  struct walk w = {.upper = true, .f = f, .visit = diff_visit, .ctx = &d};
  if (walk_root(&w, upperfd, err) < 0)
    return -1;
  rl_changes_sort(out);
  return 0;
}
