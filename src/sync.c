#include "rl_sync.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

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

pid_t rl_sync_fork_send_pid(int sock, const char *what, rl_error_t *err)
{
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe to %s", what);
  pid_t pid = fork();
  if (pid < 0) {
    close(gate[0]);
    close(gate[1]);
    return rl_make_error(err, errno, "%s", what);
  }
  if (pid == 0) {
    char c;
    close(gate[1]);
    while (read(gate[0], &c, 1) < 0 && errno == EINTR)
      ; /* EOF: the parent sent the pid, or died */
    close(gate[0]);
    return 0;
  }
  close(gate[0]);
  int r = rl_sync_send(sock, RL_SYNC_PID, pid, err);
  close(gate[1]);
  return r < 0 ? -1 : pid;
}
