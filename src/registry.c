/* Registry sessions, the request plumbing every registry file shares, and
 * manifests.  Blobs are in registry_blob.c, authentication in
 * registry_auth.c, progress output in registry_progress.c. */
#include "registry_int.h"

#include "rl_auth.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MANIFEST_MAX (4 << 20)

static const char manifest_accept[] = "Accept: application/vnd.oci.image.manifest.v1+json, "
                                      "application/vnd.oci.image.index.v1+json, "
                                      "application/vnd.docker.distribution.manifest.v2+json, "
                                      "application/vnd.docker.distribution.manifest.list.v2+json";

double reg_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool reg_is_sha256_digest(const char *s)
{
  if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
    return false;
  for (const char *p = s + 7; *p; p++)
    if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
      return false;
  return true;
}

char *reg_digest_final(EVP_MD_CTX *md)
{
  unsigned char bin[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(md, bin, &n);
  char *out = rl_xmalloc(7 + 2 * n + 1);
  memcpy(out, "sha256:", 7);
  for (unsigned int i = 0; i < n; i++)
    snprintf(out + 7 + 2 * i, 3, "%02x", bin[i]);
  return out;
}

bool reg_transient(CURLcode c, long status)
{
  switch (c) {
  case CURLE_OK:
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
  case CURLE_COULDNT_CONNECT:
  case CURLE_PARTIAL_FILE:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
    return true;
  default:
    return false;
  }
}

char *reg_error_detail(const char *body, size_t len)
{
  if (body == NULL || len == 0)
    return NULL;
  json_t *root = json_loadb(body, len, 0, NULL);
  json_t *e = json_array_get(json_object_get(root, "errors"), 0);
  const char *code = json_string_value(json_object_get(e, "code"));
  const char *msg = json_string_value(json_object_get(e, "message"));
  char *r = NULL;
  if (code && msg)
    r = rl_xasprintf("%s: %s", code, msg);
  else if (code || msg)
    r = rl_xstrdup(code ? code : msg);
  json_decref(root);
  return r;
}

char *reg_status_text(long status, const char *body, size_t len)
{
  cleanup_free char *detail = reg_error_detail(body, len);
  if (detail)
    return rl_xasprintf("HTTP %ld: %s", status, detail);
  return rl_xasprintf("HTTP %ld", status);
}

static void set_value(char **dst, const char *v, size_t n)
{
  free(*dst);
  *dst = rl_xstrndup(v, n);
}

void reg_headers_reset(struct reg_headers *h)
{
  free(h->www_auth);
  free(h->content_type);
  h->www_auth = h->content_type = NULL;
  h->range_start = -1;
}

/* "bytes N-M/T": the first byte the server resumes at. */
static long long parse_range_start(const char *v, size_t n)
{
  cleanup_free char *s = rl_xstrndup(v, n);
  unsigned long long start = 0;
  if (sscanf(s, "bytes %llu-", &start) != 1)
    return -1;
  return (long long)start;
}

static bool header_is(const char *buf, size_t name_len, const char *name)
{
  return name_len == strlen(name) && strncasecmp(buf, name, name_len) == 0;
}

size_t reg_header_cb(char *buf, size_t size, size_t n, void *ud)
{
  struct reg_headers *h = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    reg_headers_reset(h); /* a new response: after a redirect or a 100 */
    return len;
  }
  const char *colon = memchr(buf, ':', len);
  if (colon == NULL)
    return len;
  size_t name_len = (size_t)(colon - buf);
  const char *v = colon + 1, *end = buf + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && isspace((unsigned char)end[-1]))
    end--;
  size_t vlen = (size_t)(end - v);
  if (header_is(buf, name_len, "WWW-Authenticate")) {
    /* Several headers are one comma-separated list (RFC 9110 5.3). */
    char *joined =
        h->www_auth ? rl_xasprintf("%s, %.*s", h->www_auth, (int)vlen, v) : rl_xstrndup(v, vlen);
    free(h->www_auth);
    h->www_auth = joined;
  } else if (header_is(buf, name_len, "Content-Type")) {
    set_value(&h->content_type, v, vlen); /* buf is not NUL-terminated: copy, then cut */
    h->content_type[strcspn(h->content_type, "; \t")] = '\0';
  } else if (header_is(buf, name_len, "Content-Range")) {
    h->range_start = parse_range_start(v, vlen);
  }
  return len;
}

void reg_setup_handle(struct rl_registry *r, CURL *h, const char *url, char *errbuf,
                      struct curl_slist **hdrs, const char *extra, enum reg_auth_mode mode)
{
  const char *protocols = r->insecure ? "http,https" : "https";
  errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_SHARE, r->share);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "rless/" RL_VERSION);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  /* Explicit although they are libcurl's defaults: no option turns them off. */
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)REG_LOW_SPEED);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)REG_LOW_TIME);
  /* libcurl sends neither credentials nor a custom Authorization header to
   * another host after a redirect, so blob storage never sees them. */
  bool basic = mode == REG_AUTH_REALM ? r->user != NULL : (r->basic && r->user && !r->token);
  if (basic) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, r->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, r->pass);
  }
  *hdrs = NULL;
  if (mode == REG_AUTH_SESSION && r->token) {
    char *line = rl_xasprintf("Authorization: Bearer %s", r->token);
    *hdrs = curl_slist_append(*hdrs, line);
    OPENSSL_cleanse(line, strlen(line));
    free(line);
  }
  if (extra)
    *hdrs = curl_slist_append(*hdrs, extra);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
}

void reg_resp_free(struct reg_resp *resp)
{
  free(resp->body);
  resp->body = NULL;
  resp->len = 0;
  resp->too_big = false;
  resp->status = 0;
  reg_headers_reset(&resp->hdr);
}

static size_t body_cb(char *buf, size_t size, size_t n, void *ud)
{
  struct reg_resp *resp = ud;
  size_t len = size * n;
  if (resp->len + len > resp->max) {
    resp->too_big = true;
    return 0; /* aborts the transfer */
  }
  resp->body = rl_xrealloc(resp->body, resp->len + len + 1);
  memcpy(resp->body + resp->len, buf, len);
  resp->len += len;
  resp->body[resp->len] = '\0';
  return len;
}

static CURLcode get_once(struct rl_registry *r, const char *url, const char *extra,
                         enum reg_auth_mode mode, struct reg_resp *resp)
{
  struct curl_slist *hdrs = NULL;
  reg_resp_free(resp);
  curl_easy_reset(r->easy); /* keeps the connections, drops the last request's options */
  reg_setup_handle(r, r->easy, url, resp->errbuf, &hdrs, extra, mode);
  curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, body_cb);
  curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, reg_header_cb);
  curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, &resp->hdr);
  CURLcode c = curl_easy_perform(r->easy);
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_slist_free_all(hdrs);
  return c;
}

int reg_perform(struct rl_registry *r, const char *url, const char *extra, enum reg_auth_mode mode,
                const char *what, struct reg_resp *resp, rl_error_t *err)
{
  for (int attempt = 0;; attempt++) {
    CURLcode c = get_once(r, url, extra, mode, resp);
    if (resp->too_big)
      return rl_make_error(err, 0, "%s from %s: larger than %zu bytes", what, r->registry,
                           resp->max);
    if (c == CURLE_OK && !reg_transient(c, resp->status))
      return 0;
    if (!reg_transient(c, resp->status) || attempt == REG_MAX_RETRIES) {
      if (c == CURLE_OK) {
        cleanup_free char *st = reg_status_text(resp->status, resp->body, resp->len);
        return rl_make_error(err, 0, "%s from %s: %s after %d attempts", what, r->registry, st,
                             attempt + 1);
      }
      return rl_make_error(err, 0, "%s from %s: %s (%s)", what, r->registry,
                           resp->errbuf[0] ? resp->errbuf : curl_easy_strerror(c), url);
    }
    rl_debug("%s from %s: %s, retrying", what, r->registry,
             c == CURLE_OK ? "server error" : curl_easy_strerror(c));
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 300000000L * (attempt + 1)};
    nanosleep(&ts, NULL);
  }
}

/* reg_perform with the session's auth: a 401 gets one round of authentication. */
static int session_get(struct rl_registry *r, const char *url, const char *extra, const char *what,
                       struct reg_resp *resp, rl_error_t *err)
{
  if (reg_perform(r, url, extra, REG_AUTH_SESSION, what, resp, err) < 0)
    return -1;
  if (resp->status != 401)
    return 0;
  if (reg_authenticate(r, resp->hdr.www_auth, err) < 0 ||
      reg_perform(r, url, extra, REG_AUTH_SESSION, what, resp, err) < 0)
    return -1;
  if (resp->status == 401)
    return reg_auth_error(r, what, err);
  return 0;
}

static bool valid_tag(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 128 || !(isalnum((unsigned char)*s) || *s == '_'))
    return false;
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int check_ref(struct rl_registry *r, const char *ref, rl_error_t *err)
{
  if (r->repository == NULL)
    return rl_make_error(err, 0, "manifest `%s` from %s: the session has no repository", ref,
                         r->registry);
  if (strchr(ref, ':') == NULL) {
    if (!valid_tag(ref))
      return rl_make_error(err, 0, "manifest `%s` of %s: not a valid tag", ref, r->repository);
    return 0;
  }
  if (strncmp(ref, "sha256:", 7) != 0)
    return rl_make_error(err, 0, "manifest `%s` of %s: only sha256 digests are supported", ref,
                         r->repository);
  if (!reg_is_sha256_digest(ref))
    return rl_make_error(err, 0, "manifest `%s` of %s: not a valid sha256 digest", ref,
                         r->repository);
  return 0;
}

static char *sha256_of(const void *data, size_t len)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
    abort(); /* only fails without memory */
  EVP_DigestUpdate(md, data, len);
  char *d = reg_digest_final(md);
  EVP_MD_CTX_free(md);
  return d;
}

int rl_registry_manifest(struct rl_registry *r, const char *ref, char **body, size_t *len,
                         char **media_type, char **digest, rl_error_t *err)
{
  if (check_ref(r, ref, err) < 0)
    return -1;
  bool by_digest = strchr(ref, ':') != NULL;
  cleanup_free char *what =
      rl_xasprintf("manifest %s%s%s", r->repository, by_digest ? "@" : ":", ref);
  cleanup_free char *url = rl_xasprintf("%s%s/manifests/%s", r->base, r->repository, ref);
  struct reg_resp resp = {.max = MANIFEST_MAX};
  int ret = session_get(r, url, manifest_accept, what, &resp, err);
  if (ret == 0 && resp.status == 404) {
    cleanup_free char *st = reg_status_text(resp.status, resp.body, resp.len);
    ret = rl_make_error(err, 0, "%s not found in %s (%s)", what, r->registry, st);
  } else if (ret == 0 && resp.status != 200) {
    cleanup_free char *st = reg_status_text(resp.status, resp.body, resp.len);
    ret = rl_make_error(err, 0, "fetch %s from %s: %s", what, r->registry, st);
  }
  cleanup_free char *got = ret == 0 ? sha256_of(resp.body ? resp.body : "", resp.len) : NULL;
  if (ret == 0 && by_digest && strcmp(got, ref) != 0)
    ret = rl_make_error(err, 0, "%s from %s: content does not match its digest (got %s)", what,
                        r->registry, got);
  if (ret == 0) {
    *body = resp.body ? rl_steal_ptr(&resp.body) : rl_xstrdup("");
    *len = resp.len;
    *media_type = resp.hdr.content_type ? rl_steal_ptr(&resp.hdr.content_type) : NULL;
    *digest = rl_steal_ptr(&got);
  }
  reg_resp_free(&resp);
  return ret;
}

int rl_registry_ping(struct rl_registry *r, rl_error_t *err)
{
  struct reg_resp resp = {.max = 1 << 16};
  rl_error_t perr = NULL;
  r->refused = false;
  int ret = session_get(r, r->base, NULL, "API check", &resp, &perr);
  if (ret < 0 && r->refused) {
    rl_debug("%s: %s", r->registry, perr->msg);
    rl_error_free(&perr);
    ret = 1;
  } else if (ret < 0) {
    if (err && *err == NULL)
      *err = rl_steal_ptr(&perr);
    rl_error_free(&perr);
  } else if (resp.status == 401 || resp.status == 403) {
    ret = 1;
  } else if (resp.status != 200) {
    cleanup_free char *st = reg_status_text(resp.status, resp.body, resp.len);
    ret = rl_make_error(err, 0, "%s does not answer like an OCI registry: GET %s gave %s",
                        r->registry, r->base, st);
  }
  reg_resp_free(&resp);
  return ret;
}

static bool valid_registry(const char *s)
{
  size_t n = strlen(s);
  return n > 0 && n < 256 &&
         strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789.-:[]") == n;
}

static bool valid_repository(const char *s)
{
  size_t n = strlen(s);
  return n > 0 && n < 256 && *s != '/' && s[n - 1] != '/' && strstr(s, "..") == NULL &&
         strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-/") == n;
}

int rl_registry_open(const struct rl_registry_opts *o, const char *repository,
                     struct rl_registry **out, rl_error_t *err)
{
  /* Names end up in URLs: refuse anything that could change their meaning. */
  if (o->registry == NULL || !valid_registry(o->registry))
    return rl_make_error(err, 0, "registry `%s`: not a valid host[:port]",
                         o->registry ? o->registry : "");
  if (repository != NULL && !valid_repository(repository))
    return rl_make_error(err, 0, "repository `%s` on %s: not a valid repository name", repository,
                         o->registry);
  CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (c != CURLE_OK)
    return rl_make_error(err, 0, "initialise libcurl: %s", curl_easy_strerror(c));
  struct rl_registry *r = rl_xcalloc(1, sizeof(*r));
  const char *host = strcmp(o->registry, "docker.io") == 0 ? "registry-1.docker.io" : o->registry;
  r->registry = rl_xstrdup(o->registry);
  r->base = rl_xasprintf("%s://%s/v2/", o->insecure ? "http" : "https", host);
  r->repository = repository ? rl_xstrdup(repository) : NULL;
  r->auth_file = o->auth_file ? rl_xstrdup(o->auth_file) : NULL;
  r->insecure = o->insecure;
  r->progress = reg_progress_resolve(o->progress);
  r->share = curl_share_init();
  r->easy = curl_easy_init();
  if (r->share == NULL || r->easy == NULL) {
    rl_registry_close(r);
    return rl_make_error(err, ENOMEM, "initialise libcurl for %s", o->registry);
  }
  curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  rl_debug("registry %s: %s%s", r->registry, r->base, r->repository ? r->repository : "");
  *out = r;
  return 0;
}

static void free_secret(char *s)
{
  if (s)
    OPENSSL_cleanse(s, strlen(s));
  free(s);
}

void rl_registry_close(struct rl_registry *r)
{
  if (r == NULL)
    return;
  /* Handles first: the share must outlive every handle that uses it. */
  if (r->easy)
    curl_easy_cleanup(r->easy);
  if (r->share)
    curl_share_cleanup(r->share);
  free_secret(r->pass);
  free_secret(r->token);
  free(r->user);
  free(r->registry);
  free(r->base);
  free(r->repository);
  free(r->auth_file);
  free(r);
  curl_global_cleanup();
}
