/* The fork-point search of a switch to a remote's fork (ReorgBatch of lib/merkle-tree.js):
 * the remote's verified tree, and the walk down from the first root that differs from ours to
 * the first block where the two trees differ. Pure Merkle code: it reads our tree and the
 * verified nodes, never storage; core.c decides when to start it and applies its result.
 * Internal (src/), used by core.c (and, through hc__core_reorg_*, the replicator). */
#ifndef HC_MERKLE_REORG_H
#define HC_MERKLE_REORG_H

#include <stdbool.h>
#include <stdint.h>

#include "merkle.h"

/* A switch to a remote's fork in progress: its verified tree, and the search for the first
 * block where it differs from ours. Blocks before `ancestors` are known to be shared; until
 * `finished`, a `hash` request for leaf 2*i, i in [want_start, want_end), with `want_nodes`
 * nodes, narrows it down (one level or more each). */
typedef struct hc_reorg {
  bool active, finished;
  hc_merkle_batch batch; /* new roots/length/fork/signature and every verified node */
  hc_node diff;          /* the highest node known to differ */
  uint64_t ancestors;
  uint64_t want_start, want_end, want_nodes;
  uint64_t tree_length, tree_fork; /* ours when it began: a change in between voids it */
} hc_reorg;

/* Starts the search from `vb`, the remote's upgrade from 0 verified against the key alone:
 * copies its roots, length, fork, signature and nodes into r->batch (a batch on `ours`) and
 * walks down from the first root that differs. HC_ERR_NOMEM (r cleaned up). */
int hc_merkle_reorg_start(hc_merkle *ours, const hc_merkle_batch *vb, hc_reorg *r);
/* Feeds the answer to a `hash` request: it must hash to the current diff node
 * (HC_ERR_BAD_PROOF otherwise; HC_ERR_BUSY if `ours` changed since the start). */
int hc_merkle_reorg_update(const hc_merkle *ours, hc_reorg *r, const hc_proof *p);
/* Frees r (safe on a zeroed or already cleaned-up r). */
void hc_merkle_reorg_cleanup(hc_reorg *r);

#endif
