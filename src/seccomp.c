/* seccomp: the default policy as data, docker/OCI profiles parsed with
 * jansson into the same data, and one builder that turns it into a
 * libseccomp filter in the container's process. */
#include "rl_seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#define BIT(n)          ((uint64_t)1 << (n))
#define MAX_ERRNO       4095
#define MAX_PROFILE     (4 << 20)
#define TRIAL_MS        5000 /* a build takes milliseconds */
#define DEFAULT_ORIGIN  "the default seccomp profile"
#define RECORDED_ORIGIN "the container's recorded seccomp profile"

/* docker's names for the architecture rless runs on ("includes": {"arches": ...}). */
#if defined(__x86_64__)
#define GOARCH "amd64"
#elif defined(__i386__)
#define GOARCH "386"
#elif defined(__aarch64__)
#define GOARCH "arm64"
#elif defined(__arm__)
#define GOARCH "arm"
#elif defined(__s390x__)
#define GOARCH "s390x"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GOARCH "ppc64le"
#elif defined(__riscv) && __riscv_xlen == 64
#define GOARCH "riscv64"
#else
#define GOARCH "unknown"
#endif

/* clone(2)'s flags: the second argument on s390, the first elsewhere. */
#if defined(__s390__) || defined(__s390x__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif

static const struct {
  const char *name;
  uint32_t action;
  bool takes_errno;
} actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
};

static const struct {
  const char *name;
  enum scmp_compare op;
} operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* ---- the default policy ---- */

static struct rl_seccomp_rule *add_rule(struct rl_seccomp_profile *p, const char *names,
                                        uint32_t action, uint64_t unless_caps)
{
  p->rules = rl_xrealloc(p->rules, (p->n_rules + 1) * sizeof(*p->rules));
  struct rl_seccomp_rule *r = &p->rules[p->n_rules++];
  memset(r, 0, sizeof(*r));
  r->action = action;
  r->excludes.caps = unless_caps;
  cleanup_free char *copy = rl_xstrdup(names);
  char *save = NULL;
  for (char *n = strtok_r(copy, " ", &save); n; n = strtok_r(NULL, " ", &save))
    rl_strv_push(&r->names, n);
  return r;
}

static void add_arg(struct rl_seccomp_rule *r, unsigned index, enum scmp_compare op, uint64_t a,
                    uint64_t b)
{
  r->args = rl_xrealloc(r->args, (r->n_args + 1) * sizeof(*r->args));
  r->args[r->n_args++] = (struct rl_seccomp_arg){.index = index, .op = op, .value = a, .value2 = b};
}

/* personality(2) may keep 0 (PER_LINUX), PER_LINUX32 (bit 3), UNAME26
 * (bit 17), both, and 0xffffffff (the query); every other value is denied.
 * libseccomp cannot AND two comparisons of one argument, so the complement
 * is a union of masked patterns over the low 32 bits (the kernel reads an
 * unsigned int), plus anything above them.  A denied value has a bit other
 * than 3 and 17 set, and a clear bit: the run of ones holding that bit ends
 * below a clear bit j, so "bit j clear, bit j-1 set" (cyclically) matches
 * it; when j-1 is 3 or 17 the run also holds j-2, and the pattern takes it
 * too so that PER_LINUX32 and UNAME26 stay out.  32 patterns, the fewest
 * there can be: each 0xffffffff with one bit clear needs its own. */
static void deny_personality(struct rl_seccomp_profile *p)
{
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  add_arg(add_rule(p, "personality", eperm, 0), 0, SCMP_CMP_GT, 0xffffffffULL, 0);
  for (unsigned j = 0; j < 32; j++) {
    unsigned below = (j + 31) % 32;
    uint64_t ones = BIT(below) | (below == 3 || below == 17 ? BIT(below - 1) : 0);
    add_arg(add_rule(p, "personality", eperm, 0), 0, SCMP_CMP_MASKED_EQ, BIT(j) | ones, ones);
  }
}

static const struct {
  const char *names;
  uint64_t unless_caps; /* docker allows them with one of these */
} default_denied[] = {
    {"kexec_load kexec_file_load", 0},
    {"init_module finit_module delete_module query_module", BIT(CAP_SYS_MODULE)},
    {"bpf", BIT(CAP_SYS_ADMIN) | BIT(CAP_BPF)},
    {"perf_event_open", BIT(CAP_SYS_ADMIN) | BIT(CAP_PERFMON)},
    {"userfaultfd", 0},
    {"keyctl add_key request_key", 0},
    {"open_by_handle_at", BIT(CAP_DAC_READ_SEARCH)},
    {"fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr", BIT(CAP_SYS_ADMIN)},
    {"acct", BIT(CAP_SYS_PACCT)},
    {"swapon swapoff", 0},
    {"reboot", BIT(CAP_SYS_BOOT)},
    {"settimeofday stime clock_settime clock_settime64 adjtimex clock_adjtime clock_adjtime64",
     BIT(CAP_SYS_TIME)},
    {"quotactl quotactl_fd lookup_dcookie", BIT(CAP_SYS_ADMIN)},
    {"nfsservctl vm86 vm86old", 0},
    {"iopl ioperm", BIT(CAP_SYS_RAWIO)},
    {"kcmp", BIT(CAP_SYS_PTRACE)},
};

void rl_seccomp_default_profile(struct rl_seccomp_profile *p)
{
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  memset(p, 0, sizeof(*p));
  p->default_action = SCMP_ACT_ALLOW;
#if defined(__x86_64__)
  static const uint32_t extra[] = {SCMP_ARCH_X86, SCMP_ARCH_X32};
#elif defined(__aarch64__)
  static const uint32_t extra[] = {SCMP_ARCH_ARM};
#elif defined(__s390x__)
  static const uint32_t extra[] = {SCMP_ARCH_S390};
#else
  static const uint32_t extra[] = {0};
#endif
  for (size_t i = 0; i < RL_ARRAY_SIZE(extra); i++) {
    if (extra[i] == 0)
      continue;
    p->arches = rl_xrealloc(p->arches, (p->n_arches + 1) * sizeof(*p->arches));
    p->arches[p->n_arches++] = extra[i];
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(default_denied); i++)
    add_rule(p, default_denied[i].names, eperm, default_denied[i].unless_caps);
  /* The kernel reads ioctl's request as an unsigned int: compare the low
   * 32 bits only, or high garbage would slip past. */
  add_arg(add_rule(p, "ioctl", eperm, 0), 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCSTI);
  add_arg(add_rule(p, "ioctl", eperm, 0), 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCLINUX);
  add_arg(add_rule(p, "unshare", eperm, BIT(CAP_SYS_ADMIN)), 0, SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
          CLONE_NEWUSER);
  add_arg(add_rule(p, "clone", eperm, BIT(CAP_SYS_ADMIN)), CLONE_FLAGS_ARG, SCMP_CMP_MASKED_EQ,
          CLONE_NEWUSER, CLONE_NEWUSER);
  add_rule(p, "clone3", SCMP_ACT_ERRNO(ENOSYS), BIT(CAP_SYS_ADMIN));
  deny_personality(p);
}

static void cond_free(struct rl_seccomp_cond *c)
{
  rl_strv_free(&c->arches);
}

void rl_seccomp_profile_free(struct rl_seccomp_profile *p)
{
  for (size_t i = 0; i < p->n_rules; i++) {
    rl_strv_free(&p->rules[i].names);
    free(p->rules[i].args);
    cond_free(&p->rules[i].includes);
    cond_free(&p->rules[i].excludes);
  }
  free(p->rules);
  free(p->arches);
  memset(p, 0, sizeof(*p));
}

/* ---- docker/OCI profiles ---- */

struct pctx {
  const char *origin;
  rl_error_t *err;
};

#define PERR(p, where, fmt, ...)                                                                   \
  rl_make_error((p)->err, 0, "seccomp profile `%s`: %s: " fmt, (p)->origin, (where), ##__VA_ARGS__)

static char *member(const char *where, const char *key)
{
  return *where ? rl_xasprintf("%s.%s", where, key) : rl_xstrdup(key);
}

/* obj[key] as an unsigned integer up to max; 1 when present, 0 when absent or null. */
static int get_uint(const struct pctx *p, json_t *obj, const char *where, const char *key,
                    uint64_t max, uint64_t *out)
{
  json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
    cleanup_free char *path = member(where, key);
    return PERR(p, path, "expected an integer from 0 to %llu", (unsigned long long)max);
  }
  *out = (uint64_t)json_integer_value(v);
  return 1;
}

/* obj[key] as a string; NULL when absent or null (-1 with err when another type). */
static int get_str(const struct pctx *p, json_t *obj, const char *where, const char *key,
                   const char **out)
{
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v)) {
    cleanup_free char *path = member(where, key);
    return PERR(p, path, "expected a string");
  }
  *out = json_string_value(v);
  return 0;
}

static int get_strv(const struct pctx *p, json_t *obj, const char *where, const char *key,
                    rl_strv_t *out)
{
  json_t *v = json_object_get(obj, key), *e;
  size_t i;
  if (v == NULL || json_is_null(v))
    return 0;
  cleanup_free char *path = member(where, key);
  if (!json_is_array(v))
    return PERR(p, path, "expected an array of strings");
  json_array_foreach(v, i, e)
  {
    if (!json_is_string(e)) {
      cleanup_free char *ep = rl_xasprintf("%s[%zu]", path, i);
      return PERR(p, ep, "expected a string");
    }
    rl_strv_push(out, json_string_value(e));
  }
  return 0;
}

/* obj[key] an action, obj[errno_key] its errno (EPERM when absent). */
static int parse_action(const struct pctx *p, json_t *obj, const char *where, const char *key,
                        const char *errno_key, uint32_t *out)
{
  const char *name;
  uint64_t e = EPERM;
  cleanup_free char *path = member(where, key);
  if (get_str(p, obj, where, key, &name) < 0)
    return -1;
  if (name == NULL)
    return PERR(p, path, "missing");
  int has_errno = get_uint(p, obj, where, errno_key, MAX_ERRNO, &e);
  if (has_errno < 0)
    return -1;
  if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
    return PERR(p, path, "SCMP_ACT_NOTIFY needs a seccomp agent, which rless does not support");
  for (size_t i = 0; i < RL_ARRAY_SIZE(actions); i++) {
    if (strcmp(name, actions[i].name) != 0)
      continue;
    if (has_errno && !actions[i].takes_errno) {
      cleanup_free char *ep = member(where, errno_key);
      return PERR(p, ep, "%s takes no errno", name);
    }
    *out = actions[i].action | (actions[i].takes_errno ? (uint32_t)e : 0);
    return 0;
  }
  PERR(p, path, "unknown action `%s`", name);
  return rl_error_hint(p->err, "use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, "
                               "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, "
                               "SCMP_ACT_TRACE or SCMP_ACT_LOG");
}

static int parse_arg(const struct pctx *p, json_t *a, const char *where, struct rl_seccomp_arg *out)
{
  uint64_t index = 0;
  const char *op;
  if (!json_is_object(a))
    return PERR(p, where, "expected an object");
  int r = get_uint(p, a, where, "index", 5, &index);
  if (r < 0)
    return -1;
  cleanup_free char *ipath = member(where, "index");
  if (r == 0)
    return PERR(p, ipath, "missing");
  out->index = (unsigned)index;
  out->value = out->value2 = 0;
  if (get_uint(p, a, where, "value", INT64_MAX, &out->value) < 0 ||
      get_uint(p, a, where, "valueTwo", INT64_MAX, &out->value2) < 0 ||
      get_str(p, a, where, "op", &op) < 0)
    return -1;
  cleanup_free char *opath = member(where, "op");
  if (op == NULL)
    return PERR(p, opath, "missing");
  for (size_t i = 0; i < RL_ARRAY_SIZE(operators); i++) {
    if (strcmp(op, operators[i].name) == 0) {
      out->op = operators[i].op;
      return 0;
    }
  }
  PERR(p, opath, "unknown operator `%s`", op);
  return rl_error_hint(p->err, "use SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, "
                               "SCMP_CMP_GE, SCMP_CMP_GT or SCMP_CMP_MASKED_EQ");
}

static int parse_args(const struct pctx *p, json_t *obj, const char *where,
                      struct rl_seccomp_rule *r)
{
  json_t *args = json_object_get(obj, "args"), *a;
  size_t i;
  if (args == NULL || json_is_null(args))
    return 0;
  cleanup_free char *path = member(where, "args");
  if (!json_is_array(args))
    return PERR(p, path, "expected an array");
  r->args = rl_xcalloc(json_array_size(args) + 1, sizeof(*r->args));
  json_array_foreach(args, i, a)
  {
    cleanup_free char *ap = rl_xasprintf("%s[%zu]", path, i);
    if (parse_arg(p, a, ap, &r->args[i]) < 0)
      return -1;
    r->n_args++;
  }
  return 0;
}

static int parse_cond(const struct pctx *p, json_t *obj, const char *where, const char *key,
                      struct rl_seccomp_cond *c)
{
  json_t *o = json_object_get(obj, key);
  const char *mk;
  cleanup_strv rl_strv_t caps = {0};
  if (o == NULL || json_is_null(o))
    return 0;
  cleanup_free char *path = member(where, key);
  if (!json_is_object(o))
    return PERR(p, path, "expected an object");
  if (get_strv(p, o, path, "caps", &caps) < 0 || get_strv(p, o, path, "arches", &c->arches) < 0 ||
      get_str(p, o, path, "minKernel", &mk) < 0)
    return -1;
  for (size_t i = 0; i < caps.n; i++) {
    cap_value_t v;
    /* As docker: a capability the system does not know is never held. */
    if (cap_from_name(caps.v[i], &v) < 0 || v < 0 || v > 63)
      c->caps_unknown = true;
    else
      c->caps |= BIT(v);
  }
  char end;
  if (mk && (sscanf(mk, "%u.%u%c", &c->min_kernel[0], &c->min_kernel[1], &end) != 2 ||
             (c->min_kernel[0] == 0 && c->min_kernel[1] == 0))) {
    cleanup_free char *kp = member(path, "minKernel");
    return PERR(p, kp, "expected a kernel version MAJOR.MINOR, not `%s`", mk);
  }
  return 0;
}

static int parse_names(const struct pctx *p, json_t *obj, const char *where, rl_strv_t *names)
{
  const char *name;
  if (get_str(p, obj, where, "name", &name) < 0 || get_strv(p, obj, where, "names", names) < 0)
    return -1;
  cleanup_free char *path = member(where, "names");
  if (name && names->n > 0)
    return PERR(p, path, "both `name` and `names` are given: use one");
  if (name)
    rl_strv_push(names, name);
  if (names->n == 0)
    return PERR(p, path, "missing: a rule needs one syscall name at least");
  for (size_t i = 0; i < names->n; i++)
    if (names->v[i][0] == '\0') {
      cleanup_free char *np = rl_xasprintf("%s[%zu]", path, i);
      return PERR(p, np, "empty syscall name");
    }
  return 0;
}

static int parse_rule(const struct pctx *p, json_t *obj, const char *where,
                      struct rl_seccomp_rule *r)
{
  if (!json_is_object(obj))
    return PERR(p, where, "expected an object");
  if (parse_names(p, obj, where, &r->names) < 0 ||
      parse_action(p, obj, where, "action", "errnoRet", &r->action) < 0 ||
      parse_args(p, obj, where, r) < 0 || parse_cond(p, obj, where, "includes", &r->includes) < 0 ||
      parse_cond(p, obj, where, "excludes", &r->excludes) < 0)
    return -1;
  return 0;
}

/* SCMP_ARCH_X86_64 → libseccomp's token for "x86_64"; 0 when unknown. */
static uint32_t arch_token(const char *name)
{
  if (strncmp(name, "SCMP_ARCH_", 10) != 0)
    return 0;
  cleanup_free char *lower = rl_xstrdup(name + 10);
  for (char *c = lower; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  return seccomp_arch_resolve_name(lower);
}

static int add_arches(const struct pctx *p, const rl_strv_t *names, const char *path, bool use,
                      struct rl_seccomp_profile *prof)
{
  for (size_t i = 0; i < names->n; i++) {
    uint32_t t = arch_token(names->v[i]);
    if (t == 0) {
      cleanup_free char *ap = rl_xasprintf("%s[%zu]", path, i);
      PERR(p, ap, "unknown architecture `%s`", names->v[i]);
      return rl_error_hint(p->err, "use libseccomp's names: SCMP_ARCH_X86_64, SCMP_ARCH_X86, "
                                   "SCMP_ARCH_X32, SCMP_ARCH_AARCH64, SCMP_ARCH_ARM, ...");
    }
    if (!use)
      continue;
    prof->arches = rl_xrealloc(prof->arches, (prof->n_arches + 1) * sizeof(*prof->arches));
    prof->arches[prof->n_arches++] = t;
  }
  return 0;
}

/* docker's archMap: the entry of the native architecture gives its
 * subarchitectures; every name is checked. */
static int parse_arch_map(const struct pctx *p, json_t *map, struct rl_seccomp_profile *prof)
{
  json_t *e;
  size_t i;
  if (!json_is_array(map))
    return PERR(p, "archMap", "expected an array");
  json_array_foreach(map, i, e)
  {
    cleanup_free char *where = rl_xasprintf("archMap[%zu]", i);
    cleanup_free char *apath = member(where, "architecture");
    cleanup_free char *spath = member(where, "subArchitectures");
    cleanup_strv rl_strv_t main_arch = {0}, sub = {0};
    const char *arch;
    if (!json_is_object(e))
      return PERR(p, where, "expected an object");
    if (get_str(p, e, where, "architecture", &arch) < 0 ||
        get_strv(p, e, where, "subArchitectures", &sub) < 0)
      return -1;
    if (arch == NULL)
      return PERR(p, apath, "missing");
    rl_strv_push(&main_arch, arch);
    bool native = arch_token(arch) == seccomp_arch_native();
    if (add_arches(p, &main_arch, apath, native, prof) < 0 ||
        add_arches(p, &sub, spath, native, prof) < 0)
      return -1;
  }
  return 0;
}

static int parse_flags(const struct pctx *p, json_t *root, struct rl_seccomp_profile *prof)
{
  cleanup_strv rl_strv_t flags = {0};
  if (get_strv(p, root, "", "flags", &flags) < 0)
    return -1;
  for (size_t i = 0; i < flags.n; i++) {
    const char *f = flags.v[i];
    if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
      prof->log = true;
    else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
      prof->spec_allow = true;
    else if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") != 0) { /* one thread: nothing to sync */
      cleanup_free char *fp = rl_xasprintf("flags[%zu]", i);
      return PERR(p, fp, "unknown or unsupported flag `%s`", f);
    }
  }
  return 0;
}

static int parse_top(const struct pctx *p, json_t *root, struct rl_seccomp_profile *prof)
{
  json_t *map = json_object_get(root, "archMap");
  const char *listener;
  cleanup_strv rl_strv_t names = {0};
  if (!json_is_object(root))
    return PERR(p, "(top level)", "expected a JSON object");
  if (parse_action(p, root, "", "defaultAction", "defaultErrnoRet", &prof->default_action) < 0 ||
      get_str(p, root, "", "listenerPath", &listener) < 0)
    return -1;
  if (listener && *listener)
    return PERR(p, "listenerPath", "seccomp agents are not supported by rless");
  bool has_map = map && !json_is_null(map) && !(json_is_array(map) && json_array_size(map) == 0);
  if (get_strv(p, root, "", "architectures", &names) < 0)
    return -1;
  if (names.n > 0 && has_map)
    return PERR(p, "archMap", "both `architectures` and `archMap` are given: use one");
  if (add_arches(p, &names, "architectures", true, prof) < 0 ||
      (has_map && parse_arch_map(p, map, prof) < 0))
    return -1;
  return parse_flags(p, root, prof);
}

int rl_seccomp_profile_parse(json_t *root, const char *origin, struct rl_seccomp_profile *prof,
                             rl_error_t *err)
{
  const struct pctx p = {.origin = origin, .err = err};
  json_t *calls, *c;
  size_t i;
  memset(prof, 0, sizeof(*prof));
  if (parse_top(&p, root, prof) < 0)
    goto fail;
  calls = json_object_get(root, "syscalls");
  if (calls && !json_is_null(calls) && !json_is_array(calls)) {
    PERR(&p, "syscalls", "expected an array");
    goto fail;
  }
  prof->rules = rl_xcalloc(json_array_size(calls) + 1, sizeof(*prof->rules));
  json_array_foreach(calls, i, c)
  {
    cleanup_free char *where = rl_xasprintf("syscalls[%zu]", i);
    /* counted first, so a half-parsed rule is freed with the others */
    prof->n_rules++;
    if (parse_rule(&p, c, where, &prof->rules[i]) < 0)
      goto fail;
  }
  return 0;
fail:
  rl_seccomp_profile_free(prof);
  return -1;
}

/* ---- the filter ---- */

static void release_ctx(scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release(*ctx);
}

static void kernel_version(unsigned v[2])
{
  struct utsname u;
  v[0] = v[1] = 0;
  if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &v[0], &v[1]) != 2)
    v[0] = v[1] = 0;
}

static int version_cmp(const unsigned a[2], const unsigned b[2])
{
  return a[0] != b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1];
}

static bool has_min_kernel(const struct rl_seccomp_cond *c)
{
  return c->min_kernel[0] || c->min_kernel[1];
}

/* docker's decision (moby profiles/seccomp): an unknown kernel version
 * leaves minKernel out of it. */
static bool rule_applies(const struct rl_seccomp_rule *r, uint64_t caps, const unsigned kv[2])
{
  const struct rl_seccomp_cond *in = &r->includes, *ex = &r->excludes;
  bool kv_known = kv[0] || kv[1];
  for (size_t i = 0; i < ex->arches.n; i++)
    if (strcmp(ex->arches.v[i], GOARCH) == 0)
      return false;
  if ((ex->caps & caps) != 0)
    return false;
  if (kv_known && has_min_kernel(ex) && version_cmp(kv, ex->min_kernel) >= 0)
    return false;
  bool arch_in = in->arches.n == 0;
  for (size_t i = 0; i < in->arches.n; i++)
    arch_in = arch_in || strcmp(in->arches.v[i], GOARCH) == 0;
  if (!arch_in || in->caps_unknown || (in->caps & caps) != in->caps)
    return false;
  return !(kv_known && has_min_kernel(in) && version_cmp(kv, in->min_kernel) < 0);
}

static int add_syscall(scmp_filter_ctx ctx, const struct rl_seccomp_rule *r, int nr)
{
  struct scmp_arg_cmp cmp[6];
  bool shared = false;
  for (size_t i = 0; i < r->n_args; i++)
    for (size_t j = i + 1; j < r->n_args; j++)
      shared = shared || r->args[i].index == r->args[j].index;
  for (size_t i = 0; i < r->n_args; i++) {
    const struct rl_seccomp_arg *a = &r->args[i];
    struct scmp_arg_cmp c = {
        .arg = a->index, .op = a->op, .datum_a = a->value, .datum_b = a->value2};
    if (shared) {
      int rc = seccomp_rule_add_array(ctx, r->action, nr, 1, &c);
      if (rc < 0)
        return rc;
    } else {
      cmp[i] = c; /* distinct indexes 0..5: at most 6 */
    }
  }
  return shared ? 0 : seccomp_rule_add_array(ctx, r->action, nr, (unsigned)r->n_args, cmp);
}

static int add_rules(scmp_filter_ctx ctx, const struct rl_seccomp_profile *prof, uint64_t caps,
                     const char *origin, rl_error_t *err)
{
  unsigned kv[2];
  kernel_version(kv);
  for (size_t i = 0; i < prof->n_rules; i++) {
    const struct rl_seccomp_rule *r = &prof->rules[i];
    /* libseccomp refuses a rule that does what the default does; runc skips it too */
    if (r->action == prof->default_action || !rule_applies(r, caps, kv))
      continue;
    for (size_t n = 0; n < r->names.n; n++) {
      int nr = seccomp_syscall_resolve_name(r->names.v[n]);
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown to this libseccomp: no such call to filter */
      int rc = add_syscall(ctx, r, nr);
      if (rc < 0)
        return rl_make_error(err, -rc, "seccomp profile `%s`: syscalls[%zu]: add the rule for `%s`",
                             origin, i, r->names.v[n]);
    }
  }
  return 0;
}

static int build(const struct rl_seccomp_profile *prof, uint64_t caps, const char *origin,
                 scmp_filter_ctx *out, rl_error_t *err)
{
  __attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(prof->default_action);
  int rc;
  if (ctx == NULL)
    return rl_make_error(err, EINVAL, "seccomp_init for %s", origin);
  /* Real errnos from seccomp_load instead of ECANCELED.  A binary tree of
   * syscall numbers instead of a list: the kernel runs the filter once per
   * syscall and architecture when it is loaded (its action cache), so the
   * list cost every start 0.1-0.2 ms more, and every syscall of the
   * container a walk through it. */
  if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0 ||
      (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0 ||
      (prof->log && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1)) < 0) ||
      (prof->spec_allow && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1)) < 0))
    return rl_make_error(err, -rc, "set the attributes of the seccomp filter of %s", origin);
  for (size_t i = 0; i < prof->n_arches; i++) {
    rc = seccomp_arch_add(ctx, prof->arches[i]);
    if (rc < 0 && rc != -EEXIST)
      return rl_make_error(err, -rc, "add architecture %u to the seccomp filter of %s",
                           prof->arches[i], origin);
  }
  if (add_rules(ctx, prof, caps, origin, err) < 0)
    return -1;
  *out = rl_steal_ptr(&ctx);
  return 0;
}

int rl_seccomp_apply(const struct rl_seccomp_cfg *cfg, uint64_t caps, rl_error_t *err)
{
  struct rl_seccomp_prog p;
  int r = rl_seccomp_compile(cfg, caps, &p, err);
  if (r == 0)
    r = rl_seccomp_load(&p, err);
  rl_seccomp_prog_free(&p);
  return r;
}

int rl_seccomp_compile(const struct rl_seccomp_cfg *cfg, uint64_t caps, struct rl_seccomp_prog *p,
                       rl_error_t *err)
{
  struct rl_seccomp_profile def;
  const struct rl_seccomp_profile *prof = &def;
  const char *origin = DEFAULT_ORIGIN;
  __attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = NULL;
  memset(p, 0, sizeof(*p));
  p->ready = true;
  if (cfg && cfg->mode == RL_SECCOMP_UNCONFINED)
    return 0;
  if (cfg && cfg->mode == RL_SECCOMP_PROFILE) {
    prof = &cfg->profile;
    origin = cfg->origin;
  } else {
    rl_seccomp_default_profile(&def);
  }
  int r = build(prof, caps, origin, &ctx, err);
  p->flags = (prof->log ? SECCOMP_FILTER_FLAG_LOG : 0) |
             (prof->spec_allow ? SECCOMP_FILTER_FLAG_SPEC_ALLOW : 0);
  if (prof == &def)
    rl_seccomp_profile_free(&def);
  if (r < 0)
    return -1;
  cleanup_close int fd = memfd_create("rless-seccomp", MFD_CLOEXEC);
  if (fd < 0 || (r = seccomp_export_bpf(ctx, fd)) < 0)
    return rl_make_error(err, fd < 0 ? errno : -r, "compile the seccomp filter of %s", origin);
  off_t len = lseek(fd, 0, SEEK_END);
  if (len <= 0 || len % (off_t)sizeof(struct sock_filter) != 0)
    return rl_make_error(err, EINVAL, "compile the seccomp filter of %s: %lld bytes", origin,
                         (long long)len);
  p->filter = rl_xmalloc((size_t)len);
  if (pread(fd, p->filter, (size_t)len, 0) != len)
    return rl_make_error(err, errno, "read the compiled seccomp filter of %s", origin);
  p->n = (size_t)len / sizeof(struct sock_filter);
  return 0;
}

/* The default filter depends on the capabilities, libseccomp and this
 * binary only: one file per combination in the (private) runtime dir saves
 * every later start the millisecond of building it.  Profiles from files
 * are always built. */
static char *cache_name(const char *dir, uint64_t caps)
{
  struct stat st;
  const struct scmp_version *v = seccomp_version();
  if (stat("/proc/self/exe", &st) < 0 || v == NULL)
    return NULL;
  return rl_xasprintf("%s/seccomp-%u.%u.%u-%llx-%llx-%llx.bpf", dir, v->major, v->minor, v->micro,
                      (unsigned long long)caps, (unsigned long long)st.st_ino,
                      (unsigned long long)st.st_mtim.tv_sec);
}

int rl_seccomp_compile_cached(const struct rl_seccomp_cfg *cfg, uint64_t caps, const char *dir,
                              struct rl_seccomp_prog *p, rl_error_t *err)
{
  if (dir == NULL || (cfg && cfg->mode != RL_SECCOMP_DEFAULT))
    return rl_seccomp_compile(cfg, caps, p, err);
  cleanup_free char *path = cache_name(dir, caps);
  size_t len = 0;
  char *data = path ? rl_read_file_at(AT_FDCWD, path, 1 << 20, &len) : NULL;
  if (data && len > 0 && len % sizeof(struct sock_filter) == 0) {
    *p = (struct rl_seccomp_prog){
        .filter = data, .n = len / sizeof(struct sock_filter), .ready = true};
    return 0;
  }
  free(data);
  if (rl_seccomp_compile(cfg, caps, p, err) < 0)
    return -1;
  if (path)
    rl_write_file_atomic(path, p->filter, p->n * sizeof(struct sock_filter), 0600);
  return 0;
}

int rl_seccomp_load(const struct rl_seccomp_prog *p, rl_error_t *err)
{
  if (p->n == 0)
    return 0;
  struct sock_fprog prog = {.len = (unsigned short)p->n, .filter = p->filter};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &prog) < 0) {
    rl_make_error(err, errno, "load the seccomp filter");
    return errno == EACCES ? rl_error_hint(err, "no_new_privs must be set first") : -1;
  }
  return 0;
}

void rl_seccomp_prog_free(struct rl_seccomp_prog *p)
{
  free(p->filter);
  memset(p, 0, sizeof(*p));
}

/* ---- configuration ---- */

void rl_seccomp_cfg_free(struct rl_seccomp_cfg *cfg)
{
  free(cfg->origin);
  json_decref(cfg->json);
  rl_seccomp_profile_free(&cfg->profile);
  memset(cfg, 0, sizeof(*cfg));
}

/* libseccomp 2.5.4 (Debian 12) loops for ever in seccomp_rule_add on some
 * profiles (one syscall with two rules of several comparisons, not all
 * SCMP_CMP_EQ: tests/fuzz/regress/seccomp/libseccomp-hang-two-ne-rules).  A
 * profile from a file is built first in a child, with no capabilities and
 * with all (what rules depend on), which is killed when it takes too long. */
static int trial_build(const struct rl_seccomp_profile *prof, const char *origin, rl_error_t *err)
{
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return rl_make_error(err, errno, "pipe");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    scmp_filter_ctx a = NULL, b = NULL;
    rl_error_t e = NULL;
    _exit(build(prof, 0, origin, &a, &e) == 0 && build(prof, ~(uint64_t)0, origin, &b, &e) == 0
              ? 0
              : 1);
  }
  close(pfd[1]);
  if (pid < 0) {
    close(pfd[0]);
    return rl_make_error(err, errno, "fork to build the seccomp filter of %s", origin);
  }
  struct pollfd p = {.fd = pfd[0], .events = POLLIN};
  int r;
  while ((r = poll(&p, 1, TRIAL_MS)) < 0 && errno == EINTR)
    ;
  close(pfd[0]);
  if (r == 0)
    kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
  if (r != 0)
    return 0; /* done: a build error is found (and said) by the build that follows */
  const struct scmp_version *v = seccomp_version();
  rl_make_error(err, ETIMEDOUT,
                "build the seccomp filter of %s: libseccomp %u.%u.%u did not finish in %d s",
                origin, v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0, TRIAL_MS / 1000);
  return rl_error_hint(err, "libseccomp 2.5.4 loops on profiles where one syscall has two rules "
                            "of several comparisons that are not all SCMP_CMP_EQ: merge such "
                            "rules into one, or compare with SCMP_CMP_EQ");
}

/* Parse and build once (for the default capabilities, without loading):
 * what libseccomp would refuse in the container is refused now.  `trial`:
 * a profile from a file, not yet built here (a recorded one was, when its
 * container was made: exec and start need no second child for it). */
static int cfg_set_profile(struct rl_seccomp_cfg *cfg, json_t *root, const char *origin, bool trial,
                           rl_error_t *err)
{
  scmp_filter_ctx ctx = NULL;
  struct rl_seccomp_profile prof;
  if (rl_seccomp_profile_parse(root, origin, &prof, err) < 0)
    return -1;
  if ((trial && trial_build(&prof, origin, err) < 0) || build(&prof, 0, origin, &ctx, err) < 0) {
    rl_seccomp_profile_free(&prof);
    return -1;
  }
  seccomp_release(ctx);
  /* taken before the old ones go: they may be the same */
  json_incref(root);
  char *o = rl_xstrdup(origin);
  rl_seccomp_cfg_free(cfg);
  cfg->mode = RL_SECCOMP_PROFILE;
  cfg->origin = o;
  cfg->json = root;
  cfg->profile = prof;
  return 0;
}

static int load_profile(const char *path, struct rl_seccomp_cfg *cfg, rl_error_t *err)
{
  size_t len;
  json_error_t jerr;
  cleanup_free char *text = rl_read_file_at(AT_FDCWD, path, MAX_PROFILE, &len);
  if (text == NULL) {
    rl_make_error(err, errno, "read the seccomp profile `%s`", path);
    return rl_error_hint(err, "--security-opt seccomp= takes `unconfined` or the path of a "
                              "profile in docker's JSON format");
  }
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return rl_make_error(err, 0, "seccomp profile `%s`: line %d column %d: %s", path, jerr.line,
                         jerr.column, jerr.text);
  int r = cfg_set_profile(cfg, root, path, true, err);
  json_decref(root);
  return r;
}

int rl_seccomp_opt(const char *value, struct rl_seccomp_cfg *cfg, rl_error_t *err)
{
  if (value == NULL || *value == '\0') {
    rl_seccomp_cfg_free(cfg);
    return 0;
  }
  if (strcmp(value, "unconfined") == 0) {
    rl_seccomp_cfg_free(cfg);
    cfg->mode = RL_SECCOMP_UNCONFINED;
    return 0;
  }
  return load_profile(value, cfg, err);
}

json_t *rl_seccomp_cfg_json(const struct rl_seccomp_cfg *cfg)
{
  if (cfg->mode == RL_SECCOMP_UNCONFINED)
    return json_string("unconfined");
  if (cfg->mode == RL_SECCOMP_PROFILE && cfg->json)
    return json_deep_copy(cfg->json);
  return json_null();
}

int rl_seccomp_cfg_from_json(json_t *v, struct rl_seccomp_cfg *cfg, rl_error_t *err)
{
  if (v == NULL || json_is_null(v))
    return rl_seccomp_opt(NULL, cfg, err);
  if (json_is_string(v))
    return rl_seccomp_opt(json_string_value(v), cfg, err);
  if (json_is_object(v))
    return cfg_set_profile(cfg, v, RECORDED_ORIGIN, false, err);
  return rl_make_error(err, 0,
                       "container config: `seccomp` is neither null, a string nor a "
                       "profile object");
}
