/* Helpers shared by the fuzz targets: split one input into several files, put files into a
 * memory storage factory, abort loudly on a broken invariant (libFuzzer reports it). */
#ifndef HC_FUZZ_UTIL_H
#define HC_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypercore.h"

#define FUZZ_ASSERT(cond)                                                         \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                    \
    }                                                                             \
  } while (0)

/* Splits data into n parts: parts 0..n-2 are each a 2-byte little-endian length then that
 * many bytes (clamped to what is left), the last part is the rest. */
static inline void fuzz_split(const uint8_t *data, size_t size, size_t n, const uint8_t **p,
                              size_t *l) {
  for (size_t i = 0; i + 1 < n; i++) {
    size_t len = 0;
    if (size >= 2) {
      len = (size_t)data[0] | (size_t)data[1] << 8;
      data += 2;
      size -= 2;
    } else {
      data += size;
      size = 0;
    }
    if (len > size) len = size;
    p[i] = data;
    l[i] = len;
    data += len;
    size -= len;
  }
  p[n - 1] = data;
  l[n - 1] = size;
}

/* A memory factory holding the given files (len 0 files are created empty; NULL names are
 * skipped). Returns NULL on allocation failure. */
static inline hc_storage_factory *fuzz_memory(const char *const *names, const uint8_t *const *p,
                                              const size_t *l, size_t n) {
  hc_storage_factory *mem;
  if (hc_storage_memory_factory_new(&mem)) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (!names[i]) continue;
    hc_storage *st;
    if (mem->open(mem, names[i], HC_STORAGE_CREATE, &st)) {
      hc_storage_factory_free(mem);
      return NULL;
    }
    int rc = l[i] ? hc_storage_write(st, 0, p[i], l[i]) : HC_OK;
    hc_storage_close(st);
    if (rc) {
      hc_storage_factory_free(mem);
      return NULL;
    }
  }
  return mem;
}

/* Reads every block of an open core, verifies, and checks: a block that reads back must
 * hash to its leaf (hc_core_get_verified agrees with hc_core_get unless the tree path is
 * broken), verify OK implies every stored block reads. */
static inline void fuzz_exercise_core(hc_core *c) {
  uint64_t len = hc_core_length(c);
  if (len > 4096) len = 4096;
  int all_read = 1;
  for (uint64_t i = 0; i < len + 1; i++) {
    uint8_t *b = NULL;
    size_t bl = 0;
    int rc = hc_core_get_alloc(c, i, &b, &bl);
    if (rc == HC_OK) {
      FUZZ_ASSERT(i < hc_core_length(c));
      uint8_t *b2 = malloc(bl ? bl : 1);
      size_t bl2 = 0;
      if (b2) {
        int rc2 = hc_core_get_verified(c, i, b2, bl, &bl2);
        if (rc2 == HC_OK) FUZZ_ASSERT(bl2 == bl && memcmp(b, b2, bl) == 0);
        free(b2);
      }
      hc_free(b);
    } else if (i < hc_core_length(c) && hc_core_has(c, i, i + 1) && rc != HC_ERR_NOMEM) {
      all_read = 0;
    }
  }
  uint64_t bad;
  int rc = hc_core_verify(c, &bad);
  if (rc == HC_OK && hc_core_length(c) <= 4096) FUZZ_ASSERT(all_read);
  uint8_t h[32];
  (void)hc_core_tree_hash(c, hc_core_length(c), h);
  uint64_t idx, off;
  (void)hc_core_seek(c, hc_core_byte_length(c) / 2, &idx, &off);
  size_t ml;
  (void)hc_core_manifest(c, &ml);
}

#endif
