/* The pure half of archives: member names, image names, the JSON of the
 * docker-archive and OCI layout formats, and the configs rless writes.
 * Everything read here comes from an untrusted archive: types are checked,
 * counts bounded, and text echoed in messages is made printable first. */
#include "rl_archive.h"
#include "rl_json.h"
#include "rl_imageref.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_ENTRIES 1000 /* images in manifest.json or index.json, layers of one image */
#define MAX_SHOWN   100

/* Untrusted text for a message: control bytes as '?', long text cut. */
static char *shown(const char *s)
{
  size_t n = strnlen(s, MAX_SHOWN);
  char *out = rl_xmalloc(n + 4);
  for (size_t i = 0; i < n; i++)
    out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
  memcpy(out + n, s[n] ? "..." : "", s[n] ? 4 : 1);
  return out;
}

/* ---- names ---- */

static char *default_repository(const char *typed, const struct rl_imageref *ref,
                                const char *registry)
{
  const char *repo = ref->repository;
  bool one = strchr(repo, '/') == NULL;
  if (strcmp(registry, "docker.io") == 0)
    return one ? rl_xasprintf("library/%s", repo) : rl_xstrdup(repo);
  /* The parser's docker.io "library/" is no part of a local name. */
  if (ref->registry == NULL && strncmp(typed, "library/", 8) != 0 &&
      strncmp(repo, "library/", 8) == 0 && strchr(repo + 8, '/') == NULL)
    return rl_xstrdup(repo + 8);
  return rl_xstrdup(repo);
}

int rl_archive_name_normalize(const char *name, bool docker, char **out, rl_error_t *err)
{
  struct rl_imageref ref = {0};
  if (rl_imageref_parse(name, &ref, err) < 0) {
    cleanup_free char *sh = shown(name);
    return rl_error_wrap(err, "image name `%s`", sh);
  }
  const char *registry = ref.registry ? ref.registry : docker ? "docker.io" : "localhost";
  if (strcmp(registry, "index.docker.io") == 0)
    registry = "docker.io";
  cleanup_free char *reg = rl_xstrdup(registry);
  cleanup_free char *repository = default_repository(name, &ref, reg);
  cleanup_free char *latest = ref.tag || ref.digest ? NULL : rl_xstrdup("latest");
  struct rl_imageref full = {.registry = reg,
                             .repository = repository,
                             .tag = latest ? latest : ref.tag,
                             .digest = ref.digest};
  /* docker's limit is on the whole name, the registry added here included. */
  if (rl_imageref_name_len(&full) > RL_IMAGEREF_NAME_MAX) {
    cleanup_free char *sh = shown(name);
    rl_imageref_free(&ref);
    return rl_make_error(err, 0, "image name `%s`: longer than %d characters as `%s/...`", sh,
                         RL_IMAGEREF_NAME_MAX, reg);
  }
  *out = rl_imageref_string(&full);
  rl_imageref_free(&ref);
  if (*out == NULL)
    return rl_make_error(err, 0, "image name `%s` cannot be spelled out", name);
  return 0;
}

char *rl_archive_repo_tag(const char *name)
{
  return strchr(name, '@') ? NULL : rl_image_name_familiar(name);
}

bool rl_archive_ref_is_name(const char *ref_name)
{
  return ref_name && strpbrk(ref_name, "/:@") != NULL;
}

/* ---- member names ---- */

static void push_component(rl_strv_t *parts, const char *s, size_t n)
{
  rl_strv_push_owned(parts, rl_xstrndup(s, n));
}

static char *join(const rl_strv_t *parts)
{
  size_t len = 1;
  for (size_t i = 0; i < parts->n; i++)
    len += strlen(parts->v[i]) + 1;
  char *out = rl_xmalloc(len), *p = out;
  *p = '\0';
  for (size_t i = 0; i < parts->n; i++) {
    size_t k = strlen(parts->v[i]);
    if (i)
      *p++ = '/';
    memcpy(p, parts->v[i], k + 1);
    p += k;
  }
  return out;
}

/* Split `s` into parts, applying `.` and, with allow_up, `..` (popping);
 * returns -1 for a `..` that is refused or climbs above the start. */
static int walk(rl_strv_t *parts, const char *s, bool allow_up)
{
  while (*s) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (!allow_up || parts->n == 0)
        return -1;
      free(parts->v[--parts->n]);
      parts->v[parts->n] = NULL;
    } else if (n > 0 && !(n == 1 && s[0] == '.')) {
      push_component(parts, s, n);
    }
    s += n;
    s += *s == '/';
  }
  return 0;
}

static bool printable(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

int rl_archive_member_clean(const char *raw, char **out, rl_error_t *err)
{
  cleanup_strv rl_strv_t parts = {0};
  if (raw == NULL || raw[0] == '\0')
    return rl_make_error(err, 0, "archive member without a name");
  cleanup_free char *sh = shown(raw);
  /* No image archive needs them, and refusing them keeps every name a
   * message may show printable. */
  if (!printable(raw))
    return rl_make_error(err, 0, "archive member `%s` has control characters in its name", sh);
  if (raw[0] == '/')
    return rl_make_error(err, 0, "archive member `%s` has an absolute name", sh);
  if (walk(&parts, raw, false) < 0)
    return rl_make_error(err, 0, "archive member `%s` has a `..` component", sh);
  *out = join(&parts);
  return 0;
}

int rl_archive_link_resolve(const char *name, const char *target, char **out, rl_error_t *err)
{
  cleanup_strv rl_strv_t parts = {0};
  cleanup_free char *sn = shown(name), *st = shown(target);
  if (target[0] == '/' || target[0] == '\0')
    return rl_make_error(err, 0, "archive member `%s` links to `%s`, outside the archive", sn, st);
  if (!printable(target))
    return rl_make_error(
        err, 0, "archive member `%s` links to `%s`, a name with control characters", sn, st);
  walk(&parts, name, false);
  if (parts.n > 0) {
    free(parts.v[--parts.n]);
    parts.v[parts.n] = NULL;
  }
  if (walk(&parts, target, true) < 0 || parts.n == 0)
    return rl_make_error(err, 0, "archive member `%s` links to `%s`, outside the archive", sn, st);
  *out = join(&parts);
  return 0;
}

char *rl_archive_blob_name_digest(const char *name)
{
  if (strncmp(name, "blobs/sha256/", 13) != 0)
    return NULL;
  char *d = rl_xasprintf("sha256:%s", name + 13);
  if (!rl_digest_valid(d)) {
    free(d);
    return NULL;
  }
  return d;
}

/* ---- JSON helpers ---- */

static json_t *load_json(const char *what, const char *body, size_t len, rl_error_t *err)
{
  json_error_t je;
  if (len > RL_ARCHIVE_MAX_META) {
    rl_make_error(err, 0, "%s is larger than %d bytes", what, RL_ARCHIVE_MAX_META);
    return NULL;
  }
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL)
    rl_make_error(err, 0, "%s is not valid JSON: %s (line %d)", what, je.text, je.line);
  return root;
}

/* A file manifest.json names: cleaned, and not the archive's top (`.`, which cleans to ""). */
static int named_member(const char *raw, char **out, rl_error_t *err)
{
  if (rl_archive_member_clean(raw, out, err) < 0)
    return -1;
  if (**out != '\0')
    return 0;
  free(*out);
  *out = NULL;
  cleanup_free char *sh = shown(raw);
  return rl_make_error(err, 0, "archive member `%s` names no file", sh);
}

static int get_member(const json_t *o, const char *key, const char *path, char **out,
                      rl_error_t *err)
{
  const char *s = json_string_value(json_object_get(o, key));
  if (s == NULL)
    return rl_make_error(err, 0, "manifest.json: %s.%s is not a string", path, key);
  return named_member(s, out, err) < 0 ? rl_error_wrap(err, "manifest.json: %s.%s", path, key) : 0;
}

/* ---- docker-archive manifest.json ---- */

static int docker_entry(const json_t *o, const char *path, struct rl_docker_image *d,
                        rl_error_t *err)
{
  if (!json_is_object(o))
    return rl_make_error(err, 0, "manifest.json: %s is not an object", path);
  if (get_member(o, "Config", path, &d->config, err) < 0)
    return -1;
  const json_t *tags = json_object_get(o, "RepoTags"), *layers = json_object_get(o, "Layers");
  if (tags && !json_is_null(tags) && !json_is_array(tags))
    return rl_make_error(err, 0, "manifest.json: %s.RepoTags is not a list", path);
  if (!json_is_array(layers) || json_array_size(layers) > MAX_ENTRIES)
    return rl_make_error(err, 0, "manifest.json: %s.Layers is not a list of at most %d", path,
                         MAX_ENTRIES);
  size_t i;
  const json_t *v;
  json_array_foreach(tags, i, v)
  {
    if (!json_is_string(v) || i >= MAX_ENTRIES)
      return rl_make_error(err, 0, "manifest.json: %s.RepoTags[%zu] is not a string", path, i);
    rl_strv_push(&d->tags, json_string_value(v));
  }
  json_array_foreach(layers, i, v)
  {
    cleanup_free char *lpath = rl_xasprintf("%s.Layers", path);
    cleanup_free char *key = rl_xasprintf("%zu", i);
    char *m = NULL;
    if (!json_is_string(v))
      return rl_make_error(err, 0, "manifest.json: %s[%zu] is not a string", lpath, i);
    if (named_member(json_string_value(v), &m, err) < 0)
      return rl_error_wrap(err, "manifest.json: %s[%s]", lpath, key);
    rl_strv_push_owned(&d->layers, m);
  }
  return 0;
}

int rl_docker_manifest_parse(const char *body, size_t len, struct rl_docker_image **out, size_t *n,
                             rl_error_t *err)
{
  json_t *root = load_json("manifest.json", body, len, err);
  if (root == NULL)
    return -1;
  *out = NULL;
  *n = 0;
  int r = 0;
  if (!json_is_array(root) || json_array_size(root) == 0 || json_array_size(root) > MAX_ENTRIES)
    r = rl_make_error(err, 0, "manifest.json is not a list of 1 to %d images", MAX_ENTRIES);
  else
    *out = rl_xcalloc(json_array_size(root), sizeof(**out));
  size_t i;
  const json_t *v;
  json_array_foreach(root, i, v)
  {
    if (r < 0)
      break;
    cleanup_free char *path = rl_xasprintf("[%zu]", i);
    (*n)++;
    r = docker_entry(v, path, &(*out)[i], err);
  }
  json_decref(root);
  if (r < 0) {
    rl_docker_images_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return r;
}

void rl_docker_images_free(struct rl_docker_image *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].config);
    rl_strv_free(&v[i].tags);
    rl_strv_free(&v[i].layers);
  }
  free(v);
}

char *rl_docker_manifest_dump(const struct rl_docker_image *v, size_t n)
{
  json_t *root = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(root, json_pack("{s:s, s:o, s:o}", "Config", v[i].config, "RepoTags",
                                          v[i].tags.n ? rl_strv_to_json(&v[i].tags) : json_null(),
                                          "Layers", rl_strv_to_json(&v[i].layers)));
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return s;
}

/* ---- OCI index.json ---- */

static int opt_str(const json_t *o, const char *key, const char *path, char **out, rl_error_t *err)
{
  const json_t *v = json_object_get(o, key);
  if (v == NULL)
    return 0;
  if (!json_is_string(v))
    return rl_make_error(err, 0, "index.json: %s.%s is not a string", path, key);
  *out = rl_xstrdup(json_string_value(v));
  return 0;
}

static int oci_entry(const json_t *o, const char *path, struct rl_oci_entry *e, rl_error_t *err)
{
  if (!json_is_object(o))
    return rl_make_error(err, 0, "index.json: %s is not an object", path);
  const char *digest = json_string_value(json_object_get(o, "digest"));
  const json_t *size = json_object_get(o, "size"), *ann = json_object_get(o, "annotations");
  if (!rl_digest_valid(digest))
    return rl_make_error(err, 0, "index.json: %s.digest is not a sha256 digest", path);
  if (!json_is_integer(size) || json_integer_value(size) < 0)
    return rl_make_error(err, 0, "index.json: %s.size is not a size", path);
  if (ann && !json_is_object(ann))
    return rl_make_error(err, 0, "index.json: %s.annotations is not an object", path);
  e->digest = rl_xstrdup(digest);
  e->size = json_integer_value(size);
  cleanup_free char *apath = rl_xasprintf("%s.annotations", path);
  if (opt_str(o, "mediaType", path, &e->media_type, err) < 0 ||
      opt_str(ann, RL_ANNOT_REF_NAME, apath, &e->ref_name, err) < 0 ||
      opt_str(ann, RL_ANNOT_IMAGE_NAME, apath, &e->image_name, err) < 0)
    return -1;
  return 0;
}

int rl_oci_index_parse(const char *body, size_t len, struct rl_oci_entry **out, size_t *n,
                       rl_error_t *err)
{
  json_t *root = load_json("index.json", body, len, err);
  if (root == NULL)
    return -1;
  const json_t *sv = json_object_get(root, "schemaVersion");
  const json_t *list = json_object_get(root, "manifests");
  *out = NULL;
  *n = 0;
  int r = 0;
  if (!json_is_object(root) || (sv && json_integer_value(sv) != 2))
    r = rl_make_error(err, 0, "index.json is not an OCI image index (schemaVersion 2)");
  else if (!json_is_array(list) || json_array_size(list) == 0 ||
           json_array_size(list) > MAX_ENTRIES)
    r = rl_make_error(err, 0, "index.json: manifests is not a list of 1 to %d", MAX_ENTRIES);
  else
    *out = rl_xcalloc(json_array_size(list), sizeof(**out));
  size_t i;
  const json_t *v;
  json_array_foreach(list, i, v)
  {
    if (r < 0)
      break;
    cleanup_free char *path = rl_xasprintf("manifests[%zu]", i);
    (*n)++;
    r = oci_entry(v, path, &(*out)[i], err);
  }
  json_decref(root);
  if (r < 0) {
    rl_oci_entries_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return r;
}

void rl_oci_entries_free(struct rl_oci_entry *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].media_type);
    free(v[i].digest);
    free(v[i].ref_name);
    free(v[i].image_name);
  }
  free(v);
}

char *rl_oci_index_dump(const struct rl_oci_entry *v, size_t n)
{
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_pack("{s:s, s:s, s:I}", "mediaType",
                          v[i].media_type ? v[i].media_type : RL_MT_OCI_MANIFEST, "digest",
                          v[i].digest, "size", (json_int_t)v[i].size);
    if (v[i].ref_name || v[i].image_name) {
      json_t *ann = json_object();
      if (v[i].image_name)
        json_object_set_new(ann, RL_ANNOT_IMAGE_NAME, json_string(v[i].image_name));
      if (v[i].ref_name)
        json_object_set_new(ann, RL_ANNOT_REF_NAME, json_string(v[i].ref_name));
      json_object_set_new(e, "annotations", ann);
    }
    json_array_append_new(list, e);
  }
  json_t *root = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", RL_MT_OCI_INDEX,
                           "manifests", list);
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return s;
}

/* ---- manifests and configs ---- */

static json_t *descriptor_json(const struct rl_descriptor *d)
{
  return json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", d->digest, "size",
                   (json_int_t)d->size);
}

char *rl_oci_manifest_dump(const struct rl_descriptor *config, const struct rl_descriptor *layers,
                           size_t n)
{
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, descriptor_json(&layers[i]));
  json_t *root = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                           RL_MT_OCI_MANIFEST, "config", descriptor_json(config), "layers", list);
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return s;
}

bool rl_manifest_is_oci(const char *body, size_t len)
{
  json_t *root = json_loadb(body, len, 0, NULL);
  const char *mt = json_string_value(json_object_get(root, "mediaType"));
  const char *cmt =
      json_string_value(json_object_get(json_object_get(root, "config"), "mediaType"));
  bool oci = mt ? strcmp(mt, RL_MT_OCI_MANIFEST) == 0 : cmt && strcmp(cmt, RL_MT_OCI_CONFIG) == 0;
  json_decref(root);
  return oci;
}

const char *rl_archive_layer_type(const unsigned char *h, size_t n)
{
  static const struct {
    const unsigned char magic[6];
    size_t len;
    const char *type;
  } kinds[] = {
      {{0x1f, 0x8b}, 2, RL_MT_OCI_LAYER "+gzip"},
      {{0x28, 0xb5, 0x2f, 0xfd}, 4, RL_MT_OCI_LAYER "+zstd"},
      {{0xfd, '7', 'z', 'X', 'Z', 0x00}, 6, NULL},
      {{'B', 'Z', 'h'}, 3, NULL},
      {{0x04, 0x22, 0x4d, 0x18}, 4, NULL}, /* lz4 */
      {{0x5d, 0x00, 0x00}, 3, NULL},       /* lzma */
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(kinds); i++)
    if (n >= kinds[i].len && memcmp(h, kinds[i].magic, kinds[i].len) == 0)
      return kinds[i].type;
  return RL_MT_OCI_LAYER;
}

/* ---- --change ---- */

/* Docker's rule: a JSON list of strings is the exec form, anything else a
 * shell command (so `[ -f x ] && y` stays a shell test). */
static json_t *exec_form(const char *value)
{
  json_t *a = value[0] == '[' ? json_loads(value, 0, NULL) : NULL;
  size_t i;
  json_t *v;
  bool ok = json_is_array(a);
  json_array_foreach(a, i, v) ok = ok && json_is_string(v);
  if (ok)
    return a;
  json_decref(a);
  return json_pack("[s, s, s]", "/bin/sh", "-c", value);
}

static int env_change(json_t *config, const char *value, rl_error_t *err)
{
  size_t klen = strcspn(value, "= \t");
  if (klen == 0 || value[klen] == '\0')
    return rl_make_error(err, 0, "--change ENV: `%s` is not KEY=VALUE", value);
  const char *val = value + klen + 1;
  if (value[klen] != '=')
    val += strspn(val, " \t");
  char *entry = rl_xasprintf("%.*s=%s", (int)klen, value, val);
  json_t *env = json_object_get(config, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(config, "Env", env);
  }
  size_t i;
  json_t *v;
  json_array_foreach(env, i, v)
  {
    const char *s = json_string_value(v);
    if (s && strncmp(s, entry, klen + 1) == 0) {
      json_array_set_new(env, i, json_string(entry));
      free(entry);
      return 0;
    }
  }
  json_array_append_new(env, json_string(entry));
  free(entry);
  return 0;
}

int rl_archive_change_apply(json_t *config, const char *change, rl_error_t *err)
{
  const char *p = change + strspn(change, " \t");
  size_t ilen = 0;
  while (isalpha((unsigned char)p[ilen]))
    ilen++;
  if (ilen == 0)
    return rl_make_error(err, 0, "--change `%s` is not INSTRUCTION VALUE", change);
  cleanup_free char *instr = rl_xstrndup(p, ilen);
  const char *value = p + ilen;
  if (*value == '=')
    value++;
  else if (*value == ' ' || *value == '\t')
    value += strspn(value, " \t");
  else if (*value != '\0')
    return rl_make_error(err, 0, "--change `%s` is not INSTRUCTION VALUE", change);
  cleanup_free char *val = rl_xstrdup(value);
  for (size_t n = strlen(val); n > 0 && (val[n - 1] == ' ' || val[n - 1] == '\t'); n--)
    val[n - 1] = '\0';
  if (val[0] == '\0')
    return rl_make_error(err, 0, "--change `%s` has no value", change);
  if (strcasecmp(instr, "CMD") == 0 || strcasecmp(instr, "ENTRYPOINT") == 0) {
    json_object_set_new(config, toupper((unsigned char)instr[0]) == 'C' ? "Cmd" : "Entrypoint",
                        exec_form(val));
    return 0;
  }
  if (strcasecmp(instr, "ENV") == 0)
    return env_change(config, val, err);
  if (strcasecmp(instr, "WORKDIR") == 0) {
    if (val[0] != '/')
      return rl_make_error(err, 0, "--change WORKDIR: `%s` is not an absolute path", val);
    json_object_set_new(config, "WorkingDir", json_string(val));
    return 0;
  }
  if (strcasecmp(instr, "USER") == 0) {
    if (strpbrk(val, " \t"))
      return rl_make_error(err, 0, "--change USER: `%s` is not a user[:group]", val);
    json_object_set_new(config, "User", json_string(val));
    return 0;
  }
  rl_make_error(err, 0, "unsupported --change instruction `%s`", instr);
  return rl_error_hint(err, "use CMD, ENTRYPOINT, ENV, WORKDIR or USER");
}

char *rl_archive_import_config(const json_t *config, const char *diff_id, const char *os,
                               const char *arch, const char *variant, long long created,
                               const char *message)
{
  char when[32];
  time_t t = (time_t)created;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *hist = json_pack("{s:s, s:s}", "created", when, "created_by", "rless import");
  if (message)
    json_object_set_new(hist, "comment", json_string(message));
  json_t *root = json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:[s]}, s:[o]}", "created", when,
                           "architecture", arch, "os", os, "config", config, "rootfs", "type",
                           "layers", "diff_ids", diff_id, "history", hist);
  if (variant)
    json_object_set_new(root, "variant", json_string(variant));
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return s;
}
