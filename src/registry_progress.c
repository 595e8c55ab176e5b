/* Progress of blob downloads on stderr: one redrawn line per blob on a
 * terminal (ANSI cursor movement, at most ~10 frames a second so a fast
 * download does not spend its time drawing), or one line when a blob starts
 * and one when it ends for logs and pipes. */
#include "registry_int.h"

#include <string.h>
#include <sys/ioctl.h>

#define BAR_WIDTH    24
#define FRAME_PERIOD 0.1 /* seconds between redraws */

enum rl_progress reg_progress_resolve(enum rl_progress mode)
{
  if (mode == RL_PROGRESS_AUTO)
    return isatty(STDERR_FILENO) ? RL_PROGRESS_BARS : RL_PROGRESS_LINES;
  return mode;
}

static void format_size(long long n, char *buf, size_t cap)
{
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (n < 1024) {
    snprintf(buf, cap, "%lld B", n);
    return;
  }
  double v = (double)n / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < RL_ARRAY_SIZE(units)) {
    v /= 1024;
    u++;
  }
  snprintf(buf, cap, "%.1f %s", v, units[u]);
}

/* "blob 3f4c1a2b5d6e…" for a digest's hex, the label itself for a word. */
static void item_name(const struct reg_progress_item *it, char *buf, size_t cap)
{
  const char *l = it->label;
  size_t n = strlen(l);
  if (strspn(l, "0123456789abcdef") != n || n == 0)
    snprintf(buf, cap, "%s", l);
  else if (n > 12)
    snprintf(buf, cap, "blob %.12s…", l);
  else
    snprintf(buf, cap, "blob %s", l);
}

static int term_size(int *rows)
{
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0) {
    *rows = 24;
    return 80;
  }
  *rows = ws.ws_row;
  return ws.ws_col;
}

void reg_progress_init(struct reg_progress *p, enum rl_progress mode,
                       const struct rl_blob_req *reqs, size_t n)
{
  *p = (struct reg_progress){.mode = reg_progress_resolve(mode), .n = n};
  p->items = rl_xcalloc(n, sizeof(*p->items));
  for (size_t i = 0; i < n; i++) {
    const char *d = reqs[i].digest;
    const char *hex = strncmp(d, "sha256:", 7) == 0 ? d + 7 : d;
    p->items[i] = (struct reg_progress_item){
        .label = reqs[i].label ? reqs[i].label : hex, .size = reqs[i].size, .state = REG_WAITING};
  }
  if (p->mode == RL_PROGRESS_BARS) {
    int rows = 0;
    term_size(&rows);
    /* Redrawing moves the cursor up n lines: that only works on screen. */
    if ((int)n >= rows)
      p->mode = RL_PROGRESS_LINES;
  }
}

static void bar_line(const struct reg_progress_item *it, char *buf, size_t cap)
{
  char name[64], done[32], size[32];
  item_name(it, name, sizeof(name));
  format_size(it->done, done, sizeof(done));
  format_size(it->size, size, sizeof(size));
  switch (it->state) {
  case REG_WAITING:
    snprintf(buf, cap, "Copying %s waiting", name);
    return;
  case REG_DONE:
    snprintf(buf, cap, "Copying %s done %s", name, done);
    return;
  case REG_FAILED:
    snprintf(buf, cap, "Copying %s failed", name);
    return;
  default:
    break;
  }
  const char *tail = it->state == REG_RETRYING ? " retrying" : "";
  if (it->size <= 0) {
    snprintf(buf, cap, "Copying %s %s%s", name, done, tail);
    return;
  }
  char bar[BAR_WIDTH + 1];
  size_t fill = (size_t)((double)it->done / (double)it->size * BAR_WIDTH);
  for (size_t i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
  bar[BAR_WIDTH] = '\0';
  snprintf(buf, cap, "Copying %s [%s] %s / %s%s", name, bar, done, size, tail);
}

static void draw(struct reg_progress *p, bool force)
{
  double now = reg_now();
  if (!force && p->drawn && now - p->last_draw < FRAME_PERIOD)
    return;
  int rows = 0;
  int width = term_size(&rows);
  char *frame = NULL;
  size_t flen = 0;
  FILE *f = open_memstream(&frame, &flen);
  if (f == NULL)
    return;
  if (p->drawn)
    fprintf(f, "\033[%zuA", p->n);
  for (size_t i = 0; i < p->n; i++) {
    char line[256];
    bar_line(&p->items[i], line, sizeof(line));
    /* A wrapped line would break the cursor arithmetic. */
    fprintf(f, "\r\033[K%.*s\n", width > 1 ? width - 1 : 1, line);
  }
  fclose(f);
  fwrite(frame, 1, flen, stderr);
  fflush(stderr);
  free(frame);
  p->drawn = true;
  p->last_draw = now;
}

void reg_progress_state(struct reg_progress *p, size_t i, enum reg_item_state st, const char *why)
{
  struct reg_progress_item *it = &p->items[i];
  enum reg_item_state old = it->state;
  it->state = st;
  if (p->mode == RL_PROGRESS_BARS) {
    draw(p, st == REG_DONE);
    return;
  }
  if (p->mode != RL_PROGRESS_LINES)
    return;
  char name[64], size[32];
  item_name(it, name, sizeof(name));
  if (st == REG_ACTIVE && old == REG_WAITING)
    fprintf(stderr, "Copying %s\n", name);
  else if (st == REG_RETRYING)
    fprintf(stderr, "Copying %s retrying: %s\n", name, why ? why : "transfer failed");
  else if (st == REG_DONE) {
    format_size(it->done, size, sizeof(size));
    fprintf(stderr, "Copying %s done %s\n", name, size);
  }
}

void reg_progress_bytes(struct reg_progress *p, size_t i, long long done)
{
  p->items[i].done = done;
  if (p->mode == RL_PROGRESS_BARS)
    draw(p, false);
}

void reg_progress_tick(struct reg_progress *p)
{
  if (p->mode == RL_PROGRESS_BARS)
    draw(p, false);
}

void reg_progress_finish(struct reg_progress *p)
{
  if (p->mode == RL_PROGRESS_BARS && p->n > 0)
    draw(p, true);
  free(p->items);
  p->items = NULL;
}
