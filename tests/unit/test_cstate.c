/* Unit tests for container state (src/cstate*.c, src/names.c): names,
 * lookup by id, name and prefix, status derived from facts, racing
 * creators, waiting, removal, and the pure ps/inspect formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "rl_cstate.h"
#include "rl_images.h"
#include "rl_options.h"
#include "rl_paths.h"
#include "rl_userns.h"
#include "rl_util.h"

int rl_log_level = 0;

#define SKIP(why)                                                                                  \
  do {                                                                                             \
    print_message("[  SKIP    ] %s\n", why);                                                       \
    skip();                                                                                        \
  } while (0)

struct fx {
  char *base, *run;
  struct rl_store s;
};

static int setup(void **state)
{
  struct fx *f = rl_xcalloc(1, sizeof(*f));
  f->base = rl_xstrdup("/tmp/rl-test-cstate-XXXXXX");
  if (mkdtemp(f->base) == NULL)
    return -1;
  f->run = rl_xasprintf("%s/run", f->base);
  cleanup_free char *store = rl_xasprintf("%s/store", f->base);
  if (mkdir(f->run, 0700) < 0 || rl_store_open(store, true, &f->s, NULL) < 0)
    return -1;
  setenv("XDG_RUNTIME_DIR", f->run, 1);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  rl_store_close(&f->s);
  rl_rmtree(f->base, NULL);
  free(f->base);
  free(f->run);
  free(f);
  return 0;
}

/* An id of 64 hex digits starting with `prefix`, the rest `fill`. */
static void make_id(char id[65], const char *prefix, char fill)
{
  memset(id, fill, 64);
  id[64] = '\0';
  memcpy(id, prefix, strlen(prefix));
}

static int create(struct fx *f, const char *id, const char *name, rl_error_t *err)
{
  cleanup_free char *dir = rl_xasprintf("%s/containers/%s", f->s.root, id);
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return rl_make_error(err, errno, "mkdir %s", dir);
  struct rl_cstate c = {0};
  memcpy(c.id, id, 65);
  c.name = name ? rl_xstrdup(name) : NULL;
  c.image = rl_xstrdup("sha256:1111111111111111111111111111111111111111111111111111111111111111");
  c.image_name = rl_xstrdup("busybox");
  rl_strv_push(&c.command, "sh");
  rl_strv_push(&c.command, "-c");
  rl_strv_push(&c.command, "echo hi");
  int r = rl_cstate_create(&f->s, &c, err);
  rl_cstate_free(&c);
  return r;
}

static void create_ok(struct fx *f, const char *id, const char *name)
{
  rl_error_t err = NULL;
  int r = create(f, id, name, &err);
  if (r < 0)
    fail_msg("create %s: %s", name ? name : "(generated)", err->msg);
}

__attribute__((format(printf, 2, 3))) static bool exists_at(struct fx *f, const char *fmt, ...)
{
  va_list ap;
  char *rel_raw = NULL;
  va_start(ap, fmt);
  if (vasprintf(&rel_raw, fmt, ap) < 0)
    abort();
  va_end(ap);
  cleanup_free char *rel = rel_raw;
  cleanup_free char *path = rl_xasprintf("%s/%s", f->s.root, rel);
  struct stat st;
  return lstat(path, &st) == 0;
}

static void write_text(const char *path, const char *text)
{
  cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, text, strlen(text)), 0);
}

static void load_ok(struct fx *f, const char *id, struct rl_cstate *c)
{
  rl_error_t err = NULL;
  if (rl_cstate_load(&f->s, id, c, &err) < 0)
    fail_msg("load %.12s: %s", id, err->msg);
}

/* ---- names ---- */

static void test_random_names(void **state)
{
  regex_t re;
  assert_int_equal(regcomp(&re, "^[a-z]+_[a-z]+$", REG_EXTENDED | REG_NOSUB), 0);
  cleanup_free char *first = rl_cstate_random_name();
  bool differs = false;
  for (int i = 0; i < 200; i++) {
    cleanup_free char *n = rl_cstate_random_name();
    assert_int_equal(regexec(&re, n, 0, NULL, 0), 0);
    assert_true(rl_container_name_valid(n));
    differs = differs || strcmp(n, first) != 0;
  }
  regfree(&re);
  assert_true(differs);
}

static void test_create_names(void **state)
{
  struct fx *f = *state;
  char a[65], b[65], c[65];
  make_id(a, "a1", '0');
  make_id(b, "b2", '0');
  make_id(c, "c3", '0');
  create_ok(f, a, "web");
  struct rl_cstate got;
  load_ok(f, a, &got);
  assert_string_equal(got.name, "web");
  assert_string_equal(got.image_name, "busybox");
  assert_int_equal(got.command.n, 3);
  assert_int_equal(got.status, RL_CSTATUS_CREATED);
  assert_non_null(got.created);
  assert_true(rl_rfc3339_parse(got.created) > 0);
  rl_cstate_free(&got);

  rl_error_t err = NULL;
  assert_int_equal(create(f, b, "web", &err), -1);
  cleanup_free char *want = rl_xasprintf("name \"web\" is already in use by container %.12s", a);
  assert_string_equal(err->msg, want);
  assert_int_equal(err->exit_code, RL_EXIT_FAILURE);
  rl_error_free(&err);
  assert_false(exists_at(f, "containers/%s/container.json", b));

  assert_int_equal(create(f, b, "../evil", &err), -1);
  rl_error_free(&err);

  create_ok(f, c, NULL); /* generated */
  load_ok(f, c, &got);
  assert_true(rl_container_name_valid(got.name));
  assert_non_null(strchr(got.name, '_'));
  assert_true(exists_at(f, "names/%s", got.name));
  rl_cstate_free(&got);

  /* The runtime dir and its link to the data dir exist from create on. */
  cleanup_free char *link = rl_xasprintf("%s/rless/containers/%s/data/container.json", f->run, a);
  assert_int_equal(access(link, F_OK), 0);
}

static void test_stale_name_is_reclaimed(void **state)
{
  struct fx *f = *state;
  char gone[65], id[65];
  make_id(gone, "dead", '1');
  make_id(id, "beef", '2');
  cleanup_free char *names = rl_xasprintf("%s/names", f->s.root);
  cleanup_free char *link = rl_xasprintf("%s/names/old", f->s.root);
  mkdir(names, 0700);
  assert_int_equal(symlink(gone, link), 0); /* its container dir does not exist */
  create_ok(f, id, "old");
  char buf[80] = "";
  assert_int_equal(readlink(link, buf, sizeof(buf) - 1), 64);
  assert_string_equal(buf, id);
}

static void test_find(void **state)
{
  struct fx *f = *state;
  char a[65], b[65], c[65], id[65];
  make_id(a, "abc1", '0');
  make_id(b, "abc2", '0');
  make_id(c, "fff", '0');
  create_ok(f, a, "one");
  create_ok(f, b, "two");
  create_ok(f, c, "abc"); /* a name that looks like a prefix wins over the prefix */
  rl_error_t err = NULL;
  assert_int_equal(rl_cstate_find(&f->s, a, id, &err), 0);
  assert_string_equal(id, a);
  assert_int_equal(rl_cstate_find(&f->s, "two", id, &err), 0);
  assert_string_equal(id, b);
  assert_int_equal(rl_cstate_find(&f->s, "/one", id, &err), 0);
  assert_string_equal(id, a);
  assert_int_equal(rl_cstate_find(&f->s, "abc2", id, &err), 0);
  assert_string_equal(id, b);
  assert_int_equal(rl_cstate_find(&f->s, "f", id, &err), 0);
  assert_string_equal(id, c);
  assert_int_equal(rl_cstate_find(&f->s, "abc", id, &err), 0);
  assert_string_equal(id, c);

  assert_int_equal(rl_cstate_find(&f->s, "ab", id, &err), -1);
  assert_non_null(strstr(err->msg, "ambiguous"));
  assert_non_null(strstr(err->msg, "abc100000000"));
  assert_non_null(strstr(err->msg, "abc200000000"));
  rl_error_free(&err);

  assert_int_equal(rl_cstate_find(&f->s, "nothere", id, &err), -1);
  assert_string_equal(err->msg, "No such container: nothere");
  assert_int_equal(err->exit_code, RL_EXIT_NO_SUCH);
  rl_error_free(&err);
  assert_int_equal(rl_cstate_find(&f->s, "0", id, &err), -1);
  rl_error_free(&err);

  rl_strv_t ids = {0};
  assert_int_equal(rl_cstate_list(&f->s, &ids, &err), 0);
  assert_int_equal(ids.n, 3);
  rl_strv_free(&ids);
}

/* ---- status ---- */

static void write_state(struct fx *f, const char *id, pid_t pid, unsigned long long start)
{
  cleanup_free char *dir = rl_xasprintf("%s/rless/containers/%s", f->run, id);
  cleanup_free char *path = rl_xasprintf("%s/state.json", dir);
  cleanup_free char *text =
      rl_xasprintf("{\"pid\": %d, \"start_time\": %llu, \"monitor_pid\": 0, "
                   "\"monitor_start_time\": 0, \"started_at\": \"2024-01-02T03:04:05.000000001Z\"}",
                   (int)pid, start);
  assert_int_equal(rl_mkdir_p(dir, 0700, NULL), 0);
  write_text(path, text);
}

/* A child that waits for a byte on its pipe, then exits with `code`. */
static pid_t sleeper(int *wfd, int code)
{
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char ch;
    close(p[1]);
    while (read(p[0], &ch, 1) < 0 && errno == EINTR)
      ;
    _exit(code);
  }
  close(p[0]);
  *wfd = p[1];
  return pid;
}

static void test_proc_start_time(void **state)
{
  assert_true(rl_proc_start_time(getpid()) > 0);
  assert_int_equal(rl_proc_start_time(0), 0);
  int w;
  pid_t pid = sleeper(&w, 0);
  assert_true(rl_proc_start_time(pid) > 0);
  close(w);
  /* exited but not reaped: a zombie is no running process */
  siginfo_t si;
  assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
  assert_int_equal(rl_proc_start_time(pid), 0);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  assert_int_equal(rl_proc_start_time(pid), 0);
}

static void test_status_derivation(void **state)
{
  struct fx *f = *state;
  char id[65];
  make_id(id, "5a", 'e');
  create_ok(f, id, "st");
  struct rl_cstate c;
  rl_error_t err = NULL;

  /* alive, same start time: running */
  write_state(f, id, getpid(), rl_proc_start_time(getpid()));
  load_ok(f, id, &c);
  assert_int_equal(c.status, RL_CSTATUS_RUNNING);
  assert_int_equal(c.pid, getpid());
  rl_cstate_free(&c);

  /* alive but another start time (a reused pid): exited, code unknown */
  write_state(f, id, getpid(), rl_proc_start_time(getpid()) + 1);
  load_ok(f, id, &c);
  assert_int_equal(c.status, RL_CSTATUS_EXITED);
  assert_int_equal(c.exit_code, -1);
  assert_int_equal(c.pid, 0);
  rl_cstate_free(&c);

  /* a dead (reaped) pid with its real start time: not running */
  int w;
  pid_t dead = sleeper(&w, 0);
  unsigned long long start = rl_proc_start_time(dead);
  close(w);
  assert_int_equal(waitpid(dead, NULL, 0), dead);
  write_state(f, id, dead, start);
  load_ok(f, id, &c);
  assert_int_equal(c.status, RL_CSTATUS_EXITED);
  assert_int_equal(c.exit_code, -1);
  rl_cstate_free(&c);

  /* then the monitor records the exit */
  assert_int_equal(rl_cstate_set_exited(&f->s, id, 3, true, &err), 0);
  load_ok(f, id, &c);
  assert_int_equal(c.status, RL_CSTATUS_EXITED);
  assert_int_equal(c.exit_code, 3);
  assert_true(c.oom_killed);
  assert_non_null(c.finished_at);
  assert_string_equal(c.started_at, "2024-01-02T03:04:05.000000001Z");
  rl_cstate_free(&c);

  /* a wiped runtime dir: still listed, still exited with its code */
  cleanup_free char *run = rl_xasprintf("%s/rless", f->run);
  assert_int_equal(rl_rmtree(run, &err), 0);
  load_ok(f, id, &c);
  assert_int_equal(c.status, RL_CSTATUS_EXITED);
  assert_int_equal(c.exit_code, 3);
  rl_cstate_free(&c);
}

/* set_running through the runtime dir's link: started.json, and a restart
 * drops the previous exit. */
static void test_set_running_restart(void **state)
{
  struct fx *f = *state;
  char id[65];
  make_id(id, "7e", '7');
  create_ok(f, id, "again");
  rl_error_t err = NULL;
  assert_int_equal(rl_cstate_set_running(id, getpid(), getpid(), &err), 0);
  struct rl_cstate c;
  load_ok(f, id, &c);
  assert_int_equal(c.status, RL_CSTATUS_RUNNING);
  assert_int_equal(c.monitor_pid, getpid());
  assert_non_null(c.started_at);
  rl_cstate_free(&c);
  assert_true(exists_at(f, "containers/%s/started.json", id));
  assert_int_equal(rl_cstate_set_exited(&f->s, id, 0, false, &err), 0);
  assert_true(exists_at(f, "containers/%s/exit.json", id));
  assert_int_equal(rl_cstate_set_running(id, getpid(), 0, &err), 0);
  assert_false(exists_at(f, "containers/%s/exit.json", id));

  /* state.json gone (runtime dir wiped) but started.json stays: it ran, code unknown */
  cleanup_free char *run = rl_xasprintf("%s/rless", f->run);
  assert_int_equal(rl_rmtree(run, &err), 0);
  load_ok(f, id, &c);
  assert_int_equal(c.status, RL_CSTATUS_EXITED);
  assert_int_equal(c.exit_code, -1);
  rl_cstate_free(&c);

  /* a container removed while running has no exit to record */
  char other[65];
  make_id(other, "0f", '0');
  assert_int_equal(rl_cstate_set_exited(&f->s, other, 1, false, &err), 0);
}

/* ---- racing creators ---- */

static void test_create_race(void **state)
{
  struct fx *f = *state;
  enum { N = 20 };
  pid_t pids[N];
  char ids[N][65];
  int go[2];
  assert_int_equal(pipe(go), 0);
  for (int i = 0; i < N; i++) {
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "%02x", i);
    make_id(ids[i], prefix, 'c');
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      char ch;
      close(go[1]);
      while (read(go[0], &ch, 1) < 0 && errno == EINTR)
        ;
      rl_error_t err = NULL;
      int r = create(f, ids[i], "race", &err);
      _exit(r == 0 ? 0 : strstr(err->msg, "is already in use by container") ? 1 : 2);
    }
  }
  close(go[0]);
  close(go[1]); /* all start at once */
  int won = -1, lost = 0;
  for (int i = 0; i < N; i++) {
    int st;
    assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 0) {
      assert_int_equal(won, -1);
      won = i;
    } else {
      assert_int_equal(WEXITSTATUS(st), 1);
      lost++;
    }
  }
  assert_true(won >= 0);
  assert_int_equal(lost, N - 1);
  char id[65];
  rl_error_t err = NULL;
  assert_int_equal(rl_cstate_find(&f->s, "race", id, &err), 0);
  assert_string_equal(id, ids[won]);
  for (int i = 0; i < N; i++)
    assert_int_equal(exists_at(f, "containers/%s/container.json", ids[i]), i == won);
}

/* ---- wait ---- */

static void test_wait(void **state)
{
  struct fx *f = *state;
  char id[65];
  make_id(id, "3a", '3');
  create_ok(f, id, "waited");
  rl_error_t err = NULL;
  int code = 99;
  assert_int_equal(rl_cstate_wait(&f->s, id, &code, &err), 0);
  assert_int_equal(code, 0); /* never started: at once */

  int w;
  pid_t pid1 = sleeper(&w, 7);
  /* The "monitor": after pid 1 is gone, it writes exit.json a little later. */
  pid_t mon = fork();
  assert_true(mon >= 0);
  if (mon == 0) {
    close(w);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    rl_error_t e = NULL;
    _exit(rl_cstate_set_exited(&f->s, id, 7, false, &e) == 0 ? 0 : 1);
  }
  assert_int_equal(rl_cstate_set_running(id, pid1, mon, &err), 0);
  close(w); /* pid 1 exits now: however soon, wait sees its monitor and waits for the record */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(rl_cstate_wait(&f->s, id, &code, &err), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  assert_int_equal(code, 7);
  assert_true(t1.tv_sec - t0.tv_sec < 3);
  int st;
  assert_int_equal(waitpid(mon, &st, 0), mon);
  assert_int_equal(WEXITSTATUS(st), 0);
  waitpid(pid1, NULL, 0);
  code = 99;
  assert_int_equal(rl_cstate_wait(&f->s, id, &code, &err), 0);
  assert_int_equal(code, 7); /* already exited */
}

/* A monitor that died: no exit.json comes, wait gives -1 after its timeout. */
static void test_wait_without_record(void **state)
{
  struct fx *f = *state;
  char id[65];
  make_id(id, "4b", '4');
  create_ok(f, id, "orphan");
  rl_error_t err = NULL;
  int w;
  pid_t pid1 = sleeper(&w, 0);
  assert_int_equal(rl_cstate_set_running(id, pid1, 0, &err), 0);
  close(w);
  int code = 99;
  assert_int_equal(rl_cstate_wait(&f->s, id, &code, &err), 0);
  assert_int_equal(code, -1);
  waitpid(pid1, NULL, 0);
}

/* ---- removal ---- */

static bool have_userns(void)
{
  struct rl_userns ns;
  rl_error_t err = NULL;
  bool ok = rl_userns_plan(RL_USERNS_AUTO, true, &ns, &err) == 0;
  rl_error_free(&err);
  return ok;
}

/* A layer (dir and blob) that only containers reference, no image. */
static char *orphan_layer(struct fx *f, const char *hex)
{
  char *d = rl_xasprintf("sha256:%s", hex);
  cleanup_free char *dir = rl_store_layer_path(&f->s, "overlay", d);
  cleanup_free char *file = rl_xasprintf("%s/file", dir);
  cleanup_free char *blob = rl_store_blob_path(&f->s, d);
  assert_int_equal(rl_mkdir_p(dir, 0755, NULL), 0);
  write_text(file, "layer");
  write_text(blob, "blob");
  return d;
}

static void create_with_layer(struct fx *f, const char *id, const char *name, const char *layer)
{
  cleanup_free char *dir = rl_xasprintf("%s/containers/%s", f->s.root, id);
  assert_int_equal(mkdir(dir, 0700), 0);
  cleanup_free char *upper = rl_xasprintf("%s/upper", dir);
  cleanup_free char *file = rl_xasprintf("%s/upper/data", dir);
  assert_int_equal(mkdir(upper, 0755), 0);
  write_text(file, "0123456789");
  struct rl_cstate c = {0};
  memcpy(c.id, id, 65);
  c.name = rl_xstrdup(name);
  c.image = rl_xstrdup("sha256:2222222222222222222222222222222222222222222222222222222222222222");
  rl_strv_push(&c.layers, layer);
  rl_strv_push(&c.command, "true");
  rl_error_t err = NULL;
  assert_int_equal(rl_cstate_create(&f->s, &c, &err), 0);
  rl_cstate_free(&c);
}

static void test_remove_and_collect(void **state)
{
  struct fx *f = *state;
  if (!have_userns())
    SKIP("no user namespace for removal");
  char a[65], b[65];
  make_id(a, "aa", '0');
  make_id(b, "bb", '0');
  cleanup_free char *layer =
      orphan_layer(f, "9999999999999999999999999999999999999999999999999999999999999999");
  create_with_layer(f, a, "first", layer);
  create_with_layer(f, b, "second", layer);
  rl_error_t err = NULL;
  long long freed = 0;
  int r = rl_cstate_remove(&f->s, a, false, &freed, &err);
  if (r < 0 && strstr(err->msg, "user namespace"))
    SKIP(err->msg);
  assert_int_equal(r, 0);
  assert_true(freed >= 10);
  assert_false(exists_at(f, "containers/%s", a));
  assert_false(exists_at(f, "names/%s", "first"));
  cleanup_free char *run = rl_xasprintf("%s/rless/containers/%s", f->run, a);
  assert_int_equal(access(run, F_OK), -1);
  assert_true(rl_store_has_layer(&f->s, "overlay", layer)); /* b still uses it */
  assert_true(rl_store_has_blob(&f->s, layer));

  assert_int_equal(rl_cstate_remove(&f->s, b, false, NULL, &err), 0);
  assert_false(rl_store_has_layer(&f->s, "overlay", layer)); /* nobody does now */
  assert_false(rl_store_has_blob(&f->s, layer));
  rl_strv_t ids = {0};
  assert_int_equal(rl_cstate_list(&f->s, &ids, &err), 0);
  assert_int_equal(ids.n, 0);
  rl_strv_free(&ids);
  char id[65];
  assert_int_equal(rl_cstate_find(&f->s, "second", id, &err), -1);
  rl_error_free(&err);
}

static void test_remove_running(void **state)
{
  struct fx *f = *state;
  if (!have_userns())
    SKIP("no user namespace for removal");
  char id[65];
  make_id(id, "cc", '0');
  create_ok(f, id, "busy");
  int w;
  pid_t pid1 = sleeper(&w, 0);
  rl_error_t err = NULL;
  assert_int_equal(rl_cstate_set_running(id, pid1, 0, &err), 0);
  assert_int_equal(rl_cstate_remove(&f->s, id, false, NULL, &err), -1);
  assert_string_equal(err->msg,
                      "cannot remove container busy: it is running; stop it first or use -f");
  rl_error_free(&err);
  assert_true(exists_at(f, "containers/%s", id));
  int r = rl_cstate_remove(&f->s, id, true, NULL, &err);
  if (r < 0 && strstr(err->msg, "user namespace"))
    SKIP(err->msg);
  assert_int_equal(r, 0);
  int st;
  assert_int_equal(waitpid(pid1, &st, 0), pid1);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGKILL);
  close(w);
  assert_false(exists_at(f, "containers/%s", id));
  assert_false(exists_at(f, "names/%s", "busy"));
}

/* ---- formatting ---- */

static void expect_duration(long long s, const char *want)
{
  cleanup_free char *got = rl_human_duration(s);
  assert_string_equal(got, want);
}

static void test_human_duration(void **state)
{
  expect_duration(0, "Less than a second");
  expect_duration(1, "1 second");
  expect_duration(59, "59 seconds");
  expect_duration(60, "About a minute");
  expect_duration(180, "3 minutes");
  expect_duration(3600, "About an hour");
  expect_duration(5 * 3600, "5 hours");
  expect_duration(3 * 86400, "3 days");
  expect_duration(21 * 86400, "3 weeks");
  expect_duration(90 * 86400, "3 months");
  expect_duration(3 * 365 * 86400LL, "3 years");
}

static void expect_command(const char *const *argv, bool trunc, const char *want)
{
  rl_strv_t v = {0};
  for (size_t i = 0; argv[i]; i++)
    rl_strv_push(&v, argv[i]);
  cleanup_free char *got = rl_cstate_command_text(&v, trunc);
  assert_string_equal(got, want);
  rl_strv_free(&v);
}

#define A(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_command_text(void **state)
{
  expect_command(A("true"), true, "\"true\"");
  expect_command(A("sh", "-c", "echo hi"), true, "\"sh -c 'echo hi'\"");
  expect_command(A("sh", "-c", "echo hello world and more"), true,
                 "\"sh -c 'echo hello w\xe2\x80\xa6\"");
  expect_command(A("sh", "-c", "echo hello world and more"), false,
                 "\"sh -c 'echo hello world and more'\"");
  /* exactly 20 characters: kept whole */
  expect_command(A("12345678901234567890"), true, "\"12345678901234567890\"");
  expect_command(A("123456789012345678901"), true, "\"1234567890123456789\xe2\x80\xa6\"");
  /* characters, not bytes */
  expect_command(A("\xc3\xa9\xc3\xa9\xc3\xa9"), true, "\"\xc3\xa9\xc3\xa9\xc3\xa9\"");
  expect_command(A("echo", "a\"b\\c", "x\ty"), false, "\"echo a\\\"b\\\\c x\\ty\"");
}

static void test_status_text(void **state)
{
  long long now = 1700000000;
  struct rl_cstate c = {0};
  c.status = RL_CSTATUS_CREATED;
  cleanup_free char *created = rl_cstate_status_text(&c, now);
  assert_string_equal(created, "Created");
  c.status = RL_CSTATUS_RUNNING;
  c.started_at = rl_xstrdup("2023-11-14T22:10:20.5Z"); /* now - 180 */
  cleanup_free char *up = rl_cstate_status_text(&c, now);
  assert_string_equal(up, "Up 3 minutes");
  c.status = RL_CSTATUS_EXITED;
  c.exit_code = 0;
  c.finished_at = rl_xstrdup("2023-11-14T22:13:18Z"); /* now - 2 */
  cleanup_free char *exited = rl_cstate_status_text(&c, now);
  assert_string_equal(exited, "Exited (0) 2 seconds ago");
  c.exit_code = 137;
  free(c.finished_at);
  c.finished_at = NULL;
  cleanup_free char *unknown = rl_cstate_status_text(&c, now);
  assert_string_equal(unknown, "Exited (137)");
  free(c.started_at);
  assert_string_equal(rl_cstatus_name(RL_CSTATUS_RUNNING), "running");
  assert_string_equal(rl_cstatus_name(RL_CSTATUS_EXITED), "exited");
  assert_string_equal(rl_cstatus_name(RL_CSTATUS_CREATED), "created");
  cleanup_free char *nano = rl_rfc3339_nano_now();
  assert_int_equal(strlen(nano), strlen("2024-01-02T03:04:05.123456789Z"));
  assert_true(rl_rfc3339_parse(nano) > now);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_names),
      cmocka_unit_test_setup_teardown(test_create_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_name_is_reclaimed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_find, setup, teardown),
      cmocka_unit_test(test_proc_start_time),
      cmocka_unit_test_setup_teardown(test_status_derivation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_running_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_race, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wait_without_record, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remove_and_collect, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remove_running, setup, teardown),
      cmocka_unit_test(test_human_duration),
      cmocka_unit_test(test_command_text),
      cmocka_unit_test(test_status_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
