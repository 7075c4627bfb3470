/* libFuzzer: Hyperbee nodes and tree walks. The input is split (fuzz_split) into a key and
 * up to 11 node blocks, appended after a valid header to a memory core; then the bee is read
 * (gets, ranges both ways with bounds and limits, peek, history, checkouts, a sub) and written
 * on (put, del, a batch). Every call must return HC_OK or an error, never crash or loop; a
 * range never yields more entries than the bee has blocks, and a forward range returns keys
 * in strictly increasing order. Each node block's index also round-trips through the codec. */
#include "bee_messages.h"
#include "fuzz_util.h"

#define NPARTS 12

static void roundtrip_index(const uint8_t *p, size_t n) {
  hc_bee_node_msg m;
  if (hc_bee_node_decode(p, n, &m) != HC_OK) return;
  hc_bee_index *a, *b;
  if (hc_bee_index_decode(m.index, m.index_len, &a) != HC_OK) return;
  size_t len = hc_bee_index_encode(NULL, a->levels, a->nlevels);
  uint8_t *enc = malloc(len + 1);
  FUZZ_ASSERT(enc);
  FUZZ_ASSERT(hc_bee_index_encode(enc, a->levels, a->nlevels) == len);
  FUZZ_ASSERT(hc_bee_index_decode(enc, len, &b) == HC_OK);
  FUZZ_ASSERT(a->nlevels == b->nlevels);
  for (size_t i = 0; i < a->nlevels; i++) {
    FUZZ_ASSERT(a->levels[i].nkeys == b->levels[i].nkeys);
    FUZZ_ASSERT(a->levels[i].nchildren == b->levels[i].nchildren);
    if (a->levels[i].nkeys)
      FUZZ_ASSERT(!memcmp(a->levels[i].keys, b->levels[i].keys, a->levels[i].nkeys * 8));
    if (a->levels[i].nchildren)
      FUZZ_ASSERT(!memcmp(a->levels[i].children, b->levels[i].children, a->levels[i].nchildren * 16));
  }
  free(a);
  free(b);
  free(enc);
}

static void walk(hc_bee *bee, const uint8_t *key, size_t klen, bool reverse, uint64_t limit) {
  hc_bee_range r = {.version = HC_BEE_RANGE_VERSION, .reverse = reverse, .limit = limit};
  if (klen) {
    if (key[0] & 1) r.gt = key, r.gt_len = klen;
    else r.gte = key, r.gte_len = klen;
    if (key[0] & 2) r.lt = key + klen / 2, r.lt_len = klen - klen / 2;
  }
  hc_bee_iter *it;
  if (hc_bee_iter_new(bee, &r, &it) != HC_OK) return;
  uint64_t n = 0;
  uint8_t *prev = NULL;
  size_t prev_len = 0;
  for (;;) {
    hc_bee_entry *e;
    if (hc_bee_iter_next(it, &e) != HC_OK) break;
    FUZZ_ASSERT(++n <= hc_bee_version(bee));
    if (prev && !reverse) {
      size_t m = prev_len < e->key_len ? prev_len : e->key_len;
      int c = m ? memcmp(prev, e->key, m) : 0;
      FUZZ_ASSERT(c < 0 || (c == 0 && prev_len < e->key_len));
    }
    free(prev);
    prev = malloc(e->key_len + 1);
    FUZZ_ASSERT(prev);
    memcpy(prev, e->key, e->key_len);
    prev_len = e->key_len;
    hc_bee_entry_free(e);
  }
  free(prev);
  hc_bee_iter_free(it);
}

static void reads(hc_bee *bee, const uint8_t *key, size_t klen) {
  hc_bee_entry *e;
  if (hc_bee_get(bee, key, klen, &e) == HC_OK) hc_bee_entry_free(e);
  if (hc_bee_get(bee, (const uint8_t *)"", 0, &e) == HC_OK) hc_bee_entry_free(e);
  if (hc_bee_peek(bee, NULL, &e) == HC_OK) hc_bee_entry_free(e);
  walk(bee, NULL, 0, false, 0);
  walk(bee, NULL, 0, true, 0);
  walk(bee, key, klen, klen & 1, klen % 5);
  hc_bee_iter *it;
  if (hc_bee_history_new(bee, 0, 0, klen & 1, 0, &it) == HC_OK) {
    while (hc_bee_iter_next(it, &e) == HC_OK) hc_bee_entry_free(e);
    hc_bee_iter_free(it);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p[NPARTS];
  size_t l[NPARTS];
  fuzz_split(data, size, NPARTS, p, l);
  for (size_t i = 1; i < NPARTS; i++) roundtrip_index(p[i], l[i]);

  hc_storage_factory *f;
  if (hc_storage_memory_factory_new(&f)) return 0;
  uint8_t seed[32] = {1};
  hc_core_opts o = {.version = HC_CORE_OPTS_VERSION, .seed = seed};
  hc_core *core;
  if (hc_core_open(&core, f, &o)) {
    hc_storage_factory_free(f);
    return 0;
  }
  uint8_t hdr[16];
  hc_buf blocks[NPARTS] = {{hdr, hc_bee_header_encode(hdr, NULL, 0, false, NULL, 0)}};
  size_t n = 1;
  for (size_t i = 1; i < NPARTS; i++)
    if (l[i] || i + 1 < NPARTS) blocks[n++] = (hc_buf){p[i], l[i]};
  if (hc_core_append(core, blocks, n, NULL, NULL) == HC_OK) {
    hc_bee *bee;
    hc_bee_opts bo = {.version = HC_BEE_OPTS_VERSION, .cache_nodes = 3};
    if (hc_bee_open(&bee, core, &bo) == HC_OK) {
      reads(bee, p[0], l[0]);
      hc_bee *c, *s;
      if (hc_bee_checkout(bee, 1 + (l[0] % n), &c) == HC_OK) {
        reads(c, p[0], l[0]);
        hc_bee_close(c);
      }
      if (hc_bee_sub(bee, p[0], l[0] / 2, NULL, 0, &s) == HC_OK) {
        reads(s, p[0] + l[0] / 2, l[0] - l[0] / 2);
        hc_bee_close(s);
      }
      /* the writer on top of whatever is there */
      uint64_t v;
      (void)hc_bee_put(bee, p[0], l[0], p[0], l[0], &v);
      (void)hc_bee_del(bee, (const uint8_t *)"", 0, &v);
      hc_bee_batch *b;
      if (hc_bee_batch_new(bee, &b) == HC_OK) {
        for (size_t i = 0; i < l[0] && i < 24; i++) {
          if (p[0][i] & 1) (void)hc_bee_batch_del(b, p[0] + i, l[0] - i);
          else (void)hc_bee_batch_put(b, p[0] + i, l[0] - i, NULL, 0);
        }
        (void)hc_bee_batch_flush(b, &v);
        hc_bee_batch_free(b);
      }
      reads(bee, p[0], l[0]);
      hc_bee_close(bee);
    }
  }
  hc_core_close(core);
  hc_storage_factory_free(f);
  return 0;
}
