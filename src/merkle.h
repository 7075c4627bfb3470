/* The Merkle tree of a core (the reference's lib/merkle-tree.js): roots, signed length, fork,
 * unflushed nodes, the `tree` file (40-byte slots), batches, byte offsets, proofs. */
#ifndef HC_MERKLE_H
#define HC_MERKLE_H

#include <stdbool.h>

#include "crypto.h"
#include "hypercore/core.h"
#include "hypercore/storage.h"

#define HC_MAX_ROOTS 64
#define HC_TREE_SLOT_BYTES 40

typedef struct hc_node_map hc_node_map; /* index -> node, open addressing */

typedef struct hc_merkle {
  hc_storage *file; /* the `tree` file (borrowed) */
  uint64_t length, byte_length, fork;
  hc_node roots[HC_MAX_ROOTS];
  size_t nroots;
  uint8_t *signature; /* NULL when unsigned */
  size_t signature_len;
  /* Prologue of the manifest (has_prologue): the tree at prologue_length must hash to it. */
  bool has_prologue;
  uint8_t prologue_hash[HC_HASH_BYTES];
  uint64_t prologue_length;
  /* Nodes not yet written to the file; a blank node (size 0, zero hash) erases a slot. */
  hc_node_map *unflushed;
  bool truncated;
  uint64_t truncate_to;
  /* Bounded read cache of the `tree` file (merkle.c): hashed direct-mapped nodes of depth >= 7
   * and whole 128-slot chunks (a depth-6 subtree each) for the levels below. Copies of the
   * struct share it. */
  struct hc_merkle_cache *cache;
} hc_merkle;

/* Opens the tree on `file` with the state from the oplog header/replay (length, fork,
 * signature); roots are loaded from `unflushed` first, then the file. HC_ERR_INCOMPATIBLE for a
 * v9 tree, HC_ERR_CORRUPT when a root is missing. */
int hc_merkle_init(hc_merkle *m, hc_storage *file);
/* Sets length/fork/signature and (re)loads roots for that length. */
int hc_merkle_set_head(hc_merkle *m, uint64_t length, uint64_t fork, const uint8_t *sig,
                       size_t siglen);
void hc_merkle_cleanup(hc_merkle *m);

/* Adds a node to the unflushed set (from oplog replay or a verified proof). */
int hc_merkle_add_node(hc_merkle *m, const hc_node *node);

/* Fetches node `index`: unflushed set, cache, then file. HC_ERR_NOT_FOUND when absent or
 * blank (never made, or erased by truncation). */
int hc_merkle_get(hc_merkle *m, uint64_t index, hc_node *out);
/* Is node present (no I/O error)? */
bool hc_merkle_has(hc_merkle *m, uint64_t index);

/* Roots for a tree of `length` blocks (<= m->length). *n gets the count. */
int hc_merkle_get_roots(hc_merkle *m, uint64_t length, hc_node *roots, size_t *n);
/* Tree hash at the current length. */
void hc_merkle_hash(const hc_merkle *m, uint8_t out[HC_HASH_BYTES]);
/* Byte offset of node `index` (2*block for a block; index == 2*length gives byte_length). */
int hc_merkle_byte_offset(hc_merkle *m, uint64_t index, uint64_t *out);
/* Maps a byte offset to (block, offset in block) with `padding` bytes per block hidden. */
int hc_merkle_seek(hc_merkle *m, uint64_t bytes, uint64_t padding, uint64_t *block,
                   uint64_t *offset);

/* Writes unflushed nodes and a pending truncation to the file (tree flush step). */
int hc_merkle_flush(hc_merkle *m);

/* ---- batches (MerkleTreeBatch) ---- */
typedef struct hc_merkle_batch {
  hc_merkle *tree;
  uint64_t fork, length, byte_length, ancestors;
  uint64_t tree_length, tree_fork; /* the tree's state when the batch began */
  hc_node roots[HC_MAX_ROOTS];
  size_t nroots;
  hc_node *nodes; /* new nodes in creation order */
  size_t nnodes, nodes_cap;
  uint8_t *signature;
  size_t signature_len;
  bool upgraded;
} hc_merkle_batch;

int hc_merkle_batch_init(hc_merkle_batch *b, hc_merkle *m);
void hc_merkle_batch_cleanup(hc_merkle_batch *b);
/* Appends a block's leaf (hashing `data`). */
int hc_merkle_batch_append(hc_merkle_batch *b, const uint8_t *data, size_t len);
/* Appends a precomputed leaf hash of a block of `size` bytes. */
int hc_merkle_batch_append_leaf(hc_merkle_batch *b, const uint8_t hash[HC_HASH_BYTES],
                                uint64_t size);
/* Pushes a node as the new last root and merges parents (appendRoot). */
int hc_merkle_batch_append_root(hc_merkle_batch *b, const hc_node *node);
/* Adds a node to the batch's node list. */
int hc_merkle_batch_push_node(hc_merkle_batch *b, const hc_node *node);
/* Node lookup in the batch's nodes, then the tree. */
int hc_merkle_batch_get(hc_merkle_batch *b, uint64_t index, hc_node *out);
void hc_merkle_batch_hash(const hc_merkle_batch *b, uint8_t out[HC_HASH_BYTES]);
/* Takes a copy of the signature. */
int hc_merkle_batch_set_signature(hc_merkle_batch *b, const uint8_t *sig, size_t len);
/* Prepares a truncation to `length` with fork `fork` (roots of that length, ancestors). */
int hc_merkle_batch_truncate(hc_merkle_batch *b, uint64_t length, uint64_t fork);
/* HC_ERR_BUSY if the tree changed under the batch. Applies roots/length/fork/signature and
 * moves the nodes into the unflushed set (and blanks/truncation for a truncating batch). */
int hc_merkle_batch_commit(hc_merkle_batch *b);

/* ---- proofs (generateProof / verify in merkle-tree.js) ---- */

/* A decoded proof: the body of a wire `data` message. Pointers borrow from the decoded input
 * or from arrays the proof owns (hc_proof_cleanup). */
typedef struct hc_proof {
  uint64_t request; /* request id (wire only) */
  uint64_t fork;
  bool has_block;
  uint64_t block_index;
  const uint8_t *block_value;
  size_t block_value_len;
  hc_node *block_nodes;
  size_t n_block_nodes;
  bool has_hash;
  uint64_t hash_index;
  hc_node *hash_nodes;
  size_t n_hash_nodes;
  bool has_seek;
  uint64_t seek_bytes;
  hc_node *seek_nodes;
  size_t n_seek_nodes;
  bool has_upgrade;
  uint64_t upgrade_start, upgrade_length;
  hc_node *upgrade_nodes;
  size_t n_upgrade_nodes;
  hc_node *upgrade_additional;
  size_t n_upgrade_additional;
  const uint8_t *upgrade_signature;
  size_t upgrade_signature_len;
  bool has_manifest;
  const uint8_t *manifest; /* encoded manifest */
  size_t manifest_len;
  void *owned; /* allocation backing the node arrays */
} hc_proof;

void hc_proof_cleanup(hc_proof *p);

/* Builds the proof for `req` from tree `m`; the block value is not filled in (the caller reads
 * it from data). Node arrays are allocated into p->owned. */
int hc_merkle_proof(hc_merkle *m, const hc_proof_request *req, hc_proof *p);

/* Verifies the signature over (tree hash, length, fork) of a batch: a callback so the merkle
 * code does not need to know about manifests. Returns HC_OK or HC_ERR_BAD_SIGNATURE. */
typedef int (*hc_merkle_verify_sig_cb)(void *ctx, const hc_merkle_batch *b, const uint8_t *sig,
                                       size_t siglen);

/* Verifies proof `p` against tree `m` (tree.verify): on success *out holds a batch with every
 * new node (including the block's leaf) and, for an upgrade, the new roots/length/fork/
 * signature. Nothing is stored. HC_ERR_BAD_PROOF / HC_ERR_BAD_SIGNATURE on failure;
 * HC_ERR_NOT_AVAILABLE when the proof's top node is one this tree does not have (a proof
 * for fewer nodes than the tree lacks: the caller decides whether that is the peer's fault). */
int hc_merkle_verify(hc_merkle *m, const hc_proof *p, hc_merkle_verify_sig_cb verify_sig,
                     void *ctx, hc_merkle_batch *out);

/* Multisig patches (lib/verifier.js generateUpgrade + batch.verifyUpgrade): the hash of the
 * tree of `length` blocks with `roots` extended by `add` blocks, the upgrade nodes taken from
 * `patch`. HC_ERR_BAD_SIGNATURE when the patch lacks a node or does not fit. */
int hc_merkle_patch_hash(const hc_node *roots, size_t nroots, uint64_t length, const hc_node *patch,
                         size_t npatch, uint64_t add, uint8_t hash[HC_HASH_BYTES]);

/* verifyTree: hashes the block/hash (and seek) paths of `p` up to their top node (*root, when
 * *has_root) and pushes every node, given and computed, to `b`. Checks nothing against a tree:
 * the caller compares *root with a node it trusts. */
int hc_merkle_verify_tree(const hc_proof *p, hc_merkle_batch *b, bool *has_root, hc_node *root);

/* Nodes the tree lacks on the path from leaf `2*index` up (missingNodes; for request.block). */
int hc_merkle_missing_nodes(hc_merkle *m, uint64_t index, uint64_t *count);
/* The same, also stopping at a node `pending(ctx, index)` says will arrive (pipelined requests
 * count on earlier ones); *stopped_pending tells whether that is where it stopped. */
typedef bool (*hc_merkle_node_pred)(void *ctx, uint64_t index);
int hc_merkle_missing_nodes_until(hc_merkle *m, uint64_t index, hc_merkle_node_pred pending,
                                  void *ctx, uint64_t *count, bool *stopped_pending);

#endif
