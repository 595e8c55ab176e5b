/* rless' TCP port forwarder for slirp4netns (rl_net.h), podman's
 * rootlessport in spirit: slirp4netns' own forwarding (add_hostfwd) takes
 * every byte through its user-mode TCP stack and reaches a third of the
 * kernel's loopback throughput.
 *
 *   rless      forks it on RL_SYNC_NETNS, with the container's user and net
 *              namespace fds, the exit pipe's read end and a status pipe
 *   forwarder  binds and listens on every published TCP host port in the
 *              host's network namespace (a port in use is reported before
 *              the container's command starts), joins the container's user
 *              and network namespaces (the listeners stay in the host's),
 *              drops its capabilities and says "ready"; then for each
 *              connection it accepts it connects a socket of the container's
 *              namespace to 127.0.0.1:CONTAINER_PORT (as pasta's splice path
 *              does) and relays both ways with splice(2), a pipe per
 *              direction, EOF passed on as shutdown(SHUT_WR)
 *   end        the exit pipe's writer (rless) closes, SIGKILL from rless
 *              when pid 1 ends, or PDEATHSIG when rless dies
 *
 * A fork of rless without exec: it never enters the container's mount
 * namespace or cgroup, and closes every fd it inherited but its own. */
#include "rl_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define PIPE_SIZE (256 << 10) /* per direction; the kernel's default is 64 KiB */
/* Past this many connections the pipes keep the kernel's size: once a
 * user's pipes pass pipe-user-pages-soft (64 MiB), every new pipe of that
 * user, in any program, gets 2 pages. */
#define BIG_PIPES_MAX 64
#define MAX_EVENTS    64
#define MOVE_ROUNDS   16 /* splice rounds per event: one busy connection cannot starve the rest */
#define SPLICE_FL     (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

/* The forwarder's fds once it has moved them out of the way. */
enum { FD_USERNS = 3, FD_NETNS, FD_EXIT, FD_STATUS, FD_FIRST_FREE };

/* Its one report on the status pipe: errnum 0 and op "" is "ready". */
struct fwd_status {
  int errnum;
  uint16_t host_port, container_port;
  char host_ip[RL_NET_ADDR_MAX];
  char op[64];
};

enum ref_kind { REF_EXIT, REF_LISTEN, REF_CONN };

/* What an epoll event is about (its data.ptr). */
struct fwd_ref {
  enum ref_kind kind;
  int side;
  void *obj;
};

struct fwd_listen {
  int fd;
  uint16_t container_port;
  struct fwd_ref ref;
};

struct fwd_conn {
  int fd[2];      /* 0: the client's, in the host's netns; 1: to the container's port */
  int pipe[2][2]; /* pipe[d]: what fd[d] sent, on its way to fd[!d] */
  size_t queued[2], cap[2];
  bool eof[2];  /* fd[d] has sent everything */
  bool full[2]; /* pipe[d] took nothing more below cap (its pages partly filled) */
  bool shut[2]; /* direction d is done: fd[!d] is shut down for writing */
  bool connecting, dead;
  uint32_t mask[2]; /* what epoll waits for on fd[d]; 0: not registered */
  struct fwd_ref ref[2];
  struct fwd_conn *next_dead;
};

struct fwd {
  int ep;
  struct fwd_listen *l;
  size_t nl;
  size_t nconn, max_conns; /* max_conns: what its fd limit has room for */
  bool paused;             /* out of fds: the listeners wait until a connection ends */
  struct fwd_conn *dead;   /* freed after the batch of events that may name them */
  struct fwd_ref exit_ref;
};

bool rl_net_forwards(const struct rl_net *n)
{
  if (n->mode != RL_NET_SLIRP4NETNS || n->slirp_hostfwd)
    return false;
  for (size_t i = 0; i < n->n_ports; i++)
    if (!n->ports[i].udp)
      return true;
  return false;
}

/* ---- the forwarder's side ---- */

static void report(int errnum, const char *op, const struct rl_port *p, unsigned k)
{
  struct fwd_status st = {.errnum = errnum};
  snprintf(st.op, sizeof(st.op), "%s", op);
  if (p) {
    snprintf(st.host_ip, sizeof(st.host_ip), "%s", p->host_ip);
    st.host_port = (uint16_t)(p->host_port + k);
    st.container_port = (uint16_t)(p->container_port + k);
  }
  rl_write_all(FD_STATUS, &st, sizeof(st));
  close(FD_STATUS);
}

/* Fail before "ready": the report says why, rless prints it. */
__attribute__((noreturn)) static void fail(int errnum, const char *op, const struct rl_port *p,
                                           unsigned k)
{
  report(errnum, op, p, k);
  _exit(RL_EXIT_FAILURE);
}

static void ep_set(struct fwd *f, int fd, uint32_t old, uint32_t want, struct fwd_ref *ref)
{
  struct epoll_event ev = {.events = want, .data.ptr = ref};
  if (old == want)
    return;
  /* A socket registered for nothing still reports EPOLLHUP, again and again. */
  int op = want == 0 ? EPOLL_CTL_DEL : old == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  epoll_ctl(f->ep, op, fd, &ev);
}

static int listen_one(const struct rl_port *p, unsigned k)
{
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  socklen_t len = sizeof(*a4);
  uint16_t port = htons((uint16_t)(p->host_port + k));
  if (inet_pton(AF_INET, p->host_ip[0] ? p->host_ip : "0.0.0.0", &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = port;
  } else {
    inet_pton(AF_INET6, p->host_ip, &a6->sin6_addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = port;
    len = sizeof(*a6);
  }
  int one = 1;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail(errno, "socket", p, k);
  /* Its connections of a previous run in TIME_WAIT must not keep the port. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&ss, len) < 0)
    fail(errno, "bind", p, k);
  if (listen(fd, SOMAXCONN) < 0)
    fail(errno, "listen", p, k);
  return fd;
}

static void listen_all(const struct rl_net *n, struct fwd *f)
{
  for (size_t i = 0; i < n->n_ports; i++)
    for (unsigned k = 0; !n->ports[i].udp && k < n->ports[i].count; k++) {
      f->l = rl_xrealloc(f->l, (f->nl + 1) * sizeof(*f->l));
      struct fwd_listen *l = &f->l[f->nl++];
      l->fd = listen_one(&n->ports[i], k);
      l->container_port = (uint16_t)(n->ports[i].container_port + k);
      l->ref = (struct fwd_ref){.kind = REF_LISTEN};
    }
  for (size_t i = 0; i < f->nl; i++) { /* after the reallocs: the refs point into f->l */
    f->l[i].ref.obj = &f->l[i];
    ep_set(f, f->l[i].fd, 0, EPOLLIN, &f->l[i].ref);
  }
}

static void listeners_on(struct fwd *f, bool on)
{
  if (f->paused == !on)
    return;
  f->paused = !on;
  for (size_t i = 0; i < f->nl; i++)
    ep_set(f, f->l[i].fd, on ? 0 : EPOLLIN, on ? EPOLLIN : 0, &f->l[i].ref);
}

/* Out of fds (or memory): the listeners, level-triggered, would wake it
 * at once and for ever; they wait until a connection ends instead.  With
 * none open there is no such end to wait for: it tries again. */
static void pause_listeners(struct fwd *f)
{
  if (f->nconn > 0)
    listeners_on(f, false);
}

static void conn_update(struct fwd *f, struct fwd_conn *c)
{
  for (int s = 0; s < 2; s++) {
    uint32_t m = 0;
    if (c->connecting) {
      m = s == 1 ? EPOLLOUT : 0;
    } else {
      if (!c->eof[s] && !c->full[s] && c->queued[s] < c->cap[s])
        m |= EPOLLIN;
      if (c->queued[!s] > 0)
        m |= EPOLLOUT;
    }
    ep_set(f, c->fd[s], c->mask[s], m, &c->ref[s]);
    c->mask[s] = m;
  }
}

/* abort: the peers see a reset (the other side failed), not a clean end. */
static void conn_end(struct fwd *f, struct fwd_conn *c, bool abort)
{
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  if (c->dead)
    return;
  c->dead = true;
  for (int s = 0; s < 2; s++) {
    if (c->fd[s] >= 0 && abort)
      setsockopt(c->fd[s], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    if (c->fd[s] >= 0)
      close(c->fd[s]); /* which takes it out of the epoll set */
    for (int e = 0; e < 2; e++)
      if (c->pipe[s][e] >= 0)
        close(c->pipe[s][e]);
  }
  c->next_dead = f->dead;
  f->dead = c;
  f->nconn--;
  listeners_on(f, true);
}

static int make_pipe(struct fwd_conn *c, int d, bool big)
{
  if (pipe2(c->pipe[d], O_NONBLOCK | O_CLOEXEC) < 0)
    return -1;
  if (big) /* best effort: the user's pipe quota */
    fcntl(c->pipe[d][1], F_SETPIPE_SZ, PIPE_SIZE);
  int cap = fcntl(c->pipe[d][1], F_GETPIPE_SZ);
  c->cap[d] = cap > 0 ? (size_t)cap : 4096;
  return 0;
}

static void conn_open(struct fwd *f, int client, uint16_t port)
{
  struct fwd_conn *c = rl_xcalloc(1, sizeof(*c));
  int one = 1;
  c->fd[0] = client;
  c->fd[1] = -1;
  memset(c->pipe, -1, sizeof(c->pipe));
  for (int s = 0; s < 2; s++)
    c->ref[s] = (struct fwd_ref){.kind = REF_CONN, .side = s, .obj = c};
  c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  bool big = ++f->nconn <= BIG_PIPES_MAX;
  if (c->fd[1] < 0 || make_pipe(c, 0, big) < 0 || make_pipe(c, 1, big) < 0) {
    int e = errno;
    rl_debug("port forwarder: a connection to container port %u: %s", port, strerror(e));
    conn_end(f, c, true);
    if (e == EMFILE || e == ENFILE)
      pause_listeners(f);
    return;
  }
  /* It forwards what it gets when it gets it: Nagle would hold small writes. */
  setsockopt(c->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(c->fd[1], (struct sockaddr *)&a, sizeof(a)) == 0)
    c->connecting = false;
  else if (errno == EINPROGRESS)
    c->connecting = true;
  else {
    rl_debug("port forwarder: connect to 127.0.0.1:%u in the container: %s", port, strerror(errno));
    conn_end(f, c, true);
    return;
  }
  conn_update(f, c);
}

static void on_accept(struct fwd *f, struct fwd_listen *l)
{
  for (int i = 0; i < MAX_EVENTS && !f->paused; i++) {
    if (f->nconn >= f->max_conns) { /* the next ones wait in the backlog, not reset */
      listeners_on(f, false);
      return;
    }
    int c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      conn_open(f, c, l->container_port);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
      continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
      pause_listeners(f);
    else if (errno != EAGAIN)
      rl_debug("port forwarder: accept on host port for %u: %s", l->container_port,
               strerror(errno));
    return;
  }
}

/* Direction d: from fd[d] into pipe[d], out of it into fd[!d]. */
static int move(struct fwd_conn *c, int d)
{
  for (int i = 0; i < MOVE_ROUNDS; i++) {
    bool progress = false;
    if (c->queued[d] > 0) {
      ssize_t w = splice(c->pipe[d][0], NULL, c->fd[!d], NULL, c->queued[d], SPLICE_FL);
      if (w > 0) {
        c->queued[d] -= (size_t)w;
        c->full[d] = false;
        progress = true;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        return -1;
      }
    }
    if (!c->eof[d] && !c->full[d] && c->queued[d] < c->cap[d]) {
      ssize_t r = splice(c->fd[d], NULL, c->pipe[d][1], NULL, c->cap[d] - c->queued[d], SPLICE_FL);
      if (r > 0)
        c->queued[d] += (size_t)r;
      else if (r == 0)
        c->eof[d] = true;
      else if (errno == EAGAIN) /* an empty pipe has room: then the socket had nothing */
        c->full[d] = c->queued[d] > 0;
      else if (errno != EINTR)
        return -1;
      progress = progress || r >= 0;
    }
    if (!progress)
      break;
  }
  if (c->eof[d] && c->queued[d] == 0 && !c->shut[d]) {
    if (shutdown(c->fd[!d], SHUT_WR) < 0 && errno != ENOTCONN)
      return -1;
    c->shut[d] = true;
  }
  return 0;
}

static int connected(struct fwd_conn *c)
{
  int e = 0;
  socklen_t len = sizeof(e);
  if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &len) < 0)
    e = errno;
  if (e) {
    rl_debug("port forwarder: connect in the container: %s", strerror(e));
    return -1;
  }
  c->connecting = false;
  return 0;
}

static void on_conn(struct fwd *f, struct fwd_conn *c, int s, uint32_t ev)
{
  if (c->dead)
    return;
  if (c->connecting && (s != 1 || connected(c) < 0)) {
    conn_end(f, c, true);
    return;
  }
  /* readable: direction s moves; writable: the one into this socket */
  bool in = ev & (EPOLLIN | EPOLLHUP | EPOLLERR), out = ev & (EPOLLOUT | EPOLLHUP | EPOLLERR);
  if ((in && move(c, s) < 0) || (out && move(c, !s) < 0)) {
    conn_end(f, c, true);
    return;
  }
  if (c->shut[0] && c->shut[1])
    conn_end(f, c, false);
  else
    conn_update(f, c);
}

__attribute__((noreturn)) static void serve(struct fwd *f)
{
  struct epoll_event ev[MAX_EVENTS];
  for (;;) {
    int k = epoll_wait(f->ep, ev, MAX_EVENTS, -1);
    if (k < 0 && errno != EINTR)
      _exit(RL_EXIT_FAILURE);
    for (int i = 0; i < k; i++) {
      struct fwd_ref *r = ev[i].data.ptr;
      if (r->kind == REF_EXIT) /* rless closed its end: the container is over */
        _exit(0);
      if (r->kind == REF_LISTEN)
        on_accept(f, r->obj);
      else
        on_conn(f, r->obj, r->side, ev[i].events);
    }
    while (f->dead) {
      struct fwd_conn *c = f->dead;
      f->dead = c->next_dead;
      free(c);
    }
  }
}

static void join_container(void)
{
  if (setns(FD_USERNS, CLONE_NEWUSER) < 0)
    fail(errno, "join the container's user namespace", NULL, 0);
  if (setns(FD_NETNS, CLONE_NEWNET) < 0)
    fail(errno, "join the container's network namespace", NULL, 0);
  close(FD_USERNS);
  close(FD_NETNS);
  /* Joining gave it every capability there; relaying needs none. */
  cap_t none = cap_init();
  if (none == NULL || cap_set_proc(none) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail(errno, "drop the capabilities it got in the container's user namespace", NULL, 0);
  cap_free(none);
}

__attribute__((noreturn)) static void forwarder(const struct rl_net *n, const int ns[2],
                                                int exit_fd, int status, pid_t parent)
{
  struct rlimit rl;
  /* stderr stays for --log-level debug; then every fd but its own goes */
  const int own[] = {ns[0], ns[1], exit_fd, status};
  rl_net_child_setup(parent, own, RL_ARRAY_SIZE(own), -1);
  close_range(FD_FIRST_FREE, ~0U, 0);
  prctl(PR_SET_NAME, "rless-forward", 0, 0, 0);
  signal(SIGPIPE, SIG_IGN); /* a peer gone is an EPIPE from splice */
  struct fwd f = {.exit_ref = {.kind = REF_EXIT}};
  if ((f.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
    fail(errno, "epoll_create1", NULL, 0);
  listen_all(n, &f); /* in the host's network namespace, before joining the container's */
  /* Six fds a connection (two sockets, two pipes): as many as the hard
   * limit allows, beside the ones it has now and a few to spare. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  rlim_t used = FD_FIRST_FREE + 1 + f.nl + 8;
  f.max_conns = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > used + 6
                    ? (size_t)((rl.rlim_cur - used) / 6)
                    : 1;
  join_container();
  ep_set(&f, FD_EXIT, 0, EPOLLIN, &f.exit_ref);
  report(0, "", NULL, 0);
  serve(&f);
}

pid_t rl_net_forward_spawn(const struct rl_net *n, const int ns[2], int exit_fd, int *status_fd,
                           rl_error_t *err)
{
  int st[2];
  if (pipe2(st, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "a pipe for rless' port forwarder");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0)
    forwarder(n, ns, exit_fd, st[1], parent);
  close(st[1]);
  if (pid < 0) {
    close(st[0]);
    return rl_make_error(err, errno, "fork rless' port forwarder");
  }
  rl_debug("network: started the port forwarder (pid %d)", (int)pid);
  *status_fd = st[0];
  return pid;
}

/* ---- rless' side ---- */

int rl_net_forward_ready(int status_fd, rl_error_t *err)
{
  struct fwd_status st;
  ssize_t r;
  while ((r = read(status_fd, &st, sizeof(st))) < 0 && errno == EINTR)
    ;
  if (r != (ssize_t)sizeof(st))
    return rl_make_error(err, r < 0 ? errno : 0,
                         "start rless' port forwarder for slirp4netns: it ended before it was "
                         "ready");
  st.op[sizeof(st.op) - 1] = st.host_ip[sizeof(st.host_ip) - 1] = '\0';
  if (st.errnum == 0 && st.op[0] == '\0')
    return 0;
  if (st.host_port == 0)
    return rl_make_error(err, st.errnum, "start rless' port forwarder for slirp4netns: %s", st.op);
  cleanup_free char *addr = rl_net_host_text(st.host_ip);
  rl_make_error(err, st.errnum, "publish host port %s:%u (container port %u/tcp): %s", addr,
                st.host_port, st.container_port, st.op);
  if (st.errnum == EADDRINUSE)
    return rl_error_hint(err,
                         "something on the host has port %u already (`ss -tlpn` shows what): "
                         "publish another host port, or leave it out for a free one (-p %u)",
                         st.host_port, st.container_port);
  if (st.errnum == EADDRNOTAVAIL)
    return rl_error_hint(err, "%s is no address of this host (`ip -br addr` lists them)",
                         st.host_ip);
  return -1;
}
