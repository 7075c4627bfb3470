/* Fuzz target: the Noise XX handshake and secret-stream framing. The input is fed, split at
 * the bytes it chooses, to a responder (as if from an initiator) and to an initiator that has
 * sent message 1 (as if from a responder). Nothing may crash; a failed stream stays failed. */
#include "crypto.h"
#include "fuzz_util.h"
#include "secret_stream.h"

static void on_message(void *user, const uint8_t *d, size_t n) { (void)user, (void)d, (void)n; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t seed_i[32] = {0x11}, seed_r[32] = {0x22};
  uint8_t sk_i[64], sk_r[64], pk[32];
  hc_crypto_init();
  hc_crypto_seed_keypair(pk, sk_i, seed_i);
  hc_crypto_seed_keypair(pk, sk_r, seed_r);
  for (int initiator = 0; initiator < 2; initiator++) {
    hc_ss_opts o;
    memset(&o, 0, sizeof o);
    o.on_message = on_message;
    o.ephemeral_seed = initiator ? seed_i : seed_r;
    hc_ss *ss;
    if (hc_ss_new(&ss, initiator, NULL, initiator ? sk_i : sk_r, &o)) return 0;
    size_t off = 0;
    while (off < size) {
      size_t n = 1 + (data[off] % 97); /* chunk sizes chosen by the input */
      if (n > size - off) n = size - off;
      int rc = hc_ss_feed(ss, data + off, n);
      if (rc) FUZZ_ASSERT(hc_ss_feed(ss, data, 1) != HC_OK); /* failed stays failed */
      if (rc) break;
      off += n;
      const uint8_t *out;
      size_t ol;
      hc_ss_pending_out(ss, &out, &ol);
      hc_ss_consume_out(ss, ol);
    }
    hc_ss_free(ss);
  }
  return 0;
}
