/* Public manifest building and multisig signing (include/hypercore/multisig.h) on top of
 * manifest.c. */
#include <string.h>

#include "crypto.h"
#include "grow.h"
#include "hypercore/multisig.h"
#include "manifest.h"

_Static_assert(HC_MANIFEST_MAX_LINKED == HC_MAX_LINKED, "linked limit");
_Static_assert(HC_MANIFEST_MAX_USER_DATA == HC_MAX_MANIFEST_USER_DATA, "user data limit");

static int enc_manifest(hc_enc *e, const void *m) {
  hc_manifest_encode(e, m);
  return HC_OK;
}

int hc_manifest_build(const hc_manifest_params *p, uint8_t *out, size_t cap, size_t *len) {
  if (!p || !len) return HC_ERR_INVALID_ARG;
  if (p->version != HC_MANIFEST_PARAMS_VERSION) return HC_ERR_BAD_VERSION;
  if (p->nsigners > HC_MAX_SIGNERS || (p->nsigners && !p->public_keys)) return HC_ERR_INVALID_ARG;
  bool v2 = p->nlinked || p->user_data;
  if (p->nlinked > HC_MAX_LINKED || (p->nlinked && !p->linked) ||
      p->user_data_len > HC_MAX_MANIFEST_USER_DATA || (p->user_data_len && !p->user_data) ||
      (v2 && p->version0))
    return HC_ERR_INVALID_ARG;
  hc_manifest m;
  memset(&m, 0, sizeof m);
  m.version = p->version0 ? 0 : v2 ? 2 : 1;
  if (p->nlinked) {
    m.has_linked = true;
    m.nlinked = p->nlinked;
    for (size_t i = 0; i < p->nlinked; i++)
      memcpy(m.linked[i], p->linked + HC_KEY_BYTES * i, HC_KEY_BYTES);
  }
  if (p->user_data) {
    m.has_user_data = true;
    m.user_data_len = p->user_data_len;
    if (p->user_data_len) memcpy(m.user_data, p->user_data, p->user_data_len);
  }
  m.allow_patch = p->allow_patch;
  m.nsigners = p->nsigners;
  m.quorum = p->has_quorum ? p->quorum : p->nsigners ? (uint32_t)(p->nsigners / 2 + 1) : 0;
  for (size_t i = 0; i < p->nsigners; i++) {
    memcpy(m.signers[i].public_key, p->public_keys + HC_KEY_BYTES * i, HC_KEY_BYTES);
    memcpy(m.signers[i].namespace_,
           p->namespaces ? p->namespaces + HC_HASH_BYTES * i : HC_NS_DEFAULT, HC_HASH_BYTES);
  }
  if (p->has_prologue) {
    m.has_prologue = true;
    memcpy(m.prologue_hash, p->prologue_hash, HC_HASH_BYTES);
    m.prologue_length = p->version0 ? 0 : p->prologue_length;
  }
  return hc_encode_into(enc_manifest, &m, out, cap, len);
}

static int decode_all(const uint8_t *manifest, size_t len, hc_manifest *m) {
  if (!manifest) return HC_ERR_INVALID_ARG;
  hc_dec d;
  hc_dec_init(&d, manifest, len);
  if (hc_manifest_decode(&d, m) != HC_OK || hc_dec_left(&d) != 0) return HC_ERR_DECODE;
  return HC_OK;
}

int hc_manifest_key(const uint8_t *manifest, size_t len, uint8_t key[HC_KEY_BYTES]) {
  hc_manifest m;
  if (!key) return HC_ERR_INVALID_ARG;
  if (hc_crypto_init() != HC_OK) return HC_ERR_IO;
  int rc = decode_all(manifest, len, &m);
  if (rc) return rc;
  return hc_manifest_hash(&m, key);
}

int hc_multisig_sign(const uint8_t *manifest, size_t manifest_len,
                     const uint8_t secret_key[HC_SECRET_KEY_BYTES],
                     const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length, uint64_t fork,
                     hc_multisig_partial *out) {
  hc_manifest m;
  if (!secret_key || !tree_hash || !out) return HC_ERR_INVALID_ARG;
  if (hc_crypto_init() != HC_OK) return HC_ERR_IO;
  int rc = decode_all(manifest, manifest_len, &m);
  if (rc) return rc;
  size_t s;
  rc = hc_manifest_partial(&m, NULL, tree_hash, length, fork, secret_key, &s, out->signature);
  if (rc == HC_ERR_NOT_WRITABLE) return HC_ERR_NOT_FOUND;
  if (rc) return rc;
  out->signer = (uint32_t)s;
  return HC_OK;
}

int hc_multisig_assemble(const uint8_t *manifest, size_t manifest_len,
                         const hc_multisig_partial *partials, size_t n, uint8_t *out, size_t cap,
                         size_t *len) {
  hc_manifest m;
  if ((n && !partials) || !len) return HC_ERR_INVALID_ARG;
  int rc = decode_all(manifest, manifest_len, &m);
  if (rc) return rc;
  if (n > HC_MAX_SIGNERS) return HC_ERR_INVALID_ARG;
  hc_manifest_proof proofs[HC_MAX_SIGNERS];
  for (size_t i = 0; i < n; i++) {
    proofs[i].signer = partials[i].signer;
    memcpy(proofs[i].signature, partials[i].signature, HC_SIGNATURE_BYTES);
  }
  if (m.version == 0 && !m.allow_patch && m.nsigners == 1) {
    /* a version 0 single signer signs with the bare signature */
    if (n != 1 || proofs[0].signer != 0) return HC_ERR_INVALID_ARG;
    *len = HC_SIGNATURE_BYTES;
    if (!out) return HC_OK;
    if (cap < HC_SIGNATURE_BYTES) return HC_ERR_NOBUF;
    memcpy(out, proofs[0].signature, HC_SIGNATURE_BYTES);
    return HC_OK;
  }
  return hc_manifest_assemble(&m, proofs, n, out, cap, len);
}

int hc_multisig_verify(const uint8_t key[HC_KEY_BYTES], const uint8_t *manifest,
                       size_t manifest_len, const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length,
                       uint64_t fork, const uint8_t *signature, size_t signature_len) {
  hc_manifest m;
  if (!key || !tree_hash) return HC_ERR_INVALID_ARG;
  if (hc_crypto_init() != HC_OK) return HC_ERR_IO;
  int rc = decode_all(manifest, manifest_len, &m);
  if (rc) return rc;
  if (!hc_manifest_matches_key(&m, key)) return HC_ERR_KEY_MISMATCH;
  return hc_manifest_verify(&m, key, tree_hash, length, fork, signature, signature_len);
}
