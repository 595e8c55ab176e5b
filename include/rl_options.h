/* `rless run` options: parsed once into this struct and validated, then
 * turned into the runtime configuration by the container module. */
#ifndef RL_OPTIONS_H
#define RL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "rl_cgroup.h"
#include "rl_error.h"
#include "rl_idmap.h"
#include "rl_net.h"
#include "rl_util.h"

enum rl_pull_policy { RL_PULL_MISSING, RL_PULL_ALWAYS, RL_PULL_NEVER };

struct rl_volume {
  char *src;
  char *dst;
  bool ro;
};

struct rl_run_opts {
  bool interactive, tty, rm, read_only, init, detach;
  char *name;             /* --name, NULL: generated */
  char *detach_keys;      /* --detach-keys, NULL: ctrl-p,ctrl-q */
  bool privileged;        /* all caps of the user namespace, no seccomp, no masks */
  char *seccomp;          /* --security-opt seccomp=: "unconfined", a profile path, NULL: default */
  rl_strv_t mask, unmask; /* --security-opt mask=/unmask= (unmask "ALL": every default) */
  rl_strv_t add_hosts, dns, dns_search; /* --add-host HOST:IP, --dns, --dns-search */
  char *rootfs;                         /* --rootfs DIR, or NULL with an image */
  char *image;                          /* the IMAGE argument when there is no --rootfs */
  char *entrypoint;                     /* --entrypoint: NULL keeps the image's, "" clears it */
  char *platform;
  enum rl_pull_policy pull;
  const char *root, *storage_driver; /* global --root and --storage-driver (not owned) */
  char *hostname;
  char *workdir;
  char *user;    /* -u as given: "uid[:gid]" or "name[:group]" */
  rl_strv_t env; /* KEY=VALUE, in the order given (--env-file and -e interleave) */
  struct rl_volume *volumes;
  size_t n_volumes;
  rl_strv_t tmpfs;
  rl_strv_t cap_add, cap_drop;
  enum rl_userns_mode userns;
  enum rl_network_mode network;   /* RL_NET_DEFAULT unless --network */
  struct rl_net_opts net;         /* the rest of --network, -p, -P, --pid, --ipc */
  rl_strv_t argv;                 /* the command; may be empty with an image (its Cmd then) */
  struct rl_cgroup_limits limits; /* --memory, --cpus, ..., --cgroups */
};

/* argv[0] is "run".  Returns 0 or -1 with *err (exit code 125). */
int rl_run_opts_parse(int argc, char **argv, struct rl_run_opts *o, rl_error_t *err);
void rl_run_opts_free(struct rl_run_opts *o);

/* docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, here at most 128. */
bool rl_container_name_valid(const char *s);

/* -v SRC:DST[:ro|rw] */
int rl_volume_parse(const char *spec, struct rl_volume *v, rl_error_t *err);

/* Append the lines of an env file (KEY=VALUE, KEY alone takes the host's
 * value, '#' comments and blank lines skipped) to env. */
int rl_env_file_load(const char *path, rl_strv_t *env, rl_error_t *err);
/* One -e argument: KEY=VALUE as is; KEY alone takes the host's value, or is dropped when unset. */
int rl_env_add(rl_strv_t *env, const char *spec, rl_error_t *err);
/* Set KEY=VALUE in env replacing an earlier KEY. */
void rl_env_set(rl_strv_t *env, const char *kv);

#endif
