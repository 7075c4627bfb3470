/* Internal view of hc_core (for core.c and the replicator). */
#ifndef HC_CORE_INTERNAL_H
#define HC_CORE_INTERNAL_H

#include "bitfield.h"
#include "block_encryption.h"
#include "block_store.h"
#include "hypercore/core.h"
#include "merkle.h"
#include "merkle_reorg.h"
#include "oplog.h"

struct hc_core {
  hc_storage_factory *factory;
  bool own_factory;
  hc_storage_factory *empty_factory; /* stand-ins for missing files when read-only */
  hc_storage *oplog_file, *tree_file, *bitfield_file, *data_file, *header_file;
  hc_oplog oplog;
  hc_oplog_header header;
  hc_merkle tree;
  hc_bitfield bitfield;
  bool tree_inited, bitfield_inited, header_inited, tree_ready;
  uint8_t discovery_key[HC_KEY_BYTES];
  bool compat, readonly, durable;
  bool failed;       /* memory and storage diverged after an error: reopen */
  bool signature_ok; /* current signature checked */
  int auto_flush;
  bool manifest_flushed;
  uint64_t ext_start, ext_length; /* big header position */
  uint64_t *truncations;          /* ancestors of each truncation (for snapshots) */
  size_t ntruncations, truncations_cap;
  uint8_t *manifest_buf;
  bool encrypted;
  hc_block_encryption encryption;
  size_t refs; /* extra handles (sessions); the core frees when the last one closes */
  /* deferred downloads (hc__core_defer_begin/end): verified blocks and their oplog entries
   * wait in memory and go out with one data write per contiguous run and one oplog write */
  int deferring;
  uint8_t *d_data, *d_oplog;
  size_t d_data_len, d_data_cap, d_oplog_len, d_oplog_cap, d_entries;
  struct hc_defer_run {
    uint64_t off;
    size_t pos, len;
  } *d_runs;
  size_t d_nruns, d_runs_cap;
  struct hc_defer_event {
    hc_core_event ev;
    uint64_t start, length;
  } *d_events;
  size_t d_nevents, d_events_cap;
  hc_readahead ra; /* of sequential block reads (block_store.c) */
  struct hc_core_listener {
    hc_core_update_cb cb;
    void *user;
  } *listeners;
  size_t nlisteners, listeners_cap;
};

/* Calls every listener. */
void hc__core_emit(hc_core *c, hc_core_event ev, uint64_t start, uint64_t length);

/* Verifies a decoded proof (wire data) against the core and stores what it proves (nodes,
 * upgrade, block). *stored_block is set when the block was new and written. Errors:
 * HC_ERR_BAD_PROOF / HC_ERR_BAD_SIGNATURE (nothing stored), HC_ERR_NOT_AVAILABLE (the proof
 * stops at a node the tree does not have; nothing stored), HC_ERR_IO, ... */
int hc__core_apply(hc_core *c, const hc_proof *p, bool *stored_block);

/* Groups the writes of the verified downloads that follow (until hc__core_defer_end) into one
 * data write per contiguous run and one oplog write; events fire after the writes. Nested
 * calls are counted. Other mutations write what is pending first. Durable cores do not
 * defer. */
void hc__core_defer_begin(hc_core *c);
int hc__core_defer_end(hc_core *c);

/* A switch to a remote's fork (hc_reorg, the fork-point search): merkle_reorg.h. */

/* Verifies a fork proof (`p`: an upgrade from 0 at a fork greater than ours, signed; checked
 * against the key alone) and starts the search. HC_ERR_BAD_PROOF / HC_ERR_BAD_SIGNATURE. */
int hc__core_reorg_begin(hc_core *c, const hc_proof *p, hc_reorg *r);
/* Feeds the answer to a `hash` request: it must hash to the current diff node
 * (HC_ERR_BAD_PROOF otherwise; HC_ERR_BUSY if our tree changed since begin). */
int hc__core_reorg_update(hc_core *c, hc_reorg *r, const hc_proof *p);
/* Truncates to r->ancestors (finished or not: a safe prefix either way) and adopts the new
 * tree; frees r. HC_ERR_BUSY (r kept) if our tree changed since begin. */
int hc__core_reorg_apply(hc_core *c, hc_reorg *r, uint64_t *ancestors);
void hc__core_reorg_cleanup(hc_reorg *r);

/* The secret key (seed || public key) in the core's oplog header; HC_ERR_NOT_FOUND without
 * one (src/core_keys.c). */
int hc__core_secret_key(const hc_core *c, uint8_t out[64]);
/* begin + apply at once (the search goes only as far as the fork proof's own nodes reach). */
int hc__core_reorg(hc_core *c, const hc_proof *p, uint64_t *ancestors);

/* The stored form of a block (ciphertext on encrypted cores), hash checked; *out allocated. */
int hc__core_get_raw(hc_core *c, uint64_t index, uint8_t **out, size_t *len);

/* Builds the proof answering `req` (block value and manifest filled in). */
int hc__core_build_proof(hc_core *c, const hc_proof_request *req, hc_proof *p, uint8_t **value);

#endif
