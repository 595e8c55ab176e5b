/* libFuzzer target for `-u USER[:GROUP]` against an image's /etc/passwd and
 * /etc/group (rl_user_resolve: both files come from the image).  The input
 * is SPEC, a NUL, PASSWD, a NUL, GROUP; a part that is missing is a file
 * that is absent.
 *
 * Invariants: a numeric user or group is taken as that exact id, and no id
 * is -1 (setresuid(-1) would keep the caller's id: root in the container);
 * supplementary groups are distinct and come from /etc/group lines; a user
 * always has a home. */
#include "fuzz.h"
#include "rl_passwd.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

static bool all_digits(const char *s, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static size_t count_lines(const char *text)
{
  size_t n = text && *text ? 1 : 0;
  for (const char *p = text; p && *p; p++)
    n += *p == '\n';
  return n;
}

/* A numeric part of the spec names that exact id. */
static void check_numeric(const char *part, size_t n, unsigned long id)
{
  if (!all_digits(part, n))
    return;
  cleanup_free char *s = rl_xstrndup(part, n);
  FUZZ_CHECK(strtoull(s, NULL, 10) == id);
}

static void check_user(const char *spec, const char *group, const struct rl_user *u)
{
  FUZZ_CHECK(u->uid != (uid_t)-1 && u->gid != (gid_t)-1);
  FUZZ_CHECK(u->home && *u->home);
  FUZZ_CHECK(u->n_groups <= count_lines(group) && (u->n_groups == 0) == (u->groups == NULL));
  for (size_t i = 0; i < u->n_groups; i++) {
    FUZZ_CHECK(u->groups[i] != (gid_t)-1);
    for (size_t j = i + 1; j < u->n_groups; j++)
      FUZZ_CHECK(u->groups[i] != u->groups[j]);
  }
  const char *s = *spec ? spec : "0";
  size_t ulen = strcspn(s, ":");
  check_numeric(s, ulen, u->uid);
  if (s[ulen] == ':')
    check_numeric(s + ulen + 1, strlen(s + ulen + 1), u->gid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *parts[3];
  size_t n = fuzz_split(data, size, parts, 3);
  const char *passwd = n > 1 ? parts[1] : NULL, *group = n > 2 ? parts[2] : NULL;
  struct rl_user u;
  rl_error_t err = NULL;
  int r = rl_user_resolve(parts[0], passwd, group, &u, &err);
  FUZZ_CHECK_ERR(r, err);
  if (r == 0)
    check_user(parts[0], group, &u);
  else
    FUZZ_CHECK(u.groups == NULL && u.home == NULL);
  rl_user_free(&u);
  rl_error_free(&err);
  fuzz_parts_free(parts);
  return 0;
}
