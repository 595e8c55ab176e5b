/* OCI distribution API v2 client on libcurl: anonymous, basic and bearer
 * auth, manifest negotiation, parallel blob downloads verified by sha256
 * while they stream, retries with resume.
 *
 * Requests go to https://HOST/v2/ (http:// when insecure; TLS is always
 * verified).  Every request starts anonymous; the first 401's
 * WWW-Authenticate decides: Bearer fetches a token from the realm for
 * repository:NAME:pull (with auth.json credentials when there are any) and
 * reuses it for the session; Basic sends the credentials with every request.
 * A later 401 renews the token once for that request.  A 401 that survives
 * this is "authentication to REGISTRY failed: check `rless login REGISTRY`"
 * (or a "needs a login" error when there were no credentials).
 *
 * Not thread-safe: a session is used by one thread.  rl_registry_open calls
 * curl_global_init and rl_registry_close curl_global_cleanup every time:
 * libcurl counts them, so there is no global state of ours, and rless has no
 * threads that could race libcurl's own initialisation. */
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

/* repository may be NULL for a session that only pings: its tokens are asked
 * without a scope, as `docker login` does, and it fetches nothing. */
int rl_registry_open(const struct rl_registry_opts *o, const char *repository,
                     struct rl_registry **out, rl_error_t *err);
void rl_registry_close(struct rl_registry *r);

/* GET the manifest `ref` (tag or digest) accepting OCI index/manifest and
 * docker schema2 list/manifest; bodies over 4 MiB are refused.  *digest is
 * "sha256:" of the body; when ref is a digest, a body that does not match it
 * is an error naming both digests.  *media_type is the Content-Type without
 * parameters, NULL when the registry sent none.  Free *body, *media_type and
 * *digest. */
int rl_registry_manifest(struct rl_registry *r, const char *ref, char **body, size_t *len,
                         char **media_type, char **digest, rl_error_t *err);

/* GET /v2/, the API's version check, with the session's credentials and one
 * round of authentication (what `docker login` does): 0 when the registry
 * answers 200; 1 when the registry or its token realm refuses the credentials
 * (401 or 403), *err untouched; -1 on any other failure (unreachable, TLS, 5xx
 * after the retries, not a registry). */
int rl_registry_ping(struct rl_registry *r, rl_error_t *err);

/* Receives the blob's bytes in order; returns 0, or -1 to abort (with its own error). */
typedef int (*rl_blob_sink_fn)(void *ctx, const void *data, size_t len, rl_error_t *err);

struct rl_blob_req {
  const char *digest; /* sha256:... */
  long long size;     /* from the manifest; -1 when unknown */
  rl_blob_sink_fn sink;
  void *ctx;
  const char *label; /* for progress output: a digest's hex (shown shortened, "blob 3f4c1a2b…")
                       or a word shown as is ("config"); NULL: the digest */
};

/* Fetch all blobs, up to 4 at once, following redirects (blob storage).
 * Each sink sees each byte exactly once even across retries: a transfer cut
 * off midway (connection reset, 5xx, 408/429, stalled below 1 KiB/s for 30 s)
 * is retried up to 3 times, resuming with `Range: bytes=N-` (a server that
 * answers 200 instead of 206 has its first N bytes skipped).  A blob whose
 * size or sha256 does not match is an error naming the digest; nothing is
 * retried once a sink failed.  On error, sinks may have received part of a
 * blob: the caller discards what they wrote.  Progress goes to stderr as
 * o->progress says (AUTO: bars on a terminal, else one line per blob start
 * and end). */
int rl_registry_fetch_blobs(struct rl_registry *r, struct rl_blob_req *reqs, size_t n,
                            rl_error_t *err);

/* A WWW-Authenticate challenge (RFC 7235): the value may hold several
 * challenges separated by commas, each a scheme followed by name=value
 * parameters (token or quoted-string with backslash escapes) or a token68. */
enum rl_auth_scheme { RL_AUTH_BASIC = 1, RL_AUTH_BEARER };
struct rl_auth_challenge {
  enum rl_auth_scheme scheme;
  char *realm, *service, *scope, *error; /* NULL when absent */
};

/* Parse a WWW-Authenticate value and pick the first Bearer challenge, else
 * the first Basic one; an error when the value is malformed or offers
 * neither.  Free with rl_auth_challenge_free. */
int rl_www_auth_parse(const char *value, struct rl_auth_challenge *out, rl_error_t *err);
void rl_auth_challenge_free(struct rl_auth_challenge *c);

#endif
