/* Unit tests for commit, diff and export (src/commit.c): what upper dir
 * entries become (pure), the changes they record, the committed config,
 * and the walks over real trees in a temp dir (0/0 devices need no
 * privilege since Linux 5.8; user xattrs need a filesystem that has them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include "rl_commit.h"
#include "rl_error.h"
#include "rl_util.h"

int rl_log_level = 0;

static void expect_fail(int r, rl_error_t *err, const char *needle)
{
  assert_int_equal(r, -1);
  assert_non_null(*err);
  if (strstr((*err)->msg, needle) == NULL)
    fail_msg("error `%s` does not mention `%s`", (*err)->msg, needle);
  rl_error_free(err);
}

/* ---- classification and tar entries ---- */

static struct rl_upper_entry entry(const char *path, mode_t mode, dev_t rdev, long long size)
{
  return (struct rl_upper_entry){.path = path, .mode = mode, .rdev = rdev, .size = size};
}

/* Classify, turn into tar entries, and return them as "K:path,K:path" (E
 * entry, M marker) with the kind letter first: "W|M:bin/.wh.vi". */
static char *outcome(enum rl_whiteout_format f, const struct rl_upper_entry *e, bool marker_child)
{
  struct rl_upper_class c;
  rl_error_t err = NULL;
  assert_int_equal(rl_upper_classify(f, e, &c, &err), 0);
  static const char kinds[] = "KWOS";
  struct rl_tar_out out[2];
  size_t n = rl_upper_tar_entries(e, &c, c.opaque || marker_child, out);
  char *s = rl_xasprintf("%c|", kinds[c.kind]);
  for (size_t i = 0; i < n; i++) {
    char *t = rl_xasprintf("%s%s%c:%s", s, i ? "," : "", out[i].kind == RL_TAR_ENTRY ? 'E' : 'M',
                           out[i].path);
    free(s);
    s = t;
  }
  rl_tar_outs_free(out, n);
  rl_upper_class_free(&c);
  return s;
}

static void check(enum rl_whiteout_format f, struct rl_upper_entry e, const char *want)
{
  char *got = outcome(f, &e, false);
  if (strcmp(got, want) != 0)
    fail_msg("`%s`: got `%s`, want `%s`", e.path, got, want);
  free(got);
}

static void test_classify_kernel_overlay(void **state)
{
  const enum rl_whiteout_format K = RL_WHITEOUT_OVERLAY_XATTR;
  check(K, entry("bin/vi", S_IFCHR, makedev(0, 0), 0), "W|M:bin/.wh.vi");
  check(K, entry("vi", S_IFCHR, makedev(0, 0), 0), "W|M:.wh.vi");
  check(K, entry("dev/null", S_IFCHR | 0666, makedev(1, 3), 0), "K|E:dev/null");
  check(K, entry("etc/passwd", S_IFREG | 0644, 0, 10), "K|E:etc/passwd");
  check(K, entry("etc", S_IFDIR | 0755, 0, 0), "K|E:etc");
  /* A name OCI would read as a whiteout cannot be in a layer. */
  check(K, entry("a/.wh.b", S_IFREG, 0, 0), "S|");
  check(K, entry("a/.wh..wh..opq", S_IFREG, 0, 0), "S|");
  /* Sockets, and the empty files rless's bind mounts would leave. */
  check(K, entry("run/s", S_IFSOCK | 0777, 0, 0), "S|");
  check(K, entry("etc/hosts", S_IFREG | 0644, 0, 0), "S|");
  check(K, entry("etc/resolv.conf", S_IFREG | 0644, 0, 0), "S|");
  check(K, entry("etc/hostname", S_IFREG | 0644, 0, 0), "S|");
  check(K, entry("etc/hosts", S_IFREG | 0644, 0, 12), "K|E:etc/hosts");
  check(K, entry("x/etc/hosts", S_IFREG | 0644, 0, 0), "K|E:x/etc/hosts");
  check(K, entry("etc/hostname", S_IFDIR | 0755, 0, 0), "K|E:etc/hostname");

  struct rl_xattr y = {"user.overlay.opaque", "y", 1}, x = {"user.overlay.opaque", "x", 1};
  struct rl_xattr ty = {"trusted.overlay.opaque", "y", 1};
  struct rl_upper_entry d = entry("opq", S_IFDIR | 0755, 0, 0);
  d.xattrs = &y;
  d.n_xattrs = 1;
  check(K, d, "K|E:opq,M:opq/.wh..wh..opq");
  d.xattrs = &ty;
  check(K, d, "K|E:opq,M:opq/.wh..wh..opq");
  d.xattrs = &x; /* "x": the dir has xattr whiteouts, it is not opaque */
  check(K, d, "K|E:opq");
  /* An opaque xattr on a file means nothing. */
  struct rl_upper_entry f = entry("file", S_IFREG, 0, 1);
  f.xattrs = &y;
  f.n_xattrs = 1;
  check(K, f, "K|E:file");
  /* The kernel's other whiteout form (it reads it from 6.7, never writes it). */
  struct rl_xattr wh = {"user.overlay.whiteout", "", 0};
  struct rl_upper_entry w = entry("a/gone", S_IFREG, 0, 0);
  w.xattrs = &wh;
  w.n_xattrs = 1;
  check(K, w, "W|M:a/.wh.gone");
}

static void test_classify_fuse_overlayfs(void **state)
{
  const enum rl_whiteout_format F = RL_WHITEOUT_FUSE;
  check(F, entry("bin/vi", S_IFCHR, makedev(0, 0), 0), "W|M:bin/.wh.vi");
  /* Its whiteout files where mknod is refused. */
  check(F, entry("a/b/.wh.c", S_IFREG, 0, 0), "W|M:a/b/.wh.c");
  check(F, entry(".wh.top", S_IFREG, 0, 0), "W|M:.wh.top");
  /* Its opaque markers: taken by the directory, never written themselves. */
  check(F, entry("o/.wh..wh..opq", S_IFREG, 0, 0), "O|");
  check(F, entry("o/.wh..opq", S_IFCHR, makedev(0, 0), 0), "O|");
  /* aufs-style metadata and oddities are in no layer. */
  check(F, entry("o/.wh..wh.plnk", S_IFREG, 0, 0), "S|");
  check(F, entry("o/.wh.", S_IFREG, 0, 0), "S|");
  check(F, entry("o/.wh.d", S_IFDIR, 0, 0), "S|");
  struct rl_xattr y = {"user.fuseoverlayfs.opaque", "y", 1};
  struct rl_upper_entry d = entry("o", S_IFDIR | 0700, 0, 0);
  d.xattrs = &y;
  d.n_xattrs = 1;
  check(F, d, "K|E:o,M:o/.wh..wh..opq");
  /* Opaque through a marker child only (the walk tells). */
  struct rl_upper_entry plain = entry("p", S_IFDIR | 0755, 0, 0);
  char *got = outcome(F, &plain, true);
  assert_string_equal(got, "K|E:p,M:p/.wh..wh..opq");
  free(got);
}

static void test_classify_refuses_redirects(void **state)
{
  struct rl_xattr r = {"user.overlay.redirect", "/x", 2}, m = {"user.overlay.metacopy", "", 0};
  struct rl_upper_entry e = entry("moved", S_IFDIR | 0755, 0, 0);
  struct rl_upper_class c;
  rl_error_t err = NULL;
  e.xattrs = &r;
  e.n_xattrs = 1;
  expect_fail(rl_upper_classify(RL_WHITEOUT_OVERLAY_XATTR, &e, &c, &err), &err, "`/moved`");
  e = entry("big", S_IFREG, 0, 0);
  e.xattrs = &m;
  e.n_xattrs = 1;
  expect_fail(rl_upper_classify(RL_WHITEOUT_FUSE, &e, &c, &err), &err, "metacopy");
}

static void test_xattr_kept(void **state)
{
  assert_true(rl_layer_xattr_kept("user.test"));
  assert_true(rl_layer_xattr_kept("security.capability"));
  assert_true(rl_layer_xattr_kept("user.overlayfoo"));
  assert_false(rl_layer_xattr_kept("user.overlay.origin"));
  assert_false(rl_layer_xattr_kept("trusted.overlay.opaque"));
  assert_false(rl_layer_xattr_kept("user.fuseoverlayfs.origin"));
  assert_false(rl_layer_xattr_kept("trusted.fuseoverlayfs.opaque"));
}

/* ---- diff classification ---- */

static void test_diff_kind(void **state)
{
  struct rl_upper_class keep = {.kind = RL_UPPER_KEEP}, wh = {.kind = RL_UPPER_WHITEOUT};
  struct rl_upper_class opq = {.kind = RL_UPPER_OPAQUE}, skip = {.kind = RL_UPPER_SKIP};
  assert_int_equal(rl_diff_kind(&keep, true), 'C');
  assert_int_equal(rl_diff_kind(&keep, false), 'A');
  assert_int_equal(rl_diff_kind(&wh, true), 'D');
  assert_int_equal(rl_diff_kind(&wh, false), 0);
  assert_int_equal(rl_diff_kind(&opq, true), 0);
  assert_int_equal(rl_diff_kind(&skip, false), 0);
}

static char *changes_text(const struct rl_changes *c)
{
  char *s = rl_xstrdup("");
  for (size_t i = 0; i < c->n; i++) {
    char *t = rl_xasprintf("%s%c %s\n", s, c->v[i].kind, c->v[i].path);
    free(s);
    s = t;
  }
  return s;
}

static void test_changes_sort(void **state)
{
  struct rl_changes c = {0};
  rl_changes_add(&c, 'A', "a/b");
  rl_changes_add(&c, 'D', "a-b");
  rl_changes_add(&c, 'C', "a");
  rl_changes_add(&c, 'D', "z/x");
  rl_changes_add(&c, 'D', "z/x");
  rl_changes_add(&c, 'A', "B");
  rl_changes_sort(&c);
  char *s = changes_text(&c);
  /* Byte order, as docker sorts: "B" < "a", "a-b" < "a/b". */
  assert_string_equal(s, "A /B\nC /a\nD /a-b\nA /a/b\nD /z/x\n");
  free(s);
  rl_changes_free(&c);
  rl_changes_sort(&c);
  assert_int_equal(c.n, 0);
}

/* ---- the committed config ---- */

static const char base_config[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2023-11-14T22:13:20Z\","
    "\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"Labels\":{\"old\":\"1\"}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:aa\",\"sha256:bb\"]},"
    "\"history\":[{\"created_by\":\"one\"},{\"created_by\":\"two\"}]}";

static json_t *commit_json(const struct rl_commit_opts *o, const char *created_by)
{
  rl_error_t err = NULL;
  char *s = rl_commit_config(base_config, strlen(base_config), 2, "sha256:cc", o, created_by,
                             1700000000, &err);
  if (s == NULL)
    fail_msg("rl_commit_config: %s", err->msg);
  json_t *j = json_loads(s, 0, NULL);
  free(s);
  assert_non_null(j);
  return j;
}

static const char *jstr(json_t *j, const char *path)
{
  char *copy = rl_xstrdup(path), *save = NULL;
  for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
    j = json_is_array(j) ? json_array_get(j, (size_t)atoi(k)) : json_object_get(j, k);
  free(copy);
  return json_string_value(j);
}

static void test_commit_config(void **state)
{
  char *changes[] = {"CMD [\"/bin/echo\", \"hi\"]", "ENV A=1", "LABEL new=2 spaced=\"a b\"",
                     "WORKDIR=/srv", NULL};
  struct rl_commit_opts o = {.message = "fixed it", .author = "Ann <a@x>", .changes = changes};
  json_t *j = commit_json(&o, "sh -c make");
  assert_string_equal(jstr(j, "created"), "2023-11-14T22:13:20Z");
  assert_string_equal(jstr(j, "architecture"), "amd64");
  assert_string_equal(jstr(j, "author"), "Ann <a@x>");
  json_t *ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
  assert_int_equal(json_array_size(ids), 3);
  assert_string_equal(jstr(j, "rootfs.diff_ids.0"), "sha256:aa");
  assert_string_equal(jstr(j, "rootfs.diff_ids.2"), "sha256:cc");
  assert_int_equal(json_array_size(json_object_get(j, "history")), 3);
  assert_string_equal(jstr(j, "history.0.created_by"), "one");
  assert_string_equal(jstr(j, "history.2.created_by"), "sh -c make");
  assert_string_equal(jstr(j, "history.2.comment"), "fixed it");
  assert_string_equal(jstr(j, "history.2.author"), "Ann <a@x>");
  assert_string_equal(jstr(j, "history.2.created"), "2023-11-14T22:13:20Z");
  assert_string_equal(jstr(j, "config.Cmd.0"), "/bin/echo");
  assert_string_equal(jstr(j, "config.Cmd.1"), "hi");
  assert_string_equal(jstr(j, "config.Env.0"), "PATH=/bin");
  assert_string_equal(jstr(j, "config.Env.1"), "A=1");
  assert_string_equal(jstr(j, "config.WorkingDir"), "/srv");
  assert_string_equal(jstr(j, "config.Labels.old"), "1");
  assert_string_equal(jstr(j, "config.Labels.new"), "2");
  assert_string_equal(jstr(j, "config.Labels.spaced"), "a b");
  json_decref(j);

  /* Nothing asked: the base config, one more layer and history entry. */
  struct rl_commit_opts none = {0};
  j = commit_json(&none, "");
  assert_null(json_object_get(j, "author"));
  assert_null(json_object_get(json_array_get(json_object_get(j, "history"), 2), "comment"));
  assert_string_equal(jstr(j, "config.Cmd.0"), "sh");
  json_decref(j);
}

static void test_commit_config_bad(void **state)
{
  struct rl_commit_opts o = {0};
  rl_error_t err = NULL;
  assert_null(rl_commit_config(base_config, strlen(base_config), 3, "sha256:cc", &o, "", 0, &err));
  expect_fail(-1, &err, "lists 2 layers");
  assert_null(rl_commit_config("[1]", 3, 0, "sha256:cc", &o, "", 0, &err));
  expect_fail(-1, &err, "not a JSON object");
  const char none[] = "{\"config\":{}}";
  assert_null(rl_commit_config(none, strlen(none), 1, "sha256:cc", &o, "", 0, &err));
  expect_fail(-1, &err, "lists 0 layers");
  char *bad[] = {"EXPOSE 80", NULL};
  o.changes = bad;
  assert_null(rl_commit_config(base_config, strlen(base_config), 2, "sha256:cc", &o, "", 0, &err));
  expect_fail(-1, &err, "EXPOSE");
}

static void test_label_forms(void **state)
{
  json_t *config = json_object();
  rl_error_t err = NULL;
  assert_int_equal(rl_commit_change_apply(config, "LABEL=k=v", &err), 0);
  assert_int_equal(rl_commit_change_apply(config, " label a=1 b='x y' c=\"q\\\"z\" ", &err), 0);
  assert_int_equal(rl_commit_change_apply(config, "LABEL old style value", &err), 0);
  assert_int_equal(rl_commit_change_apply(config, "LABEL empty=", &err), 0);
  assert_int_equal(rl_commit_change_apply(config, "USER 1000", &err), 0);
  json_t *l = json_object_get(config, "Labels");
  assert_string_equal(json_string_value(json_object_get(l, "k")), "v");
  assert_string_equal(json_string_value(json_object_get(l, "a")), "1");
  assert_string_equal(json_string_value(json_object_get(l, "b")), "x y");
  assert_string_equal(json_string_value(json_object_get(l, "c")), "q\"z");
  assert_string_equal(json_string_value(json_object_get(l, "old")), "style value");
  assert_string_equal(json_string_value(json_object_get(l, "empty")), "");
  assert_string_equal(json_string_value(json_object_get(config, "User")), "1000");
  expect_fail(rl_commit_change_apply(config, "LABEL", &err), &err, "no value");
  expect_fail(rl_commit_change_apply(config, "LABEL  ", &err), &err, "no value");
  expect_fail(rl_commit_change_apply(config, "LABEL =x", &err), &err, "KEY=VALUE");
  expect_fail(rl_commit_change_apply(config, "LABEL a=1 junk", &err), &err, "KEY=VALUE");
  expect_fail(rl_commit_change_apply(config, "LABEL lonely", &err), &err, "KEY=VALUE");
  /* LABELS is not LABEL. */
  expect_fail(rl_commit_change_apply(config, "LABELS a=1", &err), &err, "LABELS");
  json_decref(config);
}

/* ---- walks over real trees ---- */

struct tmp {
  char *dir;
};

static int make_tmp(void **state)
{
  struct tmp *t = rl_xcalloc(1, sizeof(*t));
  t->dir = rl_xstrdup("/tmp/rless-test-commit.XXXXXX");
  if (mkdtemp(t->dir) == NULL)
    return -1;
  *state = t;
  return 0;
}

static int drop_tmp(void **state)
{
  struct tmp *t = *state;
  rl_rmtree(t->dir, NULL);
  free(t->dir);
  free(t);
  return 0;
}

static char *mk(const struct tmp *t, const char *rel)
{
  return rl_xasprintf("%s/%s", t->dir, rel);
}

static void put_dir(const struct tmp *t, const char *rel)
{
  char *p = mk(t, rel);
  assert_int_equal(mkdir(p, 0755), 0);
  free(p);
}

static void put_file(const struct tmp *t, const char *rel, const char *content)
{
  char *p = mk(t, rel);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, content, strlen(content)), 0);
  close(fd);
  free(p);
}

static void put_whiteout(const struct tmp *t, const char *rel)
{
  char *p = mk(t, rel);
  if (mknod(p, S_IFCHR | 0600, makedev(0, 0)) < 0)
    fail_msg("mknod 0/0 `%s`: %s (needs Linux 5.8 or root)", p, strerror(errno));
  free(p);
}

/* false when the filesystem has no user xattrs (the caller skips). */
static bool put_xattr(const struct tmp *t, const char *rel, const char *name, const char *v)
{
  char *p = mk(t, rel);
  int r = lsetxattr(p, name, v, strlen(v), 0);
  free(p);
  if (r < 0 && (errno == ENOTSUP || errno == EPERM))
    return false;
  assert_int_equal(r, 0);
  return true;
}

/* The tar of the tree at rel, as "TYPE path [-> target] [xattr...]" lines. */
static char *tar_listing(const struct tmp *t, const char *rel, bool upper,
                         enum rl_whiteout_format f)
{
  char *root = mk(t, rel), *out = mk(t, "out.tar");
  int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  rl_error_t err = NULL;
  if (rl_commit_tar(dfd, upper, f, ofd, &err) < 0)
    fail_msg("rl_commit_tar: %s", err->msg);
  close(dfd);
  close(ofd);
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_filename(a, out, 10240), ARCHIVE_OK);
  struct archive_entry *e;
  char *s = rl_xstrdup("");
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname(e), *hl = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    char c = hl                 ? 'h'
             : type == AE_IFDIR ? 'd'
             : type == AE_IFLNK ? 'l'
             : type == AE_IFREG ? 'f'
                                : '?';
    char *line = rl_xasprintf("%s%c %.*s", s, c, (int)(strlen(name) - (type == AE_IFDIR)), name);
    free(s);
    s = line;
    if (hl || type == AE_IFLNK) {
      line = rl_xasprintf("%s -> %s", s, hl ? hl : archive_entry_symlink(e));
      free(s);
      s = line;
    }
    if (type == AE_IFREG && !hl) {
      line = rl_xasprintf("%s %lld", s, (long long)archive_entry_size(e));
      free(s);
      s = line;
    }
    const char *xn;
    const void *xv;
    size_t xl;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK) {
      line = rl_xasprintf("%s %s=%.*s", s, xn, (int)xl, (const char *)xv);
      free(s);
      s = line;
    }
    line = rl_xasprintf("%s\n", s);
    free(s);
    s = line;
  }
  archive_read_free(a);
  free(root);
  free(out);
  return s;
}

static void test_tar_kernel_upper(void **state)
{
  struct tmp *t = *state;
  put_dir(t, "u");
  put_dir(t, "u/bin");
  put_whiteout(t, "u/bin/vi");
  put_dir(t, "u/etc");
  put_file(t, "u/etc/hosts", "");
  put_file(t, "u/etc/passwd", "root\n");
  put_dir(t, "u/opq");
  put_file(t, "u/opq/n", "n\n");
  put_file(t, "u/.wh.literal", "");
  char *p = mk(t, "u/etc/passwd"), *l = mk(t, "u/hl"), *s = mk(t, "u/link");
  assert_int_equal(link(p, l), 0);
  assert_int_equal(symlink("etc/passwd", s), 0);
  free(p);
  free(l);
  free(s);
  /* A socket is in no layer. */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char *sock = mk(t, "u/sock");
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
  int sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  close(sfd);
  free(sock);
  if (!put_xattr(t, "u/opq", "user.overlay.opaque", "y"))
    skip();
  put_xattr(t, "u/opq", "user.overlay.origin", "junk");
  put_xattr(t, "u/opq", "user.keep", "v");
  char *got = tar_listing(t, "u", true, RL_WHITEOUT_OVERLAY_XATTR);
  assert_string_equal(got, "d bin\n"
                           "f bin/.wh.vi 0\n"
                           "d etc\n"
                           "f etc/passwd 5\n"
                           "h hl -> etc/passwd\n"
                           "l link -> etc/passwd\n"
                           "d opq user.keep=v\n"
                           "f opq/.wh..wh..opq 0\n"
                           "f opq/n 2\n");
  free(got);
  /* The same tree as a root filesystem (export): as it is, but no sockets
   * and none of the overlays' xattrs. */
  got = tar_listing(t, "u", false, RL_WHITEOUT_OVERLAY_XATTR);
  assert_string_equal(got, "f .wh.literal 0\n"
                           "d bin\n"
                           "? bin/vi\n"
                           "d etc\n"
                           "f etc/hosts 0\n"
                           "f etc/passwd 5\n"
                           "h hl -> etc/passwd\n"
                           "l link -> etc/passwd\n"
                           "d opq user.keep=v\n"
                           "f opq/n 2\n");
  free(got);
}

static void test_tar_fuse_upper(void **state)
{
  struct tmp *t = *state;
  put_dir(t, "u");
  put_dir(t, "u/d");
  put_file(t, "u/d/.wh..wh..opq", "");
  put_whiteout(t, "u/d/.wh..opq");
  put_file(t, "u/d/x", "x");
  put_dir(t, "u/e");
  put_file(t, "u/e/.wh.gone", "");
  put_whiteout(t, "u/e/dev-gone");
  put_dir(t, "u/f");
  put_file(t, "u/f/.wh..wh..opq", "");
  if (!put_xattr(t, "u/d", "user.fuseoverlayfs.opaque", "y"))
    skip();
  put_xattr(t, "u/d/x", "user.fuseoverlayfs.origin", "d/x");
  char *got = tar_listing(t, "u", true, RL_WHITEOUT_FUSE);
  assert_string_equal(got, "d d\n"
                           "f d/.wh..wh..opq 0\n"
                           "f d/x 1\n"
                           "d e\n"
                           "f e/.wh.gone 0\n"
                           "f e/.wh.dev-gone 0\n"
                           "d f\n"
                           "f f/.wh..wh..opq 0\n");
  free(got);
}

static int open_dir(const struct tmp *t, const char *rel)
{
  char *p = mk(t, rel);
  int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(fd >= 0);
  free(p);
  return fd;
}

static void test_diff_against_layers(void **state)
{
  struct tmp *t = *state;
  /* The image: bottom layer L0, top layer L1 (fuse format markers). */
  const char *l0_dirs[] = {"l0", "l0/bin", "l0/etc", "l0/data", "l0/opq", "l0/opq2", "l0/keep"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(l0_dirs); i++)
    put_dir(t, l0_dirs[i]);
  const char *l0_files[] = {"l0/bin/vi", "l0/bin/sh", "l0/etc/passwd", "l0/data/a", "l0/data/b",
                            "l0/opq/x",  "l0/opq/y",  "l0/opq2/old",   "l0/keep/k", "l0/rootfile"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(l0_files); i++)
    put_file(t, l0_files[i], "0");
  put_dir(t, "l1");
  put_dir(t, "l1/data");
  put_file(t, "l1/data/.wh.b", ""); /* b is not in the image */
  put_dir(t, "l1/opq2");
  put_file(t, "l1/opq2/.wh..wh..opq", ""); /* old is not either */
  put_file(t, "l1/opq2/cur", "1");
  put_whiteout(t, "l1/rootfile");
  /* The container's upper dir (kernel overlay). */
  put_dir(t, "u");
  put_dir(t, "u/bin");
  put_whiteout(t, "u/bin/vi");
  put_whiteout(t, "u/bin/never-there");
  put_dir(t, "u/bin/sh"); /* a dir where the image has a file */
  put_file(t, "u/bin/sh/x", "x");
  put_dir(t, "u/etc");
  put_file(t, "u/etc/passwd", "changed");
  put_file(t, "u/etc/hosts", "");
  put_dir(t, "u/data");
  put_file(t, "u/data/b", "new b");
  put_dir(t, "u/opq");
  put_file(t, "u/opq/n", "n");
  put_file(t, "u/opq/y", "y again");
  put_dir(t, "u/opq2");
  put_dir(t, "u/new");
  put_file(t, "u/new/f", "f");
  put_file(t, "u/rootfile", "back");
  if (!put_xattr(t, "u/opq", "user.overlay.opaque", "y"))
    skip();
  put_xattr(t, "u/opq2", "user.overlay.opaque", "y");
  put_xattr(t, "u/bin/sh", "user.overlay.opaque", "y");
  int layers[2] = {open_dir(t, "l1"), open_dir(t, "l0")};
  int upper = open_dir(t, "u");
  struct rl_changes c = {0};
  rl_error_t err = NULL;
  if (rl_commit_diff(upper, layers, 2, RL_WHITEOUT_OVERLAY_XATTR, &c, &err) < 0)
    fail_msg("rl_commit_diff: %s", err->msg);
  char *got = changes_text(&c);
  assert_string_equal(got, "C /bin\n"
                           "C /bin/sh\n"
                           "A /bin/sh/x\n"
                           "D /bin/vi\n"
                           "C /data\n"
                           "A /data/b\n"
                           "C /etc\n"
                           "C /etc/passwd\n"
                           "A /new\n"
                           "A /new/f\n"
                           "C /opq\n"
                           "A /opq/n\n"
                           "D /opq/x\n"
                           "C /opq/y\n"
                           "C /opq2\n"
                           "D /opq2/cur\n"
                           "A /rootfile\n");
  free(got);
  rl_changes_free(&c);
  close(upper);
  close(layers[0]);
  close(layers[1]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classify_kernel_overlay),
      cmocka_unit_test(test_classify_fuse_overlayfs),
      cmocka_unit_test(test_classify_refuses_redirects),
      cmocka_unit_test(test_xattr_kept),
      cmocka_unit_test(test_diff_kind),
      cmocka_unit_test(test_changes_sort),
      cmocka_unit_test(test_commit_config),
      cmocka_unit_test(test_commit_config_bad),
      cmocka_unit_test(test_label_forms),
      cmocka_unit_test_setup_teardown(test_tar_kernel_upper, make_tmp, drop_tmp),
      cmocka_unit_test_setup_teardown(test_tar_fuse_upper, make_tmp, drop_tmp),
      cmocka_unit_test_setup_teardown(test_diff_against_layers, make_tmp, drop_tmp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
