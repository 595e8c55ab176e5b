/* images.json: read on every `rless run` of an image, so it stays one small
 * JSON file; written only under the store lock, by temp + rename. */
#include "rl_images.h"
#include "rl_json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

static int rec_from_json(json_t *o, struct rl_image_rec *r)
{
  const char *id = json_string_value(json_object_get(o, "id"));
  const char *manifest = json_string_value(json_object_get(o, "manifest"));
  if (!rl_digest_valid(id) || !rl_digest_valid(manifest))
    return -1;
  memset(r, 0, sizeof(*r));
  r->id = rl_xstrdup(id);
  r->manifest = rl_xstrdup(manifest);
  rl_strv_from_json(json_object_get(o, "names"), &r->names);
  rl_strv_from_json(json_object_get(o, "layers"), &r->layers);
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
                        "names", rl_strv_to_json(&r->names), "layers", rl_strv_to_json(&r->layers),
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

/* Step 3 of a lookup: an id or a unique id prefix.  1 found, 0 not, -1 ambiguous. */
static int find_id(struct rl_image_index *ix, const char *ref, struct rl_image_rec **out,
                   rl_error_t *err)
{
  const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
  *out = NULL;
  if (strlen(hex) < 4 || !is_hex(hex))
    return 0;
  for (size_t i = 0; i < ix->n; i++) {
    if (strncmp(ix->v[i].id + 7, hex, strlen(hex)) != 0)
      continue;
    if (*out) {
      *out = NULL;
      return rl_make_error(err, 0, "image id prefix `%s` is ambiguous", ref);
    }
    *out = &ix->v[i];
  }
  return *out != NULL;
}

static struct rl_image_rec *find_name(struct rl_image_index *ix, const char *name,
                                      const char **stored)
{
  for (size_t i = 0; i < ix->n; i++)
    for (size_t k = 0; k < ix->v[i].names.n; k++)
      if (strcmp(ix->v[i].names.v[k], name) == 0) {
        if (stored)
          *stored = ix->v[i].names.v[k];
        return &ix->v[i];
      }
  return NULL;
}

struct rl_image_rec *rl_images_find(struct rl_image_index *ix, const char *ref, rl_error_t *err)
{
  struct rl_image_rec *r = find_name(ix, ref, NULL);
  if (r == NULL)
    find_id(ix, ref, &r, err);
  return r;
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

/* ---- Names as typed ---- */

/* The parser's rule: a first component with '.' or ':', or "localhost", is a
 * registry; stored names always carry one, but be lenient with old ones. */
static bool is_registry(const char *comp, size_t len)
{
  return memchr(comp, '.', len) || memchr(comp, ':', len) ||
         (len == 9 && strncmp(comp, "localhost", 9) == 0);
}

struct name_parts {
  char *registry; /* NULL when the name has none */
  char *path;     /* repository without the registry */
  char *tag, *digest;
};

static void name_parts_free(struct name_parts *p)
{
  free(p->registry);
  free(p->path);
  free(p->tag);
  free(p->digest);
}

static void name_parse(const char *name, struct name_parts *p)
{
  memset(p, 0, sizeof(*p));
  const char *at = strchr(name, '@');
  size_t len = at ? (size_t)(at - name) : strlen(name);
  if (at)
    p->digest = rl_xstrdup(at + 1);
  const char *slash = memrchr(name, '/', len);
  const char *colon = memrchr(name, ':', len);
  if (colon && (slash == NULL || colon > slash)) {
    p->tag = rl_xstrndup(colon + 1, len - (size_t)(colon + 1 - name));
    len = (size_t)(colon - name);
  }
  const char *first = memchr(name, '/', len);
  if (first && is_registry(name, (size_t)(first - name))) {
    p->registry = rl_xstrndup(name, (size_t)(first - name));
    p->path = rl_xstrndup(first + 1, len - (size_t)(first + 1 - name));
  } else {
    p->path = rl_xstrndup(name, len);
  }
}

void rl_image_name_split(const char *name, char **repo, char **tag)
{
  struct name_parts p;
  name_parse(name, &p);
  *repo = p.registry ? rl_xasprintf("%s/%s", p.registry, p.path) : rl_xstrdup(p.path);
  *tag = rl_steal_ptr(&p.tag);
  name_parts_free(&p);
}

char *rl_image_name_familiar(const char *name)
{
  if (strncmp(name, "docker.io/", 10) != 0)
    return rl_xstrdup(name);
  const char *rest = name + 10;
  if (strncmp(rest, "library/", 8) == 0 && memchr(rest + 8, '/', strcspn(rest + 8, ":@")) == NULL)
    return rl_xstrdup(rest + 8);
  return rl_xstrdup(rest);
}

/* A short reference's path as typed: a "library/" before one component is
 * docker.io's convention (the parser may add it), not part of the name. */
static const char *short_path(const char *repo)
{
  if (strncmp(repo, "library/", 8) == 0 && strchr(repo + 8, '/') == NULL)
    return repo + 8;
  return repo;
}

/* "registry/path" of a qualified reference, docker.io's library/ included. */
static char *qualified_repo(const struct rl_imageref *ref)
{
  bool lib = strcmp(ref->registry, "docker.io") == 0 && strchr(ref->repository, '/') == NULL;
  return rl_xasprintf("%s/%s%s", ref->registry, lib ? "library/" : "", ref->repository);
}

static const char *ref_tag(const struct rl_imageref *ref)
{
  return ref->tag ? ref->tag : (ref->digest ? NULL : "latest");
}

/* ":tag", "@digest" or both, as stored names end. */
static char *ref_suffix(const struct rl_imageref *ref)
{
  const char *tag = ref_tag(ref);
  return rl_xasprintf("%s%s%s%s", tag ? ":" : "", tag ? tag : "", ref->digest ? "@" : "",
                      ref->digest ? ref->digest : "");
}

static bool path_ends_with(const char *path, const char *bare)
{
  size_t pl = strlen(path), bl = strlen(bare);
  if (pl == bl)
    return strcmp(path, bare) == 0;
  return pl > bl && path[pl - bl - 1] == '/' && strcmp(path + pl - bl, bare) == 0;
}

static bool parts_in_repo(const struct name_parts *p, const struct rl_imageref *ref)
{
  if (ref->registry == NULL)
    return path_ends_with(p->path, short_path(ref->repository));
  cleanup_free char *want = qualified_repo(ref);
  cleanup_free char *have =
      p->registry ? rl_xasprintf("%s/%s", p->registry, p->path) : rl_xstrdup(p->path);
  return strcmp(want, have) == 0;
}

static bool same_str(const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

bool rl_image_name_in_repo(const char *name, const struct rl_imageref *ref)
{
  struct name_parts p;
  name_parse(name, &p);
  bool r = parts_in_repo(&p, ref);
  name_parts_free(&p);
  return r;
}

static bool name_matches_short(const char *name, const struct rl_imageref *ref)
{
  struct name_parts p;
  name_parse(name, &p);
  bool r =
      parts_in_repo(&p, ref) && same_str(p.tag, ref_tag(ref)) && same_str(p.digest, ref->digest);
  name_parts_free(&p);
  return r;
}

/* Rule c: the one stored name, under any registry, that ends in the short name. */
static int match_any_registry(struct rl_image_index *ix, const struct rl_imageref *ref,
                              struct rl_image_match *m, rl_error_t *err)
{
  cleanup_strv rl_strv_t hits = {0};
  for (size_t i = 0; i < ix->n; i++)
    for (size_t k = 0; k < ix->v[i].names.n; k++)
      if (name_matches_short(ix->v[i].names.v[k], ref)) {
        rl_strv_push(&hits, ix->v[i].names.v[k]);
        *m = (struct rl_image_match){&ix->v[i], ix->v[i].names.v[k]};
      }
  if (hits.n <= 1)
    return (int)hits.n;
  *m = (struct rl_image_match){0};
  cleanup_free char *list = rl_xstrdup(hits.v[0]);
  for (size_t i = 1; i < hits.n; i++) {
    char *more = rl_xasprintf("%s, %s", list, hits.v[i]);
    free(list);
    list = more;
  }
  cleanup_free char *suffix = ref_suffix(ref);
  rl_make_error(err, 0, "short name `%s%s` matches %zu names: %s", short_path(ref->repository),
                suffix, hits.n, list);
  return rl_error_hint(err, "use the full name");
}

static int match_manifest(struct rl_image_index *ix, const struct rl_imageref *ref,
                          struct rl_image_match *m)
{
  for (size_t i = 0; i < ix->n; i++) {
    if (strcmp(ix->v[i].manifest, ref->digest) != 0)
      continue;
    for (size_t k = 0; k < ix->v[i].names.n; k++)
      if (rl_image_name_in_repo(ix->v[i].names.v[k], ref)) {
        *m = (struct rl_image_match){&ix->v[i], NULL};
        return 1;
      }
  }
  return 0;
}

static bool match_exact(struct rl_image_index *ix, const char *name, struct rl_image_match *m)
{
  m->rec = find_name(ix, name, &m->name);
  return m->rec != NULL;
}

int rl_images_match_ref(struct rl_image_index *ix, const struct rl_imageref *ref,
                        struct rl_image_match *m, rl_error_t *err)
{
  cleanup_free char *suffix = ref_suffix(ref);
  *m = (struct rl_image_match){0};
  if (ref->registry) {
    cleanup_free char *repo = qualified_repo(ref);
    cleanup_free char *full = rl_xasprintf("%s%s", repo, suffix);
    if (match_exact(ix, full, m))
      return 1;
  } else {
    const char *bare = short_path(ref->repository);
    cleanup_free char *hub =
        rl_xasprintf("docker.io/%s%s%s", strchr(bare, '/') ? "" : "library/", bare, suffix);
    cleanup_free char *local = rl_xasprintf("localhost/%s%s", bare, suffix);
    if (match_exact(ix, hub, m) || match_exact(ix, local, m))
      return 1;
    int r = match_any_registry(ix, ref, m, err);
    if (r != 0)
      return r;
  }
  return ref->digest ? match_manifest(ix, ref, m) : 0;
}

int rl_images_lookup(struct rl_image_index *ix, const char *typed, struct rl_image_match *m,
                     rl_error_t *err)
{
  *m = (struct rl_image_match){0};
  if (match_exact(ix, typed, m))
    return 1;
  struct rl_imageref ref;
  rl_error_t perr = NULL;
  memset(&ref, 0, sizeof(ref));
  if (rl_imageref_parse(typed, &ref, &perr) == 0) {
    int r = rl_images_match_ref(ix, &ref, m, err);
    rl_imageref_free(&ref);
    if (r != 0)
      return r;
  } else {
    /* "sha256:..." and uppercase hex are no names, but may be ids. */
    rl_debug("`%s` is not an image name (%s); trying it as an image id", typed, perr->msg);
    rl_error_free(&perr);
  }
  struct rl_image_rec *rec = NULL;
  int r = find_id(ix, typed, &rec, err);
  *m = (struct rl_image_match){rec, NULL};
  return r;
}

/* ---- Removing ---- */

static bool is_tag_name(const char *name)
{
  return strchr(name, '@') == NULL;
}

bool rl_images_would_remove(const struct rl_image_match *m)
{
  const struct rl_image_rec *r = m->rec;
  bool other_tag = false, other = false;
  for (size_t k = 0; m->name && k < r->names.n; k++)
    if (r->names.v[k] != m->name) {
      other = true;
      other_tag = other_tag || is_tag_name(r->names.v[k]);
    }
  /* docker: digest references alone do not keep an image whose last tag goes. */
  return !(m->name && (other_tag || (other && !is_tag_name(m->name))));
}

int rl_images_untag_or_remove(struct rl_image_index *ix, const struct rl_image_match *m,
                              struct rl_image_rec *removed)
{
  struct rl_image_rec *r = m->rec;
  if (!rl_images_would_remove(m)) {
    drop_name(r, m->name);
    return 0;
  }
  size_t i = (size_t)(r - ix->v);
  *removed = *r;
  memmove(&ix->v[i], &ix->v[i + 1], (ix->n - i - 1) * sizeof(*ix->v));
  ix->n--;
  return 1;
}

void rl_images_add_name(struct rl_image_index *ix, size_t i, const char *name)
{
  for (size_t j = 0; j < ix->n; j++)
    if (j != i)
      drop_name(&ix->v[j], name);
  for (size_t k = 0; k < ix->v[i].names.n; k++)
    if (strcmp(ix->v[i].names.v[k], name) == 0)
      return;
  rl_strv_push(&ix->v[i].names, name);
}

/* ---- Container records ---- */

static void container_ref_free(struct rl_container_ref *c)
{
  free(c->id);
  free(c->name);
  free(c->image);
  rl_strv_free(&c->layers);
}

void rl_container_refs_free(struct rl_container_refs *c)
{
  for (size_t i = 0; i < c->n; i++)
    container_ref_free(&c->v[i]);
  free(c->v);
  memset(c, 0, sizeof(*c));
}

static const char *json_str(json_t *o, const char *key)
{
  return json_string_value(json_object_get(o, key));
}

/* 1 read, 0 no record in this dir, -1 error. */
static int container_ref_read(const struct rl_store *s, int dirfd, const char *dir,
                              struct rl_container_ref *c, rl_error_t *err)
{
  cleanup_free char *rel = rl_xasprintf("%s/container.json", dir);
  size_t len = 0;
  cleanup_free char *data = rl_read_file_at(dirfd, rel, 1 << 20, &len);
  if (data == NULL && (errno == ENOENT || errno == ENOTDIR))
    return 0;
  if (data == NULL)
    return rl_make_error(err, errno, "read the container record `%s/containers/%s`", s->root, rel);
  json_error_t je;
  json_t *o = json_loadb(data, len, 0, &je);
  if (!json_is_object(o)) {
    json_decref(o);
    rl_make_error(err, 0, "container record `%s/containers/%s` is not a JSON object: %s", s->root,
                  rel, je.text);
    return rl_error_hint(err, "remove the container with `rless rm %s` (or its directory)", dir);
  }
  memset(c, 0, sizeof(*c));
  c->id = rl_xstrdup(json_str(o, "id") ? json_str(o, "id") : dir);
  c->name = rl_xstrdup(json_str(o, "name") ? json_str(o, "name") : "");
  c->image = json_str(o, "image") ? rl_xstrdup(json_str(o, "image")) : NULL;
  rl_strv_from_json(json_object_get(o, "layers"), &c->layers);
  json_decref(o);
  return 1;
}

int rl_container_refs_load(const struct rl_store *s, struct rl_container_refs *out, rl_error_t *err)
{
  memset(out, 0, sizeof(*out));
  int fd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return rl_make_error(err, errno, "open `%s/containers`", s->root);
  }
  struct dirent *e;
  int r = 0;
  while (r >= 0 && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    out->v = rl_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    r = container_ref_read(s, dirfd(d), e->d_name, &out->v[out->n], err);
    if (r > 0)
      out->n++;
  }
  closedir(d);
  if (r < 0)
    rl_container_refs_free(out);
  return r < 0 ? -1 : 0;
}

const struct rl_container_ref *rl_container_refs_using(const struct rl_container_refs *c,
                                                       const char *image_id)
{
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].image && strcmp(c->v[i].image, image_id) == 0)
      return &c->v[i];
  return NULL;
}

/* ---- Garbage ---- */

static bool referenced(const char *d, const struct rl_image_index *ix,
                       const struct rl_container_refs *cs)
{
  for (size_t i = 0; i < ix->n; i++)
    if (strcmp(ix->v[i].id, d) == 0 || strcmp(ix->v[i].manifest, d) == 0 ||
        rl_strv_contains(&ix->v[i].layers, d))
      return true;
  for (size_t i = 0; cs && i < cs->n; i++)
    if ((cs->v[i].image && strcmp(cs->v[i].image, d) == 0) || rl_strv_contains(&cs->v[i].layers, d))
      return true;
  return false;
}

static void consider(struct rl_gc_plan *p, const char *d, bool layer,
                     const struct rl_image_index *ix, const struct rl_container_refs *cs)
{
  if (!rl_digest_valid(d) || referenced(d, ix, cs))
    return;
  if (!rl_strv_contains(&p->blobs, d))
    rl_strv_push(&p->blobs, d);
  if (layer && !rl_strv_contains(&p->layers, d))
    rl_strv_push(&p->layers, d);
}

void rl_images_gc_plan(const struct rl_image_rec *removed, size_t n_removed,
                       const struct rl_image_index *remaining, const struct rl_container_refs *cs,
                       struct rl_gc_plan *plan)
{
  memset(plan, 0, sizeof(*plan));
  for (size_t i = 0; i < n_removed; i++) {
    consider(plan, removed[i].manifest, false, remaining, cs);
    consider(plan, removed[i].id, false, remaining, cs);
    for (size_t k = 0; k < removed[i].layers.n; k++)
      consider(plan, removed[i].layers.v[k], true, remaining, cs);
  }
}

void rl_gc_plan_free(struct rl_gc_plan *p)
{
  rl_strv_free(&p->blobs);
  rl_strv_free(&p->layers);
}

/* ---- The config blob ---- */

json_t *rl_image_config_blob(const struct rl_store *s, const struct rl_image_rec *r,
                             rl_error_t *err)
{
  cleanup_free char *path = rl_store_blob_path(s, r->id);
  if (path == NULL) {
    rl_make_error(err, EINVAL, "image config: malformed digest `%s`", r->id);
    return NULL;
  }
  size_t len = 0;
  cleanup_free char *data = rl_read_file_at(AT_FDCWD, path, 16 << 20, &len);
  if (data == NULL) {
    rl_make_error(err, errno, "read the config of image %.19s `%s`", r->id, path);
    rl_error_hint(err, "the store is damaged: remove the image and pull it again");
    return NULL;
  }
  json_error_t je;
  json_t *j = json_loadb(data, len, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    rl_make_error(err, 0, "image config `%s` is not a JSON object: %s", path, je.text);
    return NULL;
  }
  return j;
}

long long rl_rfc3339_parse(const char *s)
{
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (p == NULL)
    return -1;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      ;
  long off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int hh, mm, n = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
      return -1;
    off = (*p == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
    p += 6;
  } else {
    return -1;
  }
  if (*p != '\0')
    return -1;
  return (long long)timegm(&tm) - off;
}

long long rl_image_created(const struct rl_image_rec *r, json_t *config_blob)
{
  long long t = rl_rfc3339_parse(json_str(config_blob, "created"));
  return t >= 0 ? t : r->created;
}
