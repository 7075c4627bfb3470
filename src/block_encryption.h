/* Block encryption (lib/block-encryption.js of 10.38.2): XSalsa20 with an 8-byte blinded fork
 * id stored in front of each block. */
#ifndef HC_BLOCK_ENCRYPTION_H
#define HC_BLOCK_ENCRYPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_ENCRYPTION_PADDING 8

typedef struct hc_block_encryption {
  uint8_t key[32]; /* the user's encryption key */
  uint8_t block_key[32];
  uint8_t blinding_key[32];
  bool is_block_key;
  bool compat;
} hc_block_encryption;

/* Derives the block and blinding keys for core `core_key` (compat cores: BLAKE2b keyed with
 * the core key; others: H(BLOCK_ENCRYPTION_NS || core key || key); is_block_key: as is). */
void hc_block_encryption_init(hc_block_encryption *e, const uint8_t key[32],
                              const uint8_t core_key[32], bool compat, bool is_block_key);

/* out (len + 8 bytes) = blinded fork padding || ciphertext of block `index`. */
void hc_block_encrypt(const hc_block_encryption *e, uint64_t index, uint64_t fork,
                      const uint8_t *in, size_t len, uint8_t *out);

/* Decrypts stored block `index` (len >= 8) into out (len - 8 bytes) and recovers the fork id
 * the block was written at (*fork). A wrong key gives an implausible fork. */
void hc_block_decrypt(const hc_block_encryption *e, uint64_t index, const uint8_t *in,
                      size_t len, uint8_t *out, uint64_t *fork);

#endif
