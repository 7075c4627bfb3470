/* Protomux 3.12.1, sans-I/O (see protomux.h). Mirrors the reference's id bookkeeping:
 * local[] (our ids), remote[] (the remote's ids), the outgoing list of our opens the remote has
 * not answered yet (closed channels stay there as zombies until the remote answers, so their
 * id is not reused early), and pending remote opens waiting for a local pairing. */
#include "protomux.h"

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "grow.h"
#include "hypercore/common.h"

#define MAX_BATCH_DEPTH 2 /* a batch inside a batch is legal for the reference; no deeper */

struct hc_mux_channel {
  hc_mux *mux;
  char *protocol;
  char **aliases;
  size_t naliases;
  uint8_t *id;
  size_t id_len;
  void *user;
  uint64_t local_id;  /* 0 once closed and the id released */
  uint64_t remote_id; /* 0 until paired */
  uint64_t zombie_id; /* closed before the remote answered: id to release on the answer */
  bool opened, closed, in_outgoing;
  hc_mux_channel *next_all;
};

typedef struct pending_msg {
  uint64_t type;
  uint8_t *data;
  size_t len;
} pending_msg;

typedef struct remote_slot {
  bool used;
  hc_mux_channel *session; /* paired */
  bool pending;            /* unpaired incoming open */
  uint64_t seq;
  char *protocol;
  size_t protocol_len;
  uint8_t *id;
  size_t id_len;
  uint8_t *handshake;
  size_t handshake_len;
  pending_msg *msgs;
  size_t nmsgs, msgs_cap;
} remote_slot;

struct hc_mux {
  hc_mux_callbacks cb;
  void *user;
  bool destroyed;
  int depth;       /* nesting of public calls (channels are freed at depth 0) */
  bool need_sweep;
  hc_mux_channel *all;
  hc_mux_channel **local; /* index id-1; NULL when free or closed */
  size_t nlocal, local_cap;
  uint64_t *free_ids; /* stack of free local ids */
  size_t nfree, free_cap;
  hc_mux_channel **outgoing; /* FIFO of channels awaiting the remote's open */
  size_t nout, out_cap;
  remote_slot *remote; /* index id-1 */
  size_t nremote, remote_cap;
  uint64_t seq;
  size_t buffered;
  int corked;
  uint8_t *batch; /* encoded batch frame under construction */
  size_t batch_len, batch_cap;
  uint64_t batch_last; /* channel of the last batch item */
  bool batch_any;
  size_t max_batch; /* a corked batch is sent once it reaches this size */
};

/* ---- small helpers ---- */

static uint8_t *dup_bytes(const void *p, size_t n) {
  uint8_t *q = malloc(n ? n : 1);
  if (q && n) memcpy(q, p, n);
  return q;
}

static char *dup_str(const char *s, size_t n) {
  char *q = malloc(n + 1);
  if (!q) return NULL;
  if (n) memcpy(q, s, n);
  q[n] = 0;
  return q;
}

static bool name_eq(const char *a, const char *b, size_t blen) {
  return strlen(a) == blen && memcmp(a, b, blen) == 0;
}

/* Does channel ch answer to (protocol, id)? */
static bool chan_matches(const hc_mux_channel *ch, const char *protocol, size_t plen,
                         const uint8_t *id, size_t id_len) {
  if (ch->id_len != id_len || (id_len && memcmp(ch->id, id, id_len) != 0)) return false;
  if (name_eq(ch->protocol, protocol, plen)) return true;
  for (size_t i = 0; i < ch->naliases; i++)
    if (name_eq(ch->aliases[i], protocol, plen)) return true;
  return false;
}

static void free_channel(hc_mux_channel *ch) {
  free(ch->protocol);
  for (size_t i = 0; i < ch->naliases; i++) free(ch->aliases[i]);
  free(ch->aliases);
  free(ch->id);
  free(ch);
}

static void clear_remote(hc_mux *mux, remote_slot *r) {
  for (size_t i = 0; i < r->nmsgs; i++) {
    mux->buffered -= 512 + r->msgs[i].len;
    free(r->msgs[i].data);
  }
  free(r->msgs);
  free(r->protocol);
  free(r->id);
  free(r->handshake);
  memset(r, 0, sizeof *r);
}

static void sweep(hc_mux *mux) {
  if (!mux->need_sweep || mux->depth > 0) return;
  mux->need_sweep = false;
  hc_mux_channel **pp = &mux->all;
  while (*pp) {
    hc_mux_channel *ch = *pp;
    if (ch->closed && !ch->in_outgoing) {
      *pp = ch->next_all;
      free_channel(ch);
    } else {
      pp = &ch->next_all;
    }
  }
}

static void enter(hc_mux *mux) { mux->depth++; }
static int leave(hc_mux *mux, int rc) {
  mux->depth--;
  sweep(mux);
  return rc;
}

static int push_free(hc_mux *mux, uint64_t id) {
  int rc = hc_grow((void **)&mux->free_ids, &mux->free_cap, mux->nfree + 1, sizeof(uint64_t), 8);
  if (rc) return rc;
  mux->free_ids[mux->nfree++] = id;
  return HC_OK;
}

static void remove_outgoing(hc_mux *mux, size_t i) {
  mux->outgoing[i]->in_outgoing = false;
  memmove(&mux->outgoing[i], &mux->outgoing[i + 1], (mux->nout - i - 1) * sizeof *mux->outgoing);
  mux->nout--;
  mux->need_sweep = true;
}

/* ---- sending ---- */

static int send_raw(hc_mux *mux, const uint8_t *frame, size_t len) {
  return mux->cb.send_frame(mux->user, frame, len);
}

static int flush_batch(hc_mux *mux) {
  if (!mux->batch_any) return HC_OK;
  uint8_t *b = mux->batch;
  size_t n = mux->batch_len;
  mux->batch = NULL;
  mux->batch_len = mux->batch_cap = 0;
  mux->batch_any = false;
  int rc = send_raw(mux, b, n);
  free(b);
  return rc;
}

static int batch_append(hc_mux *mux, const void *p, size_t n) {
  int rc = hc_grow((void **)&mux->batch, &mux->batch_cap, mux->batch_len + n, 1, 8);
  if (rc) return rc;
  memcpy(mux->batch + mux->batch_len, p, n);
  mux->batch_len += n;
  return HC_OK;
}

static int batch_append_uint(hc_mux *mux, uint64_t v) {
  uint8_t tmp[9];
  hc_enc e;
  hc_enc_init(&e, tmp, sizeof tmp);
  hc_enc_uint(&e, v);
  return batch_append(mux, tmp, e.pos);
}

/* Adds one item (`type || payload` for channel `ch`; for control: the control frame minus its
 * leading 0) to the batch (protomux _pushBatch). `head` is a small prefix (the varint type). */
static int batch_push(hc_mux *mux, uint64_t ch, const uint8_t *head, size_t head_len,
                      const uint8_t *payload, size_t len) {
  int rc;
  if (mux->batch_len >= mux->max_batch && (rc = flush_batch(mux))) return rc;
  if (!mux->batch_any) {
    static const uint8_t hdr[2] = {0, 0};
    if ((rc = batch_append(mux, hdr, 2)) || (rc = batch_append_uint(mux, ch))) return rc;
    mux->batch_any = true;
    mux->batch_last = ch;
  } else if (mux->batch_last != ch) {
    static const uint8_t zero = 0;
    if ((rc = batch_append(mux, &zero, 1)) || (rc = batch_append_uint(mux, ch))) return rc;
    mux->batch_last = ch;
  }
  if ((rc = batch_append_uint(mux, head_len + len)) || (rc = batch_append(mux, head, head_len)))
    return rc;
  if (len && (rc = batch_append(mux, payload, len))) return rc;
  return HC_OK;
}

/* Sends a frame `varint ch || varint type || payload`, or batches it when corked. */
static int send_msg(hc_mux *mux, uint64_t ch, uint64_t type, const uint8_t *payload,
                    size_t len) {
  uint8_t head[9];
  hc_enc e;
  hc_enc_init(&e, head, sizeof head);
  hc_enc_uint(&e, type);
  if (mux->corked > 0) return batch_push(mux, ch, head, e.pos, payload, len);
  size_t n = hc_enc_uint_len(ch) + e.pos + len;
  uint8_t *f = malloc(n);
  if (!f) return HC_ERR_NOMEM;
  hc_enc fe;
  hc_enc_init(&fe, f, n);
  hc_enc_uint(&fe, ch);
  hc_enc_raw(&fe, head, e.pos);
  if (len) hc_enc_raw(&fe, payload, len);
  int rc = send_raw(mux, f, n);
  free(f);
  return rc;
}

static int send_control_id(hc_mux *mux, uint64_t type, uint64_t id) {
  uint8_t body[9];
  hc_enc e;
  hc_enc_init(&e, body, sizeof body);
  hc_enc_uint(&e, id);
  return send_msg(mux, 0, type, body, e.pos);
}

/* ---- closing ---- */

/* protomux Channel._close */
static int close_channel(hc_mux *mux, hc_mux_channel *ch, bool remote) {
  if (ch->closed) return HC_OK;
  ch->closed = true;
  mux->need_sweep = true;
  int rc = HC_OK;
  uint64_t lid = ch->local_id;
  if (ch->remote_id > 0) {
    remote_slot *r = &mux->remote[ch->remote_id - 1];
    clear_remote(mux, r);
    ch->remote_id = 0;
    rc = push_free(mux, lid);
  } else if (ch->in_outgoing) {
    ch->zombie_id = lid; /* released when the remote answers */
  }
  if (lid && lid <= mux->nlocal) mux->local[lid - 1] = NULL;
  if (mux->cb.on_close) mux->cb.on_close(mux->user, ch, remote); /* still sees its id */
  ch->local_id = 0;
  return rc;
}

/* ---- opening ---- */

static int deliver(hc_mux *mux, hc_mux_channel *ch, uint64_t type, const uint8_t *p,
                   size_t len) {
  if (!mux->cb.on_message || ch->closed) return HC_OK;
  return mux->cb.on_message(mux->user, ch, type, p, len);
}

/* protomux Channel._fullyOpen: on_open with the remote's handshake, then drain buffered. */
static int fully_open(hc_mux *mux, hc_mux_channel *ch, remote_slot *r) {
  int rc = HC_OK;
  r->session = ch;
  r->pending = false;
  /* take the handshake and the buffered messages out of the slot: callbacks may close the
   * channel (clearing the slot) or grow the remote table */
  uint8_t *hs = r->handshake;
  size_t hslen = r->handshake_len;
  pending_msg *msgs = r->msgs;
  size_t n = r->nmsgs;
  r->handshake = NULL;
  r->handshake_len = 0;
  r->msgs = NULL;
  r->nmsgs = r->msgs_cap = 0;
  if (mux->cb.on_open) rc = mux->cb.on_open(mux->user, ch, hs ? hs : (const uint8_t *)"", hslen);
  free(hs);
  size_t i = 0;
  for (; i < n && rc == HC_OK && !ch->closed && !mux->destroyed; i++) {
    mux->buffered -= 512 + msgs[i].len;
    rc = deliver(mux, ch, msgs[i].type, msgs[i].data, msgs[i].len);
    free(msgs[i].data);
  }
  for (; i < n; i++) {
    mux->buffered -= 512 + msgs[i].len;
    free(msgs[i].data);
  }
  free(msgs);
  if (rc == HC_OK && !ch->closed && !mux->destroyed) ch->opened = true;
  return rc;
}

static remote_slot *find_pending_remote(hc_mux *mux, const hc_mux_channel *ch) {
  remote_slot *best = NULL;
  for (size_t i = 0; i < mux->nremote; i++) {
    remote_slot *r = &mux->remote[i];
    if (!r->used || !r->pending || r->session) continue;
    if (!chan_matches(ch, r->protocol, r->protocol_len, r->id, r->id_len)) continue;
    if (!best || r->seq < best->seq) best = r;
  }
  return best;
}

bool hc_mux_opened(const hc_mux *mux, const char *protocol, const uint8_t *id, size_t id_len) {
  for (size_t i = 0; i < mux->nlocal; i++) {
    const hc_mux_channel *ch = mux->local[i];
    if (ch && !ch->closed && chan_matches(ch, protocol, strlen(protocol), id, id_len))
      return true;
  }
  return false;
}

/* The open frame body: varint localId, string protocol, optionalBuffer id, raw handshake. */
typedef struct open_frame {
  uint64_t lid;
  const hc_mux_channel_opts *o;
} open_frame;

static int enc_open(hc_enc *e, const void *item) {
  const open_frame *f = item;
  hc_enc_uint(e, f->lid);
  hc_enc_string(e, f->o->protocol, strlen(f->o->protocol));
  hc_enc_buffer(e, f->o->id, f->o->id_len);
  if (f->o->handshake_len) hc_enc_raw(e, f->o->handshake, f->o->handshake_len);
  return HC_OK;
}

int hc_mux_open_channel(hc_mux *mux, const hc_mux_channel_opts *o, hc_mux_channel **out) {
  if (out) *out = NULL;
  if (!o || !o->protocol || (o->id_len && !o->id) || (o->handshake_len && !o->handshake) ||
      (o->naliases && !o->aliases))
    return HC_ERR_INVALID_ARG;
  if (mux->destroyed) return HC_ERR_CLOSED;
  if (hc_mux_opened(mux, o->protocol, o->id, o->id_len)) return HC_ERR_EXISTS;
  for (size_t i = 0; i < o->naliases; i++)
    if (hc_mux_opened(mux, o->aliases[i], o->id, o->id_len)) return HC_ERR_EXISTS;

  hc_mux_channel *ch = calloc(1, sizeof *ch);
  if (!ch) return HC_ERR_NOMEM;
  ch->mux = mux;
  ch->user = o->user;
  ch->protocol = dup_str(o->protocol, strlen(o->protocol));
  ch->id_len = o->id_len;
  ch->id = o->id_len ? dup_bytes(o->id, o->id_len) : NULL;
  ch->aliases = o->naliases ? calloc(o->naliases, sizeof *ch->aliases) : NULL;
  bool ok = ch->protocol && (!o->id_len || ch->id) && (!o->naliases || ch->aliases);
  for (size_t i = 0; ok && i < o->naliases; i++) {
    ch->aliases[i] = dup_str(o->aliases[i], strlen(o->aliases[i]));
    if (!ch->aliases[i]) ok = false;
    else ch->naliases = i + 1;
  }
  /* the id we will take, and the open frame body:
   * varint localId, string protocol, optionalBuffer id, raw handshake */
  uint64_t lid = mux->nfree > 0 ? mux->free_ids[mux->nfree - 1] : (uint64_t)mux->nlocal + 1;
  open_frame of = {lid, o};
  uint8_t *body = NULL;
  size_t n;
  if (!ok || hc_encode_alloc(enc_open, &of, 0, 0, NULL, 0, &body, &n) ||
      hc_grow((void **)&mux->local, &mux->local_cap, mux->nlocal + 1, sizeof *mux->local, 8) ||
      hc_grow((void **)&mux->outgoing, &mux->out_cap, mux->nout + 1, sizeof *mux->outgoing, 8)) {
    free(body);
    free_channel(ch);
    return HC_ERR_NOMEM;
  }

  /* commit: nothing below fails before the frame is sent */
  enter(mux);
  if (mux->nfree > 0) mux->nfree--;
  else mux->local[mux->nlocal++] = NULL;
  ch->local_id = lid;
  mux->local[lid - 1] = ch;
  ch->next_all = mux->all;
  mux->all = ch;
  if (out) *out = ch;
  remote_slot *r = find_pending_remote(mux, ch);
  uint64_t rid = r ? (uint64_t)(r - mux->remote) + 1 : 0;
  if (!r) {
    mux->outgoing[mux->nout++] = ch;
    ch->in_outgoing = true;
  }
  int rc = send_msg(mux, 0, 1, body, n);
  free(body);
  if (rc == HC_OK && rid && !ch->closed && !mux->destroyed) {
    r = &mux->remote[rid - 1];
    if (r->used && r->pending && !r->session) {
      ch->remote_id = rid;
      rc = fully_open(mux, ch, r);
    }
  }
  return leave(mux, rc);
}

static int reject_remote(hc_mux *mux, uint64_t rid) {
  clear_remote(mux, &mux->remote[rid - 1]);
  return send_control_id(mux, 2, rid);
}

int hc_mux_reject(hc_mux *mux, const char *protocol, const uint8_t *id, size_t id_len) {
  if (mux->destroyed) return HC_ERR_CLOSED;
  enter(mux);
  int rc = HC_OK;
  size_t plen = strlen(protocol);
  for (size_t i = 0; i < mux->nremote && rc == HC_OK; i++) {
    remote_slot *r = &mux->remote[i];
    if (!r->used || !r->pending || r->session) continue;
    if (r->protocol_len != plen || memcmp(r->protocol, protocol, plen) != 0) continue;
    if (r->id_len != id_len || (id_len && memcmp(r->id, id, id_len) != 0)) continue;
    rc = reject_remote(mux, i + 1);
  }
  return leave(mux, rc);
}

/* ---- receiving ---- */

static int on_open_frame(hc_mux *mux, hc_dec *d) {
  uint64_t rid = hc_dec_uint(d);
  size_t plen = 0, idlen = 0;
  const uint8_t *proto = hc_dec_buffer(d, &plen);
  const uint8_t *id = hc_dec_buffer(d, &idlen);
  if (d->err) return HC_ERR_DECODE;
  if (!proto) proto = (const uint8_t *)"";
  const uint8_t *hs = d->p;
  size_t hslen = hc_dec_left(d);
  if (rid == 0) return HC_ERR_PROTOCOL; /* the control session cannot be opened */
  /* the remote may grow its ids by one */
  if (rid == (uint64_t)mux->nremote + 1) {
    if (mux->nremote >= HC_MUX_MAX_REMOTE_CHANNELS) return HC_ERR_PROTOCOL;
    int rc = hc_grow((void **)&mux->remote, &mux->remote_cap, mux->nremote + 1, sizeof *mux->remote, 8);
    if (rc) return rc;
    memset(&mux->remote[mux->nremote++], 0, sizeof *mux->remote);
  }
  if (rid > mux->nremote || mux->remote[rid - 1].used) return HC_ERR_PROTOCOL;

  /* a local channel waiting for this (protocol, id)? */
  for (size_t i = 0; i < mux->nout; i++) {
    hc_mux_channel *ch = mux->outgoing[i];
    if (!chan_matches(ch, (const char *)proto, plen, id, idlen)) continue;
    remove_outgoing(mux, i);
    if (ch->closed) {
      /* we already closed it: the id can be reused now; the remote slot stays empty */
      uint64_t zid = ch->zombie_id;
      ch->zombie_id = 0;
      return push_free(mux, zid);
    }
    remote_slot *r = &mux->remote[rid - 1];
    r->used = true;
    r->handshake = dup_bytes(hs, hslen);
    if (!r->handshake) {
      r->used = false;
      return HC_ERR_NOMEM;
    }
    r->handshake_len = hslen;
    ch->remote_id = rid;
    return fully_open(mux, ch, r);
  }

  /* unknown: keep it pending, ask the user */
  remote_slot *r = &mux->remote[rid - 1];
  r->used = true;
  r->pending = true;
  r->seq = ++mux->seq;
  r->protocol = dup_str((const char *)proto, plen);
  r->protocol_len = plen;
  r->id = idlen ? dup_bytes(id, idlen) : NULL;
  r->id_len = idlen;
  r->handshake = dup_bytes(hs, hslen);
  r->handshake_len = hslen;
  if (!r->protocol || (idlen && !r->id) || !r->handshake) {
    clear_remote(mux, r);
    return HC_ERR_NOMEM;
  }
  int rc = HC_OK;
  if (mux->cb.on_unknown_open)
    rc = mux->cb.on_unknown_open(mux->user, mux, r->protocol, plen, r->id, idlen);
  r = &mux->remote[rid - 1]; /* the table may have moved */
  if (rc == HC_MUX_DEFER) rc = HC_OK;
  else if (rc == HC_OK && r->used && r->pending && !r->session) rc = reject_remote(mux, rid);
  return rc;
}

static int on_reject_frame(hc_mux *mux, hc_dec *d) {
  uint64_t lid = hc_dec_uint(d);
  if (d->err) return HC_ERR_DECODE;
  for (size_t i = 0; i < mux->nout; i++) {
    hc_mux_channel *ch = mux->outgoing[i];
    uint64_t id = ch->closed ? ch->zombie_id : ch->local_id;
    if (id != lid) continue;
    remove_outgoing(mux, i);
    int rc = push_free(mux, lid);
    if (rc) return rc;
    /* not paired and no longer outgoing: _close releases nothing more */
    return close_channel(mux, ch, true);
  }
  return HC_ERR_PROTOCOL;
}

static int on_close_frame(hc_mux *mux, hc_dec *d) {
  uint64_t rid = hc_dec_uint(d);
  if (d->err) return HC_ERR_DECODE;
  if (rid == 0 || rid > mux->nremote) return HC_OK;
  remote_slot *r = &mux->remote[rid - 1];
  if (!r->used || !r->session) return HC_OK; /* like protomux: ignored */
  return close_channel(mux, r->session, true);
}

static int decode_frame(hc_mux *mux, uint64_t ch, hc_dec *d, int depth);

static int on_batch(hc_mux *mux, hc_dec *d, int depth) {
  if (depth >= MAX_BATCH_DEPTH) return HC_ERR_PROTOCOL;
  uint64_t ch = hc_dec_uint(d);
  if (d->err) return HC_ERR_DECODE;
  bool corked = false;
  int rc = HC_OK;
  while (rc == HC_OK && hc_dec_left(d) > 0 && !mux->destroyed) {
    uint64_t len = hc_dec_uint(d);
    if (d->err) {
      rc = HC_ERR_DECODE;
      break;
    }
    if (len == 0) {
      ch = hc_dec_uint(d);
      if (d->err) rc = HC_ERR_DECODE;
      continue;
    }
    if (len > hc_dec_left(d)) {
      rc = HC_ERR_DECODE;
      break;
    }
    hc_dec item;
    hc_dec_init(&item, d->p, (size_t)len);
    d->p += len;
    /* more than one message: cork so replies go out as one batch (like protomux) */
    if (hc_dec_left(d) > 0 && !corked) {
      corked = true;
      hc_mux_cork(mux);
    }
    rc = decode_frame(mux, ch, &item, depth + 1);
  }
  if (corked) {
    int rc2 = mux->destroyed ? HC_OK : hc_mux_uncork(mux);
    if (rc == HC_OK) rc = rc2;
  }
  return rc;
}

/* protomux _decode: d holds `varint type || payload` for channel ch (the remote's id). */
static int decode_frame(hc_mux *mux, uint64_t ch, hc_dec *d, int depth) {
  uint64_t type = hc_dec_uint(d);
  if (d->err) return HC_ERR_DECODE;
  if (ch == 0) {
    switch (type) {
      case 0: return on_batch(mux, d, depth);
      case 1: return on_open_frame(mux, d);
      case 2: return on_reject_frame(mux, d);
      case 3: return on_close_frame(mux, d);
      default: return HC_OK; /* unknown control messages are ignored */
    }
  }
  if (ch > mux->nremote) return HC_ERR_PROTOCOL; /* never opened */
  remote_slot *r = &mux->remote[ch - 1];
  if (!r->used) return HC_OK; /* closed or rejected: late messages are ignored */
  size_t len = hc_dec_left(d);
  if (r->pending && !r->session) {
    if (mux->buffered + 512 + len > HC_MUX_MAX_BUFFERED) return HC_ERR_PROTOCOL;
    int rc = hc_grow((void **)&r->msgs, &r->msgs_cap, r->nmsgs + 1, sizeof *r->msgs, 8);
    if (rc) return rc;
    uint8_t *copy = dup_bytes(d->p, len);
    if (!copy) return HC_ERR_NOMEM;
    r->msgs[r->nmsgs++] = (pending_msg){type, copy, len};
    mux->buffered += 512 + len;
    return HC_OK;
  }
  if (!r->session) return HC_OK;
  return deliver(mux, r->session, type, d->p, len);
}

int hc_mux_feed_frame(hc_mux *mux, const uint8_t *frame, size_t len) {
  if (mux->destroyed) return HC_ERR_CLOSED;
  if (len == 0) return HC_OK;
  if (!frame) return HC_ERR_INVALID_ARG;
  enter(mux);
  hc_dec d;
  hc_dec_init(&d, frame, len);
  uint64_t ch = hc_dec_uint(&d);
  int rc = d.err ? HC_ERR_DECODE : decode_frame(mux, ch, &d, 0);
  return leave(mux, rc);
}

/* ---- public: send, close, cork ---- */

int hc_mux_send(hc_mux *mux, hc_mux_channel *ch, uint64_t type, const uint8_t *payload,
                size_t len) {
  if (mux->destroyed || !ch || ch->closed) return HC_ERR_CLOSED;
  if (len && !payload) return HC_ERR_INVALID_ARG;
  enter(mux);
  return leave(mux, send_msg(mux, ch->local_id, type, payload, len));
}

int hc_mux_close_channel(hc_mux *mux, hc_mux_channel *ch) {
  if (!ch || ch->closed) return HC_OK;
  if (mux->destroyed) return HC_ERR_CLOSED;
  enter(mux);
  /* the close goes out before on_close runs, so a channel opened from on_close (which may
   * reuse this id) is not closed by it on the remote */
  int rc = send_control_id(mux, 3, ch->local_id);
  int rc2 = close_channel(mux, ch, false);
  return leave(mux, rc ? rc : rc2);
}

void hc_mux_cork(hc_mux *mux) { mux->corked++; }

int hc_mux_uncork(hc_mux *mux) {
  if (mux->corked == 0) return HC_OK;
  if (--mux->corked > 0) return HC_OK;
  if (mux->destroyed) return HC_ERR_CLOSED;
  enter(mux);
  return leave(mux, flush_batch(mux));
}

/* ---- lifecycle ---- */

int hc_mux_new(hc_mux **out, const hc_mux_callbacks *cb, void *user) {
  *out = NULL;
  if (!cb || !cb->send_frame) return HC_ERR_INVALID_ARG;
  hc_mux *mux = calloc(1, sizeof *mux);
  if (!mux) return HC_ERR_NOMEM;
  mux->cb = *cb;
  mux->user = user;
  mux->max_batch = HC_MUX_MAX_BATCH;
  *out = mux;
  return HC_OK;
}

void hc_mux_set_max_batch(hc_mux *mux, size_t bytes) {
  mux->max_batch = bytes == 0 || bytes > HC_MUX_MAX_BATCH ? HC_MUX_MAX_BATCH : bytes;
}

void hc_mux_destroy(hc_mux *mux) {
  if (!mux || mux->destroyed) return;
  mux->destroyed = true;
  enter(mux);
  for (size_t i = 0; i < mux->nlocal; i++) {
    hc_mux_channel *ch = mux->local[i];
    if (ch) close_channel(mux, ch, true);
  }
  leave(mux, HC_OK);
}

void hc_mux_free(hc_mux *mux) {
  if (!mux) return;
  hc_mux_channel *ch = mux->all;
  while (ch) {
    hc_mux_channel *next = ch->next_all;
    free_channel(ch);
    ch = next;
  }
  for (size_t i = 0; i < mux->nremote; i++) clear_remote(mux, &mux->remote[i]);
  free(mux->remote);
  free(mux->local);
  free(mux->free_ids);
  free(mux->outgoing);
  free(mux->batch);
  free(mux);
}

/* ---- accessors ---- */

void *hc_mux_channel_user(const hc_mux_channel *ch) { return ch->user; }
void hc_mux_channel_set_user(hc_mux_channel *ch, void *user) { ch->user = user; }
bool hc_mux_channel_opened(const hc_mux_channel *ch) { return ch->opened && !ch->closed; }
bool hc_mux_channel_closed(const hc_mux_channel *ch) { return ch->closed; }
uint64_t hc_mux_channel_local_id(const hc_mux_channel *ch) { return ch->local_id; }
uint64_t hc_mux_channel_remote_id(const hc_mux_channel *ch) { return ch->remote_id; }
const char *hc_mux_channel_protocol(const hc_mux_channel *ch) { return ch->protocol; }
const uint8_t *hc_mux_channel_id(const hc_mux_channel *ch, size_t *len) {
  if (len) *len = ch->id_len;
  return ch->id;
}
size_t hc_mux_buffered(const hc_mux *mux) { return mux->buffered; }
