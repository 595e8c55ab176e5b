/* rless: rootless containers.  The only file with global state: the log level. */
#include "rl_cli.h"

int rl_log_level = RL_LOG_WARN;

static const struct rl_command commands[] = {
    {"run", rl_cmd_run, "run a command in a new container"},
    {"pull", NULL, "pull an image from a registry"},
    {"info", rl_cmd_info, "show what this host allows and what rless will use"},
};

int main(int argc, char **argv)
{
  return rl_cli_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]));
}
