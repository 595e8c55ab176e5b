/* The image index (images.json in the store): which names point to which
 * image, and what a container needs to run it without reading any blob:
 * its layers (bottom first) and the runtime part of its config. */
#ifndef RL_IMAGES_H
#define RL_IMAGES_H

#include <jansson.h>
#include <stdbool.h>

#include "rl_error.h"
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

#endif
