/* The parent's side of the run path: everything checked before clone, the
 * user namespace created alone, its id maps written from outside, then the
 * container supervised until it exits (see docs/architecture.md). */
#include "rl_caps.h"
#include "rl_cli.h"
#include "rl_container.h"
#include "rl_etcfiles.h"
#include "rl_image_run.h"
#include "rl_paths.h"
#include "rl_proc.h"
#include "rl_userns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* --rootfs DIR: the command and settings are the options' alone. */
static int prepare_dir(struct rl_container *c, const struct rl_run_opts *o, rl_error_t *err)
{
  if (check_rootfs(c, o->rootfs, err) < 0)
    return -1;
  for (size_t i = 0; i < o->argv.n; i++)
    rl_strv_push(&c->argv, o->argv.v[i]);
  c->workdir = o->workdir ? rl_xstrdup(o->workdir) : NULL;
  c->user = o->user ? rl_xstrdup(o->user) : NULL;
  return 0;
}

/* hostname, hosts, resolv.conf.  An image's are files in its container dir
 * (they live as long as it; `start` reuses the dir).  A --rootfs
 * container's are written by its first process on a tmpfs over
 * <runtime dir>/etc in the container's own mount namespace
 * (rl_child_main): nothing on the host to remove, or to leave behind when
 * rless is killed, and no creates and unlinks on a disk on every start and
 * exit (0.2-0.3 ms on ext4). */
static int etc_files(struct rl_container *c, rl_error_t *err)
{
  if (c->state_dir) {
    c->etc_prefix = rl_xasprintf("%s/", c->state_dir);
  } else {
    cleanup_free char *run = rl_runtime_dir(NULL, err);
    if (run == NULL)
      return -1;
    c->etc_prefix = rl_xasprintf("%s/etc/", run);
    c->etc_private = true;
  }
  c->mounts.etc_prefix = c->etc_prefix;
  c->mounts.etc_create = c->state_dir != NULL;
  return c->etc_private ? 0 : rl_container_write_etc(c, err);
}

int rl_container_write_etc(const struct rl_container *c, rl_error_t *err)
{
  const struct rl_run_opts *o = c->opts;
  struct rl_etc_spec e = {.hostname = c->hostname,
                          .add_hosts = &o->add_hosts,
                          .dns = &o->dns,
                          .dns_search = &o->dns_search,
                          .extra_hosts = &c->net.hosts,
                          .dns_forward = c->net.resolv_servers};
  return rl_etc_files_write(c->etc_prefix, &e, err);
}

static int default_source(struct rl_container *c, void *ctx, rl_error_t *err)
{
  return c->opts->rootfs ? prepare_dir(c, c->opts, err) : rl_image_prepare(c, err);
}

int rl_container_prepare(struct rl_container *c, struct rl_run_opts *o, rl_error_t *err)
{
  return rl_container_prepare_from(c, o, NULL, default_source, NULL, err);
}

int rl_container_prepare_from(struct rl_container *c, struct rl_run_opts *o, const char *id,
                              int (*source)(struct rl_container *c, void *ctx, rl_error_t *err),
                              void *ctx, rl_error_t *err)
{
  memset(c, 0, sizeof(*c));
  c->stdio[0] = c->stdio[1] = c->stdio[2] = c->log_fd = c->log_out = c->log_err = -1;
  c->cgroup.fd = c->init_fd = -1;
  if (id)
    snprintf(c->id, sizeof(c->id), "%s", id);
  else
    new_id(c->id);
  c->opts = o;
  /* The id map comes first: an image is pulled and its container dir made
   * with it. */
  /* --privileged is --cap-add ALL (of the user namespace: nothing beyond
   * the user's own account) without seccomp or masked paths. */
  if (o->privileged)
    rl_strv_push(&o->cap_add, "ALL");
  /* The network first: a container:NAME target's id map becomes ours. */
  if (check_volumes(o, err) < 0 || rl_caps_compute(&o->cap_add, &o->cap_drop, &c->caps, err) < 0 ||
      rl_net_prepare(&c->net, o, c->id, err) < 0 ||
      rl_userns_plan(o->userns, false, &c->ns, err) < 0 ||
      rl_seccomp_opt(o->privileged ? "unconfined" : o->seccomp, &c->seccomp, err) < 0)
    return -1;
  if (source(c, ctx, err) < 0)
    return -1;
  c->hostname = o->hostname ? rl_xstrdup(o->hostname) : rl_xstrndup(c->id, 12);
  c->mounts.volumes = o->volumes;
  c->mounts.n_volumes = o->n_volumes;
  c->mounts.tmpfs = &o->tmpfs;
  c->mounts.own_netns = c->net.sysfs_ok;
  c->mounts.tty_gid_mapped = rl_idmap_contains(&c->ns.gidmap, 5);
  c->mounts.mask = &o->mask;
  c->mounts.unmask = &o->unmask;
  c->mounts.privileged = o->privileged;
  return etc_files(c, err);
}

void rl_container_free(struct rl_container *c)
{
  rl_rootfs_source_free(&c->rootfs);
  rl_strv_free(&c->argv);
  rl_strv_free(&c->image_env);
  free(c->workdir);
  free(c->user);
  free(c->stop_signal);
  free(c->image_id);
  free(c->state_dir);
  if (c->init_fd >= 0)
    close(c->init_fd);
  free(c->hostname);
  free(c->etc_prefix);
  rl_seccomp_cfg_free(&c->seccomp);
  rl_seccomp_prog_free(&c->seccomp_prog);
  rl_net_free(&c->net);
  memset(c, 0, sizeof(*c));
}
