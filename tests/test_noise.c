/* Noise XX (Ed25519, ChaChaPoly, BLAKE2b) against the deterministic capture in
 * ../shared/vectors/wire/wire-vectors.json (known answers in ss_vectors.h), plus random
 * handshakes and tampering. */
#include "crypto.h"
#include "noise.h"
#include "ss_vectors.h"
#include "test_util.h"

static void unhex(uint8_t *out, size_t n, const char *hex) {
  CHECK_EQ(strlen(hex), 2 * n);
  CHECK_OK(hc_hex_decode(out, n, hex));
}

static void kp_from_seed(uint8_t pk[32], uint8_t sk[64], const char *seed_hex) {
  uint8_t seed[32];
  unhex(seed, 32, seed_hex);
  hc_crypto_seed_keypair(pk, sk, seed);
}

static void test_primitives(void) {
  /* HMAC-BLAKE2b: key > 128 is hashed first; compare with an explicit construction */
  uint8_t key[200], msg[10], out[64], out2[64];
  for (int i = 0; i < 200; i++) key[i] = (uint8_t)i;
  memset(msg, 7, sizeof msg);
  hc_buf p = {msg, sizeof msg};
  hc_noise_hmac(out, key, 200, &p, 1);
  uint8_t hk[64];
  hc_crypto_blake2b(hk, 64, key, 200, NULL, 0);
  hc_noise_hmac(out2, hk, 64, &p, 1);
  CHECK_MEM(out, out2, 64);
  /* split parts give the same result as one part */
  hc_buf p2[2] = {{msg, 3}, {msg + 3, 7}};
  hc_noise_hmac(out2, key, 200, p2, 2);
  CHECK_MEM(out, out2, 64);

  /* DH vectors and symmetry */
  uint8_t ipk[32], isk[64], rpk[32], rsk[64], iepk[32], iesk[64], repk[32], resk[64], dh[32];
  kp_from_seed(ipk, isk, SV_I_STATIC_SEED);
  kp_from_seed(rpk, rsk, SV_R_STATIC_SEED);
  kp_from_seed(iepk, iesk, SV_I_EPH_SEED);
  kp_from_seed(repk, resk, SV_R_EPH_SEED);
  CHECK_HEX(ipk, SV_I_STATIC_PK);
  CHECK_HEX(isk, SV_I_STATIC_SK);
  CHECK_HEX(rpk, SV_R_STATIC_PK);
  CHECK_HEX(iepk, SV_I_EPH_PK);
  CHECK_HEX(repk, SV_R_EPH_PK);
  CHECK_OK(hc_noise_dh(dh, resk, iepk));
  CHECK_HEX(dh, SV_DH_EE);
  CHECK_OK(hc_noise_dh(dh, iesk, repk));
  CHECK_HEX(dh, SV_DH_EE);
  CHECK_OK(hc_noise_dh(dh, rsk, iepk));
  CHECK_HEX(dh, SV_DH_ES);
  CHECK_OK(hc_noise_dh(dh, iesk, rpk));
  CHECK_HEX(dh, SV_DH_ES);
  CHECK_OK(hc_noise_dh(dh, isk, repk));
  CHECK_HEX(dh, SV_DH_SE);
  CHECK_OK(hc_noise_dh(dh, resk, ipk));
  CHECK_HEX(dh, SV_DH_SE);
  /* small-order / invalid points are refused */
  uint8_t zero[32] = {0}, ident[32] = {1};
  CHECK_RC(hc_noise_dh(dh, isk, zero), HC_ERR_HANDSHAKE);
  CHECK_RC(hc_noise_dh(dh, isk, ident), HC_ERR_HANDSHAKE);
}

static void test_vectors(void) {
  uint8_t ipk[32], isk[64], rpk[32], rsk[64], iseed[32], rseed[32];
  kp_from_seed(ipk, isk, SV_I_STATIC_SEED);
  kp_from_seed(rpk, rsk, SV_R_STATIC_SEED);
  unhex(iseed, 32, SV_I_EPH_SEED);
  unhex(rseed, 32, SV_R_EPH_SEED);

  hc_noise ini, res;
  CHECK_OK(hc_noise_init(&ini, 1, ipk, isk, iseed));
  CHECK_OK(hc_noise_init(&res, 0, NULL, rsk, rseed)); /* pk derived from sk */
  CHECK_MEM(res.s_pk, rpk, 32);
  CHECK_HEX(ini.h, SV_H_INITIAL);
  CHECK_HEX(ini.ck, SV_CK_INITIAL);
  CHECK_MEM(ini.ck, SV_PROTOCOL_NAME, strlen(SV_PROTOCOL_NAME));

  uint8_t msg[256];
  size_t n = 0;
  CHECK(hc_noise_wants_write(&ini));
  CHECK(!hc_noise_wants_write(&res));
  CHECK_RC(hc_noise_write_message(&res, NULL, 0, msg, sizeof msg, &n), HC_ERR_BUSY);
  CHECK_RC(hc_noise_read_message(&ini, msg, 32), HC_ERR_BUSY);
  /* too small buffer: reports the size, state unchanged */
  CHECK_RC(hc_noise_write_message(&ini, NULL, 0, msg, 10, &n), HC_ERR_NOBUF);
  CHECK_EQ(n, 32);
  CHECK_HEX(ini.h, SV_H_INITIAL);

  /* msg1 */
  CHECK_OK(hc_noise_write_message(&ini, NULL, 0, msg, sizeof msg, &n));
  CHECK_EQ(n, 32);
  CHECK_HEX(msg, SV_MSG1);
  CHECK_HEX(ini.h, SV_MSG1_H);
  CHECK_HEX(ini.ck, SV_MSG1_CK);
  CHECK_OK(hc_noise_read_message(&res, msg, n));
  CHECK_HEX(res.h, SV_MSG1_H);
  CHECK_HEX(res.ck, SV_MSG1_CK);

  /* msg2 */
  CHECK_OK(hc_noise_write_message(&res, NULL, 0, msg, sizeof msg, &n));
  CHECK_EQ(n, 96);
  CHECK_HEX(msg, SV_MSG2);
  CHECK_HEX(res.h, SV_MSG2_H);
  CHECK_HEX(res.ck, SV_MSG2_CK);
  CHECK_OK(hc_noise_read_message(&ini, msg, n));
  CHECK_HEX(ini.h, SV_MSG2_H);
  CHECK_HEX(ini.ck, SV_MSG2_CK);
  CHECK_MEM(ini.rs, rpk, 32);
  CHECK(!ini.complete);

  /* msg3 */
  CHECK_OK(hc_noise_write_message(&ini, NULL, 0, msg, sizeof msg, &n));
  CHECK_EQ(n, 64);
  CHECK_HEX(msg, SV_MSG3);
  CHECK(ini.complete);
  CHECK_HEX(ini.h, SV_MSG3_H);
  CHECK_HEX(ini.ck, SV_MSG3_CK);
  CHECK_OK(hc_noise_read_message(&res, msg, n));
  CHECK(res.complete);
  CHECK_MEM(res.rs, ipk, 32);

  CHECK_HEX(ini.hash, SV_HANDSHAKE_HASH);
  CHECK_HEX(res.hash, SV_HANDSHAKE_HASH);
  CHECK_HEX(ini.ck, SV_FINAL_CK);
  CHECK_HEX(ini.tx, SV_I_TX);
  CHECK_HEX(ini.rx, SV_I_RX);
  CHECK_HEX(res.tx, SV_R_TX);
  CHECK_HEX(res.rx, SV_R_RX);

  /* nothing more to do once complete */
  CHECK(!hc_noise_wants_write(&ini));
  CHECK_RC(hc_noise_write_message(&ini, NULL, 0, msg, sizeof msg, &n), HC_ERR_BUSY);
  CHECK_RC(hc_noise_read_message(&res, msg, 64), HC_ERR_BUSY);
  hc_noise_clear(&ini);
  hc_noise_clear(&res);
}

/* Runs a random handshake; tamper_msg (1..3) flips one bit at byte tamper_at of that message. */
static int run_handshake(int tamper_msg, size_t tamper_at, int truncate, hc_noise *ini,
                         hc_noise *res) {
  uint8_t ipk[32], isk[64], rpk[32], rsk[64];
  hc_crypto_keypair(ipk, isk);
  hc_crypto_keypair(rpk, rsk);
  CHECK_OK(hc_noise_init(ini, 1, ipk, isk, NULL));
  CHECK_OK(hc_noise_init(res, 0, rpk, rsk, NULL));
  uint8_t msg[256];
  size_t n;
  hc_noise *order[3][2] = {{ini, res}, {res, ini}, {ini, res}};
  for (int i = 0; i < 3; i++) {
    int wrc = hc_noise_write_message(order[i][0], NULL, 0, msg, sizeof msg, &n);
    if (wrc) return wrc;
    if (tamper_msg == i + 1) {
      if (truncate) n = tamper_at;
      else msg[tamper_at % n] ^= 0x10;
    }
    int rc = hc_noise_read_message(order[i][1], msg, n);
    if (rc) return rc;
  }
  CHECK(ini->complete && res->complete);
  CHECK_MEM(ini->hash, res->hash, 64);
  CHECK_MEM(ini->tx, res->rx, 32);
  CHECK_MEM(ini->rx, res->tx, 32);
  CHECK_MEM(ini->rs, rpk, 32);
  CHECK_MEM(res->rs, ipk, 32);
  return HC_OK;
}

static void test_random_and_tamper(void) {
  hc_noise a, b;
  for (int i = 0; i < 5; i++) CHECK_OK(run_handshake(0, 0, 0, &a, &b));

  /* msg1 is unauthenticated: a flipped ephemeral key (if still a valid point) only makes the
   * later MACs fail; so msg1 tampering must make the handshake fail at msg2 or msg3 at the
   * latest, never "succeed" with different keys on both sides. */
  for (size_t at = 0; at < 32; at += 7) {
    int rc = run_handshake(1, at, 0, &a, &b);
    CHECK(rc == HC_ERR_HANDSHAKE);
  }
  /* tampered bytes anywhere in msg2 / msg3 fail */
  for (size_t at = 0; at < 96; at += 5) {
    CHECK_RC(run_handshake(2, at, 0, &a, &b), HC_ERR_HANDSHAKE);
    CHECK(a.failed);
    /* failed state is sticky */
    uint8_t m[128];
    size_t n;
    CHECK_RC(hc_noise_write_message(&a, NULL, 0, m, sizeof m, &n), HC_ERR_HANDSHAKE);
  }
  for (size_t at = 0; at < 64; at += 5) {
    CHECK_RC(run_handshake(3, at, 0, &a, &b), HC_ERR_HANDSHAKE);
    CHECK(b.failed);
  }
  /* truncated messages fail */
  CHECK_RC(run_handshake(1, 31, 1, &a, &b), HC_ERR_HANDSHAKE);
  CHECK_RC(run_handshake(1, 0, 1, &a, &b), HC_ERR_HANDSHAKE);
  CHECK_RC(run_handshake(2, 95, 1, &a, &b), HC_ERR_HANDSHAKE);
  CHECK_RC(run_handshake(2, 40, 1, &a, &b), HC_ERR_HANDSHAKE);
  CHECK_RC(run_handshake(3, 63, 1, &a, &b), HC_ERR_HANDSHAKE);
  CHECK_RC(run_handshake(3, 10, 1, &a, &b), HC_ERR_HANDSHAKE);

  /* an all-zero ephemeral key in msg1 (small order) fails on the responder's DH */
  uint8_t pk[32], sk[64], z[32] = {0}, m[128];
  size_t n;
  hc_crypto_keypair(pk, sk);
  CHECK_OK(hc_noise_init(&b, 0, pk, sk, NULL));
  CHECK_OK(hc_noise_read_message(&b, z, 32));
  CHECK_RC(hc_noise_write_message(&b, NULL, 0, m, sizeof m, &n), HC_ERR_HANDSHAKE);

  /* payloads: msg1 carries plaintext bytes (accepted, like noise-handshake), msg2/msg3
   * payloads are encrypted and authenticated */
  uint8_t ipk[32], isk[64];
  hc_crypto_keypair(ipk, isk);
  CHECK_OK(hc_noise_init(&a, 1, ipk, isk, NULL));
  CHECK_OK(hc_noise_init(&b, 0, pk, sk, NULL));
  const uint8_t pl[5] = {1, 2, 3, 4, 5};
  CHECK_OK(hc_noise_write_message(&a, pl, 5, m, sizeof m, &n));
  CHECK_EQ(n, 37);
  CHECK_OK(hc_noise_read_message(&b, m, n));
  CHECK_OK(hc_noise_write_message(&b, pl, 5, m, sizeof m, &n));
  CHECK_EQ(n, 96 + 5);
  CHECK_OK(hc_noise_read_message(&a, m, n));
  CHECK_OK(hc_noise_write_message(&a, pl, 5, m, sizeof m, &n));
  CHECK_EQ(n, 64 + 5);
  m[n - 1] ^= 1;
  CHECK_RC(hc_noise_read_message(&b, m, n), HC_ERR_HANDSHAKE);
}

int main(void) {
  CHECK_OK(hc_crypto_init());
  test_primitives();
  test_vectors();
  test_random_and_tamper();
  printf("test_noise: ok\n");
  return 0;
}
