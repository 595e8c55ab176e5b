/* libFuzzer target for image references (rl_imageref_parse, _string,
 * _parse_registry, _resolve) and the names of archives
 * (rl_archive_name_normalize).  References come from the command line,
 * images.json, archives' RepoTags and annotations, and aliases.
 *
 * Invariants: what parses is in docker's grammar (lowercase repository,
 * tag charset and length, sha256 digest) and spells itself back into the
 * same reference; every resolution candidate is qualified and parses. */
#include "fuzz.h"
#include "rl_archive.h"
#include "rl_imageref.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

static bool repository_ok(const char *r)
{
  if (r == NULL || *r == '\0' || r[0] == '/' || r[strlen(r) - 1] == '/' || strstr(r, "//"))
    return false;
  return strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789._-/") == strlen(r);
}

static bool tag_ok(const char *t)
{
  size_t n = strlen(t);
  return n >= 1 && n <= 128 && t[0] != '.' && t[0] != '-' &&
         strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void check_ref(const struct rl_imageref *r)
{
  FUZZ_CHECK(repository_ok(r->repository));
  FUZZ_CHECK(r->tag || r->digest);
  FUZZ_CHECK(r->tag == NULL || tag_ok(r->tag));
  FUZZ_CHECK(r->digest == NULL || fuzz_digest_ok(r->digest));
  FUZZ_CHECK(r->registry == NULL || (*r->registry && strchr(r->registry, '/') == NULL &&
                                     strcmp(r->registry, "index.docker.io") != 0));
}

/* The canonical string parses back into the same reference. */
static void check_round_trip(const struct rl_imageref *r)
{
  cleanup_free char *s = rl_imageref_string(r);
  struct rl_imageref again;
  rl_error_t err = NULL;
  int ret = rl_imageref_parse(s, &again, &err);
  if (ret < 0)
    fprintf(stderr, "`%s` does not parse again: %s\n", s, err->msg);
  FUZZ_CHECK(ret == 0);
  FUZZ_CHECK(fuzz_streq(again.registry, r->registry));
  FUZZ_CHECK(fuzz_streq(again.repository, r->repository));
  FUZZ_CHECK(fuzz_streq(again.tag, r->tag));
  FUZZ_CHECK(fuzz_streq(again.digest, r->digest));
  rl_imageref_free(&again);
}

static void fuzz_parse(const char *s)
{
  struct rl_imageref r;
  rl_error_t err = NULL;
  int ret = rl_imageref_parse(s, &r, &err);
  FUZZ_CHECK_ERR(ret, err);
  if (ret == 0) {
    check_ref(&r);
    check_round_trip(&r);
  } else {
    FUZZ_CHECK(r.registry == NULL && r.repository == NULL && r.tag == NULL && r.digest == NULL);
  }
  rl_imageref_free(&r);
  rl_error_free(&err);
}

static void fuzz_registry(const char *s)
{
  char *out = NULL;
  rl_error_t err = NULL;
  int ret = rl_imageref_parse_registry(s, &out, &err);
  FUZZ_CHECK_ERR(ret, err);
  FUZZ_CHECK((ret == 0) == (out != NULL));
  if (out) {
    size_t n = strlen(out);
    FUZZ_CHECK(n > 0 && n <= 255 && strcmp(out, "index.docker.io") != 0);
    FUZZ_CHECK(strspn(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") ==
               n);
  }
  free(out);
  rl_error_free(&err);
}

static void fuzz_resolve(const char *s)
{
  char *search[] = {"docker.io", "quay.io", "127.0.0.1:5000", NULL};
  char *alias_names[] = {"alpine", "tools/dev", NULL};
  char *alias_targets[] = {"docker.io/library/alpine:3.19",
                           "quay.io/tools/dev@sha256:"
                           "0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef",
                           NULL};
  struct rl_registries_conf c = {
      .search = search, .alias_names = alias_names, .alias_targets = alias_targets};
  struct rl_imageref *list = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  int ret = rl_imageref_resolve(s, &c, &list, &n, &err);
  FUZZ_CHECK_ERR(ret, err);
  FUZZ_CHECK((ret == 0) == (n > 0) && n <= 3);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(list[i].registry != NULL);
    check_ref(&list[i]);
    check_round_trip(&list[i]);
    rl_imageref_free(&list[i]);
  }
  free(list);
  rl_error_free(&err);
}

static void fuzz_normalize(const char *s, bool docker)
{
  char *out = NULL;
  rl_error_t err = NULL;
  int ret = rl_archive_name_normalize(s, docker, &out, &err);
  FUZZ_CHECK_ERR(ret, err);
  if (ret == 0) {
    struct rl_imageref r;
    rl_error_t perr = NULL;
    FUZZ_CHECK(rl_imageref_parse(out, &r, &perr) == 0 && r.registry != NULL);
    rl_imageref_free(&r);
  }
  free(out);
  rl_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *parts[1];
  fuzz_split(data, size, parts, 1);
  fuzz_parse(parts[0]);
  fuzz_registry(parts[0]);
  fuzz_resolve(parts[0]);
  fuzz_normalize(parts[0], true);
  fuzz_normalize(parts[0], false);
  fuzz_parts_free(parts);
  return 0;
}
