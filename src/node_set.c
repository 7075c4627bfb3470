/* The counted node set of in-flight requests: see node_set.h. */
#include "node_set.h"

#include <stdlib.h>
#include <string.h>

#include "inflight_bits.h" /* hc_mix64 */

static size_t nset_find(const hc_nset *s, uint64_t k) {
  size_t mask = s->cap - 1, i = (size_t)hc_mix64(k) & mask;
  while (s->keys[i] && s->keys[i] != k + 1) i = (i + 1) & mask;
  return i;
}

bool hc_nset_has(const hc_nset *s, uint64_t k) {
  return s->count && s->keys[nset_find(s, k)] != 0;
}

void hc_nset_add(hc_nset *s, uint64_t k) {
  if ((s->count + 1) * 2 > s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 256;
    hc_nset old = *s;
    s->keys = calloc(ncap, sizeof *s->keys);
    s->counts = calloc(ncap, sizeof *s->counts);
    if (!s->keys || !s->counts) {
      free(s->keys);
      free(s->counts);
      *s = old;
      return;
    }
    s->cap = ncap;
    s->count = 0;
    for (size_t i = 0; i < old.cap; i++) {
      if (!old.keys[i]) continue;
      size_t j = nset_find(s, old.keys[i] - 1);
      s->keys[j] = old.keys[i];
      s->counts[j] = old.counts[i];
      s->count++;
    }
    free(old.keys);
    free(old.counts);
  }
  size_t i = nset_find(s, k);
  if (!s->keys[i]) {
    s->keys[i] = k + 1;
    s->counts[i] = 0;
    s->count++;
  }
  s->counts[i]++;
}

void hc_nset_remove(hc_nset *s, uint64_t k) {
  if (!s->count) return;
  size_t mask = s->cap - 1, i = nset_find(s, k);
  if (!s->keys[i] || --s->counts[i]) return;
  /* backward-shift deletion keeps every probe chain intact */
  s->keys[i] = 0;
  s->count--;
  for (size_t j = (i + 1) & mask; s->keys[j]; j = (j + 1) & mask) {
    size_t home = (size_t)hc_mix64(s->keys[j] - 1) & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      s->keys[i] = s->keys[j];
      s->counts[i] = s->counts[j];
      s->keys[j] = 0;
      i = j;
    }
  }
}

void hc_nset_free(hc_nset *s) {
  free(s->keys);
  free(s->counts);
  memset(s, 0, sizeof *s);
}

