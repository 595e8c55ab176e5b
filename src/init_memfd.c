/* rless-init as a sealed memfd: the program every container process
 * executes first (rl_proc_exec), copied out of the host file before the
 * container exists.  Sealed against writes, growing and shrinking, then the
 * seals themselves, so root in a container that reaches it through
 * /proc/PID/exe cannot change what the next container runs. */
#include "rl_cli.h"
#include "rl_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: say so when vm.memfd_noexec asks */
#endif

static int new_memfd(void)
{
  int fd = memfd_create("rless-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) /* a kernel before MFD_EXEC */
    fd = memfd_create("rless-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  return fd;
}

int rl_init_memfd(rl_error_t *err)
{
  cleanup_free char *path = rl_find_helper("rless-init", err);
  if (path == NULL)
    return -1;
  cleanup_close int src = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (src < 0 || fstat(src, &st) < 0)
    return rl_make_error(err, errno, "open the helper `%s`", path);
  cleanup_close int fd = new_memfd();
  if (fd < 0)
    return rl_make_error(err, errno, "memfd_create for a sealed copy of `%s`", path);
  for (off_t done = 0; done < st.st_size;) {
    ssize_t n = sendfile(fd, src, NULL, (size_t)(st.st_size - done));
    if (n <= 0)
      return rl_make_error(err, n < 0 ? errno : EIO, "copy `%s` into a memfd", path);
    done += n;
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    return rl_make_error(err, errno, "seal the memfd copy of `%s`", path);
  return rl_steal_fd(&fd);
}
