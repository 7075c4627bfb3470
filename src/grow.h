/* Growth of dynamic arrays and the two-pass encode-then-allocate pattern, written once.
 * Internal (src/). */
#ifndef HC_GROW_H
#define HC_GROW_H

#include <stddef.h>
#include <stdint.h>

#include "encoding.h"

/* Makes *p (an array of *cap elements of `elem` bytes) hold at least `need` elements: the
 * capacity doubles from *cap (or `first` when 0) until it does, overflow checked. On
 * HC_ERR_NOMEM nothing changed (*p still valid). New elements are not initialised. */
int hc_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);

/* Writes one item into e (a counting encoder when e->buf is NULL). */
typedef void (*hc_encode_fn)(hc_enc *e, const void *item);

/* Encodes `item` with `fn` twice: once counting, then into a new buffer of
 * head + length + tail bytes, the encoding at head (room for a frame header before it, or
 * bytes appended after it). *out (free it) and *len (the encoding's length, without head and
 * tail). HC_ERR_NOMEM, or the encoder's error (nothing allocated). */
int hc_encode_alloc(hc_encode_fn fn, const void *item, size_t head, size_t tail, uint8_t **out,
                    size_t *len);

#endif
