/* rless: rootless containers.  The only file with global state: the log level. */
#include "rl_cli.h"
#include "rl_net.h"

int rl_log_level = RL_LOG_WARN;

static const struct rl_command commands[] = {
    {"run", rl_cmd_run, "run a command in a new container"},
    {"logs", rl_cmd_logs, "show a detached container's output"},
    {"stop", rl_cmd_stop, "stop containers: their stop signal, then SIGKILL"},
    {"kill", rl_cmd_kill, "send a signal to containers"},
    {"start", rl_cmd_start, "start stopped containers again"},
    {"restart", rl_cmd_restart, "stop containers and start them again"},
    {"attach", rl_cmd_attach, "attach to a running container's terminal"},
    {"exec", rl_cmd_exec, "run a command in a running container"},
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
    {"commit", NULL, "make an image of a container's changes"},
    {"diff", NULL, "list the files a container changed"},
    {"export", NULL, "write a container's file system as a tar archive"},
    {"ps", rl_cmd_ps, "list containers"},
    {"inspect", rl_cmd_inspect, "show containers' or images' configuration and state as JSON"},
    {"port", rl_cmd_port, "list a container's published ports"},
    {"rm", rl_cmd_rm, "remove containers"},
    {"wait", rl_cmd_wait, "wait for containers to exit and print their exit codes"},
    {"container", rl_cmd_container, "manage containers: ls, inspect, wait, rm, prune, ..."},
    {"stats", rl_cmd_stats, "show running containers' CPU, memory and pids use"},
    {"update", rl_cmd_update, "change running containers' resource limits"},
    {"info", rl_cmd_info, "show what this host allows and what rless will use"},
};

int main(int argc, char **argv)
{
  return rl_cli_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]));
}
