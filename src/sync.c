#include "rl_sync.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int rl_sync_send(int fd, int type, int value, rl_error_t *err)
{
  struct rl_sync_msg m = {.type = type, .value = value};
  /* Only the header: the text fields are for errors. */
  size_t len = offsetof(struct rl_sync_msg, msg);
  while (send(fd, &m, len, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR)
      return rl_make_error(err, errno, "send to the container's sync socket");
  }
  return 0;
}

int rl_sync_recv(int fd, struct rl_sync_msg *m, rl_error_t *err)
{
  ssize_t r;
  memset(m, 0, sizeof(*m));
  while ((r = recv(fd, m, sizeof(*m), MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR)
      return rl_make_error(err, errno, "read the container's sync socket");
  }
  if (r == 0)
    return 0;
  if ((size_t)r < offsetof(struct rl_sync_msg, msg))
    return rl_make_error(err, EPROTO, "short message on the container's sync socket");
  m->msg[sizeof(m->msg) - 1] = '\0';
  m->hint[sizeof(m->hint) - 1] = '\0';
  return 1;
}

void rl_sync_send_error(int fd, rl_error_t e)
{
  struct rl_sync_msg m = {.type = RL_SYNC_ERROR};
  m.errnum = e ? e->errnum : 0;
  m.exit_code = e ? e->exit_code : 125;
  snprintf(m.msg, sizeof(m.msg), "%s", e && e->msg ? e->msg : "unknown error");
  snprintf(m.hint, sizeof(m.hint), "%s", e && e->hint ? e->hint : "");
  while (send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0 && errno == EINTR)
    ;
}

int rl_sync_to_error(const struct rl_sync_msg *m, rl_error_t *err)
{
  rl_make_error(err, m->errnum, "%s", m->msg);
  if (m->hint[0])
    rl_error_hint(err, "%s", m->hint);
  rl_error_set_exit(err, m->exit_code ? m->exit_code : 125);
  return -1;
}

#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps the bounds of the stack each thread runs on, and a process on
 * a stack it was not told of makes it report (and die, unable to write the
 * report inside the container).  Sanitized builds fork instead: the parent
 * sends the pid, and the child waits for it before anything else. */
int rl_sync_handoff(int sock, const char *what, void (*fn)(void *arg), const void *arg,
                    size_t arg_len, rl_error_t *err)
{
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe to %s", what);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(gate[1]);
    while (read(gate[0], &c, 1) < 0 && errno == EINTR)
      ; /* EOF: the parent sent the pid, or died */
    close(gate[0]);
    fn((void *)arg);
    _exit(RL_EXIT_FAILURE);
  }
  close(gate[0]);
  int r =
      pid < 0 ? rl_make_error(err, errno, "%s", what) : rl_sync_send(sock, RL_SYNC_PID, pid, err);
  close(gate[1]);
  return r;
}
#else
/* The new process's stack, with the handoff and the caller's argument at
 * its top: one private mapping, because the caller's frames are gone as soon
 * as it returns while the new process still runs on them otherwise. */
#define HANDOFF_STACK (8u << 20)
#define HANDOFF_GUARD 4096u

struct handoff {
  pid_t pid; /* the kernel writes it (CLONE_PARENT_SETTID) before the new process runs */
  int sock;
  void (*fn)(void *arg);
  _Alignas(16) unsigned char arg[];
};

static int handoff_main(void *p)
{
  struct handoff *h = p;
  /* The first message from this side of the socket is the pid: what the
   * process sends next (its pty, an error) comes after it. */
  if (rl_sync_send(h->sock, RL_SYNC_PID, h->pid, NULL) < 0)
    _exit(RL_EXIT_FAILURE);
  h->fn(h->arg);
  _exit(RL_EXIT_FAILURE);
}

int rl_sync_handoff(int sock, const char *what, void (*fn)(void *arg), const void *arg,
                    size_t arg_len, rl_error_t *err)
{
  size_t top = (sizeof(struct handoff) + arg_len + 15) & ~(size_t)15;
  if (top > HANDOFF_STACK / 2)
    return rl_make_error(err, E2BIG, "%s: argument of %zu bytes", what, arg_len);
  char *map = mmap(NULL, HANDOFF_STACK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED)
    return rl_make_error(err, errno, "%s: map its stack", what);
  if (mprotect(map, HANDOFF_GUARD, PROT_NONE) < 0) {
    munmap(map, HANDOFF_STACK);
    return rl_make_error(err, errno, "%s: guard page of its stack", what);
  }
  struct handoff *h = (struct handoff *)(map + HANDOFF_STACK - top);
  h->sock = sock;
  h->fn = fn;
  memcpy(h->arg, arg, arg_len);
  /* CLONE_VM: the caller only exits, so its memory can simply become the
   * new process's; a fork would copy the page tables and make every page
   * the new process then writes a copy-on-write fault (0.1-0.3 ms of a
   * container's start on a VM with shadow paging). */
  pid_t pid = clone(handoff_main, h, CLONE_VM | CLONE_PARENT_SETTID | SIGCHLD, h, &h->pid);
  if (pid < 0) {
    munmap(map, HANDOFF_STACK);
    return rl_make_error(err, errno, "%s", what);
  }
  return 0;
}
#endif
