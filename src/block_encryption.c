/* Block encryption, exactly as hypercore 10.38.2 (see block_encryption.h). */
#include "block_encryption.h"

#include <string.h>

#include "crypto.h"
#include "encoding.h"

void hc_block_encryption_init(hc_block_encryption *e, const uint8_t key[32],
                              const uint8_t core_key[32], bool compat, bool is_block_key) {
  memset(e, 0, sizeof *e);
  memcpy(e->key, key, 32);
  e->compat = compat;
  e->is_block_key = is_block_key;
  if (is_block_key) {
    memcpy(e->block_key, key, 32);
  } else if (compat) {
    hc_crypto_blake2b(e->block_key, 32, key, 32, core_key, 32);
  } else {
    hc_buf parts[3] = {{HC_NS_BLOCK_ENCRYPTION, 32}, {core_key, 32}, {key, 32}};
    hc_crypto_hash_parts(e->block_key, parts, 3, NULL, 0);
  }
  hc_crypto_blake2b(e->blinding_key, 32, e->block_key, 32, NULL, 0);
}

void hc_block_encrypt(const hc_block_encryption *e, uint64_t index, uint64_t fork,
                      const uint8_t *in, size_t len, uint8_t *out) {
  uint8_t nonce[24] = {0}, pad[8];
  hc_put_u64le(pad, fork);
  hc_put_u64le(nonce, index);
  hc_crypto_stream_xor(out, pad, 8, nonce, e->blinding_key); /* blinded fork id */
  memcpy(nonce + 8, out, 8);
  hc_crypto_stream_xor(out + 8, in, len, nonce, e->block_key);
}

void hc_block_decrypt(const hc_block_encryption *e, uint64_t index, const uint8_t *in,
                      size_t len, uint8_t *out, uint64_t *fork) {
  uint8_t nonce[24] = {0}, pad[8];
  hc_put_u64le(nonce, index);
  hc_crypto_stream_xor(pad, in, 8, nonce, e->blinding_key);
  *fork = hc_get_u64le(pad);
  memcpy(nonce + 8, in, 8);
  hc_crypto_stream_xor(out, in + 8, len - 8, nonce, e->block_key);
}
