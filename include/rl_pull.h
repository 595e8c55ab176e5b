/* Pulling an image into the store: resolve the name, negotiate the
 * manifest, and download the layers in parallel while they are verified and
 * unpacked (inside the user namespace, so ownership is kept). */
#ifndef RL_PULL_H
#define RL_PULL_H

#include "rl_error.h"
#include "rl_layer.h"
#include "rl_registry.h"
#include "rl_store.h"
#include "rl_userns.h"

struct rl_pull_opts {
  const char *platform; /* "os/arch[/variant]" or NULL for this machine */
  enum rl_progress progress;
  const char *layer_format; /* store/layers/<format>: "overlay" or "fuse" */
  enum rl_whiteout_format whiteouts;
  const char *registries_conf; /* NULL: the default search */
};

/* Pull `name` into the store, running as root in a new user namespace with
 * ns's maps.  On success *id is the image id (config digest). */
int rl_pull(struct rl_store *s, const struct rl_userns *ns, const char *name,
            const struct rl_pull_opts *o, char **id, rl_error_t *err);

#endif
