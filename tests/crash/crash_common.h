/* Shared by crash_writer.c and crash_harness.c: the deterministic content of block i and the
 * key seed of the crash-test core. */
#ifndef HC_CRASH_COMMON_H
#define HC_CRASH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const uint8_t CRASH_SEED[32] = {'c', 'r', 'a', 's', 'h', '-', 't', 'e', 's', 't'};

/* Block i: a header naming it, then a pattern; 1..~2100 bytes, some bigger than a page. */
static inline size_t crash_block(uint64_t i, uint8_t *buf, size_t cap) {
  size_t len = (size_t)((i * 2654435761u) % (i % 17 == 0 ? 2048u : 120u)) + 24;
  if (len > cap) len = cap;
  char head[32];
  int n = snprintf(head, sizeof head, "block %llu:", (unsigned long long)i);
  for (size_t k = 0; k < len; k++)
    buf[k] = k < (size_t)n ? (uint8_t)head[k] : (uint8_t)(i * 131 + k * 7);
  return len;
}

/* Blocks per batch for the append that starts at index i (1..8). */
static inline size_t crash_batch(uint64_t i) { return (size_t)((i * 7 + 3) % 8) + 1; }

#endif
