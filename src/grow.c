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

/* The first pass: the item's length. */
static int encode_size(hc_encode_fn fn, const void *item, size_t *n) {
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  int rc = fn(&e, item);
  if (!rc) rc = e.err;
  *n = e.pos;
  return rc;
}

/* The second pass, into exactly n bytes at buf. */
static int encode_at(hc_encode_fn fn, const void *item, uint8_t *buf, size_t n) {
  hc_enc e;
  hc_enc_init(&e, buf, n);
  int rc = fn(&e, item);
  if (!rc) rc = e.err;
  if (!rc && e.pos != n) rc = HC_ERR_NOBUF;
  return rc;
}

int hc_encode_alloc(hc_encode_fn fn, const void *item, size_t head, size_t tail, uint8_t *stack,
                    size_t stack_cap, uint8_t **out, size_t *len) {
  size_t n;
  int rc = encode_size(fn, item, &n);
  if (rc) return rc;
  if (n > SIZE_MAX - head || n + head > SIZE_MAX - tail) return HC_ERR_NOMEM;
  size_t total = head + n + tail;
  uint8_t *buf = stack && total <= stack_cap ? stack : malloc(total ? total : 1);
  if (!buf) return HC_ERR_NOMEM;
  rc = encode_at(fn, item, buf + head, n);
  if (rc) {
    if (buf != stack) free(buf);
    return rc;
  }
  *out = buf;
  *len = n;
  return HC_OK;
}

int hc_encode_append(hc_encode_fn fn, const void *item, size_t head, uint8_t **buf, size_t used,
                     size_t *cap, size_t first, size_t *len) {
  size_t n;
  int rc = encode_size(fn, item, &n);
  if (rc) return rc;
  if (n > SIZE_MAX - head || n + head > SIZE_MAX - used) return HC_ERR_NOMEM;
  if (hc_grow((void **)buf, cap, used + head + n, 1, first)) return HC_ERR_NOMEM;
  rc = encode_at(fn, item, *buf + used + head, n);
  if (rc) return rc;
  *len = n;
  return HC_OK;
}

int hc_encode_into(hc_encode_fn fn, const void *item, uint8_t *out, size_t cap, size_t *len) {
  size_t n;
  int rc = encode_size(fn, item, &n);
  if (rc) return rc;
  *len = n;
  if (!out) return HC_OK;
  if (cap < n) return HC_ERR_NOBUF;
  return encode_at(fn, item, out, n);
}
