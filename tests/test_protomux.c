/* Protomux: byte-exact replay of the recorded captures (both directions, frames produced by our
 * mux and fed into the other), two muxes back to back, malformed input. */
#include "protomux.h"
#include "test_util.h"
#include "protomux_trace.h"
#include "wire_vectors.h"

/* ---- a mux endpoint with an outbox and an event log ---- */

#define MAXQ 256
#define MAXEV 256

typedef struct frame {
  uint8_t *p;
  size_t len;
} frame;

typedef struct event {
  char kind; /* 'o' open, 'm' message, 'c' close, 'u' unknown open */
  uint64_t local_id, type;
  bool remote;
  uint8_t *p;
  size_t len;
  char proto[64];
} event;

typedef struct endpoint {
  const char *name;
  hc_mux *mux;
  frame out[MAXQ];
  size_t nout, outpos;
  event ev[MAXEV];
  size_t nev, evpos;
  /* on_unknown_open policy: 'r' reject, 'd' defer, 'a' accept (open with accept_* below) */
  char policy;
  const uint8_t *accept_handshake;
  size_t accept_handshake_len;
  const char *const *accept_aliases;
  size_t accept_naliases;
  hc_mux_channel *accepted;
  int fail_message; /* on_message returns this */
  bool close_in_message;
  bool reopen_on_close; /* reopen a channel of the same protocol from on_close */
  hc_mux_channel *reopened;
} endpoint;

static uint8_t *dupb(const uint8_t *p, size_t n) {
  uint8_t *q = malloc(n ? n : 1);
  CHECK(q);
  if (n) memcpy(q, p, n);
  return q;
}

static int ep_send(void *user, const uint8_t *f, size_t len) {
  endpoint *ep = user;
  CHECK(ep->nout < MAXQ);
  ep->out[ep->nout++] = (frame){dupb(f, len), len};
  return HC_OK;
}

static event *ep_event(endpoint *ep, char kind, hc_mux_channel *ch) {
  CHECK(ep->nev < MAXEV);
  event *e = &ep->ev[ep->nev++];
  memset(e, 0, sizeof *e);
  e->kind = kind;
  e->local_id = ch ? hc_mux_channel_local_id(ch) : 0;
  return e;
}

static int ep_open(void *user, hc_mux_channel *ch, const uint8_t *hs, size_t len) {
  endpoint *ep = user;
  CHECK(hs != NULL);
  event *e = ep_event(ep, 'o', ch);
  e->p = dupb(hs, len);
  e->len = len;
  return HC_OK;
}

static int ep_message(void *user, hc_mux_channel *ch, uint64_t type, const uint8_t *p,
                      size_t len) {
  endpoint *ep = user;
  event *e = ep_event(ep, 'm', ch);
  e->type = type;
  e->p = dupb(p, len);
  e->len = len;
  if (ep->close_in_message) CHECK_OK(hc_mux_close_channel(ep->mux, ch));
  return ep->fail_message;
}

static void ep_close(void *user, hc_mux_channel *ch, bool remote) {
  endpoint *ep = user;
  event *e = ep_event(ep, 'c', ch);
  e->remote = remote;
  if (ch == ep->accepted) ep->accepted = NULL;
  if (ep->reopen_on_close) {
    ep->reopen_on_close = false;
    hc_mux_channel_opts o = {hc_mux_channel_protocol(ch), NULL, 0, NULL, 0, NULL, 0, ep};
    CHECK_OK(hc_mux_open_channel(ep->mux, &o, &ep->reopened));
  }
}

static int ep_unknown(void *user, hc_mux *mux, const char *proto, size_t plen, const uint8_t *id,
                      size_t idlen) {
  endpoint *ep = user;
  CHECK(mux == ep->mux);
  CHECK(proto[plen] == 0);
  event *e = ep_event(ep, 'u', NULL);
  snprintf(e->proto, sizeof e->proto, "%.*s", (int)plen, proto);
  e->p = dupb(id, idlen);
  e->len = idlen;
  if (ep->policy == 'd') return HC_MUX_DEFER;
  if (ep->policy == 'a') {
    hc_mux_channel_opts o = {proto, ep->accept_aliases, ep->accept_naliases, id, idlen,
                             ep->accept_handshake, ep->accept_handshake_len, ep};
    CHECK_OK(hc_mux_open_channel(mux, &o, &ep->accepted));
    CHECK(ep->accepted != NULL);
  }
  return HC_OK;
}

static const hc_mux_callbacks CBS = {ep_send, ep_open, ep_message, ep_close, ep_unknown};

static void ep_init(endpoint *ep, const char *name) {
  memset(ep, 0, sizeof *ep);
  ep->name = name;
  ep->policy = 'r';
  CHECK_OK(hc_mux_new(&ep->mux, &CBS, ep));
}

static void ep_free(endpoint *ep) {
  hc_mux_free(ep->mux);
  for (size_t i = 0; i < ep->nout; i++) free(ep->out[i].p);
  for (size_t i = 0; i < ep->nev; i++) free(ep->ev[i].p);
}

static frame *ep_next_out(endpoint *ep) {
  return ep->outpos < ep->nout ? &ep->out[ep->outpos++] : NULL;
}

static event *ep_next_ev(endpoint *ep) {
  return ep->evpos < ep->nev ? &ep->ev[ep->evpos++] : NULL;
}

/* Delivers every queued frame of a to b and vice versa until both are quiet. */
static void pump(endpoint *a, endpoint *b) {
  for (;;) {
    frame *f = ep_next_out(a);
    if (f) {
      CHECK_OK(hc_mux_feed_frame(b->mux, f->p, f->len));
      continue;
    }
    f = ep_next_out(b);
    if (f) {
      CHECK_OK(hc_mux_feed_frame(a->mux, f->p, f->len));
      continue;
    }
    break;
  }
}

static uint8_t *unhex(const char *hex, size_t *len) {
  size_t n = strlen(hex) / 2;
  uint8_t *b = malloc(n ? n : 1);
  CHECK(b && hc_hex_decode(b, n, hex) == HC_OK);
  *len = n;
  return b;
}

/* ---- replay of a capture ---- */

static void replay(const char *prefix) {
  endpoint ini, res;
  ep_init(&ini, "initiator");
  ep_init(&res, "responder");
  ini.policy = res.policy = 'a';
  /* each side accepts with the handshake it sent in the capture */
  for (size_t i = 0; i < WV_NFRAMES; i++) {
    const wv_frame *f = &WV_FRAMES[i];
    if (strncmp(f->src, prefix, strlen(prefix)) != 0 || !f->is_open) continue;
    endpoint *ep = strcmp(f->from, "initiator") == 0 ? &ini : &res;
    size_t n;
    uint8_t *hs = unhex(f->open_handshake, &n);
    ep->accept_handshake = hs;
    ep->accept_handshake_len = n;
  }
  static const char *const aliases[] = {"hypercore"};
  ini.accept_aliases = res.accept_aliases = aliases;
  ini.accept_naliases = res.accept_naliases = 1;

  size_t nframes = 0;
  for (size_t i = 0; i < WV_NFRAMES; i++) {
    const wv_frame *f = &WV_FRAMES[i];
    if (strncmp(f->src, prefix, strlen(prefix)) != 0) continue;
    nframes++;
    endpoint *from = strcmp(f->from, "initiator") == 0 ? &ini : &res;
    endpoint *to = from == &ini ? &res : &ini;
    size_t n;
    uint8_t *want = unhex(f->plaintext, &n);

    /* produce the frame with the sender's mux (unless it already queued it, e.g. the open
     * sent while pairing inside on_unknown_open) */
    if (from->outpos == from->nout) {
      if (f->is_open) {
        size_t idn;
        uint8_t *id = unhex(f->open_id, &idn);
        hc_mux_channel_opts o = {f->open_protocol, aliases, 1, id, idn, from->accept_handshake,
                                 from->accept_handshake_len, from};
        hc_mux_channel *ch;
        CHECK_OK(hc_mux_open_channel(from->mux, &o, &ch));
        CHECK_EQ(hc_mux_channel_local_id(ch), f->open_local_id);
        from->accepted = ch;
        free(id);
      } else if (f->is_close) {
        CHECK(from->accepted != NULL);
        CHECK_EQ(hc_mux_channel_local_id(from->accepted), f->close_id);
        CHECK_OK(hc_mux_close_channel(from->mux, from->accepted));
        CHECK(from->accepted == NULL); /* on_close ran */
      } else {
        CHECK(from->accepted != NULL);
        bool batch = want[0] == 0;
        if (batch) hc_mux_cork(from->mux);
        for (unsigned j = 0; j < f->nitems; j++) {
          CHECK_EQ(f->items[j].channel, hc_mux_channel_local_id(from->accepted));
          size_t pn;
          uint8_t *p = unhex(f->items[j].payload, &pn);
          CHECK_OK(hc_mux_send(from->mux, from->accepted, f->items[j].type, p, pn));
          free(p);
        }
        if (batch) {
          CHECK_EQ(from->nout, from->outpos); /* nothing out while corked */
          CHECK_OK(hc_mux_uncork(from->mux));
        }
      }
    }
    frame *out = ep_next_out(from);
    CHECK(out != NULL);
    if (out->len != n || memcmp(out->p, want, n) != 0) {
      fprintf(stderr, "%s: frame differs (%zu vs %zu bytes)\n", f->src, out->len, n);
      CHECK_MEM(out->p, want, n < out->len ? n : out->len);
      exit(1);
    }
    CHECK(ep_next_out(from) == NULL);

    /* deliver and check what the receiver saw */
    CHECK_OK(hc_mux_feed_frame(to->mux, want, n));
    if (f->is_open) {
      event *e = ep_next_ev(to);
      CHECK(e != NULL);
      if (e->kind == 'u') {
        CHECK(strcmp(e->proto, f->open_protocol) == 0);
        e = ep_next_ev(to);
        CHECK(e != NULL);
      }
      CHECK_EQ(e->kind, 'o');
      CHECK_HEX(e->p, f->open_handshake);
      CHECK_EQ(e->len, strlen(f->open_handshake) / 2);
    } else if (f->is_close) {
      event *e = ep_next_ev(to);
      CHECK(e && e->kind == 'c' && e->remote);
    } else {
      for (unsigned j = 0; j < f->nitems; j++) {
        event *e = ep_next_ev(to);
        CHECK(e && e->kind == 'm');
        CHECK_EQ(e->type, f->items[j].type);
        CHECK_EQ(e->len, strlen(f->items[j].payload) / 2);
        CHECK_HEX(e->p, f->items[j].payload);
      }
    }
    CHECK(ep_next_ev(to) == NULL);
    free(want);
  }
  CHECK(nframes >= 18);
  free((void *)ini.accept_handshake);
  free((void *)res.accept_handshake);
  ep_free(&ini);
  ep_free(&res);
}

/* ---- back to back ---- */

static hc_mux_channel *open_ch(endpoint *ep, const char *proto, const char *id, const char *hs) {
  hc_mux_channel_opts o = {proto, NULL, 0, (const uint8_t *)id, id ? strlen(id) : 0,
                           (const uint8_t *)hs, hs ? strlen(hs) : 0, ep};
  hc_mux_channel *ch = NULL;
  CHECK_OK(hc_mux_open_channel(ep->mux, &o, &ch));
  CHECK(ch && hc_mux_channel_user(ch) == ep);
  return ch;
}

static void test_back_to_back(void) {
  endpoint a, b;
  ep_init(&a, "a");
  ep_init(&b, "b");

  /* 1. unknown protocol: rejected, a's channel closes, id 1 is reused */
  hc_mux_channel *x = open_ch(&a, "nope", "id", "hs");
  CHECK_EQ(hc_mux_channel_local_id(x), 1);
  CHECK_HEX(a.out[0].p, "000101046e6f7065026964" "6873");
  pump(&a, &b);
  event *e = ep_next_ev(&b);
  CHECK(e && e->kind == 'u' && strcmp(e->proto, "nope") == 0 && e->len == 2);
  CHECK(ep_next_ev(&b) == NULL);
  CHECK_HEX(b.out[0].p, "000201");
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'c' && e->remote && e->local_id == 1);
  CHECK(ep_next_ev(&a) == NULL);

  /* 2. a opens "hypercore" (alias "hypercore/alpha"), b opens "hypercore/alpha" (alias
   * "hypercore"): each open matches the other's alias; paired, handshakes exchanged */
  static const char *const al_a[] = {"hypercore/alpha"};
  hc_mux_channel_opts oa = {"hypercore", al_a, 1, (const uint8_t *)"dk", 2,
                            (const uint8_t *)"HA", 2, &a};
  hc_mux_channel *ca;
  CHECK_OK(hc_mux_open_channel(a.mux, &oa, &ca));
  CHECK_EQ(hc_mux_channel_local_id(ca), 1); /* reused */
  static const char *const al[] = {"hypercore"};
  hc_mux_channel_opts ob = {"hypercore/alpha", al, 1, (const uint8_t *)"dk", 2,
                            (const uint8_t *)"HB", 2, &b};
  hc_mux_channel *cb;
  CHECK_OK(hc_mux_open_channel(b.mux, &ob, &cb));
  CHECK_EQ(hc_mux_channel_local_id(cb), 1);
  CHECK(!hc_mux_channel_opened(ca) && !hc_mux_channel_opened(cb));
  /* unique: a second channel for the same key is refused */
  hc_mux_channel *dupch = (hc_mux_channel *)1;
  ob.protocol = "hypercore";
  ob.naliases = 0;
  CHECK_RC(hc_mux_open_channel(b.mux, &ob, &dupch), HC_ERR_EXISTS);
  CHECK(dupch == NULL);
  CHECK(hc_mux_opened(b.mux, "hypercore", (const uint8_t *)"dk", 2));
  CHECK(!hc_mux_opened(b.mux, "hypercore", (const uint8_t *)"dx", 2));
  pump(&a, &b);
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'o' && e->len == 2 && memcmp(e->p, "HB", 2) == 0);
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'o' && e->len == 2 && memcmp(e->p, "HA", 2) == 0);
  CHECK(hc_mux_channel_opened(ca) && hc_mux_channel_opened(cb));
  CHECK_EQ(hc_mux_channel_remote_id(ca), 1);

  /* messages both ways */
  CHECK_OK(hc_mux_send(a.mux, ca, 5, (const uint8_t *)"hello", 5));
  CHECK_OK(hc_mux_send(b.mux, cb, 300, NULL, 0));
  pump(&a, &b);
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'm' && e->type == 5 && e->len == 5 && !memcmp(e->p, "hello", 5));
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'm' && e->type == 300 && e->len == 0);

  /* 3. deferred pairing: messages sent before the remote pairs are buffered */
  b.policy = 'd';
  hc_mux_channel *qa = open_ch(&a, "q", NULL, NULL);
  CHECK_EQ(hc_mux_channel_local_id(qa), 2);
  for (int i = 0; i < 3; i++) CHECK_OK(hc_mux_send(a.mux, qa, (uint64_t)i, (const uint8_t *)"abc", (size_t)i));
  pump(&a, &b);
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'u' && strcmp(e->proto, "q") == 0 && e->len == 0);
  CHECK(ep_next_ev(&b) == NULL);
  CHECK_EQ(hc_mux_buffered(b.mux), 3 * 512 + 0 + 1 + 2);
  hc_mux_channel *qb = open_ch(&b, "q", NULL, "x");
  CHECK(hc_mux_channel_opened(qb));
  CHECK_EQ(hc_mux_buffered(b.mux), 0);
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'o' && e->len == 0);
  for (int i = 0; i < 3; i++) {
    e = ep_next_ev(&b);
    CHECK(e && e->kind == 'm' && e->type == (uint64_t)i && e->len == (size_t)i);
  }
  pump(&a, &b);
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'o' && e->len == 1);

  /* deferred then rejected explicitly */
  hc_mux_channel *ra = open_ch(&a, "r", "1", NULL);
  pump(&a, &b);
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'u');
  CHECK_OK(hc_mux_reject(b.mux, "r", (const uint8_t *)"1", 1));
  pump(&a, &b);
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'c' && e->remote);
  (void)ra;

  /* 4. batch across channels incl. a control item (close), decoded in order */
  hc_mux_cork(a.mux);
  hc_mux_cork(a.mux); /* nested */
  CHECK_OK(hc_mux_send(a.mux, ca, 1, (const uint8_t *)"A", 1));
  CHECK_OK(hc_mux_send(a.mux, qa, 2, (const uint8_t *)"B", 1));
  CHECK_OK(hc_mux_send(a.mux, qa, 3, (const uint8_t *)"C", 1));
  CHECK_OK(hc_mux_send(a.mux, ca, 4, (const uint8_t *)"D", 1));
  CHECK_OK(hc_mux_close_channel(a.mux, qa));
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'c' && !e->remote);
  CHECK_OK(hc_mux_uncork(a.mux));
  CHECK_EQ(a.nout, a.outpos);
  CHECK_OK(hc_mux_uncork(a.mux));
  CHECK_EQ(a.nout, a.outpos + 1);
  /* 00 00 ch1 [02 01 'A'] 00 ch2 [02 02 'B'] [02 03 'C'] 00 ch1 [02 04 'D'] 00 ch0 [02 03 02] */
  CHECK_EQ(a.out[a.outpos].len, 24);
  CHECK_HEX(a.out[a.outpos].p, "000001020141000202024202034300010204440000020302");
  pump(&a, &b);
  static const struct { uint64_t lid, type; char c; } want[] = {{1, 1, 'A'}, {2, 2, 'B'}, {2, 3, 'C'}, {1, 4, 'D'}};
  for (size_t i = 0; i < 4; i++) {
    e = ep_next_ev(&b);
    CHECK(e && e->kind == 'm' && e->local_id == want[i].lid && e->type == want[i].type);
    CHECK(e->len == 1 && e->p[0] == (uint8_t)want[i].c);
  }
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'c' && e->remote && e->local_id == 2);

  /* a single corked message is still a batch frame */
  hc_mux_cork(b.mux);
  CHECK_OK(hc_mux_send(b.mux, cb, 0, (const uint8_t *)"\x07\x00\x00\x00", 4));
  CHECK_OK(hc_mux_uncork(b.mux));
  CHECK_EQ(b.out[b.nout - 1].len, 9);
  CHECK_HEX(b.out[b.nout - 1].p, "000001050007000000");
  pump(&a, &b);
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'm' && e->type == 0 && e->len == 4);
  /* an empty cork sends nothing */
  size_t before = b.nout;
  hc_mux_cork(b.mux);
  CHECK_OK(hc_mux_uncork(b.mux));
  CHECK_EQ(b.nout, before);

  /* 5. a close in a reply to a batch of two: b corks while handling it, so b's replies go
   * out as one batch */
  b.close_in_message = true;
  hc_mux_cork(a.mux);
  CHECK_OK(hc_mux_send(a.mux, ca, 7, NULL, 0));
  CHECK_OK(hc_mux_send(a.mux, ca, 8, NULL, 0));
  CHECK_OK(hc_mux_uncork(a.mux));
  frame *f = ep_next_out(&a);
  CHECK_OK(hc_mux_feed_frame(b.mux, f->p, f->len));
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'm' && e->type == 7);
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'c' && !e->remote);
  CHECK(ep_next_ev(&b) == NULL); /* message 8 arrives for a closed channel: dropped */
  f = ep_next_out(&b);
  CHECK(f && f->len == 6);
  CHECK_HEX(f->p, "000000020301"); /* batch on channel 0 holding close(1) */
  CHECK(ep_next_out(&b) == NULL);
  b.close_in_message = false;
  CHECK_OK(hc_mux_feed_frame(a.mux, f->p, f->len));
  e = ep_next_ev(&a);
  CHECK(e && e->kind == 'c' && e->remote);
  /* late messages for the closed remote channel are ignored */
  CHECK_OK(hc_mux_feed_frame(b.mux, (const uint8_t *)"\x01\x05", 2));
  CHECK(ep_next_ev(&b) == NULL);

  /* 6. ids: both of a's channels are closed and acknowledged; reuse is LIFO */
  hc_mux_channel *n1 = open_ch(&a, "n", "1", NULL);
  hc_mux_channel *n2 = open_ch(&a, "n", "2", NULL);
  CHECK_EQ(hc_mux_channel_local_id(n1), 1);
  CHECK_EQ(hc_mux_channel_local_id(n2), 2);
  b.policy = 'a';
  pump(&a, &b);
  CHECK(hc_mux_channel_opened(n1) && hc_mux_channel_opened(n2));

  /* 7. closed before the remote answered: the id stays taken until the remote's open */
  b.policy = 'd';
  hc_mux_channel *z = open_ch(&a, "z", NULL, NULL);
  CHECK_EQ(hc_mux_channel_local_id(z), 3);
  CHECK_OK(hc_mux_close_channel(a.mux, z));
  hc_mux_channel *z2 = open_ch(&a, "z2", NULL, NULL);
  CHECK_EQ(hc_mux_channel_local_id(z2), 4); /* 3 not reused yet */
  pump(&a, &b);
  hc_mux_channel *zb = open_ch(&b, "z", NULL, NULL); /* b answers the (closed) z */
  (void)zb;
  pump(&a, &b);
  hc_mux_channel *z3 = open_ch(&a, "z3", NULL, NULL);
  CHECK_EQ(hc_mux_channel_local_id(z3), 3); /* released by b's open */

  /* 8. destroy: every open channel closes (remote = true); further calls fail */
  a.evpos = a.nev;
  hc_mux_destroy(a.mux);
  size_t closes = 0;
  while ((e = ep_next_ev(&a)) != NULL) {
    CHECK(e->kind == 'c' && e->remote);
    closes++;
  }
  CHECK_EQ(closes, 4); /* n1, n2, z2, z3 */
  CHECK_RC(hc_mux_feed_frame(a.mux, (const uint8_t *)"\x00\x03\x01", 3), HC_ERR_CLOSED);
  CHECK_RC(hc_mux_open_channel(a.mux, &oa, &ca), HC_ERR_CLOSED);

  ep_free(&a);
  ep_free(&b);
}

/* A channel reopened from on_close of a local close reuses the id: the close must go out
 * first. */
static void test_reopen_on_close(void) {
  endpoint a, b;
  ep_init(&a, "a");
  ep_init(&b, "b");
  b.policy = 'a';
  hc_mux_channel *ch = open_ch(&a, "p", NULL, NULL);
  pump(&a, &b);
  CHECK(hc_mux_channel_opened(ch));
  a.evpos = a.nev;
  b.evpos = b.nev;
  a.reopen_on_close = true;
  CHECK_OK(hc_mux_close_channel(a.mux, ch));
  CHECK(a.reopened && hc_mux_channel_local_id(a.reopened) == 1);
  CHECK_EQ(a.nout - a.outpos, 2);
  CHECK_HEX(a.out[a.outpos].p, "000301");
  CHECK_HEX(a.out[a.outpos + 1].p, "0001010170" "00");
  pump(&a, &b);
  event *e = ep_next_ev(&b);
  CHECK(e && e->kind == 'c' && e->remote);
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'u');
  e = ep_next_ev(&b);
  CHECK(e && e->kind == 'o');
  CHECK(hc_mux_channel_opened(a.reopened));
  ep_free(&a);
  ep_free(&b);
}

/* ---- malformed input ---- */

static int feed_hex(endpoint *ep, const char *hex) {
  size_t n;
  uint8_t *p = unhex(hex, &n);
  int rc = hc_mux_feed_frame(ep->mux, p, n);
  free(p);
  return rc;
}

static void test_malformed(void) {
  static const struct { const char *hex; int rc; } cases[] = {
      {"", HC_OK},                       /* empty frames are ignored */
      {"0500", HC_ERR_PROTOCOL},         /* channel never opened */
      {"fd", HC_ERR_DECODE},             /* truncated varint */
      {"01", HC_ERR_DECODE},             /* no type */
      {"0001", HC_ERR_DECODE},           /* open without body */
      {"000100016100", HC_ERR_PROTOCOL}, /* open of channel 0 */
      {"000105016100", HC_ERR_PROTOCOL}, /* remote skipped ids */
      {"0001010561", HC_ERR_DECODE},     /* protocol longer than frame */
      {"000101016105", HC_ERR_DECODE},   /* id longer than frame */
      {"000201", HC_ERR_PROTOCOL},       /* reject of nothing */
      {"0002", HC_ERR_DECODE},
      {"0003", HC_ERR_DECODE},
      {"000307", HC_OK},                 /* close of unknown: ignored */
      {"000300", HC_OK},
      {"0009", HC_OK},                   /* unknown control type: ignored */
      {"0000", HC_ERR_DECODE},           /* batch without channel */
      {"00000105", HC_ERR_DECODE},       /* item longer than the batch */
      {"00000100", HC_ERR_DECODE},       /* switch without channel */
      {"0000010000", HC_OK},             /* switch at the end, no items */
      {"0000000100", HC_ERR_DECODE},     /* nested batch, truncated */
      {"000000020000", HC_OK},           /* nested empty batch */
      {"000000050000020000", HC_ERR_PROTOCOL}, /* batch in batch in batch */
      {"0000070105", HC_ERR_PROTOCOL},   /* batch item for a channel never opened */
      {"0000000203ff", HC_ERR_DECODE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    endpoint ep;
    ep_init(&ep, "m");
    int rc = feed_hex(&ep, cases[i].hex);
    if (rc != cases[i].rc) {
      fprintf(stderr, "case %zu (%s): %s, wanted %s\n", i, cases[i].hex, hc_err_name(rc),
              hc_err_name(cases[i].rc));
      exit(1);
    }
    ep_free(&ep);
  }

  /* duplicate open of the same remote id */
  endpoint ep;
  ep_init(&ep, "m");
  ep.policy = 'd';
  CHECK_OK(feed_hex(&ep, "000101016100"));
  CHECK_RC(feed_hex(&ep, "000101016200"), HC_ERR_PROTOCOL);
  hc_mux_destroy(ep.mux);
  ep_free(&ep);

  /* too much buffered for an unpaired channel */
  ep_init(&ep, "m");
  ep.policy = 'd';
  CHECK_OK(feed_hex(&ep, "000101016100"));
  uint8_t *big = calloc(1, 65536);
  CHECK(big);
  big[0] = 1;
  int rc = HC_OK;
  size_t sent = 0;
  while (rc == HC_OK && sent < 200) {
    rc = hc_mux_feed_frame(ep.mux, big, 65536);
    sent++;
  }
  CHECK_RC(rc, HC_ERR_PROTOCOL);
  CHECK(sent > 50 && sent < 70);
  CHECK(hc_mux_buffered(ep.mux) <= HC_MUX_MAX_BUFFERED);
  free(big);
  ep_free(&ep);

  /* a callback error is returned by feed */
  endpoint a, b;
  ep_init(&a, "a");
  ep_init(&b, "b");
  b.policy = 'a';
  hc_mux_channel *ch = open_ch(&a, "p", NULL, NULL);
  pump(&a, &b);
  b.fail_message = HC_ERR_CORRUPT;
  CHECK_OK(hc_mux_send(a.mux, ch, 1, NULL, 0));
  frame *f = ep_next_out(&a);
  CHECK_RC(hc_mux_feed_frame(b.mux, f->p, f->len), HC_ERR_CORRUPT);
  ep_free(&a);
  ep_free(&b);

  /* every prefix of every recorded frame, into a mux that has a channel open and into a
   * fresh one: no crash, errors only as documented */
  for (size_t i = 0; i < WV_NFRAMES; i++) {
    size_t n;
    uint8_t *p = unhex(WV_FRAMES[i].plaintext, &n);
    for (size_t k = 0; k <= n && k < 200; k++) {
      endpoint x;
      ep_init(&x, "x");
      x.policy = 'd';
      CHECK_OK(feed_hex(&x, "0001010f6879706572636f72652f616c7068610000"));
      uint8_t *c = malloc(k ? k : 1);
      CHECK(c);
      memcpy(c, p, k);
      rc = hc_mux_feed_frame(x.mux, c, k);
      CHECK(rc == HC_OK || rc == HC_ERR_DECODE || rc == HC_ERR_PROTOCOL);
      free(c);
      ep_free(&x);
    }
    free(p);
  }
}

/* Pseudo-random frames: must never crash (run under sanitizers), and the mux stays usable
 * until it reports an error. */
static void test_random(void) {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (int round = 0; round < 300; round++) {
    endpoint ep;
    ep_init(&ep, "r");
    ep.policy = (char)("rda"[round % 3]);
    for (int i = 0; i < 40; i++) {
      uint8_t buf[48];
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      size_t n = (size_t)(s % sizeof buf);
      for (size_t j = 0; j < n; j++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint8_t v = (uint8_t)s;
        buf[j] = (s >> 8) % 4 == 0 ? v : (uint8_t)(v % 5); /* mostly small numbers */
      }
      int rc = hc_mux_feed_frame(ep.mux, buf, n);
      if (rc != HC_OK) {
        CHECK(rc == HC_ERR_DECODE || rc == HC_ERR_PROTOCOL);
        hc_mux_destroy(ep.mux);
        break;
      }
    }
    ep_free(&ep);
  }
}

/* ---- the scripted scenario recorded on the JS protomux (tests/gen/protomux-trace-h.js) ---- */

typedef struct tpeer {
  const char *name;
  hc_mux *mux;
  char *frames[64];
  size_t nframes;
  char *events[64];
  size_t nevents;
  const char *names[32];
  hc_mux_channel *chans[32];
  size_t nchans;
} tpeer;

static char *hexstr(const uint8_t *p, size_t n) {
  char *h = malloc(2 * n + 1);
  CHECK(h);
  hc_hex_encode(h, p, n);
  h[2 * n] = 0;
  return h;
}

static void tp_event(tpeer *tp, const char *fmt, const char *name, uint64_t a, const uint8_t *p,
                     size_t n) {
  CHECK(tp->nevents < 64);
  char *h = p ? hexstr(p, n) : NULL;
  char buf[512];
  if (h) snprintf(buf, sizeof buf, fmt, name, a, h);
  else snprintf(buf, sizeof buf, fmt, name, a);
  free(h);
  tp->events[tp->nevents++] = strdup(buf);
}

static int tp_send(void *user, const uint8_t *f, size_t len) {
  tpeer *tp = user;
  CHECK(tp->nframes < 64);
  tp->frames[tp->nframes++] = hexstr(f, len);
  return HC_OK;
}

static int tp_open(void *user, hc_mux_channel *ch, const uint8_t *hs, size_t len) {
  tp_event(user, "open %s %.0" PRIu64 "%s", hc_mux_channel_user(ch), 0, hs, len);
  return HC_OK;
}

static int tp_message(void *user, hc_mux_channel *ch, uint64_t type, const uint8_t *p,
                      size_t len) {
  tp_event(user, "message %s %" PRIu64 " %s", hc_mux_channel_user(ch), type, p, len);
  return HC_OK;
}

static void tp_close(void *user, hc_mux_channel *ch, bool remote) {
  tp_event(user, "close %s %" PRIu64, hc_mux_channel_user(ch), remote, NULL, 0);
}

static void tp_set(tpeer *tp, const char *name, hc_mux_channel *ch) {
  for (size_t i = 0; i < tp->nchans; i++)
    if (strcmp(tp->names[i], name) == 0) {
      tp->chans[i] = ch;
      return;
    }
  CHECK(tp->nchans < 32);
  tp->names[tp->nchans] = name;
  tp->chans[tp->nchans++] = ch;
}

static hc_mux_channel *tp_get(tpeer *tp, const char *name) {
  for (size_t i = 0; i < tp->nchans; i++)
    if (strcmp(tp->names[i], name) == 0) return tp->chans[i];
  CHECK(0);
  return NULL;
}

/* b accepts "acc" (handshake "hb-acc"); everything else is rejected */
static int tp_unknown(void *user, hc_mux *mux, const char *proto, size_t plen, const uint8_t *id,
                      size_t idlen) {
  tpeer *tp = user;
  if (strcmp(tp->name, "b") != 0 || plen != 3 || memcmp(proto, "acc", 3) != 0) return HC_OK;
  hc_mux_channel_opts o = {"acc", NULL, 0, id, idlen, (const uint8_t *)"hb-acc", 6, "acc"};
  hc_mux_channel *ch;
  CHECK_OK(hc_mux_open_channel(mux, &o, &ch));
  tp_set(tp, "acc", ch);
  return HC_OK;
}

/* Events of one channel, in order (the JS pairs asynchronously, so only the order per channel
 * is meaningful). */
static void compare_events(const char *step, const char *side, char **got, size_t ngot,
                           const char *const *want) {
  size_t nwant = 0;
  while (want[nwant]) nwant++;
  if (ngot != nwant) {
    fprintf(stderr, "step %s side %s: %zu events, wanted %zu\n", step, side, ngot, nwant);
    for (size_t i = 0; i < ngot; i++) fprintf(stderr, "  got  %s\n", got[i]);
    for (size_t i = 0; i < nwant; i++) fprintf(stderr, "  want %s\n", want[i]);
    exit(1);
  }
  bool used[64] = {0};
  for (size_t i = 0; i < nwant; i++) {
    /* the next unused got event of the same channel must be this one */
    const char *sp = strchr(want[i], ' ');
    const char *sp2 = strchr(sp + 1, ' ');
    size_t prefix = (size_t)((sp2 ? sp2 : sp + strlen(sp)) - want[i]);
    const char *chan = sp + 1;
    size_t chan_len = (size_t)((sp2 ? sp2 : chan + strlen(chan)) - chan);
    (void)prefix;
    size_t j = 0;
    for (; j < ngot; j++) {
      if (used[j]) continue;
      const char *gs = strchr(got[j], ' ');
      const char *gs2 = strchr(gs + 1, ' ');
      size_t glen = (size_t)((gs2 ? gs2 : gs + 1 + strlen(gs + 1)) - (gs + 1));
      if (glen == chan_len && memcmp(gs + 1, chan, chan_len) == 0) break;
    }
    if (j == ngot || strcmp(got[j], want[i]) != 0) {
      fprintf(stderr, "step %s side %s: wanted event '%s', got '%s'\n", step, side, want[i],
              j < ngot ? got[j] : "(none)");
      exit(1);
    }
    used[j] = true;
  }
}

static void test_js_trace(void) {
  static const hc_mux_callbacks tcb = {tp_send, tp_open, tp_message, tp_close, tp_unknown};
  tpeer a = {.name = "a"}, b = {.name = "b"};
  CHECK_OK(hc_mux_new(&a.mux, &tcb, &a));
  CHECK_OK(hc_mux_new(&b.mux, &tcb, &b));
  size_t da = 0, db = 0; /* frames delivered */
  for (size_t i = 0; i < PT_NSTEPS; i++) {
    const pt_step *st = &PT_STEPS[i];
    tpeer *tp = st->side[0] == 'a' ? &a : &b;
    size_t fa = a.nframes, fb = b.nframes;
    size_t ea = a.nevents, eb = b.nevents;
    size_t n;
    uint8_t *data = unhex(st->data, &n);
    if (strcmp(st->op, "open") == 0) {
      size_t idn;
      uint8_t *id = unhex(st->id, &idn);
      const char *al[1] = {st->aliases};
      hc_mux_channel_opts o = {st->protocol, al, st->aliases[0] ? 1 : 0, idn ? id : NULL, idn,
                               data, n, (void *)st->ch};
      hc_mux_channel *ch;
      CHECK_OK(hc_mux_open_channel(tp->mux, &o, &ch));
      tp_set(tp, st->ch, ch);
      free(id);
    } else if (strcmp(st->op, "send") == 0) {
      CHECK_OK(hc_mux_send(tp->mux, tp_get(tp, st->ch), (uint64_t)st->type, data, n));
    } else if (strcmp(st->op, "cork") == 0) {
      hc_mux_cork(tp->mux);
    } else if (strcmp(st->op, "uncork") == 0) {
      CHECK_OK(hc_mux_uncork(tp->mux));
    } else if (strcmp(st->op, "close") == 0) {
      CHECK_OK(hc_mux_close_channel(tp->mux, tp_get(tp, st->ch)));
    } else if (strcmp(st->op, "deliver") == 0) {
      for (;;) {
        uint8_t *f;
        if (da < a.nframes) {
          f = unhex(a.frames[da++], &n);
          CHECK_OK(hc_mux_feed_frame(b.mux, f, n));
        } else if (db < b.nframes) {
          f = unhex(b.frames[db++], &n);
          CHECK_OK(hc_mux_feed_frame(a.mux, f, n));
        } else {
          break;
        }
        free(f);
      }
    }
    free(data);
    char label[64];
    snprintf(label, sizeof label, "%zu (%s %s %s)", i, st->op, st->side, st->ch);
    const char *const *wf[2] = {st->frames_a, st->frames_b};
    tpeer *peers[2] = {&a, &b};
    size_t f0[2] = {fa, fb}, e0[2] = {ea, eb};
    for (int k = 0; k < 2; k++) {
      size_t nw = 0;
      while (wf[k][nw]) nw++;
      if (peers[k]->nframes - f0[k] != nw) {
        fprintf(stderr, "step %s side %s: %zu frames, wanted %zu\n", label, peers[k]->name,
                peers[k]->nframes - f0[k], nw);
        for (size_t j = f0[k]; j < peers[k]->nframes; j++) fprintf(stderr, "  got  %s\n", peers[k]->frames[j]);
        for (size_t j = 0; j < nw; j++) fprintf(stderr, "  want %s\n", wf[k][j]);
        exit(1);
      }
      for (size_t j = 0; j < nw; j++) {
        if (strcmp(peers[k]->frames[f0[k] + j], wf[k][j]) != 0) {
          fprintf(stderr, "step %s side %s frame %zu:\n  got  %s\n  want %s\n", label,
                  peers[k]->name, j, peers[k]->frames[f0[k] + j], wf[k][j]);
          exit(1);
        }
      }
      compare_events(label, peers[k]->name, peers[k]->events + e0[k], peers[k]->nevents - e0[k],
                     k == 0 ? st->events_a : st->events_b);
    }
  }
  CHECK_EQ(da, a.nframes);
  CHECK_EQ(db, b.nframes);
  hc_mux_free(a.mux);
  hc_mux_free(b.mux);
  for (size_t i = 0; i < a.nframes; i++) free(a.frames[i]);
  for (size_t i = 0; i < b.nframes; i++) free(b.frames[i]);
  for (size_t i = 0; i < a.nevents; i++) free(a.events[i]);
  for (size_t i = 0; i < b.nevents; i++) free(b.events[i]);
}

int main(void) {
  replay("wire-vectors");
  replay("vectors.json");
  test_js_trace();
  test_back_to_back();
  test_reopen_on_close();
  test_malformed();
  test_random();
  printf("test_protomux: ok\n");
  return 0;
}
