/* Shared by the local image commands: cmd_images.c (images, tag, the
 * `image` dispatcher), cmd_image_rm.c (rmi, prune), cmd_image_inspect.c. */
#ifndef RL_CMD_IMAGES_INT_H
#define RL_CMD_IMAGES_INT_H

#include "rl_cli.h"
#include "rl_images.h"

/* Open the store of --root (or the default data dir) without creating it.
 * Returns 1 when open, 0 when it does not exist (no images yet), -1. */
int rl_images_open_store(const struct rl_global *g, struct rl_store *s, rl_error_t *err);

/* docker's "Error: No such image: NAME" on stderr, in rless' format. */
void rl_images_print_missing(const char *name);

/* docker's sizes: decimal units, 3 significant digits ("4.26MB", "977kB", "0B"). */
char *rl_human_size(long long bytes);
/* docker's "About an hour ago", "3 days ago" for `then` seen at `now`. */
char *rl_human_ago(long long then, long long now);
/* Unix seconds as RFC 3339 in UTC ("2024-01-02T03:04:05Z"). */
char *rl_rfc3339_format(long long t);

int rl_cmd_image_inspect(int argc, char **argv, const struct rl_global *g, rl_error_t *err);
int rl_cmd_image_prune(int argc, char **argv, const struct rl_global *g, rl_error_t *err);

#endif
