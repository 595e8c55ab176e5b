/* rless save, load and import (in rless-image): options, the store, the
 * user namespace plan; the work is in archive_*.c. */
#include "rl_archive.h"
#include "rl_cli.h"
#include "rl_paths.h"

#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

static const char save_usage[] =
    "Usage: rless save [OPTIONS] IMAGE...\n\n"
    "Write images (by name, id or id prefix) to a tar archive; by id, with all their names.\n\n"
    "  -o, --output FILE         write to FILE instead of stdout\n"
    "      --format FORMAT       docker-archive (default: docker's `docker save` layout, which\n"
    "                            is an OCI layout too) or oci-archive\n";

static const char load_usage[] =
    "Usage: rless load [OPTIONS]\n\n"
    "Read images from a docker-archive or oci-archive tar (optionally compressed).\n\n"
    "  -i, --input FILE          read FILE instead of stdin\n"
    "  -q, --quiet               no notices\n";

static const char import_usage[] =
    "Usage: rless import [OPTIONS] TARBALL|- [NAME[:TAG]]\n\n"
    "Make a one-layer image from a root filesystem tarball (any compression); prints its id.\n\n"
    "  -c, --change INSTR        CMD, ENTRYPOINT, ENV, WORKDIR or USER, as `CMD=[\"sh\"]` or\n"
    "                            `ENV KEY=VALUE` (repeatable)\n"
    "  -m, --message MSG         the comment of the image's history entry\n";

static int bad_option(const char *cmd, char **argv, rl_error_t *err)
{
  rl_make_error(err, 0, "bad option `%s` for `rless %s`", argv[optind - 1], cmd);
  return rl_error_hint(err, "see `rless %s --help`", cmd);
}

static int parse_save(int argc, char **argv, struct rl_save_opts *o, rl_error_t *err)
{
  static const struct option opts[] = {
      {"output", required_argument, NULL, 'o'},
      {"format", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:o:", opts, NULL)) != -1) {
    switch (c) {
    case 'o':
      o->output = optarg;
      break;
    case 'f':
      if (strcmp(optarg, "docker-archive") == 0)
        o->format = RL_ARCHIVE_DOCKER;
      else if (strcmp(optarg, "oci-archive") == 0)
        o->format = RL_ARCHIVE_OCI;
      else
        return rl_make_error(err, 0, "invalid --format `%s`: use docker-archive or oci-archive",
                             optarg);
      break;
    case 'h':
      fputs(save_usage, stdout);
      return 1;
    default:
      return bad_option("save", argv, err);
    }
  }
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless save` needs at least one image");
  return 0;
}

int rl_cmd_save(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_save_opts o = {.format = RL_ARCHIVE_DOCKER};
  struct rl_store store;
  int r = parse_save(argc, argv, &o, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (rl_cli_open_store(g, false, &store, err) < 0)
    return -1;
  r = rl_archive_save(&store, &o, argv + optind, (size_t)(argc - optind), err);
  rl_store_close(&store);
  return r < 0 ? -1 : 0;
}

static int parse_load(int argc, char **argv, struct rl_load_opts *o, bool *quiet, rl_error_t *err)
{
  static const struct option opts[] = {
      {"input", required_argument, NULL, 'i'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:i:q", opts, NULL)) != -1) {
    switch (c) {
    case 'i':
      o->input = optarg;
      break;
    case 'q':
      *quiet = true;
      break;
    case 'h':
      fputs(load_usage, stdout);
      return 1;
    default:
      return bad_option("load", argv, err);
    }
  }
  if (optind != argc)
    return rl_make_error(err, 0,
                         "`rless load` takes no arguments (the archive is -i FILE or stdin)");
  if (o->input == NULL && isatty(STDIN_FILENO)) {
    rl_make_error(err, 0, "`rless load` reads the archive from stdin, which is a terminal");
    return rl_error_hint(err, "pass -i FILE or redirect stdin from the archive");
  }
  return 0;
}

/* The store, storage driver and user namespace load and import need. */
struct writer_env {
  struct rl_store store;
  struct rl_storage storage;
  struct rl_userns ns;
};

static int writer_env(const struct rl_global *g, bool quiet, struct writer_env *w, rl_error_t *err)
{
  if (rl_cli_open_store(g, true, &w->store, err) < 0)
    return -1;
  if (rl_storage_for_store(g->storage_driver, &w->store, &w->storage, err) < 0 ||
      rl_userns_plan(RL_USERNS_AUTO, quiet, &w->ns, err) < 0) {
    rl_store_close(&w->store);
    return -1;
  }
  return 0;
}

int rl_cmd_load(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_load_opts o = {0};
  struct writer_env w;
  bool quiet = false;
  int r = parse_load(argc, argv, &o, &quiet, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (writer_env(g, quiet, &w, err) < 0)
    return -1;
  o.storage = &w.storage;
  o.ns = &w.ns;
  cleanup_strv rl_strv_t names = {0}, ids = {0};
  r = rl_archive_load(&w.store, &o, &names, &ids, err);
  rl_store_close(&w.store);
  if (r < 0)
    return -1;
  for (size_t i = 0; i < names.n; i++)
    printf("Loaded image: %s\n", names.v[i]);
  for (size_t i = 0; i < ids.n; i++)
    printf("Loaded image ID: %s\n", ids.v[i]);
  return 0;
}

static int parse_import(int argc, char **argv, struct rl_import_opts *o, rl_strv_t *changes,
                        rl_error_t *err)
{
  static const struct option opts[] = {
      {"change", required_argument, NULL, 'c'},
      {"message", required_argument, NULL, 'm'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:c:m:", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      rl_strv_push(changes, optarg);
      break;
    case 'm':
      o->message = optarg;
      break;
    case 'h':
      fputs(import_usage, stdout);
      return 1;
    default:
      return bad_option("import", argv, err);
    }
  }
  if (optind >= argc || argc - optind > 2)
    return rl_make_error(err, 0, "`rless import` takes a tarball (or -) and optionally a name");
  o->input = argv[optind];
  if (strcmp(o->input, "-") == 0 && isatty(STDIN_FILENO)) {
    rl_make_error(err, 0, "`rless import -` reads the tarball from stdin, which is a terminal");
    return rl_error_hint(err, "redirect stdin from the tarball or name the file");
  }
  o->name = optind + 1 < argc ? argv[optind + 1] : NULL;
  o->changes = changes->v;
  return 0;
}

int rl_cmd_import(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_import_opts o = {0};
  cleanup_strv rl_strv_t changes = {0};
  struct writer_env w;
  int r = parse_import(argc, argv, &o, &changes, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (writer_env(g, false, &w, err) < 0)
    return -1;
  o.storage = &w.storage;
  o.ns = &w.ns;
  cleanup_free char *id = NULL;
  r = rl_archive_import(&w.store, &o, &id, err);
  rl_store_close(&w.store);
  if (r < 0)
    return -1;
  printf("%s\n", id);
  return 0;
}
