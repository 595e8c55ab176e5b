/* OCI distribution API v2 client on libcurl: anonymous, basic and bearer
 * auth, manifest negotiation, parallel blob downloads verified by sha256
 * while they stream, retries with resume. */
#ifndef RL_REGISTRY_H
#define RL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "rl_error.h"

enum rl_progress { RL_PROGRESS_AUTO, RL_PROGRESS_BARS, RL_PROGRESS_LINES, RL_PROGRESS_QUIET };

struct rl_registry_opts {
  const char
      *registry; /* host[:port] of the reference; docker.io is served by registry-1.docker.io */
  bool insecure; /* plain http */
  const char *auth_file; /* NULL: the default search (see rl_auth.h) */
  enum rl_progress progress;
};

struct rl_registry;

int rl_registry_open(const struct rl_registry_opts *o, const char *repository,
                     struct rl_registry **out, rl_error_t *err);
void rl_registry_close(struct rl_registry *r);

/* GET the manifest `ref` (tag or digest) accepting OCI index/manifest and
 * docker schema2 list/manifest.  *digest is "sha256:" of the body; when ref is
 * a digest, a body that does not match it is an error. */
int rl_registry_manifest(struct rl_registry *r, const char *ref, char **body, size_t *len,
                         char **media_type, char **digest, rl_error_t *err);

/* Receives the blob's bytes in order; returns 0, or -1 to abort (with its own error). */
typedef int (*rl_blob_sink_fn)(void *ctx, const void *data, size_t len, rl_error_t *err);

struct rl_blob_req {
  const char *digest; /* sha256:... */
  long long size;     /* from the manifest; -1 when unknown */
  rl_blob_sink_fn sink;
  void *ctx;
  const char *label; /* for progress output, e.g. the short digest */
};

/* Fetch all blobs, several at once.  Each sink sees each byte exactly once
 * even across retries (a retry resumes with a Range request).  A blob whose
 * size or sha256 does not match is an error naming the digest. */
int rl_registry_fetch_blobs(struct rl_registry *r, struct rl_blob_req *reqs, size_t n,
                            rl_error_t *err);

#endif
