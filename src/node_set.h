/* A counted set of tree nodes (flat indices) that in-flight requests will bring, so a request
 * can ask for fewer nodes (lib/replicator.js counts them the same way). Open addressing with
 * backward-shift deletion. Internal (src/), used by replicator.c. */
#ifndef HC_NODE_SET_H
#define HC_NODE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hc_nset {
  uint64_t *keys; /* index + 1; 0 = empty */
  uint32_t *counts;
  size_t cap, count;
} hc_nset;

bool hc_nset_has(const hc_nset *s, uint64_t k);
/* Counts k once more. Out of memory leaves the node out: later requests then just ask for
 * more nodes. */
void hc_nset_add(hc_nset *s, uint64_t k);
/* Counts k once less (drops it at zero). */
void hc_nset_remove(hc_nset *s, uint64_t k);
void hc_nset_free(hc_nset *s);

#endif
