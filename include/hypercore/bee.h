/* libhypercore — Hyperbee: the B-tree key-value store kept in a core (hyperbee 2.x format).
 *
 * Block 0 holds a header, every other block one node: a key, an optional value and the
 * copy-on-write index of the tree levels it changed. A bee reads through its core, so a sparse
 * replica fetches only the blocks on the paths it walks (give hc_bee_opts.get_block, e.g. a
 * wrapper of hc_net_get). Writes (put, del, batches) need a writable core and produce a tree
 * that the reference reads and extends (the same bytes as hyperbee 2.27.3 for the same
 * operations). Keys and values are bytes; keys compare bytewise. */
#ifndef HYPERCORE_BEE_H
#define HYPERCORE_BEE_H

#include <stdbool.h>

#include "common.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_bee hc_bee;

/* Reads block `index` of `core` into *out (allocated, freed with hc_free). Return HC_OK or an
 * error (HC_ERR_NOT_AVAILABLE, HC_ERR_TIMEOUT, ...), which the bee call returns. */
typedef int (*hc_bee_get_block_cb)(void *user, hc_core *core, uint64_t index, uint8_t **out,
                                   size_t *len);

/* Options for hc_bee_open: start from HC_BEE_OPTS_INIT (another version is
 * HC_ERR_BAD_VERSION). */
#define HC_BEE_OPTS_VERSION 1
typedef struct hc_bee_opts {
  int version;
  /* How blocks are read (NULL: hc_core_get_alloc, local blocks only). */
  hc_bee_get_block_cb get_block;
  void *get_block_user;
  /* Decoded nodes kept in memory (0: 4096). Memory stays bounded whatever the bee's size. */
  size_t cache_nodes;
  /* The header written when the first put goes to an empty core: with header_metadata the
   * Metadata message is present, with content_feed / user_data when non-NULL (Hyperdrive
   * stores its blobs key as content_feed). */
  bool header_metadata;
  const uint8_t *content_feed;
  size_t content_feed_len;
  const uint8_t *user_data;
  size_t user_data_len;
} hc_bee_opts;
#ifdef __cplusplus
#define HC_BEE_OPTS_INIT {HC_BEE_OPTS_VERSION}
#else
#define HC_BEE_OPTS_INIT {.version = HC_BEE_OPTS_VERSION}
#endif

/* Opens a bee on `core` (borrowed: close the bee before the core). A non-empty core must hold
 * a Hyperbee header in block 0, else HC_ERR_NOT_A_BEE. An empty core is an empty bee (the
 * header is written by the first put). Errors also: HC_ERR_NOMEM, the get_block error. */
HC_EXPORT int hc_bee_open(hc_bee **out, hc_core *core, const hc_bee_opts *opts);
/* Closes a bee, a checkout or a sub (each handle is closed on its own; NULL is fine). */
HC_EXPORT void hc_bee_close(hc_bee *bee);
HC_EXPORT hc_core *hc_bee_core(const hc_bee *bee);
/* The version: the core's length (at least 1), or the checkout's version. */
HC_EXPORT uint64_t hc_bee_version(const hc_bee *bee);
/* A read-only view of the bee as of `version` (0 is 1; the reference's checkout). */
HC_EXPORT int hc_bee_checkout(hc_bee *bee, uint64_t version, hc_bee **out);
/* A view of the keys under prefix + sep (sep NULL: one 0x00 byte), as the reference's sub():
 * keys given and returned are without the prefix. Subs of subs nest. */
HC_EXPORT int hc_bee_sub(hc_bee *bee, const uint8_t *prefix, size_t prefix_len,
                         const uint8_t *sep, size_t sep_len, hc_bee **out);
/* The header's contentFeed (*len 0 and *out NULL when absent); *out points into the bee. */
HC_EXPORT int hc_bee_content_feed(hc_bee *bee, const uint8_t **out, size_t *len);

/* An entry: one allocation, free with hc_bee_entry_free. */
typedef struct hc_bee_entry {
  uint64_t seq; /* the block holding it */
  uint8_t *key; /* without a sub's prefix */
  size_t key_len;
  uint8_t *value; /* NULL when has_value is false */
  size_t value_len;
  bool has_value;
  bool deleted; /* history: a del */
} hc_bee_entry;
HC_EXPORT void hc_bee_entry_free(hc_bee_entry *e);

/* The entry of `key`: HC_OK, HC_ERR_NOT_FOUND, HC_ERR_BEE_CORRUPT (a node or an index that
 * is not valid: never a crash or a loop), or a read error. */
HC_EXPORT int hc_bee_get(hc_bee *bee, const uint8_t *key, size_t key_len, hc_bee_entry **out);

/* A key range: NULL bounds are open (gt wins over gte, lt over lte, as the reference). */
#define HC_BEE_RANGE_VERSION 1
typedef struct hc_bee_range {
  int version;
  const uint8_t *gt, *gte, *lt, *lte;
  size_t gt_len, gte_len, lt_len, lte_len;
  bool reverse;
  uint64_t limit; /* 0: no limit */
} hc_bee_range;
#ifdef __cplusplus
#define HC_BEE_RANGE_INIT {HC_BEE_RANGE_VERSION}
#else
#define HC_BEE_RANGE_INIT {.version = HC_BEE_RANGE_VERSION}
#endif

typedef struct hc_bee_iter hc_bee_iter;
/* Iterates the keys of the range in order (range NULL: all). */
HC_EXPORT int hc_bee_iter_new(hc_bee *bee, const hc_bee_range *range, hc_bee_iter **out);
/* The next entry: HC_OK, HC_ERR_NOT_FOUND at the end, HC_ERR_BEE_CORRUPT, a read error. */
HC_EXPORT int hc_bee_iter_next(hc_bee_iter *it, hc_bee_entry **out);
HC_EXPORT void hc_bee_iter_free(hc_bee_iter *it);
/* The first entry of the range (HC_ERR_NOT_FOUND when empty). */
HC_EXPORT int hc_bee_peek(hc_bee *bee, const hc_bee_range *range, hc_bee_entry **out);

/* The log of puts and dels in blocks [gte, lt) (0: from 1 / up to the version), newest first
 * with reverse, at most limit (0: all) entries; `deleted` tells a del from a put. */
HC_EXPORT int hc_bee_history_new(hc_bee *bee, uint64_t gte, uint64_t lt, bool reverse,
                                 uint64_t limit, hc_bee_iter **out);

/* ---- writing (a writable core; not on checkouts) ---- */

/* Puts key = value (value NULL: the reference's null value). *version (may be NULL) gets the
 * new version. HC_ERR_NOT_WRITABLE on a read-only core or a checkout. */
HC_EXPORT int hc_bee_put(hc_bee *bee, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len, uint64_t *version);
/* Deletes key; nothing is appended when it is absent (*version unchanged). */
HC_EXPORT int hc_bee_del(hc_bee *bee, const uint8_t *key, size_t key_len, uint64_t *version);

/* A batch: puts and dels applied in memory, appended together with one signature. */
typedef struct hc_bee_batch hc_bee_batch;
HC_EXPORT int hc_bee_batch_new(hc_bee *bee, hc_bee_batch **out);
HC_EXPORT int hc_bee_batch_put(hc_bee_batch *b, const uint8_t *key, size_t key_len,
                               const uint8_t *value, size_t value_len);
HC_EXPORT int hc_bee_batch_del(hc_bee_batch *b, const uint8_t *key, size_t key_len);
/* Appends every operation of the batch in one append; the batch is empty again after. */
HC_EXPORT int hc_bee_batch_flush(hc_bee_batch *b, uint64_t *version);
/* Drops what was not flushed (NULL is fine). */
HC_EXPORT void hc_bee_batch_free(hc_bee_batch *b);

#ifdef __cplusplus
}
#endif
#endif
