/* A FIFO of whole messages (the output of a pre-authenticated replicator: one protomux frame
 * = one message of the transport). Messages are stored back to back in one buffer as
 * uint32 length || bytes; the consumed head is compacted away lazily. */
#ifndef HC_MSGQ_H
#define HC_MSGQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct hc_msgq {
  uint8_t *buf;
  size_t head, len, cap; /* [head, len) holds the queued messages */
  size_t bytes;          /* payload bytes queued (without the length prefixes) */
  size_t count;
} hc_msgq;

/* Appends a copy of one message. HC_OK or HC_ERR_NOMEM (the queue is then unchanged). */
int hc_msgq_push(hc_msgq *q, const uint8_t *data, size_t len);
/* The oldest message (*data NULL, *len 0 when empty); valid until the next push/pop. */
void hc_msgq_peek(const hc_msgq *q, const uint8_t **data, size_t *len);
/* Drops the oldest message (no-op when empty). */
void hc_msgq_pop(hc_msgq *q);
void hc_msgq_free(hc_msgq *q);

#endif
