/* Taking things out of the store.  A layer dir leaves its place by one
 * rename into tmp/ (so `rless run` never mounts a half-deleted layer it
 * thinks complete) and is removed there at leisure, without the lock.  Both
 * steps run as root in the user namespace: layer files belong to
 * subordinate ids. */
#include "rl_store.h"
#include "rl_userns.h"
#include "rl_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define TREE_MAX_DEPTH 512

int rl_store_blob_remove(struct rl_store *s, const char *digest, long long *freed, rl_error_t *err)
{
  if (!rl_digest_valid(digest))
    return rl_make_error(err, EINVAL, "remove blob: malformed digest `%s`", digest);
  cleanup_free char *rel = rl_xasprintf("blobs/sha256/%s", digest + 7);
  struct stat st;
  if (fstatat(s->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return 0;
    return rl_make_error(err, errno, "stat blob `%s/%s`", s->root, rel);
  }
  if (unlinkat(s->rootfd, rel, 0) < 0 && errno != ENOENT)
    return rl_make_error(err, errno, "remove blob `%s/%s`", s->root, rel);
  *freed += st.st_size;
  return 0;
}

struct retire_ctx {
  struct rl_store *s;
  char *const *digests;
  size_t n;
  const char *trash;
};

/* layers/<format>/<hex> -> trash/<format>-<hex> for every digest present. */
static int retire_format(const struct retire_ctx *c, int layersfd, const char *format, int trashfd,
                         rl_error_t *err)
{
  cleanup_close int fd = openat(layersfd, format, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOTDIR || errno == ELOOP || errno == ENOENT
               ? 0
               : rl_make_error(err, errno, "open `%s/layers/%s`", c->s->root, format);
  for (size_t i = 0; i < c->n; i++) {
    if (!rl_digest_valid(c->digests[i]))
      continue;
    const char *hex = c->digests[i] + 7;
    cleanup_free char *dst = rl_xasprintf("%s-%s", format, hex);
    if (renameat(fd, hex, trashfd, dst) < 0 && errno != ENOENT)
      return rl_make_error(err, errno, "move layer `%s/layers/%s/%s` to `%s`", c->s->root, format,
                           hex, c->trash);
  }
  return 0;
}

static int retire_in_userns(void *arg, rl_error_t *err)
{
  const struct retire_ctx *c = arg;
  cleanup_close int trashfd = open(c->trash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (trashfd < 0)
    return rl_make_error(err, errno, "open `%s`", c->trash);
  int fd = openat(c->s->rootfd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : rl_make_error(err, errno, "open `%s/layers`", c->s->root);
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return rl_make_error(err, errno, "open `%s/layers`", c->s->root);
  }
  struct dirent *e;
  int r = 0;
  while (r == 0 && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      r = retire_format(c, dirfd(d), e->d_name, trashfd, err);
  closedir(d);
  return r;
}

static bool dir_is_empty(const char *path)
{
  DIR *d = opendir(path);
  if (d == NULL)
    return false;
  struct dirent *e;
  bool empty = true;
  while (empty && (e = readdir(d)) != NULL)
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

int rl_store_layers_retire(struct rl_store *s, const struct rl_userns *ns, char *const *digests,
                           size_t n, char **trash, rl_error_t *err)
{
  *trash = NULL;
  if (n == 0)
    return 0;
  /* Made here, so it carries this process' pid: nobody cleans it up under us. */
  cleanup_free char *dir = rl_store_tmpdir(s, "gc", err);
  if (dir == NULL)
    return -1;
  struct retire_ctx c = {.s = s, .digests = digests, .n = n, .trash = dir};
  int r = rl_userns_call(ns, retire_in_userns, &c, err);
  if (r < 0)
    rl_error_hint(err, "what was moved is in `%s`; the next pull removes it", dir);
  if (dir_is_empty(dir)) {
    rmdir(dir);
    return r;
  }
  *trash = rl_steal_ptr(&dir);
  return r;
}

/* Bytes of the regular files under name.  A file with n links counts 1/n
 * per link: exact for the whole inode when all its links are in the tree,
 * which holds for a layer (hard links never cross layers). */
static long long tree_bytes(int parent, const char *name, int depth)
{
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (!S_ISDIR(st.st_mode))
    return S_ISREG(st.st_mode) ? st.st_size / (st.st_nlink ? (long long)st.st_nlink : 1) : 0;
  if (depth > TREE_MAX_DEPTH)
    return 0;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return 0;
  }
  long long sum = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      sum += tree_bytes(dirfd(d), e->d_name, depth + 1);
  closedir(d);
  return sum;
}

struct trash_ctx {
  const char *trash;
  int result_fd; /* the byte count goes back to the caller here */
};

static int trash_in_userns(void *arg, rl_error_t *err)
{
  const struct trash_ctx *c = arg;
  long long bytes = tree_bytes(AT_FDCWD, c->trash, 0);
  if (rl_rmtree(c->trash, err) < 0)
    return rl_error_wrap(err, "remove `%s`", c->trash);
  if (rl_write_all(c->result_fd, &bytes, sizeof(bytes)) < 0)
    return rl_make_error(err, errno, "report the size of `%s`", c->trash);
  return 0;
}

int rl_store_trash_remove(struct rl_store *s, const struct rl_userns *ns, const char *trash,
                          long long *freed, rl_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe");
  struct trash_ctx c = {.trash = trash, .result_fd = p[1]};
  int r = rl_userns_call(ns, trash_in_userns, &c, err);
  close(p[1]);
  long long bytes = 0;
  if (r == 0 && read(p[0], &bytes, sizeof(bytes)) == (ssize_t)sizeof(bytes))
    *freed += bytes;
  close(p[0]);
  if (r < 0)
    rl_error_hint(err, "`%s` is left in the store's tmp/; the next pull removes it", trash);
  return r;
}
