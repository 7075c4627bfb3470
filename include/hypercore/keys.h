/* libhypercore — Ed25519 key pairs, as the reference's hypercore-crypto keyPair([seed]).
 *
 * A core's key pair signs its tree: the public key is the core key of a compat core (and a
 * manifest signer of a non-compat one); the secret key is the 32-byte seed followed by the
 * public key. */
#ifndef HYPERCORE_KEYS_H
#define HYPERCORE_KEYS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A fresh random key pair. HC_OK, or HC_ERR_IO if the random source cannot be initialised. */
HC_EXPORT int hc_keypair_generate(uint8_t public_key[HC_KEY_BYTES],
                                  uint8_t secret_key[HC_SECRET_KEY_BYTES]);

/* The key pair of a 32-byte seed (deterministic: the same seed gives the same pair, as
 * hypercore-crypto keyPair(seed)). HC_OK, or HC_ERR_INVALID_ARG for a NULL argument. */
HC_EXPORT int hc_keypair_from_seed(uint8_t public_key[HC_KEY_BYTES],
                                   uint8_t secret_key[HC_SECRET_KEY_BYTES],
                                   const uint8_t seed[HC_SEED_BYTES]);

/* The public key of a 64-byte secret key. HC_OK, or HC_ERR_INVALID_ARG for a NULL argument. */
HC_EXPORT int hc_keypair_public_key(uint8_t public_key[HC_KEY_BYTES],
                                    const uint8_t secret_key[HC_SECRET_KEY_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
