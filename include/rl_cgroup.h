/* Resource limits through cgroup v2: the run options (--memory, --cpus, ...)
 * as data, the cgroup each container gets inside the user's delegated
 * subtree, and reading it back (OOM kills, stats).
 *
 * Placement: the container's cgroup is <base>/rless-<id>, where <base> is
 * the caller's own cgroup, or its parent when the caller sits in the leaf
 * rless made earlier (<base>/rless-leaf).  cgroup v2 lets a cgroup either
 * hold processes or hand controllers to children, so the first time, every
 * process of <base> moves into <base>/rless-leaf before the controllers are
 * enabled.  When the caller's cgroup is not writable (a login session's
 * scope) and a systemd user manager answers on the session bus, rless first
 * asks it for a transient scope with Delegate=yes and moves there. */
#ifndef RL_CGROUP_H
#define RL_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "rl_error.h"
#include "rl_util.h"

#define RL_CGROUP_LEAF "rless-leaf"
#define RL_CPU_PERIOD  100000

enum rl_cgroups_mode { RL_CGROUPS_ENABLED, RL_CGROUPS_DISABLED };

/* -1 means "not given" for every number. */
struct rl_cgroup_limits {
  int64_t memory;             /* bytes: memory.max */
  int64_t memory_swap;        /* bytes of memory + swap (docker's); -2: unlimited (given as -1) */
  int64_t memory_reservation; /* bytes: memory.low */
  int64_t cpu_quota;          /* microseconds per RL_CPU_PERIOD (--cpus) */
  int64_t cpu_shares;         /* --cpu-shares (v1 units, 2..262144) */
  int64_t cpu_weight;         /* --cpu-weight (1..10000) */
  int64_t pids_limit;         /* 0: unlimited (given as 0 or -1) */
  int64_t blkio_weight;       /* 10..1000 */
  char *cpuset_cpus, *cpuset_mems;
  enum rl_cgroups_mode mode;
};

/* The long options, for the run option table; their values start at
 * RL_CGROUP_OPT_FIRST so options.c hands them to rl_cgroup_opt. */
enum {
  RL_CGROUP_OPT_FIRST = 1024,
  RL_OPT_MEMORY = RL_CGROUP_OPT_FIRST,
  RL_OPT_MEMORY_SWAP,
  RL_OPT_MEMORY_RESERVATION,
  RL_OPT_CPUS,
  RL_OPT_CPU_SHARES,
  RL_OPT_CPU_WEIGHT,
  RL_OPT_CPUSET_CPUS,
  RL_OPT_CPUSET_MEMS,
  RL_OPT_PIDS_LIMIT,
  RL_OPT_BLKIO_WEIGHT,
  RL_OPT_CGROUPS,
  RL_CGROUP_OPT_LAST = RL_OPT_CGROUPS,
};
#define RL_CGROUP_LONG_OPTIONS                                                                     \
  {"memory", required_argument, NULL, RL_OPT_MEMORY},                                              \
      {"memory-swap", required_argument, NULL, RL_OPT_MEMORY_SWAP},                                \
      {"memory-reservation", required_argument, NULL, RL_OPT_MEMORY_RESERVATION},                  \
      {"cpus", required_argument, NULL, RL_OPT_CPUS},                                              \
      {"cpu-shares", required_argument, NULL, RL_OPT_CPU_SHARES},                                  \
      {"cpu-weight", required_argument, NULL, RL_OPT_CPU_WEIGHT},                                  \
      {"cpuset-cpus", required_argument, NULL, RL_OPT_CPUSET_CPUS},                                \
      {"cpuset-mems", required_argument, NULL, RL_OPT_CPUSET_MEMS},                                \
      {"pids-limit", required_argument, NULL, RL_OPT_PIDS_LIMIT},                                  \
      {"blkio-weight", required_argument, NULL, RL_OPT_BLKIO_WEIGHT},                              \
  {                                                                                                \
    "cgroups", required_argument, NULL, RL_OPT_CGROUPS                                             \
  }
extern const char rl_cgroup_usage[]; /* the help lines of those options */

/* ---- cgroup_limits.c: pure ---- */

void rl_cgroup_limits_init(struct rl_cgroup_limits *l);
void rl_cgroup_limits_free(struct rl_cgroup_limits *l);
/* One of the options above (-1 with *err naming the option and the value). */
int rl_cgroup_opt(int opt, const char *arg, struct rl_cgroup_limits *l, rl_error_t *err);
/* Cross-option rules (docker's): --memory-swap needs --memory and is at
 * least as large; the reservation is at most the limit. */
int rl_cgroup_limits_check(const struct rl_cgroup_limits *l, rl_error_t *err);
bool rl_cgroup_limits_any(const struct rl_cgroup_limits *l);

/* docker's sizes: a number with an optional b, k, m, g, t (powers of 1024,
 * either case, optionally followed by "b": "32m", "1.5g", "512KiB" no). */
int rl_parse_size(const char *s, int64_t *bytes);
/* --cpus as a decimal with up to 5 places → microseconds per 100 ms. */
int rl_parse_cpus(const char *s, int64_t *quota);
/* A cpuset list: "0-3,5,7-8". */
bool rl_cpuset_valid(const char *s);
/* crun's conversions of v1 weights to v2: cpu.shares → cpu.weight,
 * blkio.weight → io.weight. */
uint64_t rl_cpu_shares_to_weight(uint64_t shares);
uint64_t rl_blkio_to_io_weight(uint64_t w);

/* One interface file to write: name and value ("memory.max", "33554432"). */
struct rl_cgroup_file {
  const char *name;
  char *value;
  const char *option; /* the option behind it, for errors */
};
/* The files the limits turn into, in the order they must be written
 * (cpuset.mems before tasks can land...), and the controllers they need.
 * *n_out files in *out (free each value, then the array). */
void rl_cgroup_limits_files(const struct rl_cgroup_limits *l, struct rl_cgroup_file **out,
                            size_t *n_out, rl_strv_t *controllers);
void rl_cgroup_files_free(struct rl_cgroup_file *f, size_t n);

/* The limits as docker's HostConfig fields (Memory, MemorySwap,
 * MemoryReservation, NanoCpus, CpuQuota, CpuPeriod, CpuShares, CpuWeight,
 * CpusetCpus, CpusetMems, PidsLimit, BlkioWeight), set into obj; and back. */
void rl_cgroup_limits_to_json(const struct rl_cgroup_limits *l, json_t *obj);
void rl_cgroup_limits_from_json(json_t *obj, struct rl_cgroup_limits *l);

/* Whether the caller's cgroup can hold containers' cgroups: cgroup2, found, writable. */
struct rl_host_cgroup;
bool rl_cgroup_usable(const struct rl_host_cgroup *h);
/* The verdict for limits needing `needed` (the controllers of the files f)
 * with the base cgroup offering `have`: 0 with the controllers to enable in
 * *want (the needed ones, and memory, pids and cpu when offered), or -1
 * with an error naming the first limit that cannot work, why, and the fix.
 * base NULL (or an unusable h): there is no cgroup to put limits in. */
int rl_cgroup_decide(const struct rl_host_cgroup *h, const char *base, const rl_strv_t *have,
                     const struct rl_cgroup_file *f, size_t nf, const rl_strv_t *needed,
                     rl_strv_t *want, rl_error_t *err);

/* Parse "key value" lines (memory.events, cpu.stat): the value of key, or -1. */
int64_t rl_cgroup_keyed_value(const char *text, const char *key);

/* ---- cgroup.c: the container's cgroup ---- */

struct rl_cgroup {
  char *dir;  /* host path of the container's cgroup, NULL when it has none */
  char *path; /* the same as a cgroup path ("/user.slice/.../rless-<id>") */
  int fd;     /* the dir, open (close-on-exec); -1 without */
  char *home; /* the cgroup rless itself is in, after the placement */
};

/* Create and limit the container's cgroup before anything runs in it.  With
 * --cgroups=disabled, or when the host cannot give one and no limit was
 * asked for, cg->dir stays NULL (said at debug level); a limit that cannot be
 * applied is an error naming the controller, why, and the fix. */
int rl_cgroup_create(const char *id, const struct rl_cgroup_limits *l, struct rl_cgroup *cg,
                     rl_error_t *err);
/* Kill what is left in it, wait until it is empty, remove it.  *oom_killed
 * (may be NULL) tells whether the kernel OOM-killed anything in it. */
void rl_cgroup_destroy(struct rl_cgroup *cg, bool *oom_killed);
/* Write new limits into a running container's cgroup (`rless update`). */
int rl_cgroup_update(const char *dir, const struct rl_cgroup_limits *l, rl_error_t *err);
/* The host dir of the container's own cgroup (a `rless-<id>` one) that its
 * pid 1 `pid` is in; NULL when pid 1 is in any other cgroup (the container
 * got none) or the cgroup is not under the mounted hierarchy. */
char *rl_cgroup_of_container(pid_t pid, char **path_out);
/* Move pid (a helper rless started, such as fuse-overlayfs) out of the
 * container's cgroup into rless' own; a no-op without a container cgroup. */
void rl_cgroup_expel(const struct rl_cgroup *cg, pid_t pid);
/* Write pid (0: the caller) into cgroup.procs of `dir`, relative to dirfd
 * ("." for dirfd itself); 0, or -1 with errno set.  Every move goes here. */
int rl_cgroup_move(int dirfd, const char *dir, pid_t pid);
/* rl_cgroup_move into the container's cgroup (its fd), with the error said. */
int rl_cgroup_put(int cgroup_fd, pid_t pid, rl_error_t *err);
/* Move the calling process into dir (exec joining a container). */
int rl_cgroup_enter(const char *dir, rl_error_t *err);

/* ---- cgroup_systemd.c ---- */

/* Ask the systemd user manager (session bus) for a transient scope with
 * Delegate=yes holding the calling process, and wait for it.  0 when the
 * process moved; -1 with *err otherwise (no bus, no libsystemd, refused). */
int rl_systemd_delegated_scope(const char *name, rl_error_t *err);

/* ---- stats ---- */

struct rl_cgroup_stats {
  int64_t cpu_usage_usec;       /* cpu.stat usage_usec, -1 unknown */
  int64_t mem_current, mem_max; /* -1 unknown, mem_max -1 also "max" */
  int64_t pids_current, pids_max;
  int64_t oom_kills;
};
void rl_cgroup_read_stats(const char *dir, struct rl_cgroup_stats *s);

#endif
