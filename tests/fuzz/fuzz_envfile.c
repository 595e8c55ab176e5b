/* libFuzzer target for env files (`--env-file`, rl_env_file_load: docker's
 * format, KEY=VALUE lines, KEY alone for the host's value) and single -e
 * arguments (rl_env_add).  The host environment is replaced by two known
 * variables so KEY-alone lines are deterministic.
 *
 * Invariants: every entry is KEY=VALUE with a non-empty KEY without blanks
 * or newlines, keys are unique (a later line replaces an earlier one), and
 * there are no more entries than lines. */
#include <ctype.h>

#include "fuzz.h"
#include "rl_options.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  clearenv();
  setenv("FUZZ_HOST", "from the host", 1);
  setenv("PATH", "/usr/bin:/bin", 1);
  return 0;
}

static bool contains(const rl_strv_t *env, const char *kv)
{
  for (size_t i = 0; i < env->n; i++)
    if (strcmp(env->v[i], kv) == 0)
      return true;
  return false;
}

/* Lines of a file cannot hold a newline; -e values can. */
static void check_env(const rl_strv_t *env, size_t max, bool from_file)
{
  FUZZ_CHECK(env->n <= max);
  FUZZ_CHECK(env->n == 0 || env->v[env->n] == NULL);
  for (size_t i = 0; i < env->n; i++) {
    const char *kv = env->v[i];
    size_t k = strcspn(kv, "=");
    FUZZ_CHECK(k > 0 && kv[k] == '=' && !(from_file && strchr(kv, '\n')));
    for (size_t j = 0; j < k; j++)
      FUZZ_CHECK(!isspace((unsigned char)kv[j]));
    for (size_t j = 0; j < i; j++)
      FUZZ_CHECK(!(strncmp(env->v[j], kv, k) == 0 && env->v[j][k] == '='));
  }
}

static void fuzz_file(const uint8_t *data, size_t size)
{
  char path[32];
  int fd = fuzz_memfd(data, size, path);
  size_t lines = 1;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n';
  rl_strv_t env = {0};
  rl_error_t err = NULL;
  int r = rl_env_file_load(path, &env, &err);
  FUZZ_CHECK_ERR(r, err);
  check_env(&env, lines, true);
  rl_strv_free(&env);
  rl_error_free(&err);
  close(fd);
}

/* Each NUL-separated part as an -e argument. */
static void fuzz_args(const uint8_t *data, size_t size)
{
  char *parts[16];
  size_t n = fuzz_split(data, size, parts, RL_ARRAY_SIZE(parts));
  rl_strv_t env = {0};
  for (size_t i = 0; i < n; i++) {
    rl_error_t err = NULL;
    int r = rl_env_add(&env, parts[i], &err);
    FUZZ_CHECK_ERR(r, err);
    /* KEY=VALUE is there as given, whatever came before */
    FUZZ_CHECK(r < 0 || strchr(parts[i], '=') == NULL || contains(&env, parts[i]));
    rl_error_free(&err);
  }
  check_env(&env, n, false);
  rl_strv_free(&env);
  fuzz_parts_free(parts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_file(data, size);
  fuzz_args(data, size);
  return 0;
}
