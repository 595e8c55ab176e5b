/* What both binaries share: global options, dispatch, helper lookup. */
#include "rl_cli.h"
#include "rl_paths.h"
#include "rl_store.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f, const struct rl_command *cmds, size_t n)
{
  fputs("Usage: rless [GLOBAL OPTIONS] COMMAND [OPTIONS]\n\nCommands:\n", f);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
  fputs("\nGlobal options:\n"
        "  --log-level LEVEL         error, warning (default), info or debug\n"
        "  --root DIR                keep images and containers in DIR\n"
        "  --storage-driver DRIVER   overlay (kernel, default) or fuse-overlayfs\n"
        "  --help, --version\n",
        f);
}

static int parse_global(int argc, char **argv, struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"log-level", required_argument, NULL, 'l'},
      {"root", required_argument, NULL, 'r'},
      {"storage-driver", required_argument, NULL, 's'},
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
    case 's':
      if (strcmp(optarg, "overlay") != 0 && strcmp(optarg, "fuse-overlayfs") != 0)
        return rl_make_error(err, 0, "invalid --storage-driver `%s`: use overlay or fuse-overlayfs",
                             optarg);
      g->storage_driver = optarg;
      break;
    case 'h':
      return -2;
    case 'V':
      return -3;
    default:
      rl_make_error(err, 0, "unknown or incomplete global option `%s`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless --help`");
    }
  }
  return optind;
}

char *rl_find_helper(const char *name, rl_error_t *err)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  cleanup_free char *beside = NULL;
  if (n > 0) {
    exe[n] = '\0';
    beside = rl_xasprintf("%s/%s", dirname(exe), name);
    if (access(beside, X_OK) == 0)
      return rl_steal_ptr(&beside);
  }
  cleanup_free char *installed = rl_xasprintf("%s/%s", RL_LIBEXECDIR, name);
  if (access(installed, X_OK) == 0)
    return rl_steal_ptr(&installed);
  rl_make_error(err, ENOENT, "helper `%s` not found at `%s` nor `%s`", name,
                beside ? beside : "(unknown)", installed);
  rl_error_hint(err, "build it with `make` or install rless with `make install`");
  return NULL;
}

int rl_cli_open_store(const struct rl_global *g, bool create, struct rl_store *s, rl_error_t *err)
{
  cleanup_free char *root = rl_data_dir(g->root, err);
  return root == NULL ? -1 : rl_store_open(root, create, s, err);
}

/* Commands that need libcurl/libarchive run in rless-image, so `rless run`
 * never pays for loading them. */
static int delegate(char **argv, rl_error_t *err)
{
  cleanup_free char *helper = rl_find_helper("rless-image", err);
  if (helper == NULL)
    return -1;
  execv(helper, argv);
  return rl_make_error(err, errno, "exec `%s`", helper);
}

/* Descriptors 0-2 open from the start (on /dev/null when rless was started
 * without them): otherwise the first file rless opens becomes its stderr,
 * and an error message would be written into, say, a cache file. */
static void std_fds_open(void)
{
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
      open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY); /* the lowest free fd: this one */
}

int rl_cli_main(int argc, char **argv, const struct rl_command *cmds, size_t n)
{
  rl_error_t err = NULL;
  std_fds_open();
  struct rl_global g = {0};
  if (getenv("RLESS_STORAGE_DRIVER"))
    g.storage_driver = getenv("RLESS_STORAGE_DRIVER");
  int first = parse_global(argc, argv, &g, &err);
  if (first == -2 || first == -3) {
    if (first == -2)
      usage(stdout, cmds, n);
    else
      puts("rless " RL_VERSION);
    return 0;
  }
  if (first < 0)
    return rl_error_report(&err);
  if (first >= argc) {
    usage(stderr, cmds, n);
    return RL_EXIT_FAILURE;
  }
  /* A closed pipe must give EPIPE to the writer, not kill rless mid-cleanup. */
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(argv[first], cmds[i].name) != 0)
      continue;
    int r = cmds[i].fn ? cmds[i].fn(argc - first, argv + first, &g, &err) : delegate(argv, &err);
    return r < 0 ? rl_error_report(&err) : r;
  }
  rl_make_error(&err, 0, "unknown command `%s`", argv[first]);
  rl_error_hint(&err, "see `rless --help`");
  return rl_error_report(&err);
}
