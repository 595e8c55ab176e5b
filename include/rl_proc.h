/* The container process's last steps, shared by run (pid 1) and exec. */
#ifndef RL_PROC_H
#define RL_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "rl_error.h"
#include "rl_passwd.h"
#include "rl_util.h"

/* PATH, HOSTNAME, container=rless, TERM (with a tty), HOME, then `base`
 * (the image's env) and `extra` (-e) over them, later keys replacing
 * earlier ones.  Pure. */
void rl_proc_env(const char *hostname, bool tty, const char *home, const rl_strv_t *base,
                 const rl_strv_t *extra, rl_strv_t *env);

/* Supplementary groups (unless the user namespace denies setgroups), gid,
 * uid, keeping capabilities across the switch, then `caps` as permitted and
 * effective (inheritable for root), ambient cleared.  The bounding set must
 * have been reduced before (rl_caps_drop_bounding).  `single_id`: the map
 * has one id only, which the hint of an unmapped id names. */
int rl_proc_switch_user(const struct rl_user *u, bool setgroups_allowed, bool single_id,
                        uint64_t caps, rl_error_t *err);

/* A sealed memfd (close-on-exec) holding rless-init (init_memfd.c). */
int rl_init_memfd(rl_error_t *err);

/* The command argv[0] as execvp would find it with `path` (the container's
 * PATH; NULL: the default): a new string, or NULL with *err (127 when
 * missing, 126 when found but not executable).  Called in the container. */
char *rl_proc_find_command(const char *name, const char *path, rl_error_t *err);

/* no_new_privs, signals unblocked and SIGPIPE default, every fd above 2
 * close-on-exec, the seccomp filter, then the command: executed by
 * rless-init from `init_fd` (rl_init_memfd), as pid 1 when `as_init`
 * (--init), else told to execute it at once; so the host's rless binary is
 * never what /proc/self/exe names when the container's command starts.
 * The command is looked up in `env`'s PATH first.  Returns only on failure:
 * exit code 127 when the command is not found, else 126. */
struct rl_seccomp_cfg;
struct rl_seccomp_prog;
/* The filter: `prog` when it was compiled ahead (rl_seccomp_compile), else
 * built from `seccomp` now. */
int rl_proc_exec(char *const *argv, rl_strv_t *env, const struct rl_seccomp_cfg *seccomp,
                 const struct rl_seccomp_prog *prog, uint64_t caps, int init_fd, bool as_init,
                 rl_error_t *err);

#endif
