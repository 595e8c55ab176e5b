/* rless image inspect: docker's JSON for images, from the index and the
 * stored config blob. */
#include "cmd_images_int.h"
#include "rl_storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void push_unique(json_t *arr, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    if (strcmp(json_string_value(v), s) == 0)
      return;
  }
  json_array_append_new(arr, json_string(s));
}

/* RepoTags: the tagged names; RepoDigests: each repository @ the manifest
 * digest, and digest references of other manifests. */
static void repo_names(const struct rl_image_rec *r, json_t **tags, json_t **digests)
{
  *tags = json_array();
  *digests = json_array();
  for (size_t k = 0; k < r->names.n; k++) {
    cleanup_free char *repo = NULL, *tag = NULL;
    cleanup_free char *shown = rl_image_name_familiar(r->names.v[k]);
    rl_image_name_split(r->names.v[k], &repo, &tag);
    cleanup_free char *frepo = rl_image_name_familiar(repo);
    cleanup_free char *by_digest = rl_xasprintf("%s@%s", frepo, r->manifest);
    if (strchr(r->names.v[k], '@') == NULL)
      push_unique(*tags, shown);
    push_unique(*digests, by_digest);
    if (strchr(r->names.v[k], '@'))
      push_unique(*digests, shown);
  }
}

static void set_default(json_t *o, const char *key, json_t *value)
{
  if (json_object_get(o, key) == NULL)
    json_object_set_new(o, key, value);
  else
    json_decref(value);
}

/* The image's runtime config with docker's keys always present. */
static json_t *config_obj(const struct rl_image_rec *r, json_t *blob)
{
  json_t *c = json_object_get(blob, "config");
  if (!json_is_object(c))
    c = r->config;
  json_t *o = json_is_object(c) ? json_deep_copy(c) : json_object();
  set_default(o, "User", json_string(""));
  set_default(o, "Env", json_null());
  set_default(o, "Entrypoint", json_null());
  set_default(o, "Cmd", json_null());
  set_default(o, "WorkingDir", json_string(""));
  set_default(o, "Labels", json_null());
  return o;
}

static json_t *rootfs_obj(json_t *blob)
{
  json_t *rootfs = json_object_get(blob, "rootfs");
  json_t *ids = json_object_get(rootfs, "diff_ids");
  const char *type = json_string_value(json_object_get(rootfs, "type"));
  json_t *layers = json_is_array(ids) ? json_incref(ids) : json_array();
  return json_pack("{s:s, s:o}", "Type", type ? type : "layers", "Layers", layers);
}

/* Layer dirs of the storage driver in effect, topmost first, as overlay's lowerdir. */
static json_t *graph_obj(const struct rl_store *s, const struct rl_storage *st,
                         const struct rl_image_rec *r)
{
  cleanup_free char *lower = rl_xstrdup("");
  for (size_t k = r->layers.n; k-- > 0;) {
    cleanup_free char *p = rl_store_layer_path(s, st->layer_format, r->layers.v[k]);
    char *next = rl_xasprintf("%s%s%s", lower, *lower ? ":" : "", p ? p : "?");
    free(lower);
    lower = next;
  }
  return json_pack("{s:s, s:{s:s}}", "Name", st->driver, "Data", "LowerDir", lower);
}

static json_t *inspect_one(const struct rl_store *s, const struct rl_storage *st,
                           const struct rl_image_rec *r)
{
  rl_error_t e = NULL;
  json_t *blob = rl_image_config_blob(s, r, &e);
  if (blob == NULL) {
    cleanup_free char *text = rl_error_format(e);
    rl_warn("%s", text);
    rl_error_free(&e);
  }
  json_t *tags, *digests;
  repo_names(r, &tags, &digests);
  const char *created = json_string_value(json_object_get(blob, "created"));
  cleanup_free char *stored = rl_rfc3339_format(r->created);
  const char *arch = json_string_value(json_object_get(blob, "architecture"));
  const char *os = json_string_value(json_object_get(blob, "os"));
  const char *author = json_string_value(json_object_get(blob, "author"));
  json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:I, s:s, s:s, s:s}", "Id", r->id, "RepoTags", tags,
                        "RepoDigests", digests, "Created",
                        rl_rfc3339_parse(created) >= 0 ? created : stored, "Size",
                        (json_int_t)r->size, "Author", author ? author : "", "Architecture",
                        arch ? arch : "", "Os", os ? os : "");
  json_t *variant = json_object_get(blob, "variant");
  if (json_is_string(variant))
    json_object_set(o, "Variant", variant);
  json_object_set_new(o, "Config", config_obj(r, blob));
  json_object_set_new(o, "RootFS", rootfs_obj(blob));
  json_object_set_new(o, "GraphDriver", graph_obj(s, st, r));
  json_decref(blob);
  return o;
}

static int inspect_parse(int argc, char **argv, rl_error_t *err)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs("Usage: rless image inspect [--format json] IMAGE...\n", stdout);
      return 1;
    }
    if (c == 'f' && strcmp(optarg, "json") != 0)
      return rl_make_error(err, 0, "`rless image inspect --format %s`: only json is supported",
                           optarg);
    if (c != 'f') {
      rl_make_error(err, 0, "bad option `%s` for `rless image inspect`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless image inspect --help`");
    }
  }
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless image inspect` needs at least one image");
  return 0;
}

/* Missing images are reported and skipped (exit 1), as docker does. */
static json_t *inspect_all(const struct rl_store *s, const struct rl_storage *st,
                           struct rl_image_index *ix, char **names, int n, int *status)
{
  json_t *arr = json_array();
  for (int i = 0; i < n; i++) {
    struct rl_image_match m;
    rl_error_t e = NULL;
    int r = rl_images_lookup(ix, names[i], &m, &e);
    if (r > 0) {
      json_array_append_new(arr, inspect_one(s, st, m.rec));
      continue;
    }
    if (r == 0)
      rl_images_print_missing(names[i]);
    else
      rl_error_print(e);
    rl_error_free(&e);
    *status = 1;
  }
  return arr;
}

int rl_cmd_image_inspect(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_storage st;
  struct rl_store s = {0};
  struct rl_image_index ix = {0};
  int r = inspect_parse(argc, argv, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (rl_storage_select(g->storage_driver, &st, err) < 0)
    return -1;
  int open = rl_images_open_store(g, &s, err);
  if (open < 0 || (open > 0 && rl_images_load(&s, &ix, err) < 0)) {
    if (open > 0)
      rl_store_close(&s);
    return -1;
  }
  int status = 0;
  json_t *arr = inspect_all(&s, &st, &ix, argv + optind, argc - optind, &status);
  cleanup_free char *text = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  json_decref(arr);
  rl_images_free(&ix);
  if (open > 0)
    rl_store_close(&s);
  if (text == NULL || printf("%s\n", text) < 0)
    return rl_make_error(err, errno, "write the inspect output");
  return status;
}
