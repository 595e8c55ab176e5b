/* Registry credentials: containers auth.json and docker config.json.  Every
 * file is parsed whole with jansson; writes go through a temp file and a
 * rename so a crash never leaves a half-written file that would lose the
 * user's other logins. */
#include "rl_auth.h"
#include "rl_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

#define AUTH_FILE_MAX (4 << 20)

#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* Passwords should not linger in freed heap memory. */
static void free_secret(char *s)
{
  if (s) {
    OPENSSL_cleanse(s, strlen(s));
    free(s);
  }
}

static void free_secretp(char **s)
{
  free_secret(*s);
}
#define cleanup_secret __attribute__((cleanup(free_secretp)))

char *rl_auth_encode(const char *user, const char *pass)
{
  cleanup_secret char *plain = rl_xasprintf("%s:%s", user, pass);
  size_t n = strlen(plain);
  char *out = rl_xmalloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)plain, (int)n);
  return out;
}

int rl_auth_decode(const char *b64, char **user, char **pass, rl_error_t *err)
{
  size_t n = strlen(b64);
  if (n == 0 || n % 4 != 0 || n > 65536)
    return rl_make_error(err, 0, "credentials are not valid base64 (length %zu)", n);
  cleanup_secret char *plain = rl_xcalloc(1, n / 4 * 3 + 1);
  int got = EVP_DecodeBlock((unsigned char *)plain, (const unsigned char *)b64, (int)n);
  if (got < 0)
    return rl_make_error(err, 0, "credentials are not valid base64");
  /* EVP_DecodeBlock counts the zero bytes that padding stands for. */
  size_t pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
  size_t len = (size_t)got - pad;
  plain[len] = '\0';
  if (memchr(plain, '\0', len) != NULL)
    return rl_make_error(err, 0, "credentials contain a NUL byte");
  char *colon = strchr(plain, ':');
  if (colon == NULL || colon == plain)
    return rl_make_error(err, 0, "credentials are not in the form user:password");
  *user = rl_xstrndup(plain, (size_t)(colon - plain));
  *pass = rl_xstrdup(colon + 1);
  return 0;
}

char *rl_auth_normalize_key(const char *key)
{
  const char *s = key;
  size_t len;
  if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) {
    /* docker's legacy keys are URLs whose path ("/v1/") means nothing to us. */
    s = strstr(s, "//") + 2;
    len = strcspn(s, "/");
  } else {
    len = strlen(s);
    if (memchr(s, '/', len) != NULL)
      return NULL;
  }
  char *r = rl_xstrndup(s, len);
  for (char *p = r; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  if (strcmp(r, "index.docker.io") == 0 || strcmp(r, "registry-1.docker.io") == 0) {
    free(r);
    r = rl_xstrdup("docker.io");
  }
  return r;
}

static bool key_matches(const char *key, const char *norm_registry)
{
  cleanup_free char *k = rl_auth_normalize_key(key);
  return k != NULL && norm_registry != NULL && strcmp(k, norm_registry) == 0;
}

static const char *config_home(char **owned)
{
  const char *x = getenv("XDG_CONFIG_HOME");
  if (x && *x)
    return x;
  const char *home = getenv("HOME");
  if (home == NULL || *home == '\0')
    return NULL;
  *owned = rl_xasprintf("%s/.config", home);
  return *owned;
}

static char *config_auth_path(void)
{
  cleanup_free char *owned = NULL;
  const char *dir = config_home(&owned);
  return dir ? rl_xasprintf("%s/containers/auth.json", dir) : NULL;
}

char *rl_auth_default_path(const char *auth_file, rl_error_t *err)
{
  if (auth_file && *auth_file)
    return rl_xstrdup(auth_file);
  const char *env = getenv("REGISTRY_AUTH_FILE");
  if (env && *env)
    return rl_xstrdup(env);
  const char *run = getenv("XDG_RUNTIME_DIR");
  if (run && *run)
    return rl_xasprintf("%s/containers/auth.json", run);
  char *p = config_auth_path();
  if (p == NULL)
    rl_make_error(err, 0, "no place for registry credentials: HOME and XDG_RUNTIME_DIR are unset");
  return p;
}

static void search_paths(const char *auth_file, rl_strv_t *out)
{
  cleanup_free char *primary = rl_auth_default_path(auth_file, NULL);
  cleanup_free char *config = config_auth_path();
  const char *home = getenv("HOME");
  if (primary)
    rl_strv_push(out, primary);
  if (config && (primary == NULL || strcmp(config, primary) != 0))
    rl_strv_push(out, config);
  if (home && *home)
    rl_strv_push_owned(out, rl_xasprintf("%s/.docker/config.json", home));
}

/* 0 with *root NULL when the file does not exist. */
static int load_json(const char *path, json_t **root, rl_error_t *err)
{
  *root = NULL;
  size_t len = 0;
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, AUTH_FILE_MAX, &len);
  if (text == NULL && errno == ENOENT)
    return 0;
  if (text == NULL)
    return rl_make_error(err, errno, "read registry credentials `%s`", path);
  json_error_t je;
  *root = json_loadb(text, len, 0, &je);
  OPENSSL_cleanse(text, len);
  if (*root == NULL)
    return rl_make_error(err, 0, "registry credentials `%s`: invalid JSON (line %d: %s)", path,
                         je.line, je.text);
  if (!json_is_object(*root)) {
    json_decrefp(root);
    return rl_make_error(err, 0, "registry credentials `%s`: not a JSON object", path);
  }
  return 0;
}

static json_t *find_entry(json_t *auths, const char *registry)
{
  json_t *e = json_object_get(auths, registry);
  if (json_is_object(e))
    return e;
  cleanup_free char *norm = rl_auth_normalize_key(registry);
  const char *key;
  json_object_foreach(auths, key, e)
  {
    if (json_is_object(e) && key_matches(key, norm))
      return e;
  }
  return NULL;
}

static int lookup_file(const char *path, const char *registry, char **user, char **pass,
                       rl_error_t *err)
{
  cleanup_json json_t *root = NULL;
  if (load_json(path, &root, err) < 0)
    return -1;
  if (root == NULL)
    return 0;
  json_t *entry = find_entry(json_object_get(root, "auths"), registry);
  const char *b64 = json_string_value(json_object_get(entry, "auth"));
  if (b64 == NULL || *b64 == '\0')
    return 0;
  if (rl_auth_decode(b64, user, pass, err) < 0)
    return rl_error_wrap(err, "registry credentials `%s`, entry for %s", path, registry);
  rl_debug("credentials for %s from `%s`", registry, path);
  return 1;
}

int rl_auth_lookup(const char *auth_file, const char *registry, char **user, char **pass,
                   rl_error_t *err)
{
  cleanup_strv rl_strv_t paths = {0};
  search_paths(auth_file, &paths);
  for (size_t i = 0; i < paths.n; i++) {
    int r = lookup_file(paths.v[i], registry, user, pass, err);
    if (r != 0)
      return r;
  }
  return 0;
}

/* mkdir -p with 0700 for what it creates: credentials' directories are private. */
static int mkdir_private(const char *dir, rl_error_t *err)
{
  cleanup_free char *p = rl_xstrdup(dir);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
      return rl_make_error(err, errno, "create directory `%s` for registry credentials", p);
    *s = saved;
    if (saved == '\0')
      return 0;
  }
}

static int write_atomic(const char *path, json_t *root, rl_error_t *err)
{
  cleanup_free char *dir = rl_xstrdup(path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) {
    free(dir);
    dir = rl_xstrdup(".");
  } else {
    *slash = '\0';
    if (*dir != '\0' && mkdir_private(dir, err) < 0)
      return -1;
  }
  cleanup_free char *tmp = rl_xasprintf("%s.XXXXXX", path);
  cleanup_close int fd = mkstemp(tmp); /* mode 0600 */
  if (fd < 0)
    return rl_make_error(err, errno, "create a temporary file next to `%s`", path);
  cleanup_secret char *text = json_dumps(root, JSON_INDENT(1));
  int r = 0;
  if (text == NULL)
    r = rl_make_error(err, ENOMEM, "serialize registry credentials for `%s`", path);
  else if (rl_write_all(fd, text, strlen(text)) < 0 || rl_write_all(fd, "\n", 1) < 0 ||
           fsync(fd) < 0)
    r = rl_make_error(err, errno, "write `%s`", tmp);
  else if (rename(tmp, path) < 0)
    r = rl_make_error(err, errno, "rename `%s` to `%s`", tmp, path);
  if (r < 0)
    unlink(tmp);
  return r;
}

static json_t *auths_of(json_t *root, const char *path, rl_error_t *err)
{
  json_t *auths = json_object_get(root, "auths");
  if (auths == NULL) {
    auths = json_object();
    json_object_set_new(root, "auths", auths);
  }
  if (!json_is_object(auths)) {
    rl_make_error(err, 0, "registry credentials `%s`: \"auths\" is not an object", path);
    return NULL;
  }
  return auths;
}

int rl_auth_store(const char *auth_file, const char *registry, const char *user, const char *pass,
                  rl_error_t *err)
{
  if (*user == '\0' || strchr(user, ':') != NULL)
    return rl_make_error(err, 0, "user name `%s` for %s: must be non-empty and without ':'", user,
                         registry);
  cleanup_free char *path = rl_auth_default_path(auth_file, err);
  cleanup_json json_t *root = NULL;
  if (path == NULL || load_json(path, &root, err) < 0)
    return -1;
  if (root == NULL)
    root = json_object();
  json_t *auths = auths_of(root, path, err);
  if (auths == NULL)
    return -1;
  cleanup_secret char *b64 = rl_auth_encode(user, pass);
  json_object_set_new(auths, registry, json_pack("{s:s}", "auth", b64));
  return write_atomic(path, root, err);
}

int rl_auth_remove(const char *auth_file, const char *registry, rl_error_t *err)
{
  cleanup_free char *path = rl_auth_default_path(auth_file, err);
  cleanup_json json_t *root = NULL;
  if (path == NULL || load_json(path, &root, err) < 0)
    return -1;
  json_t *auths = root ? json_object_get(root, "auths") : NULL;
  if (!json_is_object(auths))
    return 0;
  cleanup_free char *norm = rl_auth_normalize_key(registry);
  cleanup_strv rl_strv_t doomed = {0};
  const char *key;
  json_t *v;
  json_object_foreach(auths, key, v)
  {
    if (strcmp(key, registry) == 0 || key_matches(key, norm))
      rl_strv_push(&doomed, key);
  }
  if (doomed.n == 0)
    return 0;
  for (size_t i = 0; i < doomed.n; i++)
    json_object_del(auths, doomed.v[i]);
  return write_atomic(path, root, err) < 0 ? -1 : 1;
}
