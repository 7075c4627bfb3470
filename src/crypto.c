/* Hashing and signing with libsodium, exactly as hypercore-crypto 3.x does. */
#include "crypto.h"

#include <sodium.h>
#include <string.h>

#include "encoding.h"

/* Derived from namespace('hypercore', 6) and namespace('hyperswarm/secret-stream', 3); the
 * unit tests recompute them with hc_crypto_namespace. */
#define B(...) {__VA_ARGS__}
const uint8_t HC_NS_TREE[HC_HASH_BYTES] = B(
    0x9f, 0xac, 0x70, 0xb5, 0x0c, 0xa1, 0x4e, 0xfc, 0x4e, 0x91, 0xc8, 0x33, 0xb2, 0x04, 0xe7, 0x5b,
    0x8b, 0x5a, 0xad, 0x8b, 0x58, 0x81, 0xbf, 0xc0, 0xad, 0xb5, 0xef, 0x38, 0xa3, 0x27, 0x5b, 0x9c);
const uint8_t HC_NS_REPLICATE_INITIATOR[HC_HASH_BYTES] = B(
    0x51, 0x81, 0x2a, 0x2a, 0x35, 0x9b, 0x50, 0x36, 0x95, 0x36, 0x77, 0x5d, 0xf8, 0x9e, 0x18, 0xe4,
    0x77, 0x40, 0xf3, 0xdb, 0x72, 0xac, 0x0a, 0xe7, 0x0b, 0x29, 0x59, 0x4c, 0x19, 0x4d, 0xc3, 0x16);
const uint8_t HC_NS_REPLICATE_RESPONDER[HC_HASH_BYTES] = B(
    0x04, 0x38, 0x49, 0x2d, 0x02, 0x97, 0x0c, 0xc1, 0x35, 0x28, 0xac, 0x02, 0x62, 0xbc, 0xa0, 0x07,
    0x4e, 0x09, 0x26, 0x26, 0x02, 0x56, 0x86, 0x5a, 0xcc, 0xc0, 0xbf, 0x15, 0xbd, 0x79, 0x12, 0x7d);
const uint8_t HC_NS_MANIFEST[HC_HASH_BYTES] = B(
    0xe6, 0x4b, 0x71, 0x08, 0xea, 0xcc, 0xe4, 0x7c, 0xfc, 0x61, 0xac, 0x85, 0x05, 0x68, 0xf5, 0x5f,
    0x8b, 0x15, 0xb8, 0x2e, 0xc5, 0xed, 0x78, 0xc4, 0xec, 0x59, 0x7b, 0x03, 0x6e, 0x2a, 0x14, 0x98);
const uint8_t HC_NS_DEFAULT[HC_HASH_BYTES] = B(
    0x41, 0x44, 0xee, 0xa5, 0x31, 0xe4, 0x83, 0xd5, 0x4e, 0x0c, 0x14, 0xf4, 0xca, 0x68, 0xe0, 0x64,
    0x4f, 0x35, 0x53, 0x43, 0xff, 0x6f, 0xcb, 0x0f, 0x00, 0x52, 0x00, 0xe1, 0x2c, 0xd7, 0x47, 0xcb);
const uint8_t HC_NS_BLOCK_ENCRYPTION[HC_HASH_BYTES] = B(
    0x9a, 0xed, 0xb6, 0xf1, 0xde, 0xa8, 0x48, 0x7c, 0xc1, 0xe1, 0x69, 0x8f, 0x97, 0xeb, 0x2f, 0x06,
    0x3f, 0x6d, 0xb4, 0xc6, 0x49, 0x69, 0x56, 0x22, 0xe7, 0xb6, 0x75, 0xe2, 0xce, 0xaf, 0xa6, 0xe9);
const uint8_t HC_NS_SS_INITIATOR[HC_HASH_BYTES] = B(
    0xa9, 0x31, 0xa0, 0x15, 0x5b, 0x5c, 0x09, 0xe6, 0xd2, 0x86, 0x28, 0x23, 0x6a, 0xf8, 0x3c, 0x4b,
    0x8a, 0x6a, 0xf9, 0xaf, 0x60, 0x98, 0x6e, 0xde, 0xed, 0xe9, 0xdc, 0x5d, 0x63, 0x19, 0x2b, 0xf7);
const uint8_t HC_NS_SS_RESPONDER[HC_HASH_BYTES] = B(
    0x74, 0x2c, 0x9d, 0x83, 0x3d, 0x43, 0x0a, 0xf4, 0xc4, 0x8a, 0x87, 0x05, 0xe9, 0x16, 0x31, 0xee,
    0xcf, 0x29, 0x54, 0x42, 0xbb, 0xca, 0x18, 0x99, 0x6e, 0x59, 0x70, 0x97, 0x72, 0x3b, 0x10, 0x61);
const uint8_t HC_NS_SS_SEND[HC_HASH_BYTES] = B(
    0xaa, 0xb9, 0x7d, 0x09, 0x74, 0x71, 0xf5, 0x66, 0x51, 0xb0, 0x46, 0x0f, 0xfc, 0x8a, 0xaa, 0x7d,
    0x33, 0x42, 0xf7, 0x37, 0x75, 0x97, 0xd6, 0x0b, 0x92, 0x5a, 0x1d, 0xac, 0x68, 0x9a, 0xdc, 0xbf);
#undef B

int hc_crypto_init(void) { return sodium_init() < 0 ? HC_ERR_IO : HC_OK; }

void hc_crypto_leaf(uint8_t out[HC_HASH_BYTES], const uint8_t *data, size_t len) {
  crypto_generichash_state st;
  uint8_t hdr[9];
  hdr[0] = 0;
  hc_put_u64le(hdr + 1, (uint64_t)len);
  crypto_generichash_init(&st, NULL, 0, HC_HASH_BYTES);
  crypto_generichash_update(&st, hdr, 9);
  if (len) crypto_generichash_update(&st, data, len);
  crypto_generichash_final(&st, out, HC_HASH_BYTES);
}

void hc_crypto_parent(uint8_t out[HC_HASH_BYTES], const hc_node *a, const hc_node *b) {
  if (a->index > b->index) {
    const hc_node *t = a;
    a = b;
    b = t;
  }
  uint8_t buf[9 + 2 * HC_HASH_BYTES];
  buf[0] = 1;
  hc_put_u64le(buf + 1, a->size + b->size);
  memcpy(buf + 9, a->hash, HC_HASH_BYTES);
  memcpy(buf + 9 + HC_HASH_BYTES, b->hash, HC_HASH_BYTES);
  crypto_generichash(out, HC_HASH_BYTES, buf, sizeof buf, NULL, 0);
}

void hc_crypto_tree(uint8_t out[HC_HASH_BYTES], const hc_node *roots, size_t n) {
  crypto_generichash_state st;
  uint8_t t = 2;
  crypto_generichash_init(&st, NULL, 0, HC_HASH_BYTES);
  crypto_generichash_update(&st, &t, 1);
  for (size_t i = 0; i < n; i++) {
    uint8_t buf[HC_HASH_BYTES + 16]; /* hash, index, size */
    memcpy(buf, roots[i].hash, HC_HASH_BYTES);
    hc_put_u64le(buf + HC_HASH_BYTES, roots[i].index);
    hc_put_u64le(buf + HC_HASH_BYTES + 8, roots[i].size);
    crypto_generichash_update(&st, buf, sizeof buf);
  }
  crypto_generichash_final(&st, out, HC_HASH_BYTES);
}

void hc_crypto_discovery_key(uint8_t out[HC_KEY_BYTES], const uint8_t key[HC_KEY_BYTES]) {
  crypto_generichash(out, HC_KEY_BYTES, (const uint8_t *)"hypercore", 9, key, HC_KEY_BYTES);
}

void hc_crypto_namespace(uint8_t out[HC_HASH_BYTES], const char *name, uint8_t i) {
  uint8_t buf[HC_HASH_BYTES + 1];
  crypto_generichash(buf, HC_HASH_BYTES, (const uint8_t *)name, strlen(name), NULL, 0);
  buf[HC_HASH_BYTES] = i;
  crypto_generichash(out, HC_HASH_BYTES, buf, HC_HASH_BYTES + 1, NULL, 0);
}

void hc_crypto_blake2b(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
                       const uint8_t *key, size_t keylen) {
  crypto_generichash(out, outlen, in, inlen, keylen ? key : NULL, keylen);
}

void hc_crypto_hash_parts(uint8_t out[HC_HASH_BYTES], const hc_buf *parts, size_t n,
                          const uint8_t *key, size_t keylen) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, keylen ? key : NULL, keylen, HC_HASH_BYTES);
  for (size_t i = 0; i < n; i++)
    if (parts[i].len) crypto_generichash_update(&st, parts[i].data, parts[i].len);
  crypto_generichash_final(&st, out, HC_HASH_BYTES);
}

void hc_crypto_keypair(uint8_t pk[HC_KEY_BYTES], uint8_t sk[HC_SECRET_KEY_BYTES]) {
  crypto_sign_keypair(pk, sk);
}

void hc_crypto_seed_keypair(uint8_t pk[HC_KEY_BYTES], uint8_t sk[HC_SECRET_KEY_BYTES],
                            const uint8_t seed[HC_SEED_BYTES]) {
  crypto_sign_seed_keypair(pk, sk, seed);
}

void hc_crypto_sk_to_pk(uint8_t pk[HC_KEY_BYTES], const uint8_t sk[HC_SECRET_KEY_BYTES]) {
  crypto_sign_ed25519_sk_to_pk(pk, sk);
}

void hc_crypto_sign(uint8_t sig[HC_SIGNATURE_BYTES], const uint8_t *msg, size_t len,
                    const uint8_t sk[HC_SECRET_KEY_BYTES]) {
  crypto_sign_detached(sig, NULL, msg, len, sk);
}

int hc_crypto_verify(const uint8_t sig[HC_SIGNATURE_BYTES], const uint8_t *msg, size_t len,
                     const uint8_t pk[HC_KEY_BYTES]) {
  return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? HC_OK : HC_ERR_BAD_SIGNATURE;
}

void hc_crypto_random(void *buf, size_t len) { randombytes_buf(buf, len); }

void hc_crypto_wipe(void *p, size_t len) { sodium_memzero(p, len); }

int hc_crypto_memcmp(const void *a, const void *b, size_t len) { return sodium_memcmp(a, b, len); }

void hc_crypto_stream_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t nonce[24],
                          const uint8_t key[32]) {
  crypto_stream_xor(out, in, len, nonce, key);
}


/* ---- transport primitives ---- */

_Static_assert(sizeof(crypto_secretstream_xchacha20poly1305_state) <= sizeof(hc_crypto_ss_state),
               "hc_crypto_ss_state too small");
_Static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == HC_CRYPTO_SS_HEADERBYTES,
               "secretstream header size");
_Static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == HC_CRYPTO_SS_ABYTES,
               "secretstream ABYTES");

void hc_crypto_blake2b_parts(uint8_t *out, size_t outlen, const hc_buf *parts, size_t n,
                             const uint8_t *key, size_t keylen) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, keylen ? key : NULL, keylen, outlen);
  for (size_t i = 0; i < n; i++)
    if (parts[i].len) crypto_generichash_update(&st, parts[i].data, parts[i].len);
  crypto_generichash_final(&st, out, outlen);
  sodium_memzero(&st, sizeof st);
}

void hc_crypto_sha512(uint8_t out[64], const uint8_t *in, size_t len) {
  crypto_hash_sha512(out, in, len);
}

int hc_crypto_scalarmult_ed25519_noclamp(uint8_t out[32], const uint8_t scalar[32],
                                         const uint8_t point[32]) {
  return crypto_scalarmult_ed25519_noclamp(out, scalar, point) == 0 ? HC_OK : HC_ERR_HANDSHAKE;
}

void hc_crypto_aead_chacha20poly1305_ietf_encrypt(uint8_t *c, const uint8_t *m, size_t mlen,
                                                  const uint8_t *ad, size_t adlen,
                                                  const uint8_t nonce[12], const uint8_t key[32]) {
  crypto_aead_chacha20poly1305_ietf_encrypt(c, NULL, m, mlen, ad, adlen, NULL, nonce, key);
}

int hc_crypto_aead_chacha20poly1305_ietf_decrypt(uint8_t *m, const uint8_t *c, size_t clen,
                                                 const uint8_t *ad, size_t adlen,
                                                 const uint8_t nonce[12], const uint8_t key[32]) {
  if (clen < crypto_aead_chacha20poly1305_ietf_ABYTES) return HC_ERR_HANDSHAKE;
  return crypto_aead_chacha20poly1305_ietf_decrypt(m, NULL, NULL, c, clen, ad, adlen, nonce, key) == 0
             ? HC_OK
             : HC_ERR_HANDSHAKE;
}

void hc_crypto_ss_init_push(hc_crypto_ss_state *st, uint8_t header[HC_CRYPTO_SS_HEADERBYTES],
                            const uint8_t key[HC_CRYPTO_SS_KEYBYTES]) {
  crypto_secretstream_xchacha20poly1305_init_push(
      (crypto_secretstream_xchacha20poly1305_state *)(void *)st->u.bytes, header, key);
}

int hc_crypto_ss_init_pull(hc_crypto_ss_state *st, const uint8_t header[HC_CRYPTO_SS_HEADERBYTES],
                           const uint8_t key[HC_CRYPTO_SS_KEYBYTES]) {
  return crypto_secretstream_xchacha20poly1305_init_pull(
             (crypto_secretstream_xchacha20poly1305_state *)(void *)st->u.bytes, header, key) == 0
             ? HC_OK
             : HC_ERR_PROTOCOL;
}

void hc_crypto_ss_push(hc_crypto_ss_state *st, uint8_t *c, const uint8_t *m, size_t mlen,
                       uint8_t tag) {
  crypto_secretstream_xchacha20poly1305_push(
      (crypto_secretstream_xchacha20poly1305_state *)(void *)st->u.bytes, c, NULL, m, mlen, NULL, 0,
      tag);
}

int hc_crypto_ss_pull(hc_crypto_ss_state *st, uint8_t *m, uint8_t *tag, const uint8_t *c,
                      size_t clen) {
  if (clen < crypto_secretstream_xchacha20poly1305_ABYTES) return HC_ERR_PROTOCOL;
  return crypto_secretstream_xchacha20poly1305_pull(
             (crypto_secretstream_xchacha20poly1305_state *)(void *)st->u.bytes, m, NULL, tag, c,
             clen, NULL, 0) == 0
             ? HC_OK
             : HC_ERR_PROTOCOL;
}
