/* The remote peer's "have" bits (lib/remote-bitfield.js kept apart as in the reference), stored
 * sparsely so memory follows what the peer really announced, and every operation costs what it
 * touches, not what is stored:
 *
 *   - the bit space is cut in pages of HC_RB_PAGE_BITS bits;
 *   - a page with some bits set is a 128-byte bitmap; a run of full pages is ONE node whatever
 *     its length (a `range` of 2^50 blocks costs a node, not 2^40 pages); empty pages are
 *     nothing (all-zero bitmaps are freed, full bitmaps become runs and merge with neighbours);
 *   - nodes live in a treap (random priorities the peer cannot steer) keyed by first page, so
 *     a lookup is O(log n) and a range set/clear is O(log n + nodes it removes).
 *
 * Internal (src/), used by replicator.c. */
#ifndef HC_REMOTE_BITFIELD_H
#define HC_REMOTE_BITFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_RB_PAGE_BITS 1024u
#define HC_RB_PAGE_WORDS (HC_RB_PAGE_BITS / 64u)

typedef struct hc_rb_node hc_rb_node;

typedef struct hc_rbits {
  hc_rb_node *root;
  uint64_t rng;         /* treap priorities */
  size_t nodes, pages;  /* nodes, and how many of them carry a bitmap */
} hc_rbits;

void hc_rb_init(hc_rbits *b);
void hc_rb_free(hc_rbits *b);
bool hc_rb_get(const hc_rbits *b, uint64_t i);
/* Sets or clears bits [start, start + len) (saturating at 2^64 - 1). HC_ERR_NOMEM leaves the
 * set consistent (some bits may not have changed). */
int hc_rb_set_range(hc_rbits *b, uint64_t start, uint64_t len, bool v);
/* ORs n little-endian 32-bit words (a `bitfield` message) in at bit `start`. */
int hc_rb_or_words(hc_rbits *b, uint64_t start, const uint8_t *words_le, size_t n);
/* First set bit in [i, end), or UINT64_MAX. */
uint64_t hc_rb_next_set(const hc_rbits *b, uint64_t i, uint64_t end);
/* First clear bit at or after i (UINT64_MAX if every bit up to 2^64 - 1 is set). */
uint64_t hc_rb_next_clear(const hc_rbits *b, uint64_t i);
/* Bytes of memory held. */
size_t hc_rb_memory(const hc_rbits *b);

#endif
