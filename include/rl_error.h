/* Error values, crun-style: every fallible function takes rl_error_t *err
 * and returns a negative value after filling it.  A message names the
 * operation and the object; the errno text is appended when printed; a hint
 * says what to change on the host when the fix is there. */
#ifndef RL_ERROR_H
#define RL_ERROR_H

#include <stdarg.h>

/* docker's exit codes */
#define RL_EXIT_FAILURE  125 /* rless itself failed */
#define RL_EXIT_NOEXEC   126 /* command cannot be executed */
#define RL_EXIT_NOTFOUND 127 /* command not found */

struct rl_error_s {
  int errnum;    /* errno value, 0 when none applies */
  int exit_code; /* what the process should exit with */
  char *msg;
  char *hint;
};
typedef struct rl_error_s *rl_error_t;

int rl_make_error(rl_error_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Add a hint to an existing error; returns -1 so callers can `return rl_error_hint(...)`. */
int rl_error_hint(rl_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the message with more context. */
int rl_error_wrap(rl_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rl_error_set_exit(rl_error_t *err, int code);
void rl_error_free(rl_error_t *err);
#define cleanup_error __attribute__((cleanup(rl_error_free)))

/* The text printed for an error: "msg: strerror" and, on its own line, "hint: ...". */
char *rl_error_format(rl_error_t err);
void rl_error_print(rl_error_t err);
/* Print, free and return the exit code. */
int rl_error_report(rl_error_t *err);

/* Logging.  The level lives in main.c, the only file with global state. */
enum rl_log_level { RL_LOG_ERROR, RL_LOG_WARN, RL_LOG_INFO, RL_LOG_DEBUG };
extern int rl_log_level;
void rl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define rl_debug(...)  rl_log(RL_LOG_DEBUG, __VA_ARGS__)
#define rl_warn(...)   rl_log(RL_LOG_WARN, __VA_ARGS__)
#define rl_notice(...) rl_log(RL_LOG_INFO, __VA_ARGS__)
int rl_log_level_parse(const char *s);

#endif
