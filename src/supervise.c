/* rl_container_run: clone the user namespace alone, write its maps, then
 * supervise: relay the terminal, forward signals, collect the exit status. */
#include "rl_console.h"
#include "rl_container.h"
#include "rl_ctrlog.h"
#include "rl_nsjoin.h"
#include "rl_paths.h"
#include "rl_proc.h"
#include "rl_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct run_state {
  pid_t child;                    /* the process cloned into the user namespace */
  pid_t pid1;                     /* the container's pid 1 (host pid) */
  pid_t helper;                   /* fuse-overlayfs serving the rootfs, or 0 */
  const struct rl_cgroup *cgroup; /* the container's */
  int status;                     /* wait status of pid1, valid when exited */
  bool exited;
  bool child_exited;
  bool helper_exited;
  pid_t early_pid; /* reaped before its pid arrived on the sync socket */
  int early_status;
  bool sync_eof;
  int sock;
  int master;             /* pty master with -t, else -1 */
  struct rl_pty_input in; /* stdin on its way to the pty */
  struct rl_term term;
  rl_error_t child_err; /* the first error the container reported */
  /* detached: pid 1's stdout and stderr (read ends) and the log they go to */
  int out, errout, log_fd;
  struct rl_attach_srv *attach;
  struct rl_logbuf lb_out, lb_err;
  bool started; /* on_start was called */
  const struct rl_net *netcfg;
  struct rl_net_helper net; /* pasta or slirp4netns, started on RL_SYNC_NETNS */
  rl_error_t net_err;       /* why it did not start: after the container's own error */
};

static int block_signals(sigset_t *old, int *sfd, rl_error_t *err)
{
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < RL_ARRAY_SIZE(forwarded); i++)
    sigaddset(&set, forwarded[i]);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGWINCH);
  if (sigprocmask(SIG_BLOCK, &set, old) < 0)
    return rl_make_error(err, errno, "block signals");
  *sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (*sfd < 0)
    return rl_make_error(err, errno, "signalfd");
  return 0;
}

static void on_tty(struct run_state *s, rl_error_t *err)
{
  if (rl_fd_recv(s->sock, &s->master, err) < 0)
    return;
  fcntl(s->master, F_SETFL, fcntl(s->master, F_GETFL) | O_NONBLOCK);
  rl_console_copy_winsize(isatty(0) ? 0 : 1, s->master);
  if (s->in.open)
    rl_term_raw(&s->term, 0, err);
}

/* The child's network namespace exists: the helper starts on it.  When it
 * cannot, pid 1 (waiting for RL_SYNC_NET_READY) sees the socket's end. */
static void on_netns(struct run_state *s)
{
  if (rl_net_helper_start(s->netcfg, s->sock, &s->net, &s->net_err) == 0)
    return;
  shutdown(s->sock, SHUT_WR);
}

static void on_sync(struct run_state *s, rl_error_t *err)
{
  struct rl_sync_msg m;
  int r = rl_sync_recv(s->sock, &m, err);
  if (r <= 0) {
    s->sync_eof = true;
    return;
  }
  switch (m.type) {
  case RL_SYNC_PID:
    s->pid1 = m.value;
    if (s->early_pid == s->pid1) {
      s->status = s->early_status;
      s->exited = true;
    }
    break;
  case RL_SYNC_HELPER:
    s->helper = m.value;
    /* Serving the rootfs is rless' work: not the container's pids or memory. */
    rl_cgroup_expel(s->cgroup, s->helper);
    break;
  case RL_SYNC_TTY:
    on_tty(s, err);
    break;
  case RL_SYNC_NETNS:
    on_netns(s);
    break;
  case RL_SYNC_ERROR:
    if (s->child_err == NULL)
      rl_sync_to_error(&m, &s->child_err);
    break;
  }
}

static void on_signal(struct run_state *s, int sfd)
{
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
    int sig = (int)si.ssi_signo;
    if (sig == SIGWINCH && s->master >= 0) {
      rl_console_copy_winsize(isatty(0) ? 0 : 1, s->master);
    } else if (sig == SIGCHLD) {
      int st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == s->pid1) {
          s->status = st;
          s->exited = true;
          rl_net_helper_kill(&s->net);
        } else if (p == s->child) {
          s->child_exited = true;
        } else if (p == s->helper) {
          s->helper_exited = true;
        } else if (rl_net_helper_reaped(&s->net, p)) {
          rl_debug("network: the helper (pid %d) ended with status %d", (int)p, st);
        } else if (s->pid1 <= 0) {
          s->early_pid = p;
          s->early_status = st;
        }
      }
    } else if (sig != SIGWINCH && s->pid1 > 0) {
      kill(s->pid1, sig);
    }
  }
}

static void pump_master(struct run_state *s)
{
  if (s->log_fd >= 0) {
    char buf[4096];
    ssize_t n = read(s->master, buf, sizeof(buf));
    if (n > 0) {
      rl_ctrlog_feed(s->log_fd, &s->lb_out, buf, (size_t)n);
      if (s->attach)
        rl_attach_broadcast(s->attach, buf, (size_t)n);
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    rl_ctrlog_flush(s->log_fd, &s->lb_out);
    close(s->master);
    s->master = -1;
    return;
  }
  if (rl_console_pump(s->master, 1) <= 0 && errno != EAGAIN) {
    close(s->master);
    s->master = -1;
  }
}

/* A detached container's output, into its log. */
static void pump_log(struct run_state *s, int *fd, struct rl_logbuf *b)
{
  char buf[8192];
  ssize_t n = read(*fd, buf, sizeof(buf));
  if (n > 0) {
    rl_ctrlog_feed(s->log_fd, b, buf, (size_t)n);
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    rl_ctrlog_flush(s->log_fd, b);
    close(*fd);
    *fd = -1;
  }
}

/* Exec happened (the sync socket closed without an error) or setup failed. */
static void report_start(struct run_state *s, const struct rl_container *c)
{
  if (s->started || c->on_start == NULL)
    return;
  if (s->child_err == NULL && (s->pid1 <= 0 || !s->sync_eof))
    return;
  s->started = true;
  c->on_start(c->on_start_ctx, s->pid1, s->child_err);
}

static bool finished(const struct run_state *s)
{
  if (s->exited) /* pid 1 gone: done once the pty or the pipes have drained */
    return s->master < 0 && s->out < 0 && s->errout < 0 && s->sync_eof;
  return s->sync_eof && s->pid1 <= 0 && s->child_exited; /* died before forking pid 1 */
}

static int supervise(const struct rl_container *c, struct run_state *s, int sfd, rl_error_t *err)
{
  int idle_after_exit = 0;
  while (!finished(s) && idle_after_exit < 50) {
    struct pollfd p[6 + 1 + RL_ATTACH_MAX_CLIENTS];
    int n = 0, isync = -1, imaster = -1, iin = -1, iout = -1, ierr = -1;
    p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    if (!s->sync_eof)
      p[isync = n++] = (struct pollfd){.fd = s->sock, .events = POLLIN};
    if (s->master >= 0)
      p[imaster = n++] =
          (struct pollfd){.fd = s->master, .events = (short)(POLLIN | (s->in.len ? POLLOUT : 0))};
    if (s->master >= 0 && s->in.open && s->in.len == 0)
      p[iin = n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    if (s->out >= 0)
      p[iout = n++] = (struct pollfd){.fd = s->out, .events = POLLIN};
    if (s->errout >= 0)
      p[ierr = n++] = (struct pollfd){.fd = s->errout, .events = POLLIN};
    int iattach = n;
    size_t nattach = s->attach ? rl_attach_pollfds(s->attach, p + n) : 0;
    n += (int)nattach;
    int r = poll(p, (nfds_t)n, s->exited ? 100 : -1);
    if (r < 0 && errno != EINTR)
      return rl_make_error(err, errno, "poll");
    if (r == 0)
      idle_after_exit++; /* something outside the container holds the pty: stop waiting */
    if (p[0].revents)
      on_signal(s, sfd);
    if (isync >= 0 && p[isync].revents)
      on_sync(s, err);
    if (imaster >= 0 && (p[imaster].revents & POLLOUT))
      rl_pty_input_write(&s->in, s->master);
    if (imaster >= 0 && (p[imaster].revents & (POLLIN | POLLHUP | POLLERR)))
      pump_master(s);
    if (iin >= 0 && s->master >= 0 && p[iin].revents)
      rl_pty_input_read(&s->in, 0);
    if (iout >= 0 && p[iout].revents)
      pump_log(s, &s->out, &s->lb_out);
    if (ierr >= 0 && p[ierr].revents)
      pump_log(s, &s->errout, &s->lb_err);
    if (nattach)
      rl_attach_handle(s->attach, p + iattach, nattach, s->master);
    report_start(s, c);
  }
  report_start(s, c);
  return 0;
}

/* fuse-overlayfs lives in the container's mount namespace, so its mount
 * never goes away by itself and it would serve it forever; on SIGTERM it
 * tries to unmount through fusermount, which cannot work in a user
 * namespace, and hangs.  It is killed instead: with every container process
 * gone there is no request in flight, and it writes straight to the upper
 * dir, so nothing is lost. */
static void stop_helper(struct run_state *s)
{
  if (s->helper <= 0 || s->helper_exited)
    return;
  kill(s->helper, SIGKILL);
  while (waitpid(s->helper, NULL, 0) < 0 && errno == EINTR)
    ;
}

static int exit_status(int st)
{
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return RL_EXIT_FAILURE;
}

/* The write ends belong to pid 1 alone now, so EOF means it and everything
 * it started closed them. */
static void take_log_pipes(struct rl_container *c, struct run_state *s)
{
  if (c->log_fd < 0)
    return;
  for (int i = 0; i <= 2; i++) {
    if (c->stdio[i] >= 0)
      close(c->stdio[i]);
    c->stdio[i] = -1;
  }
  s->out = c->log_out;
  s->errout = c->log_err;
  c->log_out = c->log_err = -1;
}

/* In the child (its own copy of c) while the parent writes its maps: the
 * seccomp filter and the copy of rless-init, off the parent's path to the
 * clone.  A failure waits in early_err for the child to report it. */
static void before_maps(void *ctx)
{
  struct rl_container *c = ctx;
  rl_error_t ignored = NULL;
  cleanup_free char *dir = rl_runtime_dir(NULL, &ignored);
  rl_error_free(&ignored);
  if (rl_seccomp_compile_cached(&c->seccomp, c->caps, dir, &c->seccomp_prog, &c->early_err) == 0)
    c->init_fd = rl_init_memfd(&c->early_err);
}

static int start(struct rl_container *c, struct run_state *s, rl_error_t *err)
{
  int sock = -1;
  /* container:NAME: its user namespace is joined, not made. */
  pid_t pid;
  if (c->net.join_flags)
    pid = rl_nsjoin_fork(&c->net.join, c->net.join_flags, &sock, before_maps, c, c->cgroup.fd, err);
  else
    pid = rl_userns_clone_with(&c->ns, &sock, before_maps, c, c->cgroup.fd, err);
  if (pid == 0)
    rl_child_main(c, sock);
  rl_nsjoin_close(&c->net.join); /* joined (or not): the target's fds need not live on here */
  if (pid < 0)
    return -1;
  s->sock = sock;
  s->child = pid;
  return 0;
}

int rl_container_run(struct rl_container *c, rl_error_t *err)
{
  sigset_t old;
  cleanup_close int sfd = -1;
  struct run_state s = {.master = -1,
                        .sock = -1,
                        .cgroup = &c->cgroup,
                        .in.open = c->opts->interactive && c->log_fd < 0,
                        .out = -1,
                        .errout = -1,
                        .log_fd = c->log_fd,
                        .attach = c->attach,
                        .lb_out = {.stream = "stdout"},
                        .lb_err = {.stream = "stderr"},
                        .netcfg = &c->net,
                        .net = {.exit_fd = -1}};
  if (block_signals(&old, &sfd, err) < 0)
    return -1;
  /* Pid 1 is forked by the namespaced child, which exits at once: as a
   * subreaper rless becomes pid 1's parent and collects its status. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (c->opts->tty && !c->has_winsize)
    c->has_winsize = rl_console_get_winsize(&c->winsize);
  int r = rl_cgroup_create(c->id, &c->opts->limits, &c->cgroup, err);
  if (r == 0)
    r = start(c, &s, err);
  if (r == 0)
    take_log_pipes(c, &s);
  if (r == 0)
    r = supervise(c, &s, sfd, err);
  rl_term_restore(&s.term);
  if (s.master >= 0)
    close(s.master);
  if (s.sock >= 0)
    close(s.sock);
  if (r < 0 && s.pid1 > 0 && !s.exited)
    kill(s.pid1, SIGKILL);
  stop_helper(&s);
  rl_net_helper_stop(&s.net);
  rl_cgroup_destroy(&c->cgroup, &c->oom_killed);
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (s.child_err == NULL)
    s.child_err = rl_steal_ptr(&s.net_err);
  rl_error_free(&s.net_err);
  if (s.child_err) {
    rl_error_free(err);
    *err = rl_steal_ptr(&s.child_err);
    return -1;
  }
  if (r < 0)
    return -1;
  if (!s.exited)
    return rl_make_error(err, 0, "the container exited before starting its command");
  return exit_status(s.status);
}
