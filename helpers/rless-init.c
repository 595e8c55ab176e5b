/* rless-init: the first program every container process executes.
 *
 *   rless-init [--] CMD [ARG...]        pid 1 of `rless run --init`
 *   rless-init --exec PATH ARG0 [ARG...]  execute PATH at once (every other case)
 *
 * rless runs it from a sealed memfd, so no process in a container ever has
 * the host's rless binary as its /proc/PID/exe when it executes the
 * container's command: a `#!/proc/self/exe` script or ELF interpreter then
 * finds only this sealed, unwritable copy (the runc CVE-2019-5736 pattern).
 *
 * As pid 1 it runs CMD as its only direct child, forwards the signals it
 * receives to it, reaps every zombie reparented to it, and exits with CMD's
 * status (exit code, or 128 + signal number).  Built static so it runs in
 * any rootfs; libc only.
 *
 * All signals stay blocked in this process and are taken synchronously with
 * sigwaitinfo: a blocked signal is queued even for a namespace's pid 1, which
 * otherwise drops every signal it has no handler for. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_INIT_FAILURE 125 /* rless-init itself failed (docker's convention) */

static void die(const char *what)
{
  fprintf(stderr, "rless-init: %s: %s\n", what, strerror(errno));
  exit(EXIT_INIT_FAILURE);
}

static void run_child(char **argv, const sigset_t *orig_mask)
{
  /* Dispositions were reset to SIG_DFL before fork; only the mask is left. */
  sigprocmask(SIG_SETMASK, orig_mask, NULL);
  execvp(argv[0], argv);
  int e = errno;
  fprintf(stderr, "rless-init: exec `%s`: %s\n", argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* Reap every zombie there is now; returns 1 and fills *status once `child` is among them. */
static int reap(pid_t child, int *status)
{
  int found = 0, st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    if (pid == child) {
      *status = st;
      found = 1;
    }
  }
  return found;
}

/* The tty sends INT, QUIT and TSTP to its whole foreground process group, so
 * the child (in our group, or else not in the foreground) already has it. */
static int from_tty(const siginfo_t *si)
{
  int s = si->si_signo;
  return si->si_code == SI_KERNEL && (s == SIGINT || s == SIGQUIT || s == SIGTSTP);
}

/* rless resolved PATH already (and reported a missing command itself): what
 * can still fail is the kernel refusing the file. */
static int exec_now(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: rless-init --exec PATH ARG0 [ARG...]\n");
    return EXIT_INIT_FAILURE;
  }
  execv(argv[2], argv + 3);
  int e = errno;
  fprintf(stderr, "rless: exec `%s` in the container: %s\n", argv[3], strerror(e));
  return e == ENOENT || e == ENOTDIR ? 127 : 126;
}

int main(int argc, char **argv)
{
  /* rless passes exactly this argv[0].  Anything else is the kernel
   * starting us as the interpreter of a `#!/proc/self/exe` script (or an
   * ELF naming it): running its arguments would start that script again,
   * and us again, without end. */
  if (argc < 1 || strcmp(argv[0], "rless-init") != 0) {
    fprintf(stderr,
            "rless-init: not started by rless (argv[0] `%s`): refusing to run; a "
            "program whose interpreter is /proc/self/exe cannot run in rless containers\n",
            argc > 0 ? argv[0] : "");
    return 126;
  }
  /* Executed from a memfd, the kernel names us after the fd number. */
  prctl(PR_SET_NAME, "rless-init");
  if (argc > 1 && strcmp(argv[1], "--exec") == 0)
    return exec_now(argc, argv);
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0)
    first++;
  if (first >= argc) {
    fprintf(stderr, "usage: rless-init [--] CMD [ARG...]\n");
    return EXIT_INIT_FAILURE;
  }

  sigset_t all, orig_mask;
  sigfillset(&all);
  if (sigprocmask(SIG_BLOCK, &all, &orig_mask) < 0)
    die("sigprocmask");
  /* Inherited SIG_IGN would survive exec into the child, and an ignored
   * SIGCHLD would make the kernel reap children before we see their status. */
  for (int s = 1; s < NSIG; s++)
    signal(s, SIG_DFL); /* fails harmlessly for KILL, STOP and libc's own */
  /* Outside a pid namespace (tests, `rless-init` run by hand) orphans would
   * go to the real init: adopt them instead. */
  if (getpid() != 1)
    prctl(PR_SET_CHILD_SUBREAPER, 1);

  pid_t child = fork();
  if (child < 0)
    die("fork");
  if (child == 0)
    run_child(argv + first, &orig_mask);

  for (;;) {
    siginfo_t si;
    if (sigwaitinfo(&all, &si) < 0) {
      if (errno == EINTR)
        continue;
      die("sigwaitinfo");
    }
    if (si.si_signo == SIGCHLD) {
      int status;
      if (!reap(child, &status))
        continue;
      if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
      return WEXITSTATUS(status);
    }
    if (!from_tty(&si))
      kill(child, si.si_signo);
  }
}
