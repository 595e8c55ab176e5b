/* User namespace id maps: subordinate ranges from libsubid, the map each
 * --userns mode builds from them, and writing it with newuidmap/newgidmap. */
#ifndef RL_IDMAP_H
#define RL_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"

enum rl_userns_mode {
  RL_USERNS_AUTO,    /* subordinate ids when the user has them, else single */
  RL_USERNS_SUBIDS,  /* root inside = the user, 1..N = the subordinate ranges */
  RL_USERNS_KEEP_ID, /* the user's id maps to itself inside */
  RL_USERNS_SINGLE,  /* one id only, setgroups denied */
};

struct rl_idrange {
  unsigned long start, count;
};

struct rl_idmap_entry {
  unsigned long inside, outside, count;
};

#define RL_IDMAP_MAX 340 /* the kernel's limit on lines in uid_map */

struct rl_idmap {
  struct rl_idmap_entry e[RL_IDMAP_MAX];
  size_t n;
};

/* Subordinate ranges of a user, asked of libsubid by name and by uid (both
 * spellings are valid in /etc/subuid), merged, sorted, overlaps removed.
 * Returns the number of ranges (0 when the user has none) and *out (free()). */
int rl_subid_ranges(bool gid, const char *name, unsigned long id, struct rl_idrange **out,
                    rl_error_t *err);

/* A user's subordinate uid and gid ranges (normalized). */
struct rl_subids {
  struct rl_idrange *uid, *gid;
  size_t nuid, ngid;
};
void rl_subids_free(struct rl_subids *s);

/* rl_subid_ranges for both kinds (for uid's name and uid), remembered in
 * the runtime dir while /etc/subuid, /etc/subgid, /etc/nsswitch.conf and
 * /etc/passwd are unchanged (never when nsswitch.conf names a subid
 * source).  src/subid_cache.c. */
int rl_subids_lookup(unsigned long uid, struct rl_subids *s, rl_error_t *err);
/* Drop the remembered answer (a map built from it was refused). */
void rl_subids_forget(void);
/* The cache file's text and its parse; parse fails (-1) unless the text was
 * written under `key`.  Pure. */
char *rl_subid_cache_format(const char *key, const struct rl_subids *s);
int rl_subid_cache_parse(const char *text, const char *key, struct rl_subids *out);
/* Whether nsswitch.conf text has a "subid:" line.  Pure. */
bool rl_nsswitch_names_subid(const char *text);

/* Sort and merge ranges in place; returns the new count.  Pure. */
size_t rl_idrange_normalize(struct rl_idrange *r, size_t n);

/* Build the map for `mode` (not AUTO).  Pure.  Returns 0, or -1 when the
 * mode needs ranges and there are none or too many. */
int rl_idmap_build(enum rl_userns_mode mode, unsigned long host_id, const struct rl_idrange *r,
                   size_t n, struct rl_idmap *out, rl_error_t *err);

/* "inside outside count\n..." as /proc/PID/uid_map wants it. */
char *rl_idmap_format(const struct rl_idmap *m);

/* The highest id mapped inside plus one (0 for an empty map).  Pure. */
unsigned long rl_idmap_size(const struct rl_idmap *m);
/* Whether id `inside` is mapped. */
bool rl_idmap_contains(const struct rl_idmap *m, unsigned long inside);

/* Write both maps of process `pid`: gid first, then uid.  Uses newgidmap /
 * newuidmap unless the map is the single-id map the kernel lets an
 * unprivileged process write itself (then setgroups is denied first). */
int rl_idmap_apply(pid_t pid, const struct rl_idmap *uidmap, const struct rl_idmap *gidmap,
                   bool deny_setgroups, rl_error_t *err);

/* State of a newuidmap-style tool: where it is and whether it can do its
 * job (setuid root or file capabilities).  *path is NULL when not on PATH. */
struct rl_idtool {
  char *path;
  bool setuid_root;
  bool file_caps;
};
void rl_idtool_probe(const char *name, struct rl_idtool *t);
void rl_idtool_free(struct rl_idtool *t);

/* Search PATH (or a default path when unset) for an executable; NULL if absent. */
char *rl_find_program(const char *name);

#endif
