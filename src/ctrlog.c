/* k8s-file container logs: writer (the monitor) and parser (rless logs). */
#include "rl_ctrlog.h"
#include "rl_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

size_t rl_ctrlog_format(char *out, const struct timespec *ts, const char *stream, bool partial,
                        const char *text, size_t len)
{
  struct tm tm;
  time_t sec = ts->tv_sec;
  gmtime_r(&sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  n += (size_t)snprintf(out + n, 48, ".%09ldZ %s %c ", ts->tv_nsec, stream, partial ? 'P' : 'F');
  memcpy(out + n, text, len);
  n += len;
  out[n++] = '\n';
  return n;
}

static void write_line(int fd, const char *stream, bool partial, const char *text, size_t len)
{
  char line[RL_CTRLOG_PIECE + 96];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  size_t n = rl_ctrlog_format(line, &ts, stream, partial, text, len);
  /* A full disk must not stop the container: the log loses lines instead. */
  (void)rl_write_all(fd, line, n);
}

void rl_ctrlog_feed(int fd, struct rl_logbuf *b, const char *data, size_t n)
{
  while (n > 0) {
    size_t take = sizeof(b->buf) - b->len;
    if (take > n)
      take = n;
    memcpy(b->buf + b->len, data, take);
    b->len += take;
    data += take;
    n -= take;
    size_t start = 0;
    for (size_t i = 0; i < b->len; i++) {
      if (b->buf[i] == '\n') {
        write_line(fd, b->stream, false, b->buf + start, i - start);
        start = i + 1;
      }
    }
    if (start == 0 && b->len == sizeof(b->buf)) {
      write_line(fd, b->stream, true, b->buf, b->len);
      start = b->len;
    }
    memmove(b->buf, b->buf + start, b->len - start);
    b->len -= start;
  }
}

void rl_ctrlog_flush(int fd, struct rl_logbuf *b)
{
  if (b->len > 0)
    write_line(fd, b->stream, true, b->buf, b->len);
  b->len = 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" */
static int parse_rfc3339(const char *s, size_t len, struct timespec *out)
{
  struct tm tm = {0};
  cleanup_free char *copy = rl_xstrndup(s, len);
  char *rest = strptime(copy, "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == NULL)
    return -1;
  long nsec = 0;
  if (*rest == '.') {
    long scale = 100000000;
    for (rest++; isdigit((unsigned char)*rest); rest++, scale /= 10)
      nsec += scale > 0 ? (*rest - '0') * scale : 0;
  }
  long offset = 0;
  if (*rest == '+' || *rest == '-') {
    int hh, mm;
    if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
      return -1;
    offset = (*rest == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
    rest += 6;
  } else if (*rest == 'Z') {
    rest++;
  } else {
    return -1;
  }
  if (*rest)
    return -1;
  out->tv_sec = timegm(&tm) - offset;
  out->tv_nsec = nsec;
  return 0;
}

int rl_ctrlog_parse(const char *line, size_t len, struct rl_logline *out)
{
  const char *sp1 = memchr(line, ' ', len);
  if (sp1 == NULL)
    return -1;
  size_t rest = len - (size_t)(sp1 + 1 - line);
  const char *stream = sp1 + 1;
  bool is_err;
  if (rest >= 7 && memcmp(stream, "stdout ", 7) == 0)
    is_err = false;
  else if (rest >= 7 && memcmp(stream, "stderr ", 7) == 0)
    is_err = true;
  else
    return -1;
  const char *tag = stream + 7;
  if ((size_t)(tag - line) + 2 > len || (tag[0] != 'F' && tag[0] != 'P') || tag[1] != ' ')
    return -1;
  if (parse_rfc3339(line, (size_t)(sp1 - line), &out->ts) < 0)
    return -1;
  out->is_stderr = is_err;
  out->partial = tag[0] == 'P';
  out->text = tag + 2;
  out->len = len - (size_t)(out->text - line);
  out->stamp = line;
  out->stamp_len = (size_t)(sp1 - line);
  return 0;
}

static int parse_duration(const char *s, long *secs)
{
  long total = 0;
  if (*s == '\0')
    return -1;
  while (*s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0)
      return -1;
    long unit = *end == 'h' ? 3600 : *end == 'm' ? 60 : *end == 's' ? 1 : 0;
    if (unit == 0)
      return -1;
    total += v * unit;
    s = end + 1;
  }
  *secs = total;
  return 0;
}

int rl_ctrlog_parse_since(const char *s, time_t now, struct timespec *out)
{
  unsigned long unix_time;
  long back;
  if (rl_parse_ulong(s, &unix_time) == 0) {
    *out = (struct timespec){.tv_sec = (time_t)unix_time};
    return 0;
  }
  if (parse_duration(s, &back) == 0) {
    *out = (struct timespec){.tv_sec = now - back};
    return 0;
  }
  return parse_rfc3339(s, strlen(s), out);
}
