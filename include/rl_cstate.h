/* Containers that outlive the command that made them: identity, the
 * durable record in the data dir, the live state in the runtime dir, and the
 * status derived from facts.
 *
 *   <data>/containers/<id>/container.json   the config (durable; survives a
 *                                           wiped runtime dir)
 *   <data>/containers/<id>/exit.json        exit code, times, OOMKilled (durable)
 *   <data>/containers/<id>/{upper,work,merged}
 *   <data>/containers/<id>/ctr.log          the log of a detached container
 *   <data>/names/<name>                     symlink -> <id>: the name's claim
 *   <run>/containers/<id>/state.json        pid, pid start time, monitor pid
 *   <run>/containers/<id>/attach.sock       the monitor's attach socket
 *
 * A name is claimed with symlinkat(), which fails with EEXIST for all but
 * one of any number of racing creators.  Status is never read from a file:
 * a container is running when state.json names a pid that is alive with the
 * same start time (field 22 of /proc/PID/stat); otherwise it has exited when
 * exit.json exists, and is "created" when neither (or "exited" with code
 * -1/unknown when its monitor died without writing exit.json). */
#ifndef RL_CSTATE_H
#define RL_CSTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_store.h"
#include "rl_util.h"

enum rl_cstatus { RL_CSTATUS_CREATED, RL_CSTATUS_RUNNING, RL_CSTATUS_EXITED };

struct rl_cstate {
  char id[65];
  char *name;
  char *image;      /* config digest; NULL for --rootfs containers */
  char *image_name; /* as the user typed it */
  char *rootfs;     /* --rootfs DIR, NULL for images */
  rl_strv_t layers; /* bottom first */
  rl_strv_t command;
  char *created; /* RFC 3339 UTC */
  bool auto_remove;
  char *stop_signal; /* NULL: SIGTERM */
  json_t *config;    /* everything else the run path needs to start it
                        again (env, workdir, user, hostname, tty, volumes, ...);
                        owned */
  /* derived by rl_cstate_load */
  enum rl_cstatus status;
  pid_t pid;         /* host pid of pid 1 when running */
  pid_t monitor_pid; /* 0 when none */
  int exit_code;     /* valid when EXITED; -1 when unknown */
  bool oom_killed;
  char *started_at, *finished_at; /* RFC 3339, NULL when not yet */
};

void rl_cstate_free(struct rl_cstate *c);

/* Claim c->name (or a generated adjective_noun when NULL/empty) for c->id and
 * write container.json by temp + rename.  A taken name is the error
 * `name "x" is already in use by container <id>` (exit 125). */
int rl_cstate_create(struct rl_store *s, struct rl_cstate *c, rl_error_t *err);

/* By name, full id, or unique id prefix (like docker, any length >= 1 hex
 * that is a prefix of exactly one id).  "No such container: X" otherwise. */
int rl_cstate_find(const struct rl_store *s, const char *ref, char id[65], rl_error_t *err);

/* Read container.json, exit.json and the live state; derive the status. */
int rl_cstate_load(const struct rl_store *s, const char *id, struct rl_cstate *c, rl_error_t *err);

/* Every container id in the store (for ps -a, prune). */
int rl_cstate_list(const struct rl_store *s, rl_strv_t *ids, rl_error_t *err);

/* The live state: written when pid 1 started (pid, its start time, the
 * monitor's pid), under <run>/containers/<id>/. */
int rl_cstate_set_running(const char *id, pid_t pid, pid_t monitor, rl_error_t *err);
/* exit.json: the wait status of pid 1 (docker's codes: 128+N for signal N). */
int rl_cstate_set_exited(const struct rl_store *s, const char *id, int exit_code, bool oom_killed,
                         rl_error_t *err);

/* Remove the container: its name claim, runtime dir, and data dir (upper
 * layer files belong to subordinate ids: removed inside the user
 * namespace).  Refuses a running container unless `force` (then SIGKILL and
 * wait first). */
int rl_cstate_remove(struct rl_store *s, const char *id, bool force, rl_error_t *err);

/* "/proc/PID/stat" field 22, or 0 when the process is gone. */
unsigned long long rl_proc_start_time(pid_t pid);

#endif
