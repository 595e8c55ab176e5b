#include "rl_host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

enum probe_stage {
  STAGE_OK,
  STAGE_UNSHARE,
  STAGE_SETGROUPS,
  STAGE_UID_MAP,
  STAGE_GID_MAP,
  STAGE_CHDIR,
  STAGE_MOUNT,
  STAGE_WRITE,
  STAGE_WHITEOUT,
};

static const char *const stage_names[] = {
    [STAGE_OK] = NULL,
    [STAGE_UNSHARE] = "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
    [STAGE_SETGROUPS] = "write /proc/self/setgroups",
    [STAGE_UID_MAP] = "write /proc/self/uid_map",
    [STAGE_GID_MAP] = "write /proc/self/gid_map",
    [STAGE_CHDIR] = "chdir to the trial dir",
    [STAGE_MOUNT] = "mount overlay (userxattr)",
    [STAGE_WRITE] = "create a file in the overlay",
    [STAGE_WHITEOUT] = "remove a lower file (whiteout)",
};

struct probe_result {
  int stage;
  int errnum;
};

/* The forked child: a throwaway user+mount namespace, so nothing it mounts
 * outlives it and the caller's own process is left as it was (unshare of a
 * user namespace cannot be undone).  Only syscalls and static buffers here. */
static enum probe_stage overlay_child(const char *dir, const char *uid_map, const char *gid_map)
{
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
    return STAGE_UNSHARE;
  if (rl_write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
    return STAGE_SETGROUPS;
  if (rl_write_file("/proc/self/uid_map", uid_map) < 0)
    return STAGE_UID_MAP;
  if (rl_write_file("/proc/self/gid_map", gid_map) < 0)
    return STAGE_GID_MAP;
  /* Not needed for safety (a less privileged mount namespace only receives
   * propagation), but makes that independent of the host's setup. */
  (void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  /* Relative paths: no escaping of ',' or ':' in the dir name, no length limit. */
  if (chdir(dir) < 0)
    return STAGE_CHDIR;
  if (mount("overlay", "merged", "overlay", 0,
            "lowerdir=lower,upperdir=upper,workdir=work,userxattr") < 0)
    return STAGE_MOUNT;
  int fd = open("merged/new", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return STAGE_WRITE;
  close(fd);
  if (unlink("merged/old") < 0)
    return STAGE_WHITEOUT;
  return STAGE_OK;
}

static int make_trial_dir(const char *base, char **dir_out, rl_error_t *err)
{
  cleanup_free char *dir = rl_xasprintf("%s/overlay-probe-XXXXXX", base);
  if (mkdtemp(dir) == NULL)
    return rl_make_error(err, errno, "mkdtemp `%s`", dir);
  static const char *const subdirs[] = {"lower", "upper", "work", "merged"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(subdirs); i++) {
    cleanup_free char *sub = rl_xasprintf("%s/%s", dir, subdirs[i]);
    if (mkdir(sub, 0700) < 0) {
      rl_make_error(err, errno, "mkdir `%s`", sub);
      rl_rmtree(dir, NULL);
      return -1;
    }
  }
  cleanup_free char *old = rl_xasprintf("%s/lower/old", dir);
  cleanup_close int fd = open(old, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    rl_make_error(err, errno, "create `%s`", old);
    rl_rmtree(dir, NULL);
    return -1;
  }
  *dir_out = rl_steal_ptr(&dir);
  return 0;
}

static int run_trial(const char *dir, struct probe_result *res, rl_error_t *err)
{
  char uid_map[64], gid_map[64];
  snprintf(uid_map, sizeof(uid_map), "0 %u 1\n", (unsigned)geteuid());
  snprintf(gid_map, sizeof(gid_map), "0 %u 1\n", (unsigned)getegid());
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe");
  pid_t pid = fork();
  if (pid == 0) {
    close(pfd[0]);
    struct probe_result r = {.stage = overlay_child(dir, uid_map, gid_map)};
    r.errnum = r.stage == STAGE_OK ? 0 : errno;
    (void)rl_write_all(pfd[1], &r, sizeof(r));
    _exit(0);
  }
  int saved = errno;
  close(pfd[1]);
  cleanup_close int rfd = pfd[0];
  if (pid < 0)
    return rl_make_error(err, saved, "fork for the overlay trial");
  ssize_t n;
  while ((n = read(rfd, res, sizeof(*res))) < 0 && errno == EINTR)
    ;
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (n != (ssize_t)sizeof(*res))
    return rl_make_error(err, 0, "the overlay trial process died without reporting");
  return 0;
}

static char *overlay_hint(enum probe_stage stage, int errnum)
{
  const char *fallback = "rless mounts images with fuse-overlayfs instead (see fuse-overlayfs)";
  switch (stage) {
  case STAGE_UNSHARE:
    return rl_xasprintf("user namespaces are not available to you, and rless cannot work without "
                        "them: see the user namespace sysctls above%s",
                        errnum == EPERM ? " (inside a container, its seccomp profile may block "
                                          "unshare: run it with --security-opt seccomp=unconfined)"
                                        : "");
  case STAGE_SETGROUPS:
  case STAGE_UID_MAP:
  case STAGE_GID_MAP:
    return rl_xstrdup("the new user namespace has no capabilities (AppArmor or an LSM restricts "
                      "unprivileged user namespaces): see the user namespace sysctls above");
  case STAGE_MOUNT:
    if (errnum == EINVAL || errnum == EPERM)
      return rl_xasprintf("this kernel does not mount overlayfs with userxattr in a user "
                          "namespace (that needs Linux 5.11 or later): %s",
                          fallback);
    return rl_xstrdup(fallback);
  case STAGE_OK:
    return NULL;
  default:
    return rl_xstrdup(fallback);
  }
}

int rl_host_overlay_probe(const char *base, struct rl_host_overlay *o, rl_error_t *err)
{
  memset(o, 0, sizeof(*o));
  o->dir = rl_xstrdup(base);
  cleanup_free char *trial = NULL;
  if (make_trial_dir(base, &trial, err) < 0)
    return -1;
  struct probe_result res = {0};
  int r = run_trial(trial, &res, err);
  rl_error_t rm_err = NULL;
  if (rl_rmtree(trial, &rm_err) < 0) {
    cleanup_free char *text = rl_error_format(rm_err);
    rl_warn("cleaning up after the overlay trial: %s", text);
    rl_error_free(&rm_err);
  }
  if (r < 0)
    return r;
  if (res.stage < STAGE_OK || res.stage > STAGE_WHITEOUT)
    return rl_make_error(err, 0, "the overlay trial reported nonsense (stage %d)", res.stage);
  o->works = res.stage == STAGE_OK;
  o->stage = stage_names[res.stage];
  o->errnum = res.errnum;
  o->hint = overlay_hint(res.stage, res.errnum);
  return 0;
}

void rl_host_overlay_free(struct rl_host_overlay *o)
{
  free(o->dir);
  free(o->hint);
  memset(o, 0, sizeof(*o));
}
