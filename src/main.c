/* rless: rootless containers.  The only file with global state: the log level. */
#include "rl_cli.h"

int rl_log_level = RL_LOG_WARN;

static const struct rl_command commands[] = {
    {"run", rl_cmd_run, "run a command in a new container"},
    {"pull", NULL, "pull an image from a registry"},
    {"images", rl_cmd_images, "list images"},
    {"rmi", rl_cmd_rmi, "remove images"},
    {"tag", rl_cmd_tag, "give an image another name"},
    {"image", rl_cmd_image, "manage images: ls, rm, tag, inspect, prune"},
    {"save", NULL, "write images to an archive (OCI layout or docker-archive)"},
    {"load", NULL, "read images from an archive"},
    {"import", NULL, "make a one-layer image from a root filesystem tarball"},
    {"login", NULL, "store credentials for a registry"},
    {"logout", NULL, "remove stored credentials for a registry"},
    {"info", rl_cmd_info, "show what this host allows and what rless will use"},
};

int main(int argc, char **argv)
{
  return rl_cli_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]));
}
