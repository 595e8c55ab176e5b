/* Small helpers shared by every module: cleanup attributes, allocation that
 * aborts on OOM (a container tool cannot do anything useful without memory),
 * and a growable string vector. */
#ifndef RL_UTIL_H
#define RL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void rl_freep(void *p);
void rl_closep(int *fd);
void rl_fclosep(FILE **f);

#define cleanup_free   __attribute__((cleanup(rl_freep)))
#define cleanup_close  __attribute__((cleanup(rl_closep)))
#define cleanup_fclose __attribute__((cleanup(rl_fclosep)))
#define cleanup_strv   __attribute__((cleanup(rl_strv_freep)))

#define RL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *rl_xmalloc(size_t n);
void *rl_xcalloc(size_t n, size_t size);
void *rl_xrealloc(void *p, size_t n);
char *rl_xstrdup(const char *s);
char *rl_xstrndup(const char *s, size_t n);
char *rl_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hand ownership out of a cleanup variable. */
static inline int rl_steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *rl_steal_ptr(void *pp)
{
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}

/* NULL-terminated vector of owned strings. */
typedef struct rl_strv {
  char **v;
  size_t n;
} rl_strv_t;

void rl_strv_push(rl_strv_t *s, const char *str);
void rl_strv_push_owned(rl_strv_t *s, char *str);
void rl_strv_free(rl_strv_t *s);
void rl_strv_freep(rl_strv_t *s);
bool rl_strv_contains(const rl_strv_t *s, const char *str);
/* The strings with sep between them (a new string, "" for none). */
char *rl_strv_join(const rl_strv_t *s, const char *sep);

/* Parse a decimal unsigned number that must fill the whole string. */
int rl_parse_ulong(const char *s, unsigned long *out);

/* Read a whole small file (at most max bytes) into a NUL-terminated buffer. */
char *rl_read_file_at(int dirfd, const char *path, size_t max, size_t *len_out);

/* write(2) until done or error; returns 0 or -1 with errno set. */
int rl_write_all(int fd, const void *buf, size_t len);

/* Write a string to a file (O_WRONLY|O_CLOEXEC, no create); returns 0 or -1/errno. */
int rl_write_file(const char *path, const char *content);

/* Write a file whole or not at all: a temporary file beside `path`, then
 * rename over it.  Returns 0 or -1 with errno set (the temporary removed). */
int rl_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* For a long-lived fork (the monitor): drop the page-table entries of file
 * mappings without private pages, fault-around off for them, free heap back
 * (src/memtrim.c).  Best effort. */
void rl_memtrim(void);

/* rm -rf without following symlinks; ENOENT is success.  Needs rl_error.h. */
struct rl_error_s;
int rl_rmtree(const char *path, struct rl_error_s **err);
int rl_rmtree_at(int dirfd, const char *name, struct rl_error_s **err);

#endif
