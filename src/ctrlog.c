/* k8s-file container logs: writer (the monitor) and parser (rless logs). */
#include "rl_ctrlog.h"
#include "rl_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 to a proleptic Gregorian date, in 400-year eras
 * counted from 0000-03-01 (so the leap day is the last of its year). */
static void civil_date(long long days, long long *y, unsigned *m, unsigned *d)
{
  days += 719468;
  long long era = (days >= 0 ? days : days - 146096) / 146097;
  unsigned doe = (unsigned)(days - era * 146097);                       /* [0, 146096] */
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
  unsigned mp = (5 * doy + 2) / 153;                                    /* March = 0 */
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (long long)yoe + era * 400 + (*m <= 2);
}

static char *put_num(char *p, unsigned long long v, int width)
{
  for (int i = width - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
  return p + width;
}

/* The header is formatted by hand: the monitor writes it for every line the
 * container prints, and strftime, gmtime and printf would keep a third of
 * libc resident in it (src/memtrim.c). */
size_t rl_ctrlog_format(char *out, const struct timespec *ts, const char *stream, bool partial,
                        const char *text, size_t len)
{
  long long sec = ts->tv_sec, days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
  long long tod = sec - days * 86400, y;
  unsigned mo, d;
  civil_date(days, &y, &mo, &d);
  char *p = out;
  p = put_num(p, y < 0 ? 0 : y > 9999 ? 9999 : (unsigned long long)y, 4);
  *p++ = '-';
  p = put_num(p, mo, 2);
  *p++ = '-';
  p = put_num(p, d, 2);
  *p++ = 'T';
  p = put_num(p, (unsigned long long)tod / 3600, 2);
  *p++ = ':';
  p = put_num(p, (unsigned long long)tod / 60 % 60, 2);
  *p++ = ':';
  p = put_num(p, (unsigned long long)tod % 60, 2);
  *p++ = '.';
  p = put_num(p, (unsigned long long)ts->tv_nsec, 9);
  *p++ = 'Z';
  *p++ = ' ';
  size_t sl = strlen(stream);
  memcpy(p, stream, sl);
  p += sl;
  *p++ = ' ';
  *p++ = partial ? 'P' : 'F';
  *p++ = ' ';
  memcpy(p, text, len);
  p += len;
  *p++ = '\n';
  return (size_t)(p - out);
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
