/* libFuzzer target for rl_layer_unpack: untrusted bytes as a layer stream,
 * unpacked into a fresh temp dir that has a sibling canary; anything that
 * appears next to the layer dir means an escape and aborts.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_layer.c src/layer*.c src/error.c src/util.c src/fsutil.c \
 *     -larchive -o build/fuzz_layer
 *   build/fuzz_layer -max_total_time=60 CORPUS_DIR
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "rl_layer.h"
#include "rl_util.h"

int rl_log_level = -1; /* quiet: the fuzzer prints enough */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  /* A few KiB of zstd can decode to gigabytes: cap file sizes so a bomb is
   * an EFBIG error of the unpacker, not a full disk. */
  struct rlimit fsize = {64 << 20, 64 << 20};
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &fsize);
  return 0;
}

/* Only `layer` may exist in the temp dir after unpacking. */
static void check_contained(const char *base)
{
  DIR *d = opendir(base);
  if (d == NULL)
    abort();
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "layer"))
      abort();
  closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cleanup_close int mfd = memfd_create("fuzz-layer", MFD_CLOEXEC);
  if (mfd < 0 || rl_write_all(mfd, data, size) < 0 || lseek(mfd, 0, SEEK_SET) != 0)
    abort();
  char base[] = "/tmp/rl-fuzz-layer-XXXXXX";
  if (mkdtemp(base) == NULL)
    abort();
  cleanup_free char *layer = rl_xasprintf("%s/layer", base);
  if (mkdir(layer, 0755) < 0)
    abort();
  cleanup_close int dirfd = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    abort();
  /* Limits 0: every owner is "outside the map" and stays ours, so the
   * fuzzer never chowns (it may run as root). */
  struct rl_unpack_opts o = {.whiteouts =
                                 (size & 1) ? RL_WHITEOUT_FUSE : RL_WHITEOUT_OVERLAY_XATTR};
  struct rl_unpack_stats st = {0};
  rl_error_t err = NULL;
  (void)rl_layer_unpack(mfd, dirfd, &o, &st, &err);
  rl_error_free(&err);
  rl_unpack_stats_free(&st);
  check_contained(base);
  if (rl_rmtree(base, NULL) < 0)
    abort();
  return 0;
}
