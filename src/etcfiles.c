/* /etc/hostname, /etc/hosts, /etc/resolv.conf of a container. */
#include "rl_etcfiles.h"
#include "rl_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

static bool ip_ok(const char *ip)
{
  unsigned char buf[16];
  return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

int rl_add_host_valid(const char *spec, rl_error_t *err)
{
  const char *colon = strchr(spec, ':');
  if (colon == NULL || colon == spec || !ip_ok(colon + 1) || strpbrk(spec, " \t\n"))
    return rl_make_error(err, 0, "invalid --add-host `%s`: expected HOST:IP, e.g. db:10.0.0.5",
                         spec);
  return 0;
}

int rl_dns_valid(const char *ip, rl_error_t *err)
{
  if (!ip_ok(ip))
    return rl_make_error(err, 0, "invalid --dns `%s`: expected an IPv4 or IPv6 address", ip);
  return 0;
}

/* Append `line` (owned, freed here) to the text *s of length *len. */
static void append(char **s, size_t *len, char *line)
{
  size_t n = strlen(line);
  *s = rl_xrealloc(*s, *len + n + 1);
  memcpy(*s + *len, line, n + 1);
  *len += n;
  free(line);
}

char *rl_etc_hosts_text(const char *hostname, const rl_strv_t *add_hosts, const rl_strv_t *extra)
{
  char *s = NULL;
  size_t len = 0;
  append(&s, &len, rl_xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
  append(&s, &len, rl_xasprintf("127.0.1.1\t%s\n", hostname));
  for (size_t i = 0; add_hosts && i < add_hosts->n; i++) {
    const char *spec = add_hosts->v[i], *colon = strchr(spec, ':');
    append(&s, &len, rl_xasprintf("%s\t%.*s\n", colon + 1, (int)(colon - spec), spec));
  }
  /* After --add-host: the first line naming a host wins, and the user's should. */
  for (size_t i = 0; extra && i < extra->n; i++)
    append(&s, &len, rl_xasprintf("%s\n", extra->v[i]));
  return s;
}

/* A nameserver line the container cannot use (a local stub of the host's). */
static bool local_nameserver(const char *line, size_t n)
{
  char addr[64];
  if (n < 11 || sscanf(line, "nameserver %63s", addr) != 1)
    return false;
  return rl_net_is_loopback(addr);
}

/* "nameserver A" lines for the space-separated list. */
static void append_servers(char **s, size_t *len, const char *list)
{
  for (const char *f = list + strspn(list, " "); *f; f += strspn(f, " ")) {
    size_t n = strcspn(f, " ");
    append(s, len, rl_xasprintf("nameserver %.*s\n", (int)n, f));
    f += n;
  }
}

char *rl_etc_resolv_text(const char *host_text, const rl_strv_t *dns, const rl_strv_t *search,
                         const char *forward)
{
  char *s = rl_xstrdup("");
  size_t len = 0;
  bool own_dns = dns && dns->n > 0, own_search = search && search->n > 0;
  bool fwd = forward && *forward, fwd_done = false;
  for (size_t i = 0; own_dns && i < dns->n; i++)
    append(&s, &len, rl_xasprintf("nameserver %s\n", dns->v[i]));
  for (const char *p = host_text; !own_dns && p && *p;) {
    size_t n = strcspn(p, "\n");
    bool is_search = strncmp(p, "search", 6) == 0 || strncmp(p, "domain", 6) == 0;
    if (fwd && local_nameserver(p, n)) {
      if (!fwd_done)
        append_servers(&s, &len, forward);
      fwd_done = true;
    } else if (!(own_search && is_search)) {
      append(&s, &len, rl_xasprintf("%.*s\n", (int)n, p));
    }
    p += n + (p[n] == '\n');
  }
  for (size_t i = 0; own_search && i < search->n; i++)
    append(&s, &len, rl_xasprintf(i == 0 ? "search %s" : " %s", search->v[i]));
  if (own_search)
    append(&s, &len, rl_xstrdup("\n"));
  return s;
}

const char *const rl_etc_file_names[3] = {"hostname", "hosts", "resolv.conf"};

static int write_one(const char *prefix, const char *name, const char *text, rl_error_t *err)
{
  cleanup_free char *path = rl_xasprintf("%s%s", prefix, name);
  cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 || rl_write_all(fd, text, strlen(text)) < 0)
    return rl_make_error(err, errno, "write the container's `%s`", path);
  return 0;
}

int rl_etc_files_write(const char *prefix, const struct rl_etc_spec *e, rl_error_t *err)
{
  cleanup_free char *host_resolv = rl_read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 16, NULL);
  cleanup_free char *hosts = rl_etc_hosts_text(e->hostname, e->add_hosts, e->extra_hosts);
  cleanup_free char *resolv =
      rl_etc_resolv_text(host_resolv, e->dns, e->dns_search, e->dns_forward);
  cleanup_free char *name = rl_xasprintf("%s\n", e->hostname);
  const char *text[] = {name, hosts, resolv};
  for (size_t i = 0; i < RL_ARRAY_SIZE(text); i++)
    if (write_one(prefix, rl_etc_file_names[i], text[i], err) < 0)
      return -1;
  return 0;
}
