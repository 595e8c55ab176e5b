/* rless-image: the commands that talk to registries or read archives, kept
 * out of `rless` so container start-up never loads libcurl or libarchive.
 * The only file of this binary with global state: the log level. */
#include "rl_cli.h"

int rl_log_level = RL_LOG_WARN;

static const struct rl_command commands[] = {
    {"pull", rl_cmd_pull, "pull an image from a registry"},
};

int main(int argc, char **argv)
{
  return rl_cli_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]));
}
