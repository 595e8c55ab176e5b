/* images.json: read on every `rless run` of an image, so it stays one small
 * JSON file; written only under the store lock, by temp + rename. */
#include "rl_images.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

static void strv_from_json(json_t *arr, rl_strv_t *out)
{
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    if (json_is_string(v))
      rl_strv_push(out, json_string_value(v));
  }
}

static json_t *strv_to_json(const rl_strv_t *s)
{
  json_t *arr = json_array();
  for (size_t i = 0; i < s->n; i++)
    json_array_append_new(arr, json_string(s->v[i]));
  return arr;
}

static int rec_from_json(json_t *o, struct rl_image_rec *r)
{
  const char *id = json_string_value(json_object_get(o, "id"));
  const char *manifest = json_string_value(json_object_get(o, "manifest"));
  if (!rl_digest_valid(id) || !rl_digest_valid(manifest))
    return -1;
  memset(r, 0, sizeof(*r));
  r->id = rl_xstrdup(id);
  r->manifest = rl_xstrdup(manifest);
  strv_from_json(json_object_get(o, "names"), &r->names);
  strv_from_json(json_object_get(o, "layers"), &r->layers);
  json_t *cfg = json_object_get(o, "config");
  r->config = json_is_object(cfg) ? json_incref(cfg) : NULL;
  r->size = json_integer_value(json_object_get(o, "size"));
  r->created = json_integer_value(json_object_get(o, "created"));
  return 0;
}

int rl_images_load(const struct rl_store *s, struct rl_image_index *ix, rl_error_t *err)
{
  memset(ix, 0, sizeof(*ix));
  json_error_t je;
  cleanup_free char *path = rl_xasprintf("%s/images.json", s->root);
  json_t *root = json_load_file(path, 0, &je);
  if (root == NULL) {
    if (access(path, F_OK) < 0 && errno == ENOENT)
      return 0;
    rl_make_error(err, 0, "read the image index `%s`: %s (line %d)", path, je.text, je.line);
    return rl_error_hint(err, "the store is damaged; remove the file and pull your images again");
  }
  json_t *arr = json_object_get(root, "images");
  size_t i;
  json_t *o;
  ix->v = rl_xcalloc(json_array_size(arr) + 1, sizeof(*ix->v));
  json_array_foreach(arr, i, o)
  {
    if (rec_from_json(o, &ix->v[ix->n]) == 0)
      ix->n++;
  }
  json_decref(root);
  return 0;
}

static json_t *rec_to_json(const struct rl_image_rec *r)
{
  json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I}", "id", r->id, "manifest", r->manifest,
                        "names", strv_to_json(&r->names), "layers", strv_to_json(&r->layers),
                        "size", (json_int_t)r->size, "created", (json_int_t)r->created);
  if (r->config)
    json_object_set(o, "config", r->config);
  return o;
}

int rl_images_save(struct rl_store *s, const struct rl_image_index *ix, rl_error_t *err)
{
  json_t *arr = json_array();
  for (size_t i = 0; i < ix->n; i++)
    json_array_append_new(arr, rec_to_json(&ix->v[i]));
  json_t *root = json_pack("{s:i, s:o}", "version", 1, "images", arr);
  cleanup_free char *dst = rl_xasprintf("%s/images.json", s->root);
  cleanup_free char *tmp = rl_xasprintf("%s/images.json.tmp-%d", s->root, (int)getpid());
  int r = json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS);
  json_decref(root);
  if (r < 0) {
    unlink(tmp);
    return rl_make_error(err, errno, "write the image index `%s`", tmp);
  }
  if (rename(tmp, dst) < 0) {
    unlink(tmp);
    return rl_make_error(err, errno, "replace the image index `%s`", dst);
  }
  return 0;
}

void rl_image_rec_free(struct rl_image_rec *r)
{
  free(r->id);
  free(r->manifest);
  rl_strv_free(&r->names);
  rl_strv_free(&r->layers);
  if (r->config)
    json_decref(r->config);
  memset(r, 0, sizeof(*r));
}

void rl_images_free(struct rl_image_index *ix)
{
  for (size_t i = 0; i < ix->n; i++)
    rl_image_rec_free(&ix->v[i]);
  free(ix->v);
  memset(ix, 0, sizeof(*ix));
}

static bool is_hex(const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

struct rl_image_rec *rl_images_find(struct rl_image_index *ix, const char *ref, rl_error_t *err)
{
  for (size_t i = 0; i < ix->n; i++)
    for (size_t k = 0; k < ix->v[i].names.n; k++)
      if (strcmp(ix->v[i].names.v[k], ref) == 0)
        return &ix->v[i];
  const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
  if (strlen(hex) < 4 || !is_hex(hex))
    return NULL;
  struct rl_image_rec *found = NULL;
  for (size_t i = 0; i < ix->n; i++) {
    if (strncmp(ix->v[i].id + 7, hex, strlen(hex)) != 0)
      continue;
    if (found) {
      rl_make_error(err, 0, "image id prefix `%s` is ambiguous", ref);
      return NULL;
    }
    found = &ix->v[i];
  }
  return found;
}

static void drop_name(struct rl_image_rec *r, const char *name)
{
  for (size_t k = 0; k < r->names.n; k++) {
    if (strcmp(r->names.v[k], name) != 0)
      continue;
    free(r->names.v[k]);
    memmove(&r->names.v[k], &r->names.v[k + 1], (r->names.n - k) * sizeof(char *));
    r->names.n--;
    return;
  }
}

void rl_images_put(struct rl_image_index *ix, struct rl_image_rec *rec)
{
  for (size_t i = 0; i < ix->n; i++)
    if (strcmp(ix->v[i].id, rec->id) != 0)
      for (size_t k = 0; k < rec->names.n; k++)
        drop_name(&ix->v[i], rec->names.v[k]);
  if (rec->created == 0)
    rec->created = (long long)time(NULL);
  for (size_t i = 0; i < ix->n; i++) {
    if (strcmp(ix->v[i].id, rec->id) != 0)
      continue;
    /* Same image again: keep its other names, add the new ones. */
    for (size_t k = 0; k < ix->v[i].names.n; k++) {
      drop_name(rec, ix->v[i].names.v[k]);
      rl_strv_push(&rec->names, ix->v[i].names.v[k]);
    }
    rl_image_rec_free(&ix->v[i]);
    ix->v[i] = *rec;
    memset(rec, 0, sizeof(*rec));
    return;
  }
  ix->v = rl_xrealloc(ix->v, (ix->n + 1) * sizeof(*ix->v));
  ix->v[ix->n++] = *rec;
  memset(rec, 0, sizeof(*rec));
}

void rl_images_remove(struct rl_image_index *ix, size_t i)
{
  rl_image_rec_free(&ix->v[i]);
  memmove(&ix->v[i], &ix->v[i + 1], (ix->n - i - 1) * sizeof(*ix->v));
  ix->n--;
}
