/* libFuzzer target for seccomp profiles in docker's/OCI's JSON format: the
 * input is the file of `--security-opt seccomp=FILE` (rl_seccomp_opt reads,
 * parses and builds it); what is accepted is compiled to BPF (never loaded)
 * for no capabilities and for all of them, recorded as the container record
 * keeps it and read back from that record.
 *
 * Invariants: an accepted profile holds only known actions and operators,
 * argument indexes 0-5, non-empty syscall names; it compiles to a non-empty
 * filter for the capabilities it was checked with; the recorded copy parses
 * into the same rules.
 *
 * Left out: profiles where one syscall has two rules of two comparisons or
 * more, not all SCMP_CMP_EQ.  libseccomp 2.5.4 (Debian 12) loops for ever in
 * seccomp_rule_add on some of them (socket with {a0 != 16, a1 != 9} and
 * {a0 != 16, a2 != 9}: tests/fuzz/regress/seccomp/libseccomp-hang-two-ne-rules),
 * which is its bug, not the parser's. */
#include <seccomp.h>

#include "fuzz.h"
#include "rl_seccomp.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

/* A known action; only ERRNO and TRACE carry a number, at most 4095. */
static bool action_ok(uint32_t a)
{
  uint32_t base = a & 0xffff0000u, data = a & 0xffffu;
  if (base == SCMP_ACT_ERRNO(0) || base == SCMP_ACT_TRACE(0))
    return data <= 4095;
  return data == 0 && (base == SCMP_ACT_KILL_THREAD || base == SCMP_ACT_KILL_PROCESS ||
                       base == SCMP_ACT_TRAP || base == SCMP_ACT_ALLOW || base == SCMP_ACT_LOG);
}

static void check_profile(const struct rl_seccomp_profile *p)
{
  FUZZ_CHECK(action_ok(p->default_action));
  FUZZ_CHECK(p->n_arches == 0 || p->arches != NULL);
  for (size_t i = 0; i < p->n_rules; i++) {
    const struct rl_seccomp_rule *r = &p->rules[i];
    FUZZ_CHECK(action_ok(r->action) && r->names.n > 0);
    for (size_t j = 0; j < r->names.n; j++)
      FUZZ_CHECK(r->names.v[j][0] != '\0');
    for (size_t j = 0; j < r->n_args; j++)
      FUZZ_CHECK(r->args[j].index <= 5 && r->args[j].op >= SCMP_CMP_NE &&
                 r->args[j].op <= SCMP_CMP_MASKED_EQ);
  }
}

static void compile(const struct rl_seccomp_cfg *cfg, uint64_t caps, bool must)
{
  struct rl_seccomp_prog prog;
  rl_error_t err = NULL;
  int r = rl_seccomp_compile(cfg, caps, &prog, &err);
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK(!must || r == 0);
  FUZZ_CHECK(r < 0 || (prog.n > 0 && prog.filter != NULL));
  rl_seccomp_prog_free(&prog);
  rl_error_free(&err);
}

static void check_same(const struct rl_seccomp_profile *a, const struct rl_seccomp_profile *b)
{
  FUZZ_CHECK(a->default_action == b->default_action && a->n_rules == b->n_rules);
  FUZZ_CHECK(a->n_arches == b->n_arches && a->log == b->log && a->spec_allow == b->spec_allow);
  for (size_t i = 0; i < a->n_rules; i++) {
    FUZZ_CHECK(a->rules[i].action == b->rules[i].action);
    FUZZ_CHECK(a->rules[i].names.n == b->rules[i].names.n);
    FUZZ_CHECK(a->rules[i].n_args == b->rules[i].n_args);
  }
}

static void round_trip(const struct rl_seccomp_cfg *cfg)
{
  json_t *rec = rl_seccomp_cfg_json(cfg);
  char *text = json_dumps(rec, JSON_COMPACT);
  json_decref(rec);
  FUZZ_CHECK(text != NULL);
  json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  free(text);
  FUZZ_CHECK(back != NULL);
  struct rl_seccomp_cfg again = {0};
  rl_error_t err = NULL;
  int r = rl_seccomp_cfg_from_json(back, &again, &err);
  json_decref(back);
  FUZZ_CHECK(r == 0 && err == NULL && again.mode == RL_SECCOMP_PROFILE);
  check_same(&cfg->profile, &again.profile);
  rl_seccomp_cfg_free(&again);
}

/* A rule with two comparisons or more, one of them not SCMP_CMP_EQ. */
static bool risky_rule(json_t *rule)
{
  json_t *args = json_object_get(rule, "args"), *a;
  size_t i;
  if (json_array_size(args) < 2)
    return false;
  json_array_foreach(args, i, a)
  {
    const char *op = json_string_value(json_object_get(a, "op"));
    if (op == NULL || strcmp(op, "SCMP_CMP_EQ") != 0)
      return true;
  }
  return false;
}

static void add_names(json_t *rule, rl_strv_t *seen, bool *twice)
{
  json_t *names = json_object_get(rule, "names"), *n;
  size_t i;
  json_array_foreach(names, i, n)
  {
    const char *s = json_string_value(n);
    for (size_t j = 0; s && j < seen->n; j++)
      *twice = *twice || strcmp(seen->v[j], s) == 0;
    if (s)
      rl_strv_push(seen, s);
  }
  const char *one = json_string_value(json_object_get(rule, "name"));
  for (size_t j = 0; one && j < seen->n; j++)
    *twice = *twice || strcmp(seen->v[j], one) == 0;
  if (one)
    rl_strv_push(seen, one);
}

/* What makes libseccomp 2.5.4 hang (see the top): a syscall named by two
 * risky rules (or twice by one). */
static bool hangs_libseccomp(const uint8_t *data, size_t size)
{
  json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
  json_t *calls = json_object_get(root, "syscalls"), *rule;
  size_t i;
  cleanup_strv rl_strv_t seen = {0};
  bool twice = false;
  json_array_foreach(calls, i, rule)
  {
    if (risky_rule(rule))
      add_names(rule, &seen, &twice);
  }
  json_decref(root);
  return twice;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (hangs_libseccomp(data, size))
    return 0;
  char path[32];
  int fd = fuzz_memfd(data, size, path);
  struct rl_seccomp_cfg cfg = {0};
  rl_error_t err = NULL;
  int r = rl_seccomp_opt(path, &cfg, &err);
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK((r == 0) == (cfg.mode == RL_SECCOMP_PROFILE));
  if (r == 0) {
    FUZZ_CHECK(cfg.json != NULL && cfg.origin != NULL);
    check_profile(&cfg.profile);
    compile(&cfg, 0, true);
    compile(&cfg, ~(uint64_t)0, false);
    round_trip(&cfg);
  }
  rl_seccomp_cfg_free(&cfg);
  rl_error_free(&err);
  close(fd);
  return 0;
}
