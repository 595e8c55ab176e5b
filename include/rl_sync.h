/* Messages between rless and the container's processes over a SEQPACKET
 * socketpair.  A failure inside the container travels back as an error
 * message, so the parent prints it in the same format as its own. */
#ifndef RL_SYNC_H
#define RL_SYNC_H

#include <stdint.h>
#include <sys/types.h>

#include "rl_error.h"

enum rl_sync_type {
  RL_SYNC_MAPS_DONE = 1, /* parent -> child: id maps written, go on */
  RL_SYNC_PID,           /* child -> parent: host pid of the container's pid 1 */
  RL_SYNC_TTY,           /* child -> parent: the pty master follows as SCM_RIGHTS */
  RL_SYNC_ERROR,         /* child -> parent: setup failed, details attached */
  RL_SYNC_HELPER,        /* child -> parent: pid of a helper (fuse-overlayfs) to stop at the end */
  RL_SYNC_LISTENING,     /* monitor -> rless: the attach socket takes a client now */
  RL_SYNC_NETNS,         /* child -> parent: its user and net namespace fds follow (SCM_RIGHTS) */
  RL_SYNC_NET_READY,     /* parent -> pid 1: the network helper is ready, exec */
};

struct rl_sync_msg {
  int32_t type;
  int32_t value;
  int32_t errnum;
  int32_t exit_code;
  char msg[1536];
  char hint[512];
};

int rl_sync_send(int fd, int type, int value, rl_error_t *err);
/* Returns 1 with *m filled, 0 at EOF, -1 on error. */
int rl_sync_recv(int fd, struct rl_sync_msg *m, rl_error_t *err);
/* Send `e` (never NULL) as an RL_SYNC_ERROR; best effort, errors ignored. */
void rl_sync_send_error(int fd, rl_error_t e);
/* Rebuild an error received as RL_SYNC_ERROR into *err. */
int rl_sync_to_error(const struct rl_sync_msg *m, rl_error_t *err);
/* Run fn on a copy of `arg` (arg_len bytes) in a new process that shares
 * this one's memory, and whose first message on `sock` is its own pid as
 * RL_SYNC_PID (the pid namespace it is pid 1 of cannot tell it otherwise).
 * After a successful return the caller must only _exit: the memory is the
 * new process's now.  -1 with *err (`what` names the process). */
int rl_sync_handoff(int sock, const char *what, void (*fn)(void *arg), const void *arg,
                    size_t arg_len, rl_error_t *err);

#endif
