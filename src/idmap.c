#include "rl_idmap.h"
#include "rl_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <shadow/subid.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>

extern char **environ;

static int cmp_range(const void *a, const void *b)
{
  const struct rl_idrange *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

size_t rl_idrange_normalize(struct rl_idrange *r, size_t n)
{
  size_t out = 0;
  if (n == 0)
    return 0;
  qsort(r, n, sizeof(*r), cmp_range);
  for (size_t i = 0; i < n; i++) {
    if (r[i].count == 0)
      continue;
    if (out > 0 && r[i].start <= r[out - 1].start + r[out - 1].count) {
      unsigned long end = r[i].start + r[i].count;
      if (end > r[out - 1].start + r[out - 1].count)
        r[out - 1].count = end - r[out - 1].start;
      continue;
    }
    r[out++] = r[i];
  }
  return out;
}

/* libsubid is opened only for the lookup: it pulls in ten more libraries
 * (PAM, SELinux, audit...) that cost a start time and memory, and single-id
 * runs never need them.  It stays loaded afterwards: unmapping it costs a
 * start as much as loading it. */
struct subid_lib {
  void *handle;
  bool (*init)(const char *progname, FILE *logfd);
  int (*uid_ranges)(const char *owner, struct subid_range **ranges);
  int (*gid_ranges)(const char *owner, struct subid_range **ranges);
};

static int subid_open(struct subid_lib *l, rl_error_t *err)
{
  l->handle = dlopen("libsubid.so.4", RTLD_NOW | RTLD_LOCAL);
  if (l->handle == NULL) {
    rl_make_error(err, 0, "load libsubid to find your subordinate ids: %s", dlerror());
    return rl_error_hint(err, "install it (sudo apt-get install libsubid4), or run with "
                              "--userns=single");
  }
  *(void **)&l->init = dlsym(l->handle, "subid_init");
  *(void **)&l->uid_ranges = dlsym(l->handle, "subid_get_uid_ranges");
  *(void **)&l->gid_ranges = dlsym(l->handle, "subid_get_gid_ranges");
  if (l->init && l->uid_ranges && l->gid_ranges)
    return 0;
  dlclose(l->handle);
  return rl_make_error(err, 0, "libsubid.so.4 lacks subid_get_uid_ranges: too old a shadow");
}

static void append_subids(const struct subid_lib *l, bool gid, const char *owner,
                          struct rl_idrange **all, size_t *n)
{
  struct subid_range *got = NULL;
  int k = gid ? l->gid_ranges(owner, &got) : l->uid_ranges(owner, &got);
  if (k <= 0) {
    free(got);
    return;
  }
  *all = rl_xrealloc(*all, (*n + (size_t)k) * sizeof(**all));
  for (int i = 0; i < k; i++) {
    (*all)[*n].start = got[i].start;
    (*all)[*n].count = got[i].count;
    (*n)++;
  }
  free(got);
}

int rl_subid_ranges(bool gid, const char *name, unsigned long id, struct rl_idrange **out,
                    rl_error_t *err)
{
  struct rl_idrange *all = NULL;
  size_t n = 0;
  char idstr[32];

  struct subid_lib lib;
  if (subid_open(&lib, err) < 0)
    return -1;
  /* libsubid logs parse problems to its log stream; keep them off the user's terminal. */
  cleanup_fclose FILE *devnull = fopen("/dev/null", "we");
  if (devnull == NULL) {
    dlclose(lib.handle);
    return rl_make_error(err, errno, "open `/dev/null`");
  }
  lib.init("rless", devnull);
  if (name)
    append_subids(&lib, gid, name, &all, &n);
  snprintf(idstr, sizeof(idstr), "%lu", id);
  append_subids(&lib, gid, idstr, &all, &n);
  lib.init("rless", stderr);
  *out = all;
  return (int)rl_idrange_normalize(all, n);
}

static int push(struct rl_idmap *m, unsigned long in, unsigned long out, unsigned long count,
                rl_error_t *err)
{
  if (count == 0)
    return 0;
  if (m->n >= RL_IDMAP_MAX)
    return rl_make_error(err, 0, "building the id map: more than %d ranges", RL_IDMAP_MAX);
  m->e[m->n].inside = in;
  m->e[m->n].outside = out;
  m->e[m->n].count = count;
  m->n++;
  return 0;
}

/* Map the ranges, in order, onto consecutive ids inside starting at `first`,
 * leaving a hole of one id at `skip` (where the user's own id goes). */
static int map_ranges(struct rl_idmap *m, const struct rl_idrange *r, size_t n, unsigned long first,
                      unsigned long skip, rl_error_t *err)
{
  unsigned long next = first;
  for (size_t i = 0; i < n; i++) {
    unsigned long start = r[i].start, left = r[i].count;
    while (left > 0) {
      if (next == skip)
        next++;
      unsigned long chunk = left;
      if (next < skip && next + chunk > skip)
        chunk = skip - next;
      if (push(m, next, start, chunk, err) < 0)
        return -1;
      next += chunk;
      start += chunk;
      left -= chunk;
    }
  }
  return 0;
}

int rl_idmap_build(enum rl_userns_mode mode, unsigned long host_id, const struct rl_idrange *r,
                   size_t n, struct rl_idmap *out, rl_error_t *err)
{
  out->n = 0;
  switch (mode) {
  case RL_USERNS_SINGLE:
    return push(out, 0, host_id, 1, err);
  case RL_USERNS_SUBIDS:
    if (n == 0)
      return rl_make_error(err, 0, "no subordinate id ranges for the user");
    if (push(out, 0, host_id, 1, err) < 0)
      return -1;
    return map_ranges(out, r, n, 1, (unsigned long)-1, err);
  case RL_USERNS_KEEP_ID:
    if (n == 0)
      return push(out, host_id, host_id, 1, err);
    if (push(out, host_id, host_id, 1, err) < 0)
      return -1;
    return map_ranges(out, r, n, 0, host_id, err);
  case RL_USERNS_AUTO:
    break;
  }
  return rl_make_error(err, EINVAL, "building the id map: unresolved --userns mode");
}

char *rl_idmap_format(const struct rl_idmap *m)
{
  /* Three 20-digit numbers, two spaces and a newline: 63 bytes per line at most. */
  size_t cap = m->n * 64 + 1, len = 0;
  char *s = rl_xmalloc(cap);
  s[0] = '\0';
  for (size_t i = 0; i < m->n && len < cap; i++)
    len += (size_t)snprintf(s + len, cap - len, "%lu %lu %lu\n", m->e[i].inside, m->e[i].outside,
                            m->e[i].count);
  return s;
}

unsigned long rl_idmap_size(const struct rl_idmap *m)
{
  unsigned long max = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->e[i].inside + m->e[i].count > max)
      max = m->e[i].inside + m->e[i].count;
  return max;
}

bool rl_idmap_contains(const struct rl_idmap *m, unsigned long inside)
{
  for (size_t i = 0; i < m->n; i++)
    if (inside >= m->e[i].inside && inside - m->e[i].inside < m->e[i].count)
      return true;
  return false;
}

char *rl_find_program(const char *name)
{
  const char *path = getenv("PATH");
  if (strchr(name, '/'))
    return access(name, X_OK) == 0 ? rl_xstrdup(name) : NULL;
  if (path == NULL)
    path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  cleanup_free char *copy = rl_xstrdup(path);
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    cleanup_free char *cand = rl_xasprintf("%s/%s", *dir ? dir : ".", name);
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
      return rl_steal_ptr(&cand);
  }
  return NULL;
}

void rl_idtool_probe(const char *name, struct rl_idtool *t)
{
  struct stat st;
  memset(t, 0, sizeof(*t));
  t->path = rl_find_program(name);
  if (t->path == NULL || stat(t->path, &st) < 0)
    return;
  t->setuid_root = st.st_uid == 0 && (st.st_mode & S_ISUID);
  t->file_caps = getxattr(t->path, "security.capability", NULL, 0) > 0;
}

void rl_idtool_free(struct rl_idtool *t)
{
  free(t->path);
  t->path = NULL;
}

/* The one map the kernel lets an unprivileged process write itself. */
static bool is_own_single(const struct rl_idmap *m, unsigned long own)
{
  return m->n == 1 && m->e[0].count == 1 && m->e[0].outside == own;
}

static int write_proc_map(pid_t pid, const char *file, const struct rl_idmap *m, rl_error_t *err)
{
  cleanup_free char *path = rl_xasprintf("/proc/%d/%s", (int)pid, file);
  cleanup_free char *text = rl_idmap_format(m);
  if (rl_write_file(path, text) < 0)
    return rl_make_error(err, errno, "write `%s`", path);
  return 0;
}

static int tool_failed(const char *tool, const char *path, const char *output, rl_error_t *err)
{
  struct rl_idtool t;
  rl_make_error(err, 0, "%s failed to write the id map of the container: %s", tool,
                *output ? output : "(no output)");
  rl_idtool_probe(tool, &t);
  if (!t.setuid_root && !t.file_caps)
    rl_error_hint(err,
                  "`%s` is neither setuid root nor has file capabilities; as root run "
                  "`chmod u+s %s` (or `setcap cap_setuid+ep %s`), or reinstall the uidmap package",
                  path, path, path);
  else
    rl_error_hint(err,
                  "check that the ranges for your user in /etc/sub%cid are valid and do not "
                  "overlap other users'; `rless info` shows what rless sees",
                  strcmp(tool, "newuidmap") == 0 ? 'u' : 'g');
  rl_idtool_free(&t);
  return -1;
}

static char **tool_argv(const char *tool, pid_t pid, const struct rl_idmap *m)
{
  char **argv = rl_xcalloc(3 + 3 * m->n + 1, sizeof(char *));
  size_t k = 0;
  argv[k++] = rl_xstrdup(tool);
  argv[k++] = rl_xasprintf("%d", (int)pid);
  for (size_t i = 0; i < m->n; i++) {
    argv[k++] = rl_xasprintf("%lu", m->e[i].inside);
    argv[k++] = rl_xasprintf("%lu", m->e[i].outside);
    argv[k++] = rl_xasprintf("%lu", m->e[i].count);
  }
  return argv;
}

static void free_argv(char **argv)
{
  for (size_t i = 0; argv[i]; i++)
    free(argv[i]);
  free(argv);
}

/* Read what the tool printed (its error, if any), trimmed. */
static void read_output(int fd, char *out, size_t cap)
{
  size_t len = 0;
  ssize_t r;
  while (len + 1 < cap &&
         ((r = read(fd, out + len, cap - 1 - len)) > 0 || (r < 0 && errno == EINTR)))
    len += r > 0 ? (size_t)r : 0;
  out[len] = '\0';
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = '\0';
}

/* One newgidmap/newuidmap run: started, then finished (its output read to
 * EOF, its status taken). */
struct tool_run {
  const char *tool;
  char *path;
  char **argv;
  pid_t pid;
  int out;
  struct tool_child *child; /* the child's stack and arguments, while it may run */
};

/* The tools are started with clone(CLONE_VM) on a small stack of their own:
 * no copy of rless' page tables and no copy-on-write faults in rless
 * afterwards (a fork cost each tool 0.1 ms before it could even exec, and
 * rless as much again), and unlike posix_spawn's vfork rless does not wait
 * for the exec.  Sharing rless' memory, the child must write nothing but its
 * own stack: it makes raw system calls (glibc's wrappers set errno, which
 * is rless'), and only dup3, rt_sigprocmask, execve and exit_group.  Where
 * there is no raw call here, and in sanitized builds (ASan tracks every
 * thread's stack), the tools are forked. */
#if (defined(__x86_64__) || defined(__aarch64__)) && !defined(__SANITIZE_ADDRESS__)
#define TOOL_STACK (64u << 10)

struct tool_child {
  const char *path;
  char **argv;
  int out;
  _Alignas(16) unsigned char stack[TOOL_STACK];
};

static long raw_call(long nr, long a, long b, long c, long d)
{
#if defined(__x86_64__)
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
#else
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
#endif
}

/* Its stdout and stderr on `out` (close-on-exec, and above 2: rless keeps
 * 0-2 open, cli.c), all signals unblocked, then exec. */
static int tool_child_main(void *arg)
{
  const struct tool_child *c = arg;
  unsigned long none = 0;
  if (raw_call(SYS_dup3, c->out, 1, 0, 0) >= 0 && raw_call(SYS_dup3, c->out, 2, 0, 0) >= 0 &&
      raw_call(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, sizeof(none)) >= 0)
    raw_call(SYS_execve, (long)c->path, (long)c->argv, (long)environ, 0);
  raw_call(SYS_exit_group, 127, 0, 0, 0);
  return 127; /* not reached */
}

static pid_t tool_start(struct tool_run *t, int out)
{
  t->child = mmap(NULL, sizeof(*t->child), PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (t->child == MAP_FAILED) {
    t->child = NULL;
    return -1;
  }
  *t->child = (struct tool_child){.path = t->path, .argv = t->argv, .out = out};
  return clone(tool_child_main, t->child->stack + TOOL_STACK, CLONE_VM | SIGCHLD, t->child);
}

static void tool_child_free(struct tool_run *t)
{
  if (t->child)
    munmap(t->child, sizeof(*t->child));
}
#else
struct tool_child;

static pid_t tool_start(struct tool_run *t, int out)
{
  sigset_t none;
  sigemptyset(&none);
  pid_t pid = fork();
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(out, 1) >= 0 && dup2(out, 2) >= 0)
      execve(t->path, t->argv, environ);
    _exit(127);
  }
  return pid;
}

static void tool_child_free(struct tool_run *t)
{
}
#endif

static int tool_spawn(const char *tool, pid_t pid, const struct rl_idmap *m, struct tool_run *t,
                      rl_error_t *err)
{
  *t = (struct tool_run){.tool = tool, .pid = -1, .out = -1};
  t->path = rl_find_program(tool);
  if (t->path == NULL) {
    rl_make_error(err, 0, "writing the id map of the container: `%s` not found on PATH", tool);
    return rl_error_hint(err, "install the uidmap package (sudo apt-get install uidmap), or run "
                              "with --userns=single for a single-id map");
  }
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe");
  t->argv = tool_argv(tool, pid, m);
  t->pid = tool_start(t, pfd[1]);
  int saved = errno;
  close(pfd[1]);
  if (t->pid < 0) {
    close(pfd[0]);
    return rl_make_error(err, saved, "run `%s`: fork", t->path);
  }
  t->out = pfd[0];
  return 0;
}

/* Reap the tool; with `err` NULL only reap it (another step failed already). */
static int tool_finish(struct tool_run *t, rl_error_t *err)
{
  char out[1024] = "";
  int status = 0, r = 0;
  if (t->out >= 0) {
    read_output(t->out, out, sizeof(out));
    close(t->out);
  }
  if (t->pid > 0)
    while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR)
      ;
  if (err && t->pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    r = tool_failed(t->tool, t->path, out, err);
  /* Only now: a child sharing this memory reads them until its exec. */
  tool_child_free(t);
  if (t->argv)
    free_argv(t->argv);
  free(t->path);
  *t = (struct tool_run){.pid = -1, .out = -1};
  return r;
}

/* Both maps: gid first, then uid.  The two tools run at the same time (each
 * is a setuid exec of about a millisecond and a half, and they touch
 * different files of the target); newgidmap is started first and its
 * failure is the one reported when both fail. */
int rl_idmap_apply(pid_t pid, const struct rl_idmap *uidmap, const struct rl_idmap *gidmap,
                   bool deny_setgroups, rl_error_t *err)
{
  if (deny_setgroups) {
    cleanup_free char *path = rl_xasprintf("/proc/%d/setgroups", (int)pid);
    if (rl_write_file(path, "deny") < 0)
      return rl_make_error(err, errno, "write `%s`", path);
  }
  struct tool_run g = {.pid = -1, .out = -1}, u = {.pid = -1, .out = -1};
  int r = deny_setgroups && is_own_single(gidmap, getegid())
              ? write_proc_map(pid, "gid_map", gidmap, err)
              : tool_spawn("newgidmap", pid, gidmap, &g, err);
  if (r == 0)
    r = is_own_single(uidmap, geteuid()) ? write_proc_map(pid, "uid_map", uidmap, err)
                                         : tool_spawn("newuidmap", pid, uidmap, &u, err);
  if (tool_finish(&g, r == 0 ? err : NULL) < 0)
    r = -1;
  if (tool_finish(&u, r == 0 ? err : NULL) < 0)
    r = -1;
  return r;
}
