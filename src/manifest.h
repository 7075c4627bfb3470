/* Manifests (the reference's lib/verifier.js + messages.js manifest encoding, v0 and v1, and
 * hypercore 11's v2/v3 with linked cores and user data):
 * encode/decode, hash, the compat/default signer manifest, signables and signature checks. */
#ifndef HC_MANIFEST_H
#define HC_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "encoding.h"
#include "merkle.h"

#define HC_MAX_SIGNERS 32

typedef struct hc_signer {
  uint8_t namespace_[HC_HASH_BYTES];
  uint8_t public_key[HC_KEY_BYTES];
} hc_signer;

#define HC_MAX_LINKED 32            /* linked core keys (manifest v2+) */
#define HC_MAX_MANIFEST_USER_DATA 1024

typedef struct hc_manifest {
  uint32_t version; /* 0..3 (2 and 3: hypercore 11's linked cores and user data) */
  bool allow_patch;
  uint32_t quorum;
  hc_signer signers[HC_MAX_SIGNERS];
  size_t nsigners;
  bool has_prologue;
  uint8_t prologue_hash[HC_HASH_BYTES];
  uint64_t prologue_length;
  /* v1+ flags 4 and 8 (hypercore 11): present even when empty, as the encoding keeps them */
  bool has_linked;
  size_t nlinked;
  uint8_t linked[HC_MAX_LINKED][HC_KEY_BYTES];
  bool has_user_data;
  size_t user_data_len;
  uint8_t user_data[HC_MAX_MANIFEST_USER_DATA];
} hc_manifest;

void hc_manifest_encode(hc_enc *e, const hc_manifest *m);
/* HC_ERR_DECODE on malformed input (unknown version, hash or signature type, too many
 * signers). */
int hc_manifest_decode(hc_dec *d, hc_manifest *m);
/* H(MANIFEST_NS || encode(m)) */
int hc_manifest_hash(const hc_manifest *m, uint8_t out[HC_HASH_BYTES]);
/* The default signer manifest (v1, one ed25519 signer, DEFAULT_NAMESPACE, quorum 1). */
void hc_manifest_default(hc_manifest *m, const uint8_t public_key[HC_KEY_BYTES]);
/* Compat: one signer whose public key is the core key. */
bool hc_manifest_is_compat(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES]);
/* Does the manifest belong to this key (compat, or its hash is the key)? */
bool hc_manifest_matches_key(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES]);

/* One signer's proof in a multisig container. */
typedef struct hc_manifest_proof {
  uint32_t signer; /* index into the manifest's signers */
  uint8_t signature[HC_SIGNATURE_BYTES];
} hc_manifest_proof;

/* Index of the signer with this public key; HC_ERR_NOT_FOUND if none. */
int hc_manifest_signer_index(const hc_manifest *m, const uint8_t public_key[HC_KEY_BYTES],
                             size_t *index);

/* A partial (raw 64-byte) signature of (tree hash, length, fork) by the signer whose public key
 * belongs to secret_key, over the non-compat signable (context: key for v1 — NULL computes the
 * manifest hash — or the signer's namespace for v0). *signer gets its index.
 * HC_ERR_NOT_WRITABLE if the key is not a declared signer. */
int hc_manifest_partial(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                        const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length, uint64_t fork,
                        const uint8_t secret_key[HC_SECRET_KEY_BYTES], size_t *signer,
                        uint8_t sig[HC_SIGNATURE_BYTES]);

/* Multisig container (lib/multisig.js assemble / assemblev0 by manifest version) of `n`
 * proofs without patches. out NULL: only *len. HC_ERR_INVALID_ARG for a signer index out of
 * range or repeated, HC_ERR_NOBUF if cap is too small. */
int hc_manifest_assemble(const hc_manifest *m, const hc_manifest_proof *proofs, size_t n,
                         uint8_t *out, size_t cap, size_t *len);

/* Signs (tree hash, length, fork) as this core's single signer: writes the signature in the
 * stored form (64 bytes compat or v0 single signer, else a multisig container with this one
 * proof, 68 bytes for v1) into sig (cap >= 128), *siglen gets its size. HC_ERR_NOT_WRITABLE
 * when the key is not a signer or the quorum needs more than one signer. */
int hc_manifest_sign(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                     const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length, uint64_t fork,
                     const uint8_t secret_key[HC_SECRET_KEY_BYTES], uint8_t *sig, size_t *siglen);
/* Verifies a stored-form signature over (tree hash, length, fork). HC_OK or
 * HC_ERR_BAD_SIGNATURE (also: short of the quorum, a signer index out of range or repeated
 * among the first `quorum` proofs). Without the tree's roots, patched proofs (allowPatch
 * manifests) cannot be checked (HC_ERR_BAD_SIGNATURE); without allowPatch a patch length is
 * ignored, as the reference. */
int hc_manifest_verify(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                       const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length, uint64_t fork,
                       const uint8_t *sig, size_t siglen);
/* The same for the tree with these roots, patched proofs included: such a proof signs a
 * longer tree, which the container's patch nodes extend ours to. */
int hc_manifest_verify_tree(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                            const hc_node *roots, size_t nroots, uint64_t length, uint64_t fork,
                            const uint8_t *sig, size_t siglen);

/* Decodes and discards a manifest (to find its length). */
int hc_manifest_skip(hc_dec *d);

#endif
