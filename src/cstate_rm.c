/* Removing a container.  Under the store lock its dir leaves containers/ by
 * one rename into tmp/ (from then on it claims no layer), its name is
 * released, and what its image left behind after an `rmi -f` is collected,
 * as rmi does; then, without the lock, the files are removed inside the user
 * namespace (the upper layer holds subordinate ids). */
#include "cstate_int.h"
#include "rl_images.h"
#include "rl_userns.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>

#define KILL_TIMEOUT_MS    10000
#define MONITOR_TIMEOUT_MS 5000

static const char *shown_name(const struct rl_cstate *c)
{
  return c->name && *c->name ? c->name : c->id;
}

/* SIGKILL pid 1 (the kernel then kills the rest of its pid namespace) and
 * wait until it is gone. */
static int kill_container(const struct rl_cstate *c, rl_error_t *err)
{
  cleanup_close int pidfd = rl_pidfd_for(c->pid, c->pid_start);
  if (pidfd < 0)
    return errno == ESRCH ? 0
                          : rl_make_error(err, errno, "pidfd_open %d (pid 1 of container %s)",
                                          (int)c->pid, shown_name(c));
  if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
    return rl_make_error(err, errno, "kill pid %d of container %s", (int)c->pid, shown_name(c));
  if (rl_pidfd_wait(pidfd, KILL_TIMEOUT_MS) == 0)
    return rl_make_error(err, ETIMEDOUT, "container %s (pid %d) did not exit after SIGKILL",
                         shown_name(c), (int)c->pid);
  return 0;
}

/* The monitor writes exit.json and closes its files after pid 1: let it
 * finish, so nothing is written into the container after it is removed. */
static void wait_monitor(const struct rl_cstate *c)
{
  if (c->monitor_pid == getpid())
    return; /* the monitor itself removing its --rm container */
  cleanup_close int pidfd = rl_pidfd_for(c->monitor_pid, c->monitor_start);
  if (pidfd >= 0 && rl_pidfd_wait(pidfd, MONITOR_TIMEOUT_MS) == 0)
    rl_warn("the monitor (pid %d) of container %s is still running: removing the container anyway",
            (int)c->monitor_pid, shown_name(c));
}

struct removal {
  struct rl_store *s;
  const struct rl_cstate *c;
  struct rl_userns ns;
  bool have_ns;
  char *trash;       /* tmp/ dir holding the container dir, then layers */
  char *layer_trash; /* from rl_store_layers_retire */
};

static int userns(struct removal *rm, rl_error_t *err)
{
  if (!rm->have_ns && rl_userns_plan(RL_USERNS_AUTO, true, &rm->ns, err) < 0)
    return -1;
  rm->have_ns = true;
  return 0;
}

/* Layers and blobs of the container's image that nothing references now. */
static int collect(struct removal *rm, long long *freed, rl_error_t *err)
{
  const struct rl_cstate *c = rm->c;
  if (c->image == NULL)
    return 0;
  struct rl_image_index ix = {0};
  struct rl_container_refs cs = {0};
  struct rl_image_rec gone = {.id = c->image, .manifest = c->manifest, .layers = c->layers};
  struct rl_gc_plan plan = {0};
  int r = rl_images_load(rm->s, &ix, err);
  if (r == 0)
    r = rl_container_refs_load(rm->s, &cs, err);
  if (r == 0)
    rl_images_gc_plan(&gone, 1, &ix, &cs, &plan);
  if (r == 0 && plan.layers.n > 0 && (r = userns(rm, err)) == 0)
    r = rl_store_layers_retire(rm->s, &rm->ns, plan.layers.v, plan.layers.n, &rm->layer_trash, err);
  for (size_t i = 0; r == 0 && i < plan.blobs.n; i++)
    r = rl_store_blob_remove(rm->s, plan.blobs.v[i], freed, err);
  rl_gc_plan_free(&plan);
  rl_container_refs_free(&cs);
  rl_images_free(&ix);
  return r;
}

/* Under the lock: the dir into tmp/, the name, the garbage. */
static int retire(struct removal *rm, long long *freed, rl_error_t *err)
{
  const struct rl_cstate *c = rm->c;
  cleanup_close int lock = rl_store_lock(rm->s, err);
  if (lock < 0 || (rm->trash = rl_store_tmpdir(rm->s, "rm", err)) == NULL)
    return -1;
  cleanup_free char *rel = rl_xasprintf("containers/%s", c->id);
  cleanup_free char *dst = rl_xasprintf("%s/%s", rm->trash, c->id);
  if (renameat(rm->s->rootfd, rel, AT_FDCWD, dst) < 0 && errno != ENOENT)
    return rl_make_error(err, errno, "move `%s/%s` to `%s`", rm->s->root, rel, dst);
  cleanup_close int namesfd = openat(rm->s->rootfd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char target[80];
  ssize_t n = namesfd < 0 || *c->name == '\0'
                  ? -1
                  : readlinkat(namesfd, c->name, target, sizeof(target) - 1);
  if (n == 64 && memcmp(target, c->id, 64) == 0 && unlinkat(namesfd, c->name, 0) < 0 &&
      errno != ENOENT)
    return rl_make_error(err, errno, "release the name `%s/names/%s`", rm->s->root, c->name);
  return collect(rm, freed, err);
}

static int remove_files(struct removal *rm, long long *freed, rl_error_t *err)
{
  rl_error_t e = NULL;
  cleanup_free char *run = rl_cstate_run_path(rm->c->id, &e);
  if (run && rl_rmtree(run, &e) < 0)
    rl_warn("remove the runtime dir `%s`: %s", run, e ? e->msg : "?");
  rl_error_free(&e);
  if (userns(rm, err) < 0)
    return rl_error_hint(err, "`%s` is left in the store's tmp/", rm->trash);
  int r = rl_store_trash_remove(rm->s, &rm->ns, rm->trash, freed, err);
  if (r == 0 && rm->layer_trash)
    r = rl_store_trash_remove(rm->s, &rm->ns, rm->layer_trash, freed, err);
  return r;
}

int rl_cstate_remove(struct rl_store *s, const char *id, bool force, long long *freed,
                     rl_error_t *err)
{
  struct rl_cstate c;
  long long bytes = 0;
  if (rl_cstate_load(s, id, &c, err) < 0)
    return -1;
  int r = 0;
  if (c.status == RL_CSTATUS_RUNNING && !force) {
    r = rl_make_error(err, 0, "cannot remove container %s: it is running; stop it first or use -f",
                      shown_name(&c));
    rl_error_set_exit(err, RL_EXIT_NO_SUCH);
  } else if (c.status == RL_CSTATUS_RUNNING) {
    r = kill_container(&c, err);
  }
  if (r == 0)
    wait_monitor(&c);
  struct removal rm = {.s = s, .c = &c};
  if (r == 0)
    r = retire(&rm, &bytes, err);
  if (r == 0 || rm.trash)
    r = remove_files(&rm, &bytes, r == 0 ? err : NULL) < 0 ? -1 : r;
  if (freed)
    *freed += bytes;
  free(rm.trash);
  free(rm.layer_trash);
  rl_cstate_free(&c);
  return r;
}
