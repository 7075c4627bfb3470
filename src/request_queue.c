/* Remote requests waiting for our output to drain (see the header). */
#include "request_queue.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static size_t map_slot(const hc_rqueue *q, uint64_t id) {
  size_t mask = q->map_cap - 1, i = (size_t)mix(id) & mask;
  while (q->ids[i] && q->ids[i] != id + 1) i = (i + 1) & mask;
  return i;
}

static bool map_get(const hc_rqueue *q, uint64_t id, uint64_t *seq) {
  if (!q->map_count) return false;
  size_t i = map_slot(q, id);
  if (!q->ids[i]) return false;
  *seq = q->seqs[i];
  return true;
}

static int map_grow(hc_rqueue *q) {
  size_t ncap = q->map_cap ? q->map_cap * 2 : 64;
  uint64_t *ni = calloc(ncap, sizeof *ni), *ns = calloc(ncap, sizeof *ns);
  if (!ni || !ns) {
    free(ni);
    free(ns);
    return HC_ERR_NOMEM;
  }
  uint64_t *oi = q->ids, *os = q->seqs;
  size_t ocap = q->map_cap;
  q->ids = ni;
  q->seqs = ns;
  q->map_cap = ncap;
  for (size_t k = 0; k < ocap; k++) {
    if (!oi[k]) continue;
    size_t j = map_slot(q, oi[k] - 1);
    q->ids[j] = oi[k];
    q->seqs[j] = os[k];
  }
  free(oi);
  free(os);
  return HC_OK;
}

static int map_put(hc_rqueue *q, uint64_t id, uint64_t seq) {
  if ((q->map_count + 1) * 2 > q->map_cap) {
    int rc = map_grow(q);
    if (rc) return rc;
  }
  size_t i = map_slot(q, id);
  if (!q->ids[i]) {
    q->ids[i] = id + 1;
    q->map_count++;
  }
  q->seqs[i] = seq;
  return HC_OK;
}

static void map_del(hc_rqueue *q, uint64_t id) {
  if (!q->map_count) return;
  size_t mask = q->map_cap - 1, i = map_slot(q, id);
  if (!q->ids[i]) return;
  q->ids[i] = 0;
  q->map_count--;
  /* backward-shift deletion keeps every probe chain intact */
  for (size_t j = (i + 1) & mask; q->ids[j]; j = (j + 1) & mask) {
    size_t home = (size_t)mix(q->ids[j] - 1) & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      q->ids[i] = q->ids[j];
      q->seqs[i] = q->seqs[j];
      q->ids[j] = 0;
      i = j;
    }
  }
}

static bool entry_live(const hc_rqueue *q, const hc_rq_entry *e) {
  if (e->kind != HC_RQ_REQUEST) return true;
  uint64_t seq;
  return map_get(q, e->u.req.id, &seq) && seq == e->seq;
}

/* Squeezes tombstones out (and grows when mostly live): amortised O(1) per push. */
static int ring_make_room(hc_rqueue *q) {
  if (q->len < q->cap) return HC_OK;
  size_t ncap = q->live * 2 + 64 > q->cap ? q->cap * 2 + 64 : q->cap;
  hc_rq_entry *n = malloc(ncap * sizeof *n);
  if (!n) return HC_ERR_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < q->len; i++) {
    const hc_rq_entry *e = &q->ring[(q->head + i) % q->cap];
    if (entry_live(q, e)) n[k++] = *e;
  }
  free(q->ring);
  q->ring = n;
  q->cap = ncap;
  q->head = 0;
  q->len = k;
  return HC_OK;
}

int hc_rq_push(hc_rqueue *q, int kind, const void *msg) {
  int rc = ring_make_room(q);
  if (rc) return rc;
  hc_rq_entry *e = &q->ring[(q->head + q->len) % q->cap];
  memset(e, 0, sizeof *e);
  e->kind = kind;
  e->seq = ++q->next_seq;
  if (kind == HC_RQ_REQUEST) {
    e->u.req = *(const hc_msg_request *)msg;
    uint64_t old;
    bool replaced = map_get(q, e->u.req.id, &old);
    if ((rc = map_put(q, e->u.req.id, e->seq))) return rc;
    if (!replaced) q->live++;
  } else {
    e->u.want = *(const hc_msg_want *)msg;
    q->live++;
  }
  q->len++;
  return HC_OK;
}

bool hc_rq_pop(hc_rqueue *q, hc_rq_entry *out) {
  while (q->len) {
    hc_rq_entry *e = &q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    if (!entry_live(q, e)) continue;
    *out = *e;
    if (e->kind == HC_RQ_REQUEST) map_del(q, e->u.req.id);
    q->live--;
    return true;
  }
  return false;
}

void hc_rq_cancel(hc_rqueue *q, uint64_t id) {
  uint64_t seq;
  if (!map_get(q, id, &seq)) return;
  map_del(q, id);
  q->live--;
}

void hc_rq_clear(hc_rqueue *q) {
  free(q->ring);
  free(q->ids);
  free(q->seqs);
  memset(q, 0, sizeof *q);
}

size_t hc_rq_memory(const hc_rqueue *q) {
  return q->cap * sizeof *q->ring + q->map_cap * 2 * sizeof(uint64_t);
}
