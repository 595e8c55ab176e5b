/* Private to src/registry*.c: the session state and the helpers the
 * registry client's files share (requests, auth, progress).  Not a
 * contract: include rl_registry.h everywhere else. */
#ifndef RL_REGISTRY_INT_H
#define RL_REGISTRY_INT_H

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdbool.h>

#include "rl_registry.h"
#include "rl_util.h"

#define REG_MAX_PARALLEL 4    /* blob transfers at once */
#define REG_MAX_RETRIES  3    /* per transfer, after the first attempt */
#define REG_LOW_SPEED    1024 /* bytes/s below which ... */
#define REG_LOW_TIME     30   /* ... for this many seconds, a transfer is stalled */

struct rl_registry {
  char *registry;   /* as the reference names it: messages and credentials */
  char *base;       /* "https://host/v2/" (docker.io: registry-1.docker.io) */
  char *repository; /* "library/busybox"; NULL in a session that only pings */
  char *auth_file;  /* NULL: rl_auth.h's search */
  bool insecure;
  enum rl_progress progress; /* resolved: never AUTO */
  CURLSH *share;             /* connections, DNS and TLS sessions for every handle */
  CURL *easy;                /* sequential requests: manifests and tokens */
  /* Authentication, learnt from the first 401 and kept for the session. */
  bool creds_looked_up;
  char *user, *pass; /* from auth.json; NULL when there are none */
  bool basic;        /* the registry wants Basic: send the credentials with every request */
  char *token;       /* Bearer token for this repository */
  bool refused;      /* reg_auth_error ran: the credentials (or their absence) were refused */
};

/* Response headers the client cares about; reset at every status line so a
 * redirect's headers never leak into the final response's. */
struct reg_headers {
  char *www_auth;        /* all WWW-Authenticate values, joined with ", " */
  char *content_type;    /* media type without parameters */
  long long range_start; /* first byte of a 206's Content-Range, -1 when none */
};
size_t reg_header_cb(char *buf, size_t size, size_t n, void *ud);
void reg_headers_reset(struct reg_headers *h);

/* Whose credentials a request carries: the session's (token or Basic), or
 * auth.json's as Basic for a token realm (never the session's token). */
enum reg_auth_mode { REG_AUTH_SESSION, REG_AUTH_REALM };

/* Options every request shares: user agent, TLS verification, protocols,
 * redirects, timeouts, credentials.  *hdrs receives the header list the
 * handle uses (free it after the transfer); extra (a whole header line) is
 * appended to it. */
void reg_setup_handle(struct rl_registry *r, CURL *h, const char *url, char *errbuf,
                      struct curl_slist **hdrs, const char *extra, enum reg_auth_mode mode);

/* A small response held in memory. */
struct reg_resp {
  long status;
  char *body;
  size_t len, max;
  bool too_big;
  struct reg_headers hdr;
  char errbuf[CURL_ERROR_SIZE];
};
void reg_resp_free(struct reg_resp *resp);

/* GET url on the session's easy handle, retrying transient failures
 * (REG_MAX_RETRIES); 0 with resp->status set for any HTTP answer.  `what`
 * names the object for messages ("manifest busybox:latest"). */
int reg_perform(struct rl_registry *r, const char *url, const char *extra, enum reg_auth_mode mode,
                const char *what, struct reg_resp *resp, rl_error_t *err);

/* Worth another attempt: the connection failed or broke, or the server said
 * it was busy or broken (408, 429, 5xx). */
bool reg_transient(CURLcode c, long status);

/* One round of authentication after a 401 whose challenge is www_auth:
 * fetches a (new) Bearer token or switches to Basic.  Fails with the
 * messages of reg_auth_error when credentials are missing or refused. */
int reg_authenticate(struct rl_registry *r, const char *www_auth, rl_error_t *err);
/* The error for a 401 that survived a round of authentication. */
int reg_auth_error(struct rl_registry *r, const char *what, rl_error_t *err);

/* The "code: message" of a registry's JSON error body, or NULL. */
char *reg_error_detail(const char *body, size_t len);
/* " (HTTP 503: BLOB_UNKNOWN: ...)" style suffix for messages; never NULL. */
char *reg_status_text(long status, const char *body, size_t len);

bool reg_is_sha256_digest(const char *s);
/* "sha256:<hex>" of what md has seen; md is finished. */
char *reg_digest_final(EVP_MD_CTX *md);
double reg_now(void);

/* Progress of a rl_registry_fetch_blobs call (registry_progress.c). */
enum reg_item_state { REG_WAITING, REG_ACTIVE, REG_RETRYING, REG_DONE, REG_FAILED };
struct reg_progress_item {
  const char *label;
  long long size, done;
  enum reg_item_state state;
};
struct reg_progress {
  enum rl_progress mode;
  struct reg_progress_item *items;
  size_t n;
  double last_draw;
  bool drawn;
};
void reg_progress_init(struct reg_progress *p, enum rl_progress mode,
                       const struct rl_blob_req *reqs, size_t n);
void reg_progress_state(struct reg_progress *p, size_t i, enum reg_item_state st, const char *why);
void reg_progress_bytes(struct reg_progress *p, size_t i, long long done);
void reg_progress_tick(struct reg_progress *p);
void reg_progress_finish(struct reg_progress *p);
enum rl_progress reg_progress_resolve(enum rl_progress mode);

#endif
