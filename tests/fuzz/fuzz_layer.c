/* libFuzzer target for rl_layer_unpack: untrusted bytes as a layer stream
 * (tar, gzip or zstd), unpacked from a memfd into a fresh directory
 * $TMPDIR/rl-fuzz-layer-XXXXXX/a/b/layer, in the overlay whiteout format for
 * even sizes and the fuse one for odd sizes.
 *
 * Invariants: nothing appears beside `layer` in any of the three directories
 * above it (a relative escape through `..`, a symlink or a hard link lands
 * there), and, when the fuzzer runs as root, nothing new appears in `/` (an
 * absolute symlink followed); the unpacker's counts stay within the entries;
 * the tree can be removed again. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "rl_layer.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

static size_t root_entries; /* entries of `/` at start, when root */

static size_t count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  size_t n = 0;
  if (d == NULL)
    abort();
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n++;
  closedir(d);
  return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  /* A few KiB of zstd can decode to gigabytes: cap file sizes so a bomb is
   * an EFBIG error of the unpacker, not a full disk. */
  struct rlimit fsize = {64 << 20, 64 << 20};
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &fsize);
  if (geteuid() == 0)
    root_entries = count_entries("/");
  return 0;
}

/* Only `only` may exist in dir. */
static void check_only(const char *dir, const char *only)
{
  DIR *d = opendir(dir);
  FUZZ_CHECK(d != NULL);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    bool ok = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, only);
    if (!ok)
      fprintf(stderr, "escaped the layer: %s/%s\n", dir, e->d_name);
    FUZZ_CHECK(ok);
  }
  closedir(d);
}

static void unpack(const uint8_t *data, size_t size, const char *layer)
{
  char path[32];
  cleanup_close int mfd = fuzz_memfd(data, size, path);
  cleanup_close int dirfd = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    abort();
  /* Limits 0: every owner is "outside the map" and stays ours, so the
   * fuzzer never chowns (it may run as root). */
  struct rl_unpack_opts o = {.whiteouts =
                                 (size & 1) ? RL_WHITEOUT_FUSE : RL_WHITEOUT_OVERLAY_XATTR};
  struct rl_unpack_stats st = {0};
  rl_error_t err = NULL;
  int r = rl_layer_unpack(mfd, dirfd, &o, &st, &err);
  FUZZ_CHECK_ERR(r, err);
  FUZZ_CHECK(st.overflow_ids <= st.entries && st.devices_skipped <= st.entries);
  FUZZ_CHECK((st.overflow_ids == 0) == (st.overflow_example == NULL));
  FUZZ_CHECK((st.devices_skipped == 0) == (st.device_example == NULL));
  rl_error_free(&err);
  rl_unpack_stats_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cleanup_free char *base = rl_xasprintf("%s/rl-fuzz-layer-XXXXXX", fuzz_tmpdir());
  if (mkdtemp(base) == NULL)
    abort();
  cleanup_free char *a = rl_xasprintf("%s/a", base);
  cleanup_free char *b = rl_xasprintf("%s/b", a);
  cleanup_free char *layer = rl_xasprintf("%s/layer", b);
  if (mkdir(a, 0755) < 0 || mkdir(b, 0755) < 0 || mkdir(layer, 0755) < 0)
    abort();
  unpack(data, size, layer);
  check_only(base, "a");
  check_only(a, "b");
  check_only(b, "layer");
  FUZZ_CHECK(root_entries == 0 || count_entries("/") == root_entries);
  FUZZ_CHECK(rl_rmtree(base, NULL) == 0);
  return 0;
}
