/* Containers that outlive `rless run`: the detached monitor, and what every
 * run of an image records as it starts and ends (see rl_cstate.h). */
#ifndef RL_MONITOR_H
#define RL_MONITOR_H

#include "rl_container.h"
#include "rl_store.h"
#include "rl_error.h"

/* run -d, start: fork the monitor and wait until the command was executed.
 * The monitor runs the container to its end and rl_container_finish.  With
 * attach_fd (run -it), *attach_fd is a connection to its attach socket made
 * before the command started. */
int rl_run_detached(struct rl_container *c, int *attach_fd, rl_error_t *err);

/* Foreground runs: record the running state once the command started. */
void rl_container_track(struct rl_container *c);

/* After the container ended with `code` (docker's codes): exit.json, then
 * the --rm cleanup. */
void rl_container_finish(struct rl_container *c, int code);

/* Stop a container: its stop signal, SIGKILL after `timeout` seconds, then
 * its monitor given a moment to record the exit.  Nothing when not running. */
int rl_container_stop(const struct rl_store *s, const char *ref, long timeout, rl_error_t *err);

/* Start a stopped container from its record: detached, or attached (then
 * its exit status is returned).  Nothing when it runs already. */
struct rl_global;
int rl_container_start(const struct rl_store *s, const struct rl_global *g, const char *ref,
                       bool attach, rl_error_t *err);

/* A signal by name ("TERM", "SIGTERM", any case) or number; -1 if none. */
int rl_signal_parse(const char *s);

#endif
