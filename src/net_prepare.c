/* The network of a container, resolved before clone: the default mode, the
 * helper program, container:NAME targets pinned, ports checked and chosen,
 * the container's address and gateway, the DNS forwarder (rl_net.h). */
#include "rl_cstate.h"
#include "rl_idmap.h"
#include "rl_net.h"
#include "rl_options.h"
#include "rl_paths.h"
#include "rl_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PASTA_DNS_FORWARD "169.254.1.1" /* podman's choice: off every network pasta copies */

static const char tun_hint[] =
    "pasta and slirp4netns give the container a tap device: /dev/net/tun must be usable by "
    "everyone (Debian's udev rules make it 0666; as root: chmod 0666 /dev/net/tun)";

static bool tun_usable(void)
{
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return false;
  close(fd);
  return true;
}

enum rl_network_mode rl_net_default_mode(char **helper)
{
  if (!tun_usable()) {
    rl_debug("network: /dev/net/tun is not usable, containers get --network none");
    return RL_NET_NONE;
  }
  if ((*helper = rl_find_program("pasta")))
    return RL_NET_PASTA;
  if ((*helper = rl_find_program("slirp4netns")))
    return RL_NET_SLIRP4NETNS;
  rl_debug("network: neither pasta nor slirp4netns is installed, containers get --network none");
  return RL_NET_NONE;
}

static int find_helper(struct rl_net *n, rl_error_t *err)
{
  const char *name = rl_net_mode_name(n->mode);
  if (n->helper == NULL && (n->helper = rl_find_program(name)) == NULL) {
    rl_make_error(err, 0, "--network %s: `%s` is not installed", name, name);
    return rl_error_hint(err, "as root: apt-get install %s",
                         n->mode == RL_NET_PASTA ? "passt" : "slirp4netns");
  }
  if (!tun_usable()) {
    rl_make_error(err, errno, "--network %s: open `/dev/net/tun`", name);
    return rl_error_hint(err, "%s", tun_hint);
  }
  return 0;
}

static long unprivileged_port_start(void)
{
  cleanup_free char *s =
      rl_read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_unprivileged_port_start", 64, NULL);
  return s ? strtol(s, NULL, 10) : 1024;
}

/* A free port of the host, chosen as the kernel would for a bind to port 0. */
static int pick_port(struct rl_port *p, rl_error_t *err)
{
  struct sockaddr_storage ss = {0};
  socklen_t len;
  const char *ip = p->host_ip[0] ? p->host_ip : "0.0.0.0";
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    len = sizeof(*a4);
  } else {
    inet_pton(AF_INET6, ip, &a6->sin6_addr);
    a6->sin6_family = AF_INET6;
    len = sizeof(*a6);
  }
  cleanup_close int fd =
      socket(ss.ss_family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
      getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
    return rl_make_error(err, errno, "find a free host port on %s for container port %u/%s", ip,
                         p->container_port, p->udp ? "udp" : "tcp");
  p->host_port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
  return 0;
}

/* Checked before anything else about the network: the fix is on the host. */
static int check_privileged(const struct rl_port *ports, size_t count, rl_error_t *err)
{
  long start = -1; /* read when a port asks: most runs publish none */
  for (size_t i = 0; i < count; i++) {
    const struct rl_port *p = &ports[i];
    if (p->host_port == 0)
      continue;
    if (start < 0)
      start = unprivileged_port_start();
    if (p->host_port >= start)
      continue;
    rl_make_error(err, 0,
                  "cannot publish host port %u: ports below %ld need privilege "
                  "(sysctl net.ipv4.ip_unprivileged_port_start=%ld)",
                  p->host_port, start, start);
    return rl_error_hint(err,
                         "publish a port of %ld or more (-p %ld:%u), or as root: sysctl "
                         "-w net.ipv4.ip_unprivileged_port_start=%u",
                         start, start, p->container_port, p->host_port);
  }
  return 0;
}

static int add_ports(struct rl_net *n, const struct rl_port *ports, size_t count, rl_error_t *err)
{
  for (size_t i = 0; i < count; i++) {
    struct rl_port p = ports[i];
    if (p.host_port == 0 && pick_port(&p, err) < 0)
      return -1;
    n->ports = rl_xrealloc(n->ports, (n->n_ports + 1) * sizeof(*n->ports));
    n->ports[n->n_ports++] = p;
  }
  return 0;
}

/* The value after -a/--address or -g/--gateway among the helper's arguments. */
static const char *arg_value(const rl_strv_t *args, const char *s, const char *l)
{
  for (size_t i = 0; i + 1 < args->n; i++)
    if (strcmp(args->v[i], s) == 0 || strcmp(args->v[i], l) == 0)
      return args->v[i + 1];
  return NULL;
}

/* The interface pasta makes in the container: -I NAME, else the host's
 * interface of the default route, which pasta names it after (rless passes
 * it as -I, so the name of the tap device made for it is pasta's). */
static void pasta_ifname(struct rl_net *n, const char *host_if)
{
  const char *name = arg_value(&n->helper_args, "-I", "--ns-ifname");
  for (size_t i = 0; name == NULL && i < n->helper_args.n; i++)
    if (strncmp(n->helper_args.v[i], "--ns-ifname=", 12) == 0)
      name = n->helper_args.v[i] + 12;
  if (name == NULL)
    name = host_if;
  if (strlen(name) < sizeof(n->tap))
    snprintf(n->tap, sizeof(n->tap), "%s", name);
}

/* pasta copies the host: the address of the interface of the default
 * route, and that route's gateway (unless -a/-g say otherwise). */
static void pasta_addresses(struct rl_net *n)
{
  char ifname[16] = "";
  cleanup_free char *route = rl_read_file_at(AT_FDCWD, "/proc/net/route", 1 << 20, NULL);
  if (rl_net_parse_route(route, n->gateway, ifname) < 0)
    n->gateway[0] = '\0';
  struct ifaddrs *ifa = NULL;
  if (ifname[0] && getifaddrs(&ifa) == 0) {
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, ifname) != 0)
        continue;
      inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, n->address,
                sizeof(n->address));
      uint32_t m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
      n->prefix_len = __builtin_popcount(m);
      break;
    }
    freeifaddrs(ifa);
  }
  const char *a = arg_value(&n->helper_args, "-a", "--address");
  const char *g = arg_value(&n->helper_args, "-g", "--gateway");
  if (a && strchr(a, ':') == NULL)
    snprintf(n->address, sizeof(n->address), "%s", a);
  if (g && strchr(g, ':') == NULL)
    snprintf(n->gateway, sizeof(n->gateway), "%s", g);
  pasta_ifname(n, ifname);
}

/* slirp4netns: .100 is the container, .2 the gateway (the host), .3 DNS. */
static int slirp_addresses(struct rl_net *n, rl_error_t *err)
{
  const char *cidr = n->cidr ? n->cidr : "10.0.2.0/24";
  char net[RL_NET_ADDR_MAX];
  int bits = 24;
  struct in_addr a;
  if (sscanf(cidr, "%45[0-9.]/%d", net, &bits) != 2 || bits < 1 || bits > 25 ||
      inet_pton(AF_INET, net, &a) != 1)
    return rl_make_error(err, 0,
                         "invalid network option `cidr=%s`: expected an IPv4 network "
                         "of /25 or more addresses, e.g. 10.0.2.0/24",
                         cidr);
  uint32_t base = ntohl(a.s_addr) & (uint32_t)(~0u << (32 - bits));
  struct in_addr self = {.s_addr = htonl(base + 100)}, gw = {.s_addr = htonl(base + 2)};
  inet_ntop(AF_INET, &self, n->address, sizeof(n->address));
  inet_ntop(AF_INET, &gw, n->gateway, sizeof(n->gateway));
  n->prefix_len = bits;
  return 0;
}

/* The host resolves through a local stub (127.0.0.53): the container cannot
 * reach it.  slirp4netns' DNS address (.3) forwards to it from the host.
 * pasta's --dns-forward reaches a stub on 127.0.0.1 only (through its
 * gateway mapping; Debian 12's passt at least): systemd-resolved's own
 * servers are used instead when it lists them, as docker does. */
static void dns_forwarder(struct rl_net *n)
{
  char stub[RL_NET_ADDR_MAX], up[RL_NET_ADDR_MAX] = "";
  cleanup_free char *resolv = rl_read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 16, NULL);
  rl_net_local_stub(resolv, stub);
  if (stub[0] == '\0')
    return;
  if (n->mode == RL_NET_SLIRP4NETNS) {
    struct in_addr g;
    inet_pton(AF_INET, n->gateway, &g);
    g.s_addr = htonl(ntohl(g.s_addr) + 1); /* .2 -> .3 */
    inet_ntop(AF_INET, &g, up, sizeof(up));
    n->resolv_servers = rl_xstrdup(up);
    return;
  }
  cleanup_free char *real =
      rl_read_file_at(AT_FDCWD, "/run/systemd/resolve/resolv.conf", 1 << 16, NULL);
  n->resolv_servers = rl_net_remote_servers(real);
  if (n->resolv_servers)
    return;
  snprintf(n->dns_forward, sizeof(n->dns_forward), "%s", PASTA_DNS_FORWARD);
  n->resolv_servers = rl_xstrdup(PASTA_DNS_FORWARD);
}

static int prepare_helper(struct rl_net *n, const struct rl_run_opts *o, const char *id,
                          rl_error_t *err)
{
  if (find_helper(n, err) < 0 || rl_net_helper_opts(o->net.helper_opts, n, err) < 0)
    return -1;
  if (n->mode == RL_NET_PASTA)
    pasta_addresses(n);
  else if (slirp_addresses(n, err) < 0)
    return -1;
  else
    snprintf(n->tap, sizeof(n->tap), "tap0");
  dns_forwarder(n);
  if (n->host_loopback && n->gateway[0])
    rl_strv_push_owned(
        &n->hosts, rl_xasprintf("%s\thost.containers.internal host.rless.internal", n->gateway));
  if (n->mode == RL_NET_SLIRP4NETNS && o->net.n_ports + o->net.publish_all > 0) {
    cleanup_free char *run = rl_runtime_dir(NULL, err);
    if (run == NULL)
      return -1;
    n->api_path = rl_xasprintf("%s/slirp4netns-%.12s.sock", run, id);
    if (strlen(n->api_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
      rl_make_error(err, ENAMETOOLONG, "slirp4netns API socket `%s`", n->api_path);
      return rl_error_hint(err, "use a shorter XDG_RUNTIME_DIR");
    }
  }
  return 0;
}

/* ---- container:NAME ---- */

static enum rl_userns_mode userns_mode(const char *name)
{
  static const char *const names[] = {"auto", "subids", "keep-id", "single"};
  for (size_t i = 0; name && i < RL_ARRAY_SIZE(names); i++)
    if (strcmp(name, names[i]) == 0)
      return (enum rl_userns_mode)i;
  return RL_USERNS_AUTO;
}

struct target_refs {
  const char *name; /* the one container every container: option names */
  int flags;        /* CLONE_NEWNET/PID/IPC taken from it */
};

static int collect_refs(const struct rl_run_opts *o, struct target_refs *t, rl_error_t *err)
{
  const char *refs[] = {o->network == RL_NET_CONTAINER ? o->net.container : NULL,
                        o->net.pid_container, o->net.ipc_container};
  static const int flags[] = {CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWIPC};
  memset(t, 0, sizeof(*t));
  for (size_t i = 0; i < RL_ARRAY_SIZE(refs); i++) {
    if (refs[i] == NULL)
      continue;
    if (t->name && strcmp(t->name, refs[i]) != 0) {
      rl_make_error(err, 0, "--network, --pid and --ipc name different containers (%s, %s)",
                    t->name, refs[i]);
      return rl_error_hint(err, "namespaces are joined with the user namespace that owns them: "
                                "they must all come from one container");
    }
    t->name = refs[i];
    t->flags |= flags[i];
  }
  return 0;
}

static int check_userns(const struct rl_cstate *cs, struct rl_run_opts *o, struct rl_net *n,
                        rl_error_t *err)
{
  const char *u = json_string_value(json_object_get(cs->config, "userns_resolved"));
  enum rl_userns_mode m = userns_mode(u);
  if (o->userns != RL_USERNS_AUTO && o->userns != m) {
    rl_make_error(err, 0,
                  "container %s runs with --userns=%s: a container joining its "
                  "namespaces shares its user namespace",
                  cs->name, u ? u : "auto");
    return rl_error_hint(err, "drop --userns, or give --userns=%s", u ? u : "auto");
  }
  o->userns = m;
  n->target_userns = u ? rl_xstrdup(u) : NULL;
  return 0;
}

static void record_target(struct rl_net *n, const struct rl_cstate *cs, int flags)
{
  char **ids[] = {&n->target_id, &n->pid_target_id, &n->ipc_target_id};
  static const int f[] = {CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWIPC};
  for (size_t i = 0; i < RL_ARRAY_SIZE(f); i++)
    if (flags & f[i])
      *ids[i] = rl_xstrdup(cs->id);
  const char *host = json_string_value(json_object_get(cs->config, "hostname"));
  bool other = host && *host && strcmp(host, cs->name) != 0;
  rl_strv_push_owned(
      &n->hosts, rl_xasprintf("127.0.0.1\t%s%s%s", cs->name, other ? " " : "", other ? host : ""));
  n->join_flags = CLONE_NEWUSER | (flags & n->join.flags);
  /* Its network namespace is the host's (--network host): so is ours. */
  if ((flags & CLONE_NEWNET) && !(n->join.flags & CLONE_NEWNET))
    n->sysfs_ok = false;
}

static int resolve_target(struct rl_net *n, struct rl_run_opts *o, rl_error_t *err)
{
  struct target_refs t;
  if (collect_refs(o, &t, err) < 0)
    return -1;
  if (t.name == NULL)
    return 0;
  cleanup_free char *root = rl_data_dir(o->root, err);
  struct rl_store s = {.rootfd = -1};
  struct rl_cstate cs = {0};
  char id[65];
  int r = root ? rl_store_open(root, false, &s, err) : -1;
  if (r < 0 && root && (*err)->errnum == ENOENT) {
    rl_error_free(err);
    rl_make_error(err, 0, "No such container: %s", t.name);
  }
  if (r == 0)
    r = rl_cstate_find(&s, t.name, id, err);
  if (r == 0)
    r = rl_cstate_load(&s, id, &cs, err);
  if (r == 0 && cs.status != RL_CSTATUS_RUNNING)
    r = rl_make_error(err, 0, "container %s is not running: its namespaces cannot be joined",
                      t.name);
  if (r == 0)
    r = rl_nsjoin_pin(t.name, cs.pid, cs.pid_start, &n->join, err);
  if (r == 0)
    r = check_userns(&cs, o, n, err);
  if (r == 0)
    record_target(n, &cs, t.flags);
  rl_cstate_free(&cs);
  if (s.rootfd >= 0)
    rl_store_close(&s);
  if (r < 0) /* "No such container" is 1 for inspect, 125 for run */
    rl_error_set_exit(err, RL_EXIT_FAILURE);
  return r;
}

/* ---- the whole ---- */

static int check_ports(const struct rl_net *n, const struct rl_run_opts *o, rl_error_t *err)
{
  if ((o->net.n_ports == 0 && !o->net.publish_all) || n->mode == RL_NET_PASTA ||
      n->mode == RL_NET_SLIRP4NETNS)
    return 0;
  if (o->network == RL_NET_DEFAULT) {
    rl_make_error(err, 0,
                  "publishing ports needs a network helper, and this host has none "
                  "usable");
    return rl_error_hint(err, "as root: apt-get install passt (pasta), and make /dev/net/tun "
                              "0666 if it is not");
  }
  rl_make_error(err, 0,
                "-p/-P publish ports of a container's own network: --network %s has "
                "none of its own to publish",
                rl_net_mode_name(n->mode));
  return rl_error_hint(err, "use --network pasta or slirp4netns%s",
                       n->mode == RL_NET_CONTAINER ? ", and publish them on the container whose "
                                                     "network is shared"
                                                   : "");
}

int rl_net_prepare(struct rl_net *n, struct rl_run_opts *o, const char *id, rl_error_t *err)
{
  memset(n, 0, sizeof(*n));
  rl_nsjoin_init(&n->join);
  n->prepared = true;
  n->host_loopback = true;
  n->mode = o->network == RL_NET_DEFAULT ? rl_net_default_mode(&n->helper) : o->network;
  n->sysfs_ok = n->mode != RL_NET_HOST;
  if (check_privileged(o->net.ports, o->net.n_ports, err) < 0 || resolve_target(n, o, err) < 0 ||
      check_ports(n, o, err) < 0)
    return -1;
  if ((n->mode == RL_NET_PASTA || n->mode == RL_NET_SLIRP4NETNS) &&
      prepare_helper(n, o, id, err) < 0)
    return -1;
  return add_ports(n, o->net.ports, o->net.n_ports, err);
}

int rl_net_publish_exposed(struct rl_net *n, const struct rl_run_opts *o, json_t *image_config,
                           rl_error_t *err)
{
  const char *key;
  json_t *v;
  if (!o->net.publish_all)
    return 0;
  json_object_foreach(json_object_get(image_config, "ExposedPorts"), key, v)
  {
    struct rl_port *p = NULL;
    size_t np = 0;
    if (rl_port_parse(key, &p, &np, err) < 0)
      return rl_error_wrap(err, "the image's ExposedPorts");
    for (size_t i = 0; i < np; i++) {
      bool taken = false;
      for (size_t k = 0; k < n->n_ports && !taken; k++)
        taken = n->ports[k].udp == p[i].udp && p[i].container_port >= n->ports[k].container_port &&
                p[i].container_port < n->ports[k].container_port + n->ports[k].count;
      if (!taken && add_ports(n, &p[i], 1, err) < 0) {
        free(p);
        return -1;
      }
    }
    free(p);
  }
  return 0;
}

void rl_net_free(struct rl_net *n)
{
  if (!n->prepared)
    return;
  free(n->helper);
  rl_strv_free(&n->helper_args);
  free(n->cidr);
  free(n->ports);
  free(n->api_path);
  free(n->resolv_servers);
  rl_nsjoin_close(&n->join);
  free(n->target_id);
  free(n->pid_target_id);
  free(n->ipc_target_id);
  free(n->target_userns);
  rl_strv_free(&n->hosts);
  memset(n, 0, sizeof(*n));
}
