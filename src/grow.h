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

/* The two-pass encode-then-allocate pattern of compact-encoding: `fn` writes one item into e
 * (a counting encoder when e->buf is NULL) and returns 0 or an error (e->err counts too); it
 * runs once to size the item, then once into the buffer. Every function here fails with the
 * encoder's error, HC_ERR_NOMEM, or HC_ERR_NOBUF when the second pass wrote a different length,
 * and then leaves its outputs as they were (nothing allocated). */
typedef int (*hc_encode_fn)(hc_enc *e, const void *item);

/* Into a new buffer of head + length + tail bytes, the encoding at head (room for a frame
 * header before it or bytes after it); `stack` (stack_cap bytes, may be NULL) is used instead
 * when it is big enough: free *out only when it is not `stack`. *len: the encoding alone. */
int hc_encode_alloc(hc_encode_fn fn, const void *item, size_t head, size_t tail, uint8_t *stack,
                    size_t stack_cap, uint8_t **out, size_t *len);
/* At *buf + *used + head, growing *buf (capacity *cap, first allocation `first`) with hc_grow;
 * *used is not advanced (the caller frames the item first). *len: the encoding alone. */
int hc_encode_append(hc_encode_fn fn, const void *item, size_t head, uint8_t **buf, size_t used,
                     size_t *cap, size_t first, size_t *len);
/* Into the caller's buffer out (cap bytes); out NULL only sizes. *len: the encoding's length
 * (set also on HC_ERR_NOBUF, so the caller can size its buffer). */
int hc_encode_into(hc_encode_fn fn, const void *item, uint8_t *out, size_t cap, size_t *len);

#endif
