/* Unit tests for the network module's pure parts (src/net.c, src/net_record.c)
 * and the generated /etc files (src/etcfiles.c); no namespaces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_error.h"
#include "rl_etcfiles.h"
#include "rl_net.h"
#include "rl_options.h"
#include "rl_util.h"

int rl_log_level = 0;

#define ARGC(a) ((int)RL_ARRAY_SIZE(a))

static void expect_port(const char *spec, const char *ip, unsigned host, unsigned cport,
                        unsigned count, bool udp)
{
  struct rl_port *p = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_port_parse(spec, &p, &n, &err), 0);
  assert_null(err);
  assert_int_equal(n, 1);
  assert_string_equal(p[0].host_ip, ip);
  assert_int_equal(p[0].host_port, host);
  assert_int_equal(p[0].container_port, cport);
  assert_int_equal(p[0].count, count);
  assert_int_equal(p[0].udp, udp);
  free(p);
}

static void expect_port_error(const char *spec, const char *needle)
{
  struct rl_port *p = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_port_parse(spec, &p, &n, &err), -1);
  assert_non_null(err);
  if (strstr(err->msg, needle) == NULL)
    fail_msg("error `%s` does not contain `%s`", err->msg, needle);
  assert_non_null(err->hint);
  rl_error_free(&err);
  free(p);
}

static void test_port_forms(void **state)
{
  expect_port("80", "", 0, 80, 1, false);
  expect_port("8080:80", "", 8080, 80, 1, false);
  expect_port("127.0.0.1:8080:80", "127.0.0.1", 8080, 80, 1, false);
  expect_port("127.0.0.1::80/udp", "127.0.0.1", 0, 80, 1, true);
  expect_port("8080-8082:80-82/tcp", "", 8080, 80, 3, false);
  expect_port("[::1]:8080:80", "::1", 8080, 80, 1, false);
  expect_port("[::1]::53/udp", "::1", 0, 53, 1, true);
  expect_port("0.0.0.0:65535:1", "0.0.0.0", 65535, 1, 1, false);
}

/* Without a host port each port of a range gets a free one of its own. */
static void test_port_range_without_host(void **state)
{
  struct rl_port *p = NULL;
  size_t n = 0;
  rl_error_t err = NULL;
  assert_int_equal(rl_port_parse("127.0.0.1::7000-7002", &p, &n, &err), 0);
  assert_int_equal(n, 3);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(p[i].container_port, 7000 + i);
    assert_int_equal(p[i].host_port, 0);
    assert_int_equal(p[i].count, 1);
    assert_string_equal(p[i].host_ip, "127.0.0.1");
  }
  free(p);
}

static void test_port_errors(void **state)
{
  expect_port_error("", "container port");
  expect_port_error("0", "container port");
  expect_port_error("65536", "container port");
  expect_port_error("80/sctp", "tcp or udp");
  expect_port_error("8080-8081:80", "ranges differ");
  expect_port_error("9-8:80", "host port");
  expect_port_error("x:80", "host port");
  expect_port_error("1.2.3:8080:80", "IPv4 or IPv6");
  expect_port_error("::1:8080:80", "too many");
  expect_port_error("[::1:8080:80", "brackets");
  expect_port_error("80-", "container port");
}

static void test_mode_parse(void **state)
{
  struct rl_net_opts o = {0};
  enum rl_network_mode m = RL_NET_DEFAULT;
  rl_error_t err = NULL;
  assert_int_equal(rl_net_mode_parse("pasta:--no-map-gw,-a,10.0.0.5", &m, &o, &err), 0);
  assert_int_equal(m, RL_NET_PASTA);
  assert_string_equal(o.helper_opts, "--no-map-gw,-a,10.0.0.5");
  assert_int_equal(rl_net_mode_parse("slirp4netns", &m, &o, &err), 0);
  assert_int_equal(m, RL_NET_SLIRP4NETNS);
  assert_null(o.helper_opts); /* the last --network wins whole */
  assert_int_equal(rl_net_mode_parse("container:web", &m, &o, &err), 0);
  assert_int_equal(m, RL_NET_CONTAINER);
  assert_string_equal(o.container, "web");
  assert_int_equal(rl_net_mode_parse("none", &m, &o, &err), 0);
  assert_int_equal(m, RL_NET_NONE);
  assert_null(o.container);
  assert_int_equal(rl_net_mode_parse("host", &m, &o, &err), 0);
  assert_int_equal(m, RL_NET_HOST);
  static const char *const bad[] = {"bridge", "container:", "host:x", "pastax", ""};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    assert_int_equal(rl_net_mode_parse(bad[i], &m, &o, &err), -1);
    assert_non_null(strstr(err->msg, "for --network"));
    rl_error_free(&err);
  }
  rl_net_opts_free(&o);
}

static void test_run_options(void **state)
{
  char *a[] = {"run",          "-p",           "127.0.0.1:8080:80",
               "--publish",    "53/udp",       "-P",
               "--pid",        "container:db", "--ipc",
               "container:db", "--net",        "slirp4netns:mtu=1500",
               "--rootfs",     "/r",           "sh"};
  struct rl_run_opts o;
  rl_error_t err = NULL;
  assert_int_equal(rl_run_opts_parse(ARGC(a), a, &o, &err), 0);
  assert_int_equal(o.network, RL_NET_SLIRP4NETNS);
  assert_string_equal(o.net.helper_opts, "mtu=1500");
  assert_int_equal(o.net.n_ports, 2);
  assert_int_equal(o.net.ports[1].container_port, 53);
  assert_true(o.net.ports[1].udp);
  assert_true(o.net.publish_all);
  assert_string_equal(o.net.pid_container, "db");
  assert_string_equal(o.net.ipc_container, "db");
  rl_run_opts_free(&o);

  char *b[] = {"run", "--pid", "host", "--rootfs", "/r", "sh"};
  assert_int_equal(rl_run_opts_parse(ARGC(b), b, &o, &err), -1);
  assert_non_null(strstr(err->msg, "--pid"));
  rl_error_free(&err);
  rl_run_opts_free(&o);
  char *c[] = {"run", "-p", "80:80:80:80", "--rootfs", "/r", "sh"};
  assert_int_equal(rl_run_opts_parse(ARGC(c), c, &o, &err), -1);
  rl_error_free(&err);
  rl_run_opts_free(&o);
}

static void test_helper_opts(void **state)
{
  struct rl_net n = {.host_loopback = true};
  rl_error_t err = NULL;
  assert_int_equal(rl_net_helper_opts("allow_host_loopback=false,mtu=1500,enable_ipv6=true,"
                                      "cidr=10.5.0.0/24,port_handler=slirp4netns,--foo,-x,1",
                                      &n, &err),
                   0);
  assert_false(n.host_loopback);
  assert_true(n.ipv6);
  assert_int_equal(n.mtu, 1500);
  assert_string_equal(n.cidr, "10.5.0.0/24");
  assert_int_equal(n.helper_args.n, 3);
  assert_string_equal(n.helper_args.v[0], "--foo");
  assert_string_equal(n.helper_args.v[2], "1");
  static const char *const bad[] = {"allow_host_loopback=maybe", "mtu=10",
                                    "mtu=", "port_handler=rootlessport"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    assert_int_equal(rl_net_helper_opts(bad[i], &n, &err), -1);
    rl_error_free(&err);
  }
  rl_strv_free(&n.helper_args);
  free(n.cidr);
}

static void test_pasta_ports(void **state)
{
  struct rl_port p[] = {
      {.host_ip = "127.0.0.1", .host_port = 8080, .container_port = 80, .count = 1},
      {.host_ip = "", .host_port = 9000, .container_port = 9000, .count = 2},
      {.host_ip = "::1", .host_port = 5353, .container_port = 53, .count = 1, .udp = true},
  };
  char *t = rl_net_pasta_ports(p, 3, false), *u = rl_net_pasta_ports(p, 3, true);
  char *none = rl_net_pasta_ports(p, 0, false);
  assert_string_equal(t, "127.0.0.1/8080:80,9000-9001:9000-9001");
  assert_string_equal(u, "::1/5353:53");
  assert_string_equal(none, "none");
  free(t);
  free(u);
  free(none);
}

static void test_route(void **state)
{
  static const char route[] =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
  char gw[RL_NET_ADDR_MAX], ifname[16];
  assert_int_equal(rl_net_parse_route(route, gw, ifname), 0);
  assert_string_equal(gw, "192.0.2.1");
  assert_string_equal(ifname, "eth0");
  assert_int_equal(rl_net_parse_route("Iface\n", gw, ifname), -1);
  assert_int_equal(rl_net_parse_route(NULL, gw, ifname), -1);
}

static void test_local_stub(void **state)
{
  char out[RL_NET_ADDR_MAX];
  rl_net_local_stub("# systemd-resolved\nnameserver 127.0.0.53\noptions edns0\n", out);
  assert_string_equal(out, "127.0.0.53");
  rl_net_local_stub("nameserver ::1\nnameserver 127.0.1.1\n", out);
  assert_string_equal(out, "::1");
  rl_net_local_stub("nameserver 127.0.0.53\nnameserver 10.0.0.1\n", out);
  assert_string_equal(out, ""); /* a resolver the container reaches is there */
  rl_net_local_stub("search example.org\n", out);
  assert_string_equal(out, "");
  rl_net_local_stub(NULL, out);
  assert_string_equal(out, "");
  char *r =
      rl_net_remote_servers("nameserver 127.0.0.53\nnameserver 192.0.2.53\n# x\n"
                            "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n");
  assert_string_equal(r, "192.0.2.53 10.0.0.1 10.0.0.2");
  free(r);
  assert_null(rl_net_remote_servers("nameserver ::1\n"));
  assert_null(rl_net_remote_servers(NULL));
  assert_true(rl_net_is_loopback("127.255.0.1"));
  assert_false(rl_net_is_loopback("128.0.0.1"));
  assert_false(rl_net_is_loopback("fe80::1"));
}

static void test_hosts_text(void **state)
{
  rl_strv_t add = {0}, extra = {0};
  rl_strv_push(&add, "db:10.0.0.5");
  rl_strv_push(&extra, "192.0.2.1\thost.containers.internal host.rless.internal");
  rl_strv_push(&extra, "127.0.0.1\tweb webhost");
  char *t = rl_etc_hosts_text("box", &add, &extra);
  assert_string_equal(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                         "127.0.1.1\tbox\n10.0.0.5\tdb\n"
                         "192.0.2.1\thost.containers.internal host.rless.internal\n"
                         "127.0.0.1\tweb webhost\n");
  free(t);
  t = rl_etc_hosts_text("box", NULL, NULL);
  assert_string_equal(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                         "127.0.1.1\tbox\n");
  free(t);
  rl_strv_free(&add);
  rl_strv_free(&extra);
}

static void test_resolv_forwarder(void **state)
{
  static const char stub[] = "nameserver 127.0.0.53\nnameserver ::1\noptions edns0 trust-ad\n"
                             "search lan\n";
  char *t = rl_etc_resolv_text(stub, NULL, NULL, "169.254.1.1");
  assert_string_equal(t, "nameserver 169.254.1.1\noptions edns0 trust-ad\nsearch lan\n");
  free(t);
  t = rl_etc_resolv_text(stub, NULL, NULL, "192.0.2.53 10.0.0.1"); /* systemd-resolved's servers */
  assert_string_equal(t, "nameserver 192.0.2.53\nnameserver 10.0.0.1\noptions edns0 trust-ad\n"
                         "search lan\n");
  free(t);
  t = rl_etc_resolv_text(stub, NULL, NULL, NULL); /* --network none: the host's as it is */
  assert_string_equal(t, stub);
  free(t);
  rl_strv_t dns = {0}, search = {0};
  rl_strv_push(&dns, "9.9.9.9");
  rl_strv_push(&search, "a.example");
  t = rl_etc_resolv_text(stub, &dns, &search, "10.0.2.3"); /* --dns wins over the forwarder */
  assert_string_equal(t, "nameserver 9.9.9.9\nsearch a.example\n");
  free(t);
  t = rl_etc_resolv_text("nameserver 10.0.0.1\n", NULL, &search, "10.0.2.3");
  assert_string_equal(t, "nameserver 10.0.0.1\nsearch a.example\n");
  free(t);
  rl_strv_free(&dns);
  rl_strv_free(&search);
}

static void test_record_round_trip(void **state)
{
  struct rl_net n = {.mode = RL_NET_SLIRP4NETNS, .host_loopback = true, .prefix_len = 24};
  struct rl_port p[] = {
      {.host_ip = "127.0.0.1", .host_port = 8080, .container_port = 80, .count = 1},
      {.host_ip = "", .host_port = 9000, .container_port = 9000, .count = 2, .udp = true},
  };
  n.ports = p;
  n.n_ports = 2;
  snprintf(n.address, sizeof(n.address), "10.0.2.100");
  snprintf(n.gateway, sizeof(n.gateway), "10.0.2.2");
  n.pid_target_id = "abc";
  struct rl_net_opts o = {.helper_opts = "mtu=1500"};
  json_t *cfg = json_object();
  rl_net_to_json(&n, &o, cfg);
  assert_string_equal(json_string_value(json_object_get(cfg, "network")), "slirp4netns");
  assert_string_equal(json_string_value(json_object_get(cfg, "pid")), "container:abc");
  assert_true(json_is_null(json_object_get(cfg, "ipc")));

  char *text = rl_net_ports_text(json_object_get(cfg, "ports"));
  assert_string_equal(text, "127.0.0.1:8080->80/tcp, 0.0.0.0:9000-9001->9000-9001/udp");
  free(text);
  json_t *d = rl_net_ports_docker(json_object_get(cfg, "ports"));
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(d, "9001/udp"), 0), "HostPort")),
                      "9001");
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(d, "80/tcp"), 0), "HostIp")),
      "127.0.0.1");
  json_decref(d);
  json_t *s = rl_net_settings_json(cfg, 42);
  assert_string_equal(json_string_value(json_object_get(s, "IPAddress")), "10.0.2.100");
  assert_string_equal(json_string_value(json_object_get(s, "SandboxKey")), "/proc/42/ns/net");
  json_decref(s);

  enum rl_network_mode m;
  struct rl_net_opts back = {0};
  rl_net_opts_from_json(cfg, &m, &back);
  assert_int_equal(m, RL_NET_SLIRP4NETNS);
  assert_string_equal(back.helper_opts, "mtu=1500");
  assert_int_equal(back.n_ports, 2);
  assert_int_equal(back.ports[1].count, 2);
  assert_true(back.ports[1].udp);
  assert_int_equal(back.ports[0].host_port, 8080);
  assert_string_equal(back.pid_container, "abc");
  assert_null(back.ipc_container);
  rl_net_opts_free(&back);
  json_decref(cfg);

  /* A record from before networking: none, nothing published. */
  cfg = json_pack("{s:s}", "network", "host");
  rl_net_opts_from_json(cfg, &m, &back);
  assert_int_equal(m, RL_NET_HOST);
  assert_int_equal(back.n_ports, 0);
  text = rl_net_ports_text(json_object_get(cfg, "ports"));
  assert_string_equal(text, "");
  free(text);
  rl_net_opts_free(&back);
  json_decref(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_port_forms),       cmocka_unit_test(test_port_range_without_host),
      cmocka_unit_test(test_port_errors),      cmocka_unit_test(test_mode_parse),
      cmocka_unit_test(test_run_options),      cmocka_unit_test(test_helper_opts),
      cmocka_unit_test(test_pasta_ports),      cmocka_unit_test(test_route),
      cmocka_unit_test(test_local_stub),       cmocka_unit_test(test_hosts_text),
      cmocka_unit_test(test_resolv_forwarder), cmocka_unit_test(test_record_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
