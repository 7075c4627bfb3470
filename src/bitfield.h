/* The `bitfield` file: which blocks are stored locally, in 4096-byte pages (32768 bits), bit i
 * at byte i>>3, bit i&7. Pages are written whole, only when dirty, at flush. */
#ifndef HC_BITFIELD_H
#define HC_BITFIELD_H

#include <stdbool.h>
#include <stdint.h>

#include "hypercore/storage.h"

#define HC_BITFIELD_PAGE_BYTES 4096
#define HC_BITFIELD_PAGE_BITS (HC_BITFIELD_PAGE_BYTES * 8)

typedef struct hc_bitfield_page {
  uint8_t bits[HC_BITFIELD_PAGE_BYTES];
  bool dirty;
} hc_bitfield_page;

typedef struct hc_bitfield {
  hc_storage *file; /* borrowed */
  hc_bitfield_page **pages;
  uint64_t npages; /* slots in pages[] */
} hc_bitfield;

/* Loads the whole file (size rounded down to a multiple of 4). */
int hc_bitfield_open(hc_bitfield *bf, hc_storage *file);
void hc_bitfield_cleanup(hc_bitfield *bf);
bool hc_bitfield_get(const hc_bitfield *bf, uint64_t index);
int hc_bitfield_set_range(hc_bitfield *bf, uint64_t start, uint64_t length, bool value);
/* First index >= from whose bit is `value` (UINT64_MAX if none below `limit`). */
uint64_t hc_bitfield_find(const hc_bitfield *bf, uint64_t from, bool value, uint64_t limit);
/* Are all bits in [start, end) set? */
bool hc_bitfield_all(const hc_bitfield *bf, uint64_t start, uint64_t end);
/* Writes dirty pages. */
int hc_bitfield_flush(hc_bitfield *bf);
/* Drops every page (overwrite). */
int hc_bitfield_clear(hc_bitfield *bf);

#endif
