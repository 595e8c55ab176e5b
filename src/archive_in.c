/* rl_archive_load: an image archive, streamed once.  Every regular member
 * goes to a numbered file in a work dir under the store's tmp/ (never to a
 * path taken from the archive) while it is hashed; symlinks and hard links
 * are kept as names.  Then, with nothing stored yet, the images are planned
 * and checked: an OCI layout (index.json: blobs by digest, checked against
 * their names) or a docker-archive (manifest.json: members by path, layers
 * checked against the config's diff_ids).  Only a fully checked archive is
 * stored: blobs renamed into blobs/, layers unpacked, images recorded. */
#include "rl_archive.h"
#include "rl_layer_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define BLOCK     (1U << 20)
#define MAX_HOPS  16
#define META_READ (2 * RL_ARCHIVE_MAX_META)

struct member {
  char *name;
  char *link;   /* symlink or hard link: the member it points to */
  char *file;   /* regular: its copy in the work dir */
  char *digest; /* of its content */
  long long size;
};

struct blob_plan {
  char *digest;
  const char *file; /* a member's copy, or NULL with data */
  char *data;
  size_t len;
};

struct load_ctx {
  struct rl_store *s;
  const struct rl_load_opts *o;
  const char *dir;
  struct member *m;
  size_t n, cap;
  struct blob_plan *blobs;
  size_t nblobs;
  struct rl_image_rec *recs;
  size_t nrecs;
  rl_strv_t layer_digests, layer_types, keep; /* keep: strings descriptors borrow */
  unsigned gz_dirs;
  char *buf;
};

/* ---- reading the archive ---- */

static struct member *find_exact(const struct load_ctx *c, const char *name)
{
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->m[i].name, name) == 0)
      return &c->m[i];
  return NULL;
}

static int check_space(const struct load_ctx *c, const char *name, struct archive_entry *e,
                       rl_error_t *err)
{
  struct statvfs sv;
  if (!archive_entry_size_is_set(e) || statvfs(c->dir, &sv) < 0)
    return 0;
  long long want = archive_entry_size(e), have = (long long)(sv.f_bavail * sv.f_frsize);
  if (want <= have)
    return 0;
  rl_make_error(err, ENOSPC, "archive member `%s` needs %lld bytes; `%s` has %lld free", name, want,
                c->dir, have);
  return rl_error_hint(err, "free space, or keep images elsewhere with --root DIR");
}

static int copy_member(struct load_ctx *c, struct archive *a, struct archive_entry *e,
                       struct member *m, rl_error_t *err)
{
  struct rl_hasher h;
  if (check_space(c, m->name, e, err) < 0 || rl_hasher_init(&h, err) < 0)
    return -1;
  m->file = rl_xasprintf("%s/m%zu", c->dir, c->n);
  cleanup_close int fd = open(m->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  la_ssize_t got;
  int r = fd < 0 ? rl_make_error(err, errno, "create `%s`", m->file) : 0;
  while (r == 0 && (got = archive_read_data(a, c->buf, BLOCK)) != 0) {
    if (got < 0)
      r = rl_make_error(err, rl_archive_errno(a), "read archive member `%s`: %s", m->name,
                        archive_error_string(a));
    else if (rl_write_all(fd, c->buf, (size_t)got) < 0)
      r = rl_make_error(err, errno, "write `%s`", m->file);
    else {
      rl_hasher_update(&h, c->buf, (size_t)got);
      m->size += got;
    }
  }
  if (r == 0 && close(rl_steal_fd(&fd)) < 0)
    r = rl_make_error(err, errno, "write `%s`", m->file);
  m->digest = rl_hasher_final(&h);
  if (r < 0)
    return -1;
  cleanup_free char *named = rl_archive_blob_name_digest(m->name);
  if (named && (m->digest == NULL || strcmp(named, m->digest) != 0))
    return rl_make_error(err, 0, "archive member `%s` is corrupt: its content hashes to %s",
                         m->name, m->digest ? m->digest : "(error)");
  return 0;
}

/* One member into *m (name already cleaned).  Returns 1 for members that
 * are not kept (directories). */
static int take_member(struct load_ctx *c, struct archive *a, struct archive_entry *e,
                       struct member *m, rl_error_t *err)
{
  const char *hard = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);
  if (hard)
    return rl_archive_member_clean(hard, &m->link, err);
  if (type == AE_IFLNK) {
    const char *target = archive_entry_symlink(e);
    return rl_archive_link_resolve(m->name, target ? target : "", &m->link, err);
  }
  if (type == AE_IFDIR)
    return 1;
  if (type == AE_IFREG)
    return copy_member(c, a, e, m, err);
  return rl_make_error(err, 0, "archive member `%s` is a device node or fifo", m->name);
}

static void member_free(struct member *m)
{
  free(m->name);
  free(m->link);
  free(m->file);
  free(m->digest);
}

static int next_member(struct load_ctx *c, struct archive *a, struct archive_entry *e,
                       rl_error_t *err)
{
  struct member m = {0};
  if (rl_archive_member_clean(archive_entry_pathname(e), &m.name, err) < 0)
    return -1;
  if (m.name[0] == '\0') {
    free(m.name);
    return 0;
  }
  int r =
      find_exact(c, m.name) ? rl_make_error(err, 0, "archive member `%s` appears twice", m.name)
      : c->n >= RL_ARCHIVE_MAX_MEMBERS
          ? rl_make_error(err, 0, "the archive has more than %d members", RL_ARCHIVE_MAX_MEMBERS)
          : take_member(c, a, e, &m, err);
  if (r != 0) {
    if (m.file)
      unlink(m.file);
    member_free(&m);
    return r < 0 ? -1 : 0;
  }
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 64;
    c->m = rl_xrealloc(c->m, c->cap * sizeof(*c->m));
  }
  c->m[c->n++] = m;
  return 0;
}

static int read_members(struct load_ctx *c, int fd, rl_error_t *err)
{
  struct archive *a = archive_read_new();
  struct archive_entry *e;
  int r = 0, ar;
  if (a == NULL)
    return rl_make_error(err, ENOMEM, "set up the archive reader");
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK)
    r = rl_make_error(err, rl_archive_errno(a), "open the archive: %s", archive_error_string(a));
  while (r == 0 && ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN))
    r = next_member(c, a, e, err);
  if (r == 0 && ar != ARCHIVE_EOF)
    r = rl_make_error(err, rl_archive_errno(a), "read the archive: %s", archive_error_string(a));
  archive_read_free(a);
  if (r == 0 && c->n == 0)
    r = rl_make_error(err, 0, "the archive has no files");
  return r;
}

/* ---- looking things up ---- */

static struct member *lookup(const struct load_ctx *c, const char *name, const char *what,
                             rl_error_t *err)
{
  const char *want = name;
  for (int hop = 0; hop < MAX_HOPS; hop++) {
    struct member *m = find_exact(c, want);
    if (m == NULL)
      break;
    if (m->link == NULL)
      return m;
    want = m->link;
  }
  rl_make_error(err, 0, "the archive has no %s `%s`", what, name);
  return NULL;
}

/* blobs/sha256/<hex>, holding what its name says and `size` bytes (-1: any). */
static struct member *blob(const struct load_ctx *c, const char *digest, long long size,
                           const char *what, rl_error_t *err)
{
  cleanup_free char *name = rl_xasprintf("blobs/sha256/%s", digest + 7);
  struct member *m = lookup(c, name, what, err);
  if (m && (m->digest == NULL || strcmp(m->digest, digest) != 0)) {
    rl_make_error(err, 0, "archive member `%s` does not hold %s", name, digest);
    return NULL;
  }
  if (m && size >= 0 && m->size != size) {
    rl_make_error(err, 0, "%s %s is %lld bytes, not %lld as its descriptor says", what, digest,
                  m->size, size);
    return NULL;
  }
  return m;
}

static char *member_text(const struct member *m, size_t *len, rl_error_t *err)
{
  if (m->size > RL_ARCHIVE_MAX_META) {
    rl_make_error(err, EFBIG, "archive member `%s` is larger than %d bytes", m->name,
                  RL_ARCHIVE_MAX_META);
    return NULL;
  }
  char *s = rl_read_file_at(AT_FDCWD, m->file, META_READ, len);
  if (s == NULL)
    rl_make_error(err, errno, "read `%s`", m->file);
  return s;
}

/* ---- planning ---- */

static void plan_blob(struct load_ctx *c, const char *digest, const char *file, char *data,
                      size_t len)
{
  for (size_t i = 0; i < c->nblobs; i++)
    if (strcmp(c->blobs[i].digest, digest) == 0) {
      free(data);
      return;
    }
  c->blobs = rl_xrealloc(c->blobs, (c->nblobs + 1) * sizeof(*c->blobs));
  c->blobs[c->nblobs++] =
      (struct blob_plan){.digest = rl_xstrdup(digest), .file = file, .data = data, .len = len};
}

static int add_names(rl_strv_t *names, const char *name, bool docker, rl_error_t *err)
{
  char *full = NULL;
  if (rl_archive_name_normalize(name, docker, &full, err) < 0)
    return -1;
  if (rl_strv_contains(names, full))
    free(full);
  else
    rl_strv_push_owned(names, full);
  return 0;
}

/* The image whose config and layers are checked: recorded once stored. */
static int plan_image(struct load_ctx *c, const char *manifest_digest,
                      const struct rl_descriptor *config, const struct rl_descriptor *layers,
                      size_t n, const struct member *cfg, const rl_strv_t *names, rl_error_t *err)
{
  size_t len = 0;
  cleanup_free char *text = member_text(cfg, &len, err);
  struct rl_image_config ic = {0};
  if (text == NULL || rl_image_config_parse(text, len, &ic, err) < 0)
    return rl_error_wrap(err, "image config %s", config->digest);
  size_t nd = 0;
  while (ic.diff_ids && ic.diff_ids[nd])
    nd++;
  rl_image_config_free(&ic);
  if (nd != n)
    return rl_make_error(err, 0, "image %s: its config lists %zu layers, its manifest %zu",
                         config->digest, nd, n);
  for (size_t i = 0; i < n; i++)
    if (!rl_layer_media_type_ok(layers[i].media_type))
      return rl_make_error(err, 0,
                           "image %s: layer %s has media type `%s`, which rless cannot "
                           "unpack",
                           config->digest, layers[i].digest, layers[i].media_type);
  struct rl_image_rec rec;
  if (rl_archive_rec_init(&rec, manifest_digest, config, layers, n, text, len, err) < 0)
    return -1;
  for (size_t i = 0; i < names->n; i++)
    rl_strv_push(&rec.names, names->v[i]);
  plan_blob(c, config->digest, cfg->file, NULL, 0);
  for (size_t i = 0; i < n; i++) {
    rl_strv_push(&c->layer_digests, layers[i].digest);
    rl_strv_push(&c->layer_types, layers[i].media_type);
  }
  c->recs = rl_xrealloc(c->recs, (c->nrecs + 1) * sizeof(*c->recs));
  c->recs[c->nrecs++] = rec;
  return 0;
}

/* ---- OCI layout ---- */

static int oci_manifest(struct load_ctx *c, const char *digest, const char *media_type,
                        struct rl_manifest *m, struct member **mm, rl_error_t *err)
{
  for (int depth = 0; depth < 2; depth++) {
    size_t len = 0;
    *mm = blob(c, digest, -1, "manifest", err);
    cleanup_free char *text = *mm ? member_text(*mm, &len, err) : NULL;
    if (text == NULL || rl_manifest_parse(text, len, media_type, m, err) < 0)
      return rl_error_wrap(err, "manifest %s", digest);
    if (m->kind == RL_MANIFEST_IMAGE)
      return 0;
    const char *os = NULL, *arch = NULL, *variant = NULL;
    const struct rl_descriptor *pick = NULL;
    rl_platform_host(&os, &arch, &variant);
    if (os == NULL || arch == NULL || rl_manifest_select(m, os, arch, variant, &pick, err) < 0) {
      rl_manifest_free(m);
      return rl_error_wrap(err, "image index %s", digest);
    }
    rl_strv_push(&c->keep, pick->digest);
    digest = c->keep.v[c->keep.n - 1];
    rl_strv_push(&c->keep, pick->media_type ? pick->media_type : "");
    media_type = pick->media_type ? c->keep.v[c->keep.n - 1] : NULL;
    rl_manifest_free(m);
  }
  return rl_make_error(err, 0, "manifest %s: an index inside an index", digest);
}

/* RepoTags of docker-archive entries for the same config (docker 25 writes
 * both files; its index.json has the tag only). */
static int docker_tags_for(struct load_ctx *c, const struct rl_docker_image *d, size_t nd,
                           const char *config_digest, rl_strv_t *names, rl_error_t *err)
{
  for (size_t i = 0; i < nd; i++) {
    rl_error_t lerr = NULL;
    struct member *m = lookup(c, d[i].config, "config", &lerr);
    rl_error_free(&lerr);
    if (m == NULL || m->digest == NULL || strcmp(m->digest, config_digest) != 0)
      continue;
    for (size_t k = 0; k < d[i].tags.n; k++)
      if (add_names(names, d[i].tags.v[k], true, err) < 0)
        return -1;
  }
  return 0;
}

static int oci_entry_image(struct load_ctx *c, const struct rl_oci_entry *e,
                           const struct rl_docker_image *d, size_t nd, rl_error_t *err)
{
  struct rl_manifest m = {0};
  struct member *mm = NULL, *cfg;
  cleanup_strv rl_strv_t names = {0};
  if (oci_manifest(c, e->digest, e->media_type, &m, &mm, err) < 0)
    return -1;
  int r = (cfg = blob(c, m.config.digest, m.config.size, "config", err)) ? 0 : -1;
  for (size_t i = 0; r == 0 && i < m.n_layers; i++) {
    struct member *l = blob(c, m.layers[i].digest, m.layers[i].size, "layer", err);
    if (l == NULL)
      r = -1;
    else
      plan_blob(c, m.layers[i].digest, l->file, NULL, 0);
  }
  if (r == 0 && e->image_name)
    r = add_names(&names, e->image_name, false, err);
  if (r == 0 && rl_archive_ref_is_name(e->ref_name))
    r = add_names(&names, e->ref_name, false, err);
  if (r == 0)
    r = docker_tags_for(c, d, nd, m.config.digest, &names, err);
  if (r == 0)
    r = plan_image(c, mm->digest, &m.config, m.layers, m.n_layers, cfg, &names, err);
  if (r == 0)
    plan_blob(c, mm->digest, mm->file, NULL, 0);
  rl_manifest_free(&m);
  return r;
}

static int parse_docker(struct load_ctx *c, struct rl_docker_image **d, size_t *nd, rl_error_t *err)
{
  size_t len = 0;
  *d = NULL;
  *nd = 0;
  if (find_exact(c, "manifest.json") == NULL)
    return 0;
  struct member *m = lookup(c, "manifest.json", "file", err);
  cleanup_free char *text = m ? member_text(m, &len, err) : NULL;
  return text ? rl_docker_manifest_parse(text, len, d, nd, err) : -1;
}

static int plan_oci(struct load_ctx *c, struct member *index, rl_error_t *err)
{
  size_t len = 0, n = 0, nd = 0;
  struct rl_oci_entry *v = NULL;
  struct rl_docker_image *d = NULL;
  cleanup_free char *text = member_text(index, &len, err);
  if (text == NULL || rl_oci_index_parse(text, len, &v, &n, err) < 0)
    return -1;
  int r = parse_docker(c, &d, &nd, err);
  for (size_t i = 0; r == 0 && i < n; i++)
    r = oci_entry_image(c, &v[i], d, nd, err);
  rl_oci_entries_free(v, n);
  rl_docker_images_free(d, nd);
  return r;
}

/* ---- docker-archive ---- */

/* A layer by path: an uncompressed tar whose digest is the diff_id, or a
 * compressed one whose content must hash to it. */
static int docker_layer(struct load_ctx *c, const char *name, const char *diff_id,
                        struct rl_descriptor *out, rl_error_t *err)
{
  struct member *l = lookup(c, name, "layer", err);
  if (l == NULL)
    return -1;
  unsigned char head[8] = {0};
  cleanup_close int fd = open(l->file, O_RDONLY | O_CLOEXEC);
  ssize_t got = fd < 0 ? -1 : pread(fd, head, sizeof(head), 0);
  if (got < 0)
    return rl_make_error(err, errno, "read `%s`", l->file);
  if (strcmp(l->digest, diff_id) == 0) {
    rl_strv_push(&c->keep, rl_archive_layer_type(head, (size_t)got));
    *out = (struct rl_descriptor){
        .media_type = c->keep.v[c->keep.n - 1], .digest = l->digest, .size = l->size};
    plan_blob(c, l->digest, l->file, NULL, 0);
    return 0;
  }
  cleanup_free char *dir = rl_xasprintf("%s/g%u", c->dir, c->gz_dirs++);
  struct rl_tar_blob tb;
  if (mkdir(dir, 0700) < 0)
    return rl_make_error(err, errno, "mkdir `%s`", dir);
  if (rl_tar_blob_make(fd, l->file, dir, true, &tb, err) < 0)
    return rl_error_wrap(err, "layer `%s`", name);
  int r = 0;
  if (strcmp(tb.diff_id, diff_id) != 0)
    r = rl_make_error(err, 0, "layer `%s` is corrupt: its content hashes to %s, not %s", name,
                      tb.diff_id, diff_id);
  rl_strv_push(&c->keep, tb.media_type);
  *out = (struct rl_descriptor){.media_type = c->keep.v[c->keep.n - 1], .size = tb.size};
  rl_strv_push_owned(&c->keep, rl_steal_ptr(&tb.digest));
  out->digest = c->keep.v[c->keep.n - 1];
  rl_strv_push_owned(&c->keep, rl_steal_ptr(&tb.path));
  if (r == 0)
    plan_blob(c, out->digest, c->keep.v[c->keep.n - 1], NULL, 0);
  rl_tar_blob_free(&tb);
  return r;
}

static int docker_image(struct load_ctx *c, const struct rl_docker_image *d, rl_error_t *err)
{
  size_t len = 0, n = d->layers.n;
  struct member *cfg = lookup(c, d->config, "config", err);
  struct rl_image_config ic = {0};
  cleanup_free char *text = cfg ? member_text(cfg, &len, err) : NULL;
  if (text == NULL || rl_image_config_parse(text, len, &ic, err) < 0)
    return rl_error_wrap(err, "image config `%s`", d->config);
  size_t nd = 0;
  while (ic.diff_ids && ic.diff_ids[nd])
    nd++;
  int r = nd == n ? 0
                  : rl_make_error(err, 0, "image config `%s` lists %zu layers, manifest.json %zu",
                                  d->config, nd, n);
  struct rl_descriptor *layers = rl_xcalloc(n + 1, sizeof(*layers));
  for (size_t i = 0; r == 0 && i < n; i++)
    r = docker_layer(c, d->layers.v[i], ic.diff_ids[i], &layers[i], err);
  rl_image_config_free(&ic);
  cleanup_strv rl_strv_t names = {0};
  for (size_t i = 0; r == 0 && i < d->tags.n; i++)
    r = add_names(&names, d->tags.v[i], true, err);
  struct rl_descriptor config = {
      .media_type = RL_MT_OCI_CONFIG, .digest = cfg->digest, .size = cfg->size};
  if (r == 0) {
    /* docker-archive has no manifest: rless writes the OCI one it implies. */
    char *manifest = rl_oci_manifest_dump(&config, layers, n);
    cleanup_free char *digest = rl_sha256_digest(manifest, strlen(manifest));
    plan_blob(c, digest, NULL, manifest, strlen(manifest));
    r = plan_image(c, digest, &config, layers, n, cfg, &names, err);
  }
  free(layers);
  return r;
}

static int plan_docker(struct load_ctx *c, rl_error_t *err)
{
  struct rl_docker_image *d = NULL;
  size_t nd = 0;
  if (parse_docker(c, &d, &nd, err) < 0)
    return -1;
  int r = 0;
  for (size_t i = 0; r == 0 && i < nd; i++)
    r = docker_image(c, &d[i], err);
  rl_docker_images_free(d, nd);
  return r;
}

/* ---- storing ---- */

static int store_blobs(struct load_ctx *c, rl_error_t *err)
{
  for (size_t i = 0; i < c->nblobs; i++) {
    const struct blob_plan *b = &c->blobs[i];
    if (rl_store_has_blob(c->s, b->digest))
      continue;
    if (b->file ? rl_store_blob_commit(c->s, b->file, b->digest, err)
                : rl_store_blob_write(c->s, b->digest, b->data, b->len, err))
      return -1;
  }
  return 0;
}

static const char *planned_file(const struct load_ctx *c, const char *digest)
{
  for (size_t i = 0; i < c->nblobs; i++)
    if (strcmp(c->blobs[i].digest, digest) == 0)
      return c->blobs[i].file;
  return NULL;
}

/* From the work dir, before any blob is stored: an archive whose layer
 * cannot be unpacked leaves nothing behind. */
static int store_layers(struct load_ctx *c, rl_error_t *err)
{
  size_t n = c->layer_digests.n;
  struct rl_layer_src *v = rl_xcalloc(n + 1, sizeof(*v));
  struct rl_unpack_stats *st = rl_xcalloc(n + 1, sizeof(*st));
  for (size_t i = 0; i < n; i++)
    v[i] = (struct rl_layer_src){.digest = c->layer_digests.v[i],
                                 .path = planned_file(c, c->layer_digests.v[i]),
                                 .media_type = c->layer_types.v[i]};
  int r = rl_layer_store_unpack(c->s, c->o->storage, c->o->ns, v, n, st, err);
  for (size_t i = 0; i < n; i++) {
    if (r == 0)
      rl_layer_store_warn(v[i].digest, &st[i]);
    rl_unpack_stats_free(&st[i]);
  }
  free(st);
  free(v);
  return r;
}

static void report(const struct load_ctx *c, rl_strv_t *names, rl_strv_t *ids)
{
  for (size_t i = 0; i < c->nrecs; i++) {
    const struct rl_image_rec *r = &c->recs[i];
    for (size_t k = 0; k < r->names.n; k++)
      if (!rl_strv_contains(names, r->names.v[k]))
        rl_strv_push(names, r->names.v[k]);
    if (r->names.n == 0 && !rl_strv_contains(ids, r->id))
      rl_strv_push(ids, r->id);
  }
}

static void ctx_free(struct load_ctx *c)
{
  for (size_t i = 0; i < c->n; i++)
    member_free(&c->m[i]);
  free(c->m);
  for (size_t i = 0; i < c->nblobs; i++) {
    free(c->blobs[i].digest);
    free(c->blobs[i].data);
  }
  free(c->blobs);
  for (size_t i = 0; i < c->nrecs; i++)
    rl_image_rec_free(&c->recs[i]);
  free(c->recs);
  rl_strv_free(&c->layer_digests);
  rl_strv_free(&c->layer_types);
  rl_strv_free(&c->keep);
  free(c->buf);
}

static int open_input(const char *path, rl_error_t *err)
{
  int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
  if (fd < 0)
    return rl_make_error(err, errno, "open the archive `%s`", path ? path : "(stdin)");
  return fd;
}

static int load(struct load_ctx *c, rl_error_t *err)
{
  cleanup_close int fd = open_input(c->o->input, err);
  if (fd < 0 || read_members(c, fd, err) < 0)
    return -1;
  struct member *index = find_exact(c, "index.json");
  if (index && (index = lookup(c, "index.json", "file", err)) == NULL)
    return -1;
  int r = index ? plan_oci(c, index, err)
          : find_exact(c, "manifest.json")
              ? plan_docker(c, err)
              : rl_make_error(err, 0, "the archive has neither index.json nor manifest.json");
  if (r == 0 && c->nrecs == 0)
    r = rl_make_error(err, 0, "the archive holds no image");
  if (r < 0 && !index && !find_exact(c, "manifest.json"))
    rl_error_hint(err, "is it an image archive (`rless save`, `docker save`, skopeo's "
                       "docker-archive or oci-archive)? A root filesystem tarball is for "
                       "`rless import`");
  return r;
}

int rl_archive_load(struct rl_store *s, const struct rl_load_opts *o, rl_strv_t *names,
                    rl_strv_t *ids, rl_error_t *err)
{
  cleanup_workdir char *dir = rl_store_tmpdir(s, "load", err);
  if (dir == NULL)
    return -1;
  struct load_ctx c = {.s = s, .o = o, .dir = dir, .buf = rl_xmalloc(BLOCK)};
  int r = load(&c, err);
  if (r == 0)
    r = store_layers(&c, err);
  if (r == 0)
    r = store_blobs(&c, err);
  if (r == 0) {
    report(&c, names, ids);
    r = rl_archive_record(s, c.recs, c.nrecs, err);
    c.nrecs = 0;
  }
  if (r < 0)
    rl_error_wrap(err, "load `%s`", o->input ? o->input : "(stdin)");
  ctx_free(&c);
  return r;
}
