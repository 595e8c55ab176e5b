/* Terminals: the pty is allocated inside the container (its devpts), the
 * master travels to the parent over the sync socket with SCM_RIGHTS, and the
 * parent relays between its own terminal and the master. */
#ifndef RL_CONSOLE_H
#define RL_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "rl_error.h"

/* Pass one fd over a unix socket.  The receiver checks the control message is
 * exactly one SCM_RIGHTS fd and fails otherwise. */
int rl_fd_send(int sock, int fd, rl_error_t *err);
int rl_fd_recv(int sock, int *fd, rl_error_t *err);

/* Container side, after /dev/pts (newinstance) and /dev/ptmx exist and after
 * pivot_root: open a pty pair, send the master over `sock`, make the slave the
 * controlling terminal of a new session and stdin/stdout/stderr.  `ws` (the
 * host terminal's size read before clone, or NULL) is set on the pty before the
 * master leaves, so the command never sees a 0x0 terminal however the parent
 * is scheduled. */
int rl_console_setup_child(int sock, const struct winsize *ws, rl_error_t *err);

/* Host side terminal state, restored on every exit path by the caller. */
struct rl_term {
  int fd;
  bool saved;
  struct termios orig;
};
/* Put `fd` (a tty) in raw mode, remembering the old mode. No-op if not a tty. */
int rl_term_raw(struct rl_term *t, int fd, rl_error_t *err);
void rl_term_restore(struct rl_term *t);

/* Read the window size of the host terminal (stdin, else stdout); false if neither is a tty. */
bool rl_console_get_winsize(struct winsize *ws);

/* Copy the window size of `from` (host tty) to `master`.  Errors ignored: no tty, no size. */
void rl_console_copy_winsize(int from, int master);

/* Stdin to a pty through a buffer and non-blocking writes: a process that
 * does not read its input must not stop its output.  Poll `fd` for input
 * only while len == 0, and the master for POLLOUT while len > 0. */
struct rl_pty_input {
  bool open; /* stdin is still read */
  char buf[4096];
  size_t len, off;
};
void rl_pty_input_read(struct rl_pty_input *in, int fd);
void rl_pty_input_write(struct rl_pty_input *in, int master);

/* Move what is readable now from `in` to `out` (in is non-blocking).
 * Returns bytes moved, 0 at EOF, -1 on error (errno set, EAGAIN = nothing now). */
long rl_console_pump(int in, int out);

#endif
