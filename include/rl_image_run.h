/* The image side of `rless run IMAGE`: find the image in the store (pulling
 * it with rless-image when missing), give the container its own upper and
 * work dirs and state record, and turn the image config into the runtime
 * configuration (command, environment, working dir, user). */
#ifndef RL_IMAGE_RUN_H
#define RL_IMAGE_RUN_H

#include <jansson.h>

#include "rl_container.h"
#include "rl_error.h"
#include "rl_util.h"

/* The command a container runs, docker's rules: --entrypoint replaces the
 * image's Entrypoint and drops its Cmd ("" clears the entrypoint); command
 * arguments replace Cmd.  `config` is the image config's "config" object (may
 * be NULL).  An empty result is an error. */
int rl_image_argv(json_t *config, const char *entrypoint, const rl_strv_t *args, rl_strv_t *out,
                  rl_error_t *err);

/* Fill c's rootfs source and runtime fields for c->opts->image. */
int rl_image_prepare(struct rl_container *c, rl_error_t *err);

#endif
