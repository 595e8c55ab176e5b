/* The store's read path: paths and presence checks.  No locks, no hashing:
 * whatever is in place was complete and verified when it was renamed there.
 * (The write path is store_write.c, so `rless run` links no crypto.) */
#include "rl_paths.h"
#include "rl_store.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

bool rl_digest_valid(const char *digest)
{
  if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64)
    return false;
  for (const char *p = digest + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int rl_store_open(const char *root, bool create, struct rl_store *s, rl_error_t *err)
{
  static const char *const dirs[] = {"blobs/sha256", "layers", "containers", "tmp"};
  memset(s, 0, sizeof(*s));
  s->rootfd = -1;
  if (create) {
    if (rl_mkdir_p(root, 0700, err) < 0)
      return rl_error_hint(err, "pass --root DIR to keep images elsewhere");
    for (size_t i = 0; i < RL_ARRAY_SIZE(dirs); i++) {
      cleanup_free char *d = rl_xasprintf("%s/%s", root, dirs[i]);
      if (rl_mkdir_p(d, 0700, err) < 0)
        return -1;
    }
  }
  s->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s->rootfd < 0)
    return rl_make_error(err, errno, "open the image store `%s`", root);
  s->root = rl_xstrdup(root);
  return 0;
}

void rl_store_close(struct rl_store *s)
{
  if (s->rootfd >= 0)
    close(s->rootfd);
  free(s->root);
  s->root = NULL;
  s->rootfd = -1;
}

char *rl_store_blob_path(const struct rl_store *s, const char *digest)
{
  if (!rl_digest_valid(digest))
    return NULL;
  return rl_xasprintf("%s/blobs/sha256/%s", s->root, digest + 7);
}

bool rl_store_has_blob(const struct rl_store *s, const char *digest)
{
  cleanup_free char *p = rl_store_blob_path(s, digest);
  return p && access(p, F_OK) == 0;
}

char *rl_store_layer_path(const struct rl_store *s, const char *format, const char *digest)
{
  if (!rl_digest_valid(digest) || strchr(format, '/') || *format == '.')
    return NULL;
  return rl_xasprintf("%s/layers/%s/%s", s->root, format, digest + 7);
}

bool rl_store_has_layer(const struct rl_store *s, const char *format, const char *digest)
{
  cleanup_free char *p = rl_store_layer_path(s, format, digest);
  struct stat st;
  return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
