/* The only module that talks to libsodium: hashes, signatures, key derivation, and the raw
 * primitives the transport layers need. */
#ifndef HC_CRYPTO_H
#define HC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "hypercore/common.h"

/* A Merkle tree node: index in flat-tree order, total byte size under it, hash. */
typedef struct hc_node {
  uint64_t index;
  uint64_t size;
  uint8_t hash[HC_HASH_BYTES];
} hc_node;

/* namespace('hypercore', 6) */
extern const uint8_t HC_NS_TREE[HC_HASH_BYTES];
extern const uint8_t HC_NS_REPLICATE_INITIATOR[HC_HASH_BYTES];
extern const uint8_t HC_NS_REPLICATE_RESPONDER[HC_HASH_BYTES];
extern const uint8_t HC_NS_MANIFEST[HC_HASH_BYTES];
extern const uint8_t HC_NS_DEFAULT[HC_HASH_BYTES];
extern const uint8_t HC_NS_BLOCK_ENCRYPTION[HC_HASH_BYTES];
/* namespace('hyperswarm/secret-stream', 3) */
extern const uint8_t HC_NS_SS_INITIATOR[HC_HASH_BYTES];
extern const uint8_t HC_NS_SS_RESPONDER[HC_HASH_BYTES];
extern const uint8_t HC_NS_SS_SEND[HC_HASH_BYTES];

/* Must be called once before any other function here (idempotent, thread-safe in libsodium). */
int hc_crypto_init(void);

/* H(0x00 || u64le(len) || data) */
void hc_crypto_leaf(uint8_t out[HC_HASH_BYTES], const uint8_t *data, size_t len);
/* H(0x01 || u64le(a.size + b.size) || left.hash || right.hash), left = smaller index */
void hc_crypto_parent(uint8_t out[HC_HASH_BYTES], const hc_node *a, const hc_node *b);
/* H(0x02 || for each root: hash || u64le(index) || u64le(size)) */
void hc_crypto_tree(uint8_t out[HC_HASH_BYTES], const hc_node *roots, size_t n);
/* discovery key = BLAKE2b-256(key = core key, message "hypercore") */
void hc_crypto_discovery_key(uint8_t out[HC_KEY_BYTES], const uint8_t key[HC_KEY_BYTES]);
/* namespace entry: H(H(name) || byte(i)) */
void hc_crypto_namespace(uint8_t out[HC_HASH_BYTES], const char *name, uint8_t i);

/* BLAKE2b with arbitrary output length (16..64), optional key (keylen 0 for none). */
void hc_crypto_blake2b(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
                       const uint8_t *key, size_t keylen);
/* BLAKE2b-256 over the concatenation of parts. */
void hc_crypto_hash_parts(uint8_t out[HC_HASH_BYTES], const hc_buf *parts, size_t n,
                          const uint8_t *key, size_t keylen);

void hc_crypto_keypair(uint8_t pk[HC_KEY_BYTES], uint8_t sk[HC_SECRET_KEY_BYTES]);
void hc_crypto_seed_keypair(uint8_t pk[HC_KEY_BYTES], uint8_t sk[HC_SECRET_KEY_BYTES],
                            const uint8_t seed[HC_SEED_BYTES]);
/* Recovers the public key from a 64-byte secret key. */
void hc_crypto_sk_to_pk(uint8_t pk[HC_KEY_BYTES], const uint8_t sk[HC_SECRET_KEY_BYTES]);
void hc_crypto_sign(uint8_t sig[HC_SIGNATURE_BYTES], const uint8_t *msg, size_t len,
                    const uint8_t sk[HC_SECRET_KEY_BYTES]);
/* HC_OK or HC_ERR_BAD_SIGNATURE */
int hc_crypto_verify(const uint8_t sig[HC_SIGNATURE_BYTES], const uint8_t *msg, size_t len,
                     const uint8_t pk[HC_KEY_BYTES]);

void hc_crypto_random(void *buf, size_t len);
/* Wipes memory (not optimised away). */
void hc_crypto_wipe(void *p, size_t len);
/* Constant-time compare; 0 when equal. */
int hc_crypto_memcmp(const void *a, const void *b, size_t len);

/* XSalsa20 stream xor (block encryption). */
void hc_crypto_stream_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t nonce[24],
                          const uint8_t key[32]);

/* ---- transport primitives (Noise XX + secretstream; used by noise.c / secret_stream.c) ---- */

/* BLAKE2b over the concatenation of parts, any output length 16..64, optional key. */
void hc_crypto_blake2b_parts(uint8_t *out, size_t outlen, const hc_buf *parts, size_t n,
                             const uint8_t *key, size_t keylen);
void hc_crypto_sha512(uint8_t out[64], const uint8_t *in, size_t len);
/* out = scalar * point (Edwards, no clamping). HC_OK, or HC_ERR_HANDSHAKE if the point is
 * invalid / of small order or the result is the identity. */
int hc_crypto_scalarmult_ed25519_noclamp(uint8_t out[32], const uint8_t scalar[32],
                                         const uint8_t point[32]);
/* ChaCha20-Poly1305 IETF, 12-byte nonce; c has mlen + 16 bytes. */
void hc_crypto_aead_chacha20poly1305_ietf_encrypt(uint8_t *c, const uint8_t *m, size_t mlen,
                                                  const uint8_t *ad, size_t adlen,
                                                  const uint8_t nonce[12], const uint8_t key[32]);
/* m has clen - 16 bytes; HC_OK or HC_ERR_HANDSHAKE on a bad MAC / short input. */
int hc_crypto_aead_chacha20poly1305_ietf_decrypt(uint8_t *m, const uint8_t *c, size_t clen,
                                                 const uint8_t *ad, size_t adlen,
                                                 const uint8_t nonce[12], const uint8_t key[32]);

/* crypto_secretstream_xchacha20poly1305: opaque state (big enough for libsodium's state). */
#define HC_CRYPTO_SS_HEADERBYTES 24
#define HC_CRYPTO_SS_KEYBYTES 32
#define HC_CRYPTO_SS_ABYTES 17
#define HC_CRYPTO_SS_TAG_MESSAGE 0
typedef struct hc_crypto_ss_state {
  union {
    uint8_t bytes[64];
    uint64_t align_;
  } u;
} hc_crypto_ss_state;
/* init_push with a fresh random header written to `header`. */
void hc_crypto_ss_init_push(hc_crypto_ss_state *st, uint8_t header[HC_CRYPTO_SS_HEADERBYTES],
                            const uint8_t key[HC_CRYPTO_SS_KEYBYTES]);
/* Receiver side; also builds the exact state init_push would have built for (key, header),
 * which is how a fixed header is reproduced. HC_OK or HC_ERR_PROTOCOL. */
int hc_crypto_ss_init_pull(hc_crypto_ss_state *st, const uint8_t header[HC_CRYPTO_SS_HEADERBYTES],
                           const uint8_t key[HC_CRYPTO_SS_KEYBYTES]);
/* c has mlen + 17 bytes. Overlap c + 1 == m is allowed (in place). */
void hc_crypto_ss_push(hc_crypto_ss_state *st, uint8_t *c, const uint8_t *m, size_t mlen,
                       uint8_t tag);
/* m has clen - 17 bytes (m == c + 1 is allowed, in place). HC_OK or HC_ERR_PROTOCOL. */
int hc_crypto_ss_pull(hc_crypto_ss_state *st, uint8_t *m, uint8_t *tag, const uint8_t *c,
                      size_t clen);

#endif
