/* Streaming sha256 (OpenSSL EVP) and layer blobs made from tarballs: one
 * pass of libarchive's decompressing reader hashes the uncompressed tar (the
 * diff_id) while the input is kept, or gzipped by libarchive's writer when
 * its compression is not one an image layer may have. */
#include "rl_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define BLOCK (1U << 20)

int rl_hasher_init(struct rl_hasher *h, rl_error_t *err)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(ctx);
    h->ctx = NULL;
    return rl_make_error(err, ENOMEM, "set up sha256");
  }
  h->ctx = ctx;
  return 0;
}

void rl_hasher_update(struct rl_hasher *h, const void *data, size_t len)
{
  if (h->ctx && len)
    EVP_DigestUpdate(h->ctx, data, len);
}

char *rl_hasher_final(struct rl_hasher *h)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
  bool ok = h->ctx && EVP_DigestFinal_ex(h->ctx, md, &n);
  rl_hasher_free(h);
  if (!ok)
    return NULL;
  for (unsigned i = 0; i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return rl_xasprintf("sha256:%s", hex);
}

void rl_hasher_free(struct rl_hasher *h)
{
  EVP_MD_CTX_free(h->ctx);
  h->ctx = NULL;
}

int rl_archive_errno(struct archive *a)
{
  int e = archive_errno(a);
  /* libarchive's codes for a bad format (EILSEQ) or its own failures (-1)
   * say nothing strerror could. */
  return e == EILSEQ || e < 0 ? 0 : e;
}

/* The input side: every byte libarchive reads is hashed and, while `copy`
 * is open, copied; so a kept blob is exactly the input. */
struct raw_in {
  int fd;
  int copy;
  int copy_errno, read_errno;
  bool eof;
  struct rl_hasher h;
  long long len;
  char *buf;
};

static ssize_t raw_fill(struct raw_in *r)
{
  ssize_t n;
  while ((n = read(r->fd, r->buf, BLOCK)) < 0 && errno == EINTR)
    ;
  r->eof = n == 0;
  r->read_errno = n < 0 ? errno : 0;
  if (n <= 0)
    return n;
  rl_hasher_update(&r->h, r->buf, (size_t)n);
  r->len += n;
  if (r->copy >= 0 && rl_write_all(r->copy, r->buf, (size_t)n) < 0) {
    r->copy_errno = errno;
    return -1;
  }
  return n;
}

static la_ssize_t raw_read(struct archive *a, void *ctx, const void **buf)
{
  struct raw_in *r = ctx;
  ssize_t n = raw_fill(r);
  if (n < 0)
    archive_set_error(a, r->copy_errno ? r->copy_errno : r->read_errno, "%s",
                      r->copy_errno ? "copy the input" : "read the input");
  *buf = r->buf;
  return n;
}

/* The gzip side, when the input is not kept. */
struct gz_out {
  int fd;
  struct rl_hasher h;
  long long len;
};

static la_ssize_t gz_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
  struct gz_out *g = ctx;
  if (rl_write_all(g->fd, buf, n) < 0) {
    archive_set_error(a, errno, "write the gzipped layer");
    return -1;
  }
  rl_hasher_update(&g->h, buf, n);
  g->len += (long long)n;
  return (la_ssize_t)n;
}

static struct archive *gz_open(struct gz_out *g, rl_error_t *err)
{
  struct archive *w = archive_write_new();
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_pathname(e, "layer.tar");
  /* No block padding: the gzip stream must end where gzip ends. */
  if (w == NULL || e == NULL || archive_write_add_filter_gzip(w) != ARCHIVE_OK ||
      archive_write_set_format_raw(w) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(w, 0) != ARCHIVE_OK ||
      archive_write_set_options(w, "gzip:!timestamp") != ARCHIVE_OK ||
      archive_write_open(w, g, NULL, gz_write, NULL) != ARCHIVE_OK ||
      archive_write_header(w, e) != ARCHIVE_OK) {
    rl_make_error(err, w ? rl_archive_errno(w) : ENOMEM, "set up gzip: %s",
                  w && archive_error_string(w) ? archive_error_string(w) : "out of memory");
    archive_write_free(w);
    w = NULL;
  }
  archive_entry_free(e);
  return w;
}

struct blob_job {
  struct raw_in in;
  struct gz_out gz;
  struct archive *r, *w;
  struct rl_hasher diff;
  const char *dir;
  bool keep;
};

/* After libarchive has sniffed the input: keep it, or gzip what it decodes. */
static int choose(struct blob_job *j, const char *src_path, bool keep_plain,
                  struct rl_tar_blob *out, rl_error_t *err)
{
  int code = archive_filter_code(j->r, 0), count = archive_filter_count(j->r);
  bool plain = count <= 1 || code == ARCHIVE_FILTER_NONE;
  j->keep = (count == 2 && (code == ARCHIVE_FILTER_GZIP || code == ARCHIVE_FILTER_ZSTD)) ||
            (plain && keep_plain);
  out->media_type = plain                         ? RL_MT_OCI_LAYER
                    : code == ARCHIVE_FILTER_ZSTD ? RL_MT_OCI_LAYER "+zstd"
                                                  : RL_MT_OCI_LAYER "+gzip";
  if (j->keep) {
    out->path = src_path ? rl_xstrdup(src_path) : rl_xasprintf("%s/raw", j->dir);
    return 0;
  }
  out->media_type = RL_MT_OCI_LAYER "+gzip";
  if (j->in.copy >= 0) { /* what was copied so far is not needed */
    close(j->in.copy);
    j->in.copy = -1;
    cleanup_free char *raw = rl_xasprintf("%s/raw", j->dir);
    unlink(raw);
  }
  out->path = rl_xasprintf("%s/layer.tar.gz", j->dir);
  j->gz.fd = open(out->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (j->gz.fd < 0)
    return rl_make_error(err, errno, "create `%s`", out->path);
  if (rl_hasher_init(&j->gz.h, err) < 0 || (j->w = gz_open(&j->gz, err)) == NULL)
    return -1;
  return 0;
}

static int read_failure(const struct blob_job *j, rl_error_t *err)
{
  if (j->in.copy_errno)
    return rl_make_error(err, j->in.copy_errno, "copy the tarball to `%s`", j->dir);
  if (j->in.read_errno)
    return rl_make_error(err, j->in.read_errno, "read the tarball");
  return rl_make_error(err, rl_archive_errno(j->r), "read the tarball: %s",
                       archive_error_string(j->r) ? archive_error_string(j->r) : "?");
}

static int pump(struct blob_job *j, rl_error_t *err)
{
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(j->r, &buf, &len, &off)) == ARCHIVE_OK) {
    rl_hasher_update(&j->diff, buf, len);
    if (j->w && archive_write_data(j->w, buf, len) < 0)
      return rl_make_error(err, rl_archive_errno(j->w), "gzip the layer: %s",
                           archive_error_string(j->w));
  }
  if (r != ARCHIVE_EOF)
    return read_failure(j, err);
  if (j->w && archive_write_close(j->w) != ARCHIVE_OK)
    return rl_make_error(err, rl_archive_errno(j->w), "gzip the layer: %s",
                         archive_error_string(j->w));
  /* A kept blob is the whole input, also what follows the compressed stream. */
  ssize_t n;
  while (j->keep && (n = raw_fill(&j->in)) != 0)
    if (n < 0)
      return read_failure(j, err);
  return 0;
}

static int run_job(struct blob_job *j, const char *src_path, bool keep_plain,
                   struct rl_tar_blob *out, rl_error_t *err)
{
  struct archive_entry *e;
  archive_read_support_filter_all(j->r);
  archive_read_support_format_raw(j->r);
  int r = archive_read_open(j->r, &j->in, NULL, raw_read, NULL);
  if (r == ARCHIVE_OK)
    r = archive_read_next_header(j->r, &e);
  if ((j->in.len == 0 && j->in.eof) || r == ARCHIVE_EOF)
    return rl_make_error(err, 0, "the tarball is empty");
  if (r != ARCHIVE_OK)
    return read_failure(j, err);
  if (choose(j, src_path, keep_plain, out, err) < 0 || pump(j, err) < 0)
    return -1;
  out->diff_id = rl_hasher_final(&j->diff);
  out->digest = j->keep ? rl_hasher_final(&j->in.h) : rl_hasher_final(&j->gz.h);
  out->size = j->keep ? j->in.len : j->gz.len;
  if (out->diff_id == NULL || out->digest == NULL)
    return rl_make_error(err, 0, "sha256 of the layer failed");
  return 0;
}

int rl_tar_blob_make(int fd, const char *src_path, const char *dir, bool keep_plain,
                     struct rl_tar_blob *out, rl_error_t *err)
{
  struct blob_job j = {.in = {.fd = fd, .copy = -1}, .gz = {.fd = -1}, .dir = dir};
  memset(out, 0, sizeof(*out));
  if (src_path == NULL) {
    cleanup_free char *raw = rl_xasprintf("%s/raw", dir);
    j.in.copy = open(raw, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (j.in.copy < 0)
      return rl_make_error(err, errno, "create `%s`", raw);
  }
  j.in.buf = rl_xmalloc(BLOCK);
  int r = rl_hasher_init(&j.in.h, err) < 0 || rl_hasher_init(&j.diff, err) < 0 ? -1 : 0;
  if (r == 0 && (j.r = archive_read_new()) == NULL)
    r = rl_make_error(err, ENOMEM, "set up the tarball reader");
  if (r == 0)
    r = run_job(&j, src_path, keep_plain, out, err);
  if (j.w)
    archive_write_free(j.w);
  if (j.r)
    archive_read_free(j.r);
  if (j.in.copy >= 0 && close(j.in.copy) < 0 && r == 0)
    r = rl_make_error(err, errno, "write `%s/raw`", dir);
  if (j.gz.fd >= 0 && close(j.gz.fd) < 0 && r == 0)
    r = rl_make_error(err, errno, "write `%s`", out->path);
  rl_hasher_free(&j.in.h);
  rl_hasher_free(&j.gz.h);
  rl_hasher_free(&j.diff);
  free(j.in.buf);
  if (r < 0)
    rl_tar_blob_free(out);
  return r;
}

void rl_tar_blob_free(struct rl_tar_blob *b)
{
  free(b->path);
  free(b->digest);
  free(b->diff_id);
  memset(b, 0, sizeof(*b));
}
