/* Capabilities of the container's process: podman's rootless default set,
 * adjusted by --cap-add/--cap-drop, applied with libcap just before exec. */
#ifndef RL_CAPS_H
#define RL_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "rl_error.h"
#include "rl_util.h"

uint64_t rl_caps_default(void);

/* As docker: start from everything when add has ALL, from nothing when drop
 * has ALL, else from the default; then add, then drop.  Names are
 * case-insensitive, with or without the CAP_ prefix.  Pure. */
int rl_caps_compute(const rl_strv_t *add, const rl_strv_t *drop, uint64_t *mask, rl_error_t *err);

/* Drop every capability outside `mask` from the bounding set.  Must run
 * while the process still has CAP_SETPCAP, before changing uid. */
int rl_caps_drop_bounding(uint64_t mask, rl_error_t *err);

/* After setuid (with PR_SET_KEEPCAPS): permitted and effective = mask,
 * inheritable = mask for root only, ambient cleared. */
int rl_caps_apply(uint64_t mask, bool root, rl_error_t *err);

#endif
