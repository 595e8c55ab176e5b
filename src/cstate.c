/* Container records and names: container.json written once at create, the
 * name claimed by a symlink under names/, and a container found by id,
 * name or id prefix.  The live half (state, exit, wait) is cstate_live.c. */
#include "cstate_int.h"
#include "rl_json.h"
#include "rl_options.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define NAME_TRIES  32
#define RECORD_MAX  (4 << 20)
#define CONTAINERS  "containers"
#define NAMES       "names"
#define RECORD_FILE "container.json"

bool rl_cstate_id_valid(const char *id)
{
  size_t n = strspn(id, "0123456789abcdef");
  return n == 64 && id[64] == '\0';
}

void rl_cstate_free(struct rl_cstate *c)
{
  free(c->name);
  free(c->image);
  free(c->image_name);
  free(c->manifest);
  free(c->rootfs);
  rl_strv_free(&c->layers);
  rl_strv_free(&c->command);
  free(c->created);
  free(c->stop_signal);
  json_decref(c->config);
  free(c->started_at);
  free(c->finished_at);
  memset(c, 0, sizeof(*c));
}

int rl_cstate_json_write_at(int dirfd, const char *shown, const char *name, json_t *j,
                            rl_error_t *err)
{
  cleanup_free char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  cleanup_free char *tmp = rl_xasprintf(".%s.tmp-%d", name, (int)getpid());
  if (text == NULL)
    return rl_make_error(err, ENOMEM, "encode `%s/%s`", shown, name);
  cleanup_close int fd =
      openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return rl_make_error(err, errno, "create `%s/%s`", shown, tmp);
  if (rl_write_all(fd, text, strlen(text)) < 0 || rl_write_all(fd, "\n", 1) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    return rl_make_error(err, e, "write `%s/%s`", shown, tmp);
  }
  if (renameat(dirfd, tmp, dirfd, name) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    return rl_make_error(err, e, "rename `%s/%s` to `%s`", shown, tmp, name);
  }
  return 0;
}

json_t *rl_cstate_json_read_at(int dirfd, const char *shown, const char *name, rl_error_t *err)
{
  size_t len = 0;
  cleanup_free char *data = rl_read_file_at(dirfd, name, RECORD_MAX, &len);
  if (data == NULL) {
    if (errno != ENOENT)
      rl_make_error(err, errno, "read `%s/%s`", shown, name);
    return NULL;
  }
  json_error_t je;
  json_t *j = json_loadb(data, len, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    rl_make_error(err, 0, "`%s/%s` is not a JSON object: %s", shown, name, je.text);
    errno = EINVAL;
    return NULL;
  }
  return j;
}

static json_t *str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

static json_t *record_json(const struct rl_cstate *c)
{
  json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b, s:o}", "id", c->id,
                        "name", c->name, "image", str_or_null(c->image), "image_name",
                        str_or_null(c->image_name), "manifest", str_or_null(c->manifest), "rootfs",
                        str_or_null(c->rootfs), "layers", rl_strv_to_json(&c->layers), "command",
                        rl_strv_to_json(&c->command), "created", c->created, "auto_remove",
                        c->auto_remove, "stop_signal", str_or_null(c->stop_signal));
  json_object_set_new(j, "config", c->config ? json_incref(c->config) : json_object());
  return j;
}

static char *jstr(json_t *o, const char *key)
{
  const char *v = json_string_value(json_object_get(o, key));
  return v ? rl_xstrdup(v) : NULL;
}

static void jstrv(json_t *o, const char *key, rl_strv_t *out)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(o, key), i, v)
  {
    if (json_is_string(v))
      rl_strv_push(out, json_string_value(v));
  }
}

static void record_parse(json_t *j, struct rl_cstate *c)
{
  c->name = jstr(j, "name");
  if (c->name == NULL)
    c->name = rl_xstrdup("");
  c->image = jstr(j, "image");
  c->image_name = jstr(j, "image_name");
  c->manifest = jstr(j, "manifest");
  c->rootfs = jstr(j, "rootfs");
  jstrv(j, "layers", &c->layers);
  jstrv(j, "command", &c->command);
  c->created = jstr(j, "created");
  if (c->created == NULL)
    c->created = rl_xstrdup("1970-01-01T00:00:00Z");
  c->auto_remove = json_is_true(json_object_get(j, "auto_remove"));
  c->stop_signal = jstr(j, "stop_signal");
  json_t *cfg = json_object_get(j, "config");
  c->config = json_is_object(cfg) ? json_incref(cfg) : json_object();
}

/* ---- Names ---- */

static int open_subdir(const struct rl_store *s, const char *name, bool create, rl_error_t *err)
{
  if (create && mkdirat(s->rootfd, name, 0700) < 0 && errno != EEXIST)
    return rl_make_error(err, errno, "create `%s/%s`", s->root, name);
  int fd = openat(s->rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && (create || errno != ENOENT))
    return rl_make_error(err, errno, "open `%s/%s`", s->root, name);
  return fd;
}

/* The id names/<name> points to, in target[65]; 0, or -1 with errno. */
static int read_claim(int namesfd, const char *name, char target[65])
{
  char buf[80];
  ssize_t n = readlinkat(namesfd, name, buf, sizeof(buf) - 1);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  if (!rl_cstate_id_valid(buf)) {
    errno = EINVAL;
    return -1;
  }
  memcpy(target, buf, 65);
  return 0;
}

static bool container_dir_exists(const struct rl_store *s, const char *id)
{
  cleanup_free char *rel = rl_xasprintf(CONTAINERS "/%s", id);
  struct stat st;
  return fstatat(s->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* 0 claimed; 1 taken (holder in `holder`); -1 error. */
static int claim_one(const struct rl_store *s, int namesfd, const char *name, const char *id,
                     char holder[65], rl_error_t *err)
{
  for (int attempt = 0; attempt < 2; attempt++) {
    if (symlinkat(id, namesfd, name) == 0)
      return 0;
    if (errno != EEXIST)
      return rl_make_error(err, errno, "claim the name `%s/" NAMES "/%s`", s->root, name);
    bool valid = read_claim(namesfd, name, holder) == 0;
    if (valid && container_dir_exists(s, holder))
      return 1;
    /* Stale (its container is gone): safe to replace under the store lock. */
    rl_debug("name `%s` pointed to a removed container: reclaiming it", name);
    if (unlinkat(namesfd, name, 0) < 0 && errno != ENOENT)
      return rl_make_error(err, errno, "remove the stale name `%s/" NAMES "/%s`", s->root, name);
  }
  return rl_make_error(err, EEXIST, "claim the name `%s/" NAMES "/%s`", s->root, name);
}

static int claim_name(struct rl_store *s, int namesfd, struct rl_cstate *c, rl_error_t *err)
{
  char holder[65] = "";
  if (c->name && *c->name) {
    if (!rl_container_name_valid(c->name))
      return rl_make_error(err, 0, "invalid container name `%s`", c->name);
    int r = claim_one(s, namesfd, c->name, c->id, holder, err);
    if (r <= 0)
      return r;
    rl_make_error(err, 0, "name \"%s\" is already in use by container %.12s", c->name, holder);
    return rl_error_hint(err, "remove that container (`rless rm %s`) or choose another --name",
                         c->name);
  }
  for (int i = 0; i < NAME_TRIES; i++) {
    cleanup_free char *name = rl_cstate_random_name();
    int r = claim_one(s, namesfd, name, c->id, holder, err);
    if (r < 0)
      return -1;
    if (r == 0) {
      free(c->name);
      c->name = rl_steal_ptr(&name);
      return 0;
    }
  }
  return rl_make_error(err, EEXIST, "no free generated container name after %d tries", NAME_TRIES);
}

static void release_name(int namesfd, const struct rl_cstate *c)
{
  char target[65];
  if (c->name && *c->name && read_claim(namesfd, c->name, target) == 0 &&
      strcmp(target, c->id) == 0)
    unlinkat(namesfd, c->name, 0);
}

int rl_cstate_create(struct rl_store *s, struct rl_cstate *c, rl_error_t *err)
{
  if (!rl_cstate_id_valid(c->id))
    return rl_make_error(err, EINVAL, "create container: malformed id `%s`", c->id);
  cleanup_free char *dir = rl_xasprintf("%s/" CONTAINERS "/%s", s->root, c->id);
  cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    return rl_make_error(err, errno, "open the container dir `%s`", dir);
  cleanup_close int namesfd = open_subdir(s, NAMES, true, err);
  if (namesfd < 0 || claim_name(s, namesfd, c, err) < 0)
    return -1;
  if (c->created == NULL)
    c->created = rl_rfc3339_nano_now();
  json_t *j = record_json(c);
  int r = rl_cstate_json_write_at(dirfd, dir, RECORD_FILE, j, err);
  json_decref(j);
  cleanup_free char *run = r == 0 ? rl_cstate_run_dir(s, c->id, err) : NULL;
  if (run == NULL) {
    unlinkat(dirfd, RECORD_FILE, 0);
    release_name(namesfd, c);
    return -1;
  }
  return 0;
}

int rl_cstate_save(const struct rl_store *s, const struct rl_cstate *c, rl_error_t *err)
{
  cleanup_free char *dir = rl_xasprintf("%s/" CONTAINERS "/%s", s->root, c->id);
  cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    return rl_make_error(err, errno, "open the container dir `%s`", dir);
  json_t *j = record_json(c);
  int r = rl_cstate_json_write_at(dirfd, dir, RECORD_FILE, j, err);
  json_decref(j);
  return r;
}

/* ---- Finding ---- */

static void no_such(rl_error_t *err, const char *ref)
{
  rl_make_error(err, 0, "No such container: %s", ref);
  rl_error_set_exit(err, RL_EXIT_NO_SUCH);
}

static int by_name(const struct rl_store *s, const char *name, char id[65])
{
  if (!rl_container_name_valid(name))
    return 0;
  cleanup_close int namesfd = openat(s->rootfd, NAMES, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (namesfd < 0 || read_claim(namesfd, name, id) < 0)
    return 0;
  return container_dir_exists(s, id) ? 1 : 0;
}

/* A unique id prefix; 1 found, 0 none, -1 ambiguous. */
static int by_prefix(const struct rl_store *s, const char *ref, char id[65], rl_error_t *err)
{
  cleanup_strv rl_strv_t ids = {0};
  size_t len = strlen(ref);
  if (len == 0 || len > 64 || strspn(ref, "0123456789abcdef") != len ||
      rl_cstate_list(s, &ids, err) < 0)
    return *err ? -1 : 0;
  cleanup_free char *found = NULL;
  size_t n = 0;
  for (size_t i = 0; i < ids.n; i++) {
    if (strncmp(ids.v[i], ref, len) != 0)
      continue;
    char *next = rl_xasprintf("%s%s%.12s", found ? found : "", found ? ", " : "", ids.v[i]);
    free(found);
    found = next;
    if (n++ == 0)
      memcpy(id, ids.v[i], 65);
  }
  if (n <= 1)
    return (int)n;
  rl_make_error(err, 0, "container id prefix `%s` is ambiguous: it matches %s", ref, found);
  rl_error_set_exit(err, RL_EXIT_NO_SUCH);
  return rl_error_hint(err, "type more of the id, or use the container's name");
}

int rl_cstate_find(const struct rl_store *s, const char *ref, char id[65], rl_error_t *err)
{
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  if (rl_cstate_id_valid(ref) && container_dir_exists(s, ref)) {
    memcpy(id, ref, 65);
    return 0;
  }
  if (by_name(s, name, id) > 0)
    return 0;
  int r = by_prefix(s, ref, id, err);
  if (r < 0)
    return -1;
  if (r == 0) {
    no_such(err, ref);
    return -1;
  }
  return 0;
}

/* ---- Listing and loading ---- */

int rl_cstate_list(const struct rl_store *s, rl_strv_t *ids, rl_error_t *err)
{
  int fd = open_subdir(s, CONTAINERS, false, err);
  if (fd < 0)
    return *err ? -1 : 0;
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return rl_make_error(err, errno, "read `%s/" CONTAINERS "`", s->root);
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    cleanup_free char *rel = rl_xasprintf("%s/" RECORD_FILE, e->d_name);
    if (rl_cstate_id_valid(e->d_name) && faccessat(dirfd(d), rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
      rl_strv_push(ids, e->d_name);
  }
  closedir(d);
  return 0;
}

int rl_cstate_load(const struct rl_store *s, const char *id, struct rl_cstate *c, rl_error_t *err)
{
  memset(c, 0, sizeof(*c));
  if (!rl_cstate_id_valid(id))
    return rl_make_error(err, EINVAL, "load container: malformed id `%s`", id);
  memcpy(c->id, id, 65);
  cleanup_free char *dir = rl_xasprintf("%s/" CONTAINERS "/%s", s->root, id);
  cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  json_t *j = dirfd < 0 ? NULL : rl_cstate_json_read_at(dirfd, dir, RECORD_FILE, err);
  if (j == NULL) {
    if (*err == NULL && errno == ENOENT)
      no_such(err, id);
    else if (*err == NULL)
      rl_make_error(err, errno, "open the container dir `%s`", dir);
    return -1;
  }
  record_parse(j, c);
  json_decref(j);
  if (rl_cstate_derive(s, c, err) < 0) {
    rl_cstate_free(c);
    return -1;
  }
  return 0;
}
