/* The live half of a container's state: state.json in the runtime dir
 * (pid 1 and its monitor, with their start times so a reused pid is never
 * taken for them), started.json and exit.json in the data dir, the status
 * derived from those facts, and waiting for an exit without polling. */
#include "cstate_int.h"
#include "rl_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>

#define STATE_FILE   "state.json"
#define STARTED_FILE "started.json"
#define EXIT_FILE    "exit.json"
#define DATA_LINK    "data"
/* How long the monitor may take to write exit.json after pid 1 is gone. */
#define EXIT_RECORD_TIMEOUT_MS 5000

unsigned long long rl_proc_start_time(pid_t pid)
{
  if (pid <= 0)
    return 0;
  cleanup_free char *path = rl_xasprintf("/proc/%d/stat", (int)pid);
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, 4096, NULL);
  /* comm (field 2) may hold spaces and parentheses: fields resume after the last ')'. */
  char *p = text ? strrchr(text, ')') : NULL;
  if (p == NULL)
    return 0;
  char *save = NULL, *tok = strtok_r(p + 1, " ", &save);
  if (tok == NULL || *tok == 'Z' || *tok == 'X')
    return 0;
  for (int field = 3; tok && field < 22; field++)
    tok = strtok_r(NULL, " ", &save);
  return tok ? strtoull(tok, NULL, 10) : 0;
}

int rl_pidfd_for(pid_t pid, unsigned long long start)
{
  if (pid <= 0 || start == 0) {
    errno = ESRCH;
    return -1;
  }
  int fd = pidfd_open(pid, 0);
  if (fd < 0)
    return -1;
  /* Checked after the open: the pidfd now pins the process that had that
   * start time, or the pid was reused before and we let go. */
  if (rl_proc_start_time(pid) != start) {
    close(fd);
    errno = ESRCH;
    return -1;
  }
  return fd;
}

int rl_pidfd_wait(int pidfd, int timeout_ms)
{
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    int left = timeout_ms;
    if (timeout_ms >= 0) {
      struct timespec t;
      clock_gettime(CLOCK_MONOTONIC, &t);
      long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
      left = spent >= timeout_ms ? 0 : timeout_ms - (int)spent;
    }
    int r = poll(&p, 1, left);
    if (r > 0)
      return 1;
    if (r == 0)
      return 0;
    if (errno != EINTR)
      return 1; /* a pidfd poll cannot fail otherwise: do not spin */
  }
}

char *rl_cstate_run_path(const char *id, rl_error_t *err)
{
  cleanup_free char *run = rl_runtime_dir(NULL, err);
  return run ? rl_xasprintf("%s/containers/%s", run, id) : NULL;
}

char *rl_cstate_run_dir(const struct rl_store *s, const char *id, rl_error_t *err)
{
  cleanup_free char *path = rl_cstate_run_path(id, err);
  cleanup_free char *rel = rl_xasprintf("containers/%s", id);
  char data[PATH_MAX];
  if (path == NULL || rl_mkdir_p(path, 0700, err) < 0)
    return NULL;
  /* Absolute: --root may be relative, and the link is read from elsewhere. */
  cleanup_close int fd = openat(s->rootfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_free char *self = fd < 0 ? NULL : rl_xasprintf("/proc/self/fd/%d", fd);
  ssize_t n = self ? readlink(self, data, sizeof(data) - 1) : -1;
  if (n < 0) {
    rl_make_error(err, errno, "resolve the container dir `%s/%s`", s->root, rel);
    return NULL;
  }
  data[n] = '\0';
  cleanup_free char *link = rl_xasprintf("%s/" DATA_LINK, path);
  char old[PATH_MAX];
  ssize_t m = readlink(link, old, sizeof(old) - 1);
  if (m >= 0 && (size_t)m == (size_t)n && memcmp(old, data, (size_t)n) == 0)
    return rl_steal_ptr(&path);
  if (m >= 0)
    unlink(link);
  if (symlink(data, link) < 0 && errno != EEXIST) {
    rl_make_error(err, errno, "link `%s` to `%s`", link, data);
    return NULL;
  }
  return rl_steal_ptr(&path);
}

static json_t *read_json(int dirfd, const char *shown, const char *name)
{
  rl_error_t e = NULL;
  json_t *j = dirfd < 0 ? NULL : rl_cstate_json_read_at(dirfd, shown, name, &e);
  if (e) {
    /* A damaged live file is no fact: the status is derived without it. */
    rl_debug("%s", e->msg);
    rl_error_free(&e);
  }
  return j;
}

static unsigned long long json_u64(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (unsigned long long)json_integer_value(v)
                                                         : 0;
}

static char *json_dup(json_t *o, const char *key)
{
  const char *v = json_string_value(json_object_get(o, key));
  return v ? rl_xstrdup(v) : NULL;
}

int rl_cstate_set_running(const char *id, pid_t pid, pid_t monitor, rl_error_t *err)
{
  cleanup_free char *path = rl_cstate_run_path(id, err);
  if (path == NULL || rl_mkdir_p(path, 0700, err) < 0)
    return -1;
  cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(err, errno, "open the runtime dir `%s`", path);
  cleanup_free char *now = rl_rfc3339_nano_now();
  /* A pid 1 that already exited (a zombie) gets start time 0: never "running". */
  json_t *st =
      json_pack("{s:i, s:I, s:i, s:I, s:s}", "pid", (int)pid, "start_time",
                (json_int_t)rl_proc_start_time(pid), "monitor_pid", (int)monitor,
                "monitor_start_time", (json_int_t)rl_proc_start_time(monitor), "started_at", now);
  int r = rl_cstate_json_write_at(fd, path, STATE_FILE, st, err);
  json_decref(st);
  if (r < 0)
    return -1;
  cleanup_close int data = openat(fd, DATA_LINK, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (data < 0) {
    rl_debug("no `%s/" DATA_LINK "` (runtime dir recreated?): started.json not written", path);
    return 0;
  }
  if (unlinkat(data, EXIT_FILE, 0) < 0 && errno != ENOENT)
    return rl_make_error(err, errno, "remove the earlier `%s/" DATA_LINK "/" EXIT_FILE "`", path);
  json_t *started = json_pack("{s:s}", "started_at", now);
  r = rl_cstate_json_write_at(data, path, STARTED_FILE, started, err);
  json_decref(started);
  return r;
}

/* The started_at of the run in progress: state.json, else started.json. */
static char *current_start(int dirfd, const char *dir, const char *id)
{
  rl_error_t e = NULL;
  cleanup_free char *run = rl_cstate_run_path(id, &e);
  rl_error_free(&e);
  cleanup_close int runfd = run ? open(run, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  json_t *st = read_json(runfd, run, STATE_FILE);
  if (st == NULL)
    st = read_json(dirfd, dir, STARTED_FILE);
  char *r = json_dup(st, "started_at");
  json_decref(st);
  return r;
}

int rl_cstate_set_exited(const struct rl_store *s, const char *id, int exit_code, bool oom_killed,
                         rl_error_t *err)
{
  if (!rl_cstate_id_valid(id))
    return rl_make_error(err, EINVAL, "record the exit: malformed container id `%s`", id);
  cleanup_free char *dir = rl_xasprintf("%s/containers/%s", s->root, id);
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    rl_debug("container %.12s was removed while it ran: no exit to record", id);
    return 0;
  }
  if (fd < 0)
    return rl_make_error(err, errno, "open the container dir `%s`", dir);
  cleanup_free char *started = current_start(fd, dir, id);
  cleanup_free char *now = rl_rfc3339_nano_now();
  json_t *j =
      json_pack("{s:i, s:b, s:s, s:o}", "exit_code", exit_code, "oom_killed", oom_killed,
                "finished_at", now, "started_at", started ? json_string(started) : json_null());
  int r = rl_cstate_json_write_at(fd, dir, EXIT_FILE, j, err);
  json_decref(j);
  if (r < 0 && (*err)->errnum == ENOENT) {
    rl_error_free(err); /* removed between the open and the write */
    return 0;
  }
  return r;
}

static void apply_exit(struct rl_cstate *c, json_t *ex)
{
  json_t *code = json_object_get(ex, "exit_code");
  c->exit_code = json_is_integer(code) ? (int)json_integer_value(code) : -1;
  c->oom_killed = json_is_true(json_object_get(ex, "oom_killed"));
  c->finished_at = json_dup(ex, "finished_at");
  if (c->started_at == NULL)
    c->started_at = json_dup(ex, "started_at");
}

int rl_cstate_derive(const struct rl_store *s, struct rl_cstate *c, rl_error_t *err)
{
  cleanup_free char *run = rl_cstate_run_path(c->id, err);
  cleanup_free char *dir = rl_xasprintf("%s/containers/%s", s->root, c->id);
  if (run == NULL)
    return -1;
  cleanup_close int runfd = open(run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  json_t *st = read_json(runfd, run, STATE_FILE);
  json_t *started = read_json(dirfd, dir, STARTED_FILE);
  pid_t pid = (pid_t)json_u64(st, "pid");
  unsigned long long start = json_u64(st, "start_time");
  c->exit_code = -1;
  c->started_at = json_dup(st ? st : started, "started_at");
  if (start != 0 && rl_proc_start_time(pid) == start) {
    c->status = RL_CSTATUS_RUNNING;
    c->pid = pid;
    c->pid_start = start;
  }
  pid_t mon = (pid_t)json_u64(st, "monitor_pid");
  unsigned long long mstart = json_u64(st, "monitor_start_time");
  if (mstart != 0 && rl_proc_start_time(mon) == mstart) {
    c->monitor_pid = mon;
    c->monitor_start = mstart;
  }
  if (c->status != RL_CSTATUS_RUNNING) {
    json_t *ex = read_json(dirfd, dir, EXIT_FILE);
    if (ex || st || started)
      c->status = RL_CSTATUS_EXITED;
    if (ex)
      apply_exit(c, ex);
    json_decref(ex);
  }
  json_decref(st);
  json_decref(started);
  return 0;
}

/* exit.json of the run that started at `started` (NULL: any); 1 read into *code. */
static int read_exit(int dirfd, const char *dir, const char *started, int *code)
{
  json_t *ex = read_json(dirfd, dir, EXIT_FILE);
  const char *was = json_string_value(json_object_get(ex, "started_at"));
  json_t *v = json_object_get(ex, "exit_code");
  int r = ex && json_is_integer(v) && (started == NULL || was == NULL || strcmp(was, started) == 0);
  if (r)
    *code = (int)json_integer_value(v);
  json_decref(ex);
  return r;
}

/* After pid 1 is gone: exit.json, waiting for the monitor to write it. */
/* dirfd was opened before pid 1 exited: an `rm -f` that moves the dir away
 * right after the monitor wrote the record cannot take it from us. */
static int wait_exit_record(int dirfd, const char *dir, const char *started, int *code,
                            rl_error_t *err)
{
  cleanup_close int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0)
    return rl_make_error(err, errno, "inotify_init1");
  *code = -1;
  if (dirfd < 0)
    return 0; /* removed as it exited (--rm, rm -f): its code is gone with it */
  /* Watch first, then look: a record written in between is not missed.
   * Through the fd: the dir may have been moved already. */
  char self[64];
  snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
  if (inotify_add_watch(in, self, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
    return rl_make_error(err, errno, "watch the container dir `%s`", dir);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* A dir moved away (rm, --rm) is still readable through dirfd: the
   * record written just before is read once more, then we stop. */
  for (bool gone = false;;) {
    if (read_exit(dirfd, dir, started, code) || gone)
      return 0;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
    struct pollfd p = {.fd = in, .events = POLLIN};
    if (spent >= EXIT_RECORD_TIMEOUT_MS ||
        (poll(&p, 1, (int)(EXIT_RECORD_TIMEOUT_MS - spent)) < 0 && errno != EINTR))
      return 0;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(in, buf, sizeof(buf));
    for (ssize_t off = 0; off < n;) {
      const struct inotify_event *ev = (const void *)(buf + off);
      gone = gone || (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED));
      off += (ssize_t)sizeof(*ev) + ev->len;
    }
  }
}

int rl_cstate_wait(const struct rl_store *s, const char *id, int *code, rl_error_t *err)
{
  struct rl_cstate c;
  if (rl_cstate_load(s, id, &c, err) < 0)
    return -1;
  cleanup_free char *dir = rl_xasprintf("%s/containers/%s", s->root, id);
  int r = 0;
  *code = c.status == RL_CSTATUS_CREATED ? 0 : c.exit_code;
  if (c.status == RL_CSTATUS_RUNNING) {
    cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_close int pidfd = rl_pidfd_for(c.pid, c.pid_start);
    if (pidfd < 0 && errno != ESRCH)
      r = rl_make_error(err, errno, "pidfd_open %d (pid 1 of container %.12s)", (int)c.pid, id);
    if (pidfd >= 0)
      rl_pidfd_wait(pidfd, -1);
    if (r == 0)
      r = wait_exit_record(dirfd, dir, c.started_at, code, err);
  } else if (c.status == RL_CSTATUS_EXITED && c.exit_code < 0 && c.monitor_pid > 0) {
    /* pid 1 just ended and its monitor, alive, has yet to write the record. */
    cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    r = wait_exit_record(dirfd, dir, c.started_at, code, err);
  }
  rl_cstate_free(&c);
  return r;
}
