/* The resource options as data: parsing, docker's rules between them, the
 * cgroup v2 files they become, and their HostConfig form.  Pure. */
#include "rl_cgroup.h"
#include "rl_host.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define UNLIMITED_SWAP (-2)

const char rl_cgroup_usage[] =
    "\n"
    "Resource limits (cgroup v2, inside your delegated subtree; `rless info` shows what you "
    "have):\n"
    "  -m, --memory SIZE         memory limit (e.g. 512m, 2g)\n"
    "      --memory-swap SIZE    memory plus swap (-1: unlimited swap; default: twice --memory)\n"
    "      --memory-reservation SIZE  soft limit (memory.low)\n"
    "      --cpus N              CPUs worth of time (e.g. 0.5)\n"
    "      --cpu-shares N        relative weight, docker's units (2..262144)\n"
    "      --cpu-weight N        relative weight, cgroup v2 units (1..10000)\n"
    "      --cpuset-cpus LIST    CPUs it may run on (0-3,5)\n"
    "      --cpuset-mems LIST    memory nodes it may use\n"
    "      --pids-limit N        at most N processes (0 or -1: unlimited)\n"
    "      --blkio-weight N      relative block I/O weight (10..1000)\n"
    "      --cgroups MODE        enabled (default) or disabled: no cgroup of its own\n";

void rl_cgroup_limits_init(struct rl_cgroup_limits *l)
{
  memset(l, 0, sizeof(*l));
  l->memory = l->memory_swap = l->memory_reservation = -1;
  l->cpu_quota = l->cpu_shares = l->cpu_weight = -1;
  l->pids_limit = l->blkio_weight = -1;
}

void rl_cgroup_limits_free(struct rl_cgroup_limits *l)
{
  free(l->cpuset_cpus);
  free(l->cpuset_mems);
  rl_cgroup_limits_init(l);
}

/* A decimal number: digits, then optionally a dot and digits; returns the
 * end, or NULL. */
static const char *skip_decimal(const char *p)
{
  if (!isdigit((unsigned char)*p))
    return NULL;
  while (isdigit((unsigned char)*p))
    p++;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p))
      return NULL;
    while (isdigit((unsigned char)*p))
      p++;
  }
  return p;
}

int rl_parse_size(const char *s, int64_t *bytes)
{
  static const char units[] = "bkmgtp";
  const char *p = s ? skip_decimal(s) : NULL;
  if (p == NULL || p - s > 24)
    return -1;
  double v = strtod(s, NULL), mult = 1;
  if (*p == ' ' && p[1])
    p++;
  const char *u = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
  if (u) {
    for (const char *k = units; k < u; k++)
      mult *= 1024;
    p++;
    if (*u != 'b' && tolower((unsigned char)*p) == 'i')
      p++;
    if (*u != 'b' && tolower((unsigned char)*p) == 'b')
      p++;
  }
  if (*p)
    return -1;
  double total = v * mult;
  if (total >= 9.2e18)
    return -1;
  *bytes = (int64_t)total;
  return 0;
}

int rl_parse_cpus(const char *s, int64_t *quota)
{
  /* Digits only, so "1e3", "inf" and hex do not sneak in through strtod. */
  size_t dots = 0, frac = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '.') {
      dots++;
    } else if (!isdigit((unsigned char)*p)) {
      return -1;
    } else if (dots) {
      frac++;
    }
  }
  if (*s == '\0' || dots > 1 || frac > 5 || strlen(s) > 16)
    return -1;
  double v = strtod(s, NULL);
  int64_t q = (int64_t)(v * RL_CPU_PERIOD + 0.5);
  if (q <= 0)
    return -1;
  *quota = q;
  return 0;
}

bool rl_cpuset_valid(const char *s)
{
  const char *p = s;
  if (*p == '\0')
    return false;
  while (*p) {
    if (!isdigit((unsigned char)*p))
      return false;
    char *end;
    unsigned long a = strtoul(p, &end, 10), b = a;
    p = end;
    if (*p == '-') {
      p++;
      if (!isdigit((unsigned char)*p))
        return false;
      b = strtoul(p, &end, 10);
      p = end;
    }
    if (b < a || b > 65535)
      return false;
    if (*p == ',') {
      p++;
      if (*p == '\0')
        return false;
    } else if (*p) {
      return false;
    }
  }
  return true;
}

uint64_t rl_cpu_shares_to_weight(uint64_t shares)
{
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t rl_blkio_to_io_weight(uint64_t w)
{
  if (w < 10)
    w = 10;
  if (w > 1000)
    w = 1000;
  return 1 + ((w - 10) * 9999) / 990;
}

static int bad_value(const char *opt, const char *arg, const char *want, rl_error_t *err)
{
  return rl_make_error(err, 0, "invalid value `%s` for --%s: %s", arg, opt, want);
}

static int parse_int_range(const char *opt, const char *arg, long long lo, long long hi,
                           int64_t *out, rl_error_t *err)
{
  char *end = NULL;
  errno = 0;
  long long v = strtoll(arg, &end, 10);
  if (errno || end == arg || *end || v < lo || v > hi) {
    cleanup_free char *want = rl_xasprintf("expected an integer from %lld to %lld", lo, hi);
    return bad_value(opt, arg, want, err);
  }
  *out = v;
  return 0;
}

static int parse_size_opt(const char *opt, const char *arg, bool allow_unlimited, int64_t *out,
                          rl_error_t *err)
{
  if (allow_unlimited && strcmp(arg, "-1") == 0) {
    *out = UNLIMITED_SWAP;
    return 0;
  }
  if (rl_parse_size(arg, out) < 0)
    return bad_value(opt, arg, "expected a size such as 512m or 2g", err);
  return 0;
}

static int set_cpuset(const char *opt, const char *arg, char **dst, rl_error_t *err)
{
  if (!rl_cpuset_valid(arg))
    return bad_value(opt, arg, "expected a list such as 0-3,5", err);
  free(*dst);
  *dst = rl_xstrdup(arg);
  return 0;
}

int rl_cgroup_opt(int opt, const char *arg, struct rl_cgroup_limits *l, rl_error_t *err)
{
  int64_t v = 0;
  switch (opt) {
  case RL_OPT_MEMORY:
    return parse_size_opt("memory", arg, false, &l->memory, err);
  case RL_OPT_MEMORY_SWAP:
    return parse_size_opt("memory-swap", arg, true, &l->memory_swap, err);
  case RL_OPT_MEMORY_RESERVATION:
    return parse_size_opt("memory-reservation", arg, false, &l->memory_reservation, err);
  case RL_OPT_CPUS:
    if (rl_parse_cpus(arg, &l->cpu_quota) < 0)
      return bad_value("cpus", arg, "expected a positive number of CPUs such as 0.5 or 2", err);
    return 0;
  case RL_OPT_CPU_SHARES:
    return parse_int_range("cpu-shares", arg, 2, 262144, &l->cpu_shares, err);
  case RL_OPT_CPU_WEIGHT:
    return parse_int_range("cpu-weight", arg, 1, 10000, &l->cpu_weight, err);
  case RL_OPT_CPUSET_CPUS:
    return set_cpuset("cpuset-cpus", arg, &l->cpuset_cpus, err);
  case RL_OPT_CPUSET_MEMS:
    return set_cpuset("cpuset-mems", arg, &l->cpuset_mems, err);
  case RL_OPT_PIDS_LIMIT:
    if (parse_int_range("pids-limit", arg, -1, 4194304, &v, err) < 0)
      return -1;
    l->pids_limit = v <= 0 ? 0 : v;
    return 0;
  case RL_OPT_BLKIO_WEIGHT:
    return parse_int_range("blkio-weight", arg, 10, 1000, &l->blkio_weight, err);
  case RL_OPT_CGROUPS:
    if (strcmp(arg, "enabled") == 0)
      l->mode = RL_CGROUPS_ENABLED;
    else if (strcmp(arg, "disabled") == 0)
      l->mode = RL_CGROUPS_DISABLED;
    else
      return bad_value("cgroups", arg, "use enabled or disabled", err);
    return 0;
  }
  return rl_make_error(err, 0, "internal error: unhandled cgroup option %d", opt);
}

bool rl_cgroup_limits_any(const struct rl_cgroup_limits *l)
{
  return l->memory >= 0 || l->memory_swap != -1 || l->memory_reservation >= 0 ||
         l->cpu_quota >= 0 || l->cpu_shares >= 0 || l->cpu_weight >= 0 || l->pids_limit >= 0 ||
         l->blkio_weight >= 0 || l->cpuset_cpus || l->cpuset_mems;
}

int rl_cgroup_limits_check(const struct rl_cgroup_limits *l, rl_error_t *err)
{
  if (l->mode == RL_CGROUPS_DISABLED && rl_cgroup_limits_any(l))
    return rl_make_error(err, 0,
                         "resource limits need a cgroup: they cannot be combined with "
                         "--cgroups=disabled");
  if (l->memory_swap != -1 && l->memory < 0)
    return rl_make_error(err, 0,
                         "--memory-swap needs --memory: it is the total of memory and "
                         "swap");
  if (l->memory_swap >= 0 && l->memory_swap < l->memory)
    return rl_make_error(err, 0,
                         "--memory-swap (%" PRId64 " bytes) must be at least --memory (%" PRId64
                         " bytes): it is the total of memory and swap",
                         l->memory_swap, l->memory);
  if (l->memory >= 0 && l->memory_reservation > l->memory)
    return rl_make_error(err, 0, "--memory-reservation must not be larger than --memory");
  if (l->cpu_shares >= 0 && l->cpu_weight >= 0)
    return rl_make_error(err, 0, "--cpu-shares and --cpu-weight set the same thing: give one");
  return 0;
}

static void add_file(struct rl_cgroup_file **f, size_t *n, const char *name, char *value,
                     const char *option)
{
  *f = rl_xrealloc(*f, (*n + 1) * sizeof(**f));
  (*f)[(*n)++] = (struct rl_cgroup_file){.name = name, .value = value, .option = option};
}

static void need(rl_strv_t *c, const char *name)
{
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->v[i], name) == 0)
      return;
  rl_strv_push(c, name);
}

static void memory_files(const struct rl_cgroup_limits *l, struct rl_cgroup_file **f, size_t *n,
                         rl_strv_t *c)
{
  if (l->memory_reservation >= 0)
    add_file(f, n, "memory.low", rl_xasprintf("%" PRId64, l->memory_reservation),
             "--memory-reservation");
  if (l->memory >= 0) {
    add_file(f, n, "memory.max", rl_xasprintf("%" PRId64, l->memory), "--memory");
    /* docker: swap unset means as much swap as memory. */
    if (l->memory_swap == UNLIMITED_SWAP)
      add_file(f, n, "memory.swap.max", rl_xstrdup("max"), "--memory-swap");
    else if (l->memory_swap >= 0)
      add_file(f, n, "memory.swap.max", rl_xasprintf("%" PRId64, l->memory_swap - l->memory),
               "--memory-swap");
  }
  if (l->memory >= 0 || l->memory_reservation >= 0)
    need(c, "memory");
}

void rl_cgroup_limits_files(const struct rl_cgroup_limits *l, struct rl_cgroup_file **out,
                            size_t *n_out, rl_strv_t *controllers)
{
  struct rl_cgroup_file *f = NULL;
  size_t n = 0;
  /* cpuset.mems and cpuset.cpus first: an empty effective set would make
   * the cgroup unusable for the moment in between. */
  if (l->cpuset_mems)
    add_file(&f, &n, "cpuset.mems", rl_xstrdup(l->cpuset_mems), "--cpuset-mems");
  if (l->cpuset_cpus)
    add_file(&f, &n, "cpuset.cpus", rl_xstrdup(l->cpuset_cpus), "--cpuset-cpus");
  if (l->cpuset_cpus || l->cpuset_mems)
    need(controllers, "cpuset");
  memory_files(l, &f, &n, controllers);
  if (l->cpu_quota >= 0)
    add_file(&f, &n, "cpu.max", rl_xasprintf("%" PRId64 " %d", l->cpu_quota, RL_CPU_PERIOD),
             "--cpus");
  if (l->cpu_shares >= 0)
    add_file(&f, &n, "cpu.weight",
             rl_xasprintf("%" PRIu64, rl_cpu_shares_to_weight((uint64_t)l->cpu_shares)),
             "--cpu-shares");
  if (l->cpu_weight >= 0)
    add_file(&f, &n, "cpu.weight", rl_xasprintf("%" PRId64, l->cpu_weight), "--cpu-weight");
  if (l->cpu_quota >= 0 || l->cpu_shares >= 0 || l->cpu_weight >= 0)
    need(controllers, "cpu");
  if (l->pids_limit >= 0) {
    add_file(&f, &n, "pids.max",
             l->pids_limit == 0 ? rl_xstrdup("max") : rl_xasprintf("%" PRId64, l->pids_limit),
             "--pids-limit");
    need(controllers, "pids");
  }
  if (l->blkio_weight >= 0) {
    add_file(&f, &n, "io.weight",
             rl_xasprintf("default %" PRIu64, rl_blkio_to_io_weight((uint64_t)l->blkio_weight)),
             "--blkio-weight");
    need(controllers, "io");
  }
  *out = f;
  *n_out = n;
}

void rl_cgroup_files_free(struct rl_cgroup_file *f, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(f[i].value);
  free(f);
}

/* HostConfig numbers as docker shows them: 0 for "not set". */
static json_int_t or_zero(int64_t v)
{
  return v < 0 ? 0 : (json_int_t)v;
}

void rl_cgroup_limits_to_json(const struct rl_cgroup_limits *l, json_t *o)
{
  json_object_set_new(o, "Memory", json_integer(or_zero(l->memory)));
  json_object_set_new(
      o, "MemorySwap",
      json_integer(l->memory_swap == UNLIMITED_SWAP ? -1 : or_zero(l->memory_swap)));
  json_object_set_new(o, "MemoryReservation", json_integer(or_zero(l->memory_reservation)));
  json_object_set_new(o, "NanoCpus", json_integer(or_zero(l->cpu_quota) * 10000));
  json_object_set_new(o, "CpuPeriod", json_integer(l->cpu_quota >= 0 ? RL_CPU_PERIOD : 0));
  json_object_set_new(o, "CpuQuota", json_integer(or_zero(l->cpu_quota)));
  json_object_set_new(o, "CpuShares", json_integer(or_zero(l->cpu_shares)));
  json_object_set_new(o, "CpuWeight", json_integer(or_zero(l->cpu_weight)));
  json_object_set_new(o, "CpusetCpus", json_string(l->cpuset_cpus ? l->cpuset_cpus : ""));
  json_object_set_new(o, "CpusetMems", json_string(l->cpuset_mems ? l->cpuset_mems : ""));
  /* docker: null when not set, -1 for unlimited */
  json_object_set_new(o, "PidsLimit",
                      l->pids_limit < 0    ? json_null()
                      : l->pids_limit == 0 ? json_integer(-1)
                                           : json_integer(l->pids_limit));
  json_object_set_new(o, "BlkioWeight", json_integer(or_zero(l->blkio_weight)));
  json_object_set_new(o, "Cgroups",
                      json_string(l->mode == RL_CGROUPS_DISABLED ? "disabled" : "enabled"));
}

static int64_t get_int(json_t *o, const char *key, int64_t unset)
{
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v))
    return unset;
  int64_t n = (int64_t)json_integer_value(v);
  return n == 0 ? unset : n;
}

static char *get_str(json_t *o, const char *key)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s && *s ? rl_xstrdup(s) : NULL;
}

void rl_cgroup_limits_from_json(json_t *o, struct rl_cgroup_limits *l)
{
  rl_cgroup_limits_init(l);
  if (!json_is_object(o))
    return;
  l->memory = get_int(o, "Memory", -1);
  l->memory_swap = get_int(o, "MemorySwap", -1);
  if (l->memory_swap == -1 && json_integer_value(json_object_get(o, "MemorySwap")) == -1)
    l->memory_swap = UNLIMITED_SWAP;
  l->memory_reservation = get_int(o, "MemoryReservation", -1);
  l->cpu_quota = get_int(o, "CpuQuota", -1);
  l->cpu_shares = get_int(o, "CpuShares", -1);
  l->cpu_weight = get_int(o, "CpuWeight", -1);
  json_t *pids = json_object_get(o, "PidsLimit");
  l->pids_limit = !json_is_integer(pids)          ? -1
                  : json_integer_value(pids) <= 0 ? 0
                                                  : (int64_t)json_integer_value(pids);
  l->blkio_weight = get_int(o, "BlkioWeight", -1);
  l->cpuset_cpus = get_str(o, "CpusetCpus");
  l->cpuset_mems = get_str(o, "CpusetMems");
  const char *mode = json_string_value(json_object_get(o, "Cgroups"));
  l->mode = mode && strcmp(mode, "disabled") == 0 ? RL_CGROUPS_DISABLED : RL_CGROUPS_ENABLED;
}

int64_t rl_cgroup_keyed_value(const char *text, const char *key)
{
  size_t klen = strlen(key);
  for (const char *line = text; line && *line;) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
      return strtoll(line + klen + 1, NULL, 10);
    line = strchr(line, '\n');
    if (line)
      line++;
  }
  return -1;
}

/* ---- where the limits can go ---- */

/* Enabled whenever the subtree offers them: memory.events tells OOM kills,
 * memory.current and pids.current feed `rless stats`. */
static const char *const always[] = {"memory", "pids", "cpu"};

/* The first option that needs `controller`, for the error. */
static const char *option_for(const struct rl_cgroup_file *f, size_t n, const char *controller)
{
  size_t len = strlen(controller);
  for (size_t i = 0; i < n; i++)
    if (strncmp(f[i].name, controller, len) == 0 && f[i].name[len] == '.')
      return f[i].option;
  return "a resource limit";
}

bool rl_cgroup_usable(const struct rl_host_cgroup *h)
{
  return (h->layout == RL_CGROUP_V2 || h->layout == RL_CGROUP_HYBRID) && h->dir && h->writable;
}

/* A limit was asked for and there is no cgroup to put it in: why, and the fix. */
static int no_cgroup_error(const struct rl_host_cgroup *h, const char *option, rl_error_t *err)
{
  if (h->layout == RL_CGROUP_NONE || h->layout == RL_CGROUP_V1 || h->dir == NULL) {
    rl_make_error(err, 0, "cannot apply %s: %s", option,
                  h->limits_problem ? h->limits_problem : "no cgroup v2 hierarchy");
    return rl_error_hint(err, "%s", rl_cgroup_v2_hint);
  }
  rl_make_error(err, 0,
                "cannot apply %s: your cgroup %s is not writable by you (not delegated), and no "
                "systemd user manager gave rless a delegated scope",
                option, h->dir);
  return rl_error_hint(err, "%s", rl_cgroup_delegate_hint);
}

static int missing_error(const struct rl_host_cgroup *h, const char *base, const char *controller,
                         const char *option, const rl_strv_t *have, rl_error_t *err)
{
  cleanup_free char *list = rl_strv_join(have, " ");
  if (h->layout == RL_CGROUP_HYBRID && !rl_strv_contains(&h->root_controllers, controller)) {
    rl_make_error(err, 0,
                  "cannot apply %s: cgroups are hybrid on this host: the %s controller is bound "
                  "to a cgroup v1 hierarchy, and the cgroup v2 hierarchy at %s offers only: %s",
                  option, controller, h->mount, *list ? list : "(none)");
    return rl_error_hint(err, "%s", rl_cgroup_v2_hint);
  }
  rl_make_error(err, 0,
                "cannot apply %s: the %s controller is not delegated to your cgroup %s (it "
                "offers: %s)",
                option, controller, base, *list ? list : "(none)");
  return rl_error_hint(err, "%s", rl_cgroup_delegate_hint);
}

int rl_cgroup_decide(const struct rl_host_cgroup *h, const char *base, const rl_strv_t *have,
                     const struct rl_cgroup_file *f, size_t nf, const rl_strv_t *needed,
                     rl_strv_t *want, rl_error_t *err)
{
  const char *first = nf ? f[0].option : "a resource limit";
  if (h->layout == RL_CGROUP_NONE || h->layout == RL_CGROUP_V1 || h->dir == NULL)
    return no_cgroup_error(h, first, err);
  /* On a hybrid host a v1-bound controller is the reason, writable or not. */
  for (size_t i = 0; h->layout == RL_CGROUP_HYBRID && i < needed->n; i++)
    if (!rl_strv_contains(&h->root_controllers, needed->v[i]))
      return missing_error(h, h->mount, needed->v[i], option_for(f, nf, needed->v[i]),
                           &h->root_controllers, err);
  if (!rl_cgroup_usable(h) || base == NULL)
    return no_cgroup_error(h, first, err);
  for (size_t i = 0; i < needed->n; i++) {
    if (!rl_strv_contains(have, needed->v[i]))
      return missing_error(h, base, needed->v[i], option_for(f, nf, needed->v[i]), have, err);
    rl_strv_push(want, needed->v[i]);
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(always); i++)
    if (rl_strv_contains(have, always[i]) && !rl_strv_contains(want, always[i]))
      rl_strv_push(want, always[i]);
  return 0;
}
