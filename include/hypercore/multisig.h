/* libhypercore — manifests and multisig (the reference's lib/verifier.js and lib/multisig.js).
 *
 * A core whose key is a manifest hash (`compat: false`) is signed by the manifest's signers:
 * `quorum` of them must each sign what hc_core_batch_hash reports for a batch. Each signer
 * makes a partial signature with hc_multisig_sign (with its own secret key, anywhere), someone
 * assembles `quorum` partials with hc_multisig_assemble and appends the batch with
 * hc_core_append_signed. */
#ifndef HYPERCORE_MULTISIG_H
#define HYPERCORE_MULTISIG_H

#include <stdbool.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HC_MANIFEST_MAX_SIGNERS 32
#define HC_MANIFEST_MAX_LINKED 32
#define HC_MANIFEST_MAX_USER_DATA 1024

/* What a manifest declares (Verifier.createManifest input). Start from
 * HC_MANIFEST_PARAMS_INIT (every other field zero); another version is HC_ERR_BAD_VERSION. */
#define HC_MANIFEST_PARAMS_VERSION 1
typedef struct hc_manifest_params {
  int version;      /* HC_MANIFEST_PARAMS_VERSION */
  bool version0;    /* encode as the legacy manifest version 0 (default: version 1) */
  bool allow_patch; /* accept patched proofs (verified; this library does not make them) */
  bool has_quorum;  /* else the default quorum floor(nsigners / 2) + 1 (0 without signers) */
  uint32_t quorum;
  size_t nsigners;            /* at most HC_MANIFEST_MAX_SIGNERS */
  const uint8_t *public_keys; /* nsigners * 32 bytes (Ed25519) */
  const uint8_t *namespaces;  /* nsigners * 32 bytes; NULL: DEFAULT_NAMESPACE for each */
  bool has_prologue;          /* version 1 (version 0 keeps a prologue only without signers) */
  uint8_t prologue_hash[HC_HASH_BYTES];
  uint64_t prologue_length;
  /* hypercore 11 (manifest version 2, chosen automatically when either is set, as the
   * reference's getManifestVersion): keys of linked cores and opaque user data. */
  size_t nlinked;          /* at most HC_MANIFEST_MAX_LINKED */
  const uint8_t *linked;   /* nlinked * 32 bytes */
  size_t user_data_len;    /* at most HC_MANIFEST_MAX_USER_DATA; 0 with user_data NULL: none */
  const uint8_t *user_data;
} hc_manifest_params;
#ifdef __cplusplus
#define HC_MANIFEST_PARAMS_INIT {HC_MANIFEST_PARAMS_VERSION}
#else
#define HC_MANIFEST_PARAMS_INIT {.version = HC_MANIFEST_PARAMS_VERSION}
#endif

/* Encodes a manifest into out (capacity cap; out NULL: only *len). HC_ERR_INVALID_ARG (too many
 * signers, missing keys), HC_ERR_NOBUF. The result goes into hc_core_opts.manifest. */
HC_EXPORT int hc_manifest_build(const hc_manifest_params *params, uint8_t *out, size_t cap,
                                size_t *len);

/* A decoded manifest (hc_manifest_parse). The caller sets version = HC_MANIFEST_INFO_VERSION
 * (HC_MANIFEST_INFO_INIT) so that a newer library knows which fields the caller has room for. */
#define HC_MANIFEST_INFO_VERSION 1
typedef struct hc_manifest_info {
  int version;               /* HC_MANIFEST_INFO_VERSION, set by the caller */
  uint32_t manifest_version; /* 0..3 (2 and 3: hypercore 11's linked cores and user data) */
  bool compat;               /* one signer whose public key is the `key` given to parse */
  bool allow_patch;
  uint32_t quorum;
  size_t nsigners;
  uint8_t public_keys[HC_MANIFEST_MAX_SIGNERS][HC_KEY_BYTES]; /* Ed25519, per signer */
  uint8_t namespaces[HC_MANIFEST_MAX_SIGNERS][HC_HASH_BYTES];
  bool has_prologue;
  uint8_t prologue_hash[HC_HASH_BYTES];
  uint64_t prologue_length;
  bool has_linked; /* manifest v2+: present (maybe empty) */
  size_t nlinked;
  uint8_t linked[HC_MANIFEST_MAX_LINKED][HC_KEY_BYTES];
  bool has_user_data; /* manifest v2+: present (maybe empty) */
  size_t user_data_len;
  uint8_t user_data[HC_MANIFEST_MAX_USER_DATA];
} hc_manifest_info;
#ifdef __cplusplus
#define HC_MANIFEST_INFO_INIT {HC_MANIFEST_INFO_VERSION}
#else
#define HC_MANIFEST_INFO_INIT {.version = HC_MANIFEST_INFO_VERSION}
#endif

/* Decodes an encoded manifest (e.g. hc_core_manifest's) into *out. key (may be NULL): the core
 * key, only to tell compat manifests apart. HC_ERR_DECODE (malformed, or bytes left over),
 * HC_ERR_BAD_VERSION (out->version unknown), HC_ERR_INVALID_ARG. */
HC_EXPORT int hc_manifest_parse(const uint8_t *manifest, size_t len,
                                const uint8_t key[HC_KEY_BYTES], hc_manifest_info *out);

/* The core key of a non-compat core with this encoded manifest: H(MANIFEST_NS || manifest).
 * HC_ERR_DECODE if the manifest is malformed. */
HC_EXPORT int hc_manifest_key(const uint8_t *manifest, size_t len, uint8_t key[HC_KEY_BYTES]);

/* One signer's partial signature. */
typedef struct hc_multisig_partial {
  uint32_t signer; /* index of the signer in the manifest */
  uint8_t signature[HC_SIGNATURE_BYTES];
} hc_multisig_partial;

/* Signs (tree hash, length, fork) — as reported by hc_core_batch_hash — with the secret key of
 * one of the manifest's signers (non-compat signable: the manifest hash, or the signer's
 * namespace for version 0). HC_ERR_NOT_FOUND if the key is not a declared signer,
 * HC_ERR_DECODE for a malformed manifest. */
HC_EXPORT int hc_multisig_sign(const uint8_t *manifest, size_t manifest_len,
                               const uint8_t secret_key[HC_SECRET_KEY_BYTES],
                               const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length,
                               uint64_t fork, hc_multisig_partial *out);

/* Assembles partials into the signature hc_core_append_signed takes: the multisig container of
 * the manifest's version (v1: array({signer, signature, patch 0}) + no nodes; v0: the v0
 * container), or, for a version 0 manifest with one signer and no patch, the bare signature.
 * out NULL: only *len. HC_ERR_INVALID_ARG for a signer index out of range or repeated,
 * HC_ERR_NOBUF, HC_ERR_DECODE. */
HC_EXPORT int hc_multisig_assemble(const uint8_t *manifest, size_t manifest_len,
                                   const hc_multisig_partial *partials, size_t n, uint8_t *out,
                                   size_t cap, size_t *len);

/* Checks a signature (stored form) of (tree hash, length, fork) against a core key and its
 * manifest: HC_OK, HC_ERR_BAD_SIGNATURE, HC_ERR_KEY_MISMATCH (manifest not the key's),
 * HC_ERR_DECODE. A patched proof needs the tree's roots, not just its hash: it fails here;
 * cores verify such signatures (on append, replication and open). */
HC_EXPORT HC_WARN_UNUSED int hc_multisig_verify(const uint8_t key[HC_KEY_BYTES],
                                                const uint8_t *manifest, size_t manifest_len,
                                                const uint8_t tree_hash[HC_HASH_BYTES],
                                                uint64_t length, uint64_t fork,
                                                const uint8_t *signature, size_t signature_len);

#ifdef __cplusplus
}
#endif
#endif
