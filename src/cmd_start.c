/* rless start [-a] [-i] and rless restart [-t N]: a stopped container runs
 * again from its record, with its upper layer as it was left. */
#include "rl_cli.h"
#include "rl_json.h"
#include "rl_container.h"
#include "rl_cstate.h"
#include "rl_monitor.h"
#include "rl_paths.h"
#include "rl_storage.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char *str_of(json_t *cfg, const char *key)
{
  const char *v = json_string_value(json_object_get(cfg, key));
  return v && *v ? rl_xstrdup(v) : NULL;
}

static enum rl_userns_mode userns_of(const char *name)
{
  if (name && strcmp(name, "keep-id") == 0)
    return RL_USERNS_KEEP_ID;
  if (name && strcmp(name, "single") == 0)
    return RL_USERNS_SINGLE;
  return name && strcmp(name, "subids") == 0 ? RL_USERNS_SUBIDS : RL_USERNS_AUTO;
}

/* The options the container was created with, from container.json's config. */
static void restore_opts(const struct rl_cstate *cs, struct rl_run_opts *o)
{
  json_t *cfg = cs->config;
  memset(o, 0, sizeof(*o));
  rl_strv_from_json(json_object_get(cfg, "env"), &o->env);
  o->hostname = str_of(cfg, "hostname");
  o->tty = json_is_true(json_object_get(cfg, "tty"));
  o->interactive = json_is_true(json_object_get(cfg, "interactive"));
  o->read_only = json_is_true(json_object_get(cfg, "read_only"));
  o->init = json_is_true(json_object_get(cfg, "init"));
  rl_net_opts_from_json(cfg, &o->network, &o->net);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "volumes"), i, v)
  {
    o->volumes = rl_xrealloc(o->volumes, (o->n_volumes + 1) * sizeof(*o->volumes));
    o->volumes[o->n_volumes++] = (struct rl_volume){
        .src = rl_xstrdup(json_string_value(json_object_get(v, "source")) ?: "/nonexistent"),
        .dst = rl_xstrdup(json_string_value(json_object_get(v, "destination")) ?: "/"),
        .ro = json_is_true(json_object_get(v, "ro"))};
  }
  rl_strv_from_json(json_object_get(cfg, "tmpfs"), &o->tmpfs);
  rl_strv_from_json(json_object_get(cfg, "cap_add"), &o->cap_add);
  rl_strv_from_json(json_object_get(cfg, "cap_drop"), &o->cap_drop);
  rl_strv_from_json(json_object_get(cfg, "mask"), &o->mask);
  rl_strv_from_json(json_object_get(cfg, "add_hosts"), &o->add_hosts);
  rl_strv_from_json(json_object_get(cfg, "dns"), &o->dns);
  rl_strv_from_json(json_object_get(cfg, "dns_search"), &o->dns_search);
  rl_strv_from_json(json_object_get(cfg, "unmask"), &o->unmask);
  o->privileged = json_is_true(json_object_get(cfg, "privileged"));
  o->seccomp = str_of(cfg, "seccomp");
  /* The same map as before, or the upper layer's owners would change. */
  o->userns = userns_of(json_string_value(json_object_get(cfg, "userns_resolved")));
  const char *drv = json_string_value(json_object_get(cfg, "storage_driver"));
  o->storage_driver = drv && *drv ? drv : NULL;
  o->rm = cs->auto_remove;
  o->image = cs->image_name ? rl_xstrdup(cs->image_name) : NULL;
  rl_cgroup_limits_from_json(json_object_get(cfg, "resources"), &o->limits);
}

struct restore_ctx {
  const struct rl_store *s;
  const struct rl_cstate *cs;
};

static int restore_source(struct rl_container *c, void *ctx, rl_error_t *err)
{
  const struct restore_ctx *r = ctx;
  const struct rl_cstate *cs = r->cs;
  struct rl_storage st;
  if (rl_storage_select(c->opts->storage_driver, &st, err) < 0)
    return -1;
  rl_strv_from_json(json_object_get(cs->config, "argv"), &c->argv);
  c->workdir = str_of(cs->config, "workdir");
  c->user = str_of(cs->config, "user");
  c->stop_signal = cs->stop_signal ? rl_xstrdup(cs->stop_signal) : NULL;
  c->image_id = cs->image ? rl_xstrdup(cs->image) : NULL;
  c->state_dir = rl_xasprintf("%s/containers/%s", r->s->root, cs->id);
  c->rootfs.kind = st.rootfs_kind;
  for (size_t i = cs->layers.n; i-- > 0;) {
    if (!rl_store_has_layer(r->s, st.layer_format, cs->layers.v[i]))
      return rl_make_error(err, 0, "cannot start container %s: layer %s of its image is gone",
                           cs->name, cs->layers.v[i]);
    rl_strv_push_owned(&c->rootfs.lowers,
                       rl_store_layer_path(r->s, st.layer_format, cs->layers.v[i]));
  }
  c->rootfs.upper = rl_xasprintf("%s/upper", c->state_dir);
  c->rootfs.work = rl_xasprintf("%s/work", c->state_dir);
  c->rootfs.merged = rl_xasprintf("%s/merged", c->state_dir);
  if (c->argv.n == 0)
    return rl_make_error(err, 0, "container %s has no command recorded", cs->name);
  return 0;
}

int rl_container_start(const struct rl_store *s, const struct rl_global *g, const char *ref,
                       bool attach, rl_error_t *err)
{
  char id[65];
  struct rl_cstate cs = {0};
  struct rl_run_opts o;
  struct rl_container c = {0};
  if (rl_cstate_find(s, ref, id, err) < 0 || rl_cstate_load(s, id, &cs, err) < 0)
    return -1;
  int r = 0;
  if (cs.status == RL_CSTATUS_RUNNING) {
    rl_cstate_free(&cs);
    return attach ? rl_make_error(err, 0, "container %s is already running", ref) : 0;
  }
  cleanup_free char *run = rl_cstate_run_dir(s, id, err);
  restore_opts(&cs, &o);
  o.root = g->root;
  struct restore_ctx ctx = {.s = s, .cs = &cs};
  if (run == NULL || rl_container_prepare_from(&c, &o, id, restore_source, &ctx, err) < 0)
    r = -1;
  else if (!attach)
    r = rl_run_detached(&c, NULL, err);
  else {
    rl_container_track(&c);
    r = rl_container_run(&c, err);
    rl_container_finish(&c, r >= 0 ? r : (*err)->exit_code);
  }
  rl_container_free(&c);
  rl_run_opts_free(&o);
  rl_cstate_free(&cs);
  return r;
}

int rl_cmd_start(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"attach", no_argument, NULL, 'a'},
      {"interactive", no_argument, NULL, 'i'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool attach = false;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:ai", opts, NULL)) != -1) {
    if (c == 'a' || c == 'i')
      attach = true;
    else if (c == 'h')
      return puts("Usage: rless start [-a] [-i] CONTAINER..."), 0;
    else
      return rl_make_error(err, 0, "bad option `%s` for `rless start`", argv[optind - 1]);
  }
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless start` needs at least one container");
  if (attach && optind + 1 != argc)
    return rl_make_error(err, 0, "`rless start -a` takes exactly one container");
  struct rl_store s;
  if (rl_cli_open_store(g, false, &s, err) < 0)
    return -1;
  int r = 0;
  for (int i = optind; i < argc && r >= 0; i++) {
    r = rl_container_start(&s, g, argv[i], attach, err);
    if (r == 0 && !attach)
      printf("%s\n", argv[i]);
  }
  rl_store_close(&s);
  return r;
}
