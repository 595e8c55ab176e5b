/* Root filesystem sources: a directory, kernel overlayfs, fuse-overlayfs. */
#include "rl_idmap.h"
#include "rl_rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

void rl_rootfs_source_free(struct rl_rootfs_source *s)
{
  free(s->dir);
  rl_strv_free(&s->lowers);
  free(s->upper);
  free(s->work);
  free(s->merged);
  memset(s, 0, sizeof(*s));
}

static int open_root(const char *dir, rl_error_t *err)
{
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(err, errno, "open the root filesystem `%s`", dir);
  return fd;
}

static int bind_dir(const char *dir, rl_error_t *err)
{
  cleanup_close int mfd =
      open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (mfd < 0)
    return rl_make_error(err, errno, "bind the root filesystem `%s`", dir);
  if (move_mount(mfd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return rl_make_error(err, errno, "mount the root filesystem on `%s`", dir);
  return open_root(dir, err);
}

static char *join_lowers(const rl_strv_t *lowers)
{
  size_t len = 1, off = 0;
  for (size_t k = 0; k < lowers->n; k++)
    len += strlen(lowers->v[k]) + 1;
  char *all = rl_xcalloc(1, len);
  for (size_t k = 0; k < lowers->n; k++) {
    size_t n = strlen(lowers->v[k]);
    if (k)
      all[off++] = ':';
    memcpy(all + off, lowers->v[k], n);
    off += n;
  }
  return all;
}

/* One lowerdir+ per layer (Linux 6.8+) sidesteps the one-page limit on
 * mount options that many-layer images hit with a single lowerdir=. */
static int overlay_lowers(int fsfd, const rl_strv_t *lowers, bool legacy, rl_error_t *err)
{
  for (size_t i = 0; !legacy && i < lowers->n; i++)
    if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers->v[i], 0) < 0)
      return rl_make_error(err, errno, "add image layer `%s` to the overlay", lowers->v[i]);
  if (!legacy)
    return 0;
  cleanup_free char *all = join_lowers(lowers);
  size_t len = strlen(all);
  if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", all, 0) < 0)
    return rl_make_error(err, errno, "set the overlay's lowerdir (%zu layers, %zu bytes)",
                         lowers->n, len);
  return 0;
}

/* A configured, created overlay context; -1 with errno of the failed step
 * in *create_errno when it was FSCONFIG_CMD_CREATE. */
static int create_overlay(const struct rl_rootfs_source *s, bool legacy, int *create_errno,
                          rl_error_t *err)
{
  cleanup_close int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    rl_make_error(err, errno, "open a new overlay filesystem");
    return rl_error_hint(err, "use --storage-driver fuse-overlayfs, see `rless info`");
  }
  if (overlay_lowers(fsfd, &s->lowers, legacy, err) < 0)
    return -1;
  /* The source /proc/mounts shows: "overlay", as every runtime names it. */
  if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", s->upper, 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", s->work, 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
    return rl_make_error(err, errno, "configure the overlay (upper `%s`)", s->upper);
  if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    *create_errno = errno;
    rl_make_error(err, errno, "create the overlay root filesystem (upper `%s`)", s->upper);
    return rl_error_hint(err, "the kernel refused overlayfs in a user namespace; try "
                              "--storage-driver fuse-overlayfs (`rless info` tells why)");
  }
  return rl_steal_fd(&fsfd);
}

static int mount_overlay(const struct rl_rootfs_source *s, rl_error_t *err)
{
  /* Kernels before 6.8 reject lowerdir+: at fsconfig (EINVAL) or, where
   * overlay still parses options the legacy way (6.1), only at create. */
  int create_errno = 0;
  cleanup_close int fsfd = create_overlay(s, false, &create_errno, err);
  if (fsfd < 0 && (create_errno == EINVAL || (*err && (*err)->errnum == EINVAL))) {
    rl_error_free(err);
    fsfd = create_overlay(s, true, &create_errno, err);
  }
  if (fsfd < 0)
    return -1;
  cleanup_close int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0)
    return rl_make_error(err, errno, "mount the overlay root filesystem");
  if (move_mount(mfd, "", AT_FDCWD, s->merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return rl_make_error(err, errno, "attach the overlay at `%s`", s->merged);
  return open_root(s->merged, err);
}

static bool is_mounted(const char *path, dev_t parent_dev)
{
  struct stat st;
  return stat(path, &st) == 0 && st.st_dev != parent_dev;
}

/* fuse-overlayfs in the foreground, so rless knows its pid and can stop it:
 * it lives in the container's mount namespace but outside its pid
 * namespace, and nothing else would end it. */
static int mount_fuse_overlay(const struct rl_rootfs_source *s, pid_t *helper, rl_error_t *err)
{
  cleanup_free char *prog = rl_find_program("fuse-overlayfs");
  if (prog == NULL) {
    rl_make_error(err, 0, "fuse-overlayfs not found on PATH");
    return rl_error_hint(err, "install it (sudo apt-get install fuse-overlayfs) or use "
                              "--storage-driver overlay");
  }
  struct stat parent;
  if (stat(s->merged, &parent) < 0)
    return rl_make_error(err, errno, "stat `%s`", s->merged);
  cleanup_free char *lowers = join_lowers(&s->lowers);
  cleanup_free char *opts =
      rl_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lowers, s->upper, s->work);
  char *argv[] = {"fuse-overlayfs", "-f", "-o", opts, s->merged, NULL};
  /* Its chatter ("unknown argument ignored: lazytime") goes to a log next
   * to the upper dir, and into the error when the mount fails. */
  cleanup_free char *log = rl_xasprintf("%s.fuse-overlayfs.log", s->upper);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_t pid;
  int r = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0)
    return rl_make_error(err, r, "run `%s`", prog);
  for (int i = 0; i < 1000 && !is_mounted(s->merged, parent.st_dev); i++) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      cleanup_free char *said = rl_read_file_at(AT_FDCWD, log, 4096, NULL);
      for (size_t n = said ? strlen(said) : 0; n > 0 && said[n - 1] == '\n'; n--)
        said[n - 1] = '\0';
      rl_make_error(err, 0, "fuse-overlayfs failed to mount `%s` (exit status %d): %s", s->merged,
                    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                    said && *said ? said : "it said nothing");
      return rl_error_hint(err, "is /dev/fuse usable by you? `rless info` checks it");
    }
    nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
  }
  *helper = pid;
  if (!is_mounted(s->merged, parent.st_dev))
    return rl_make_error(err, ETIMEDOUT, "wait for fuse-overlayfs to mount `%s`", s->merged);
  return open_root(s->merged, err);
}

int rl_rootfs_open(const struct rl_rootfs_source *s, pid_t *helper_pid, rl_error_t *err)
{
  *helper_pid = -1;
  switch (s->kind) {
  case RL_ROOTFS_DIR:
    return bind_dir(s->dir, err);
  case RL_ROOTFS_OVERLAY:
    return mount_overlay(s, err);
  case RL_ROOTFS_FUSE_OVERLAY:
    return mount_fuse_overlay(s, helper_pid, err);
  }
  return rl_make_error(err, EINVAL, "unknown root filesystem source %d", (int)s->kind);
}
