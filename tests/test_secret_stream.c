/* secret-stream framing: byte-exact reproduction of the deterministic capture
 * (../shared/vectors/wire/wire-vectors.json via ss_vectors.h), two C peers back to back with
 * arbitrary input splits, and bad input. */
#include "crypto.h"
#include "secret_stream.h"
#include "ss_vectors.h"
#include "test_util.h"

/* ---- a peer that records what it receives ---- */
typedef struct rec {
  uint8_t *data; /* all received messages concatenated */
  size_t len, cap;
  size_t nmsgs;
  size_t sizes[4096];
  int handshakes;
  uint8_t remote_pk[32];
  uint8_t hash[64];
  hc_ss *self;      /* for reentrant writes from callbacks */
  int echo_on_hs;   /* write "hello-from-callback" inside on_handshake */
} rec;

static void on_msg(void *user, const uint8_t *d, size_t n) {
  rec *r = user;
  if (r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap : 1024;
    while (cap < r->len + n) cap *= 2;
    r->data = realloc(r->data, cap);
    CHECK(r->data);
    r->cap = cap;
  }
  if (n) memcpy(r->data + r->len, d, n);
  r->len += n;
  CHECK(r->nmsgs < 4096);
  r->sizes[r->nmsgs++] = n;
}

static void on_hs(void *user, const uint8_t pk[32], const uint8_t hash[64]) {
  rec *r = user;
  r->handshakes++;
  memcpy(r->remote_pk, pk, 32);
  memcpy(r->hash, hash, 64);
  if (r->echo_on_hs) CHECK_OK(hc_ss_write(r->self, (const uint8_t *)"hello-from-callback", 19));
}

static void rec_reset(rec *r) {
  free(r->data);
  memset(r, 0, sizeof *r);
}

static void unhex_alloc(uint8_t **out, size_t *n, const char *hex) {
  *n = strlen(hex) / 2;
  *out = malloc(*n ? *n : 1);
  CHECK(*out);
  CHECK_OK(hc_hex_decode(*out, *n, hex));
}

static void unhex(uint8_t *out, size_t n, const char *hex) {
  CHECK_EQ(strlen(hex), 2 * n);
  CHECK_OK(hc_hex_decode(out, n, hex));
}

/* ---- 1. the capture, byte for byte ---- */
static void test_vectors(void) {
  uint8_t iseed[32], rseed[32], ieph[32], reph[32], ihdr[24], rhdr[24];
  uint8_t ipk[32], isk[64], rpk[32], rsk[64];
  unhex(iseed, 32, SV_I_STATIC_SEED);
  unhex(rseed, 32, SV_R_STATIC_SEED);
  unhex(ieph, 32, SV_I_EPH_SEED);
  unhex(reph, 32, SV_R_EPH_SEED);
  unhex(ihdr, 24, SV_I_SS_HEADER);
  unhex(rhdr, 24, SV_R_SS_HEADER);
  hc_crypto_seed_keypair(ipk, isk, iseed);
  hc_crypto_seed_keypair(rpk, rsk, rseed);

  rec ri = {0}, rr = {0};
  hc_ss_opts oi = {on_msg, on_hs, &ri, ieph, ihdr, 0, 0};
  hc_ss_opts or_ = {on_msg, on_hs, &rr, reph, rhdr, 0, 0};
  hc_ss *I, *R;
  CHECK_OK(hc_ss_new(&I, 1, ipk, isk, &oi));
  CHECK_OK(hc_ss_new(&R, 0, NULL, rsk, &or_));
  CHECK_MEM(hc_ss_public_key(R), rpk, 32);
  CHECK(hc_ss_handshake_hash(I) == NULL);
  CHECK(hc_ss_remote_public_key(I) == NULL);
  CHECK_EQ(hc_ss_state(I), HC_SS_HANDSHAKING);

  size_t transport = 0;
  for (size_t k = 0; k < SV_NFRAMES; k++) {
    const sv_frame *f = &SV_FRAMES[k];
    hc_ss *snd = f->from_initiator ? I : R, *rcv = f->from_initiator ? R : I;
    rec *rrec = f->from_initiator ? &rr : &ri;
    uint8_t *wire, *pt = NULL;
    size_t wlen, ptlen = 0;
    unhex_alloc(&wire, &wlen, f->wire);
    if (f->layer == 2) {
      unhex_alloc(&pt, &ptlen, f->plaintext);
      CHECK_OK(hc_ss_write(snd, pt, ptlen));
    }
    const uint8_t *out;
    size_t olen;
    hc_ss_pending_out(snd, &out, &olen);
    if (olen < wlen || memcmp(out, wire, wlen) != 0) {
      fprintf(stderr, "frame seq %d differs\n", f->seq);
      CHECK_MEM(out, wire, olen < wlen ? olen : wlen);
      CHECK(olen >= wlen);
    }
    hc_ss_consume_out(snd, wlen);
    size_t before = rrec->nmsgs, before_len = rrec->len;
    CHECK_OK(hc_ss_feed(rcv, wire, wlen));
    if (f->layer == 2) {
      transport++;
      if (ptlen == 0) {
        CHECK_EQ(rrec->nmsgs, before); /* keep-alive dropped */
      } else {
        CHECK_EQ(rrec->nmsgs, before + 1);
        CHECK_EQ(rrec->sizes[before], ptlen);
        CHECK_MEM(rrec->data + before_len, pt, ptlen);
      }
    }
    if (f->layer == 1) CHECK(hc_ss_remote_ready(rcv));
    free(wire);
    free(pt);
  }
  CHECK_EQ(transport, 18);
  /* every byte produced was in the capture */
  const uint8_t *out;
  size_t olen;
  hc_ss_pending_out(I, &out, &olen);
  CHECK_EQ(olen, 0);
  hc_ss_pending_out(R, &out, &olen);
  CHECK_EQ(olen, 0);

  CHECK_EQ(ri.handshakes, 1);
  CHECK_EQ(rr.handshakes, 1);
  CHECK_HEX(ri.hash, SV_HANDSHAKE_HASH);
  CHECK_HEX(rr.hash, SV_HANDSHAKE_HASH);
  CHECK_HEX(hc_ss_handshake_hash(I), SV_HANDSHAKE_HASH);
  CHECK_HEX(hc_ss_handshake_hash(R), SV_HANDSHAKE_HASH);
  CHECK_HEX(ri.remote_pk, SV_R_STATIC_PK);
  CHECK_HEX(rr.remote_pk, SV_I_STATIC_PK);
  CHECK_HEX(hc_ss_remote_public_key(I), SV_R_STATIC_PK);
  CHECK_EQ(hc_ss_state(I), HC_SS_OPEN);
  CHECK_EQ(hc_ss_state(R), HC_SS_OPEN);

  uint8_t hh[64], id[32];
  unhex(hh, 64, SV_HANDSHAKE_HASH);
  hc_ss_stream_id(id, hh, 1);
  CHECK_HEX(id, SV_I_STREAM_ID);
  hc_ss_stream_id(id, hh, 0);
  CHECK_HEX(id, SV_R_STREAM_ID);

  hc_ss_free(I);
  hc_ss_free(R);
  rec_reset(&ri);
  rec_reset(&rr);
}

/* ---- 2. two C peers back to back ---- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Moves everything a has to send into b; mode 0 = one call, 1 = byte by byte, 2 = random
 * chunks. Returns the number of bytes moved. */
static size_t pump(hc_ss *a, hc_ss *b, int mode) {
  size_t moved = 0;
  for (;;) {
    const uint8_t *p;
    size_t n;
    hc_ss_pending_out(a, &p, &n);
    if (!n) return moved;
    size_t take = n;
    if (mode == 1) take = 1;
    else if (mode == 2) take = 1 + (size_t)(rnd() % (n < 700 ? n : 700));
    /* copy: feeding b may make b write, never a, but keep the test honest */
    uint8_t *tmp = malloc(take);
    CHECK(tmp);
    memcpy(tmp, p, take);
    hc_ss_consume_out(a, take);
    CHECK_OK(hc_ss_feed(b, tmp, take));
    free(tmp);
    moved += take;
  }
}

static void pump_all(hc_ss *a, hc_ss *b, int mode) {
  while (pump(a, b, mode) + pump(b, a, mode) > 0) {
  }
}

static void make_pair(hc_ss **a, hc_ss **b, rec *ra, rec *rb, int keep_empty) {
  uint8_t apk[32], ask[64], bpk[32], bsk[64];
  hc_crypto_keypair(apk, ask);
  hc_crypto_keypair(bpk, bsk);
  hc_ss_opts oa = {on_msg, on_hs, ra, NULL, NULL, 0, keep_empty};
  hc_ss_opts ob = {on_msg, on_hs, rb, NULL, NULL, 0, keep_empty};
  CHECK_OK(hc_ss_new(a, 1, apk, ask, &oa));
  CHECK_OK(hc_ss_new(b, 0, bpk, bsk, &ob));
  ra->self = *a;
  rb->self = *b;
}

static void test_pair(int mode) {
  rec ra = {0}, rb = {0};
  hc_ss *a, *b;
  make_pair(&a, &b, &ra, &rb, 0);
  rb.echo_on_hs = 1;
  /* writes before the handshake are queued */
  CHECK_OK(hc_ss_write(a, (const uint8_t *)"early-a", 7));
  CHECK_OK(hc_ss_write(b, (const uint8_t *)"early-b", 7));
  CHECK_OK(hc_ss_keepalive(a));
  pump_all(a, b, mode);
  CHECK_EQ(ra.handshakes, 1);
  CHECK_EQ(rb.handshakes, 1);
  CHECK_MEM(ra.hash, rb.hash, 64);
  CHECK_MEM(ra.remote_pk, hc_ss_public_key(b), 32);
  CHECK_MEM(rb.remote_pk, hc_ss_public_key(a), 32);
  CHECK(hc_ss_remote_ready(a) && hc_ss_remote_ready(b));
  CHECK_EQ(rb.nmsgs, 1); /* keep-alive dropped */
  CHECK_EQ(rb.len, 7);
  CHECK_MEM(rb.data, "early-a", 7);
  CHECK_EQ(ra.nmsgs, 2); /* queued write first, then the one from the callback */
  CHECK_MEM(ra.data, "early-bhello-from-callback", 26);

  /* many messages both ways, random sizes, interleaved */
  uint8_t buf[5000];
  size_t sent_a = 0, sent_b = 0;
  rec_reset(&ra);
  rec_reset(&rb);
  ra.self = a;
  rb.self = b;
  uint8_t *expect_b = malloc(200 * sizeof buf), *expect_a = malloc(200 * sizeof buf);
  CHECK(expect_a && expect_b);
  for (int i = 0; i < 200; i++) {
    size_t n = (size_t)(rnd() % (i % 10 == 0 ? sizeof buf : 64));
    for (size_t j = 0; j < n; j++) buf[j] = (uint8_t)rnd();
    if (i % 3) {
      CHECK_OK(hc_ss_write(a, buf, n));
      memcpy(expect_b + sent_a, buf, n);
      sent_a += n;
    } else {
      CHECK_OK(hc_ss_write(b, buf, n));
      memcpy(expect_a + sent_b, buf, n);
      sent_b += n;
    }
    if (i % 7 == 0) CHECK_OK(hc_ss_keepalive(b));
    if (i % 13 == 0) pump_all(a, b, mode);
  }
  pump_all(a, b, mode);
  CHECK_EQ(rb.len, sent_a);
  CHECK_EQ(ra.len, sent_b);
  CHECK(sent_a == 0 || memcmp(rb.data, expect_b, sent_a) == 0);
  CHECK(sent_b == 0 || memcmp(ra.data, expect_a, sent_b) == 0);
  free(expect_a);
  free(expect_b);

  /* one large message */
  if (mode != 1) {
    size_t big = 3 * 1024 * 1024 + 11;
    uint8_t *m = malloc(big);
    CHECK(m);
    for (size_t j = 0; j < big; j++) m[j] = (uint8_t)(j * 7 + 3);
    size_t before = rb.len;
    CHECK_OK(hc_ss_write(a, m, big));
    pump_all(a, b, mode);
    CHECK_EQ(rb.len, before + big);
    CHECK_MEM(rb.data + before, m, big);
    free(m);
  }
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);
}

static void test_keep_empty(void) {
  rec ra = {0}, rb = {0};
  hc_ss *a, *b;
  make_pair(&a, &b, &ra, &rb, 1);
  pump_all(a, b, 0);
  CHECK_OK(hc_ss_keepalive(a));
  const uint8_t *p;
  size_t n;
  hc_ss_pending_out(a, &p, &n);
  CHECK_EQ(n, 3 + 17);
  CHECK_EQ(p[0], 17);
  pump_all(a, b, 0);
  CHECK_EQ(rb.nmsgs, 1);
  CHECK_EQ(rb.sizes[0], 0);
  /* too large writes are refused without failing the stream */
  CHECK_RC(hc_ss_write(a, p, (size_t)HC_SS_MAX_MESSAGE + 1), HC_ERR_INVALID_ARG);
  CHECK_EQ(hc_ss_state(a), HC_SS_OPEN);
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);
}

/* ---- 3. bad input ---- */

/* Opens a pair and returns the established streams (a initiator, b responder). */
static void open_pair(hc_ss **a, hc_ss **b, rec *ra, rec *rb, size_t max_frame) {
  uint8_t apk[32], ask[64], bpk[32], bsk[64];
  hc_crypto_keypair(apk, ask);
  hc_crypto_keypair(bpk, bsk);
  hc_ss_opts oa = {on_msg, on_hs, ra, NULL, NULL, max_frame, 0};
  hc_ss_opts ob = {on_msg, on_hs, rb, NULL, NULL, max_frame, 0};
  CHECK_OK(hc_ss_new(a, 1, apk, ask, &oa));
  CHECK_OK(hc_ss_new(b, 0, bpk, bsk, &ob));
  pump_all(*a, *b, 0);
  CHECK(hc_ss_remote_ready(*a) && hc_ss_remote_ready(*b));
}

/* Takes a's pending output (copy) */
static uint8_t *take_out(hc_ss *a, size_t *n) {
  const uint8_t *p;
  hc_ss_pending_out(a, &p, n);
  uint8_t *c = malloc(*n ? *n : 1);
  CHECK(c);
  if (*n) memcpy(c, p, *n);
  hc_ss_consume_out(a, *n);
  return c;
}

static void expect_fail(hc_ss *s, const uint8_t *d, size_t n, int err) {
  CHECK_RC(hc_ss_feed(s, d, n), err);
  CHECK_EQ(hc_ss_state(s), HC_SS_FAILED);
  CHECK_EQ(hc_ss_error(s), err);
  /* sticky */
  CHECK_RC(hc_ss_feed(s, d, n), err);
  CHECK_RC(hc_ss_write(s, (const uint8_t *)"x", 1), err);
  CHECK_RC(hc_ss_keepalive(s), err);
}

static void test_bad_transport(void) {
  rec ra = {0}, rb = {0};
  hc_ss *a, *b;
  size_t n;
  uint8_t *w;

  /* tampered ciphertext: every position of a frame */
  for (size_t pos = 0; pos < 3 + 5 + 17; pos++) {
    open_pair(&a, &b, &ra, &rb, 0);
    CHECK_OK(hc_ss_write(a, (const uint8_t *)"hello", 5));
    w = take_out(a, &n);
    CHECK_EQ(n, 25);
    w[pos] ^= 0x01;
    size_t before = rb.nmsgs;
    /* pos 0..2 changes the length (22 -> 23, 278, 65558): the frame is incomplete, b waits;
     * one more frame then makes the MAC check fail */
    int rc = hc_ss_feed(b, w, n);
    if (pos >= 3) CHECK_RC(rc, HC_ERR_PROTOCOL);
    else {
      CHECK_OK(rc);
      CHECK_OK(hc_ss_write(a, (const uint8_t *)"hello", 5));
      uint8_t *w2 = take_out(a, &n);
      CHECK_RC(hc_ss_feed(b, w2, n), pos == 0 ? HC_ERR_PROTOCOL : HC_OK);
      free(w2);
    }
    CHECK_EQ(rb.nmsgs, before);
    free(w);
    hc_ss_free(a);
    hc_ss_free(b);
    rec_reset(&ra);
    rec_reset(&rb);
  }

  /* replayed frame fails (secretstream nonce moved on) */
  open_pair(&a, &b, &ra, &rb, 0);
  CHECK_OK(hc_ss_write(a, (const uint8_t *)"hello", 5));
  w = take_out(a, &n);
  CHECK_OK(hc_ss_feed(b, w, n));
  expect_fail(b, w, n, HC_ERR_PROTOCOL);
  free(w);
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);

  /* short frames (< 17 bytes) after the handshake */
  for (size_t len = 0; len < 17; len++) {
    open_pair(&a, &b, &ra, &rb, 0);
    uint8_t f[3 + 17] = {(uint8_t)len, 0, 0};
    expect_fail(b, f, 3 + len, HC_ERR_PROTOCOL);
    hc_ss_free(a);
    hc_ss_free(b);
    rec_reset(&ra);
    rec_reset(&rb);
  }

  /* oversized frame: the length alone fails it, before any body arrives */
  open_pair(&a, &b, &ra, &rb, 1000);
  {
    uint8_t f[3] = {0xe9, 0x03, 0}; /* 1001 */
    expect_fail(b, f, 3, HC_ERR_PROTOCOL);
  }
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);
  open_pair(&a, &b, &ra, &rb, 1000);
  CHECK_OK(hc_ss_write(a, (const uint8_t *)"ok", 2)); /* 1000 exactly is fine */
  {
    uint8_t big[983];
    memset(big, 1, sizeof big);
    CHECK_OK(hc_ss_write(a, big, sizeof big));
    pump_all(a, b, 2);
    CHECK_EQ(rb.nmsgs, 2);
    CHECK_EQ(rb.sizes[1], 983);
  }
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);

  /* truncated stream: a partial frame just waits (no error, nothing delivered) */
  open_pair(&a, &b, &ra, &rb, 0);
  CHECK_OK(hc_ss_write(a, (const uint8_t *)"hello", 5));
  w = take_out(a, &n);
  CHECK_OK(hc_ss_feed(b, w, n - 1));
  CHECK_EQ(rb.nmsgs, 0);
  CHECK_OK(hc_ss_feed(b, w + n - 1, 1));
  CHECK_EQ(rb.nmsgs, 1);
  free(w);
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);
}

/* Runs the handshake until the responder is about to receive the initiator's stream header,
 * then corrupts it. */
static void test_bad_header(void) {
  for (int variant = 0; variant < 4; variant++) {
    rec ra = {0}, rb = {0};
    hc_ss *a, *b;
    make_pair(&a, &b, &ra, &rb, 0);
    size_t n;
    uint8_t *w;
    w = take_out(a, &n); /* msg1 */
    CHECK_OK(hc_ss_feed(b, w, n));
    free(w);
    w = take_out(b, &n); /* msg2 */
    CHECK_OK(hc_ss_feed(a, w, n));
    free(w);
    w = take_out(a, &n); /* msg3 + header */
    CHECK_EQ(n, 67 + 59);
    CHECK_OK(hc_ss_feed(b, w, 67));
    CHECK_EQ(hc_ss_state(b), HC_SS_OPEN);
    CHECK(!hc_ss_remote_ready(b));
    uint8_t *h = w + 67;
    if (variant == 0) { /* wrong stream id */
      h[3 + 5] ^= 1;
      expect_fail(b, h, 59, HC_ERR_PROTOCOL);
    } else if (variant == 1) { /* the responder's own id (role confusion) */
      hc_ss_stream_id(h + 3, hc_ss_handshake_hash(b), 0);
      expect_fail(b, h, 59, HC_ERR_PROTOCOL);
    } else if (variant == 2) { /* wrong length */
      h[0] = 57;
      expect_fail(b, h, 59, HC_ERR_PROTOCOL);
    } else { /* a data frame instead of the header */
      size_t n2;
      CHECK_OK(hc_ss_write(a, (const uint8_t *)"data", 4));
      uint8_t *w2 = take_out(a, &n2);
      CHECK_EQ(n2, 24);
      expect_fail(b, w2, n2, HC_ERR_PROTOCOL);
      free(w2);
    }
    free(w);
    hc_ss_free(a);
    hc_ss_free(b);
    rec_reset(&ra);
    rec_reset(&rb);
  }
}

static void test_bad_handshake(void) {
  rec ra = {0}, rb = {0};
  hc_ss *a, *b;
  size_t n;
  uint8_t *w;
  /* tampered msg2 */
  for (size_t pos = 3; pos < 99; pos += 4) {
    make_pair(&a, &b, &ra, &rb, 0);
    w = take_out(a, &n);
    CHECK_OK(hc_ss_feed(b, w, n));
    free(w);
    w = take_out(b, &n);
    CHECK_EQ(n, 99);
    w[pos] ^= 0x80;
    expect_fail(a, w, n, HC_ERR_HANDSHAKE);
    CHECK_EQ(ra.handshakes, 0);
    CHECK(hc_ss_handshake_hash(a) == NULL);
    free(w);
    hc_ss_free(a);
    hc_ss_free(b);
    rec_reset(&ra);
    rec_reset(&rb);
  }
  /* tampered msg3 */
  make_pair(&a, &b, &ra, &rb, 0);
  w = take_out(a, &n);
  CHECK_OK(hc_ss_feed(b, w, n));
  free(w);
  w = take_out(b, &n);
  CHECK_OK(hc_ss_feed(a, w, n));
  free(w);
  w = take_out(a, &n);
  w[40] ^= 4;
  expect_fail(b, w, n, HC_ERR_HANDSHAKE);
  CHECK_EQ(rb.handshakes, 0);
  free(w);
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);
  /* short msg1, huge handshake frame */
  make_pair(&a, &b, &ra, &rb, 0);
  {
    uint8_t f[3 + 31] = {31, 0, 0};
    expect_fail(b, f, sizeof f, HC_ERR_HANDSHAKE);
  }
  hc_ss_free(b);
  rec_reset(&rb);
  {
    uint8_t pk[32], sk[64];
    hc_crypto_keypair(pk, sk);
    hc_ss_opts ob = {on_msg, on_hs, &rb, NULL, NULL, 0, 0};
    CHECK_OK(hc_ss_new(&b, 0, pk, sk, &ob));
    uint8_t f[3] = {0xff, 0xff, 0xff};
    expect_fail(b, f, 3, HC_ERR_HANDSHAKE);
  }
  hc_ss_free(a);
  hc_ss_free(b);
  rec_reset(&ra);
  rec_reset(&rb);

  /* random garbage in random chunks never crashes; always ends failed or waiting */
  for (int t = 0; t < 200; t++) {
    uint8_t pk[32], sk[64];
    hc_crypto_keypair(pk, sk);
    hc_ss_opts o = {on_msg, on_hs, &ra, NULL, NULL, 0, 0};
    CHECK_OK(hc_ss_new(&a, t & 1, pk, sk, &o));
    uint8_t g[600];
    size_t len = (size_t)(rnd() % sizeof g);
    for (size_t j = 0; j < len; j++) g[j] = (uint8_t)rnd();
    if (t % 3 == 0 && len >= 3) { g[0] = (uint8_t)(len - 3); g[1] = g[2] = 0; }
    size_t off = 0;
    while (off < len) {
      size_t c = 1 + (size_t)(rnd() % 50);
      if (c > len - off) c = len - off;
      int rc = hc_ss_feed(a, g + off, c);
      if (rc) {
        CHECK(rc == HC_ERR_HANDSHAKE || rc == HC_ERR_PROTOCOL);
        break;
      }
      off += c;
    }
    CHECK_EQ(ra.handshakes, 0);
    hc_ss_free(a);
    rec_reset(&ra);
  }
}

static void test_args(void) {
  hc_ss *s = NULL;
  uint8_t pk[32], sk[64];
  hc_crypto_keypair(pk, sk);
  CHECK_RC(hc_ss_new(NULL, 1, pk, sk, NULL), HC_ERR_INVALID_ARG);
  CHECK_RC(hc_ss_new(&s, 1, pk, NULL, NULL), HC_ERR_INVALID_ARG);
  CHECK_OK(hc_ss_new(&s, 1, NULL, sk, NULL)); /* no callbacks, no opts */
  CHECK_MEM(hc_ss_public_key(s), pk, 32);
  const uint8_t *p;
  size_t n;
  hc_ss_pending_out(s, &p, &n);
  CHECK_EQ(n, 35);
  hc_ss_consume_out(s, 1000); /* clamps */
  hc_ss_pending_out(s, &p, &n);
  CHECK_EQ(n, 0);
  CHECK_RC(hc_ss_feed(s, NULL, 3), HC_ERR_INVALID_ARG);
  CHECK_OK(hc_ss_feed(s, NULL, 0));
  hc_ss_free(s);
  hc_ss_free(NULL);
}

int main(void) {
  CHECK_OK(hc_crypto_init());
  test_vectors();
  test_pair(0);
  test_pair(1);
  test_pair(2);
  test_keep_empty();
  test_bad_transport();
  test_bad_header();
  test_bad_handshake();
  test_args();
  printf("test_secret_stream: ok\n");
  return 0;
}
