/* Storage drivers, and the one a store uses when none is asked for. */
#include "rl_host.h"
#include "rl_storage.h"
#include "rl_store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

int rl_storage_select(const char *name, struct rl_storage *st, rl_error_t *err)
{
  if (name == NULL || strcmp(name, "overlay") == 0) {
    *st = (struct rl_storage){"overlay", "overlay", RL_WHITEOUT_OVERLAY_XATTR, RL_ROOTFS_OVERLAY};
    return 0;
  }
  if (strcmp(name, "fuse-overlayfs") == 0) {
    *st = (struct rl_storage){"fuse-overlayfs", "fuse", RL_WHITEOUT_FUSE, RL_ROOTFS_FUSE_OVERLAY};
    return 0;
  }
  return rl_make_error(err, 0, "unknown storage driver `%s`: use overlay or fuse-overlayfs", name);
}

static char *remembered(const struct rl_store *s)
{
  char *text = rl_read_file_at(s->rootfd, "storage-driver", 64, NULL);
  if (text)
    text[strcspn(text, "\n")] = '\0';
  return text;
}

/* Written once, by whoever chooses first; a lost race loses nothing, both
 * writers probed the same kernel. */
static void remember(const struct rl_store *s, const char *driver)
{
  cleanup_free char *tmp = rl_xasprintf("%s/tmp/storage-driver.%d", s->root, (int)getpid());
  cleanup_free char *path = rl_xasprintf("%s/storage-driver", s->root);
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || rl_write_all(fd, driver, strlen(driver)) < 0 || rl_write_all(fd, "\n", 1) < 0 ||
      rename(tmp, path) < 0) {
    rl_debug("remember the storage driver in `%s`: %s", path, strerror(errno));
    unlink(tmp);
  }
}

static int probe(const struct rl_store *s, const char **driver, rl_error_t *err)
{
  struct rl_host_overlay o;
  struct rl_host_fuse f;
  cleanup_free char *base = rl_xasprintf("%s/tmp", s->root);
  if (rl_host_overlay_probe(base, &o, err) < 0)
    return -1;
  bool works = o.works;
  if (!works)
    rl_debug("kernel overlayfs does not mount in a user namespace here (%s: %s)", o.stage,
             strerror(o.errnum));
  rl_host_overlay_free(&o);
  if (works) {
    *driver = "overlay";
    return 0;
  }
  rl_host_fuse_probe(&f);
  bool fuse_ok = f.path && f.dev_fuse;
  rl_host_fuse_free(&f);
  if (!fuse_ok) {
    rl_make_error(err, 0,
                  "no storage driver works here: the kernel refuses overlayfs in a user "
                  "namespace and fuse-overlayfs is missing or /dev/fuse is unusable");
    return rl_error_hint(err, "install fuse-overlayfs (sudo apt-get install fuse-overlayfs); "
                              "`rless info` shows what failed");
  }
  *driver = "fuse-overlayfs";
  rl_notice("using fuse-overlayfs: the kernel refuses overlayfs in a user namespace here");
  return 0;
}

int rl_storage_for_store(const char *name, const struct rl_store *s, struct rl_storage *st,
                         rl_error_t *err)
{
  cleanup_free char *known = remembered(s);
  if (name) {
    /* The first use decides for the store, also when it was asked for:
     * later commands without the option find the layers it unpacked. */
    if (rl_storage_select(name, st, err) < 0)
      return -1;
    if (known == NULL)
      remember(s, st->driver);
    return 0;
  }
  if (known && rl_storage_select(known, st, NULL) == 0)
    return 0;
  const char *driver = NULL;
  if (probe(s, &driver, err) < 0)
    return -1;
  remember(s, driver);
  return rl_storage_select(driver, st, err);
}
