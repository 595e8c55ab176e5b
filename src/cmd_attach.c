/* rless attach [--detach-keys KEYS] [--no-stdin] CONTAINER: back to the
 * terminal of a container started with -t (run -dit, or run -it left with
 * the detach keys). */
#include "cstate_int.h"
#include "rl_attach.h"
#include "rl_cli.h"
#include "rl_cstate.h"
#include "rl_paths.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int attach_to(const struct rl_store *s, const char *ref, const char *keys, bool no_stdin,
                     rl_error_t *err)
{
  char id[65];
  struct rl_cstate c = {0};
  if (rl_cstate_find(s, ref, id, err) < 0 || rl_cstate_load(s, id, &c, err) < 0)
    return -1;
  bool tty = json_is_true(json_object_get(c.config, "tty"));
  bool input = json_is_true(json_object_get(c.config, "interactive")) && !no_stdin;
  pid_t pid = c.pid;
  enum rl_cstatus st = c.status;
  rl_cstate_free(&c);
  if (st != RL_CSTATUS_RUNNING)
    return rl_make_error(err, 0, "cannot attach to container %s: it is not running", ref);
  if (!tty) {
    rl_make_error(err, 0, "cannot attach to container %s: it has no terminal", ref);
    return rl_error_hint(err,
                         "start containers with -t to attach to them; `rless logs -f %s` "
                         "follows its output",
                         ref);
  }
  cleanup_free char *dir = rl_cstate_run_path(id, err);
  cleanup_free char *path = dir ? rl_xasprintf("%s/attach.sock", dir) : NULL;
  cleanup_close int fd = path ? rl_attach_connect(path, err) : -1;
  if (fd < 0)
    return -1;
  int code = -1;
  int r = rl_attach_client(fd, input, keys, pid, &code, err);
  if (r == 1)
    return 0;
  return r < 0 ? -1 : code < 0 ? 0 : code;
}

int rl_cmd_attach(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"detach-keys", required_argument, NULL, 'k'},
      {"no-stdin", no_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *keys = NULL;
  bool no_stdin = false;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
    if (c == 'k')
      keys = optarg;
    else if (c == 'n')
      no_stdin = true;
    else if (c == 'h')
      return puts("Usage: rless attach [--detach-keys KEYS] [--no-stdin] CONTAINER"), 0;
    else
      return rl_make_error(err, 0, "bad option `%s` for `rless attach`", argv[optind - 1]);
  }
  if (optind + 1 != argc)
    return rl_make_error(err, 0, "`rless attach` takes exactly one container");
  struct rl_store s;
  if (rl_cli_open_store(g, false, &s, err) < 0)
    return -1;
  int r = attach_to(&s, argv[optind], keys, no_stdin, err);
  rl_store_close(&s);
  return r;
}
