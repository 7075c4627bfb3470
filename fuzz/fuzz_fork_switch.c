/* libFuzzer: switching to a remote's fork (hc__core_reorg_begin/update/apply, the search for
 * the first differing block with `hash` requests) against answers a lying peer tampered with.
 * A reader holds 64 blocks at fork 0; the writer (same key) truncates to `cut` and appends
 * `grow` other blocks. Input: cut, grow, then per `hash` answer one control byte: 0 = the
 * honest answer, 1 = a raw answer from the input (2-byte length + bytes), k > 1 = the honest
 * answer with k - 1 bytes XORed (2-byte position + value each). A failed answer ends the search;
 * the fork is then applied with the prefix proven so far (what the replicator does when a peer
 * cannot tell more), or dropped. Invariants: never a crash or leak; the prefix kept is never
 * longer than the really shared one (exactly it when every answer was honest); after applying,
 * the reader has the writer's length, fork and tree, verifies, and its kept blocks are the
 * writer's. */
#include "core_internal.h"
#include "fuzz_util.h"
#include "messages.h"

#define OLD_LEN 64

static void put_blocks(hc_core *c, const char *tag, int from, int n) {
  char buf[64][32];
  hc_buf b[64];
  for (int i = 0; i < n; i++) {
    int len = snprintf(buf[i], sizeof buf[i], "%s block %d", tag, from + i);
    b[i].data = (const uint8_t *)buf[i];
    b[i].len = (size_t)len;
  }
  FUZZ_ASSERT(hc_core_append(c, b, (size_t)n, NULL, NULL) == HC_OK);
}

static hc_core *open_seeded(hc_storage_factory **f) {
  static const uint8_t seed[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                   7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = seed;
  hc_core *c = NULL;
  FUZZ_ASSERT(hc_storage_memory_factory_new(f) == HC_OK);
  FUZZ_ASSERT(hc_core_open(&c, *f, &o) == HC_OK);
  return c;
}

/* The writer's proof for `rq`, decoded (p->owned and *raw to free). */
static int proof_of(hc_core *w, const hc_proof_request *rq, uint8_t **raw, size_t *rl) {
  return hc_core_proof(w, rq, 1, raw, rl);
}

static bool same_block(hc_core *a, hc_core *b, uint64_t i) {
  uint8_t *x = NULL, *y = NULL;
  size_t xl, yl;
  bool same = hc_core_get_alloc(a, i, &x, &xl) == HC_OK && hc_core_get_alloc(b, i, &y, &yl) == HC_OK &&
              xl == yl && memcmp(x, y, xl) == 0;
  hc_free(x);
  hc_free(y);
  return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  uint64_t cut = data[0] % (OLD_LEN + 1), grow = data[1] % 40;
  bool apply_partial = data[2] & 1;
  data += 3;
  size -= 3;
  if (cut + grow == 0) return 0;
  hc_storage_factory *fr, *fw;
  hc_core *r = open_seeded(&fr), *w = open_seeded(&fw);
  put_blocks(r, "old", 0, OLD_LEN);
  put_blocks(w, "old", 0, OLD_LEN);
  FUZZ_ASSERT(hc_core_truncate(w, cut) == HC_OK);
  if (grow) put_blocks(w, "new", (int)cut, (int)grow);
  uint64_t shared = cut; /* "new" blocks differ from the "old" ones at the same index */

  hc_proof_request up;
  memset(&up, 0, sizeof up);
  up.has_upgrade = true;
  up.upgrade_length = hc_core_length(w);
  uint8_t *raw;
  size_t rl;
  FUZZ_ASSERT(proof_of(w, &up, &raw, &rl) == HC_OK);
  hc_proof fp;
  memset(&fp, 0, sizeof fp);
  FUZZ_ASSERT(hc_msg_data_decode(raw, rl, &fp) == HC_OK);
  hc_reorg g;
  FUZZ_ASSERT(hc__core_reorg_begin(r, &fp, &g) == HC_OK); /* honest and signed */
  hc_proof_cleanup(&fp);
  hc_free(raw);

  bool honest = true, failed = false;
  for (int round = 0; round < 80 && !g.finished && !failed; round++) {
    uint8_t ctl = 0;
    if (size) {
      ctl = data[0];
      data++;
      size--;
    }
    uint8_t *ans = NULL, *own = NULL;
    size_t al = 0;
    if (ctl == 1) {
      size_t n = 0;
      if (size >= 2) {
        n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
      }
      if (n > size) n = size;
      ans = (uint8_t *)data; /* read only */
      al = n;
      data += n;
      size -= n;
      honest = false;
    } else {
      hc_proof_request hq;
      memset(&hq, 0, sizeof hq);
      hq.has_hash = true;
      hq.hash_index = 2 * g.want_start;
      hq.hash_nodes = g.want_nodes;
      FUZZ_ASSERT(proof_of(w, &hq, &own, &al) == HC_OK);
      ans = own;
      for (int k = 1; k < ctl && size >= 3; k++) {
        size_t pos = ((size_t)data[0] | (size_t)data[1] << 8) % (al ? al : 1);
        if (al && data[2]) {
          own[pos] ^= data[2];
          honest = false;
        }
        data += 3;
        size -= 3;
      }
    }
    hc_proof hp;
    memset(&hp, 0, sizeof hp);
    int rc = hc_msg_data_decode(ans, al, &hp);
    if (rc == HC_OK) {
      hp.fork = g.batch.fork; /* the replicator only passes answers for the fork it asked */
      rc = hc__core_reorg_update(r, &g, &hp);
    }
    hc_proof_cleanup(&hp);
    hc_free(own);
    if (rc) {
      FUZZ_ASSERT(!honest); /* an honest answer always verifies and moves the search */
      failed = true;
    }
  }
  FUZZ_ASSERT(g.ancestors <= shared); /* no lie makes us keep a block that differs */
  if (honest) FUZZ_ASSERT(g.finished && g.ancestors == shared);

  if (!failed || apply_partial) {
    uint64_t anc;
    FUZZ_ASSERT(hc__core_reorg_apply(r, &g, &anc) == HC_OK);
    FUZZ_ASSERT(anc <= shared);
    FUZZ_ASSERT(hc_core_length(r) == hc_core_length(w) && hc_core_fork(r) == hc_core_fork(w));
    uint8_t th1[32], th2[32];
    FUZZ_ASSERT(hc_core_tree_hash(r, hc_core_length(r), th1) == HC_OK);
    FUZZ_ASSERT(hc_core_tree_hash(w, hc_core_length(w), th2) == HC_OK);
    FUZZ_ASSERT(memcmp(th1, th2, 32) == 0);
    FUZZ_ASSERT(hc_core_verify(r, NULL) == HC_OK);
    for (uint64_t i = 0; i < anc; i++) FUZZ_ASSERT(same_block(r, w, i));
    for (uint64_t i = anc; i < hc_core_length(r); i++) FUZZ_ASSERT(!hc_core_has(r, i, i + 1));
  }
  hc__core_reorg_cleanup(&g);
  hc_core_close(r);
  hc_core_close(w);
  hc_storage_factory_free(fr);
  hc_storage_factory_free(fw);
  return 0;
}
