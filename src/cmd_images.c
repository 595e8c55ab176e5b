/* rless images, rless tag, and `rless image ls|rm|tag|inspect|prune`.
 * Reading commands take no lock (images.json is replaced by rename);
 * `tag` edits the index under the store lock. */
#include "cmd_images_int.h"
#include "rl_cstate.h"
#include "rl_imageref.h"
#include "rl_paths.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int rl_images_open_store(const struct rl_global *g, struct rl_store *s, rl_error_t *err)
{
  cleanup_free char *root = rl_data_dir(g->root, err);
  if (root == NULL)
    return -1;
  if (rl_store_open(root, false, s, err) == 0)
    return 1;
  if ((*err)->errnum != ENOENT)
    return -1;
  rl_error_free(err);
  return 0;
}

void rl_images_print_missing(const char *name)
{
  rl_error_t e = NULL;
  rl_make_error(&e, 0, "No such image: %s", name);
  rl_error_print(e);
  rl_error_free(&e);
}

char *rl_human_size(long long bytes)
{
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = (double)bytes;
  size_t i = 0;
  while (v >= 1000.0 && i + 1 < RL_ARRAY_SIZE(units)) {
    v /= 1000.0;
    i++;
  }
  return rl_xasprintf("%.3g%s", v, units[i]);
}

/* docker's CREATED column: go-units HumanDuration and " ago". */
char *rl_human_ago(long long then, long long now)
{
  cleanup_free char *d = rl_human_duration(now - then);
  return rl_xasprintf("%s ago", d);
}

char *rl_rfc3339_format(long long t)
{
  time_t tt = (time_t)t;
  struct tm tm;
  char buf[64];
  if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return rl_xstrdup("1970-01-01T00:00:00Z");
  return rl_xstrdup(buf);
}

/* ---- rless images ---- */

static const char images_usage[] =
    "Usage: rless images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
    "  -a, --all            list all images (rless has no intermediate images to hide)\n"
    "  -q, --quiet          print only image ids, each once\n"
    "      --format FORMAT  table (default) or json\n"
    "      --no-trunc       full image ids\n";

struct images_opts {
  bool quiet, no_trunc, json;
  const char *filter;
};

static int images_parse(int argc, char **argv, struct images_opts *o, rl_error_t *err)
{
  static const struct option opts[] = {
      {"all", no_argument, NULL, 'a'},          {"quiet", no_argument, NULL, 'q'},
      {"format", required_argument, NULL, 'f'}, {"no-trunc", no_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:aqh", opts, NULL)) != -1) {
    if (c == 'q')
      o->quiet = true;
    else if (c == 'n')
      o->no_trunc = true;
    else if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
      o->json = strcmp(optarg, "json") == 0;
    else if (c == 'f')
      return rl_make_error(err, 0, "`rless images --format %s`: use table or json", optarg);
    else if (c == 'h') {
      fputs(images_usage, stdout);
      return 1;
    } else if (c != 'a') {
      rl_make_error(err, 0, "bad option `%s` for `rless images`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless images --help`");
    }
  }
  if (argc - optind > 1)
    return rl_make_error(err, 0, "`rless images` takes at most one REPOSITORY[:TAG]");
  o->filter = optind < argc ? argv[optind] : NULL;
  return 0;
}

/* `rless images REPOSITORY[:TAG]`: every tag of the repository unless one is typed. */
struct filter {
  struct rl_imageref ref;
  bool on, tag_typed;
};

static bool typed_has_tag(const char *s)
{
  size_t len = strcspn(s, "@");
  const char *slash = memrchr(s, '/', len);
  const char *last = slash ? slash + 1 : s;
  return memchr(last, ':', len - (size_t)(last - s)) != NULL;
}

static int filter_init(const char *text, struct filter *f, rl_error_t *err)
{
  memset(f, 0, sizeof(*f));
  if (text == NULL)
    return 0;
  if (rl_imageref_parse(text, &f->ref, err) < 0)
    return rl_error_wrap(err, "`rless images %s`", text);
  f->on = true;
  f->tag_typed = typed_has_tag(text);
  return 0;
}

static bool filter_pass(const struct filter *f, const struct rl_image_rec *r, const char *name)
{
  if (!f->on)
    return true;
  if (!rl_image_name_in_repo(name, &f->ref))
    return false;
  cleanup_free char *repo = NULL, *tag = NULL;
  rl_image_name_split(name, &repo, &tag);
  if (f->tag_typed && (tag == NULL || strcmp(tag, f->ref.tag) != 0))
    return false;
  const char *at = strchr(name, '@');
  return f->ref.digest == NULL || strcmp(r->manifest, f->ref.digest) == 0 ||
         (at && strcmp(at + 1, f->ref.digest) == 0);
}

struct row {
  char *repo, *tag;
  const struct rl_image_rec *rec;
  long long created;
};

struct rows {
  struct row *v;
  size_t n;
};

static void rows_add(struct rows *rs, const char *repo, const char *tag,
                     const struct rl_image_rec *r, long long created)
{
  rs->v = rl_xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
  rs->v[rs->n++] = (struct row){rl_image_name_familiar(repo), rl_xstrdup(tag), r, created};
}

/* Whether r has a tagged name in `repo` (then its digest references add no row). */
static bool has_tag_in(const struct rl_image_rec *r, const char *repo)
{
  for (size_t k = 0; k < r->names.n; k++) {
    cleanup_free char *p = NULL, *t = NULL;
    rl_image_name_split(r->names.v[k], &p, &t);
    if (t && strcmp(p, repo) == 0)
      return true;
  }
  return false;
}

/* One row per name, docker-style; `<none> <none>` for an untagged image. */
static void rows_for_image(struct rows *rs, const struct rl_image_rec *r, long long created,
                           const struct filter *f)
{
  if (r->names.n == 0 && !f->on)
    rows_add(rs, "<none>", "<none>", r, created);
  for (size_t k = 0; k < r->names.n; k++) {
    if (!filter_pass(f, r, r->names.v[k]))
      continue;
    cleanup_free char *repo = NULL, *tag = NULL;
    rl_image_name_split(r->names.v[k], &repo, &tag);
    if (tag == NULL && has_tag_in(r, repo))
      continue;
    rows_add(rs, repo, tag ? tag : "<none>", r, created);
  }
}

static int row_cmp(const void *a, const void *b)
{
  const struct row *x = a, *y = b;
  int c;
  if (x->created != y->created)
    return x->created > y->created ? -1 : 1;
  if ((c = strcmp(x->repo, y->repo)) != 0 || (c = strcmp(x->tag, y->tag)) != 0)
    return c;
  return strcmp(x->rec->id, y->rec->id);
}

static void rows_free(struct rows *rs)
{
  for (size_t i = 0; i < rs->n; i++) {
    free(rs->v[i].repo);
    free(rs->v[i].tag);
  }
  free(rs->v);
}

static char *short_id(const struct rl_image_rec *r, bool no_trunc)
{
  return no_trunc ? rl_xstrdup(r->id) : rl_xstrndup(r->id + 7, 12);
}

static void row_cells(const struct row *r, bool no_trunc, long long now, char **cells)
{
  cells[0] = rl_xstrdup(r->repo);
  cells[1] = rl_xstrdup(r->tag);
  cells[2] = short_id(r->rec, no_trunc);
  cells[3] = rl_human_ago(r->created, now);
  cells[4] = rl_human_size(r->rec->size);
}

/* docker's tabwriter: each column but the last max(10, widest + 3) wide. */
static void print_table(const struct rows *rs, bool no_trunc)
{
  enum { NCOL = 5 };
  static const char *const head[NCOL] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
  long long now = (long long)time(NULL);
  char *(*cells)[NCOL] = rl_xcalloc(rs->n + 1, sizeof(*cells));
  size_t w[NCOL] = {0};
  for (int k = 0; k < NCOL; k++)
    cells[0][k] = rl_xstrdup(head[k]);
  for (size_t i = 0; i < rs->n; i++)
    row_cells(&rs->v[i], no_trunc, now, cells[i + 1]);
  for (size_t i = 0; i <= rs->n; i++)
    for (int k = 0; k < NCOL; k++)
      if (strlen(cells[i][k]) > w[k])
        w[k] = strlen(cells[i][k]);
  for (size_t i = 0; i <= rs->n; i++) {
    for (int k = 0; k < NCOL - 1; k++)
      printf("%-*s", (int)(w[k] + 3 > 10 ? w[k] + 3 : 10), cells[i][k]);
    printf("%s\n", cells[i][NCOL - 1]);
    for (int k = 0; k < NCOL; k++)
      free(cells[i][k]);
  }
  free(cells);
}

static void print_quiet(const struct rows *rs, bool no_trunc)
{
  for (size_t i = 0; i < rs->n; i++) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = rs->v[j].rec == rs->v[i].rec;
    if (seen)
      continue;
    cleanup_free char *id = short_id(rs->v[i].rec, no_trunc);
    printf("%s\n", id);
  }
}

/* One object per image, in the order of its first row. */
static int print_json(const struct rows *rs, rl_error_t *err)
{
  json_t *arr = json_array();
  for (size_t i = 0; i < rs->n; i++) {
    const struct rl_image_rec *r = rs->v[i].rec;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = rs->v[j].rec == r;
    if (seen)
      continue;
    json_t *names = json_array(), *layers = json_array();
    for (size_t k = 0; k < r->names.n; k++)
      json_array_append_new(names, json_string(r->names.v[k]));
    for (size_t k = 0; k < r->layers.n; k++)
      json_array_append_new(layers, json_string(r->layers.v[k]));
    cleanup_free char *created = rl_rfc3339_format(rs->v[i].created);
    json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:I, s:s, s:o}", "Id", r->id, "Names",
                                         names, "Digest", r->manifest, "Size", (json_int_t)r->size,
                                         "Created", created, "Layers", layers));
  }
  cleanup_free char *text = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  json_decref(arr);
  if (text == NULL || printf("%s\n", text) < 0)
    return rl_make_error(err, errno, "write the image list");
  return 0;
}

static void collect_rows(const struct rl_store *s, const struct rl_image_index *ix,
                         const struct filter *f, struct rows *rs)
{
  for (size_t i = 0; i < ix->n; i++) {
    rl_error_t cerr = NULL;
    json_t *cfg = rl_image_config_blob(s, &ix->v[i], &cerr);
    if (cerr) {
      rl_debug("%s", cerr->msg);
      rl_error_free(&cerr);
    }
    rows_for_image(rs, &ix->v[i], rl_image_created(&ix->v[i], cfg), f);
    json_decref(cfg);
  }
  if (rs->n > 1)
    qsort(rs->v, rs->n, sizeof(*rs->v), row_cmp);
}

int rl_cmd_images(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct images_opts o = {0};
  struct filter f;
  int r = images_parse(argc, argv, &o, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  if (filter_init(o.filter, &f, err) < 0)
    return -1;
  struct rl_store s;
  struct rl_image_index ix = {0};
  struct rows rs = {0};
  int open = rl_images_open_store(g, &s, err);
  r = open < 0 ? -1 : 0;
  if (open > 0) {
    r = rl_images_load(&s, &ix, err);
    if (r == 0)
      collect_rows(&s, &ix, &f, &rs);
  }
  if (r == 0 && o.json)
    r = print_json(&rs, err);
  else if (r == 0 && o.quiet)
    print_quiet(&rs, o.no_trunc);
  else if (r == 0)
    print_table(&rs, o.no_trunc);
  rows_free(&rs);
  rl_images_free(&ix);
  if (f.on)
    rl_imageref_free(&f.ref);
  if (open > 0)
    rl_store_close(&s);
  return r;
}

/* ---- rless tag ---- */

/* The name TARGET is stored under: as parsed, or podman's localhost/NAME
 * when it names no registry (a local name is no docker.io image). */
static char *tag_target(const char *typed, rl_error_t *err)
{
  struct rl_imageref ref;
  memset(&ref, 0, sizeof(ref));
  if (rl_imageref_parse(typed, &ref, err) < 0) {
    rl_error_wrap(err, "`rless tag`: target name `%s`", typed);
    return NULL;
  }
  char *name = NULL;
  if (ref.digest) {
    rl_make_error(err, 0, "`rless tag`: target `%s` has a digest; a tag cannot", typed);
  } else {
    if (ref.registry == NULL) {
      /* The parser's docker.io "library/" is no part of a local name. */
      if (strncmp(typed, "library/", 8) != 0 && strncmp(ref.repository, "library/", 8) == 0 &&
          strchr(ref.repository + 8, '/') == NULL)
        memmove(ref.repository, ref.repository + 8, strlen(ref.repository + 8) + 1);
      ref.registry = rl_xstrdup("localhost");
    }
    name = rl_imageref_string(&ref);
    if (name == NULL)
      rl_make_error(err, 0, "`rless tag`: cannot spell target name `%s`", typed);
  }
  rl_imageref_free(&ref);
  return name;
}

static int tag_in_index(struct rl_store *s, const char *source, const char *target, rl_error_t *err)
{
  struct rl_image_index ix;
  struct rl_image_match m;
  cleanup_close int lock = rl_store_lock(s, err);
  if (lock < 0 || rl_images_load(s, &ix, err) < 0)
    return -1;
  int r = rl_images_lookup(&ix, source, &m, err);
  if (r == 0)
    rl_images_print_missing(source);
  if (r > 0) {
    rl_images_add_name(&ix, (size_t)(m.rec - ix.v), target);
    r = rl_images_save(s, &ix, err) < 0 ? -1 : 0;
  } else if (r == 0) {
    r = 1;
  }
  rl_images_free(&ix);
  return r;
}

int rl_cmd_tag(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    puts("Usage: rless tag SOURCE TARGET\n\n"
         "TARGET without a registry is stored as localhost/TARGET (:latest without a tag).");
    return 0;
  }
  if (argc != 3 || argv[1][0] == '-') {
    rl_make_error(err, 0, "`rless tag` takes exactly SOURCE and TARGET");
    return rl_error_hint(err, "rless tag busybox:latest mybox:1");
  }
  cleanup_free char *target = tag_target(argv[2], err);
  if (target == NULL)
    return -1;
  struct rl_store s;
  int open = rl_images_open_store(g, &s, err);
  if (open <= 0) {
    if (open == 0)
      rl_images_print_missing(argv[1]);
    return open < 0 ? -1 : 1;
  }
  int r = tag_in_index(&s, argv[1], target, err);
  rl_store_close(&s);
  return r;
}

/* ---- rless image SUBCOMMAND ---- */

int rl_cmd_image(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct {
    const char *name;
    rl_cmd_fn fn;
  } subs[] = {
      {"ls", rl_cmd_images},         {"list", rl_cmd_images}, {"rm", rl_cmd_rmi},
      {"remove", rl_cmd_rmi},        {"tag", rl_cmd_tag},     {"inspect", rl_cmd_image_inspect},
      {"prune", rl_cmd_image_prune},
  };
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs("Usage: rless image COMMAND\n\n"
          "  ls        list images (rless images)\n"
          "  rm        remove images (rless rmi)\n"
          "  tag       give an image another name (rless tag)\n"
          "  inspect   show images' configuration as JSON\n"
          "  prune     remove untagged images no container uses (-a: every such image)\n",
          argc < 2 ? stderr : stdout);
    return argc < 2 ? RL_EXIT_FAILURE : 0;
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(subs); i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, g, err);
  rl_make_error(err, 0, "unknown command `rless image %s`", argv[1]);
  return rl_error_hint(err, "use ls, rm, tag, inspect or prune");
}
