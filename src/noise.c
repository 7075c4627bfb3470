/* Noise XX (Ed25519, ChaChaPoly, BLAKE2b) as noise-handshake 4.2.0 + noise-curve-ed 2.1.0. */
#include "noise.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

#define BLOCKLEN 128

void hc_noise_hmac(uint8_t out[HC_NOISE_HASHLEN], const uint8_t *key, size_t keylen,
                   const hc_buf *parts, size_t n) {
  uint8_t k[BLOCKLEN], ipad[BLOCKLEN], opad[BLOCKLEN], inner[HC_NOISE_HASHLEN];
  memset(k, 0, sizeof k);
  if (keylen > BLOCKLEN) hc_crypto_blake2b(k, HC_NOISE_HASHLEN, key, keylen, NULL, 0);
  else if (keylen) memcpy(k, key, keylen);
  for (size_t i = 0; i < BLOCKLEN; i++) {
    ipad[i] = (uint8_t)(k[i] ^ 0x36);
    opad[i] = (uint8_t)(k[i] ^ 0x5c);
  }
  /* inner = H(ipad || parts...) */
  hc_buf in[8];
  size_t m = 0;
  in[m++] = (hc_buf){ipad, BLOCKLEN};
  for (size_t i = 0; i < n && m < 8; i++) in[m++] = parts[i];
  hc_crypto_blake2b_parts(inner, HC_NOISE_HASHLEN, in, m, NULL, 0);
  hc_buf outer[2] = {{opad, BLOCKLEN}, {inner, HC_NOISE_HASHLEN}};
  hc_crypto_blake2b_parts(out, HC_NOISE_HASHLEN, outer, 2, NULL, 0);
  hc_crypto_wipe(k, sizeof k);
  hc_crypto_wipe(ipad, sizeof ipad);
  hc_crypto_wipe(opad, sizeof opad);
  hc_crypto_wipe(inner, sizeof inner);
}

void hc_noise_hkdf(uint8_t out1[HC_NOISE_HASHLEN], uint8_t out2[HC_NOISE_HASHLEN],
                   const uint8_t ck[HC_NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen) {
  uint8_t prk[HC_NOISE_HASHLEN];
  static const uint8_t one = 1, two = 2;
  hc_buf p_ikm = {ikm, ikmlen};
  hc_noise_hmac(prk, ck, HC_NOISE_HASHLEN, &p_ikm, 1);
  hc_buf p1 = {&one, 1};
  hc_noise_hmac(out1, prk, HC_NOISE_HASHLEN, &p1, 1);
  hc_buf p2[2] = {{out1, HC_NOISE_HASHLEN}, {&two, 1}};
  hc_noise_hmac(out2, prk, HC_NOISE_HASHLEN, p2, 2);
  hc_crypto_wipe(prk, sizeof prk);
}

int hc_noise_dh(uint8_t out[HC_NOISE_DHLEN], const uint8_t sk[HC_NOISE_SKLEN],
                const uint8_t remote_pk[HC_NOISE_PKLEN]) {
  uint8_t d[64]; /* SHA-512 */
  hc_crypto_sha512(d, sk, HC_SEED_BYTES);
  d[0] &= 248;
  d[31] &= 127;
  d[31] |= 64;
  int rc = hc_crypto_scalarmult_ed25519_noclamp(out, d, remote_pk);
  hc_crypto_wipe(d, sizeof d);
  return rc == HC_OK ? HC_OK : HC_ERR_HANDSHAKE;
}

/* ---- symmetric state ---- */

static void mix_hash(hc_noise *ns, const uint8_t *data, size_t len) {
  hc_buf parts[2] = {{ns->h, HC_NOISE_HASHLEN}, {data, len}};
  uint8_t nh[HC_NOISE_HASHLEN];
  hc_crypto_blake2b_parts(nh, HC_NOISE_HASHLEN, parts, 2, NULL, 0);
  memcpy(ns->h, nh, HC_NOISE_HASHLEN);
}

static int mix_key(hc_noise *ns, const uint8_t *local_sk, const uint8_t *remote_pk) {
  uint8_t dh[HC_NOISE_DHLEN], ck[HC_NOISE_HASHLEN], t[HC_NOISE_HASHLEN];
  int rc = hc_noise_dh(dh, local_sk, remote_pk);
  if (rc) return rc;
  hc_noise_hkdf(ck, t, ns->ck, dh, HC_NOISE_DHLEN);
  memcpy(ns->ck, ck, HC_NOISE_HASHLEN);
  memcpy(ns->k, t, HC_NOISE_KEYLEN);
  ns->has_key = 1;
  ns->n = 0;
  hc_crypto_wipe(dh, sizeof dh);
  hc_crypto_wipe(ck, sizeof ck);
  hc_crypto_wipe(t, sizeof t);
  return HC_OK;
}

static void nonce12(uint8_t nonce[12], uint64_t n) {
  memset(nonce, 0, 12);
  nonce[4] = (uint8_t)n;
  nonce[5] = (uint8_t)(n >> 8);
  nonce[6] = (uint8_t)(n >> 16);
  nonce[7] = (uint8_t)(n >> 24);
}

/* out has len (+16 with a key) bytes */
static void encrypt_and_hash(hc_noise *ns, uint8_t *out, const uint8_t *pt, size_t len) {
  size_t clen = len;
  if (ns->has_key) {
    uint8_t nonce[12];
    nonce12(nonce, ns->n);
    hc_crypto_aead_chacha20poly1305_ietf_encrypt(out, pt, len, ns->h, HC_NOISE_HASHLEN, nonce,
                                                 ns->k);
    ns->n++;
    clen += HC_NOISE_MACLEN;
  } else if (len) {
    memmove(out, pt, len);
  }
  mix_hash(ns, out, clen);
}

/* pt has clen (-16 with a key) bytes; pt may be NULL when that is 0. */
static int decrypt_and_hash(hc_noise *ns, uint8_t *pt, const uint8_t *ct, size_t clen) {
  if (ns->has_key) {
    uint8_t nonce[12];
    if (clen < HC_NOISE_MACLEN) return HC_ERR_HANDSHAKE;
    uint8_t dummy[1];
    nonce12(nonce, ns->n);
    int rc = hc_crypto_aead_chacha20poly1305_ietf_decrypt(pt ? pt : dummy, ct, clen, ns->h,
                                                          HC_NOISE_HASHLEN, nonce, ns->k);
    if (rc) return HC_ERR_HANDSHAKE;
    ns->n++;
  } else if (clen && pt) {
    memmove(pt, ct, clen);
  }
  mix_hash(ns, ct, clen);
  return HC_OK;
}

static void split(hc_noise *ns) {
  uint8_t k1[HC_NOISE_HASHLEN], k2[HC_NOISE_HASHLEN];
  hc_noise_hkdf(k1, k2, ns->ck, NULL, 0);
  memcpy(ns->initiator ? ns->tx : ns->rx, k1, HC_NOISE_KEYLEN);
  memcpy(ns->initiator ? ns->rx : ns->tx, k2, HC_NOISE_KEYLEN);
  memcpy(ns->hash, ns->h, HC_NOISE_HASHLEN);
  ns->complete = 1;
  hc_crypto_wipe(k1, sizeof k1);
  hc_crypto_wipe(k2, sizeof k2);
  /* like noise-handshake's _clear: drop the ephemeral secret and the cipher key (ck is kept
   * for inspection; hc_noise_clear wipes everything) */
  hc_crypto_wipe(ns->e_sk, sizeof ns->e_sk);
  hc_crypto_wipe(ns->k, sizeof ns->k);
  ns->has_key = 0;
}

int hc_noise_init(hc_noise *ns, int initiator, const uint8_t *s_pk,
                  const uint8_t s_sk[HC_NOISE_SKLEN], const uint8_t *e_seed) {
  if (!ns || !s_sk) return HC_ERR_INVALID_ARG;
  memset(ns, 0, sizeof *ns);
  ns->initiator = initiator ? 1 : 0;
  memcpy(ns->s_sk, s_sk, HC_NOISE_SKLEN);
  if (s_pk) memcpy(ns->s_pk, s_pk, HC_NOISE_PKLEN);
  else hc_crypto_sk_to_pk(ns->s_pk, s_sk);
  if (e_seed) hc_crypto_seed_keypair(ns->e_pk, ns->e_sk, e_seed);
  else hc_crypto_keypair(ns->e_pk, ns->e_sk);

  static const char name[] = HC_NOISE_PROTOCOL_NAME; /* 35 bytes <= HASHLEN: zero-padded */
  memcpy(ns->h, name, sizeof name - 1);
  memcpy(ns->ck, ns->h, HC_NOISE_HASHLEN);
  mix_hash(ns, NULL, 0); /* empty prologue */
  return HC_OK;
}

int hc_noise_wants_write(const hc_noise *ns) {
  if (ns->failed || ns->complete) return 0;
  /* initiator writes at steps 0 and 2, responder at step 1 */
  return ns->initiator ? (ns->step == 0 || ns->step == 2) : ns->step == 1;
}

static int fail(hc_noise *ns) {
  ns->failed = 1;
  hc_crypto_wipe(ns->e_sk, sizeof ns->e_sk);
  hc_crypto_wipe(ns->s_sk, sizeof ns->s_sk);
  hc_crypto_wipe(ns->k, sizeof ns->k);
  return HC_ERR_HANDSHAKE;
}

int hc_noise_write_message(hc_noise *ns, const uint8_t *payload, size_t plen, uint8_t *out,
                           size_t cap, size_t *outlen) {
  if (!ns || !outlen || (plen && !payload)) return HC_ERR_INVALID_ARG;
  if (ns->failed) return HC_ERR_HANDSHAKE;
  if (!hc_noise_wants_write(ns)) return HC_ERR_BUSY;
  if (plen > 65535 - HC_NOISE_MACLEN) return HC_ERR_INVALID_ARG;
  size_t need;
  switch (ns->step) {
    case 0: need = HC_NOISE_PKLEN + plen; break;                        /* e */
    case 1: need = HC_NOISE_PKLEN + 48 + plen + HC_NOISE_MACLEN; break; /* e, ee, s, es */
    default: need = 48 + plen + HC_NOISE_MACLEN; break;                 /* s, se */
  }
  if (!out || cap < need) {
    *outlen = need;
    return HC_ERR_NOBUF;
  }
  size_t o = 0;
  int rc;
  if (ns->step == 0) {
    memcpy(out, ns->e_pk, HC_NOISE_PKLEN);
    mix_hash(ns, ns->e_pk, HC_NOISE_PKLEN);
    o = HC_NOISE_PKLEN;
  } else if (ns->step == 1) {
    memcpy(out, ns->e_pk, HC_NOISE_PKLEN);
    mix_hash(ns, ns->e_pk, HC_NOISE_PKLEN);
    o = HC_NOISE_PKLEN;
    if ((rc = mix_key(ns, ns->e_sk, ns->re))) return fail(ns); /* ee */
    encrypt_and_hash(ns, out + o, ns->s_pk, HC_NOISE_PKLEN);   /* s */
    o += 48;
    if ((rc = mix_key(ns, ns->s_sk, ns->re))) return fail(ns); /* es (responder: s, re) */
  } else {
    encrypt_and_hash(ns, out, ns->s_pk, HC_NOISE_PKLEN); /* s */
    o = 48;
    if ((rc = mix_key(ns, ns->s_sk, ns->re))) return fail(ns); /* se (initiator: s, re) */
  }
  encrypt_and_hash(ns, out + o, payload, plen);
  o += plen + (ns->has_key ? HC_NOISE_MACLEN : 0);
  *outlen = o;
  ns->step++;
  if (ns->step == 3) split(ns);
  return HC_OK;
}

int hc_noise_read_message(hc_noise *ns, const uint8_t *msg, size_t len) {
  if (!ns || (len && !msg)) return HC_ERR_INVALID_ARG;
  if (ns->failed) return HC_ERR_HANDSHAKE;
  if (ns->complete || hc_noise_wants_write(ns)) return HC_ERR_BUSY;
  if (len > HC_NOISE_MAX_MESSAGE) return fail(ns);
  size_t o = 0;
  if (ns->step == 0) { /* responder reads e */
    if (len < HC_NOISE_PKLEN) return fail(ns);
    memcpy(ns->re, msg, HC_NOISE_PKLEN);
    mix_hash(ns, ns->re, HC_NOISE_PKLEN);
    o = HC_NOISE_PKLEN;
  } else if (ns->step == 1) { /* initiator reads e, ee, s, es */
    if (len < HC_NOISE_PKLEN + 48 + HC_NOISE_MACLEN) return fail(ns);
    memcpy(ns->re, msg, HC_NOISE_PKLEN);
    mix_hash(ns, ns->re, HC_NOISE_PKLEN);
    o = HC_NOISE_PKLEN;
    if (mix_key(ns, ns->e_sk, ns->re)) return fail(ns); /* ee */
    if (decrypt_and_hash(ns, ns->rs, msg + o, 48)) return fail(ns);
    o += 48;
    if (mix_key(ns, ns->e_sk, ns->rs)) return fail(ns); /* es (initiator: e, rs) */
  } else { /* responder reads s, se */
    if (len < 48 + HC_NOISE_MACLEN) return fail(ns);
    if (decrypt_and_hash(ns, ns->rs, msg, 48)) return fail(ns);
    o = 48;
    if (mix_key(ns, ns->e_sk, ns->rs)) return fail(ns); /* se (responder: e, rs) */
  }
  /* payload: authenticated and dropped */
  size_t clen = len - o;
  size_t plen = ns->has_key ? clen - HC_NOISE_MACLEN : clen;
  if (ns->has_key && clen > 65535) return fail(ns);
  uint8_t *pt = NULL;
  if (plen) {
    pt = malloc(plen);
    if (!pt) return HC_ERR_NOMEM;
  }
  int rc = decrypt_and_hash(ns, pt, msg + o, clen);
  free(pt);
  if (rc) return fail(ns);
  ns->step++;
  if (ns->step == 3) split(ns);
  return HC_OK;
}

void hc_noise_clear(hc_noise *ns) {
  if (ns) hc_crypto_wipe(ns, sizeof *ns);
}
