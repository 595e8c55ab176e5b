/* The monitor's attach socket and the `rless attach` client. */
#include "rl_attach.h"
#include "rl_console.h"
#include "rl_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* sun_path holds 107 bytes and <run>/containers/<64 hex>/attach.sock is
 * longer on most hosts: a long path goes through /proc/self/fd/N/ of its
 * directory, which *dirfd keeps open until the caller closes it. */
static int fill_addr(struct sockaddr_un *a, const char *path, int *dirfd, rl_error_t *err)
{
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  *dirfd = -1;
  if (strlen(path) < sizeof(a->sun_path)) {
    memcpy(a->sun_path, path, strlen(path));
    return 0;
  }
  const char *slash = strrchr(path, '/');
  cleanup_free char *dir = slash ? rl_xstrndup(path, (size_t)(slash - path)) : rl_xstrdup(".");
  *dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0)
    return rl_make_error(err, errno, "open the dir of the attach socket `%s`", path);
  snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/%s", *dirfd,
           slash ? slash + 1 : path);
  return 0;
}

int rl_attach_listen(struct rl_attach_srv *s, const char *path, rl_error_t *err)
{
  struct sockaddr_un a;
  cleanup_close int dirfd = -1;
  s->listen_fd = -1;
  s->n = 0;
  if (fill_addr(&a, path, &dirfd, err) < 0)
    return -1;
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return rl_make_error(err, errno, "create the attach socket");
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
      listen(fd, RL_ATTACH_MAX_CLIENTS) < 0) {
    close(fd);
    return rl_make_error(err, errno, "listen on the attach socket `%s`", path);
  }
  s->listen_fd = fd;
  return 0;
}

void rl_attach_close(struct rl_attach_srv *s)
{
  for (size_t i = 0; i < s->n; i++)
    close(s->clients[i]);
  s->n = 0;
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  s->listen_fd = -1;
}

size_t rl_attach_pollfds(const struct rl_attach_srv *s, struct pollfd *p)
{
  if (s->listen_fd < 0)
    return 0;
  p[0] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
  for (size_t i = 0; i < s->n; i++)
    p[1 + i] = (struct pollfd){.fd = s->clients[i], .events = POLLIN};
  return 1 + s->n;
}

static void drop(struct rl_attach_srv *s, size_t i)
{
  close(s->clients[i]);
  s->clients[i] = s->clients[--s->n];
}

static void client_packet(struct rl_attach_srv *s, size_t i, int master)
{
  char buf[4097];
  ssize_t n = recv(s->clients[i], buf, sizeof(buf), MSG_DONTWAIT);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
      drop(s, i);
    return;
  }
  if (buf[0] == 'd' && master >= 0 && s->input) {
    /* A terminal's input buffer is large; a full one means the container
     * does not read, and the keystrokes are dropped rather than the monitor
     * blocking. */
    (void)rl_write_all(master, buf + 1, (size_t)n - 1);
  } else if (buf[0] == 'w' && n == 5 && master >= 0) {
    uint16_t rc[2];
    memcpy(rc, buf + 1, sizeof(rc));
    struct winsize ws = {.ws_row = rc[0], .ws_col = rc[1]};
    ioctl(master, TIOCSWINSZ, &ws);
  }
}

void rl_attach_handle(struct rl_attach_srv *s, const struct pollfd *p, size_t n, int master)
{
  if (n == 0)
    return;
  /* Clients first, from the end: drop() moves the last one into the hole. */
  for (size_t i = n - 1; i >= 1; i--) {
    if (i - 1 < s->n && p[i].revents)
      client_packet(s, i - 1, master);
  }
  if (p[0].revents & POLLIN) {
    int c = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0 && s->n < RL_ATTACH_MAX_CLIENTS)
      s->clients[s->n++] = c;
    else if (c >= 0)
      close(c);
  }
}

static void send_all(struct rl_attach_srv *s, const char *pkt, size_t len)
{
  for (size_t i = s->n; i-- > 0;) {
    if (send(s->clients[i], pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EINTR)
      drop(s, i);
  }
}

void rl_attach_broadcast(struct rl_attach_srv *s, const char *data, size_t len)
{
  char pkt[1 + 4096];
  while (len > 0) {
    size_t n = len < sizeof(pkt) - 1 ? len : sizeof(pkt) - 1;
    pkt[0] = 'o';
    memcpy(pkt + 1, data, n);
    send_all(s, pkt, n + 1);
    data += n;
    len -= n;
  }
}

void rl_attach_exit(struct rl_attach_srv *s, int code)
{
  char pkt[5] = {'x'};
  int32_t c = code;
  memcpy(pkt + 1, &c, sizeof(c));
  send_all(s, pkt, sizeof(pkt));
}

static int key_of(const char *k)
{
  if (strlen(k) == 1)
    return (unsigned char)k[0];
  if (strncmp(k, "ctrl-", 5) != 0 || strlen(k) != 6)
    return -1;
  int c = (unsigned char)k[5];
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 1;
  if (c == '@')
    return 0;
  if (strchr("[\\]^_", c))
    return c - '@';
  return -1;
}

int rl_detach_keys_parse(const char *spec, unsigned char keys[RL_DETACH_KEYS_MAX])
{
  int n = 0;
  cleanup_free char *copy = rl_xstrdup(spec);
  char *save = NULL;
  if (*spec == '\0')
    return 0;
  for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    int c = key_of(k);
    if (c < 0 || n == RL_DETACH_KEYS_MAX)
      return -1;
    keys[n++] = (unsigned char)c;
  }
  return n;
}

bool rl_detach_feed(struct rl_detach_match *m, unsigned char c, unsigned char *flush,
                    size_t *n_flush)
{
  *n_flush = 0;
  if (m->n > 0 && c == m->keys[m->matched]) {
    if (++m->matched == m->n) {
      m->matched = 0;
      return true;
    }
    return false;
  }
  /* The match broke: what was held back goes out, then this byte (which may
   * start a new match). */
  memcpy(flush, m->keys, (size_t)m->matched);
  *n_flush = (size_t)m->matched;
  m->matched = 0;
  if (m->n > 0 && c == m->keys[0]) {
    m->matched = 1;
    if (m->n == 1) {
      m->matched = 0;
      return true;
    }
    return false;
  }
  flush[(*n_flush)++] = c;
  return false;
}

int rl_attach_connect(const char *path, rl_error_t *err)
{
  struct sockaddr_un a;
  cleanup_close int dirfd = -1;
  if (fill_addr(&a, path, &dirfd, err) < 0)
    return -1;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return rl_make_error(err, errno, "create a socket to attach");
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    close(fd);
    return rl_make_error(err, errno, "connect to the attach socket `%s`", path);
  }
  return fd;
}

static void send_winsize(int fd)
{
  struct winsize ws;
  if (!rl_console_get_winsize(&ws))
    return;
  char pkt[5] = {'w'};
  uint16_t rc[2] = {ws.ws_row, ws.ws_col};
  memcpy(pkt + 1, rc, sizeof(rc));
  (void)send(fd, pkt, sizeof(pkt), MSG_NOSIGNAL);
}

struct client {
  int fd;
  bool input;
  pid_t pid1;
  int exit_code;
  struct rl_detach_match dm;
};

/* Stdin to the container, the detach keys taken out; 1 when they came. */
static int client_input(struct client *cl)
{
  unsigned char in[4096], out[1 + 2 * sizeof(in)], flush[RL_DETACH_KEYS_MAX + 1];
  ssize_t n = read(0, in, sizeof(in));
  if (n <= 0) {
    cl->input = n < 0 && (errno == EAGAIN || errno == EINTR);
    return 0;
  }
  size_t len = 1;
  out[0] = 'd';
  for (ssize_t i = 0; i < n; i++) {
    size_t nf;
    if (rl_detach_feed(&cl->dm, in[i], flush, &nf))
      return 1;
    memcpy(out + len, flush, nf);
    len += nf;
  }
  if (len > 1 && send(cl->fd, out, len, MSG_NOSIGNAL) < 0)
    cl->input = false;
  return 0;
}

static int client_signals(struct client *cl, int sfd)
{
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
    if (si.ssi_signo == SIGWINCH)
      send_winsize(cl->fd);
    else if (cl->pid1 > 0)
      kill(cl->pid1, (int)si.ssi_signo);
  }
  return 0;
}

static int client_loop(struct client *cl, int sfd, rl_error_t *err)
{
  for (;;) {
    struct pollfd p[3] = {{.fd = cl->fd, .events = POLLIN},
                          {.fd = sfd, .events = POLLIN},
                          {.fd = cl->input ? 0 : -1, .events = POLLIN}};
    if (poll(p, 3, -1) < 0 && errno != EINTR)
      return rl_make_error(err, errno, "poll");
    if (p[1].revents)
      client_signals(cl, sfd);
    if (p[2].revents && client_input(cl) == 1)
      return 1;
    if (p[0].revents) {
      char buf[1 + 4096];
      ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        return 0;
      if (n == 5 && buf[0] == 'x') {
        int32_t code;
        memcpy(&code, buf + 1, sizeof(code));
        cl->exit_code = code;
      } else if (n > 1 && buf[0] == 'o' && rl_write_all(1, buf + 1, (size_t)n - 1) < 0) {
        return 0;
      }
    }
  }
}

int rl_attach_client(int fd, bool input, const char *detach_keys, pid_t pid1, int *exit_code,
                     rl_error_t *err)
{
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  struct client cl = {.fd = fd, .input = input, .pid1 = pid1, .exit_code = -1};
  cl.dm.n = rl_detach_keys_parse(detach_keys ? detach_keys : "ctrl-p,ctrl-q", cl.dm.keys);
  if (cl.dm.n < 0)
    return rl_make_error(err, 0, "invalid --detach-keys `%s`: use e.g. ctrl-p,ctrl-q or ctrl-a,d",
                         detach_keys);
  sigset_t set, old;
  sigemptyset(&set);
  for (size_t i = 0; i < RL_ARRAY_SIZE(sigs); i++)
    sigaddset(&set, sigs[i]);
  sigprocmask(SIG_BLOCK, &set, &old);
  cleanup_close int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  struct rl_term term;
  int r = rl_term_raw(&term, 0, err);
  if (r == 0 && sfd < 0)
    r = rl_make_error(err, errno, "signalfd");
  if (r == 0) {
    send_winsize(fd);
    /* Stdin stays blocking (its file description is the shell's too): one
     * read after poll said it is readable does not block. */
    r = client_loop(&cl, sfd, err);
    if (r == 0 && exit_code)
      *exit_code = cl.exit_code;
  }
  rl_term_restore(&term);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r;
}
