/* The container's side of the run path: join the remaining namespaces, fork
 * pid 1, set up the root filesystem, drop privileges and exec. */
#include "rl_caps.h"
#include "rl_console.h"
#include "rl_container.h"
#include "rl_passwd.h"
#include "rl_proc.h"
#include "rl_paths.h"
#include "rl_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

extern char **environ;

__attribute__((noreturn)) static void fail(int sock, rl_error_t *err)
{
  int code = (*err)->exit_code;
  rl_sync_send_error(sock, *err);
  rl_error_free(err);
  _exit(code);
}

static int loopback_up(rl_error_t *err)
{
  cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = {0};
  if (s < 0)
    return rl_make_error(err, errno, "socket to configure the loopback interface");
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    return rl_make_error(err, errno, "read the flags of interface `lo`");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
    return rl_make_error(err, errno, "bring up interface `lo`");
  return 0;
}

static int setup_rootfs(const struct rl_container *c, int rootfd, rl_error_t *err)
{
  struct rl_mount_plan plan;
  rl_mount_plan_build(&c->mounts, &plan);
  int r = rl_mount_plan_execute(rootfd, &plan, err);
  rl_mount_plan_free(&plan);
  if (r < 0)
    return -1;
  if (c->opts->read_only && rl_rootfs_make_readonly(rootfd, err) < 0)
    return -1;
  return rl_pivot_root(rootfd, err);
}

static int resolve_user(const struct rl_container *c, struct rl_user *u, rl_error_t *err)
{
  cleanup_free char *passwd = rl_read_file_at(AT_FDCWD, "/etc/passwd", 4 << 20, NULL);
  cleanup_free char *group = rl_read_file_at(AT_FDCWD, "/etc/group", 4 << 20, NULL);
  cleanup_free char *keep = NULL;
  const char *spec = c->user;
  if (spec == NULL && c->ns.mode == RL_USERNS_KEEP_ID)
    spec = keep = rl_xasprintf("%u:%u", (unsigned)c->ns.host_uid, (unsigned)c->ns.host_gid);
  return rl_user_resolve(spec, passwd, group, u, err);
}

static int setup_stdio(const struct rl_container *c, int sock, rl_error_t *err)
{
  for (int i = 0; i <= 2; i++)
    if (c->stdio[i] >= 0 && dup2(c->stdio[i], i) < 0)
      return rl_make_error(err, errno, "set up fd %d of the container", i);
  if (c->opts->tty) {
    if (rl_sync_send(sock, RL_SYNC_TTY, 0, err) < 0)
      return -1;
    return rl_console_setup_child(sock, c->has_winsize ? &c->winsize : NULL, err);
  }
  /* A session of its own: without a controlling terminal the container
   * cannot TIOCSTI keystrokes into the user's shell. */
  if (setsid() < 0)
    return rl_make_error(err, errno, "setsid in the container");
  if (c->opts->interactive || c->stdio[0] >= 0)
    return 0;
  cleanup_close int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) < 0)
    return rl_make_error(err, errno, "open `/dev/null` as the container's stdin");
  return 0;
}

static int prepare_process(const struct rl_container *c, int sock, int rootfd, rl_strv_t *env,
                           rl_error_t *err)
{
  struct rl_user u;
  if (setup_rootfs(c, rootfd, err) < 0)
    return -1;
  if (sethostname(c->hostname, strlen(c->hostname)) < 0)
    return rl_make_error(err, errno, "set the host name `%s`", c->hostname);
  if (resolve_user(c, &u, err) < 0)
    return -1;
  rl_proc_env(c->hostname, c->opts->tty, u.home, &c->image_env, &c->opts->env, env);
  const char *wd = c->workdir ? c->workdir : "/";
  if (c->workdir && rl_mkdir_p(wd, 0755, err) < 0)
    goto out;
  if (setup_stdio(c, sock, err) < 0 || rl_caps_drop_bounding(c->caps, err) < 0 ||
      rl_proc_switch_user(&u, !c->ns.deny_setgroups, c->ns.mode == RL_USERNS_SINGLE, c->caps, err) <
          0)
    goto out;
  if (chdir(wd) < 0)
    rl_make_error(err, errno, "chdir to the working directory `%s`", wd);
out:
  rl_user_free(&u);
  return *err ? -1 : 0;
}

static int exec_command(const struct rl_container *c, rl_strv_t *env, rl_error_t *err)
{
  return rl_proc_exec(c->argv.v, env, &c->seccomp, &c->seccomp_prog, c->caps, c->init_fd,
                      c->opts->init, err);
}

/* pivot_root moves the root of every process of the mount namespace that
 * sits on the old one: fuse-overlayfs would find itself inside the
 * container, serving its own mount through the container's /proc.  So the
 * container gets a mount namespace of its own, nested in the daemon's, and
 * reopens the root there (an fd names a mount of the namespace it came from). */
static int own_mount_ns(const struct rl_container *c, int *rootfd, rl_error_t *err)
{
  if (c->rootfs.kind != RL_ROOTFS_FUSE_OVERLAY)
    return 0;
  if (unshare(CLONE_NEWNS) < 0)
    return rl_make_error(err, errno, "create the container's own mount namespace");
  close(*rootfd);
  *rootfd = open(c->rootfs.merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*rootfd < 0)
    return rl_make_error(err, errno, "open the root filesystem `%s`", c->rootfs.merged);
  return 0;
}

__attribute__((noreturn)) static void container_init(const struct rl_container *c, int sock,
                                                     int rootfd)
{
  rl_error_t err = NULL;
  cleanup_strv rl_strv_t env = {0};
  /* The network helper starts while pid 1 sets itself up: it waits for
   * the helper only now, just before exec. */
  if (own_mount_ns(c, &rootfd, &err) < 0 || prepare_process(c, sock, rootfd, &env, &err) < 0 ||
      rl_net_wait_ready(&c->net, sock, &err) < 0 || exec_command(c, &env, &err) < 0)
    fail(sock, &err);
  _exit(RL_EXIT_FAILURE);
}

struct pid1_arg {
  const struct rl_container *c; /* in rless' frames, which this process leaves alone */
  int sock, rootfd;
};

__attribute__((noreturn)) static void pid1_main(void *arg)
{
  const struct pid1_arg *a = arg;
  container_init(a->c, a->sock, a->rootfd);
}

/* A --rootfs container's etc files, on a tmpfs over <runtime dir>/etc that
 * only this mount namespace sees (container.c, etc_files). */
static int private_etc(const struct rl_container *c, rl_error_t *err)
{
  cleanup_free char *dir = rl_xstrndup(c->etc_prefix, strlen(c->etc_prefix) - 1);
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return rl_make_error(err, errno, "create `%s`", dir);
  if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            "mode=0700,size=256k,nr_inodes=16") < 0)
    return rl_make_error(err, errno, "mount a tmpfs on `%s` for the container's /etc files", dir);
  return rl_container_write_etc(c, err);
}

/* The mount namespace comes first and the root filesystem is mounted before
 * the pid namespace exists, so a fuse-overlayfs daemon started here stays
 * outside the container's pid namespace (pid 1 is the workload). */
static int open_rootfs(const struct rl_container *c, int sock, rl_error_t *err)
{
  if (unshare(CLONE_NEWNS) < 0) {
    rl_make_error(err, errno, "create the container's mount namespace");
    rl_userns_hint(err);
    return -1;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return rl_make_error(err, errno, "make `/` private in the container's mount namespace");
  if (c->etc_private && private_etc(c, err) < 0)
    return -1;
  pid_t helper = -1;
  int fd = rl_rootfs_open(&c->rootfs, &helper, err);
  if (helper > 0 && rl_sync_send(sock, RL_SYNC_HELPER, helper, err) < 0)
    return -1;
  return fd;
}

__attribute__((noreturn)) void rl_child_main(const struct rl_container *c, int sock)
{
  rl_error_t err = c->early_err; /* this process exits with it: no double free */
  if (err)
    fail(sock, &err);
  int rootfd = open_rootfs(c, sock, &err);
  if (rootfd < 0)
    fail(sock, &err);
  int flags =
      rl_net_unshare_flags(&c->net, CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP);
  if (unshare(flags) < 0) {
    rl_make_error(&err, errno, "create the container's namespaces (pid, uts, ipc%s, cgroup)",
                  flags & CLONE_NEWNET ? ", net" : "");
    rl_userns_hint(&err);
    fail(sock, &err);
  }
  if ((flags & CLONE_NEWNET) &&
      (loopback_up(&err) < 0 || rl_net_child_netns(&c->net, sock, &err) < 0))
    fail(sock, &err);
  struct pid1_arg a = {.c = c, .sock = sock, .rootfd = rootfd};
  if (rl_sync_handoff(sock, "start the container's pid 1", pid1_main, &a, sizeof(a), &err) < 0)
    fail(sock, &err);
  _exit(0);
}
