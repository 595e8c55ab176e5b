/* The image store under the data dir.  Content-addressed and write-once:
 *
 *   blobs/sha256/<hex>         compressed layers, manifests, configs (verified)
 *   layers/<format>/<hex>/     a layer unpacked (keyed by its blob digest and
 *                              the whiteout format of the overlay it is for)
 *   images.json                names -> manifest, config and layer digests
 *   containers/<id>/{upper,work}
 *   tmp/                       everything in progress; nothing here is trusted
 *
 * Every write goes to tmp/ first and is renamed into place when complete and
 * verified, so a killed rless leaves only tmp/ litter, removed by the next
 * writer that holds the store lock.  Reading never takes the lock. */
#ifndef RL_STORE_H
#define RL_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "rl_error.h"

struct rl_store {
  char *root;
  int rootfd;
};

int rl_store_open(const char *root, bool create, struct rl_store *s, rl_error_t *err);
void rl_store_close(struct rl_store *s);

/* Exclusive lock for writers of images.json and for tmp/ cleanup (flock on
 * `lock`).  Returns the lock fd (close to release). */
int rl_store_lock(struct rl_store *s, rl_error_t *err);

/* Remove tmp/ entries whose writer is gone (their name carries the pid; a
 * live pid keeps its entry).  Needs the lock. */
void rl_store_clean_tmp(struct rl_store *s);

/* A fresh private directory under tmp/ for one write (absolute path). */
char *rl_store_tmpdir(struct rl_store *s, const char *what, rl_error_t *err);

/* "sha256:<hex>" -> "<root>/blobs/sha256/<hex>"; NULL for a malformed digest. */
char *rl_store_blob_path(const struct rl_store *s, const char *digest);
bool rl_store_has_blob(const struct rl_store *s, const char *digest);
/* Move a complete, verified file into blobs/ (rename; losing a race to an
 * identical writer is success). */
int rl_store_blob_commit(struct rl_store *s, const char *tmpfile, const char *digest,
                         rl_error_t *err);
/* Read a small blob (manifest, config) and check its digest. */
char *rl_store_blob_read(const struct rl_store *s, const char *digest, size_t *len,
                         rl_error_t *err);
/* Write a small blob from memory (already verified by the caller). */
int rl_store_blob_write(struct rl_store *s, const char *digest, const char *data, size_t len,
                        rl_error_t *err);

char *rl_store_layer_path(const struct rl_store *s, const char *format, const char *digest);
bool rl_store_has_layer(const struct rl_store *s, const char *format, const char *digest);
/* Rename a complete layer dir into place.  When an identical writer won the
 * race, tmpdir is left for the caller to remove. */
int rl_store_layer_commit(struct rl_store *s, const char *tmpdir, const char *format,
                          const char *digest, rl_error_t *err);

/* sha256 of a buffer as "sha256:<hex>" (OpenSSL). */
char *rl_sha256_digest(const void *data, size_t len);
/* Valid "sha256:" + 64 lowercase hex. */
bool rl_digest_valid(const char *digest);

/* ---- Removal (store_gc.c).  Under the store lock, except
 * rl_store_trash_remove: a trash dir is private to its creator. ---- */
struct rl_userns;

/* Unlink blobs/sha256/<hex>; absent is success.  Adds its size to *freed. */
int rl_store_blob_remove(struct rl_store *s, const char *digest, long long *freed, rl_error_t *err);
/* Move the unpacked dirs of `digests` (in every format under layers/) into
 * a new private dir under tmp/, as root in the user namespace `ns` (moving a
 * dir needs write access to it, and a layer's top dir may belong to a
 * subordinate id).  A rename is atomic: readers see a layer complete or not
 * at all.  *trash is that dir, or NULL when none of the layers was there. */
int rl_store_layers_retire(struct rl_store *s, const struct rl_userns *ns, char *const *digests,
                           size_t n, char **trash, rl_error_t *err);
/* Remove a trash dir of rl_store_layers_retire in the user namespace (its
 * files belong to subordinate ids); adds the bytes of its files to *freed. */
int rl_store_trash_remove(struct rl_store *s, const struct rl_userns *ns, const char *trash,
                          long long *freed, rl_error_t *err);

#endif
