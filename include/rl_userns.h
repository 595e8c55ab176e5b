/* The user namespace every rless process that touches container files runs
 * in: which map (--userns), creating it alone with clone(CLONE_NEWUSER), and
 * writing its maps from the parent. */
#ifndef RL_USERNS_H
#define RL_USERNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_idmap.h"

struct rl_userns {
  enum rl_userns_mode mode; /* resolved: never AUTO */
  struct rl_idmap uidmap, gidmap;
  bool deny_setgroups; /* single-id gid map written directly */
  uid_t host_uid;
  gid_t host_gid;
};

/* Resolve `requested` for the calling user and build both maps.  AUTO picks
 * subordinate ids when libsubid reports uid and gid ranges, else a single-id
 * map with one notice line (unless quiet); the reason is logged at debug. */
int rl_userns_plan(enum rl_userns_mode requested, bool quiet, struct rl_userns *u, rl_error_t *err);

/* clone(CLONE_NEWUSER) alone, fork-like.  The parent writes the maps
 * (newgidmap, then newuidmap) and tells the child to go on.  Returns 0 in the
 * child once its maps are written, the child's pid in the parent; *sock is
 * each side's end of a SEQPACKET socketpair (close-on-exec). */
pid_t rl_userns_clone(const struct rl_userns *u, int *sock, rl_error_t *err);
/* The same; the child first runs before_maps(ctx), which overlaps with the
 * parent writing the maps (newgidmap and newuidmap take milliseconds).
 * With cgroup_fd >= 0 (a cgroup dir) the parent moves the child into that
 * cgroup before its maps, so everything it creates after (its cgroup
 * namespace, pid 1) starts there. */
pid_t rl_userns_clone_with(const struct rl_userns *u, int *sock, void (*before_maps)(void *ctx),
                           void *ctx, int cgroup_fd, rl_error_t *err);

/* Run fn(arg) as root in a new user namespace with u's maps (e.g. to unpack
 * or remove files owned by subordinate ids) and wait for it; its error, if
 * any, comes back in *err. */
int rl_userns_call(const struct rl_userns *u, int (*fn)(void *arg, rl_error_t *err), void *arg,
                   rl_error_t *err);

/* Hint for a failed clone/unshare of namespaces: which sysctl or setting. */
void rl_userns_hint(rl_error_t *err);

#endif
