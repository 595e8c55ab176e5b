/* The user namespace: plan, clone, maps.  See docs/architecture.md for why
 * the user namespace is created alone and first. */
#include "rl_cgroup.h"
#include "rl_sync.h"
#include "rl_userns.h"
#include "rl_util.h"

#include <errno.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char single_notice[] =
    "rless: notice: user %s has no subordinate ids in /etc/subuid and /etc/subgid: using a "
    "single-id map, so only root exists in the container (chown to other ids, su, and package "
    "managers that drop privileges will fail); to fix, ask root to add ranges: usermod "
    "--add-subuids 100000-165535 --add-subgids 100000-165535 %s\n";

int rl_userns_plan(enum rl_userns_mode requested, bool quiet, struct rl_userns *u, rl_error_t *err)
{
  memset(u, 0, sizeof(*u));
  u->mode = requested;
  u->host_uid = getuid();
  u->host_gid = getgid();
  __attribute__((cleanup(rl_subids_free))) struct rl_subids ids = {0};
  if (u->mode != RL_USERNS_SINGLE && rl_subids_lookup(u->host_uid, &ids, err) < 0)
    return -1;
  bool have = ids.nuid > 0 && ids.ngid > 0;
  if (u->mode == RL_USERNS_AUTO) {
    u->mode = have ? RL_USERNS_SUBIDS : RL_USERNS_SINGLE;
    rl_debug("--userns=auto: %s", have ? "subordinate ids found, mapping them after root"
                                       : "no subordinate ids, single-id map");
    if (!have && !quiet && rl_log_level >= RL_LOG_WARN) {
      struct passwd *pw = getpwuid(u->host_uid);
      const char *name = pw ? pw->pw_name : NULL;
      fprintf(stderr, single_notice, name ? name : "(unknown)", name ? name : "USER");
    }
  }
  if (!have)
    ids.nuid = ids.ngid = 0;
  if (rl_idmap_build(u->mode, u->host_uid, ids.uid, ids.nuid, &u->uidmap, err) < 0 ||
      rl_idmap_build(u->mode, u->host_gid, ids.gid, ids.ngid, &u->gidmap, err) < 0)
    return -1;
  u->deny_setgroups = u->gidmap.n == 1 && u->gidmap.e[0].count == 1;
  return 0;
}

static long read_sysctl(const char *path)
{
  cleanup_free char *s = rl_read_file_at(AT_FDCWD, path, 64, NULL);
  return s ? strtol(s, NULL, 10) : -1;
}

void rl_userns_hint(rl_error_t *err)
{
  if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
    rl_error_hint(err, "user namespaces are disabled: as root, `sysctl -w "
                       "user.max_user_namespaces=15000`");
  else if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    rl_error_hint(err, "unprivileged user namespaces are disabled: as root, `sysctl -w "
                       "kernel.unprivileged_userns_clone=1`");
  else if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
    rl_error_hint(err, "AppArmor restricts unprivileged user namespaces: as root, `sysctl -w "
                       "kernel.apparmor_restrict_unprivileged_userns=0` or add an AppArmor "
                       "profile for rless");
  else
    rl_error_hint(err, "run `rless info` to see what this host allows");
}

pid_t rl_userns_clone(const struct rl_userns *u, int *sock, rl_error_t *err)
{
  return rl_userns_clone_with(u, sock, NULL, NULL, -1, err);
}

pid_t rl_userns_clone_with(const struct rl_userns *u, int *sock, void (*before_maps)(void *ctx),
                           void *ctx, int cgroup_fd, rl_error_t *err)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return rl_make_error(err, errno, "socketpair for the container's sync socket");
  fflush(NULL);
  /* Fork-like clone of the user namespace alone: the other namespaces are
   * created inside it, so they are owned by it. */
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0) {
    struct rl_sync_msg m;
    close(sv[0]);
    if (before_maps)
      before_maps(ctx);
    if (rl_sync_recv(sv[1], &m, err) <= 0 || m.type != RL_SYNC_MAPS_DONE)
      _exit(RL_EXIT_FAILURE); /* the parent reports why */
    *sock = sv[1];
    return 0;
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    rl_make_error(err, errno, "create a user namespace (clone CLONE_NEWUSER)");
    rl_userns_hint(err);
    return -1;
  }
  int r = cgroup_fd >= 0 ? rl_cgroup_put(cgroup_fd, pid, err) : 0;
  if (r == 0 && rl_idmap_apply(pid, &u->uidmap, &u->gidmap, u->deny_setgroups, err) < 0) {
    r = -1;
    if (u->mode != RL_USERNS_SINGLE)
      rl_subids_forget(); /* asked afresh next time: the files may say otherwise now */
  }
  if (r == 0)
    r = rl_sync_send(sv[0], RL_SYNC_MAPS_DONE, 0, err);
  if (r < 0) {
    close(sv[0]);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    return -1;
  }
  *sock = sv[0];
  return pid;
}

int rl_userns_call(const struct rl_userns *u, int (*fn)(void *arg, rl_error_t *err), void *arg,
                   rl_error_t *err)
{
  int sock = -1;
  pid_t parent = getpid();
  pid_t pid = rl_userns_clone(u, &sock, err);
  if (pid < 0)
    return -1;
  if (pid == 0) {
    rl_error_t child_err = NULL;
    /* A helper (unpacking a pull, removing files) must not outlive a
     * killed rless and go on writing into the store. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
      _exit(RL_EXIT_FAILURE);
    if (fn(arg, &child_err) < 0) {
      rl_sync_send_error(sock, child_err);
      _exit(RL_EXIT_FAILURE);
    }
    _exit(0);
  }
  struct rl_sync_msg m;
  int got = rl_sync_recv(sock, &m, err);
  close(sock);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (got > 0 && m.type == RL_SYNC_ERROR)
    return rl_sync_to_error(&m, err);
  if (got < 0)
    return -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return rl_make_error(err, 0, "the user namespace helper process failed (status %d)", status);
  return 0;
}
