/* Container logs in the k8s-file format (what CRI-O and podman write):
 *
 *   2026-12-01T19:00:00.123456789Z stdout F a whole line
 *   2026-12-01T19:00:00.223456789Z stderr P the first part of a long line
 *
 * one line per line of output, "F" when it ended with a newline (not
 * stored), "P" for a piece of a longer or unterminated line.  The monitor
 * writes it; `rless logs` reads it.  Text, greppable, and a partial last line
 * is never lost. */
#ifndef RL_CTRLOG_H
#define RL_CTRLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define RL_CTRLOG_PIECE 16384 /* the longest piece written as one log line */

struct rl_logbuf {
  const char *stream; /* "stdout" or "stderr" */
  char buf[RL_CTRLOG_PIECE];
  size_t len;
};

/* Append output of b->stream; complete lines are written to fd at once, a
 * piece that fills the buffer as a P line. */
void rl_ctrlog_feed(int fd, struct rl_logbuf *b, const char *data, size_t n);
/* At EOF: what is left, as a P line. */
void rl_ctrlog_flush(int fd, struct rl_logbuf *b);

/* The line format, for a given time (pure). Returns the bytes written to out
 * (out needs len + 64). */
size_t rl_ctrlog_format(char *out, const struct timespec *ts, const char *stream, bool partial,
                        const char *text, size_t len);

struct rl_logline {
  struct timespec ts;
  bool is_stderr;
  bool partial;
  const char *text; /* into the parsed line, not NUL-terminated */
  size_t len;
  const char *stamp; /* the timestamp as written */
  size_t stamp_len;
};
/* Parse one line (without its newline).  Returns 0, or -1 for a malformed line. */
int rl_ctrlog_parse(const char *line, size_t len, struct rl_logline *out);

/* RFC 3339 ("2026-12-01T19:00:00Z", with optional fraction and offset), a
 * unix time ("1733079600"), or a duration back from `now` ("10m", "1h30m",
 * "45s"), as --since takes them. Returns 0 or -1. */
int rl_ctrlog_parse_since(const char *s, time_t now, struct timespec *out);

#endif
