/* seccomp with libseccomp: the default policy (docker's in spirit, as a
 * denylist that returns EPERM), profiles in the docker/OCI format, and the
 * filter loaded as the very last step before exec.
 *
 * A profile is parsed into data (struct rl_seccomp_profile) when the
 * options are read, so a bad one fails before any container exists; the
 * default policy is the same data built in code.  The filter is built from
 * that data in the container's process, with its capability set: rules
 * docker lifts for a capability (includes/excludes "caps") are decided
 * there. */
#ifndef RL_SECCOMP_H
#define RL_SECCOMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rl_error.h"
#include "rl_util.h"

/* One comparison, libseccomp's (index, op, datum_a, datum_b): for
 * SCMP_CMP_MASKED_EQ `value` is the mask and `value2` the datum. */
struct rl_seccomp_arg {
  unsigned index; /* 0..5 */
  int op;         /* enum scmp_compare */
  uint64_t value, value2;
};

/* docker's "includes"/"excludes": which containers a rule is for.
 * Includes: every listed capability held, the architecture listed, the
 * kernel at least min_kernel; excludes: any of them. */
struct rl_seccomp_cond {
  uint64_t caps;          /* bit N: capability N */
  bool caps_unknown;      /* names a capability libcap does not know (never held) */
  rl_strv_t arches;       /* docker's architecture names: amd64, arm64, x32, ... */
  unsigned min_kernel[2]; /* major, minor; 0.0: no condition */
};

/* Names share the action and the comparisons.  As runc does, comparisons
 * are ANDed in one libseccomp rule, unless two of them test the same
 * argument: then each is a rule of its own (ORed). */
struct rl_seccomp_rule {
  rl_strv_t names;
  uint32_t action; /* SCMP_ACT_*, the errno included */
  struct rl_seccomp_arg *args;
  size_t n_args;
  struct rl_seccomp_cond includes, excludes;
};

struct rl_seccomp_profile {
  uint32_t default_action;
  uint32_t *arches; /* SCMP_ARCH_* filtered beside the native one */
  size_t n_arches;
  bool log, spec_allow; /* SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW */
  struct rl_seccomp_rule *rules;
  size_t n_rules;
};

enum rl_seccomp_mode { RL_SECCOMP_DEFAULT, RL_SECCOMP_UNCONFINED, RL_SECCOMP_PROFILE };

/* Zero-initialised: the default policy. */
struct rl_seccomp_cfg {
  enum rl_seccomp_mode mode;
  char *origin;                      /* PROFILE: the file, for messages */
  json_t *json;                      /* PROFILE: the profile as read, for the container record */
  struct rl_seccomp_profile profile; /* PROFILE: parsed */
};

/* The value of `--security-opt seccomp=VALUE`: "unconfined", or the path
 * of a profile, read, parsed and built once (without loading) so every
 * error shows now.  NULL or "": the default policy. */
int rl_seccomp_opt(const char *value, struct rl_seccomp_cfg *cfg, rl_error_t *err);
void rl_seccomp_cfg_free(struct rl_seccomp_cfg *cfg);

/* What the container record keeps so that exec and start apply the same
 * filter even if the file changed: null (default), "unconfined" or the
 * profile object.  _from_json takes those, and a string as a path (read
 * again). */
json_t *rl_seccomp_cfg_json(const struct rl_seccomp_cfg *cfg);
int rl_seccomp_cfg_from_json(json_t *v, struct rl_seccomp_cfg *cfg, rl_error_t *err);

/* A docker/OCI profile (defaultAction, defaultErrnoRet, architectures or
 * archMap, flags, syscalls[{names, action, errnoRet, args[{index, value,
 * valueTwo, op}], includes, excludes}]) into data.  Errors name `origin`
 * and the JSON path ("syscalls[3].args[0].op: unknown operator ...").
 * Names libseccomp does not know are kept (and skipped when building, as
 * runc does, so docker's newest profiles work with an older libseccomp).
 * Pure. */
int rl_seccomp_profile_parse(json_t *root, const char *origin, struct rl_seccomp_profile *p,
                             rl_error_t *err);
void rl_seccomp_profile_free(struct rl_seccomp_profile *p);

/* The default policy as data: allow by default; EPERM for kexec, modules,
 * bpf, perf_event_open, userfaultfd, keyrings, open_by_handle_at, the new
 * mount API, personality() other than 0, PER_LINUX32, UNAME26, both and the
 * 0xffffffff query, ioctl TIOCSTI and TIOCLINUX, acct, swap, reboot, clock
 * changes, quotactl, lookup_dcookie, nfsservctl, vm86, iopl/ioperm, kcmp,
 * and new user namespaces (unshare/clone with CLONE_NEWUSER); ENOSYS for
 * clone3 (its flags cannot be inspected; glibc falls back to clone).  Rules
 * docker lifts for a capability carry it in `excludes`.  On x86_64 the i386
 * and x32 entry points are filtered too. */
void rl_seccomp_default_profile(struct rl_seccomp_profile *p);

/* Build the filter of cfg (NULL: the default) for a process holding
 * `caps` and load it.  no_new_privs must be set.  Logs nothing; call it
 * last before execve. */
int rl_seccomp_apply(const struct rl_seccomp_cfg *cfg, uint64_t caps, rl_error_t *err);

/* The same in two steps, so that building (a millisecond of libseccomp
 * work) can happen while something else is waited for, and loading is one
 * system call.  An unconfined cfg compiles to nothing (n == 0). */
struct rl_seccomp_prog {
  void *filter; /* struct sock_filter[n], from seccomp_export_bpf */
  size_t n;
  unsigned flags; /* SECCOMP_FILTER_FLAG_* */
  bool ready;
};
int rl_seccomp_compile(const struct rl_seccomp_cfg *cfg, uint64_t caps, struct rl_seccomp_prog *p,
                       rl_error_t *err);
/* The same, the default filter kept in `dir` (the runtime dir; NULL: no
 * cache) for the next start with the same capabilities. */
int rl_seccomp_compile_cached(const struct rl_seccomp_cfg *cfg, uint64_t caps, const char *dir,
                              struct rl_seccomp_prog *p, rl_error_t *err);
int rl_seccomp_load(const struct rl_seccomp_prog *p, rl_error_t *err);
void rl_seccomp_prog_free(struct rl_seccomp_prog *p);

#endif
