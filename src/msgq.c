/* FIFO of whole messages (see msgq.h). */
#include "msgq.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "hypercore/common.h"

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int hc_msgq_push(hc_msgq *q, const uint8_t *data, size_t len) {
  if (len > UINT32_MAX) return HC_ERR_INVALID_ARG;
  /* compact first when the consumed head is most of the buffer: amortised O(1) per byte */
  if (q->head && q->head >= q->len - q->head) {
    memmove(q->buf, q->buf + q->head, q->len - q->head);
    q->len -= q->head;
    q->head = 0;
  }
  size_t need = q->len + 4 + len;
  if (need < q->len) return HC_ERR_NOMEM;
  if (hc_grow((void **)&q->buf, &q->cap, need, 1, 4096)) return HC_ERR_NOMEM;
  uint8_t *p = q->buf + q->len;
  p[0] = (uint8_t)len;
  p[1] = (uint8_t)(len >> 8);
  p[2] = (uint8_t)(len >> 16);
  p[3] = (uint8_t)(len >> 24);
  if (len) memcpy(p + 4, data, len);
  q->len = need;
  q->bytes += len;
  q->count++;
  return HC_OK;
}

void hc_msgq_peek(const hc_msgq *q, const uint8_t **data, size_t *len) {
  if (!q->count) {
    *data = NULL;
    *len = 0;
    return;
  }
  *len = rd32(q->buf + q->head);
  *data = q->buf + q->head + 4;
}

void hc_msgq_pop(hc_msgq *q) {
  if (!q->count) return;
  size_t n = rd32(q->buf + q->head);
  q->head += 4 + n;
  q->bytes -= n;
  q->count--;
  if (!q->count) q->head = q->len = 0;
}

void hc_msgq_free(hc_msgq *q) {
  free(q->buf);
  memset(q, 0, sizeof *q);
}
