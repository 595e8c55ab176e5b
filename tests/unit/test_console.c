/* Unit tests for src/console.c that need no namespaces: fd passing, the
 * pump, raw mode and window size on a pty pair of our own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "rl_console.h"
#include "rl_util.h"

int rl_log_level = 0;

/* The lowest free fd number: equal before and after means nothing leaked. */
static int lowest_free_fd(void)
{
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  close(fd);
  return fd;
}

static void test_fd_roundtrip(void **state)
{
  int sv[2], p[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);

  cleanup_error rl_error_t err = NULL;
  assert_int_equal(rl_fd_send(sv[0], p[0], &err), 0);
  int got = -1;
  assert_int_equal(rl_fd_recv(sv[1], &got, &err), 0);
  assert_null(err);
  assert_true(got >= 0);
  assert_int_not_equal(got, p[0]);

  struct stat a, b;
  assert_int_equal(fstat(p[0], &a), 0);
  assert_int_equal(fstat(got, &b), 0);
  assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);

  /* Same pipe: what goes in p[1] comes out of the received fd. */
  assert_int_equal(write(p[1], "x", 1), 1);
  char c = 0;
  assert_int_equal(read(got, &c, 1), 1);
  assert_int_equal(c, 'x');

  close(got);
  close(p[0]);
  close(p[1]);
  close(sv[0]);
  close(sv[1]);
}

static void test_fd_recv_without_fd(void **state)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(send(sv[0], "x", 1, 0), 1);

  cleanup_error rl_error_t err = NULL;
  int got = -1;
  assert_int_equal(rl_fd_recv(sv[1], &got, &err), -1);
  assert_non_null(err);
  assert_int_equal(got, -1);
  close(sv[0]);
  close(sv[1]);
}

static void test_fd_recv_two_fds(void **state)
{
  int sv[2], fds[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  int before = lowest_free_fd();

  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(fds))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(fds));
  memcpy(CMSG_DATA(c), fds, sizeof(fds));
  assert_int_equal(sendmsg(sv[0], &msg, 0), 1);

  cleanup_error rl_error_t err = NULL;
  int got = -1;
  assert_int_equal(rl_fd_recv(sv[1], &got, &err), -1);
  assert_non_null(err);
  assert_int_equal(got, -1);
  assert_int_equal(lowest_free_fd(), before); /* both received fds were closed */
  close(fds[0]);
  close(fds[1]);
  close(sv[0]);
  close(sv[1]);
}

static void test_fd_recv_eof(void **state)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  close(sv[0]);

  cleanup_error rl_error_t err = NULL;
  int got = -1;
  assert_int_equal(rl_fd_recv(sv[1], &got, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err->msg, "closed the sync socket"));
  close(sv[1]);
}

static void test_pump_pipe(void **state)
{
  int in[2], out[2];
  assert_int_equal(pipe2(in, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);

  errno = 0;
  assert_int_equal(rl_console_pump(in[0], out[1]), -1);
  assert_int_equal(errno, EAGAIN);

  assert_int_equal(write(in[1], "hello", 5), 5);
  assert_int_equal(rl_console_pump(in[0], out[1]), 5);
  char buf[16] = {0};
  assert_int_equal(read(out[0], buf, sizeof(buf)), 5);
  assert_string_equal(buf, "hello");

  close(in[1]);
  assert_int_equal(rl_console_pump(in[0], out[1]), 0);
  close(in[0]);
  close(out[0]);
  close(out[1]);
}

/* `out` is a small non-blocking pipe drained late by a child: the pump must
 * wait for room instead of failing with EAGAIN or dropping bytes. */
static void test_pump_partial_writes(void **state)
{
  enum { LEN = 60000 };
  int in[2], out[2];
  assert_int_equal(pipe2(in, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
  assert_true(fcntl(out[1], F_SETPIPE_SZ, 4096) >= 0);

  char *data = rl_xmalloc(LEN);
  memset(data, 'a', LEN);
  assert_int_equal(write(in[1], data, LEN), LEN);
  free(data);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(out[1]);
    usleep(100 * 1000);
    fcntl(out[0], F_SETFL, 0);
    long total = 0;
    char buf[4096];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof(buf))) > 0)
      total += n;
    _exit(total == LEN ? 0 : 1);
  }
  close(out[0]);
  assert_int_equal(rl_console_pump(in[0], out[1]), LEN);
  close(out[1]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(in[0]);
  close(in[1]);
}

static void test_term_raw_not_a_tty(void **state)
{
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  struct rl_term t;
  cleanup_error rl_error_t err = NULL;
  assert_int_equal(rl_term_raw(&t, p[0], &err), 0);
  assert_null(err);
  assert_false(t.saved);
  rl_term_restore(&t);
  close(p[0]);
  close(p[1]);
}

struct pty {
  int master, slave;
};

static void open_pty(struct pty *p)
{
  p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(p->master >= 0);
  assert_int_equal(grantpt(p->master), 0);
  assert_int_equal(unlockpt(p->master), 0);
  const char *name = ptsname(p->master);
  assert_non_null(name);
  p->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(p->slave >= 0);
}

static void close_pty(struct pty *p)
{
  close(p->slave);
  close(p->master);
}

static void test_term_raw_restore(void **state)
{
  struct pty p;
  open_pty(&p);
  struct termios before, raw, after;
  assert_int_equal(tcgetattr(p.slave, &before), 0);
  assert_true(before.c_lflag & ICANON); /* a fresh pty is cooked */

  struct rl_term t;
  cleanup_error rl_error_t err = NULL;
  assert_int_equal(rl_term_raw(&t, p.slave, &err), 0);
  assert_true(t.saved);
  assert_int_equal(tcgetattr(p.slave, &raw), 0);
  assert_false(raw.c_lflag & (ICANON | ECHO | ISIG));
  assert_false(raw.c_oflag & OPOST);
  assert_false(raw.c_iflag & ICRNL);

  rl_term_restore(&t);
  assert_false(t.saved);
  rl_term_restore(&t); /* idempotent */
  assert_int_equal(tcgetattr(p.slave, &after), 0);
  assert_int_equal(after.c_iflag, before.c_iflag);
  assert_int_equal(after.c_oflag, before.c_oflag);
  assert_int_equal(after.c_cflag, before.c_cflag);
  assert_int_equal(after.c_lflag, before.c_lflag);
  assert_memory_equal(after.c_cc, before.c_cc, sizeof(before.c_cc));
  close_pty(&p);
}

static void test_copy_winsize(void **state)
{
  struct pty host, ctr;
  open_pty(&host);
  open_pty(&ctr);
  struct winsize ws = {.ws_row = 42, .ws_col = 123};
  assert_int_equal(ioctl(host.slave, TIOCSWINSZ, &ws), 0);

  rl_console_copy_winsize(host.slave, ctr.master);
  struct winsize got = {0};
  assert_int_equal(ioctl(ctr.slave, TIOCGWINSZ, &got), 0);
  assert_int_equal(got.ws_row, 42);
  assert_int_equal(got.ws_col, 123);

  /* Errors are ignored: a pipe has no window size. */
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  rl_console_copy_winsize(p[0], ctr.master);
  rl_console_copy_winsize(host.slave, p[1]);
  close(p[0]);
  close(p[1]);
  close_pty(&host);
  close_pty(&ctr);
}

/* Linux reads EIO on a pty master once the slave is gone: the pump says EOF. */
static void test_pump_pty_hangup(void **state)
{
  struct pty p;
  open_pty(&p);
  int out[2];
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  assert_int_equal(write(p.slave, "hi", 2), 2);
  close(p.slave);
  p.slave = -1;
  /* Output written before the hangup may or may not still be readable. */
  long n = rl_console_pump(p.master, out[1]);
  if (n > 0)
    n = rl_console_pump(p.master, out[1]);
  assert_int_equal(n, 0);
  close(p.master);
  close(out[0]);
  close(out[1]);
}

/* The container side on the host's devpts: a forked child (not a group leader,
 * so setsid works) takes a pty as its terminal and hands us the master. */
static void test_setup_child(void **state)
{
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    rl_error_t err = NULL;
    close(sv[0]);
    struct winsize want = {.ws_row = 33, .ws_col = 101}, got;
    if (rl_console_setup_child(sv[1], &want, &err) < 0)
      _exit(2);
    int ok = isatty(0) && isatty(1) && isatty(2) && tcgetsid(0) == getpid() &&
             !(fcntl(1, F_GETFD) & FD_CLOEXEC) && ioctl(0, TIOCGWINSZ, &got) == 0 &&
             got.ws_row == 33 && got.ws_col == 101;
    if (write(1, ok ? "ok" : "no", 2) != 2)
      _exit(3);
    _exit(ok ? 0 : 1);
  }
  close(sv[1]);
  cleanup_error rl_error_t err = NULL;
  int master = -1;
  assert_int_equal(rl_fd_recv(sv[0], &master, &err), 0);
  char buf[2] = {0};
  size_t got = 0;
  while (got < sizeof(buf)) {
    ssize_t n = read(master, buf + got, sizeof(buf) - got);
    assert_true(n > 0);
    got += (size_t)n;
  }
  assert_memory_equal(buf, "ok", 2);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(master);
  close(sv[0]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fd_roundtrip),       cmocka_unit_test(test_fd_recv_without_fd),
      cmocka_unit_test(test_fd_recv_two_fds),    cmocka_unit_test(test_fd_recv_eof),
      cmocka_unit_test(test_pump_pipe),          cmocka_unit_test(test_pump_partial_writes),
      cmocka_unit_test(test_term_raw_not_a_tty), cmocka_unit_test(test_term_raw_restore),
      cmocka_unit_test(test_copy_winsize),       cmocka_unit_test(test_pump_pty_hangup),
      cmocka_unit_test(test_setup_child),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
