/* rl_archive_import: a root filesystem tarball as a one-layer image.  The
 * tarball is read once: libarchive decompresses it (whatever it is) for the
 * diff_id while it is kept as the layer blob when gzip or zstd, or gzipped
 * when it is not.  The config and manifest are OCI; the config says this
 * host's platform and the time of the import. */
#include "rl_archive.h"
#include "rl_layer_store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

static int open_tarball(const char *path, rl_error_t *err)
{
  bool std = strcmp(path, "-") == 0;
  int fd = std ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(err, errno, "open the tarball `%s`", std ? "(stdin)" : path);
  return fd;
}

static json_t *exec_config(char *const *changes, rl_error_t *err)
{
  json_t *config = json_object();
  for (size_t i = 0; changes && changes[i]; i++)
    if (rl_archive_change_apply(config, changes[i], err) < 0) {
      json_decref(config);
      return NULL;
    }
  return config;
}

struct import_blobs {
  struct rl_tar_blob layer;
  char *config, *config_digest;
  char *manifest, *manifest_digest;
};

static int make_blobs(const struct rl_import_opts *o, const char *dir, struct import_blobs *b,
                      rl_error_t *err)
{
  const char *os = NULL, *arch = NULL, *variant = NULL;
  rl_platform_host(&os, &arch, &variant);
  if (os == NULL || arch == NULL)
    return rl_make_error(err, 0, "cannot tell this machine's platform for the image config");
  json_t *config = exec_config(o->changes, err);
  if (config == NULL)
    return -1;
  cleanup_close int fd = open_tarball(o->input, err);
  int r = fd < 0 ? -1 : rl_tar_blob_make(fd, NULL, dir, false, &b->layer, err);
  if (r < 0) {
    json_decref(config);
    return rl_error_wrap(err, "import `%s`", o->input);
  }
  b->config = rl_archive_import_config(config, b->layer.diff_id, os, arch, variant,
                                       (long long)time(NULL), o->message);
  json_decref(config);
  b->config_digest = rl_sha256_digest(b->config, strlen(b->config));
  struct rl_descriptor cd = {.media_type = RL_MT_OCI_CONFIG,
                             .digest = b->config_digest,
                             .size = (long long)strlen(b->config)};
  cleanup_free char *layer_type = rl_xstrdup(b->layer.media_type);
  struct rl_descriptor ld = {
      .media_type = layer_type, .digest = b->layer.digest, .size = b->layer.size};
  b->manifest = rl_oci_manifest_dump(&cd, &ld, 1);
  b->manifest_digest = rl_sha256_digest(b->manifest, strlen(b->manifest));
  return 0;
}

static int store_image(struct rl_store *s, const struct rl_import_opts *o, const char *name,
                       const struct import_blobs *b, rl_error_t *err)
{
  const struct rl_tar_blob *l = &b->layer;
  struct rl_layer_src src = {.digest = l->digest, .path = l->path, .media_type = l->media_type};
  struct rl_unpack_stats st = {0};
  /* Unpacked first: a tarball that is no layer leaves nothing behind. */
  if (rl_layer_store_unpack(s, o->storage, o->ns, &src, 1, &st, err) < 0 ||
      (!rl_store_has_blob(s, l->digest) && rl_store_blob_commit(s, l->path, l->digest, err) < 0) ||
      rl_store_blob_write(s, b->config_digest, b->config, strlen(b->config), err) < 0 ||
      rl_store_blob_write(s, b->manifest_digest, b->manifest, strlen(b->manifest), err) < 0)
    return -1;
  rl_layer_store_warn(l->digest, &st);
  rl_unpack_stats_free(&st);
  struct rl_descriptor cd = {.digest = b->config_digest, .size = (long long)strlen(b->config)};
  struct rl_descriptor ld = {.digest = l->digest, .size = l->size};
  struct rl_image_rec rec;
  if (rl_archive_rec_init(&rec, b->manifest_digest, &cd, &ld, 1, b->config, strlen(b->config),
                          err) < 0)
    return -1;
  if (name)
    rl_strv_push(&rec.names, name);
  return rl_archive_record(s, &rec, 1, err);
}

int rl_archive_import(struct rl_store *s, const struct rl_import_opts *o, char **id,
                      rl_error_t *err)
{
  cleanup_free char *name = NULL;
  if (o->name && rl_archive_name_normalize(o->name, false, &name, err) < 0)
    return -1;
  cleanup_workdir char *dir = rl_store_tmpdir(s, "import", err);
  if (dir == NULL)
    return -1;
  struct import_blobs b = {0};
  int r = make_blobs(o, dir, &b, err);
  if (r == 0)
    r = store_image(s, o, name, &b, err);
  if (r == 0)
    *id = rl_xstrdup(b.config_digest);
  rl_tar_blob_free(&b.layer);
  free(b.config);
  free(b.config_digest);
  free(b.manifest);
  free(b.manifest_digest);
  return r;
}
