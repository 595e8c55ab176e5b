/* Registry authentication: the WWW-Authenticate parser, Bearer tokens from
 * the challenge's realm (docker's token protocol), Basic credentials, and
 * the messages that tell the user what to do when access is refused. */
#include "registry_int.h"

#include "rl_auth.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#define TOKEN_RESPONSE_MAX (1 << 20)

/* RFC 9110 5.6.2 tchar */
static bool is_tchar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token68_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("-._~+/", c) != NULL);
}

static const char *skip_ows(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

static const char *skip_token(const char *p)
{
  while (is_tchar(*p))
    p++;
  return p;
}

/* At p: `token BWS "=" BWS` followed by a value (not a token68's padding)? */
static bool at_param(const char *p)
{
  const char *e = skip_token(p);
  if (e == p)
    return false;
  e = skip_ows(e);
  if (*e != '=')
    return false;
  e = skip_ows(e + 1);
  return *e == '"' || is_tchar(*e);
}

/* A quoted-string (quoted-pairs unescaped) or a token; NULL when malformed. */
static char *parse_value(const char **pp)
{
  const char *p = *pp;
  if (*p != '"') {
    const char *e = skip_token(p);
    *pp = e;
    return e == p ? NULL : rl_xstrndup(p, (size_t)(e - p));
  }
  size_t cap = strlen(p), n = 0;
  char *out = rl_xmalloc(cap + 1);
  for (p++; *p != '"'; p++) {
    if (*p == '\\' && p[1] != '\0')
      p++;
    /* not even quoted: a CR or LF must never reach the token URL */
    if (*p == '\0' || *p == '\r' || *p == '\n') {
      free(out);
      return NULL;
    }
    out[n++] = *p;
  }
  out[n] = '\0';
  *pp = p + 1;
  return out;
}

static void keep_param(struct rl_auth_challenge *c, const char *name, size_t len, char *value)
{
  char **slot = NULL;
  if (len == 5 && strncasecmp(name, "realm", 5) == 0)
    slot = &c->realm;
  else if (len == 7 && strncasecmp(name, "service", 7) == 0)
    slot = &c->service;
  else if (len == 5 && strncasecmp(name, "scope", 5) == 0)
    slot = &c->scope;
  else if (len == 5 && strncasecmp(name, "error", 5) == 0)
    slot = &c->error;
  if (slot == NULL) {
    free(value);
    return;
  }
  free(*slot);
  *slot = value;
}

/* The parameters after a scheme, up to the next challenge or the end.  The
 * grammar is ambiguous only at commas: a comma is followed either by another
 * parameter (`name=`) or by the next challenge's scheme. */
static int parse_params(const char **pp, struct rl_auth_challenge *c, rl_error_t *err)
{
  const char *p = skip_ows(*pp);
  if (!at_param(p) && is_token68_char(*p)) {
    while (is_token68_char(*p))
      p++;
    while (*p == '=')
      p++;
    p = skip_ows(p);
  }
  while (at_param(p)) {
    const char *name = p, *e = skip_token(p);
    p = skip_ows(skip_ows(e) + 1);
    char *value = parse_value(&p);
    if (value == NULL)
      return rl_make_error(err, 0, "bad value of parameter `%.*s`", (int)(e - name), name);
    keep_param(c, name, (size_t)(e - name), value);
    p = skip_ows(p);
    if (*p == '\0')
      break;
    if (*p != ',')
      return rl_make_error(err, 0, "expected `,` at `%.20s`", p);
    const char *after = p + 1;
    while (*after == ',' || *after == ' ' || *after == '\t')
      after++;
    if (!at_param(after))
      break; /* the comma ends this challenge */
    p = after;
  }
  *pp = p;
  return 0;
}

void rl_auth_challenge_free(struct rl_auth_challenge *c)
{
  free(c->realm);
  free(c->service);
  free(c->scope);
  free(c->error);
  *c = (struct rl_auth_challenge){0};
}

static int parse_challenges(const char *value, struct rl_auth_challenge *out, rl_error_t *err)
{
  struct rl_auth_challenge basic = {0};
  const char *p = value;
  for (;;) {
    while (*p == ',' || *p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    const char *scheme = p;
    p = skip_token(p);
    if (p == scheme) {
      rl_auth_challenge_free(&basic);
      return rl_make_error(err, 0, "expected an auth scheme at `%.20s`", p);
    }
    size_t slen = (size_t)(p - scheme);
    struct rl_auth_challenge c = {0};
    if (slen == 6 && strncasecmp(scheme, "bearer", 6) == 0)
      c.scheme = RL_AUTH_BEARER;
    else if (slen == 5 && strncasecmp(scheme, "basic", 5) == 0)
      c.scheme = RL_AUTH_BASIC;
    if (parse_params(&p, &c, err) < 0) {
      rl_auth_challenge_free(&c);
      rl_auth_challenge_free(&basic);
      return -1;
    }
    if (c.scheme == RL_AUTH_BEARER) {
      rl_auth_challenge_free(&basic);
      *out = c;
      return 0;
    }
    if (c.scheme == RL_AUTH_BASIC && basic.scheme == 0)
      basic = c;
    else
      rl_auth_challenge_free(&c);
  }
  if (basic.scheme == 0)
    return rl_make_error(err, 0, "no Bearer or Basic challenge");
  *out = basic;
  return 0;
}

int rl_www_auth_parse(const char *value, struct rl_auth_challenge *out, rl_error_t *err)
{
  *out = (struct rl_auth_challenge){0};
  if (parse_challenges(value, out, err) < 0)
    return rl_error_wrap(err, "WWW-Authenticate `%s`", value);
  if (out->scheme == RL_AUTH_BEARER && (out->realm == NULL || *out->realm == '\0')) {
    rl_auth_challenge_free(out);
    return rl_make_error(err, 0, "WWW-Authenticate `%s`: Bearer challenge without a realm", value);
  }
  return 0;
}

static int load_creds(struct rl_registry *r, rl_error_t *err)
{
  if (r->creds_looked_up)
    return 0;
  r->creds_looked_up = true;
  return rl_auth_lookup(r->auth_file, r->registry, &r->user, &r->pass, err) < 0 ? -1 : 0;
}

int reg_auth_error(struct rl_registry *r, const char *what, rl_error_t *err)
{
  r->refused = true;
  if (r->user)
    return rl_make_error(err, 0, "%s: authentication to %s failed: check `rless login %s`", what,
                         r->registry, r->registry);
  rl_make_error(err, 0,
                "%s: %s refused access without credentials: the repository does not exist or "
                "needs a login",
                what, r->registry);
  return rl_error_hint(err, "for a private repository, run `rless login %s` first", r->registry);
}

static char *escaped(CURL *h, const char *s)
{
  char *e = curl_easy_escape(h, s, 0);
  if (e == NULL)
    abort(); /* only without memory */
  char *r = rl_xstrdup(e);
  curl_free(e);
  return r;
}

static void add_param(CURL *h, char **query, const char *name, const char *value)
{
  cleanup_free char *e = escaped(h, value);
  char *q = rl_xasprintf("%s%s%s=%s", *query ? *query : "", *query ? "&" : "", name, e);
  free(*query);
  *query = q;
}

/* realm?service=S&scope=repository:NAME:pull, plus the challenge's own scope
 * when it asks for something else (as docker's clients do).  A session
 * without a repository asks for no scope of its own (a login check). */
static char *token_url(struct rl_registry *r, const struct rl_auth_challenge *c)
{
  cleanup_free char *own = r->repository ? rl_xasprintf("repository:%s:pull", r->repository) : NULL;
  cleanup_free char *query = NULL;
  if (c->service && *c->service)
    add_param(r->easy, &query, "service", c->service);
  if (own)
    add_param(r->easy, &query, "scope", own);
  if (c->scope && *c->scope && (own == NULL || strcmp(c->scope, own) != 0))
    add_param(r->easy, &query, "scope", c->scope);
  if (query == NULL)
    return rl_xstrdup(c->realm);
  return rl_xasprintf("%s%c%s", c->realm, strchr(c->realm, '?') ? '&' : '?', query);
}

static int take_token(struct rl_registry *r, const struct reg_resp *resp, const char *realm,
                      rl_error_t *err)
{
  json_t *root = json_loadb(resp->body ? resp->body : "", resp->len, 0, NULL);
  const char *tok = json_string_value(json_object_get(root, "token"));
  if (tok == NULL || *tok == '\0')
    tok = json_string_value(json_object_get(root, "access_token"));
  int ret = 0;
  if (tok == NULL || *tok == '\0' || strpbrk(tok, "\r\n") != NULL)
    ret = rl_make_error(err, 0, "token server `%s` for %s: the answer holds no usable token", realm,
                        r->registry);
  if (ret == 0) {
    if (r->token)
      OPENSSL_cleanse(r->token, strlen(r->token));
    free(r->token);
    r->token = rl_xstrdup(tok);
  }
  json_decref(root);
  return ret;
}

static int fetch_token(struct rl_registry *r, const struct rl_auth_challenge *c, rl_error_t *err)
{
  /* Credentials go to the realm: over plain http only when the registry itself is. */
  if (strncmp(c->realm, "https://", 8) != 0 &&
      !(r->insecure && strncmp(c->realm, "http://", 7) == 0))
    return rl_make_error(err, 0, "%s sent a token realm `%s` that is not an https:// URL",
                         r->registry, c->realm);
  cleanup_free char *url = token_url(r, c);
  cleanup_free char *what =
      rl_xasprintf("token for %s", r->repository ? r->repository : r->registry);
  struct reg_resp resp = {.max = TOKEN_RESPONSE_MAX};
  int ret = reg_perform(r, url, NULL, REG_AUTH_REALM, what, &resp, err);
  if (ret == 0 && (resp.status == 401 || resp.status == 403))
    ret = reg_auth_error(r, what, err);
  else if (ret == 0 && resp.status != 200) {
    cleanup_free char *st = reg_status_text(resp.status, resp.body, resp.len);
    ret = rl_make_error(err, 0, "%s from `%s`: %s", what, c->realm, st);
  }
  if (ret == 0)
    ret = take_token(r, &resp, c->realm, err);
  if (resp.body)
    OPENSSL_cleanse(resp.body, resp.len);
  reg_resp_free(&resp);
  if (ret == 0)
    rl_debug("%s: got a token from %s", r->registry, c->realm);
  return ret;
}

int reg_authenticate(struct rl_registry *r, const char *www_auth, rl_error_t *err)
{
  if (www_auth == NULL)
    return rl_make_error(err, 0, "%s answered 401 Unauthorized without a challenge", r->registry);
  struct rl_auth_challenge c;
  if (rl_www_auth_parse(www_auth, &c, err) < 0)
    return rl_error_wrap(err, "%s", r->registry);
  int ret = load_creds(r, err);
  if (ret == 0 && c.scheme == RL_AUTH_BEARER) {
    ret = fetch_token(r, &c, err);
  } else if (ret == 0) {
    cleanup_free char *what = r->repository ? rl_xasprintf("repository %s", r->repository)
                                            : rl_xasprintf("registry %s", r->registry);
    /* Basic already sent and refused, or nothing to send. */
    if (r->basic || r->user == NULL)
      ret = reg_auth_error(r, what, err);
    r->basic = true;
  }
  rl_auth_challenge_free(&c);
  return ret;
}
