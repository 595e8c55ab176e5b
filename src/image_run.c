/* `rless run IMAGE`: the image becomes an overlay root filesystem source.
 * rless itself links no registry code: a missing image is pulled by running
 * rless-image, whose stdout carries the image id back. */
#include "rl_cli.h"
#include "rl_json.h"
#include "rl_cstate.h"
#include "rl_host.h"
#include "rl_image_run.h"
#include "rl_imageref.h"
#include "rl_images.h"
#include "rl_paths.h"
#include "rl_storage.h"
#include "rl_store.h"
#include "rl_userns.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>

int rl_image_argv(json_t *config, const char *entrypoint, const rl_strv_t *args, rl_strv_t *out,
                  rl_error_t *err)
{
  if (entrypoint == NULL)
    rl_strv_from_json(json_object_get(config, "Entrypoint"), out);
  else if (*entrypoint)
    rl_strv_push(out, entrypoint);
  if (args->n > 0) {
    for (size_t i = 0; i < args->n; i++)
      rl_strv_push(out, args->v[i]);
  } else if (entrypoint == NULL) {
    rl_strv_from_json(json_object_get(config, "Cmd"), out);
  }
  if (out->n == 0) {
    rl_make_error(err, 0, "no command to run: the image has neither Entrypoint nor Cmd");
    return rl_error_hint(err, "give one after the image name: rless run IMAGE COMMAND");
  }
  return 0;
}

static const char *log_level_name(void)
{
  static const char *const names[] = {"error", "warning", "info", "debug"};
  return rl_log_level >= 0 && rl_log_level <= RL_LOG_DEBUG ? names[rl_log_level] : "warning";
}

__attribute__((noreturn)) static void exec_pull(const char *helper, const struct rl_run_opts *o,
                                                int out)
{
  rl_strv_t argv = {0};
  rl_strv_push(&argv, "rless-image");
  rl_strv_push(&argv, "--log-level");
  rl_strv_push(&argv, log_level_name());
  if (o->root) {
    rl_strv_push(&argv, "--root");
    rl_strv_push(&argv, o->root);
  }
  if (o->storage_driver) {
    rl_strv_push(&argv, "--storage-driver");
    rl_strv_push(&argv, o->storage_driver);
  }
  rl_strv_push(&argv, "pull");
  if (o->platform) {
    rl_strv_push(&argv, "--platform");
    rl_strv_push(&argv, o->platform);
  }
  rl_strv_push(&argv, "--");
  rl_strv_push(&argv, o->image);
  if (dup2(out, 1) < 0)
    _exit(RL_EXIT_FAILURE);
  execv(helper, argv.v);
  fprintf(stderr, "rless: exec `%s`: %s\n", helper, strerror(errno));
  _exit(RL_EXIT_FAILURE);
}

/* Pull o->image with rless-image; its progress and errors go to our stderr. */
static int pull_image(const struct rl_run_opts *o, char **id, rl_error_t *err)
{
  cleanup_free char *helper = rl_find_helper("rless-image", err);
  int p[2];
  if (helper == NULL)
    return -1;
  if (pipe2(p, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe");
  pid_t pid = fork();
  if (pid == 0)
    exec_pull(helper, o, p[1]);
  close(p[1]);
  char buf[128] = {0};
  size_t len = 0;
  ssize_t n;
  while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
    if (n < 0 && errno != EINTR)
      break;
    len += n > 0 ? (size_t)n : 0;
  }
  close(p[0]);
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (pid < 0)
    return rl_make_error(err, errno, "fork to pull `%s`", o->image);
  buf[strcspn(buf, "\n")] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !rl_digest_valid(buf))
    return rl_make_error(err, 0, "could not pull image `%s` (the error above says why)", o->image);
  *id = rl_xstrdup(buf);
  return 0;
}

/* By name, id or id prefix; then by every name the reference resolves to
 * (`alpine` → docker.io/library/alpine:latest), in the order pull would
 * try them, so a run finds what the same pull would fetch. */
static struct rl_image_rec *find_local(struct rl_image_index *ix, const char *name, rl_error_t *err)
{
  struct rl_image_rec *rec = rl_images_find(ix, name, err);
  if (rec || *err)
    return rec;
  struct rl_registries_conf conf = {0};
  struct rl_imageref *cands = NULL;
  size_t n = 0;
  if (rl_registries_conf_load(NULL, &conf, err) == 0 &&
      rl_imageref_resolve(name, &conf, &cands, &n, err) == 0) {
    for (size_t i = 0; i < n && rec == NULL && *err == NULL; i++) {
      cleanup_free char *full = rl_imageref_string(&cands[i]);
      rec = full ? rl_images_find(ix, full, err) : NULL;
    }
  }
  for (size_t i = 0; i < n; i++)
    rl_imageref_free(&cands[i]);
  free(cands);
  rl_registries_conf_free(&conf);
  /* Then names no registry gives: localhost/ (tag, import, load) and a
   * unique repository suffix, as rmi and inspect find them. */
  struct rl_image_match m = {0};
  if (rec == NULL && *err == NULL && rl_images_lookup(ix, name, &m, err) == 1)
    rec = m.rec;
  return rec;
}

static bool layers_present(const struct rl_store *s, const struct rl_storage *st,
                           const struct rl_image_rec *rec)
{
  for (size_t i = 0; i < rec->layers.n; i++)
    if (!rl_store_has_layer(s, st->layer_format, rec->layers.v[i]))
      return false;
  return true;
}

/* The image record, pulling per --pull; *out points into ix. */
static int lookup(const struct rl_store *s, const struct rl_storage *st,
                  const struct rl_run_opts *o, struct rl_image_index *ix, struct rl_image_rec **out,
                  rl_error_t *err)
{
  struct rl_image_rec *rec = NULL;
  if (rl_images_load(s, ix, err) < 0)
    return -1;
  if (o->pull != RL_PULL_ALWAYS && (rec = find_local(ix, o->image, err)) == NULL && *err)
    return -1;
  if (rec && layers_present(s, st, rec)) {
    *out = rec;
    return 0;
  }
  if (o->pull == RL_PULL_NEVER) {
    rl_make_error(err, 0, "image `%s` is not in the store%s", o->image,
                  rec ? " for this storage driver" : "");
    return rl_error_hint(err, "pull it first (`rless pull %s`) or drop --pull=never", o->image);
  }
  if (rec == NULL && o->pull == RL_PULL_MISSING)
    fprintf(stderr, "Unable to find image '%s' locally\n", o->image);
  cleanup_free char *id = NULL;
  if (pull_image(o, &id, err) < 0)
    return -1;
  rl_images_free(ix);
  if (rl_images_load(s, ix, err) < 0)
    return -1;
  if ((*out = rl_images_find(ix, id, err)) == NULL && *err == NULL)
    return rl_make_error(err, 0, "image %s was pulled but is not in the index", id);
  return *out ? 0 : -1;
}

static int check_upper_fs(const char *dir, rl_error_t *err)
{
  struct statfs sfs;
  if (statfs(dir, &sfs) < 0)
    return rl_make_error(err, errno, "statfs `%s`", dir);
  bool bad;
  const char *net = rl_fs_type_name((unsigned long)sfs.f_type, &bad);
  if (!bad)
    return 0;
  rl_make_error(err, 0, "the store `%s` is on %s, which cannot hold a container's upper layer", dir,
                net);
  return rl_error_hint(err, "keep the store on a local disk: `rless --root /var/tmp/$USER/rless "
                            "...`, or set \"root\" in ~/.config/rless/config.json");
}

static void container_record(const struct rl_container *c, const struct rl_storage *st,
                             const struct rl_image_rec *rec, struct rl_cstate *cs)
{
  memset(cs, 0, sizeof(*cs));
  memcpy(cs->id, c->id, sizeof(cs->id));
  cs->name = c->opts->name ? rl_xstrdup(c->opts->name) : NULL;
  cs->image = rl_xstrdup(rec->id);
  cs->image_name = rl_xstrdup(c->opts->image);
  cs->manifest = rec->manifest ? rl_xstrdup(rec->manifest) : NULL;
  for (size_t i = 0; i < rec->layers.n; i++)
    rl_strv_push(&cs->layers, rec->layers.v[i]);
  for (size_t i = 0; i < c->argv.n; i++)
    rl_strv_push(&cs->command, c->argv.v[i]);
  cs->auto_remove = c->opts->rm;
  cs->stop_signal = c->stop_signal ? rl_xstrdup(c->stop_signal) : NULL;
  cs->config = rl_cstate_run_config(c, rec->config, st->driver);
}

/* The record claims the image's layers for this container: written under
 * the store lock, after checking they are still there, so an `rmi` either
 * ran before (and we fail here) or sees the claim and keeps them.
 * rl_cstate_create claims the name (one of any number of racing creators
 * wins) and writes the record by temp + rename. */
static int write_record(const struct rl_container *c, struct rl_store *s,
                        const struct rl_storage *st, const struct rl_image_rec *rec,
                        rl_error_t *err)
{
  cleanup_close int lock = rl_store_lock(s, err);
  if (lock < 0)
    return -1;
  if (!layers_present(s, st, rec)) {
    rl_make_error(err, 0, "the layers of image `%s` were removed while it was being started",
                  c->opts->image);
    return rl_error_hint(err, "run the command again: it pulls the image anew");
  }
  struct rl_cstate cs;
  container_record(c, st, rec, &cs);
  int r = rl_cstate_create(s, &cs, err);
  rl_cstate_free(&cs);
  return r;
}

/* containers/<id>/{upper,work,merged} and container.json.  A container
 * that could not be recorded (its name is taken) leaves nothing behind. */
static int make_state_dir(struct rl_container *c, struct rl_store *s, const struct rl_storage *st,
                          const struct rl_image_rec *rec, rl_error_t *err)
{
  static const char *const sub[] = {"upper", "work", "merged"};
  cleanup_free char *parent = rl_xasprintf("%s/containers", s->root);
  if (check_upper_fs(parent, err) < 0)
    return -1;
  c->state_dir = rl_xasprintf("%s/%s", parent, c->id);
  if (mkdir(c->state_dir, 0700) < 0)
    return rl_make_error(err, errno, "create the container dir `%s`", c->state_dir);
  int r = 0;
  for (size_t i = 0; r == 0 && i < RL_ARRAY_SIZE(sub); i++) {
    cleanup_free char *d = rl_xasprintf("%s/%s", c->state_dir, sub[i]);
    if (mkdir(d, 0755) < 0)
      r = rl_make_error(err, errno, "create `%s`", d);
  }
  if (r == 0 && write_record(c, s, st, rec, err) == 0)
    return 0;
  /* Only empty dirs of ours so far: no user namespace needed. */
  rl_error_t e = NULL;
  if (rl_rmtree(c->state_dir, &e) < 0)
    rl_warn("remove the container dir `%s`: %s", c->state_dir, e->msg);
  rl_error_free(&e);
  free(rl_steal_ptr(&c->state_dir));
  return -1;
}

static void set_rootfs(struct rl_container *c, const struct rl_store *s,
                       const struct rl_storage *st, const struct rl_image_rec *rec)
{
  c->rootfs.kind = st->rootfs_kind;
  for (size_t i = rec->layers.n; i-- > 0;)
    rl_strv_push_owned(&c->rootfs.lowers,
                       rl_store_layer_path(s, st->layer_format, rec->layers.v[i]));
  c->rootfs.upper = rl_xasprintf("%s/upper", c->state_dir);
  c->rootfs.work = rl_xasprintf("%s/work", c->state_dir);
  c->rootfs.merged = rl_xasprintf("%s/merged", c->state_dir);
}

static char *config_str(json_t *config, const char *key)
{
  const char *v = json_string_value(json_object_get(config, key));
  return v && *v ? rl_xstrdup(v) : NULL;
}

static int apply_config(struct rl_container *c, const struct rl_image_rec *rec, rl_error_t *err)
{
  const struct rl_run_opts *o = c->opts;
  if (rl_image_argv(rec->config, o->entrypoint, &o->argv, &c->argv, err) < 0)
    return -1;
  rl_strv_from_json(json_object_get(rec->config, "Env"), &c->image_env);
  c->workdir = o->workdir ? rl_xstrdup(o->workdir) : config_str(rec->config, "WorkingDir");
  c->user = o->user ? rl_xstrdup(o->user) : config_str(rec->config, "User");
  c->stop_signal = config_str(rec->config, "StopSignal");
  c->image_id = rl_xstrdup(rec->id);
  return rl_net_publish_exposed(&c->net, o, rec->config, err);
}

int rl_image_prepare(struct rl_container *c, rl_error_t *err)
{
  const struct rl_run_opts *o = c->opts;
  struct rl_storage st;
  struct rl_store s = {.rootfd = -1};
  struct rl_image_index ix = {0};
  struct rl_image_rec *rec = NULL;
  cleanup_free char *root = NULL;
  int r = 0;
  if ((root = rl_data_dir(o->root, err)) == NULL || rl_store_open(root, true, &s, err) < 0 ||
      rl_storage_for_store(o->storage_driver, &s, &st, err) < 0)
    r = -1;
  if (r == 0)
    r = lookup(&s, &st, o, &ix, &rec, err);
  if (r == 0)
    r = apply_config(c, rec, err);
  if (r == 0)
    r = make_state_dir(c, &s, &st, rec, err);
  if (r == 0)
    set_rootfs(c, &s, &st, rec);
  rl_images_free(&ix);
  rl_store_close(&s);
  return r;
}
