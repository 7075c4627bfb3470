/* Internal view of hc_core (for core.c and the replicator). */
#ifndef HC_CORE_INTERNAL_H
#define HC_CORE_INTERNAL_H

#include "bitfield.h"
#include "hypercore/core.h"
#include "merkle.h"
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
  uint8_t discovery_key[32];
  bool compat, readonly, durable;
  bool failed;       /* memory and storage diverged after an error: reopen */
  bool signature_ok; /* current signature checked */
  int auto_flush;
  bool manifest_flushed;
  uint64_t ext_start, ext_length; /* big header position */
  uint64_t *truncations;          /* ancestors of each truncation (for snapshots) */
  size_t ntruncations, truncations_cap;
  uint8_t *manifest_buf;
};

#endif
