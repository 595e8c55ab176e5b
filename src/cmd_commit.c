/* rless commit, diff and export (in rless-image): options, the container,
 * the new image's config, and the work in its user namespace; what upper
 * dir entries become and the walks are in commit.c.
 *
 * Every read of a container's files runs as root in a user namespace with
 * the container's own id map, so files of subordinate owners are readable
 * and the tar records the owners the container sees.  commit streams the
 * tar out of that process through a pipe into rl_tar_blob_make (gzip,
 * digest and diff_id in one pass).  export mounts the overlay in a mount
 * namespace of its own with the container's upper dir as the topmost lower
 * layer and an empty upper dir, so a running container's dirs are never
 * written to. */
#include "rl_archive.h"
#include "rl_cli.h"
#include "rl_commit.h"
#include "rl_cstate.h"
#include "rl_layer_store.h"
#include "rl_paths.h"
#include "rl_rootfs.h"
#include "rl_storage.h"
#include "rl_sync.h"
#include "rl_userns.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static const char commit_usage[] =
    "Usage: rless commit [OPTIONS] CONTAINER [IMAGE[:TAG]]\n\n"
    "Make an image of a container's changes: its image's layers and one more. Prints the id.\n\n"
    "  -m, --message MSG         the comment of the new history entry\n"
    "  -a, --author AUTHOR       the image's author\n"
    "  -c, --change INSTR        CMD, ENTRYPOINT, ENV, WORKDIR, USER or LABEL, as\n"
    "                            `CMD [\"sh\"]` or `LABEL k=v` (repeatable)\n"
    "  -p, --pause[=BOOL]        accepted for docker (default true); rless cannot freeze a\n"
    "                            running container and warns that its files may change\n";

static const char diff_usage[] = "Usage: rless diff CONTAINER\n\n"
                                 "List the files a container changed: A added, C changed, "
                                 "D deleted.\n";

static const char export_usage[] =
    "Usage: rless export [OPTIONS] CONTAINER\n\n"
    "Write a container's file system (its image and its changes) as a tar archive.\n\n"
    "  -o, --output FILE         write to FILE instead of stdout\n";

/* ---- the new image's config (pure) ---- */

static json_t *child_of(json_t *parent, const char *key, bool array)
{
  json_t *v = json_object_get(parent, key);
  if (array ? !json_is_array(v) : !json_is_object(v)) {
    v = array ? json_array() : json_object();
    json_object_set_new(parent, key, v);
  }
  return v;
}

/* A LABEL value: "double quoted" (backslash escapes), 'single quoted', or
 * up to the next blank. */
static char *label_word(const char **pp)
{
  const char *p = *pp;
  char q = (*p == '"' || *p == '\'') ? *p++ : 0;
  char *out = rl_xmalloc(strlen(p) + 1), *o = out;
  for (; *p && (q ? *p != q : (*p != ' ' && *p != '\t')); p++) {
    if (q == '"' && *p == '\\' && p[1])
      p++;
    *o++ = *p;
  }
  *o = '\0';
  *pp = p + (q && *p == q);
  return out;
}

static int label_change(json_t *config, const char *value, rl_error_t *err)
{
  json_t *labels = child_of(config, "Labels", false);
  const char *p = value;
  size_t klen = strcspn(p, "= \t");
  if (klen > 0 && p[klen] != '=' && p[klen] != '\0') { /* the old form: LABEL key value... */
    cleanup_free char *key = rl_xstrndup(p, klen);
    json_object_set_new(labels, key, json_string(p + klen + strspn(p + klen, " \t")));
    return 0;
  }
  while (*p) {
    klen = strcspn(p, "= \t");
    if (klen == 0 || p[klen] != '=')
      return rl_make_error(err, 0, "--change LABEL: `%s` is not KEY=VALUE", value);
    cleanup_free char *key = rl_xstrndup(p, klen);
    p += klen + 1;
    cleanup_free char *val = label_word(&p);
    json_object_set_new(labels, key, json_string(val));
    p += strspn(p, " \t");
  }
  return 0;
}

int rl_commit_change_apply(json_t *config, const char *change, rl_error_t *err)
{
  const char *p = change + strspn(change, " \t");
  if (strncasecmp(p, "LABEL", 5) != 0 || (p[5] != '\0' && !strchr("= \t", p[5])))
    return rl_archive_change_apply(config, change, err);
  const char *v = p + 5 + (p[5] != '\0');
  cleanup_free char *val = rl_xstrdup(v + strspn(v, " \t"));
  for (size_t n = strlen(val); n > 0 && (val[n - 1] == ' ' || val[n - 1] == '\t'); n--)
    val[n - 1] = '\0';
  if (val[0] == '\0')
    return rl_make_error(err, 0, "--change `%s` has no value", change);
  return label_change(config, val, err);
}

static int edit_config(json_t *root, size_t n_layers, const char *diff_id,
                       const struct rl_commit_opts *o, const char *created_by, long long now,
                       rl_error_t *err)
{
  json_t *config = child_of(root, "config", false);
  for (size_t i = 0; o->changes && o->changes[i]; i++)
    if (rl_commit_change_apply(config, o->changes[i], err) < 0)
      return -1;
  json_t *ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids");
  if (!json_is_array(ids) || json_array_size(ids) != n_layers)
    return rl_make_error(err, 0,
                         "the image config lists %zu layers (rootfs.diff_ids), the container %zu",
                         json_array_size(ids), n_layers);
  json_array_append_new(ids, json_string(diff_id));
  char when[32];
  time_t t = (time_t)now;
  struct tm tm;
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
  json_object_set_new(root, "created", json_string(when));
  json_t *h = json_pack("{s:s, s:s}", "created", when, "created_by", created_by);
  if (o->author) {
    json_object_set_new(root, "author", json_string(o->author));
    json_object_set_new(h, "author", json_string(o->author));
  }
  if (o->message)
    json_object_set_new(h, "comment", json_string(o->message));
  json_array_append_new(child_of(root, "history", true), h);
  return 0;
}

char *rl_commit_config(const char *base, size_t len, size_t n_layers, const char *diff_id,
                       const struct rl_commit_opts *o, const char *created_by, long long now,
                       rl_error_t *err)
{
  json_t *root = json_loadb(base, len, 0, NULL);
  char *out = NULL;
  if (!json_is_object(root))
    rl_make_error(err, 0, "the image config is not a JSON object");
  else if (edit_config(root, n_layers, diff_id, o, created_by, now, err) == 0)
    out = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return out;
}

/* ---- the container ---- */

struct ctr {
  struct rl_store s;
  struct rl_cstate c;
  char *dir; /* <data>/containers/<id> */
  struct rl_storage st;
  struct rl_userns ns; /* the container's map */
};

static void ctr_close(struct ctr *k)
{
  rl_cstate_free(&k->c);
  free(k->dir);
  rl_store_close(&k->s);
}

static bool layers_in(const struct ctr *k, const struct rl_storage *st)
{
  for (size_t i = 0; i < k->c.layers.n; i++)
    if (!rl_store_has_layer(&k->s, st->layer_format, k->c.layers.v[i]))
      return false;
  return true;
}

/* The driver the container ran with; for a record that does not say, the
 * one format that holds all its layers, else the store's. */
static int ctr_storage(struct ctr *k, const struct rl_global *g, rl_error_t *err)
{
  const char *rec = json_string_value(json_object_get(k->c.config, "storage_driver"));
  if (rec && *rec)
    return rl_storage_select(rec, &k->st, err);
  struct rl_storage ov, fu;
  rl_storage_select("overlay", &ov, NULL);
  rl_storage_select("fuse-overlayfs", &fu, NULL);
  bool in_ov = layers_in(k, &ov), in_fu = layers_in(k, &fu);
  if (in_ov != in_fu) {
    k->st = in_ov ? ov : fu;
    return 0;
  }
  return rl_storage_for_store(g->storage_driver, &k->s, &k->st, err);
}

static enum rl_userns_mode ctr_userns(const struct rl_cstate *c)
{
  const char *m = json_string_value(json_object_get(c->config, "userns_resolved"));
  if (m && strcmp(m, "subids") == 0)
    return RL_USERNS_SUBIDS;
  if (m && strcmp(m, "keep-id") == 0)
    return RL_USERNS_KEEP_ID;
  if (m && strcmp(m, "single") == 0)
    return RL_USERNS_SINGLE;
  return RL_USERNS_AUTO;
}

static int ctr_open(const struct rl_global *g, const char *ref, const char *cmd, struct ctr *k,
                    rl_error_t *err)
{
  char id[65];
  cleanup_free char *root = rl_data_dir(g->root, err);
  memset(k, 0, sizeof(*k));
  k->s.rootfd = -1;
  if (root == NULL)
    return -1;
  if (rl_store_open(root, false, &k->s, err) < 0) {
    if ((*err)->errnum != ENOENT)
      return -1;
    rl_error_free(err); /* no store, so no container either */
    rl_make_error(err, 0, "No such container: %s", ref);
    rl_error_set_exit(err, RL_EXIT_NO_SUCH);
    return -1;
  }
  if (rl_cstate_find(&k->s, ref, id, err) < 0 || rl_cstate_load(&k->s, id, &k->c, err) < 0)
    return -1;
  k->dir = rl_xasprintf("%s/containers/%s", k->s.root, id);
  if (k->c.image == NULL) {
    rl_make_error(err, 0,
                  "container %.12s runs a --rootfs directory, not an image: `rless %s` "
                  "has no image layers to compare with",
                  id, cmd);
    return rl_error_hint(err, "its files are the directory `%s` itself",
                         k->c.rootfs ? k->c.rootfs : "?");
  }
  if (ctr_storage(k, g, err) < 0 || rl_userns_plan(ctr_userns(&k->c), true, &k->ns, err) < 0)
    return -1;
  return 0;
}

static char *ctr_upper(const struct ctr *k)
{
  return rl_xasprintf("%s/upper", k->dir);
}

/* The image's unpacked layers, topmost first (needed by diff and export). */
static int ctr_lowers(const struct ctr *k, rl_strv_t *out, rl_error_t *err)
{
  for (size_t i = k->c.layers.n; i-- > 0;) {
    const char *l = k->c.layers.v[i];
    if (!rl_store_has_layer(&k->s, k->st.layer_format, l)) {
      rl_make_error(err, ENOENT,
                    "layer %.19s of container %.12s's image is not in the store for "
                    "the %s driver",
                    l, k->c.id, k->st.driver);
      return rl_error_hint(err, "was it run with the other --storage-driver? pass that one");
    }
    rl_strv_push_owned(out, rl_store_layer_path(&k->s, k->st.layer_format, l));
  }
  return 0;
}

/* ---- a user namespace process running beside this one ---- */

struct bg {
  pid_t pid;
  int sock;
};

static int bg_start(const struct rl_userns *ns, int (*fn)(void *, rl_error_t *), void *arg,
                    int close_in_child, struct bg *b, rl_error_t *err)
{
  pid_t parent = getpid();
  pid_t pid = rl_userns_clone(ns, &b->sock, err);
  if (pid < 0)
    return -1;
  if (pid > 0) {
    b->pid = pid;
    return 0;
  }
  rl_error_t e = NULL;
  close(close_in_child);
  /* Not on after a killed rless: it would go on reading the container. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
    _exit(RL_EXIT_FAILURE);
  if (fn(arg, &e) < 0) {
    rl_sync_send_error(b->sock, e);
    _exit(RL_EXIT_FAILURE);
  }
  _exit(0);
}

static int bg_wait(struct bg *b, rl_error_t *err)
{
  struct rl_sync_msg m;
  int got = rl_sync_recv(b->sock, &m, err);
  close(b->sock);
  int status = 0;
  while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (got > 0 && m.type == RL_SYNC_ERROR)
    return rl_sync_to_error(&m, err);
  if (got < 0)
    return -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return rl_make_error(err, 0, "the process reading the container's files failed (status %d)",
                         status);
  return 0;
}

/* ---- commit ---- */

struct upper_tar {
  const char *upper;
  enum rl_whiteout_format f;
  int out;
};

static int upper_tar_child(void *arg, rl_error_t *err)
{
  const struct upper_tar *a = arg;
  cleanup_close int fd = open(a->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(err, errno, "open the container's upper dir `%s`", a->upper);
  int r = rl_commit_tar(fd, true, a->f, a->out, err);
  close(a->out);
  return r;
}

/* The upper dir as a gzip layer blob in `dir`, read while it is written. */
static int make_layer(const struct ctr *k, const char *dir, struct rl_tar_blob *blob,
                      rl_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe");
  cleanup_free char *upper = ctr_upper(k);
  struct upper_tar a = {.upper = upper, .f = k->st.whiteouts, .out = p[1]};
  struct bg b;
  if (bg_start(&k->ns, upper_tar_child, &a, p[0], &b, err) < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  close(p[1]);
  rl_error_t read_err = NULL;
  int r = rl_tar_blob_make(p[0], NULL, dir, false, blob, &read_err);
  close(p[0]);
  /* The writer's error is the cause, unless the writer only saw the pipe
   * closed by a failed reader. */
  if (bg_wait(&b, err) < 0 && (r == 0 || (*err)->errnum != EPIPE)) {
    rl_error_free(&read_err);
    if (r == 0)
      rl_tar_blob_free(blob);
    return rl_error_wrap(err, "commit container %.12s", k->c.id);
  }
  rl_error_free(err);
  if (r < 0) {
    *err = read_err;
    return -1;
  }
  return 0;
}

/* The base layers as the new manifest lists them: sizes and OCI media
 * types from the blobs (the stored manifest may be docker schema2). */
static int base_layers(const struct ctr *k, struct rl_descriptor *d, rl_strv_t *types,
                       rl_error_t *err)
{
  for (size_t i = 0; i < k->c.layers.n; i++) {
    cleanup_free char *path = rl_store_blob_path(&k->s, k->c.layers.v[i]);
    cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    unsigned char head[8] = {0};
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
      return rl_make_error(err, path ? errno : EINVAL, "open the blob of layer %s",
                           k->c.layers.v[i]);
    ssize_t n = pread(fd, head, sizeof(head), 0);
    const char *type = rl_archive_layer_type(head, n > 0 ? (size_t)n : 0);
    if (type == NULL)
      return rl_make_error(err, 0, "layer %s is compressed in a way OCI layers cannot be",
                           k->c.layers.v[i]);
    rl_strv_push(types, type);
    d[i] = (struct rl_descriptor){
        .media_type = types->v[i], .digest = k->c.layers.v[i], .size = (long long)st.st_size};
  }
  return 0;
}

struct commit_out {
  char *config, *config_digest, *manifest, *manifest_digest;
  struct rl_descriptor *layers; /* base + new; digests borrowed */
  rl_strv_t types;
};

static void commit_out_free(struct commit_out *c)
{
  free(c->config);
  free(c->config_digest);
  free(c->manifest);
  free(c->manifest_digest);
  free(c->layers);
  rl_strv_free(&c->types);
}

static int make_meta(const struct ctr *k, const struct rl_commit_opts *o,
                     const struct rl_tar_blob *l, struct commit_out *c, rl_error_t *err)
{
  size_t n = k->c.layers.n, len = 0;
  cleanup_free char *base = rl_store_blob_read(&k->s, k->c.image, &len, err);
  if (base == NULL)
    return rl_error_wrap(err, "read the config of container %.12s's image", k->c.id);
  cleanup_free char *created_by = NULL;
  for (size_t i = 0; i < k->c.command.n; i++) {
    char *s = rl_xasprintf("%s%s%s", created_by ? created_by : "", i ? " " : "", k->c.command.v[i]);
    free(created_by);
    created_by = s;
  }
  c->config = rl_commit_config(base, len, n, l->diff_id, o, created_by ? created_by : "",
                               (long long)time(NULL), err);
  if (c->config == NULL)
    return rl_error_wrap(err, "image %s", k->c.image);
  c->config_digest = rl_sha256_digest(c->config, strlen(c->config));
  c->layers = rl_xcalloc(n + 1, sizeof(*c->layers));
  if (base_layers(k, c->layers, &c->types, err) < 0)
    return -1;
  rl_strv_push(&c->types, l->media_type);
  c->layers[n] =
      (struct rl_descriptor){.media_type = c->types.v[n], .digest = l->digest, .size = l->size};
  cleanup_free char *config_type = rl_xstrdup(RL_MT_OCI_CONFIG);
  struct rl_descriptor cd = {
      .media_type = config_type, .digest = c->config_digest, .size = (long long)strlen(c->config)};
  c->manifest = rl_oci_manifest_dump(&cd, c->layers, n + 1);
  c->manifest_digest = rl_sha256_digest(c->manifest, strlen(c->manifest));
  return 0;
}

/* Unpacked first (so the image runs without a pull), then the blobs, then
 * the record that makes it visible. */
static int store_image(struct ctr *k, const char *name, const struct rl_tar_blob *l,
                       const struct commit_out *c, rl_error_t *err)
{
  struct rl_userns store_ns;
  struct rl_layer_src src = {.digest = l->digest, .path = l->path, .media_type = l->media_type};
  struct rl_unpack_stats st = {0};
  if (rl_userns_plan(RL_USERNS_AUTO, true, &store_ns, err) < 0 ||
      rl_layer_store_unpack(&k->s, &k->st, &store_ns, &src, 1, &st, err) < 0 ||
      (!rl_store_has_blob(&k->s, l->digest) &&
       rl_store_blob_commit(&k->s, l->path, l->digest, err) < 0) ||
      rl_store_blob_write(&k->s, c->config_digest, c->config, strlen(c->config), err) < 0 ||
      rl_store_blob_write(&k->s, c->manifest_digest, c->manifest, strlen(c->manifest), err) < 0)
    return -1;
  rl_layer_store_warn(l->digest, &st);
  rl_unpack_stats_free(&st);
  struct rl_descriptor cd = {.digest = c->config_digest, .size = (long long)strlen(c->config)};
  struct rl_image_rec rec;
  if (rl_archive_rec_init(&rec, c->manifest_digest, &cd, c->layers, k->c.layers.n + 1, c->config,
                          strlen(c->config), err) < 0)
    return -1;
  if (name)
    rl_strv_push(&rec.names, name);
  return rl_archive_record(&k->s, &rec, 1, err);
}

static int commit(struct ctr *k, const struct rl_commit_opts *o, char **id, rl_error_t *err)
{
  cleanup_free char *name = NULL;
  if (o->name && rl_archive_name_normalize(o->name, false, &name, err) < 0)
    return -1;
  if (k->c.status == RL_CSTATUS_RUNNING && o->pause)
    rl_warn("container %.12s is running: rless cannot pause it (that needs the freezer of a "
            "cgroup), so it is committed as it is and files it writes meanwhile may be "
            "inconsistent",
            k->c.id);
  cleanup_workdir char *dir = rl_store_tmpdir(&k->s, "commit", err);
  if (dir == NULL)
    return -1;
  struct rl_tar_blob l = {0};
  struct commit_out c = {0};
  int r = make_layer(k, dir, &l, err);
  if (r == 0)
    r = make_meta(k, o, &l, &c, err);
  if (r == 0)
    r = store_image(k, name, &l, &c, err);
  if (r == 0)
    *id = rl_xstrdup(c.config_digest);
  commit_out_free(&c);
  rl_tar_blob_free(&l);
  return r;
}

static int bad_option(const char *cmd, char **argv, rl_error_t *err)
{
  rl_make_error(err, 0, "bad option `%s` for `rless %s`", argv[optind - 1], cmd);
  return rl_error_hint(err, "see `rless %s --help`", cmd);
}

static int parse_pause(const char *v, bool *pause, rl_error_t *err)
{
  if (v && *v == '=')
    v++;
  if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
    *pause = true;
  else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
    *pause = false;
  else
    return rl_make_error(err, 0, "invalid value `%s` for --pause: use true or false", v);
  return 0;
}

static int parse_commit(int argc, char **argv, struct rl_commit_opts *o, rl_strv_t *changes,
                        rl_error_t *err)
{
  static const struct option opts[] = {
      {"message", required_argument, NULL, 'm'}, {"author", required_argument, NULL, 'a'},
      {"change", required_argument, NULL, 'c'},  {"pause", optional_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:m:a:c:p::", opts, NULL)) != -1) {
    switch (c) {
    case 'm':
      o->message = optarg;
      break;
    case 'a':
      o->author = optarg;
      break;
    case 'c':
      rl_strv_push(changes, optarg);
      break;
    case 'p':
      if (parse_pause(optarg, &o->pause, err) < 0)
        return -1;
      break;
    case 'h':
      fputs(commit_usage, stdout);
      return 1;
    default:
      return bad_option("commit", argv, err);
    }
  }
  if (optind >= argc || argc - optind > 2)
    return rl_make_error(err, 0, "`rless commit` takes a container and optionally an image name");
  o->name = optind + 1 < argc ? argv[optind + 1] : NULL;
  o->changes = changes->v;
  return 0;
}

int rl_cmd_commit(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_commit_opts o = {.pause = true};
  cleanup_strv rl_strv_t changes = {0};
  int r = parse_commit(argc, argv, &o, &changes, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  /* A bad --change fails before any file is read. */
  json_t *probe = json_object();
  for (size_t i = 0; r == 0 && i < changes.n; i++)
    r = rl_commit_change_apply(probe, changes.v[i], err);
  json_decref(probe);
  struct ctr k;
  if (r < 0 || ctr_open(g, argv[optind], "commit", &k, err) < 0) {
    if (r == 0)
      ctr_close(&k);
    return -1;
  }
  cleanup_free char *id = NULL;
  r = commit(&k, &o, &id, err);
  ctr_close(&k);
  if (r < 0)
    return -1;
  printf("%s\n", id);
  return 0;
}

/* ---- diff ---- */

struct diff_arg {
  const char *upper;
  const rl_strv_t *lowers;
  enum rl_whiteout_format f;
};

static int print_changes(const struct rl_changes *c, rl_error_t *err)
{
  for (size_t i = 0; i < c->n; i++)
    printf("%c %s\n", c->v[i].kind, c->v[i].path);
  if (fflush(stdout) != 0 || ferror(stdout))
    return rl_make_error(err, errno, "write the changes to stdout");
  return 0;
}

/* In the user namespace: the lists are printed from here. */
static int diff_child(void *arg, rl_error_t *err)
{
  const struct diff_arg *a = arg;
  cleanup_close int upper = open(a->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (upper < 0)
    return rl_make_error(err, errno, "open the container's upper dir `%s`", a->upper);
  int *fds = rl_xcalloc(a->lowers->n + 1, sizeof(int));
  size_t n = 0;
  int r = 0;
  for (; r == 0 && n < a->lowers->n; n++)
    if ((fds[n] = open(a->lowers->v[n], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
      r = rl_make_error(err, errno, "open the layer `%s`", a->lowers->v[n]);
  struct rl_changes c = {0};
  if (r == 0)
    r = rl_commit_diff(upper, fds, n, a->f, &c, err);
  if (r == 0)
    r = print_changes(&c, err);
  rl_changes_free(&c);
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(fds);
  return r;
}

int rl_cmd_diff(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(diff_usage, stdout);
    return 0;
  }
  if (argc != 2 || argv[1][0] == '-')
    return rl_make_error(err, 0, "`rless diff` takes one container");
  struct ctr k;
  cleanup_strv rl_strv_t lowers = {0};
  int r = ctr_open(g, argv[1], "diff", &k, err);
  if (r == 0)
    r = ctr_lowers(&k, &lowers, err);
  cleanup_free char *upper = r == 0 ? ctr_upper(&k) : NULL;
  struct diff_arg a = {.upper = upper, .lowers = &lowers, .f = k.st.whiteouts};
  if (r == 0)
    r = rl_userns_call(&k.ns, diff_child, &a, err);
  ctr_close(&k);
  return r < 0 ? -1 : 0;
}

/* ---- export ---- */

struct export_arg {
  struct rl_rootfs_source src;
  int out;
};

/* fuse-overlayfs inherits fds 0-2: it must not keep the reader's pipe open. */
static int quiet_stdio(rl_error_t *err)
{
  cleanup_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
    return rl_make_error(err, errno, "redirect stdin and stdout to /dev/null");
  return 0;
}

static int export_child(void *arg, rl_error_t *err)
{
  const struct export_arg *a = arg;
  if (unshare(CLONE_NEWNS) < 0)
    return rl_make_error(err, errno, "create a mount namespace to mount the container's files");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return rl_make_error(err, errno, "make the mounts private");
  if (quiet_stdio(err) < 0)
    return -1;
  pid_t helper = -1;
  int r = 0;
  cleanup_close int root = rl_rootfs_open(&a->src, &helper, err);
  cleanup_close int fd = root < 0 ? -1 : open(a->src.merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    r = -1;
  else if (fd < 0)
    r = rl_make_error(err, errno, "open the mounted file system `%s`", a->src.merged);
  else
    r = rl_commit_tar(fd, false, RL_WHITEOUT_OVERLAY_XATTR, a->out, err);
  if (helper > 0) {
    close(rl_steal_fd(&fd));
    close(rl_steal_fd(&root));
    umount2(a->src.merged, MNT_DETACH);
    kill(helper, SIGTERM);
    while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  return r;
}

static int export_source(const struct ctr *k, const char *dir, struct rl_rootfs_source *src,
                         rl_error_t *err)
{
  static const char *const sub[] = {"upper", "work", "merged"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sub); i++) {
    cleanup_free char *d = rl_xasprintf("%s/%s", dir, sub[i]);
    if (mkdir(d, 0700) < 0)
      return rl_make_error(err, errno, "create `%s`", d);
  }
  src->kind = k->st.rootfs_kind;
  rl_strv_push_owned(&src->lowers, ctr_upper(k));
  src->upper = rl_xasprintf("%s/upper", dir);
  src->work = rl_xasprintf("%s/work", dir);
  src->merged = rl_xasprintf("%s/merged", dir);
  return ctr_lowers(k, &src->lowers, err);
}

static int export_fd(struct ctr *k, int out, rl_error_t *err)
{
  cleanup_workdir char *dir = rl_store_tmpdir(&k->s, "export", err);
  if (dir == NULL)
    return -1;
  struct export_arg a = {.out = out};
  int r = export_source(k, dir, &a.src, err);
  if (r == 0)
    r = rl_userns_call(&k->ns, export_child, &a, err);
  rl_rootfs_source_free(&a.src);
  return r < 0 ? rl_error_wrap(err, "export container %.12s", k->c.id) : 0;
}

static int fill_export(void *ctx, int fd, rl_error_t *err)
{
  return export_fd(ctx, fd, err);
}

static int export_to(struct ctr *k, const char *out, rl_error_t *err)
{
  if (out == NULL) {
    if (isatty(STDOUT_FILENO)) {
      rl_make_error(err, 0, "refusing to write a tar archive to a terminal");
      return rl_error_hint(err, "pass -o FILE or redirect stdout");
    }
    cleanup_close int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    return fd < 0 ? rl_make_error(err, errno, "dup stdout") : export_fd(k, fd, err);
  }
  return rl_archive_write_file(out, fill_export, k, err);
}

int rl_cmd_export(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *out = NULL;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:o:", opts, NULL)) != -1) {
    switch (c) {
    case 'o':
      out = optarg;
      break;
    case 'h':
      fputs(export_usage, stdout);
      return 0;
    default:
      return bad_option("export", argv, err);
    }
  }
  if (argc - optind != 1)
    return rl_make_error(err, 0, "`rless export` takes one container");
  struct ctr k;
  int r = ctr_open(g, argv[optind], "export", &k, err);
  if (r == 0 && k.c.status == RL_CSTATUS_RUNNING)
    rl_warn("container %.12s is running: files it writes meanwhile may be inconsistent in the "
            "archive",
            k.c.id);
  if (r == 0)
    r = export_to(&k, out, err);
  ctr_close(&k);
  return r < 0 ? -1 : 0;
}
