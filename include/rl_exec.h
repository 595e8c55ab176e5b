/* `rless exec`: a new process in a running container.  Joining the
 * container's namespaces (pidfd setns, user namespace first), the process
 * set up inside like the container's own pid 1, and the parent relaying the
 * terminal and signals.
 *
 * The rl_proc_* pieces are the container process's last steps, shared with
 * the run path: environment, user switch, exec. */
#ifndef RL_EXEC_H
#define RL_EXEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_proc.h"
#include "rl_passwd.h"
#include "rl_seccomp.h"
#include "rl_util.h"

struct rl_exec_opts {
  bool interactive, tty, detach;
  char *workdir; /* -w, absolute; NULL: the container's */
  char *user;    /* -u USER[:GROUP]; NULL: the container's */
  rl_strv_t env; /* -e and --env-file, in the order given */
  char *container;
  rl_strv_t argv; /* never empty */
};

/* argv[0] is "exec".  Returns 0, 1 after printing --help, or -1 with *err. */
int rl_exec_opts_parse(int argc, char **argv, struct rl_exec_opts *o, rl_error_t *err);
void rl_exec_opts_free(struct rl_exec_opts *o);

/* What exec takes from the container: its live pid 1 and its config. */
struct rl_exec_target {
  char *name;                    /* as the user typed it, for messages */
  pid_t pid;                     /* host pid of the container's pid 1 */
  unsigned long long start_time; /* of that pid, as recorded when it started */
  rl_strv_t env;                 /* the container's env: the image's, then run's -e */
  char *workdir;                 /* NULL: "/" */
  char *user;                    /* NULL: root, or the caller with keep_id */
  bool keep_id;                  /* --userns keep-id: the default user is the caller */
  uint64_t caps;                 /* the container's capability set */
  struct rl_seccomp_cfg seccomp; /* the container's filter */
};

/* The config part of container.json ("env", "workdir", "user", "userns",
 * "cap_add", "cap_drop"; absent keys take run's defaults).  Pure. */
int rl_exec_target_config(json_t *config, struct rl_exec_target *t, rl_error_t *err);
void rl_exec_target_free(struct rl_exec_target *t);

/* Run o->argv in t; returns its exit status (docker's: N, 128+N for a
 * signal, 126/127 when it cannot be executed), 0 at once with -d, or -1
 * with *err.  A pid whose start time differs from t->start_time is never
 * joined: "container X is not running". */
int rl_exec_run(const struct rl_exec_target *t, const struct rl_exec_opts *o, rl_error_t *err);

/* "CapBnd:" of a /proc/PID/status text.  Pure. */
int rl_exec_parse_capbnd(const char *status, uint64_t *mask, rl_error_t *err);

#endif
