/* Unit tests for src/registry*.c: the WWW-Authenticate parser; blob and
 * manifest transfers against tests/registry/fake_registry.py (faults on
 * demand: dropped connections, ignored Range, 5xx, redirects, expiring
 * tokens, basic auth); and, when tests/registry/run-tests.sh set
 * RLESS_TEST_REGISTRY*, against real docker-registry instances. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rl_auth.h"
#include "rl_error.h"
#include "rl_registry.h"
#include "rl_util.h"

int rl_log_level = 0;

/* ---- WWW-Authenticate ---- */

static void parse_ok(const char *v, struct rl_auth_challenge *c)
{
  rl_error_t err = NULL;
  if (rl_www_auth_parse(v, c, &err) < 0)
    fail_msg("parse `%s`: %s", v, err->msg);
}

static void test_www_auth_bearer(void **state)
{
  struct rl_auth_challenge c;
  parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
           "scope=\"repository:library/busybox:pull\"",
           &c);
  assert_int_equal(c.scheme, RL_AUTH_BEARER);
  assert_string_equal(c.realm, "https://auth.docker.io/token");
  assert_string_equal(c.service, "registry.docker.io");
  assert_string_equal(c.scope, "repository:library/busybox:pull");
  assert_null(c.error);
  rl_auth_challenge_free(&c);

  /* Case-insensitive names, spaces around '=' and ',', token values, escapes, a comma and an
   * escaped quote inside a quoted string, unknown parameters. */
  parse_ok("bearer  Realm = \"https://x/t?a=1,b=2\" ,  SERVICE=reg.example ,"
           "error=\"insufficient_scope\", foo=\"b\\\"a\\\\r\",scope=\"repository:a/b:pull,push\"",
           &c);
  assert_int_equal(c.scheme, RL_AUTH_BEARER);
  assert_string_equal(c.realm, "https://x/t?a=1,b=2");
  assert_string_equal(c.service, "reg.example");
  assert_string_equal(c.error, "insufficient_scope");
  assert_string_equal(c.scope, "repository:a/b:pull,push");
  rl_auth_challenge_free(&c);
}

static void test_www_auth_several(void **state)
{
  struct rl_auth_challenge c;
  /* Bearer wins over Basic wherever it is; other schemes are skipped whole. */
  parse_ok("Basic realm=\"basic\", Negotiate abc123==, Bearer realm=\"https://t\",service=\"s\"",
           &c);
  assert_int_equal(c.scheme, RL_AUTH_BEARER);
  assert_string_equal(c.realm, "https://t");
  assert_string_equal(c.service, "s");
  rl_auth_challenge_free(&c);

  parse_ok("Digest realm=\"d\", nonce=\"n\", Basic realm=\"Registry Realm\"", &c);
  assert_int_equal(c.scheme, RL_AUTH_BASIC);
  assert_string_equal(c.realm, "Registry Realm");
  assert_null(c.service);
  rl_auth_challenge_free(&c);

  parse_ok("Basic", &c);
  assert_int_equal(c.scheme, RL_AUTH_BASIC);
  assert_null(c.realm);
  rl_auth_challenge_free(&c);
}

static void test_www_auth_bad(void **state)
{
  const char *bad[] = {
      "",
      "Bearer realm=\"https://t",             /* unterminated quote */
      "Bearer service=\"s\"",                 /* no realm */
      "Digest realm=\"d\"",                   /* nothing we speak */
      "Bearer realm=\"https://t\" service=x", /* missing comma */
      "=realm",
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    rl_error_t err = NULL;
    struct rl_auth_challenge c;
    if (rl_www_auth_parse(bad[i], &c, &err) == 0)
      fail_msg("`%s` parsed", bad[i]);
    assert_non_null(err);
    rl_error_free(&err);
  }
}

/* ---- helpers for transfers ---- */

struct mem {
  char *data;
  size_t len;
  size_t calls;
  bool fail; /* the sink refuses */
};

static int mem_sink(void *ctx, const void *data, size_t len, rl_error_t *err)
{
  struct mem *m = ctx;
  if (m->fail)
    return rl_make_error(err, EPIPE, "test sink refuses");
  m->data = rl_xrealloc(m->data, m->len + len);
  memcpy(m->data + m->len, data, len);
  m->len += len;
  m->calls++;
  return 0;
}

static char *sha256_hex(const void *data, size_t len)
{
  unsigned char bin[32];
  unsigned int n = 0;
  EVP_Digest(data, len, bin, &n, EVP_sha256(), NULL);
  char *out = rl_xmalloc(65);
  for (unsigned int i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", bin[i]);
  return out;
}

static char *random_bytes(size_t n, unsigned seed)
{
  char *b = rl_xmalloc(n);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    b[i] = (char)(seed >> 16);
  }
  return b;
}

static void put_file(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, data, len), 0);
  close(fd);
}

struct fake {
  pid_t pid;
  char *root, *log, *registry;
};

static char *script_path(void)
{
  const char *src = getenv("RLESS_SRCDIR");
  return rl_xasprintf("%s/tests/registry/fake_registry.py", src ? src : ".");
}

/* false when python3 or the script is missing: the caller skips. */
static bool fake_start(struct fake *f, const char *const *args)
{
  cleanup_free char *script = script_path();
  if (access(script, R_OK) != 0 || system("command -v python3 >/dev/null 2>&1") != 0)
    return false;
  f->root = rl_xstrdup("/tmp/rless-test-registry-XXXXXX");
  assert_non_null(mkdtemp(f->root));
  cleanup_free char *blobs = rl_xasprintf("%s/blobs", f->root);
  cleanup_free char *manifests = rl_xasprintf("%s/manifests", f->root);
  assert_int_equal(mkdir(blobs, 0755), 0);
  assert_int_equal(mkdir(manifests, 0755), 0);
  f->log = rl_xasprintf("%s/requests.log", f->root);
  cleanup_free char *portfile = rl_xasprintf("%s/port", f->root);
  rl_strv_t argv = {0};
  rl_strv_push(&argv, "python3");
  rl_strv_push(&argv, script);
  rl_strv_push(&argv, f->root);
  rl_strv_push(&argv, "--port-file");
  rl_strv_push(&argv, portfile);
  rl_strv_push(&argv, "--log");
  rl_strv_push(&argv, f->log);
  for (size_t i = 0; args && args[i]; i++)
    rl_strv_push(&argv, args[i]);
  f->pid = fork();
  assert_true(f->pid >= 0);
  if (f->pid == 0) {
    /* Its tracebacks (clients that hang up on purpose) go to a file, not the test's output. */
    cleanup_free char *out = rl_xasprintf("%s/server.log", f->root);
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execvp("python3", argv.v);
    _exit(127);
  }
  rl_strv_free(&argv);
  for (int i = 0; i < 200; i++) {
    cleanup_free char *port = rl_read_file_at(AT_FDCWD, portfile, 64, NULL);
    if (port) {
      port[strcspn(port, "\n")] = '\0';
      f->registry = rl_xasprintf("127.0.0.1:%s", port);
      return true;
    }
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
  }
  fail_msg("fake registry did not start");
  return false;
}

static void fake_stop(struct fake *f)
{
  if (f->pid > 0) {
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
  }
  if (f->root)
    rl_rmtree(f->root, NULL);
  free(f->root);
  free(f->log);
  free(f->registry);
  *f = (struct fake){0};
}

#define FAKE_START(f, ...)                                                                         \
  do {                                                                                             \
    const char *const fake_args_[] = {__VA_ARGS__, NULL};                                          \
    if (!fake_start(f, fake_args_))                                                                \
      skip();                                                                                      \
  } while (0)

/* Put a blob into the fake registry; returns its digest. */
static char *fake_blob(struct fake *f, const char *data, size_t len)
{
  cleanup_free char *hex = sha256_hex(data, len);
  cleanup_free char *path = rl_xasprintf("%s/blobs/%s", f->root, hex);
  put_file(path, data, len);
  return rl_xasprintf("sha256:%s", hex);
}

static size_t count_lines(const char *path, const char *needle)
{
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, 1 << 20, NULL);
  size_t n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

static struct rl_registry *open_reg(const char *registry, const char *repo, const char *auth_file)
{
  struct rl_registry_opts o = {.registry = registry,
                               .insecure = true,
                               .auth_file = auth_file,
                               .progress = RL_PROGRESS_QUIET};
  struct rl_registry *r = NULL;
  rl_error_t err = NULL;
  if (rl_registry_open(&o, repo, &r, &err) < 0)
    fail_msg("open %s: %s", registry, err->msg);
  return r;
}

/* Fetch one blob; 0 or -1 with *err. */
static int fetch_one(struct rl_registry *r, const char *digest, long long size, struct mem *m,
                     rl_error_t *err)
{
  struct rl_blob_req req = {.digest = digest, .size = size, .sink = mem_sink, .ctx = m};
  return rl_registry_fetch_blobs(r, &req, 1, err);
}

static void assert_fetches(struct fake *f, const char *data, size_t len)
{
  cleanup_free char *digest = fake_blob(f, data, len);
  struct rl_registry *r = open_reg(f->registry, "test/blob", NULL);
  struct mem m = {0};
  rl_error_t err = NULL;
  if (fetch_one(r, digest, (long long)len, &m, &err) < 0)
    fail_msg("fetch: %s", err->msg);
  assert_int_equal(m.len, len);
  assert_memory_equal(m.data, data, len);
  free(m.data);
  rl_registry_close(r);
}

/* ---- blobs against the fake registry ---- */

static void test_blob_plain(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--fail-first", "0");
  cleanup_free char *data = random_bytes(300000, 1);
  assert_fetches(&f, data, 300000);
  assert_int_equal(count_lines(f.log, "range=bytes"), 0);
  fake_stop(&f);
}

static void test_blob_resume_after_drop(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--drop-once");
  size_t n = 3 << 20;
  cleanup_free char *data = random_bytes(n, 2);
  assert_fetches(&f, data, n);
  /* The retry asked for the rest only. */
  assert_int_equal(count_lines(f.log, "range=bytes="), 1);
  assert_int_equal(count_lines(f.log, "-> 206"), 1);
  fake_stop(&f);
}

static void test_blob_range_ignored(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--drop-once", "--ignore-range");
  size_t n = 1 << 20;
  cleanup_free char *data = random_bytes(n, 3);
  assert_fetches(&f, data, n); /* the resent first half is skipped, not passed on twice */
  assert_int_equal(count_lines(f.log, "range=bytes="), 1);
  fake_stop(&f);
}

static void test_blob_redirect(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--redirect", "--drop-once");
  size_t n = 700000;
  cleanup_free char *data = random_bytes(n, 4);
  assert_fetches(&f, data, n);
  assert_int_equal(count_lines(f.log, "-> 307"), 2);
  assert_int_equal(count_lines(f.log, "GET /storage/"), 2);
  fake_stop(&f);
}

static void test_blob_5xx_retry(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--fail-first", "3");
  cleanup_free char *data = random_bytes(5000, 5);
  assert_fetches(&f, data, 5000); /* 3 failures, the 4th attempt works */
  assert_int_equal(count_lines(f.log, "-> 503"), 3);
  fake_stop(&f);
}

static void test_blob_5xx_gives_up(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--fail-first", "10");
  cleanup_free char *data = random_bytes(5000, 6);
  cleanup_free char *digest = fake_blob(&f, data, 5000);
  struct rl_registry *r = open_reg(f.registry, "test/blob", NULL);
  struct mem m = {0};
  rl_error_t err = NULL;
  assert_int_equal(fetch_one(r, digest, 5000, &m, &err), -1);
  assert_non_null(strstr(err->msg, digest));
  assert_non_null(strstr(err->msg, f.registry));
  assert_non_null(strstr(err->msg, "test/blob"));
  assert_non_null(strstr(err->msg, "HTTP 503"));
  assert_non_null(strstr(err->msg, "after 4 attempts"));
  assert_int_equal(m.len, 0);
  rl_error_free(&err);
  rl_registry_close(r);
  fake_stop(&f);
}

static void test_blob_bad_content(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--drop-once");
  size_t n = 200000;
  cleanup_free char *data = random_bytes(n, 7);
  cleanup_free char *digest = fake_blob(&f, data, n);
  cleanup_free char *path = rl_xasprintf("%s/blobs/%s", f.root, digest + 7);
  data[n / 3] ^= 0x5a; /* same size, other content */
  put_file(path, data, n);
  cleanup_free char *actual = sha256_hex(data, n);
  struct rl_registry *r = open_reg(f.registry, "test/blob", NULL);
  struct mem m = {0};
  rl_error_t err = NULL;
  assert_int_equal(fetch_one(r, digest, (long long)n, &m, &err), -1);
  assert_non_null(strstr(err->msg, digest));
  assert_non_null(strstr(err->msg, "content does not match its digest"));
  assert_non_null(strstr(err->msg, actual));
  rl_error_free(&err);
  free(m.data);

  /* Longer than the manifest says: stopped at the limit, never passed on. */
  m = (struct mem){0};
  assert_int_equal(fetch_one(r, digest, (long long)n - 10, &m, &err), -1);
  assert_non_null(strstr(err->msg, "larger than the manifest says"));
  assert_true(m.len <= n - 10);
  rl_error_free(&err);
  free(m.data);

  /* Missing, and not a digest at all. */
  m = (struct mem){0};
  cleanup_free char *other = rl_xasprintf("sha256:%064d", 0);
  assert_int_equal(fetch_one(r, other, 10, &m, &err), -1);
  assert_non_null(strstr(err->msg, "not found"));
  assert_non_null(strstr(err->msg, "HTTP 404"));
  rl_error_free(&err);
  assert_int_equal(fetch_one(r, "sha256:../../etc", 10, &m, &err), -1);
  assert_non_null(strstr(err->msg, "not a sha256 digest"));
  rl_error_free(&err);
  rl_registry_close(r);
  fake_stop(&f);
}

static void test_blob_sink_error(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--fail-first", "0");
  cleanup_free char *data = random_bytes(100000, 8);
  cleanup_free char *digest = fake_blob(&f, data, 100000);
  struct rl_registry *r = open_reg(f.registry, "test/blob", NULL);
  struct mem m = {.fail = true};
  rl_error_t err = NULL;
  assert_int_equal(fetch_one(r, digest, 100000, &m, &err), -1);
  assert_string_equal(err->msg, "test sink refuses");
  assert_int_equal(err->errnum, EPIPE);
  assert_int_equal(count_lines(f.log, "GET /v2/test/blob/blobs/"), 1); /* not retried */
  rl_error_free(&err);
  rl_registry_close(r);
  fake_stop(&f);
}

static void test_blob_parallel(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--drop-once", "--redirect");
  enum { N = 7 };
  char *data[N], *digest[N];
  struct mem m[N] = {{0}};
  struct rl_blob_req reqs[N];
  for (size_t i = 0; i < N; i++) {
    size_t len = 1000 + i * 150000;
    data[i] = random_bytes(len, 100 + (unsigned)i);
    digest[i] = fake_blob(&f, data[i], len);
    /* One with an unknown size: it ends when the server says so. */
    reqs[i] = (struct rl_blob_req){
        .digest = digest[i], .size = i == 3 ? -1 : (long long)len, .sink = mem_sink, .ctx = &m[i]};
  }
  struct rl_registry *r = open_reg(f.registry, "test/blob", NULL);
  rl_error_t err = NULL;
  if (rl_registry_fetch_blobs(r, reqs, N, &err) < 0)
    fail_msg("fetch: %s", err->msg);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(m[i].len, 1000 + i * 150000);
    assert_memory_equal(m[i].data, data[i], m[i].len);
    free(m[i].data);
    free(data[i]);
    free(digest[i]);
  }
  rl_registry_close(r);
  fake_stop(&f);
}

static char *capture_stderr(int *saved)
{
  char *path = rl_xstrdup("/tmp/rless-test-stderr-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  *saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  close(fd);
  return path;
}

static char *restore_stderr(int saved, char *path)
{
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  char *text = rl_read_file_at(AT_FDCWD, path, 1 << 20, NULL);
  unlink(path);
  free(path);
  return text;
}

static void test_progress_lines(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--drop-once");
  size_t n = 3 * 1024 * 1024 - 200 * 1024; /* 2.8 MiB */
  cleanup_free char *data = random_bytes(n, 9);
  cleanup_free char *digest = fake_blob(&f, data, n);
  struct rl_registry_opts o = {
      .registry = f.registry, .insecure = true, .progress = RL_PROGRESS_AUTO};
  struct rl_registry *r = NULL;
  rl_error_t err = NULL;
  int saved;
  char *path = capture_stderr(&saved); /* a file: AUTO means lines */
  assert_int_equal(rl_registry_open(&o, "test/blob", &r, &err), 0);
  struct mem m = {0}, c = {0};
  cleanup_free char *cdigest = fake_blob(&f, "{}", 2);
  struct rl_blob_req reqs[] = {
      {.digest = digest, .size = (long long)n, .sink = mem_sink, .ctx = &m, .label = digest + 7},
      {.digest = cdigest, .size = 2, .sink = mem_sink, .ctx = &c, .label = "config"}};
  int ret = rl_registry_fetch_blobs(r, reqs, 2, &err);
  cleanup_free char *text = restore_stderr(saved, path);
  assert_int_equal(ret, 0);
  cleanup_free char *start = rl_xasprintf("Copying blob %.12s…\n", digest + 7);
  cleanup_free char *done = rl_xasprintf("Copying blob %.12s… done 2.8 MiB\n", digest + 7);
  cleanup_free char *retry = rl_xasprintf("Copying blob %.12s… retrying: ", digest + 7);
  assert_non_null(strstr(text, start));
  assert_non_null(strstr(text, done));
  assert_non_null(strstr(text, retry));
  assert_non_null(strstr(text, "Copying config done 2 B\n"));
  free(m.data);
  free(c.data);
  rl_registry_close(r);
  fake_stop(&f);
}

/* ---- manifests against the fake registry ---- */

static const char oci_manifest[] = "application/vnd.oci.image.manifest.v1+json";

static char *fake_manifest(struct fake *f, const char *ref, const char *body, const char *type)
{
  cleanup_free char *path = rl_xasprintf("%s/manifests/%s", f->root, ref);
  cleanup_free char *tpath = rl_xasprintf("%s.type", path);
  put_file(path, body, strlen(body));
  put_file(tpath, type, strlen(type));
  cleanup_free char *hex = sha256_hex(body, strlen(body));
  return rl_xasprintf("sha256:%s", hex);
}

static void test_manifest(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--fail-first", "0");
  const char *body = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest."
                     "v1+json\",\"config\":{},\"layers\":[]}";
  cleanup_free char *digest = fake_manifest(&f, "latest", body, oci_manifest);
  free(
      fake_manifest(&f, digest, body, "application/vnd.oci.image.manifest.v1+json; charset=utf-8"));
  /* A registry that answers a digest with other content. */
  cleanup_free char *wrong = rl_xasprintf("sha256:%064d", 1);
  free(fake_manifest(&f, wrong, body, oci_manifest));
  struct rl_registry *r = open_reg(f.registry, "test/img", NULL);
  rl_error_t err = NULL;
  const char *refs[] = {"latest", digest};
  for (size_t i = 0; i < 2; i++) {
    cleanup_free char *got = NULL, *type = NULL, *d = NULL;
    size_t len = 0;
    if (rl_registry_manifest(r, refs[i], &got, &len, &type, &d, &err) < 0)
      fail_msg("manifest %s: %s", refs[i], err->msg);
    assert_int_equal(len, strlen(body));
    assert_string_equal(got, body);
    assert_string_equal(type, oci_manifest);
    assert_string_equal(d, digest);
  }
  char *got = NULL, *type = NULL, *d = NULL;
  size_t len = 0;
  assert_int_equal(rl_registry_manifest(r, wrong, &got, &len, &type, &d, &err), -1);
  assert_non_null(strstr(err->msg, wrong));
  assert_non_null(strstr(err->msg, digest));
  assert_non_null(strstr(err->msg, "does not match"));
  rl_error_free(&err);
  assert_int_equal(rl_registry_manifest(r, "nope", &got, &len, &type, &d, &err), -1);
  assert_non_null(strstr(err->msg, "manifest test/img:nope not found in"));
  assert_non_null(strstr(err->msg, "MANIFEST_UNKNOWN"));
  rl_error_free(&err);
  assert_int_equal(rl_registry_manifest(r, "a/../b", &got, &len, &type, &d, &err), -1);
  rl_error_free(&err);
  assert_int_equal(rl_registry_manifest(r, "sha512:abc", &got, &len, &type, &d, &err), -1);
  assert_non_null(strstr(err->msg, "only sha256"));
  rl_error_free(&err);
  rl_registry_close(r);
  fake_stop(&f);
}

static void test_open_refuses_bad_names(void **state)
{
  struct rl_registry_opts o = {.registry = "bad host/x", .progress = RL_PROGRESS_QUIET};
  struct rl_registry *r = NULL;
  rl_error_t err = NULL;
  assert_int_equal(rl_registry_open(&o, "library/busybox", &r, &err), -1);
  rl_error_free(&err);
  o.registry = "docker.io";
  const char *repos[] = {"", "/abs", "a/../b", "UPPER", "a b", "a?b"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(repos); i++) {
    assert_int_equal(rl_registry_open(&o, repos[i], &r, &err), -1);
    assert_non_null(err);
    rl_error_free(&err);
  }
  assert_int_equal(rl_registry_open(&o, "library/busybox", &r, &err), 0);
  rl_registry_close(r);
}

/* ---- auth against the fake registry ---- */

/* A private HOME so the user's own credentials never count. */
static char *private_home(void)
{
  char *home = rl_xstrdup("/tmp/rless-test-home-XXXXXX");
  assert_non_null(mkdtemp(home));
  setenv("HOME", home, 1);
  unsetenv("XDG_CONFIG_HOME");
  unsetenv("XDG_RUNTIME_DIR");
  unsetenv("REGISTRY_AUTH_FILE");
  return home;
}

static void test_bearer_reuse_and_refresh(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--bearer", "--token-uses", "3");
  cleanup_free char *home = private_home();
  const char *body = "{\"schemaVersion\":2}";
  free(fake_manifest(&f, "v1", body, oci_manifest));
  enum { N = 5 };
  char *data[N], *digest[N];
  struct mem m[N] = {{0}};
  struct rl_blob_req reqs[N];
  for (size_t i = 0; i < N; i++) {
    data[i] = random_bytes(10000, 200 + (unsigned)i);
    digest[i] = fake_blob(&f, data[i], 10000);
    reqs[i] =
        (struct rl_blob_req){.digest = digest[i], .size = 10000, .sink = mem_sink, .ctx = &m[i]};
  }
  struct rl_registry *r = open_reg(f.registry, "test/img", NULL);
  rl_error_t err = NULL;
  cleanup_free char *got = NULL, *type = NULL, *d = NULL;
  size_t len;
  if (rl_registry_manifest(r, "v1", &got, &len, &type, &d, &err) < 0)
    fail_msg("manifest: %s", err->msg);
  assert_int_equal(count_lines(f.log, "GET /token"), 1);
  assert_int_equal(
      count_lines(f.log, "GET /token?service=fake&scope=repository%3Atest%2Fimg%3Apull "), 1);
  /* 5 blobs, 2 uses left on the token: the others get 401 and each renews the token. */
  if (rl_registry_fetch_blobs(r, reqs, N, &err) < 0)
    fail_msg("blobs: %s", err->msg);
  for (size_t i = 0; i < N; i++) {
    assert_memory_equal(m[i].data, data[i], 10000);
    free(m[i].data);
    free(data[i]);
    free(digest[i]);
  }
  size_t tokens = count_lines(f.log, "GET /token");
  assert_true(tokens >= 2 && tokens <= 4);
  rl_registry_close(r);
  fake_stop(&f);
  rl_rmtree(home, NULL);
}

static void test_basic_auth(void **state)
{
  struct fake f = {0};
  FAKE_START(&f, "--basic", "alice:pa:ss");
  cleanup_free char *home = private_home();
  free(fake_manifest(&f, "v1", "{}", oci_manifest));
  cleanup_free char *auth = rl_xasprintf("%s/auth.json", home);
  rl_error_t err = NULL;
  cleanup_free char *got = NULL, *type = NULL, *d = NULL;
  size_t len;

  /* No credentials at all. */
  struct rl_registry *r = open_reg(f.registry, "test/img", auth);
  assert_int_equal(rl_registry_manifest(r, "v1", &got, &len, &type, &d, &err), -1);
  assert_non_null(strstr(err->msg, "refused access without credentials"));
  assert_non_null(strstr(err->hint, "rless login"));
  rl_error_free(&err);
  rl_registry_close(r);

  /* Wrong password. */
  assert_int_equal(rl_auth_store(auth, f.registry, "alice", "wrong", &err), 0);
  r = open_reg(f.registry, "test/img", auth);
  assert_int_equal(rl_registry_manifest(r, "v1", &got, &len, &type, &d, &err), -1);
  cleanup_free char *want =
      rl_xasprintf("authentication to %s failed: check `rless login %s`", f.registry, f.registry);
  assert_non_null(strstr(err->msg, want));
  rl_error_free(&err);
  rl_registry_close(r);

  /* Right password: the first request is anonymous, the rest send credentials at once. */
  assert_int_equal(rl_auth_store(auth, f.registry, "alice", "pa:ss", &err), 0);
  r = open_reg(f.registry, "test/img", auth);
  for (int i = 0; i < 2; i++) {
    free(got);
    free(type);
    free(d);
    got = type = d = NULL;
    if (rl_registry_manifest(r, "v1", &got, &len, &type, &d, &err) < 0)
      fail_msg("manifest: %s", err->msg);
  }
  assert_string_equal(got, "{}");
  rl_registry_close(r);
  fake_stop(&f);
  rl_rmtree(home, NULL);
}

/* ---- real docker-registry instances (tests/registry/run-tests.sh) ---- */

struct image {
  char *digest, *config, *layer;
  long long config_size, layer_size;
};

static void image_free(struct image *im)
{
  free(im->digest);
  free(im->config);
  free(im->layer);
}

/* The manifest of `tag`, by tag and again by digest. */
static int get_image(struct rl_registry *r, const char *tag, struct image *im, rl_error_t *err)
{
  cleanup_free char *body = NULL, *type = NULL;
  size_t len = 0;
  if (rl_registry_manifest(r, tag, &body, &len, &type, &im->digest, err) < 0)
    return -1;
  assert_string_equal(type, oci_manifest);
  json_t *root = json_loadb(body, len, 0, NULL);
  assert_non_null(root);
  json_t *cfg = json_object_get(root, "config");
  json_t *layer = json_array_get(json_object_get(root, "layers"), 0);
  im->config = rl_xstrdup(json_string_value(json_object_get(cfg, "digest")));
  im->config_size = json_integer_value(json_object_get(cfg, "size"));
  im->layer = rl_xstrdup(json_string_value(json_object_get(layer, "digest")));
  im->layer_size = json_integer_value(json_object_get(layer, "size"));
  json_decref(root);
  cleanup_free char *body2 = NULL, *type2 = NULL, *d2 = NULL;
  if (rl_registry_manifest(r, im->digest, &body2, &len, &type2, &d2, err) < 0)
    return -1;
  assert_string_equal(body2, body);
  assert_string_equal(d2, im->digest);
  return 0;
}

static int pull_image(struct rl_registry *r, const char *tag, rl_error_t *err)
{
  struct image im = {0};
  struct mem c = {0}, l = {0};
  int ret = get_image(r, tag, &im, err);
  if (ret == 0) {
    struct rl_blob_req reqs[] = {
        {.digest = im.config, .size = im.config_size, .sink = mem_sink, .ctx = &c},
        {.digest = im.layer, .size = im.layer_size, .sink = mem_sink, .ctx = &l}};
    ret = rl_registry_fetch_blobs(r, reqs, 2, err);
  }
  if (ret == 0) {
    assert_int_equal((long long)c.len, im.config_size);
    assert_int_equal((long long)l.len, im.layer_size);
    json_t *cfg = json_loadb(c.data, c.len, 0, NULL);
    assert_non_null(json_object_get(cfg, "rootfs"));
    json_decref(cfg);
    assert_true(l.len > 2 && (unsigned char)l.data[0] == 0x1f && (unsigned char)l.data[1] == 0x8b);
  }
  free(c.data);
  free(l.data);
  image_free(&im);
  return ret;
}

static void test_real_pull(void **state)
{
  const char *reg = getenv("RLESS_TEST_REGISTRY");
  if (reg == NULL)
    skip(); /* set by tests/registry/run-tests.sh */
  cleanup_free char *home = private_home();
  struct rl_registry *r = open_reg(reg, "rless-test/busybox", NULL);
  rl_error_t err = NULL;
  if (pull_image(r, "latest", &err) < 0)
    fail_msg("pull from %s: %s", reg, err->msg);
  char *body = NULL, *type = NULL, *d = NULL;
  size_t len;
  assert_int_equal(rl_registry_manifest(r, "no-such-tag", &body, &len, &type, &d, &err), -1);
  assert_non_null(strstr(err->msg, "not found"));
  rl_error_free(&err);
  rl_registry_close(r);
  rl_rmtree(home, NULL);
}

static void flip_byte(const char *path, long long at)
{
  int fd = open(path, O_RDWR | O_CLOEXEC);
  assert_true(fd >= 0);
  unsigned char b;
  assert_int_equal(pread(fd, &b, 1, at), 1);
  b ^= 0xff;
  assert_int_equal(pwrite(fd, &b, 1, at), 1);
  close(fd);
}

static void test_real_tampered_blob(void **state)
{
  const char *reg = getenv("RLESS_TEST_REGISTRY");
  const char *dir = getenv("RLESS_TEST_REGISTRY_DIR");
  if (reg == NULL || dir == NULL)
    skip();
  struct rl_registry *r = open_reg(reg, "rless-test/tamper", NULL);
  struct image im = {0};
  rl_error_t err = NULL;
  if (get_image(r, "latest", &im, &err) < 0)
    fail_msg("manifest: %s", err->msg);
  cleanup_free char *path = rl_xasprintf("%s/storage/docker/registry/v2/blobs/sha256/%.2s/%s/data",
                                         dir, im.layer + 7, im.layer + 7);
  flip_byte(path, im.layer_size / 2);
  struct mem m = {0};
  int ret = fetch_one(r, im.layer, im.layer_size, &m, &err);
  flip_byte(path, im.layer_size / 2); /* put it back before any assertion can fail */
  assert_int_equal(ret, -1);
  cleanup_free char *want = rl_xasprintf(
      "blob %s from %s: content does not match its digest (got sha256:", im.layer, reg);
  if (strstr(err->msg, want) == NULL)
    fail_msg("unexpected error: %s", err->msg);
  rl_error_free(&err);
  free(m.data);
  image_free(&im);
  rl_registry_close(r);
}

/* No credentials, wrong ones, right ones. */
static void real_auth(const char *reg)
{
  const char *user = getenv("RLESS_TEST_REGISTRY_USER");
  const char *pass = getenv("RLESS_TEST_REGISTRY_PASSWORD");
  assert_non_null(user);
  assert_non_null(pass);
  cleanup_free char *home = private_home();
  cleanup_free char *auth = rl_xasprintf("%s/auth.json", home);
  rl_error_t err = NULL;
  struct rl_registry *r = open_reg(reg, "rless-test/busybox", auth);
  assert_int_equal(pull_image(r, "latest", &err), -1);
  if (strstr(err->msg, "refused access without credentials") == NULL)
    fail_msg("unexpected error: %s", err->msg);
  rl_error_free(&err);
  rl_registry_close(r);

  assert_int_equal(rl_auth_store(auth, reg, user, "wrong-password", &err), 0);
  r = open_reg(reg, "rless-test/busybox", auth);
  assert_int_equal(pull_image(r, "latest", &err), -1);
  cleanup_free char *want =
      rl_xasprintf("authentication to %s failed: check `rless login %s`", reg, reg);
  if (strstr(err->msg, want) == NULL)
    fail_msg("unexpected error: %s", err->msg);
  rl_error_free(&err);
  rl_registry_close(r);

  assert_int_equal(rl_auth_store(auth, reg, user, pass, &err), 0);
  r = open_reg(reg, "rless-test/busybox", auth);
  if (pull_image(r, "latest", &err) < 0)
    fail_msg("pull from %s: %s", reg, err->msg);
  rl_registry_close(r);
  rl_rmtree(home, NULL);
}

static void test_real_basic_auth(void **state)
{
  const char *reg = getenv("RLESS_TEST_REGISTRY_BASIC");
  if (reg == NULL)
    skip();
  real_auth(reg);
}

static void test_real_token_auth(void **state)
{
  const char *reg = getenv("RLESS_TEST_REGISTRY_TOKEN");
  if (reg == NULL)
    skip();
  real_auth(reg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_www_auth_bearer),    cmocka_unit_test(test_www_auth_several),
      cmocka_unit_test(test_www_auth_bad),       cmocka_unit_test(test_open_refuses_bad_names),
      cmocka_unit_test(test_blob_plain),         cmocka_unit_test(test_blob_resume_after_drop),
      cmocka_unit_test(test_blob_range_ignored), cmocka_unit_test(test_blob_redirect),
      cmocka_unit_test(test_blob_5xx_retry),     cmocka_unit_test(test_blob_5xx_gives_up),
      cmocka_unit_test(test_blob_bad_content),   cmocka_unit_test(test_blob_sink_error),
      cmocka_unit_test(test_blob_parallel),      cmocka_unit_test(test_progress_lines),
      cmocka_unit_test(test_manifest),           cmocka_unit_test(test_bearer_reuse_and_refresh),
      cmocka_unit_test(test_basic_auth),         cmocka_unit_test(test_real_pull),
      cmocka_unit_test(test_real_tampered_blob), cmocka_unit_test(test_real_basic_auth),
      cmocka_unit_test(test_real_token_auth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
