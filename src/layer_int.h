/* Internals of the layer unpacker, shared by src/layer*.c only. */
#ifndef RL_LAYER_INT_H
#define RL_LAYER_INT_H

#include "rl_layer.h"
#include "rl_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#define LAYER_WH_PREFIX  ".wh."
#define LAYER_WH_META    ".wh..wh." /* aufs bookkeeping names, and the opaque marker */
#define LAYER_WH_OPAQUE  ".wh..wh..opq"
#define LAYER_OVERFLOWID 65534UL

/* A directory's mode and times, applied after all entries: its contents
 * would change its mtime, and a read-only mode would lock us out of it. */
struct layer_dirmeta {
  char *path;
  size_t seq; /* a later entry for the same path wins */
  mode_t mode;
  bool has_times;
  struct timespec times[2];
};

struct layer_ctx {
  int rootfd;
  const struct rl_unpack_opts *o;
  struct rl_unpack_stats *st;
  uid_t self_uid;
  gid_t self_gid;
  /* The last parent directory resolved: tar entries come grouped by
   * directory.  Dropped whenever a directory is removed. */
  char *cached_parent;
  int cached_fd;
  struct layer_dirmeta *dirs;
  size_t ndirs, capdirs;
  size_t whiteouts; /* whiteouts written so far by this layer */
  rl_error_t *err;
};

struct layer_entry {
  struct archive_entry *ae;
  const char *raw;  /* the name as stored in the tar */
  char *path;       /* cleaned: no leading `/`, no `.` or empty components */
  char *parent;     /* cleaned parent, "" for the layer's root */
  const char *name; /* last component, inside `path` */
  mode_t perm;
  uid_t uid;
  gid_t gid;
  bool has_times;
  struct timespec times[2];
  char label[160]; /* printable `raw` for messages, filled on first use */
};

/* The entry's name as it can be printed (control bytes replaced). */
const char *layer_label(struct layer_entry *e);
/* Count one more of something and remember the first example. */
void layer_note(size_t *count, char **example, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* layer_fs.c */
int layer_clean_name(const char *raw, char **path_out, char **parent_out, const char **name_out);
int layer_parent_fd(struct layer_ctx *c, struct layer_entry *e);
void layer_drop_cache(struct layer_ctx *c);
int layer_make_dir(struct layer_ctx *c, struct layer_entry *e, int pfd);
int layer_make_file(struct layer_ctx *c, struct layer_entry *e, int pfd, struct archive *a);
int layer_make_symlink(struct layer_ctx *c, struct layer_entry *e, int pfd);
int layer_make_hardlink(struct layer_ctx *c, struct layer_entry *e, int pfd);
/* openat2 below the layer's root, following no symlink at all. */
int layer_open_beneath(int rootfd, const char *path, int flags);

/* layer_meta.c: owner before mode (chown clears setuid bits), xattrs after
 * both (chown clears security.capability), times last. */
int layer_set_owner(struct layer_ctx *c, struct layer_entry *e, int fd);
int layer_set_mode(struct layer_ctx *c, struct layer_entry *e, int fd);
int layer_set_xattrs(struct layer_ctx *c, struct layer_entry *e, int fd);
int layer_set_times(struct layer_ctx *c, struct layer_entry *e, int fd);
int layer_set_link_meta(struct layer_ctx *c, struct layer_entry *e, int pfd);
int layer_make_fifo(struct layer_ctx *c, struct layer_entry *e, int pfd);
int layer_defer_dir(struct layer_ctx *c, struct layer_entry *e);
int layer_apply_dirs(struct layer_ctx *c);
void layer_free_dirs(struct layer_ctx *c);

/* layer_whiteout.c */
bool layer_is_whiteout_name(const char *name);
int layer_whiteout(struct layer_ctx *c, struct layer_entry *e, int pfd);
/* Before `name` is created in `pfd`: take away a whiteout of it that this
 * layer wrote earlier (`existing` is what lstat found there, or NULL).
 * Returns 1 when there was one (a directory must then become opaque). */
int layer_take_whiteout(struct layer_ctx *c, struct layer_entry *e, int pfd, const char *name,
                        const struct stat *existing);
/* Make directory `name` of `pfd` ("." for `pfd` itself) opaque. */
int layer_make_opaque(struct layer_ctx *c, struct layer_entry *e, int pfd, const char *name);

#endif
