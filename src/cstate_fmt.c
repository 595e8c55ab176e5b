/* What `ps` and `inspect` show of a container, in docker's words: pure
 * functions of the state and the time, so they are unit-tested exactly. */
#include "rl_cstate.h"
#include "rl_images.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define COMMAND_WIDTH 20 /* docker's ps truncates COMMAND to this */

const char *rl_cstatus_name(enum rl_cstatus s)
{
  switch (s) {
  case RL_CSTATUS_RUNNING:
    return "running";
  case RL_CSTATUS_EXITED:
    return "exited";
  case RL_CSTATUS_CREATED:
    break;
  }
  return "created";
}

char *rl_human_duration(long long s)
{
  long long min = s / 60, h = (s + 1800) / 3600;
  if (s < 1)
    return rl_xstrdup("Less than a second");
  if (s == 1)
    return rl_xstrdup("1 second");
  if (s < 60)
    return rl_xasprintf("%lld seconds", s);
  if (min == 1)
    return rl_xstrdup("About a minute");
  if (min < 60)
    return rl_xasprintf("%lld minutes", min);
  if (h == 1)
    return rl_xstrdup("About an hour");
  if (h < 48)
    return rl_xasprintf("%lld hours", h);
  if (h < 24 * 7 * 2)
    return rl_xasprintf("%lld days", h / 24);
  if (h < 24 * 30 * 2)
    return rl_xasprintf("%lld weeks", h / 24 / 7);
  if (h < 24 * 365 * 2)
    return rl_xasprintf("%lld months", h / 24 / 30);
  return rl_xasprintf("%lld years", s / 3600 / 24 / 365);
}

/* Growable byte buffer, NUL-terminated. */
struct buf {
  char *p;
  size_t n, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = rl_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
  buf_add(b, s, strlen(s));
}

/* docker's daemon: "path arg 'arg with space'". */
static char *command_line(const rl_strv_t *argv)
{
  struct buf b = {0};
  buf_str(&b, "");
  for (size_t i = 0; i < argv->n; i++) {
    bool quote = i > 0 && strchr(argv->v[i], ' ') != NULL;
    if (i > 0)
      buf_str(&b, " ");
    if (quote)
      buf_str(&b, "'");
    buf_str(&b, argv->v[i]);
    if (quote)
      buf_str(&b, "'");
  }
  return b.p;
}

static bool utf8_start(unsigned char c)
{
  return (c & 0xc0) != 0x80;
}

/* docker's formatter.Ellipsis: keep width-1 characters and add "…". */
static void ellipsis(char *s, size_t width)
{
  size_t chars = 0, cut = 0;
  for (size_t i = 0; s[i]; i++) {
    if (!utf8_start((unsigned char)s[i]))
      continue;
    if (chars == width - 1)
      cut = i;
    chars++;
  }
  if (chars <= width)
    return;
  memcpy(s + cut, "\xe2\x80\xa6", 4); /* "…" and the NUL: the caller made room */
}

/* Go's strconv.Quote for valid UTF-8: escapes quotes, backslashes and control bytes. */
static char *go_quote(const char *s)
{
  static const char esc[] = "\a\b\f\n\r\t\v";
  static const char letter[] = "abfnrtv";
  struct buf b = {0};
  buf_str(&b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    const char *e = strchr(esc, *p);
    char tmp[8];
    if (*p == '"' || *p == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)*p;
      buf_add(&b, tmp, 2);
    } else if (e) {
      tmp[0] = '\\';
      tmp[1] = letter[e - esc];
      buf_add(&b, tmp, 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
      buf_str(&b, tmp);
    } else {
      buf_add(&b, (const char *)p, 1);
    }
  }
  buf_str(&b, "\"");
  return b.p;
}

char *rl_cstate_command_text(const rl_strv_t *argv, bool trunc)
{
  cleanup_free char *line = command_line(argv);
  if (trunc) {
    /* Room for the 3-byte "…" in place of at least one byte. */
    line = rl_xrealloc(line, strlen(line) + 4);
    ellipsis(line, COMMAND_WIDTH);
  }
  return go_quote(line);
}

static long long ago(const char *when, long long now)
{
  long long t = rl_rfc3339_parse(when);
  return t < 0 || t > now ? 0 : now - t;
}

char *rl_cstate_status_text(const struct rl_cstate *c, long long now)
{
  if (c->status == RL_CSTATUS_RUNNING) {
    cleanup_free char *d = rl_human_duration(ago(c->started_at, now));
    return rl_xasprintf("Up %s", d);
  }
  if (c->status == RL_CSTATUS_CREATED)
    return rl_xstrdup("Created");
  if (c->finished_at == NULL)
    return rl_xasprintf("Exited (%d)", c->exit_code);
  cleanup_free char *d = rl_human_duration(ago(c->finished_at, now));
  return rl_xasprintf("Exited (%d) %s ago", c->exit_code, d);
}

char *rl_rfc3339_nano_now(void)
{
  struct timespec ts;
  struct tm tm;
  char buf[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
      strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    return rl_xstrdup("1970-01-01T00:00:00.000000000Z");
  return rl_xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}
