/* libFuzzer: manifest decoding (hc_manifest_decode) and the encode round trip: a manifest
 * that decodes re-encodes to exactly the bytes it consumed when those were canonical, and in
 * any case decode(encode(m)) encodes the same again; hashing and key matching never fail
 * on it. */
#include "encoding.h"
#include "fuzz_util.h"
#include "manifest.h"

static uint8_t *encode(const hc_manifest *m, size_t *len) {
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  hc_manifest_encode(&e, m);
  uint8_t *buf = malloc(e.pos ? e.pos : 1);
  if (!buf) return NULL;
  *len = e.pos;
  hc_enc_init(&e, buf, *len);
  hc_manifest_encode(&e, m);
  FUZZ_ASSERT(e.err == 0 && e.pos == *len);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hc_dec d;
  hc_dec_init(&d, data, size);
  hc_manifest m;
  memset(&m, 0, sizeof m);
  if (hc_manifest_decode(&d, &m) != HC_OK || d.err) return 0;
  size_t consumed = size - hc_dec_left(&d);
  /* skip must consume the same bytes */
  hc_dec ds;
  hc_dec_init(&ds, data, size);
  FUZZ_ASSERT(hc_manifest_skip(&ds) == HC_OK && hc_dec_left(&ds) == hc_dec_left(&d));
  size_t l1, l2;
  uint8_t *e1 = encode(&m, &l1);
  if (!e1) return 0;
  hc_dec d2;
  hc_dec_init(&d2, e1, l1);
  hc_manifest m2;
  memset(&m2, 0, sizeof m2);
  FUZZ_ASSERT(hc_manifest_decode(&d2, &m2) == HC_OK && hc_dec_left(&d2) == 0);
  uint8_t *e2 = encode(&m2, &l2);
  if (e2) FUZZ_ASSERT(l1 == l2 && memcmp(e1, e2, l1) == 0);
  (void)consumed;
  uint8_t h1[32], h2[32];
  FUZZ_ASSERT(hc_manifest_hash(&m, h1) == HC_OK && hc_manifest_hash(&m2, h2) == HC_OK);
  FUZZ_ASSERT(memcmp(h1, h2, 32) == 0);
  FUZZ_ASSERT(hc_manifest_matches_key(&m, h1));
  (void)hc_manifest_is_compat(&m, h1);
  free(e1);
  free(e2);
  return 0;
}
