/* The parent's side of the run path: everything checked before clone, the
 * user namespace created alone, its id maps written from outside, then the
 * container supervised until it exits (see docs/architecture.md). */
#include "rl_caps.h"
#include "rl_container.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

static void new_id(char id[65])
{
  unsigned char raw[32];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
    if (r > 0)
      got += (size_t)r;
  }
  for (size_t i = 0; i < sizeof(raw); i++)
    snprintf(id + 2 * i, 3, "%02x", raw[i]);
}

static int check_rootfs(struct rl_container *c, const char *path, rl_error_t *err)
{
  struct stat st;
  char resolved[PATH_MAX];
  if (realpath(path, resolved) == NULL || stat(resolved, &st) < 0) {
    rl_make_error(err, errno, "root filesystem `%s`", path);
    return rl_error_hint(err, "--rootfs takes a directory holding the container's files");
  }
  if (!S_ISDIR(st.st_mode))
    return rl_make_error(err, ENOTDIR, "root filesystem `%s`", path);
  c->rootfs.kind = RL_ROOTFS_DIR;
  c->rootfs.dir = rl_xstrdup(resolved);
  return 0;
}

static int check_volumes(struct rl_run_opts *o, rl_error_t *err)
{
  for (size_t i = 0; i < o->n_volumes; i++) {
    char resolved[PATH_MAX];
    if (realpath(o->volumes[i].src, resolved) == NULL) {
      rl_make_error(err, errno, "volume source `%s` for `%s`", o->volumes[i].src,
                    o->volumes[i].dst);
      return errno == ENOENT ? rl_error_hint(err, "create it first: rless does not create host "
                                                  "paths for -v")
                             : -1;
    }
    free(o->volumes[i].src);
    o->volumes[i].src = rl_xstrdup(resolved);
  }
  return 0;
}

static const char single_notice[] =
    "rless: notice: user %s has no subordinate ids in /etc/subuid and /etc/subgid: using a "
    "single-id map, so only root exists in the container (chown to other ids, su, and package "
    "managers that drop privileges will fail); to fix, ask root to add ranges: usermod "
    "--add-subuids 100000-165535 --add-subgids 100000-165535 %s\n";

static int resolve_userns(struct rl_container *c, rl_error_t *err)
{
  struct passwd *pw = getpwuid(c->host_uid);
  const char *name = pw ? pw->pw_name : NULL;
  cleanup_free struct rl_idrange *ur = NULL;
  cleanup_free struct rl_idrange *gr = NULL;
  int nu = 0, ng = 0;
  if (c->userns != RL_USERNS_SINGLE) {
    if ((nu = rl_subid_ranges(false, name, c->host_uid, &ur, err)) < 0 ||
        (ng = rl_subid_ranges(true, name, c->host_uid, &gr, err)) < 0)
      return -1;
  }
  bool have = nu > 0 && ng > 0;
  if (c->userns == RL_USERNS_AUTO) {
    c->userns = have ? RL_USERNS_SUBIDS : RL_USERNS_SINGLE;
    rl_debug("--userns=auto: %s", have ? "subordinate ids found, mapping them after root"
                                       : "no subordinate ids, single-id map");
    if (!have && rl_log_level >= RL_LOG_WARN)
      fprintf(stderr, single_notice, name ? name : "(unknown)", name ? name : "USER");
  }
  if (!have)
    nu = ng = 0;
  if (rl_idmap_build(c->userns, c->host_uid, ur, (size_t)nu, &c->uidmap, err) < 0 ||
      rl_idmap_build(c->userns, c->host_gid, gr, (size_t)ng, &c->gidmap, err) < 0)
    return -1;
  c->deny_setgroups = c->gidmap.n == 1 && c->gidmap.e[0].count == 1;
  return 0;
}

static char *find_init(rl_error_t *err)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  cleanup_free char *beside = NULL;
  if (n > 0) {
    exe[n] = '\0';
    beside = rl_xasprintf("%s/rless-init", dirname(exe));
    if (access(beside, X_OK) == 0)
      return rl_steal_ptr(&beside);
  }
  const char *installed = RL_LIBEXECDIR "/rless-init";
  if (access(installed, X_OK) == 0)
    return rl_xstrdup(installed);
  rl_make_error(err, ENOENT, "--init: helper `rless-init` not found at `%s` nor `%s`",
                beside ? beside : "(unknown)", installed);
  rl_error_hint(err, "build it with `make` or install rless with `make install`");
  return NULL;
}

int rl_container_prepare(struct rl_container *c, struct rl_run_opts *o, rl_error_t *err)
{
  memset(c, 0, sizeof(*c));
  new_id(c->id);
  c->opts = o;
  c->userns = o->userns;
  c->host_uid = getuid();
  c->host_gid = getgid();
  if (check_rootfs(c, o->rootfs, err) < 0 || check_volumes(o, err) < 0 ||
      rl_caps_compute(&o->cap_add, &o->cap_drop, &c->caps, err) < 0 || resolve_userns(c, err) < 0)
    return -1;
  if (o->init && (c->init_path = find_init(err)) == NULL)
    return -1;
  c->hostname = o->hostname ? rl_xstrdup(o->hostname) : rl_xstrndup(c->id, 12);
  c->mounts.volumes = o->volumes;
  c->mounts.n_volumes = o->n_volumes;
  c->mounts.tmpfs = &o->tmpfs;
  c->mounts.own_netns = o->network == RL_NET_NONE;
  c->mounts.tty_gid_mapped = rl_idmap_contains(&c->gidmap, 5);
  c->mounts.init_path = c->init_path;
  return 0;
}

void rl_container_free(struct rl_container *c)
{
  free(c->rootfs.dir);
  free(c->init_path);
  free(c->hostname);
  memset(c, 0, sizeof(*c));
}

static long read_sysctl(const char *path)
{
  cleanup_free char *s = rl_read_file_at(AT_FDCWD, path, 64, NULL);
  return s ? strtol(s, NULL, 10) : -1;
}

void rl_userns_hint(rl_error_t *err)
{
  if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
    rl_error_hint(err, "user namespaces are disabled: as root, `sysctl -w "
                       "user.max_user_namespaces=15000`");
  else if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    rl_error_hint(err, "unprivileged user namespaces are disabled: as root, `sysctl -w "
                       "kernel.unprivileged_userns_clone=1`");
  else if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
    rl_error_hint(err, "AppArmor restricts unprivileged user namespaces: as root, `sysctl -w "
                       "kernel.apparmor_restrict_unprivileged_userns=0` or add an AppArmor "
                       "profile for rless");
  else
    rl_error_hint(err, "run `rless info` to see what this host allows");
}
