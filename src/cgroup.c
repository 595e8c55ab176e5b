/* The container's cgroup: found a place for it in the caller's delegated
 * subtree (rl_cgroup.h says where), limited before anything runs in it,
 * emptied and removed after. */
#include "rl_cgroup.h"
#include "rl_host.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int write_at(int dirfd, const char *dir, const char *file, const char *value,
                    rl_error_t *err)
{
  cleanup_close int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, value, strlen(value)) < 0)
    return rl_make_error(err, errno, "write `%s` to %s/%s", value, dir, file);
  return 0;
}

static char *read_at(int dirfd, const char *file)
{
  return rl_read_file_at(dirfd, file, 1 << 16, NULL);
}

/* Where the container's cgroup goes: our cgroup, or its parent when we sit
 * in the leaf an earlier run made. */
static char *base_dir(const struct rl_host_cgroup *h)
{
  const char *slash = strrchr(h->dir, '/');
  if (slash && strcmp(slash + 1, RL_CGROUP_LEAF) == 0 && slash != h->dir) {
    cleanup_free char *parent = rl_xstrndup(h->dir, (size_t)(slash - h->dir));
    if (access(parent, W_OK) == 0)
      return rl_steal_ptr(&parent);
  }
  return rl_xstrdup(h->dir);
}

/* Not writable: ask systemd for a delegated scope, as podman does. */
static void try_systemd(const char *id, struct rl_host_cgroup *h)
{
  if (h->layout != RL_CGROUP_V2 || h->dir == NULL || h->writable)
    return;
  rl_error_t e = NULL;
  cleanup_free char *unit = rl_xasprintf("rless-%.12s-%d.scope", id, (int)getpid());
  if (rl_systemd_delegated_scope(unit, &e) < 0) {
    rl_debug("no delegated systemd scope for container %.12s: %s", id, e->msg);
    rl_error_free(&e);
    return;
  }
  rl_host_cgroup_free(h);
  rl_host_cgroup_probe(h);
  rl_debug("container %.12s: rless moved into the systemd scope %s", id, h->path);
}

/* cgroup v2 has no processes in a cgroup that hands controllers down: move
 * everything in base (rless included) into base/rless-leaf.  Processes may
 * fork meanwhile, so go round until base is empty. */
static int move_to_leaf(int basefd, const char *base, rl_error_t *err)
{
  if (mkdirat(basefd, RL_CGROUP_LEAF, 0755) < 0 && errno != EEXIST)
    return rl_make_error(err, errno, "create the cgroup %s/%s", base, RL_CGROUP_LEAF);
  cleanup_free char *leaf = rl_xasprintf("%s/%s", base, RL_CGROUP_LEAF);
  cleanup_close int lfd = openat(basefd, RL_CGROUP_LEAF "/cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (lfd < 0)
    return rl_make_error(err, errno, "open %s/cgroup.procs", leaf);
  for (int round = 0; round < 20; round++) {
    cleanup_free char *procs = read_at(basefd, "cgroup.procs");
    if (procs == NULL || *procs == '\0')
      return 0;
    for (char *p = procs, *nl; *p; p = nl + 1) {
      nl = strchrnul(p, '\n');
      char save = *nl;
      *nl = '\0';
      if (write(lfd, p, strlen(p)) < 0 && errno != ESRCH)
        return rl_make_error(err, errno, "move process %s into the cgroup %s", p, leaf);
      if (save == '\0')
        break;
    }
  }
  return rl_make_error(err, EBUSY, "empty the cgroup %s into %s", base, leaf);
}

/* *moved: whether base's processes (rless among them) went to the leaf. */
static int enable_controllers(int basefd, const char *base, const rl_strv_t *want, bool *moved,
                              rl_error_t *err)
{
  *moved = false;
  cleanup_free char *cur = read_at(basefd, "cgroup.subtree_control");
  cleanup_strv rl_strv_t on = {0};
  rl_cgroup_parse_controllers(cur, &on);
  cleanup_free char *text = rl_xstrdup("");
  for (size_t i = 0; i < want->n; i++) {
    if (rl_strv_contains(&on, want->v[i]))
      continue;
    char *next = rl_xasprintf("%s%s+%s", text, *text ? " " : "", want->v[i]);
    free(text);
    text = next;
  }
  if (*text == '\0')
    return 0;
  cleanup_close int fd = openat(basefd, "cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
  if (fd >= 0 && write(fd, text, strlen(text)) >= 0)
    return 0;
  if (fd < 0 || errno != EBUSY)
    return rl_make_error(err, errno, "write `%s` to %s/cgroup.subtree_control", text, base);
  if (move_to_leaf(basefd, base, err) < 0)
    return -1;
  *moved = true;
  if (write(fd, text, strlen(text)) < 0)
    return rl_make_error(err, errno, "write `%s` to %s/cgroup.subtree_control", text, base);
  return 0;
}

static int choose(const struct rl_host_cgroup *h, const char *base, const rl_strv_t *needed,
                  const struct rl_cgroup_file *f, size_t nf, rl_strv_t *want, rl_error_t *err)
{
  if (strcmp(base, h->dir) == 0) /* what the probe read already */
    return rl_cgroup_decide(h, base, &h->controllers, f, nf, needed, want, err);
  cleanup_free char *path = rl_xasprintf("%s/cgroup.controllers", base);
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, 4096, NULL);
  cleanup_strv rl_strv_t have = {0};
  rl_cgroup_parse_controllers(text, &have);
  return rl_cgroup_decide(h, base, &have, f, nf, needed, want, err);
}

static int make_dir(int basefd, const char *base, const char *name, rl_error_t *err)
{
  if (mkdirat(basefd, name, 0755) == 0)
    return 0;
  /* Left by a killed run: an empty cgroup can go, a populated one is in use. */
  if (errno == EEXIST && unlinkat(basefd, name, AT_REMOVEDIR) == 0 &&
      mkdirat(basefd, name, 0755) == 0)
    return 0;
  return rl_make_error(err, errno, "create the container's cgroup %s/%s", base, name);
}

static int write_limits(struct rl_cgroup *cg, const struct rl_cgroup_file *f, size_t n,
                        rl_error_t *err)
{
  for (size_t i = 0; i < n; i++) {
    if (write_at(cg->fd, cg->dir, f[i].name, f[i].value, err) < 0) {
      rl_error_wrap(err, "apply %s", f[i].option);
      if (strncmp(f[i].name, "cpuset.", 7) == 0) {
        cleanup_free char *eff =
            read_at(cg->fd, strcmp(f[i].name, "cpuset.cpus") == 0 ? "cpuset.cpus.effective"
                                                                  : "cpuset.mems.effective");
        if (eff)
          rl_error_hint(err, "the cgroup may use only %.*s", (int)strcspn(eff, "\n"), eff);
      }
      return -1;
    }
  }
  return 0;
}

static int place(const char *id, const struct rl_host_cgroup *h, const rl_strv_t *needed,
                 const struct rl_cgroup_file *f, size_t nf, struct rl_cgroup *cg, rl_error_t *err)
{
  cleanup_free char *base = base_dir(h);
  cleanup_strv rl_strv_t want = {0};
  if (choose(h, base, needed, f, nf, &want, err) < 0)
    return -1;
  cleanup_close int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (basefd < 0)
    return rl_make_error(err, errno, "open the cgroup %s", base);
  bool moved;
  if (enable_controllers(basefd, base, &want, &moved, err) < 0)
    return -1;
  cleanup_free char *name = rl_xasprintf("rless-%s", id);
  if (make_dir(basefd, base, name, err) < 0)
    return -1;
  /* Where rless is now: the leaf when it was there already or was just moved there. */
  cg->home = moved && strcmp(h->dir, base) == 0 ? rl_xasprintf("%s/%s", base, RL_CGROUP_LEAF)
                                                : rl_xstrdup(h->dir);
  cg->dir = rl_xasprintf("%s/%s", base, name);
  cg->fd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t mlen = strlen(h->mount);
  cg->path = rl_xstrdup(strncmp(cg->dir, h->mount, mlen) == 0 ? cg->dir + mlen : cg->dir);
  if (cg->fd < 0 || write_limits(cg, f, nf, err) < 0) {
    if (cg->fd < 0)
      rl_make_error(err, errno, "open the container's cgroup %s", cg->dir);
    rl_cgroup_destroy(cg, NULL);
    return -1;
  }
  return 0;
}

int rl_cgroup_create(const char *id, const struct rl_cgroup_limits *l, struct rl_cgroup *cg,
                     rl_error_t *err)
{
  *cg = (struct rl_cgroup){.fd = -1};
  if (l->mode == RL_CGROUPS_DISABLED) {
    rl_debug("container %.12s: no cgroup of its own (--cgroups=disabled)", id);
    return 0;
  }
  struct rl_cgroup_file *f = NULL;
  size_t nf = 0;
  cleanup_strv rl_strv_t needed = {0};
  rl_cgroup_limits_files(l, &f, &nf, &needed);
  cleanup_free char *refused = nf == 0 ? rl_host_cgroup_hybrid_unwritable() : NULL;
  if (refused) {
    rl_debug("container %.12s runs without a cgroup of its own: your cgroup %s is not writable "
             "by you",
             id, refused);
    rl_cgroup_files_free(f, nf);
    return 0;
  }
  struct rl_host_cgroup h;
  rl_host_cgroup_probe(&h);
  if (!rl_cgroup_usable(&h))
    try_systemd(id, &h);
  int r = 0;
  if (rl_cgroup_usable(&h))
    r = place(id, &h, &needed, f, nf, cg, err);
  else if (nf > 0)
    r = rl_cgroup_decide(&h, NULL, NULL, f, nf, &needed, NULL, err);
  else
    rl_debug("container %.12s runs without a cgroup of its own: %s", id,
             h.limits_problem ? h.limits_problem : "your cgroup is not writable by you");
  rl_host_cgroup_free(&h);
  rl_cgroup_files_free(f, nf);
  return r;
}

/* Until cgroup.events says "populated 0"; the kernel wakes pollers of the
 * file (POLLPRI) when it changes.  A second at most: pid 1 was reaped, so
 * what remains has been killed and only has to be reaped. */
static void wait_empty(int fd)
{
  cleanup_close int ev = openat(fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  for (int i = 0; ev >= 0 && i < 20; i++) {
    char buf[256];
    ssize_t n = pread(ev, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
      return;
    buf[n] = '\0';
    if (rl_cgroup_keyed_value(buf, "populated") == 0)
      return;
    struct pollfd p = {.fd = ev, .events = POLLPRI};
    poll(&p, 1, 50);
  }
}

void rl_cgroup_destroy(struct rl_cgroup *cg, bool *oom_killed)
{
  if (oom_killed)
    *oom_killed = false;
  if (cg->fd >= 0) {
    cleanup_free char *events = read_at(cg->fd, "memory.events");
    if (oom_killed && events)
      *oom_killed = rl_cgroup_keyed_value(events, "oom_kill") > 0;
    cleanup_close int kfd = openat(cg->fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
    if (kfd >= 0 && write(kfd, "1", 1) < 0)
      rl_debug("kill what is left in %s: %s", cg->dir, strerror(errno));
    wait_empty(cg->fd);
    close(cg->fd);
  }
  if (cg->dir && rmdir(cg->dir) < 0 && errno != ENOENT)
    rl_warn("remove the container's cgroup %s: %s", cg->dir, strerror(errno));
  free(cg->dir);
  free(cg->path);
  free(cg->home);
  *cg = (struct rl_cgroup){.fd = -1};
}

int rl_cgroup_move(int dirfd, const char *dir, pid_t pid)
{
  cleanup_free char *procs = rl_xasprintf("%s/cgroup.procs", dir);
  cleanup_close int fd = openat(dirfd, procs, O_WRONLY | O_CLOEXEC);
  char buf[24];
  int len = snprintf(buf, sizeof(buf), "%d", (int)pid);
  return fd >= 0 && write(fd, buf, (size_t)len) == len ? 0 : -1;
}

int rl_cgroup_put(int cgroup_fd, pid_t pid, rl_error_t *err)
{
  if (rl_cgroup_move(cgroup_fd, ".", pid) < 0)
    return rl_make_error(err, errno, "move the container into its cgroup");
  return 0;
}

void rl_cgroup_expel(const struct rl_cgroup *cg, pid_t pid)
{
  if (cg->fd < 0 || cg->home == NULL || pid <= 0)
    return;
  if (rl_cgroup_move(AT_FDCWD, cg->home, pid) < 0)
    rl_debug("move helper %d out of the container's cgroup into %s: %s", (int)pid, cg->home,
             strerror(errno));
}

int rl_cgroup_update(const char *dir, const struct rl_cgroup_limits *l, rl_error_t *err)
{
  struct rl_cgroup_file *f = NULL;
  size_t nf = 0;
  cleanup_strv rl_strv_t needed = {0};
  rl_cgroup_limits_files(l, &f, &nf, &needed);
  struct rl_cgroup cg = {.dir = (char *)dir, .fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  int r = cg.fd < 0 ? rl_make_error(err, errno, "open the container's cgroup %s", dir)
                    : write_limits(&cg, f, nf, err);
  if (cg.fd >= 0)
    close(cg.fd);
  rl_cgroup_files_free(f, nf);
  return r;
}

char *rl_cgroup_of_container(pid_t pid, char **path_out)
{
  cleanup_free char *file = rl_xasprintf("/proc/%d/cgroup", (int)pid);
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, file, 1 << 16, NULL);
  cleanup_free char *path = text ? rl_cgroup_parse_self(text) : NULL;
  cleanup_free char *mountinfo =
      path ? rl_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 22, NULL) : NULL;
  if (mountinfo == NULL)
    return NULL;
  struct rl_cgroup_mounts m;
  rl_cgroup_parse_mountinfo(mountinfo, &m);
  char *dir = m.mount ? rl_cgroup_dir(m.mount, m.root, path) : NULL;
  rl_cgroup_mounts_free(&m);
  const char *base = dir ? strrchr(dir, '/') : NULL;
  if (base == NULL || strncmp(base, "/rless-", 7) != 0 || strcmp(base + 1, RL_CGROUP_LEAF) == 0) {
    free(dir); /* pid 1 runs in some other cgroup: the container has none */
    return NULL;
  }
  if (dir && path_out)
    *path_out = rl_steal_ptr(&path);
  return dir;
}

int rl_cgroup_enter(const char *dir, rl_error_t *err)
{
  if (rl_cgroup_move(AT_FDCWD, dir, 0) == 0)
    return 0;
  /* From a cgroup that is not ours (a login session's scope), the move
   * needs a delegated cgroup of our own first, as for run. */
  if (errno == EACCES || errno == EPERM) {
    rl_error_t e = NULL;
    cleanup_free char *unit = rl_xasprintf("rless-exec-%d.scope", (int)getpid());
    if (rl_systemd_delegated_scope(unit, &e) == 0 && rl_cgroup_move(AT_FDCWD, dir, 0) == 0)
      return 0;
    if (e)
      rl_debug("no delegated systemd scope for exec: %s", e->msg);
    rl_error_free(&e);
    errno = EACCES;
  }
  rl_make_error(err, errno, "join the container's cgroup %s", dir);
  if (errno == EACCES || errno == EPERM)
    rl_error_hint(err, "moving into it needs write access to a cgroup above both it and yours: "
                       "run rless from a cgroup delegated to you (e.g. under `systemd-run --user "
                       "--scope -p Delegate=yes`)");
  return -1;
}

static int64_t read_int(int fd, const char *file)
{
  cleanup_free char *t = read_at(fd, file);
  if (t == NULL || strncmp(t, "max", 3) == 0)
    return -1;
  return strtoll(t, NULL, 10);
}

void rl_cgroup_read_stats(const char *dir, struct rl_cgroup_stats *s)
{
  *s = (struct rl_cgroup_stats){-1, -1, -1, -1, -1, -1};
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  cleanup_free char *cpu = read_at(fd, "cpu.stat");
  if (cpu)
    s->cpu_usage_usec = rl_cgroup_keyed_value(cpu, "usage_usec");
  s->mem_current = read_int(fd, "memory.current");
  s->mem_max = read_int(fd, "memory.max");
  s->pids_current = read_int(fd, "pids.current");
  s->pids_max = read_int(fd, "pids.max");
  cleanup_free char *events = read_at(fd, "memory.events");
  if (events)
    s->oom_kills = rl_cgroup_keyed_value(events, "oom_kill");
}
