/* rl_archive_save: images out of the store as one tar (libarchive).  The
 * blobs go out as they are stored (compressed layers as pulled).  Both
 * formats are an OCI image layout (oci-layout, index.json, blobs/sha256/);
 * docker-archive adds docker's manifest.json naming the same blobs, which
 * is what `docker save` writes since docker 25.  A stored manifest that is
 * not OCI (docker schema2) gets the OCI manifest it implies: same config,
 * same layer blobs, media types from the blobs' own compression. */
#include "rl_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define BLOCK (1U << 20)

struct save_image {
  const struct rl_image_rec *rec;
  rl_strv_t names; /* stored names to write */
  struct rl_manifest m;
  char *manifest; /* the OCI manifest written */
  size_t len;
  char *digest;
};

struct save_ctx {
  struct rl_store *s;
  const struct rl_save_opts *o;
  struct save_image *v;
  size_t n;
  rl_strv_t written; /* blob digests already in the tar */
  struct archive *a;
  char *buf;
};

/* ---- which images ---- */

static int add_ref(struct save_ctx *c, struct rl_image_index *ix, const char *ref, rl_error_t *err)
{
  struct rl_image_match m;
  int found = rl_images_lookup(ix, ref, &m, err);
  if (found < 0)
    return -1;
  if (found == 0) {
    rl_make_error(err, 0, "image `%s` is not in the store", ref);
    return rl_error_hint(err, "see `rless images`");
  }
  const struct rl_image_rec *rec = m.rec;
  const char *name = m.name;
  size_t i = 0;
  while (i < c->n && c->v[i].rec != rec)
    i++;
  if (i == c->n) {
    c->v = rl_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    c->v[c->n++] = (struct save_image){.rec = rec};
  }
  /* By id: every name the image has; by name: that one. */
  for (size_t k = 0; k < rec->names.n; k++)
    if ((name == NULL || strcmp(rec->names.v[k], name) == 0) &&
        !rl_strv_contains(&c->v[i].names, rec->names.v[k]))
      rl_strv_push(&c->v[i].names, rec->names.v[k]);
  return 0;
}

/* ---- manifests ---- */

static const char *layer_type(const struct rl_store *s, const char *digest)
{
  unsigned char head[8] = {0};
  cleanup_free char *path = rl_store_blob_path(s, digest);
  cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  ssize_t n = fd < 0 ? 0 : pread(fd, head, sizeof(head), 0);
  return rl_archive_layer_type(head, n > 0 ? (size_t)n : 0);
}

/* Present and of the size the manifest says: a short blob would make an
 * archive no reader accepts. */
static int check_blob(const struct save_ctx *c, const struct save_image *im,
                      const struct rl_descriptor *d, rl_error_t *err)
{
  cleanup_free char *path = rl_store_blob_path(c->s, d->digest);
  struct stat st;
  if (path == NULL || stat(path, &st) < 0) {
    rl_make_error(err, ENOENT, "image %s: blob %s is missing from the store", im->rec->id,
                  d->digest);
    return rl_error_hint(err, "pull or load the image again");
  }
  if ((long long)st.st_size == d->size)
    return 0;
  rl_make_error(err, 0, "image %s: blob `%s` is %lld bytes, its manifest says %lld", im->rec->id,
                path, (long long)st.st_size, d->size);
  return rl_error_hint(err, "the store is damaged: remove the image and pull or load it again");
}

static int prepare(struct save_ctx *c, struct save_image *im, rl_error_t *err)
{
  size_t len = 0;
  cleanup_free char *body = rl_store_blob_read(c->s, im->rec->manifest, &len, err);
  if (body == NULL || rl_manifest_parse(body, len, NULL, &im->m, err) < 0)
    return rl_error_wrap(err, "image %s", im->rec->id);
  if (im->m.kind != RL_MANIFEST_IMAGE)
    return rl_make_error(err, 0, "image %s: manifest %s is an index", im->rec->id,
                         im->rec->manifest);
  if (check_blob(c, im, &im->m.config, err) < 0)
    return -1;
  for (size_t i = 0; i < im->m.n_layers; i++)
    if (check_blob(c, im, &im->m.layers[i], err) < 0)
      return -1;
  if (rl_manifest_is_oci(body, len)) {
    im->manifest = rl_steal_ptr(&body);
    im->len = len;
    im->digest = rl_xstrdup(im->rec->manifest);
    return 0;
  }
  cleanup_free char *config_type = rl_xstrdup(RL_MT_OCI_CONFIG);
  struct rl_descriptor config = im->m.config;
  config.media_type = config_type;
  cleanup_strv rl_strv_t types = {0};
  struct rl_descriptor *layers = rl_xcalloc(im->m.n_layers + 1, sizeof(*layers));
  for (size_t i = 0; i < im->m.n_layers; i++) {
    const char *type = layer_type(c->s, im->m.layers[i].digest);
    if (type == NULL) {
      free(layers);
      return rl_make_error(err, 0,
                           "image %s: layer %s is compressed in a way OCI layers cannot "
                           "be",
                           im->rec->id, im->m.layers[i].digest);
    }
    rl_strv_push(&types, type);
    layers[i] = im->m.layers[i];
    layers[i].media_type = types.v[i];
  }
  im->manifest = rl_oci_manifest_dump(&config, layers, im->m.n_layers);
  im->len = strlen(im->manifest);
  im->digest = rl_sha256_digest(im->manifest, im->len);
  free(layers);
  return 0;
}

/* ---- the tar ---- */

static int tar_error(struct save_ctx *c, const char *what, rl_error_t *err)
{
  return rl_make_error(err, rl_archive_errno(c->a), "write %s to the archive: %s", what,
                       archive_error_string(c->a) ? archive_error_string(c->a) : "?");
}

static int header(struct save_ctx *c, const char *name, mode_t type, long long size,
                  rl_error_t *err)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(c->a, e);
  archive_entry_free(e);
  return r == ARCHIVE_OK ? 0 : tar_error(c, name, err);
}

static int put_data(struct save_ctx *c, const char *name, const char *data, size_t len,
                    rl_error_t *err)
{
  if (header(c, name, AE_IFREG, (long long)len, err) < 0)
    return -1;
  if (archive_write_data(c->a, data, len) != (la_ssize_t)len)
    return tar_error(c, name, err);
  return 0;
}

static int put_blob_file(struct save_ctx *c, const char *digest, rl_error_t *err)
{
  cleanup_free char *path = rl_store_blob_path(c->s, digest);
  cleanup_free char *name = rl_xasprintf("blobs/sha256/%s", digest + 7);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return rl_make_error(err, errno, "open blob `%s`", path);
  if (header(c, name, AE_IFREG, (long long)st.st_size, err) < 0)
    return -1;
  long long left = (long long)st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, c->buf, BLOCK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return rl_make_error(err, n < 0 ? errno : EIO, "read blob `%s`", path);
    n = n > left ? (ssize_t)left : n;
    if (archive_write_data(c->a, c->buf, (size_t)n) != n)
      return tar_error(c, name, err);
    left -= n;
  }
  return 0;
}

static int put_blob(struct save_ctx *c, const char *digest, const char *data, size_t len,
                    rl_error_t *err)
{
  for (size_t i = 0; i < c->written.n; i++)
    if (strcmp(c->written.v[i], digest) == 0)
      return 0;
  rl_strv_push(&c->written, digest);
  if (data == NULL)
    return put_blob_file(c, digest, err);
  cleanup_free char *name = rl_xasprintf("blobs/sha256/%s", digest + 7);
  return put_data(c, name, data, len, err);
}

static int put_images(struct save_ctx *c, rl_error_t *err)
{
  if (header(c, "blobs/", AE_IFDIR, 0, err) < 0 || header(c, "blobs/sha256/", AE_IFDIR, 0, err))
    return -1;
  for (size_t i = 0; i < c->n; i++) {
    const struct save_image *im = &c->v[i];
    if (put_blob(c, im->m.config.digest, NULL, 0, err) < 0)
      return -1;
    for (size_t k = 0; k < im->m.n_layers; k++)
      if (put_blob(c, im->m.layers[k].digest, NULL, 0, err) < 0)
        return -1;
    if (put_blob(c, im->digest, im->manifest, im->len, err) < 0)
      return -1;
  }
  return 0;
}

static char *index_json(const struct save_ctx *c)
{
  size_t n = 0;
  for (size_t i = 0; i < c->n; i++)
    n += c->v[i].names.n ? c->v[i].names.n : 1;
  struct rl_oci_entry *v = rl_xcalloc(n + 1, sizeof(*v));
  n = 0;
  for (size_t i = 0; i < c->n; i++)
    for (size_t k = 0; k == 0 || k < c->v[i].names.n; k++) {
      const char *name = c->v[i].names.n ? c->v[i].names.v[k] : NULL;
      v[n++] = (struct rl_oci_entry){.digest = rl_xstrdup(c->v[i].digest),
                                     .size = (long long)c->v[i].len,
                                     .ref_name = name ? rl_xstrdup(name) : NULL,
                                     .image_name = name ? rl_xstrdup(name) : NULL};
    }
  char *s = rl_oci_index_dump(v, n);
  rl_oci_entries_free(v, n);
  return s;
}

static char *docker_json(const struct save_ctx *c)
{
  struct rl_docker_image *v = rl_xcalloc(c->n + 1, sizeof(*v));
  for (size_t i = 0; i < c->n; i++) {
    const struct save_image *im = &c->v[i];
    v[i].config = rl_xasprintf("blobs/sha256/%s", im->m.config.digest + 7);
    for (size_t k = 0; k < im->names.n; k++) {
      char *tag = rl_archive_repo_tag(im->names.v[k]);
      if (tag)
        rl_strv_push_owned(&v[i].tags, tag);
    }
    for (size_t k = 0; k < im->m.n_layers; k++)
      rl_strv_push_owned(&v[i].layers, rl_xasprintf("blobs/sha256/%s", im->m.layers[k].digest + 7));
  }
  char *s = rl_docker_manifest_dump(v, c->n);
  rl_docker_images_free(v, c->n);
  return s;
}

static int write_tar(struct save_ctx *c, int fd, rl_error_t *err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  c->a = archive_write_new();
  if (c->a == NULL)
    return rl_make_error(err, ENOMEM, "set up the archive writer");
  int r = archive_write_set_format_pax_restricted(c->a) != ARCHIVE_OK ||
                  archive_write_set_bytes_in_last_block(c->a, 1) != ARCHIVE_OK ||
                  archive_write_open_fd(c->a, fd) != ARCHIVE_OK
              ? tar_error(c, "the header", err)
              : put_images(c, err);
  cleanup_free char *index = r == 0 ? index_json(c) : NULL;
  if (r == 0)
    r = put_data(c, "index.json", index, strlen(index), err);
  cleanup_free char *docker = r == 0 && c->o->format == RL_ARCHIVE_DOCKER ? docker_json(c) : NULL;
  if (r == 0 && docker)
    r = put_data(c, "manifest.json", docker, strlen(docker), err);
  if (r == 0)
    r = put_data(c, "oci-layout", layout, strlen(layout), err);
  if (r == 0 && archive_write_close(c->a) != ARCHIVE_OK)
    r = tar_error(c, "the end", err);
  archive_write_free(c->a);
  c->a = NULL;
  return r;
}

/* ---- output ---- */

int rl_archive_write_file(const char *out, int (*fill)(void *ctx, int fd, rl_error_t *err),
                          void *ctx, rl_error_t *err)
{
  struct stat st;
  if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
    cleanup_close int fd = open(out, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      return rl_make_error(err, errno, "open `%s`", out);
    return fill(ctx, fd, err);
  }
  cleanup_free char *tmp = rl_xasprintf("%s.rless-tmp-%d", out, (int)getpid());
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return rl_make_error(err, errno, "create `%s`", tmp);
  int r = fill(ctx, fd, err);
  if (r == 0 && (fsync(fd) < 0 || close(rl_steal_fd(&fd)) < 0))
    r = rl_make_error(err, errno, "write `%s`", tmp);
  if (r == 0 && rename(tmp, out) < 0)
    r = rl_make_error(err, errno, "rename `%s` to `%s`", tmp, out);
  if (r < 0)
    unlink(tmp);
  return r;
}

static int fill_tar(void *ctx, int fd, rl_error_t *err)
{
  return write_tar(ctx, fd, err);
}

static int save_to(struct save_ctx *c, rl_error_t *err)
{
  const char *out = c->o->output;
  if (out == NULL) {
    if (isatty(STDOUT_FILENO)) {
      rl_make_error(err, 0, "refusing to write an image archive to a terminal");
      return rl_error_hint(err, "pass -o FILE or redirect stdout");
    }
    return write_tar(c, STDOUT_FILENO, err);
  }
  return rl_archive_write_file(out, fill_tar, c, err);
}

int rl_archive_save(struct rl_store *s, const struct rl_save_opts *o, char *const *refs, size_t n,
                    rl_error_t *err)
{
  struct rl_image_index ix;
  if (rl_images_load(s, &ix, err) < 0)
    return -1;
  struct save_ctx c = {.s = s, .o = o, .buf = rl_xmalloc(BLOCK)};
  int r = 0;
  for (size_t i = 0; r == 0 && i < n; i++)
    r = add_ref(&c, &ix, refs[i], err);
  for (size_t i = 0; r == 0 && i < c.n; i++)
    r = prepare(&c, &c.v[i], err);
  if (r == 0)
    r = save_to(&c, err);
  for (size_t i = 0; i < c.n; i++) {
    rl_strv_free(&c.v[i].names);
    rl_manifest_free(&c.v[i].m);
    free(c.v[i].manifest);
    free(c.v[i].digest);
  }
  free(c.v);
  free(c.buf);
  rl_strv_free(&c.written);
  rl_images_free(&ix);
  return r;
}
