/* libFuzzer: a whole oplog file through hc_oplog_open on memory storage (header slots, frame
 * CRCs, partial batches, trimming). When a header is recovered, flushing it and reopening
 * must give the same header and no entries. */
#include "encoding.h"
#include "fuzz_util.h"
#include "oplog.h"

static int count_cb(void *ctx, const hc_oplog_entry *e) {
  (void)e;
  (*(size_t *)ctx)++;
  return HC_OK;
}

static uint8_t *encode(const hc_oplog_header *h, size_t *len) {
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  hc_oplog_header_encode(&e, h);
  uint8_t *buf = malloc(e.pos ? e.pos : 1);
  if (!buf) return NULL;
  *len = e.pos;
  hc_enc_init(&e, buf, *len);
  hc_oplog_header_encode(&e, h);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *names[1] = {"oplog"};
  const uint8_t *p[1] = {data};
  size_t l[1] = {size};
  hc_storage_factory *mem = fuzz_memory(names, p, l, 1);
  if (!mem) return 0;
  hc_storage *st;
  if (mem->open(mem, "oplog", 0, &st) != HC_OK) {
    hc_storage_factory_free(mem);
    return 0;
  }
  for (int readonly = 1; readonly >= 0; readonly--) {
    hc_oplog op;
    hc_oplog_header h;
    bool has = false;
    size_t n = 0;
    int rc = hc_oplog_open(&op, st, readonly, &h, &has, count_cb, &n);
    if (rc != HC_OK) {
      FUZZ_ASSERT(!has);
      continue;
    }
    FUZZ_ASSERT(n == op.length);
    if (!has) continue;
    if (!readonly) {
      uint64_t sz;
      FUZZ_ASSERT(hc_storage_stat(st, &sz, NULL) == HC_OK);
      FUZZ_ASSERT(sz == HC_OPLOG_ENTRY_OFFSET + op.byte_length || op.byte_length == 0);
      if (!h.external && hc_oplog_flush(&op, &h) == HC_OK) {
        hc_oplog op2;
        hc_oplog_header h2;
        bool has2 = false;
        size_t n2 = 0;
        FUZZ_ASSERT(hc_oplog_open(&op2, st, false, &h2, &has2, count_cb, &n2) == HC_OK);
        FUZZ_ASSERT(has2 && n2 == 0);
        size_t a, b;
        uint8_t *ea = encode(&h, &a), *eb = encode(&h2, &b);
        if (ea && eb) FUZZ_ASSERT(a == b && memcmp(ea, eb, a) == 0);
        free(ea);
        free(eb);
        hc_oplog_header_cleanup(&h2);
      }
    }
    hc_oplog_header_cleanup(&h);
  }
  hc_storage_close(st);
  hc_storage_factory_free(mem);
  return 0;
}
