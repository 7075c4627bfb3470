/* The memory storage leaves the capacity past a file's end unwritten (branch storeperf: zeroing
 * it on every growth cost a replica's pages): whatever a write, writev or truncation skips must
 * still read as zeros, and bytes dropped by a truncation must never come back. */
#include "test_util.h"

static void check_zeros(hc_storage *st, uint64_t off, size_t len) {
  uint8_t *buf = malloc(len);
  CHECK(buf);
  CHECK_OK(hc_storage_read(st, off, buf, len));
  for (size_t i = 0; i < len; i++)
    if (buf[i]) {
      fprintf(stderr, "byte %llu is %u, wanted 0\n", (unsigned long long)(off + i), buf[i]);
      exit(1);
    }
  free(buf);
}

static void check_fill(hc_storage *st, uint64_t off, size_t len, uint8_t v) {
  uint8_t *buf = malloc(len);
  CHECK(buf);
  CHECK_OK(hc_storage_read(st, off, buf, len));
  for (size_t i = 0; i < len; i++) CHECK_EQ(buf[i], v);
  free(buf);
}

static uint64_t size_of(hc_storage *st) {
  uint64_t size = 0;
  CHECK_OK(hc_storage_stat(st, &size, NULL));
  return size;
}

int main(void) {
  hc_storage_factory *f;
  hc_storage *st;
  CHECK_OK(hc_storage_memory_factory_new(&f));
  CHECK_OK(f->open(f, "data", HC_STORAGE_CREATE, &st));

  /* dirty the heap so a fresh buffer is likely to come back non-zero */
  for (int i = 0; i < 64; i++) {
    uint8_t *junk = malloc(100000);
    CHECK(junk);
    memset(junk, 0xa5, 100000);
    free(junk);
  }

  uint8_t ff[3000];
  memset(ff, 0xff, sizeof ff);
  CHECK_OK(hc_storage_write(st, 0, ff, 100));
  CHECK_OK(hc_storage_write(st, 50000, ff, 10)); /* a hole [100, 50000) across growths */
  CHECK_EQ(size_of(st), 50010);
  check_fill(st, 0, 100, 0xff);
  check_zeros(st, 100, 50000 - 100);
  check_fill(st, 50000, 10, 0xff);

  /* writev past the end */
  hc_buf bufs[2] = {{ff, 1000}, {ff, 2000}};
  CHECK_OK(hc_storage_writev(st, 200000, bufs, 2));
  CHECK_EQ(size_of(st), 203000);
  check_zeros(st, 50010, 200000 - 50010);
  check_fill(st, 200000, 3000, 0xff);

  /* shrink into written data, then grow by truncation and by a write: the dropped bytes are
   * zeros, not the old 0xff */
  CHECK_OK(hc_storage_truncate(st, 50005));
  CHECK_EQ(size_of(st), 50005);
  CHECK_OK(hc_storage_truncate(st, 60000));
  check_fill(st, 50000, 5, 0xff);
  check_zeros(st, 50005, 60000 - 50005);
  CHECK_OK(hc_storage_truncate(st, 10));
  CHECK_OK(hc_storage_write(st, 250000, ff, 1));
  check_fill(st, 0, 10, 0xff);
  check_zeros(st, 10, 250000 - 10);
  check_fill(st, 250000, 1, 0xff);
  check_zeros(st, 200000, 3000); /* the old writev is gone */

  /* reads past the end: zeros and a short read */
  uint8_t tail[8];
  memset(tail, 7, sizeof tail);
  CHECK_RC(hc_storage_read(st, 250000, tail, sizeof tail), HC_ERR_SHORT_READ);
  CHECK_EQ(tail[0], 0xff);
  for (int i = 1; i < 8; i++) CHECK_EQ(tail[i], 0);

  /* the file outlives its handle (the memory factory keeps it) */
  hc_storage_close(st);
  CHECK_OK(f->open(f, "data", 0, &st));
  CHECK_EQ(size_of(st), 250001);
  check_zeros(st, 10, 250000 - 10);
  hc_storage_close(st);
  hc_storage_factory_free(f);
  printf("test_storage_memory: ok\n");
  return 0;
}
