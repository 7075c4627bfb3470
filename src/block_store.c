/* The read-ahead of the block store: see block_store.h. */
#include "block_store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Grows the read-ahead buffer to hold n bytes, sized to the data left, up to
 * HC_READAHEAD_BYTES: a store serving hundreds of small cores pays a few KB each, not 64 KiB.
 * No memory is not an error: the caller then reads directly. */
static void readahead_reserve(hc_readahead *ra, size_t n) {
  size_t cap = (n + 4095) & ~(size_t)4095;
  if (cap > HC_READAHEAD_BYTES) cap = HC_READAHEAD_BYTES;
  uint8_t *nb = realloc(ra->buf, cap);
  ra->len = 0;
  if (nb) {
    ra->buf = nb;
    ra->cap = cap;
  }
}

/* Sequential reads of small blocks are served from one read-ahead of up to
 * HC_READAHEAD_BYTES (dropped by every write to the data file), so a scan or a peer
 * downloading in order costs one pread per 64 KiB instead of one per block. */
int hc_block_store_read(hc_readahead *ra, hc_storage *data, uint64_t data_end, uint64_t off,
                        uint8_t *buf, size_t sz) {
  if (!sz) return HC_OK; /* an empty block (buf may be NULL) */
  bool seq = off == ra->next;
  ra->next = off + sz;
  if (ra->len && off >= ra->off && off - ra->off <= ra->len && sz <= ra->len - (off - ra->off)) {
    memcpy(buf, ra->buf + (off - ra->off), sz);
    if (off + sz == ra->off + ra->len) {
      /* window used up: give it back, so an open core that is not being read holds no
       * read-ahead (a seeder of 1,000 cores kept up to 64 KiB per core) */
      free(ra->buf);
      ra->buf = NULL;
      ra->cap = ra->len = 0;
    }
    return HC_OK;
  }
  if (seq && sz < HC_READAHEAD_BYTES / 4 && off < data_end) {
    uint64_t left = data_end - off;
    size_t n = left < HC_READAHEAD_BYTES ? (size_t)left : HC_READAHEAD_BYTES;
    if (n >= sz && ra->cap < n) readahead_reserve(ra, n);
    if (n >= sz && ra->buf && ra->cap >= n) {
      ra->len = 0;
      int rc = hc_storage_read(data, off, ra->buf, n);
      if (rc == HC_OK) {
        ra->off = off;
        ra->len = n;
        memcpy(buf, ra->buf, sz);
        return HC_OK;
      }
      if (rc != HC_ERR_SHORT_READ) return rc; /* short (a sparse tail): read just the block */
    }
  }
  return hc_storage_read(data, off, buf, sz);
}

void hc_readahead_free(hc_readahead *ra) {
  free(ra->buf);
  memset(ra, 0, sizeof *ra);
}
