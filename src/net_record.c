/* The network in container.json, and what inspect, ps and port show of it
 * (rl_net.h).  Ports are podman's PortMapping objects: host_ip,
 * container_port, host_port, range, protocol. */
#include "rl_net.h"

#include <stdio.h>
#include <string.h>

static json_t *ports_json(const struct rl_port *p, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:i, s:s}", "host_ip", p[i].host_ip,
                                       "container_port", p[i].container_port, "host_port",
                                       p[i].host_port, "range", p[i].count, "protocol",
                                       p[i].udp ? "udp" : "tcp"));
  return a;
}

static json_t *ns_target(const char *id)
{
  return id ? json_sprintf("container:%s", id) : json_null();
}

void rl_net_to_json(const struct rl_net *n, const struct rl_net_opts *o, json_t *config)
{
  json_t *mode = n->mode == RL_NET_CONTAINER ? ns_target(n->target_id)
                                             : json_string(rl_net_mode_name(n->mode));
  json_object_set_new(config, "network", mode);
  json_object_set_new(config, "network_options",
                      o->helper_opts ? json_string(o->helper_opts) : json_null());
  json_object_set_new(config, "ports", ports_json(n->ports, n->n_ports));
  json_object_set_new(config, "pid", ns_target(n->pid_target_id));
  json_object_set_new(config, "ipc", ns_target(n->ipc_target_id));
  json_object_set_new(config, "net_address", json_string(n->address));
  json_object_set_new(config, "net_gateway", json_string(n->gateway));
  json_object_set_new(config, "net_prefix_len", json_integer(n->prefix_len));
  json_object_set_new(config, "host_loopback", json_boolean(n->host_loopback && n->gateway[0]));
}

static char *target_of(json_t *v)
{
  const char *s = json_string_value(v);
  return s && strncmp(s, "container:", 10) == 0 && s[10] ? rl_xstrdup(s + 10) : NULL;
}

bool rl_net_port_from_json(json_t *v, struct rl_port *p)
{
  *p = (struct rl_port){.count = 1};
  const char *ip = json_string_value(json_object_get(v, "host_ip"));
  snprintf(p->host_ip, sizeof(p->host_ip), "%s", ip ? ip : "");
  p->host_port = (uint16_t)json_integer_value(json_object_get(v, "host_port"));
  p->container_port = (uint16_t)json_integer_value(json_object_get(v, "container_port"));
  json_int_t range = json_integer_value(json_object_get(v, "range"));
  p->count = range > 0 && range <= 65535 ? (uint16_t)range : 1;
  const char *proto = json_string_value(json_object_get(v, "protocol"));
  p->udp = proto && strcmp(proto, "udp") == 0;
  return p->container_port != 0 && p->host_port != 0;
}

char *rl_net_host_text(const char *ip)
{
  bool v6 = strchr(ip, ':') != NULL;
  return rl_xasprintf("%s%s%s", v6 ? "[" : "", *ip ? ip : "0.0.0.0", v6 ? "]" : "");
}

static void ports_from_json(json_t *a, struct rl_net_opts *o)
{
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v)
  {
    struct rl_port p;
    if (!rl_net_port_from_json(v, &p))
      continue;
    o->ports = rl_xrealloc(o->ports, (o->n_ports + 1) * sizeof(*o->ports));
    o->ports[o->n_ports++] = p;
  }
}

void rl_net_opts_from_json(json_t *config, enum rl_network_mode *mode, struct rl_net_opts *o)
{
  const char *net = json_string_value(json_object_get(config, "network"));
  const char *opts = json_string_value(json_object_get(config, "network_options"));
  cleanup_free char *spec = net && opts ? rl_xasprintf("%s:%s", net, opts) : NULL;
  rl_error_t e = NULL;
  *mode = RL_NET_NONE; /* records from before networking */
  if (net && rl_net_mode_parse(spec ? spec : net, mode, o, &e) < 0) {
    rl_warn("container network `%s`: %s; using none", net, e->msg);
    rl_error_free(&e);
    *mode = RL_NET_NONE;
  }
  ports_from_json(json_object_get(config, "ports"), o);
  o->pid_container = target_of(json_object_get(config, "pid"));
  o->ipc_container = target_of(json_object_get(config, "ipc"));
}

static char *range_text(unsigned first, unsigned count)
{
  return count > 1 ? rl_xasprintf("%u-%u", first, first + count - 1) : rl_xasprintf("%u", first);
}

char *rl_net_ports_text(json_t *ports)
{
  char *s = rl_xstrdup("");
  size_t i;
  json_t *v;
  json_array_foreach(ports, i, v)
  {
    struct rl_port p;
    rl_net_port_from_json(v, &p);
    cleanup_free char *host = rl_net_host_text(p.host_ip);
    cleanup_free char *h = range_text(p.host_port, p.count);
    cleanup_free char *c = range_text(p.container_port, p.count);
    char *next =
        rl_xasprintf("%s%s%s:%s->%s/%s", s, *s ? ", " : "", host, h, c, p.udp ? "udp" : "tcp");
    free(s);
    s = next;
  }
  return s;
}

json_t *rl_net_ports_docker(json_t *ports)
{
  json_t *o = json_object();
  size_t i;
  json_t *v;
  json_array_foreach(ports, i, v)
  {
    struct rl_port p;
    rl_net_port_from_json(v, &p);
    for (unsigned k = 0; k < p.count; k++) {
      cleanup_free char *key = rl_xasprintf("%u/%s", p.container_port + k, p.udp ? "udp" : "tcp");
      cleanup_free char *port = rl_xasprintf("%u", p.host_port + k);
      json_t *list = json_object_get(o, key);
      if (list == NULL)
        json_object_set_new(o, key, list = json_array());
      json_array_append_new(list,
                            json_pack("{s:s, s:s}", "HostIp", p.host_ip[0] ? p.host_ip : "0.0.0.0",
                                      "HostPort", port));
    }
  }
  return o;
}

json_t *rl_net_settings_json(json_t *config, pid_t pid)
{
  const char *addr = json_string_value(json_object_get(config, "net_address"));
  const char *gw = json_string_value(json_object_get(config, "net_gateway"));
  const char *mode = json_string_value(json_object_get(config, "network"));
  cleanup_free char *key = pid > 0 ? rl_xasprintf("/proc/%d/ns/net", (int)pid) : rl_xstrdup("");
  json_t *s = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:s, s:b}", "NetworkMode",
                        mode ? mode : "none", "Bridge", "", "SandboxKey", key, "Ports",
                        rl_net_ports_docker(json_object_get(config, "ports")), "IPAddress",
                        addr ? addr : "", "Gateway", gw ? gw : "", "IPPrefixLen",
                        (json_int_t)json_integer_value(json_object_get(config, "net_prefix_len")),
                        "MacAddress", "", "HostLoopback",
                        json_is_true(json_object_get(config, "host_loopback")));
  return s;
}
