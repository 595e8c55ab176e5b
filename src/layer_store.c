/* Unpacking local layer blobs into the store.  One rl_userns_call for all
 * the layers of a load or an import: the child, root in the user's
 * namespace, can create the files of every subordinate owner and remove a
 * half-unpacked tree of them, which the user on the host cannot.  What each
 * unpack met comes back in a shared anonymous mapping (the child is
 * fork-like, so it shares MAP_SHARED memory and nothing else). */
#include "rl_layer_store.h"
#include "rl_manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define EXAMPLE_MAX 512

struct shared_stats {
  size_t entries, overflow_ids, devices_skipped, xattrs_skipped;
  char overflow_example[EXAMPLE_MAX], device_example[EXAMPLE_MAX], xattr_example[EXAMPLE_MAX];
};

struct unpack_ctx {
  struct rl_store *s;
  const struct rl_storage *st;
  const struct rl_userns *ns;
  const struct rl_layer_src *v;
  size_t n;
  struct shared_stats *out;
};

static void keep_example(char *dst, const char *src)
{
  if (src)
    snprintf(dst, EXAMPLE_MAX, "%s", src);
}

static void share_stats(struct shared_stats *dst, const struct rl_unpack_stats *st)
{
  dst->entries = st->entries;
  dst->overflow_ids = st->overflow_ids;
  dst->devices_skipped = st->devices_skipped;
  dst->xattrs_skipped = st->xattrs_skipped;
  keep_example(dst->overflow_example, st->overflow_example);
  keep_example(dst->device_example, st->device_example);
  keep_example(dst->xattr_example, st->xattr_example);
}

static int unpack_into(const struct unpack_ctx *c, size_t i, int blobfd, const char *tmp,
                       rl_error_t *err)
{
  struct rl_unpack_stats st = {0};
  struct rl_unpack_opts uo = {.whiteouts = c->st->whiteouts,
                              .uid_limit = rl_idmap_size(&c->ns->uidmap),
                              .gid_limit = rl_idmap_size(&c->ns->gidmap)};
  cleanup_close int dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return rl_make_error(err, errno, "open `%s`", tmp);
  int r = rl_layer_unpack(blobfd, dirfd, &uo, &st, err);
  share_stats(&c->out[i], &st);
  rl_unpack_stats_free(&st);
  return r;
}

static int unpack_one(const struct unpack_ctx *c, size_t i, rl_error_t *err)
{
  const struct rl_layer_src *l = &c->v[i];
  if (rl_store_has_layer(c->s, c->st->layer_format, l->digest))
    return 0; /* already there, or twice in the list */
  cleanup_free char *blob = l->path ? rl_xstrdup(l->path) : rl_store_blob_path(c->s, l->digest);
  cleanup_close int fd = blob ? open(blob, O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0)
    return rl_make_error(err, blob ? errno : EINVAL, "open the blob of layer %s `%s`", l->digest,
                         blob ? blob : "(malformed digest)");
  cleanup_free char *tmp = rl_store_tmpdir(c->s, "layer", err);
  if (tmp == NULL)
    return -1;
  int r = unpack_into(c, i, fd, tmp, err);
  if (r == 0)
    r = rl_store_layer_commit(c->s, tmp, c->st->layer_format, l->digest, err);
  /* Left over after a failure or a commit that lost to an identical writer. */
  rl_rmtree(tmp, NULL);
  if (r < 0)
    rl_error_wrap(err, "unpack layer %s", l->digest);
  return r;
}

static int unpack_in_userns(void *arg, rl_error_t *err)
{
  const struct unpack_ctx *c = arg;
  int lock = rl_store_lock(c->s, err);
  if (lock < 0)
    return -1;
  rl_store_clean_tmp(c->s); /* what killed writers left behind */
  close(lock);
  for (size_t i = 0; i < c->n; i++)
    if (unpack_one(c, i, err) < 0)
      return -1;
  return 0;
}

static char *example_dup(const char *s)
{
  return s[0] ? rl_xstrndup(s, EXAMPLE_MAX) : NULL;
}

static void stats_from_shared(struct rl_unpack_stats *dst, const struct shared_stats *src)
{
  dst->entries = src->entries;
  dst->overflow_ids = src->overflow_ids;
  dst->devices_skipped = src->devices_skipped;
  dst->xattrs_skipped = src->xattrs_skipped;
  dst->overflow_example = example_dup(src->overflow_example);
  dst->device_example = example_dup(src->device_example);
  dst->xattr_example = example_dup(src->xattr_example);
}

int rl_layer_store_unpack(struct rl_store *s, const struct rl_storage *st,
                          const struct rl_userns *ns, const struct rl_layer_src *v, size_t n,
                          struct rl_unpack_stats *stats, rl_error_t *err)
{
  bool missing = false;
  if (stats)
    memset(stats, 0, n * sizeof(*stats));
  for (size_t i = 0; i < n; i++) {
    if (v[i].media_type && !rl_layer_media_type_ok(v[i].media_type))
      return rl_make_error(err, 0, "layer %s has media type `%s`, which rless cannot unpack",
                           v[i].digest, v[i].media_type);
    missing = missing || !rl_store_has_layer(s, st->layer_format, v[i].digest);
  }
  if (!missing)
    return 0;
  size_t len = n * sizeof(struct shared_stats);
  struct shared_stats *out =
      mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (out == MAP_FAILED)
    return rl_make_error(err, errno, "map %zu bytes for unpack results", len);
  struct unpack_ctx c = {.s = s, .st = st, .ns = ns, .v = v, .n = n, .out = out};
  int r = rl_userns_call(ns, unpack_in_userns, &c, err);
  for (size_t i = 0; stats && r == 0 && i < n; i++)
    stats_from_shared(&stats[i], &out[i]);
  munmap(out, len);
  return r;
}

void rl_layer_store_warn(const char *digest, const struct rl_unpack_stats *st)
{
  if (st->overflow_ids)
    rl_warn("layer %.19s: %zu entries owned by ids outside your user namespace now belong to "
            "nobody (65534), e.g. `%s`; more subordinate ids in /etc/subuid and /etc/subgid keep "
            "their owners",
            digest, st->overflow_ids, st->overflow_example ? st->overflow_example : "?");
  if (st->devices_skipped)
    rl_warn("layer %.19s: skipped %zu device nodes or sockets (not allowed without privileges), "
            "e.g. `%s`",
            digest, st->devices_skipped, st->device_example ? st->device_example : "?");
  if (st->xattrs_skipped)
    rl_notice("layer %.19s: %zu extended attributes not kept, e.g. `%s`", digest,
              st->xattrs_skipped, st->xattr_example ? st->xattr_example : "?");
}
