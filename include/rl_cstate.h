/* Containers that outlive the command that made them: identity, the
 * durable record in the data dir, the live state in the runtime dir, and the
 * status derived from facts.
 *
 *   <data>/containers/<id>/container.json   the config (durable; survives a
 *                                           wiped runtime dir)
 *   <data>/containers/<id>/started.json     when pid 1 last started (durable)
 *   <data>/containers/<id>/exit.json        exit code, times, OOMKilled (durable)
 *   <data>/containers/<id>/{upper,work,merged}
 *   <data>/containers/<id>/ctr.log          the log of a detached container
 *   <data>/names/<name>                     symlink -> <id>: the name's claim
 *   <run>/containers/<id>/state.json        pid, pid start time, monitor pid
 *   <run>/containers/<id>/data              symlink -> <data>/containers/<id>
 *   <run>/containers/<id>/attach.sock       the monitor's attach socket
 *
 * A name is claimed with symlinkat(), which fails with EEXIST for all but
 * one of any number of racing creators.  Status is never read from a file:
 * a container is running when state.json names a pid that is alive (not a
 * zombie) with the same start time (field 22 of /proc/PID/stat); otherwise
 * it has exited when exit.json exists; it exited with code -1 (unknown) when
 * it was started (state.json or started.json) but its monitor died without
 * writing exit.json; and it is "created" when it never started.
 *
 * The `data` link lets rl_cstate_set_running, which is given only the id,
 * reach the durable dir: it writes started.json and drops the exit.json of
 * an earlier run there. */
#ifndef RL_CSTATE_H
#define RL_CSTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_store.h"
#include "rl_util.h"

enum rl_cstatus { RL_CSTATUS_CREATED, RL_CSTATUS_RUNNING, RL_CSTATUS_EXITED };

/* Exit code of "No such container", "cannot remove a running container" and
 * the other refusals of inspect/rm/wait: docker's CLI exits 1 for them. */
#define RL_EXIT_NO_SUCH 1

struct rl_cstate {
  char id[65];
  char *name;
  char *image;      /* config digest; NULL for --rootfs containers */
  char *image_name; /* as the user typed it */
  char *manifest;   /* manifest digest of the image, so removing the container
                       can collect it after an `rmi -f` */
  char *rootfs;     /* --rootfs DIR, NULL for images */
  rl_strv_t layers; /* bottom first */
  rl_strv_t command;
  char *created; /* RFC 3339 UTC with nanoseconds; NULL: now, at create */
  bool auto_remove;
  char *stop_signal; /* NULL: SIGTERM */
  json_t *config;    /* everything else the run path needs to start it
                        again; owned.  Keys (rl_cstate_run_config):
                        env [KEY=VALUE, image Env then -e], workdir, user,
                        hostname, tty, interactive, read_only, init,
                        network "none"|"host", volumes [{source,
                        destination, ro}], tmpfs [DST], cap_add, cap_drop,
                        userns (as asked: auto|keep-id|single),
                        userns_resolved (subids|keep-id|single),
                        storage_driver, entrypoint (null: none), cmd,
                        argv (what runs: entrypoint + cmd) */
  /* derived by rl_cstate_load */
  enum rl_cstatus status;
  pid_t pid;                    /* host pid of pid 1 when running */
  unsigned long long pid_start; /* its start time (rl_proc_start_time) */
  pid_t monitor_pid;            /* 0 when none or gone */
  unsigned long long monitor_start;
  int exit_code; /* valid when EXITED; -1 when unknown */
  bool oom_killed;
  char *started_at, *finished_at; /* RFC 3339, NULL when not yet */
};

void rl_cstate_free(struct rl_cstate *c);

/* Claim c->name (or a generated adjective_noun when NULL/empty, retried on
 * collision; c->name is then set) for c->id, write container.json by temp +
 * rename into <data>/containers/<id>/ (which must exist), and make the
 * runtime dir.  A taken name is the error `name "x" is already in use by
 * container <12 id>` (exit 125) and nothing is written.  The caller holds
 * the store lock: a claim whose container dir is gone (a crash in rm, a
 * --rm cleanup that kept the name) is stale and replaced only under it. */
int rl_cstate_create(struct rl_store *s, struct rl_cstate *c, rl_error_t *err);

/* Write container.json again from c (temp + rename): `rless update`. */
int rl_cstate_save(const struct rl_store *s, const struct rl_cstate *c, rl_error_t *err);
/* By full id, name ("/name" too), or unique id prefix (like docker, any
 * length >= 1 hex that is a prefix of exactly one id).  "No such container:
 * X" (exit RL_EXIT_NO_SUCH) otherwise; an ambiguous prefix lists the ids. */
int rl_cstate_find(const struct rl_store *s, const char *ref, char id[65], rl_error_t *err);

/* Read container.json, exit.json and the live state; derive the status. */
int rl_cstate_load(const struct rl_store *s, const char *id, struct rl_cstate *c, rl_error_t *err);

/* Every container id in the store that has a container.json (for ps -a,
 * prune; a dir whose record is not yet written is being created). */
int rl_cstate_list(const struct rl_store *s, rl_strv_t *ids, rl_error_t *err);

/* <run>/containers/<id> (0700), created with its `data` link when missing;
 * where the monitor puts attach.sock.  rl_cstate_create calls it; `rless
 * start` calls it again (a reboot empties the runtime dir). */
char *rl_cstate_run_dir(const struct rl_store *s, const char *id, rl_error_t *err);

/* The live state: written when pid 1 started (pid, its start time, the
 * monitor's pid and start time), under <run>/containers/<id>/; through the
 * `data` link also started.json, and an earlier run's exit.json removed. */
int rl_cstate_set_running(const char *id, pid_t pid, pid_t monitor, rl_error_t *err);
/* exit.json: the wait status of pid 1 (docker's codes: 128+N for signal N).
 * A container removed while it ran (rm -f) has nothing to record: 0. */
int rl_cstate_set_exited(const struct rl_store *s, const char *id, int exit_code, bool oom_killed,
                         rl_error_t *err);

/* Wait until pid 1 of a running container exits (pidfd, no polling loop),
 * then for exit.json (inotify on the container dir, a few seconds at most).
 * *code: the exit code; -1 when no exit.json came; 0 for a container that
 * never started (docker's `wait` returns at once for it). */
int rl_cstate_wait(const struct rl_store *s, const char *id, int *code, rl_error_t *err);

/* Remove the container: its name claim, runtime dir, and data dir (upper
 * layer files belong to subordinate ids: removed inside the user
 * namespace), then the layers and blobs of its image that no image and no
 * container references any more (left by `rmi -f`).  Refuses a running
 * container unless `force` (then SIGKILL, and wait for pid 1 and its
 * monitor to be gone; the monitor itself may call it, for --rm).  Takes
 * the store lock: never call it holding that.  Adds the bytes freed to
 * *freed (may be NULL). */
int rl_cstate_remove(struct rl_store *s, const char *id, bool force, long long *freed,
                     rl_error_t *err);

/* "/proc/PID/stat" field 22, or 0 when the process is gone or a zombie. */
unsigned long long rl_proc_start_time(pid_t pid);

/* ---- cstate_config.c ---- */

struct rl_container;
/* The "config" object above for a prepared container (`image_config`: the
 * image config's "config" object, may be NULL). */
json_t *rl_cstate_run_config(const struct rl_container *c, json_t *image_config,
                             const char *storage_driver);

/* ---- names.c ---- */

/* docker-style "adjective_surname", random. */
char *rl_cstate_random_name(void);

/* ---- cstate_fmt.c: what ps and inspect show (pure) ---- */

const char *rl_cstatus_name(enum rl_cstatus s); /* "created", "running", "exited" */
/* docker's units.HumanDuration: "Less than a second", "About a minute", "3 hours". */
char *rl_human_duration(long long seconds);
/* docker's COMMAND cell: path and args (an arg with a space in single
 * quotes), truncated to 20 characters with "…" unless !trunc, then quoted
 * as Go's strconv.Quote does. */
char *rl_cstate_command_text(const rl_strv_t *argv, bool trunc);
/* "Created", "Up 3 minutes", "Exited (0) 2 seconds ago" at `now`. */
char *rl_cstate_status_text(const struct rl_cstate *c, long long now);
/* The current time as RFC 3339 with nanoseconds, UTC (docker's Created). */
char *rl_rfc3339_nano_now(void);

#endif
