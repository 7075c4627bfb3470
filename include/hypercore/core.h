/* libhypercore — the core log: create/open, append, read, truncate, clear, proofs, verify. */
#ifndef HYPERCORE_CORE_H
#define HYPERCORE_CORE_H

#include <stdbool.h>

#include "common.h"
#include "storage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_core hc_core;
typedef struct hc_snapshot hc_snapshot;

/* Options for hc_core_open. Start from HC_CORE_OPTS_INIT (every other field zero), e.g.
 *   hc_core_opts o = HC_CORE_OPTS_INIT;  o.readonly = true;
 * A version the library does not know (0, or a newer header's) is HC_ERR_BAD_VERSION. */
#define HC_CORE_OPTS_VERSION 1
typedef struct hc_core_opts {
  int version; /* HC_CORE_OPTS_VERSION */
  /* Do not create a core when the storage is empty: HC_ERR_NO_CORE instead (default: create). */
  bool no_create;
  /* Wipe any existing core first (reference `overwrite: true`). */
  bool overwrite;
  /* Open read-only: no writes at all to storage (no lock, no oplog repair). */
  bool readonly;
  /* fsync every file touched by a mutation before the call returns. Default off, as the
   * reference (which never fsyncs); hc_core_flush() always syncs. */
  bool durable;
  /* Key material for a new core, at most one of them: a 32-byte seed for the Ed25519 pair, or
   * a 64-byte secret key. Neither: a random key pair. */
  const uint8_t *seed;
  const uint8_t *secret_key;
  /* The expected core key. For a new core without key material this creates a read-only core
   * for that key (a clone); for an existing core a different stored key is HC_ERR_KEY_MISMATCH. */
  const uint8_t *key;
  /* Block encryption key (32 bytes) as the reference's `encryptionKey`; NULL: none. Not stored:
   * pass it on every open (or use hc_core_set_encryption_key). */
  const uint8_t *encryption_key;
  /* encryption_key is the block key itself (`isBlockKey`). */
  bool is_block_key;
  /* New core only: the key is the manifest hash, not the signer's public key (the reference's
   * `compat: false`), with the default signer manifest (v1, one ed25519 signer in
   * DEFAULT_NAMESPACE, quorum 1) of the key pair. Ignored when `manifest` is given. */
  bool non_compat;
  /* An encoded manifest (the reference's messages.manifest encoding, v0 or v1; see
   * include/hypercore/multisig.h to build one): custom namespaces, several signers, a quorum,
   * a prologue. New core: key = the manifest hash (`key`, if given, must equal it); the key
   * pair (seed/secret_key, optional) should be one of its signers. Existing core: must hash to
   * the stored key (else HC_ERR_KEY_MISMATCH) and is stored if the core has none yet.
   * Malformed: HC_ERR_INVALID_ARG. */
  const uint8_t *manifest;
  size_t manifest_len;
} hc_core_opts;
#ifdef __cplusplus
#define HC_CORE_OPTS_INIT {HC_CORE_OPTS_VERSION}
#else
#define HC_CORE_OPTS_INIT {.version = HC_CORE_OPTS_VERSION}
#endif

/* Opens (or creates) a core on storage from `factory`. On success the core uses the factory
 * until hc_core_close; the caller still owns (and frees) the factory afterwards. opts NULL: the
 * defaults (HC_CORE_OPTS_INIT).
 * Errors: HC_ERR_NO_CORE (empty storage and no_create), HC_ERR_CORRUPT, HC_ERR_KEY_MISMATCH,
 * HC_ERR_LOCKED, HC_ERR_INCOMPATIBLE, HC_ERR_IO, HC_ERR_NOMEM, HC_ERR_BAD_VERSION (opts or
 * factory of an unknown version). */
HC_EXPORT int hc_core_open(hc_core **out, hc_storage_factory *factory, const hc_core_opts *opts);

/* hc_core_open on files in `dir` (owns its file factory). HC_ERR_STORAGE_V11 when `dir` holds
 * JS hypercore 11 / corestore 7 storage (see hc_storage_dir_check); nothing is written then. */
HC_EXPORT int hc_core_open_dir(hc_core **out, const char *dir, const hc_core_opts *opts);

/* Flushes nothing (the oplog holds unflushed state, as in the reference) and frees the core.
 * NULL is fine. Snapshots must be freed first. */
HC_EXPORT void hc_core_close(hc_core *core);

/* Flushes the oplog into tree/bitfield/header and fsyncs every file. */
HC_EXPORT int hc_core_flush(hc_core *core);

/* Properties. */
HC_EXPORT const uint8_t *hc_core_key(const hc_core *core);           /* 32 bytes */
HC_EXPORT const uint8_t *hc_core_discovery_key(const hc_core *core); /* 32 bytes */
HC_EXPORT uint64_t hc_core_length(const hc_core *core);
HC_EXPORT uint64_t hc_core_byte_length(const hc_core *core);
HC_EXPORT uint64_t hc_core_fork(const hc_core *core);
HC_EXPORT uint64_t hc_core_contiguous_length(const hc_core *core);
/* True when the core holds a secret key that may sign alone: the compat key, or a signer of the
 * manifest when its quorum is 1 (appends also need a writable open). Multisig cores append with
 * hc_core_append_signed. */
HC_EXPORT bool hc_core_writable(const hc_core *core);
/* The current signature (NULL when length is 0 or unsigned) and its length. */
HC_EXPORT const uint8_t *hc_core_signature(const hc_core *core, size_t *len);
/* The encoded manifest (NULL if none) and its length. */
HC_EXPORT const uint8_t *hc_core_manifest(const hc_core *core, size_t *len);
/* Copies the 32-byte public key (HC_ERR_NOT_FOUND if the core has no key pair). */
HC_EXPORT int hc_core_public_key(const hc_core *core, uint8_t out[HC_KEY_BYTES]);

/* Sets (key 32 bytes) or removes (NULL) block encryption for this handle. Blocks appended are
 * encrypted, blocks read are decrypted (HC_ERR_DECRYPT when the key is wrong). */
HC_EXPORT int hc_core_set_encryption_key(hc_core *core, const uint8_t *key, bool is_block_key);
/* Bytes of padding per stored block: 8 with encryption, else 0. */
HC_EXPORT size_t hc_core_padding(const hc_core *core);

/* Appends blocks[0..n) with one signature. On success *length / *byte_length (may be NULL) hold
 * the new totals. Errors: HC_ERR_NOT_WRITABLE, HC_ERR_BLOCK_TOO_LARGE, HC_ERR_IO, HC_ERR_NOSPC. */
HC_EXPORT int hc_core_append(hc_core *core, const hc_buf *blocks, size_t n, uint64_t *length,
                             uint64_t *byte_length);

/* The tree hash, length and fork the core would have after appending blocks[0..n) (stored
 * form: encrypted when the core encrypts): what the signers of a multisig core sign (see
 * hc_multisig_sign). Nothing is stored. */
HC_EXPORT int hc_core_batch_hash(hc_core *core, const hc_buf *blocks, size_t n,
                                 uint8_t tree_hash[HC_HASH_BYTES], uint64_t *length,
                                 uint64_t *fork);

/* Appends blocks[0..n) with an externally made signature (stored form: 64 bytes for compat
 * cores, else e.g. a multisig container from hc_multisig_assemble) instead of signing with the
 * core's secret key, as the reference's append(blocks, {signature}). The signature is verified
 * against the core's manifest before anything is stored: HC_ERR_BAD_SIGNATURE (invalid, short
 * of the quorum, a signer index out of range or repeated); HC_ERR_NOT_WRITABLE if the core is
 * read-only or has no manifest and its key is not a compat key. */
HC_EXPORT int hc_core_append_signed(hc_core *core, const hc_buf *blocks, size_t n,
                                    const uint8_t *signature, size_t signature_len,
                                    uint64_t *length, uint64_t *byte_length);

/* Size in bytes of block `index`. Errors: HC_ERR_OUT_OF_RANGE, HC_ERR_NOT_AVAILABLE. */
HC_EXPORT int hc_core_block_size(hc_core *core, uint64_t index, size_t *size);

/* Reads block `index` into buf (capacity cap); *len gets its size. HC_ERR_NOBUF (with *len set)
 * if cap is too small. Errors: HC_ERR_OUT_OF_RANGE, HC_ERR_NOT_AVAILABLE, HC_ERR_IO. */
HC_EXPORT int hc_core_get(hc_core *core, uint64_t index, uint8_t *buf, size_t cap, size_t *len);

/* Like hc_core_get into a new buffer; free *out with hc_free. */
HC_EXPORT int hc_core_get_alloc(hc_core *core, uint64_t index, uint8_t **out, size_t *len);

/* Like hc_core_get, and also checks the block's hash against the signed tree
 * (HC_ERR_BAD_CHECKSUM if the stored bytes are corrupt). */
HC_EXPORT HC_WARN_UNUSED int hc_core_get_verified(hc_core *core, uint64_t index, uint8_t *buf,
                                                  size_t cap, size_t *len);

/* True when every block in [start, end) is stored locally (false if end > length). */
HC_EXPORT bool hc_core_has(hc_core *core, uint64_t start, uint64_t end);

/* Tree hash (root hash) at `length` (<= current length) into out. */
HC_EXPORT int hc_core_tree_hash(hc_core *core, uint64_t length, uint8_t out[HC_HASH_BYTES]);

/* Truncates to new_length, bumps the fork by one and re-signs. Errors: HC_ERR_NOT_WRITABLE,
 * HC_ERR_OUT_OF_RANGE (new_length > length). */
HC_EXPORT int hc_core_truncate(hc_core *core, uint64_t new_length);
/* As hc_core_truncate with an explicit fork id (must be >= the current one). */
HC_EXPORT int hc_core_truncate_fork(hc_core *core, uint64_t new_length, uint64_t fork);

/* As hc_core_truncate_fork with an externally made signature of the truncated tree (what to
 * sign: hc_core_tree_hash at new_length, new_length, fork; see hc_multisig_sign), verified
 * first: HC_ERR_BAD_SIGNATURE and nothing changes if it does not verify. new_length 0 needs no
 * signature. */
HC_EXPORT int hc_core_truncate_signed(hc_core *core, uint64_t new_length, uint64_t fork,
                                      const uint8_t *signature, size_t signature_len);

/* Drops local data of blocks [start, end) (the tree stays); *freed (may be NULL) gets the bytes
 * of block data released. */
HC_EXPORT int hc_core_clear(hc_core *core, uint64_t start, uint64_t end, uint64_t *freed);

/* Maps a byte offset to (block index, offset inside it). HC_ERR_OUT_OF_RANGE past the end. */
HC_EXPORT int hc_core_seek(hc_core *core, uint64_t byte_offset, uint64_t *index,
                           uint64_t *offset);

/* Byte offset of block `index` in the data file. */
HC_EXPORT int hc_core_byte_offset(hc_core *core, uint64_t index, uint64_t *offset);

/* User data kept in the oplog header. value NULL or len 0 deletes the key. */
HC_EXPORT int hc_core_set_user_data(hc_core *core, const char *key, const uint8_t *value,
                                    size_t len);
/* *value points into the core (valid until the next mutation); HC_ERR_NOT_FOUND if unset. */
HC_EXPORT int hc_core_get_user_data(hc_core *core, const char *key, const uint8_t **value,
                                    size_t *len);

/* Recomputes every stored block's leaf hash and every parent up to the roots and checks the
 * signature. *bad_index (may be NULL) gets the first bad block index (or UINT64_MAX when the
 * fault is not in a block, e.g. the signature). Returns HC_OK, HC_ERR_BAD_CHECKSUM or
 * HC_ERR_BAD_SIGNATURE. */
HC_EXPORT HC_WARN_UNUSED int hc_core_verify(hc_core *core, uint64_t *bad_index);

/* ---- storage management ---- */

/* Bytes per file of the core. */
typedef struct hc_storage_usage {
  uint64_t oplog, tree, bitfield, data, header;
} hc_storage_usage;

/* File sizes (*size) and bytes allocated on disk (*allocated; holes punched by clear() do not
 * count). Either may be NULL. */
HC_EXPORT int hc_core_storage_usage(hc_core *core, hc_storage_usage *size,
                                    hc_storage_usage *allocated);

/* Deletes every file of the core and closes it (the handle is freed, also on error). The core
 * must be open writable (so no other writer has it). */
HC_EXPORT int hc_core_purge(hc_core *core);

/* ---- events ---- */

/* What changed, for hc_core_update_cb. */
typedef enum hc_core_event {
  HC_EVENT_APPEND = 1,   /* local append: blocks [start, start+length) */
  HC_EVENT_TRUNCATE = 2, /* truncated (or reorged) to `start`; `length` blocks dropped; fork changed */
  HC_EVENT_UPGRADE = 3,  /* the signed length grew through a verified proof: new length = start+length */
  HC_EVENT_DOWNLOAD = 4, /* block `start` (length 1) was verified and stored */
  HC_EVENT_CLEAR = 5     /* local data of [start, start+length) dropped */
} hc_core_event;

typedef void (*hc_core_update_cb)(void *user, hc_core *core, hc_core_event event, uint64_t start,
                                  uint64_t length);

/* Registers a callback for every change to the core (called after the change is stored).
 * Returns HC_OK, HC_ERR_NOMEM. The same (cb, user) pair may be registered once. */
HC_EXPORT int hc_core_on_update(hc_core *core, hc_core_update_cb cb, void *user);
/* Removes a registration (no-op if absent). Safe to call from inside a callback. */
HC_EXPORT void hc_core_off_update(hc_core *core, hc_core_update_cb cb, void *user);

/* ---- snapshots (read-only views at a fixed length) ---- */

/* A read-only view of the core at `length` (<= current length). Reads and tree hash are those
 * of that length. After the core is truncated below it, reads of lost blocks give
 * HC_ERR_SNAPSHOT_STALE. Free with hc_snapshot_free before closing the core. */
HC_EXPORT int hc_core_snapshot(hc_core *core, uint64_t length, hc_snapshot **out);
HC_EXPORT void hc_snapshot_free(hc_snapshot *snap);
HC_EXPORT uint64_t hc_snapshot_length(const hc_snapshot *snap);
HC_EXPORT uint64_t hc_snapshot_byte_length(const hc_snapshot *snap);
HC_EXPORT uint64_t hc_snapshot_fork(const hc_snapshot *snap);
HC_EXPORT int hc_snapshot_tree_hash(hc_snapshot *snap, uint8_t out[HC_HASH_BYTES]);
HC_EXPORT int hc_snapshot_get_alloc(hc_snapshot *snap, uint64_t index, uint8_t **out,
                                    size_t *len);
HC_EXPORT bool hc_snapshot_has(hc_snapshot *snap, uint64_t start, uint64_t end);

/* ---- proofs (the structure of the reference's lib/merkle-tree.js, wire `data` encoding) ---- */

/* What to prove, the fields of a wire `request`. Not versioned: it mirrors the wire message,
 * whose fields are fixed by the protocol (a new request kind would be a new function). */
typedef struct hc_proof_request {
  bool has_block;
  uint64_t block_index, block_nodes;
  bool has_hash;
  uint64_t hash_index, hash_nodes;
  bool has_seek;
  uint64_t seek_bytes, seek_padding;
  bool has_upgrade;
  uint64_t upgrade_start, upgrade_length;
  bool manifest;
} hc_proof_request;

/* Builds a proof and encodes it as the hypercore wire `data` message body with request id
 * `request_id`. *out is allocated (hc_free). Errors: HC_ERR_OUT_OF_RANGE, HC_ERR_NOT_AVAILABLE
 * (block not stored), HC_ERR_INVALID_ARG (bad upgrade range). */
HC_EXPORT int hc_core_proof(hc_core *core, const hc_proof_request *req, uint64_t request_id,
                            uint8_t **out, size_t *out_len);

/* Verifies an encoded proof (wire `data` body) against this core's key and stored tree without
 * storing anything. HC_ERR_BAD_PROOF / HC_ERR_BAD_SIGNATURE / HC_ERR_DECODE on failure. */
HC_EXPORT HC_WARN_UNUSED int hc_core_verify_proof(hc_core *core, const uint8_t *proof,
                                                  size_t len);

/* Verifies an encoded proof and, if valid, stores what it proves (new tree nodes, upgrade,
 * block). This is what replication does with every `data` message. */
HC_EXPORT HC_WARN_UNUSED int hc_core_apply_proof(hc_core *core, const uint8_t *proof,
                                                 size_t len);

#ifdef __cplusplus
}
#endif
#endif
