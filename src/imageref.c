/* Image references in docker's grammar (distribution/reference) and the
 * registries config that resolves short names.
 *
 * The registries config is one JSON object (docs/registries.md has the
 * details); every key is optional and any other key is an error:
 *
 *   {"unqualified-search-registries": ["127.0.0.1:5000", "docker.io"],
 *    "aliases": {"alpine": "127.0.0.1:5000/library/alpine:latest"},
 *    "registries": [{"prefix": "127.0.0.1:5000", "insecure": true,
 *                    "mirrors": ["mirror.example:5000"]}]}
 *
 *   unqualified-search-registries  registries tried in order for a short name
 *                                  (default ["docker.io"]; [] forbids short names)
 *   aliases                        short name -> fully qualified reference
 *   registries[].prefix            a registry host[:port]
 *   registries[].insecure          plain http instead of https (default false)
 *   registries[].mirrors           hosts tried before the registry itself
 *
 * It is read from the path given, else $RLESS_REGISTRIES_CONF, else
 * ${XDG_CONFIG_HOME:-~/.config}/rless/registries.json; a missing default file
 * means the built-in defaults. */
#include "rl_imageref.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#define TAG_MAX_LEN 128 /* docker's tag grammar: one char + up to 127 */
#define CONF_MAX    (1 << 20)

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static bool is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_lower_hex(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Each check returns NULL when the text is valid, else why it is not. */

/* domain-component: [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9] */
static char *host_problem(const char *h, size_t n)
{
  if (n == 0)
    return rl_xstrdup("the registry host is empty");
  if (h[0] == '[')
    return rl_xasprintf("registry `%.*s`: IPv6 addresses are not supported as registry hosts; "
                        "use a host name or an IPv4 address",
                        (int)n, h);
  for (size_t i = 0, start = 0; i <= n; i++) {
    if (i < n && h[i] != '.') {
      if (!is_alnum(h[i]) && h[i] != '-')
        return rl_xasprintf("registry host `%.*s` has the character `%c`, which host names "
                            "cannot contain",
                            (int)n, h, h[i]);
      continue;
    }
    if (i == start || h[start] == '-' || h[i - 1] == '-')
      return rl_xasprintf("registry host `%.*s` is not a valid host name (empty label, or a "
                          "label that starts or ends with `-`)",
                          (int)n, h);
    start = i + 1;
  }
  return NULL;
}

/* host[:port] */
static char *domain_problem(const char *d, size_t n)
{
  if (n > 0 && d[0] == '[')
    return host_problem(d, n);
  const char *colon = memchr(d, ':', n);
  size_t hn = colon ? (size_t)(colon - d) : n;
  char *why = host_problem(d, hn);
  if (why || colon == NULL)
    return why;
  const char *port = colon + 1;
  size_t pn = n - hn - 1;
  unsigned long v = 0;
  cleanup_free char *ps = rl_xstrndup(port, pn);
  if (pn == 0 || pn > 5 || rl_parse_ulong(ps, &v) < 0 || v == 0 || v > 65535)
    return rl_xasprintf("registry `%.*s` has an invalid port `%s` (a number from 1 to 65535)",
                        (int)n, d, ps);
  return NULL;
}

/* A run of separators between alphanumerics must be `.`, `_`, `__` or `-`+. */
static bool separator_ok(const char *s, size_t n)
{
  if (n == 1 && (*s == '.' || *s == '_'))
    return true;
  if (n == 2 && s[0] == '_' && s[1] == '_')
    return true;
  return strspn(s, "-") >= n;
}

static char *component_problem(const char *c, size_t n)
{
  if (n == 0)
    return rl_xstrdup("the repository has an empty path component (`//`, or `/` at an end)");
  if (!is_lower_alnum(c[0]) || !is_lower_alnum(c[n - 1]))
    return rl_xasprintf("path component `%.*s` must start and end with a lowercase letter or a "
                        "digit",
                        (int)n, c);
  for (size_t i = 0; i < n;) {
    if (is_lower_alnum(c[i])) {
      i++;
      continue;
    }
    size_t run = strspn(c + i, "._-");
    if (run == 0)
      return rl_xasprintf("path component `%.*s` has the character `%c`; repository names "
                          "allow a-z, 0-9 and the separators `.`, `_`, `__` and `-`",
                          (int)n, c, c[i]);
    if (i + run > n || !separator_ok(c + i, run))
      return rl_xasprintf("path component `%.*s` has the separator `%.*s`; use one of `.`, `_`, "
                          "`__` or dashes",
                          (int)n, c, (int)run, c + i);
    i += run;
  }
  return NULL;
}

static char *path_problem(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] >= 'A' && p[i] <= 'Z')
      return rl_xstrdup("repository names must be lowercase");
  for (size_t start = 0, i = 0; i <= n; i++) {
    if (i < n && p[i] != '/')
      continue;
    char *why = component_problem(p + start, i - start);
    if (why)
      return why;
    start = i + 1;
  }
  return NULL;
}

static char *tag_problem(const char *t)
{
  size_t n = strlen(t);
  if (n == 0)
    return rl_xstrdup("the tag after `:` is empty");
  if (n > TAG_MAX_LEN)
    return rl_xasprintf("the tag is %zu characters long (at most %d)", n, TAG_MAX_LEN);
  if (!is_alnum(t[0]) && t[0] != '_')
    return rl_xasprintf("tag `%s` must start with a letter, a digit or `_`", t);
  for (const char *p = t; *p; p++)
    if (!is_alnum(*p) && strchr("_.-", *p) == NULL)
      return rl_xasprintf("tag `%s` has the character `%c` (tags allow A-Z, a-z, 0-9, `_`, `.` "
                          "and `-`)",
                          t, *p);
  return NULL;
}

static char *digest_problem(const char *d)
{
  const char *colon = strchr(d, ':');
  if (*d == '\0')
    return rl_xstrdup("the digest after `@` is empty");
  if (colon == NULL)
    return rl_xasprintf("digest `%s` must be `sha256:` followed by 64 hex digits", d);
  if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6) != 0)
    return rl_xasprintf("digest algorithm `%.*s` is not supported (only sha256)", (int)(colon - d),
                        d);
  size_t n = strlen(colon + 1);
  bool hex = n == 64;
  for (const char *p = colon + 1; hex && *p; p++)
    hex = is_lower_hex(*p);
  if (!hex)
    return rl_xasprintf("digest `%s` must be `sha256:` followed by 64 lowercase hex digits "
                        "(got %zu characters)",
                        d, n);
  return NULL;
}

static bool is_image_id(const char *s, size_t n)
{
  if (n != 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_lower_hex(s[i]))
      return false;
  return true;
}

static int bad_ref(rl_error_t *err, const char *ref, char *why)
{
  rl_make_error(err, 0, "invalid image reference `%s`: %s", ref, why);
  free(why);
  return -1;
}

/* docker's rule: the first component names a registry when it has a '.' or
 * a ':' or is "localhost" and more components follow. */
static size_t domain_len(const char *name, size_t n)
{
  const char *slash = memchr(name, '/', n);
  if (slash == NULL)
    return 0;
  size_t d = (size_t)(slash - name);
  if (memchr(name, '.', d) || memchr(name, ':', d) ||
      (d == 9 && strncmp(name, "localhost", 9) == 0))
    return d;
  return 0;
}

static void set_names(struct rl_imageref *out, const char *name, size_t n, size_t dn)
{
  if (dn == 0) {
    out->repository = rl_xstrndup(name, n);
    return;
  }
  out->registry = rl_xstrndup(name, dn);
  if (strcmp(out->registry, "index.docker.io") == 0) {
    free(out->registry);
    out->registry = rl_xstrdup("docker.io");
  }
  const char *path = name + dn + 1;
  size_t pn = n - dn - 1;
  if (strcmp(out->registry, "docker.io") == 0 && memchr(path, '/', pn) == NULL)
    out->repository = rl_xasprintf("library/%.*s", (int)pn, path);
  else
    out->repository = rl_xstrndup(path, pn);
}

size_t rl_imageref_name_len(const struct rl_imageref *r)
{
  return (r->registry ? strlen(r->registry) + 1 : 0) + strlen(r->repository);
}

/* Splits s into name, tag and digest; every part is checked. */
static int parse_name(const char *s, struct rl_imageref *out, rl_error_t *err)
{
  const char *at = strchr(s, '@');
  size_t len = at ? (size_t)(at - s) : strlen(s);
  const char *slash = memrchr(s, '/', len);
  const char *last = slash ? slash + 1 : s;
  const char *colon = memchr(last, ':', len - (size_t)(last - s));
  size_t n = colon ? (size_t)(colon - s) : len;
  if (n == 0)
    return bad_ref(err, s, rl_xstrdup("the repository name is missing"));
  if (n > RL_IMAGEREF_NAME_MAX)
    return bad_ref(
        err, s,
        rl_xasprintf("the name is %zu characters long (at most %d)", n, RL_IMAGEREF_NAME_MAX));
  size_t dn = domain_len(s, n);
  char *why = dn ? domain_problem(s, dn) : NULL;
  if (why == NULL)
    why = path_problem(s + (dn ? dn + 1 : 0), n - (dn ? dn + 1 : 0));
  if (why == NULL && dn == 0 && is_image_id(s, n))
    why = rl_xstrdup("64 hex digits name an image id, not a repository (no such image here?)");
  cleanup_free char *tag = colon ? rl_xstrndup(colon + 1, len - n - 1) : NULL;
  if (why == NULL && tag)
    why = tag_problem(tag);
  if (why == NULL && at)
    why = digest_problem(at + 1);
  if (why)
    return bad_ref(err, s, why);
  set_names(out, s, n, dn);
  if (rl_imageref_name_len(out) > RL_IMAGEREF_NAME_MAX) {
    why = rl_xasprintf("the name is %zu characters long with docker.io's library/ (at most %d)",
                       rl_imageref_name_len(out), RL_IMAGEREF_NAME_MAX);
    rl_imageref_free(out);
    return bad_ref(err, s, why);
  }
  out->digest = at ? rl_xstrdup(at + 1) : NULL;
  out->tag = tag ? rl_steal_ptr(&tag) : at ? NULL : rl_xstrdup("latest");
  return 0;
}

int rl_imageref_parse(const char *s, struct rl_imageref *out, rl_error_t *err)
{
  *out = (struct rl_imageref){0};
  if (s == NULL || *s == '\0')
    return rl_make_error(err, 0, "invalid image reference ``: the name is empty");
  return parse_name(s, out, err);
}

void rl_imageref_free(struct rl_imageref *r)
{
  if (r == NULL)
    return;
  free(r->registry);
  free(r->repository);
  free(r->tag);
  free(r->digest);
  *r = (struct rl_imageref){0};
}

char *rl_imageref_string(const struct rl_imageref *r)
{
  return rl_xasprintf("%s%s%s%s%s%s%s", r->registry ? r->registry : "", r->registry ? "/" : "",
                      r->repository, r->tag ? ":" : "", r->tag ? r->tag : "", r->digest ? "@" : "",
                      r->digest ? r->digest : "");
}

int rl_imageref_parse_registry(const char *s, char **out, rl_error_t *err)
{
  *out = NULL;
  cleanup_free char *why = NULL;
  if (s == NULL || *s == '\0')
    why = rl_xstrdup("the name is empty");
  else if (strlen(s) > RL_IMAGEREF_NAME_MAX)
    why = rl_xasprintf("longer than %d characters", RL_IMAGEREF_NAME_MAX);
  else if (strchr(s, '/'))
    why = rl_xstrdup("a registry is a host[:port], without a scheme or a path");
  else
    why = domain_problem(s, strlen(s));
  if (why) {
    rl_make_error(err, 0, "invalid registry `%s`: %s", s ? s : "", why);
    if (s && strstr(s, "://"))
      rl_error_hint(err, "give the host alone, e.g. `quay.io` or `127.0.0.1:5000`");
    return -1;
  }
  *out = rl_xstrdup(strcmp(s, "index.docker.io") == 0 ? "docker.io" : s);
  return 0;
}

/* ---- the registries config ---- */

static void strv_free(char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/* The vector's array, never NULL: consumers iterate without a NULL check. */
static char **strv_take(rl_strv_t *s)
{
  char **v = s->v ? s->v : rl_xcalloc(1, sizeof(char *));
  *s = (rl_strv_t){0};
  return v;
}

void rl_registries_conf_free(struct rl_registries_conf *c)
{
  if (c == NULL)
    return;
  strv_free(c->search);
  strv_free(c->alias_names);
  strv_free(c->alias_targets);
  for (size_t i = 0; i < c->n_registries; i++) {
    free(c->registries[i].prefix);
    strv_free(c->registries[i].mirrors);
  }
  free(c->registries);
  *c = (struct rl_registries_conf){0};
}

/* What the messages say about where the file came from. */
struct conf_src {
  const char *file;
  const char *origin; /* "", " (from RLESS_REGISTRIES_CONF)" */
};

static int conf_error(rl_error_t *err, const struct conf_src *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int conf_error(rl_error_t *err, const struct conf_src *src, const char *fmt, ...)
{
  va_list ap;
  char *what = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&what, fmt, ap);
  va_end(ap);
  if (n < 0)
    abort(); /* only without memory */
  rl_make_error(err, 0, "registries config `%s`%s: %s", src->file, src->origin, what);
  free(what);
  return -1;
}

/* An array of registry hosts, folded to their canonical names. */
static int host_list(const struct conf_src *src, const char *key, json_t *v, rl_strv_t *out,
                     rl_error_t *err)
{
  if (!json_is_array(v))
    return conf_error(err, src, "`%s` must be an array of registry names (strings)", key);
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e)
  {
    const char *s = json_string_value(e);
    if (s == NULL)
      return conf_error(err, src, "`%s[%zu]` must be a string (a registry host[:port])", key, i);
    char *host = NULL;
    rl_error_t herr = NULL;
    if (rl_imageref_parse_registry(s, &host, &herr) < 0) {
      conf_error(err, src, "`%s[%zu]`: %s", key, i, herr->msg);
      rl_error_free(&herr);
      return -1;
    }
    rl_strv_push_owned(out, host);
  }
  return 0;
}

static int alias_entry(const struct conf_src *src, const char *name, json_t *v, rl_error_t *err)
{
  const char *target = json_string_value(v);
  if (target == NULL)
    return conf_error(err, src, "`aliases.%s` must be a string (a fully qualified reference)",
                      name);
  struct rl_imageref r;
  rl_error_t perr = NULL;
  int ret = 0;
  if (rl_imageref_parse(name, &r, &perr) < 0)
    ret = conf_error(err, src, "alias name: %s", perr->msg);
  else if (r.registry)
    ret = conf_error(err, src, "alias `%s`: alias names are short names, without a registry", name);
  rl_imageref_free(&r);
  if (ret == 0 && rl_imageref_parse(target, &r, &perr) < 0)
    ret = conf_error(err, src, "alias `%s`: %s", name, perr->msg);
  else if (ret == 0 && r.registry == NULL)
    ret = conf_error(err, src,
                     "alias `%s`: target `%s` must be fully qualified "
                     "(registry/repository[:tag], e.g. docker.io/library/%s)",
                     name, target, r.repository);
  rl_imageref_free(&r);
  rl_error_free(&perr);
  return ret;
}

static int parse_aliases(const struct conf_src *src, json_t *v, struct rl_registries_conf *c,
                         rl_error_t *err)
{
  if (!json_is_object(v))
    return conf_error(err, src, "`aliases` must be an object of short name -> reference");
  cleanup_strv rl_strv_t names = {0}, targets = {0};
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e)
  {
    if (alias_entry(src, k, e, err) < 0)
      return -1;
    rl_strv_push(&names, k);
    rl_strv_push(&targets, json_string_value(e));
  }
  c->alias_names = strv_take(&names);
  c->alias_targets = strv_take(&targets);
  return 0;
}

static int registry_field(const struct conf_src *src, size_t i, const char *k, json_t *e,
                          struct rl_registry_conf *rc, rl_error_t *err)
{
  if (strcmp(k, "prefix") == 0) {
    const char *s = json_string_value(e);
    if (s == NULL)
      return conf_error(err, src, "`registries[%zu].prefix` must be a string (host[:port])", i);
    rl_error_t herr = NULL;
    if (rl_imageref_parse_registry(s, &rc->prefix, &herr) < 0) {
      conf_error(err, src, "`registries[%zu].prefix`: %s", i, herr->msg);
      rl_error_free(&herr);
      return -1;
    }
  } else if (strcmp(k, "insecure") == 0) {
    if (!json_is_boolean(e))
      return conf_error(err, src, "`registries[%zu].insecure` must be true or false", i);
    rc->insecure = json_is_true(e);
  } else if (strcmp(k, "mirrors") == 0) {
    cleanup_strv rl_strv_t m = {0};
    cleanup_free char *key = rl_xasprintf("registries[%zu].mirrors", i);
    if (host_list(src, key, e, &m, err) < 0)
      return -1;
    rc->mirrors = strv_take(&m);
  } else {
    return conf_error(err, src,
                      "unknown key `registries[%zu].%s` (known: prefix, insecure, mirrors)", i, k);
  }
  return 0;
}

static int registry_entry(const struct conf_src *src, size_t i, json_t *v,
                          struct rl_registries_conf *c, rl_error_t *err)
{
  if (!json_is_object(v))
    return conf_error(err, src, "`registries[%zu]` must be an object with a `prefix`", i);
  /* Filled in place so a failure leaves it to rl_registries_conf_free. */
  struct rl_registry_conf *rc = &c->registries[c->n_registries++];
  *rc = (struct rl_registry_conf){0};
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e)
  {
    if (registry_field(src, i, k, e, rc, err) < 0)
      return -1;
  }
  if (rc->prefix == NULL)
    return conf_error(err, src, "`registries[%zu]` has no `prefix`", i);
  if (rc->mirrors == NULL)
    rc->mirrors = rl_xcalloc(1, sizeof(char *));
  for (size_t j = 0; j + 1 < c->n_registries; j++)
    if (strcmp(c->registries[j].prefix, rc->prefix) == 0)
      return conf_error(err, src, "`registries[%zu]`: prefix `%s` is already in registries[%zu]", i,
                        rc->prefix, j);
  return 0;
}

static int parse_registries(const struct conf_src *src, json_t *v, struct rl_registries_conf *c,
                            rl_error_t *err)
{
  if (!json_is_array(v))
    return conf_error(err, src, "`registries` must be an array of objects");
  c->registries = rl_xcalloc(json_array_size(v) + 1, sizeof(*c->registries));
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e)
  {
    if (registry_entry(src, i, e, c, err) < 0)
      return -1;
  }
  return 0;
}

static int parse_root(const struct conf_src *src, json_t *root, struct rl_registries_conf *c,
                      rl_error_t *err)
{
  if (!json_is_object(root))
    return conf_error(err, src, "the file must hold one JSON object");
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v)
  {
    int r;
    if (strcmp(k, "unqualified-search-registries") == 0) {
      cleanup_strv rl_strv_t s = {0};
      r = host_list(src, k, v, &s, err);
      if (r == 0)
        c->search = strv_take(&s);
    } else if (strcmp(k, "aliases") == 0) {
      r = parse_aliases(src, v, c, err);
    } else if (strcmp(k, "registries") == 0) {
      r = parse_registries(src, v, c, err);
    } else {
      r = conf_error(err, src,
                     "unknown key `%s` (known: unqualified-search-registries, aliases, "
                     "registries)",
                     k);
    }
    if (r < 0)
      return -1;
  }
  return 0;
}

static void fill_defaults(struct rl_registries_conf *c)
{
  if (c->search == NULL) {
    c->search = rl_xcalloc(2, sizeof(char *));
    c->search[0] = rl_xstrdup("docker.io");
  }
  if (c->alias_names == NULL) {
    c->alias_names = rl_xcalloc(1, sizeof(char *));
    c->alias_targets = rl_xcalloc(1, sizeof(char *));
  }
}

static char *default_conf_path(void)
{
  const char *x = getenv("XDG_CONFIG_HOME");
  if (x && *x)
    return rl_xasprintf("%s/rless/registries.json", x);
  const char *home = getenv("HOME");
  return home && *home ? rl_xasprintf("%s/.config/rless/registries.json", home) : NULL;
}

static int load_file(const struct conf_src *src, bool must_exist, struct rl_registries_conf *c,
                     rl_error_t *err)
{
  size_t len = 0;
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, src->file, CONF_MAX, &len);
  if (text == NULL && errno == ENOENT && !must_exist)
    return 0;
  if (text == NULL) {
    int e = errno;
    rl_make_error(err, e, "read registries config `%s`%s", src->file, src->origin);
    if (e == ENOENT)
      rl_error_hint(err, "create the file (see docs/registries.md) or name an existing one");
    return -1;
  }
  json_error_t je;
  cleanup_json json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL)
    return conf_error(err, src, "invalid JSON at line %d, column %d: %s", je.line, je.column,
                      je.text);
  return parse_root(src, root, c, err);
}

int rl_registries_conf_load(const char *path, struct rl_registries_conf *c, rl_error_t *err)
{
  *c = (struct rl_registries_conf){0};
  struct conf_src src = {.file = path, .origin = ""};
  cleanup_free char *def = NULL;
  bool must_exist = true;
  if (src.file == NULL || *src.file == '\0') {
    src.file = getenv("RLESS_REGISTRIES_CONF");
    src.origin = " (from RLESS_REGISTRIES_CONF)";
  }
  if (src.file == NULL || *src.file == '\0') {
    src.file = def = default_conf_path();
    src.origin = "";
    must_exist = false;
  }
  if (src.file && load_file(&src, must_exist, c, err) < 0) {
    rl_registries_conf_free(c);
    return -1;
  }
  fill_defaults(c);
  return 0;
}

const struct rl_registry_conf *rl_registries_find(const struct rl_registries_conf *c,
                                                  const char *registry)
{
  for (size_t i = 0; c && registry && i < c->n_registries; i++)
    if (strcmp(c->registries[i].prefix, registry) == 0)
      return &c->registries[i];
  return NULL;
}

/* ---- resolution ---- */

static const char *find_alias(const struct rl_registries_conf *c, const char *name)
{
  for (size_t i = 0; c->alias_names && c->alias_names[i]; i++)
    if (strcmp(c->alias_names[i], name) == 0)
      return c->alias_targets[i];
  return NULL;
}

/* The typed string, then without ":latest"; then the bare repository, whose
 * tag or digest (other than latest) then replaces the target's. */
static int resolve_alias(const char *name, const struct rl_imageref *ref,
                         const struct rl_registries_conf *c, struct rl_imageref *out,
                         rl_error_t *err)
{
  size_t n = strlen(name);
  const char *target = find_alias(c, name);
  if (target == NULL && n > 7 && strcmp(name + n - 7, ":latest") == 0) {
    cleanup_free char *bare = rl_xstrndup(name, n - 7);
    target = find_alias(c, bare);
  }
  bool override = false;
  if (target == NULL && (target = find_alias(c, ref->repository)) != NULL)
    override = true;
  if (target == NULL)
    return 0;
  if (rl_imageref_parse(target, out, err) < 0)
    return rl_error_wrap(err, "alias `%s`", name);
  if (override) {
    free(out->tag);
    free(out->digest);
    out->tag = ref->tag ? rl_xstrdup(ref->tag) : NULL;
    out->digest = ref->digest ? rl_xstrdup(ref->digest) : NULL;
  }
  rl_debug("`%s` is an alias of %s", name, target);
  return 1;
}

static void search_candidates(const struct rl_imageref *ref, char *const *search,
                              struct rl_imageref *out)
{
  for (size_t i = 0; search[i]; i++) {
    bool library = strcmp(search[i], "docker.io") == 0 && strchr(ref->repository, '/') == NULL;
    out[i] = (struct rl_imageref){
        .registry = rl_xstrdup(search[i]),
        .repository =
            library ? rl_xasprintf("library/%s", ref->repository) : rl_xstrdup(ref->repository),
        .tag = ref->tag ? rl_xstrdup(ref->tag) : NULL,
        .digest = ref->digest ? rl_xstrdup(ref->digest) : NULL,
    };
  }
}

int rl_imageref_resolve(const char *name, const struct rl_registries_conf *c,
                        struct rl_imageref **out, size_t *n, rl_error_t *err)
{
  *out = NULL;
  *n = 0;
  struct rl_imageref ref;
  if (rl_imageref_parse(name, &ref, err) < 0)
    return -1;
  struct rl_imageref *list = NULL;
  int r = 0;
  if (ref.registry) {
    list = rl_xcalloc(1, sizeof(*list));
    list[0] = ref;
    ref = (struct rl_imageref){0};
    *n = 1;
  } else if (c->alias_names && c->alias_names[0]) {
    list = rl_xcalloc(1, sizeof(*list));
    r = resolve_alias(name, &ref, c, &list[0], err);
    *n = r > 0 ? 1 : 0;
  }
  size_t ns = 0;
  while (r == 0 && *n == 0 && c->search && c->search[ns])
    ns++;
  if (r == 0 && *n == 0 && ns == 0) {
    rl_make_error(err, 0, "short name `%s`: no unqualified-search-registries are configured", name);
    r = rl_error_hint(err,
                      "use a fully qualified name (e.g. docker.io/library/%s), or add "
                      "\"unqualified-search-registries\": [\"docker.io\"] to the registries "
                      "config (see docs/registries.md)",
                      ref.repository);
  } else if (r == 0 && *n == 0) {
    free(list);
    list = rl_xcalloc(ns, sizeof(*list));
    search_candidates(&ref, c->search, list);
    *n = ns;
    for (size_t i = 0; i < ns && r == 0; i++)
      if (rl_imageref_name_len(&list[i]) > RL_IMAGEREF_NAME_MAX)
        r = rl_make_error(err, 0,
                          "short name `%s`: `%s/%s` would be %zu characters long (at most %d)",
                          name, list[i].registry, list[i].repository,
                          rl_imageref_name_len(&list[i]), RL_IMAGEREF_NAME_MAX);
    for (size_t i = 0; i < ns && r < 0; i++)
      rl_imageref_free(&list[i]);
  }
  rl_imageref_free(&ref);
  if (r < 0) {
    free(list);
    *n = 0;
    return -1;
  }
  *out = list;
  return 0;
}
