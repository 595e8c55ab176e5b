/* Unit tests for src/layer*.c: unpacking layer tars, whiteout formats, and
 * hostile layers that must be refused without touching anything outside. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "rl_layer.h"
#include "rl_util.h"

int rl_log_level = 0;

/* The entry tables below spell out only the fields that matter to a test. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define SKIP_EXIT 77
/* A skip says why: a capability the host lacks is never a silent pass. */
#define SKIP(why)                                                                                  \
  do {                                                                                             \
    print_message("[  SKIP    ] %s\n", why);                                                       \
    skip();                                                                                        \
  } while (0)
#define NOPERM   010000 /* mode 0000 (a plain 0 means the default) */
#define FULL_PAX "pax"  /* "filter" asking for full pax (sub-second times) */

struct fx {
  char *base;   /* temp dir holding all of the below */
  char *target; /* base/target: the layer dir */
  char *canary; /* base/canary: must never change */
  int dirfd;
};

struct ent {
  const char *path;
  char type; /* f file, d dir, l symlink, h hard link, c/b device, p fifo */
  unsigned mode;
  const char *data;
  const char *link;
  bool owner; /* use uid/gid below, else the caller's ids */
  long long uid, gid;
  time_t mtime;
  long nsec;
  const char *xname, *xvalue;
  size_t xlen; /* 0: strlen(xvalue) */
};

/* security.capability v2: effective, CAP_NET_RAW permitted (what ping has) */
static const char net_raw_cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20};

#define ENTS(...)                                                                                  \
  (const struct ent[]){__VA_ARGS__}, sizeof((const struct ent[]){__VA_ARGS__}) / sizeof(struct ent)

static int setup(void **state)
{
  struct fx *f = rl_xcalloc(1, sizeof(*f));
  f->base = rl_xstrdup("/tmp/rl-test-layer-XXXXXX");
  if (mkdtemp(f->base) == NULL)
    return -1;
  f->target = rl_xasprintf("%s/target", f->base);
  f->canary = rl_xasprintf("%s/canary", f->base);
  cleanup_free char *keep = rl_xasprintf("%s/keep", f->canary);
  if (mkdir(f->target, 0755) < 0 || mkdir(f->canary, 0755) < 0)
    return -1;
  cleanup_close int kfd = open(keep, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (kfd < 0 || rl_write_all(kfd, "keep\n", 5) < 0)
    return -1;
  f->dirfd = open(f->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *state = f;
  return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  close(f->dirfd);
  rl_rmtree(f->base, NULL);
  free(f->base);
  free(f->target);
  free(f->canary);
  free(f);
  return 0;
}

static void add_entry(struct archive *a, const struct ent *e)
{
  struct archive_entry *ae = archive_entry_new();
  static const struct {
    char c;
    unsigned type;
  } types[] = {{'f', AE_IFREG}, {'d', AE_IFDIR}, {'l', AE_IFLNK}, {'h', AE_IFREG},
               {'c', AE_IFCHR}, {'b', AE_IFBLK}, {'p', AE_IFIFO}};
  unsigned type = AE_IFREG;
  for (size_t i = 0; i < RL_ARRAY_SIZE(types); i++)
    if (types[i].c == e->type)
      type = types[i].type;
  size_t len = e->data ? strlen(e->data) : 0;
  archive_entry_set_pathname(ae, e->path);
  archive_entry_set_filetype(ae, type);
  archive_entry_set_perm(ae, e->mode ? (e->mode & 07777) : (e->type == 'd' ? 0755 : 0644));
  archive_entry_set_uid(ae, e->owner ? e->uid : getuid());
  archive_entry_set_gid(ae, e->owner ? e->gid : getgid());
  archive_entry_set_size(ae, e->type == 'f' ? (la_int64_t)len : 0);
  archive_entry_set_mtime(ae, e->mtime ? e->mtime : 1600000000, e->nsec);
  if (e->type == 'l')
    archive_entry_set_symlink(ae, e->link);
  if (e->type == 'h')
    archive_entry_set_hardlink(ae, e->link);
  if (e->type == 'c' || e->type == 'b')
    archive_entry_set_rdev(ae, makedev(1, 3));
  if (e->xname)
    archive_entry_xattr_add_entry(ae, e->xname, e->xvalue, e->xlen ? e->xlen : strlen(e->xvalue));
  assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
  if (e->type == 'f' && len)
    assert_int_equal(archive_write_data(a, e->data, len), (la_ssize_t)len);
  archive_entry_free(ae);
}

/* A memfd holding the tar of `ents`, compressed with `filter` (NULL: none),
 * positioned at its start.  Names are written as UTF-8. */
static int make_tar(const char *filter, const struct ent *ents, size_t n)
{
  int fd = memfd_create("layer", MFD_CLOEXEC);
  assert_true(fd >= 0);
  locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
  struct archive *a = archive_write_new();
  if (filter && strcmp(filter, FULL_PAX) == 0)
    assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
  else
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  if (filter && strcmp(filter, "gzip") == 0)
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
  else if (filter && strcmp(filter, "zstd") == 0)
    assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
  else
    assert_int_equal(archive_write_add_filter_none(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++)
    add_entry(a, &ents[i]);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  if (utf8) {
    uselocale(old);
    freelocale(utf8);
  }
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  return fd;
}

static int unpack_fd(struct fx *f, int tfd, enum rl_whiteout_format w, struct rl_unpack_stats *st,
                     rl_error_t *err)
{
  struct rl_unpack_opts o = {.whiteouts = w, .uid_limit = 65536, .gid_limit = 65536};
  return rl_layer_unpack(tfd, f->dirfd, &o, st, err);
}

static void unpack_ok(struct fx *f, const char *filter, enum rl_whiteout_format w,
                      struct rl_unpack_stats *st, const struct ent *ents, size_t n)
{
  cleanup_close int tfd = make_tar(filter, ents, n);
  rl_error_t err = NULL;
  int r = unpack_fd(f, tfd, w, st, &err);
  if (r < 0)
    rl_error_print(err);
  assert_int_equal(r, 0);
  assert_null(err);
}

static char *read_at(struct fx *f, const char *path)
{
  return rl_read_file_at(f->dirfd, path, 1 << 20, NULL);
}

static mode_t mode_at(struct fx *f, const char *path)
{
  struct stat st;
  assert_int_equal(fstatat(f->dirfd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
  return st.st_mode;
}

static bool exists_at(struct fx *f, const char *path)
{
  struct stat st;
  return fstatat(f->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void assert_canary_untouched(struct fx *f)
{
  DIR *d = opendir(f->canary);
  assert_non_null(d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      n++;
  closedir(d);
  assert_int_equal(n, 1);
  cleanup_free char *keep = rl_xasprintf("%s/keep", f->canary);
  struct stat st;
  assert_int_equal(stat(keep, &st), 0);
  assert_int_equal(st.st_nlink, 1);
  assert_int_equal(st.st_size, 5);
  assert_true(S_ISREG(st.st_mode));
  char buf[64] = {0};
  assert_int_equal(getxattr(f->canary, "user.overlay.opaque", buf, sizeof(buf)), -1);
}

/* Unpacking must fail, with a message naming `needle`, and leave the canary. */
static void unpack_refused(struct fx *f, enum rl_whiteout_format w, const char *needle,
                           const struct ent *ents, size_t n)
{
  cleanup_close int tfd = make_tar(NULL, ents, n);
  rl_error_t err = NULL;
  struct rl_unpack_stats st = {0};
  assert_int_equal(unpack_fd(f, tfd, w, &st, &err), -1);
  assert_non_null(err);
  if (strstr(err->msg, needle) == NULL)
    fail_msg("error `%s` does not name `%s`", err->msg, needle);
  rl_error_free(&err);
  rl_unpack_stats_free(&st);
  assert_canary_untouched(f);
}

/* --- plain contents ---------------------------------------------------- */

static void test_files_dirs_modes(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"./", 'd'}, {"./etc/", 'd', 0755}, {"./etc/hosts", 'f', 0644, "127.0.0.1\n"},
                 {"bin/su", 'f', 04755, "#!"}, {"ro/", 'd', 0555}, {"ro/inside", 'f', 0600, "x"},
                 {"tmp/", 'd', 01777}, {"sg/", 'd', 02775}, {"zero", 'f', NOPERM, ""}));
  assert_int_equal(st.entries, 9);
  cleanup_free char *hosts = read_at(f, "etc/hosts");
  assert_string_equal(hosts, "127.0.0.1\n");
  assert_int_equal(mode_at(f, "etc"), S_IFDIR | 0755);
  assert_int_equal(mode_at(f, "etc/hosts"), S_IFREG | 0644);
  assert_int_equal(mode_at(f, "bin/su"), S_IFREG | 04755);
  assert_int_equal(mode_at(f, "bin"), S_IFDIR | 0755); /* implicit parent */
  assert_int_equal(mode_at(f, "ro"), S_IFDIR | 0555);  /* mode after its contents */
  assert_int_equal(mode_at(f, "ro/inside"), S_IFREG | 0600);
  assert_int_equal(mode_at(f, "tmp"), S_IFDIR | 01777);
  assert_int_equal(mode_at(f, "sg"), S_IFDIR | 02775);
  assert_int_equal(mode_at(f, "zero"), S_IFREG | 0000);
  rl_unpack_stats_free(&st);
}

static void test_symlinks_stored_as_is(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  cleanup_free char *abs_canary = rl_xasprintf("%s/keep", f->canary);
  unpack_ok(f, NULL, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"abs", 'l', 0777, NULL, "/etc/passwd"}, {"rel", 'l', 0777, NULL, "../../x"},
                 {"canary", 'l', 0777, NULL, abs_canary}, {"sub/dot", 'l', 0777, NULL, "."}));
  char buf[4096];
  ssize_t n = readlinkat(f->dirfd, "abs", buf, sizeof(buf) - 1);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, "/etc/passwd");
  n = readlinkat(f->dirfd, "rel", buf, sizeof(buf) - 1);
  buf[n > 0 ? n : 0] = '\0';
  assert_string_equal(buf, "../../x");
  assert_true(S_ISLNK(mode_at(f, "canary")));
  assert_true(S_ISLNK(mode_at(f, "sub/dot")));
  assert_canary_untouched(f);
  rl_unpack_stats_free(&st);
}

static void test_hardlink_same_inode(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"usr/bin/a", 'f', 0755, "data"}, {"usr/bin/b", 'h', 0, NULL, "usr/bin/a"},
                 {"c", 'h', 0, NULL, "./usr/bin/a"}, {"self", 'f', 0644, "s"},
                 {"self", 'h', 0, NULL, "self"}));
  struct stat a, b, c;
  assert_int_equal(fstatat(f->dirfd, "usr/bin/a", &a, 0), 0);
  assert_int_equal(fstatat(f->dirfd, "usr/bin/b", &b, 0), 0);
  assert_int_equal(fstatat(f->dirfd, "c", &c, 0), 0);
  assert_int_equal(a.st_ino, b.st_ino);
  assert_int_equal(a.st_ino, c.st_ino);
  assert_int_equal(a.st_nlink, 3);
  cleanup_free char *self = read_at(f, "self");
  assert_string_equal(self, "s");
  rl_unpack_stats_free(&st);
}

static void test_mtimes(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, FULL_PAX, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"d/", 'd', 0755, .mtime = 2000000000},
                 {"d/f", 'f', 0644, "x", .mtime = 1000000000, .nsec = 123456789},
                 {"d/l", 'l', 0777, NULL, "f", .mtime = 1200000000},
                 {"d/sub/", 'd', 0700, .mtime = 1300000000}, {"d/sub/g", 'f', 0644, "y"}));
  struct stat s;
  assert_int_equal(fstatat(f->dirfd, "d/f", &s, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal(s.st_mtim.tv_sec, 1000000000);
  assert_int_equal(s.st_mtim.tv_nsec, 123456789);
  assert_int_equal(fstatat(f->dirfd, "d/l", &s, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal(s.st_mtim.tv_sec, 1200000000);
  assert_int_equal(fstatat(f->dirfd, "d/sub", &s, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal(s.st_mtim.tv_sec, 1300000000);
  /* set after its contents were written */
  assert_int_equal(fstatat(f->dirfd, "d", &s, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal(s.st_mtim.tv_sec, 2000000000);
  rl_unpack_stats_free(&st);
}

static bool user_xattrs_work(struct fx *f)
{
  cleanup_free char *probe = rl_xasprintf("%s/xattr-probe", f->base);
  cleanup_close int fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && fsetxattr(fd, "user.probe", "1", 1, 0) == 0;
  unlink(probe);
  return ok;
}

static void test_xattrs(void **state)
{
  struct fx *f = *state;
  if (!user_xattrs_work(f))
    SKIP("the temp dir's filesystem has no user xattrs");
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"f", 'f', 0644, "x", .xname = "user.rl", .xvalue = "hello"},
                 {"d/", 'd', 0755, .xname = "user.rl", .xvalue = "dir"},
                 {"t", 'f', 0644, "x", .xname = "trusted.secret", .xvalue = "no"},
                 {"o/", 'd', 0755, .xname = "user.overlay.redirect", .xvalue = "/etc"},
                 {"w", 'f', 0644, "", .xname = "user.overlay.whiteout", .xvalue = "y"},
                 {"l", 'l', 0777, NULL, "f", .xname = "user.rl", .xvalue = "link"}));
  char buf[64] = {0};
  cleanup_free char *fpath = rl_xasprintf("%s/f", f->target);
  cleanup_free char *dpath = rl_xasprintf("%s/d", f->target);
  cleanup_free char *opath = rl_xasprintf("%s/o", f->target);
  cleanup_free char *wpath = rl_xasprintf("%s/w", f->target);
  assert_int_equal(getxattr(fpath, "user.rl", buf, sizeof(buf)), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(getxattr(dpath, "user.rl", buf, sizeof(buf)), 3);
  assert_memory_equal(buf, "dir", 3);
  /* overlay metadata from the tar would redirect or hide: never applied */
  assert_int_equal(getxattr(opath, "user.overlay.redirect", buf, sizeof(buf)), -1);
  assert_int_equal(getxattr(wpath, "user.overlay.whiteout", buf, sizeof(buf)), -1);
  assert_int_equal(st.xattrs_skipped, 4); /* trusted, 2 overlay, the symlink's */
  assert_non_null(st.xattr_example);
  assert_non_null(strstr(st.xattr_example, "trusted.secret"));
  rl_unpack_stats_free(&st);
}

static void check_compressed(void **state, const char *filter)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, filter, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"a/", 'd'}, {"a/b", 'f', 0644, "compressed with something"},
                 {"a/c", 'l', 0777, NULL, "b"}));
  cleanup_free char *b = read_at(f, "a/b");
  assert_string_equal(b, "compressed with something");
  cleanup_free char *c = read_at(f, "a/c");
  assert_string_equal(c, "compressed with something");
  assert_int_equal(st.entries, 3);
  rl_unpack_stats_free(&st);
}

static void test_gzip(void **state)
{
  check_compressed(state, "gzip");
}

static void test_zstd(void **state)
{
  check_compressed(state, "zstd");
}

static void test_uncompressed(void **state)
{
  check_compressed(state, NULL);
}

/* --- whiteouts ------------------------------------------------------------ */

static bool has_opaque_xattr(struct fx *f, const char *dir)
{
  cleanup_free char *p = rl_xasprintf("%s/%s", f->target, dir);
  char buf[8] = {0};
  return getxattr(p, "user.overlay.opaque", buf, sizeof(buf)) == 1 && buf[0] == 'y';
}

static bool is_whiteout_dev(struct fx *f, const char *path)
{
  struct stat st;
  return fstatat(f->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
         st.st_rdev == makedev(0, 0);
}

static void test_whiteouts_overlay(void **state)
{
  struct fx *f = *state;
  if (!user_xattrs_work(f))
    SKIP("the temp dir's filesystem has no user xattrs");
  struct rl_unpack_stats st = {0};
  unpack_ok(f, "gzip", RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({".wh.gone", 'f'}, {"d/", 'd'}, {"d/.wh..wh..opq", 'f'}, {"d/new", 'f', 0644, "n"},
                 {"e/.wh..wh..opq", 'f'}, {"x/y/.wh.z", 'f'}, {".wh..wh.plnk/", 'd'},
                 {".wh..wh.plnk/1.2", 'f', 0644, "aufs"}));
  assert_true(is_whiteout_dev(f, "gone"));
  assert_true(is_whiteout_dev(f, "x/y/z"));
  assert_true(has_opaque_xattr(f, "d"));
  assert_true(has_opaque_xattr(f, "e"));
  assert_false(has_opaque_xattr(f, "x"));
  assert_true(exists_at(f, "d/new"));
  assert_false(exists_at(f, ".wh.gone"));
  assert_false(exists_at(f, "d/.wh..wh..opq"));
  assert_false(exists_at(f, ".wh..wh.plnk"));
  rl_unpack_stats_free(&st);
}

static void test_whiteouts_fuse(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, "zstd", RL_WHITEOUT_FUSE, &st,
            ENTS({".wh.gone", 'f'}, {"d/", 'd'}, {"d/.wh..wh..opq", 'f'}, {"d/new", 'f', 0644, "n"},
                 {"x/y/.wh.z", 'f'}));
  assert_int_equal(mode_at(f, ".wh.gone") & S_IFMT, S_IFREG);
  assert_int_equal(mode_at(f, "x/y/.wh.z") & S_IFMT, S_IFREG);
  assert_int_equal(mode_at(f, "d/.wh..wh..opq") & S_IFMT, S_IFREG);
  assert_false(exists_at(f, "gone"));
  assert_false(has_opaque_xattr(f, "d"));
  assert_true(exists_at(f, "d/new"));
  rl_unpack_stats_free(&st);
}

static bool is_opaque(struct fx *f, enum rl_whiteout_format w, const char *dir)
{
  if (w == RL_WHITEOUT_OVERLAY_XATTR)
    return has_opaque_xattr(f, dir);
  cleanup_free char *m = rl_xasprintf("%s/.wh..wh..opq", dir);
  return exists_at(f, m);
}

/* A whiteout hides lower layers only: this layer's own entry of that name
 * stays, and a directory of it becomes opaque, in either order. */
static void check_same_layer(struct fx *f, enum rl_whiteout_format w)
{
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, w, &st,
            ENTS({"x", 'f', 0644, "x"}, {".wh.x", 'f'}, {"dd/", 'd'}, {"dd/in", 'f'},
                 {".wh.dd", 'f'}, {".wh.y", 'f'}, {"y", 'f', 0644, "y"}, {".wh.z", 'f'},
                 {"z/", 'd'}, {".wh.p", 'f'}, {"p/q", 'f', 0644, "q"}, {".wh.s", 'f'},
                 {"s", 'l', 0777, NULL, "x"}));
  cleanup_free char *x = read_at(f, "x");
  assert_string_equal(x, "x");
  cleanup_free char *y = read_at(f, "y");
  assert_string_equal(y, "y");
  assert_true(S_ISDIR(mode_at(f, "dd")) && is_opaque(f, w, "dd") && exists_at(f, "dd/in"));
  assert_true(S_ISDIR(mode_at(f, "z")) && is_opaque(f, w, "z"));
  assert_true(S_ISDIR(mode_at(f, "p")) && is_opaque(f, w, "p") && exists_at(f, "p/q"));
  assert_true(S_ISLNK(mode_at(f, "s")));
  const char *gone[] = {".wh.x", ".wh.y", ".wh.z", ".wh.dd", ".wh.p", ".wh.s"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(gone); i++)
    assert_false(exists_at(f, gone[i]));
  rl_unpack_stats_free(&st);
}

static void test_same_layer_overlay(void **state)
{
  struct fx *f = *state;
  if (!user_xattrs_work(f))
    SKIP("the temp dir's filesystem has no user xattrs");
  check_same_layer(f, RL_WHITEOUT_OVERLAY_XATTR);
}

static void test_same_layer_fuse(void **state)
{
  check_same_layer(*state, RL_WHITEOUT_FUSE);
}

/* --- devices and ids ----------------------------------------------------------- */

static void test_devices_skipped(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"dev/", 'd'}, {"dev/null", 'c', 0666}, {"dev/sda", 'b', 0660},
                 {"run/fifo", 'p', 0600}, {"ok", 'f', 0644, "ok"}));
  assert_int_equal(st.devices_skipped, 2);
  assert_string_equal(st.device_example, "dev/null");
  assert_false(exists_at(f, "dev/null"));
  assert_false(exists_at(f, "dev/sda"));
  /* A fifo needs no privilege: kept, with its mode. */
  struct stat fs;
  assert_int_equal(fstatat(f->dirfd, "run/fifo", &fs, AT_SYMLINK_NOFOLLOW), 0);
  assert_true(S_ISFIFO(fs.st_mode));
  assert_int_equal(fs.st_mode & 07777, 0600);
  assert_true(exists_at(f, "ok"));
  rl_unpack_stats_free(&st);
}

static void test_owners_as_root(void **state)
{
  struct fx *f = *state;
  if (geteuid() != 0)
    SKIP("chown to other ids needs root or a full id map (test_overflow_in_userns covers ids)");
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"owned", 'f', 04755, "x", .owner = true, .uid = 1234, .gid = 1235},
                 {"d/", 'd', 02750, .owner = true, .uid = 1234, .gid = 1235},
                 {"far", 'f', 0644, "x", .owner = true, .uid = 70000, .gid = 100},
                 {"far2", 'l', 0777, NULL, "x", .owner = true, .uid = 5, .gid = 99999},
                 {"ping", 'f', 04755, "p", .owner = true, .uid = 1234, .gid = 1235,
                  .xname = "security.capability", .xvalue = net_raw_cap, .xlen = 20}));
  struct stat s;
  assert_int_equal(fstatat(f->dirfd, "owned", &s, 0), 0);
  assert_int_equal(s.st_uid, 1234);
  assert_int_equal(s.st_gid, 1235);
  assert_int_equal(s.st_mode, S_IFREG | 04755); /* setuid survives: chmod after chown */
  assert_int_equal(fstatat(f->dirfd, "d", &s, 0), 0);
  assert_int_equal(s.st_uid, 1234);
  assert_int_equal(s.st_mode, S_IFDIR | 02750);
  assert_int_equal(fstatat(f->dirfd, "far", &s, 0), 0);
  assert_int_equal(s.st_uid, 65534);
  assert_int_equal(s.st_gid, 100);
  assert_int_equal(fstatat(f->dirfd, "far2", &s, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal(s.st_uid, 5);
  assert_int_equal(s.st_gid, 65534);
  assert_int_equal(st.overflow_ids, 2);
  assert_string_equal(st.overflow_example, "far");
  /* file capabilities survive the chown (set after it) */
  cleanup_free char *ping = rl_xasprintf("%s/ping", f->target);
  char cap[64];
  assert_int_equal(getxattr(ping, "security.capability", cap, sizeof(cap)), 20);
  assert_int_equal(st.xattrs_skipped, 0);
  rl_unpack_stats_free(&st);
}

static int write_proc(const char *path, const char *text)
{
  return rl_write_file(path, text);
}

/* Become root of a new user namespace (plus `flags`) with a single-id map. */
static int enter_userns(int flags)
{
  char map[64];
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | flags) < 0)
    return -1;
  snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
  if (write_proc("/proc/self/uid_map", map) < 0)
    return -1;
  (void)write_proc("/proc/self/setgroups", "deny");
  snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
  return write_proc("/proc/self/gid_map", map);
}

/* In a user namespace with a single-id map (what rless does without
 * subordinate ids): the overflow id is unmapped, so out-of-map owners stay
 * the unpacking user's. */
static int userns_child(struct fx *f)
{
  if (enter_userns(0) < 0)
    return SKIP_EXIT;
  int tfd =
      make_tar(NULL, ENTS({"mine", 'f', 04755, "x", .owner = true, .uid = 0, .gid = 0},
                          {"theirs", 'f', 0644, "x", .owner = true, .uid = 1000, .gid = 1000},
                          {"ping", 'f', 0755, "p", .owner = true, .uid = 0, .gid = 0,
                           .xname = "security.capability", .xvalue = net_raw_cap, .xlen = 20}));
  struct rl_unpack_opts o = {
      .whiteouts = RL_WHITEOUT_OVERLAY_XATTR, .uid_limit = 1, .gid_limit = 1};
  struct rl_unpack_stats st = {0};
  rl_error_t err = NULL;
  if (rl_layer_unpack(tfd, f->dirfd, &o, &st, &err) < 0) {
    rl_error_print(err);
    return 1;
  }
  struct stat s;
  if (st.overflow_ids != 1 || strcmp(st.overflow_example, "theirs") != 0 ||
      fstatat(f->dirfd, "theirs", &s, 0) < 0 || s.st_uid != 0 ||
      fstatat(f->dirfd, "mine", &s, 0) < 0 || s.st_mode != (S_IFREG | 04755))
    return 2;
  /* the namespace's root may set (namespaced) file capabilities */
  char cap[64];
  cleanup_close int pfd = openat(f->dirfd, "ping", O_RDONLY | O_CLOEXEC);
  if (fgetxattr(pfd, "security.capability", cap, sizeof(cap)) <= 0 || st.xattrs_skipped != 0)
    return 3;
  return 0;
}

static int run_child(int (*fn)(struct fx *), struct fx *f)
{
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(fn(f));
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static void test_overflow_in_userns(void **state)
{
  int r = run_child(userns_child, *state);
  if (r == SKIP_EXIT)
    SKIP("no user namespaces for this user");
  assert_int_equal(r, 0);
}

/* --- replacing, names -------------------------------------------------------- */

static void test_replace_entries(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, RL_WHITEOUT_OVERLAY_XATTR, &st,
            ENTS({"a", 'f', 0644, "file"}, {"a/", 'd', 0750}, {"a/b", 'f', 0644, "b"}, {"c/", 'd'},
                 {"c/d/", 'd'}, {"c/d/e", 'f', 0644, "e"}, {"c", 'f', 0600, "now a file"},
                 {"e", 'f', 0644, "e"}, {"e", 'l', 0777, NULL, "a/b"},
                 {"s", 'l', 0777, NULL, f->canary}, {"s/", 'd', 0700}, {"s/in", 'f', 0644, "in"},
                 {"v", 'f', 0644, "old"}, {"v", 'f', 0644, "new"}, {"a/", 'd', 0711}));
  assert_int_equal(mode_at(f, "a"), S_IFDIR | 0711); /* the later entry's mode */
  cleanup_free char *c = read_at(f, "c");
  assert_string_equal(c, "now a file");
  assert_true(S_ISLNK(mode_at(f, "e")));
  assert_int_equal(mode_at(f, "s"), S_IFDIR | 0700);
  assert_true(exists_at(f, "s/in"));
  cleanup_free char *v = read_at(f, "v");
  assert_string_equal(v, "new");
  assert_canary_untouched(f);
  rl_unpack_stats_free(&st);
}

static void test_names_cleaned(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  unpack_ok(f, NULL, RL_WHITEOUT_FUSE, &st,
            ENTS({"/abs/file", 'f', 0644, "abs"}, {"./x//y/./z", 'f', 0644, "z"}, {"//dbl/", 'd'},
                 {"caf\xc3\xa9/\xc3\xbc.txt", 'f', 0644, "utf8"}));
  cleanup_free char *abs = read_at(f, "abs/file");
  assert_string_equal(abs, "abs");
  cleanup_free char *z = read_at(f, "x/y/z");
  assert_string_equal(z, "z");
  assert_true(S_ISDIR(mode_at(f, "dbl")));
  cleanup_free char *u = read_at(f, "caf\xc3\xa9/\xc3\xbc.txt");
  assert_string_equal(u, "utf8");
  rl_unpack_stats_free(&st);
}

static void test_sparse_file(void **state)
{
  struct fx *f = *state;
  cleanup_close int tfd = memfd_create("sparse", MFD_CLOEXEC);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_open_fd(a, tfd);
  struct archive_entry *ae = archive_entry_new();
  archive_entry_set_pathname(ae, "holes");
  archive_entry_set_filetype(ae, AE_IFREG);
  archive_entry_set_perm(ae, 0644);
  archive_entry_set_size(ae, 8 << 20);
  archive_entry_set_uid(ae, getuid());
  archive_entry_set_gid(ae, getgid());
  archive_entry_sparse_add_entry(ae, 4 << 20, 4096);
  char block[4096];
  memset(block, 'D', sizeof(block));
  assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
  /* The writer takes the whole file, holes as zeros, and stores only the data. */
  static const char zeros[1 << 16];
  for (off_t off = 0; off < (8 << 20); off += (off == (4 << 20) ? 4096 : (off_t)sizeof(zeros))) {
    bool data = off == (4 << 20);
    size_t n = data ? sizeof(block) : sizeof(zeros);
    if (!data && off < (4 << 20) && off + (off_t)n > (4 << 20))
      n = (size_t)((4 << 20) - off);
    if (!data && off + (off_t)n > (8 << 20))
      n = (size_t)((8 << 20) - off);
    assert_int_equal(archive_write_data(a, data ? block : zeros, n), (la_ssize_t)n);
  }
  archive_entry_free(ae);
  archive_write_close(a);
  archive_write_free(a);
  lseek(tfd, 0, SEEK_SET);
  struct rl_unpack_stats st = {0};
  rl_error_t err = NULL;
  assert_int_equal(unpack_fd(f, tfd, RL_WHITEOUT_FUSE, &st, &err), 0);
  struct stat s;
  assert_int_equal(fstatat(f->dirfd, "holes", &s, 0), 0);
  assert_int_equal(s.st_size, 8 << 20);
  assert_true(s.st_blocks * 512 < (1 << 20)); /* the holes stayed holes */
  cleanup_close int fd = openat(f->dirfd, "holes", O_RDONLY | O_CLOEXEC);
  char got[4096];
  assert_int_equal(pread(fd, got, sizeof(got), 4 << 20), sizeof(got));
  assert_memory_equal(got, block, sizeof(got));
  assert_int_equal(pread(fd, got, 1, 0), 1);
  assert_int_equal(got[0], 0);
  rl_unpack_stats_free(&st);
}

static void test_trailing_data_drained(void **state)
{
  struct fx *f = *state;
  cleanup_close int tfd = make_tar(NULL, ENTS({"a", 'f', 0644, "a"}));
  off_t end = lseek(tfd, 0, SEEK_END);
  char junk[100000];
  memset(junk, 'j', sizeof(junk));
  assert_int_equal(pwrite(tfd, junk, sizeof(junk), end), sizeof(junk));
  lseek(tfd, 0, SEEK_SET);
  struct rl_unpack_stats st = {0};
  rl_error_t err = NULL;
  assert_int_equal(unpack_fd(f, tfd, RL_WHITEOUT_FUSE, &st, &err), 0);
  assert_int_equal(lseek(tfd, 0, SEEK_CUR), end + (off_t)sizeof(junk));
  rl_unpack_stats_free(&st);
}

static void test_garbage_refused(void **state)
{
  struct fx *f = *state;
  cleanup_close int tfd = memfd_create("junk", MFD_CLOEXEC);
  char junk[4096];
  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = (char)(i * 7 + 3);
  assert_int_equal(write(tfd, junk, sizeof(junk)), sizeof(junk));
  lseek(tfd, 0, SEEK_SET);
  struct rl_unpack_stats st = {0};
  rl_error_t err = NULL;
  assert_int_equal(unpack_fd(f, tfd, RL_WHITEOUT_FUSE, &st, &err), -1);
  assert_non_null(err);
  rl_error_free(&err);
  rl_unpack_stats_free(&st);
}

static void test_empty_layer(void **state)
{
  struct fx *f = *state;
  struct rl_unpack_stats st = {0};
  rl_error_t err = NULL;
  cleanup_close int tfd = make_tar("gzip", NULL, 0); /* just the end-of-archive blocks */
  assert_int_equal(unpack_fd(f, tfd, RL_WHITEOUT_OVERLAY_XATTR, &st, &err), 0);
  assert_int_equal(st.entries, 0);
  cleanup_close int nothing = memfd_create("empty", MFD_CLOEXEC);
  assert_int_equal(unpack_fd(f, nothing, RL_WHITEOUT_OVERLAY_XATTR, &st, &err), -1);
  assert_non_null(strstr(err->msg, "layer"));
  rl_error_free(&err);
  rl_unpack_stats_free(&st);
}

/* --- hostile layers ---------------------------------------------------------------- */

static void test_hostile_dotdot(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "../canary/evil",
                 ENTS({"../canary/evil", 'f', 0644, "evil"}));
}

static void test_hostile_abs_dotdot(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_FUSE, "/abs/../../canary/evil",
                 ENTS({"/abs/../../canary/evil", 'f', 0644, "evil"}));
}

static void test_hostile_symlink_abs_then_write(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "a/x",
                 ENTS({"a", 'l', 0777, NULL, f->canary}, {"a/x", 'f', 0644, "evil"}));
}

static void test_hostile_symlink_rel_then_write(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "a/x",
                 ENTS({"a", 'l', 0777, NULL, "../../.."}, {"a/x", 'f', 0644, "evil"}));
  unpack_refused(f, RL_WHITEOUT_FUSE, "b/x",
                 ENTS({"b", 'l', 0777, NULL, "../canary"}, {"b/x/", 'd'}));
}

static void test_hostile_hardlink_out(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "h", ENTS({"h", 'h', 0, NULL, "../../etc/passwd"}));
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "../canary/keep",
                 ENTS({"h2", 'h', 0, NULL, "../canary/keep"}));
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "h3",
                 ENTS({"h3", 'h', 0, NULL, "/etc/passwd"})); /* not an entry of the layer */
}

static void test_hostile_hardlink_via_symlink(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "h",
                 ENTS({"d", 'l', 0777, NULL, f->canary}, {"h", 'h', 0, NULL, "d/keep"}));
}

static void test_hostile_parent_replaced_by_symlink(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "a/x",
                 ENTS({"a/", 'd'}, {"a/f", 'f', 0644, "f"}, {"a", 'l', 0777, NULL, f->canary},
                      {"a/x", 'f', 0644, "evil"}));
  unpack_refused(f, RL_WHITEOUT_FUSE, "q/r/x",
                 ENTS({"q/r/", 'd'}, {"q/r/f", 'f', 0644, "f"}, {"q", 'l', 0777, NULL, "../canary"},
                      {"q/r/x", 'f', 0644, "evil"}));
}

static void test_hostile_whiteout_via_symlink(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "a/.wh.keep",
                 ENTS({"a", 'l', 0777, NULL, f->canary}, {"a/.wh.keep", 'f'}));
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, "b/.wh..wh..opq",
                 ENTS({"b", 'l', 0777, NULL, f->canary}, {"b/.wh..wh..opq", 'f'}));
  unpack_refused(f, RL_WHITEOUT_FUSE, "c/.wh.new",
                 ENTS({"c", 'l', 0777, NULL, f->canary}, {"c/.wh.new", 'f'}));
}

static void test_hostile_bad_whiteouts(void **state)
{
  struct fx *f = *state;
  unpack_refused(f, RL_WHITEOUT_OVERLAY_XATTR, ".wh..", ENTS({"d/.wh..", 'f'}));
  unpack_refused(f, RL_WHITEOUT_FUSE, ".wh.", ENTS({".wh.", 'f'}));
  unpack_refused(f, RL_WHITEOUT_FUSE, ".wh.a/b", ENTS({".wh.a/b", 'f', 0644, "x"}));
}

/* --- real overlay mounts of unpacked layers ------------------------------------------ */

/* Three layers: l1 at the bottom; l2 whites out and makes a dir opaque; l3
 * whites out what l2 left and adds a file. */
static void unpack_stack(struct fx *f, enum rl_whiteout_format w)
{
  const char *names[] = {"l1", "l2", "l3"};
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(mkdirat(f->dirfd, names[i], 0755), 0);
  struct ent l1[] = {{"gone", 'f', 0644, "1"},
                     {"keep", 'f', 0644, "1"},
                     {"od/lower", 'f', 0644, "1"},
                     {"sub/s1", 'f', 0644, "1"},
                     {"sub/s2", 'f', 0644, "1"}};
  struct ent l2[] = {{".wh.gone", 'f'},
                     {"od/.wh..wh..opq", 'f'},
                     {"od/upper", 'f', 0644, "2"},
                     {"sub/.wh.s1", 'f'}};
  struct ent l3[] = {{"sub/.wh.s2", 'f'}, {"new", 'f', 0644, "3"}};
  const struct {
    const struct ent *e;
    size_t n;
  } layers[] = {{l1, RL_ARRAY_SIZE(l1)}, {l2, RL_ARRAY_SIZE(l2)}, {l3, RL_ARRAY_SIZE(l3)}};
  for (size_t i = 0; i < 3; i++) {
    cleanup_close int tfd = make_tar("gzip", layers[i].e, layers[i].n);
    cleanup_close int dfd = openat(f->dirfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct rl_unpack_opts o = {.whiteouts = w, .uid_limit = 65536, .gid_limit = 65536};
    struct rl_unpack_stats st = {0};
    rl_error_t err = NULL;
    if (rl_layer_unpack(tfd, dfd, &o, &st, &err) < 0)
      rl_error_print(err);
    assert_null(err);
    rl_unpack_stats_free(&st);
  }
  const char *dirs[] = {"upper", "work", "merged"};
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(mkdirat(f->dirfd, dirs[i], 0755), 0);
}

/* What the merged tree must look like; 0 when it does. */
static int check_merged(void)
{
  struct stat st;
  if (stat("merged/gone", &st) == 0 || stat("merged/.wh.gone", &st) == 0)
    return 10;
  if (stat("merged/keep", &st) < 0 || stat("merged/new", &st) < 0)
    return 11;
  if (stat("merged/od/lower", &st) == 0 || stat("merged/od/upper", &st) < 0 ||
      stat("merged/od/.wh..wh..opq", &st) == 0)
    return 12;
  DIR *d = opendir("merged/sub");
  if (d == NULL)
    return 13;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      n++;
  closedir(d);
  return n == 0 ? 0 : 14;
}

static int enter_userns_mountns(struct fx *f)
{
  if (enter_userns(CLONE_NEWNS) < 0)
    return -1;
  (void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  return chdir(f->target);
}

static int kernel_overlay_child(struct fx *f)
{
  if (enter_userns_mountns(f) < 0)
    return SKIP_EXIT;
  if (mount("overlay", "merged", "overlay", 0,
            "lowerdir=l3:l2:l1,upperdir=upper,workdir=work,userxattr") < 0) {
    fprintf(stderr, "overlay mount: %s\n", strerror(errno));
    return SKIP_EXIT;
  }
  return check_merged();
}

static void test_kernel_overlay_mount(void **state)
{
  struct fx *f = *state;
  if (!user_xattrs_work(f))
    SKIP("the temp dir's filesystem has no user xattrs");
  unpack_stack(f, RL_WHITEOUT_OVERLAY_XATTR);
  int r = run_child(kernel_overlay_child, f);
  if (r == SKIP_EXIT)
    SKIP("no overlayfs with userxattr in a user namespace here");
  assert_int_equal(r, 0);
}

static int fuse_overlay_child(struct fx *f)
{
  if (access("/usr/bin/fuse-overlayfs", X_OK) < 0 || enter_userns_mountns(f) < 0)
    return SKIP_EXIT;
  int fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fuse < 0)
    return SKIP_EXIT; /* /dev/fuse not usable by this user */
  close(fuse);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    execl("/usr/bin/fuse-overlayfs", "fuse-overlayfs", "-o",
          "lowerdir=l3:l2:l1,upperdir=upper,workdir=work", "merged", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
    return SKIP_EXIT;
  int r = check_merged();
  umount2("merged", MNT_DETACH);
  return r;
}

static void test_fuse_overlay_mount(void **state)
{
  struct fx *f = *state;
  unpack_stack(f, RL_WHITEOUT_FUSE);
  int r = run_child(fuse_overlay_child, f);
  if (r == SKIP_EXIT)
    SKIP("fuse-overlayfs missing, or /dev/fuse not usable by this user");
  assert_int_equal(r, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_files_dirs_modes),
      T(test_symlinks_stored_as_is),
      T(test_hardlink_same_inode),
      T(test_mtimes),
      T(test_xattrs),
      T(test_gzip),
      T(test_zstd),
      T(test_uncompressed),
      T(test_whiteouts_overlay),
      T(test_whiteouts_fuse),
      T(test_same_layer_overlay),
      T(test_same_layer_fuse),
      T(test_devices_skipped),
      T(test_owners_as_root),
      T(test_overflow_in_userns),
      T(test_replace_entries),
      T(test_names_cleaned),
      T(test_sparse_file),
      T(test_trailing_data_drained),
      T(test_garbage_refused),
      T(test_empty_layer),
      T(test_hostile_dotdot),
      T(test_hostile_abs_dotdot),
      T(test_hostile_symlink_abs_then_write),
      T(test_hostile_symlink_rel_then_write),
      T(test_hostile_hardlink_out),
      T(test_hostile_hardlink_via_symlink),
      T(test_hostile_parent_replaced_by_symlink),
      T(test_hostile_whiteout_via_symlink),
      T(test_hostile_bad_whiteouts),
      T(test_kernel_overlay_mount),
      T(test_fuse_overlay_mount),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
