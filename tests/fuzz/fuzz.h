/* Helpers shared by the libFuzzer targets of tests/fuzz/ (header-only, each
 * target is one program).  A target checks invariants the callers of the
 * parser rely on, not only that it does not crash: FUZZ_CHECK names the
 * broken one before aborting, so the crash report says what went wrong. */
#ifndef RL_FUZZ_H
#define RL_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rl_error.h"
#include "rl_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__);           \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* A failing call has an error and a succeeding one has none. */
#define FUZZ_CHECK_ERR(r, err) FUZZ_CHECK(((r) < 0) == ((err) != NULL))

/* The input split at NUL bytes into at most `max` strings, in one exact-size
 * copy (plus the final NUL): reading past a string's end is an ASan report.
 * Returns the count; free parts[0]'s buffer with fuzz_parts_free. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, char **parts, size_t max)
{
  char *buf = rl_xmalloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = '\0';
  size_t n = 0;
  parts[n++] = buf;
  for (size_t i = 0; i < size && n < max; i++)
    if (buf[i] == '\0')
      parts[n++] = buf + i + 1;
  return n;
}

static inline void fuzz_parts_free(char **parts)
{
  free(parts[0]);
}

/* A memfd holding the bytes, rewound; its path is /proc/self/fd/N, for the
 * parsers that read a file by name. */
static inline int fuzz_memfd(const uint8_t *data, size_t size, char path[32])
{
  int fd = memfd_create("rless-fuzz", MFD_CLOEXEC);
  if (fd < 0 || rl_write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) != 0)
    abort();
  snprintf(path, 32, "/proc/self/fd/%d", fd);
  return fd;
}

/* Where targets make their scratch files: $TMPDIR (tests/fuzz/run.sh sets
 * one it removes afterwards), else /tmp. */
static inline const char *fuzz_tmpdir(void)
{
  const char *t = getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

static inline bool fuzz_digest_ok(const char *d)
{
  if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
    return false;
  return strspn(d + 7, "0123456789abcdef") == 64;
}

static inline bool fuzz_streq(const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

#endif
