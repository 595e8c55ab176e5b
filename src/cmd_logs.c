/* rless logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER: the
 * k8s-file log the monitor of a detached container writes, stdout to
 * stdout and stderr to stderr. */
#include "rl_cli.h"
#include "rl_cstate.h"
#include "rl_ctrlog.h"
#include "rl_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>

struct logs_opts {
  bool follow, timestamps;
  long tail; /* -1: all */
  bool has_since, has_until;
  struct timespec since, until;
  bool line_start[2]; /* per stream: the next piece starts a line (for -t) */
};

static const char logs_usage[] =
    "Usage: rless logs [OPTIONS] CONTAINER\n\n"
    "  -f, --follow        keep printing until the container exits\n"
    "      --tail N        only the last N lines (default: all)\n"
    "  -t, --timestamps    show the time of each line\n"
    "      --since T       lines since T (RFC 3339, unix time, or a duration like 10m)\n"
    "      --until T       lines before T\n";

static bool before(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void print_record(struct logs_opts *o, const struct rl_logline *l)
{
  if ((o->has_since && before(&l->ts, &o->since)) || (o->has_until && !before(&l->ts, &o->until)))
    return;
  FILE *f = l->is_stderr ? stderr : stdout;
  bool *start = &o->line_start[l->is_stderr];
  if (o->timestamps && *start)
    fprintf(f, "%.*s ", (int)l->stamp_len, l->stamp);
  fwrite(l->text, 1, l->len, f);
  if (!l->partial)
    fputc('\n', f);
  *start = !l->partial;
}

/* Print the complete lines of buf[0..len); returns how many bytes were used. */
static size_t print_lines(struct logs_opts *o, const char *buf, size_t len)
{
  size_t used = 0;
  const char *nl;
  while ((nl = memchr(buf + used, '\n', len - used)) != NULL) {
    struct rl_logline l;
    size_t n = (size_t)(nl - (buf + used));
    if (rl_ctrlog_parse(buf + used, n, &l) == 0)
      print_record(o, &l);
    used += n + 1;
  }
  fflush(stdout);
  fflush(stderr);
  return used;
}

/* Offset of the first of the last `n` lines of the file. */
static off_t tail_offset(int fd, long n)
{
  struct stat st;
  if (n < 0 || fstat(fd, &st) < 0)
    return 0;
  char buf[8192];
  off_t pos = st.st_size;
  long seen = 0;
  while (pos > 0) {
    size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
    pos -= (off_t)chunk;
    if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
      return 0;
    for (size_t i = chunk; i-- > 0;) {
      /* The newline ending the last line does not start a line. */
      if (buf[i] == '\n' && pos + (off_t)i + 1 < st.st_size && ++seen == n)
        return pos + (off_t)i + 1;
    }
  }
  return 0;
}

/* Read from fd's offset to its end, printing; `pending` keeps a partial line. */
static int drain(struct logs_opts *o, int fd, char **pending, size_t *plen, rl_error_t *err)
{
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    *pending = rl_xrealloc(*pending, *plen + (size_t)n);
    memcpy(*pending + *plen, buf, (size_t)n);
    *plen += (size_t)n;
    size_t used = print_lines(o, *pending, *plen);
    memmove(*pending, *pending + used, *plen - used);
    *plen -= used;
  }
  if (n < 0)
    return rl_make_error(err, errno, "read the container log");
  return 0;
}

static int pidfd_of(pid_t pid)
{
  return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

/* -f: new lines as they come, until the monitor (which writes the last of
 * the output after pid 1 exits) is gone. */
static int follow(struct logs_opts *o, int fd, const char *path, pid_t monitor, char **pending,
                  size_t *plen, rl_error_t *err)
{
  cleanup_close int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  cleanup_close int pfd = pidfd_of(monitor);
  if (in < 0 || inotify_add_watch(in, path, IN_MODIFY) < 0)
    return rl_make_error(err, errno, "watch the container log `%s`", path);
  while (pfd >= 0) {
    struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      return rl_make_error(err, errno, "poll");
    char ev[4096];
    while (read(in, ev, sizeof(ev)) > 0)
      ;
    if (drain(o, fd, pending, plen, err) < 0)
      return -1;
    if (p[1].revents)
      break;
  }
  return drain(o, fd, pending, plen, err);
}

static int parse_time(const char *opt, const char *arg, struct timespec *out, rl_error_t *err)
{
  if (rl_ctrlog_parse_since(arg, time(NULL), out) < 0)
    return rl_make_error(err, 0,
                         "invalid %s `%s`: use RFC 3339 (2026-12-01T10:00:00Z), a unix time or a "
                         "duration like 10m",
                         opt, arg);
  return 0;
}

static int parse(int argc, char **argv, struct logs_opts *o, rl_error_t *err)
{
  static const struct option opts[] = {
      {"follow", no_argument, NULL, 'f'},
      {"timestamps", no_argument, NULL, 't'},
      {"tail", required_argument, NULL, 'n'},
      {"since", required_argument, NULL, 's'},
      {"until", required_argument, NULL, 'u'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  unsigned long n;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:ftn:", opts, NULL)) != -1) {
    if (c == 'f')
      o->follow = true;
    else if (c == 't')
      o->timestamps = true;
    else if (c == 'n' && strcmp(optarg, "all") == 0)
      o->tail = -1;
    else if (c == 'n' && rl_parse_ulong(optarg, &n) == 0)
      o->tail = (long)n;
    else if (c == 'n')
      return rl_make_error(err, 0, "invalid --tail `%s`: a number of lines, or all", optarg);
    else if (c == 's' && (o->has_since = true) && parse_time("--since", optarg, &o->since, err))
      return -1;
    else if (c == 'u' && (o->has_until = true) && parse_time("--until", optarg, &o->until, err))
      return -1;
    else if (c == 'h')
      return fputs(logs_usage, stdout), 1;
    else if (c != 's' && c != 'u')
      return rl_make_error(err, 0, "bad option `%s` for `rless logs`", argv[optind - 1]);
  }
  if (optind + 1 != argc)
    return rl_make_error(err, 0, "`rless logs` takes exactly one container");
  return 0;
}

int rl_cmd_logs(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct logs_opts o = {.tail = -1, .line_start = {true, true}};
  int r = parse(argc, argv, &o, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  struct rl_store s;
  struct rl_cstate cs = {0};
  char id[65];
  if (rl_cli_open_store(g, false, &s, err) < 0)
    return -1;
  r = rl_cstate_find(&s, argv[optind], id, err);
  if (r == 0)
    r = rl_cstate_load(&s, id, &cs, err);
  cleanup_free char *path = rl_xasprintf("%s/containers/%s/ctr.log", s.root, id);
  cleanup_close int fd = r < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
  if (r == 0 && fd < 0)
    r = errno == ENOENT ? rl_make_error(err, 0,
                                        "container %s has no log: only detached "
                                        "containers (run -d) are logged",
                                        argv[optind])
                        : rl_make_error(err, errno, "open the container log `%s`", path);
  cleanup_free char *pending = NULL;
  size_t plen = 0;
  if (r == 0 && lseek(fd, tail_offset(fd, o.tail), SEEK_SET) < 0)
    r = rl_make_error(err, errno, "seek in `%s`", path);
  if (r == 0)
    r = drain(&o, fd, &pending, &plen, err);
  if (r == 0 && o.follow && cs.status == RL_CSTATUS_RUNNING)
    r = follow(&o, fd, path, cs.monitor_pid, &pending, &plen, err);
  rl_cstate_free(&cs);
  rl_store_close(&s);
  return r < 0 ? -1 : 0;
}
