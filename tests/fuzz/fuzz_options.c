/* libFuzzer target for command lines: `rless run`'s options
 * (rl_run_opts_parse), `rless exec`'s (rl_exec_opts_parse), and the value
 * parsers what they hold goes through later (--platform, --detach-keys,
 * --cap-add/--cap-drop, -u without files, the image reference).  The input
 * is the arguments after the command name, separated by NUL bytes.
 * Arguments naming --env-file are dropped from the input (it reads a file
 * by name: fuzz_envfile covers the format), and so are inputs with a range
 * of more than 1024 numbers anywhere (`-p 1-60000`: rl_port_parse grows
 * its array one port at a time, minutes under ASan; not a parser bug);
 * stdout, where --help goes, is /dev/null; the environment is two known
 * variables.
 *
 * Invariants: 0 (parsed), 1 (--help) or -1 with an error, nothing else; a
 * parsed `run` has exactly one of an image and a root filesystem (and a
 * command with the latter) and holds only validated values (absolute volume
 * and tmpfs targets, a valid name, KEY=VALUE env entries); a parsed `exec`
 * has a container and a command and no -d with -i/-t. */
#include <fcntl.h>

#include "fuzz.h"
#include "rl_attach.h"
#include "rl_caps.h"
#include "rl_exec.h"
#include "rl_imageref.h"
#include "rl_manifest.h"
#include "rl_options.h"
#include "rl_passwd.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
    abort();
  close(fd);
  clearenv();
  setenv("FUZZ_HOST", "from the host", 1);
  setenv("PATH", "/usr/bin:/bin", 1);
  return 0;
}

static void check_env(const rl_strv_t *env)
{
  for (size_t i = 0; i < env->n; i++) {
    const char *eq = strchr(env->v[i], '=');
    FUZZ_CHECK(eq && eq > env->v[i]);
  }
}

/* What the container module does with the values next. */
static void fuzz_values(const struct rl_run_opts *o)
{
  rl_error_t err = NULL;
  if (o->platform) {
    char *os, *arch, *variant;
    int r = rl_platform_parse(o->platform, &os, &arch, &variant, &err);
    FUZZ_CHECK_ERR(r, err);
    FUZZ_CHECK(r < 0 || (os && *os && arch && *arch && (variant == NULL || *variant)));
    free(os);
    free(arch);
    free(variant);
    rl_error_free(&err);
  }
  if (o->detach_keys) {
    unsigned char keys[RL_DETACH_KEYS_MAX];
    int n = rl_detach_keys_parse(o->detach_keys, keys);
    FUZZ_CHECK(n >= -1 && n <= RL_DETACH_KEYS_MAX);
  }
  uint64_t mask = 0;
  int r = rl_caps_compute(&o->cap_add, &o->cap_drop, &mask, &err);
  FUZZ_CHECK_ERR(r, err);
  rl_error_free(&err);
  struct rl_user u;
  r = rl_user_resolve(o->user, NULL, NULL, &u, &err);
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK(r < 0 || (u.uid != (uid_t)-1 && u.gid != (gid_t)-1));
  rl_user_free(&u);
  rl_error_free(&err);
  struct rl_imageref ref;
  if (o->image) {
    r = rl_imageref_parse(o->image, &ref, &err);
    FUZZ_CHECK_ERR(r, err);
    rl_imageref_free(&ref);
    rl_error_free(&err);
  }
}

static void check_run(const struct rl_run_opts *o, int argc, char **argv)
{
  FUZZ_CHECK((o->image == NULL) != (o->rootfs == NULL));
  FUZZ_CHECK(o->rootfs == NULL || o->argv.n > 0);
  FUZZ_CHECK(o->argv.n <= (size_t)argc);
  for (size_t i = 0; i < o->argv.n; i++)
    FUZZ_CHECK(strcmp(o->argv.v[i], argv[argc - o->argv.n + i]) == 0);
  FUZZ_CHECK(o->name == NULL || rl_container_name_valid(o->name));
  for (size_t i = 0; i < o->n_volumes; i++)
    FUZZ_CHECK(*o->volumes[i].src && o->volumes[i].dst[0] == '/');
  for (size_t i = 0; i < o->tmpfs.n; i++)
    FUZZ_CHECK(o->tmpfs.v[i][0] == '/');
  check_env(&o->env);
  fuzz_values(o);
}

static void fuzz_run(int argc, char **argv)
{
  struct rl_run_opts o;
  rl_error_t err = NULL;
  argv[0] = "run";
  int r = rl_run_opts_parse(argc, argv, &o, &err);
  FUZZ_CHECK(r >= -1 && r <= 1);
  FUZZ_CHECK_ERR(r, err);
  if (r == 0)
    check_run(&o, argc, argv);
  rl_run_opts_free(&o);
  rl_error_free(&err);
}

static void fuzz_exec(int argc, char **argv)
{
  struct rl_exec_opts o;
  rl_error_t err = NULL;
  argv[0] = "exec";
  int r = rl_exec_opts_parse(argc, argv, &o, &err);
  FUZZ_CHECK(r >= -1 && r <= 1);
  FUZZ_CHECK_ERR(r, err);
  if (r == 0) {
    FUZZ_CHECK(o.container && o.argv.n > 0);
    FUZZ_CHECK(!(o.detach && (o.tty || o.interactive)));
    FUZZ_CHECK(o.workdir == NULL || o.workdir[0] == '/');
    FUZZ_CHECK(o.user == NULL || *o.user);
    check_env(&o.env);
  }
  rl_exec_opts_free(&o);
  rl_error_free(&err);
}

/* "A-B" with B - A > 1024 somewhere in s. */
static bool wide_range(const char *s)
{
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9' || (p > s && p[-1] >= '0' && p[-1] <= '9'))
      continue;
    char *end;
    unsigned long a = strtoul(p, &end, 10);
    if (*end == '-' && end[1] >= '0' && end[1] <= '9' && strtoul(end + 1, NULL, 10) > a + 1024)
      return true;
  }
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *parts[MAX_ARGS];
  size_t n = fuzz_split(data, size, parts, MAX_ARGS);
  /* argv[0] is the command; getopt may permute nothing ("+"), but keep
   * our own copy of the pointers: the parsers must not need the input. */
  char *argv[MAX_ARGS + 2];
  int argc = 1;
  for (size_t i = 0; i < n; i++) {
    if (wide_range(parts[i])) {
      fuzz_parts_free(parts);
      return 0;
    }
    if (strncmp(parts[i], "--env-", 6) == 0)
      continue;
    argv[argc++] = parts[i];
  }
  argv[argc] = NULL;
  char *saved[MAX_ARGS + 2];
  memcpy(saved, argv, sizeof(argv));
  fuzz_run(argc, argv);
  memcpy(argv, saved, sizeof(argv));
  fuzz_exec(argc, argv);
  fuzz_parts_free(parts);
  return 0;
}
