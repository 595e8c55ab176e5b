#include "rl_caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define BIT(c) ((uint64_t)1 << (c))

uint64_t rl_caps_default(void)
{
  return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_FSETID) |
         BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SETFCAP) | BIT(CAP_SETGID) |
         BIT(CAP_SETPCAP) | BIT(CAP_SETUID) | BIT(CAP_SYS_CHROOT);
}

static uint64_t all_caps(void)
{
  int last = CAP_LAST_CAP;
  return last >= 63 ? ~(uint64_t)0 : BIT(last + 1) - 1;
}

static int cap_lookup(const char *name, uint64_t *bit, rl_error_t *err)
{
  cap_value_t v;
  cleanup_free char *full =
      strncasecmp(name, "CAP_", 4) == 0 ? rl_xstrdup(name) : rl_xasprintf("cap_%s", name);
  for (char *p = full; *p; p++)
    *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  if (cap_from_name(full, &v) < 0 || v < 0 || v > CAP_LAST_CAP) {
    rl_make_error(err, 0, "unknown capability `%s`", name);
    return rl_error_hint(err, "names are as in capabilities(7), e.g. NET_ADMIN or CAP_NET_ADMIN");
  }
  *bit = BIT(v);
  return 0;
}

static bool has_all(const rl_strv_t *s)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcasecmp(s->v[i], "ALL") == 0)
      return true;
  return false;
}

static int apply_list(const rl_strv_t *s, uint64_t *mask, bool add, rl_error_t *err)
{
  for (size_t i = 0; i < s->n; i++) {
    uint64_t bit = 0;
    if (strcasecmp(s->v[i], "ALL") == 0)
      continue;
    if (cap_lookup(s->v[i], &bit, err) < 0)
      return -1;
    *mask = add ? (*mask | bit) : (*mask & ~bit);
  }
  return 0;
}

int rl_caps_compute(const rl_strv_t *add, const rl_strv_t *drop, uint64_t *mask, rl_error_t *err)
{
  uint64_t m = has_all(add) ? all_caps() : has_all(drop) ? 0 : rl_caps_default();
  if (apply_list(add, &m, true, err) < 0 || apply_list(drop, &m, false, err) < 0)
    return -1;
  *mask = m;
  return 0;
}

int rl_caps_drop_bounding(uint64_t mask, rl_error_t *err)
{
  for (int c = 0; c <= CAP_LAST_CAP; c++) {
    if (mask & BIT(c))
      continue;
    /* EINVAL: the running kernel does not know this capability, nothing to drop. */
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return rl_make_error(err, errno, "drop capability %d from the bounding set", c);
  }
  return 0;
}

int rl_caps_apply(uint64_t mask, bool root, rl_error_t *err)
{
  cap_t caps = cap_init();
  if (caps == NULL)
    return rl_make_error(err, errno, "cap_init");
  for (int c = 0; c <= CAP_LAST_CAP; c++) {
    if (!(mask & BIT(c)) || !CAP_IS_SUPPORTED(c))
      continue;
    cap_value_t v = c;
    cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET);
    cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET);
    if (root)
      cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_SET);
  }
  int r = cap_set_proc(caps);
  int saved = errno;
  cap_free(caps);
  if (r < 0)
    return rl_make_error(err, saved, "set the container's capabilities");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return rl_make_error(err, errno, "clear the ambient capabilities");
  return 0;
}
