/* Manifests, indexes and image configs from registries and archives.  Every
 * byte is untrusted: each field is type-checked and validated, errors name the
 * JSON path of the offending field, and any text echoed back is made printable
 * first (a hostile registry must not write escape sequences to the terminal). */
#include "rl_manifest.h"
#include "rl_util.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#define MAX_ENTRIES        1000      /* layers, manifests, diff_ids */
#define MAX_MANIFEST_BYTES (4 << 20) /* what the distribution spec makes registries accept */
#define MAX_TOKEN          64        /* os, architecture, variant */
#define MAX_SHOWN          72        /* untrusted text echoed in a message */

static const char mt_oci_index[] = "application/vnd.oci.image.index.v1+json";
static const char mt_oci_image[] = "application/vnd.oci.image.manifest.v1+json";
static const char mt_docker_list[] = "application/vnd.docker.distribution.manifest.list.v2+json";
static const char mt_docker_image[] = "application/vnd.docker.distribution.manifest.v2+json";

enum mt_class { MT_UNKNOWN, MT_IMAGE, MT_INDEX, MT_SCHEMA1 };

static const struct {
  const char *name;
  enum mt_class cls;
} manifest_types[] = {
    {mt_oci_index, MT_INDEX},
    {mt_oci_image, MT_IMAGE},
    {mt_docker_list, MT_INDEX},
    {mt_docker_image, MT_IMAGE},
    {"application/vnd.docker.distribution.manifest.v1+json", MT_SCHEMA1},
    {"application/vnd.docker.distribution.manifest.v1+prettyjws", MT_SCHEMA1},
};

/* What servers and archive readers send when they do not know the type. */
static const char *const generic_types[] = {"application/json", "text/plain",
                                            "application/octet-stream"};

static const char *const config_types[] = {"application/vnd.oci.image.config.v1+json",
                                           "application/vnd.docker.container.image.v1+json"};

static const char *const layer_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

/* Where the parser is: the document ("manifest", "index", "image config")
 * names the start of every message, the JSON path follows. */
struct ctx {
  const char *doc;
  rl_error_t *err;
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(s, list[i]) == 0)
      return true;
  return false;
}

/* Untrusted text for a message: printable ASCII, bounded. */
static char *shown(const char *s, size_t max)
{
  size_t n = strlen(s), take = n > max ? max : n;
  char *r = rl_xmalloc(take + 4);
  for (size_t i = 0; i < take; i++)
    r[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  memcpy(r + take, n > max ? "..." : "", n > max ? 4 : 1);
  return r;
}

static const char *kind_of(const json_t *j)
{
  /* In the order of enum json_type. */
  static const char *const names[] = {"an object",           "an array",  "a string",  "an integer",
                                      "a fractional number", "a boolean", "a boolean", "null"};
  return (size_t)json_typeof(j) < RL_ARRAY_SIZE(names) ? names[json_typeof(j)] : "null";
}

/* "DOC: PATH.KEY: MSG"; PATH may be empty and KEY NULL. */
static int ferr(const struct ctx *c, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ferr(const struct ctx *c, const char *path, const char *key, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  const char *dot = *path && key ? "." : "";
  int r = rl_make_error(c->err, 0, "%s: %s%s%s: %s", c->doc, path, dot, key ? key : "", msg);
  free(msg);
  return r;
}

static json_t *load_object(const struct ctx *c, const char *body, size_t len, size_t max)
{
  if (body == NULL) {
    rl_make_error(c->err, 0, "%s: empty document", c->doc);
    return NULL;
  }
  if (len > max) {
    rl_make_error(c->err, 0, "%s: %zu bytes, more than the %zu rless accepts", c->doc, len, max);
    return NULL;
  }
  /* Duplicate keys would let two parsers of the same bytes see different images. */
  json_error_t je;
  json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (j == NULL) {
    cleanup_free char *why = shown(je.text, sizeof(je.text));
    rl_make_error(c->err, 0, "%s: invalid JSON at line %d column %d: %s", c->doc, je.line,
                  je.column, why);
    return NULL;
  }
  if (!json_is_object(j)) {
    rl_make_error(c->err, 0, "%s: expected a JSON object, got %s", c->doc, kind_of(j));
    json_decref(j);
    return NULL;
  }
  return j;
}

/* A string member.  Absent (or null, when optional) leaves *out NULL. */
static int get_str(const struct ctx *c, const json_t *obj, const char *path, const char *key,
                   bool required, const char **out)
{
  *out = NULL;
  json_t *v = json_object_get(obj, key);
  if (v == NULL && required)
    return ferr(c, path, key, "missing");
  if (v == NULL || (json_is_null(v) && !required))
    return 0;
  if (!json_is_string(v))
    return ferr(c, path, key, "expected a string, got %s", kind_of(v));
  *out = json_string_value(v);
  return 0;
}

static bool is_lower_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* The OCI digest grammar: algorithm ":" encoded, algorithm [a-z0-9] parts
 * joined by [+._-], encoded [a-zA-Z0-9=_-]+. */
static bool digest_shaped(const char *d, size_t alg_len)
{
  static const char alg_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789+._-";
  static const char enc_chars[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-";
  const char *enc = d + alg_len + 1;
  if (alg_len == 0 || strspn(d, alg_chars) != alg_len || *enc == '\0')
    return false;
  if (strchr("+._-", d[0]) || strchr("+._-", d[alg_len - 1]))
    return false;
  return strspn(enc, enc_chars) == strlen(enc);
}

static int check_digest(const struct ctx *c, const char *path, const char *key, const char *d)
{
  const char *colon = strchr(d, ':');
  cleanup_free char *v = shown(d, MAX_SHOWN);
  if (colon == NULL || !digest_shaped(d, (size_t)(colon - d)))
    return ferr(c, path, key, "`%s` is not a digest (expected sha256:<64 hex digits>)", v);
  if (colon - d != 6 || memcmp(d, "sha256", 6) != 0)
    return ferr(c, path, key,
                "digest algorithm `%.*s` is not supported (rless verifies sha256 only)",
                (int)(colon - d), v);
  if (strlen(colon + 1) != 64 || !is_lower_hex(colon + 1, 64))
    return ferr(c, path, key, "`%s`: a sha256 digest is 64 lowercase hex digits", v);
  return 0;
}

/* RFC 6838: type "/" subtype, each 1-127 of [A-Za-z0-9!#$&^_.+-] starting alphanumeric. */
static bool media_type_part_ok(const char *s, size_t n)
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789!#$&^_.+-";
  if (n == 0 || n > 127 || strchr("!#$&^_.+-", s[0]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (strchr(chars, s[i]) == NULL)
      return false;
  return true;
}

static bool media_type_ok(const char *s)
{
  const char *slash = strchr(s, '/');
  return slash && media_type_part_ok(s, (size_t)(slash - s)) &&
         media_type_part_ok(slash + 1, strlen(slash + 1));
}

/* os, architecture, variant: what may appear between the slashes of --platform. */
static bool token_ok(const char *s, size_t n)
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-";
  if (n == 0 || n > MAX_TOKEN)
    return false;
  for (size_t i = 0; i < n; i++)
    if (strchr(chars, s[i]) == NULL)
      return false;
  return true;
}

static int parse_descriptor(const struct ctx *c, const json_t *j, const char *path,
                            struct rl_descriptor *d)
{
  if (!json_is_object(j))
    return ferr(c, path, NULL, "expected a descriptor object, got %s", kind_of(j));
  const char *mt, *dg;
  if (get_str(c, j, path, "mediaType", true, &mt) < 0)
    return -1;
  if (!media_type_ok(mt)) {
    cleanup_free char *v = shown(mt, MAX_SHOWN);
    return ferr(c, path, "mediaType", "`%s` is not a media type", v);
  }
  if (get_str(c, j, path, "digest", true, &dg) < 0 || check_digest(c, path, "digest", dg) < 0)
    return -1;
  json_t *size = json_object_get(j, "size");
  if (size == NULL)
    return ferr(c, path, "size", "missing");
  if (!json_is_integer(size))
    return ferr(c, path, "size", "expected an integer, got %s", kind_of(size));
  if (json_integer_value(size) < 0)
    return ferr(c, path, "size", "%" JSON_INTEGER_FORMAT " is negative", json_integer_value(size));
  d->media_type = rl_xstrdup(mt);
  d->digest = rl_xstrdup(dg);
  d->size = json_integer_value(size);
  return 0;
}

static int get_token(const struct ctx *c, const json_t *obj, const char *path, const char *key,
                     bool required, char **out)
{
  const char *s;
  if (get_str(c, obj, path, key, required, &s) < 0)
    return -1;
  /* An empty optional value (some tools write "variant": "") means none. */
  if (s == NULL || (!required && *s == '\0'))
    return 0;
  if (!token_ok(s, strlen(s))) {
    cleanup_free char *v = shown(s, MAX_SHOWN);
    return ferr(c, path, key, "`%s` is not a platform name (letters, digits, `._+-`)", v);
  }
  *out = rl_xstrdup(s);
  return 0;
}

static int parse_entry(const struct ctx *c, const json_t *j, const char *path,
                       struct rl_descriptor *d)
{
  if (parse_descriptor(c, j, path, d) < 0)
    return -1;
  json_t *p = json_object_get(j, "platform");
  if (p == NULL || json_is_null(p))
    return 0;
  if (!json_is_object(p))
    return ferr(c, path, "platform", "expected an object, got %s", kind_of(p));
  cleanup_free char *pp = rl_xasprintf("%s.platform", path);
  if (get_token(c, p, pp, "os", true, &d->os) < 0 ||
      get_token(c, p, pp, "architecture", true, &d->arch) < 0 ||
      get_token(c, p, pp, "variant", false, &d->variant) < 0)
    return -1;
  return 0;
}

typedef int (*entry_fn)(const struct ctx *c, const json_t *j, const char *path,
                        struct rl_descriptor *d);

static int parse_list(const struct ctx *c, const json_t *root, const char *key, entry_fn fn,
                      struct rl_descriptor **out, size_t *n_out)
{
  json_t *a = json_object_get(root, key);
  if (a == NULL)
    return ferr(c, "", key, "missing");
  if (!json_is_array(a))
    return ferr(c, "", key, "expected an array, got %s", kind_of(a));
  size_t n = json_array_size(a);
  if (n > MAX_ENTRIES)
    return ferr(c, "", key, "%zu entries, more than the %d rless accepts", n, MAX_ENTRIES);
  *out = rl_xcalloc(n, sizeof(**out));
  for (size_t i = 0; i < n; i++) {
    *n_out = i + 1; /* so that a failure frees what was parsed */
    cleanup_free char *path = rl_xasprintf("%s[%zu]", key, i);
    if (fn(c, json_array_get(a, i), path, &(*out)[i]) < 0)
      return -1;
  }
  return 0;
}

static int parse_image(const struct ctx *c, const json_t *root, struct rl_manifest *m)
{
  json_t *cfg = json_object_get(root, "config");
  if (cfg == NULL)
    return ferr(c, "", "config", "missing");
  if (parse_descriptor(c, cfg, "config", &m->config) < 0)
    return -1;
  if (!in_list(m->config.media_type, config_types, RL_ARRAY_SIZE(config_types))) {
    cleanup_free char *v = shown(m->config.media_type, MAX_SHOWN);
    return ferr(c, "config", "mediaType",
                "`%s` is not a container image config (an OCI artifact such as a helm chart or a "
                "signature?)",
                v);
  }
  return parse_list(c, root, "layers", parse_descriptor, &m->layers, &m->n_layers);
}

static int schema1_error(const struct ctx *c)
{
  return rl_make_error(c->err, 0,
                       "%s: schema 1 manifests are not supported (deprecated by docker); push the "
                       "image again with a current tool",
                       c->doc);
}

static enum mt_class class_of(const char *mt)
{
  for (size_t i = 0; i < RL_ARRAY_SIZE(manifest_types); i++)
    if (strcasecmp(mt, manifest_types[i].name) == 0)
      return manifest_types[i].cls;
  return MT_UNKNOWN;
}

/* Content-Type without parameters or surrounding blanks. */
static char *content_type_base(const char *ct)
{
  ct += strspn(ct, " \t");
  size_t n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
    n--;
  return rl_xstrndup(ct, n);
}

/* schemaVersion and mediaType of the body: schema 1 is refused with its own
 * message whichever of the two says so. */
static int body_type(const struct ctx *c, const json_t *root, const char **mt)
{
  if (get_str(c, root, "", "mediaType", false, mt) < 0)
    return -1;
  json_t *sv = json_object_get(root, "schemaVersion");
  if ((*mt && class_of(*mt) == MT_SCHEMA1) || (json_is_integer(sv) && json_integer_value(sv) == 1))
    return schema1_error(c);
  if (sv == NULL)
    return ferr(c, "", "schemaVersion", "missing (expected 2)");
  if (!json_is_integer(sv))
    return ferr(c, "", "schemaVersion", "expected the integer 2, got %s", kind_of(sv));
  if (json_integer_value(sv) != 2)
    return ferr(c, "", "schemaVersion", "%" JSON_INTEGER_FORMAT " is not supported (expected 2)",
                json_integer_value(sv));
  return 0;
}

/* No usable type anywhere: an index has "manifests", an image "config" and "layers". */
static enum mt_class class_from_shape(const struct ctx *c, const json_t *root)
{
  bool has_index = json_object_get(root, "manifests") != NULL;
  bool has_image = json_object_get(root, "config") || json_object_get(root, "layers");
  if (has_index && !has_image)
    return MT_INDEX;
  if (has_image && !has_index)
    return MT_IMAGE;
  rl_make_error(c->err, 0,
                "%s: no mediaType, and the document is %s (an index has \"manifests\", an image "
                "manifest \"config\" and \"layers\")",
                c->doc, has_index ? "both an index and an image manifest" : "neither");
  return MT_UNKNOWN;
}

static enum mt_class decide_class(const struct ctx *c, const json_t *root, const char *http)
{
  const char *mt;
  if (body_type(c, root, &mt) < 0)
    return MT_UNKNOWN;
  if (http && mt && strcasecmp(http, mt) != 0) {
    cleanup_free char *h = shown(http, MAX_SHOWN), *b = shown(mt, MAX_SHOWN);
    rl_make_error(c->err, 0, "%s: the Content-Type `%s` disagrees with the body's mediaType `%s`",
                  c->doc, h, b);
    return MT_UNKNOWN;
  }
  const char *type = http ? http : mt;
  if (type == NULL)
    return class_from_shape(c, root);
  enum mt_class cls = class_of(type);
  if (cls == MT_UNKNOWN) {
    cleanup_free char *v = shown(type, MAX_SHOWN);
    rl_make_error(c->err, 0, "%s: media type `%s` is not an image manifest or index", c->doc, v);
    rl_error_hint(c->err, "rless runs container images (OCI or docker schema 2); artifacts such as "
                          "helm charts or signatures are not images");
  }
  return cls;
}

int rl_manifest_parse(const char *body, size_t len, const char *media_type, struct rl_manifest *m,
                      rl_error_t *err)
{
  memset(m, 0, sizeof(*m));
  struct ctx c = {"manifest", err};
  cleanup_free char *http = media_type ? content_type_base(media_type) : NULL;
  if (http && (*http == '\0' || in_list(http, generic_types, RL_ARRAY_SIZE(generic_types)))) {
    free(http);
    http = NULL;
  }
  /* Before the body: a schema 1 body may be JWS, not even the JSON we expect. */
  if (http && class_of(http) == MT_SCHEMA1)
    return schema1_error(&c);
  json_auto_t *root = load_object(&c, body, len, MAX_MANIFEST_BYTES);
  if (root == NULL)
    return -1;
  enum mt_class cls = decide_class(&c, root, http);
  int r = -1;
  if (cls == MT_IMAGE) {
    m->kind = RL_MANIFEST_IMAGE;
    r = parse_image(&c, root, m);
  } else if (cls == MT_INDEX) {
    m->kind = RL_MANIFEST_INDEX;
    c.doc = "index";
    r = parse_list(&c, root, "manifests", parse_entry, &m->manifests, &m->n_manifests);
  }
  if (r < 0)
    rl_manifest_free(m);
  return r;
}

static void descriptor_free(struct rl_descriptor *d)
{
  free(d->media_type);
  free(d->digest);
  free(d->os);
  free(d->arch);
  free(d->variant);
  memset(d, 0, sizeof(*d));
}

void rl_manifest_free(struct rl_manifest *m)
{
  descriptor_free(&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    descriptor_free(&m->layers[i]);
  for (size_t i = 0; i < m->n_manifests; i++)
    descriptor_free(&m->manifests[i]);
  free(m->layers);
  free(m->manifests);
  memset(m, 0, sizeof(*m));
}

/* ---- platforms ---- */

static const struct {
  const char *alias, *arch, *variant;
} arch_aliases[] = {
    {"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
    {"armhf", "arm", "v7"},    {"armel", "arm", "v6"},    {"i386", "386", NULL},
    {"i686", "386", NULL},
};

static const char *arch_canonical(const char *arch, const char **variant)
{
  for (size_t i = 0; i < RL_ARRAY_SIZE(arch_aliases); i++)
    if (strcmp(arch, arch_aliases[i].alias) == 0) {
      if (variant)
        *variant = arch_aliases[i].variant;
      return arch_aliases[i].arch;
    }
  return arch;
}

/* arm64 without a variant is v8; an empty variant is none. */
static const char *variant_canonical(const char *arch, const char *variant)
{
  if (strcmp(arch, "arm64") == 0 && (variant == NULL || *variant == '\0'))
    return "v8";
  return variant && *variant ? variant : NULL;
}

void rl_platform_host(const char **os, const char **arch, const char **variant)
{
  static const struct {
    const char *machine, *arch, *variant;
  } machines[] = {
      /* clang-format off */
      {"x86_64", "amd64", NULL},  {"amd64", "amd64", NULL},   {"aarch64", "arm64", "v8"},
      {"arm64", "arm64", "v8"},   {"armv8l", "arm", "v7"},    {"armv7l", "arm", "v7"},
      {"armv6l", "arm", "v6"},    {"armv5tel", "arm", "v5"},  {"i686", "386", NULL},
      {"i586", "386", NULL},      {"i486", "386", NULL},      {"i386", "386", NULL},
      {"ppc64le", "ppc64le", NULL}, {"ppc64", "ppc64", NULL}, {"s390x", "s390x", NULL},
      {"riscv64", "riscv64", NULL}, {"loongarch64", "loong64", NULL}, {"mips64", "mips64", NULL},
      /* clang-format on */
  };
  struct utsname u;
  *os = "linux";
  *arch = "unknown"; /* matches no index entry: the error then lists what there is */
  *variant = NULL;
  if (uname(&u) < 0)
    return;
  for (size_t i = 0; i < RL_ARRAY_SIZE(machines); i++)
    if (strcmp(u.machine, machines[i].machine) == 0) {
      *arch = machines[i].arch;
      *variant = machines[i].variant;
      return;
    }
}

static int platform_error(const char *s, rl_error_t *err, const char *why)
{
  cleanup_free char *v = shown(s, MAX_SHOWN);
  if (*v)
    rl_make_error(err, 0, "--platform `%s`: %s", v, why);
  else
    rl_make_error(err, 0, "--platform: %s", why);
  return rl_error_hint(err, "use OS/ARCH[/VARIANT], such as linux/amd64, linux/arm64 or "
                            "linux/arm/v7");
}

static char *lower_dup(const char *s, size_t n)
{
  char *r = rl_xstrndup(s, n);
  for (char *p = r; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return r;
}

int rl_platform_parse(const char *s, char **os, char **arch, char **variant, rl_error_t *err)
{
  static const char *const names[] = {"OS", "architecture", "variant"};
  *os = *arch = *variant = NULL;
  if (s == NULL || *s == '\0')
    return platform_error("", err, "empty");
  const char *part[3];
  size_t len[3], n = 0;
  for (const char *p = s;; p += len[n - 1] + 1) {
    if (n == 3)
      return platform_error(s, err, "too many parts (at most OS/ARCH/VARIANT)");
    part[n] = p;
    len[n] = strcspn(p, "/");
    if (p[len[n++]] == '\0')
      break;
  }
  if (n < 2)
    return platform_error(s, err, "no architecture");
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *why = len[i] ? rl_xasprintf("invalid character in the %s", names[i])
                                    : rl_xasprintf("empty %s", names[i]);
    if (!token_ok(part[i], len[i]))
      return platform_error(s, err, why);
  }
  cleanup_free char *a = lower_dup(part[1], len[1]);
  const char *alias_variant = NULL;
  *os = lower_dup(part[0], len[0]);
  *arch = rl_xstrdup(arch_canonical(a, &alias_variant));
  if (n == 3)
    *variant = lower_dup(part[2], len[2]);
  else if (alias_variant)
    *variant = rl_xstrdup(alias_variant);
  return 0;
}

static bool is_attestation(const struct rl_descriptor *d)
{
  return strcmp(d->os, "unknown") == 0 && strcmp(d->arch, "unknown") == 0;
}

/* Distinct platforms of the index, for the "no match" message. */
static char *platform_list(const struct rl_manifest *index)
{
  enum { SHOW = 16 };
  rl_strv_t seen = {0};
  size_t more = 0;
  for (size_t i = 0; i < index->n_manifests; i++) {
    const struct rl_descriptor *d = &index->manifests[i];
    if (d->os == NULL || is_attestation(d))
      continue;
    cleanup_free char *p = d->variant && *d->variant
                               ? rl_xasprintf("%s/%s/%s", d->os, d->arch, d->variant)
                               : rl_xasprintf("%s/%s", d->os, d->arch);
    bool dup = false;
    for (size_t k = 0; k < seen.n && !dup; k++)
      dup = strcmp(seen.v[k], p) == 0;
    if (!dup && seen.n < SHOW)
      rl_strv_push_owned(&seen, rl_steal_ptr(&p));
    else if (!dup)
      more++;
  }
  if (seen.n == 0)
    return rl_xstrdup("it lists no platforms");
  char *r = rl_xstrdup("it has ");
  for (size_t k = 0; k < seen.n; k++) {
    char *next = rl_xasprintf("%s%s%s", r, k ? ", " : "", seen.v[k]);
    free(r);
    r = next;
  }
  if (more) {
    char *next = rl_xasprintf("%s and %zu more", r, more);
    free(r);
    r = next;
  }
  rl_strv_free(&seen);
  return r;
}

/* 3: the preferred variant, 2: no variant, 1: another variant. */
static int variant_rank(const char *arch, const char *prefer, const char *entry_variant)
{
  const char *v = variant_canonical(arch, entry_variant);
  if (prefer && v && strcmp(v, prefer) == 0)
    return 3;
  return v == NULL ? 2 : 1;
}

int rl_manifest_select_for(const struct rl_manifest *index, const char *os, const char *arch,
                           const char *variant, const char *const host[3],
                           const struct rl_descriptor **out, rl_error_t *err)
{
  *out = NULL;
  if (index->kind != RL_MANIFEST_INDEX)
    return rl_make_error(err, 0, "select a platform: the manifest is not an index");
  if (os == NULL || arch == NULL)
    return rl_make_error(err, 0, "select a platform: no OS or architecture given");
  const char *want = arch_canonical(arch, NULL);
  const char *prefer = variant && *variant ? variant_canonical(want, variant) : NULL;
  /* amd64 variants (v2, v3) are CPU levels any amd64 image runs on; others must match. */
  bool strict = prefer && strcmp(want, "amd64") != 0;
  if (prefer == NULL && strcmp(os, host[0]) == 0 && strcmp(want, host[1]) == 0)
    prefer = variant_canonical(host[1], host[2]);
  int best = 0;
  for (size_t i = 0; i < index->n_manifests; i++) {
    const struct rl_descriptor *d = &index->manifests[i];
    if (d->os == NULL || is_attestation(d) || strcmp(d->os, os) != 0 ||
        strcmp(arch_canonical(d->arch, NULL), want) != 0)
      continue;
    int rank = variant_rank(want, prefer, d->variant);
    if ((strict && rank != 3) || rank <= best)
      continue;
    best = rank;
    *out = d;
  }
  if (*out)
    return 0;
  cleanup_free char *have = platform_list(index);
  rl_make_error(err, 0, "no %s/%s%s%s in index; %s", os, arch, variant && *variant ? "/" : "",
                variant && *variant ? variant : "", have);
  return rl_error_hint(err,
                       "choose one of the image's platforms with --platform OS/ARCH[/VARIANT]");
}

int rl_manifest_select(const struct rl_manifest *index, const char *os, const char *arch,
                       const char *variant, const struct rl_descriptor **out, rl_error_t *err)
{
  const char *host[3];
  rl_platform_host(&host[0], &host[1], &host[2]);
  return rl_manifest_select_for(index, os, arch, variant, host, out, err);
}

/* ---- image config ---- */

static int get_strv(const struct ctx *c, const json_t *obj, const char *path, const char *key,
                    bool env, char ***out)
{
  json_t *a = json_object_get(obj, key);
  if (a == NULL || json_is_null(a))
    return 0;
  if (!json_is_array(a))
    return ferr(c, path, key, "expected an array of strings or null, got %s", kind_of(a));
  cleanup_strv rl_strv_t v = {0};
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e)
  {
    cleanup_free char *at = rl_xasprintf("%s[%zu]", key, i);
    if (!json_is_string(e))
      return ferr(c, path, at, "expected a string, got %s", kind_of(e));
    const char *s = json_string_value(e);
    const char *eq = strchr(s, '=');
    if (env && (eq == NULL || eq == s)) {
      cleanup_free char *shown_s = shown(s, MAX_SHOWN);
      return ferr(c, path, at, "`%s` is not KEY=VALUE", shown_s);
    }
    rl_strv_push(&v, s);
  }
  /* An empty array is kept apart from an absent one: it clears the default. */
  *out = v.v ? rl_steal_ptr(&v.v) : rl_xcalloc(1, sizeof(char *));
  v.n = 0;
  return 0;
}

/* A string that docker writes as "" or null when unset: both become NULL. */
static int get_opt_str(const struct ctx *c, const json_t *obj, const char *path, const char *key,
                       char **out)
{
  const char *s;
  if (get_str(c, obj, path, key, false, &s) < 0)
    return -1;
  *out = s && *s ? rl_xstrdup(s) : NULL;
  return 0;
}

static int parse_exec_config(const struct ctx *c, const json_t *root, struct rl_image_config *ic)
{
  json_t *cfg = json_object_get(root, "config");
  if (cfg == NULL || json_is_null(cfg))
    return 0;
  if (!json_is_object(cfg))
    return ferr(c, "", "config", "expected an object, got %s", kind_of(cfg));
  if (get_strv(c, cfg, "config", "Entrypoint", false, &ic->entrypoint) < 0 ||
      get_strv(c, cfg, "config", "Cmd", false, &ic->cmd) < 0 ||
      get_strv(c, cfg, "config", "Env", true, &ic->env) < 0 ||
      get_opt_str(c, cfg, "config", "WorkingDir", &ic->working_dir) < 0 ||
      get_opt_str(c, cfg, "config", "User", &ic->user) < 0 ||
      get_opt_str(c, cfg, "config", "StopSignal", &ic->stop_signal) < 0)
    return -1;
  return 0;
}

static int parse_rootfs(const struct ctx *c, const json_t *root, struct rl_image_config *ic)
{
  json_t *fs = json_object_get(root, "rootfs");
  if (fs == NULL)
    return ferr(c, "", "rootfs", "missing");
  if (!json_is_object(fs))
    return ferr(c, "", "rootfs", "expected an object, got %s", kind_of(fs));
  const char *type;
  if (get_str(c, fs, "rootfs", "type", true, &type) < 0)
    return -1;
  if (strcmp(type, "layers") != 0) {
    cleanup_free char *v = shown(type, MAX_SHOWN);
    return ferr(c, "rootfs", "type", "`%s` is not supported (expected \"layers\")", v);
  }
  json_t *ids = json_object_get(fs, "diff_ids");
  if (ids == NULL)
    return ferr(c, "rootfs", "diff_ids", "missing");
  if (!json_is_array(ids))
    return ferr(c, "rootfs", "diff_ids", "expected an array, got %s", kind_of(ids));
  if (json_array_size(ids) > MAX_ENTRIES)
    return ferr(c, "rootfs", "diff_ids", "%zu entries, more than the %d rless accepts",
                json_array_size(ids), MAX_ENTRIES);
  if (get_strv(c, fs, "rootfs", "diff_ids", false, &ic->diff_ids) < 0)
    return -1;
  for (size_t i = 0; ic->diff_ids[i]; i++) {
    cleanup_free char *at = rl_xasprintf("diff_ids[%zu]", i);
    if (check_digest(c, "rootfs", at, ic->diff_ids[i]) < 0)
      return -1;
  }
  return 0;
}

int rl_image_config_parse(const char *body, size_t len, struct rl_image_config *c, rl_error_t *err)
{
  memset(c, 0, sizeof(*c));
  struct ctx x = {"image config", err};
  /* The same bound pull.c puts on the config blob. */
  json_auto_t *root = load_object(&x, body, len, 16 << 20);
  if (root == NULL)
    return -1;
  int r = parse_exec_config(&x, root, c);
  if (r == 0)
    r = get_opt_str(&x, root, "", "os", &c->os);
  if (r == 0)
    r = get_opt_str(&x, root, "", "architecture", &c->arch);
  if (r == 0)
    r = parse_rootfs(&x, root, c);
  if (r < 0)
    rl_image_config_free(c);
  return r;
}

static void strv_free(char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

void rl_image_config_free(struct rl_image_config *c)
{
  strv_free(c->entrypoint);
  strv_free(c->cmd);
  strv_free(c->env);
  strv_free(c->diff_ids);
  free(c->working_dir);
  free(c->user);
  free(c->stop_signal);
  free(c->os);
  free(c->arch);
  memset(c, 0, sizeof(*c));
}

bool rl_layer_media_type_ok(const char *media_type)
{
  return media_type && in_list(media_type, layer_types, RL_ARRAY_SIZE(layer_types));
}
