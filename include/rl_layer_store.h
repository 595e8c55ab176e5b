/* Layers from local blob files into the store (load, import): every layer
 * not yet in layers/<format>/ is unpacked by one process in the user
 * namespace (so owners are kept) into a tmp/ dir and committed by rename.
 * pull.c keeps its own path, which unpacks while it downloads. */
#ifndef RL_LAYER_STORE_H
#define RL_LAYER_STORE_H

#include <stddef.h>

#include "rl_error.h"
#include "rl_layer.h"
#include "rl_storage.h"
#include "rl_store.h"
#include "rl_userns.h"

struct rl_layer_src {
  const char *digest;     /* the blob's digest: its key in layers/<format>/ */
  const char *path;       /* the blob file; NULL: blobs/ in the store */
  const char *media_type; /* checked with rl_layer_media_type_ok; NULL: not checked */
};

/* Unpack the layers of v[0..n) that the store lacks (gzip, zstd or none,
 * told apart by libarchive).  stats (may be NULL) gets n entries: what each
 * unpack met (all zero for a layer that was already there); free each with
 * rl_unpack_stats_free.  On error no layer of the failing one is left. */
int rl_layer_store_unpack(struct rl_store *s, const struct rl_storage *st,
                          const struct rl_userns *ns, const struct rl_layer_src *v, size_t n,
                          struct rl_unpack_stats *stats, rl_error_t *err);

/* The warnings pull prints for what an unpack met (owners outside the
 * mapping, device nodes skipped, xattrs not kept). */
void rl_layer_store_warn(const char *digest, const struct rl_unpack_stats *st);

#endif
