/* Unit tests for the image index (src/images.c), the removal decisions of
 * rmi and prune, container records, store removal (src/store_gc.c) and the
 * display helpers of the image commands. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../src/cmd_images_int.h"
#include "rl_images.h"
#include "rl_paths.h"
#include "rl_userns.h"
#include "rl_util.h"

int rl_log_level = 0;

#define SKIP(why)                                                                                  \
  do {                                                                                             \
    print_message("[  SKIP    ] %s\n", why);                                                       \
    skip();                                                                                        \
  } while (0)

/* "sha256:" + hex, padded with '0' to 64 digits. */
static char *dg(const char *hex)
{
  char pad[65];
  memset(pad, '0', 64);
  pad[64] = '\0';
  memcpy(pad, hex, strlen(hex));
  return rl_xasprintf("sha256:%s", pad);
}

/* Adds an image through rl_images_put; names and layers are NULL-terminated. */
static void add(struct rl_image_index *ix, const char *id_hex, const char *manifest_hex,
                const char *const *names, const char *const *layer_hex, long long created)
{
  struct rl_image_rec r = {0};
  r.id = dg(id_hex);
  r.manifest = dg(manifest_hex);
  for (size_t i = 0; names && names[i]; i++)
    rl_strv_push(&r.names, names[i]);
  for (size_t i = 0; layer_hex && layer_hex[i]; i++)
    rl_strv_push_owned(&r.layers, dg(layer_hex[i]));
  r.size = 1000;
  r.created = created;
  rl_images_put(ix, &r);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A store-like index: docker.io, localhost, other registries. */
static void fixture(struct rl_image_index *ix)
{
  memset(ix, 0, sizeof(*ix));
  add(ix, "a1", "f1", L("docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"),
      L("11", "12"), 100);
  add(ix, "a2", "f2", L("localhost/mybox:latest"), L("12"), 200);
  add(ix, "b3", "f3", L("ghcr.io/org/tool:v1"), L("13"), 300);
  add(ix, "c4", "f4", L("quay.io/app:latest"), L("14"), 400);
  add(ix, "c4005", "f5", L("docker.io/library/alpine:3", "localhost/alpine:3"), NULL, 500);
  add(ix, "d6", "f6", NULL, L("11"), 600); /* untagged */
  add(ix, "e7", "f7", L("127.0.0.1:5000/team/app:latest"), NULL, 700);
}

/* lookup `typed`: expect found (want_name NULL: by id) or not. */
static void expect_lookup(struct rl_image_index *ix, const char *typed, const char *want_id_hex,
                          const char *want_name)
{
  struct rl_image_match m;
  rl_error_t err = NULL;
  int r = rl_images_lookup(ix, typed, &m, &err);
  if (err)
    print_message("lookup %s: %s\n", typed, err->msg);
  assert_null(err);
  if (want_id_hex == NULL) {
    if (r != 0)
      print_message("lookup %s: unexpectedly found %s\n", typed, m.rec->id);
    assert_int_equal(r, 0);
    return;
  }
  assert_int_equal(r, 1);
  cleanup_free char *id = dg(want_id_hex);
  assert_string_equal(m.rec->id, id);
  if (want_name)
    assert_string_equal(m.name, want_name);
  else
    assert_null(m.name);
}

static void test_lookup_short_names(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  /* docker.io's library/ for one component; no tag means latest */
  expect_lookup(&ix, "busybox", "a1", "docker.io/library/busybox:latest");
  expect_lookup(&ix, "busybox:1.36", "a1", "docker.io/library/busybox:1.36");
  expect_lookup(&ix, "library/busybox", "a1", "docker.io/library/busybox:latest");
  expect_lookup(&ix, "busybox:2", NULL, NULL);
  /* a whole component only: "box" is not the end of "busybox" */
  expect_lookup(&ix, "box", NULL, NULL);
  /* localhost/ from `rless tag` */
  expect_lookup(&ix, "mybox", "a2", "localhost/mybox:latest");
  /* any registry when exactly one name ends in the short name */
  expect_lookup(&ix, "tool:v1", "b3", "ghcr.io/org/tool:v1");
  expect_lookup(&ix, "org/tool:v1", "b3", "ghcr.io/org/tool:v1");
  expect_lookup(&ix, "tool", NULL, NULL); /* :latest is not there */
  /* docker.io wins over localhost when both carry the name */
  expect_lookup(&ix, "alpine:3", "c4005", "docker.io/library/alpine:3");
  rl_images_free(&ix);
}

static void test_lookup_qualified_and_exact(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  expect_lookup(&ix, "docker.io/library/busybox:1.36", "a1", "docker.io/library/busybox:1.36");
  expect_lookup(&ix, "docker.io/busybox", "a1", "docker.io/library/busybox:latest");
  expect_lookup(&ix, "index.docker.io/busybox", "a1", "docker.io/library/busybox:latest");
  /* a qualified name is that registry's only */
  expect_lookup(&ix, "quay.io/busybox", NULL, NULL);
  expect_lookup(&ix, "localhost/alpine:3", "c4005", "localhost/alpine:3");
  expect_lookup(&ix, "127.0.0.1:5000/team/app", "e7", "127.0.0.1:5000/team/app:latest");
  rl_images_free(&ix);
}

static void test_lookup_ambiguous_short_name(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  struct rl_image_match m;
  rl_error_t err = NULL;
  /* quay.io/app and 127.0.0.1:5000/team/app: two images, no docker.io or localhost name */
  assert_int_equal(rl_images_lookup(&ix, "app", &m, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err->msg, "short name `app:latest` matches 2 names"));
  assert_non_null(strstr(err->msg, "quay.io/app:latest"));
  assert_non_null(strstr(err->msg, "127.0.0.1:5000/team/app:latest"));
  rl_error_free(&err);
  /* one more component makes it unique */
  expect_lookup(&ix, "team/app", "e7", "127.0.0.1:5000/team/app:latest");
  rl_images_free(&ix);
}

static void test_lookup_ids(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  cleanup_free char *full = dg("b3");
  expect_lookup(&ix, full, "b3", NULL);
  expect_lookup(&ix, full + 7, "b3", NULL);
  expect_lookup(&ix, "b300", "b3", NULL);
  expect_lookup(&ix, "sha256:b300", "b3", NULL);
  expect_lookup(&ix, "d600000", "d6", NULL); /* the untagged one */
  expect_lookup(&ix, "b30", NULL, NULL);     /* fewer than 4 hex digits */
  expect_lookup(&ix, "ee00", NULL, NULL);
  expect_lookup(&ix, "c4005", "c4005", NULL);
  struct rl_image_match m;
  rl_error_t err = NULL;
  assert_int_equal(rl_images_lookup(&ix, "c400", &m, &err), -1); /* c4 and c4005 */
  assert_non_null(strstr(err->msg, "ambiguous"));
  rl_error_free(&err);
  rl_images_free(&ix);
}

static void test_lookup_digest_reference(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  cleanup_free char *m1 = dg("f1");
  cleanup_free char *ref = rl_xasprintf("busybox@%s", m1);
  /* no stored name carries the digest: the image with that manifest, by digest */
  expect_lookup(&ix, ref, "a1", NULL);
  cleanup_free char *other = rl_xasprintf("alpine@%s", m1);
  expect_lookup(&ix, other, NULL, NULL); /* right manifest, wrong repository */
  rl_images_free(&ix);
}

/* rl_images_match_ref on a hand-made reference: a "library/" before a short
 * one-component name is docker.io's and ignored. */
static void test_match_ref_library_prefix(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  struct rl_imageref ref = {NULL, "library/mybox", "latest", NULL};
  struct rl_image_match m;
  rl_error_t err = NULL;
  assert_int_equal(rl_images_match_ref(&ix, &ref, &m, &err), 1);
  assert_string_equal(m.name, "localhost/mybox:latest");
  rl_images_free(&ix);
}

static void test_name_helpers(void **state)
{
  static const char *const cases[][2] = {
      {"docker.io/library/busybox:1", "busybox:1"},
      {"docker.io/user/x:latest", "user/x:latest"},
      {"docker.io/library/a/b:1", "library/a/b:1"},
      {"localhost/mybox:latest", "localhost/mybox:latest"},
      {"127.0.0.1:5000/library/busybox:1", "127.0.0.1:5000/library/busybox:1"},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(cases); i++) {
    cleanup_free char *f = rl_image_name_familiar(cases[i][0]);
    assert_string_equal(f, cases[i][1]);
  }
  cleanup_free char *repo = NULL, *tag = NULL;
  rl_image_name_split("127.0.0.1:5000/team/app:v2", &repo, &tag);
  assert_string_equal(repo, "127.0.0.1:5000/team/app");
  assert_string_equal(tag, "v2");
  cleanup_free char *repo2 = NULL, *tag2 = NULL;
  cleanup_free char *d = dg("f1");
  cleanup_free char *by_digest = rl_xasprintf("localhost:5000/x@%s", d);
  rl_image_name_split(by_digest, &repo2, &tag2);
  assert_string_equal(repo2, "localhost:5000/x");
  assert_null(tag2);
}

static void test_untag_then_remove(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  size_t n = ix.n;
  struct rl_image_match m;
  struct rl_image_rec gone = {0};
  rl_error_t err = NULL;
  assert_int_equal(rl_images_lookup(&ix, "busybox:1.36", &m, &err), 1);
  assert_false(rl_images_would_remove(&m));
  assert_int_equal(rl_images_untag_or_remove(&ix, &m, &gone), 0);
  assert_int_equal(ix.n, n);
  assert_int_equal(rl_images_lookup(&ix, "busybox:1.36", &m, &err), 0);
  /* the last name: the image goes */
  assert_int_equal(rl_images_lookup(&ix, "busybox", &m, &err), 1);
  assert_true(rl_images_would_remove(&m));
  assert_int_equal(rl_images_untag_or_remove(&ix, &m, &gone), 1);
  assert_int_equal(ix.n, n - 1);
  cleanup_free char *id = dg("a1");
  assert_string_equal(gone.id, id);
  assert_int_equal(gone.layers.n, 2);
  assert_null(rl_images_find(&ix, id, &err));
  rl_image_rec_free(&gone);
  /* by id, an image with two names goes at once */
  assert_int_equal(rl_images_lookup(&ix, "c40", &m, &err), 0); /* < 4 digits */
  assert_int_equal(rl_images_lookup(&ix, "c4005", &m, &err), 1);
  assert_true(rl_images_would_remove(&m));
  assert_int_equal(rl_images_untag_or_remove(&ix, &m, &gone), 1);
  assert_int_equal(gone.names.n, 2);
  assert_int_equal(ix.n, n - 2);
  rl_image_rec_free(&gone);
  rl_images_free(&ix);
}

/* docker: digest references do not keep an image whose last tag goes. */
static void test_digest_names_do_not_keep_an_image(void **state)
{
  struct rl_image_index ix = {0};
  cleanup_free char *m = dg("f9");
  cleanup_free char *by_digest = rl_xasprintf("docker.io/library/busybox@%s", m);
  add(&ix, "a9", "f9", L("docker.io/library/busybox:latest", by_digest), NULL, 1);
  struct rl_image_match found;
  rl_error_t err = NULL;
  assert_int_equal(rl_images_lookup(&ix, by_digest, &found, &err), 1);
  assert_false(rl_images_would_remove(&found)); /* a tag remains */
  assert_int_equal(rl_images_lookup(&ix, "busybox", &found, &err), 1);
  assert_true(rl_images_would_remove(&found));
  rl_images_free(&ix);
}

static void test_add_name_moves_it(void **state)
{
  struct rl_image_index ix;
  fixture(&ix);
  struct rl_image_match m;
  rl_error_t err = NULL;
  assert_int_equal(rl_images_lookup(&ix, "tool:v1", &m, &err), 1);
  size_t tool = (size_t)(m.rec - ix.v);
  rl_images_add_name(&ix, tool, "localhost/mybox:latest");
  rl_images_add_name(&ix, tool, "localhost/mybox:latest"); /* once only */
  assert_int_equal(ix.v[tool].names.n, 2);
  expect_lookup(&ix, "mybox", "b3", "localhost/mybox:latest");
  /* the image that had it is untagged now, not gone */
  cleanup_free char *old = dg("a2");
  struct rl_image_rec *prev = rl_images_find(&ix, old, &err);
  assert_non_null(prev);
  assert_int_equal(prev->names.n, 0);
  rl_images_free(&ix);
}

static bool has(const rl_strv_t *s, const char *hex)
{
  cleanup_free char *d = dg(hex);
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], d) == 0)
      return true;
  return false;
}

/* Remove the image with id `id_hex` from ix into *gone. */
static void take(struct rl_image_index *ix, const char *id_hex, struct rl_image_rec *gone)
{
  cleanup_free char *id = dg(id_hex);
  struct rl_image_match m = {rl_images_find(ix, id, NULL), NULL};
  assert_non_null(m.rec);
  assert_int_equal(rl_images_untag_or_remove(ix, &m, gone), 1);
}

static void test_gc_plan_shared_layers(void **state)
{
  struct rl_image_index ix;
  struct rl_image_rec gone = {0};
  struct rl_gc_plan p;
  fixture(&ix);
  /* busybox (a1): layers 11 and 12; 12 is mybox's too, 11 the untagged d6's */
  take(&ix, "a1", &gone);
  rl_images_gc_plan(&gone, 1, &ix, NULL, &p);
  assert_int_equal(p.blobs.n, 2);
  assert_true(has(&p.blobs, "f1") && has(&p.blobs, "a1"));
  assert_int_equal(p.layers.n, 0);
  rl_gc_plan_free(&p);
  /* and then d6: layer 11 is free now, 12 still mybox's */
  struct rl_image_rec both[2] = {gone, {0}};
  take(&ix, "d6", &both[1]);
  rl_images_gc_plan(both, 2, &ix, NULL, &p);
  assert_int_equal(p.blobs.n, 5);
  assert_true(has(&p.blobs, "11") && has(&p.blobs, "f6") && has(&p.blobs, "d6"));
  assert_int_equal(p.layers.n, 1);
  assert_true(has(&p.layers, "11"));
  rl_gc_plan_free(&p);
  rl_image_rec_free(&both[0]);
  rl_image_rec_free(&both[1]);
  rl_images_free(&ix);
}

static void test_gc_plan_containers_keep_what_they_use(void **state)
{
  struct rl_image_index ix;
  struct rl_image_rec gone = {0};
  struct rl_gc_plan p;
  fixture(&ix);
  /* rmi -f of tool (b3) while a container runs it: its config and layer stay */
  struct rl_container_ref c = {.id = "0123456789abcdef", .name = "web"};
  c.image = dg("b3");
  rl_strv_push_owned(&c.layers, dg("13"));
  struct rl_container_refs cs = {&c, 1};
  take(&ix, "b3", &gone);
  rl_images_gc_plan(&gone, 1, &ix, &cs, &p);
  assert_int_equal(p.blobs.n, 1);
  assert_true(has(&p.blobs, "f3")); /* the manifest only */
  assert_int_equal(p.layers.n, 0);
  rl_gc_plan_free(&p);
  /* without the container everything of b3 goes, each digest once */
  rl_images_gc_plan(&gone, 1, &ix, NULL, &p);
  assert_int_equal(p.blobs.n, 3);
  assert_true(has(&p.layers, "13"));
  assert_int_equal(p.layers.n, 1);
  rl_gc_plan_free(&p);
  assert_ptr_equal(rl_container_refs_using(&cs, c.image), &c);
  cleanup_free char *other = dg("a1");
  assert_null(rl_container_refs_using(&cs, other));
  free(c.image);
  rl_strv_free(&c.layers);
  rl_image_rec_free(&gone);
  rl_images_free(&ix);
}

/* ---- on disk ---- */

struct fx {
  char *base;
  struct rl_store s;
};

static int setup_store(void **state)
{
  struct fx *f = rl_xcalloc(1, sizeof(*f));
  f->base = rl_xstrdup("/tmp/rl-test-images-XXXXXX");
  if (mkdtemp(f->base) == NULL || rl_store_open(f->base, true, &f->s, NULL) < 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown_store(void **state)
{
  struct fx *f = *state;
  rl_store_close(&f->s);
  rl_rmtree(f->base, NULL);
  free(f->base);
  free(f);
  return 0;
}

static void write_file(const char *path, const char *text)
{
  cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(rl_write_all(fd, text, strlen(text)), 0);
}

static void test_index_round_trip(void **state)
{
  struct fx *f = *state;
  struct rl_image_index ix, back;
  rl_error_t err = NULL;
  fixture(&ix);
  assert_int_equal(rl_images_save(&f->s, &ix, &err), 0);
  assert_int_equal(rl_images_load(&f->s, &back, &err), 0);
  assert_int_equal(back.n, ix.n);
  for (size_t i = 0; i < ix.n; i++) {
    assert_string_equal(back.v[i].id, ix.v[i].id);
    assert_int_equal(back.v[i].names.n, ix.v[i].names.n);
    assert_int_equal(back.v[i].layers.n, ix.v[i].layers.n);
    assert_int_equal(back.v[i].created, ix.v[i].created);
  }
  expect_lookup(&back, "tool:v1", "b3", "ghcr.io/org/tool:v1");
  rl_images_free(&back);
  rl_images_free(&ix);
}

static void test_container_refs(void **state)
{
  struct fx *f = *state;
  struct rl_container_refs cs;
  rl_error_t err = NULL;
  cleanup_free char *d1 = rl_xasprintf("%s/containers/c1", f->base);
  cleanup_free char *d2 = rl_xasprintf("%s/containers/c2", f->base);
  cleanup_free char *j1 = rl_xasprintf("%s/container.json", d1);
  assert_int_equal(mkdir(d1, 0700), 0);
  assert_int_equal(mkdir(d2, 0700), 0); /* no record yet: no claim */
  cleanup_free char *img = dg("b3");
  cleanup_free char *lay = dg("13");
  cleanup_free char *json = rl_xasprintf(
      "{\"id\": \"c1aaaaaaaaaaaaaa\", \"name\": \"web\", \"image\": \"%s\", \"layers\": [\"%s\"]}",
      img, lay);
  write_file(j1, json);
  assert_int_equal(rl_container_refs_load(&f->s, &cs, &err), 0);
  assert_int_equal(cs.n, 1);
  assert_string_equal(cs.v[0].id, "c1aaaaaaaaaaaaaa");
  assert_string_equal(cs.v[0].name, "web");
  assert_string_equal(cs.v[0].image, img);
  assert_int_equal(cs.v[0].layers.n, 1);
  assert_string_equal(cs.v[0].layers.v[0], lay);
  rl_container_refs_free(&cs);
  /* a damaged record stops removal: it might use anything */
  write_file(j1, "{\"id\": ");
  assert_int_equal(rl_container_refs_load(&f->s, &cs, &err), -1);
  assert_non_null(strstr(err->msg, "containers/c1/container.json"));
  rl_error_free(&err);
}

static void test_blob_remove(void **state)
{
  struct fx *f = *state;
  rl_error_t err = NULL;
  cleanup_free char *d = dg("ab");
  cleanup_free char *path = rl_store_blob_path(&f->s, d);
  write_file(path, "12345");
  long long freed = 0;
  assert_int_equal(rl_store_blob_remove(&f->s, d, &freed, &err), 0);
  assert_int_equal(freed, 5);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(rl_store_blob_remove(&f->s, d, &freed, &err), 0); /* absent is fine */
  assert_int_equal(freed, 5);
  assert_int_equal(rl_store_blob_remove(&f->s, "sha256:xyz", &freed, &err), -1);
  rl_error_free(&err);
}

/* Layer dirs in two formats go to one trash dir, which is then removed. */
static void test_layers_retire_and_remove(void **state)
{
  struct fx *f = *state;
  rl_error_t err = NULL;
  struct rl_userns ns;
  if (rl_userns_plan(RL_USERNS_AUTO, true, &ns, &err) < 0)
    SKIP(err->msg);
  cleanup_free char *l1 = dg("11"), *l2 = dg("12"), *absent = dg("99");
  const char *formats[] = {"overlay", "fuse"};
  for (size_t i = 0; i < 2; i++) {
    cleanup_free char *p = rl_store_layer_path(&f->s, formats[i], l1);
    cleanup_free char *sub = rl_xasprintf("%s/etc", p);
    cleanup_free char *file = rl_xasprintf("%s/etc/data", p);
    assert_int_equal(rl_mkdir_p(sub, 0755, &err), 0);
    write_file(file, "0123456789");
    assert_int_equal(chmod(p, 0555), 0); /* a read-only top dir moves too */
  }
  cleanup_free char *keep = rl_store_layer_path(&f->s, "overlay", l2);
  assert_int_equal(rl_mkdir_p(keep, 0755, &err), 0);
  char *digests[] = {l1, absent};
  char *trash = NULL;
  int r = rl_store_layers_retire(&f->s, &ns, digests, 2, &trash, &err);
  if (r < 0 && err && strstr(err->msg, "user namespace"))
    SKIP(err->msg);
  assert_int_equal(r, 0);
  assert_non_null(trash);
  assert_false(rl_store_has_layer(&f->s, "overlay", l1));
  assert_false(rl_store_has_layer(&f->s, "fuse", l1));
  assert_true(rl_store_has_layer(&f->s, "overlay", l2));
  cleanup_free char *moved = rl_xasprintf("%s/fuse-%s/etc/data", trash, l1 + 7);
  assert_int_equal(access(moved, F_OK), 0);
  long long freed = 0;
  assert_int_equal(rl_store_trash_remove(&f->s, &ns, trash, &freed, &err), 0);
  assert_int_equal(freed, 20);
  assert_int_equal(access(trash, F_OK), -1);
  free(trash);
  /* nothing there: no trash dir at all */
  char *only_absent[] = {absent};
  assert_int_equal(rl_store_layers_retire(&f->s, &ns, only_absent, 1, &trash, &err), 0);
  assert_null(trash);
}

static void test_config_blob_and_created(void **state)
{
  struct fx *f = *state;
  rl_error_t err = NULL;
  struct rl_image_rec r = {0};
  r.id = dg("c0");
  r.created = 42;
  cleanup_free char *path = rl_store_blob_path(&f->s, r.id);
  assert_null(rl_image_config_blob(&f->s, &r, &err)); /* missing */
  assert_non_null(strstr(err->msg, path));
  rl_error_free(&err);
  write_file(path, "{\"created\": \"2024-01-02T03:04:05.123456789Z\", \"os\": \"linux\"}");
  json_t *blob = rl_image_config_blob(&f->s, &r, &err);
  assert_non_null(blob);
  assert_int_equal(rl_image_created(&r, blob), 1704164645);
  json_decref(blob);
  assert_int_equal(rl_image_created(&r, NULL), 42);
  rl_image_rec_free(&r);
}

static void test_rfc3339(void **state)
{
  assert_int_equal(rl_rfc3339_parse("2024-01-02T03:04:05Z"), 1704164645);
  assert_int_equal(rl_rfc3339_parse("2024-01-02T04:34:05.5+01:30"), 1704164645);
  assert_int_equal(rl_rfc3339_parse("2024-01-01T23:04:05-04:00"), 1704164645);
  assert_int_equal(rl_rfc3339_parse("1970-01-01T00:00:00Z"), 0);
  assert_int_equal(rl_rfc3339_parse("2024-01-02 03:04:05"), -1);
  assert_int_equal(rl_rfc3339_parse("2024-01-02T03:04:05"), -1); /* no zone */
  assert_int_equal(rl_rfc3339_parse("2024-01-02T03:04:05Zjunk"), -1);
  assert_int_equal(rl_rfc3339_parse(NULL), -1);
  cleanup_free char *s = rl_rfc3339_format(1704164645);
  assert_string_equal(s, "2024-01-02T03:04:05Z");
}

static void test_human_size(void **state)
{
  static const struct {
    long long n;
    const char *s;
  } cases[] = {{0, "0B"},           {999, "999B"},        {1000, "1kB"},
               {4261888, "4.26MB"}, {77812345, "77.8MB"}, {1234567890, "1.23GB"},
               {999999, "1e+03kB"} /* docker's own rounding quirk */};
  for (size_t i = 0; i < RL_ARRAY_SIZE(cases); i++) {
    cleanup_free char *s = rl_human_size(cases[i].n);
    assert_string_equal(s, cases[i].s);
  }
}

static void test_human_ago(void **state)
{
  static const struct {
    long long d;
    const char *s;
  } cases[] = {
      {0, "Less than a second ago"}, {1, "1 second ago"},         {59, "59 seconds ago"},
      {60, "About a minute ago"},    {150, "2 minutes ago"},      {3599, "59 minutes ago"},
      {5399, "About an hour ago"},   {5400, "2 hours ago"},       {47 * 3600, "47 hours ago"},
      {48 * 3600, "2 days ago"},     {14 * 86400, "2 weeks ago"}, {60 * 86400, "2 months ago"},
      {730 * 86400, "2 years ago"},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(cases); i++) {
    cleanup_free char *s = rl_human_ago(1000000000 - cases[i].d, 1000000000);
    assert_string_equal(s, cases[i].s);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lookup_short_names),
      cmocka_unit_test(test_lookup_qualified_and_exact),
      cmocka_unit_test(test_lookup_ambiguous_short_name),
      cmocka_unit_test(test_lookup_ids),
      cmocka_unit_test(test_lookup_digest_reference),
      cmocka_unit_test(test_match_ref_library_prefix),
      cmocka_unit_test(test_name_helpers),
      cmocka_unit_test(test_untag_then_remove),
      cmocka_unit_test(test_digest_names_do_not_keep_an_image),
      cmocka_unit_test(test_add_name_moves_it),
      cmocka_unit_test(test_gc_plan_shared_layers),
      cmocka_unit_test(test_gc_plan_containers_keep_what_they_use),
      cmocka_unit_test_setup_teardown(test_index_round_trip, setup_store, teardown_store),
      cmocka_unit_test_setup_teardown(test_container_refs, setup_store, teardown_store),
      cmocka_unit_test_setup_teardown(test_blob_remove, setup_store, teardown_store),
      cmocka_unit_test_setup_teardown(test_layers_retire_and_remove, setup_store, teardown_store),
      cmocka_unit_test_setup_teardown(test_config_blob_and_created, setup_store, teardown_store),
      cmocka_unit_test(test_rfc3339),
      cmocka_unit_test(test_human_size),
      cmocka_unit_test(test_human_ago),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
