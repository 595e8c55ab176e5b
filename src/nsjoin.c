/* A running container's namespaces, pinned and joined (rl_nsjoin.h). */
#include "rl_cgroup.h"
#include "rl_cstate.h"
#include "rl_exec.h"
#include "rl_nsjoin.h"
#include "rl_sync.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* User first: the others are owned by it, so joining them needs its capabilities. */
static const struct {
  int flag;
  const char *name;
} namespaces[RL_NSJOIN_N] = {
    {CLONE_NEWUSER, "user"},     {CLONE_NEWNS, "mnt"},  {CLONE_NEWPID, "pid"},
    {CLONE_NEWUTS, "uts"},       {CLONE_NEWIPC, "ipc"}, {CLONE_NEWNET, "net"},
    {CLONE_NEWCGROUP, "cgroup"},
};

void rl_nsjoin_init(struct rl_nsjoin *j)
{
  memset(j, 0, sizeof(*j));
  j->pidfd = j->rootfd = -1;
  for (size_t i = 0; i < RL_NSJOIN_N; i++)
    j->fds[i] = -1;
}

void rl_nsjoin_close(struct rl_nsjoin *j)
{
  for (size_t i = 0; i < RL_NSJOIN_N; i++)
    if (j->fds[i] >= 0)
      close(rl_steal_fd(&j->fds[i]));
  if (j->pidfd >= 0)
    close(rl_steal_fd(&j->pidfd));
  if (j->rootfd >= 0)
    close(rl_steal_fd(&j->rootfd));
  free(rl_steal_ptr(&j->cgroup));
}

static int not_running(const char *name, rl_error_t *err)
{
  return rl_make_error(err, 0, "container %s is not running", name);
}

static bool same_ns(int fd, const char *name)
{
  struct stat a, b;
  cleanup_free char *self = rl_xasprintf("/proc/self/ns/%s", name);
  return fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ESRCH/ENOENT: the process is gone, which is what the user must hear. */
static int proc_error(const char *name, pid_t pid, const char *what, rl_error_t *err)
{
  if (errno == ESRCH || errno == ENOENT)
    return not_running(name, err);
  return rl_make_error(err, errno, "open `/proc/%d/%s` of container %s", (int)pid, what, name);
}

static int open_namespaces(const char *name, pid_t pid, struct rl_nsjoin *j, rl_error_t *err)
{
  for (size_t i = 0; i < RL_NSJOIN_N; i++) {
    cleanup_free char *rel = rl_xasprintf("ns/%s", namespaces[i].name);
    cleanup_free char *path = rl_xasprintf("/proc/%d/%s", (int)pid, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return proc_error(name, pid, rel, err);
    if (same_ns(fd, namespaces[i].name)) {
      close(fd);
      continue;
    }
    j->fds[i] = fd;
    j->flags |= namespaces[i].flag;
  }
  return 0;
}

/* What pid 1's user namespace allows (setgroups, how many ids) and its
 * bounding set, read on the host side: the container cannot fake them. */
static int read_facts(const char *name, pid_t pid, struct rl_nsjoin *j, rl_error_t *err)
{
  static const char *const files[] = {"setgroups", "uid_map", "status"};
  char *text[3] = {NULL, NULL, NULL};
  int r = 0;
  for (size_t i = 0; i < 3 && r == 0; i++) {
    cleanup_free char *path = rl_xasprintf("/proc/%d/%s", (int)pid, files[i]);
    if ((text[i] = rl_read_file_at(AT_FDCWD, path, 1 << 16, NULL)) == NULL)
      r = proc_error(name, pid, files[i], err);
  }
  if (r == 0) {
    j->setgroups_allowed = strncmp(text[0], "allow", 5) == 0;
    unsigned long inside, outside, count;
    char *nl = strchr(text[1], '\n');
    j->single_id = sscanf(text[1], "%lu %lu %lu", &inside, &outside, &count) == 3 && count == 1 &&
                   (nl == NULL || nl[1] == '\0');
    r = rl_exec_parse_capbnd(text[2], &j->capbnd, err);
  }
  for (size_t i = 0; i < 3; i++)
    free(text[i]);
  return r;
}

/* Everything is opened first and the start time checked last: pid 1 was
 * alive with its recorded start time after every open, so each fd is its. */
int rl_nsjoin_pin(const char *name, pid_t pid, unsigned long long start_time, struct rl_nsjoin *j,
                  rl_error_t *err)
{
  j->pidfd = pidfd_open(pid, 0);
  if (j->pidfd < 0 && errno != ENOSYS)
    return errno == ESRCH
               ? not_running(name, err)
               : rl_make_error(err, errno, "pidfd_open `%d` (container %s)", (int)pid, name);
  if (open_namespaces(name, pid, j, err) < 0)
    return -1;
  cleanup_free char *root = rl_xasprintf("/proc/%d/root", (int)pid);
  j->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (j->rootfd < 0)
    return proc_error(name, pid, "root", err);
  if (read_facts(name, pid, j, err) < 0)
    return -1;
  j->cgroup = rl_cgroup_of_container(pid, NULL);
  if (start_time == 0 || rl_proc_start_time(pid) != start_time)
    return not_running(name, err);
  if (!(j->flags & CLONE_NEWUSER))
    return rl_make_error(err, 0, "container %s shares rless' user namespace: nothing to join",
                         name);
  return 0;
}

int rl_nsjoin_enter(const struct rl_nsjoin *j, int flags, rl_error_t *err)
{
  flags &= j->flags;
  /* One call joins them all with the credentials of the new user namespace
   * (Linux 5.8); before, setns takes only namespace fds: EINVAL. */
  if (j->pidfd >= 0 && setns(j->pidfd, flags) == 0)
    return 0;
  if (j->pidfd >= 0 && errno != EINVAL)
    return rl_make_error(err, errno, "join the container's namespaces (setns on its pidfd)");
  for (size_t i = 0; i < RL_NSJOIN_N; i++) {
    if ((flags & namespaces[i].flag) && j->fds[i] >= 0 && setns(j->fds[i], namespaces[i].flag) < 0)
      return rl_make_error(err, errno, "join the container's %s namespace", namespaces[i].name);
  }
  return 0;
}

pid_t rl_nsjoin_fork(const struct rl_nsjoin *j, int flags, int *sock, void (*before)(void *ctx),
                     void *ctx, int cgroup_fd, rl_error_t *err)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return rl_make_error(err, errno, "socketpair for the container's sync socket");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    rl_error_t e = NULL;
    close(sv[0]);
    /* Before setns: cgroup.procs belongs to the host user, not to the ids
     * of the joined user namespace. */
    if ((cgroup_fd >= 0 && rl_cgroup_put(cgroup_fd, 0, &e) < 0) ||
        rl_nsjoin_enter(j, flags, &e) < 0) {
      rl_sync_send_error(sv[1], e);
      _exit(RL_EXIT_FAILURE);
    }
    if (before)
      before(ctx);
    *sock = sv[1];
    return 0;
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return rl_make_error(err, errno, "fork the container's first process");
  }
  *sock = sv[0];
  return pid;
}
