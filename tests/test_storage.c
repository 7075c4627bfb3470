/* Storage helpers and the tree read cache:
 *  - hc_storage_writev on the file and memory backends (one write of many buffers, > IOV_MAX
 *    buffers, empty buffers) and the fallback for a version-1 backend without writev;
 *  - reads stay right through the merkle read cache across flushes, truncations and re-appends
 *    (every block checked, sequentially, at random, verified, after reopening). */
#include <inttypes.h>
#include <stdio.h>

#include "test_util.h"

/* ---- writev ---- */

static void fill(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (uint8_t)(seed >> 16);
  }
}

/* 3000 buffers of 0..17 bytes (some empty) written at offset 100; reads back the join. */
static void check_writev(hc_storage *st) {
  enum { N = 3000 };
  static hc_buf bufs[N];
  static uint8_t pool[N * 17], joined[N * 17], back[N * 17 + 100];
  fill(pool, sizeof pool, 7);
  size_t total = 0;
  for (size_t i = 0; i < N; i++) {
    size_t len = (i * 7) % 18; /* 0..17 */
    bufs[i].data = len ? pool + i * 17 : NULL;
    bufs[i].len = len;
    if (bufs[i].len) memcpy(joined + total, bufs[i].data, bufs[i].len);
    total += bufs[i].len;
  }
  CHECK_OK(hc_storage_writev(st, 100, bufs, N));
  uint64_t size;
  CHECK_OK(hc_storage_stat(st, &size, NULL));
  CHECK_EQ(size, 100 + total);
  CHECK_OK(hc_storage_read(st, 0, back, 100 + total));
  for (size_t i = 0; i < 100; i++) CHECK_EQ(back[i], 0);
  CHECK(memcmp(back + 100, joined, total) == 0);
  /* overwrite in the middle with two buffers, zero buffers is a no-op */
  hc_buf two[2] = {{pool, 5}, {pool + 100, 6}};
  CHECK_OK(hc_storage_writev(st, 150, two, 2));
  CHECK_OK(hc_storage_writev(st, 0, NULL, 0));
  CHECK_OK(hc_storage_read(st, 150, back, 11));
  CHECK(memcmp(back, pool, 5) == 0 && memcmp(back + 5, pool + 100, 6) == 0);
  CHECK_OK(hc_storage_stat(st, &size, NULL));
  CHECK_EQ(size, 100 + total);
}

/* A version-1 backend over a fixed buffer: its table has no usable writev. */
typedef struct v1_storage {
  hc_storage base;
  uint8_t data[1 << 16];
  uint64_t size;
  int writes;
} v1_storage;

static int v1_read(hc_storage *st, uint64_t off, void *buf, size_t len) {
  v1_storage *v = (v1_storage *)st;
  CHECK(off + len <= sizeof v->data);
  memcpy(buf, v->data + off, len);
  return off + len <= v->size ? HC_OK : HC_ERR_SHORT_READ;
}
static int v1_write(hc_storage *st, uint64_t off, const void *buf, size_t len) {
  v1_storage *v = (v1_storage *)st;
  CHECK(off + len <= sizeof v->data);
  if (len) memcpy(v->data + off, buf, len);
  if (off + len > v->size) v->size = off + len;
  v->writes++;
  return HC_OK;
}
static int v1_del(hc_storage *st, uint64_t off, uint64_t len) { return HC_OK; }
static int v1_truncate(hc_storage *st, uint64_t size) {
  ((v1_storage *)st)->size = size;
  return HC_OK;
}
static int v1_stat(hc_storage *st, uint64_t *size, uint64_t *allocated) {
  if (size) *size = ((v1_storage *)st)->size;
  if (allocated) *allocated = 0;
  return HC_OK;
}
static int v1_sync(hc_storage *st) { return HC_OK; }
static void v1_close(hc_storage *st) {}
static int must_not_call(hc_storage *st, uint64_t off, const hc_buf *b, size_t n) {
  fprintf(stderr, "writev of a version-1 table was called\n");
  exit(1);
}

static void test_writev(void) {
  hc_storage_factory *f;
  hc_storage *st;
  CHECK_OK(hc_storage_file_factory_new(&f, test_tmpdir("storage-writev")));
  CHECK_OK(f->open(f, "data", HC_STORAGE_CREATE, &st));
  CHECK(st->methods->version >= 2 && st->methods->writev);
  check_writev(st);
  hc_storage_close(st);
  hc_storage_factory_free(f);

  CHECK_OK(hc_storage_memory_factory_new(&f));
  CHECK_OK(f->open(f, "data", HC_STORAGE_CREATE, &st));
  CHECK(st->methods->version >= 2 && st->methods->writev);
  check_writev(st);
  hc_storage_close(st);
  hc_storage_factory_free(f);

  /* version 1: the member past `close` is never looked at; the buffers are joined */
  static const hc_storage_methods v1m = {1,      v1_read, v1_write, v1_del, v1_truncate,
                                         v1_stat, v1_sync, v1_close, must_not_call};
  static v1_storage v;
  v.base.methods = &v1m;
  check_writev(&v.base);
  CHECK_EQ(v.writes, 2); /* one joined write per call (the empty call writes nothing) */
}

/* ---- tree read cache through the core ---- */

static void block(uint8_t *b, size_t len, uint64_t i, uint32_t gen) {
  fill(b, len, (uint32_t)i * 2654435761u + gen);
}

static size_t block_len(uint64_t i, uint32_t gen) { return 1 + (size_t)((i * 31 + gen) % 200); }

static void append_range(hc_core *core, uint64_t start, uint64_t end, uint32_t gen, size_t batch) {
  static uint8_t data[256 * 200];
  static hc_buf bufs[256];
  for (uint64_t i = start; i < end;) {
    size_t k = 0;
    for (; k < batch && i + k < end; k++) {
      bufs[k].data = data + k * 200;
      bufs[k].len = block_len(i + k, gen);
      block(data + k * 200, bufs[k].len, i + k, gen);
    }
    CHECK_OK(hc_core_append(core, bufs, k, NULL, NULL));
    i += k;
  }
}

/* Every block of [0, len) (the core may be longer): blocks below `split` are generation g0, the rest g1. */
static void check_all(hc_core *core, uint64_t len, uint64_t split, uint32_t g0, uint32_t g1) {
  uint8_t want[200], got[200];
  size_t n;
  CHECK(hc_core_length(core) >= len);
  for (uint64_t i = 0; i < len; i++) {
    uint32_t g = i < split ? g0 : g1;
    CHECK_OK(hc_core_get(core, i, got, sizeof got, &n));
    CHECK_EQ(n, block_len(i, g));
    block(want, n, i, g);
    CHECK(memcmp(want, got, n) == 0);
  }
  uint64_t x = 88172645463325252ULL;
  for (int r = 0; r < 3000; r++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint64_t i = x % len;
    uint32_t g = i < split ? g0 : g1;
    CHECK_OK(r % 10 ? hc_core_get(core, i, got, sizeof got, &n)
                    : hc_core_get_verified(core, i, got, sizeof got, &n));
    CHECK_EQ(n, block_len(i, g));
    block(want, n, i, g);
    CHECK(memcmp(want, got, n) == 0);
    uint64_t off, bi, bo;
    CHECK_OK(hc_core_byte_offset(core, i, &off));
    CHECK_OK(hc_core_seek(core, off, &bi, &bo));
    CHECK_EQ(bi, i);
    CHECK_EQ(bo, 0);
  }
  uint64_t bad;
  CHECK_OK(hc_core_verify(core, &bad));
}

static void test_cache(hc_storage_factory *f) {
  hc_core *core;
  uint8_t seed[32] = {9};
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = seed;
  CHECK_OK(hc_core_open(&core, f, &o));
  append_range(core, 0, 20000, 1, 256);
  check_all(core, 20000, 20000, 1, 1);
  /* truncate into the middle of a cached chunk, append other data over it */
  CHECK_OK(hc_core_truncate(core, 12345));
  check_all(core, 12345, 12345, 1, 1);
  append_range(core, 12345, 21000, 2, 100);
  check_all(core, 21000, 12345, 1, 2);
  CHECK_OK(hc_core_flush(core));
  check_all(core, 21000, 12345, 1, 2);
  /* single appends (unflushed nodes shadow cached slots) and a short truncation */
  append_range(core, 21000, 21100, 2, 1);
  CHECK_OK(hc_core_truncate(core, 21050));
  append_range(core, 21050, 21070, 3, 1);
  uint8_t got[200], want[200];
  size_t n;
  for (uint64_t i = 21040; i < 21070; i++) {
    uint32_t g = i < 21050 ? 2 : 3;
    CHECK_OK(hc_core_get_verified(core, i, got, sizeof got, &n));
    CHECK_EQ(n, block_len(i, g));
    block(want, n, i, g);
    CHECK(memcmp(want, got, n) == 0);
  }
  hc_core_close(core);
  /* reopen: cold caches, oplog replay */
  CHECK_OK(hc_core_open(&core, f, &o));
  CHECK_EQ(hc_core_length(core), 21070);
  check_all(core, 21000, 12345, 1, 2);
  hc_core_close(core);
}

int main(void) {
  test_writev();
  hc_storage_factory *f;
  CHECK_OK(hc_storage_memory_factory_new(&f));
  test_cache(f);
  hc_storage_factory_free(f);
  CHECK_OK(hc_storage_file_factory_new(&f, test_tmpdir("storage-cache")));
  test_cache(f);
  hc_storage_factory_free(f);
  printf("test_storage: ok\n");
  return 0;
}
