/* libFuzzer target for what a registry's response headers say: the
 * WWW-Authenticate parser (rl_www_auth_parse) on the input as one value,
 * then the input as raw header lines fed to libcurl's header callback
 * (reg_header_cb: exact-size buffers without a NUL, as libcurl passes
 * them), whose joined WWW-Authenticate values are parsed again.
 *
 * Invariants: a parsed challenge is Basic or Bearer, a Bearer one has a
 * realm, and no parameter holds CR or LF (they go into the token request's
 * URL); Content-Type is cut at its parameters. */
#include "fuzz.h"
#include "registry_int.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

static void check_param(const char *v, const char *value)
{
  FUZZ_CHECK(v == NULL || (strpbrk(v, "\r\n") == NULL && strlen(v) <= strlen(value)));
}

static void fuzz_value(const char *value)
{
  struct rl_auth_challenge c;
  rl_error_t err = NULL;
  int r = rl_www_auth_parse(value, &c, &err);
  FUZZ_CHECK_ERR(r, err);
  if (r == 0) {
    FUZZ_CHECK(c.scheme == RL_AUTH_BASIC || c.scheme == RL_AUTH_BEARER);
    FUZZ_CHECK(c.scheme != RL_AUTH_BEARER || (c.realm && *c.realm));
    check_param(c.realm, value);
    check_param(c.service, value);
    check_param(c.scope, value);
    check_param(c.error, value);
  } else {
    FUZZ_CHECK(c.realm == NULL && c.service == NULL && c.scope == NULL && c.error == NULL);
  }
  rl_auth_challenge_free(&c);
  rl_error_free(&err);
}

static void fuzz_header_lines(const uint8_t *data, size_t size)
{
  struct reg_headers h = {.range_start = -1};
  for (size_t off = 0; off < size;) {
    const uint8_t *nl = memchr(data + off, '\n', size - off);
    size_t len = nl ? (size_t)(nl - (data + off)) + 1 : size - off;
    char *line = rl_xmalloc(len ? len : 1);
    memcpy(line, data + off, len);
    FUZZ_CHECK(reg_header_cb(line, 1, len, &h) == len);
    free(line);
    off += len;
  }
  FUZZ_CHECK(h.content_type == NULL || strcspn(h.content_type, "; \t") == strlen(h.content_type));
  if (h.www_auth)
    fuzz_value(h.www_auth);
  reg_headers_reset(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *parts[1];
  fuzz_split(data, size, parts, 1);
  fuzz_value(parts[0]);
  fuzz_parts_free(parts);
  fuzz_header_lines(data, size);
  return 0;
}
