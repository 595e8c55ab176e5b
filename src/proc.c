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
#include <sys/prctl.h>

extern char **environ;

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

int rl_proc_exec(char *const *argv, rl_strv_t *env, const struct rl_seccomp_cfg *seccomp,
                 const struct rl_seccomp_prog *prog, uint64_t caps, rl_error_t *err)
{
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
  environ = env->v;
  execvp(argv[0], argv);
  int e = errno;
  rl_make_error(err, e, "exec `%s` in the container", argv[0]);
  rl_error_set_exit(err, e == ENOENT || e == ENOTDIR ? RL_EXIT_NOTFOUND : RL_EXIT_NOEXEC);
  if (e == ENOENT)
    rl_error_hint(err, "no such file in the container's PATH or root filesystem");
  return -1;
}
