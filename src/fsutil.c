/* Removing directory trees without following symlinks (fd-relative walk). */
#include "rl_error.h"
#include "rl_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define RMTREE_MAX_DEPTH 512

static int rmtree_at(int dirfd, const char *name, int depth, rl_error_t *err);

static int rmtree_entries(int fd, const char *name, int depth, rl_error_t *err)
{
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return rl_make_error(err, errno, "opendir `%s`", name);
  }
  struct dirent *e;
  int r = 0;
  errno = 0;
  while (r == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    r = rmtree_at(dirfd(d), e->d_name, depth + 1, err);
  }
  closedir(d);
  return r;
}

static int rmtree_at(int dirfd, const char *name, int depth, rl_error_t *err)
{
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR)
    return rl_make_error(err, errno, "remove `%s`", name);
  if (depth > RMTREE_MAX_DEPTH)
    return rl_make_error(err, ELOOP, "remove `%s`: tree too deep", name);
  /* overlayfs makes its work/work dir mode 000 and layers may hold read-only
   * dirs; they are ours, so open them up to empty them. */
  (void)fchmodat(dirfd, name, 0700, 0);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return rl_make_error(err, errno, "open `%s`", name);
  if (rmtree_entries(fd, name, depth, err) < 0)
    return -1;
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return rl_make_error(err, errno, "rmdir `%s`", name);
  return 0;
}

int rl_rmtree(const char *path, rl_error_t *err)
{
  return rmtree_at(AT_FDCWD, path, 0, err);
}

int rl_rmtree_at(int dirfd, const char *name, rl_error_t *err)
{
  return rmtree_at(dirfd, name, 0, err);
}
