/* rless: rootless containers.  The only file with global state: the log level. */
#include "rl_cli.h"
#include "rl_error.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rl_log_level = RL_LOG_WARN;

struct command {
  const char *name;
  int (*fn)(int, char **, const struct rl_global *, rl_error_t *);
  const char *help;
};

static const struct command commands[] = {
    {"run", rl_cmd_run, "run a command in a new container"},
    {"info", rl_cmd_info, "show what this host allows and what rless will use"},
};

static void usage(FILE *f)
{
  fputs("Usage: rless [--log-level LEVEL] [--root DIR] COMMAND [OPTIONS]\n\nCommands:\n", f);
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(f, "  %-6s %s\n", commands[i].name, commands[i].help);
  fputs("\nGlobal options:\n"
        "  --log-level LEVEL  error, warning (default), info or debug\n"
        "  --root DIR         keep images and layers in DIR\n"
        "  --help, --version\n",
        f);
}

static int parse_global(int argc, char **argv, struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"log-level", required_argument, NULL, 'l'},
      {"root", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
    switch (c) {
    case 'l':
      if ((rl_log_level = rl_log_level_parse(optarg)) < 0)
        return rl_make_error(err, 0, "invalid --log-level `%s`: use error, warning, info or debug",
                             optarg);
      break;
    case 'r':
      g->root = optarg;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case 'V':
      puts("rless " RL_VERSION);
      exit(0);
    default:
      rl_make_error(err, 0, "unknown or incomplete global option `%s`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless --help`");
    }
  }
  return optind;
}

int main(int argc, char **argv)
{
  rl_error_t err = NULL;
  struct rl_global g = {0};
  int first = parse_global(argc, argv, &g, &err);
  if (first < 0)
    return rl_error_report(&err);
  if (first >= argc) {
    usage(stderr);
    return RL_EXIT_FAILURE;
  }
  /* A closed pipe must give EPIPE to the writer, not kill rless mid-cleanup. */
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[first], commands[i].name) == 0) {
      int r = commands[i].fn(argc - first, argv + first, &g, &err);
      return r < 0 ? rl_error_report(&err) : r;
    }
  }
  rl_make_error(&err, 0, "unknown command `%s`", argv[first]);
  rl_error_hint(&err, "see `rless --help`");
  return rl_error_report(&err);
}
