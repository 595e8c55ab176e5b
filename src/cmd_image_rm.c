/* rless rmi (image rm) and rless image prune.  Both edit images.json under
 * the store lock, then take out what no image and no container references
 * any more: blobs are unlinked, layer dirs moved into tmp/ (still under the
 * lock, so a `rless run` sees them complete or gone) and removed there after
 * the lock is released.  Exit codes as podman's rmi: 1 when a named image
 * does not exist, 2 when one is in use by a container, 125 for failures. */
#include "cmd_images_int.h"
#include "rl_userns.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define RMI_MISSING 1
#define RMI_IN_USE  2

struct rm_state {
  struct rl_store s;
  struct rl_image_index ix;
  struct rl_container_refs cs;
  struct rl_image_rec *removed;
  size_t n_removed;
  bool changed;    /* the index needs saving */
  rl_strv_t lines; /* what to print once the index is saved */
  int status;      /* 0, RMI_MISSING or RMI_IN_USE */
};

static void rm_state_free(struct rm_state *st)
{
  for (size_t i = 0; i < st->n_removed; i++)
    rl_image_rec_free(&st->removed[i]);
  free(st->removed);
  rl_strv_free(&st->lines);
  rl_container_refs_free(&st->cs);
  rl_images_free(&st->ix);
}

static void add_line(struct rm_state *st, const char *label, const char *value, bool familiar)
{
  cleanup_free char *shown = familiar ? rl_image_name_familiar(value) : rl_xstrdup(value);
  rl_strv_push_owned(&st->lines, rl_xasprintf("%s: %s", label, shown));
}

/* Untag or remove what m found, noting what to print (labels: docker's
 * "Untagged"/"Deleted" for rmi, "untagged"/"deleted" for prune). */
static void apply(struct rm_state *st, const struct rl_image_match *m, const char *untagged,
                  const char *deleted)
{
  struct rl_image_rec gone = {0};
  st->changed = true;
  if (!rl_images_would_remove(m)) {
    add_line(st, untagged, m->name, true);
    rl_images_untag_or_remove(&st->ix, m, &gone);
    return;
  }
  for (size_t k = 0; k < m->rec->names.n; k++)
    add_line(st, untagged, m->rec->names.v[k], true);
  add_line(st, deleted, m->rec->id, false);
  rl_images_untag_or_remove(&st->ix, m, &gone);
  st->removed = rl_xrealloc(st->removed, (st->n_removed + 1) * sizeof(*st->removed));
  st->removed[st->n_removed++] = gone;
}

static void set_status(struct rm_state *st, int code)
{
  if (code > st->status)
    st->status = code;
}

static void rmi_one(struct rm_state *st, const char *typed, bool force)
{
  struct rl_image_match m;
  rl_error_t e = NULL;
  int r = rl_images_lookup(&st->ix, typed, &m, &e);
  if (r <= 0) {
    if (r == 0)
      rl_images_print_missing(typed);
    else
      rl_error_print(e);
    rl_error_free(&e);
    set_status(st, RMI_MISSING);
    return;
  }
  const struct rl_container_ref *c =
      rl_images_would_remove(&m) ? rl_container_refs_using(&st->cs, m.rec->id) : NULL;
  if (c && !force) {
    rl_make_error(&e, 0, "image %s is in use by container %.12s (%s)", typed, c->id, c->name);
    rl_error_hint(&e, "remove the container first (`rless rm %.12s`), or use `rless rmi -f`",
                  c->id);
    rl_error_print(e);
    rl_error_free(&e);
    set_status(st, RMI_IN_USE);
    return;
  }
  if (c)
    rl_warn("image %s is used by container %.12s (%s): its layers stay until the container is "
            "removed",
            typed, c->id, c->name);
  apply(st, &m, "Untagged", "Deleted");
}

/* Save the index, print what changed, then remove what nothing references.
 * Releases *lock before the slow part (removing layer files). */
static int commit(struct rm_state *st, int *lock, bool print_now, long long *freed, rl_error_t *err)
{
  if (!st->changed)
    return 0;
  if (rl_images_save(&st->s, &st->ix, err) < 0)
    return -1;
  for (size_t i = 0; print_now && i < st->lines.n; i++)
    puts(st->lines.v[i]);
  fflush(stdout);
  struct rl_gc_plan plan;
  struct rl_userns ns;
  cleanup_free char *trash = NULL;
  rl_images_gc_plan(st->removed, st->n_removed, &st->ix, &st->cs, &plan);
  int r = 0;
  if (plan.layers.n > 0) {
    r = rl_userns_plan(RL_USERNS_AUTO, true, &ns, err);
    if (r == 0)
      r = rl_store_layers_retire(&st->s, &ns, plan.layers.v, plan.layers.n, &trash, err);
  }
  for (size_t i = 0; r == 0 && i < plan.blobs.n; i++)
    r = rl_store_blob_remove(&st->s, plan.blobs.v[i], freed, err);
  close(*lock);
  *lock = -1;
  if (r == 0 && trash)
    r = rl_store_trash_remove(&st->s, &ns, trash, freed, err);
  rl_gc_plan_free(&plan);
  return r;
}

/* Open the store, lock it, load the index and the container records. */
static int rm_begin(const struct rl_global *g, struct rm_state *st, int *lock, rl_error_t *err)
{
  memset(st, 0, sizeof(*st));
  *lock = -1;
  int open = rl_images_open_store(g, &st->s, err);
  if (open <= 0)
    return open;
  if ((*lock = rl_store_lock(&st->s, err)) < 0 || rl_images_load(&st->s, &st->ix, err) < 0 ||
      rl_container_refs_load(&st->s, &st->cs, err) < 0)
    return -1;
  return 1;
}

static void rm_end(struct rm_state *st, int lock)
{
  if (lock >= 0)
    close(lock);
  rm_state_free(st);
  if (st->s.root)
    rl_store_close(&st->s);
}

static const char rmi_usage[] = "Usage: rless rmi [OPTIONS] IMAGE...\n\n"
                                "  -f, --force   remove images even when containers use them (the "
                                "layers they use stay)\n";

int rl_cmd_rmi(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool force = false;
  int c, lock;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:fh", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(rmi_usage, stdout);
      return 0;
    }
    if (c != 'f') {
      rl_make_error(err, 0, "bad option `%s` for `rless rmi`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless rmi --help`");
    }
    force = true;
  }
  if (optind >= argc)
    return rl_make_error(err, 0, "`rless rmi` needs at least one image");
  struct rm_state st;
  long long freed = 0;
  int open = rm_begin(g, &st, &lock, err);
  for (int i = optind; open >= 0 && i < argc; i++)
    rmi_one(&st, argv[i], force);
  int r = open < 0 ? -1 : commit(&st, &lock, true, &freed, err);
  int status = st.status;
  rm_end(&st, lock);
  return r < 0 ? -1 : status;
}

/* ---- rless image prune ---- */

static const char prune_usage[] =
    "Usage: rless image prune [OPTIONS]\n\n"
    "  -a, --all     remove every image no container uses, not only untagged ones\n"
    "  -f, --force   accepted for docker compatibility (rless does not ask)\n";

static int prune_parse(int argc, char **argv, bool *all, rl_error_t *err)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:afh", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(prune_usage, stdout);
      return 1;
    }
    if (c == 'a')
      *all = true;
    else if (c != 'f') {
      rl_make_error(err, 0, "bad option `%s` for `rless image prune`", argv[optind - 1]);
      return rl_error_hint(err, "see `rless image prune --help`");
    }
  }
  if (optind < argc)
    return rl_make_error(err, 0, "`rless image prune` takes no arguments");
  return 0;
}

int rl_cmd_image_prune(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  bool all = false;
  int lock, r = prune_parse(argc, argv, &all, err);
  if (r != 0)
    return r > 0 ? 0 : -1;
  struct rm_state st;
  long long freed = 0;
  int open = rm_begin(g, &st, &lock, err);
  /* Backwards: removing entry i leaves the ones before it in place. */
  for (size_t i = st.ix.n; open > 0 && i-- > 0;) {
    struct rl_image_rec *rec = &st.ix.v[i];
    if ((all || rec->names.n == 0) && rl_container_refs_using(&st.cs, rec->id) == NULL)
      apply(&st, &(struct rl_image_match){rec, NULL}, "untagged", "deleted");
  }
  r = open < 0 ? -1 : commit(&st, &lock, false, &freed, err);
  if (r == 0) {
    if (st.lines.n > 0)
      puts("Deleted Images:");
    for (size_t i = 0; i < st.lines.n; i++)
      puts(st.lines.v[i]);
    cleanup_free char *total = rl_human_size(freed);
    printf("%sTotal reclaimed space: %s\n", st.lines.n > 0 ? "\n" : "", total);
  }
  rm_end(&st, lock);
  return r < 0 ? -1 : 0;
}
