/* Executing a mount plan with the fd-based mount API (fsopen/fsmount,
 * open_tree, move_mount, mount_setattr): targets are fds resolved inside the
 * rootfs, never host path strings. */
#include "rl_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* `plain`: no symlink at all on the way (ELOOP at the first one). */
static int openat2_in_root(int rootfd, const char *path, int flags, bool plain)
{
  struct open_how how = {
      .flags = (unsigned long long)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (plain ? RESOLVE_NO_SYMLINKS : 0),
  };
  /* EAGAIN: a rename or mount anywhere raced a `..` of a scoped lookup (and
   * fuse-overlayfs is slow enough to lose that race often); the kernel asks
   * for a retry. */
  int fd, tries = 0;
  do
    fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
  while (fd < 0 && errno == EAGAIN && ++tries < 1000);
  return fd;
}

/* Create `name` (the last component of `rel`) in the directory pfd. */
static int create_component(int pfd, const char *rel, const char *name, bool dir, rl_error_t *err)
{
  if (dir) {
    if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
      return rl_make_error(err, errno, "mkdir `/%s` in the container", rel);
    return 0;
  }
  /* O_NOFOLLOW|O_EXCL: a dangling symlink here must not create a file elsewhere. */
  int fd = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EEXIST)
    return rl_make_error(err, errno, "create `/%s` in the container", rel);
  if (fd >= 0)
    close(fd);
  return 0;
}

/* The directory `rel` is in, resolved inside the root. */
static int open_parent(int rootfd, const char *rel, bool plain, rl_error_t *err)
{
  const char *slash = strrchr(rel, '/');
  cleanup_free char *parent = slash ? rl_xstrndup(rel, (size_t)(slash - rel)) : rl_xstrdup(".");
  int pfd = openat2_in_root(rootfd, parent, O_PATH | O_DIRECTORY, plain);
  if (pfd < 0)
    rl_make_error(err, errno, "open `/%s` in the container", parent);
  return pfd;
}

/* The usual missing target: its parent is there and it is simply absent
 * (not a dangling link): made and opened below the parent's fd, with two
 * scoped lookups instead of one per component.  -2: not that case. */
static int create_last(int rootfd, const char *rel, bool dir, bool plain, rl_error_t *err)
{
  const char *slash = strrchr(rel, '/');
  const char *name = slash ? slash + 1 : rel;
  if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return -2;
  cleanup_error rl_error_t ignored = NULL; /* the walk names what failed */
  cleanup_close int pfd = open_parent(rootfd, rel, plain, &ignored);
  struct stat st;
  if (pfd < 0 || fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
    return -2;
  if (create_component(pfd, rel, name, dir, err) < 0)
    return -1;
  int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(err, errno, "open `/%s` in the container", rel);
  return fd;
}

/* A dangling symlink on the way: where it points, as a path inside the root
 * (absolute targets are relative to the rootfs, relative ones to the link's
 * dir), with the rest of the walk appended.  NULL when `rel` is no symlink. */
static char *follow_dangling(int rootfd, const char *rel, const char *rest)
{
  cleanup_close int fd = openat2_in_root(rootfd, rel, O_PATH | O_NOFOLLOW, false);
  char target[4096];
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode))
    return NULL;
  ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
  if (n <= 0)
    return NULL;
  target[n] = '\0';
  const char *slash = strrchr(rel, '/');
  cleanup_free char *dir = slash ? rl_xstrndup(rel, (size_t)(slash - rel)) : rl_xstrdup("");
  return rl_xasprintf("%s%s%s%s%s", target[0] == '/' ? "" : dir, target[0] == '/' ? "" : "/",
                      target, *rest ? "/" : "", rest);
}

/* Walking one component at a time, the first that fails is the one named. */
static int resolve_error(const char *rel, bool plain, rl_error_t *err)
{
  int e = errno;
  if (e == ELOOP && plain) {
    rl_make_error(err, 0,
                  "`/%s` in the container is a symlink: /proc, /sys and /dev are mounted "
                  "only on real directories",
                  rel);
    return rl_error_hint(err, "the image or --rootfs tree must have a directory there, or nothing");
  }
  rl_make_error(err, e, "resolve `/%s` in the container", rel);
  if (e == ELOOP)
    return rl_error_hint(err, "a symlink there loops or leads through /proc (/proc/self/root, "
                              "/proc/PID/fd/N): mount targets are resolved inside the root "
                              "filesystem only");
  return -1;
}

static int open_in_root(int rootfd, const char *path, bool create, bool dir, bool plain, int depth,
                        rl_error_t *err)
{
  cleanup_free char *rel = rl_xstrdup(path + strspn(path, "/"));
  if (*rel == '\0')
    return openat2_in_root(rootfd, ".", O_PATH | O_DIRECTORY, plain);
  /* The whole path at once first (one lookup instead of one per
   * component); only a failure walks it component by component, to create
   * what is missing, follow dangling links and name the one that failed. */
  int whole = openat2_in_root(rootfd, rel, O_PATH, plain);
  if (whole >= 0)
    return whole;
  if (errno == ENOENT && !create)
    return resolve_error(rel, plain, err);
  if (errno == ENOENT && depth == 0) {
    int fd = create_last(rootfd, rel, dir, plain, err);
    if (fd != -2)
      return fd;
  }
  size_t len = strlen(rel);
  for (size_t i = 0; i <= len; i++) {
    if (rel[i] != '/' && rel[i] != '\0')
      continue;
    char saved = rel[i];
    rel[i] = '\0';
    const char *rest = saved ? rel + i + 1 + strspn(rel + i + 1, "/") : "";
    bool last = *rest == '\0';
    int fd = openat2_in_root(rootfd, rel, O_PATH, plain);
    if (fd < 0 && errno == ENOENT && create) {
      cleanup_free char *via = plain ? NULL : follow_dangling(rootfd, rel, rest);
      if (via && depth < 40)
        return open_in_root(rootfd, via, create, dir, plain, depth + 1, err);
      const char *slash = strrchr(rel, '/');
      cleanup_close int pfd = open_parent(rootfd, rel, plain, err);
      if (pfd < 0 || create_component(pfd, rel, slash ? slash + 1 : rel, dir || !last, err) < 0)
        return -1;
      fd = openat2_in_root(rootfd, rel, O_PATH, plain);
    }
    if (fd < 0)
      return resolve_error(rel, plain, err);
    if (last)
      return fd;
    close(fd);
    rel[i] = saved;
  }
  return rl_make_error(err, EINVAL, "resolve `%s` in the container", path);
}

int rl_open_in_root(int rootfd, const char *path, bool create, bool dir, rl_error_t *err)
{
  return open_in_root(rootfd, path, create, dir, false, 0, err);
}

/* The root the plan is executed in, and what it is (stat once per plan). */
struct root {
  int fd;
  struct stat st;
  int empty_dir; /* the first masked directory's empty tmpfs: the others get a bind of it */
};

static void root_release(struct root *r)
{
  if (r->empty_dir >= 0)
    close(r->empty_dir);
}

/* The target of m resolved inside the root: an O_PATH fd, never the root
 * (stacked on the root, a mount would be hidden from the container but for
 * `/..`, and paths meant to lead into it, the masks, would resolve below
 * it), with what it is in *st. */
static int open_target(const struct root *root, const struct rl_mnt *m, bool create, bool dir,
                       struct stat *st, rl_error_t *err)
{
  int fd = open_in_root(root->fd, m->target, create, dir, m->plain, 0, err);
  if (fd < 0)
    return -1;
  if (fstat(fd, st) < 0) {
    rl_make_error(err, errno, "stat the mount target `%s`", m->target);
  } else if (st->st_dev == root->st.st_dev && st->st_ino == root->st.st_ino) {
    rl_make_error(err, 0,
                  "mount target `%s` leads to the root directory of the container: "
                  "nothing is mounted over `/`",
                  m->target);
  } else {
    return fd;
  }
  close(fd);
  return -1;
}

/* A file bound over a directory (or the reverse) fails with a bare EINVAL. */
static int check_type(const struct stat *st, bool want_dir, const char *what, const char *target,
                      rl_error_t *err)
{
  if (S_ISDIR(st->st_mode) == want_dir)
    return 0;
  rl_make_error(err, want_dir ? ENOTDIR : EISDIR, "mount %s on `%s` in the container", what,
                target);
  return rl_error_hint(err, "`%s` leads (through symlinks inside the container) to %s", target,
                       want_dir ? "something that is not a directory" : "a directory");
}

/* Absent is nothing to hide; any other failure must not leave it visible. */
static bool absent(const rl_error_t e)
{
  return e && (e->errnum == ENOENT || e->errnum == ENOTDIR);
}

static int attach(int mfd, int targetfd, const char *what, const char *target, rl_error_t *err)
{
  if (move_mount(mfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return rl_make_error(err, errno, "mount %s on `%s`", what, target);
  return 0;
}

static int fs_config_options(int fsfd, const char *options, const char *target, rl_error_t *err)
{
  if (options == NULL)
    return 0;
  cleanup_free char *copy = rl_xstrdup(options);
  char *save = NULL;
  for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(o, '=');
    int r;
    if (eq) {
      *eq = '\0';
      r = fsconfig(fsfd, FSCONFIG_SET_STRING, o, eq + 1, 0);
    } else {
      r = fsconfig(fsfd, FSCONFIG_SET_FLAG, o, NULL, 0);
    }
    if (r < 0)
      return rl_make_error(err, errno, "set option `%s` for the mount on `%s`", o, target);
  }
  return 0;
}

/* `keep`: where to keep an fd of the attached mount (NULL: none). */
static int mount_fs_keep(int targetfd, const struct rl_mnt *m, int *keep, rl_error_t *err)
{
  cleanup_close int fsfd = fsopen(m->fstype, FSOPEN_CLOEXEC);
  if (fsfd < 0)
    return rl_make_error(err, errno, "open a new %s filesystem for `%s`", m->fstype, m->target);
  if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", m->source, 0) < 0)
    return rl_make_error(err, errno, "set the source of the %s mount on `%s`", m->fstype,
                         m->target);
  if (fs_config_options(fsfd, m->options, m->target, err) < 0)
    return -1;
  if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return rl_make_error(err, errno, "create the %s filesystem for `%s`", m->fstype, m->target);
  cleanup_close int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, m->attrs);
  if (mfd < 0)
    return rl_make_error(err, errno, "mount %s for `%s`", m->fstype, m->target);
  if (attach(mfd, targetfd, m->fstype, m->target, err) < 0)
    return -1;
  if (keep)
    *keep = rl_steal_fd(&mfd);
  return 0;
}

static int mount_fs(int targetfd, const struct rl_mnt *m, rl_error_t *err)
{
  return mount_fs_keep(targetfd, m, NULL, err);
}

static int set_attrs(int mfd, unsigned attrs, bool recursive, const char *target, rl_error_t *err)
{
  struct mount_attr a = {.attr_set = attrs};
  if (attrs == 0)
    return 0;
  if (mount_setattr(mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0)
    return rl_make_error(err, errno, "set the flags of the mount on `%s`", target);
  return 0;
}

static int bind_tree(int srcdirfd, const char *src, int targetfd, unsigned attrs, bool recursive,
                     const char *target, rl_error_t *err)
{
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (*src == '\0')
    flags |= AT_EMPTY_PATH;
  cleanup_close int mfd = open_tree(srcdirfd, src, flags);
  if (mfd < 0)
    return rl_make_error(err, errno, "bind `%s` at `%s`", *src ? src : target, target);
  if (set_attrs(mfd, attrs, recursive, target, err) < 0)
    return -1;
  return attach(mfd, targetfd, "a bind mount", target, err);
}

static int do_bind(const struct root *root, const struct rl_mnt *m, rl_error_t *err)
{
  struct stat st, tst;
  if (stat(m->source, &st) < 0) {
    rl_make_error(err, errno, "bind mount source `%s` for `%s`", m->source, m->target);
    return errno == ENOENT ? rl_error_hint(err, "create it first; rless does not create host paths")
                           : -1;
  }
  rl_error_t missing = NULL;
  cleanup_close int tfd =
      open_target(root, m, !m->if_exists, S_ISDIR(st.st_mode), &tst, m->if_exists ? &missing : err);
  if (tfd < 0 && m->if_exists && missing && missing->errnum == ENOENT) {
    rl_error_free(&missing);
    return 0;
  }
  if (tfd < 0) {
    if (missing)
      *err = rl_steal_ptr(&missing);
    return -1;
  }
  cleanup_free char *what = rl_xasprintf("`%s`", m->source);
  if (check_type(&tst, S_ISDIR(st.st_mode), what, m->target, err) < 0)
    return -1;
  return bind_tree(AT_FDCWD, m->source, tfd, m->attrs, m->recursive, m->target, err);
}

static int do_mask(struct root *root, const struct rl_mnt *m, rl_error_t *err)
{
  struct stat st;
  cleanup_close int tfd = open_target(root, m, false, false, &st, err);
  if (tfd < 0 && absent(*err)) {
    rl_error_free(err); /* nothing there, nothing to hide */
    return 0;
  }
  if (tfd < 0)
    return -1;
  if (!S_ISDIR(st.st_mode))
    return bind_tree(AT_FDCWD, "/dev/null", tfd, MOUNT_ATTR_RDONLY, false, m->target, err);
  if (root->empty_dir >= 0)
    return bind_tree(root->empty_dir, "", tfd, MOUNT_ATTR_RDONLY, false, m->target, err);
  struct rl_mnt empty = {.fstype = "tmpfs",
                         .source = "tmpfs",
                         .options = "mode=0555",
                         .target = m->target,
                         .attrs = MOUNT_ATTR_RDONLY};
  return mount_fs_keep(tfd, &empty, &root->empty_dir, err);
}

static int do_readonly(const struct root *root, const struct rl_mnt *m, rl_error_t *err)
{
  struct stat st;
  cleanup_close int tfd = open_target(root, m, false, false, &st, err);
  if (tfd < 0 && absent(*err)) {
    rl_error_free(err);
    return 0;
  }
  if (tfd < 0)
    return -1;
  return bind_tree(tfd, "", tfd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true,
                   m->target, err);
}

static int do_symlink(int rootfd, const struct rl_mnt *m, rl_error_t *err)
{
  const char *slash = strrchr(m->target, '/');
  cleanup_free char *parent = rl_xstrndup(m->target, (size_t)(slash - m->target));
  cleanup_close int pfd =
      open_in_root(rootfd, *parent ? parent : "/", true, true, m->plain, 0, err);
  if (pfd < 0)
    return -1;
  if (symlinkat(m->source, pfd, slash + 1) < 0 && errno != EEXIST)
    return rl_make_error(err, errno, "symlink `%s` -> `%s`", m->target, m->source);
  return 0;
}

int rl_mount_plan_execute(int rootfd, const struct rl_mount_plan *p, rl_error_t *err)
{
  __attribute__((cleanup(root_release))) struct root root = {.fd = rootfd, .empty_dir = -1};
  if (fstat(rootfd, &root.st) < 0)
    return rl_make_error(err, errno, "stat the root filesystem");
  for (size_t i = 0; i < p->n; i++) {
    const struct rl_mnt *m = &p->m[i];
    struct stat st;
    int r = 0;
    switch (m->kind) {
    case RL_MNT_FS: {
      cleanup_close int tfd = open_target(&root, m, true, true, &st, err);
      r = tfd < 0 || check_type(&st, true, m->fstype, m->target, err) < 0 ? -1
                                                                          : mount_fs(tfd, m, err);
      break;
    }
    case RL_MNT_BIND:
      r = do_bind(&root, m, err);
      break;
    case RL_MNT_MASK:
      r = do_mask(&root, m, err);
      break;
    case RL_MNT_RO:
      r = do_readonly(&root, m, err);
      break;
    case RL_MNT_SYMLINK:
      r = do_symlink(rootfd, m, err);
      break;
    }
    if (r < 0)
      return -1;
  }
  return 0;
}

int rl_rootfs_make_readonly(int rootfd, rl_error_t *err)
{
  struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
    return rl_make_error(err, errno, "make the root filesystem read-only");
  return 0;
}

int rl_pivot_root(int rootfd, rl_error_t *err)
{
  if (fchdir(rootfd) < 0)
    return rl_make_error(err, errno, "chdir to the root filesystem");
  /* pivot_root(".", ".") stacks the old root on top of the new one; detaching
   * "." then removes it without needing a directory for it in the rootfs. */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return rl_make_error(err, errno, "pivot_root into the root filesystem");
  if (umount2(".", MNT_DETACH) < 0)
    return rl_make_error(err, errno, "detach the old root");
  if (chdir("/") < 0)
    return rl_make_error(err, errno, "chdir `/`");
  return 0;
}
