/* Subcommands.  Each parses its own options (argv[0] is the subcommand name)
 * and returns the process exit code (>= 0), or a negative value with *err set.
 *
 * Two binaries share this: `rless` (run, info, images...) links no network
 * or archive library, and `rless-image` (pull, save, load, import, login,
 * logout, commit, diff, export) does; rless
 * hands those commands to rless-image with exec. */
#ifndef RL_CLI_H
#define RL_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "rl_error.h"

struct rl_global {
  const char *root;           /* --root DIR: data dir override, NULL for the default */
  const char *storage_driver; /* --storage-driver overlay|fuse-overlayfs, NULL for the default */
};

typedef int (*rl_cmd_fn)(int argc, char **argv, const struct rl_global *g, rl_error_t *err);

struct rl_command {
  const char *name;
  rl_cmd_fn fn; /* NULL: handled by rless-image */
  const char *help;
};

/* Parse global options, dispatch to `cmds`; returns the exit code. */
int rl_cli_main(int argc, char **argv, const struct rl_command *cmds, size_t n);

/* Path of a helper program installed with rless (beside the running binary,
 * then $(LIBEXECDIR)); NULL with *err when absent. */
char *rl_find_helper(const char *name, rl_error_t *err);

/* The store of --root (or the default data dir), created when asked. */
struct rl_store;
int rl_cli_open_store(const struct rl_global *g, bool create, struct rl_store *s, rl_error_t *err);

int rl_cmd_run(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_info(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_logs.c, cmd_stop.c: detached containers' logs, stopping and signalling */
int rl_cmd_logs(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_stop(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_kill(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_attach.c: back to a container's terminal */
int rl_cmd_attach(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_start.c: a stopped container again, from its record */
int rl_cmd_start(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_restart(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_resources.c: cgroup stats and live limit changes */
int rl_cmd_stats(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_update(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_exec.c: a new process in a running container */
int rl_cmd_exec(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_pull(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_ps.c, cmd_inspect.c, cmd_rm.c: containers (rl_cstate.h) */
int rl_cmd_ps(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_inspect(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_rm(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_wait(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_container_prune(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* `rless container ls|inspect|wait|rm|prune|run|exec|logs|start|stop|kill` */
int rl_cmd_container(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_images.c (rless): the local image index */
int rl_cmd_images(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_rmi(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_tag(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* `rless image ls|rm|tag|inspect|prune` */
int rl_cmd_image(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_archive.c (rless-image): archives in and out of the store */
int rl_cmd_save(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_load(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_import(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_login.c (rless-image): registry credentials */
int rl_cmd_login(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_logout(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
/* cmd_commit.c (rless-image): a container's changes as an image, a list, a tar */
int rl_cmd_commit(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_diff(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_export(int argc, char **argv, const struct rl_global *g, rl_error_t *err);

#endif
