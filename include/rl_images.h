/* The image index (images.json in the store): which names point to which
 * image, and what a container needs to run it without reading any blob:
 * its layers (bottom first) and the runtime part of its config. */
#ifndef RL_IMAGES_H
#define RL_IMAGES_H

#include <jansson.h>
#include <stdbool.h>

#include "rl_error.h"
#include "rl_imageref.h"
#include "rl_store.h"
#include "rl_util.h"

struct rl_image_rec {
  char *id;          /* config digest */
  char *manifest;    /* manifest digest */
  rl_strv_t names;   /* "registry/repository:tag" (and @digest references) */
  rl_strv_t layers;  /* layer blob digests, bottom first */
  json_t *config;    /* the image config's "config" object (Entrypoint, Cmd, Env, ...) or NULL */
  long long size;    /* sum of compressed layer sizes */
  long long created; /* when stored (unix seconds) */
};

struct rl_image_index {
  struct rl_image_rec *v;
  size_t n;
};

/* A missing images.json is an empty index. */
int rl_images_load(const struct rl_store *s, struct rl_image_index *ix, rl_error_t *err);
/* Atomic replace (temp + rename); the caller holds the store lock. */
int rl_images_save(struct rl_store *s, const struct rl_image_index *ix, rl_error_t *err);
void rl_images_free(struct rl_image_index *ix);

/* By exact name, by id ("sha256:..." or hex), or by a unique id prefix of at
 * least 4 hex digits.  NULL when absent; an ambiguous prefix is an error. */
struct rl_image_rec *rl_images_find(struct rl_image_index *ix, const char *ref, rl_error_t *err);

/* Insert or update the image with rec->id, taking ownership of rec's fields;
 * each of its names is removed from any other image first (a name points to
 * one image). */
void rl_images_put(struct rl_image_index *ix, struct rl_image_rec *rec);
/* Remove entry i. */
void rl_images_remove(struct rl_image_index *ix, size_t i);
void rl_image_rec_free(struct rl_image_rec *r);

/* ---- Names as the user types them ---- */

/* How a typed reference was found. */
struct rl_image_match {
  struct rl_image_rec *rec;
  const char *name; /* the stored name that matched; NULL when found by id or manifest digest */
};

/* Find an image the way docker does, in this order:
 *   1. a stored name, exactly ("docker.io/library/busybox:latest");
 *   2. the typed text parsed as a reference (rl_imageref_parse; no tag means
 *      :latest), then rl_images_match_ref;
 *   3. an id ("sha256:<hex>" or <hex>) or a unique id prefix of >= 4 hex.
 * Returns 1 when found, 0 when not, -1 with *err for an ambiguous name or
 * prefix. */
int rl_images_lookup(struct rl_image_index *ix, const char *typed, struct rl_image_match *m,
                     rl_error_t *err);

/* Step 2 on a parsed reference (pure).  A qualified reference (registry set)
 * matches its own full name only ("docker.io/busybox" is
 * "docker.io/library/busybox").  A short one (registry NULL; a "library/"
 * the parser put before a one-component name is ignored), with its tag or
 * digest, is tried as:
 *   a. docker.io/[library/]NAME (docker's default registry);
 *   b. localhost/NAME (where `rless tag` puts names without a registry);
 *   c. any stored name, with any registry, whose repository is NAME or ends
 *      in "/NAME" at a component boundary, with the same tag: used only when
 *      exactly ONE stored name matches (so one image, and rmi knows which
 *      name to untag); several are an error listing them.
 * A reference with a digest that no stored name carries matches the one
 * image with that manifest digest among those whose names match the
 * repository (rule above), with m->name NULL.  1 found, 0 not, -1 error. */
int rl_images_match_ref(struct rl_image_index *ix, const struct rl_imageref *ref,
                        struct rl_image_match *m, rl_error_t *err);

/* Does stored `name` belong to the repository `ref` names (any tag)?  Same
 * rules as above without the uniqueness (for `rless images REPOSITORY`). */
bool rl_image_name_in_repo(const char *name, const struct rl_imageref *ref);

/* docker's short form for display: "docker.io/library/busybox:1" ->
 * "busybox:1", "docker.io/user/x" -> "user/x"; other registries unchanged. */
char *rl_image_name_familiar(const char *name);
/* Split a stored name into repository ("registry/path") and tag or NULL. */
void rl_image_name_split(const char *name, char **repo, char **tag);

/* ---- Removing ---- */

/* Remove what m found: a name of an image that has other names is only
 * untagged (returns 0); its last name, or an image found by id or digest,
 * removes the record from ix into *removed (returns 1; caller frees).  A tag
 * is "the last name" when only digest references (name@sha256:...) remain,
 * as in docker.  m->name and m->rec are invalid afterwards. */
bool rl_images_would_remove(const struct rl_image_match *m);
int rl_images_untag_or_remove(struct rl_image_index *ix, const struct rl_image_match *m,
                              struct rl_image_rec *removed);

/* Give image i the name `name`, taking it from any other image (which keeps
 * its other names, or becomes untagged). */
void rl_images_add_name(struct rl_image_index *ix, size_t i, const char *name);

/* A container's claim on the store: containers/<id>/container.json, written
 * by `rless run` ({"id", "name", "image": config digest, "layers": [...]}). */
struct rl_container_ref {
  char *id, *name, *image;
  rl_strv_t layers;
};

struct rl_container_refs {
  struct rl_container_ref *v;
  size_t n;
};

/* Every container.json under containers/.  A dir without one is skipped (no
 * claim yet); one that cannot be read or parsed is an error, since removing
 * what it might use would break that container. */
int rl_container_refs_load(const struct rl_store *s, struct rl_container_refs *out,
                           rl_error_t *err);
void rl_container_refs_free(struct rl_container_refs *c);
/* The first container whose image is `image_id`, or NULL (pure). */
const struct rl_container_ref *rl_container_refs_using(const struct rl_container_refs *c,
                                                       const char *image_id);

/* What removing images frees: of the removed records' manifest, config and
 * layer digests, those that no remaining image and no container references
 * (pure; each digest once).  blobs: blobs/sha256 files; layers: digests whose
 * unpacked dirs (every format) go. */
struct rl_gc_plan {
  rl_strv_t blobs, layers;
};
void rl_images_gc_plan(const struct rl_image_rec *removed, size_t n_removed,
                       const struct rl_image_index *remaining, const struct rl_container_refs *cs,
                       struct rl_gc_plan *plan);
void rl_gc_plan_free(struct rl_gc_plan *p);

/* ---- Reading the config blob ---- */

/* The image's config blob parsed (architecture, os, created, config,
 * rootfs).  Read without re-hashing: blobs are verified before they are
 * renamed into blobs/, and `rless` links no crypto (see store.c). */
json_t *rl_image_config_blob(const struct rl_store *s, const struct rl_image_rec *r,
                             rl_error_t *err);
/* The config's "created" (RFC 3339) as unix seconds, else r->created. */
long long rl_image_created(const struct rl_image_rec *r, json_t *config_blob);
/* RFC 3339 ("2024-01-02T03:04:05.123Z", "...+01:00") -> unix seconds; -1 if malformed. */
long long rl_rfc3339_parse(const char *s);

#endif
