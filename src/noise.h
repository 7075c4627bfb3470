/* Noise XX handshake "Noise_XX_Ed25519_ChaChaPoly_BLAKE2b", byte-compatible with
 * noise-handshake 4.2.0 + noise-curve-ed 2.1.0 as used by @hyperswarm/secret-stream 6.x
 * (empty prologue, Ed25519 sign key pairs for both static and ephemeral keys, DH =
 * crypto_scalarmult_ed25519_noclamp with the clamped SHA-512 scalar, HASHLEN 64).
 *
 * Sans-I/O: hc_noise_write_message produces the next handshake message (without the uint24le
 * frame prefix), hc_noise_read_message consumes one. The order for XX is
 *   initiator: write(msg1), read(msg2), write(msg3)  -> complete
 *   responder: read(msg1), write(msg2), read(msg3)   -> complete
 * Any error leaves the state failed (every later call returns HC_ERR_HANDSHAKE). */
#ifndef HC_NOISE_H
#define HC_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "hypercore/common.h"

#define HC_NOISE_PROTOCOL_NAME "Noise_XX_Ed25519_ChaChaPoly_BLAKE2b"
#define HC_NOISE_HASHLEN 64
#define HC_NOISE_PKLEN 32
#define HC_NOISE_SKLEN 64
#define HC_NOISE_KEYLEN 32
#define HC_NOISE_DHLEN 32
#define HC_NOISE_MACLEN 16
/* noise-handshake refuses ciphertexts above 65535 bytes; a handshake message is at most the
 * tokens (32 + 48) plus one such payload ciphertext. */
#define HC_NOISE_MAX_MESSAGE (32 + 48 + 65535)

typedef struct hc_noise {
  int initiator;
  int step;     /* messages processed so far, 0..3 */
  int complete; /* 1 after the third message */
  int failed;
  /* symmetric state (public for tests: h / ck after each message) */
  uint8_t h[HC_NOISE_HASHLEN];
  uint8_t ck[HC_NOISE_HASHLEN];
  uint8_t k[HC_NOISE_KEYLEN];
  int has_key;
  uint64_t n;
  /* keys */
  uint8_t s_pk[HC_NOISE_PKLEN], s_sk[HC_NOISE_SKLEN];
  uint8_t e_pk[HC_NOISE_PKLEN], e_sk[HC_NOISE_SKLEN];
  uint8_t re[HC_NOISE_PKLEN], rs[HC_NOISE_PKLEN];
  /* results, valid once complete */
  uint8_t tx[HC_NOISE_KEYLEN];
  uint8_t rx[HC_NOISE_KEYLEN];
  uint8_t hash[HC_NOISE_HASHLEN];
} hc_noise;

/* Initialises a handshake. s_pk/s_sk: the static Ed25519 sign key pair (s_pk may be NULL: it
 * is taken from s_sk). e_seed: 32-byte seed of the ephemeral key pair
 * (crypto_sign_seed_keypair), or NULL for a fresh random one (crypto_sign_keypair). */
int hc_noise_init(hc_noise *ns, int initiator, const uint8_t *s_pk,
                  const uint8_t s_sk[HC_NOISE_SKLEN], const uint8_t *e_seed);

/* Writes the next handshake message carrying `payload` (may be empty) into out (cap bytes);
 * *outlen receives its length. HC_ERR_NOBUF if cap is too small (state unchanged),
 * HC_ERR_BUSY if it is not our turn to write, HC_ERR_HANDSHAKE on failure. */
int hc_noise_write_message(hc_noise *ns, const uint8_t *payload, size_t plen, uint8_t *out,
                           size_t cap, size_t *outlen);

/* Reads the next handshake message. The payload (empty with secret-stream) is authenticated
 * and discarded. HC_ERR_BUSY if it is not our turn to read, HC_ERR_HANDSHAKE on a bad message
 * (the state is then failed). */
int hc_noise_read_message(hc_noise *ns, const uint8_t *msg, size_t len);

/* 1 when the next step is ours to write (and the handshake is not complete/failed). */
int hc_noise_wants_write(const hc_noise *ns);

/* Wipes all secrets. */
void hc_noise_clear(hc_noise *ns);

/* The Ed25519 DH of noise-curve-ed: clamp(SHA-512(sk[0..32])[0..32]) * remote_pk.
 * HC_OK or HC_ERR_HANDSHAKE (invalid / small-order point). */
int hc_noise_dh(uint8_t out[HC_NOISE_DHLEN], const uint8_t sk[HC_NOISE_SKLEN],
                const uint8_t remote_pk[HC_NOISE_PKLEN]);

/* HMAC-BLAKE2b-512 (block 128) and the two-output HKDF used by noise-handshake. */
void hc_noise_hmac(uint8_t out[HC_NOISE_HASHLEN], const uint8_t *key, size_t keylen,
                   const hc_buf *parts, size_t n);
void hc_noise_hkdf(uint8_t out1[HC_NOISE_HASHLEN], uint8_t out2[HC_NOISE_HASHLEN],
                   const uint8_t ck[HC_NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen);

#endif
