/* rless commit, diff and export (rless-image: libarchive).  A container's
 * upper dir read back as an OCI layer: the overlays' own whiteout formats
 * translated to OCI names (what each overlay writes: top of src/commit.c),
 * ids as the container sees them, because every walk runs inside the
 * container's user namespace.
 *
 * The pure parts (what an upper entry becomes, the change it records, the
 * new image config) are separate from the walks so they can be unit tested. */
#ifndef RL_COMMIT_H
#define RL_COMMIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_layer.h"

/* ---- what an upper dir entry is ---- */

struct rl_xattr {
  char *name;
  char *value;
  size_t len;
};

struct rl_upper_entry {
  const char *path; /* relative to the upper dir, "etc/passwd" */
  mode_t mode;
  dev_t rdev;
  long long size;
  const struct rl_xattr *xattrs;
  size_t n_xattrs;
};

enum rl_upper_kind {
  RL_UPPER_KEEP,     /* an entry of the layer as it is (its xattrs filtered) */
  RL_UPPER_WHITEOUT, /* the overlay's mark of a deleted lower entry */
  RL_UPPER_OPAQUE,   /* a file that marks its directory opaque (fuse-overlayfs) */
  RL_UPPER_SKIP,     /* in no layer: sockets, per-container files, unrepresentable names */
};

struct rl_upper_class {
  enum rl_upper_kind kind;
  bool opaque;             /* KEEP directory: the lower contents are hidden */
  char *victim;            /* WHITEOUT: the path deleted (owned) */
  const char *skip_reason; /* SKIP worth a warning, else NULL */
};

/* Classify an entry of an upper dir written by the overlay of format `f`.
 * Refused (error): the kernel overlay's redirect and metacopy entries, whose
 * content lives elsewhere (never made with userxattr, but a layer must not
 * silently lose data). */
int rl_upper_classify(enum rl_whiteout_format f, const struct rl_upper_entry *e,
                      struct rl_upper_class *c, rl_error_t *err);
void rl_upper_class_free(struct rl_upper_class *c);

/* Whether an xattr goes into a layer: not the overlays' own (user.overlay.*,
 * trusted.overlay.*, user.fuseoverlayfs.*, trusted.fuseoverlayfs.*). */
bool rl_layer_xattr_kept(const char *name);

/* The OCI tar entries an upper entry becomes: ENTRY is the entry itself
 * (its type, owner, mode, content, kept xattrs); MARKER an empty regular
 * file with its owner and mtime: `DIR/.wh.NAME` for a whiteout, and
 * `DIR/.wh..wh..opq` after a directory that is `opaque` (its own xattr or
 * a marker among its children; the caller tells). */
enum rl_tar_kind { RL_TAR_ENTRY, RL_TAR_MARKER };
struct rl_tar_out {
  char *path; /* owned */
  enum rl_tar_kind kind;
};
size_t rl_upper_tar_entries(const struct rl_upper_entry *e, const struct rl_upper_class *c,
                            bool opaque, struct rl_tar_out out[2]);
void rl_tar_outs_free(struct rl_tar_out *out, size_t n);

/* ---- rless diff ---- */

struct rl_change {
  char kind;  /* 'A' added, 'C' changed, 'D' deleted */
  char *path; /* absolute: "/etc/passwd" */
};

struct rl_changes {
  struct rl_change *v;
  size_t n;
};

/* `path` relative to the root ("etc/passwd"). */
void rl_changes_add(struct rl_changes *c, char kind, const char *path);
/* By path (byte order, as docker), each path once (the first kind added). */
void rl_changes_sort(struct rl_changes *c);
void rl_changes_free(struct rl_changes *c);

/* The change an upper entry records: a whiteout of something the image has
 * is 'D'; a kept entry is 'C' when its path is in the image, else 'A';
 * nothing (0) otherwise. */
char rl_diff_kind(const struct rl_upper_class *c, bool in_image);

/* ---- the new image config ---- */

struct rl_commit_opts {
  const char *message, *author;
  char *const *changes; /* NULL-terminated --change values, or NULL */
  const char *name;     /* NULL: untagged */
  bool pause;           /* docker's -p: accepted, but nothing can freeze here */
};

/* One --change: LABEL (`LABEL k=v k2="v 2"` or `LABEL k v`) here, CMD,
 * ENTRYPOINT, ENV, WORKDIR and USER by rl_archive_change_apply. */
int rl_commit_change_apply(json_t *config, const char *change, rl_error_t *err);

/* The config of the committed image: the base image's config `base` with
 * the --change values applied to its "config", `diff_id` appended to
 * rootfs.diff_ids (which must hold `n_layers`, the container's layers), a
 * history entry (created_by, author, comment) and "created" = `now`. */
char *rl_commit_config(const char *base, size_t len, size_t n_layers, const char *diff_id,
                       const struct rl_commit_opts *o, const char *created_by, long long now,
                       rl_error_t *err);

/* ---- walks (inside the container's user namespace) ---- */

/* Write the tree below `dirfd` as a tar (pax) to `out`.  With `upper`, the
 * tree is an upper dir of format `f` and comes out as an OCI layer;
 * without, it is a merged root filesystem and comes out as it is. */
int rl_commit_tar(int dirfd, bool upper, enum rl_whiteout_format f, int out, rl_error_t *err);

/* The changes of the upper dir `upperfd` against the image whose unpacked
 * layers are `layers` (topmost first), sorted. */
int rl_commit_diff(int upperfd, const int *layers, size_t n, enum rl_whiteout_format f,
                   struct rl_changes *out, rl_error_t *err);

#endif
