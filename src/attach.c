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

static int fill_addr(struct sockaddr_un *a, const char *path, rl_error_t *err)
{
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(a->sun_path)) {
    rl_make_error(err, ENAMETOOLONG, "attach socket `%s`", path);
    return rl_error_hint(err, "the runtime dir's path is too long for a unix socket; set "
                              "XDG_RUNTIME_DIR to a shorter dir");
  }
  memcpy(a->sun_path, path, strlen(path));
  return 0;
}

int rl_attach_listen(struct rl_attach_srv *s, const char *path, rl_error_t *err)
{
  struct sockaddr_un a;
  s->listen_fd = -1;
  s->n = 0;
  if (fill_addr(&a, path, err) < 0)
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
  if (buf[0] == 'd' && master >= 0) {
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

void rl_attach_broadcast(struct rl_attach_srv *s, const char *data, size_t len)
{
  for (size_t i = s->n; i-- > 0;) {
    if (send(s->clients[i], data, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EINTR)
      drop(s, i);
  }
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
