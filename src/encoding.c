/* compact-encoding primitives. */
#include "encoding.h"

#include <string.h>

#include "hypercore/common.h"

size_t hc_enc_uint_len(uint64_t v) {
  if (v <= 0xfc) return 1;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffffffu) return 5;
  return 9;
}

static uint8_t *reserve(hc_enc *e, size_t n) {
  if (e->err) return NULL;
  if (!e->buf) {
    e->pos += n;
    return NULL;
  }
  if (n > e->cap - e->pos) {
    e->err = HC_ERR_NOBUF;
    return NULL;
  }
  uint8_t *p = e->buf + e->pos;
  e->pos += n;
  return p;
}

void hc_enc_uint(hc_enc *e, uint64_t v) {
  size_t n = hc_enc_uint_len(v);
  uint8_t *p = reserve(e, n);
  if (!p) return;
  switch (n) {
    case 1: p[0] = (uint8_t)v; break;
    case 3: p[0] = 0xfd; p[1] = (uint8_t)v; p[2] = (uint8_t)(v >> 8); break;
    case 5: p[0] = 0xfe; hc_put_u32le(p + 1, (uint32_t)v); break;
    default: p[0] = 0xff; hc_put_u64le(p + 1, v); break;
  }
}

void hc_enc_u8(hc_enc *e, uint8_t v) {
  uint8_t *p = reserve(e, 1);
  if (p) p[0] = v;
}

void hc_enc_u32(hc_enc *e, uint32_t v) {
  uint8_t *p = reserve(e, 4);
  if (p) hc_put_u32le(p, v);
}

void hc_enc_u64(hc_enc *e, uint64_t v) {
  uint8_t *p = reserve(e, 8);
  if (p) hc_put_u64le(p, v);
}

void hc_enc_raw(hc_enc *e, const void *src, size_t n) {
  uint8_t *p = reserve(e, n);
  if (p && n) memcpy(p, src, n);
}

void hc_enc_buffer(hc_enc *e, const void *src, size_t n) {
  if (!src) n = 0;
  hc_enc_uint(e, n);
  hc_enc_raw(e, src, n);
}

void hc_enc_string(hc_enc *e, const char *s, size_t n) { hc_enc_buffer(e, s, n); }

static const uint8_t *take(hc_dec *d, size_t n) {
  if (d->err) return NULL;
  if ((size_t)(d->end - d->p) < n) {
    d->err = HC_ERR_DECODE;
    d->p = d->end;
    return NULL;
  }
  const uint8_t *p = d->p;
  d->p += n;
  return p;
}

uint64_t hc_dec_uint(hc_dec *d) {
  const uint8_t *p = take(d, 1);
  if (!p) return 0;
  uint8_t a = p[0];
  if (a <= 0xfc) return a;
  if (a == 0xfd) {
    p = take(d, 2);
    return p ? (uint64_t)p[0] | (uint64_t)p[1] << 8 : 0;
  }
  if (a == 0xfe) {
    p = take(d, 4);
    return p ? hc_get_u32le(p) : 0;
  }
  p = take(d, 8);
  return p ? hc_get_u64le(p) : 0;
}

uint64_t hc_dec_uint_max(hc_dec *d, uint64_t max) {
  uint64_t v = hc_dec_uint(d);
  if (!d->err && v > max) {
    d->err = HC_ERR_DECODE;
    d->p = d->end;
    return 0;
  }
  return v;
}

uint8_t hc_dec_u8(hc_dec *d) {
  const uint8_t *p = take(d, 1);
  return p ? p[0] : 0;
}

uint32_t hc_dec_u32(hc_dec *d) {
  const uint8_t *p = take(d, 4);
  return p ? hc_get_u32le(p) : 0;
}

uint64_t hc_dec_u64(hc_dec *d) {
  const uint8_t *p = take(d, 8);
  return p ? hc_get_u64le(p) : 0;
}

const uint8_t *hc_dec_raw(hc_dec *d, size_t n) { return take(d, n); }

void hc_dec_fixed(hc_dec *d, uint8_t *out, size_t n) {
  const uint8_t *p = take(d, n);
  if (p) memcpy(out, p, n);
  else memset(out, 0, n);
}

const uint8_t *hc_dec_buffer(hc_dec *d, size_t *len) {
  uint64_t n = hc_dec_uint(d);
  *len = 0;
  if (d->err) return NULL;
  if (n > (uint64_t)(d->end - d->p)) {
    d->err = HC_ERR_DECODE;
    d->p = d->end;
    return NULL;
  }
  if (n == 0) return NULL;
  *len = (size_t)n;
  return take(d, (size_t)n);
}
