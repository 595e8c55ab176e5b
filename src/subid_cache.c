/* Subordinate ranges remembered between runs.  Asking libsubid loads it and
 * ten libraries behind it (PAM, SELinux, audit...): about 1.5 ms of every
 * start, for an answer that only changes when /etc/subuid or /etc/subgid
 * does.  So the answer is kept in the (private) runtime dir together with
 * the identity of the files it came from, and used again only while all of
 * them are unchanged.  When /etc/nsswitch.conf names a "subid:" source, a
 * plugin (sssd, FreeIPA...) answers and there is no file to watch: libsubid
 * is asked every time.  A stale answer could not widen anything anyway:
 * newuidmap and newgidmap check every range against the files themselves
 * (and a map they refuse drops the file, rl_subids_forget).  The user's
 * name, which libsubid needs, is looked up only when libsubid is asked: a
 * passwd lookup through NSS costs a start 0.1 ms; /etc/passwd is watched
 * with the other files instead. */
#include "rl_error.h"
#include "rl_idmap.h"
#include "rl_paths.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC "rless-subids 2\n"

static const char *const watched[] = {"/etc/subuid", "/etc/subgid", "/etc/nsswitch.conf",
                                      "/etc/passwd"};

bool rl_nsswitch_names_subid(const char *text)
{
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    l += strspn(l, " \t");
    if (strncmp(l, "subid", 5) == 0 && l[5 + strspn(l + 5, " \t")] == ':')
      return true;
  }
  return false;
}

/* What identifies the answer: the uid and each file's inode, size and
 * times (ctime moves on every write and on rename over it). */
static char *cache_key(unsigned long uid)
{
  char *key = rl_xasprintf("uid %lu\n", uid);
  for (size_t i = 0; i < RL_ARRAY_SIZE(watched); i++) {
    struct stat st;
    char *next;
    if (stat(watched[i], &st) < 0)
      next = rl_xasprintf("%s%s absent\n", key, watched[i]);
    else
      next = rl_xasprintf("%s%s %llx:%llx:%lld:%lld.%ld:%lld.%ld\n", key, watched[i],
                          (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                          (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                          (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    free(key);
    key = next;
  }
  return key;
}

char *rl_subid_cache_format(const char *key, const struct rl_subids *s)
{
  char *out = rl_xasprintf("%s%s", CACHE_MAGIC, key);
  for (int g = 0; g < 2; g++) {
    const struct rl_idrange *r = g ? s->gid : s->uid;
    size_t n = g ? s->ngid : s->nuid;
    for (size_t i = 0; i < n; i++) {
      char *next = rl_xasprintf("%s%c %lu %lu\n", out, g ? 'g' : 'u', r[i].start, r[i].count);
      free(out);
      out = next;
    }
  }
  return out;
}

static void push_range(struct rl_idrange **r, size_t *n, unsigned long start, unsigned long count)
{
  *r = rl_xrealloc(*r, (*n + 1) * sizeof(**r));
  (*r)[(*n)++] = (struct rl_idrange){start, count};
}

int rl_subid_cache_parse(const char *text, const char *key, struct rl_subids *out)
{
  memset(out, 0, sizeof(*out));
  size_t mlen = strlen(CACHE_MAGIC), klen = strlen(key);
  if (strncmp(text, CACHE_MAGIC, mlen) != 0 || strncmp(text + mlen, key, klen) != 0)
    return -1;
  for (const char *l = text + mlen + klen; *l;) {
    const char *end = strchr(l, '\n');
    char kind, tail;
    unsigned long start, count;
    if (end == NULL || sscanf(l, "%c %lu %lu%c", &kind, &start, &count, &tail) != 4 ||
        tail != '\n' || (kind != 'u' && kind != 'g') || count == 0) {
      rl_subids_free(out);
      return -1;
    }
    if (kind == 'u')
      push_range(&out->uid, &out->nuid, start, count);
    else
      push_range(&out->gid, &out->ngid, start, count);
    l = end + 1;
  }
  return 0;
}

void rl_subids_free(struct rl_subids *s)
{
  free(s->uid);
  free(s->gid);
  memset(s, 0, sizeof(*s));
}

static int ask_libsubid(unsigned long uid, struct rl_subids *s, rl_error_t *err)
{
  struct passwd *pw = getpwuid((uid_t)uid);
  const char *name = pw ? pw->pw_name : NULL;
  memset(s, 0, sizeof(*s));
  int nu = rl_subid_ranges(false, name, uid, &s->uid, err);
  if (nu < 0)
    return -1;
  s->nuid = (size_t)nu;
  int ng = rl_subid_ranges(true, name, uid, &s->gid, err);
  if (ng < 0) {
    rl_subids_free(s);
    return -1;
  }
  s->ngid = (size_t)ng;
  return 0;
}

static char *cache_path(rl_error_t *err)
{
  cleanup_free char *nss = rl_read_file_at(AT_FDCWD, "/etc/nsswitch.conf", 1 << 20, NULL);
  cleanup_free char *dir = nss && rl_nsswitch_names_subid(nss) ? NULL : rl_runtime_dir(NULL, err);
  return dir ? rl_xasprintf("%s/subids", dir) : NULL;
}

void rl_subids_forget(void)
{
  cleanup_error rl_error_t ignored = NULL;
  cleanup_free char *path = cache_path(&ignored);
  if (path)
    unlink(path);
}

int rl_subids_lookup(unsigned long uid, struct rl_subids *s, rl_error_t *err)
{
  cleanup_error rl_error_t ignored = NULL;
  cleanup_free char *path = cache_path(&ignored);
  if (path == NULL)
    return ask_libsubid(uid, s, err);
  cleanup_free char *key = cache_key(uid);
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, 1 << 16, NULL);
  if (text && rl_subid_cache_parse(text, key, s) == 0)
    return 0;
  if (ask_libsubid(uid, s, err) < 0)
    return -1;
  /* The key is taken again: a file that changed while libsubid read it must
   * not be remembered under its new identity with its old content. */
  cleanup_free char *after = cache_key(uid);
  if (strcmp(key, after) == 0) {
    cleanup_free char *data = rl_subid_cache_format(key, s);
    if (rl_write_file_atomic(path, data, strlen(data), 0600) < 0)
      rl_debug("remember the subordinate ids in `%s`: %s", path, strerror(errno));
  }
  return 0;
}
