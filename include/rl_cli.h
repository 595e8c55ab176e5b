/* Subcommands.  Each parses its own options (argv[0] is the subcommand name)
 * and returns the process exit code (>= 0), or a negative value with *err set. */
#ifndef RL_CLI_H
#define RL_CLI_H

#include "rl_error.h"

struct rl_global {
  const char *root; /* --root DIR: data dir override, NULL for the default */
};

int rl_cmd_run(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_info(int argc, char **argv, const struct rl_global *g, rl_error_t *err);

#endif
