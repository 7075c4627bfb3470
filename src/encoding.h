/* compact-encoding (the npm package used by the reference): cursors with sticky errors.
 *
 * Writer: hc_enc with buf == NULL only counts bytes (the "preencode" pass); with a buffer it
 * writes and sets err = HC_ERR_NOBUF instead of overflowing. Reader: hc_dec sets
 * err = HC_ERR_DECODE on the first short or malformed field and returns zeros from then on. */
#ifndef HC_ENCODING_H
#define HC_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hc_enc {
  uint8_t *buf; /* NULL: count only */
  size_t pos;
  size_t cap;
  int err;
} hc_enc;

typedef struct hc_dec {
  const uint8_t *p;
  const uint8_t *end;
  int err;
} hc_dec;

static inline void hc_enc_init(hc_enc *e, uint8_t *buf, size_t cap) {
  e->buf = buf;
  e->pos = 0;
  e->cap = cap;
  e->err = 0;
}
static inline void hc_dec_init(hc_dec *d, const uint8_t *p, size_t len) {
  d->p = p;
  d->end = p + len;
  d->err = 0;
}
static inline size_t hc_dec_left(const hc_dec *d) { return (size_t)(d->end - d->p); }

/* Bytes `uint` takes for v. */
size_t hc_enc_uint_len(uint64_t v);

void hc_enc_uint(hc_enc *e, uint64_t v);        /* varint */
void hc_enc_u8(hc_enc *e, uint8_t v);
void hc_enc_u32(hc_enc *e, uint32_t v);         /* fixed little endian */
void hc_enc_u64(hc_enc *e, uint64_t v);
void hc_enc_raw(hc_enc *e, const void *p, size_t n); /* fixed32/fixed64/raw: bytes, no length */
void hc_enc_buffer(hc_enc *e, const void *p, size_t n); /* varint len + bytes; NULL/0 -> 00 */
void hc_enc_string(hc_enc *e, const char *s, size_t n);

uint64_t hc_dec_uint(hc_dec *d);
uint8_t hc_dec_u8(hc_dec *d);
uint32_t hc_dec_u32(hc_dec *d);
uint64_t hc_dec_u64(hc_dec *d);
/* Returns a pointer to n bytes inside the input (NULL on error). */
const uint8_t *hc_dec_raw(hc_dec *d, size_t n);
/* copies n bytes into out (zeroed on error) */
void hc_dec_fixed(hc_dec *d, uint8_t *out, size_t n);
/* varint len + bytes: *len gets the length, returns a pointer into the input (NULL when the
 * length is 0, i.e. the encoding of null, or on error). */
const uint8_t *hc_dec_buffer(hc_dec *d, size_t *len);
/* A varint that must fit `max` (e.g. an array count bounded by the bytes left). */
uint64_t hc_dec_uint_max(hc_dec *d, uint64_t max);

/* Little-endian helpers. */
static inline void hc_put_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t hc_get_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void hc_put_u64le(uint8_t *p, uint64_t v) {
  hc_put_u32le(p, (uint32_t)v);
  hc_put_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t hc_get_u64le(const uint8_t *p) {
  return (uint64_t)hc_get_u32le(p) | (uint64_t)hc_get_u32le(p + 4) << 32;
}
static inline void hc_put_u24le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16);
}
static inline uint32_t hc_get_u24le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

#endif
