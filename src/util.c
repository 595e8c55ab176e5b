#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

void rl_freep(void *p)
{
  free(*(void **)p);
}

void rl_closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

void rl_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}

static void *oom(void)
{
  fputs("rless: out of memory\n", stderr);
  abort();
}

void *rl_xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  return p ? p : oom();
}

void *rl_xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  return p ? p : oom();
}

void *rl_xrealloc(void *p, size_t n)
{
  void *r = realloc(p, n ? n : 1);
  return r ? r : oom();
}

char *rl_xstrdup(const char *s)
{
  char *r = strdup(s);
  return r ? r : oom();
}

char *rl_xstrndup(const char *s, size_t n)
{
  char *r = strndup(s, n);
  return r ? r : oom();
}

char *rl_xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *r = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&r, fmt, ap);
  va_end(ap);
  return n < 0 ? oom() : r;
}

void rl_strv_push_owned(rl_strv_t *s, char *str)
{
  s->v = rl_xrealloc(s->v, (s->n + 2) * sizeof(char *));
  s->v[s->n++] = str;
  s->v[s->n] = NULL;
}

void rl_strv_push(rl_strv_t *s, const char *str)
{
  rl_strv_push_owned(s, rl_xstrdup(str));
}

void rl_strv_free(rl_strv_t *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

void rl_strv_freep(rl_strv_t *s)
{
  rl_strv_free(s);
}

bool rl_strv_contains(const rl_strv_t *s, const char *str)
{
  for (size_t i = 0; s && i < s->n; i++)
    if (strcmp(s->v[i], str) == 0)
      return true;
  return false;
}

char *rl_strv_join(const rl_strv_t *s, const char *sep)
{
  size_t len = 1, slen = strlen(sep);
  for (size_t i = 0; i < s->n; i++)
    len += strlen(s->v[i]) + slen;
  char *out = rl_xmalloc(len), *o = out;
  for (size_t i = 0; i < s->n; i++) {
    if (i)
      o = stpcpy(o, sep);
    o = stpcpy(o, s->v[i]);
  }
  *o = '\0';
  return out;
}

int rl_parse_ulong(const char *s, unsigned long *out)
{
  char *end = NULL;
  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end != '\0')
    return -1;
  *out = v;
  return 0;
}

char *rl_read_file_at(int dirfd, const char *path, size_t max, size_t *len_out)
{
  cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t cap = 4096, len = 0;
  cleanup_free char *buf = rl_xmalloc(cap);
  for (;;) {
    if (len + 1 >= cap) {
      if (cap >= max) {
        errno = EFBIG;
        return NULL;
      }
      cap *= 2;
      buf = rl_xrealloc(buf, cap);
    }
    ssize_t r = read(fd, buf + len, cap - len - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return NULL;
    if (r == 0)
      break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  if (len_out)
    *len_out = len;
  return rl_steal_ptr(&buf);
}

int rl_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int rl_write_file(const char *path, const char *content)
{
  cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  return rl_write_all(fd, content, strlen(content));
}

int rl_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
  cleanup_free char *tmp = rl_xasprintf("%s.%d.tmp", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return -1;
  /* close() after a failed write leaves that write's errno (it succeeds). */
  int r = rl_write_all(fd, data, len);
  if (close(fd) < 0)
    r = -1;
  if (r == 0 && rename(tmp, path) == 0)
    return 0;
  int saved = errno;
  unlink(tmp);
  errno = saved;
  return -1;
}
