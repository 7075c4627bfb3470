/* Small public helpers with no home of their own: the run-time version, key pairs
 * (include/hypercore/keys.h) and manifest decoding for callers (hc_manifest_parse), all thin
 * wrappers over crypto.c and manifest.c so that the CLI and applications need no internal
 * header. */
#include <string.h>

#include "crypto.h"
#include "hypercore.h"
#include "manifest.h"

_Static_assert(HC_MANIFEST_MAX_SIGNERS == HC_MAX_SIGNERS, "signer limit");

const char *hc_version(void) { return HC_VERSION_STRING; }

int hc_keypair_generate(uint8_t public_key[HC_KEY_BYTES], uint8_t secret_key[HC_SECRET_KEY_BYTES]) {
  if (!public_key || !secret_key) return HC_ERR_INVALID_ARG;
  if (hc_crypto_init() != HC_OK) return HC_ERR_IO;
  hc_crypto_keypair(public_key, secret_key);
  return HC_OK;
}

int hc_keypair_from_seed(uint8_t public_key[HC_KEY_BYTES], uint8_t secret_key[HC_SECRET_KEY_BYTES],
                         const uint8_t seed[HC_SEED_BYTES]) {
  if (!public_key || !secret_key || !seed) return HC_ERR_INVALID_ARG;
  if (hc_crypto_init() != HC_OK) return HC_ERR_IO;
  hc_crypto_seed_keypair(public_key, secret_key, seed);
  return HC_OK;
}

int hc_keypair_public_key(uint8_t public_key[HC_KEY_BYTES],
                          const uint8_t secret_key[HC_SECRET_KEY_BYTES]) {
  if (!public_key || !secret_key) return HC_ERR_INVALID_ARG;
  if (hc_crypto_init() != HC_OK) return HC_ERR_IO;
  hc_crypto_sk_to_pk(public_key, secret_key);
  return HC_OK;
}

/* Copies the decoded manifest into the caller's layout (version 1 of hc_manifest_info). */
static void manifest_to_info(const hc_manifest *m, const uint8_t *key, hc_manifest_info *out) {
  out->manifest_version = m->version;
  out->compat = key && hc_manifest_is_compat(m, key);
  out->allow_patch = m->allow_patch;
  out->quorum = m->quorum;
  out->nsigners = m->nsigners;
  for (size_t i = 0; i < m->nsigners; i++) {
    memcpy(out->public_keys[i], m->signers[i].public_key, HC_KEY_BYTES);
    memcpy(out->namespaces[i], m->signers[i].namespace_, HC_HASH_BYTES);
  }
  out->has_prologue = m->has_prologue;
  memcpy(out->prologue_hash, m->prologue_hash, HC_HASH_BYTES);
  out->prologue_length = m->prologue_length;
  out->has_linked = m->has_linked;
  out->nlinked = m->nlinked;
  for (size_t i = 0; i < m->nlinked; i++) memcpy(out->linked[i], m->linked[i], HC_KEY_BYTES);
  out->has_user_data = m->has_user_data;
  out->user_data_len = m->user_data_len;
  if (m->user_data_len) memcpy(out->user_data, m->user_data, m->user_data_len);
}

int hc_manifest_parse(const uint8_t *manifest, size_t len, const uint8_t key[HC_KEY_BYTES],
                      hc_manifest_info *out) {
  if (!manifest || !out) return HC_ERR_INVALID_ARG;
  if (out->version != HC_MANIFEST_INFO_VERSION) return HC_ERR_BAD_VERSION;
  hc_manifest m;
  hc_dec d;
  hc_dec_init(&d, manifest, len);
  if (hc_manifest_decode(&d, &m) != HC_OK || hc_dec_left(&d) != 0) return HC_ERR_DECODE;
  int version = out->version;
  memset(out, 0, sizeof *out);
  out->version = version;
  manifest_to_info(&m, key, out);
  return HC_OK;
}
