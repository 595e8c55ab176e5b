/* The store's write path: lock, private temp dirs, commits by rename.
 * Nothing becomes visible before it is complete. */
#include "rl_store.h"
#include "rl_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

int rl_store_lock(struct rl_store *s, rl_error_t *err)
{
  int fd = openat(s->rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return rl_make_error(err, errno, "open the store lock `%s/lock`", s->root);
  while (flock(fd, LOCK_EX) < 0) {
    if (errno != EINTR) {
      close(fd);
      return rl_make_error(err, errno, "lock the store `%s`", s->root);
    }
  }
  return fd;
}

static bool owner_alive(const char *name)
{
  /* tmp entries are named "<what>-<pid>-<random>". */
  const char *dash = strchr(name, '-');
  unsigned long pid;
  if (dash == NULL)
    return false;
  cleanup_free char *num = rl_xstrndup(dash + 1, strcspn(dash + 1, "-"));
  if (rl_parse_ulong(num, &pid) < 0 || pid == 0)
    return false;
  return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

void rl_store_clean_tmp(struct rl_store *s)
{
  int fd = openat(s->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && !owner_alive(e->d_name))
      rl_rmtree_at(dirfd(d), e->d_name, NULL);
  closedir(d);
}

char *rl_store_tmpdir(struct rl_store *s, const char *what, rl_error_t *err)
{
  unsigned int r = 0;
  if (getrandom(&r, sizeof(r), 0) != sizeof(r))
    r = (unsigned)getpid();
  char *path = rl_xasprintf("%s/tmp/%s-%d-%08x", s->root, what, (int)getpid(), r);
  if (mkdir(path, 0700) < 0) {
    rl_make_error(err, errno, "mkdir `%s`", path);
    free(path);
    return NULL;
  }
  return path;
}

int rl_store_blob_commit(struct rl_store *s, const char *tmpfile, const char *digest,
                         rl_error_t *err)
{
  cleanup_free char *dst = rl_store_blob_path(s, digest);
  if (dst == NULL)
    return rl_make_error(err, EINVAL, "store blob: malformed digest `%s`", digest);
  if (rename(tmpfile, dst) < 0)
    return rl_make_error(err, errno, "store blob `%s`", digest);
  return 0;
}

int rl_store_blob_write(struct rl_store *s, const char *digest, const char *data, size_t len,
                        rl_error_t *err)
{
  cleanup_free char *dir = rl_store_tmpdir(s, "blob", err);
  if (dir == NULL)
    return -1;
  cleanup_free char *tmp = rl_xasprintf("%s/data", dir);
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  int r = -1;
  if (fd < 0 || rl_write_all(fd, data, len) < 0 || fsync(fd) < 0)
    rl_make_error(err, errno, "write `%s`", tmp);
  else
    r = rl_store_blob_commit(s, tmp, digest, err);
  unlink(tmp);
  rmdir(dir);
  return r;
}

int rl_store_layer_commit(struct rl_store *s, const char *tmpdir, const char *format,
                          const char *digest, rl_error_t *err)
{
  cleanup_free char *dst = rl_store_layer_path(s, format, digest);
  cleanup_free char *parent = rl_xasprintf("%s/layers/%s", s->root, format);
  if (dst == NULL)
    return rl_make_error(err, EINVAL, "store layer: malformed digest `%s`", digest);
  if (mkdir(parent, 0700) < 0 && errno != EEXIST)
    return rl_make_error(err, errno, "mkdir `%s`", parent);
  if (rename(tmpdir, dst) == 0)
    return 0;
  /* Another pull finished the same layer first: theirs is as good as ours. */
  if (errno == EEXIST || errno == ENOTEMPTY)
    return 0;
  return rl_make_error(err, errno, "store layer `%s`", digest);
}
