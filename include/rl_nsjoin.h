/* Joining a running container's namespaces: its pid 1 pinned by pidfd and
 * start time, namespace fds opened before the start time is checked, then
 * setns with the user namespace first.  Shared by `rless exec` (every
 * namespace) and `run --network/--pid/--ipc container:NAME` (the user
 * namespace and the ones asked for: a namespace owned by a sibling user
 * namespace cannot be joined from another). */
#ifndef RL_NSJOIN_H
#define RL_NSJOIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rl_error.h"

#define RL_NSJOIN_N 7 /* user, mnt, pid, uts, ipc, net, cgroup */

struct rl_nsjoin {
  int pidfd;              /* -1 when the kernel has no pidfd_open */
  int fds[RL_NSJOIN_N];   /* -1 where the process shares rless' namespace */
  int flags;              /* CLONE_NEW* of the namespaces that differ from rless' */
  int rootfd;             /* O_PATH: the process' root directory */
  bool setgroups_allowed; /* its user namespace's /proc/PID/setgroups */
  bool single_id;         /* its uid_map is one id */
  uint64_t capbnd;        /* its bounding set */
  char *cgroup;           /* host dir of its cgroup, NULL when none */
};

void rl_nsjoin_init(struct rl_nsjoin *j);
/* Pin pid (of container `name`, for messages) and open its namespaces; a
 * pid whose start time is not `start_time` is "container NAME is not
 * running".  One that shares rless' user namespace is refused. */
int rl_nsjoin_pin(const char *name, pid_t pid, unsigned long long start_time, struct rl_nsjoin *j,
                  rl_error_t *err);
/* In a single-threaded child: setns into the pinned namespaces of `flags`
 * (a subset of j->flags; the user namespace goes first). */
int rl_nsjoin_enter(const struct rl_nsjoin *j, int flags, rl_error_t *err);
void rl_nsjoin_close(struct rl_nsjoin *j);

/* Fork a child that moves into the cgroup dir `cgroup_fd` (>= 0), enters
 * `flags` of j (CLONE_NEWUSER among them), runs `before(ctx)` and returns 0
 * with *sock its end of a new SEQPACKET pair; the parent gets the pid and
 * the other end.  The counterpart of rl_userns_clone_with for a container
 * that joins another's user namespace: there are no maps to write. */
pid_t rl_nsjoin_fork(const struct rl_nsjoin *j, int flags, int *sock, void (*before)(void *ctx),
                     void *ctx, int cgroup_fd, rl_error_t *err);

#endif
