/* libFuzzer: the oplog entry decoder (hc_oplog_entry_decode); decode -> encode -> decode ->
 * encode reaches a fixed point. */
#include "encoding.h"
#include "fuzz_util.h"
#include "oplog.h"

static uint8_t *encode(const hc_oplog_entry *en, size_t *len) {
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  hc_oplog_entry_encode(&e, en);
  uint8_t *buf = malloc(e.pos ? e.pos : 1);
  if (!buf) return NULL;
  *len = e.pos;
  hc_enc_init(&e, buf, *len);
  hc_oplog_entry_encode(&e, en);
  FUZZ_ASSERT(e.err == 0 && e.pos == *len);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hc_oplog_entry en;
  hc_node *owned;
  if (hc_oplog_entry_decode(data, size, &en, &owned) != HC_OK) return 0;
  size_t l1, l2;
  uint8_t *e1 = encode(&en, &l1);
  free(owned);
  if (!e1) return 0;
  hc_oplog_entry en2;
  hc_node *owned2;
  int rc = hc_oplog_entry_decode(e1, l1, &en2, &owned2);
  FUZZ_ASSERT(rc == HC_OK || rc == HC_ERR_NOMEM);
  if (rc == HC_OK) {
    uint8_t *e2 = encode(&en2, &l2);
    if (e2) FUZZ_ASSERT(l1 == l2 && memcmp(e1, e2, l1) == 0);
    free(e2);
    free(owned2);
  }
  free(e1);
  return 0;
}
