/* -u USER[:GROUP] resolved against the container's /etc/passwd and /etc/group
 * (the rootfs' files, never the host's).  Pure: takes the files' text. */
#ifndef RL_PASSWD_H
#define RL_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rl_error.h"

struct rl_user {
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* supplementary groups: those of /etc/group that list the user */
  size_t n_groups;
  char *home; /* "/" when the user has no passwd entry */
};

/* spec NULL means root.  passwd/group text may be NULL (file absent). */
int rl_user_resolve(const char *spec, const char *passwd, const char *group, struct rl_user *out,
                    rl_error_t *err);
void rl_user_free(struct rl_user *u);

#endif
