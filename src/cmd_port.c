/* rless port CONTAINER [PRIVATE_PORT[/PROTO]]: the published ports of a
 * container, from its record, as docker prints them. */
#include "rl_cli.h"
#include "rl_cstate.h"
#include "rl_net.h"
#include "rl_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char port_usage[] =
    "Usage: rless port CONTAINER [PRIVATE_PORT[/PROTO]]\n\n"
    "List the port mappings of CONTAINER, or the host address of one of its ports.\n";

/* "80" or "80/udp"; 0 when it is not a port. */
static int parse_private(const char *s, bool *udp)
{
  char *end;
  long p = strtol(s, &end, 10);
  *udp = strcmp(end, "/udp") == 0;
  if (end == s || p < 1 || p > 65535 || (*end && !*udp && strcmp(end, "/tcp") != 0))
    return 0;
  return (int)p;
}

/* Each port of each range on a line of its own, docker's order: as published. */
static int print_ports(json_t *ports, int want, bool want_udp, const char *ref, rl_error_t *err)
{
  size_t i, found = 0;
  json_t *v;
  json_array_foreach(ports, i, v)
  {
    struct rl_port p;
    rl_net_port_from_json(v, &p);
    cleanup_free char *host = rl_net_host_text(p.host_ip);
    for (unsigned k = 0; k < p.count; k++) {
      if (want && ((int)(p.container_port + k) != want || p.udp != want_udp))
        continue;
      found++;
      if (want)
        printf("%s:%u\n", host, p.host_port + k);
      else
        printf("%u/%s -> %s:%u\n", p.container_port + k, p.udp ? "udp" : "tcp", host,
               p.host_port + k);
    }
  }
  if (want && found == 0) {
    rl_make_error(err, 0, "No public port '%d/%s' published for %s", want, want_udp ? "udp" : "tcp",
                  ref);
    rl_error_set_exit(err, RL_EXIT_NO_SUCH);
    return -1;
  }
  return 0;
}

int rl_cmd_port(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(port_usage, stdout);
    return 0;
  }
  if (argc < 2 || argc > 3) {
    rl_make_error(err, 0, "`rless port` needs a container and at most one port");
    return rl_error_hint(err, "%s", "e.g. `rless port web` or `rless port web 80/tcp`");
  }
  bool udp = false;
  int want = argc == 3 ? parse_private(argv[2], &udp) : 0;
  if (argc == 3 && want == 0)
    return rl_make_error(err, 0, "invalid port `%s`: expected PORT or PORT/tcp|udp", argv[2]);
  struct rl_store s = {.rootfd = -1};
  struct rl_cstate c = {0};
  char id[65];
  int r = rl_cli_open_store(g, false, &s, err);
  if (r < 0 && (*err)->errnum == ENOENT) {
    rl_error_free(err);
    rl_make_error(err, 0, "No such container: %s", argv[1]);
    rl_error_set_exit(err, RL_EXIT_NO_SUCH);
    return -1;
  }
  if (r == 0)
    r = rl_cstate_find(&s, argv[1], id, err);
  if (r == 0)
    r = rl_cstate_load(&s, id, &c, err);
  if (r == 0)
    r = print_ports(json_object_get(c.config, "ports"), want, udp, argv[1], err);
  rl_cstate_free(&c);
  if (s.rootfd >= 0)
    rl_store_close(&s);
  return r;
}
