/* See grow.h. */
#include "grow.h"

#include <stdlib.h>

#include "hypercore/common.h"

int hc_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first) {
  if (need <= *cap) return HC_OK;
  size_t n = *cap ? *cap : (first ? first : 1);
  while (n < need) {
    if (n > SIZE_MAX / 2) return HC_ERR_NOMEM;
    n *= 2;
  }
  if (elem && n > SIZE_MAX / elem) return HC_ERR_NOMEM;
  void *q = realloc(*p, n * elem);
  if (!q) return HC_ERR_NOMEM;
  *p = q;
  *cap = n;
  return HC_OK;
}

int hc_encode_alloc(hc_encode_fn fn, const void *item, size_t head, size_t tail, uint8_t **out,
                    size_t *len) {
  *out = NULL;
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  fn(&e, item);
  if (e.err) return e.err;
  size_t n = e.pos;
  if (n > SIZE_MAX - head || n + head > SIZE_MAX - tail) return HC_ERR_NOMEM;
  uint8_t *buf = malloc(head + n + tail ? head + n + tail : 1);
  if (!buf) return HC_ERR_NOMEM;
  hc_enc_init(&e, buf + head, n);
  fn(&e, item);
  if (e.err) {
    free(buf);
    return e.err;
  }
  *out = buf;
  *len = n;
  return HC_OK;
}
