/* Where rless keeps things: live state under the runtime dir, images and
 * layers under the data dir (XDG, nothing under /var). */
#ifndef RL_PATHS_H
#define RL_PATHS_H

#include "rl_error.h"

/* $XDG_RUNTIME_DIR/rless when XDG_RUNTIME_DIR exists, is ours and is 0700;
 * otherwise /tmp/rless-UID (created 0700, refused if not ours).  Created if
 * missing.  *why (may be NULL) says which and why, for debug output. */
char *rl_runtime_dir(char **why, rl_error_t *err);

/* --root DIR, else "root" in ${XDG_CONFIG_HOME:-~/.config}/rless/config.json, else
 * $XDG_DATA_HOME/rless, else ~/.local/share/rless.  Not created. */
char *rl_data_dir(const char *root_override, rl_error_t *err);

/* mkdir -p with mode for the components created. */
int rl_mkdir_p(const char *path, unsigned mode, rl_error_t *err);

#endif
