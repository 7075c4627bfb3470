/* Backend-independent storage helpers. */
#include <stdlib.h>
#include <string.h>

#include "hypercore/storage.h"

int hc_storage_writev(hc_storage *st, uint64_t off, const hc_buf *bufs, size_t n) {
  const hc_storage_methods *m = st->methods;
  if (m->version >= 2 && m->writev) return m->writev(st, off, bufs, n);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (bufs[i].len > SIZE_MAX - total) return HC_ERR_INVALID_ARG;
    total += bufs[i].len;
  }
  if (total == 0) return HC_OK;
  if (n == 1) return m->write(st, off, bufs[0].data, total);
  uint8_t *joined = malloc(total);
  if (!joined) {
    /* no memory to join: one write per buffer (same bytes, more calls) */
    for (size_t i = 0; i < n; i++) {
      if (!bufs[i].len) continue;
      int rc = m->write(st, off, bufs[i].data, bufs[i].len);
      if (rc) return rc;
      off += bufs[i].len;
    }
    return HC_OK;
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (bufs[i].len) memcpy(joined + o, bufs[i].data, bufs[i].len);
    o += bufs[i].len;
  }
  int rc = m->write(st, off, joined, total);
  free(joined);
  return rc;
}
