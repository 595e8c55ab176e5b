#include "rl_etcfiles.h"
#include "rl_options.h"

#include <ctype.h>
#include <getopt.h>
#include <string.h>

enum {
  OPT_ENV_FILE = 256,
  OPT_TMPFS,
  OPT_READ_ONLY,
  OPT_NETWORK,
  OPT_INIT,
  OPT_CAP_ADD,
  OPT_CAP_DROP,
  OPT_USERNS,
  OPT_RM,
  OPT_ROOTFS,
  OPT_ENTRYPOINT,
  OPT_PULL,
  OPT_PLATFORM,
  OPT_NAME,
  OPT_DETACH_KEYS,
  OPT_SECURITY_OPT,
  OPT_PRIVILEGED,
  OPT_ADD_HOST,
  OPT_DNS,
  OPT_DNS_SEARCH,
  OPT_HELP,
};

static const struct option run_options[] = {
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"hostname", required_argument, NULL, 'h'},
    {"volume", required_argument, NULL, 'v'},
    {"tmpfs", required_argument, NULL, OPT_TMPFS},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"net", required_argument, NULL, OPT_NETWORK},
    {"init", no_argument, NULL, OPT_INIT},
    {"cap-add", required_argument, NULL, OPT_CAP_ADD},
    {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
    {"userns", required_argument, NULL, OPT_USERNS},
    {"rm", no_argument, NULL, OPT_RM},
    {"rootfs", required_argument, NULL, OPT_ROOTFS},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"pull", required_argument, NULL, OPT_PULL},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"detach", no_argument, NULL, 'd'},
    {"name", required_argument, NULL, OPT_NAME},
    {"detach-keys", required_argument, NULL, OPT_DETACH_KEYS},
    {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
    {"privileged", no_argument, NULL, OPT_PRIVILEGED},
    {"add-host", required_argument, NULL, OPT_ADD_HOST},
    {"dns", required_argument, NULL, OPT_DNS},
    {"dns-search", required_argument, NULL, OPT_DNS_SEARCH},
    {"help", no_argument, NULL, OPT_HELP},
    RL_CGROUP_LONG_OPTIONS,
    RL_NET_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

static const char run_usage[] =
    "Usage: rless run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
    "       rless run [OPTIONS] --rootfs DIR COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND in a new rootless container made from IMAGE (pulled when missing)\n"
    "or whose root filesystem is the directory DIR.\n"
    "\n"
    "  -i, --interactive        keep stdin open\n"
    "  -t, --tty                allocate a terminal inside the container\n"
    "  -e, --env KEY[=VALUE]    set an environment variable (KEY alone: the host's value)\n"
    "      --env-file FILE      read KEY=VALUE lines from FILE\n"
    "  -w, --workdir DIR        working directory inside the container\n"
    "  -u, --user USER[:GROUP]  user name or uid, group name or gid (from the rootfs' "
    "/etc/passwd)\n"
    "  -h, --hostname NAME      container host name\n"
    "  -v, --volume SRC:DST[:ro]  bind mount host SRC at DST\n"
    "      --tmpfs DST          mount a tmpfs at DST\n"
    "      --read-only          mount the root filesystem read-only\n"
    "      --init               run rless-init as pid 1 to reap zombies and forward signals\n"
    "      --cap-add CAP        add a capability (or ALL)\n"
    "      --cap-drop CAP       drop a capability (or ALL)\n"
    "      --userns MODE        auto (default), keep-id or single\n"
    "      --rm                 remove the container when it exits\n"
    "      --rootfs DIR         use DIR as the root filesystem instead of an image\n"
    "      --entrypoint CMD     run CMD instead of the image's entrypoint (\"\" clears it)\n"
    "      --pull POLICY        missing (default), always or never\n"
    "      --platform OS/ARCH   platform to pull for a multi-platform image\n"
    "  -d, --detach             run in the background and print the container id\n"
    "      --name NAME          name the container (default: a generated adjective_noun)\n"
    "      --detach-keys KEYS   keys that detach from the terminal (default ctrl-p,ctrl-q)\n"
    "      --security-opt OPT   seccomp=unconfined|PROFILE.json, mask=PATH[:PATH...],\n"
    "                           unmask=PATH[:PATH...]|ALL, no-new-privileges (always on)\n"
    "      --add-host HOST:IP   an /etc/hosts line for the container\n"
    "      --dns IP             nameserver in the container's /etc/resolv.conf (default: the "
    "host's)\n"
    "      --dns-search DOMAIN  search domain in the container's /etc/resolv.conf\n"
    "      --privileged         every capability of the user namespace, no seccomp, no masked\n"
    "                           paths (still rootless: nothing beyond your own account)\n";

static int set_choice(const char *opt, const char *val, const char *const *names, int *out,
                      rl_error_t *err)
{
  for (int i = 0; names[i]; i++) {
    if (strcmp(val, names[i]) == 0) {
      *out = i;
      return 0;
    }
  }
  rl_make_error(err, 0, "invalid value `%s` for --%s", val, opt);
  return rl_error_hint(err, "see `rless run --help`");
}

bool rl_container_name_valid(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 128 || !isalnum((unsigned char)s[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
      return false;
  return true;
}

int rl_volume_parse(const char *spec, struct rl_volume *v, rl_error_t *err)
{
  cleanup_free char *copy = rl_xstrdup(spec);
  char *dst = strchr(copy, ':');
  if (dst == NULL || dst == copy || dst[1] != '/')
    return rl_make_error(err, 0, "invalid volume `%s`: expected SRC:DST[:ro] with an absolute DST",
                         spec);
  *dst++ = '\0';
  char *mode = strchr(dst, ':');
  v->ro = false;
  if (mode) {
    *mode++ = '\0';
    if (strcmp(mode, "ro") == 0)
      v->ro = true;
    else if (strcmp(mode, "rw") != 0)
      return rl_make_error(err, 0, "invalid volume `%s`: unknown mode `%s` (use ro or rw)", spec,
                           mode);
  }
  v->src = rl_xstrdup(copy);
  v->dst = rl_xstrdup(dst);
  return 0;
}

static int add_volume(struct rl_run_opts *o, const char *spec, rl_error_t *err)
{
  struct rl_volume v;
  if (rl_volume_parse(spec, &v, err) < 0)
    return -1;
  o->volumes = rl_xrealloc(o->volumes, (o->n_volumes + 1) * sizeof(v));
  o->volumes[o->n_volumes++] = v;
  return 0;
}

static void set_str(char **dst, const char *val)
{
  free(*dst);
  *dst = rl_xstrdup(val);
}

static void add_paths(rl_strv_t *v, const char *list)
{
  cleanup_free char *copy = rl_xstrdup(list);
  char *save = NULL;
  for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
    rl_strv_push(v, p);
}

/* docker's --security-opt words; seccomp profiles are read when the
 * container is prepared, so a bad one fails before anything is created. */
static int add_security_opt(struct rl_run_opts *o, const char *arg, rl_error_t *err)
{
  if (strcmp(arg, "no-new-privileges") == 0 || strcmp(arg, "no-new-privileges:true") == 0 ||
      strcmp(arg, "no-new-privileges=true") == 0)
    return 0;
  if (strncmp(arg, "seccomp=", 8) == 0 && arg[8]) {
    set_str(&o->seccomp, arg + 8);
    return 0;
  }
  if (strncmp(arg, "mask=", 5) == 0 && arg[5] == '/') {
    add_paths(&o->mask, arg + 5);
    return 0;
  }
  if (strncmp(arg, "unmask=", 7) == 0 && arg[7]) {
    add_paths(&o->unmask, arg + 7);
    return 0;
  }
  rl_make_error(err, 0, "invalid --security-opt `%s`", arg);
  return rl_error_hint(err, "use seccomp=unconfined|PROFILE.json, mask=PATH, unmask=PATH|ALL or "
                            "no-new-privileges (no_new_privs is always on in rless)");
}

/* Where the root filesystem comes from and how the container lives on. */
static int handle_image_opt(int c, const char *arg, struct rl_run_opts *o, rl_error_t *err)
{
  static const char *const pull_names[] = {"missing", "always", "never", NULL};
  int choice = 0;

  switch (c) {
  case OPT_ROOTFS:
    set_str(&o->rootfs, arg);
    return 0;
  case OPT_ENTRYPOINT:
    set_str(&o->entrypoint, arg);
    return 0;
  case OPT_PULL:
    if (set_choice("pull", arg, pull_names, &choice, err) < 0)
      return -1;
    o->pull = (enum rl_pull_policy)choice;
    return 0;
  case OPT_PLATFORM:
    set_str(&o->platform, arg);
    return 0;
  case 'd':
    o->detach = true;
    return 0;
  case OPT_NAME:
    if (!rl_container_name_valid(arg))
      return rl_make_error(err, 0,
                           "invalid container name `%s`: use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at "
                           "most 128 characters",
                           arg);
    set_str(&o->name, arg);
    return 0;
  case OPT_DETACH_KEYS:
    set_str(&o->detach_keys, arg);
    return 0;
  case OPT_SECURITY_OPT:
    return add_security_opt(o, arg, err);
  case OPT_PRIVILEGED:
    o->privileged = true;
    return 0;
  case OPT_ADD_HOST:
    if (rl_add_host_valid(arg, err) < 0)
      return -1;
    rl_strv_push(&o->add_hosts, arg);
    return 0;
  case OPT_DNS:
    if (rl_dns_valid(arg, err) < 0)
      return -1;
    rl_strv_push(&o->dns, arg);
    return 0;
  case OPT_DNS_SEARCH:
    rl_strv_push(&o->dns_search, arg);
    return 0;
  }
  return rl_make_error(err, 0, "internal error: unhandled option %d", c);
}

static int handle_opt(int c, const char *arg, struct rl_run_opts *o, rl_error_t *err)
{
  static const char *const userns_names[] = {"auto", "", "keep-id", "single", NULL};
  int choice = 0;

  switch (c) {
  case 'i':
    o->interactive = true;
    return 0;
  case 't':
    o->tty = true;
    return 0;
  case 'e':
    return rl_env_add(&o->env, arg, err);
  case OPT_ENV_FILE:
    return rl_env_file_load(arg, &o->env, err);
  case 'w':
    set_str(&o->workdir, arg);
    return 0;
  case 'u':
    set_str(&o->user, arg);
    return 0;
  case 'h':
    set_str(&o->hostname, arg);
    return 0;
  case 'v':
    return add_volume(o, arg, err);
  case OPT_TMPFS:
    if (arg[0] != '/')
      return rl_make_error(err, 0, "invalid --tmpfs `%s`: the target must be absolute", arg);
    rl_strv_push(&o->tmpfs, arg);
    return 0;
  case OPT_READ_ONLY:
    o->read_only = true;
    return 0;
  case OPT_NETWORK:
    return rl_net_mode_parse(arg, &o->network, &o->net, err);
  case 'p':
    return rl_net_publish_add(&o->net, arg, err);
  case 'P':
    o->net.publish_all = true;
    return 0;
  case OPT_INIT:
    o->init = true;
    return 0;
  case OPT_CAP_ADD:
    rl_strv_push(&o->cap_add, arg);
    return 0;
  case OPT_CAP_DROP:
    rl_strv_push(&o->cap_drop, arg);
    return 0;
  case OPT_USERNS:
    if (*arg == '\0' || set_choice("userns", arg, userns_names, &choice, err) < 0)
      return rl_make_error(err, 0, "invalid value `%s` for --userns: use auto, keep-id or single",
                           arg);
    o->userns = (enum rl_userns_mode)choice;
    return 0;
  case OPT_RM:
    o->rm = true;
    return 0;
  case 'm':
    return rl_cgroup_opt(RL_OPT_MEMORY, arg, &o->limits, err);
  }
  if (c >= RL_CGROUP_OPT_FIRST && c <= RL_CGROUP_OPT_LAST)
    return rl_cgroup_opt(c, arg, &o->limits, err);
  if (c >= RL_NET_OPT_FIRST && c <= RL_NET_OPT_LAST)
    return rl_net_opt(c, arg, &o->net, err);
  return handle_image_opt(c, arg, o, err);
}

static int bad_option(int c, char **argv, rl_error_t *err)
{
  const char *word = argv[optind - 1];
  if (c == ':')
    rl_make_error(err, 0, "option `%s` of `rless run` needs a value", word);
  else if (optopt && optopt < 256 && strncmp(word, "--", 2) != 0)
    rl_make_error(err, 0, "unknown option `-%c` for `rless run`", optopt);
  else
    rl_make_error(err, 0, "unknown option `%s` for `rless run`", word);
  return rl_error_hint(err, "see `rless run --help`");
}

int rl_run_opts_parse(int argc, char **argv, struct rl_run_opts *o, rl_error_t *err)
{
  int c;
  memset(o, 0, sizeof(*o));
  rl_cgroup_limits_init(&o->limits);
  o->network = RL_NET_DEFAULT;
  optind = 0; /* 0 makes glibc reinitialise, so the parser can run more than once */
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:ite:w:u:h:v:dm:p:P", run_options, NULL)) != -1) {
    if (c == '?' || c == ':')
      return bad_option(c, argv, err);
    if (c == OPT_HELP) {
      fputs(run_usage, stdout);
      fputs(rl_cgroup_usage, stdout);
      fputs(rl_net_usage, stdout);
      return 1;
    }
    if (handle_opt(c, optarg, o, err) < 0)
      return -1;
  }
  if (o->rootfs == NULL) {
    if (optind >= argc) {
      rl_make_error(err, 0, "`rless run` needs an image or a root filesystem (--rootfs DIR)");
      return rl_error_hint(err, "e.g. `rless run --rm -it alpine sh`; see `rless run --help`");
    }
    o->image = rl_xstrdup(argv[optind++]);
  } else if (optind >= argc) {
    return rl_make_error(err, 0, "`rless run` needs a command to run after --rootfs DIR");
  }
  for (int i = optind; i < argc; i++)
    rl_strv_push(&o->argv, argv[i]);
  return rl_cgroup_limits_check(&o->limits, err);
}

void rl_run_opts_free(struct rl_run_opts *o)
{
  free(o->rootfs);
  free(o->image);
  free(o->entrypoint);
  free(o->platform);
  free(o->name);
  free(o->detach_keys);
  free(o->seccomp);
  rl_strv_free(&o->mask);
  rl_strv_free(&o->unmask);
  rl_strv_free(&o->add_hosts);
  rl_strv_free(&o->dns);
  rl_strv_free(&o->dns_search);
  free(o->hostname);
  free(o->workdir);
  free(o->user);
  rl_strv_free(&o->env);
  for (size_t i = 0; i < o->n_volumes; i++) {
    free(o->volumes[i].src);
    free(o->volumes[i].dst);
  }
  free(o->volumes);
  rl_strv_free(&o->tmpfs);
  rl_strv_free(&o->cap_add);
  rl_strv_free(&o->cap_drop);
  rl_strv_free(&o->argv);
  rl_cgroup_limits_free(&o->limits);
  rl_net_opts_free(&o->net);
  memset(o, 0, sizeof(*o));
}
