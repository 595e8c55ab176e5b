/* Networking options and the pure helpers of the network module (rl_net.h). */
#include "rl_net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char *rl_net_mode_name(enum rl_network_mode m)
{
  static const char *const names[] = {"none",        "host",      "pasta",
                                      "slirp4netns", "container", "default"};
  return (size_t)m < RL_ARRAY_SIZE(names) ? names[m] : "none";
}

const char rl_net_usage[] =
    "      --network MODE       none: loopback only; host: the host's network; pasta[:OPTS]\n"
    "                           (the default when installed) or slirp4netns[:OPTS]: user-mode\n"
    "                           networking, OPTS comma-separated (allow_host_loopback=false,\n"
    "                           port_handler=slirp4netns, or the helper's own arguments);\n"
    "                           container:NAME: NAME's\n"
    "  -p, --publish [IP:][HOST:]PORT[/tcp|udp]  publish a container port (ranges A-B too)\n"
    "  -P, --publish-all        publish the image's ExposedPorts on free host ports\n"
    "      --pid container:NAME  join NAME's pid namespace\n"
    "      --ipc container:NAME  join NAME's ipc namespace\n";

static void set_str(char **dst, const char *val)
{
  free(*dst);
  *dst = val ? rl_xstrdup(val) : NULL;
}

int rl_net_mode_parse(const char *arg, enum rl_network_mode *mode, struct rl_net_opts *o,
                      rl_error_t *err)
{
  static const struct {
    const char *name;
    enum rl_network_mode mode;
  } modes[] = {{"none", RL_NET_NONE},
               {"host", RL_NET_HOST},
               {"pasta", RL_NET_PASTA},
               {"slirp4netns", RL_NET_SLIRP4NETNS}};
  const char *colon = strchr(arg, ':');
  size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
  set_str(&o->helper_opts, NULL);
  set_str(&o->container, NULL);
  if (len == 9 && strncmp(arg, "container", 9) == 0 && colon && colon[1]) {
    *mode = RL_NET_CONTAINER;
    set_str(&o->container, colon + 1);
    return 0;
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(modes); i++) {
    if (strlen(modes[i].name) != len || strncmp(arg, modes[i].name, len) != 0)
      continue;
    if (colon && modes[i].mode != RL_NET_PASTA && modes[i].mode != RL_NET_SLIRP4NETNS)
      break;
    *mode = modes[i].mode;
    if (colon && colon[1])
      set_str(&o->helper_opts, colon + 1);
    return 0;
  }
  rl_make_error(err, 0, "invalid value `%s` for --network", arg);
  return rl_error_hint(err, "use none, host, pasta[:OPTS], slirp4netns[:OPTS] or container:NAME; "
                            "see docs/networking.md");
}

int rl_net_opt(int opt, const char *arg, struct rl_net_opts *o, rl_error_t *err)
{
  if (opt == RL_OPT_PID)
    return rl_net_ns_parse("pid", arg, &o->pid_container, err);
  if (opt == RL_OPT_IPC)
    return rl_net_ns_parse("ipc", arg, &o->ipc_container, err);
  return rl_make_error(err, 0, "internal error: unhandled network option %d", opt);
}

int rl_net_ns_parse(const char *opt, const char *arg, char **container, rl_error_t *err)
{
  if (strcmp(arg, "private") == 0) {
    set_str(container, NULL);
    return 0;
  }
  if (strncmp(arg, "container:", 10) == 0 && arg[10]) {
    set_str(container, arg + 10);
    return 0;
  }
  rl_make_error(err, 0, "invalid value `%s` for --%s", arg, opt);
  return rl_error_hint(err, "use private (the default) or container:NAME");
}

/* "A" or "A-B", 1..65535. */
static int parse_range(const char *s, size_t len, uint16_t *first, uint16_t *count)
{
  char buf[16];
  if (len == 0 || len >= sizeof(buf))
    return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  errno = 0;
  unsigned long a = strtoul(buf, &end, 10), b = a;
  if (end == buf || !isdigit((unsigned char)buf[0]))
    return -1;
  if (*end == '-') {
    char *p = end + 1;
    if (!isdigit((unsigned char)*p))
      return -1;
    b = strtoul(p, &end, 10);
  }
  if (errno || *end || a == 0 || a > 65535 || b < a || b > 65535)
    return -1;
  *first = (uint16_t)a;
  *count = (uint16_t)(b - a + 1);
  return 0;
}

static bool ip_ok(const char *ip)
{
  unsigned char buf[16];
  return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

static int bad_port(const char *spec, const char *why, rl_error_t *err)
{
  rl_make_error(err, 0, "invalid -p `%s`: %s", spec, why);
  return rl_error_hint(err, "use [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], ranges as "
                            "8080-8081:80-81, an IPv6 address in brackets ([::1]:8080:80)");
}

/* Split "[IP:][HOST:]CPORT" (no protocol) into its three parts. */
static int split_port(const char *spec, char *s, char **ip, char **host, char **cport,
                      rl_error_t *err)
{
  *ip = *host = NULL;
  if (*s == '[') {
    char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return bad_port(spec, "an IPv6 address in brackets must be followed by `:`", err);
    *close = '\0';
    *ip = s + 1;
    s = close + 2;
    char *c = strchr(s, ':');
    if (c == NULL)
      return bad_port(spec, "expected IP:HOST_PORT:CONTAINER_PORT", err);
    *c = '\0';
    *host = s;
    *cport = c + 1;
    return 0;
  }
  char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (c2 && strchr(c2 + 1, ':'))
    return bad_port(spec, "too many `:` (an IPv6 address goes in brackets)", err);
  if (c2) {
    *c1 = *c2 = '\0';
    *ip = s;
    *host = c1 + 1;
    *cport = c2 + 1;
  } else if (c1) {
    *c1 = '\0';
    *host = s;
    *cport = c1 + 1;
  } else {
    *cport = s;
  }
  return 0;
}

static void push_port(struct rl_port **out, size_t *n, const struct rl_port *p)
{
  *out = rl_xrealloc(*out, (*n + 1) * sizeof(**out));
  (*out)[(*n)++] = *p;
}

int rl_port_parse(const char *spec, struct rl_port **out, size_t *n, rl_error_t *err)
{
  cleanup_free char *s = rl_xstrdup(spec);
  struct rl_port p = {.count = 1};
  char *slash = strrchr(s, '/'), *ip = NULL, *host = NULL, *cport = NULL;
  if (slash) {
    *slash = '\0';
    if (strcmp(slash + 1, "udp") == 0)
      p.udp = true;
    else if (strcmp(slash + 1, "tcp") != 0)
      return bad_port(spec, "the protocol must be tcp or udp", err);
  }
  if (split_port(spec, s, &ip, &host, &cport, err) < 0)
    return -1;
  if (ip && *ip && (!ip_ok(ip) || strlen(ip) >= sizeof(p.host_ip)))
    return bad_port(spec, "the host address is not an IPv4 or IPv6 address", err);
  snprintf(p.host_ip, sizeof(p.host_ip), "%s", ip ? ip : "");
  uint16_t ccount, hcount = 0;
  if (parse_range(cport, strlen(cport), &p.container_port, &ccount) < 0)
    return bad_port(spec, "the container port must be a number 1-65535 or a range A-B", err);
  if (host && *host && parse_range(host, strlen(host), &p.host_port, &hcount) < 0)
    return bad_port(spec, "the host port must be a number 1-65535 or a range A-B", err);
  if (hcount && hcount != ccount)
    return bad_port(spec, "the host and container ranges differ in length", err);
  if (hcount) {
    p.count = ccount;
    push_port(out, n, &p);
    return 0;
  }
  for (uint16_t i = 0; i < ccount; i++) { /* each one its own free host port */
    struct rl_port one = p;
    one.container_port = (uint16_t)(p.container_port + i);
    push_port(out, n, &one);
  }
  return 0;
}

int rl_net_publish_add(struct rl_net_opts *o, const char *spec, rl_error_t *err)
{
  return rl_port_parse(spec, &o->ports, &o->n_ports, err);
}

void rl_net_opts_free(struct rl_net_opts *o)
{
  free(o->helper_opts);
  free(o->container);
  free(o->pid_container);
  free(o->ipc_container);
  free(o->ports);
  memset(o, 0, sizeof(*o));
}

static int bool_value(const char *key, const char *v, bool *out, rl_error_t *err)
{
  if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
    *out = v[0] == 't';
    return 0;
  }
  return rl_make_error(err, 0, "invalid network option `%s=%s`: use true or false", key, v);
}

/* slirp4netns' TCP ports: rless' forwarder (podman's rootlessport, which
 * podman names port_handler=rootlesskit) or slirp4netns' own add_hostfwd. */
static int port_handler(const char *word, const char *v, struct rl_net *n, rl_error_t *err)
{
  if (n->mode == RL_NET_PASTA) {
    rl_make_error(err, 0, "invalid network option `%s`: port_handler is a slirp4netns option",
                  word);
    return rl_error_hint(err, "pasta forwards the ports itself: leave port_handler out");
  }
  if (strcmp(v, "slirp4netns") == 0 || strcmp(v, "rootlesskit") == 0) {
    n->slirp_hostfwd = v[0] == 's';
    return 1;
  }
  return rl_make_error(err, 0,
                       "invalid network option `%s`: use port_handler=rootlesskit (rless' "
                       "forwarder, the default) or port_handler=slirp4netns",
                       word);
}

/* podman's key=value words; 1 when `word` is one, 0 when it is not. */
static int known_option(const char *word, struct rl_net *n, rl_error_t *err)
{
  const char *eq = strchr(word, '=');
  if (word[0] == '-' || eq == NULL)
    return 0;
  size_t klen = (size_t)(eq - word);
  const char *v = eq + 1;
#define KEY(k) (klen == strlen(k) && strncmp(word, k, klen) == 0)
  if (KEY("allow_host_loopback"))
    return bool_value("allow_host_loopback", v, &n->host_loopback, err) < 0 ? -1 : 1;
  if (KEY("enable_ipv6"))
    return bool_value("enable_ipv6", v, &n->ipv6, err) < 0 ? -1 : 1;
  if (KEY("mtu")) {
    char *end;
    unsigned long m = strtoul(v, &end, 10);
    if (*v == '\0' || *end || m < 68 || m > 65521)
      return rl_make_error(err, 0, "invalid network option `%s`: mtu is 68-65521", word);
    n->mtu = (unsigned)m;
    return 1;
  }
  if (KEY("cidr")) {
    free(n->cidr);
    n->cidr = rl_xstrdup(v);
    return 1;
  }
  if (KEY("port_handler")) /* podman's words: rootlesskit is its rootlessport */
    return port_handler(word, v, n, err);
#undef KEY
  return 0;
}

int rl_net_helper_opts(const char *opts, struct rl_net *n, rl_error_t *err)
{
  cleanup_free char *copy = rl_xstrdup(opts ? opts : "");
  char *save = NULL;
  for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    int r = known_option(w, n, err);
    if (r < 0)
      return -1;
    if (r == 0)
      rl_strv_push(&n->helper_args, w);
  }
  return 0;
}

static char *range_text(uint16_t first, uint16_t count)
{
  return count > 1 ? rl_xasprintf("%u-%u", first, first + count - 1) : rl_xasprintf("%u", first);
}

char *rl_net_pasta_ports(const struct rl_port *p, size_t n, bool udp)
{
  char *s = rl_xstrdup("");
  for (size_t i = 0; i < n; i++) {
    if (p[i].udp != udp)
      continue;
    cleanup_free char *h = range_text(p[i].host_port, p[i].count);
    cleanup_free char *c = range_text(p[i].container_port, p[i].count);
    char *next = rl_xasprintf("%s%s%s%s%s:%s", s, *s ? "," : "", p[i].host_ip,
                              p[i].host_ip[0] ? "/" : "", h, c);
    free(s);
    s = next;
  }
  if (*s == '\0') {
    free(s);
    s = rl_xstrdup("none");
  }
  return s;
}

int rl_net_parse_route(const char *text, char gw[RL_NET_ADDR_MAX], char ifname[16])
{
  for (const char *p = text ? strchr(text, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) {
    char name[16];
    unsigned dest, gate, flags, mask;
    if (sscanf(p + 1, "%15s %x %x %x %*s %*s %*s %x", name, &dest, &gate, &flags, &mask) != 5)
      continue;
    if (dest != 0 || mask != 0 || !(flags & 0x2)) /* RTF_GATEWAY */
      continue;
    struct in_addr a = {.s_addr = gate}; /* the kernel prints it in network order */
    inet_ntop(AF_INET, &a, gw, RL_NET_ADDR_MAX);
    snprintf(ifname, 16, "%s", name);
    return 0;
  }
  return -1;
}

bool rl_net_is_loopback(const char *addr)
{
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, addr, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

void rl_net_local_stub(const char *resolv, char out[RL_NET_ADDR_MAX])
{
  out[0] = '\0';
  bool all_local = true, any = false;
  char first[RL_NET_ADDR_MAX] = "";
  for (const char *p = resolv; p && *p; p += strcspn(p, "\n"), p += *p == '\n') {
    char addr[RL_NET_ADDR_MAX];
    if (sscanf(p, "nameserver %45s", addr) != 1)
      continue;
    any = true;
    if (!rl_net_is_loopback(addr))
      all_local = false;
    else if (first[0] == '\0')
      snprintf(first, sizeof(first), "%s", addr);
  }
  if (any && all_local)
    snprintf(out, RL_NET_ADDR_MAX, "%s", first);
}

char *rl_net_remote_servers(const char *resolv)
{
  char *s = NULL;
  int n = 0;
  for (const char *p = resolv; p && *p && n < 3; p += strcspn(p, "\n"), p += *p == '\n') {
    char addr[RL_NET_ADDR_MAX];
    if (sscanf(p, "nameserver %45s", addr) != 1 || rl_net_is_loopback(addr))
      continue;
    char *next = rl_xasprintf("%s%s%s", s ? s : "", s ? " " : "", addr);
    free(s);
    s = next;
    n++;
  }
  return s;
}
