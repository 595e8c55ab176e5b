/* rless-image: the commands that talk to registries or read archives, kept
 * out of `rless` so container start-up never loads libcurl or libarchive.
 * The only file of this binary with global state: the log level. */
#include "rl_cli.h"

int rl_log_level = RL_LOG_WARN;

static const struct rl_command commands[] = {
    {"pull", rl_cmd_pull, "pull an image from a registry"},
    {"save", rl_cmd_save, "write images to an archive (OCI layout or docker-archive)"},
    {"load", rl_cmd_load, "read images from an archive"},
    {"import", rl_cmd_import, "make a one-layer image from a root filesystem tarball"},
    {"login", rl_cmd_login, "store credentials for a registry"},
    {"logout", rl_cmd_logout, "remove stored credentials for a registry"},
    {"commit", rl_cmd_commit, "make an image of a container's changes"},
    {"diff", rl_cmd_diff, "list the files a container changed"},
    {"export", rl_cmd_export, "write a container's file system as a tar archive"},
};

int main(int argc, char **argv)
{
  return rl_cli_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]));
}
