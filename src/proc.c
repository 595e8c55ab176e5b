/* The container process's last steps, the same for `rless run`'s pid 1
 * and for `rless exec`: environment, user switch, exec. */
#include "rl_caps.h"
#include "rl_options.h"
#include "rl_proc.h"
#include "rl_seccomp.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

void rl_proc_env(const char *hostname, bool tty, const char *home, const rl_strv_t *base,
                 const rl_strv_t *extra, rl_strv_t *env)
{
  cleanup_free char *host = rl_xasprintf("HOSTNAME=%s", hostname);
  cleanup_free char *homev = rl_xasprintf("HOME=%s", home);
  rl_strv_push(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  rl_strv_push(env, host);
  rl_strv_push(env, "container=rless");
  if (tty)
    rl_strv_push(env, "TERM=xterm");
  rl_strv_push(env, homev);
  for (size_t i = 0; base && i < base->n; i++)
    rl_env_set(env, base->v[i]);
  for (size_t i = 0; extra && i < extra->n; i++)
    rl_env_set(env, extra->v[i]);
}

int rl_proc_switch_user(const struct rl_user *u, bool setgroups_allowed, bool single_id,
                        uint64_t caps, rl_error_t *err)
{
  if (setgroups_allowed && setgroups(u->n_groups, u->groups) < 0)
    return rl_make_error(err, errno, "set the supplementary groups of the container's user");
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return rl_make_error(err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0) {
    rl_make_error(err, errno, "switch to uid %u gid %u in the container", (unsigned)u->uid,
                  (unsigned)u->gid);
    if (errno == EINVAL)
      rl_error_hint(err,
                    "that id is not mapped in the container's user namespace (%s); give "
                    "your user subordinate ids in /etc/subuid and /etc/subgid",
                    single_id ? "single-id mode maps only 0" : "see uid_map");
    return -1;
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return rl_make_error(err, errno, "prctl(PR_SET_KEEPCAPS)");
  return rl_caps_apply(caps, u->uid == 0, err);
}

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static int not_found(const char *name, int e, rl_error_t *err)
{
  rl_make_error(err, e, "exec `%s` in the container", name);
  rl_error_set_exit(err, e == ENOENT || e == ENOTDIR ? RL_EXIT_NOTFOUND : RL_EXIT_NOEXEC);
  if (e == ENOENT)
    rl_error_hint(err, "no such file in the container's PATH or root filesystem");
  return -1;
}

/* A file execve could run: regular and executable for us. */
static int runnable(const char *file)
{
  struct stat st;
  if (stat(file, &st) < 0)
    return errno;
  if (!S_ISREG(st.st_mode))
    return EACCES;
  return access(file, X_OK) == 0 ? 0 : errno;
}

char *rl_proc_find_command(const char *name, const char *path, rl_error_t *err)
{
  if (*name == '\0') {
    not_found(name, ENOENT, err);
    return NULL;
  }
  if (strchr(name, '/')) {
    int e = runnable(name);
    return e ? (not_found(name, e, err), NULL) : rl_xstrdup(name);
  }
  /* execvp's rules: each PATH entry in order ("" is the working dir); a
   * file found but not runnable is remembered, the search goes on. */
  int seen = ENOENT;
  cleanup_free char *dirs = rl_xstrdup(path ? path : default_path);
  for (char *d = dirs, *next; d; d = next) {
    next = strchr(d, ':');
    if (next)
      *next++ = '\0';
    cleanup_free char *file = rl_xasprintf("%s%s%s", d, *d ? "/" : "", name);
    int e = runnable(file);
    if (e == 0)
      return rl_steal_ptr(&file);
    if (e == EACCES)
      seen = EACCES;
  }
  not_found(name, seen, err);
  return NULL;
}

static const char *env_path(const rl_strv_t *env)
{
  for (size_t i = 0; i < env->n; i++)
    if (strncmp(env->v[i], "PATH=", 5) == 0)
      return env->v[i] + 5;
  return NULL;
}

/* rless-init's argv: as pid 1 it looks the command up itself, in a process
 * that is already not rless. */
static int init_argv(char *const *argv, const rl_strv_t *env, bool as_init, rl_strv_t *out,
                     rl_error_t *err)
{
  rl_strv_push(out, "rless-init");
  if (as_init) {
    rl_strv_push(out, "--");
  } else {
    char *file = rl_proc_find_command(argv[0], env_path(env), err);
    if (file == NULL)
      return -1;
    rl_strv_push(out, "--exec");
    rl_strv_push_owned(out, file);
  }
  for (size_t i = 0; argv[i]; i++)
    rl_strv_push(out, argv[i]);
  return 0;
}

int rl_proc_exec(char *const *argv, rl_strv_t *env, const struct rl_seccomp_cfg *seccomp,
                 const struct rl_seccomp_prog *prog, uint64_t caps, int init_fd, bool as_init,
                 rl_error_t *err)
{
  cleanup_strv rl_strv_t args = {0};
  if (init_argv(argv, env, as_init, &args, err) < 0)
    return -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return rl_make_error(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  /* Everything rless or its caller left open is closed by exec; the sync
   * socket too, which tells the parent that exec succeeded. */
  if (close_range(3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return rl_make_error(err, errno, "close_range");
  if ((prog && prog->ready ? rl_seccomp_load(prog, err) : rl_seccomp_apply(seccomp, caps, err)) < 0)
    return -1;
  syscall(SYS_execveat, init_fd, "", args.v, env->v, AT_EMPTY_PATH);
  int e = errno;
  rl_make_error(err, e, "exec rless-init (a sealed memfd) to start `%s` in the container", argv[0]);
  if (e == EPERM)
    rl_error_hint(err, "a seccomp profile that denies execveat cannot be used with rless");
  return -1;
}
