/* Unit tests for src/seccomp.c: docker/OCI profiles into data (and every
 * error path), the default policy as data, and the filters for real in
 * forked children (no namespaces needed: no_new_privs is enough). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rl_error.h"
#include "rl_seccomp.h"
#include "rl_util.h"

int rl_log_level = 0;

#define BIT(n)   ((uint64_t)1 << (n))
#define ORIGIN   "test.json"
#define BPF_LOAD 5

/* docker's name of this architecture, for "includes": {"arches": [...]} */
#if defined(__x86_64__)
#define GOARCH_TEST "amd64"
#elif defined(__aarch64__)
#define GOARCH_TEST "arm64"
#else
#error "add docker's name of this architecture"
#endif

/* ---- parsing ---- */

static json_t *json_of(const char *text)
{
  json_error_t jerr;
  json_t *j = json_loads(text, 0, &jerr);
  if (j == NULL)
    fail_msg("bad test JSON: %s: %s", jerr.text, text);
  return j;
}

static const char docker_like[] =
    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
    " \"archMap\": ["
    "  {\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": [\"SCMP_ARCH_ARM\"]},"
    "  {\"architecture\": \"SCMP_ARCH_X86_64\","
    "   \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]}],"
    " \"flags\": [\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
    " \"syscalls\": ["
    "  {\"names\": [\"read\", \"write\", \"future_call_2030\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"args\": [], \"comment\": \"\", \"includes\": {}, \"excludes\": {}},"
    "  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"args\": [{\"index\": 0, \"value\": 4294967295, \"valueTwo\": 0, \"op\": "
    "\"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"args\": [{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0,"
    "               \"op\": \"SCMP_CMP_MASKED_EQ\"}],"
    "   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"s390\", \"s390x\"]}},"
    "  {\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_NOT_YET_INVENTED\"], \"minKernel\": "
    "\"4.8\"}},"
    "  {\"name\": \"kill\", \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
    "  {\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
    "   \"errno\": \"EACCES\"},"
    "  {\"names\": [\"uname\"], \"action\": \"SCMP_ACT_ERRNO\"},"
    "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 7},"
    "  {\"names\": [\"arch_prctl\"], \"action\": \"SCMP_ACT_LOG\","
    "   \"includes\": {\"arches\": [\"amd64\", \"x32\"]}}]}";

static void test_parse_docker_like(void **state)
{
  json_t *j = json_of(docker_like);
  struct rl_seccomp_profile p;
  rl_error_t err = NULL;
  if (rl_seccomp_profile_parse(j, ORIGIN, &p, &err) < 0)
    fail_msg("%s", err->msg);
  assert_int_equal(p.default_action, SCMP_ACT_ERRNO(38));
  assert_true(p.spec_allow);
  assert_false(p.log);
  /* only the native architecture's archMap entry counts */
  if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
    assert_int_equal(p.n_arches, 3);
    assert_int_equal(p.arches[0], SCMP_ARCH_X86_64);
    assert_int_equal(p.arches[1], SCMP_ARCH_X86);
    assert_int_equal(p.arches[2], SCMP_ARCH_X32);
  }
  assert_int_equal(p.n_rules, 9);
  assert_int_equal(p.rules[0].names.n, 3);
  assert_string_equal(p.rules[0].names.v[2], "future_call_2030");
  assert_int_equal(p.rules[0].action, SCMP_ACT_ALLOW);
  assert_int_equal(p.rules[0].n_args, 0);
  assert_int_equal(p.rules[1].n_args, 1);
  assert_int_equal(p.rules[1].args[0].op, SCMP_CMP_EQ);
  assert_int_equal(p.rules[1].args[0].value, 0xffffffffULL);
  assert_int_equal(p.rules[2].args[0].op, SCMP_CMP_MASKED_EQ);
  assert_int_equal(p.rules[2].args[0].value, 2114060288);
  assert_int_equal(p.rules[2].excludes.caps, BIT(CAP_SYS_ADMIN));
  assert_int_equal(p.rules[2].excludes.arches.n, 2);
  assert_int_equal(p.rules[3].includes.caps, BIT(CAP_SYS_ADMIN));
  assert_true(p.rules[3].includes.caps_unknown);
  assert_int_equal(p.rules[3].includes.min_kernel[0], 4);
  assert_int_equal(p.rules[3].includes.min_kernel[1], 8);
  assert_string_equal(p.rules[4].names.v[0], "kill"); /* the old "name" */
  assert_int_equal(p.rules[4].action, SCMP_ACT_KILL_PROCESS);
  assert_int_equal(p.rules[5].action, SCMP_ACT_ERRNO(13));
  assert_int_equal(p.rules[6].action, SCMP_ACT_ERRNO(EPERM)); /* OCI: EPERM when not given */
  assert_int_equal(p.rules[7].action, SCMP_ACT_TRACE(7));
  assert_int_equal(p.rules[8].action, SCMP_ACT_LOG);
  assert_string_equal(p.rules[8].includes.arches.v[1], "x32");
  rl_seccomp_profile_free(&p);
  json_decref(j);
}

static void test_parse_architectures_and_kill_names(void **state)
{
  json_t *j = json_of("{\"defaultAction\": \"SCMP_ACT_KILL\", \"architectures\": "
                      "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_AARCH64\"],"
                      " \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_TSYNC\"],"
                      " \"syscalls\": null}");
  struct rl_seccomp_profile p;
  rl_error_t err = NULL;
  if (rl_seccomp_profile_parse(j, ORIGIN, &p, &err) < 0)
    fail_msg("%s", err->msg);
  assert_int_equal(p.default_action, SCMP_ACT_KILL_THREAD);
  assert_true(p.log);
  assert_int_equal(p.n_arches, 3);
  assert_int_equal(p.arches[2], SCMP_ARCH_AARCH64);
  assert_int_equal(p.n_rules, 0);
  rl_seccomp_profile_free(&p);
  json_decref(j);
  const char *kills[] = {"SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ALLOW"};
  const uint32_t want[] = {SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ALLOW};
  for (size_t i = 0; i < RL_ARRAY_SIZE(kills); i++) {
    cleanup_free char *text = rl_xasprintf("{\"defaultAction\": \"%s\"}", kills[i]);
    j = json_of(text);
    assert_int_equal(rl_seccomp_profile_parse(j, ORIGIN, &p, &err), 0);
    assert_int_equal(p.default_action, want[i]);
    rl_seccomp_profile_free(&p);
    json_decref(j);
  }
}

/* Profiles around one bad part. */
#define ALLOW_TOP    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
#define ERRNO_TOP    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": "
#define RULE(r)      ALLOW_TOP "\"syscalls\": [{\"action\": \"SCMP_ACT_KILL\", " r "}]}"
#define READ_RULE(r) RULE("\"names\": [\"read\"], " r)

static const struct {
  const char *json;
  const char *msg; /* after "seccomp profile `test.json`: " */
} bad_profiles[] = {
    {"[]", "(top level): expected a JSON object"},
    {"{}", "defaultAction: missing"},
    {"{\"defaultAction\": 1}", "defaultAction: expected a string"},
    {"{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "defaultAction: unknown action `SCMP_ACT_NOPE`"},
    {"{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "defaultAction: SCMP_ACT_NOTIFY needs a seccomp"},
    {ERRNO_TOP "-1}", "defaultErrnoRet: expected an integer from 0 to 4095"},
    {ERRNO_TOP "4096}", "defaultErrnoRet: expected an integer from 0 to 4095"},
    {ALLOW_TOP "\"defaultErrnoRet\": 1}", "defaultErrnoRet: SCMP_ACT_ALLOW takes no errno"},
    {ALLOW_TOP "\"listenerPath\": \"/run/agent.sock\"}", "listenerPath: seccomp agents are not"},
    {ALLOW_TOP "\"architectures\": \"SCMP_ARCH_X86\"}", "architectures: expected an array of"},
    {ALLOW_TOP "\"architectures\": [\"SCMP_ARCH_X86\", 3]}", "architectures[1]: expected a string"},
    {ALLOW_TOP "\"architectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_PDP11\"]}",
     "architectures[1]: unknown architecture `SCMP_ARCH_PDP11`"},
    {ALLOW_TOP "\"architectures\": [\"x86_64\"]}",
     "architectures[0]: unknown architecture `x86_64`"},
    {ALLOW_TOP "\"architectures\": [\"SCMP_ARCH_X86\"], \"archMap\": [{\"architecture\": "
               "\"SCMP_ARCH_X86_64\"}]}",
     "archMap: both `architectures` and `archMap` are given"},
    {ALLOW_TOP "\"archMap\": {}}", "archMap: expected an array"},
    {ALLOW_TOP "\"archMap\": [7]}", "archMap[0]: expected an object"},
    {ALLOW_TOP "\"archMap\": [{\"subArchitectures\": []}]}", "archMap[0].architecture: missing"},
    {ALLOW_TOP "\"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}, {\"architecture\": "
               "\"SCMP_ARCH_MIPS\", \"subArchitectures\": [\"SCMP_ARCH_MIPS9\"]}]}",
     "archMap[1].subArchitectures[0]: unknown architecture `SCMP_ARCH_MIPS9`"},
    {ALLOW_TOP "\"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
     "flags[0]: unknown or unsupported flag `SECCOMP_FILTER_FLAG_NEW_LISTENER`"},
    {ALLOW_TOP "\"syscalls\": {}}", "syscalls: expected an array"},
    {ALLOW_TOP "\"syscalls\": [\"read\"]}", "syscalls[0]: expected an object"},
    {ALLOW_TOP "\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\"}, "
               "{\"action\": \"SCMP_ACT_KILL\"}]}",
     "syscalls[1].names: missing"},
    {RULE("\"names\": []"), "syscalls[0].names: missing"},
    {RULE("\"names\": [\"read\", 2]"), "syscalls[0].names[1]: expected a string"},
    {RULE("\"names\": [\"read\", \"\"]"), "syscalls[0].names[1]: empty syscall name"},
    {RULE("\"name\": \"read\", \"names\": [\"write\"]"), "syscalls[0].names: both `name` and"},
    {ALLOW_TOP "\"syscalls\": [{\"name\": 3}]}", "syscalls[0].name: expected a string"},
    {ALLOW_TOP "\"syscalls\": [{\"names\": [\"read\"]}]}", "syscalls[0].action: missing"},
    {ALLOW_TOP "\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_DENY\"}]}",
     "syscalls[0].action: unknown action `SCMP_ACT_DENY`"},
    {ALLOW_TOP "\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", "
               "\"errnoRet\": \"EPERM\"}]}",
     "syscalls[0].errnoRet: expected an integer from 0 to 4095"},
    {READ_RULE("\"errnoRet\": 1"), "syscalls[0].errnoRet: SCMP_ACT_KILL takes no errno"},
    {READ_RULE("\"args\": {}"), "syscalls[0].args: expected an array"},
    {READ_RULE("\"args\": [[]]"), "syscalls[0].args[0]: expected an object"},
    {READ_RULE("\"args\": [{\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]"),
     "syscalls[0].args[0].index: missing"},
    {READ_RULE("\"args\": [{\"index\": 6, \"op\": \"SCMP_CMP_EQ\"}]"),
     "syscalls[0].args[0].index: expected an integer from 0 to 5"},
    {READ_RULE("\"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]"),
     "syscalls[0].args[0].value: expected an integer"},
    {READ_RULE("\"args\": [{\"index\": 0, \"valueTwo\": \"1\", \"op\": \"SCMP_CMP_EQ\"}]"),
     "syscalls[0].args[0].valueTwo: expected an integer"},
    {READ_RULE("\"args\": [{\"index\": 0, \"value\": 1}]"), "syscalls[0].args[0].op: missing"},
    {ALLOW_TOP "\"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_KILL\"}, {\"names\": "
               "[\"b\"], \"action\": \"SCMP_ACT_KILL\"}, {\"names\": [\"c\"], \"action\": "
               "\"SCMP_ACT_KILL\"}, {\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", "
               "\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_XX\"}]}]}",
     "syscalls[3].args[0].op: unknown operator `SCMP_CMP_XX`"},
    {READ_RULE("\"includes\": []"), "syscalls[0].includes: expected an object"},
    {READ_RULE("\"includes\": {\"caps\": \"CAP_SYS_ADMIN\"}"),
     "syscalls[0].includes.caps: expected an array of strings"},
    {READ_RULE("\"excludes\": {\"arches\": [1]}"), "syscalls[0].excludes.arches[0]: expected a"},
    {READ_RULE("\"excludes\": {\"minKernel\": \"four\"}"),
     "syscalls[0].excludes.minKernel: expected a kernel version MAJOR.MINOR, not `four`"},
    {READ_RULE("\"includes\": {\"minKernel\": 5}"), "syscalls[0].includes.minKernel: expected a"},
};

/* The errors whose fix is a list of names say them. */
static const struct {
  const char *msg, *hint;
} hints[] = {
    {"defaultAction: unknown action", "SCMP_ACT_KILL_PROCESS"},
    {"syscalls[3].args[0].op: unknown operator", "SCMP_CMP_MASKED_EQ"},
    {"architectures[0]: unknown architecture `x86_64`", "SCMP_ARCH_X86_64"},
};

static void test_parse_errors(void **state)
{
  size_t hinted = 0;
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad_profiles); i++) {
    json_t *j = json_of(bad_profiles[i].json);
    struct rl_seccomp_profile p;
    rl_error_t err = NULL;
    if (rl_seccomp_profile_parse(j, ORIGIN, &p, &err) != -1)
      fail_msg("profile %zu parsed: %s", i, bad_profiles[i].json);
    assert_non_null(err);
    cleanup_free char *want = rl_xasprintf("seccomp profile `%s`: %s", ORIGIN, bad_profiles[i].msg);
    if (strncmp(err->msg, want, strlen(want)) != 0)
      fail_msg("profile %zu: message `%s`, expected `%s...`", i, err->msg, want);
    for (size_t h = 0; h < RL_ARRAY_SIZE(hints); h++) {
      if (strncmp(bad_profiles[i].msg, hints[h].msg, strlen(hints[h].msg)) != 0)
        continue;
      if (err->hint == NULL || strstr(err->hint, hints[h].hint) == NULL)
        fail_msg("profile %zu: hint `%s` lacks `%s`", i, err->hint, hints[h].hint);
      hinted++;
    }
    assert_int_equal(err->errnum, 0);
    assert_int_equal(err->exit_code, RL_EXIT_FAILURE);
    /* the data is left empty on failure */
    assert_int_equal(p.n_rules, 0);
    assert_null(p.rules);
    rl_error_free(&err);
    json_decref(j);
  }
  assert_int_equal(hinted, RL_ARRAY_SIZE(hints));
}

/* ---- files, unconfined, the record ---- */

static char *write_temp(const char *text)
{
  char *path = rl_xstrdup("/tmp/rless-test-seccomp-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void test_opt_values(void **state)
{
  struct rl_seccomp_cfg cfg = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_seccomp_opt("unconfined", &cfg, &err), 0);
  assert_int_equal(cfg.mode, RL_SECCOMP_UNCONFINED);
  assert_int_equal(rl_seccomp_opt(NULL, &cfg, &err), 0);
  assert_int_equal(cfg.mode, RL_SECCOMP_DEFAULT);

  cleanup_free char *path = write_temp(docker_like);
  assert_int_equal(rl_seccomp_opt(path, &cfg, &err), 0);
  assert_int_equal(cfg.mode, RL_SECCOMP_PROFILE);
  assert_string_equal(cfg.origin, path);
  assert_int_equal(cfg.profile.n_rules, 9);
  assert_non_null(cfg.json);
  rl_seccomp_cfg_free(&cfg);
  unlink(path);

  assert_int_equal(rl_seccomp_opt(path, &cfg, &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  assert_non_null(strstr(err->msg, path));
  assert_non_null(strstr(err->hint, "unconfined"));
  assert_int_equal(cfg.mode, RL_SECCOMP_DEFAULT);
  rl_error_free(&err);
}

static void test_opt_bad_files(void **state)
{
  const char *texts[] = {"{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [}",
                         "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultAction\": \"x\"}",
                         "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                         "[\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": [{\"index\": 0, "
                         "\"op\": \"SCMP_CMP_XX\"}]}]}"};
  const char *want[] = {"line 2 column", "duplicate object key",
                        "syscalls[0].args[0].op: unknown operator `SCMP_CMP_XX`"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(texts); i++) {
    cleanup_free char *path = write_temp(texts[i]);
    struct rl_seccomp_cfg cfg = {0};
    rl_error_t err = NULL;
    assert_int_equal(rl_seccomp_opt(path, &cfg, &err), -1);
    cleanup_free char *prefix = rl_xasprintf("seccomp profile `%s`: ", path);
    if (strncmp(err->msg, prefix, strlen(prefix)) != 0 || strstr(err->msg, want[i]) == NULL)
      fail_msg("message `%s`, expected `%s` and `%s`", err->msg, prefix, want[i]);
    assert_int_equal(cfg.mode, RL_SECCOMP_DEFAULT);
    rl_error_free(&err);
    unlink(path);
  }
}

static void test_record_round_trip(void **state)
{
  struct rl_seccomp_cfg cfg = {0}, back = {0};
  rl_error_t err = NULL;
  json_t *v = rl_seccomp_cfg_json(&cfg);
  assert_true(json_is_null(v));
  assert_int_equal(rl_seccomp_cfg_from_json(v, &back, &err), 0);
  assert_int_equal(back.mode, RL_SECCOMP_DEFAULT);
  json_decref(v);

  cfg.mode = RL_SECCOMP_UNCONFINED;
  v = rl_seccomp_cfg_json(&cfg);
  assert_string_equal(json_string_value(v), "unconfined");
  assert_int_equal(rl_seccomp_cfg_from_json(v, &back, &err), 0);
  assert_int_equal(back.mode, RL_SECCOMP_UNCONFINED);
  json_decref(v);

  /* the profile itself is recorded: the file may be gone when exec runs */
  cleanup_free char *path = write_temp(docker_like);
  assert_int_equal(rl_seccomp_opt(path, &cfg, &err), 0);
  unlink(path);
  v = rl_seccomp_cfg_json(&cfg);
  assert_true(json_is_object(v));
  assert_int_equal(rl_seccomp_cfg_from_json(v, &back, &err), 0);
  assert_int_equal(back.mode, RL_SECCOMP_PROFILE);
  assert_int_equal(back.profile.n_rules, cfg.profile.n_rules);
  assert_int_equal(back.profile.default_action, SCMP_ACT_ERRNO(38));
  json_decref(v);

  /* a string is a path, read again */
  v = json_string(path);
  assert_int_equal(rl_seccomp_cfg_from_json(v, &back, &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  rl_error_free(&err);
  json_decref(v);
  v = json_integer(3);
  assert_int_equal(rl_seccomp_cfg_from_json(v, &back, &err), -1);
  assert_non_null(strstr(err->msg, "seccomp"));
  rl_error_free(&err);
  json_decref(v);
  rl_seccomp_cfg_free(&cfg);
  rl_seccomp_cfg_free(&back);
}

/* ---- the default policy as data ---- */

static bool arg_matches(const struct rl_seccomp_arg *a, const uint64_t args[6])
{
  uint64_t x = args[a->index];
  switch (a->op) {
  case SCMP_CMP_NE:
    return x != a->value;
  case SCMP_CMP_LT:
    return x < a->value;
  case SCMP_CMP_LE:
    return x <= a->value;
  case SCMP_CMP_EQ:
    return x == a->value;
  case SCMP_CMP_GE:
    return x >= a->value;
  case SCMP_CMP_GT:
    return x > a->value;
  case SCMP_CMP_MASKED_EQ:
    return (x & a->value) == a->value2;
  default:
    fail_msg("operator %d", a->op);
  }
  return false;
}

/* libseccomp's meaning of the data: some rule for `name` whose
 * comparisons all hold (the default profile never shares an index). */
static const struct rl_seccomp_rule *denying_rule(const struct rl_seccomp_profile *p,
                                                  const char *name, const uint64_t args[6])
{
  for (size_t i = 0; i < p->n_rules; i++) {
    const struct rl_seccomp_rule *r = &p->rules[i];
    bool named = false, all = true;
    for (size_t n = 0; n < r->names.n; n++)
      named = named || strcmp(r->names.v[n], name) == 0;
    for (size_t a = 0; named && a < r->n_args; a++)
      all = all && arg_matches(&r->args[a], args);
    if (named && all)
      return r;
  }
  return NULL;
}

static bool personality_denied(const struct rl_seccomp_profile *p, uint64_t v)
{
  uint64_t args[6] = {v};
  return denying_rule(p, "personality", args) != NULL;
}

static bool personality_safe(uint64_t v)
{
  return v == 0 || v == PER_LINUX32 || v == UNAME26 || v == (PER_LINUX32 | UNAME26) ||
         v == 0xffffffffULL;
}

static void test_default_personality_rules(void **state)
{
  struct rl_seccomp_profile p;
  rl_seccomp_default_profile(&p);
  for (uint64_t v = 0; v < (1 << 20); v++)
    if (personality_denied(&p, v) == personality_safe(v))
      fail_msg("personality(%#llx): denied %d", (unsigned long long)v, personality_denied(&p, v));
  /* every value with one or two bits set, their complements, and high garbage */
  for (unsigned a = 0; a < 64; a++) {
    for (unsigned b = a; b < 64; b++) {
      uint64_t vs[] = {BIT(a) | BIT(b), ~(BIT(a) | BIT(b)), 0xffffffffULL & ~(BIT(a) | BIT(b)),
                       BIT(a) | BIT(b) | 0x20008};
      for (size_t i = 0; i < RL_ARRAY_SIZE(vs); i++)
        if (personality_denied(&p, vs[i]) == personality_safe(vs[i]))
          fail_msg("personality(%#llx)", (unsigned long long)vs[i]);
    }
  }
  uint64_t x = 88172645463325252ULL; /* xorshift: a million arbitrary values */
  for (int i = 0; i < 1000000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint64_t v = i & 1 ? x : x & 0xffffffffULL;
    if (personality_denied(&p, v) == personality_safe(v))
      fail_msg("personality(%#llx)", (unsigned long long)v);
  }
  assert_true(personality_denied(&p, 0x100000008ULL)); /* the kernel would read 8: denied anyway */
  assert_false(personality_denied(&p, 0xffffffffULL));
  rl_seccomp_profile_free(&p);
}

static void test_default_ioctl_and_clone_rules(void **state)
{
  struct rl_seccomp_profile p;
  rl_seccomp_default_profile(&p);
  const uint64_t tiocsti[6] = {0, TIOCSTI}, hi[6] = {0, 0x100000000ULL | TIOCSTI},
                 linux_[6] = {0, TIOCLINUX}, other[6] = {0, TIOCGWINSZ}, fd1[6] = {TIOCSTI, 0};
  assert_non_null(denying_rule(&p, "ioctl", tiocsti));
  assert_non_null(denying_rule(&p, "ioctl", hi)); /* the kernel reads an unsigned int */
  assert_non_null(denying_rule(&p, "ioctl", linux_));
  assert_null(denying_rule(&p, "ioctl", other));
  assert_null(denying_rule(&p, "ioctl", fd1));
  const uint64_t newuser[6] = {CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD},
                 thread[6] = {CLONE_VM | CLONE_THREAD};
  assert_non_null(denying_rule(&p, "unshare", newuser));
  assert_null(denying_rule(&p, "unshare", thread));
  assert_non_null(denying_rule(&p, "clone", newuser));
  assert_null(denying_rule(&p, "clone", thread));
  const uint64_t none[6] = {0};
  const struct rl_seccomp_rule *r = denying_rule(&p, "clone3", none);
  assert_non_null(r);
  assert_int_equal(r->action, SCMP_ACT_ERRNO(ENOSYS));
  assert_int_equal(r->excludes.caps, BIT(CAP_SYS_ADMIN));
  const char *always[] = {"kexec_load",  "kexec_file_load", "keyctl",  "add_key",    "request_key",
                          "userfaultfd", "swapon",          "swapoff", "nfsservctl", "vm86",
                          "vm86old",     "personality"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(always); i++) {
    const uint64_t weird[6] = {0x40};
    r = denying_rule(&p, always[i], weird);
    if (r == NULL || r->excludes.caps != 0 || r->action != SCMP_ACT_ERRNO(EPERM))
      fail_msg("%s is not always denied with EPERM", always[i]);
  }
  r = denying_rule(&p, "fsopen", none);
  assert_int_equal(r->excludes.caps, BIT(CAP_SYS_ADMIN));
  r = denying_rule(&p, "bpf", none);
  assert_int_equal(r->excludes.caps, BIT(CAP_SYS_ADMIN) | BIT(CAP_BPF));
  r = denying_rule(&p, "open_by_handle_at", none);
  assert_int_equal(r->excludes.caps, BIT(CAP_DAC_READ_SEARCH));
  assert_null(denying_rule(&p, "ptrace", none));
  assert_null(denying_rule(&p, "name_to_handle_at", none));
  assert_int_equal(p.default_action, SCMP_ACT_ALLOW);
  if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
    assert_int_equal(p.n_arches, 2);
    assert_int_equal(p.arches[0], SCMP_ARCH_X86);
    assert_int_equal(p.arches[1], SCMP_ARCH_X32);
  }
  rl_seccomp_profile_free(&p);
}

/* ---- the filters for real ---- */

struct probe {
  int applied; /* 0, or the errno of rl_seccomp_apply */
  int keyctl, bpf, perf, tiocsti, tiocsti_hi, getpid, unshare_user, clone3;
  int per_linux, per_linux32, per_query, per_rie;
  int per_mismatches; /* personality values whose outcome is not the policy's */
  int keyctl_i386, getpid_i386;
  int getppid, dup3_cloexec, dup3_plain, getpgid1, getpgid2, getpgid0, getuid;
};

static int err_of(long r)
{
  return r < 0 ? errno : 0;
}

#ifdef __x86_64__
static long i386_call(long nr, long a, long b, long c)
{
  long r;
  __asm__ volatile("int $0x80"
                   : "=a"(r)
                   : "a"(nr), "b"(a), "c"(b), "d"(c)
                   : "r8", "r9", "r10", "r11", "memory", "cc");
  return (int)r;
}
#endif

static int sweep_personality(void)
{
  const uint64_t safe[] = {0, PER_LINUX32, UNAME26, PER_LINUX32 | UNAME26, 0xffffffffULL};
  int bad = 0;
  for (size_t i = 0; i < RL_ARRAY_SIZE(safe); i++)
    bad += syscall(SYS_personality, safe[i]) < 0;
  for (unsigned b = 0; b < 64; b++) {
    uint64_t vs[] = {BIT(b), BIT(b) | PER_LINUX32, 0xffffffffULL & ~BIT(b), BIT(b) | 0xffffffffULL};
    for (size_t i = 0; i < RL_ARRAY_SIZE(vs); i++) {
      bool safe_v = vs[i] == 0xffffffffULL || vs[i] == PER_LINUX32 || vs[i] == UNAME26 ||
                    vs[i] == (PER_LINUX32 | UNAME26);
      long r = syscall(SYS_personality, vs[i]);
      bad += safe_v ? r < 0 : !(r < 0 && errno == EPERM);
    }
  }
  syscall(SYS_personality, 0);
  return bad;
}

static void probe_profile_rules(struct probe *r)
{
  r->getppid = err_of(syscall(SYS_getppid));
  r->dup3_cloexec = err_of(syscall(SYS_dup3, 1, 100, O_CLOEXEC));
  r->dup3_plain = err_of(syscall(SYS_dup3, 1, 101, 0));
  r->getpgid1 = err_of(syscall(SYS_getpgid, 1));
  r->getpgid2 = err_of(syscall(SYS_getpgid, 2));
  r->getpgid0 = err_of(syscall(SYS_getpgid, 0));
  r->getuid = err_of(syscall(SYS_getuid));
}

static void probe_calls(int tty, struct probe *r)
{
  char c = '#';
  r->keyctl = err_of(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  r->bpf = err_of(syscall(SYS_bpf, BPF_LOAD, (void *)1, 64));
  r->perf = err_of(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  r->tiocsti = err_of(ioctl(tty, TIOCSTI, &c));
  r->tiocsti_hi = err_of(syscall(SYS_ioctl, tty, 0x100000000UL | TIOCSTI, &c));
  r->getpid = syscall(SYS_getpid) == getpid() ? 0 : -1;
  r->clone3 = err_of(syscall(SYS_clone3, NULL, 0));
  r->per_linux = err_of(syscall(SYS_personality, PER_LINUX));
  r->per_linux32 = err_of(syscall(SYS_personality, PER_LINUX32));
  r->per_query = err_of(syscall(SYS_personality, 0xffffffffUL));
  r->per_rie = err_of(syscall(SYS_personality, READ_IMPLIES_EXEC));
  syscall(SYS_personality, PER_LINUX);
  r->per_mismatches = sweep_personality();
#ifdef __x86_64__
  long k = i386_call(288, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  r->keyctl_i386 = k < 0 ? (int)-k : 0;
  r->getpid_i386 = i386_call(20, 0, 0, 0) == getpid() ? 0 : -1;
#endif
  probe_profile_rules(r);
  r->unshare_user = err_of(unshare(CLONE_NEWUSER)); /* last: it changes the credentials */
}

/* A session of its own with a pty as its controlling terminal, so TIOCSTI
 * without a filter is allowed by the kernel. */
static int own_tty(void)
{
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || setsid() < 0)
    return -1;
  return open(ptsname(m), O_RDWR);
}

static void run_probe(const struct rl_seccomp_cfg *cfg, uint64_t caps, struct probe *out)
{
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct probe r = {0};
    rl_error_t err = NULL;
    int tty = own_tty();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || rl_seccomp_apply(cfg, caps, &err) < 0)
      r.applied = err ? err->errnum ?: -1 : errno;
    else
      probe_calls(tty, &r);
    _exit(write(fds[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
  }
  close(fds[1]);
  assert_int_equal(read(fds[0], out, sizeof(*out)), (ssize_t)sizeof(*out));
  close(fds[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_int_equal(out->applied, 0);
}

static void test_default_filter_for_real(void **state)
{
  struct probe r;
  run_probe(NULL, 0, &r);
  assert_int_equal(r.keyctl, EPERM);
  assert_int_equal(r.bpf, EPERM);
  assert_int_equal(r.perf, EPERM);
  assert_int_equal(r.tiocsti, EPERM);
  assert_int_equal(r.tiocsti_hi, EPERM);
  assert_int_equal(r.getpid, 0);
  assert_int_equal(r.clone3, ENOSYS);
  assert_int_equal(r.unshare_user, EPERM);
  assert_int_equal(r.per_linux, 0);
  assert_int_equal(r.per_linux32, 0);
  assert_int_equal(r.per_query, 0);
  assert_int_equal(r.per_rie, EPERM);
  assert_int_equal(r.per_mismatches, 0);
#ifdef __x86_64__
  assert_int_equal(r.getpid_i386, 0);
  assert_int_equal(r.keyctl_i386, EPERM);
#endif
  assert_int_equal(r.getppid, 0);
  /* the same cfg through rl_seccomp_opt(NULL) */
  struct rl_seccomp_cfg cfg = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_seccomp_opt("", &cfg, &err), 0);
  run_probe(&cfg, 0, &r);
  assert_int_equal(r.keyctl, EPERM);
}

static void test_default_filter_lifted_by_caps(void **state)
{
  struct probe r;
  run_probe(NULL, BIT(CAP_SYS_ADMIN), &r);
  assert_int_equal(r.clone3, EINVAL); /* no longer ENOSYS: the kernel sees it */
  assert_int_equal(r.bpf, EFAULT);
  assert_int_equal(r.perf, EFAULT);
  assert_int_equal(r.keyctl, EPERM); /* no capability lifts that one */
  assert_int_equal(r.tiocsti, EPERM);
}

static void test_unconfined_for_real(void **state)
{
  struct rl_seccomp_cfg cfg = {0};
  rl_error_t err = NULL;
  struct probe r;
  assert_int_equal(rl_seccomp_opt("unconfined", &cfg, &err), 0);
  run_probe(&cfg, 0, &r);
  assert_int_not_equal(r.keyctl, EPERM);
  assert_int_equal(r.bpf, EFAULT);
  assert_int_equal(r.perf, EFAULT);
  assert_int_not_equal(r.tiocsti, EPERM);
  assert_int_not_equal(r.clone3, ENOSYS);
  assert_int_equal(r.per_rie, 0);
  assert_true(r.per_mismatches > 0); /* what the default denies goes through */
#ifdef __x86_64__
  assert_int_not_equal(r.keyctl_i386, EPERM);
#endif
}

static const char probe_profile[] =
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\","
    " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
    " \"syscalls\": ["
    "  {\"names\": [\"getppid\", \"no_such_call_in_any_kernel\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"errnoRet\": 13},"
    "  {\"names\": [\"dup3\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"args\": [{\"index\": 2, \"value\": 524288, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22,"
    "   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
    "            {\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
    "  {\"names\": [\"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
    "  {\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1,"
    "   \"includes\": {\"arches\": [\"" GOARCH_TEST "\"], \"minKernel\": \"3.0\"}},"
    "  {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";

static void test_profile_for_real(void **state)
{
  cleanup_free char *path = write_temp(probe_profile);
  struct rl_seccomp_cfg cfg = {0};
  rl_error_t err = NULL;
  struct probe r;
  if (rl_seccomp_opt(path, &cfg, &err) < 0)
    fail_msg("%s", err->msg);
  unlink(path);
  run_probe(&cfg, 0, &r);
  assert_int_equal(r.getppid, EACCES);
  assert_int_equal(r.dup3_cloexec, EPERM);
  assert_int_equal(r.dup3_plain, 0);
  assert_int_equal(r.getpgid1, EINVAL); /* two comparisons of one argument: either denies */
  assert_int_equal(r.getpgid2, EINVAL);
  assert_int_equal(r.getpgid0, 0);
  assert_int_equal(r.getuid, 0); /* includes CAP_SYS_ADMIN: not for this container */
  assert_int_equal(r.keyctl, EPERM);
  assert_int_equal(r.bpf, EPERM); /* includes this architecture and kernel */
  assert_int_equal(r.getpid, 0);
  assert_int_equal(r.per_rie, 0); /* not the default policy */
#ifdef __x86_64__
  assert_int_equal(r.keyctl_i386, EPERM); /* SCMP_ARCH_X86 listed */
#endif
  run_probe(&cfg, BIT(CAP_SYS_ADMIN), &r);
  assert_int_equal(r.getuid, EPERM);
  assert_int_not_equal(r.keyctl, EPERM);
  rl_seccomp_cfg_free(&cfg);
}

/* Without SCMP_ARCH_X86 a profile's filter kills what comes in through
 * int $0x80 (libseccomp's bad-architecture action). */
static void test_profile_without_i386_kills_int80(void **state)
{
#ifdef __x86_64__
  cleanup_free char *path =
      write_temp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
                 "[{\"names\": [\"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
  struct rl_seccomp_cfg cfg = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_seccomp_opt(path, &cfg, &err), 0);
  unlink(path);
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || rl_seccomp_apply(&cfg, 0, &err) < 0)
      _exit(2);
    if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) != -1 ||
        errno != EPERM)
      _exit(3);
    i386_call(20, 0, 0, 0);
    _exit(4);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
    fail_msg("child status %#x, expected death by SIGSYS", st);
  rl_seccomp_cfg_free(&cfg);
#else
  skip();
#endif
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_docker_like),
      cmocka_unit_test(test_parse_architectures_and_kill_names),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_opt_values),
      cmocka_unit_test(test_opt_bad_files),
      cmocka_unit_test(test_record_round_trip),
      cmocka_unit_test(test_default_personality_rules),
      cmocka_unit_test(test_default_ioctl_and_clone_rules),
      cmocka_unit_test(test_default_filter_for_real),
      cmocka_unit_test(test_default_filter_lifted_by_caps),
      cmocka_unit_test(test_unconfined_for_real),
      cmocka_unit_test(test_profile_for_real),
      cmocka_unit_test(test_profile_without_i386_kills_int80),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
