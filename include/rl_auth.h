/* Registry credentials in the containers auth.json format:
 * {"auths":{"host[:port]":{"auth":"base64(user:password)"}}}.  Read from
 * $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * ~/.config/containers/auth.json, ~/.docker/config.json (first that has the
 * registry); written by `rless login` to the first of those paths. */
#ifndef RL_AUTH_H
#define RL_AUTH_H

#include "rl_error.h"

/* 1 with *user/*pass set, 0 when no credentials, -1 on error (bad file). */
int rl_auth_lookup(const char *auth_file, const char *registry, char **user, char **pass,
                   rl_error_t *err);
int rl_auth_store(const char *auth_file, const char *registry, const char *user, const char *pass,
                  rl_error_t *err);
/* 1 removed, 0 there was nothing. */
int rl_auth_remove(const char *auth_file, const char *registry, rl_error_t *err);
/* Where login writes: auth_file, or $REGISTRY_AUTH_FILE, or $XDG_RUNTIME_DIR/containers/auth.json.
 */
char *rl_auth_default_path(const char *auth_file, rl_error_t *err);

#endif
