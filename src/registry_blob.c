/* Blob downloads: up to REG_MAX_PARALLEL transfers on one curl multi
 * handle.  Every byte is hashed and handed to its sink as it arrives and is
 * counted, so a retry asks only for the rest (`Range: bytes=N-`) and the
 * sink never sees a byte twice; the digest is checked when the last byte is
 * in. */
#include "registry_int.h"

#include <errno.h>
#include <string.h>

enum xfer_state { X_QUEUED, X_RUNNING, X_DONE };

struct xfer {
  struct rl_registry *r;
  struct rl_blob_req *req;
  struct reg_progress *prog;
  size_t idx;
  CURL *h;
  struct curl_slist *hdrs;
  EVP_MD_CTX *md;
  enum xfer_state state;
  long long done;    /* bytes the sink has */
  long long skip;    /* bytes this attempt resends that the sink already has */
  int failures;      /* failed attempts so far */
  bool auth_retried; /* this transfer had its round of authentication */
  bool started;      /* this attempt's response body began */
  long status;       /* of this attempt's final response */
  double not_before; /* a retry waits a little */
  rl_error_t fatal;  /* the sink failed or the server misbehaved: no retry */
  struct reg_headers hdr;
  char errbody[512]; /* the start of an error response, for its message */
  size_t errlen;
  char errbuf[CURL_ERROR_SIZE];
};

struct fetch {
  struct rl_registry *r;
  CURLM *m;
  struct xfer *x;
  size_t n, running;
  struct reg_progress prog;
};

static int fail(struct xfer *x, rl_error_t *err, const char *msg, const char *detail)
{
  return rl_make_error(err, 0, "blob %s from %s/%s: %s%s", x->req->digest, x->r->registry,
                       x->r->repository, msg, detail ? detail : "");
}

/* The first body bytes of an attempt: decide what they are. */
static size_t begin_body(struct xfer *x)
{
  x->started = true;
  curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
  x->skip = 0;
  if (x->status == 206 && x->hdr.range_start != x->done) {
    cleanup_free char *d =
        rl_xasprintf(" (asked for byte %lld, got %lld)", x->done, x->hdr.range_start);
    fail(x, &x->fatal, "the server resumed at the wrong offset", d);
    return 0;
  }
  if (x->status == 200)
    x->skip = x->done; /* Range ignored: the whole blob again */
  return 1;
}

static size_t write_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
  struct xfer *x = ud;
  size_t len = size * nmemb;
  if (!x->started && begin_body(x) == 0)
    return 0;
  if (x->status != 200 && x->status != 206) {
    size_t room = sizeof(x->errbody) - x->errlen;
    size_t k = len < room ? len : room;
    memcpy(x->errbody + x->errlen, buf, k);
    x->errlen += k;
    return len;
  }
  size_t off = 0;
  if (x->skip > 0) {
    off = (long long)len < x->skip ? len : (size_t)x->skip;
    x->skip -= (long long)off;
  }
  size_t k = len - off;
  if (k == 0)
    return len;
  if (x->req->size >= 0 && x->done + (long long)k > x->req->size) {
    cleanup_free char *d = rl_xasprintf(" (%lld bytes)", x->req->size);
    fail(x, &x->fatal, "larger than the manifest says", d);
    return 0;
  }
  EVP_DigestUpdate(x->md, buf + off, k);
  if (x->req->sink(x->req->ctx, buf + off, k, &x->fatal) < 0) {
    if (x->fatal == NULL) /* a sink that forgot its error */
      fail(x, &x->fatal, "its consumer failed", NULL);
    return 0;
  }
  x->done += (long long)k;
  reg_progress_bytes(x->prog, x->idx, x->done);
  return len;
}

static int start(struct fetch *f, struct xfer *x, rl_error_t *err)
{
  cleanup_free char *url =
      rl_xasprintf("%s%s/blobs/%s", f->r->base, f->r->repository, x->req->digest);
  curl_easy_reset(x->h);
  curl_slist_free_all(x->hdrs);
  reg_headers_reset(&x->hdr);
  reg_setup_handle(f->r, x->h, url, x->errbuf, &x->hdrs, NULL, REG_AUTH_SESSION);
  curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, reg_header_cb);
  curl_easy_setopt(x->h, CURLOPT_HEADERDATA, &x->hdr);
  curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
  char range[32];
  if (x->done > 0) {
    snprintf(range, sizeof(range), "%lld-", x->done);
    curl_easy_setopt(x->h, CURLOPT_RANGE, range); /* libcurl copies it */
  }
  x->started = false;
  x->status = 0;
  x->errlen = 0;
  CURLMcode mc = curl_multi_add_handle(f->m, x->h);
  if (mc != CURLM_OK)
    return fail(x, err, "start the transfer: ", curl_multi_strerror(mc));
  x->state = X_RUNNING;
  f->running++;
  reg_progress_state(&f->prog, x->idx, REG_ACTIVE, NULL);
  return 0;
}

static int finish_ok(struct fetch *f, struct xfer *x, rl_error_t *err)
{
  cleanup_free char *got = reg_digest_final(x->md);
  if (strcmp(got, x->req->digest) != 0) {
    cleanup_free char *d = rl_xasprintf(" (got %s)", got);
    reg_progress_state(&f->prog, x->idx, REG_FAILED, NULL);
    return rl_make_error(err, 0, "blob %s from %s: content does not match its digest%s",
                         x->req->digest, f->r->registry, d);
  }
  x->state = X_DONE;
  reg_progress_state(&f->prog, x->idx, REG_DONE, NULL);
  return 0;
}

static char *attempt_error(struct xfer *x, CURLcode c)
{
  const char *what = x->errbuf[0] ? x->errbuf : curl_easy_strerror(c);
  if (c != CURLE_OK && x->status != 0)
    return rl_xasprintf("%s (HTTP %ld)", what, x->status);
  if (c != CURLE_OK)
    return rl_xstrdup(what);
  if (x->status == 200 || x->status == 206)
    return rl_xasprintf("connection closed after %lld of %lld bytes (HTTP %ld)", x->done,
                        x->req->size, x->status);
  return reg_status_text(x->status, x->errbody, x->errlen);
}

/* The transfer's attempt ended with c: done, retry, or the error. */
static int handle_done(struct fetch *f, struct xfer *x, CURLcode c, rl_error_t *err)
{
  curl_multi_remove_handle(f->m, x->h);
  f->running--;
  x->state = X_QUEUED;
  if (!x->started)
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
  if (x->fatal) {
    *err = rl_steal_ptr(&x->fatal);
    return -1;
  }
  bool body_ok = x->status == 200 || x->status == 206;
  if (c == CURLE_OK && body_ok && (x->req->size < 0 || x->done == x->req->size))
    return finish_ok(f, x, err);
  if (c == CURLE_OK && x->status == 401 && !x->auth_retried) {
    x->auth_retried = true;
    return reg_authenticate(f->r, x->hdr.www_auth, err);
  }
  cleanup_free char *why = attempt_error(x, c);
  if (c == CURLE_OK && x->status == 401) {
    cleanup_free char *what = rl_xasprintf("blob %s", x->req->digest);
    return reg_auth_error(f->r, what, err);
  }
  bool truncated = c == CURLE_OK && body_ok; /* fewer bytes than the manifest says */
  if ((truncated || reg_transient(c, x->status)) && x->failures < REG_MAX_RETRIES) {
    x->failures++;
    x->not_before = reg_now() + 0.5 * x->failures;
    rl_debug("blob %s: %s; retry %d from byte %lld", x->req->digest, why, x->failures, x->done);
    reg_progress_state(&f->prog, x->idx, REG_RETRYING, why);
    return 0;
  }
  reg_progress_state(&f->prog, x->idx, REG_FAILED, NULL);
  if (x->status == 404)
    return fail(x, err, "not found: ", why);
  cleanup_free char *d =
      x->failures ? rl_xasprintf("%s, after %d attempts", why, x->failures + 1) : rl_xstrdup(why);
  return fail(x, err, "", d);
}

static int start_ready(struct fetch *f, double *next_wake, rl_error_t *err)
{
  double now = reg_now();
  *next_wake = 0;
  for (size_t i = 0; i < f->n && f->running < REG_MAX_PARALLEL; i++) {
    struct xfer *x = &f->x[i];
    if (x->state != X_QUEUED)
      continue;
    if (x->not_before > now) {
      if (*next_wake == 0 || x->not_before < *next_wake)
        *next_wake = x->not_before;
      continue;
    }
    if (start(f, x, err) < 0)
      return -1;
  }
  return 0;
}

static int drain_messages(struct fetch *f, rl_error_t *err)
{
  CURLMsg *msg;
  int left = 0;
  while ((msg = curl_multi_info_read(f->m, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    struct xfer *x = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (handle_done(f, x, msg->data.result, err) < 0)
      return -1;
  }
  return 0;
}

static bool all_done(const struct fetch *f)
{
  for (size_t i = 0; i < f->n; i++)
    if (f->x[i].state != X_DONE)
      return false;
  return true;
}

static int run(struct fetch *f, rl_error_t *err)
{
  while (!all_done(f)) {
    double wake = 0;
    int still = 0;
    if (start_ready(f, &wake, err) < 0)
      return -1;
    CURLMcode mc = curl_multi_perform(f->m, &still);
    if (mc != CURLM_OK)
      return rl_make_error(err, 0, "blobs from %s: %s", f->r->registry, curl_multi_strerror(mc));
    if (drain_messages(f, err) < 0)
      return -1;
    reg_progress_tick(&f->prog);
    /* Wake for the progress frame rate and for retries that are due. */
    int timeout = 100;
    if (f->running == 0 && wake > 0)
      timeout = (int)((wake - reg_now()) * 1000) + 1;
    if (timeout < 0)
      timeout = 0;
    mc = curl_multi_poll(f->m, NULL, 0, timeout > 100 && f->running ? 100 : timeout, NULL);
    if (mc != CURLM_OK)
      return rl_make_error(err, 0, "blobs from %s: %s", f->r->registry, curl_multi_strerror(mc));
  }
  return 0;
}

static int prepare(struct fetch *f, struct rl_blob_req *reqs, rl_error_t *err)
{
  for (size_t i = 0; i < f->n; i++) {
    struct xfer *x = &f->x[i];
    *x = (struct xfer){.r = f->r, .req = &reqs[i], .prog = &f->prog, .idx = i};
    x->hdr.range_start = -1;
    if (!reg_is_sha256_digest(reqs[i].digest))
      return rl_make_error(err, 0, "blob `%s` of %s/%s: not a sha256 digest", reqs[i].digest,
                           f->r->registry, f->r->repository);
    x->h = curl_easy_init();
    x->md = EVP_MD_CTX_new();
    if (x->h == NULL || x->md == NULL || EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1)
      return rl_make_error(err, ENOMEM, "prepare the download of blob %s", reqs[i].digest);
  }
  return 0;
}

static void cleanup_fetch(struct fetch *f)
{
  for (size_t i = 0; i < f->n; i++) {
    struct xfer *x = &f->x[i];
    if (x->h && x->state == X_RUNNING)
      curl_multi_remove_handle(f->m, x->h);
    if (x->h)
      curl_easy_cleanup(x->h);
    curl_slist_free_all(x->hdrs);
    EVP_MD_CTX_free(x->md);
    reg_headers_reset(&x->hdr);
    rl_error_free(&x->fatal);
  }
  free(f->x);
  if (f->m)
    curl_multi_cleanup(f->m);
  reg_progress_finish(&f->prog);
}

int rl_registry_fetch_blobs(struct rl_registry *r, struct rl_blob_req *reqs, size_t n,
                            rl_error_t *err)
{
  if (n == 0)
    return 0;
  if (r->repository == NULL)
    return rl_make_error(err, 0, "blobs from %s: the session has no repository", r->registry);
  struct fetch f = {.r = r, .n = n, .x = rl_xcalloc(n, sizeof(struct xfer))};
  reg_progress_init(&f.prog, r->progress, reqs, n);
  f.m = curl_multi_init();
  int ret = f.m ? prepare(&f, reqs, err)
                : rl_make_error(err, ENOMEM, "initialise libcurl for %s", r->registry);
  if (ret == 0) {
    curl_multi_setopt(f.m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)REG_MAX_PARALLEL);
    ret = run(&f, err);
  }
  cleanup_fetch(&f);
  return ret;
}
