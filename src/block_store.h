/* Reads of the `data` file (the block store): the read-ahead that serves sequential reads of
 * small blocks from one pread. Which bytes a block occupies is the Merkle tree's business
 * (core.c asks it); this file only reads bytes. Internal (src/), used by core.c. */
#ifndef HC_BLOCK_STORE_H
#define HC_BLOCK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hypercore/storage.h"

#define HC_READAHEAD_BYTES (64u * 1024u)

/* Data bytes [off, off + len) held at buf (cap bytes allocated); `next` is where the previous
 * read ended (a read starting there is sequential). Zeroed = empty. */
typedef struct hc_readahead {
  uint8_t *buf;
  size_t cap, len;
  uint64_t off, next;
} hc_readahead;

/* Reads data bytes [off, off + sz) of `data` (whose blocks end at data_end) into buf, through
 * the read-ahead. HC_ERR_SHORT_READ and storage errors as hc_storage_read. */
int hc_block_store_read(hc_readahead *ra, hc_storage *data, uint64_t data_end, uint64_t off,
                        uint8_t *buf, size_t sz);
/* Forgets what is held: every write to the data file calls it. */
static inline void hc_readahead_drop(hc_readahead *ra) { ra->len = 0; }
void hc_readahead_free(hc_readahead *ra);

#endif
