#include "rl_error.h"
#include "rl_util.h"

#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 1, 0))) static char *vfmt(const char *fmt, va_list ap)
{
  char *r = NULL;
  if (vasprintf(&r, fmt, ap) < 0)
    abort();
  return r;
}

int rl_make_error(rl_error_t *err, int errnum, const char *fmt, ...)
{
  if (err == NULL)
    return -1;
  /* The first error wins: it is the cause, later ones are consequences. */
  if (*err)
    return -1;
  struct rl_error_s *e = rl_xcalloc(1, sizeof(*e));
  va_list ap;
  va_start(ap, fmt);
  e->msg = vfmt(fmt, ap);
  va_end(ap);
  e->errnum = errnum;
  e->exit_code = RL_EXIT_FAILURE;
  *err = e;
  return -1;
}

int rl_error_hint(rl_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  char *h = vfmt(fmt, ap);
  va_end(ap);
  if ((*err)->hint) {
    char *both = rl_xasprintf("%s\n  hint: %s", (*err)->hint, h);
    free(h);
    h = both;
  }
  free((*err)->hint);
  (*err)->hint = h;
  return -1;
}

int rl_error_wrap(rl_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *ctx = vfmt(fmt, ap);
  va_end(ap);
  char *m = rl_xasprintf("%s: %s", ctx, (*err)->msg);
  free((*err)->msg);
  (*err)->msg = m;
  return -1;
}

void rl_error_set_exit(rl_error_t *err, int code)
{
  if (err && *err)
    (*err)->exit_code = code;
}

void rl_error_free(rl_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free((*err)->msg);
  free((*err)->hint);
  free(*err);
  *err = NULL;
}

char *rl_error_format(rl_error_t err)
{
  if (err == NULL)
    return rl_xstrdup("unknown error");
  cleanup_free char *base =
      err->errnum ? rl_xasprintf("%s: %s", err->msg, strerror(err->errnum)) : rl_xstrdup(err->msg);
  if (err->hint)
    return rl_xasprintf("%s\n  hint: %s", base, err->hint);
  return rl_steal_ptr(&base);
}

void rl_error_print(rl_error_t err)
{
  cleanup_free char *text = rl_error_format(err);
  fprintf(stderr, "rless: %s\n", text);
}

int rl_error_report(rl_error_t *err)
{
  int code = (err && *err) ? (*err)->exit_code : RL_EXIT_FAILURE;
  rl_error_print(err ? *err : NULL);
  rl_error_free(err);
  return code;
}

static const char *level_names[] = {"error", "warning", "info", "debug"};

void rl_log(int level, const char *fmt, ...)
{
  if (level > rl_log_level)
    return;
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *m = vfmt(fmt, ap);
  va_end(ap);
  fprintf(stderr, "rless: %s: %s\n", level_names[level], m);
}

int rl_log_level_parse(const char *s)
{
  for (size_t i = 0; i < RL_ARRAY_SIZE(level_names); i++)
    if (strcmp(s, level_names[i]) == 0)
      return (int)i;
  if (strcmp(s, "warn") == 0)
    return RL_LOG_WARN;
  return -1;
}
