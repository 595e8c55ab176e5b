/* rless rm, container prune and wait.  Each container named is handled on
 * its own: a failure is printed and the next one is tried, and the exit
 * status is docker's (1 when any failed). */
#include "cmd_images_int.h"
#include "rl_cli.h"
#include "rl_cstate.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char rm_usage[] =
    "Usage: rless rm [OPTIONS] CONTAINER...\n\n"
    "  -f, --force     kill a running container (SIGKILL) and remove it\n"
    "  -v, --volumes   accepted for docker compatibility (rless makes no anonymous volumes)\n";

/* Options of rm, prune and wait: `flags` lists the letters allowed
 * ("fv" for rm).  1 help printed, 0 parsed, -1 error. */
static int parse(int argc, char **argv, const char *cmd, const char *flags, const char *usage,
                 bool *force, rl_error_t *err)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                       {"volumes", no_argument, NULL, 'v'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:fvh", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return 1;
    }
    if (c == '?' || c == ':' || strchr(flags, c) == NULL) {
      rl_make_error(err, 0, "bad option `%s` for `rless %s`", argv[optind - 1], cmd);
      return rl_error_hint(err, "see `rless %s --help`", cmd);
    }
    if (c == 'f')
      *force = true;
  }
  return 0;
}

static void report(rl_error_t *e, int *status)
{
  if ((*e)->exit_code > *status)
    *status = (*e)->exit_code;
  rl_error_print(*e);
  rl_error_free(e);
}

static void no_such(const char *ref, int *status)
{
  rl_error_t e = NULL;
  rl_make_error(&e, 0, "No such container: %s", ref);
  rl_error_set_exit(&e, RL_EXIT_NO_SUCH);
  report(&e, status);
}

int rl_cmd_rm(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  bool force = false;
  int r = parse(argc, argv, "rm", "fv", rm_usage, &force, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless rm` needs at least one container");
  struct rl_store s = {0};
  int open = rl_images_open_store(g, &s, err), status = 0;
  if (open < 0)
    return -1;
  for (int i = optind; i < argc; i++) {
    rl_error_t e = NULL;
    char id[65];
    if (open == 0) {
      no_such(argv[i], &status);
      continue;
    }
    if (rl_cstate_find(&s, argv[i], id, &e) < 0 || rl_cstate_remove(&s, id, force, NULL, &e) < 0)
      report(&e, &status);
    else
      printf("%s\n", argv[i]);
    fflush(stdout);
  }
  if (open > 0)
    rl_store_close(&s);
  return status;
}

static const char prune_usage[] =
    "Usage: rless container prune [OPTIONS]\n\n"
    "Remove every container that is not running.\n\n"
    "  -f, --force   accepted for docker compatibility (rless does not ask)\n";

/* Containers that start while we go are left alone: rl_cstate_remove
 * refuses a running one, and that refusal is no error here. */
static void prune_all(struct rl_store *s, rl_strv_t *deleted, long long *freed, int *status)
{
  cleanup_strv rl_strv_t ids = {0};
  rl_error_t e = NULL;
  if (rl_cstate_list(s, &ids, &e) < 0) {
    report(&e, status);
    return;
  }
  for (size_t i = 0; i < ids.n; i++) {
    struct rl_cstate c;
    if (rl_cstate_load(s, ids.v[i], &c, &e) < 0) {
      if (e->exit_code == RL_EXIT_NO_SUCH)
        rl_error_free(&e); /* removed by someone else meanwhile */
      else
        report(&e, status);
      continue;
    }
    bool running = c.status == RL_CSTATUS_RUNNING;
    rl_cstate_free(&c);
    if (running)
      continue;
    if (rl_cstate_remove(s, ids.v[i], false, freed, &e) == 0)
      rl_strv_push(deleted, ids.v[i]);
    else if (e->exit_code == RL_EXIT_NO_SUCH)
      rl_error_free(&e);
    else
      report(&e, status);
  }
}

int rl_cmd_container_prune(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  bool force = false;
  int r = parse(argc, argv, "container prune", "f", prune_usage, &force, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (optind < argc)
    return rl_make_error(err, 0, "`rless container prune` takes no arguments");
  struct rl_store s = {0};
  int open = rl_images_open_store(g, &s, err), status = 0;
  if (open < 0)
    return -1;
  cleanup_strv rl_strv_t deleted = {0};
  long long freed = 0;
  if (open > 0)
    prune_all(&s, &deleted, &freed, &status);
  if (deleted.n > 0)
    puts("Deleted Containers:");
  for (size_t i = 0; i < deleted.n; i++)
    puts(deleted.v[i]);
  cleanup_free char *total = rl_human_size(freed);
  printf("%sTotal reclaimed space: %s\n", deleted.n > 0 ? "\n" : "", total);
  if (open > 0)
    rl_store_close(&s);
  return status;
}

static const char wait_usage[] = "Usage: rless wait CONTAINER...\n\n"
                                 "Wait until each container exits, then print its exit code.\n";

int rl_cmd_wait(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  bool unused = false;
  int r = parse(argc, argv, "wait", "", wait_usage, &unused, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless wait` needs at least one container");
  struct rl_store s = {0};
  int open = rl_images_open_store(g, &s, err), status = 0;
  if (open < 0)
    return -1;
  for (int i = optind; i < argc; i++) {
    rl_error_t e = NULL;
    char id[65];
    int code = 0;
    if (open == 0)
      no_such(argv[i], &status);
    else if (rl_cstate_find(&s, argv[i], id, &e) < 0 || rl_cstate_wait(&s, id, &code, &e) < 0)
      report(&e, &status);
    else
      printf("%d\n", code);
    fflush(stdout);
  }
  if (open > 0)
    rl_store_close(&s);
  return status;
}
