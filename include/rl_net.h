/* Container networking (docs/networking.md): the --network modes, published
 * ports, the user-mode helper (pasta or slirp4netns) that rless starts on
 * the host side against the container's network namespace, and the
 * namespaces a container:NAME mode joins.
 *
 *   options (net.c)   --network MODE[:OPTS], -p, -P, --pid/--ipc container:NAME
 *   prepare (net_prepare.c)  default mode, targets pinned, ports checked and chosen,
 *                     the container's address, gateway and DNS forwarder
 *   run (net_helper.c)  child: unshare, the helper's tap made persistent, send
 *                     the netns; parent: start the helper, wait for its
 *                     readiness, publish the ports, say "ready"; pid 1 waits
 *                     for that before exec; the helper dies with the container
 *                     (killed at the end, PDEATHSIG if rless dies)
 *   forward (net_forward.c)  slirp4netns' TCP ports: a forked rless that listens
 *                     on the host and connects in the container's netns
 *   record (net_record.c)  container.json keys; what inspect, ps and port show */
#ifndef RL_NET_H
#define RL_NET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rl_error.h"
#include "rl_nsjoin.h"
#include "rl_util.h"

/* RL_NET_DEFAULT is resolved when the container is prepared: pasta when it
 * is installed, else slirp4netns, else none. */
enum rl_network_mode {
  RL_NET_NONE,
  RL_NET_HOST,
  RL_NET_PASTA,
  RL_NET_SLIRP4NETNS,
  RL_NET_CONTAINER,
  RL_NET_DEFAULT,
};

#define RL_NET_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

/* One -p: `count` consecutive ports from host_port to container_port. */
struct rl_port {
  char host_ip[RL_NET_ADDR_MAX]; /* "": every address */
  uint16_t host_port;            /* 0: a free one is chosen when the container is prepared */
  uint16_t container_port;
  uint16_t count; /* >= 1 */
  bool udp;
};

/* What the options say (rl_run_opts.net). */
struct rl_net_opts {
  char *helper_opts;   /* OPTS of pasta:OPTS / slirp4netns:OPTS (comma-separated) */
  char *container;     /* NAME of --network container:NAME */
  char *pid_container; /* --pid container:NAME */
  char *ipc_container; /* --ipc container:NAME */
  struct rl_port *ports;
  size_t n_ports;
  bool publish_all; /* -P */
};

/* The runtime configuration (rl_container.net). */
struct rl_net {
  enum rl_network_mode mode; /* never RL_NET_DEFAULT */
  char *helper;              /* the program for pasta and slirp4netns */
  rl_strv_t helper_args;     /* passed through from OPTS */
  bool host_loopback;        /* the host's 127.0.0.1 answers at the gateway address */
  bool ipv6;                 /* slirp4netns enable_ipv6=true */
  unsigned mtu;              /* slirp4netns mtu=, 0: 65520 */
  char *cidr;                /* slirp4netns cidr=, NULL: 10.0.2.0/24 */
  struct rl_port *ports;     /* host ports all chosen */
  size_t n_ports;
  char address[RL_NET_ADDR_MAX], gateway[RL_NET_ADDR_MAX]; /* "" when unknown */
  int prefix_len;
  /* The host's resolvers are all local stubs (127.0.0.53): the nameservers
   * the container's resolv.conf has instead (space-separated, NULL: the
   * host's as they are), and pasta's --dns-forward address ("": none). */
  char *resolv_servers;
  char dns_forward[RL_NET_ADDR_MAX];
  char *api_path; /* slirp4netns --api-socket, with ports */
  /* slirp4netns port_handler=slirp4netns: TCP ports by its add_hostfwd too
   * (else rless' forwarder, net_forward.c, has them) */
  bool slirp_hostfwd;
  /* The helper's interface in the container ("" none known): the child makes
   * it, persistent, before the helper attaches to it (net_helper.c). */
  char tap[16];
  /* container:NAME: the target's pid 1 pinned; join_flags the namespaces
   * taken from it (CLONE_NEWUSER and NET/PID/IPC), 0 without */
  struct rl_nsjoin join;
  int join_flags;
  char *target_id, *pid_target_id, *ipc_target_id;
  char *target_userns; /* the target's userns_resolved: this container's map must be its */
  rl_strv_t hosts;     /* more /etc/hosts lines ("IP\tNAMES"): the gateway, shared containers */
  bool sysfs_ok;       /* a sysfs of its own can be mounted (its netns is not the host's) */
  bool prepared;       /* rl_net_prepare ran: the fds above are valid */
};

/* The helper while the container runs (the supervising process). */
struct rl_net_helper {
  pid_t pid; /* 0: none */
  bool exited;
  int exit_fd; /* slirp4netns --exit-fd and the forwarder's: rless' end, -1 */
  char *api_path;
  pid_t fwd_pid; /* rless' port forwarder (net_forward.c), 0: none */
  bool fwd_exited;
};

/* ---- net.c: options and pure helpers ---- */

/* `rless run` options of this module besides --network (options.c hands
 * the ids in the range to rl_net_opt; -p and -P are short options too). */
enum {
  RL_NET_OPT_FIRST = 1100,
  RL_OPT_PID = RL_NET_OPT_FIRST,
  RL_OPT_IPC,
  RL_NET_OPT_LAST = RL_OPT_IPC,
};
#define RL_NET_LONG_OPTIONS                                                                        \
  {"publish", required_argument, NULL, 'p'}, {"publish-all", no_argument, NULL, 'P'},              \
      {"pid", required_argument, NULL, RL_OPT_PID},                                                \
  {                                                                                                \
    "ipc", required_argument, NULL, RL_OPT_IPC                                                     \
  }
extern const char rl_net_usage[]; /* the help lines of --network, -p, -P, --pid, --ipc */
int rl_net_opt(int opt, const char *arg, struct rl_net_opts *o, rl_error_t *err);

/* --network VALUE: none, host, pasta[:OPTS], slirp4netns[:OPTS], container:NAME
 * (docker's and podman's spellings: private, bridge are refused). */
int rl_net_mode_parse(const char *arg, enum rl_network_mode *mode, struct rl_net_opts *o,
                      rl_error_t *err);
/* --pid / --ipc VALUE: "private" (the default) or container:NAME. */
int rl_net_ns_parse(const char *opt, const char *arg, char **container, rl_error_t *err);
/* -p [IP:][HOST[-END]:]CONTAINER[-END][/tcp|udp]; IPv6 in brackets.  Without
 * a host port, every port of a range gets one of its own. */
int rl_port_parse(const char *spec, struct rl_port **out, size_t *n, rl_error_t *err);
int rl_net_publish_add(struct rl_net_opts *o, const char *spec, rl_error_t *err);
void rl_net_opts_free(struct rl_net_opts *o);
const char *rl_net_mode_name(enum rl_network_mode m);
/* The helper's comma-separated OPTS: podman's key=value words
 * (allow_host_loopback, enable_ipv6, mtu, cidr, port_handler) go into n;
 * anything else is an argument for the helper, as given. */
int rl_net_helper_opts(const char *opts, struct rl_net *n, rl_error_t *err);
/* pasta's -t/-u value for the ports of one protocol ("none" without). */
char *rl_net_pasta_ports(const struct rl_port *p, size_t n, bool udp);
/* The default route of /proc/net/route text: its gateway and interface. */
int rl_net_parse_route(const char *text, char gw[RL_NET_ADDR_MAX], char ifname[16]);
/* Is this resolv.conf nameserver a local stub (127.0.0.0/8, ::1)? */
bool rl_net_is_loopback(const char *addr);
/* The first local nameserver of resolv.conf text when every nameserver is
 * local (systemd-resolved's 127.0.0.53, dnsmasq's 127.0.1.1), else "". */
void rl_net_local_stub(const char *resolv, char out[RL_NET_ADDR_MAX]);
/* The nameservers of resolv.conf text that are not local, space-separated
 * (resolv.conf's limit: 3), or NULL. */
char *rl_net_remote_servers(const char *resolv);

/* ---- net_prepare.c: before clone ---- */

struct rl_run_opts;

/* What a container gets without --network: pasta when installed, else
 * slirp4netns, else none (as podman chooses), and none when /dev/net/tun is
 * not usable; *helper the program's path (malloc'd) or NULL.  For `rless
 * info` too. */
enum rl_network_mode rl_net_default_mode(char **helper);
/* Resolve o into n, before the id maps are planned: a container:NAME
 * target's user namespace mode becomes o->userns.  `id`: the container's. */
int rl_net_prepare(struct rl_net *n, struct rl_run_opts *o, const char *id, rl_error_t *err);
/* -P: every ExposedPorts entry of the image config not published with -p,
 * on a free host port. */
int rl_net_publish_exposed(struct rl_net *n, const struct rl_run_opts *o, json_t *image_config,
                           rl_error_t *err);
void rl_net_free(struct rl_net *n);

/* ---- net_helper.c: the run path ---- */

/* Child, to the namespaces it unshares (`base` the others) added and removed. */
int rl_net_unshare_flags(const struct rl_net *n, int base);
/* Child, right after its network namespace exists: with a helper to run,
 * send RL_SYNC_NETNS with the user and network namespace fds. */
int rl_net_child_netns(const struct rl_net *n, int sock, rl_error_t *err);
/* Pid 1, last before exec: wait for RL_SYNC_NET_READY when a helper runs;
 * the socket's end (the helper failed) ends pid 1 quietly: rless says why. */
int rl_net_wait_ready(const struct rl_net *n, int sock, rl_error_t *err);
/* Parent, on RL_SYNC_NETNS: take the fds, start the helper, wait until it
 * is ready, publish the ports, send RL_SYNC_NET_READY.  The container's own
 * error, when it has one, says more than this one: report that first. */
int rl_net_helper_start(const struct rl_net *n, int sock, struct rl_net_helper *h, rl_error_t *err);
/* A child the supervisor reaped: true when it was the helper. */
bool rl_net_helper_reaped(struct rl_net_helper *h, pid_t pid);
/* Pid 1 ended: kill the helper now, so that the kernel tears its tap
 * device down (tens of ms under the rtnl lock) while rless finishes the
 * container; rl_net_helper_stop reaps it. */
void rl_net_helper_kill(struct rl_net_helper *h);
/* Kill and reap the helper (the container has ended): its host ports are
 * free when this returns. */
void rl_net_helper_stop(struct rl_net_helper *h);

/* ---- net_forward.c: rless' TCP port forwarder for slirp4netns ---- */

/* Does this network get the forwarder (slirp4netns, TCP ports, not
 * port_handler=slirp4netns)? */
bool rl_net_forwards(const struct rl_net *n);
/* First steps of a fork of rless that serves the container's network (a
 * helper before its exec, the forwarder): killed with rless, a session of
 * its own (no terminal's ^C or hangup), no blocked signals, /dev/null on 0
 * and 1, err_fd (or, when -1, the inherited stderr) on 2, fds[i] at 3 + i.
 * _exit()s when it cannot. */
void rl_net_child_setup(pid_t parent, const int *fds, size_t nfds, int err_fd);
/* Fork the forwarder: it binds every published TCP port on the host, joins
 * the user and network namespaces `ns` (user, net), and from then on relays
 * each connection to 127.0.0.1:CONTAINER_PORT in the container.  It ends
 * when `exit_fd` (a pipe's read end) sees its writer close, on SIGKILL, or
 * with its parent (PDEATHSIG).  Returns its pid, or -1; *status_fd is where
 * it reports (rl_net_forward_ready). */
pid_t rl_net_forward_spawn(const struct rl_net *n, const int ns[2], int exit_fd, int *status_fd,
                           rl_error_t *err);
/* The forwarder's report on `status_fd` once readable: 0 when it listens
 * and is in the container's network, else its error (the port, the errno). */
int rl_net_forward_ready(int status_fd, rl_error_t *err);

/* ---- net_record.c: container.json, inspect, ps, port ---- */

/* The network keys of a container's config: "network" (mode, or
 * container:ID), "network_options", "ports" (podman's PortMapping objects),
 * "pid", "ipc", "net_address", "net_gateway", "net_prefix_len",
 * "host_loopback". */
void rl_net_to_json(const struct rl_net *n, const struct rl_net_opts *o, json_t *config);
/* And back, for `rless start`: the mode, the helper options, the ports as
 * they were chosen, the targets by id. */
void rl_net_opts_from_json(json_t *config, enum rl_network_mode *mode, struct rl_net_opts *o);
/* ps' PORTS cell: "127.0.0.1:8080->80/tcp, 0.0.0.0:9000-9001->9000-9001/udp". */
char *rl_net_ports_text(json_t *ports);
/* One entry of the record's "ports" into *p; false when a port is missing (0). */
bool rl_net_port_from_json(json_t *v, struct rl_port *p);
/* The host address of a published port as shown: "0.0.0.0" for every address,
 * an IPv6 one in brackets (a new string). */
char *rl_net_host_text(const char *ip);
/* docker's {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}. */
json_t *rl_net_ports_docker(json_t *ports);
/* inspect's NetworkSettings. */
json_t *rl_net_settings_json(json_t *config, pid_t pid);

/* ---- cmd_port.c ---- */

struct rl_global;
/* rless port CONTAINER [PRIVATE_PORT[/PROTO]] */
int rl_cmd_port(int argc, char **argv, const struct rl_global *g, rl_error_t *err);

#endif
