/* Terminals: fd passing over the sync socket, pty setup inside the
 * container, raw mode on the host terminal and the relay between the two. */
#include "rl_console.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

/* Room for a few fds, so that a sender passing more than one is detected (and
 * the extra fds closed) instead of being silently truncated by the kernel. */
#define RL_FD_RECV_MAX 4

/* 64 KiB: one pipe's worth, what a pty master can hand back in one read. */
#define RL_PUMP_BUF (64 * 1024)

int rl_fd_send(int sock, int fd, rl_error_t *err)
{
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = ctl.buf,
      .msg_controllen = sizeof(ctl.buf),
  };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));

  ssize_t n;
  do
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return rl_make_error(err, errno, "sendmsg `fd %d` over `socket %d`", fd, sock);
  return 0;
}

/* Close every fd carried by the SCM_RIGHTS messages of `msg`. */
static void close_passed_fds(struct msghdr *msg)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
      continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      close(fd);
    }
  }
}

/* The one fd of a well-formed message, or -1. */
static int single_passed_fd(struct msghdr *msg)
{
  struct cmsghdr *c = CMSG_FIRSTHDR(msg);
  if (c == NULL || CMSG_NXTHDR(msg, c) != NULL || (msg->msg_flags & MSG_CTRUNC))
    return -1;
  if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int)))
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

int rl_fd_recv(int sock, int *fd, rl_error_t *err)
{
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(RL_FD_RECV_MAX * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = ctl.buf,
      .msg_controllen = sizeof(ctl.buf),
  };

  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return rl_make_error(err, errno, "recvmsg `socket %d`", sock);
  if (n == 0)
    return rl_make_error(err, 0,
                         "recvmsg `socket %d`: container closed the sync socket before sending "
                         "the terminal",
                         sock);

  int got = single_passed_fd(&msg);
  if (got < 0) {
    close_passed_fds(&msg);
    return rl_make_error(
        err, 0, "recvmsg `socket %d`: expected exactly one file descriptor (SCM_RIGHTS)", sock);
  }
  *fd = got;
  return 0;
}

/* Open the slave of `master`.  TIOCGPTPEER (Linux 4.13) opens it from the
 * master itself, which cannot be fooled by whatever /dev/pts/N resolves to;
 * older kernels get the path from ptsname_r. */
static int open_slave(int master, rl_error_t *err)
{
  int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0)
    return fd;
  if (errno != EINVAL && errno != ENOTTY)
    return rl_make_error(err, errno, "ioctl TIOCGPTPEER `%s`", "/dev/ptmx");

  char name[64];
  int r = ptsname_r(master, name, sizeof(name));
  if (r != 0)
    return rl_make_error(err, r, "ptsname `%s`", "/dev/ptmx");
  fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(err, errno, "open `%s`", name);
  return fd;
}

/* Make `slave` the controlling terminal of a new session and fds 0, 1, 2. */
static int adopt_slave(int slave, rl_error_t *err)
{
  if (setsid() < 0)
    return rl_make_error(err, errno, "setsid `%s`", "container init");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return rl_make_error(err, errno, "ioctl TIOCSCTTY `%s`", "pty slave");
  for (int i = 0; i <= 2; i++) {
    /* dup2 onto itself would keep the close-on-exec flag: clear it instead. */
    int r = slave == i ? fcntl(i, F_SETFD, 0) : dup2(slave, i);
    if (r < 0)
      return rl_make_error(err, errno, "dup2 `pty slave` to `fd %d`", i);
  }
  return 0;
}

int rl_console_setup_child(int sock, const struct winsize *ws, rl_error_t *err)
{
  cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return rl_make_error(err, errno, "open `%s`", "/dev/ptmx");
  if (unlockpt(master) < 0)
    return rl_make_error(err, errno, "unlockpt `%s`", "/dev/ptmx");
  cleanup_close int slave = open_slave(master, err);
  if (slave < 0)
    return -1;
  if (ws && ioctl(slave, TIOCSWINSZ, ws) < 0)
    return rl_make_error(err, errno, "ioctl TIOCSWINSZ `%s`", "pty slave");

  if (rl_fd_send(sock, master, err) < 0)
    return rl_error_wrap(err, "send the terminal to rless");
  /* The parent holds the master now; ours must not keep the pty alive. */
  close(rl_steal_fd(&master));

  if (adopt_slave(slave, err) < 0)
    return -1;
  if (slave <= 2)
    rl_steal_fd(&slave); /* it is one of stdin/stdout/stderr now */
  return 0;
}

/* tcsetattr, retried when TCSADRAIN's wait is interrupted. */
static int set_termios(int fd, const struct termios *tio)
{
  int r;
  do
    r = tcsetattr(fd, TCSADRAIN, tio);
  while (r < 0 && errno == EINTR);
  return r;
}

int rl_term_raw(struct rl_term *t, int fd, rl_error_t *err)
{
  t->fd = fd;
  t->saved = false;
  if (!isatty(fd))
    return 0;
  if (tcgetattr(fd, &t->orig) < 0)
    return rl_make_error(err, errno, "tcgetattr `fd %d`", fd);

  /* cfmakeraw: no echo, no line editing, no signal keys, 8 bit, and OPOST off
   * (the container's pty does the output processing, as docker and podman). */
  struct termios raw = t->orig;
  cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  t->saved = true;
  if (set_termios(fd, &raw) < 0) {
    int saved_errno = errno;
    rl_term_restore(t);
    return rl_make_error(err, saved_errno, "tcsetattr raw mode `fd %d`", fd);
  }
  return 0;
}

void rl_term_restore(struct rl_term *t)
{
  if (t == NULL || !t->saved)
    return;
  int saved_errno = errno;
  set_termios(t->fd, &t->orig);
  t->saved = false;
  errno = saved_errno;
}

bool rl_console_get_winsize(struct winsize *ws)
{
  int saved_errno = errno;
  bool ok = ioctl(0, TIOCGWINSZ, ws) == 0 || ioctl(1, TIOCGWINSZ, ws) == 0;
  errno = saved_errno;
  return ok;
}

void rl_console_copy_winsize(int from, int master)
{
  int saved_errno = errno;
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0)
    ioctl(master, TIOCSWINSZ, &ws);
  errno = saved_errno;
}

void rl_pty_input_read(struct rl_pty_input *in, int fd)
{
  ssize_t n = read(fd, in->buf, sizeof(in->buf));
  if (n > 0) {
    in->len = (size_t)n;
    in->off = 0;
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    in->open = false;
  }
}

void rl_pty_input_write(struct rl_pty_input *in, int master)
{
  ssize_t w = write(master, in->buf + in->off, in->len - in->off);
  bool failed = w < 0 && errno != EAGAIN && errno != EINTR;
  if (w > 0)
    in->off += (size_t)w;
  if (in->off >= in->len || failed)
    in->len = in->off = 0;
  if (failed)
    in->open = false;
}

/* Write all of buf; `out` may be non-blocking (a pty master opened for the
 * relay usually is), so EAGAIN waits for room instead of dropping bytes. */
static int write_all_wait(int out, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t w = write(out, buf, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {.fd = out, .events = POLLOUT};
      if (poll(&p, 1, -1) < 0 && errno != EINTR)
        return -1;
      continue;
    }
    if (w < 0)
      return -1;
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

long rl_console_pump(int in, int out)
{
  char buf[RL_PUMP_BUF];
  ssize_t n;
  do
    n = read(in, buf, RL_PUMP_BUF);
  while (n < 0 && errno == EINTR);
  /* A pty master reads EIO once the last slave fd is closed: that is EOF. */
  if (n < 0 && errno == EIO)
    return 0;
  if (n <= 0)
    return n;
  if (write_all_wait(out, buf, (size_t)n) < 0)
    return -1;
  return n;
}
