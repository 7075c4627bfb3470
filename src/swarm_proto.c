/* The helper frame protocol (see swarm_proto.h). Every length is checked against the frame
 * type before anything is read, so malformed helper output fails the decoder cleanly. */
#include "swarm_proto.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "hypercore/common.h"

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* Makes room for `want` more bytes after len, compacting the consumed head first. */
static int grow(uint8_t **buf, size_t *head, size_t *len, size_t *cap, size_t want) {
  if (*head && (*head >= *len - *head || *len + want > *cap)) {
    memmove(*buf, *buf + *head, *len - *head);
    *len -= *head;
    *head = 0;
  }
  if (*len + want <= *cap) return HC_OK;
  if (want > SIZE_MAX - *len) return HC_ERR_NOMEM;
  return hc_grow((void **)buf, cap, *len + want, 1, 65536);
}

int hc_swp_dec_reserve(hc_swp_dec *d, size_t want, uint8_t **ptr, size_t *avail) {
  if (d->err) return d->err;
  int rc = grow(&d->buf, &d->head, &d->len, &d->cap, want);
  if (rc) return d->err = rc;
  *ptr = d->buf + d->len;
  *avail = d->cap - d->len;
  return HC_OK;
}

void hc_swp_dec_commit(hc_swp_dec *d, size_t n) { d->len += n; }

int hc_swp_dec_feed(hc_swp_dec *d, const uint8_t *data, size_t len) {
  uint8_t *p;
  size_t avail;
  int rc = hc_swp_dec_reserve(d, len, &p, &avail);
  if (rc) return rc;
  if (len) memcpy(p, data, len);
  hc_swp_dec_commit(d, len);
  return HC_OK;
}

static int bad(hc_swp_dec *d) { return d->err = HC_ERR_PROTOCOL; }

/* Fills f from one frame body; HC_ERR_PROTOCOL when the body does not fit its type. */
static int parse(hc_swp_frame *f, uint8_t type, const uint8_t *b, size_t n) {
  memset(f, 0, sizeof *f);
  f->type = type;
  switch (type) {
  case HC_SWP_READY:
    if (n != 32) return HC_ERR_PROTOCOL;
    f->key = b;
    return HC_OK;
  case HC_SWP_CONNECTION:
    if (n != 4 + 1 + 32 + 64 || b[4] > 1) return HC_ERR_PROTOCOL;
    f->id = rd32(b);
    f->initiator = b[4] == 1;
    f->key = b + 5;
    f->hash = b + 37;
    return HC_OK;
  case HC_SWP_H_DATA:
  case HC_SWP_CLOSED:
    if (n < 4) return HC_ERR_PROTOCOL;
    f->id = rd32(b);
    f->data = b + 4;
    f->len = n - 4;
    return HC_OK;
  case HC_SWP_ERROR:
    f->data = b;
    f->len = n;
    return HC_OK;
  case HC_SWP_PONG:
    if (n != 16) return HC_ERR_PROTOCOL;
    f->nonce = rd32(b);
    f->connections = rd32(b + 4);
    f->peers = rd32(b + 8);
    f->dht_nodes = rd32(b + 12);
    return HC_OK;
  case HC_SWP_JOINED:
    if (n != 32) return HC_ERR_PROTOCOL;
    f->topic = b;
    return HC_OK;
  default:
    return HC_ERR_PROTOCOL;
  }
}

int hc_swp_dec_next(hc_swp_dec *d, hc_swp_frame *f) {
  if (d->err) return d->err;
  size_t avail = d->len - d->head;
  if (avail < 4) return 0;
  const uint8_t *p = d->buf + d->head;
  uint32_t n = rd32(p);
  if (n < 1 || n > HC_SWP_MAX_FRAME) return bad(d);
  if (avail - 4 < n) return 0;
  if (parse(f, p[4], p + 5, n - 1)) return bad(d);
  d->head += 4 + (size_t)n;
  if (d->head == d->len) d->head = d->len = 0;
  return 1;
}

void hc_swp_dec_free(hc_swp_dec *d) {
  free(d->buf);
  memset(d, 0, sizeof *d);
}

int hc_swp_put(hc_swp_out *o, uint8_t type, const void *a, size_t alen, const void *b,
               size_t blen) {
  if (alen > HC_SWP_MAX_FRAME || blen > HC_SWP_MAX_FRAME - alen || 1 + alen + blen > HC_SWP_MAX_FRAME)
    return HC_ERR_INVALID_ARG;
  size_t n = 1 + alen + blen;
  int rc = grow(&o->buf, &o->head, &o->len, &o->cap, 4 + n);
  if (rc) return rc;
  uint8_t *p = o->buf + o->len;
  wr32(p, (uint32_t)n);
  p[4] = type;
  if (alen) memcpy(p + 5, a, alen);
  if (blen) memcpy(p + 5 + alen, b, blen);
  o->len += 4 + n;
  return HC_OK;
}

int hc_swp_put_id(hc_swp_out *o, uint8_t type, uint32_t id, const void *data, size_t len) {
  uint8_t idb[4];
  wr32(idb, id);
  return hc_swp_put(o, type, idb, 4, data, len);
}

size_t hc_swp_out_pending(const hc_swp_out *o) { return o->len - o->head; }

void hc_swp_out_consume(hc_swp_out *o, size_t n) {
  o->head += n;
  if (o->head >= o->len) o->head = o->len = 0;
}

void hc_swp_out_free(hc_swp_out *o) {
  free(o->buf);
  memset(o, 0, sizeof *o);
}
