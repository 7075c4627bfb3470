/* The queue of the remote's requests (and wants) that wait for our output to drain, with the
 * reference's semantics (lib/replicator.js receiverQueue + remoteRequests): one queued request
 * per id (a new request with the same id replaces the queued one), `cancel` drops it.
 *
 * Every operation is amortised O(1), whatever the queue holds: ids are found through a hash
 * map (id -> sequence number of the live entry); cancelled or replaced entries stay in the
 * ring as tombstones, skipped when popped and squeezed out once they outnumber live ones.
 * Internal (src/), used by replicator.c. */
#ifndef HC_REQUEST_QUEUE_H
#define HC_REQUEST_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypercore/common.h"
#include "messages.h"

enum { HC_RQ_REQUEST = 1, HC_RQ_WANT = 2 };

typedef struct hc_rq_entry {
  int kind;
  uint64_t seq;
  union {
    hc_msg_request req;
    hc_msg_want want;
  } u;
} hc_rq_entry;

typedef struct hc_rqueue {
  hc_rq_entry *ring;
  size_t head, len, cap; /* len counts tombstones too */
  size_t live;
  uint64_t next_seq;
  /* id -> seq of its live queued request (open addressing, key id + 1, 0 = empty) */
  uint64_t *ids, *seqs;
  size_t map_cap, map_count;
} hc_rqueue;

/* Appends (a request replaces the queued one with the same id). HC_ERR_NOMEM. */
int hc_rq_push(hc_rqueue *q, int kind, const void *msg);
/* Takes the oldest live entry; false when none. */
bool hc_rq_pop(hc_rqueue *q, hc_rq_entry *out);
/* Drops the queued request `id` (nothing if none). */
void hc_rq_cancel(hc_rqueue *q, uint64_t id);
static inline size_t hc_rq_live(const hc_rqueue *q) { return q->live; }
void hc_rq_clear(hc_rqueue *q);
size_t hc_rq_memory(const hc_rqueue *q);

#endif
