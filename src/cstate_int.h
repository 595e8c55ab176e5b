/* Shared by the container state files: cstate.c (records, names, lookup),
 * cstate_live.c (live state, exit, wait) and cstate_rm.c (removal). */
#ifndef RL_CSTATE_INT_H
#define RL_CSTATE_INT_H

#include "rl_cstate.h"

#include <stdbool.h>

/* 64 lowercase hex digits. */
bool rl_cstate_id_valid(const char *id);

/* Write j as dir/name by a temp file in the same dir and rename(2): a
 * reader sees the old file or the new one, never half of one. `shown` names
 * the dir in errors. */
int rl_cstate_json_write_at(int dirfd, const char *shown, const char *name, json_t *j,
                            rl_error_t *err);
/* Parse dir/name; NULL with errno ENOENT when absent, else NULL with *err. */
json_t *rl_cstate_json_read_at(int dirfd, const char *shown, const char *name, rl_error_t *err);

/* <run>/containers/<id> (not created). */
char *rl_cstate_run_path(const char *id, rl_error_t *err);

/* The live half of rl_cstate_load: state.json, started.json and exit.json
 * turned into c's status fields. */
int rl_cstate_derive(const struct rl_store *s, struct rl_cstate *c, rl_error_t *err);

/* Open pid as a pidfd when it is still the process that started at
 * `start` (so a reused pid is never signalled); -1 with errno ESRCH when it
 * is gone. */
int rl_pidfd_for(pid_t pid, unsigned long long start);
/* Wait until the process behind pidfd exits, at most timeout_ms (-1:
 * forever); 1 exited, 0 timed out. */
int rl_pidfd_wait(int pidfd, int timeout_ms);

#endif
