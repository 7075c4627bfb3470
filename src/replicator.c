/* The hypercore replication protocol (lib/replicator.js of 10.38.2), sans-I/O, over
 * secret_stream.c (Noise + secretstream) and protomux.c. One replicator = one connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitfield.h"
#include "core_internal.h"
#include "crypto.h"
#include "encoding.h"
#include "flat_tree.h"
#include "grow.h"
#include "hypercore/limits.h"
#include "hypercore/preauth.h"
#include "hypercore/replicate.h"
#include "inflight_bits.h"
#include "messages.h"
#include "msgq.h"
#include "node_set.h"
#include "protomux.h"
#include "remote_bitfield.h"
#include "request_queue.h"
#include "secret_stream.h"

#define SEGMENT_BITS (1u << 21)          /* want/bitfield granularity (2^21 blocks) */
#define DEFAULT_KEEPALIVE_MS 5000
#define DEFAULT_TIMEOUT_MS 30000         /* nothing received for this long: the peer is gone */
#define HANDSHAKE_TIMEOUT_MS 15000
#define MAX_SEGMENTS_WANTED 4096
/* Backpressure on answers: while this much output is waiting for the socket, requests from
 * the remote are queued (as the reference's receiverQueue waits for protomux drain) instead
 * of being answered, so a peer that asks but does not read cannot grow our memory. */
#define OUT_HIGH_WATER (4u << 20)
#define BATCH_BYTES (64u * 1024u) /* protomux batches of what one input makes us send */
#define MAX_QUEUED_REQUESTS 65536 /* per channel; the reference keeps at most 512 in flight */
#define UPGRADE_BACKOFF_MIN_MS 100
#define UPGRADE_BACKOFF_MAX_MS 10000

/* ---- state ---- */

enum { REQ_BLOCK = 1, REQ_UPGRADE = 2, REQ_FORK = 3, REQ_REORG = 4 /* hash, during a fork switch */ };

typedef struct preq {
  uint64_t id;
  int kind;
  bool optimistic; /* REQ_BLOCK: asked for fewer nodes, counting on earlier requests' */
  uint64_t index;
  uint64_t nodes; /* REQ_BLOCK: request.block.nodes */
} preq;

typedef struct range {
  uint64_t start, end;
  uint64_t cursor; /* every block in [start, cursor) is local */
  uint64_t next;   /* blocks in [cursor, next) are local, in flight, or not at the remote */
} range;

typedef struct extension {
  char *name;
  size_t name_len;
  hc_extension_cb cb;
  void *user;
} extension;

typedef struct rpeer {
  hc_replicator *r;
  hc_core *core;
  hc_mux_channel *ch;
  extension *exts;
  size_t nexts;
  char *ext_last_sent, *ext_last_recv; /* an empty name on the wire means "the same as last" */
  bool remote_opened, closed;
  /* added by on_discovery_key (the remote asked for it): when its channel closes and is not
   * re-opened, the peer is dropped and on_core_released tells the owner (a store unpins it) */
  bool on_demand, release;
  /* what the remote told us */
  bool remote_synced;
  uint64_t remote_fork, remote_length, remote_contig, length_acked;
  bool remote_can_upgrade, remote_uploading, remote_downloading, remote_has_manifest;
  hc_rbits remote_bits; /* sparse: memory follows what the remote announced */
  /* what we tell it */
  bool can_upgrade;
  /* downloading */
  range *ranges;
  size_t nranges, ranges_cap;
  bool live;
  /* requests in id order (ids only grow): slots [inflight_head, inflight_end), answered ones
   * left as holes (kind 0) until they reach the front; ninflight counts the live ones */
  preq *inflight;
  size_t ninflight, inflight_head, inflight_end, inflight_cap;
  hc_ibits inflight_bits;
  /* Pipelining: a block request asks only for the nodes that neither the tree nor an earlier
   * in-flight request to this peer will supply (`pending`). If an answer arrives before the
   * one it counted on, it cannot be verified yet; the block is asked again with every node
   * it lacks (`exact_bits`). Without this, every block of a pipelined download would carry
   * its whole path to the root (~log2(length) nodes, hashed and stored by the reader). */
  hc_nset pending;
  hc_ibits exact_bits;
  bool upgrade_inflight, fork_inflight; /* fork_inflight: a fork proof or a REQ_REORG */
  uint64_t fork_requested; /* the fork we asked a proof for */
  hc_reorg reorg;          /* a fork switch searching for the first differing block */
  uint64_t *segments_wanted;
  size_t nsegments;
  bool broadcasted_contig;
  /* remote requests and wants waiting for our output to drain (O(1) cancel) */
  hc_rqueue rq;
  bool sync_pending; /* a sync held back while our output is over the high-water mark */
  /* upgrades answered with noData are asked again after a growing pause */
  uint64_t upgrade_retry_at, upgrade_backoff;
} rpeer;

struct hc_replicator {
  hc_ss *ss; /* NULL in pre-authenticated mode (preauth.h): the transport is `pre` */
  struct {
    uint8_t handshake_hash[HC_HANDSHAKE_HASH_BYTES], remote_pk[HC_KEY_BYTES];
    hc_msgq out; /* whole messages to send */
  } pre;
  hc_mux *mux;
  hc_replicator_callbacks cb;
  void *user;
  bool initiator;
  int err;
  char errmsg[200];
  uint64_t now, created, last_recv, last_keepalive;
  uint64_t keepalive_ms, timeout_ms, handshake_timeout_ms;
  uint32_t max_inflight;
  rpeer **peers;
  size_t npeers, peers_cap;
  uint64_t next_id;
  bool handshake_done;
  bool need_release; /* some peer has release set */
  size_t max_memory; /* 0: no per-connection budget (hc_replicator_set_limits) */
};

static void core_event(void *user, hc_core *core, hc_core_event ev, uint64_t start,
                       uint64_t length);
static void check_budget(hc_replicator *r);
static int send_open(hc_replicator *r, struct rpeer *p);
static int open_channel(hc_replicator *r, struct rpeer *p);
static void peer_free(struct rpeer *p);

static void fail(hc_replicator *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void fail(hc_replicator *r, int err, const char *fmt, ...) {
  if (r->err) return;
  r->err = err ? err : HC_ERR_PROTOCOL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
  va_end(ap);
}

static rpeer *find_peer(const hc_replicator *r, const hc_core *core) {
  for (size_t i = 0; i < r->npeers; i++)
    if (r->peers[i]->core == core) return r->peers[i];
  return NULL;
}

static rpeer *find_peer_by_discovery_key(const hc_replicator *r, const uint8_t dk[HC_KEY_BYTES]) {
  for (size_t i = 0; i < r->npeers; i++)
    if (memcmp(hc_core_discovery_key(r->peers[i]->core), dk, HC_KEY_BYTES) == 0) return r->peers[i];
  return NULL;
}

static bool peer_downloading(const rpeer *p) {
  if (p->live || p->ninflight) return true;
  uint64_t len = hc_core_length(p->core);
  for (size_t i = 0; i < p->nranges; i++) {
    uint64_t e = p->ranges[i].end;
    if (e == UINT64_MAX || e > len) return true;
    if (!hc_core_has(p->core, p->ranges[i].start, e)) return true;
  }
  return false;
}

/* ---- sending ---- */

typedef hc_encode_fn enc_fn;

static int send_msg(rpeer *p, uint64_t type, enc_fn fn, const void *m) {
  hc_replicator *r = p->r;
  if (!p->ch || p->closed || r->err) return HC_OK;
  uint8_t stack[256], *buf = NULL;
  size_t n;
  int rc = hc_encode_alloc(fn, m, 0, 0, stack, sizeof stack, &buf, &n);
  if (rc == HC_ERR_NOMEM) {
    fail(r, HC_ERR_NOMEM, "out of memory");
    return HC_ERR_NOMEM;
  }
  if (!rc) rc = hc_mux_send(r->mux, p->ch, type, buf, n);
  if (buf && buf != stack) free(buf);
  if (rc && rc != HC_ERR_CLOSED) fail(r, rc, "send failed: %s", hc_strerror(rc));
  return rc;
}

static int enc_sync(hc_enc *e, const void *m) { return hc_msg_sync_encode(e, m); }
static int enc_request(hc_enc *e, const void *m) { return hc_msg_request_encode(e, m); }
static int enc_data(hc_enc *e, const void *m) { return hc_msg_data_encode(e, m); }
static int enc_extension(hc_enc *e, const void *m) { return hc_msg_extension_encode(e, m); }

/* A `bitfield` message straight from little-endian words. */
typedef struct bitfield_words {
  uint64_t start;
  const uint32_t *words;
  size_t n;
} bitfield_words;

static int enc_bitfield_words(hc_enc *e, const void *item) {
  const bitfield_words *b = item;
  return hc_msg_bitfield_encode_words(e, b->start, b->words, b->n);
}
static int enc_no_data(hc_enc *e, const void *m) { return hc_msg_no_data_encode(e, m); }
static int enc_want(hc_enc *e, const void *m) { return hc_msg_want_encode(e, m); }
static int enc_range(hc_enc *e, const void *m) { return hc_msg_range_encode(e, m); }

static bool can_upgrade_at(rpeer *p, uint64_t remote_length, uint64_t remote_fork) {
  hc_core *c = p->core;
  if (remote_fork != hc_core_fork(c)) return false;
  if (remote_length == 0) return true;
  if (remote_length >= hc_core_length(c)) return false;
  hc_node roots[HC_MAX_ROOTS];
  size_t n;
  return hc_merkle_get_roots(&c->tree, remote_length, roots, &n) == HC_OK;
}

static size_t out_backlog(hc_replicator *r);

static void send_sync(rpeer *p) {
  hc_core *c = p->core;
  if (hc_core_fork(c) != p->remote_fork) p->can_upgrade = false;
  /* a sync is state, not an answer: over the high-water mark only the latest one is sent,
   * once the output drains (a peer sending syncs without reading cannot grow our output) */
  if (out_backlog(p->r) >= OUT_HIGH_WATER) {
    p->sync_pending = true;
    return;
  }
  p->sync_pending = false;
  hc_msg_sync s;
  memset(&s, 0, sizeof s);
  s.fork = hc_core_fork(c);
  s.length = hc_core_length(c);
  s.remote_length = hc_core_fork(c) == p->remote_fork ? p->remote_length : 0;
  s.can_upgrade = p->can_upgrade;
  s.uploading = true;
  s.downloading = peer_downloading(p);
  s.has_manifest = c->header.has_manifest && !c->compat;
  send_msg(p, HC_MSG_SYNC, enc_sync, &s);
}

/* signalUpgrade: refresh canUpgrade if we grew past the remote, then sync. */
static void signal_upgrade(rpeer *p) {
  if (hc_core_fork(p->core) == p->remote_fork && hc_core_length(p->core) > p->remote_length)
    p->can_upgrade = can_upgrade_at(p, p->remote_length, p->remote_fork);
  send_sync(p);
}

static bool remote_has(const rpeer *p, uint64_t i) {
  return i < p->remote_contig || hc_rb_get(&p->remote_bits, i);
}

static void broadcast_range(rpeer *p, uint64_t start, uint64_t length, bool drop) {
  if (!p->remote_opened) return;
  if (!drop) {
    if (p->remote_contig >= start + length) return;
    if (length == 1 && hc_rb_get(&p->remote_bits, start)) return;
  }
  hc_msg_range m = {drop, start, length};
  send_msg(p, HC_MSG_RANGE, enc_range, &m);
}

/* ---- requests ---- */

/* What a verified answer to a block request with `nodes` adds to the tree: the leaf and its
 * ancestors below the node `nodes` levels up (computed), and their siblings (the proof). */
static void pending_chain(rpeer *p, uint64_t index, uint64_t nodes, bool add) {
  hc_ft_iter it;
  hc_ft_iter_seek(&it, 2 * index);
  for (uint64_t l = 0; l < nodes; l++) {
    uint64_t a = it.index, sib = hc_ft_iter_sibling(&it);
    if (add) {
      hc_nset_add(&p->pending, a);
      hc_nset_add(&p->pending, sib);
    } else {
      hc_nset_remove(&p->pending, a);
      hc_nset_remove(&p->pending, sib);
    }
    hc_ft_iter_parent(&it);
  }
}

static bool node_pending(void *ctx, uint64_t index) {
  return hc_nset_has(&((rpeer *)ctx)->pending, index);
}

/* request.block.nodes for `index` (missingNodes), stopping also at a node an in-flight
 * request will bring unless `exact`; *optimistic tells which of the two it stopped at. */
static int request_nodes(rpeer *p, uint64_t index, bool exact, uint64_t *count, bool *optimistic) {
  return hc_merkle_missing_nodes_until(&p->core->tree, index, exact ? NULL : node_pending, p, count,
                                       optimistic);
}

static int add_inflight(rpeer *p, int kind, uint64_t index, uint64_t *id, preq **out) {
  if (p->inflight_end == p->inflight_cap) {
    /* squeeze out the holes; grow when at least half is live */
    size_t k = 0;
    for (size_t i = p->inflight_head; i < p->inflight_end; i++)
      if (p->inflight[i].kind) p->inflight[k++] = p->inflight[i];
    p->inflight_head = 0;
    p->inflight_end = k;
    if (hc_grow((void **)&p->inflight, &p->inflight_cap, k ? k * 2 : 1, sizeof *p->inflight, 64))
      return HC_ERR_NOMEM;
  }
  *id = ++p->r->next_id;
  preq *q = &p->inflight[p->inflight_end++];
  q->id = *id;
  q->kind = kind;
  q->index = index;
  q->nodes = 0;
  q->optimistic = false;
  p->ninflight++;
  if (out) *out = q;
  if (kind == REQ_BLOCK) return hc_ibits_set(&p->inflight_bits, index, true);
  return HC_OK;
}

static void clear_inflight(rpeer *p) {
  p->ninflight = p->inflight_head = p->inflight_end = 0;
}

/* Removes request `id`; returns false when unknown. Answers mostly come in order, so the
 * search is a binary one over ids and the front moves past the holes. */
static bool take_inflight(rpeer *p, uint64_t id, preq *out) {
  size_t lo = p->inflight_head, hi = p->inflight_end;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->inflight[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  if (lo == p->inflight_end || p->inflight[lo].id != id || !p->inflight[lo].kind) return false;
  *out = p->inflight[lo];
  p->inflight[lo].kind = 0;
  p->ninflight--;
  while (p->inflight_head < p->inflight_end && !p->inflight[p->inflight_head].kind) p->inflight_head++;
  if (p->inflight_head == p->inflight_end) p->inflight_head = p->inflight_end = 0;
  if (out->kind == REQ_BLOCK) {
    hc_ibits_set(&p->inflight_bits, out->index, false);
    pending_chain(p, out->index, out->nodes, false);
  }
  if (out->kind == REQ_UPGRADE) p->upgrade_inflight = false;
  if (out->kind == REQ_FORK || out->kind == REQ_REORG) p->fork_inflight = false;
  return true;
}

static void maybe_want(rpeer *p, uint64_t index) {
  uint64_t seg = index / SEGMENT_BITS;
  for (size_t i = 0; i < p->nsegments; i++)
    if (p->segments_wanted[i] == seg) return;
  if (p->nsegments >= MAX_SEGMENTS_WANTED) return;
  uint64_t *n = realloc(p->segments_wanted, (p->nsegments + 1) * sizeof *n);
  if (!n) return;
  p->segments_wanted = n;
  n[p->nsegments++] = seg;
  hc_msg_want w;
  memset(&w, 0, sizeof w);
  w.start = seg * SEGMENT_BITS;
  w.length = SEGMENT_BITS;
  send_msg(p, HC_MSG_WANT, enc_want, &w);
}

static void request_fork_proof(rpeer *p) {
  hc_core *c = p->core;
  if (p->fork_inflight || c->readonly) return;
  hc_msg_request m;
  memset(&m, 0, sizeof m);
  uint64_t id;
  if (add_inflight(p, REQ_FORK, 0, &id, NULL)) {
    fail(p->r, HC_ERR_NOMEM, "out of memory");
    return;
  }
  p->fork_inflight = true;
  p->fork_requested = p->remote_fork;
  m.id = id;
  m.fork = p->remote_fork;
  m.r.has_upgrade = true;
  m.r.upgrade_start = 0;
  m.r.upgrade_length = p->remote_length;
  m.r.manifest = !c->header.has_manifest;
  send_msg(p, HC_MSG_REQUEST, enc_request, &m);
}

/* Asks for the hash path of a block inside the diff node's span (requestForkRange); false
 * when the remote has none of them. */
static bool request_reorg_hash(rpeer *p) {
  hc_reorg *g = &p->reorg;
  uint64_t end = g->want_end < p->remote_length ? g->want_end : p->remote_length;
  for (uint64_t i = g->want_start; i < end; i++) {
    if (!remote_has(p, i)) continue;
    hc_msg_request m;
    memset(&m, 0, sizeof m);
    uint64_t id;
    if (add_inflight(p, REQ_REORG, i, &id, NULL)) {
      fail(p->r, HC_ERR_NOMEM, "out of memory");
      return true;
    }
    p->fork_inflight = true;
    m.id = id;
    m.fork = g->batch.fork;
    m.r.has_hash = true;
    m.r.hash_index = 2 * i;
    m.r.hash_nodes = g->want_nodes;
    send_msg(p, HC_MSG_REQUEST, enc_request, &m);
    return true;
  }
  return false;
}

static void update_peer(rpeer *p);

/* Next step of a fork switch: narrow the fork point down, or (found, or `give_up`: the
 * remote cannot tell us more) truncate to the shared prefix and adopt the new tree. */
static void reorg_continue(rpeer *p, bool give_up) {
  hc_replicator *r = p->r;
  hc_core *c = p->core;
  hc_reorg *g = &p->reorg;
  if (!g->active) return update_peer(p);
  if (!g->finished && !give_up && request_reorg_hash(p)) return;
  uint64_t fork = g->batch.fork, anc;
  int rc = hc__core_reorg_apply(c, g, &anc);
  hc__core_reorg_cleanup(g);
  if (rc == HC_ERR_BUSY) return update_peer(p); /* our tree moved meanwhile: start over */
  if (rc) return fail(r, rc, "switching to fork %llu: %s", (unsigned long long)fork, hc_strerror(rc));
  p->segments_wanted = (free(p->segments_wanted), NULL);
  p->nsegments = 0;
  send_sync(p);
  update_peer(p);
}

static bool wants_upgrade(const rpeer *p) {
  if (p->live) return true;
  uint64_t len = hc_core_length(p->core);
  for (size_t i = 0; i < p->nranges; i++)
    if (p->ranges[i].end > len) return true;
  return false;
}

/* Decides what to ask the remote for next (updatePeer). */
static void update_peer(rpeer *p) {
  hc_replicator *r = p->r;
  hc_core *c = p->core;
  if (r->err || !p->remote_opened || !p->remote_synced || p->closed || c->readonly) return;
  uint64_t fork = hc_core_fork(c), len = hc_core_length(c);
  if (p->remote_fork > fork) {
    if (wants_upgrade(p) || p->nranges) request_fork_proof(p);
    return;
  }
  if (p->remote_fork != fork) return;

  if (wants_upgrade(p) && !p->upgrade_inflight && p->remote_length > len &&
      p->length_acked == len && (p->remote_can_upgrade || len == 0) &&
      r->now >= p->upgrade_retry_at) {
    hc_msg_request m;
    memset(&m, 0, sizeof m);
    uint64_t id;
    if (add_inflight(p, REQ_UPGRADE, 0, &id, NULL)) return fail(r, HC_ERR_NOMEM, "out of memory");
    p->upgrade_inflight = true;
    m.id = id;
    m.fork = p->remote_fork;
    m.r.has_upgrade = true;
    m.r.upgrade_start = len;
    m.r.upgrade_length = p->remote_length - len;
    m.r.manifest = !c->header.has_manifest && p->remote_has_manifest;
    send_msg(p, HC_MSG_REQUEST, enc_request, &m);
  }

  uint64_t limit = len < p->remote_length ? len : p->remote_length;
  for (size_t k = 0; k < p->nranges && p->ninflight < r->max_inflight; k++) {
    uint64_t s = p->ranges[k].start, e = p->ranges[k].end;
    if (e > limit) e = limit;
    /* skip the prefix already known complete (no rescans from the range start) */
    uint64_t i = p->ranges[k].cursor > s ? p->ranges[k].cursor : s;
    if (i < e) {
      uint64_t first = hc_bitfield_find(&c->bitfield, i, false, e);
      p->ranges[k].cursor = first == UINT64_MAX ? e : first;
      i = p->ranges[k].cursor;
    }
    if (p->ranges[k].next > i) i = p->ranges[k].next; /* no rescans of in-flight blocks */
    while (i < e && p->ninflight < r->max_inflight) {
      i = hc_bitfield_find(&c->bitfield, i, false, e);
      if (i == UINT64_MAX || i >= e) break;
      if (hc_ibits_get(&p->inflight_bits, i)) {
        i++;
        continue;
      }
      if (!remote_has(p, i)) {
        maybe_want(p, i);
        /* skip to the next block the remote is known to have */
        uint64_t seg_end = (i / SEGMENT_BITS + 1) * SEGMENT_BITS;
        uint64_t lim = e < seg_end ? e : seg_end;
        uint64_t j = hc_rb_next_set(&p->remote_bits, i + 1, lim);
        i = j == UINT64_MAX ? lim : j;
        continue;
      }
      uint64_t nodes = 0;
      bool exact = hc_ibits_get(&p->exact_bits, i), optimistic = false;
      int nrc = request_nodes(p, i, exact, &nodes, &optimistic);
      if (nrc) return fail(r, nrc, "reading the tree: %s", hc_strerror(nrc));
      if (exact) hc_ibits_set(&p->exact_bits, i, false);
      hc_msg_request m;
      memset(&m, 0, sizeof m);
      uint64_t id;
      preq *q;
      if (add_inflight(p, REQ_BLOCK, i, &id, &q)) return fail(r, HC_ERR_NOMEM, "out of memory");
      q->nodes = nodes;
      q->optimistic = optimistic;
      pending_chain(p, i, nodes, true);
      m.id = id;
      m.fork = p->remote_fork;
      m.r.has_block = true;
      m.r.block_index = i;
      m.r.block_nodes = nodes;
      m.r.manifest = !c->header.has_manifest && p->remote_has_manifest;
      send_msg(p, HC_MSG_REQUEST, enc_request, &m);
      i++;
    }
    p->ranges[k].next = i;
  }
}

/* Blocks before `next` must be looked at again (the remote has more, requests were lost). */
static void rescan(rpeer *p) {
  for (size_t k = 0; k < p->nranges; k++) p->ranges[k].next = 0;
}

/* ---- receiving ---- */

static void on_sync(rpeer *p, const hc_msg_sync *m) {
  hc_core *c = p->core;
  bool length_changed = m->length != p->remote_length;
  bool same_fork = m->fork == hc_core_fork(c);
  p->remote_synced = true;
  p->remote_fork = m->fork;
  p->remote_length = m->length;
  p->remote_can_upgrade = m->can_upgrade;
  p->remote_uploading = m->uploading;
  p->remote_downloading = m->downloading;
  p->remote_has_manifest = m->has_manifest;
  p->length_acked = same_fork ? m->remote_length : 0;
  if (p->r->cb.on_remote_sync) p->r->cb.on_remote_sync(p->r->user, p->r, c, m->fork, m->length);

  bool upgrade = (!length_changed || !same_fork) ? (p->can_upgrade && same_fork)
                                                 : can_upgrade_at(p, m->length, m->fork);
  if (same_fork) p->can_upgrade = upgrade;
  if (same_fork && hc_core_length(c) > p->remote_length) signal_upgrade(p);
  update_peer(p);
}

static size_t out_backlog(hc_replicator *r) {
  if (!r->ss) return r->pre.out.bytes;
  const uint8_t *d;
  size_t n;
  hc_ss_pending_out(r->ss, &d, &n);
  return n;
}

static void answer_request(rpeer *p, const hc_msg_request *m);

/* Requests and wants wait in p->rq while our output is over the high-water mark (or others
 * wait before them): a peer that asks without reading costs a bounded queue, not output. */
static bool must_queue(rpeer *p) {
  return hc_rq_live(&p->rq) > 0 || out_backlog(p->r) >= OUT_HIGH_WATER;
}

static void queue_msg(rpeer *p, int kind, const void *m) {
  if (hc_rq_live(&p->rq) >= MAX_QUEUED_REQUESTS)
    return fail(p->r, HC_ERR_PROTOCOL, "remote sent more than %u requests without reading the answers",
                MAX_QUEUED_REQUESTS);
  if (hc_rq_push(&p->rq, kind, m)) fail(p->r, HC_ERR_NOMEM, "out of memory");
}

static void on_request(rpeer *p, const hc_msg_request *m) {
  if (!must_queue(p)) {
    answer_request(p, m);
    return;
  }
  queue_msg(p, HC_RQ_REQUEST, m);
}

/* A cancel drops a queued request (answered ones cannot be taken back): O(1). */
static void on_cancel(rpeer *p, uint64_t id) { hc_rq_cancel(&p->rq, id); }

static void drop_request_queue(rpeer *p) { hc_rq_clear(&p->rq); }

static void answer_want(rpeer *p, const hc_msg_want *m);

/* Answers queued requests and wants, and sends held-back syncs, while the output backlog is
 * below the high-water mark. */
static void drain_requests(hc_replicator *r) {
  bool more = true;
  while (more && !r->err) {
    more = false;
    for (size_t i = 0; i < r->npeers && !r->err; i++) {
      rpeer *p = r->peers[i];
      if (!p->ch || p->closed) {
        if (p->rq.len) drop_request_queue(p);
        p->sync_pending = false;
        continue;
      }
      if (out_backlog(r) >= OUT_HIGH_WATER) return;
      if (p->sync_pending) send_sync(p);
      hc_rq_entry e;
      if (!hc_rq_pop(&p->rq, &e)) continue;
      if (e.kind == HC_RQ_REQUEST) answer_request(p, &e.u.req);
      else answer_want(p, &e.u.want);
      if (hc_rq_live(&p->rq)) more = true;
    }
  }
}

static void answer_request(rpeer *p, const hc_msg_request *m) {
  hc_core *c = p->core;
  hc_proof proof;
  uint8_t *value = NULL;
  int rc = HC_ERR_NOT_AVAILABLE;
  memset(&proof, 0, sizeof proof);
  if (m->fork == hc_core_fork(c)) rc = hc__core_build_proof(c, &m->r, &proof, &value);
  if (rc) {
    if (m->r.manifest && c->header.has_manifest) {
      hc_proof mp;
      memset(&mp, 0, sizeof mp);
      mp.request = m->id;
      mp.fork = hc_core_fork(c);
      size_t ml;
      const uint8_t *man = hc_core_manifest(c, &ml);
      if (man) {
        mp.has_manifest = true;
        mp.manifest = man;
        mp.manifest_len = ml;
        send_msg(p, HC_MSG_DATA, enc_data, &mp);
        return;
      }
    }
    hc_msg_no_data nd;
    memset(&nd, 0, sizeof nd);
    nd.request = m->id;
    send_msg(p, HC_MSG_NO_DATA, enc_no_data, &nd);
    return;
  }
  proof.request = m->id;
  proof.fork = m->fork;
  send_msg(p, HC_MSG_DATA, enc_data, &proof);
  if (proof.has_block && p->r->cb.on_upload)
    p->r->cb.on_upload(p->r->user, p->r, c, proof.block_index, proof.block_value_len);
  free(value);
  hc_proof_cleanup(&proof);
}

static void on_data(rpeer *p, const uint8_t *payload, size_t len) {
  hc_replicator *r = p->r;
  hc_core *c = p->core;
  hc_proof proof;
  memset(&proof, 0, sizeof proof);
  if (hc_msg_data_decode(payload, len, &proof) != HC_OK)
    return fail(r, HC_ERR_DECODE, "malformed data message");
  preq req;
  if (proof.request == 0 || !take_inflight(p, proof.request, &req)) {
    hc_proof_cleanup(&proof); /* unsolicited or cancelled: ignore (the reference does too) */
    return;
  }
  if (req.kind == REQ_FORK) {
    if (proof.fork != p->fork_requested || proof.fork <= hc_core_fork(c)) {
      hc_proof_cleanup(&proof);
      update_peer(p);
      return;
    }
    hc__core_reorg_cleanup(&p->reorg);
    int rc = hc__core_reorg_begin(c, &proof, &p->reorg);
    hc_proof_cleanup(&proof);
    if (rc) return fail(r, rc, "fork proof for fork %llu does not verify: %s",
                        (unsigned long long)p->fork_requested, hc_strerror(rc));
    return reorg_continue(p, false);
  }
  if (req.kind == REQ_REORG) {
    if (!p->reorg.active || proof.fork != p->reorg.batch.fork) {
      hc_proof_cleanup(&proof);
      return reorg_continue(p, true);
    }
    int rc = hc__core_reorg_update(c, &p->reorg, &proof);
    hc_proof_cleanup(&proof);
    if (rc == HC_ERR_BUSY) {
      hc__core_reorg_cleanup(&p->reorg);
      return update_peer(p);
    }
    if (rc) return fail(r, rc, "fork %llu: the hashes of block %llu do not verify: %s",
                        (unsigned long long)p->reorg.batch.fork, (unsigned long long)req.index,
                        hc_strerror(rc));
    return reorg_continue(p, false);
  }
  if (proof.fork != hc_core_fork(c)) {
    /* the core moved to another fork meanwhile: stale answer */
    hc_proof_cleanup(&proof);
    update_peer(p);
    return;
  }
  if (req.kind == REQ_BLOCK && (!proof.has_block || proof.block_index != req.index)) {
    hc_proof_cleanup(&proof);
    return fail(r, HC_ERR_PROTOCOL, "data does not answer request for block %llu",
                (unsigned long long)req.index);
  }
  uint64_t old_len = hc_core_length(c);
  bool stored = false;
  int rc = hc__core_apply(c, &proof, &stored);
  if (rc == HC_ERR_NOT_AVAILABLE && req.kind == REQ_BLOCK && req.optimistic) {
    /* answered before the request it counted on: ask again, with every node it lacks */
    hc_proof_cleanup(&proof);
    if (hc_ibits_set(&p->exact_bits, req.index, true)) return fail(r, HC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < p->nranges; k++)
      if (p->ranges[k].next > req.index) p->ranges[k].next = req.index;
    update_peer(p);
    return;
  }
  if (rc == HC_ERR_NOT_AVAILABLE) rc = HC_ERR_BAD_PROOF;
  if (rc == HC_ERR_TOO_LARGE) {
    uint64_t l = proof.upgrade_start + proof.upgrade_length;
    hc_proof_cleanup(&proof);
    return fail(r, rc, "the remote's signed length %llu: length too large for this storage "
                "(refused, nothing recorded)", (unsigned long long)l);
  }
  if (rc) {
    hc_proof_cleanup(&proof);
    if (req.kind == REQ_BLOCK)
      return fail(r, rc, "block %llu from the remote does not verify: %s",
                  (unsigned long long)req.index, hc_strerror(rc));
    return fail(r, rc, "upgrade from the remote does not verify: %s", hc_strerror(rc));
  }
  if (stored && r->cb.on_download)
    r->cb.on_download(r->user, r, c, proof.block_index, proof.block_value_len);
  hc_proof_cleanup(&proof);
  if (hc_core_length(c) != old_len) {
    p->upgrade_backoff = 0; /* verified progress */
    send_sync(p);
  }
  update_peer(p);
}

static void on_no_data(rpeer *p, uint64_t id) {
  preq req;
  if (!take_inflight(p, id, &req)) return;
  if (req.kind == REQ_BLOCK) {
    hc_rb_set_range(&p->remote_bits, req.index, 1, false);
    if (req.index < p->remote_contig) p->remote_contig = req.index;
  }
  if (req.kind == REQ_UPGRADE) {
    /* a remote that announces a length and then has no upgrade for it is asked again after
     * 100 ms, doubling up to 10 s, not at once (that was a request storm) */
    p->upgrade_backoff = p->upgrade_backoff ? p->upgrade_backoff * 2 : UPGRADE_BACKOFF_MIN_MS;
    if (p->upgrade_backoff > UPGRADE_BACKOFF_MAX_MS) p->upgrade_backoff = UPGRADE_BACKOFF_MAX_MS;
    p->upgrade_retry_at = p->r->now + p->upgrade_backoff;
  }
  /* no immediate retry of the same block: wait for a range/sync */
  if (req.kind == REQ_REORG) reorg_continue(p, true); /* settle for the prefix known so far */
  else if (req.kind != REQ_BLOCK) update_peer(p);
}

static void on_want(rpeer *p, const hc_msg_want *m) {
  /* a want is answered with up to a segment of bitfield (256 KiB): queued like requests */
  if (must_queue(p)) return queue_msg(p, HC_RQ_WANT, m);
  answer_want(p, m);
}

static void answer_want(rpeer *p, const hc_msg_want *m) {
  hc_core *c = p->core;
  uint64_t len = hc_core_length(c), contig = hc_core_contiguous_length(c);
  if (m->start + m->length < contig || len == contig || (m->any && m->start < contig)) {
    hc_msg_range rg = {false, 0, contig};
    send_msg(p, HC_MSG_RANGE, enc_range, &rg);
    return;
  }
  if (m->start >= len) return;
  uint64_t length = m->length < len - m->start ? m->length : len - m->start;
  if (m->any) {
    uint64_t bit = hc_bitfield_find(&c->bitfield, m->start, true, m->start + length);
    if (bit != UINT64_MAX) {
      hc_msg_range rg = {false, bit, 1};
      send_msg(p, HC_MSG_RANGE, enc_range, &rg);
    }
    return;
  }
  /* one bitfield message per 2^21-block segment, at least 4 KiB of words */
  uint64_t seg = m->start / SEGMENT_BITS;
  uint64_t remaining = length + (m->start % SEGMENT_BITS);
  hc_mux_cork(p->r->mux);
  while (remaining > 0) {
    uint64_t bytes = remaining / 8;
    if (bytes < 4096) bytes = 4096;
    if (bytes > SEGMENT_BITS / 8) bytes = SEGMENT_BITS / 8;
    bytes = (bytes + 4095) / 4096 * 4096;
    size_t nwords = (size_t)(bytes / 4);
    uint32_t *words = calloc(nwords, 4);
    if (!words) break;
    bool any = false;
    uint64_t base = seg * SEGMENT_BITS;
    for (uint64_t pg = 0; pg < bytes / HC_BITFIELD_PAGE_BYTES; pg++) {
      uint64_t page = base / HC_BITFIELD_PAGE_BITS + pg;
      if (page >= c->bitfield.npages || !c->bitfield.pages[page]) continue;
      const uint8_t *src = c->bitfield.pages[page]->bits;
      for (size_t w = 0; w < HC_BITFIELD_PAGE_BYTES / 4; w++) {
        uint32_t v = hc_get_u32le(src + 4 * w);
        words[pg * (HC_BITFIELD_PAGE_BYTES / 4) + w] = v;
        if (v) any = true;
      }
    }
    if (any) {
      bitfield_words bw = {base, words, nwords};
      uint8_t *buf;
      size_t n;
      if (!hc_encode_alloc(enc_bitfield_words, &bw, 0, 0, NULL, 0, &buf, &n)) {
        hc_mux_send(p->r->mux, p->ch, HC_MSG_BITFIELD, buf, n);
        free(buf);
      }
    }
    free(words);
    seg++;
    remaining = remaining > SEGMENT_BITS ? remaining - SEGMENT_BITS : 0;
  }
  hc_mux_uncork(p->r->mux);
}

static void rescan(rpeer *p);

static void on_range(rpeer *p, const hc_msg_range *m) {
  if (!m->drop) rescan(p);
  if (m->drop && m->start < p->remote_contig) p->remote_contig = m->start;
  int rc = HC_OK;
  if (m->start == 0 && !m->drop) {
    if (m->length > p->remote_contig) p->remote_contig = m->length;
  } else if (m->length > 0) {
    if (m->start + m->length < m->start) return fail(p->r, HC_ERR_PROTOCOL, "range overflows");
    /* proportional to the pages the range touches (a drop of 2^63 blocks is O(log n)) */
    rc = hc_rb_set_range(&p->remote_bits, m->start, m->length, !m->drop);
  }
  if (rc) return fail(p->r, rc, "out of memory for the remote bitfield");
  if (!m->drop) update_peer(p);
}

static void on_bitfield(rpeer *p, const hc_msg_bitfield *m) {
  rescan(p);
  if (m->start < p->remote_contig) p->remote_contig = m->start;
  int rc = hc_rb_or_words(&p->remote_bits, m->start, m->words, m->nwords);
  if (rc) return fail(p->r, rc, "out of memory for the remote bitfield");
  /* remoteContiguousLength extends through the bitfield */
  uint64_t c = hc_rb_next_clear(&p->remote_bits, p->remote_contig);
  if (c > p->remote_contig) p->remote_contig = c;
  update_peer(p);
}

/* ---- extensions ---- */

static void warn(hc_replicator *r, hc_core *core, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warn(hc_replicator *r, hc_core *core, int err, const char *fmt, ...) {
  if (!r->cb.on_warning) return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->cb.on_warning(r->user, r, core, err, msg);
}

static char *dup_name(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

static void on_extension(rpeer *p, const hc_msg_extension *m) {
  const char *name = m->name;
  size_t nl = m->name_len;
  if (nl == 0) {
    if (!p->ext_last_recv) return warn(p->r, p->core, HC_ERR_PROTOCOL, "extension message without a name");
    name = p->ext_last_recv;
    nl = strlen(name);
  } else {
    if (nl > HC_MAX_EXTENSION_NAME) {
      return warn(p->r, p->core, HC_ERR_PROTOCOL, "extension name of %zu bytes dropped", nl);
    }
    char *d = dup_name(name, nl);
    if (!d) return fail(p->r, HC_ERR_NOMEM, "out of memory");
    free(p->ext_last_recv);
    p->ext_last_recv = d;
    name = d;
  }
  if (m->message_len > HC_MAX_EXTENSION_MESSAGE)
    return warn(p->r, p->core, HC_ERR_PROTOCOL, "extension '%.*s': message of %zu bytes dropped",
                (int)nl, name, m->message_len);
  for (size_t i = 0; i < p->nexts; i++) {
    if (p->exts[i].name_len == nl && memcmp(p->exts[i].name, name, nl) == 0) {
      p->exts[i].cb(p->exts[i].user, p->r, p->core, p->exts[i].name, m->message, m->message_len);
      return;
    }
  }
  warn(p->r, p->core, HC_ERR_NOT_FOUND, "message for unknown extension '%.*s' ignored", (int)nl, name);
}

int hc_replicator_register_extension(hc_replicator *r, hc_core *core, const char *name,
                                     hc_extension_cb cb, void *user) {
  rpeer *p = find_peer(r, core);
  if (!p) return HC_ERR_NOT_FOUND;
  size_t nl = name ? strlen(name) : 0;
  if (!cb || nl == 0 || nl > HC_MAX_EXTENSION_NAME) return HC_ERR_INVALID_ARG;
  for (size_t i = 0; i < p->nexts; i++)
    if (p->exts[i].name_len == nl && memcmp(p->exts[i].name, name, nl) == 0) return HC_ERR_EXISTS;
  extension *e = realloc(p->exts, (p->nexts + 1) * sizeof *e);
  if (!e) return HC_ERR_NOMEM;
  p->exts = e;
  e[p->nexts].name = dup_name(name, nl);
  if (!e[p->nexts].name) return HC_ERR_NOMEM;
  e[p->nexts].name_len = nl;
  e[p->nexts].cb = cb;
  e[p->nexts].user = user;
  p->nexts++;
  return HC_OK;
}

int hc_replicator_send_extension(hc_replicator *r, hc_core *core, const char *name,
                                 const uint8_t *msg, size_t len) {
  rpeer *p = find_peer(r, core);
  if (!p) return HC_ERR_NOT_FOUND;
  if (r->err) return r->err;
  size_t nl = name ? strlen(name) : 0;
  if (nl == 0 || nl > HC_MAX_EXTENSION_NAME || len > HC_MAX_EXTENSION_MESSAGE || (len && !msg))
    return HC_ERR_INVALID_ARG;
  if (!p->remote_opened || !p->ch) return HC_ERR_BUSY;
  bool same = p->ext_last_sent && strcmp(p->ext_last_sent, name) == 0;
  hc_msg_extension m;
  m.name = same ? "" : name;
  m.name_len = same ? 0 : nl;
  m.message = msg;
  m.message_len = len;
  uint8_t *buf;
  size_t n;
  int rc = hc_encode_alloc(enc_extension, &m, 0, 0, NULL, 0, &buf, &n);
  if (rc) return rc;
  rc = hc_mux_send(r->mux, p->ch, HC_MSG_EXTENSION, buf, n);
  free(buf);
  if (rc) return rc;
  if (!same) {
    char *d = dup_name(name, nl);
    if (!d) return HC_ERR_NOMEM;
    free(p->ext_last_sent);
    p->ext_last_sent = d;
  }
  return HC_OK;
}

/* ---- mux callbacks ---- */

static void capability(hc_replicator *r, bool initiator_role, const uint8_t key[HC_KEY_BYTES],
                       uint8_t out[HC_HASH_BYTES]) {
  hc_buf parts[2] = {
      {initiator_role ? HC_NS_REPLICATE_INITIATOR : HC_NS_REPLICATE_RESPONDER, HC_HASH_BYTES},
      {key, HC_KEY_BYTES}};
  const uint8_t *hh = r->ss ? hc_ss_handshake_hash(r->ss) : r->pre.handshake_hash;
  hc_crypto_hash_parts(out, parts, 2, hh, HC_HANDSHAKE_HASH_BYTES);
}

static int mux_send_frame(void *user, const uint8_t *frame, size_t len) {
  hc_replicator *r = user;
  if (len > HC_SS_MAX_MESSAGE) return HC_ERR_INVALID_ARG;
  if (!r->ss) return hc_msgq_push(&r->pre.out, frame, len);
  return hc_ss_write(r->ss, frame, len);
}

static int mux_on_open(void *user, hc_mux_channel *ch, const uint8_t *hs, size_t len) {
  hc_replicator *r = user;
  rpeer *p = hc_mux_channel_user(ch);
  if (!p) return HC_OK;
  hc_msg_handshake h;
  hc_dec d;
  hc_dec_init(&d, hs, len);
  if (hc_msg_handshake_decode(&d, &h) != HC_OK) {
    fail(r, HC_ERR_DECODE, "malformed channel handshake");
    return HC_ERR_DECODE;
  }
  uint8_t expected[HC_HASH_BYTES];
  capability(r, !r->initiator, hc_core_key(p->core), expected);
  if (hc_crypto_memcmp(expected, h.capability, HC_HASH_BYTES) != 0) {
    fail(r, HC_ERR_PROTOCOL, "remote sent an invalid replication capability");
    return HC_ERR_PROTOCOL;
  }
  if (p->remote_opened) return HC_OK;
  p->remote_opened = true;
  hc_mux_cork(r->mux);
  send_sync(p);
  uint64_t contig = hc_core_contiguous_length(p->core);
  if (contig > 0) broadcast_range(p, 0, contig, false);
  hc_mux_uncork(r->mux);
  if (r->cb.on_peer_add) r->cb.on_peer_add(r->user, r, p->core);
  return r->err;
}

static int mux_on_message(void *user, hc_mux_channel *ch, uint64_t type, const uint8_t *payload,
                          size_t len) {
  hc_replicator *r = user;
  rpeer *p = hc_mux_channel_user(ch);
  if (!p || r->err) return r->err;
  if (!p->remote_opened) return HC_OK;
  hc_dec d;
  hc_dec_init(&d, payload, len);
  int rc = HC_OK;
  switch (type) {
    case HC_MSG_SYNC: {
      hc_msg_sync m;
      if ((rc = hc_msg_sync_decode(&d, &m)) == HC_OK) on_sync(p, &m);
      break;
    }
    case HC_MSG_REQUEST: {
      hc_msg_request m;
      if ((rc = hc_msg_request_decode(&d, &m)) == HC_OK) on_request(p, &m);
      break;
    }
    case HC_MSG_CANCEL: {
      hc_msg_cancel m;
      if ((rc = hc_msg_cancel_decode(&d, &m)) == HC_OK) on_cancel(p, m.request);
      break;
    }
    case HC_MSG_DATA:
      on_data(p, payload, len);
      break;
    case HC_MSG_NO_DATA: {
      hc_msg_no_data m;
      if ((rc = hc_msg_no_data_decode(&d, &m)) == HC_OK) on_no_data(p, m.request);
      break;
    }
    case HC_MSG_WANT: {
      hc_msg_want m;
      if ((rc = hc_msg_want_decode(&d, &m)) == HC_OK) on_want(p, &m);
      break;
    }
    case HC_MSG_UNWANT: {
      hc_msg_want m;
      rc = hc_msg_want_decode(&d, &m);
      break;
    }
    case HC_MSG_BITFIELD: {
      hc_msg_bitfield m;
      if ((rc = hc_msg_bitfield_decode(&d, &m)) == HC_OK) on_bitfield(p, &m);
      break;
    }
    case HC_MSG_RANGE: {
      hc_msg_range m;
      if ((rc = hc_msg_range_decode(&d, &m)) == HC_OK) on_range(p, &m);
      break;
    }
    case HC_MSG_EXTENSION: {
      hc_msg_extension m;
      if ((rc = hc_msg_extension_decode(&d, &m)) == HC_OK) on_extension(p, &m);
      break;
    }
    default:
      break; /* newer message types are ignored, as protomux does */
  }
  if (rc) fail(r, rc, "malformed %s message", hc_msg_name(type));
  return r->err;
}

/* Forgets everything learnt on the channel that just closed: the reference makes a new Peer
 * for every channel, so a re-opened channel starts from a fresh sync. */
static void reset_channel_state(rpeer *p) {
  p->remote_opened = false;
  p->remote_synced = false;
  p->remote_fork = p->remote_length = p->remote_contig = p->length_acked = 0;
  p->remote_can_upgrade = p->remote_uploading = p->remote_downloading = false;
  p->remote_has_manifest = false;
  p->can_upgrade = true;
  clear_inflight(p);
  p->upgrade_inflight = p->fork_inflight = false;
  hc__core_reorg_cleanup(&p->reorg);
  rescan(p);
  hc_rb_free(&p->remote_bits);
  hc_ibits_free(&p->inflight_bits);
  hc_nset_free(&p->pending);
  hc_ibits_free(&p->exact_bits);
  p->segments_wanted = (free(p->segments_wanted), NULL);
  p->nsegments = 0;
  p->broadcasted_contig = false;
  p->ext_last_sent = (free(p->ext_last_sent), NULL);
  p->ext_last_recv = (free(p->ext_last_recv), NULL);
  drop_request_queue(p);
}

static void mux_on_close(void *user, hc_mux_channel *ch, bool remote) {
  hc_replicator *r = user;
  rpeer *p = hc_mux_channel_user(ch);
  if (!p) return;
  bool was_open = p->remote_opened;
  p->ch = NULL;
  reset_channel_state(p);
  if (was_open && r->cb.on_peer_remove) r->cb.on_peer_remove(r->user, r, p->core);
  /* The remote closed an open, idle channel while we still want data: reopen (Peer.onclose of
   * the reference). A rejected open (never opened) is not retried: the channel stays
   * pairable, so the remote's own open later pairs it (mux_on_unknown_open). */
  if (remote && was_open && !r->err && peer_downloading(p)) {
    if (send_open(r, p) != HC_OK) p->ch = NULL;
  } else {
    p->closed = true;
    if (p->on_demand && r->cb.on_core_released && !peer_downloading(p)) {
      p->release = true; /* after the current input: callers up the stack may hold p */
      r->need_release = true;
    }
  }
}

/* Drops on-demand peers whose channel closed (and stayed closed) during the last input, so a
 * connection that opens and closes many cores does not keep them all open. */
static void release_peers(hc_replicator *r) {
  if (!r->need_release) return;
  r->need_release = false;
  for (size_t i = 0; i < r->npeers;) {
    rpeer *p = r->peers[i];
    if (!p->release || p->ch) {
      p->release = false;
      i++;
      continue;
    }
    hc_core *core = p->core;
    memmove(&r->peers[i], &r->peers[i + 1], (r->npeers - i - 1) * sizeof *r->peers);
    r->npeers--;
    peer_free(p);
    r->cb.on_core_released(r->user, r, core);
  }
}

/* A core already on this replicator whose channel is not open (rejected or closed) gets it
 * again: on the remote's open (protomux.pair in the reference) or when we start downloading
 * (setDownloadingNow's "restart channel if needed"). */
static int reopen_channel(hc_replicator *r, rpeer *p) {
  if (p->ch || !r->handshake_done || r->err) return HC_OK;
  p->closed = false;
  return open_channel(r, p);
}

/* Sends our `open` for p's core (capability for our role). */
static int send_open(hc_replicator *r, rpeer *p) {
  hc_mux_channel_opts o;
  uint8_t hs[40];
  hc_msg_handshake h;
  memset(&o, 0, sizeof o);
  h.seeks = true;
  capability(r, r->initiator, hc_core_key(p->core), h.capability);
  hc_enc e;
  hc_enc_init(&e, hs, sizeof hs);
  hc_msg_handshake_encode(&e, &h);
  static const char *const aliases[] = {HC_PROTOCOL_ALIAS};
  o.protocol = HC_PROTOCOL_NAME;
  o.aliases = aliases;
  o.naliases = 1;
  o.id = hc_core_discovery_key(p->core);
  o.id_len = HC_KEY_BYTES;
  o.handshake = hs;
  o.handshake_len = e.pos;
  o.user = p;
  return hc_mux_open_channel(r->mux, &o, &p->ch);
}

static int open_channel(hc_replicator *r, rpeer *p) {
  int rc = send_open(r, p);
  if (rc) fail(r, rc, "cannot open channel: %s", hc_strerror(rc));
  return rc;
}

static int mux_on_unknown_open(void *user, hc_mux *mux, const char *protocol, size_t plen,
                               const uint8_t *id, size_t id_len) {
  hc_replicator *r = user;
  bool ours = (plen == strlen(HC_PROTOCOL_NAME) && memcmp(protocol, HC_PROTOCOL_NAME, plen) == 0) ||
              (plen == strlen(HC_PROTOCOL_ALIAS) && memcmp(protocol, HC_PROTOCOL_ALIAS, plen) == 0);
  if (!ours || id_len != HC_KEY_BYTES) return HC_OK; /* reject */
  rpeer *known = find_peer_by_discovery_key(r, id);
  /* already paired (a second open for the same core): rejected, as _makePeer's onnochannel */
  if (known) return known->ch ? HC_OK : reopen_channel(r, known);
  if (!r->cb.on_discovery_key) return HC_OK;
  hc_core *core = r->cb.on_discovery_key(r->user, r, id);
  if (!core) return HC_OK;
  if (memcmp(hc_core_discovery_key(core), id, HC_KEY_BYTES) != 0) return HC_OK;
  int rc = hc_replicator_add_core(r, core);
  if (rc == HC_OK) find_peer(r, core)->on_demand = true;
  return rc == HC_ERR_EXISTS ? HC_OK : rc;
}

/* ---- secret stream callbacks ---- */

static void ss_on_message(void *user, const uint8_t *data, size_t len) {
  hc_replicator *r = user;
  if (r->err) return;
  int rc = hc_mux_feed_frame(r->mux, data, len);
  if (rc && !r->err) fail(r, rc, "bad protomux frame: %s", hc_strerror(rc));
}

static void ss_on_handshake(void *user, const uint8_t rpk[HC_KEY_BYTES],
                            const uint8_t hh[HC_HANDSHAKE_HASH_BYTES]) {
  hc_replicator *r = user;
  r->handshake_done = true;
  if (r->cb.on_handshake) r->cb.on_handshake(r->user, r, rpk);
  for (size_t i = 0; i < r->npeers && !r->err; i++)
    if (!r->peers[i]->ch && !r->peers[i]->closed) open_channel(r, r->peers[i]);
}

/* ---- memory budget ---- */

typedef struct mem_parts {
  size_t stream, queued, bitfield, other;
} mem_parts;

static void memory_parts(const hc_replicator *r, mem_parts *m) {
  memset(m, 0, sizeof *m);
  m->stream = hc_ss_memory(r->ss);
  m->other = sizeof *r + r->peers_cap * sizeof *r->peers;
  for (size_t i = 0; i < r->npeers; i++) {
    const rpeer *p = r->peers[i];
    m->queued += hc_rq_memory(&p->rq);
    m->bitfield += hc_rb_memory(&p->remote_bits);
    m->other += sizeof *p + p->inflight_cap * sizeof *p->inflight + p->pending.cap * 12 +
                (p->inflight_bits.cap + p->exact_bits.cap) * 16 +
                (p->inflight_bits.count + p->exact_bits.count) * HC_BITFIELD_PAGE_BYTES +
                p->nsegments * sizeof(uint64_t) + p->ranges_cap * sizeof *p->ranges;
  }
}

size_t hc_replicator_memory(const hc_replicator *r) {
  mem_parts m;
  memory_parts(r, &m);
  return m.stream + m.queued + m.bitfield + m.other;
}

/* Over its budget the connection fails, saying what held the memory. */
static void check_budget(hc_replicator *r) {
  if (r->err || !r->max_memory) return;
  mem_parts m;
  memory_parts(r, &m);
  size_t total = m.stream + m.queued + m.bitfield + m.other;
  if (total <= r->max_memory) return;
  fail(r, HC_ERR_BUDGET,
       "memory budget of %.1f MiB exceeded: %.1f MiB (frames and output %.1f, queued requests "
       "%.1f, remote bitfield %.1f, other %.1f)",
       r->max_memory / 1048576.0, total / 1048576.0, m.stream / 1048576.0, m.queued / 1048576.0,
       m.bitfield / 1048576.0, m.other / 1048576.0);
}

int hc_replicator_set_limits(hc_replicator *r, const hc_replicator_limits *l) {
  if (!r || !l) return HC_ERR_INVALID_ARG;
  if (l->version != HC_REPLICATOR_LIMITS_VERSION) return HC_ERR_BAD_VERSION;
  r->max_memory = l->max_memory == SIZE_MAX ? 0 : l->max_memory ? l->max_memory : HC_DEFAULT_CONN_MEMORY;
  return HC_OK;
}

/* ---- public API ---- */

static int setup_mux(hc_replicator *r) {
  hc_mux_callbacks mc;
  memset(&mc, 0, sizeof mc);
  mc.send_frame = mux_send_frame;
  mc.on_open = mux_on_open;
  mc.on_message = mux_on_message;
  mc.on_close = mux_on_close;
  mc.on_unknown_open = mux_on_unknown_open;
  int rc = hc_mux_new(&r->mux, &mc, r);
  if (!rc) hc_mux_set_max_batch(r->mux, BATCH_BYTES);
  return rc;
}

int hc_replicator_new(hc_replicator **out, const hc_replicator_opts *opts,
                      const hc_replicator_callbacks *cb, void *user) {
  if (!out || !opts) return HC_ERR_INVALID_ARG;
  *out = NULL;
  /* opts: versions 1..current (handshake_timeout_ms is read only from version 2 on);
   * callbacks: exactly the known layout. */
  if (opts->version < 1 || opts->version > HC_REPLICATOR_OPTS_VERSION ||
      (cb && cb->version != HC_REPLICATOR_CALLBACKS_VERSION))
    return HC_ERR_BAD_VERSION;
  if (hc_crypto_init()) return HC_ERR_IO;
  hc_replicator *r = calloc(1, sizeof *r);
  if (!r) return HC_ERR_NOMEM;
  if (cb) r->cb = *cb;
  r->user = user;
  r->initiator = opts->is_initiator;
  r->keepalive_ms = opts->keepalive_ms ? opts->keepalive_ms : DEFAULT_KEEPALIVE_MS;
  r->timeout_ms = DEFAULT_TIMEOUT_MS;
  r->max_inflight = opts->max_inflight ? opts->max_inflight : 512;
  r->handshake_timeout_ms = opts->version >= 2 && opts->handshake_timeout_ms
                                ? opts->handshake_timeout_ms
                                : HANDSHAKE_TIMEOUT_MS;
  uint8_t sk[HC_SECRET_KEY_BYTES], pk[HC_KEY_BYTES];
  if (opts->static_secret_key) memcpy(sk, opts->static_secret_key, HC_SECRET_KEY_BYTES);
  else hc_crypto_keypair(pk, sk);
  hc_ss_opts so;
  memset(&so, 0, sizeof so);
  so.on_message = ss_on_message;
  so.on_handshake = ss_on_handshake;
  so.user = r;
  so.ephemeral_seed = opts->ephemeral_seed;
  int rc = hc_ss_new(&r->ss, r->initiator, NULL, sk, &so);
  hc_crypto_wipe(sk, sizeof sk);
  if (rc) {
    free(r);
    return rc;
  }
  rc = setup_mux(r);
  if (rc) {
    hc_ss_free(r->ss);
    free(r);
    return rc;
  }
  *out = r;
  return HC_OK;
}

int hc_replicator_new_preauth(hc_replicator **out, const hc_preauth_opts *opts,
                              const hc_replicator_callbacks *cb, void *user) {
  if (!out) return HC_ERR_INVALID_ARG;
  *out = NULL;
  if (!opts || !opts->handshake_hash || !opts->remote_public_key) return HC_ERR_INVALID_ARG;
  if (opts->version != HC_PREAUTH_OPTS_VERSION ||
      (cb && cb->version != HC_REPLICATOR_CALLBACKS_VERSION))
    return HC_ERR_BAD_VERSION;
  if (hc_crypto_init()) return HC_ERR_IO;
  hc_replicator *r = calloc(1, sizeof *r);
  if (!r) return HC_ERR_NOMEM;
  if (cb) r->cb = *cb;
  r->user = user;
  r->initiator = opts->is_initiator;
  /* the transport owns liveness: no keep-alives, no handshake or silence timeout */
  r->keepalive_ms = UINT64_MAX;
  r->timeout_ms = UINT64_MAX;
  r->handshake_timeout_ms = UINT64_MAX;
  r->max_inflight = opts->max_inflight ? opts->max_inflight : 512;
  memcpy(r->pre.handshake_hash, opts->handshake_hash, HC_HANDSHAKE_HASH_BYTES);
  memcpy(r->pre.remote_pk, opts->remote_public_key, HC_KEY_BYTES);
  r->handshake_done = true;
  int rc = setup_mux(r);
  if (rc) {
    free(r);
    return rc;
  }
  *out = r;
  return HC_OK;
}

bool hc_replicator_is_preauth(const hc_replicator *r) { return r && !r->ss; }

static void peer_free(rpeer *p) {
  hc_core_off_update(p->core, core_event, p);
  hc_rb_free(&p->remote_bits);
  hc_ibits_free(&p->inflight_bits);
  hc_ibits_free(&p->exact_bits);
  hc_nset_free(&p->pending);
  hc__core_reorg_cleanup(&p->reorg);
  free(p->ranges);
  free(p->inflight);
  free(p->segments_wanted);
  hc_rq_clear(&p->rq);
  for (size_t k = 0; k < p->nexts; k++) free(p->exts[k].name);
  free(p->exts);
  free(p->ext_last_sent);
  free(p->ext_last_recv);
  free(p);
}

void hc_replicator_free(hc_replicator *r) {
  if (!r) return;
  for (size_t i = 0; i < r->npeers; i++) peer_free(r->peers[i]);
  free(r->peers);
  hc_mux_free(r->mux);
  hc_ss_free(r->ss);
  hc_msgq_free(&r->pre.out);
  free(r);
}

int hc_replicator_add_core(hc_replicator *r, hc_core *core) {
  if (!r || !core) return HC_ERR_INVALID_ARG;
  if (r->err) return r->err;
  if (find_peer(r, core)) return HC_ERR_EXISTS;
  if (hc_grow((void **)&r->peers, &r->peers_cap, r->npeers + 1, sizeof *r->peers, 4))
    return HC_ERR_NOMEM;
  rpeer *p = calloc(1, sizeof *p);
  if (!p) return HC_ERR_NOMEM;
  p->r = r;
  p->core = core;
  p->can_upgrade = true;
  int rc = hc_core_on_update(core, core_event, p);
  if (rc) {
    free(p);
    return rc;
  }
  r->peers[r->npeers++] = p;
  if (r->handshake_done) return open_channel(r, p);
  return HC_OK;
}

int hc_replicator_remove_core(hc_replicator *r, hc_core *core) {
  if (!r || !core) return HC_ERR_INVALID_ARG;
  rpeer *p = find_peer(r, core);
  if (!p) return HC_ERR_NOT_FOUND;
  int rc = HC_OK;
  if (p->ch) {
    /* the channel may outlive p (kept until the remote answers our open): detach it first */
    hc_mux_channel *ch = p->ch;
    bool was_open = p->remote_opened;
    hc_mux_channel_set_user(ch, NULL);
    p->ch = NULL;
    rc = hc_mux_close_channel(r->mux, ch);
    if (rc == HC_ERR_CLOSED) rc = HC_OK;
    if (was_open && r->cb.on_peer_remove) r->cb.on_peer_remove(r->user, r, core);
  }
  size_t i = 0;
  while (r->peers[i] != p) i++;
  memmove(&r->peers[i], &r->peers[i + 1], (r->npeers - i - 1) * sizeof *r->peers);
  r->npeers--;
  peer_free(p);
  if (rc && !r->err) fail(r, rc, "closing a channel: %s", hc_strerror(rc));
  return r->err ? r->err : HC_OK;
}

int hc_replicator_download(hc_replicator *r, hc_core *core, uint64_t start, uint64_t end) {
  rpeer *p = find_peer(r, core);
  if (!p) return HC_ERR_NOT_FOUND;
  if (start > end) return HC_ERR_INVALID_ARG;
  if (hc_grow((void **)&p->ranges, &p->ranges_cap, p->nranges + 1, sizeof *p->ranges, 4))
    return HC_ERR_NOMEM;
  p->ranges[p->nranges].start = start;
  p->ranges[p->nranges].end = end;
  p->ranges[p->nranges].cursor = start;
  p->ranges[p->nranges].next = 0;
  p->nranges++;
  if (!p->ch) return reopen_channel(r, p);
  if (p->remote_opened) {
    send_sync(p); /* we are downloading now */
    update_peer(p);
  }
  return r->err;
}

int hc_replicator_set_live(hc_replicator *r, hc_core *core, bool live) {
  rpeer *p = find_peer(r, core);
  if (!p) return HC_ERR_NOT_FOUND;
  p->live = live;
  if (live && !p->ch) return reopen_channel(r, p);
  if (p->remote_opened) update_peer(p);
  return r->err;
}

/* One input (bytes of the secret stream, or one whole message of a pre-authenticated
 * transport) with the batching around it. */
static int feed_input(hc_replicator *r, const uint8_t *data, size_t len, uint64_t now_ms) {
  if (r->err) return r->err;
  r->now = now_ms;
  if (!r->created) r->created = now_ms ? now_ms : 1;
  r->last_recv = now_ms;
  /* verified downloads of this input are written together (see hc__core_defer_begin), and what
   * it makes us send goes out in protomux batches of up to BATCH_BYTES (fewer secret-stream
   * messages, but small enough to keep the other side streaming) */
  for (size_t i = 0; i < r->npeers; i++) hc__core_defer_begin(r->peers[i]->core);
  size_t npeers = r->npeers;
  hc_mux_cork(r->mux);
  int rc;
  if (r->ss) {
    rc = hc_ss_feed(r->ss, data, len);
  } else {
    rc = HC_OK;
    if (len) ss_on_message(r, data, len); /* empty: a keep-alive */
  }
  int urc = hc_mux_uncork(r->mux);
  if (urc && urc != HC_ERR_CLOSED && !r->err) fail(r, urc, "send failed: %s", hc_strerror(urc));
  int drc = HC_OK;
  for (size_t i = 0; i < npeers && i < r->npeers; i++) {
    int e = hc__core_defer_end(r->peers[i]->core);
    if (e && !drc) drc = e;
  }
  if (drc && !r->err) fail(r, drc, "storing downloaded blocks failed: %s", hc_strerror(drc));
  if (!r->err) release_peers(r);
  if (rc && !r->err) fail(r, rc, "%s", rc == HC_ERR_HANDSHAKE ? "Noise handshake failed"
                                                             : "secret-stream frame rejected");
  check_budget(r);
  return r->err;
}

int hc_replicator_feed(hc_replicator *r, const uint8_t *data, size_t len, uint64_t now_ms) {
  if (!r->ss) return HC_ERR_INVALID_ARG;
  return feed_input(r, data, len, now_ms);
}

int hc_replicator_feed_message(hc_replicator *r, const uint8_t *msg, size_t len,
                               uint64_t now_ms) {
  if (!r || r->ss || (!msg && len)) return HC_ERR_INVALID_ARG;
  if (len > HC_SS_MAX_MESSAGE && !r->err)
    fail(r, HC_ERR_PROTOCOL, "message of %zu bytes is larger than a secret-stream message", len);
  return feed_input(r, msg, len, now_ms);
}

bool hc_replicator_pending_message(hc_replicator *r, const uint8_t **msg, size_t *len) {
  if (!r->ss && r->pre.out.count) {
    hc_msgq_peek(&r->pre.out, msg, len);
    return true;
  }
  *msg = NULL;
  *len = 0;
  return false;
}

void hc_replicator_consume_message(hc_replicator *r) {
  if (r->ss) return;
  hc_msgq_pop(&r->pre.out);
  if (!r->err) drain_requests(r);
}

size_t hc_replicator_pending_bytes(const hc_replicator *r) {
  if (!r->ss) return r->pre.out.bytes;
  const uint8_t *d;
  size_t n;
  hc_ss_pending_out(r->ss, &d, &n);
  return n;
}

const uint8_t *hc_replicator_remote_public_key(const hc_replicator *r) {
  if (!r->ss) return r->pre.remote_pk;
  return r->handshake_done ? hc_ss_remote_public_key(r->ss) : NULL;
}

void hc_replicator_pending_out(hc_replicator *r, const uint8_t **data, size_t *len) {
  if (!r->ss) { /* pre-authenticated: messages go out through hc_replicator_pending_message */
    *data = NULL;
    *len = 0;
    return;
  }
  hc_ss_pending_out(r->ss, data, len);
}

void hc_replicator_consume_out(hc_replicator *r, size_t n) {
  if (!r->ss) return;
  hc_ss_consume_out(r->ss, n);
  if (!r->err) drain_requests(r);
}

int hc_replicator_tick(hc_replicator *r, uint64_t now_ms) {
  if (r->err) return r->err;
  r->now = now_ms;
  if (!r->created) r->created = now_ms ? now_ms : 1;
  if (!r->last_recv) r->last_recv = now_ms;
  if (!r->last_keepalive) r->last_keepalive = now_ms;
  if (r->ss && !hc_ss_remote_ready(r->ss) && now_ms - r->created > r->handshake_timeout_ms) {
    fail(r, HC_ERR_TIMEOUT, "handshake timed out");
    return r->err;
  }
  if (r->timeout_ms != UINT64_MAX && now_ms - r->last_recv > r->timeout_ms) {
    fail(r, HC_ERR_TIMEOUT, "remote silent for %llu ms", (unsigned long long)r->timeout_ms);
    return r->err;
  }
  if (r->keepalive_ms != UINT64_MAX && r->ss && hc_ss_state(r->ss) == HC_SS_OPEN &&
      now_ms - r->last_keepalive >= r->keepalive_ms) {
    r->last_keepalive = now_ms;
    int rc = hc_ss_keepalive(r->ss);
    if (rc) fail(r, rc, "keep-alive failed");
  }
  drain_requests(r);
  for (size_t i = 0; i < r->npeers && !r->err; i++) update_peer(r->peers[i]);
  check_budget(r);
  return r->err;
}

uint64_t hc_replicator_next_timeout(const hc_replicator *r) {
  if (!r->ss) return UINT64_MAX; /* pre-authenticated: the transport keeps time */
  uint64_t t = r->last_recv + r->timeout_ms;
  /* keep-alives only run once the stream is open: before that their deadline never moves,
   * and counting it made every poll return at once while a handshake was pending */
  if (r->keepalive_ms != UINT64_MAX && hc_ss_state(r->ss) == HC_SS_OPEN &&
      r->last_keepalive + r->keepalive_ms < t)
    t = r->last_keepalive + r->keepalive_ms;
  for (size_t i = 0; i < r->npeers; i++) /* an upgrade waiting out its backoff */
    if (r->peers[i]->upgrade_retry_at > r->now && r->peers[i]->upgrade_retry_at < t)
      t = r->peers[i]->upgrade_retry_at;
  if (!hc_ss_remote_ready(r->ss) && r->created + r->handshake_timeout_ms + 1 < t)
    t = r->created + r->handshake_timeout_ms + 1;
  return t;
}

int hc_replicator_error(const hc_replicator *r) { return r->err; }

const char *hc_replicator_error_message(const hc_replicator *r) {
  return r->err ? r->errmsg : "";
}

bool hc_replicator_ready(const hc_replicator *r) {
  return !r->ss || hc_ss_remote_ready(r->ss) != 0;
}

bool hc_replicator_remote_info(const hc_replicator *r, const hc_core *core, uint64_t *fork,
                               uint64_t *length) {
  rpeer *p = find_peer(r, core);
  if (!p || !p->remote_synced) return false;
  if (fork) *fork = p->remote_fork;
  if (length) *length = p->remote_length;
  return true;
}

bool hc_replicator_done(const hc_replicator *r, const hc_core *core) {
  rpeer *p = find_peer(r, core);
  if (!p || !p->remote_synced) return false;
  hc_core *c = p->core;
  if (p->remote_fork != hc_core_fork(c)) return false;
  uint64_t len = hc_core_length(c);
  if (len < p->remote_length) return false;
  for (size_t i = 0; i < p->nranges; i++) {
    uint64_t e = p->ranges[i].end < len ? p->ranges[i].end : len;
    if (p->ranges[i].start < e && !hc_core_has(c, p->ranges[i].start, e)) return false;
  }
  return true;
}

size_t hc_replicator_inflight(const hc_replicator *r, const hc_core *core) {
  rpeer *p = find_peer(r, core);
  return p ? p->ninflight : 0;
}

/* ---- core events: announce local changes to the remote ---- */

static void core_event(void *user, hc_core *core, hc_core_event ev, uint64_t start,
                       uint64_t length) {
  rpeer *p = user;
  if (!p->remote_opened || p->r->err) return;
  hc_mux_cork(p->r->mux);
  switch (ev) {
    case HC_EVENT_APPEND:
      signal_upgrade(p);
      broadcast_range(p, start, length, false);
      break;
    case HC_EVENT_UPGRADE:
      signal_upgrade(p);
      break;
    case HC_EVENT_DOWNLOAD:
      broadcast_range(p, start, 1, false);
      break;
    case HC_EVENT_TRUNCATE:
      for (size_t k = 0; k < p->nranges; k++) p->ranges[k].cursor = p->ranges[k].start;
      rescan(p);
      p->can_upgrade = false;
      send_sync(p);
      if (length) broadcast_range(p, start, length, true);
      break;
    case HC_EVENT_CLEAR:
      for (size_t k = 0; k < p->nranges; k++) p->ranges[k].cursor = p->ranges[k].start;
      rescan(p);
      broadcast_range(p, start, length, true);
      break;
  }
  hc_mux_uncork(p->r->mux);
}
