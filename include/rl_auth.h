/* Registry credentials in the containers auth.json format (containers-auth.json(5)):
 * {"auths":{"host[:port]":{"auth":"base64(user:password)"}}}.
 *
 * Lookup reads, in order, and stops at the first file that has the registry:
 *   1. auth_file when given, else $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json
 *      (the primary, read/write file);
 *   2. ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json;
 *   3. ~/.docker/config.json (docker's "auths" section; credsStore/credHelpers are not run).
 * A missing file is skipped; a file that is not valid JSON is an error naming it.
 *
 * Keys match exactly first ("host" or "host:port"), then in docker's legacy URL form
 * ("https://host/v1/", "http://host:port"); docker.io also answers to index.docker.io and
 * registry-1.docker.io ("https://index.docker.io/v1/" is what `docker login` writes).  Keys
 * scoped to a repository ("quay.io/org/repo") never match a whole registry. */
#ifndef RL_AUTH_H
#define RL_AUTH_H

#include "rl_error.h"

/* 1 with *user and *pass set (free both), 0 when no credentials, -1 on error (bad file). */
int rl_auth_lookup(const char *auth_file, const char *registry, char **user, char **pass,
                   rl_error_t *err);
/* Add or replace the registry's entry in rl_auth_default_path(auth_file), keeping every other
 * entry and key of the file.  The write is atomic (0600 temp file + rename in the same
 * directory, which is created 0700 when missing). */
int rl_auth_store(const char *auth_file, const char *registry, const char *user, const char *pass,
                  rl_error_t *err);
/* Remove the registry's entries (exact and legacy-URL keys) from the default path.
 * 1 removed, 0 there was nothing. */
int rl_auth_remove(const char *auth_file, const char *registry, rl_error_t *err);
/* Where login writes: auth_file, or $REGISTRY_AUTH_FILE, or $XDG_RUNTIME_DIR/containers/auth.json;
 * without XDG_RUNTIME_DIR, ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json (the next file
 * lookup reads, so a login still works on hosts without a runtime dir, e.g. after `su`). */
char *rl_auth_default_path(const char *auth_file, rl_error_t *err);

/* "auth" values: base64 of "user:password" (the user has no ':', the password may).  Decoding
 * rejects bad base64, a missing ':' and an empty user. */
int rl_auth_decode(const char *b64, char **user, char **pass, rl_error_t *err);
char *rl_auth_encode(const char *user, const char *pass);

/* The canonical name of a key or registry for matching: scheme and legacy path dropped, the
 * docker.io aliases folded to "docker.io".  NULL for a repository-scoped key. */
char *rl_auth_normalize_key(const char *key);

#endif
