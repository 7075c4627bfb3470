/* A small sparse bitset for our own per-peer sets (the blocks in flight, the blocks asked for
 * with an exact proof): a hash of 4 KiB bitmap pages, at most HC_INFLIGHT_MAX_PAGES of them so
 * a peer cannot make it grow without bound. (The remote's "have" bits, which can span any
 * range, are remote_bitfield.c.) Internal (src/), used by replicator.c. */
#ifndef HC_INFLIGHT_BITS_H
#define HC_INFLIGHT_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_INFLIGHT_MAX_PAGES 8192

typedef struct hc_ibits {
  uint64_t *keys; /* page + 1 */
  uint8_t **pages;
  size_t cap, count;
} hc_ibits;

bool hc_ibits_get(const hc_ibits *b, uint64_t i);
/* Sets or clears bit i. HC_ERR_PROTOCOL when a new page would pass the cap, HC_ERR_NOMEM. */
int hc_ibits_set(hc_ibits *b, uint64_t i, bool v);
void hc_ibits_free(hc_ibits *b);

/* The hash of the open-addressed tables here and in node_set.c. */
static inline uint64_t hc_mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

#endif
