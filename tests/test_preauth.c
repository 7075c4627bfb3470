/* Pre-authenticated replication (preauth.h): two replicators over a transport that already
 * authenticated (a Hyperswarm secret-stream), moving whole messages in memory. Full clone and
 * live appends, a wrong handshake hash or role failing the capability check with nothing
 * stored, bad input (oversized message, byte-stream calls), backpressure, and that no timer
 * runs (the transport keeps time). */
#include "test_util.h"

typedef struct mpair {
  hc_replicator *a, *b;
  uint64_t now;
  bool hold_a; /* do not deliver a's messages (a reader that stopped reading) */
} mpair;

/* Moves whole messages both ways until nothing moves; returns the first feed error. */
static int pump(mpair *p, int rounds) {
  for (int i = 0; i < rounds; i++) {
    bool moved = false;
    hc_replicator *from[2] = {p->a, p->b}, *to[2] = {p->b, p->a};
    for (int k = 0; k < 2; k++) {
      if (k == 0 && p->hold_a) continue;
      const uint8_t *m;
      size_t n;
      while (hc_replicator_pending_message(from[k], &m, &n)) {
        moved = true;
        uint8_t *copy = malloc(n ? n : 1);
        CHECK(copy);
        memcpy(copy, m, n);
        hc_replicator_consume_message(from[k]);
        int rc = hc_replicator_feed_message(to[k], copy, n, p->now);
        free(copy);
        if (rc) return rc;
      }
    }
    p->now += 1;
    if (!moved) return HC_OK;
  }
  return HC_OK;
}

static hc_replicator *mk(bool initiator, const uint8_t hh[64], const uint8_t rpk[32]) {
  hc_preauth_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_PREAUTH_OPTS_VERSION;
  o.is_initiator = initiator;
  o.handshake_hash = hh;
  o.remote_public_key = rpk;
  hc_replicator *r;
  CHECK_OK(hc_replicator_new_preauth(&r, &o, NULL, NULL));
  CHECK(hc_replicator_is_preauth(r));
  CHECK(hc_replicator_ready(r));
  CHECK_MEM(hc_replicator_remote_public_key(r), rpk, 32);
  return r;
}

static hc_core *mem_core(hc_storage_factory **f, const uint8_t *key) {
  CHECK_OK(hc_storage_memory_factory_new(f));
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.key = key;
  hc_core *c;
  CHECK_OK(hc_core_open(&c, *f, &o));
  return c;
}

static void append_n(hc_core *c, int from, int n, size_t size) {
  uint8_t *buf = malloc(size);
  CHECK(buf);
  for (int i = from; i < from + n; i++) {
    memset(buf, 'a' + i % 26, size);
    snprintf((char *)buf, size, "block %d", i);
    hc_buf b = {buf, size};
    CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
  }
  free(buf);
}

static void same_tree(hc_core *a, hc_core *b) {
  uint8_t x[32], y[32];
  CHECK_EQ(hc_core_length(a), hc_core_length(b));
  CHECK_OK(hc_core_tree_hash(a, hc_core_length(a), x));
  CHECK_OK(hc_core_tree_hash(b, hc_core_length(b), y));
  CHECK_MEM(x, y, 32);
}

static uint8_t HH[64], PK_A[32], PK_B[32];

static void test_clone_and_live(void) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 0, 300, 100);
  hc_core *rd = mem_core(&fr, hc_core_key(w));
  mpair p = {0};
  /* a is the initiator; each side knows the other's public key */
  p.a = mk(true, HH, PK_B);
  p.b = mk(false, HH, PK_A);
  CHECK_OK(hc_replicator_add_core(p.a, w));
  CHECK_OK(hc_replicator_add_core(p.b, rd));
  CHECK_OK(hc_replicator_download(p.b, rd, 0, UINT64_MAX));
  CHECK_OK(hc_replicator_set_live(p.b, rd, true));
  CHECK_OK(pump(&p, 10000));
  CHECK(hc_replicator_done(p.b, rd));
  same_tree(w, rd);
  uint64_t bad;
  CHECK_OK(hc_core_verify(rd, &bad));
  /* live: appends reach the reader with no request */
  append_n(w, 300, 20, 100);
  CHECK_OK(pump(&p, 10000));
  same_tree(w, rd);
  /* an empty message (a keep-alive the transport passed on) is ignored */
  CHECK_OK(hc_replicator_feed_message(p.b, NULL, 0, p.now));
  /* no timer in this mode: an hour of silence fails nothing, sends nothing */
  CHECK_EQ(hc_replicator_next_timeout(p.a), UINT64_MAX);
  p.now += 3600 * 1000;
  CHECK_OK(hc_replicator_tick(p.a, p.now));
  CHECK_OK(hc_replicator_tick(p.b, p.now));
  const uint8_t *m;
  size_t n;
  CHECK(!hc_replicator_pending_message(p.a, &m, &n));
  /* the byte-stream calls are not for this mode */
  CHECK_RC(hc_replicator_feed(p.a, (const uint8_t *)"x", 1, p.now), HC_ERR_INVALID_ARG);
  hc_replicator_pending_out(p.a, &m, &n);
  CHECK_EQ(n, 0);
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_core_close(w);
  hc_core_close(rd);
  hc_storage_factory_free(fw);
  hc_storage_factory_free(fr);
}

/* The capability binds the core key to the handshake hash and role: a transport that reports
 * another hash (or role) than the remote's fails the channel before any block moves. */
static void mismatch_case(const uint8_t *hh_b, bool b_initiator) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 0, 10, 50);
  hc_core *rd = mem_core(&fr, hc_core_key(w));
  mpair p = {0};
  p.a = mk(true, HH, PK_B);
  p.b = mk(b_initiator, hh_b, PK_A);
  CHECK_OK(hc_replicator_add_core(p.a, w));
  CHECK_OK(hc_replicator_add_core(p.b, rd));
  CHECK_OK(hc_replicator_download(p.b, rd, 0, UINT64_MAX));
  int rc = pump(&p, 1000);
  CHECK(rc == HC_ERR_PROTOCOL);
  int err = hc_replicator_error(p.a) ? hc_replicator_error(p.a) : hc_replicator_error(p.b);
  CHECK_EQ(err, HC_ERR_PROTOCOL);
  const char *msg = hc_replicator_error_message(hc_replicator_error(p.a) ? p.a : p.b);
  CHECK(strstr(msg, "capability") != NULL);
  CHECK_EQ(hc_core_length(rd), 0);
  CHECK(!hc_core_has(rd, 0, 1));
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_core_close(w);
  hc_core_close(rd);
  hc_storage_factory_free(fw);
  hc_storage_factory_free(fr);
}

static void test_mismatch(void) {
  uint8_t other[64];
  memcpy(other, HH, 64);
  other[63] ^= 1;
  mismatch_case(other, false); /* another handshake hash */
  mismatch_case(HH, true);     /* both claim to be the initiator */
}

static void test_bad_args_and_oversized(void) {
  hc_preauth_opts o;
  memset(&o, 0, sizeof o);
  hc_replicator *r;
  o.version = HC_PREAUTH_OPTS_VERSION;
  o.handshake_hash = HH;
  CHECK_RC(hc_replicator_new_preauth(&r, &o, NULL, NULL), HC_ERR_INVALID_ARG); /* no key */
  CHECK(r == NULL);
  o.remote_public_key = PK_A;
  o.version = HC_PREAUTH_OPTS_VERSION + 1;
  CHECK_RC(hc_replicator_new_preauth(&r, &o, NULL, NULL), HC_ERR_BAD_VERSION);
  o.version = HC_PREAUTH_OPTS_VERSION;
  CHECK_OK(hc_replicator_new_preauth(&r, &o, NULL, NULL));
  /* a message larger than secret-stream can carry fails the connection */
  size_t big = 0x1000000;
  uint8_t *buf = calloc(1, big);
  CHECK(buf);
  CHECK_RC(hc_replicator_feed_message(r, buf, big, 1), HC_ERR_PROTOCOL);
  CHECK_RC(hc_replicator_feed_message(r, buf, 3, 2), HC_ERR_PROTOCOL); /* stays failed */
  free(buf);
  hc_replicator_free(r);
  /* garbage frames fail cleanly too */
  CHECK_OK(hc_replicator_new_preauth(&r, &o, NULL, NULL));
  uint8_t junk[] = {0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  CHECK(hc_replicator_feed_message(r, junk, sizeof junk, 1) != HC_OK);
  hc_replicator_free(r);
}

/* A reader that stops reading: the writer queues requests instead of answers, so its output
 * stays bounded (the same high-water mark as over the secret stream). */
static void test_backpressure(void) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 0, 3000, 4096); /* 12 MiB */
  hc_core *rd = mem_core(&fr, hc_core_key(w));
  mpair p = {0};
  p.a = mk(true, HH, PK_B);
  p.b = mk(false, HH, PK_A);
  CHECK_OK(hc_replicator_add_core(p.a, w));
  CHECK_OK(hc_replicator_add_core(p.b, rd));
  CHECK_OK(hc_replicator_download(p.b, rd, 0, UINT64_MAX));
  p.hold_a = true;
  CHECK_OK(pump(&p, 10000));
  size_t held = hc_replicator_pending_bytes(p.a);
  CHECK(held > 0);
  CHECK(held < (6u << 20)); /* about OUT_HIGH_WATER (4 MiB) plus one batch, not 12 MiB */
  p.hold_a = false;
  CHECK_OK(pump(&p, 100000));
  CHECK(hc_replicator_done(p.b, rd));
  same_tree(w, rd);
  CHECK_EQ(hc_replicator_pending_bytes(p.a), 0);
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_core_close(w);
  hc_core_close(rd);
  hc_storage_factory_free(fw);
  hc_storage_factory_free(fr);
}

int main(void) {
  for (int i = 0; i < 64; i++) HH[i] = (uint8_t)(i * 7 + 1);
  for (int i = 0; i < 32; i++) {
    PK_A[i] = (uint8_t)(i + 100);
    PK_B[i] = (uint8_t)(200 - i);
  }
  test_clone_and_live();
  test_mismatch();
  test_bad_args_and_oversized();
  test_backpressure();
  printf("test_preauth: ok\n");
  return 0;
}
