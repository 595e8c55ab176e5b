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

/* localhost (v4 and v6), the host name, the --add-host entries, then the
 * network's lines (`extra`, may be NULL: "IP\tNAMES", e.g. the gateway as
 * host.containers.internal, the containers whose namespaces it shares).  Pure. */
char *rl_etc_hosts_text(const char *hostname, const rl_strv_t *add_hosts, const rl_strv_t *extra);
/* --dns and --dns-search when given, else the host's resolv.conf (text, may
 * be NULL) as it is, with any --dns-search replacing its search line and,
 * when `forward` has addresses (space-separated), its local nameservers
 * (127.0.0.53: not reachable from the container's network) replaced by
 * those: the network helper's DNS forwarder, or the servers behind the
 * stub.  Pure. */
char *rl_etc_resolv_text(const char *host_text, const rl_strv_t *dns, const rl_strv_t *search,
                         const char *forward);

struct rl_etc_spec {
  const char *hostname;
  const rl_strv_t *add_hosts, *dns, *dns_search; /* the options */
  const rl_strv_t *extra_hosts;                  /* rl_net.hosts */
  const char *dns_forward;                       /* rl_net.resolv_servers (NULL: none) */
};

/* The three files are PREFIX + "hostname", "hosts", "resolv.conf": PREFIX is
 * a directory with its slash (an image's container dir) or a file-name
 * prefix in the runtime dir ("…/etc-ID-" for --rootfs, no directory of its
 * own: on ext4 a mkdir and an rmdir cost a start 0.4 ms). */
extern const char *const rl_etc_file_names[3];
/* Write the three files. */
int rl_etc_files_write(const char *prefix, const struct rl_etc_spec *e, rl_error_t *err);

#endif
