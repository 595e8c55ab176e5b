/* libFuzzer target for tar entry names and link targets: the layer
 * unpacker's layer_clean_name (entry names and hard link targets of image
 * layers) and the archive reader's rl_archive_member_clean and
 * rl_archive_link_resolve (docker-archive / oci-archive members and their
 * symlinks).  The input is NAME, a NUL, then TARGET.
 *
 * Invariants: each result is compared with a plain model of the rule (split
 * at '/', drop empty and `.` components; `..` refused, or for a link target
 * climbing from the link's directory and never above the archive's top); a
 * cleaned name is relative, without `.`, `..` or empty components, and its
 * parent and last component put back together give it. */
#include "fuzz.h"
#include "layer_int.h"
#include "rl_archive.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

/* The components of `s` with `.` and empty ones dropped; `..` pops when
 * allow_up (-1 when nothing is left to pop), else is refused (-1). */
static int model_walk(const char *s, rl_strv_t *parts, bool allow_up)
{
  while (*s) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (!allow_up || parts->n == 0)
        return -1;
      free(parts->v[--parts->n]);
      parts->v[parts->n] = NULL;
    } else if (n > 0 && !(n == 1 && s[0] == '.')) {
      rl_strv_push_owned(parts, rl_xstrndup(s, n));
    }
    s += n;
    s += *s == '/';
  }
  return 0;
}

static char *model_join(const rl_strv_t *parts, size_t n)
{
  char *out = rl_xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *next = rl_xasprintf("%s%s%s", out, i ? "/" : "", parts->v[i]);
    free(out);
    out = next;
  }
  return out;
}

static bool clean_ok(const char *p)
{
  if (p[0] == '/' || strstr(p, "//") || (*p && p[strlen(p) - 1] == '/'))
    return false;
  for (const char *c = p; *c; c += strcspn(c, "/"), c += *c == '/') {
    size_t n = strcspn(c, "/");
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
      return false;
  }
  return true;
}

static void fuzz_layer_name(const char *raw)
{
  char *path = NULL, *parent = NULL;
  const char *name = NULL;
  cleanup_strv rl_strv_t parts = {0};
  int want = model_walk(raw, &parts, false);
  int r = layer_clean_name(raw, &path, &parent, &name);
  FUZZ_CHECK(r == want);
  if (r == 0) {
    cleanup_free char *expect = model_join(&parts, parts.n);
    cleanup_free char *expect_parent = model_join(&parts, parts.n ? parts.n - 1 : 0);
    FUZZ_CHECK(strcmp(path, expect) == 0 && strcmp(parent, expect_parent) == 0);
    FUZZ_CHECK(clean_ok(path) && strchr(name, '/') == NULL);
    FUZZ_CHECK(name >= path && name <= path + strlen(path));
    FUZZ_CHECK(strcmp(name, parts.n ? parts.v[parts.n - 1] : "") == 0);
  }
  free(path);
  free(parent);
}

static bool printable(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

/* The member name, cleaned; NULL when refused. */
static char *fuzz_member(const char *raw)
{
  char *out = NULL;
  rl_error_t err = NULL;
  int r = rl_archive_member_clean(raw, &out, &err);
  FUZZ_CHECK_ERR(r, err);
  cleanup_strv rl_strv_t parts = {0};
  bool want = *raw && *raw != '/' && printable(raw) && model_walk(raw, &parts, false) == 0;
  FUZZ_CHECK((r == 0) == want);
  if (r == 0) {
    cleanup_free char *expect = model_join(&parts, parts.n);
    FUZZ_CHECK(strcmp(out, expect) == 0 && clean_ok(out));
  }
  rl_error_free(&err);
  return out;
}

static void fuzz_link(const char *name, const char *clean, const char *target)
{
  char *out = NULL;
  rl_error_t err = NULL;
  int r = rl_archive_link_resolve(name, target, &out, &err);
  FUZZ_CHECK_ERR(r, err);
  cleanup_strv rl_strv_t parts = {0};
  model_walk(clean, &parts, false);
  if (parts.n > 0) {
    free(parts.v[--parts.n]);
    parts.v[parts.n] = NULL;
  }
  bool want = *target && *target != '/' && printable(target) &&
              model_walk(target, &parts, true) == 0 && parts.n > 0;
  FUZZ_CHECK((r == 0) == want);
  if (r == 0) {
    cleanup_free char *expect = model_join(&parts, parts.n);
    FUZZ_CHECK(strcmp(out, expect) == 0 && *out && clean_ok(out));
  }
  free(out);
  rl_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *parts[2];
  size_t n = fuzz_split(data, size, parts, 2);
  fuzz_layer_name(parts[0]);
  char *clean = fuzz_member(parts[0]);
  if (n == 2) {
    fuzz_layer_name(parts[1]);
    if (clean)
      fuzz_link(parts[0], clean, parts[1]);
  }
  free(clean);
  fuzz_parts_free(parts);
  return 0;
}
