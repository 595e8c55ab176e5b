/* `rless info`: what this host allows and what rless will use, with the
 * exact fix for anything missing.  It reports and never fails over what it
 * finds: a user with a broken host runs it first. */
#include "rl_cli.h"
#include "rl_host.h"
#include "rl_net.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum info_format { FORMAT_TEXT, FORMAT_JSON };

static const char info_usage[] = "Usage: rless info [--format text|json]\n"
                                 "\n"
                                 "Show what this host allows a rootless container, what rless "
                                 "will use, and how to fix what is missing.\n"
                                 "\n"
                                 "      --format FORMAT  text (default) or json\n"
                                 "  -h, --help           show this help\n";

static const char single_effect[] = "only root exists in containers: chown to other ids, su and "
                                    "package managers that drop privileges fail";

static int parse_format(const char *val, enum info_format *f, rl_error_t *err)
{
  if (strcmp(val, "text") == 0)
    *f = FORMAT_TEXT;
  else if (strcmp(val, "json") == 0)
    *f = FORMAT_JSON;
  else {
    rl_make_error(err, 0, "info: invalid value `%s` for --format", val);
    return rl_error_hint(err, "use `--format text` or `--format json`");
  }
  return 0;
}

/* Returns 1 when help was asked for, 0 to go on, negative on a bad option. */
static int parse_args(int argc, char **argv, enum info_format *f, rl_error_t *err)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
      return 1;
    if (strncmp(a, "--format=", 9) == 0) {
      if (parse_format(a + 9, f, err) < 0)
        return -1;
    } else if (strcmp(a, "--format") == 0) {
      if (i + 1 >= argc) {
        rl_make_error(err, 0, "info: option `--format` needs a value");
        return rl_error_hint(err, "use `--format text` or `--format json`");
      }
      if (parse_format(argv[++i], f, err) < 0)
        return -1;
    } else {
      rl_make_error(err, 0, "info: unknown option or argument `%s`", a);
      return rl_error_hint(err, "see `rless info --help`");
    }
  }
  return 0;
}

/* ---- text ---- */

static void line(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(const char *key, const char *fmt, ...)
{
  va_list ap;
  printf("  %s: ", key);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

static void hint(const char *h)
{
  if (h)
    printf("    hint: %s\n", h);
}

static char *ranges_text(const struct rl_idrange *r, size_t n)
{
  if (n == 0)
    return rl_xstrdup("none");
  char *out = rl_xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *next = rl_xasprintf("%s%s%lu-%lu (%lu ids)", out, i ? ", " : "", r[i].start,
                              r[i].start + r[i].count - 1, r[i].count);
    free(out);
    out = next;
  }
  return out;
}

static bool tool_usable(const struct rl_idtool *t)
{
  return t->path && (t->setuid_root || t->file_caps);
}

static bool uses_subids(const struct rl_host_user *u)
{
  return u->n_subuid > 0 && u->n_subgid > 0;
}

static void text_user(const struct rl_host_info *h)
{
  const struct rl_host_user *u = &h->user;
  printf("user:\n");
  line("name", "%s", u->name ? u->name : "(no passwd entry)");
  line("uid", "%u", (unsigned)u->uid);
  line("gid", "%u", (unsigned)u->gid);
  if (u->subid_error) {
    line("subuid/subgid", "unknown: %s", u->subid_error);
    return;
  }
  cleanup_free char *su = ranges_text(u->subuid, u->n_subuid);
  cleanup_free char *sg = ranges_text(u->subgid, u->n_subgid);
  line("subuid", "%s", su);
  line("subgid", "%s", sg);
  if (!uses_subids(u)) {
    line("id map", "single id (%s)", single_effect);
    hint(u->hint);
  } else if (!tool_usable(&h->newuidmap) || !tool_usable(&h->newgidmap)) {
    line("id map", "subordinate ids, but newuidmap/newgidmap cannot write them (see idmap tools): "
                   "containers fail until that is fixed, or run them with --userns=single");
  } else {
    line("id map", "subordinate ids (root inside is you, 1 and up are your ranges)");
  }
}

static void text_tool(const char *name, const struct rl_idtool *t, const char *h)
{
  if (t->path == NULL)
    line(name, "not found");
  else
    line(name, "%s (%s)", t->path,
         t->setuid_root && t->file_caps ? "setuid root, file capabilities"
         : t->setuid_root               ? "setuid root"
         : t->file_caps                 ? "file capabilities"
                                        : "neither setuid root nor file capabilities");
  hint(h);
}

static void text_sysctls(const struct rl_host_info *h)
{
  printf("user namespaces:\n");
  for (size_t i = 0; i < RL_HOST_N_SYSCTLS; i++) {
    const struct rl_host_sysctl *s = &h->sysctl[i];
    /* Knobs this kernel does not have do not restrict anything: skip them. */
    if (s->value < 0 && i > 0)
      continue;
    if (s->value < 0)
      line(s->name, "unreadable (%s)", s->path);
    else
      line(s->name, "%ld", s->value);
    hint(s->hint);
  }
}

static const char *rootfs_method(const struct rl_host_info *h)
{
  if (h->overlay.works)
    return "kernel overlayfs";
  if (h->fuse.path && h->fuse.dev_fuse)
    return "fuse-overlayfs";
  return NULL;
}

static void text_overlay(const struct rl_host_info *h)
{
  const struct rl_host_overlay *o = &h->overlay;
  const struct rl_host_fuse *f = &h->fuse;
  printf("overlay:\n");
  if (h->overlay_error)
    line("kernel overlayfs in a user namespace", "unknown: the trial failed: %s", h->overlay_error);
  else if (o->works)
    line("kernel overlayfs in a user namespace", "yes");
  else
    line("kernel overlayfs in a user namespace", "no: %s: %s", o->stage, strerror(o->errnum));
  hint(o->hint);
  const char *optional = o->works ? " (not needed: kernel overlayfs works)" : "";
  line("fuse-overlayfs", "%s%s", f->path ? f->path : "not found", f->path ? "" : optional);
  line("/dev/fuse", "%s%s", f->dev_fuse ? "yes" : strerror(f->dev_errno),
       f->dev_fuse ? "" : optional);
  if (!o->works)
    hint(f->hint);
  const char *method = rootfs_method(h);
  line("root filesystems mounted with", "%s",
       method ? method
              : "NOTHING: neither kernel overlayfs nor fuse-overlayfs works; fix one of "
                "them (see the hints above)");
}

static void line_words(const char *key, const rl_strv_t *words)
{
  printf("  %s:", key);
  for (size_t i = 0; i < words->n; i++)
    printf(" %s", words->v[i]);
  printf("%s\n", words->n ? "" : " (none)");
}

static void text_cgroup(const struct rl_host_cgroup *c)
{
  printf("cgroup:\n");
  if (c->mount)
    line("version", "%s (cgroup2 at %s)", rl_cgroup_layout_name(c->layout), c->mount);
  else
    line("version", "%s", rl_cgroup_layout_name(c->layout));
  if (c->path)
    line("own cgroup", "%s%s%s%s", c->path, c->dir ? " (" : "", c->dir ? c->dir : "",
         c->dir ? ")" : "");
  if (c->dir) {
    line("writable", "%s", c->writable ? "yes" : "no");
    line_words("controllers", &c->controllers);
    line_words("root controllers", &c->root_controllers);
  }
  if (c->limits_problem)
    line("limits (--memory, --cpus, --pids-limit)", "not available: %s", c->limits_problem);
  else
    line("limits (--memory, --cpus, --pids-limit)", "available");
  hint(c->hint);
}

static void text_store(const struct rl_host_store *s)
{
  printf("store:\n");
  if (s->runtime_dir)
    line("runtime dir", "%s (%s)", s->runtime_dir, s->runtime_why ? s->runtime_why : "");
  else
    line("runtime dir", "unusable: %s", s->runtime_error);
  if (s->data_dir)
    line("data dir", "%s", s->data_dir);
  if (s->data_error)
    line("data dir", "unusable: %s", s->data_error);
  if (s->fs_type)
    line("data dir filesystem", "%s (of %s)%s", s->fs_type, s->fs_dir,
         s->fs_bad ? ": overlay upper dirs cannot live there" : "");
  hint(s->hint);
}

static void text_network(const struct rl_host_net *n)
{
  printf("network:\n");
  line("pasta", "%s", n->pasta ? n->pasta : "not found");
  line("slirp4netns", "%s", n->slirp4netns ? n->slirp4netns : "not found");
  hint(n->hint);
  cleanup_free char *helper = NULL;
  enum rl_network_mode m = rl_net_default_mode(&helper);
  line("default network", "%s%s%s%s", rl_net_mode_name(m), helper ? " (" : "", helper ? helper : "",
       helper ? ")" : "");
}

static void print_text(const struct rl_host_info *h)
{
  printf("kernel:\n");
  line("release", "%s", h->kernel);
  text_user(h);
  printf("idmap tools:\n");
  text_tool("newuidmap", &h->newuidmap, h->newuidmap_hint);
  text_tool("newgidmap", &h->newgidmap, h->newgidmap_hint);
  text_sysctls(h);
  text_overlay(h);
  text_cgroup(&h->cgroup);
  text_store(&h->store);
  text_network(&h->net);
}

/* ---- json ---- */

/* Paths need not be UTF-8, which JSON strings must be: null rather than fail. */
static json_t *jstr(const char *s)
{
  json_t *j = s ? json_string(s) : NULL;
  return j ? j : json_null();
}

static json_t *jranges(const struct rl_idrange *r, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:I,s:I}", "start", (json_int_t)r[i].start, "count",
                                       (json_int_t)r[i].count));
  return a;
}

static json_t *jstrv(const rl_strv_t *s)
{
  json_t *a = json_array();
  for (size_t i = 0; i < s->n; i++)
    json_array_append_new(a, jstr(s->v[i]));
  return a;
}

static json_t *json_user(const struct rl_host_user *u)
{
  json_t *o = json_pack("{s:o,s:I,s:I}", "name", jstr(u->name), "uid", (json_int_t)u->uid, "gid",
                        (json_int_t)u->gid);
  json_object_set_new(o, "subuid", jranges(u->subuid, u->n_subuid));
  json_object_set_new(o, "subgid", jranges(u->subgid, u->n_subgid));
  json_object_set_new(o, "subid_error", jstr(u->subid_error));
  json_object_set_new(o, "idmap", json_string(uses_subids(u) ? "subids" : "single"));
  json_object_set_new(o, "hint", jstr(u->hint));
  return o;
}

static json_t *json_tool(const struct rl_idtool *t, const char *h)
{
  return json_pack("{s:o,s:b,s:b,s:b,s:o}", "path", jstr(t->path), "setuid_root", t->setuid_root,
                   "file_caps", t->file_caps, "usable", tool_usable(t), "hint", jstr(h));
}

static json_t *json_sysctls(const struct rl_host_info *h)
{
  json_t *o = json_object();
  for (size_t i = 0; i < RL_HOST_N_SYSCTLS; i++) {
    const struct rl_host_sysctl *s = &h->sysctl[i];
    json_t *v = s->value < 0 ? json_null() : json_integer(s->value);
    json_object_set_new(
        o, s->name, json_pack("{s:s,s:o,s:o}", "path", s->path, "value", v, "hint", jstr(s->hint)));
  }
  return o;
}

static json_t *json_overlay(const struct rl_host_info *h)
{
  const struct rl_host_overlay *o = &h->overlay;
  json_t *works = h->overlay_error ? json_null() : json_boolean(o->works);
  json_t *error = h->overlay_error ? jstr(h->overlay_error)
                  : o->works       ? json_null()
                                   : jstr(strerror(o->errnum));
  const char *method = rootfs_method(h);
  return json_pack("{s:o,s:o,s:o,s:o,s:s,s:o}", "kernel_userns", works, "failed_step",
                   jstr(o->stage), "error", error, "tested_in", jstr(o->dir), "rootfs_method",
                   !method    ? "none"
                   : o->works ? "kernel"
                              : "fuse-overlayfs",
                   "hint", jstr(o->hint));
}

static json_t *json_fuse(const struct rl_host_fuse *f)
{
  return json_pack("{s:o,s:b,s:o,s:b,s:o}", "path", jstr(f->path), "dev_fuse", f->dev_fuse,
                   "dev_fuse_error", f->dev_fuse ? json_null() : jstr(strerror(f->dev_errno)),
                   "usable", f->path && f->dev_fuse, "hint", jstr(f->hint));
}

static json_t *json_cgroup(const struct rl_host_cgroup *c)
{
  json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:b}", "version", rl_cgroup_layout_name(c->layout),
                        "cgroup2_mount", jstr(c->mount), "path", jstr(c->path), "dir", jstr(c->dir),
                        "writable", c->writable);
  json_object_set_new(o, "controllers", jstrv(&c->controllers));
  json_object_set_new(o, "root_controllers", jstrv(&c->root_controllers));
  json_object_set_new(o, "limits", json_boolean(c->limits_problem == NULL));
  json_object_set_new(o, "limits_problem", jstr(c->limits_problem));
  json_object_set_new(o, "hint", jstr(c->hint));
  return o;
}

static json_t *json_store(const struct rl_host_store *s)
{
  json_t *o = json_pack("{s:o,s:o,s:o}", "runtime_dir", jstr(s->runtime_dir), "runtime_dir_why",
                        jstr(s->runtime_why), "runtime_dir_error", jstr(s->runtime_error));
  json_object_set_new(o, "data_dir", jstr(s->data_dir));
  json_object_set_new(o, "data_dir_error", jstr(s->data_error));
  json_object_set_new(o, "filesystem", jstr(s->fs_type));
  json_object_set_new(o, "filesystem_of", jstr(s->fs_dir));
  json_object_set_new(o, "overlay_upper_ok", json_boolean(s->fs_type && !s->fs_bad));
  json_object_set_new(o, "hint", jstr(s->hint));
  return o;
}

static int print_json(const struct rl_host_info *h, rl_error_t *err)
{
  json_t *root = json_object();
  json_object_set_new(root, "kernel", json_pack("{s:o}", "release", jstr(h->kernel)));
  json_object_set_new(root, "user", json_user(&h->user));
  json_object_set_new(root, "idmap_tools",
                      json_pack("{s:o,s:o}", "newuidmap",
                                json_tool(&h->newuidmap, h->newuidmap_hint), "newgidmap",
                                json_tool(&h->newgidmap, h->newgidmap_hint)));
  json_object_set_new(root, "sysctl", json_sysctls(h));
  json_object_set_new(root, "overlay", json_overlay(h));
  json_object_set_new(root, "fuse_overlayfs", json_fuse(&h->fuse));
  json_object_set_new(root, "cgroup", json_cgroup(&h->cgroup));
  json_object_set_new(root, "store", json_store(&h->store));
  cleanup_free char *net_helper = NULL;
  enum rl_network_mode default_net = rl_net_default_mode(&net_helper);
  json_object_set_new(root, "network",
                      json_pack("{s:o,s:o,s:s,s:o}", "pasta", jstr(h->net.pasta), "slirp4netns",
                                jstr(h->net.slirp4netns), "default", rl_net_mode_name(default_net),
                                "hint", jstr(h->net.hint)));
  int r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (r < 0 || putchar('\n') == EOF)
    return rl_make_error(err, 0, "writing the JSON output failed");
  return 0;
}

int rl_cmd_info(int argc, char **argv, const struct rl_global *g, rl_error_t *err)
{
  enum info_format format = FORMAT_TEXT;
  int r = parse_args(argc, argv, &format, err);
  if (r < 0)
    return r;
  if (r > 0) {
    fputs(info_usage, stdout);
    return 0;
  }
  struct rl_host_info h;
  rl_host_info_probe(g ? g->root : NULL, &h);
  if (format == FORMAT_JSON)
    r = print_json(&h, err);
  else
    print_text(&h);
  rl_host_info_free(&h);
  if (r == 0 && fflush(stdout) != 0)
    return rl_make_error(err, errno, "writing the output");
  return r;
}
