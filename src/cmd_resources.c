/* rless stats and rless update: a running container's cgroup read (CPU %,
 * memory, pids) and its limits changed live, the record updated with them. */
#include "cmd_images_int.h"
#include "rl_cgroup.h"
#include "rl_cli.h"
#include "rl_cstate.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One running container's cgroup, found from its pid 1. */
struct target {
  char id[65];
  char *name;
  char *dir; /* its cgroup dir */
  struct rl_cgroup_stats a, b;
  int64_t t_a, t_b; /* when a and b were read, microseconds */
};

static int64_t now_usec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The running container `ref` and its cgroup dir; its record in *keep when
 * asked for (the caller frees it), else freed here. */
static int find_target(const struct rl_store *s, const char *ref, struct target *t,
                       struct rl_cstate *keep, rl_error_t *err)
{
  struct rl_cstate c = {0};
  if (rl_cstate_find(s, ref, t->id, err) < 0 || rl_cstate_load(s, t->id, &c, err) < 0) {
    rl_cstate_free(&c);
    return -1;
  }
  int r = 0;
  if (c.status != RL_CSTATUS_RUNNING) {
    r = rl_make_error(err, 0, "container %s is not running", ref);
    rl_error_set_exit(err, RL_EXIT_NO_SUCH);
  } else {
    t->dir = rl_cgroup_of_container(c.pid, NULL);
    if (t->dir == NULL)
      r = rl_make_error(err, 0,
                        "container %s has no cgroup of its own (it was started where rless "
                        "could not create one, or with --cgroups=disabled)",
                        ref);
    if (r < 0)
      rl_error_hint(err, "`rless info` shows what this host delegates to you");
  }
  t->name = c.name ? rl_xstrdup(c.name) : rl_xstrdup("");
  if (keep && r == 0)
    *keep = c;
  else
    rl_cstate_free(&c);
  return r;
}

static void targets_free(struct target *t, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(t[i].name);
    free(t[i].dir);
  }
  free(t);
}

static int64_t mem_total(void)
{
  cleanup_free char *m = rl_read_file_at(AT_FDCWD, "/proc/meminfo", 1 << 16, NULL);
  const char *p = m ? strstr(m, "MemTotal:") : NULL;
  return p ? strtoll(p + 9, NULL, 10) * 1024 : -1;
}

static double cpu_percent(const struct target *t)
{
  if (t->a.cpu_usage_usec < 0 || t->b.cpu_usage_usec < 0 || t->t_b <= t->t_a)
    return 0;
  return 100.0 * (double)(t->b.cpu_usage_usec - t->a.cpu_usage_usec) / (double)(t->t_b - t->t_a);
}

static json_t *stats_json(const struct target *t, int64_t total)
{
  int64_t limit = t->b.mem_max >= 0 ? t->b.mem_max : total;
  int64_t used = t->b.mem_current > 0 ? t->b.mem_current : 0;
  double memp = limit > 0 ? 100.0 * (double)used / (double)limit : 0;
  cleanup_free char *u = rl_human_size(used), *l = rl_human_size(limit);
  cleanup_free char *cpus = rl_xasprintf("%.2f%%", cpu_percent(t));
  cleanup_free char *mems = rl_xasprintf("%.2f%%", memp);
  cleanup_free char *usage = rl_xasprintf("%s / %s", u, l);
  cleanup_free char *pids = rl_xasprintf("%" PRId64, t->b.pids_current > 0 ? t->b.pids_current : 0);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I}", "ID", t->id, "Name",
                   t->name, "CPUPerc", cpus, "MemUsage", usage, "MemPerc", mems, "PIDs", pids,
                   "CPU", cpu_percent(t), "MemUsageBytes", (json_int_t)used, "MemLimitBytes",
                   (json_int_t)limit, "PidsCurrent", (json_int_t)t->b.pids_current, "PidsLimit",
                   (json_int_t)t->b.pids_max);
}

static void print_table(const struct target *t, size_t n, int64_t total)
{
  printf("%-12s  %-20s  %-7s  %-22s  %-7s  %s\n", "CONTAINER ID", "NAME", "CPU %",
         "MEM USAGE / LIMIT", "MEM %", "PIDS");
  for (size_t i = 0; i < n; i++) {
    json_t *j = stats_json(&t[i], total);
    printf("%-12.12s  %-20s  %-7s  %-22s  %-7s  %s\n", t[i].id, t[i].name,
           json_string_value(json_object_get(j, "CPUPerc")),
           json_string_value(json_object_get(j, "MemUsage")),
           json_string_value(json_object_get(j, "MemPerc")),
           json_string_value(json_object_get(j, "PIDs")));
    json_decref(j);
  }
}

static void print_json(const struct target *t, size_t n, int64_t total)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, stats_json(&t[i], total));
  cleanup_free char *text = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(a);
  printf("%s\n", text);
}

/* Two readings half a second apart give the CPU share. */
static void sample(struct target *t, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    rl_cgroup_read_stats(t[i].dir, &t[i].a);
    t[i].t_a = now_usec();
  }
  usleep(500000);
  for (size_t i = 0; i < n; i++) {
    rl_cgroup_read_stats(t[i].dir, &t[i].b);
    t[i].t_b = now_usec();
  }
}

static int collect(const struct rl_store *s, int argc, char **argv, struct target **out, size_t *n,
                   rl_error_t *err)
{
  cleanup_strv rl_strv_t ids = {0};
  bool all = optind >= argc;
  if (all && rl_cstate_list(s, &ids, err) < 0)
    return -1;
  size_t want = all ? ids.n : (size_t)(argc - optind);
  struct target *t = rl_xcalloc(want ? want : 1, sizeof(*t));
  *n = 0;
  for (size_t i = 0; i < want; i++) {
    rl_error_t e = NULL;
    if (find_target(s, all ? ids.v[i] : argv[optind + (int)i], &t[*n], NULL, &e) == 0) {
      (*n)++;
    } else if (!all) {
      targets_free(t, *n + 1);
      *err = e;
      return -1;
    } else {
      free(t[*n].name);
      free(t[*n].dir);
      memset(&t[*n], 0, sizeof(t[*n]));
      rl_error_free(&e);
    }
  }
  *out = t;
  return 0;
}

static const char stats_usage[] =
    "Usage: rless stats [--no-stream] [--format table|json] [CONTAINER...]\n"
    "CPU, memory and pids of running containers (all of them without arguments),\n"
    "read from their cgroups; refreshed every second until interrupted unless --no-stream.\n";

int rl_cmd_stats(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      {"no-stream", no_argument, NULL, 's'},
      {"format", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {"all", no_argument, NULL, 'a'},
      {NULL, 0, NULL, 0},
  };
  bool stream = true, json = false;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:a", opts, NULL)) != -1) {
    if (c == 's')
      stream = false;
    else if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
      json = strcmp(optarg, "json") == 0;
    else if (c == 'h')
      return fputs(stats_usage, stdout), 0;
    else if (c != 'a')
      return rl_make_error(err, 0, "bad option or value `%s` for `rless stats`", argv[optind - 1]);
  }
  struct rl_store s;
  struct target *t = NULL;
  size_t n = 0;
  if (rl_cli_open_store(g, false, &s, err) < 0)
    return -1;
  int r = collect(&s, argc, argv, &t, &n, err);
  rl_store_close(&s);
  int64_t total = mem_total();
  while (r == 0) {
    sample(t, n);
    if (stream && !json)
      fputs("\033[2J\033[H", stdout);
    json ? print_json(t, n, total) : print_table(t, n, total);
    fflush(stdout);
    if (!stream)
      break;
  }
  targets_free(t, n);
  return r;
}

/* ---- update ---- */

/* The new values over the recorded ones. */
static void merge(struct rl_cgroup_limits *old, const struct rl_cgroup_limits *l)
{
  int64_t *dst[] = {&old->memory,     &old->memory_swap, &old->memory_reservation,
                    &old->cpu_quota,  &old->cpu_shares,  &old->cpu_weight,
                    &old->pids_limit, &old->blkio_weight};
  const int64_t src[] = {l->memory,     l->memory_swap, l->memory_reservation, l->cpu_quota,
                         l->cpu_shares, l->cpu_weight,  l->pids_limit,         l->blkio_weight};
  for (size_t i = 0; i < RL_ARRAY_SIZE(src); i++)
    if (src[i] != -1)
      *dst[i] = src[i];
  if (l->cpuset_cpus) {
    free(old->cpuset_cpus);
    old->cpuset_cpus = rl_xstrdup(l->cpuset_cpus);
  }
  if (l->cpuset_mems) {
    free(old->cpuset_mems);
    old->cpuset_mems = rl_xstrdup(l->cpuset_mems);
  }
  if (l->cpu_shares != -1)
    old->cpu_weight = -1;
  if (l->cpu_weight != -1)
    old->cpu_shares = -1;
}

static int update_one(const struct rl_store *s, const char *ref, const struct rl_cgroup_limits *l,
                      rl_error_t *err)
{
  struct target t = {0};
  struct rl_cstate c = {0};
  int r = find_target(s, ref, &t, &c, err);
  if (r == 0) {
    struct rl_cgroup_limits merged;
    rl_cgroup_limits_from_json(json_object_get(c.config, "resources"), &merged);
    merge(&merged, l);
    r = rl_cgroup_limits_check(&merged, err);
    if (r == 0)
      r = rl_cgroup_update(t.dir, &merged, err);
    if (r == 0) {
      json_t *res = json_object();
      rl_cgroup_limits_to_json(&merged, res);
      json_object_set_new(c.config, "resources", res);
      r = rl_cstate_save(s, &c, err);
    }
    rl_cgroup_limits_free(&merged);
  }
  if (r == 0)
    printf("%s\n", ref);
  rl_cstate_free(&c);
  free(t.name);
  free(t.dir);
  return r;
}

int rl_cmd_update(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  static const struct option opts[] = {
      RL_CGROUP_LONG_OPTIONS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  struct rl_cgroup_limits l;
  rl_cgroup_limits_init(&l);
  int c, r = 0;
  optind = 0;
  opterr = 0;
  while (r == 0 && (c = getopt_long(argc, argv, "+:m:", opts, NULL)) != -1) {
    if (c == 'h') {
      printf("Usage: rless update [OPTIONS] CONTAINER...\nChange running containers' "
             "limits.\n%s",
             rl_cgroup_usage);
      rl_cgroup_limits_free(&l);
      return 0;
    }
    if (c == 'm')
      c = RL_OPT_MEMORY;
    if (c < RL_CGROUP_OPT_FIRST || c > RL_CGROUP_OPT_LAST || c == RL_OPT_CGROUPS)
      r = rl_make_error(err, 0, "bad option or value `%s` for `rless update`", argv[optind - 1]);
    else
      r = rl_cgroup_opt(c, optarg, &l, err);
  }
  if (r == 0 && !rl_cgroup_limits_any(&l))
    r = rl_make_error(err, 0, "`rless update` needs a limit to change (see `rless update --help`)");
  if (r == 0 && optind >= argc)
    r = rl_make_error(err, 0, "`rless update` needs at least one container");
  struct rl_store s;
  if (r == 0 && (r = rl_cli_open_store(g, false, &s, err)) == 0) {
    for (int i = optind; i < argc && r == 0; i++)
      r = update_one(&s, argv[i], &l, err);
    rl_store_close(&s);
  }
  rl_cgroup_limits_free(&l);
  return r;
}
