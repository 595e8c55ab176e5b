/* libFuzzer target for registry credentials files (containers auth.json,
 * docker config.json): the input is written as an auth file in a private
 * temp dir (HOME points to an empty one, so no real credentials are read),
 * then looked up for a few registries, a login stored into it and removed
 * again; the input as one string also goes through rl_auth_decode and
 * rl_auth_normalize_key.
 *
 * Invariants: a lookup finds a non-empty user without ':' or nothing, and
 * never an error without saying so; storing keeps every other registry's
 * answer and is found again exactly; removing it leaves nothing for it;
 * encode(decode(x)) decodes to the same user and password. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "rl_auth.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

static char *scratch;  /* the temp dir: HOME, and the auth file's dir */
static char *authfile; /* scratch/auth.json */

static const char *const registries[] = {
    "docker.io", "quay.io", "ghcr.io", "127.0.0.1:5000", "localhost:5000", "registry.example",
};
#define NREG RL_ARRAY_SIZE(registries)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  scratch = rl_xasprintf("%s/rl-fuzz-auth-XXXXXX", fuzz_tmpdir());
  if (mkdtemp(scratch) == NULL)
    abort();
  authfile = rl_xasprintf("%s/auth.json", scratch);
  setenv("HOME", scratch, 1);
  unsetenv("XDG_RUNTIME_DIR");
  unsetenv("XDG_CONFIG_HOME");
  unsetenv("REGISTRY_AUTH_FILE");
  return 0;
}

struct answer {
  int r;
  char *user, *pass;
};

static void lookup(const char *registry, struct answer *a)
{
  rl_error_t err = NULL;
  a->user = a->pass = NULL;
  a->r = rl_auth_lookup(authfile, registry, &a->user, &a->pass, &err);
  FUZZ_CHECK(a->r >= -1 && a->r <= 1);
  FUZZ_CHECK_ERR(a->r, err);
  FUZZ_CHECK((a->r == 1) == (a->user != NULL) && (a->r == 1) == (a->pass != NULL));
  FUZZ_CHECK(a->user == NULL || (*a->user && strchr(a->user, ':') == NULL));
  rl_error_free(&err);
}

static void answer_free(struct answer *a)
{
  free(a->user);
  free(a->pass);
}

static bool same(const struct answer *a, const struct answer *b)
{
  return a->r == b->r && fuzz_streq(a->user, b->user) && fuzz_streq(a->pass, b->pass);
}

static void store_and_remove(struct answer before[NREG])
{
  static const char *const reg = "fuzz.example:5000";
  rl_error_t err = NULL;
  int r = rl_auth_store(authfile, reg, "fuzzer", "p:w d", &err);
  FUZZ_CHECK_ERR(r, err);
  rl_error_free(&err);
  if (r < 0)
    return;
  struct answer a;
  lookup(reg, &a);
  FUZZ_CHECK(a.r == 1 && strcmp(a.user, "fuzzer") == 0 && strcmp(a.pass, "p:w d") == 0);
  answer_free(&a);
  for (size_t i = 0; i < NREG; i++) {
    lookup(registries[i], &a);
    FUZZ_CHECK(same(&a, &before[i]));
    answer_free(&a);
  }
  r = rl_auth_remove(authfile, reg, &err);
  FUZZ_CHECK(r == 1 && err == NULL);
  lookup(reg, &a);
  FUZZ_CHECK(a.r == 0);
  answer_free(&a);
}

static void fuzz_file(const uint8_t *data, size_t size)
{
  int fd = open(authfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || rl_write_all(fd, data, size) < 0 || close(fd) < 0)
    abort();
  struct answer before[NREG];
  for (size_t i = 0; i < NREG; i++)
    lookup(registries[i], &before[i]);
  store_and_remove(before);
  for (size_t i = 0; i < NREG; i++)
    answer_free(&before[i]);
  if (unlink(authfile) < 0 && errno != ENOENT)
    abort();
}

static void fuzz_strings(const char *s)
{
  char *user = NULL, *pass = NULL;
  rl_error_t err = NULL;
  int r = rl_auth_decode(s, &user, &pass, &err);
  FUZZ_CHECK_ERR(r, err);
  if (r == 0) {
    FUZZ_CHECK(*user && strchr(user, ':') == NULL);
    cleanup_free char *b64 = rl_auth_encode(user, pass);
    char *u2 = NULL, *p2 = NULL;
    FUZZ_CHECK(rl_auth_decode(b64, &u2, &p2, NULL) == 0);
    FUZZ_CHECK(strcmp(u2, user) == 0 && strcmp(p2, pass) == 0);
    free(u2);
    free(p2);
  }
  free(user);
  free(pass);
  rl_error_free(&err);
  cleanup_free char *key = rl_auth_normalize_key(s);
  for (const char *p = key; p && *p; p++)
    FUZZ_CHECK(*p != '/' && !(*p >= 'A' && *p <= 'Z'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_file(data, size);
  char *parts[1];
  fuzz_split(data, size, parts, 1);
  fuzz_strings(parts[0]);
  fuzz_parts_free(parts);
  return 0;
}
