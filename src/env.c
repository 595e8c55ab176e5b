#include "rl_options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool valid_key(const char *k, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (k[i] == '\0' || isspace((unsigned char)k[i]))
      return false;
  return true;
}

void rl_env_set(rl_strv_t *env, const char *kv)
{
  size_t klen = strcspn(kv, "=");
  for (size_t i = 0; i < env->n; i++) {
    if (strncmp(env->v[i], kv, klen) == 0 && env->v[i][klen] == '=') {
      free(env->v[i]);
      env->v[i] = rl_xstrdup(kv);
      return;
    }
  }
  rl_strv_push(env, kv);
}

int rl_env_add(rl_strv_t *env, const char *spec, rl_error_t *err)
{
  const char *eq = strchr(spec, '=');
  size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
  if (!valid_key(spec, klen))
    return rl_make_error(err, 0, "invalid environment variable `%s`: expected KEY=VALUE or KEY",
                         spec);
  if (eq) {
    rl_env_set(env, spec);
    return 0;
  }
  const char *host = getenv(spec);
  if (host) {
    cleanup_free char *kv = rl_xasprintf("%s=%s", spec, host);
    rl_env_set(env, kv);
  }
  return 0;
}

static char *trim(char *s)
{
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

int rl_env_file_load(const char *path, rl_strv_t *env, rl_error_t *err)
{
  cleanup_fclose FILE *f = fopen(path, "re");
  if (f == NULL)
    return rl_make_error(err, errno, "open env file `%s`", path);
  cleanup_free char *line = NULL;
  size_t cap = 0;
  unsigned lineno = 0;
  while (getline(&line, &cap, f) >= 0) {
    lineno++;
    /* Only leading space is insignificant: a value keeps its trailing blanks like docker. */
    char *s = line;
    while (isspace((unsigned char)*s))
      s++;
    s[strcspn(s, "\n")] = '\0';
    if (*s == '\0' || *s == '#')
      continue;
    if (strchr(s, '=') == NULL)
      s = trim(s);
    if (rl_env_add(env, s, err) < 0)
      return rl_error_wrap(err, "env file `%s` line %u", path, lineno);
  }
  if (ferror(f))
    return rl_make_error(err, errno, "read env file `%s`", path);
  return 0;
}
