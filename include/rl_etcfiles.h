/* The container's own /etc/hostname, /etc/hosts and /etc/resolv.conf:
 * written by rless into a dir of its own and bound over the tree's, never
 * into the image, so `commit` never captures them. */
#ifndef RL_ETCFILES_H
#define RL_ETCFILES_H

#include "rl_error.h"
#include "rl_util.h"

/* --add-host HOST:IP (IPv4 or IPv6). */
int rl_add_host_valid(const char *spec, rl_error_t *err);
/* --dns IP. */
int rl_dns_valid(const char *ip, rl_error_t *err);

/* localhost (v4 and v6), the host name, then the --add-host entries.  Pure. */
char *rl_etc_hosts_text(const char *hostname, const rl_strv_t *add_hosts);
/* --dns and --dns-search when given, else the host's resolv.conf (text, may
 * be NULL) as it is, with any --dns-search replacing its search line.  Pure. */
char *rl_etc_resolv_text(const char *host_text, const rl_strv_t *dns, const rl_strv_t *search);

/* Write the three files into dir (which exists). */
int rl_etc_files_write(const char *dir, const char *hostname, const rl_strv_t *add_hosts,
                       const rl_strv_t *dns, const rl_strv_t *search, rl_error_t *err);

#endif
