/* Host probes: what this machine offers a rootless container and, where it
 * falls short, the exact fix.  Each probe fills a struct and reports a
 * missing feature in it (with a hint) rather than failing, so `rless info`
 * can show everything at once and `rless run` can reuse the same checks.
 * The parsers take file text, not paths, so they can be tested with samples. */
#ifndef RL_HOST_H
#define RL_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_idmap.h"
#include "rl_util.h"

/* ---- the user and their subordinate ids ---- */

struct rl_host_user {
  char *name; /* NULL when the uid has no passwd entry */
  uid_t uid;
  gid_t gid;
  struct rl_idrange *subuid, *subgid;
  size_t n_subuid, n_subgid;
  char *subid_error; /* libsubid could not be asked; NULL normally */
  char *hint;        /* how to get ranges; NULL when both kinds exist */
};
void rl_host_user_probe(struct rl_host_user *u);
void rl_host_user_free(struct rl_host_user *u);

/* A start for a new 65536-id range that overlaps no range in the given
 * /etc/subuid and /etc/subgid texts (either may be NULL): 100000, or the
 * first multiple of 65536 past the highest range.  Pure. */
unsigned long rl_subid_suggest_start(const char *subuid_text, const char *subgid_text);

/* Why `t` (newuidmap or newgidmap) cannot do its job and how to fix it;
 * NULL when it can.  Pure. */
char *rl_idtool_hint(const char *name, const struct rl_idtool *t);

/* ---- sysctls that decide whether unprivileged user namespaces exist ---- */

struct rl_host_sysctl {
  const char *name; /* "user.max_user_namespaces" */
  const char *path; /* its /proc/sys file */
  long value;       /* -1 when the file is absent (the kernel lacks the knob) */
  char *hint;       /* NULL when the value lets rless work */
};
#define RL_HOST_N_SYSCTLS 3
void rl_host_sysctl_probe(struct rl_host_sysctl s[RL_HOST_N_SYSCTLS], const char *exe);
/* exe names the rless binary in the AppArmor profile the hint suggests.  Pure. */
char *rl_sysctl_hint(const char *name, long value, const char *exe);

/* ---- root filesystem mounting ---- */

struct rl_host_overlay {
  bool works;        /* kernel overlayfs mounts in a user namespace */
  const char *stage; /* the step that failed (static), NULL when it works */
  int errnum;
  char *dir; /* the dir under which the trial mount was made */
  char *hint;
};
/* Really mount an overlay (with userxattr) in a throwaway user+mount
 * namespace under `base`.  Negative only when the trial itself cannot run. */
int rl_host_overlay_probe(const char *base, struct rl_host_overlay *o, rl_error_t *err);
void rl_host_overlay_free(struct rl_host_overlay *o);

struct rl_host_fuse {
  char *path;    /* fuse-overlayfs on PATH, NULL when absent */
  bool dev_fuse; /* /dev/fuse exists and opens read-write */
  int dev_errno; /* why it did not */
  char *hint;
};
void rl_host_fuse_probe(struct rl_host_fuse *f);
void rl_host_fuse_free(struct rl_host_fuse *f);

/* ---- cgroups ---- */

enum rl_cgroup_layout {
  RL_CGROUP_NONE,   /* no cgroup filesystem mounted */
  RL_CGROUP_V1,     /* only v1 hierarchies */
  RL_CGROUP_HYBRID, /* v1 controllers plus a cgroup2 mount (systemd's "unified") */
  RL_CGROUP_V2,     /* cgroup2 only */
};
const char *rl_cgroup_layout_name(enum rl_cgroup_layout l);

struct rl_cgroup_mounts {
  enum rl_cgroup_layout layout;
  char *mount; /* where cgroup2 is mounted, NULL when it is not */
  char *root;  /* the cgroup that mount shows at its top ("/" normally) */
};
/* Parse /proc/self/mountinfo text.  Pure. */
void rl_cgroup_parse_mountinfo(const char *text, struct rl_cgroup_mounts *m);
void rl_cgroup_mounts_free(struct rl_cgroup_mounts *m);

/* The cgroup2 path ("0::/...") in /proc/self/cgroup text, NULL without one.  Pure. */
char *rl_cgroup_parse_self(const char *text);

/* The directory of cgroup `path` under a cgroup2 mount whose top is cgroup
 * `root`; NULL when the cgroup lies outside what the mount shows.  Pure. */
char *rl_cgroup_dir(const char *mount, const char *root, const char *path);

/* Split a cgroup.controllers line into words (appended to out).  Pure. */
void rl_cgroup_parse_controllers(const char *text, rl_strv_t *out);

struct rl_host_cgroup {
  enum rl_cgroup_layout layout;
  char *mount; /* cgroup2 mount point */
  char *path;  /* our cgroup, as /proc/self/cgroup names it */
  char *dir;   /* its directory */
  bool writable;
  rl_strv_t controllers;      /* available in our cgroup */
  rl_strv_t root_controllers; /* available at the top of the hierarchy */
  char *limits_problem;       /* why --memory/--cpus/--pids-limit cannot work, NULL if they can */
  char *hint;
};
void rl_host_cgroup_probe(struct rl_host_cgroup *c);
/* Without limits to apply, all a run needs to know is whether the caller's
 * cgroup can hold the container's.  On the usual hybrid layout (cgroup2 at
 * /sys/fs/cgroup/unified) the common answer, a cgroup that exists and is not
 * writable, takes three system calls instead of reading and parsing
 * mountinfo (0.2 ms of every start): that cgroup's dir, else NULL (ask
 * rl_host_cgroup_probe).  Pure cgroup v2 is left to the probe: a systemd
 * scope may be asked for there. */
char *rl_host_cgroup_hybrid_unwritable(void);
/* The fixes: switching the host to cgroup v2, and delegating controllers to users. */
extern const char rl_cgroup_v2_hint[], rl_cgroup_delegate_hint[];
void rl_host_cgroup_free(struct rl_host_cgroup *c);
/* Fill limits_problem and hint from the other fields.  Pure. */
void rl_cgroup_judge(struct rl_host_cgroup *c);

/* ---- storage ---- */

struct rl_host_store {
  char *runtime_dir, *runtime_why, *runtime_error;
  char *data_dir, *data_error;
  char *fs_dir;  /* the data dir or its nearest existing parent */
  char *fs_type; /* "ext4", "nfs", or the magic number in hex */
  bool fs_bad;   /* overlay upper dirs cannot live there */
  char *hint;
};
void rl_host_store_probe(const char *root, struct rl_host_store *s);
void rl_host_store_free(struct rl_host_store *s);
/* Name of a statfs f_type; *bad says overlay upper dirs cannot live on it.  Pure. */
const char *rl_fs_type_name(unsigned long magic, bool *bad);

/* ---- network helpers ---- */

struct rl_host_net {
  char *pasta, *slirp4netns; /* NULL when not on PATH */
  char *hint;
};
void rl_host_net_probe(struct rl_host_net *n);
void rl_host_net_free(struct rl_host_net *n);

/* ---- everything, for `rless info` ---- */

struct rl_host_info {
  char *kernel; /* uname release */
  struct rl_host_user user;
  struct rl_idtool newuidmap, newgidmap;
  char *newuidmap_hint, *newgidmap_hint;
  struct rl_host_sysctl sysctl[RL_HOST_N_SYSCTLS];
  struct rl_host_overlay overlay;
  char *overlay_error; /* the trial could not run */
  struct rl_host_fuse fuse;
  struct rl_host_cgroup cgroup;
  struct rl_host_store store;
  struct rl_host_net net;
};
void rl_host_info_probe(const char *root, struct rl_host_info *h);
void rl_host_info_free(struct rl_host_info *h);

#endif
