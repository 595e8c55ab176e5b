/* Attaching to a detached container's terminal.  The monitor listens on
 * <run>/containers/<id>/attach.sock (SOCK_SEQPACKET, 0600 in a 0700 dir);
 * every packet from a client starts with a type byte:
 *
 *   'd' DATA...       input for the container's terminal
 *   'w' rows cols     (two uint16) the client's window size
 *
 * and the monitor sends 'o' OUTPUT... packets of the terminal's output, and
 * 'x' CODE (int32) with the container's exit code just before it closes.  The client
 * leaves on the detach keys (docker's ctrl-p,ctrl-q by default) and the
 * container goes on. */
#ifndef RL_ATTACH_H
#define RL_ATTACH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"

#define RL_ATTACH_MAX_CLIENTS 8
#define RL_DETACH_KEYS_MAX    8

struct rl_attach_srv {
  bool input;    /* clients' input goes to the terminal (-i) */
  int listen_fd; /* -1: not listening */
  int clients[RL_ATTACH_MAX_CLIENTS];
  size_t n;
};

/* Listen at `path` (an old socket there is replaced). */
int rl_attach_listen(struct rl_attach_srv *s, const char *path, rl_error_t *err);
void rl_attach_close(struct rl_attach_srv *s);
/* Add the server's fds to p (room for 1 + RL_ATTACH_MAX_CLIENTS); returns the count added. */
size_t rl_attach_pollfds(const struct rl_attach_srv *s, struct pollfd *p);
/* Handle what poll reported on the fds rl_attach_pollfds added: accept,
 * client input to `master`, window sizes, hang-ups. */
void rl_attach_handle(struct rl_attach_srv *s, const struct pollfd *p, size_t n, int master);
/* The terminal's output, to every client (a client that cannot keep up is dropped). */
void rl_attach_broadcast(struct rl_attach_srv *s, const char *data, size_t len);
/* The exit code, to every client. */
void rl_attach_exit(struct rl_attach_srv *s, int code);

/* --detach-keys: "ctrl-p,ctrl-q", "ctrl-a,d", "" (none); letters, ctrl-@
 * ctrl-[a-z] ctrl-[ ctrl-\ ctrl-] ctrl-^ ctrl-_.  Returns the number of keys
 * (0..RL_DETACH_KEYS_MAX), or -1. */
int rl_detach_keys_parse(const char *spec, unsigned char keys[RL_DETACH_KEYS_MAX]);

/* Matching the detach sequence in the input stream: feed each byte; true
 * when the sequence is complete.  Bytes of a partial match are held back
 * and handed out (in *flush) when the match breaks, so nothing is lost. */
struct rl_detach_match {
  unsigned char keys[RL_DETACH_KEYS_MAX];
  int n, matched;
};
bool rl_detach_feed(struct rl_detach_match *m, unsigned char c, unsigned char *flush,
                    size_t *n_flush);

/* Connect to a monitor's attach socket. */
int rl_attach_connect(const char *path, rl_error_t *err);

/* The client: relay this terminal to the container on `fd` until the
 * container ends (returns 0, *exit_code its code, -1 when the monitor did not
 * say) or the detach keys come (returns 1).  Signals
 * rless gets (TERM, INT, HUP, QUIT, USR1, USR2) go to pid1 when > 0;
 * stdin is relayed only with `input`. */
int rl_attach_client(int fd, bool input, const char *detach_keys, pid_t pid1, int *exit_code,
                     rl_error_t *err);

#endif
