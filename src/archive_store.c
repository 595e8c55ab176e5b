/* What load and import share once their blobs are verified: the image
 * records, written to images.json under the store lock, and their work
 * dirs under tmp/. */
#include "rl_archive.h"

#include <string.h>

int rl_archive_rec_init(struct rl_image_rec *rec, const char *manifest_digest,
                        const struct rl_descriptor *config, const struct rl_descriptor *layers,
                        size_t n, const char *config_body, size_t config_len, rl_error_t *err)
{
  json_error_t je;
  json_t *root = json_loadb(config_body, config_len, 0, &je);
  if (!json_is_object(root)) {
    json_decref(root);
    return rl_make_error(err, 0, "image config %s is not a JSON object", config->digest);
  }
  memset(rec, 0, sizeof(*rec));
  rec->id = rl_xstrdup(config->digest);
  rec->manifest = rl_xstrdup(manifest_digest);
  for (size_t i = 0; i < n; i++) {
    rl_strv_push(&rec->layers, layers[i].digest);
    rec->size += layers[i].size;
  }
  json_t *conf = json_object_get(root, "config");
  rec->config = json_is_object(conf) ? json_incref(conf) : NULL;
  json_decref(root);
  return 0;
}

int rl_archive_record(struct rl_store *s, struct rl_image_rec *recs, size_t n, rl_error_t *err)
{
  struct rl_image_index ix;
  int lock = rl_store_lock(s, err);
  int r = lock < 0 ? -1 : rl_images_load(s, &ix, err);
  if (r == 0) {
    for (size_t i = 0; i < n; i++)
      rl_images_put(&ix, &recs[i]);
    r = rl_images_save(s, &ix, err);
    rl_images_free(&ix);
  }
  if (lock >= 0)
    close(lock);
  for (size_t i = 0; i < n; i++)
    rl_image_rec_free(&recs[i]);
  return r;
}

void rl_archive_workdir_freep(char **dir)
{
  if (*dir) {
    rl_error_t err = NULL;
    if (rl_rmtree(*dir, &err) < 0) {
      rl_debug("remove the work dir `%s`: %s", *dir, err->msg);
      rl_error_free(&err);
    }
  }
  free(*dir);
  *dir = NULL;
}
