/* `rless run -d`: a monitor, forked from rless (no daemon is executed),
 * holds the container's stdio, writes its log, records its exit and runs
 * the --rm cleanup.  rless returns as soon as the command was executed, or
 * reports why it could not start, with the same error format as a
 * foreground run. */
#include "rl_container.h"
#include "rl_cstate.h"
#include "rl_image_run.h"
#include "rl_monitor.h"
#include "rl_paths.h"
#include "rl_sync.h"

#include "cstate_int.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

struct monitor_ctx {
  struct rl_container *c;
  int sock; /* to the waiting rless, until the container started */
};

static void record_running(void *ctx, pid_t pid1, rl_error_t err);

/* on_start of the container: record it, tell the waiting rless, let it go. */
static void started(void *ctx, pid_t pid1, rl_error_t err)
{
  struct monitor_ctx *m = ctx;
  if (m->sock < 0)
    return;
  record_running(m->c, pid1, err);
  if (err)
    rl_sync_send_error(m->sock, err);
  else
    rl_sync_send(m->sock, RL_SYNC_PID, pid1, NULL);
  close(m->sock);
  m->sock = -1;
  /* What remains is the loop around the container: give back what starting
   * it made resident (the monitor's memory, measured by make bench). */
  rl_memtrim();
}

static int open_io(struct rl_container *c, int devnull, rl_error_t *err)
{
  cleanup_free char *path = rl_xasprintf("%s/ctr.log", c->state_dir);
  c->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (c->log_fd < 0)
    return rl_make_error(err, errno, "open the container log `%s`", path);
  c->stdio[0] = devnull;
  if (c->opts->tty)
    return 0; /* the pty master is the output; pump_master logs it */
  int out[2], errp[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe for the container's output");
  c->stdio[1] = out[1];
  c->stdio[2] = errp[1];
  c->log_out = out[0];
  c->log_err = errp[0];
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(errp[0], F_SETFL, O_NONBLOCK);
  return 0;
}

/* With -t: the attach socket.  When rless waits to attach (run -it), its
 * connection is taken before the command starts, so no output is missed. */
static int open_attach(struct rl_container *c, struct rl_attach_srv *srv, int sock, bool wait,
                       rl_error_t *err)
{
  if (!c->opts->tty)
    return 0;
  cleanup_free char *dir = rl_cstate_run_path(c->id, err);
  cleanup_free char *path = dir ? rl_xasprintf("%s/attach.sock", dir) : NULL;
  if (path == NULL || rl_mkdir_p(dir, 0700, err) < 0 || rl_attach_listen(srv, path, err) < 0)
    return -1;
  srv->input = c->opts->interactive;
  c->attach = srv;
  if (!wait)
    return 0;
  if (rl_sync_send(sock, RL_SYNC_LISTENING, 0, err) < 0)
    return -1;
  struct pollfd p = {.fd = srv->listen_fd, .events = POLLIN};
  if (poll(&p, 1, 10000) <= 0)
    return rl_make_error(err, ETIMEDOUT, "wait for rless to attach to container %.12s", c->id);
  int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return rl_make_error(err, errno, "accept on the attach socket");
  srv->clients[srv->n++] = fd;
  return 0;
}

__attribute__((noreturn)) static void monitor_main(struct rl_container *c, int sock, bool wait)
{
  rl_error_t err = NULL;
  struct rl_attach_srv srv = {.listen_fd = -1};
  /* Its own session: closing the terminal that ran `rless run -d` does
   * not hang up the monitor or the container. */
  setsid();
  signal(SIGHUP, SIG_IGN);
  if (chdir("/") < 0)
    _exit(RL_EXIT_FAILURE);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0 || open_io(c, devnull, &err) < 0 || open_attach(c, &srv, sock, wait, &err) < 0) {
    rl_sync_send_error(sock, err);
    _exit(RL_EXIT_FAILURE);
  }
  for (int i = 0; i <= 2; i++)
    dup2(devnull, i);
  struct monitor_ctx m = {.c = c, .sock = sock};
  c->on_start = started;
  c->on_start_ctx = &m;
  int code = rl_container_run(c, &err);
  if (code < 0) {
    started(&m, 0, err); /* failed before on_start could say so */
    code = err ? err->exit_code : RL_EXIT_FAILURE;
    rl_error_free(&err);
  }
  rl_container_finish(c, code);
  /* Attached clients see the end only now, with the exit recorded. */
  rl_attach_exit(&srv, code);
  rl_attach_close(&srv);
  _exit(0);
}

/* run -it: connect once the monitor listens, before it starts the command. */
static int connect_attach(const struct rl_container *c, int sock, int *fd, rl_error_t *err)
{
  struct rl_sync_msg m;
  int r = rl_sync_recv(sock, &m, err);
  if (r > 0 && m.type == RL_SYNC_ERROR)
    return rl_sync_to_error(&m, err);
  if (r <= 0 || m.type != RL_SYNC_LISTENING)
    return r < 0 ? -1 : rl_make_error(err, 0, "the monitor of container %.12s ended early", c->id);
  cleanup_free char *dir = rl_cstate_run_path(c->id, err);
  cleanup_free char *path = dir ? rl_xasprintf("%s/attach.sock", dir) : NULL;
  *fd = path ? rl_attach_connect(path, err) : -1;
  return *fd < 0 ? -1 : 0;
}

int rl_run_detached(struct rl_container *c, int *attach_fd, rl_error_t *err)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return rl_make_error(err, errno, "socketpair for the container monitor");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    monitor_main(c, sv[1], attach_fd != NULL);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return rl_make_error(err, errno, "fork the container monitor");
  }
  if (attach_fd && connect_attach(c, sv[0], attach_fd, err) < 0) {
    close(sv[0]);
    return -1;
  }
  struct rl_sync_msg m;
  int r = rl_sync_recv(sv[0], &m, err);
  close(sv[0]);
  if (r > 0 && m.type == RL_SYNC_PID) {
    c->pid1 = m.value;
    return 0;
  }
  if (r > 0 && m.type == RL_SYNC_ERROR)
    return rl_sync_to_error(&m, err);
  if (r == 0)
    rl_make_error(err, 0, "the monitor of container %.12s ended before the container started",
                  c->id);
  return -1;
}

static void record_running(void *ctx, pid_t pid1, rl_error_t err)
{
  struct rl_container *c = ctx;
  rl_error_t e = NULL;
  if (err == NULL && rl_cstate_set_running(c->id, pid1, getpid(), &e) < 0) {
    rl_warn("record container %.12s as running: %s", c->id, e->msg);
    rl_error_free(&e);
  }
}

void rl_container_track(struct rl_container *c)
{
  if (c->state_dir == NULL)
    return;
  c->on_start = record_running;
  c->on_start_ctx = c;
}

void rl_container_finish(struct rl_container *c, int code)
{
  if (c->state_dir == NULL)
    return;
  rl_error_t err = NULL;
  struct rl_store s;
  cleanup_free char *root = rl_data_dir(c->opts->root, &err);
  if (root && rl_store_open(root, false, &s, &err) == 0) {
    /* The exit record first, also with --rm: a `wait` that raced the
     * removal gets the real code. */
    rl_cstate_set_exited(&s, c->id, code, c->oom_killed, &err);
    if (c->opts->rm && err == NULL)
      rl_cstate_remove(&s, c->id, true, NULL, &err);
    rl_store_close(&s);
  }
  if (err) {
    rl_warn("container %.12s: %s", c->id, err->msg);
    rl_error_free(&err);
  }
}
