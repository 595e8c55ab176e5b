/* The network helper on the run path (rl_net.h).
 *
 *   child   unshare(CLONE_NEWNET), lo up, the helper's tap device made
 *           persistent, RL_SYNC_NETNS + its user and net namespace fds
 *           (SCM_RIGHTS: no /proc/PID race with pid 1's user switch), fork
 *           pid 1
 *   rless   start pasta or slirp4netns on those fds, and for slirp4netns'
 *           TCP ports rless' forwarder (net_forward.c); readiness is an
 *           event on a pipe (pasta --pid, slirp4netns --ready-fd, the
 *           forwarder's report); publish the other ports (pasta: its -t/-u;
 *           slirp4netns: its API socket); send RL_SYNC_NET_READY
 *   pid 1   sets itself up meanwhile, and waits for RL_SYNC_NET_READY just
 *           before exec
 *
 * The helper is rless' child with PR_SET_PDEATHSIG: it is killed when the
 * container ends, and dies with rless (or the monitor) if that is killed. */
#include "rl_console.h"
#include "rl_net.h"
#include "rl_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define READY_TIMEOUT_MS 30000 /* a helper that neither starts nor fails */

static bool has_helper(const struct rl_net *n)
{
  return n->mode == RL_NET_PASTA || n->mode == RL_NET_SLIRP4NETNS;
}

int rl_net_unshare_flags(const struct rl_net *n, int base)
{
  int f = base;
  if (n->mode == RL_NET_NONE || has_helper(n))
    f |= CLONE_NEWNET;
  if (n->join_flags & CLONE_NEWPID)
    f &= ~CLONE_NEWPID;
  if (n->join_flags & CLONE_NEWIPC)
    f &= ~CLONE_NEWIPC;
  return f;
}

/* The helper attaches to this device instead of making one: a device that
 * is not persistent is unregistered when the helper's fd closes, in its
 * exit, and that waits for RCU grace periods under the rtnl lock (24 ms
 * for slirp4netns, 33 ms for pasta, measured) which rless waited for at
 * every container's end.  A persistent one goes with the namespace, in the
 * kernel's own cleanup work.  Best effort: without it the helper makes its
 * own. */
static void persistent_tap(const char *name)
{
  struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI}; /* what both helpers ask for */
  if (name[0] == '\0')
    return;
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
    rl_debug("network: a persistent tap device `%s`: %s", name, strerror(errno));
  if (fd >= 0)
    close(fd);
}

int rl_net_child_netns(const struct rl_net *n, int sock, rl_error_t *err)
{
  if (!has_helper(n))
    return 0;
  persistent_tap(n->tap);
  cleanup_close int user = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  cleanup_close int net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (user < 0 || net < 0)
    return rl_make_error(err, errno, "open the container's namespaces for the network helper");
  if (rl_sync_send(sock, RL_SYNC_NETNS, 0, err) < 0 || rl_fd_send(sock, user, err) < 0 ||
      rl_fd_send(sock, net, err) < 0)
    return -1;
  return 0;
}

int rl_net_wait_ready(const struct rl_net *n, int sock, rl_error_t *err)
{
  if (!has_helper(n))
    return 0;
  struct rl_sync_msg m;
  int r = rl_sync_recv(sock, &m, err);
  if (r == 0)
    _exit(RL_EXIT_FAILURE); /* the helper failed: rless reports why */
  if (r < 0)
    return -1;
  if (m.type != RL_SYNC_NET_READY)
    return rl_make_error(err, EPROTO, "wait for the container's network helper");
  return 0;
}

/* ---- starting a helper ---- */

#define N_FDS 4 /* what a helper gets at fds 3.. */

void rl_net_child_setup(pid_t parent, const int *fds, size_t nfds, int err_fd)
{
  sigset_t none;
  int tmp[N_FDS];
  if (nfds > N_FDS || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
    _exit(RL_EXIT_FAILURE);
  /* Out of rless' process group: a terminal's ^C or hangup is for the
   * container (rless forwards it), the helper ends with the container. */
  setsid();
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL); /* rless blocks what it reads from a signalfd */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || (err_fd >= 0 && dup2(err_fd, 2) < 0))
    _exit(RL_EXIT_FAILURE);
  /* Out of the way first, so no target overwrites a source. */
  for (size_t i = 0; i < nfds; i++)
    if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + N_FDS)) < 0)
      _exit(RL_EXIT_FAILURE);
  for (size_t i = 0; i < nfds; i++)
    if (dup2(tmp[i], 3 + (int)i) < 0)
      _exit(RL_EXIT_FAILURE);
}

__attribute__((noreturn)) static void exec_helper(const char *path, char **argv, const int *fds,
                                                  size_t nfds, int log, pid_t parent)
{
  rl_net_child_setup(parent, fds, nfds, log);
  signal(SIGHUP, SIG_DFL); /* the monitor ignores it */
  signal(SIGPIPE, SIG_DFL);
  execv(path, argv);
  dprintf(2, "exec `%s`: %s\n", path, strerror(errno));
  _exit(RL_EXIT_NOTFOUND);
}

static pid_t spawn(const char *path, const rl_strv_t *argv, const int *fds, size_t nfds, int log,
                   rl_error_t *err)
{
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0)
    exec_helper(path, argv->v, fds, nfds, log, parent);
  if (pid < 0)
    return rl_make_error(err, errno, "fork for the network helper `%s`", path);
  rl_debug("network: started %s (pid %d)", path, (int)pid);
  return pid;
}

/* What the helper said on its stderr, without pasta's syslog complaints. */
static char *log_text(int log)
{
  char buf[2048];
  ssize_t n = pread(log, buf, sizeof(buf) - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  char *s = rl_xstrdup("");
  for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (strstr(l, "to syslog") || *l == '\0')
      continue;
    char *next = rl_xasprintf("%s%s%s", s, *s ? "; " : "", l);
    free(s);
    s = next;
  }
  return s;
}

/* The helper ended (or never got ready): its status and what it said. */
static int helper_failed(const char *name, struct rl_net_helper *h, int log, rl_error_t *err)
{
  int st = 0;
  kill(h->pid, SIGKILL);
  while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
    ;
  h->exited = true;
  cleanup_free char *said = log_text(log);
  if (WIFEXITED(st))
    rl_make_error(err, 0, "start %s for the container's network: it exited with status %d%s%s",
                  name, WEXITSTATUS(st), *said ? ": " : "", said);
  else
    rl_make_error(err, 0, "start %s for the container's network: it did not get ready%s%s", name,
                  *said ? ": " : "", said);
  if (strstr(said, "bind") || strstr(said, "in use"))
    rl_error_hint(err, "is a published host port in use already? `ss -tulpn` shows who has it");
  return -1;
}

/* Readiness: data on `fd` (pasta's pid, slirp4netns' "1"); EOF means the
 * helper closed it without getting ready. */
static int read_ready(int fd)
{
  char buf[32];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) < 0 && errno == EINTR)
    ;
  return n > 0 ? 0 : -1;
}

/* The helper's readiness and the forwarder's report (fwd -1: none), which
 * come in any order: one event each. */
static int wait_ready(const char *name, struct rl_net_helper *h, int ready, int fwd, int log,
                      rl_error_t *err)
{
  struct pollfd p[2] = {{.fd = ready, .events = POLLIN}, {.fd = fwd, .events = POLLIN}};
  while (p[0].fd >= 0 || p[1].fd >= 0) {
    int r = poll(p, 2, READY_TIMEOUT_MS);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0 && p[0].fd >= 0)
      return helper_failed(name, h, log, err);
    if (r <= 0)
      return rl_make_error(err, r < 0 ? errno : ETIMEDOUT,
                           "start rless' port forwarder for slirp4netns");
    if (p[0].revents && read_ready(ready) < 0)
      return helper_failed(name, h, log, err);
    if (p[1].revents && rl_net_forward_ready(fwd, err) < 0)
      return -1;
    for (int i = 0; i < 2; i++)
      if (p[i].revents)
        p[i].fd = -1;
  }
  return 0;
}

static bool args_have(const rl_strv_t *args, const char *option)
{
  size_t len = strlen(option);
  for (size_t i = 0; i < args->n; i++)
    if (strncmp(args->v[i], option, len) == 0 &&
        (args->v[i][len] == '\0' || args->v[i][len] == '='))
      return true;
  return false;
}

static bool args_name_ifname(const rl_strv_t *args)
{
  return args_have(args, "-I") || args_have(args, "--ns-ifname");
}

/* slirp4netns' API socket adds its UDP ports, and its TCP ports too with
 * port_handler=slirp4netns; rless' forwarder has the TCP ports otherwise. */
static bool by_slirp_api(const struct rl_net *n, const struct rl_port *p)
{
  return p->udp || n->slirp_hostfwd;
}

static bool slirp_api_needed(const struct rl_net *n)
{
  for (size_t i = 0; n->api_path && i < n->n_ports; i++)
    if (by_slirp_api(n, &n->ports[i]))
      return true;
  return false;
}

static void pasta_argv(const struct rl_net *n, rl_strv_t *a)
{
  static const char *const fixed[] = {"pasta",
                                      "--config-net",
                                      "--quiet",
                                      "--foreground",
                                      "--no-netns-quit",
                                      "--userns",
                                      "/proc/self/fd/3",
                                      "--netns",
                                      "/proc/self/fd/4",
                                      "--pid",
                                      "/proc/self/fd/5",
                                      "-T",
                                      "none",
                                      "-U",
                                      "none"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(fixed); i++)
    rl_strv_push(a, fixed[i]);
  /* Started by root, pasta changes to nobody, who cannot enter a user
   * namespace that root owns: it stays root then (its --runas). */
  if (geteuid() == 0 && !args_have(&n->helper_args, "--runas")) {
    rl_strv_push(a, "--runas");
    rl_strv_push_owned(a, rl_xasprintf("0:%u", (unsigned)getegid()));
  }
  if (n->tap[0] && !args_name_ifname(&n->helper_args)) { /* the persistent tap's name */
    rl_strv_push(a, "-I");
    rl_strv_push(a, n->tap);
  }
  rl_strv_push(a, "-t");
  rl_strv_push_owned(a, rl_net_pasta_ports(n->ports, n->n_ports, false));
  rl_strv_push(a, "-u");
  rl_strv_push_owned(a, rl_net_pasta_ports(n->ports, n->n_ports, true));
  if (!n->host_loopback)
    rl_strv_push(a, "--no-map-gw");
  if (n->dns_forward[0]) {
    rl_strv_push(a, "--dns-forward");
    rl_strv_push(a, n->dns_forward);
  }
  for (size_t i = 0; i < n->helper_args.n; i++)
    rl_strv_push(a, n->helper_args.v[i]);
}

static void slirp_argv(const struct rl_net *n, rl_strv_t *a)
{
  static const char *const fixed[] = {"slirp4netns",       "--configure",
                                      "--ready-fd=5",      "--exit-fd=6",
                                      "--netns-type=path", "--userns-path=/proc/self/fd/3"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(fixed); i++)
    rl_strv_push(a, fixed[i]);
  rl_strv_push_owned(a, rl_xasprintf("--mtu=%u", n->mtu ? n->mtu : 65520));
  if (!n->host_loopback)
    rl_strv_push(a, "--disable-host-loopback");
  if (n->ipv6)
    rl_strv_push(a, "--enable-ipv6");
  if (n->cidr)
    rl_strv_push_owned(a, rl_xasprintf("--cidr=%s", n->cidr));
  if (slirp_api_needed(n))
    rl_strv_push_owned(a, rl_xasprintf("--api-socket=%s", n->api_path));
  for (size_t i = 0; i < n->helper_args.n; i++)
    rl_strv_push(a, n->helper_args.v[i]);
  rl_strv_push(a, "/proc/self/fd/4");
  rl_strv_push(a, "tap0");
}

/* One request on slirp4netns' API socket (one connection each). */
static int slirp_api(const char *path, json_t *req, rl_error_t *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  cleanup_free char *text = json_dumps(req, JSON_COMPACT);
  cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      rl_write_all(fd, text, strlen(text)) < 0 || shutdown(fd, SHUT_WR) < 0)
    return rl_make_error(err, errno, "talk to slirp4netns on `%s`", path);
  char buf[4096];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
    if (r < 0 && errno != EINTR)
      return rl_make_error(err, errno, "read slirp4netns' answer on `%s`", path);
    len += r > 0 ? (size_t)r : 0;
  }
  buf[len] = '\0';
  json_t *ans = json_loads(buf, 0, NULL);
  const char *desc = json_string_value(json_object_get(json_object_get(ans, "error"), "desc"));
  int rc = 0;
  if (ans == NULL || desc || json_object_get(ans, "return") == NULL)
    rc = rl_make_error(err, 0, "slirp4netns refused `%s`: %s", text, desc ? desc : buf);
  json_decref(ans);
  return rc;
}

static int slirp_publish(const struct rl_net *n, rl_error_t *err)
{
  for (size_t i = 0; i < n->n_ports; i++) {
    const struct rl_port *p = &n->ports[i];
    for (unsigned k = 0; by_slirp_api(n, p) && k < p->count; k++) {
      json_t *req = json_pack("{s:s, s:{s:s, s:s, s:i, s:s, s:i}}", "execute", "add_hostfwd",
                              "arguments", "proto", p->udp ? "udp" : "tcp", "host_addr",
                              p->host_ip[0] ? p->host_ip : "0.0.0.0", "host_port", p->host_port + k,
                              "guest_addr", n->address, "guest_port", p->container_port + k);
      int r = slirp_api(n->api_path, req, err);
      json_decref(req);
      if (r < 0)
        return rl_error_wrap(err, "publish host port %u", p->host_port + k);
    }
  }
  return 0;
}

/* The helper, and the forwarder beside it (it binds the host ports while
 * slirp4netns starts); both get the exit pipe's read end. */
static int start_helper(const struct rl_net *n, const int ns[2], struct rl_net_helper *h,
                        rl_error_t *err)
{
  bool pasta = n->mode == RL_NET_PASTA, api = !pasta && slirp_api_needed(n);
  const char *name = rl_net_mode_name(n->mode);
  cleanup_strv rl_strv_t argv = {0};
  cleanup_close int log = memfd_create("rless-net-helper", MFD_CLOEXEC);
  cleanup_close int fwd = -1;
  int ready[2] = {-1, -1}, ex[2] = {-1, -1};
  if (log < 0 || pipe2(ready, O_CLOEXEC) < 0 || (!pasta && pipe2(ex, O_CLOEXEC) < 0))
    rl_make_error(err, errno, "pipes for the network helper");
  if (pasta)
    pasta_argv(n, &argv);
  else
    slirp_argv(n, &argv);
  int fds[N_FDS] = {ns[0], ns[1], ready[1], ex[0]};
  if (api)
    unlink(n->api_path); /* left by a killed rless: slirp4netns would not bind it */
  if (*err == NULL)
    h->pid = spawn(n->helper, &argv, fds, pasta ? 3 : 4, log, err);
  if (*err == NULL && rl_net_forwards(n))
    h->fwd_pid = rl_net_forward_spawn(n, ns, ex[0], &fwd, err);
  if (ready[1] >= 0)
    close(rl_steal_fd(&ready[1]));
  if (ex[0] >= 0)
    close(rl_steal_fd(&ex[0]));
  h->exit_fd = rl_steal_fd(&ex[1]);
  if (*err == NULL && wait_ready(name, h, ready[0], fwd, log, err) == 0 && api) {
    h->api_path = rl_xstrdup(n->api_path);
    slirp_publish(n, err);
  }
  if (ready[0] >= 0)
    close(ready[0]);
  return *err ? -1 : 0;
}

int rl_net_helper_start(const struct rl_net *n, int sock, struct rl_net_helper *h, rl_error_t *err)
{
  int ns[2] = {-1, -1};
  int r = rl_fd_recv(sock, &ns[0], err);
  if (r == 0)
    r = rl_fd_recv(sock, &ns[1], err);
  if (r == 0)
    r = start_helper(n, ns, h, err);
  for (int i = 0; i < 2; i++)
    if (ns[i] >= 0)
      close(ns[i]);
  if (r == 0 && rl_sync_send(sock, RL_SYNC_NET_READY, 0, err) < 0) {
    /* The container ended while its network was made: its own error says why. */
    r = (*err)->errnum == EPIPE ? 0 : -1;
    if (r == 0)
      rl_error_free(err);
  }
  return r;
}

bool rl_net_helper_reaped(struct rl_net_helper *h, pid_t pid)
{
  if (h->fwd_pid > 0 && pid == h->fwd_pid) {
    h->fwd_exited = true;
    return true;
  }
  if (h->pid <= 0 || pid != h->pid)
    return false;
  h->exited = true;
  return true;
}

void rl_net_helper_kill(struct rl_net_helper *h)
{
  if (h->fwd_pid > 0 && !h->fwd_exited)
    kill(h->fwd_pid, SIGKILL);
  if (h->pid > 0 && !h->exited)
    kill(h->pid, SIGKILL);
}

static void reap(pid_t pid, bool exited)
{
  if (pid <= 0 || exited)
    return;
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

void rl_net_helper_stop(struct rl_net_helper *h)
{
  reap(h->fwd_pid, h->fwd_exited);
  reap(h->pid, h->exited);
  h->fwd_pid = 0;
  h->pid = 0;
  if (h->exit_fd >= 0)
    close(rl_steal_fd(&h->exit_fd));
  if (h->api_path)
    unlink(h->api_path);
  free(rl_steal_ptr(&h->api_path));
}
