/* `rless exec`: options, the container found and checked running, its
 * config turned into what the new process inherits. */
#include "rl_caps.h"
#include "rl_cli.h"
#include "rl_cstate.h"
#include "rl_exec.h"
#include "rl_options.h"
#include "rl_paths.h"
#include "rl_store.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

enum { OPT_ENV_FILE = 256, OPT_HELP };

static const struct option exec_options[] = {
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"detach", no_argument, NULL, 'd'},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char exec_usage[] =
    "Usage: rless exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND in the running container CONTAINER (name, id or unique id prefix):\n"
    "in its namespaces, with its root filesystem, capabilities and environment.\n"
    "\n"
    "  -i, --interactive        keep stdin open\n"
    "  -t, --tty                allocate a terminal inside the container\n"
    "  -e, --env KEY[=VALUE]    set an environment variable (KEY alone: the host's value)\n"
    "      --env-file FILE      read KEY=VALUE lines from FILE\n"
    "  -w, --workdir DIR        working directory (absolute; default: the container's)\n"
    "  -u, --user USER[:GROUP]  user name or uid, group name or gid (from the container's\n"
    "                           /etc/passwd; default: the container's user)\n"
    "  -d, --detach             run COMMAND in the background, nothing attached\n";

static void set_str(char **dst, const char *val)
{
  free(*dst);
  *dst = rl_xstrdup(val);
}

static int handle_opt(int c, const char *arg, struct rl_exec_opts *o, rl_error_t *err)
{
  switch (c) {
  case 'i':
    o->interactive = true;
    return 0;
  case 't':
    o->tty = true;
    return 0;
  case 'd':
    o->detach = true;
    return 0;
  case 'e':
    return rl_env_add(&o->env, arg, err);
  case OPT_ENV_FILE:
    return rl_env_file_load(arg, &o->env, err);
  case 'w':
    if (arg[0] != '/')
      return rl_make_error(err, 0, "invalid --workdir `%s`: it must be an absolute path", arg);
    set_str(&o->workdir, arg);
    return 0;
  case 'u':
    if (*arg == '\0')
      return rl_make_error(err, 0, "invalid --user ``: expected USER[:GROUP]");
    set_str(&o->user, arg);
    return 0;
  }
  return rl_make_error(err, 0, "internal error: unhandled option %d", c);
}

static int bad_option(int c, char **argv, rl_error_t *err)
{
  const char *word = argv[optind - 1];
  if (c == ':')
    rl_make_error(err, 0, "option `%s` of `rless exec` needs a value", word);
  else if (optopt && optopt < 256 && strncmp(word, "--", 2) != 0)
    rl_make_error(err, 0, "unknown option `-%c` for `rless exec`", optopt);
  else
    rl_make_error(err, 0, "unknown option `%s` for `rless exec`", word);
  return rl_error_hint(err, "see `rless exec --help`");
}

static int check_opts(int argc, char **argv, struct rl_exec_opts *o, rl_error_t *err)
{
  if (o->detach && (o->tty || o->interactive)) {
    rl_make_error(err, 0, "`rless exec -d` cannot be combined with -i or -t");
    return rl_error_hint(err, "-d runs the command in the background with nothing attached");
  }
  if (optind >= argc) {
    rl_make_error(err, 0, "`rless exec` needs a container and a command");
    return rl_error_hint(err, "e.g. `rless exec -it NAME sh`; see `rless exec --help`");
  }
  o->container = rl_xstrdup(argv[optind++]);
  if (optind >= argc) {
    rl_make_error(err, 0, "`rless exec` needs a command to run in container %s", o->container);
    return rl_error_hint(err, "e.g. `rless exec %s sh`", o->container);
  }
  for (int i = optind; i < argc; i++)
    rl_strv_push(&o->argv, argv[i]);
  return 0;
}

int rl_exec_opts_parse(int argc, char **argv, struct rl_exec_opts *o, rl_error_t *err)
{
  int c;
  memset(o, 0, sizeof(*o));
  optind = 0; /* glibc reinitialises: the parser can run more than once */
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:ite:w:u:d", exec_options, NULL)) != -1) {
    if (c == '?' || c == ':')
      return bad_option(c, argv, err);
    if (c == OPT_HELP) {
      fputs(exec_usage, stdout);
      return 1;
    }
    if (handle_opt(c, optarg, o, err) < 0)
      return -1;
  }
  return check_opts(argc, argv, o, err);
}

void rl_exec_opts_free(struct rl_exec_opts *o)
{
  free(o->workdir);
  free(o->user);
  free(o->container);
  rl_strv_free(&o->env);
  rl_strv_free(&o->argv);
  memset(o, 0, sizeof(*o));
}

/* ---- The container's config. ---- */

static int config_strv(json_t *config, const char *key, rl_strv_t *out, rl_error_t *err)
{
  json_t *arr = json_object_get(config, key), *v;
  size_t i;
  if (arr == NULL || json_is_null(arr))
    return 0;
  if (!json_is_array(arr))
    return rl_make_error(err, 0, "container config: `%s` is not an array", key);
  json_array_foreach(arr, i, v)
  {
    if (!json_is_string(v))
      return rl_make_error(err, 0, "container config: `%s` holds a non-string", key);
    rl_strv_push(out, json_string_value(v));
  }
  return 0;
}

static int config_str(json_t *config, const char *key, char **out, rl_error_t *err)
{
  json_t *v = json_object_get(config, key);
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return rl_make_error(err, 0, "container config: `%s` is not a string", key);
  if (*json_string_value(v))
    *out = rl_xstrdup(json_string_value(v));
  return 0;
}

int rl_exec_target_config(json_t *config, struct rl_exec_target *t, rl_error_t *err)
{
  cleanup_strv rl_strv_t env = {0}, add = {0}, drop = {0};
  cleanup_free char *userns = NULL;
  if (config != NULL && !json_is_object(config))
    return rl_make_error(err, 0, "container config: not a JSON object");
  if (config_strv(config, "env", &env, err) < 0 || config_strv(config, "cap_add", &add, err) < 0 ||
      config_strv(config, "cap_drop", &drop, err) < 0 ||
      config_str(config, "workdir", &t->workdir, err) < 0 ||
      config_str(config, "user", &t->user, err) < 0 ||
      config_str(config, "userns_resolved", &userns, err) < 0 ||
      (userns == NULL && config_str(config, "userns", &userns, err) < 0))
    return -1;
  for (size_t i = 0; i < env.n; i++) {
    if (strchr(env.v[i], '=') == NULL || env.v[i][0] == '=')
      return rl_make_error(err, 0, "container config: invalid env entry `%s`", env.v[i]);
    rl_env_set(&t->env, env.v[i]);
  }
  t->keep_id = userns && strcmp(userns, "keep-id") == 0;
  json_t *sc = json_object_get(config, "seccomp_profile");
  if (json_is_true(json_object_get(config, "privileged")))
    t->seccomp.mode = RL_SECCOMP_UNCONFINED;
  else if (rl_seccomp_cfg_from_json(sc ? sc : json_object_get(config, "seccomp"), &t->seccomp,
                                    err) < 0)
    return -1;
  return rl_caps_compute(&add, &drop, &t->caps, err);
}

void rl_exec_target_free(struct rl_exec_target *t)
{
  free(t->name);
  free(t->workdir);
  free(t->user);
  rl_strv_free(&t->env);
  rl_seccomp_cfg_free(&t->seccomp);
  memset(t, 0, sizeof(*t));
}

/* ---- The container. ---- */

static int open_store(const struct rl_global *g, const char *ref, struct rl_store *s,
                      rl_error_t *err)
{
  cleanup_free char *root = rl_data_dir(g->root, err);
  if (root == NULL)
    return -1;
  if (rl_store_open(root, false, s, err) == 0)
    return 0;
  if ((*err)->errnum != ENOENT)
    return -1;
  rl_error_free(err);
  rl_make_error(err, 0, "No such container: %s", ref);
  rl_error_set_exit(err, RL_EXIT_NO_SUCH);
  return -1;
}

static int not_running(const char *ref, const struct rl_cstate *c, rl_error_t *err)
{
  if (c->status == RL_CSTATUS_EXITED && c->exit_code >= 0)
    return rl_make_error(err, 0, "container %s is not running (it exited with code %d)", ref,
                         c->exit_code);
  return rl_make_error(err, 0, "container %s is not running (%s)", ref,
                       c->status == RL_CSTATUS_CREATED ? "created, never started" : "exited");
}

/* pid 1 and its recorded start time: exec pins that process (rl_exec_run
 * checks the start time again after opening its pidfd), never one that got
 * its pid since. */
static int find_running(const struct rl_store *s, const char *ref, struct rl_exec_target *t,
                        rl_error_t *err)
{
  char id[65];
  struct rl_cstate c = {0};
  int r = rl_cstate_find(s, ref, id, err);
  if (r == 0)
    r = rl_cstate_load(s, id, &c, err);
  if (r == 0 && c.status != RL_CSTATUS_RUNNING)
    r = not_running(ref, &c, err);
  if (r == 0) {
    t->pid = c.pid;
    t->start_time = c.pid_start;
    r = rl_exec_target_config(c.config, t, err);
  }
  rl_cstate_free(&c);
  return r;
}

int rl_cmd_exec(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  struct rl_exec_opts o;
  struct rl_exec_target t = {0};
  struct rl_store s = {.rootfd = -1};
  int r = rl_exec_opts_parse(argc, argv, &o, err);
  if (r != 0) {
    rl_exec_opts_free(&o);
    return r > 0 ? 0 : -1;
  }
  t.name = rl_xstrdup(o.container);
  r = open_store(g, o.container, &s, err);
  if (r == 0)
    r = find_running(&s, o.container, &t, err);
  rl_store_close(&s);
  if (r == 0)
    r = rl_exec_run(&t, &o, err);
  rl_exec_target_free(&t);
  rl_exec_opts_free(&o);
  return r;
}
