/* Digests (OpenSSL) and verified reads: only rless-image links this. */
#include "rl_store.h"
#include "rl_util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

char *rl_sha256_digest(const void *data, size_t len)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
    return NULL;
  for (unsigned i = 0; i < mdlen; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return rl_xasprintf("sha256:%s", hex);
}

char *rl_store_blob_read(const struct rl_store *s, const char *digest, size_t *len, rl_error_t *err)
{
  cleanup_free char *path = rl_store_blob_path(s, digest);
  if (path == NULL) {
    rl_make_error(err, EINVAL, "read blob: malformed digest `%s`", digest);
    return NULL;
  }
  cleanup_free char *data = rl_read_file_at(AT_FDCWD, path, 64 << 20, len);
  if (data == NULL) {
    rl_make_error(err, errno, "read blob `%s`", path);
    return NULL;
  }
  cleanup_free char *got = rl_sha256_digest(data, *len);
  if (got == NULL || strcmp(got, digest) != 0) {
    rl_make_error(err, 0, "blob `%s` is corrupt: its content hashes to %s", path,
                  got ? got : "(error)");
    rl_error_hint(err, "remove it and pull the image again");
    return NULL;
  }
  return rl_steal_ptr(&data);
}
