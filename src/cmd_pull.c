/* rless pull [-q] [--platform OS/ARCH[/VARIANT]] IMAGE (in rless-image). */
#include "rl_cli.h"
#include "rl_paths.h"
#include "rl_pull.h"
#include "rl_storage.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char pull_usage[] =
    "Usage: rless pull [OPTIONS] IMAGE\n\n"
    "  -q, --quiet               print only the image id\n"
    "      --platform OS/ARCH    pick this platform from a multi-platform image\n"
    "      --registries-conf F   registries config (JSON) instead of the default\n";

static int parse(int argc, char **argv, struct rl_pull_opts *o, rl_error_t *err)
{
  static const struct option opts[] = {
      {"quiet", no_argument, NULL, 'q'},
      {"platform", required_argument, NULL, 'p'},
      {"registries-conf", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:q", opts, NULL)) != -1) {
    switch (c) {
    case 'q':
      o->progress = RL_PROGRESS_QUIET;
      break;
    case 'p':
      o->platform = optarg;
      break;
    case 'c':
      o->registries_conf = optarg;
      break;
    case 'h':
      fputs(pull_usage, stdout);
      return 1;
    default:
      rl_make_error(err, 0, "bad option `%s` for `rless pull`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless pull --help`");
    }
  }
  if (optind + 1 != argc)
    return rl_make_error(err, 0, "`rless pull` takes exactly one image name");
  return 0;
}

int rl_cmd_pull(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_pull_opts o = {.progress = RL_PROGRESS_AUTO};
  struct rl_storage st;
  struct rl_userns ns;
  struct rl_store store;
  int r = parse(argc, argv, &o, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (rl_cli_open_store(g, true, &store, err) < 0)
    return -1;
  if (rl_storage_for_store(g->storage_driver, &store, &st, err) < 0) {
    rl_store_close(&store);
    return -1;
  }
  o.layer_format = st.layer_format;
  o.whiteouts = st.whiteouts;
  cleanup_free char *id = NULL;
  r = rl_userns_plan(RL_USERNS_AUTO, false, &ns, err);
  if (r == 0)
    r = rl_pull(&store, &ns, argv[optind], &o, &id, err);
  rl_store_close(&store);
  if (r < 0)
    return -1;
  printf("%s\n", id);
  return 0;
}
