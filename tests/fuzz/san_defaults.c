/* The sanitizers' defaults for `make check SANITIZE=address,undefined`: linked into the
 * sanitized rless, rless-image and unit tests only (never into a normal build).  They are
 * compiled in because tests/integration/run.sh runs rless as the test user under `env -i`,
 * so no *SAN_OPTIONS reaches it; variables that are set still override these.
 *
 * Reports go to files in RL_SAN_REPORTS when that directory exists and is writable (the
 * Makefile creates it for the sanitized suite and fails the run when a report lands there):
 * a detached container's monitor has no terminal, and a test that only checks that rless
 * failed would not notice a report on stderr.  Without the directory they go to stderr.
 * A finding exits with 99, which no test expects.
 *
 * LeakSanitizer stays on everywhere; nothing needs it off.  It runs where a process calls
 * exit(): each command's own process (run, exec, stop, rm, ... and rless-image), in the host's
 * user namespace, where it can stop the world.  The processes forked into the container's
 * namespaces and the detached monitor leave with exec or _exit, so it never runs in them
 * (measured with ASAN_OPTIONS=atexit=1: one exit report per command; none from a namespace)
 * and no "LeakSanitizer has encountered a fatal error" can come from there.  Suppressed: what
 * libsubid's subid_init keeps for the process' life (a strdup per call, never freed).
 */
#include <unistd.h>

#ifndef RL_SAN_REPORTS
#define RL_SAN_REPORTS "/tmp/rless-sanitizer-reports"
#endif

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__lsan_default_suppressions(void);

static int reports_dir_usable(void)
{
  /* Called before main and before the C library is set up for us: a bare system call. */
  return access(RL_SAN_REPORTS, W_OK | X_OK) == 0;
}

const char *__asan_default_options(void)
{
  if (reports_dir_usable())
    return "exitcode=99:detect_leaks=1:print_suppressions=0:log_exe_name=1:log_path=" RL_SAN_REPORTS
           "/asan";
  return "exitcode=99:detect_leaks=1:print_suppressions=0";
}

const char *__ubsan_default_options(void)
{
  if (reports_dir_usable())
    return "print_stacktrace=1:halt_on_error=1:exitcode=99:log_exe_name=1:log_path=" RL_SAN_REPORTS
           "/ubsan";
  return "print_stacktrace=1:halt_on_error=1:exitcode=99";
}

const char *__lsan_default_suppressions(void)
{
  return "leak:subid_init\n";
}
