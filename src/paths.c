#include "rl_paths.h"
#include "rl_util.h"

#include <errno.h>
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

char *rl_data_dir(const char *root_override, rl_error_t *err)
{
  if (root_override)
    return rl_xstrdup(root_override);
  const char *xdg = getenv("XDG_DATA_HOME");
  if (xdg && *xdg == '/')
    return rl_xasprintf("%s/rless", xdg);
  const char *home = getenv("HOME");
  if (home == NULL || *home != '/') {
    struct passwd *pw = getpwuid(geteuid());
    home = pw ? pw->pw_dir : NULL;
  }
  if (home == NULL) {
    rl_make_error(err, 0, "cannot find a data dir: HOME is unset and uid %u has no passwd entry",
                  (unsigned)geteuid());
    rl_error_hint(err, "set XDG_DATA_HOME, or pass --root DIR");
    return NULL;
  }
  return rl_xasprintf("%s/.local/share/rless", home);
}
