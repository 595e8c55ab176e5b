/* rless stop [-t N] and rless kill [-s SIG]: signals to a container's pid 1,
 * waited for through pidfds (no polling). */
#include "rl_cli.h"
#include "rl_cstate.h"
#include "rl_monitor.h"
#include "rl_paths.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

int rl_signal_parse(const char *s)
{
  unsigned long n;
  if (rl_parse_ulong(s, &n) == 0)
    return n > 0 && n < (unsigned long)NSIG ? (int)n : -1;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (int i = 1; i < NSIG; i++) {
    const char *name = sigabbrev_np(i);
    if (name && strcasecmp(name, s) == 0)
      return i;
  }
  return -1;
}

/* Wait up to `ms` (-1: forever) for pid to exit; true when it did. */
static bool wait_gone(pid_t pid, int ms)
{
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return errno == ESRCH;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r;
  while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
    ;
  close(fd);
  return r > 0;
}

/* Stop one container: its stop signal, then SIGKILL after `timeout` seconds;
 * then its monitor, which records the exit, is given a moment to finish. */
int rl_container_stop(const struct rl_store *s, const char *ref, long timeout, rl_error_t *err)
{
  char id[65];
  struct rl_cstate c = {0};
  if (rl_cstate_find(s, ref, id, err) < 0 || rl_cstate_load(s, id, &c, err) < 0)
    return -1;
  if (c.status == RL_CSTATUS_RUNNING) {
    int sig = c.stop_signal ? rl_signal_parse(c.stop_signal) : SIGTERM;
    if (sig < 0)
      sig = SIGTERM;
    /* pid 1 of a pid namespace gets from outside only the signals it
     * handles, and SIGKILL: a command that ignores `sig` runs to the timeout. */
    if (kill(c.pid, sig) < 0 && errno != ESRCH)
      rl_make_error(err, errno, "send %s to container %s", sigabbrev_np(sig), ref);
    else if (!wait_gone(c.pid, (int)(timeout * 1000))) {
      kill(c.pid, SIGKILL);
      wait_gone(c.pid, -1);
    }
    if (*err == NULL && c.monitor_pid > 0)
      wait_gone(c.monitor_pid, 5000);
  }
  rl_cstate_free(&c);
  return *err ? -1 : 0;
}

static int stop_one(const struct rl_store *s, const char *ref, long timeout, rl_error_t *err)
{
  if (rl_container_stop(s, ref, timeout, err) < 0)
    return -1;
  printf("%s\n", ref);
  return 0;
}

/* Every container, like docker: the failures are reported and the others done. */
static int for_each(const struct rl_store *s, int argc, char **argv,
                    int (*fn)(const struct rl_store *, const char *, long, rl_error_t *), long arg,
                    rl_error_t *err)
{
  int failed = 0;
  for (int i = optind; i < argc; i++) {
    rl_error_t e = NULL;
    if (fn(s, argv[i], arg, &e) < 0) {
      if (i + 1 == argc && failed == 0) {
        *err = e;
        return -1;
      }
      rl_error_report(&e);
      failed++;
    }
  }
  return failed ? RL_EXIT_FAILURE : 0;
}

/* [-t SECONDS] CONTAINER... of stop and restart: 1 for --help, -1 on error. */
static int parse_timeout(int argc, char **argv, unsigned long *timeout, rl_error_t *err)
{
  static const struct option opts[] = {
      {"time", required_argument, NULL, 't'},
      {"timeout", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  *timeout = 10;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:t:", opts, NULL)) != -1) {
    if (c == 't' && rl_parse_ulong(optarg, timeout) == 0)
      continue;
    if (c == 'h')
      return printf("Usage: rless %s [-t SECONDS] CONTAINER...\n", argv[0]), 1;
    return rl_make_error(err, 0, "bad option or value `%s` for `rless %s`", argv[optind - 1],
                         argv[0]);
  }
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless %s` needs at least one container", argv[0]);
  return 0;
}

int rl_cmd_stop(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  unsigned long timeout;
  struct rl_store s;
  int r = parse_timeout(argc, argv, &timeout, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (rl_cli_open_store(g, false, &s, err) < 0)
    return -1;
  r = for_each(&s, argc, argv, stop_one, (long)timeout, err);
  rl_store_close(&s);
  return r;
}

int rl_cmd_restart(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  unsigned long timeout;
  struct rl_store s;
  int r = parse_timeout(argc, argv, &timeout, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (rl_cli_open_store(g, false, &s, err) < 0)
    return -1;
  for (int i = optind; i < argc && r >= 0; i++) {
    r = rl_container_stop(&s, argv[i], (long)timeout, err);
    if (r == 0)
      r = rl_container_start(&s, g, argv[i], false, err);
    if (r == 0)
      printf("%s\n", argv[i]);
  }
  rl_store_close(&s);
  return r;
}

static int kill_one(const struct rl_store *s, const char *ref, long sig, rl_error_t *err)
{
  char id[65];
  struct rl_cstate c = {0};
  if (rl_cstate_find(s, ref, id, err) < 0 || rl_cstate_load(s, id, &c, err) < 0)
    return -1;
  if (c.status != RL_CSTATUS_RUNNING)
    rl_make_error(err, 0, "cannot kill container %s: it is not running", ref);
  else if (kill(c.pid, (int)sig) < 0)
    rl_make_error(err, errno, "send signal %ld to container %s", sig, ref);
  rl_cstate_free(&c);
  if (*err)
    return -1;
  printf("%s\n", ref);
  return 0;
}

int rl_cmd_kill(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"signal", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int sig = SIGKILL, c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:s:", opts, NULL)) != -1) {
    if (c == 's' && (sig = rl_signal_parse(optarg)) > 0)
      continue;
    if (c == 'h')
      return puts("Usage: rless kill [-s SIGNAL] CONTAINER..."), 0;
    return rl_make_error(err, 0, "bad option or signal `%s` for `rless kill`", argv[optind - 1]);
  }
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless kill` needs at least one container");
  struct rl_store s;
  if (rl_cli_open_store(g, false, &s, err) < 0)
    return -1;
  int r = for_each(&s, argc, argv, kill_one, sig, err);
  rl_store_close(&s);
  return r;
}
