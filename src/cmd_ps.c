/* rless ps (container ls) and the `rless container` dispatcher: docker's
 * table of containers, newest first, from the durable records and the
 * status derived from the live state (rl_cstate.h). */
#include "cmd_images_int.h"
#include "rl_json.h"
#include "rl_cli.h"
#include "rl_cstate.h"
#include "rl_net.h"

#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char ps_usage[] =
    "Usage: rless ps [OPTIONS]\n\n"
    "  -a, --all              show all containers (default: running ones)\n"
    "  -q, --quiet            print only container ids\n"
    "      --no-trunc         full ids and commands\n"
    "      --format FORMAT    table (default) or json\n"
    "  -f, --filter KEY=VAL   name=REGEX, id=REGEX, status=created|running|exited (a key given\n"
    "                         twice matches either value; different keys must all match)\n";

struct ps_opts {
  bool all, quiet, no_trunc, json;
  rl_strv_t names, ids, statuses; /* filter values */
};

static void ps_opts_free(struct ps_opts *o)
{
  rl_strv_free(&o->names);
  rl_strv_free(&o->ids);
  rl_strv_free(&o->statuses);
}

static int add_filter(struct ps_opts *o, const char *f, rl_error_t *err)
{
  static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                         "paused",  "exited",     "dead"};
  const char *eq = strchr(f, '=');
  size_t klen = eq ? (size_t)(eq - f) : 0;
  if (eq && klen == 4 && strncmp(f, "name", 4) == 0)
    rl_strv_push(&o->names, eq + 1);
  else if (eq && klen == 2 && strncmp(f, "id", 2) == 0)
    rl_strv_push(&o->ids, eq + 1);
  else if (eq && klen == 6 && strncmp(f, "status", 6) == 0) {
    bool known = false;
    for (size_t i = 0; i < RL_ARRAY_SIZE(statuses); i++)
      known = known || strcmp(eq + 1, statuses[i]) == 0;
    if (!known) {
      rl_make_error(err, 0, "invalid filter `%s`: unknown status", f);
      return rl_error_hint(err, "use one of created, restarting, running, removing, paused, "
                                "exited, dead");
    }
    rl_strv_push(&o->statuses, eq + 1);
  } else {
    rl_make_error(err, 0, "invalid filter `%s`", f);
    return rl_error_hint(err, "use name=REGEX, id=REGEX or status=STATUS");
  }
  return 0;
}

/* 1: help printed; 0: parsed; -1: error. */
static int ps_parse(int argc, char **argv, struct ps_opts *o, rl_error_t *err)
{
  static const struct option opts[] = {
      {"all", no_argument, NULL, 'a'},
      {"quiet", no_argument, NULL, 'q'},
      {"no-trunc", no_argument, NULL, 'n'},
      {"format", required_argument, NULL, 'F'},
      {"filter", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:aqf:h", opts, NULL)) != -1) {
    if (c == 'a')
      o->all = true;
    else if (c == 'q')
      o->quiet = true;
    else if (c == 'n')
      o->no_trunc = true;
    else if (c == 'F' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
      o->json = strcmp(optarg, "json") == 0;
    else if (c == 'F')
      return rl_make_error(err, 0, "`rless ps --format %s`: use table or json", optarg);
    else if (c == 'f' && add_filter(o, optarg, err) < 0)
      return -1;
    else if (c == 'h') {
      fputs(ps_usage, stdout);
      return 1;
    } else if (c != 'f') {
      rl_make_error(err, 0, "bad option `%s` for `rless ps`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless ps --help`");
    }
  }
  if (optind < argc)
    return rl_make_error(err, 0, "`rless ps` takes no arguments");
  /* docker: asking for a status lists stopped containers too. */
  if (o->statuses.n > 0)
    o->all = true;
  return 0;
}

/* Any of the regexes matches (docker's filters are unanchored regexes). */
static int match_any(const rl_strv_t *res, const char *s, bool *out, rl_error_t *err)
{
  *out = res->n == 0;
  for (size_t i = 0; i < res->n && !*out; i++) {
    regex_t re;
    int rc = regcomp(&re, res->v[i], REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char msg[128];
      regerror(rc, &re, msg, sizeof(msg));
      return rl_make_error(err, 0, "invalid filter regex `%s`: %s", res->v[i], msg);
    }
    *out = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
  }
  return 0;
}

static int keep(const struct ps_opts *o, const struct rl_cstate *c, bool *out, rl_error_t *err)
{
  bool by_name, by_id, by_status = o->statuses.n == 0;
  for (size_t i = 0; i < o->statuses.n; i++)
    by_status = by_status || strcmp(o->statuses.v[i], rl_cstatus_name(c->status)) == 0;
  if (match_any(&o->names, c->name, &by_name, err) < 0 ||
      match_any(&o->ids, c->id, &by_id, err) < 0)
    return -1;
  *out = by_name && by_id && by_status && (o->all || c->status == RL_CSTATUS_RUNNING);
  return 0;
}

struct list {
  struct rl_cstate *v;
  size_t n;
};

static void list_free(struct list *l)
{
  for (size_t i = 0; i < l->n; i++)
    rl_cstate_free(&l->v[i]);
  free(l->v);
}

static int newest_first(const void *a, const void *b)
{
  const struct rl_cstate *x = a, *y = b;
  int c = strcmp(y->created, x->created);
  return c ? c : strcmp(x->id, y->id);
}

/* A container removed while we read is skipped, as if listed a moment later. */
static int collect(const struct rl_store *s, const struct ps_opts *o, struct list *l,
                   rl_error_t *err)
{
  cleanup_strv rl_strv_t ids = {0};
  if (rl_cstate_list(s, &ids, err) < 0)
    return -1;
  l->v = rl_xcalloc(ids.n + 1, sizeof(*l->v));
  for (size_t i = 0; i < ids.n; i++) {
    rl_error_t e = NULL;
    bool in = false;
    if (rl_cstate_load(s, ids.v[i], &l->v[l->n], &e) < 0) {
      if (e->exit_code != RL_EXIT_NO_SUCH)
        rl_error_print(e);
      rl_error_free(&e);
      continue;
    }
    if (keep(o, &l->v[l->n], &in, err) < 0) {
      rl_cstate_free(&l->v[l->n]);
      return -1;
    }
    if (in)
      l->n++;
    else
      rl_cstate_free(&l->v[l->n]);
  }
  qsort(l->v, l->n, sizeof(*l->v), newest_first);
  return 0;
}

static size_t display_width(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

enum { NCOL = 7 };

static void row_cells(const struct rl_cstate *c, bool no_trunc, long long now, char **cells)
{
  cells[0] = no_trunc ? rl_xstrdup(c->id) : rl_xstrndup(c->id, 12);
  cells[1] = rl_xstrdup(c->image_name ? c->image_name : c->rootfs ? c->rootfs : "");
  cells[2] = rl_cstate_command_text(&c->command, !no_trunc);
  long long created = rl_rfc3339_parse(c->created);
  cleanup_free char *d = rl_human_duration(created < 0 || created > now ? 0 : now - created);
  cells[3] = rl_xasprintf("%s ago", d);
  cells[4] = rl_cstate_status_text(c, now);
  cells[5] = rl_net_ports_text(json_object_get(c->config, "ports"));
  cells[6] = rl_xstrdup(c->name);
}

/* docker's tabwriter: each column but the last max(10, widest + 3) wide. */
static void print_table(const struct list *l, bool no_trunc)
{
  static const char *const head[NCOL] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                         "STATUS",       "PORTS", "NAMES"};
  long long now = (long long)time(NULL);
  char *(*cells)[NCOL] = rl_xcalloc(l->n + 1, sizeof(*cells));
  size_t w[NCOL] = {0};
  for (int k = 0; k < NCOL; k++)
    cells[0][k] = rl_xstrdup(head[k]);
  for (size_t i = 0; i < l->n; i++)
    row_cells(&l->v[i], no_trunc, now, cells[i + 1]);
  for (size_t i = 0; i <= l->n; i++)
    for (int k = 0; k < NCOL; k++)
      if (display_width(cells[i][k]) > w[k])
        w[k] = display_width(cells[i][k]);
  for (size_t i = 0; i <= l->n; i++) {
    for (int k = 0; k < NCOL - 1; k++) {
      size_t width = w[k] + 3 > 10 ? w[k] + 3 : 10;
      printf("%s%*s", cells[i][k], (int)(width - display_width(cells[i][k])), "");
    }
    printf("%s\n", cells[i][NCOL - 1]);
    for (int k = 0; k < NCOL; k++)
      free(cells[i][k]);
  }
  free(cells);
}

static int print_json(const struct list *l, rl_error_t *err)
{
  long long now = (long long)time(NULL);
  json_t *arr = json_array();
  for (size_t i = 0; i < l->n; i++) {
    const struct rl_cstate *c = &l->v[i];
    cleanup_free char *status = rl_cstate_status_text(c, now);
    json_t *ports = json_object_get(c->config, "ports");
    if (!json_is_array(ports))
      ports = json_array(); /* a record from before networking: none */
    else
      json_incref(ports);
    json_t *o = json_pack(
        "{s:s, s:[s], s:s?, s:s?, s:o, s:s, s:s, s:s, s:i, s:b, s:i, s:s?, s:s?, s:o, s:b}", "Id",
        c->id, "Names", c->name, "Image", c->image_name, "ImageID", c->image, "Command",
        rl_strv_to_json(&c->command), "Created", c->created, "State", rl_cstatus_name(c->status),
        "Status", status, "ExitCode", c->status == RL_CSTATUS_EXITED ? c->exit_code : 0, "Exited",
        c->status == RL_CSTATUS_EXITED, "Pid", (int)c->pid, "StartedAt", c->started_at, "ExitedAt",
        c->finished_at, "Ports", ports, "AutoRemove", c->auto_remove);
    json_array_append_new(arr, o);
  }
  cleanup_free char *text = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  json_decref(arr);
  if (text == NULL || printf("%s\n", text) < 0)
    return rl_make_error(err, errno, "write the container list");
  return 0;
}

static void print_quiet(const struct list *l, bool no_trunc)
{
  for (size_t i = 0; i < l->n; i++)
    printf("%.*s\n", no_trunc ? 64 : 12, l->v[i].id);
}

int rl_cmd_ps(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct ps_opts o = {0};
  struct rl_store s = {0};
  struct list l = {0};
  int r = ps_parse(argc, argv, &o, err);
  int open = r == 0 ? rl_images_open_store(g, &s, err) : 0;
  if (r == 0 && open < 0)
    r = -1;
  if (r == 0 && open > 0)
    r = collect(&s, &o, &l, err);
  if (r == 0 && o.quiet)
    print_quiet(&l, o.no_trunc);
  else if (r == 0 && o.json)
    r = print_json(&l, err);
  else if (r == 0)
    print_table(&l, o.no_trunc);
  list_free(&l);
  if (open > 0)
    rl_store_close(&s);
  ps_opts_free(&o);
  return r > 0 ? 0 : r;
}

/* docker's `container` group: the container commands of this binary (commit,
 * diff and export are rless-image's: `rless commit` hands them over). */
int rl_cmd_container(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct {
    const char *name;
    rl_cmd_fn fn;
  } subs[] = {
      {"ls", rl_cmd_ps},           {"list", rl_cmd_ps},   {"ps", rl_cmd_ps},
      {"rm", rl_cmd_rm},           {"remove", rl_cmd_rm}, {"prune", rl_cmd_container_prune},
      {"inspect", rl_cmd_inspect}, {"wait", rl_cmd_wait}, {"run", rl_cmd_run},
      {"exec", rl_cmd_exec},       {"logs", rl_cmd_logs}, {"start", rl_cmd_start},
      {"stop", rl_cmd_stop},       {"kill", rl_cmd_kill},
  };
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs("Usage: rless container COMMAND\n\n"
          "  ls        list containers (rless ps)\n"
          "  run       run a command in a new container (rless run)\n"
          "  exec      run a command in a running container\n"
          "  logs      show a detached container's output\n"
          "  start     start stopped containers again\n"
          "  stop      stop containers: their stop signal, then SIGKILL\n"
          "  kill      send a signal to containers\n"
          "  inspect   show containers' configuration and state as JSON\n"
          "  wait      wait for containers to exit and print their exit codes\n"
          "  rm        remove containers (rless rm)\n"
          "  prune     remove every stopped container\n",
          argc < 2 ? stderr : stdout);
    return argc < 2 ? RL_EXIT_FAILURE : 0;
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(subs); i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, g, err);
  rl_make_error(err, 0, "unknown command `rless container %s`", argv[1]);
  return rl_error_hint(err, "see `rless container --help`");
}
