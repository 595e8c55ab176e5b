/* rless inspect (container inspect): docker's JSON for containers, from the
 * durable record and the derived state.  As docker's `inspect`, an argument
 * that is no container is looked up as an image, and all objects come out
 * in one array in the order asked. */
#include "cmd_images_int.h"
#include "rl_cgroup.h"
#include "rl_cli.h"
#include "rl_cstate.h"
#include "rl_net.h"
#include "rl_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define ZERO_TIME "0001-01-01T00:00:00Z" /* docker's "never" */

enum inspect_type { TYPE_ANY, TYPE_CONTAINER, TYPE_IMAGE };

static json_t *cfg(const struct rl_cstate *c, const char *key)
{
  return json_object_get(c->config, key);
}

static const char *cfg_str(const struct rl_cstate *c, const char *key, const char *dflt)
{
  const char *v = json_string_value(cfg(c, key));
  return v ? v : dflt;
}

/* The cgroup pid 1 is in (podman's State.CgroupPath), "" without one. */
static json_t *cgroup_path_json(const struct rl_cstate *c)
{
  cleanup_free char *path = NULL;
  cleanup_free char *dir =
      c->status == RL_CSTATUS_RUNNING ? rl_cgroup_of_container(c->pid, &path) : NULL;
  return json_string(dir && path ? path : "");
}

static json_t *state_json(const struct rl_cstate *c)
{
  bool running = c->status == RL_CSTATUS_RUNNING;
  json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
                        rl_cstatus_name(c->status), "Running", running, "Paused", 0, "Restarting",
                        0, "OOMKilled", c->oom_killed, "Dead", 0, "Pid", running ? (int)c->pid : 0,
                        "ExitCode", c->status == RL_CSTATUS_EXITED ? c->exit_code : 0, "Error", "",
                        "StartedAt", c->started_at ? c->started_at : ZERO_TIME, "FinishedAt",
                        c->finished_at ? c->finished_at : ZERO_TIME);
  json_object_set_new(o, "CgroupPath", cgroup_path_json(c));
  return o;
}

static json_t *config_json(const struct rl_cstate *c)
{
  const char *stop = c->stop_signal ? c->stop_signal : "SIGTERM";
  return json_pack("{s:s, s:s, s:s, s:b, s:b, s:O?, s:O?, s:O?, s:s, s:s, s:s}", "Hostname",
                   cfg_str(c, "hostname", ""), "User", cfg_str(c, "user", ""), "WorkingDir",
                   cfg_str(c, "workdir", ""), "Tty", json_is_true(cfg(c, "tty")), "OpenStdin",
                   json_is_true(cfg(c, "interactive")), "Env", cfg(c, "env"), "Cmd", cfg(c, "cmd"),
                   "Entrypoint", cfg(c, "entrypoint"), "Image", c->image_name ? c->image_name : "",
                   "StopSignal", stop, "StorageDriver", cfg_str(c, "storage_driver", ""));
}

static json_t *mounts_json(const struct rl_cstate *c)
{
  json_t *a = json_array(), *v;
  size_t i;
  json_array_foreach(cfg(c, "volumes"), i, v)
  {
    bool ro = json_is_true(json_object_get(v, "ro"));
    json_array_append_new(a, json_pack("{s:s, s:O?, s:O?, s:s, s:b, s:s}", "Type", "bind", "Source",
                                       json_object_get(v, "source"), "Destination",
                                       json_object_get(v, "destination"), "Mode", ro ? "ro" : "",
                                       "RW", !ro, "Propagation", "rprivate"));
  }
  return a;
}

/* An empty list is docker's null. */
static json_t *list_or_null(json_t *a)
{
  return json_array_size(a) > 0 ? json_incref(a) : json_null();
}

static json_t *host_config_json(const struct rl_cstate *c)
{
  json_t *tmpfs = json_object(), *v;
  size_t i;
  json_array_foreach(cfg(c, "tmpfs"), i, v)
  {
    if (json_is_string(v))
      json_object_set_new(tmpfs, json_string_value(v), json_string(""));
  }
  json_t *o = json_pack(
      "{s:b, s:s, s:b, s:o, s:o, s:b, s:s, s:o}", "AutoRemove", c->auto_remove, "NetworkMode",
      cfg_str(c, "network", "none"), "ReadonlyRootfs", json_is_true(cfg(c, "read_only")), "CapAdd",
      list_or_null(cfg(c, "cap_add")), "CapDrop", list_or_null(cfg(c, "cap_drop")), "Init",
      json_is_true(cfg(c, "init")), "UsernsMode", cfg_str(c, "userns", "auto"), "Tmpfs", tmpfs);
  struct rl_cgroup_limits l;
  rl_cgroup_limits_from_json(cfg(c, "resources"), &l);
  rl_cgroup_limits_to_json(&l, o);
  rl_cgroup_limits_free(&l);
  json_object_set_new(o, "PortBindings", rl_net_ports_docker(cfg(c, "ports")));
  json_object_set_new(o, "PidMode", json_string(cfg_str(c, "pid", "")));
  json_object_set_new(o, "IpcMode", json_string(cfg_str(c, "ipc", "")));
  return o;
}

/* Layer dirs of the container's storage driver, topmost first (overlay's lowerdir). */
static json_t *graph_json(const struct rl_store *s, const struct rl_cstate *c)
{
  struct rl_storage st;
  const char *driver = cfg_str(c, "storage_driver", "overlay");
  if (rl_storage_select(*driver ? driver : NULL, &st, NULL) < 0)
    rl_storage_select(NULL, &st, NULL);
  cleanup_free char *lower = rl_xstrdup("");
  for (size_t k = c->layers.n; k-- > 0;) {
    cleanup_free char *p = rl_store_layer_path(s, st.layer_format, c->layers.v[k]);
    char *next = rl_xasprintf("%s%s%s", lower, *lower ? ":" : "", p ? p : "?");
    free(lower);
    lower = next;
  }
  cleanup_free char *dir = rl_xasprintf("%s/containers/%s", s->root, c->id);
  cleanup_free char *upper = rl_xasprintf("%s/upper", dir);
  cleanup_free char *work = rl_xasprintf("%s/work", dir);
  cleanup_free char *merged = rl_xasprintf("%s/merged", dir);
  return json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "Name", st.driver, "Data", "LowerDir", lower,
                   "UpperDir", upper, "WorkDir", work, "MergedDir", merged);
}

static json_t *container_json(const struct rl_store *s, const struct rl_cstate *c)
{
  json_t *args = json_array();
  for (size_t i = 1; i < c->command.n; i++)
    json_array_append_new(args, json_string(c->command.v[i]));
  cleanup_free char *name = rl_xasprintf("/%s", c->name);
  cleanup_free char *log = rl_xasprintf("%s/containers/%s/ctr.log", s->root, c->id);
  json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s?, s:s, s:s}", "Id", c->id, "Created",
                        c->created, "Path", c->command.n > 0 ? c->command.v[0] : "", "Args", args,
                        "State", state_json(c), "Image", c->image, "Name", name, "LogPath", log);
  json_object_set_new(o, "Driver", json_string(cfg_str(c, "storage_driver", "overlay")));
  json_object_set_new(o, "Platform", json_string("linux"));
  json_object_set_new(o, "Mounts", mounts_json(c));
  json_object_set_new(o, "Config", config_json(c));
  json_object_set_new(o, "HostConfig", host_config_json(c));
  json_object_set_new(o, "GraphDriver", graph_json(s, c));
  pid_t pid = c->status == RL_CSTATUS_RUNNING ? c->pid : 0;
  json_object_set_new(o, "NetworkSettings", rl_net_settings_json(c->config, pid));
  return o;
}

/* The image's object as `rless image inspect` prints it.  That command
 * writes its array to stdout, so it runs with stdout on a memfd and its
 * output is parsed back (one array for mixed arguments, as docker). */
static json_t *image_json(const struct rl_global *g, const char *name, rl_error_t *err)
{
  cleanup_close int mfd = memfd_create("rless-inspect", MFD_CLOEXEC);
  cleanup_close int saved = mfd < 0 ? -1 : dup(STDOUT_FILENO);
  if (saved < 0) {
    rl_make_error(err, errno, "memfd for the inspect of image `%s`", name);
    return NULL;
  }
  char *argv[] = {"inspect", "--", (char *)name, NULL};
  fflush(stdout);
  dup2(mfd, STDOUT_FILENO);
  int r = rl_cmd_image_inspect(3, argv, g, err);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  off_t len = lseek(mfd, 0, SEEK_END);
  cleanup_free char *text = rl_xcalloc(1, len > 0 ? (size_t)len + 1 : 1);
  ssize_t got = r == 0 && len > 0 ? pread(mfd, text, (size_t)len, 0) : -1;
  json_t *arr = got == len ? json_loads(text, 0, NULL) : NULL;
  json_t *one = json_incref(json_array_get(arr, 0));
  json_decref(arr);
  if (one == NULL && *err == NULL)
    rl_make_error(err, 0, "inspect image `%s`: no output", name);
  return one;
}

struct inspect_ctx {
  const struct rl_global *g;
  struct rl_store s;
  bool have_store;
  struct rl_image_index ix;
  enum inspect_type type;
};

static json_t *container_of(struct inspect_ctx *x, const char *ref, rl_error_t *err)
{
  char id[65];
  struct rl_cstate c;
  if (!x->have_store || rl_cstate_find(&x->s, ref, id, err) < 0 ||
      rl_cstate_load(&x->s, id, &c, err) < 0)
    return NULL;
  json_t *o = container_json(&x->s, &c);
  rl_cstate_free(&c);
  return o;
}

static json_t *inspect_one(struct inspect_ctx *x, const char *ref, rl_error_t *err)
{
  rl_error_t e = NULL;
  json_t *o = x->type == TYPE_IMAGE ? NULL : container_of(x, ref, &e);
  if (o || (e && e->exit_code != RL_EXIT_NO_SUCH) || (e && x->type == TYPE_CONTAINER)) {
    *err = e; /* found, an ambiguous prefix, or only containers asked for */
    return o;
  }
  rl_error_free(&e);
  struct rl_image_match m;
  int r = x->have_store ? rl_images_lookup(&x->ix, ref, &m, err) : 0;
  if (r > 0)
    return image_json(x->g, ref, err);
  if (r == 0) {
    rl_make_error(err, 0, "No such %s: %s", x->type == TYPE_IMAGE ? "image" : "object", ref);
    rl_error_set_exit(err, RL_EXIT_NO_SUCH);
  }
  return NULL;
}

static int inspect_parse(int argc, char **argv, enum inspect_type *type, rl_error_t *err)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"type", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs("Usage: rless inspect [--format json] [--type container|image] NAME|ID...\n", stdout);
      return 1;
    }
    if (c == 'f' && strcmp(optarg, "json") != 0)
      return rl_make_error(err, 0, "`rless inspect --format %s`: only json is supported", optarg);
    if (c == 't' && strcmp(optarg, "container") != 0 && strcmp(optarg, "image") != 0)
      return rl_make_error(err, 0, "`rless inspect --type %s`: use container or image", optarg);
    if (c == 't')
      *type = strcmp(optarg, "image") == 0 ? TYPE_IMAGE : TYPE_CONTAINER;
    else if (c != 'f') {
      rl_make_error(err, 0, "bad option `%s` for `rless inspect`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless inspect --help`");
    }
  }
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless inspect` needs at least one container or image");
  return 0;
}

/* docker's order: the objects found are printed, each missing one is an
 * error on stderr, and the exit status is 1 when any was missing. */
static int inspect_run(int first, int argc, char **argv, const struct rl_global *g,
                       enum inspect_type type, rl_error_t *err)
{
  struct inspect_ctx x = {.g = g, .type = type};
  int open = rl_images_open_store(g, &x.s, err);
  if (open < 0)
    return -1;
  x.have_store = open > 0;
  if (x.have_store && rl_images_load(&x.s, &x.ix, err) < 0) {
    rl_store_close(&x.s);
    return -1;
  }
  json_t *arr = json_array();
  int status = 0;
  /* Image inspect parses its own options: optind is not ours after it. */
  for (int i = first; i < argc; i++) {
    rl_error_t e = NULL;
    json_t *o = inspect_one(&x, argv[i], &e);
    if (o)
      json_array_append_new(arr, o);
    if (e) {
      status = e->exit_code > status ? e->exit_code : status;
      rl_error_print(e);
      rl_error_free(&e);
    }
  }
  cleanup_free char *text = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  json_decref(arr);
  rl_images_free(&x.ix);
  if (x.have_store)
    rl_store_close(&x.s);
  if (text == NULL || printf("%s\n", text) < 0)
    return rl_make_error(err, errno, "write the inspect output");
  return status;
}

int rl_cmd_inspect(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  enum inspect_type type = TYPE_ANY;
  int r = inspect_parse(argc, argv, &type, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  return inspect_run(optind, argc, argv, g, type, err);
}
