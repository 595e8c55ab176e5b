/* rl_pull: name -> candidates -> manifest (index -> platform) -> config ->
 * layers.  Runs as root in a user namespace with the user's full map, so the
 * layers' owners are kept and the store's files are the user's on the host.
 * Every layer streams through three consumers at once: its blob file, the
 * registry client's sha256, and an unpacker process reading a pipe. */
#include "rl_imageref.h"
#include "rl_images.h"
#include "rl_layer_store.h"
#include "rl_manifest.h"
#include "rl_pull.h"
#include "rl_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

struct layer_job {
  const struct rl_descriptor *desc;
  char *tmpdir;  /* unpack target, under store tmp/ */
  char *blobdir; /* holds `data`, the blob being written */
  int blobfd, pipefd, resfd;
  pid_t unpacker;
};

struct mem_sink {
  char *data;
  size_t len, max;
};

struct pull_ctx {
  struct rl_store *s;
  const struct rl_userns *ns;
  const char *name;
  const struct rl_pull_opts *o;
  int result_fd; /* the image id goes back to the caller here */
};

static int mem_sink_fn(void *ctx, const void *data, size_t len, rl_error_t *err)
{
  struct mem_sink *m = ctx;
  if (m->len + len > m->max)
    return rl_make_error(err, EFBIG, "image config larger than %zu bytes", m->max);
  m->data = rl_xrealloc(m->data, m->len + len + 1);
  memcpy(m->data + m->len, data, len);
  m->len += len;
  m->data[m->len] = '\0';
  return 0;
}

static int layer_sink_fn(void *ctx, const void *data, size_t len, rl_error_t *err)
{
  struct layer_job *j = ctx;
  if (rl_write_all(j->blobfd, data, len) < 0)
    return rl_make_error(err, errno, "write layer %s to `%s`", j->desc->digest, j->blobdir);
  /* EPIPE here means the unpacker stopped: its own error says why. */
  if (rl_write_all(j->pipefd, data, len) < 0)
    return rl_make_error(err, errno, "feed layer %s to its unpacker", j->desc->digest);
  return 0;
}

__attribute__((noreturn)) static void unpacker_main(const struct pull_ctx *c, struct layer_job *j,
                                                    int readfd, int resfd)
{
  rl_error_t err = NULL;
  struct rl_unpack_stats st = {0};
  struct rl_unpack_opts uo = {.whiteouts = c->o->whiteouts,
                              .uid_limit = rl_idmap_size(&c->ns->uidmap),
                              .gid_limit = rl_idmap_size(&c->ns->gidmap)};
  int dirfd = open(j->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    rl_make_error(&err, errno, "open `%s`", j->tmpdir);
  else if (rl_layer_unpack(readfd, dirfd, &uo, &st, &err) == 0)
    rl_layer_store_warn(j->desc->digest, &st);
  if (err) {
    rl_error_wrap(&err, "unpack layer %s", j->desc->digest);
    rl_sync_send_error(resfd, err);
    _exit(RL_EXIT_FAILURE);
  }
  _exit(0);
}

static void close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static int start_job(const struct pull_ctx *c, struct layer_job *jobs, size_t k, rl_error_t *err)
{
  struct layer_job *j = &jobs[k];
  int p[2], sv[2];
  j->tmpdir = rl_store_tmpdir(c->s, "layer", err);
  j->blobdir = j->tmpdir ? rl_store_tmpdir(c->s, "blob", err) : NULL;
  if (j->blobdir == NULL)
    return -1;
  cleanup_free char *data = rl_xasprintf("%s/data", j->blobdir);
  j->blobfd = open(data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (j->blobfd < 0)
    return rl_make_error(err, errno, "create `%s`", data);
  if (pipe2(p, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return rl_make_error(err, errno, "pipe for layer %s", j->desc->digest);
  j->unpacker = fork();
  if (j->unpacker == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* Hold no other layer's write end, or that layer would never see EOF. */
    for (size_t i = 0; i <= k; i++) {
      close_fd(&jobs[i].blobfd);
      close_fd(&jobs[i].pipefd);
      close_fd(&jobs[i].resfd);
    }
    close(p[1]);
    close(sv[0]);
    unpacker_main(c, j, p[0], sv[1]);
  }
  close(p[0]);
  close(sv[1]);
  j->pipefd = p[1];
  j->resfd = sv[0];
  if (j->unpacker < 0)
    return rl_make_error(err, errno, "fork the unpacker of layer %s", j->desc->digest);
  return 0;
}

/* Wait for every unpacker; the first error wins.  With abort, kill them. */
static int finish_jobs(struct layer_job *jobs, size_t n, bool abort_all, rl_error_t *err)
{
  int r = 0;
  for (size_t i = 0; i < n; i++) {
    close_fd(&jobs[i].pipefd);
    close_fd(&jobs[i].blobfd);
    if (abort_all && jobs[i].unpacker > 0)
      kill(jobs[i].unpacker, SIGKILL);
  }
  for (size_t i = 0; i < n; i++) {
    struct layer_job *j = &jobs[i];
    struct rl_sync_msg m;
    int status = 0;
    if (j->resfd >= 0 && rl_sync_recv(j->resfd, &m, NULL) > 0 && m.type == RL_SYNC_ERROR) {
      rl_error_free(err); /* the unpacker's error explains a feeding error */
      rl_sync_to_error(&m, err);
      r = -1;
    }
    close_fd(&j->resfd);
    while (j->unpacker > 0 && waitpid(j->unpacker, &status, 0) < 0 && errno == EINTR)
      ;
    if (j->unpacker > 0 && !abort_all && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
      r = rl_make_error(err, 0, "the unpacker of layer %s failed", j->desc->digest);
  }
  return r;
}

static int commit_jobs(const struct pull_ctx *c, struct layer_job *jobs, size_t n, rl_error_t *err)
{
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *data = rl_xasprintf("%s/data", jobs[i].blobdir);
    if (rl_store_blob_commit(c->s, data, jobs[i].desc->digest, err) < 0 ||
        rl_store_layer_commit(c->s, jobs[i].tmpdir, c->o->layer_format, jobs[i].desc->digest, err) <
            0)
      return -1;
  }
  return 0;
}

static void free_jobs(struct layer_job *jobs, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    /* Left over when a commit lost a race or the pull failed. */
    if (jobs[i].tmpdir)
      rl_rmtree(jobs[i].tmpdir, NULL);
    if (jobs[i].blobdir)
      rl_rmtree(jobs[i].blobdir, NULL);
    free(jobs[i].tmpdir);
    free(jobs[i].blobdir);
  }
  free(jobs);
}

static int fetch_layers(const struct pull_ctx *c, struct rl_registry *reg,
                        const struct rl_manifest *m, rl_error_t *err)
{
  struct layer_job *jobs = rl_xcalloc(m->n_layers, sizeof(*jobs));
  struct rl_blob_req *reqs = rl_xcalloc(m->n_layers, sizeof(*reqs));
  size_t n = 0;
  int r = 0;
  for (size_t i = 0; i < m->n_layers && r == 0; i++) {
    const struct rl_descriptor *d = &m->layers[i];
    if (rl_store_has_layer(c->s, c->o->layer_format, d->digest))
      continue;
    jobs[n] = (struct layer_job){.desc = d, .blobfd = -1, .pipefd = -1, .resfd = -1};
    reqs[n] = (struct rl_blob_req){.digest = d->digest,
                                   .size = d->size,
                                   .sink = layer_sink_fn,
                                   .ctx = &jobs[n],
                                   .label = d->digest + 7};
    r = start_job(c, jobs, n++, err);
  }
  if (r == 0 && n > 0)
    r = rl_registry_fetch_blobs(reg, reqs, n, err);
  if (finish_jobs(jobs, n, r < 0, err) < 0)
    r = -1;
  if (r == 0)
    r = commit_jobs(c, jobs, n, err);
  free_jobs(jobs, n);
  free(reqs);
  return r;
}

static int fetch_small(struct rl_registry *reg, const struct rl_descriptor *d, struct mem_sink *m,
                       rl_error_t *err)
{
  struct rl_blob_req req = {
      .digest = d->digest, .size = d->size, .sink = mem_sink_fn, .ctx = m, .label = "config"};
  m->max = 16 << 20;
  return rl_registry_fetch_blobs(reg, &req, 1, err);
}

/* Manifest by tag or digest; an index resolves to the platform's manifest. */
static int get_manifest(const struct pull_ctx *c, struct rl_registry *reg,
                        const struct rl_imageref *ref, struct rl_manifest *m, char **digest,
                        rl_error_t *err)
{
  cleanup_free char *body = NULL, *type = NULL;
  size_t len = 0;
  if (rl_registry_manifest(reg, ref->digest ? ref->digest : ref->tag, &body, &len, &type, digest,
                           err) < 0 ||
      rl_manifest_parse(body, len, type, m, err) < 0)
    return -1;
  if (m->kind == RL_MANIFEST_IMAGE)
    return rl_store_blob_write(c->s, *digest, body, len, err);
  cleanup_free char *os = NULL, *arch = NULL, *variant = NULL;
  const char *hos, *harch, *hvar;
  rl_platform_host(&hos, &harch, &hvar); /* select prefers the host's variant by itself */
  if (c->o->platform && rl_platform_parse(c->o->platform, &os, &arch, &variant, err) < 0)
    return -1;
  const struct rl_descriptor *pick = NULL;
  if (rl_manifest_select(m, os ? os : hos, arch ? arch : harch, variant, &pick, err) < 0)
    return -1;
  struct rl_imageref by_digest = *ref;
  by_digest.digest = pick->digest;
  struct rl_manifest index = *m;
  *m = (struct rl_manifest){0}; /* index owns the pointers now */
  free(*digest);
  *digest = NULL;
  int r = get_manifest(c, reg, &by_digest, m, digest, err);
  rl_manifest_free(&index);
  if (r == 0 && m->kind != RL_MANIFEST_IMAGE)
    return rl_make_error(err, 0, "manifest %s: an index inside an index", pick->digest);
  return r;
}

/* The config must parse and describe as many layers as the manifest lists:
 * a mismatch is a broken or tampered image, not something to run. */
static int check_config(const char *name, const struct rl_manifest *m, const struct mem_sink *cfg,
                        rl_error_t *err)
{
  struct rl_image_config ic = {0};
  if (rl_image_config_parse(cfg->data, cfg->len, &ic, err) < 0)
    return rl_error_wrap(err, "image %s", name);
  size_t n = 0;
  while (ic.diff_ids && ic.diff_ids[n])
    n++;
  rl_image_config_free(&ic);
  if (n != m->n_layers)
    return rl_make_error(err, 0, "image %s: its config lists %zu layers, its manifest %zu", name, n,
                         m->n_layers);
  return 0;
}

static int record_image(const struct pull_ctx *c, const char *name, const char *manifest_digest,
                        const struct rl_manifest *m, const struct mem_sink *cfg, rl_error_t *err)
{
  struct rl_image_rec rec = {0};
  json_t *root = json_loads(cfg->data, 0, NULL);
  rec.id = rl_xstrdup(m->config.digest);
  rec.manifest = rl_xstrdup(manifest_digest);
  rl_strv_push(&rec.names, name);
  for (size_t i = 0; i < m->n_layers; i++) {
    rl_strv_push(&rec.layers, m->layers[i].digest);
    rec.size += m->layers[i].size;
  }
  json_t *conf = json_object_get(root, "config");
  rec.config = json_is_object(conf) ? json_incref(conf) : NULL;
  json_decref(root);

  struct rl_image_index ix = {0};
  int lock = rl_store_lock(c->s, err);
  int r = lock < 0 ? -1 : rl_images_load(c->s, &ix, err);
  /* An rmi between our download and this lock may have taken a layer we
   * found present and skipped: the record must not point at nothing. */
  for (size_t i = 0; r == 0 && i < m->n_layers; i++)
    if (!rl_store_has_layer(c->s, c->o->layer_format, m->layers[i].digest))
      r = rl_make_error(err, 0, "layer %s of %s was removed during the pull; pull again",
                        m->layers[i].digest, name);
  if (r == 0) {
    rl_images_put(&ix, &rec);
    r = rl_images_save(c->s, &ix, err);
  }
  rl_images_free(&ix);
  if (lock >= 0)
    close(lock);
  rl_image_rec_free(&rec);
  return r;
}

static int pull_ref(const struct pull_ctx *c, const struct rl_imageref *ref, const char *registry,
                    bool insecure, rl_error_t *err)
{
  struct rl_registry_opts ro = {
      .registry = registry, .insecure = insecure, .progress = c->o->progress};
  struct rl_registry *reg = NULL;
  struct rl_manifest m = {0};
  struct mem_sink cfg = {0};
  cleanup_free char *digest = NULL;
  cleanup_free char *name = rl_imageref_string(ref);
  int r = rl_registry_open(&ro, ref->repository, &reg, err);
  if (r == 0)
    r = get_manifest(c, reg, ref, &m, &digest, err);
  for (size_t i = 0; r == 0 && i < m.n_layers; i++)
    if (!rl_layer_media_type_ok(m.layers[i].media_type))
      r = rl_make_error(err, 0, "image %s: layer %s has media type `%s`, which rless cannot unpack",
                        name, m.layers[i].digest, m.layers[i].media_type);
  if (r == 0)
    r = fetch_small(reg, &m.config, &cfg, err);
  if (r == 0)
    r = check_config(name, &m, &cfg, err);
  if (r == 0)
    r = rl_store_blob_write(c->s, m.config.digest, cfg.data, cfg.len, err);
  if (r == 0)
    r = fetch_layers(c, reg, &m, err);
  if (r == 0)
    r = record_image(c, name, digest, &m, &cfg, err);
  if (r == 0 && rl_write_all(c->result_fd, m.config.digest, strlen(m.config.digest)) < 0)
    r = rl_make_error(err, errno, "report the pulled image id");
  rl_manifest_free(&m);
  free(cfg.data);
  if (reg)
    rl_registry_close(reg);
  return r;
}

/* Mirrors first, then the registry itself; the first that has the image wins. */
static int pull_candidate(const struct pull_ctx *c, const struct rl_registries_conf *conf,
                          const struct rl_imageref *ref, rl_error_t *err)
{
  const struct rl_registry_conf *rc = rl_registries_find(conf, ref->registry);
  for (size_t i = 0; rc && rc->mirrors && rc->mirrors[i]; i++) {
    rl_error_t merr = NULL;
    const struct rl_registry_conf *mc = rl_registries_find(conf, rc->mirrors[i]);
    if (pull_ref(c, ref, rc->mirrors[i], mc && mc->insecure, &merr) == 0)
      return 0;
    rl_debug("mirror %s failed: %s", rc->mirrors[i], merr->msg);
    rl_error_free(&merr);
  }
  return pull_ref(c, ref, ref->registry, rc && rc->insecure, err);
}

static int pull_in_userns(void *arg, rl_error_t *err)
{
  const struct pull_ctx *c = arg;
  struct rl_registries_conf conf = {0};
  struct rl_imageref *cands = NULL;
  size_t n = 0;
  int lock = rl_store_lock(c->s, err);
  if (lock < 0)
    return -1;
  rl_store_clean_tmp(c->s); /* what killed pulls left behind */
  close(lock);
  int r = rl_registries_conf_load(c->o->registries_conf, &conf, err);
  if (r == 0)
    r = rl_imageref_resolve(c->name, &conf, &cands, &n, err);
  for (size_t i = 0; r == 0 && i < n; i++) {
    cleanup_free char *full = rl_imageref_string(&cands[i]);
    if (c->o->progress != RL_PROGRESS_QUIET)
      fprintf(stderr, "Resolved \"%s\" as %s\n", c->name, full);
    rl_error_t cerr = NULL;
    if (pull_candidate(c, &conf, &cands[i], &cerr) == 0)
      break;
    if (i + 1 == n) {
      *err = cerr;
      r = -1;
    } else {
      rl_warn("%s: %s", full, cerr->msg);
      rl_error_free(&cerr);
    }
  }
  for (size_t i = 0; i < n; i++)
    rl_imageref_free(&cands[i]);
  free(cands);
  rl_registries_conf_free(&conf);
  return r;
}

int rl_pull(struct rl_store *s, const struct rl_userns *ns, const char *name,
            const struct rl_pull_opts *o, char **id, rl_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe");
  struct pull_ctx c = {.s = s, .ns = ns, .name = name, .o = o, .result_fd = p[1]};
  int r = rl_userns_call(ns, pull_in_userns, &c, err);
  close(p[1]);
  char buf[128] = {0};
  ssize_t len = read(p[0], buf, sizeof(buf) - 1);
  close(p[0]);
  if (r == 0 && (len <= 0 || !rl_digest_valid(buf)))
    r = rl_make_error(err, 0, "pull of `%s` ended without an image", name);
  if (r == 0)
    *id = rl_xstrdup(buf);
  return r;
}
