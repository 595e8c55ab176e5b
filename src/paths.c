#include "rl_paths.h"
#include "rl_util.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

int rl_mkdir_p(const char *path, unsigned mode, rl_error_t *err)
{
  cleanup_free char *p = rl_xstrdup(path);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return rl_make_error(err, errno, "mkdir `%s`", p);
    *s = saved;
    if (saved == '\0')
      break;
  }
  return 0;
}

/* A dir we may keep private state in: a real directory (not a symlink), ours, 0700. */
static const char *private_dir_problem(const char *path, bool need_0700)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return "it does not exist";
  if (!S_ISDIR(st.st_mode))
    return "it is not a directory";
  if (st.st_uid != geteuid())
    return "it is owned by another user (after su or sudo?)";
  if (need_0700 && (st.st_mode & 077))
    return "it is accessible to other users";
  return NULL;
}

static char *fallback_runtime_dir(rl_error_t *err)
{
  char *dir = rl_xasprintf("/tmp/rless-%u", (unsigned)geteuid());
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    rl_make_error(err, errno, "mkdir `%s`", dir);
    free(dir);
    return NULL;
  }
  const char *problem = private_dir_problem(dir, true);
  if (problem) {
    rl_make_error(err, 0, "cannot use `%s` as the runtime dir: %s", dir, problem);
    rl_error_hint(err, "remove it, or set XDG_RUNTIME_DIR to a private directory of yours");
    free(dir);
    return NULL;
  }
  return dir;
}

char *rl_runtime_dir(char **why, rl_error_t *err)
{
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  const char *problem = "XDG_RUNTIME_DIR is not set";
  if (xdg && *xdg) {
    problem = private_dir_problem(xdg, true);
    if (problem == NULL) {
      char *dir = rl_xasprintf("%s/rless", xdg);
      if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rl_make_error(err, errno, "mkdir `%s`", dir);
        free(dir);
        return NULL;
      }
      if (why)
        *why = rl_xasprintf("under XDG_RUNTIME_DIR (%s)", xdg);
      return dir;
    }
  }
  char *dir = fallback_runtime_dir(err);
  if (dir && why)
    *why = rl_xasprintf("private dir under /tmp: %s%s%s", problem, xdg && *xdg ? ": " : "",
                        xdg && *xdg ? xdg : "");
  return dir;
}

/* "root" of ${XDG_CONFIG_HOME:-HOME/.config}/rless/config.json: where a
 * user whose home is on NFS keeps the store once and for all.  1 with
 * *out, 0 when unset or no file, -1 for a bad file. */
static int config_root(const char *home, char **out, rl_error_t *err)
{
  const char *xdg = getenv("XDG_CONFIG_HOME");
  cleanup_free char *path = xdg && *xdg == '/' ? rl_xasprintf("%s/rless/config.json", xdg)
                            : home             ? rl_xasprintf("%s/.config/rless/config.json", home)
                                               : NULL;
  json_error_t je;
  if (path == NULL || access(path, F_OK) < 0)
    return 0;
  json_t *j = json_load_file(path, 0, &je);
  if (j == NULL)
    return rl_make_error(err, 0, "read the config `%s`: %s (line %d, column %d)", path, je.text,
                         je.line, je.column);
  json_t *root = json_object_get(j, "root");
  int r = 0;
  if (root && (!json_is_string(root) || json_string_value(root)[0] != '/'))
    r = rl_make_error(err, 0, "config `%s`: \"root\" must be an absolute path", path);
  else if (root && (r = 1))
    *out = rl_xstrdup(json_string_value(root));
  json_decref(j);
  return r;
}

char *rl_data_dir(const char *root_override, rl_error_t *err)
{
  if (root_override)
    return rl_xstrdup(root_override);
  const char *home = getenv("HOME");
  if (home == NULL || *home != '/') {
    struct passwd *pw = getpwuid(geteuid());
    home = pw ? pw->pw_dir : NULL;
  }
  char *configured = NULL;
  int c = config_root(home, &configured, err);
  if (c != 0)
    return c > 0 ? configured : NULL;
  const char *xdg = getenv("XDG_DATA_HOME");
  if (xdg && *xdg == '/')
    return rl_xasprintf("%s/rless", xdg);
  if (home == NULL) {
    rl_make_error(err, 0, "cannot find a data dir: HOME is unset and uid %u has no passwd entry",
                  (unsigned)geteuid());
    rl_error_hint(err, "set XDG_DATA_HOME, or pass --root DIR");
    return NULL;
  }
  return rl_xasprintf("%s/.local/share/rless", home);
}
