/* Unit tests for src/imageref.c: docker's reference grammar, the registries
 * config (files in a private temp dir) and short-name resolution. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rl_error.h"
#include "rl_imageref.h"
#include "rl_util.h"

int rl_log_level = 0;

#define D64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIG  "sha256:" D64
#define H16  "0123456789abcdef"
#define T128 H16 H16 H16 H16 H16 H16 H16 H16 /* the longest tag */
#define DIG2                                                                                       \
  "sha256:"                                                                                        \
  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

struct valid_case {
  const char *in, *registry, *repository, *tag, *digest;
};

static const struct valid_case valid[] = {
    {"alpine", NULL, "alpine", "latest", NULL},
    {"alpine:3.19", NULL, "alpine", "3.19", NULL},
    {"library/alpine", NULL, "library/alpine", "latest", NULL},
    {"user/app:v1", NULL, "user/app", "v1", NULL},
    {"a/b/c/d/e", NULL, "a/b/c/d/e", "latest", NULL},
    {"alpine@" DIG, NULL, "alpine", NULL, DIG},
    {"alpine:3.19@" DIG, NULL, "alpine", "3.19", DIG},
    {"docker.io/alpine", "docker.io", "library/alpine", "latest", NULL},
    {"docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge", NULL},
    {"docker.io/user/app", "docker.io", "user/app", "latest", NULL},
    {"index.docker.io/alpine", "docker.io", "library/alpine", "latest", NULL},
    {"index.docker.io/user/app:1", "docker.io", "user/app", "1", NULL},
    {"localhost/app", "localhost", "app", "latest", NULL},
    {"localhost:5000/app:dev", "localhost:5000", "app", "dev", NULL},
    {"127.0.0.1:5000/library/alpine", "127.0.0.1:5000", "library/alpine", "latest", NULL},
    {"127.0.0.1:5000/x@" DIG, "127.0.0.1:5000", "x", NULL, DIG},
    {"quay.io/org/team/image:1.0-rc_2", "quay.io", "org/team/image", "1.0-rc_2", NULL},
    {"registry.example.com:443/a/b/c/d:t@" DIG2, "registry.example.com:443", "a/b/c/d", "t", DIG2},
    {"Registry.Example.COM/app", "Registry.Example.COM", "app", "latest", NULL},
    {"my-registry.local/app", "my-registry.local", "app", "latest", NULL},
    {"example.com", NULL, "example.com", "latest", NULL}, /* no '/': a repository */
    {"localhost", NULL, "localhost", "latest", NULL},
    {"localhost:5000", NULL, "localhost", "5000", NULL}, /* docker reads this as a tag too */
    {"a.b_c__d-e---f", NULL, "a.b_c__d-e---f", "latest", NULL},
    {"x:_Tag.With-Mixed_CASE", NULL, "x", "_Tag.With-Mixed_CASE", NULL},
    {"ghcr.io/o/p:" T128, "ghcr.io", "o/p", T128, NULL},
    {"0", NULL, "0", "latest", NULL},
    {"a/localhost", NULL, "a/localhost", "latest", NULL},
    {"sub.domain.example:1/x/y", "sub.domain.example:1", "x/y", "latest", NULL},
};

static void assert_str_or_null(const char *expected, const char *actual, const char *what,
                               const char *in)
{
  if (expected == NULL && actual == NULL)
    return;
  if (expected == NULL || actual == NULL || strcmp(expected, actual) != 0)
    fail_msg("`%s`: %s is `%s`, expected `%s`", in, what, actual ? actual : "(null)",
             expected ? expected : "(null)");
}

static void test_parse_valid(void **state)
{
  for (size_t i = 0; i < RL_ARRAY_SIZE(valid); i++) {
    const struct valid_case *c = &valid[i];
    struct rl_imageref r;
    rl_error_t err = NULL;
    if (rl_imageref_parse(c->in, &r, &err) < 0)
      fail_msg("`%s` should parse: %s", c->in, err->msg);
    assert_str_or_null(c->registry, r.registry, "registry", c->in);
    assert_str_or_null(c->repository, r.repository, "repository", c->in);
    assert_str_or_null(c->tag, r.tag, "tag", c->in);
    assert_str_or_null(c->digest, r.digest, "digest", c->in);
    rl_imageref_free(&r);
  }
}

struct invalid_case {
  const char *in, *fragment;
};

static const struct invalid_case invalid[] = {
    {"", "empty"},
    {"Foo/bar", "repository names must be lowercase"},
    {"Alpine", "repository names must be lowercase"},
    {"quay.io/Org/app", "repository names must be lowercase"},
    {"alpine:", "tag after `:` is empty"},
    {"alpine:-x", "must start with a letter, a digit or `_`"},
    {"alpine:a+b", "character `+`"},
    {"alpine@", "digest after `@` is empty"},
    {"alpine@sha512:" D64 D64, "digest algorithm `sha512` is not supported"},
    {"alpine@sha256:abc", "64 lowercase hex digits"},
    {"alpine@sha256:"
     "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
     "64 lowercase hex digits"},
    {"alpine@" D64, "must be `sha256:`"},
    {":tag", "repository name is missing"},
    {"@" DIG, "repository name is missing"},
    {"a//b", "empty path component"},
    {"a/", "empty path component"},
    {"/a", "empty path component"},
    {"localhost/", "empty path component"},
    {"-a", "must start and end"},
    {"a-", "must start and end"},
    {"a..b", "separator `..`"},
    {"a._b", "separator `._`"},
    {"a___b", "separator `___`"},
    {"a b", "character ` `"},
    {"a:b:c", "character `:`"},
    {"[::1]:5000/app", "IPv6 addresses are not supported"},
    {"host:0/app", "invalid port `0`"},
    {"host:65536/app", "invalid port `65536`"},
    {"host:/app", "invalid port ``"},
    {"host:port/app", "invalid port `port`"},
    {"-bad.example/app", "not a valid host name"},
    {"bad..example/app", "not a valid host name"},
    {"bad_host.example/app", "character `_`"},
    {D64, "image id"},
};

static void test_parse_invalid(void **state)
{
  for (size_t i = 0; i < RL_ARRAY_SIZE(invalid); i++) {
    const struct invalid_case *c = &invalid[i];
    struct rl_imageref r;
    rl_error_t err = NULL;
    if (rl_imageref_parse(c->in, &r, &err) == 0)
      fail_msg("`%s` should not parse (got repository `%s`)", c->in, r.repository);
    assert_non_null(err);
    cleanup_free char *quoted = rl_xasprintf("invalid image reference `%s`: ", c->in);
    if (strstr(err->msg, quoted) != err->msg)
      fail_msg("`%s`: message `%s` does not start with `%s`", c->in, err->msg, quoted);
    if (strstr(err->msg, c->fragment) == NULL)
      fail_msg("`%s`: message `%s` lacks `%s`", c->in, err->msg, c->fragment);
    assert_null(r.repository);
    rl_error_free(&err);
  }
}

static void test_parse_lengths(void **state)
{
  /* 255 characters of name is the limit, the tag not counted. */
  char name[300];
  memset(name, 'a', sizeof(name));
  name[255] = '\0';
  struct rl_imageref r;
  rl_error_t err = NULL;
  assert_int_equal(rl_imageref_parse(name, &r, &err), 0);
  rl_imageref_free(&r);
  cleanup_free char *with_tag = rl_xasprintf("%s:t", name);
  assert_int_equal(rl_imageref_parse(with_tag, &r, &err), 0);
  rl_imageref_free(&r);
  name[255] = 'a';
  name[256] = '\0';
  assert_int_equal(rl_imageref_parse(name, &r, &err), -1);
  assert_non_null(strstr(err->msg, "256 characters long (at most 255)"));
  rl_error_free(&err);
  cleanup_free char *long_tag = rl_xasprintf("a:%0129d", 0);
  assert_int_equal(rl_imageref_parse(long_tag, &r, &err), -1);
  assert_non_null(strstr(err->msg, "129 characters long (at most 128)"));
  rl_error_free(&err);
}

static void test_string_round_trip(void **state)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"alpine", "alpine:latest"},
      {"docker.io/alpine", "docker.io/library/alpine:latest"},
      {"index.docker.io/user/app:1", "docker.io/user/app:1"},
      {"127.0.0.1:5000/x@" DIG, "127.0.0.1:5000/x@" DIG},
      {"quay.io/a/b:t@" DIG, "quay.io/a/b:t@" DIG},
      {"localhost:5000/app", "localhost:5000/app:latest"},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(cases); i++) {
    struct rl_imageref r, again;
    rl_error_t err = NULL;
    assert_int_equal(rl_imageref_parse(cases[i].in, &r, &err), 0);
    cleanup_free char *s = rl_imageref_string(&r);
    assert_string_equal(s, cases[i].out);
    /* The string parses back to the same parts. */
    assert_int_equal(rl_imageref_parse(s, &again, &err), 0);
    cleanup_free char *s2 = rl_imageref_string(&again);
    assert_string_equal(s2, s);
    rl_imageref_free(&r);
    rl_imageref_free(&again);
  }
}

static void test_parse_registry(void **state)
{
  char *out = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_imageref_parse_registry("index.docker.io", &out, &err), 0);
  assert_string_equal(out, "docker.io");
  free(out);
  assert_int_equal(rl_imageref_parse_registry("127.0.0.1:5000", &out, &err), 0);
  assert_string_equal(out, "127.0.0.1:5000");
  free(out);
  const char *bad[] = {"", "https://quay.io", "quay.io/org", "host:99999", "a..b", "[::1]"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    assert_int_equal(rl_imageref_parse_registry(bad[i], &out, &err), -1);
    cleanup_free char *quoted = rl_xasprintf("invalid registry `%s`", bad[i]);
    if (strstr(err->msg, quoted) == NULL)
      fail_msg("`%s`: message `%s`", bad[i], err->msg);
    assert_null(out);
    rl_error_free(&err);
  }
}

/* ---- the registries config ---- */

struct env {
  char *dir;
};

static int setup_env(void **state)
{
  struct env *e = rl_xcalloc(1, sizeof(*e));
  e->dir = rl_xstrdup("/tmp/rless-test-imageref-XXXXXX");
  assert_non_null(mkdtemp(e->dir));
  setenv("HOME", e->dir, 1);
  unsetenv("XDG_CONFIG_HOME");
  unsetenv("RLESS_REGISTRIES_CONF");
  *state = e;
  return 0;
}

static int teardown_env(void **state)
{
  struct env *e = *state;
  assert_int_equal(rl_rmtree(e->dir, NULL), 0);
  free(e->dir);
  free(e);
  return 0;
}

static char *write_conf(const struct env *e, const char *name, const char *text)
{
  char *path = rl_xasprintf("%s/%s", e->dir, name);
  cleanup_free char *dir = rl_xstrdup(path);
  *strrchr(dir, '/') = '\0';
  cleanup_free char *cmd = rl_xasprintf("mkdir -p '%s'", dir);
  assert_int_equal(system(cmd), 0);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, text, strlen(text)), 0);
  close(fd);
  return path;
}

static const char full_conf[] =
    "{\"unqualified-search-registries\": [\"127.0.0.1:5000\", \"index.docker.io\"],\n"
    " \"aliases\": {\"alpine\": \"127.0.0.1:5000/library/alpine:latest\",\n"
    "               \"edge\": \"quay.io/x/edge:nightly\",\n"
    "               \"tools:v2\": \"quay.io/x/tools:2.0\"},\n"
    " \"registries\": [{\"prefix\": \"127.0.0.1:5000\", \"insecure\": true,\n"
    "                  \"mirrors\": [\"127.0.0.1:5001\"]},\n"
    "                 {\"prefix\": \"quay.io\"}]}\n";

static void test_conf_valid(void **state)
{
  struct env *e = *state;
  cleanup_free char *path = write_conf(e, "full.json", full_conf);
  struct rl_registries_conf c;
  rl_error_t err = NULL;
  if (rl_registries_conf_load(path, &c, &err) < 0)
    fail_msg("load: %s", err->msg);
  assert_string_equal(c.search[0], "127.0.0.1:5000");
  assert_string_equal(c.search[1], "docker.io"); /* folded */
  assert_null(c.search[2]);
  assert_string_equal(c.alias_names[0], "alpine");
  assert_string_equal(c.alias_targets[0], "127.0.0.1:5000/library/alpine:latest");
  assert_non_null(c.alias_names[2]);
  assert_null(c.alias_names[3]);
  assert_int_equal(c.n_registries, 2);
  const struct rl_registry_conf *rc = rl_registries_find(&c, "127.0.0.1:5000");
  assert_non_null(rc);
  assert_true(rc->insecure);
  assert_string_equal(rc->mirrors[0], "127.0.0.1:5001");
  assert_null(rc->mirrors[1]);
  rc = rl_registries_find(&c, "quay.io");
  assert_non_null(rc);
  assert_false(rc->insecure);
  assert_null(rc->mirrors[0]);
  assert_null(rl_registries_find(&c, "127.0.0.1"));       /* the port is part of the host */
  assert_null(rl_registries_find(&c, "127.0.0.1:50000")); /* exact, not a prefix match */
  assert_null(rl_registries_find(&c, NULL));
  rl_registries_conf_free(&c);
}

static void test_conf_sources(void **state)
{
  struct env *e = *state;
  struct rl_registries_conf c;
  rl_error_t err = NULL;

  /* No file anywhere: the defaults. */
  assert_int_equal(rl_registries_conf_load(NULL, &c, &err), 0);
  assert_string_equal(c.search[0], "docker.io");
  assert_null(c.search[1]);
  assert_null(c.alias_names[0]);
  assert_int_equal(c.n_registries, 0);
  rl_registries_conf_free(&c);

  /* The default file under ~/.config, then XDG_CONFIG_HOME's. */
  cleanup_free char *home_conf =
      write_conf(e, ".config/rless/registries.json",
                 "{\"unqualified-search-registries\": [\"home.example\"]}");
  assert_int_equal(rl_registries_conf_load(NULL, &c, &err), 0);
  assert_string_equal(c.search[0], "home.example");
  rl_registries_conf_free(&c);
  cleanup_free char *xdg = rl_xasprintf("%s/xdg", e->dir);
  setenv("XDG_CONFIG_HOME", xdg, 1);
  assert_int_equal(rl_registries_conf_load(NULL, &c, &err), 0); /* missing there: defaults */
  assert_string_equal(c.search[0], "docker.io");
  rl_registries_conf_free(&c);
  cleanup_free char *xdg_conf = write_conf(
      e, "xdg/rless/registries.json", "{\"unqualified-search-registries\": [\"xdg.example\"]}");
  assert_int_equal(rl_registries_conf_load(NULL, &c, &err), 0);
  assert_string_equal(c.search[0], "xdg.example");
  rl_registries_conf_free(&c);

  /* $RLESS_REGISTRIES_CONF beats the default; the path argument beats both. */
  cleanup_free char *env_conf =
      write_conf(e, "env.json", "{\"unqualified-search-registries\": [\"env.example\"]}");
  setenv("RLESS_REGISTRIES_CONF", env_conf, 1);
  assert_int_equal(rl_registries_conf_load(NULL, &c, &err), 0);
  assert_string_equal(c.search[0], "env.example");
  rl_registries_conf_free(&c);
  cleanup_free char *arg_conf =
      write_conf(e, "arg.json", "{\"unqualified-search-registries\": []}");
  assert_int_equal(rl_registries_conf_load(arg_conf, &c, &err), 0);
  assert_null(c.search[0]); /* explicitly none */
  rl_registries_conf_free(&c);

  /* An explicit file that is missing is an error; so is the variable's. */
  cleanup_free char *missing = rl_xasprintf("%s/nope.json", e->dir);
  assert_int_equal(rl_registries_conf_load(missing, &c, &err), -1);
  assert_non_null(strstr(err->msg, missing));
  assert_int_equal(err->errnum, ENOENT);
  assert_non_null(err->hint);
  rl_error_free(&err);
  setenv("RLESS_REGISTRIES_CONF", missing, 1);
  assert_int_equal(rl_registries_conf_load(NULL, &c, &err), -1);
  assert_non_null(strstr(err->msg, missing));
  assert_non_null(strstr(err->msg, "RLESS_REGISTRIES_CONF"));
  rl_error_free(&err);
  assert_null(c.search);
  unsetenv("RLESS_REGISTRIES_CONF");
  unsetenv("XDG_CONFIG_HOME");
}

struct bad_conf {
  const char *text, *fragments[3];
};

static const struct bad_conf bad_confs[] = {
    {"{\"search\": []}", {"unknown key `search`", "unqualified-search-registries"}},
    {"{\"unqualified-search-registries\": \"docker.io\"}",
     {"`unqualified-search-registries` must be an array"}},
    {"{\"unqualified-search-registries\": [5]}",
     {"`unqualified-search-registries[0]` must be a string"}},
    {"{\"unqualified-search-registries\": [\"https://x.io\"]}",
     {"`unqualified-search-registries[0]`", "invalid registry `https://x.io`"}},
    {"{\"aliases\": []}", {"`aliases` must be an object"}},
    {"{\"aliases\": {\"a\": 1}}", {"`aliases.a` must be a string"}},
    {"{\"aliases\": {\"a\": \"alpine\"}}", {"alias `a`", "must be fully qualified"}},
    {"{\"aliases\": {\"a\": \"quay.io/Bad\"}}", {"alias `a`", "must be lowercase"}},
    {"{\"aliases\": {\"quay.io/a\": \"quay.io/b\"}}", {"alias `quay.io/a`", "short names"}},
    {"{\"registries\": {}}", {"`registries` must be an array"}},
    {"{\"registries\": [\"quay.io\"]}", {"`registries[0]` must be an object"}},
    {"{\"registries\": [{\"insecure\": true}]}", {"`registries[0]` has no `prefix`"}},
    {"{\"registries\": [{\"prefix\": \"a.io\"}, {\"prefix\": \"b.io\", \"insecure\": \"yes\"}]}",
     {"`registries[1].insecure` must be true or false"}},
    {"{\"registries\": [{\"prefix\": 1}]}", {"`registries[0].prefix` must be a string"}},
    {"{\"registries\": [{\"prefix\": \"a.io\", \"mirrors\": \"b.io\"}]}",
     {"`registries[0].mirrors` must be an array"}},
    {"{\"registries\": [{\"prefix\": \"a.io\", \"mirror\": []}]}",
     {"unknown key `registries[0].mirror`"}},
    {"{\"registries\": [{\"prefix\": \"a.io\"}, {\"prefix\": \"a.io\"}]}",
     {"prefix `a.io` is already in registries[0]"}},
    {"[\"docker.io\"]", {"must hold one JSON object"}},
    {"{\"aliases\": {}, \"aliases\": {}}", {"invalid JSON", "line 1"}},
    {"{\n  \"aliases\": {\n    \"a\": \"quay.io/a\",\n  }\n}", {"invalid JSON at line 4, column"}},
    {"", {"invalid JSON at line"}},
};

static void test_conf_invalid(void **state)
{
  struct env *e = *state;
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad_confs); i++) {
    cleanup_free char *path = write_conf(e, "bad.json", bad_confs[i].text);
    struct rl_registries_conf c;
    rl_error_t err = NULL;
    if (rl_registries_conf_load(path, &c, &err) == 0)
      fail_msg("config `%s` should be refused", bad_confs[i].text);
    cleanup_free char *named = rl_xasprintf("registries config `%s`", path);
    if (strstr(err->msg, named) == NULL)
      fail_msg("`%s`: message `%s` does not name the file", bad_confs[i].text, err->msg);
    for (size_t j = 0; j < RL_ARRAY_SIZE(bad_confs[i].fragments) && bad_confs[i].fragments[j]; j++)
      if (strstr(err->msg, bad_confs[i].fragments[j]) == NULL)
        fail_msg("`%s`: message `%s` lacks `%s`", bad_confs[i].text, err->msg,
                 bad_confs[i].fragments[j]);
    /* Nothing half-loaded is left behind. */
    assert_null(c.search);
    assert_null(c.registries);
    assert_int_equal(c.n_registries, 0);
    rl_error_free(&err);
  }
}

/* ---- resolution ---- */

/* Resolve `name` and compare the candidates' strings with the NULL-terminated `want`. */
static void assert_resolves(const struct rl_registries_conf *c, const char *name,
                            const char *const *want)
{
  struct rl_imageref *cands = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  if (rl_imageref_resolve(name, c, &cands, &n, &err) < 0)
    fail_msg("resolve `%s`: %s", name, err->msg);
  size_t nwant = 0;
  while (want[nwant])
    nwant++;
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *s = rl_imageref_string(&cands[i]);
    if (i >= nwant || strcmp(s, want[i]) != 0)
      fail_msg("resolve `%s`: candidate %zu is `%s`, expected `%s`", name, i, s,
               i < nwant ? want[i] : "(none)");
    assert_non_null(cands[i].registry);
    rl_imageref_free(&cands[i]);
  }
  if (n != nwant)
    fail_msg("resolve `%s`: %zu candidates, expected %zu", name, n, nwant);
  free(cands);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_resolve(void **state)
{
  struct env *e = *state;
  cleanup_free char *path = write_conf(e, "full.json", full_conf);
  struct rl_registries_conf c;
  rl_error_t err = NULL;
  assert_int_equal(rl_registries_conf_load(path, &c, &err), 0);

  /* Aliases: as typed, without :latest, and by the bare name with the typed tag or digest. */
  assert_resolves(&c, "alpine", WANT("127.0.0.1:5000/library/alpine:latest"));
  assert_resolves(&c, "alpine:latest", WANT("127.0.0.1:5000/library/alpine:latest"));
  assert_resolves(&c, "alpine:3.19", WANT("127.0.0.1:5000/library/alpine:3.19"));
  assert_resolves(&c, "alpine@" DIG, WANT("127.0.0.1:5000/library/alpine@" DIG));
  assert_resolves(&c, "edge", WANT("quay.io/x/edge:nightly"));
  assert_resolves(&c, "edge:latest", WANT("quay.io/x/edge:nightly"));
  assert_resolves(&c, "tools:v2", WANT("quay.io/x/tools:2.0"));
  /* Short names: one candidate per search registry, library/ only on docker.io. */
  assert_resolves(&c, "busybox",
                  WANT("127.0.0.1:5000/busybox:latest", "docker.io/library/busybox:latest"));
  assert_resolves(&c, "user/app:1", WANT("127.0.0.1:5000/user/app:1", "docker.io/user/app:1"));
  assert_resolves(&c, "busybox@" DIG,
                  WANT("127.0.0.1:5000/busybox@" DIG, "docker.io/library/busybox@" DIG));
  assert_resolves(&c, "tools",
                  WANT("127.0.0.1:5000/tools:latest", "docker.io/library/tools:latest"));
  /* Qualified names are themselves, aliases or not. */
  assert_resolves(&c, "quay.io/x/alpine:1", WANT("quay.io/x/alpine:1"));
  assert_resolves(&c, "docker.io/alpine", WANT("docker.io/library/alpine:latest"));
  assert_resolves(&c, "localhost:5000/a@" DIG, WANT("localhost:5000/a@" DIG));
  rl_registries_conf_free(&c);

  /* The built-in defaults. */
  setenv("HOME", "/nonexistent", 1);
  assert_int_equal(rl_registries_conf_load(NULL, &c, &err), 0);
  assert_resolves(&c, "alpine", WANT("docker.io/library/alpine:latest"));
  assert_resolves(&c, "a/b:c", WANT("docker.io/a/b:c"));
  rl_registries_conf_free(&c);
  setenv("HOME", e->dir, 1);
}

static void test_resolve_errors(void **state)
{
  struct env *e = *state;
  cleanup_free char *path = write_conf(e, "none.json",
                                       "{\"unqualified-search-registries\": [],"
                                       " \"aliases\": {\"alpine\": \"quay.io/a/alpine\"}}");
  struct rl_registries_conf c;
  rl_error_t err = NULL;
  assert_int_equal(rl_registries_conf_load(path, &c, &err), 0);
  assert_resolves(&c, "alpine", WANT("quay.io/a/alpine:latest"));
  assert_resolves(&c, "quay.io/b", WANT("quay.io/b:latest"));

  struct rl_imageref *cands = (void *)1;
  size_t n = 7;
  assert_int_equal(rl_imageref_resolve("busybox", &c, &cands, &n, &err), -1);
  assert_non_null(strstr(err->msg, "short name `busybox`"));
  assert_non_null(strstr(err->msg, "no unqualified-search-registries"));
  assert_non_null(err->hint);
  assert_non_null(strstr(err->hint, "unqualified-search-registries"));
  assert_non_null(strstr(err->hint, "docker.io/library/busybox"));
  assert_null(cands);
  assert_int_equal(n, 0);
  rl_error_free(&err);

  assert_int_equal(rl_imageref_resolve("Busybox", &c, &cands, &n, &err), -1);
  assert_non_null(strstr(err->msg, "invalid image reference `Busybox`"));
  rl_error_free(&err);
  rl_registries_conf_free(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_valid),
      cmocka_unit_test(test_parse_invalid),
      cmocka_unit_test(test_parse_lengths),
      cmocka_unit_test(test_string_round_trip),
      cmocka_unit_test(test_parse_registry),
      cmocka_unit_test_setup_teardown(test_conf_valid, setup_env, teardown_env),
      cmocka_unit_test_setup_teardown(test_conf_sources, setup_env, teardown_env),
      cmocka_unit_test_setup_teardown(test_conf_invalid, setup_env, teardown_env),
      cmocka_unit_test_setup_teardown(test_resolve, setup_env, teardown_env),
      cmocka_unit_test_setup_teardown(test_resolve_errors, setup_env, teardown_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
