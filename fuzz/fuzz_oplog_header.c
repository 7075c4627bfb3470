/* libFuzzer: the oplog header decoder (hc_oplog_header_decode). A header that decodes must
 * re-encode to bytes that decode to the same encoding again (a fixed point). */
#include "encoding.h"
#include "fuzz_util.h"
#include "oplog.h"

static uint8_t *encode(const hc_oplog_header *h, size_t *len) {
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  hc_oplog_header_encode(&e, h);
  uint8_t *buf = malloc(e.pos ? e.pos : 1);
  if (!buf) return NULL;
  *len = e.pos;
  hc_enc_init(&e, buf, *len);
  hc_oplog_header_encode(&e, h);
  FUZZ_ASSERT(e.err == 0 && e.pos == *len);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hc_oplog_header h;
  if (hc_oplog_header_decode(data, size, &h) != HC_OK) return 0;
  size_t l1, l2;
  uint8_t *e1 = encode(&h, &l1);
  hc_oplog_header_cleanup(&h);
  if (!e1) return 0;
  hc_oplog_header h2;
  int rc = hc_oplog_header_decode(e1, l1, &h2);
  FUZZ_ASSERT(rc == HC_OK || rc == HC_ERR_NOMEM);
  if (rc == HC_OK) {
    uint8_t *e2 = encode(&h2, &l2);
    if (e2) FUZZ_ASSERT(l1 == l2 && memcmp(e1, e2, l1) == 0);
    free(e2);
    hc_oplog_header_cleanup(&h2);
  }
  free(e1);
  return 0;
}
