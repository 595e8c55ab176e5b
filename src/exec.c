/* rless exec: join a running container and run one more process in it.
 *
 *   rless (host) ── fork ──> joiner: setns(pidfd, user|mnt|pid|...) ── fork ──> process
 *                                    sends the process' pid, exits      (container pid ns)
 *
 * rless itself stays on the host; the joiner enters the container (setns
 * of a user namespace wants a single-threaded caller with its own fs
 * struct, which a fork is).  setns of the pid namespace only places the
 * caller's children, hence the second fork.  rless, a subreaper, inherits
 * the process when the joiner exits, relays its terminal, forwards signals
 * and collects its status, as it does for a container's pid 1. */
#include "rl_caps.h"
#include "rl_console.h"
#include "rl_cstate.h"
#include "rl_exec.h"
#include "rl_nsjoin.h"
#include "rl_proc.h"
#include "rl_options.h"
#include "rl_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

struct exec_job {
  const struct rl_exec_target *t;
  const struct rl_exec_opts *o;
  struct rl_nsjoin j;
  int nullfd;  /* the host's /dev/null, not whatever the container put there */
  int init_fd; /* rless-init, sealed: the process starts the command from it */
  uid_t host_uid;
  gid_t host_gid;
  bool has_winsize;
  struct winsize ws;
};

/* ---- Pinning the container (host side). ---- */

int rl_exec_parse_capbnd(const char *status, uint64_t *mask, rl_error_t *err)
{
  for (const char *p = status; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (strncmp(p, "CapBnd:", 7) != 0)
      continue;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p + 7, &end, 16);
    if (errno == 0 && end != p + 7 && (*end == '\n' || *end == '\0')) {
      *mask = (uint64_t)v;
      return 0;
    }
    break;
  }
  return rl_make_error(err, 0, "no valid CapBnd line in the process status");
}

/* ---- The joiner and the process (inside). ---- */

__attribute__((noreturn)) static void fail(int sock, rl_error_t *err)
{
  int code = (*err)->exit_code;
  rl_sync_send_error(sock, *err);
  rl_error_free(err);
  _exit(code);
}

/* setns of the mount namespace leaves us at its root, which is pid 1's
 * after pivot_root; pid 1 may have chrooted since, and its root wins. */
static int enter_root(int rootfd, rl_error_t *err)
{
  struct stat want, have;
  if (fstat(rootfd, &want) < 0 || stat("/", &have) < 0)
    return rl_make_error(err, errno, "stat the container's root directory");
  if ((want.st_dev != have.st_dev || want.st_ino != have.st_ino) &&
      (fchdir(rootfd) < 0 || chroot(".") < 0))
    return rl_make_error(err, errno, "chroot to the root directory of the container's pid 1");
  if (chdir("/") < 0)
    return rl_make_error(err, errno, "chdir `/` in the container");
  return 0;
}

static int resolve_user(const struct exec_job *x, struct rl_user *u, rl_error_t *err)
{
  cleanup_free char *passwd = rl_read_file_at(AT_FDCWD, "/etc/passwd", 4 << 20, NULL);
  cleanup_free char *group = rl_read_file_at(AT_FDCWD, "/etc/group", 4 << 20, NULL);
  cleanup_free char *keep = NULL;
  const char *spec = x->o->user ? x->o->user : x->t->user;
  if (spec == NULL && x->t->keep_id)
    spec = keep = rl_xasprintf("%u:%u", (unsigned)x->host_uid, (unsigned)x->host_gid);
  return rl_user_resolve(spec, passwd, group, u, err);
}

/* Always a new session: the process must not share rless' controlling
 * terminal (TIOCSTI on it would type into the host shell). */
static int setup_stdio(const struct exec_job *x, int sock, rl_error_t *err)
{
  if (x->o->tty) {
    if (rl_sync_send(sock, RL_SYNC_TTY, 0, err) < 0)
      return -1;
    return rl_console_setup_child(sock, x->has_winsize ? &x->ws : NULL, err);
  }
  if (setsid() < 0)
    return rl_make_error(err, errno, "setsid");
  for (int fd = 0; fd <= 2; fd++) {
    if ((fd == 0 && !x->o->interactive) || x->o->detach) {
      if (dup2(x->nullfd, fd) < 0)
        return rl_make_error(err, errno, "open `/dev/null` as fd %d of the process", fd);
    }
  }
  return 0;
}

static int prepare_process(const struct exec_job *x, int sock, rl_strv_t *env, rl_error_t *err)
{
  char host[HOST_NAME_MAX + 1] = "";
  struct rl_user u = {0};
  uint64_t caps = x->t->caps & x->j.capbnd;
  if (enter_root(x->j.rootfd, err) < 0)
    return -1;
  if (gethostname(host, sizeof(host)) < 0)
    return rl_make_error(err, errno, "read the container's host name");
  if (resolve_user(x, &u, err) < 0)
    return -1;
  rl_proc_env(host, x->o->tty, u.home, &x->t->env, &x->o->env, env);
  const char *wd = x->o->workdir ? x->o->workdir : x->t->workdir ? x->t->workdir : "/";
  if (setup_stdio(x, sock, err) == 0 && rl_caps_drop_bounding(caps, err) == 0 &&
      rl_proc_switch_user(&u, x->j.setgroups_allowed, x->j.single_id, caps, err) == 0 &&
      chdir(wd) < 0)
    rl_make_error(err, errno, "chdir to the working directory `%s` in the container", wd);
  rl_user_free(&u);
  return *err ? -1 : 0;
}

__attribute__((noreturn)) static void process_main(const struct exec_job *x, int sock)
{
  rl_error_t err = NULL;
  cleanup_strv rl_strv_t env = {0};
  if (prepare_process(x, sock, &env, &err) < 0 ||
      rl_proc_exec(x->o->argv.v, &env, &x->t->seccomp, NULL, x->t->caps & x->j.capbnd, x->init_fd,
                   false, &err) < 0)
    fail(sock, &err);
  _exit(RL_EXIT_FAILURE);
}

struct process_arg {
  const struct exec_job *x; /* in rless' frames, which the joiner leaves alone */
  int sock;
};

__attribute__((noreturn)) static void process_start(void *arg)
{
  const struct process_arg *a = arg;
  process_main(a->x, a->sock);
}

__attribute__((noreturn)) static void joiner_main(const struct exec_job *x, int sock)
{
  rl_error_t err = NULL;
  /* Not dumpable until exec: a process of the container (same uid inside)
   * must not ptrace us or open our /proc files while we hold host fds and
   * every capability of its user namespace. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    rl_make_error(&err, errno, "prctl(PR_SET_DUMPABLE)");
    fail(sock, &err);
  }
  if ((x->j.cgroup && rl_cgroup_enter(x->j.cgroup, &err) < 0) ||
      rl_nsjoin_enter(&x->j, x->j.flags, &err) < 0)
    fail(sock, &err);
  struct process_arg a = {.x = x, .sock = sock};
  if (rl_sync_handoff(sock, "start the process in the container's pid namespace", process_start, &a,
                      sizeof(a), &err) < 0)
    fail(sock, &err);
  _exit(0);
}

/* ---- rless' side: start the joiner, relay, wait. ---- */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* After the process exits, the pty is drained until it stays quiet this many
 * 100 ms polls: a background job of the process may keep it open for ever. */
#define RELAY_DRAIN_POLLS 3

struct relay {
  pid_t joiner;
  pid_t pid; /* the process (host pid), 0 until the joiner sends it */
  int status;
  bool exited, joiner_exited, sync_eof;
  pid_t early_pid; /* reaped before its pid arrived on the socket */
  int early_status;
  int sock;
  int master;             /* pty master with -t, else -1 */
  struct rl_pty_input in; /* stdin on its way to the pty */
  struct rl_term term;
  rl_error_t child_err; /* the first error the joiner or the process reported */
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
  if (*sfd < 0) {
    rl_make_error(err, errno, "signalfd");
    sigprocmask(SIG_SETMASK, old, NULL);
    return -1;
  }
  return 0;
}

static int on_sync(struct relay *r, rl_error_t *err)
{
  struct rl_sync_msg m;
  int n = rl_sync_recv(r->sock, &m, err);
  if (n <= 0) {
    r->sync_eof = true;
    return n;
  }
  if (m.type == RL_SYNC_PID) {
    r->pid = m.value;
    if (r->early_pid == r->pid) {
      r->status = r->early_status;
      r->exited = true;
    }
  } else if (m.type == RL_SYNC_TTY) {
    if (rl_fd_recv(r->sock, &r->master, err) < 0)
      return -1;
    fcntl(r->master, F_SETFL, fcntl(r->master, F_GETFL) | O_NONBLOCK);
    rl_console_copy_winsize(isatty(0) ? 0 : 1, r->master);
    if (r->in.open && rl_term_raw(&r->term, 0, err) < 0)
      return -1;
  } else if (m.type == RL_SYNC_ERROR && r->child_err == NULL) {
    rl_sync_to_error(&m, &r->child_err);
  }
  return 0;
}

static void reap(struct relay *r)
{
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    if (p == r->pid) {
      r->status = st;
      r->exited = true;
    } else if (p == r->joiner) {
      r->joiner_exited = true;
    } else if (r->pid <= 0) {
      r->early_pid = p;
      r->early_status = st;
    }
  }
}

static void on_signal(struct relay *r, int sfd)
{
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
    int sig = (int)si.ssi_signo;
    if (sig == SIGWINCH && r->master >= 0)
      rl_console_copy_winsize(isatty(0) ? 0 : 1, r->master);
    else if (sig == SIGCHLD)
      reap(r);
    else if (sig != SIGWINCH && r->pid > 0 && !r->exited)
      kill(r->pid, sig);
  }
}

static void pump_master(struct relay *r)
{
  if (rl_console_pump(r->master, 1) <= 0 && errno != EAGAIN)
    close(rl_steal_fd(&r->master));
}

static bool finished(const struct relay *r)
{
  /* The socket's end: an error the process sent just before it exited is
   * read before its exit ends the relay. */
  if (r->exited)
    return r->master < 0 && r->sync_eof;
  return r->sync_eof && r->pid <= 0 && r->joiner_exited; /* failed before the fork */
}

static int relay_loop(struct relay *r, int sfd, rl_error_t *err)
{
  for (int idle = 0; !finished(r) && idle < RELAY_DRAIN_POLLS;) {
    struct pollfd p[4];
    int n = 0, isync = -1, imaster = -1, iin = -1;
    p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    if (!r->sync_eof)
      p[isync = n++] = (struct pollfd){.fd = r->sock, .events = POLLIN};
    if (r->master >= 0)
      p[imaster = n++] =
          (struct pollfd){.fd = r->master, .events = (short)(POLLIN | (r->in.len ? POLLOUT : 0))};
    if (r->master >= 0 && r->in.open && r->in.len == 0)
      p[iin = n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    int ready = poll(p, (nfds_t)n, r->exited ? 100 : -1);
    if (ready < 0 && errno != EINTR)
      return rl_make_error(err, errno, "poll");
    idle = ready == 0 ? idle + 1 : 0;
    if (p[0].revents)
      on_signal(r, sfd);
    if (isync >= 0 && p[isync].revents && on_sync(r, err) < 0)
      return -1;
    if (imaster >= 0 && r->master >= 0 && (p[imaster].revents & POLLOUT))
      rl_pty_input_write(&r->in, r->master);
    if (imaster >= 0 && r->master >= 0 && (p[imaster].revents & (POLLIN | POLLHUP | POLLERR)))
      pump_master(r);
    if (iin >= 0 && r->master >= 0 && p[iin].revents)
      rl_pty_input_read(&r->in, 0);
  }
  return 0;
}

static void kill_and_wait(pid_t pid)
{
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
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

static int relay(pid_t joiner, int sock, int sfd, const struct rl_exec_opts *o, rl_error_t *err)
{
  struct relay r = {.joiner = joiner, .sock = sock, .master = -1, .in.open = o->interactive};
  int rc = relay_loop(&r, sfd, err);
  rl_term_restore(&r.term);
  if (r.master >= 0)
    close(r.master);
  close(r.sock);
  if (rc < 0 && r.pid > 0 && !r.exited)
    kill_and_wait(r.pid);
  if (!r.joiner_exited)
    kill_and_wait(joiner);
  if (r.child_err) {
    rl_error_free(err);
    *err = rl_steal_ptr(&r.child_err);
    return -1;
  }
  if (rc < 0)
    return -1;
  if (!r.exited)
    return rl_make_error(err, 0, "the process exited before its command started");
  return exit_status(r.status);
}

/* -d: done once the process has exec'd (the socket closes without an error). */
static int detached(pid_t joiner, int sock, rl_error_t *err)
{
  rl_error_t child_err = NULL;
  struct rl_sync_msg m;
  int n;
  while ((n = rl_sync_recv(sock, &m, err)) > 0)
    if (m.type == RL_SYNC_ERROR && child_err == NULL)
      rl_sync_to_error(&m, &child_err);
  close(sock);
  while (waitpid(joiner, NULL, 0) < 0 && errno == EINTR)
    ;
  if (child_err) {
    rl_error_free(err);
    *err = child_err;
    return -1;
  }
  return n < 0 ? -1 : 0;
}

static pid_t start_joiner(const struct exec_job *x, int *sock, rl_error_t *err)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return rl_make_error(err, errno, "socketpair");
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    joiner_main(x, sv[1]);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return rl_make_error(err, errno, "fork to join container %s", x->t->name);
  }
  *sock = sv[0];
  return pid;
}

static void job_init(struct exec_job *x, const struct rl_exec_target *t,
                     const struct rl_exec_opts *o)
{
  *x = (struct exec_job){.t = t, .o = o, .host_uid = getuid(), .host_gid = getgid()};
  rl_nsjoin_init(&x->j);
}

int rl_exec_run(const struct rl_exec_target *t, const struct rl_exec_opts *o, rl_error_t *err)
{
  struct exec_job x;
  sigset_t old;
  cleanup_close int sfd = -1;
  job_init(&x, t, o);
  cleanup_close int nullfd = x.nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nullfd < 0)
    return rl_make_error(err, errno, "open `/dev/null`");
  cleanup_close int init_fd = x.init_fd = rl_init_memfd(err);
  if (init_fd < 0)
    return -1;
  int sock = -1, r = rl_nsjoin_pin(t->name, t->pid, t->start_time, &x.j, err);
  bool blocked = false;
  /* Blocked before the fork, so no signal is lost; the process unblocks
   * them just before exec.  As a subreaper rless inherits the process when
   * the joiner exits. */
  if (r == 0 && !o->detach) {
    r = block_signals(&old, &sfd, err);
    blocked = r == 0;
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
  if (r == 0 && o->tty)
    x.has_winsize = rl_console_get_winsize(&x.ws);
  pid_t joiner = r == 0 ? start_joiner(&x, &sock, err) : -1;
  rl_nsjoin_close(&x.j);
  if (joiner > 0)
    r = o->detach ? detached(joiner, sock, err) : relay(joiner, sock, sfd, o, err);
  if (blocked)
    sigprocmask(SIG_SETMASK, &old, NULL);
  return joiner > 0 ? r : -1;
}
