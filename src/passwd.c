#include "rl_passwd.h"
#include "rl_util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8
/* runc's range: (uid_t)-1 would make setresuid() keep the caller's id (root in the
 * container), and a larger number would be cut to a smaller id (2^32 to 0). */
#define MAX_ID 2147483647UL

/* A decimal id in range; -1 for anything else. */
static int parse_id(const char *s, unsigned long *out)
{
  unsigned long v;
  if (rl_parse_ulong(s, &v) < 0 || v > MAX_ID)
    return -1;
  *out = v;
  return 0;
}

/* All digits: meant as an id, whatever its size. */
static bool is_number(const char *s)
{
  return *s && strspn(s, "0123456789") == strlen(s);
}

/* Split one line at ':' into at most MAX_FIELDS fields (in place). */
static size_t split_fields(char *line, char **f)
{
  size_t n = 0;
  f[n++] = line;
  for (char *p = line; *p && n < MAX_FIELDS; p++) {
    if (*p == ':') {
      *p = '\0';
      f[n++] = p + 1;
    }
  }
  return n;
}

/* Find the line whose field 0 equals `name`, or field 2 equals `id` (name NULL). */
static bool find_entry(const char *text, const char *name, unsigned long id, size_t want_fields,
                       char **copy, char **f)
{
  if (text == NULL)
    return false;
  for (const char *line = text; *line;) {
    size_t len = strcspn(line, "\n");
    char *l = rl_xstrndup(line, len);
    unsigned long num;
    if (l[0] != '#' && split_fields(l, f) >= want_fields &&
        (name ? strcmp(f[0], name) == 0 : (parse_id(f[2], &num) == 0 && num == id))) {
      *copy = l;
      return true;
    }
    free(l);
    line += len;
    if (*line == '\n')
      line++;
  }
  return false;
}

static bool lists_member(const char *members, const char *user)
{
  size_t ulen = strlen(user);
  for (const char *p = members; *p;) {
    size_t len = strcspn(p, ",");
    if (len == ulen && strncmp(p, user, len) == 0)
      return true;
    p += len;
    if (*p == ',')
      p++;
  }
  return false;
}

static void add_group(struct rl_user *u, gid_t g)
{
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i] == g)
      return;
  u->groups = rl_xrealloc(u->groups, (u->n_groups + 1) * sizeof(gid_t));
  u->groups[u->n_groups++] = g;
}

static void collect_groups(const char *group, const char *user, struct rl_user *u)
{
  if (group == NULL || user == NULL)
    return;
  for (const char *line = group; *line;) {
    size_t len = strcspn(line, "\n");
    cleanup_free char *l = rl_xstrndup(line, len);
    char *f[MAX_FIELDS];
    unsigned long gid;
    if (l[0] != '#' && split_fields(l, f) >= 4 && parse_id(f[2], &gid) == 0 &&
        lists_member(f[3], user))
      add_group(u, (gid_t)gid);
    line += len;
    if (*line == '\n')
      line++;
  }
}

static int resolve_group(const char *spec, const char *group, gid_t *gid, rl_error_t *err)
{
  unsigned long num = 0;
  if (is_number(spec) && parse_id(spec, &num) < 0)
    return rl_make_error(err, 0, "group id `%s` is out of range (0 to %lu)", spec, MAX_ID);
  if (is_number(spec)) {
    *gid = (gid_t)num;
    return 0;
  }
  cleanup_free char *copy = NULL;
  char *f[MAX_FIELDS];
  if (!find_entry(group, spec, 0, 3, &copy, f))
    return rl_make_error(err, 0, "group `%s` not found in the container's /etc/group", spec);
  if (parse_id(f[2], &num) < 0)
    return rl_make_error(err, 0, "malformed /etc/group entry for group `%s`", spec);
  *gid = (gid_t)num;
  return 0;
}

int rl_user_resolve(const char *spec, const char *passwd, const char *group, struct rl_user *out,
                    rl_error_t *err)
{
  cleanup_free char *user = rl_xstrdup(spec && *spec ? spec : "0");
  char *grp = strchr(user, ':');
  if (grp)
    *grp++ = '\0';
  memset(out, 0, sizeof(*out));

  unsigned long num = 0;
  bool numeric = is_number(user);
  if (numeric && parse_id(user, &num) < 0)
    return rl_make_error(err, 0, "user id `%s` is out of range (0 to %lu)", user, MAX_ID);
  cleanup_free char *copy = NULL;
  char *f[MAX_FIELDS];
  bool found = find_entry(passwd, numeric ? NULL : user, num, 7, &copy, f);
  unsigned long pgid = 0;
  if (!found && !numeric)
    return rl_make_error(err, 0, "user `%s` not found in the container's /etc/passwd", user);
  if (found && (parse_id(f[2], &num) < 0 || parse_id(f[3], &pgid) < 0))
    return rl_make_error(err, 0, "malformed /etc/passwd entry for user `%s`", user);
  out->uid = (uid_t)num;
  out->gid = (gid_t)pgid;
  out->home = rl_xstrdup(found && f[5][0] ? f[5] : "/");
  if (grp && *grp && resolve_group(grp, group, &out->gid, err) < 0) {
    rl_user_free(out);
    return -1;
  }
  if (found)
    collect_groups(group, f[0], out);
  return 0;
}

void rl_user_free(struct rl_user *u)
{
  free(u->groups);
  free(u->home);
  memset(u, 0, sizeof(*u));
}
