/* The capped sparse bitset of our own per-peer sets: see inflight_bits.h. */
#include "inflight_bits.h"

#include <stdlib.h>
#include <string.h>

#include "bitfield.h"
#include "hypercore/common.h"

static uint8_t *ibits_page(const hc_ibits *b, uint64_t p) {
  if (!b->cap) return NULL;
  size_t mask = b->cap - 1, i = (size_t)hc_mix64(p) & mask;
  while (b->keys[i]) {
    if (b->keys[i] == p + 1) return b->pages[i];
    i = (i + 1) & mask;
  }
  return NULL;
}

static int ibits_insert(hc_ibits *b, uint64_t p, uint8_t *page) {
  size_t mask = b->cap - 1, i = (size_t)hc_mix64(p) & mask;
  while (b->keys[i]) i = (i + 1) & mask;
  b->keys[i] = p + 1;
  b->pages[i] = page;
  b->count++;
  return HC_OK;
}

static int ibits_page_make(hc_ibits *b, uint64_t p, uint8_t **out) {
  uint8_t *pg = ibits_page(b, p);
  if (pg) {
    *out = pg;
    return HC_OK;
  }
  if (b->count >= HC_INFLIGHT_MAX_PAGES) return HC_ERR_PROTOCOL;
  if ((b->count + 1) * 2 > b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 16;
    uint64_t *nk = calloc(ncap, sizeof *nk);
    uint8_t **np = calloc(ncap, sizeof *np);
    if (!nk || !np) {
      free(nk);
      free(np);
      return HC_ERR_NOMEM;
    }
    hc_ibits old = *b;
    b->keys = nk;
    b->pages = np;
    b->cap = ncap;
    b->count = 0;
    for (size_t i = 0; i < old.cap; i++)
      if (old.keys[i]) ibits_insert(b, old.keys[i] - 1, old.pages[i]);
    free(old.keys);
    free(old.pages);
  }
  pg = calloc(1, HC_BITFIELD_PAGE_BYTES);
  if (!pg) return HC_ERR_NOMEM;
  ibits_insert(b, p, pg);
  *out = pg;
  return HC_OK;
}

void hc_ibits_free(hc_ibits *b) {
  for (size_t i = 0; i < b->cap; i++)
    if (b->keys[i]) free(b->pages[i]);
  free(b->keys);
  free(b->pages);
  memset(b, 0, sizeof *b);
}

bool hc_ibits_get(const hc_ibits *b, uint64_t i) {
  uint8_t *pg = ibits_page(b, i / HC_BITFIELD_PAGE_BITS);
  if (!pg) return false;
  uint64_t j = i % HC_BITFIELD_PAGE_BITS;
  return (pg[j >> 3] >> (j & 7)) & 1;
}

int hc_ibits_set(hc_ibits *b, uint64_t i, bool v) {
  uint8_t *pg;
  if (!v) {
    pg = ibits_page(b, i / HC_BITFIELD_PAGE_BITS);
    if (!pg) return HC_OK;
  } else {
    int rc = ibits_page_make(b, i / HC_BITFIELD_PAGE_BITS, &pg);
    if (rc) return rc;
  }
  uint64_t j = i % HC_BITFIELD_PAGE_BITS;
  if (v) pg[j >> 3] |= (uint8_t)(1u << (j & 7));
  else pg[j >> 3] &= (uint8_t) ~(1u << (j & 7));
  return HC_OK;
}

