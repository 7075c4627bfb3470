/* Replication between two C replicators back to back in memory (no sockets): full clone,
 * sparse, live appends, truncation (fork change), several cores on one connection, and a
 * lying peer (tampered bytes) that must fail the connection without storing anything. */
#include "test_util.h"

typedef struct pair {
  hc_replicator *a, *b;
  uint64_t now;
  /* tamper with data going a -> b */
  int (*tamper)(uint8_t *buf, size_t len, void *ctx);
  void *tamper_ctx;
} pair;

static int pump(pair *p, int rounds) {
  for (int i = 0; i < rounds; i++) {
    bool moved = false;
    hc_replicator *from[2] = {p->a, p->b}, *to[2] = {p->b, p->a};
    for (int k = 0; k < 2; k++) {
      const uint8_t *d;
      size_t n;
      hc_replicator_pending_out(from[k], &d, &n);
      if (!n) continue;
      moved = true;
      uint8_t *copy = malloc(n);
      CHECK(copy);
      memcpy(copy, d, n);
      hc_replicator_consume_out(from[k], n);
      if (k == 0 && p->tamper) p->tamper(copy, n, p->tamper_ctx);
      int rc = hc_replicator_feed(to[k], copy, n, p->now);
      free(copy);
      if (rc) return rc;
    }
    p->now += 1;
    if (!moved) return HC_OK;
  }
  return HC_OK;
}

static hc_replicator *mk(bool initiator, const hc_replicator_callbacks *cb, void *user) {
  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  o.is_initiator = initiator;
  hc_replicator *r;
  CHECK_OK(hc_replicator_new(&r, &o, cb, user));
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

static void append_n(hc_core *c, int from, int n) {
  char buf[64];
  for (int i = from; i < from + n; i++) {
    snprintf(buf, sizeof buf, "block %d %s", i, (i % 7 == 0) ? "with a longer tail to vary sizes" : "");
    hc_buf b = {(const uint8_t *)buf, strlen(buf)};
    CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
  }
}

static void same_blocks(hc_core *a, hc_core *b, uint64_t start, uint64_t end) {
  for (uint64_t i = start; i < end; i++) {
    uint8_t *x, *y;
    size_t xl, yl;
    CHECK_OK(hc_core_get_alloc(a, i, &x, &xl));
    CHECK_OK(hc_core_get_alloc(b, i, &y, &yl));
    CHECK_EQ(xl, yl);
    CHECK(memcmp(x, y, xl) == 0);
    hc_free(x);
    hc_free(y);
  }
}

static void same_tree(hc_core *a, hc_core *b) {
  CHECK_EQ(hc_core_length(a), hc_core_length(b));
  CHECK_EQ(hc_core_fork(a), hc_core_fork(b));
  uint8_t x[32], y[32];
  CHECK_OK(hc_core_tree_hash(a, hc_core_length(a), x));
  CHECK_OK(hc_core_tree_hash(b, hc_core_length(b), y));
  CHECK_MEM(x, y, 32);
}

/* Frees a writer/reader pair, their cores and storages. */
static void teardown(pair *p, hc_core *w, hc_core *rd, hc_storage_factory *fw,
                     hc_storage_factory *fr) {
  hc_replicator_free(p->a);
  hc_replicator_free(p->b);
  hc_core_close(w);
  hc_core_close(rd);
  hc_storage_factory_free(fw);
  hc_storage_factory_free(fr);
}

static void test_full_clone_and_live(void) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 0, 300);
  hc_core *rd = mem_core(&fr, hc_core_key(w));
  pair p = {0};
  p.a = mk(true, NULL, NULL);
  p.b = mk(false, NULL, NULL);
  CHECK_OK(hc_replicator_add_core(p.a, w));
  CHECK_OK(hc_replicator_add_core(p.b, rd));
  CHECK_OK(hc_replicator_download(p.b, rd, 0, UINT64_MAX));
  CHECK_OK(hc_replicator_set_live(p.b, rd, true));
  CHECK_OK(pump(&p, 10000));
  CHECK(hc_replicator_done(p.b, rd));
  same_tree(w, rd);
  same_blocks(w, rd, 0, 300);
  uint64_t bad;
  CHECK_OK(hc_core_verify(rd, &bad));
  /* live: new appends reach the connected reader without asking again */
  append_n(w, 300, 25);
  CHECK_OK(pump(&p, 10000));
  same_tree(w, rd);
  same_blocks(w, rd, 0, 325);
  /* truncation + append on the writer: the reader follows the new fork */
  CHECK_OK(hc_core_truncate(w, 200));
  append_n(w, 1000, 10);
  CHECK_OK(pump(&p, 10000));
  same_tree(w, rd);
  same_blocks(w, rd, 0, 210);
  CHECK_OK(hc_core_verify(rd, &bad));
  /* keep-alives and ticks are harmless */
  p.now += 6000;
  CHECK_OK(hc_replicator_tick(p.a, p.now));
  CHECK_OK(pump(&p, 100));
  teardown(&p, w, rd, fw, fr);
}

static hc_core *g_served;
static hc_core *serve_lookup(void *user, hc_replicator *r, const uint8_t dk[32]) {
  hc_core **cores = user;
  for (int i = 0; cores[i]; i++)
    if (memcmp(hc_core_discovery_key(cores[i]), dk, 32) == 0) return cores[i];
  return NULL;
}

static void test_sparse_and_many_cores(void) {
  hc_storage_factory *f1, *f2, *r1f, *r2f;
  hc_core *w1 = mem_core(&f1, NULL), *w2 = mem_core(&f2, NULL);
  append_n(w1, 0, 100);
  append_n(w2, 0, 40);
  hc_core *r1 = mem_core(&r1f, hc_core_key(w1)), *r2 = mem_core(&r2f, hc_core_key(w2));
  hc_core *served[3] = {w1, w2, NULL};
  hc_replicator_callbacks scb;
  scb = (hc_replicator_callbacks)HC_REPLICATOR_CALLBACKS_INIT;
  scb.on_discovery_key = serve_lookup;
  pair p = {0};
  p.a = mk(false, &scb, served); /* the server adds cores on demand */
  p.b = mk(true, NULL, NULL);
  CHECK_OK(hc_replicator_add_core(p.b, r1));
  CHECK_OK(hc_replicator_add_core(p.b, r2));
  CHECK_OK(hc_replicator_download(p.b, r1, 5, 6));
  CHECK_OK(hc_replicator_download(p.b, r1, 42, 45));
  CHECK_OK(hc_replicator_download(p.b, r1, 99, 100));
  CHECK_OK(hc_replicator_download(p.b, r2, 0, UINT64_MAX));
  CHECK_OK(pump(&p, 10000));
  CHECK(hc_replicator_done(p.b, r1));
  CHECK(hc_replicator_done(p.b, r2));
  CHECK_EQ(hc_core_length(r1), 100);
  CHECK(hc_core_has(r1, 5, 6));
  CHECK(hc_core_has(r1, 42, 45));
  CHECK(hc_core_has(r1, 99, 100));
  CHECK(!hc_core_has(r1, 0, 1));
  CHECK(!hc_core_has(r1, 6, 7));
  CHECK(!hc_core_has(r1, 50, 51));
  same_blocks(w1, r1, 42, 45);
  same_tree(w2, r2);
  same_blocks(w2, r2, 0, 40);
  uint64_t bad;
  CHECK_OK(hc_core_verify(r1, &bad));
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_core_close(w1);
  hc_core_close(w2);
  hc_core_close(r1);
  hc_core_close(r2);
  hc_storage_factory_free(f1);
  hc_storage_factory_free(f2);
  hc_storage_factory_free(r1f);
  hc_storage_factory_free(r2f);
  (void)g_served;
}

/* Flip a byte of ciphertext after the handshake: the MAC check must fail the stream. */
typedef struct tamper_state {
  size_t seen;
  size_t at;
  bool done;
} tamper_state;

static int flip_at(uint8_t *buf, size_t len, void *ctx) {
  tamper_state *t = ctx;
  if (!t->done && t->seen + len > t->at) {
    buf[t->at - t->seen] ^= 0x40;
    t->done = true;
  }
  t->seen += len;
  return 0;
}

static void test_tampered_stream(void) {
  for (size_t at = 40; at < 2000; at += 97) {
    hc_storage_factory *fw, *fr;
    hc_core *w = mem_core(&fw, NULL);
    append_n(w, 0, 20);
    hc_core *rd = mem_core(&fr, hc_core_key(w));
    tamper_state t = {0, at, false};
    pair p = {0};
    p.a = mk(true, NULL, NULL);
    p.b = mk(false, NULL, NULL);
    p.tamper = flip_at;
    p.tamper_ctx = &t;
    CHECK_OK(hc_replicator_add_core(p.a, w));
    CHECK_OK(hc_replicator_add_core(p.b, rd));
    CHECK_OK(hc_replicator_download(p.b, rd, 0, UINT64_MAX));
    int rc = pump(&p, 10000);
    if (t.done) {
      CHECK(rc != HC_OK);
      CHECK(hc_replicator_error(p.b) != HC_OK);
      CHECK(strlen(hc_replicator_error_message(p.b)) > 0);
    }
    /* whatever arrived before the fault is verified and readable */
    uint64_t bad;
    CHECK_OK(hc_core_verify(rd, &bad));
    for (uint64_t i = 0; i < hc_core_length(rd); i++)
      if (hc_core_has(rd, i, i + 1)) same_blocks(w, rd, i, i + 1);
    teardown(&p, w, rd, fw, fr);
  }
}

/* A reader asking a server that has a different core under the same key is impossible; but a
 * reader of key K talking to a writer of key K' never opens a channel (capability/dk). */
static void test_wrong_key(void) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 0, 5);
  uint8_t other[32];
  memcpy(other, hc_core_key(w), 32);
  other[3] ^= 1;
  hc_core *rd = mem_core(&fr, other);
  hc_core *served[2] = {w, NULL};
  hc_replicator_callbacks scb;
  scb = (hc_replicator_callbacks)HC_REPLICATOR_CALLBACKS_INIT;
  scb.on_discovery_key = serve_lookup;
  pair p = {0};
  p.a = mk(true, &scb, served);
  p.b = mk(false, NULL, NULL);
  CHECK_OK(hc_replicator_add_core(p.b, rd));
  CHECK_OK(hc_replicator_download(p.b, rd, 0, UINT64_MAX));
  CHECK_OK(pump(&p, 1000));
  CHECK(!hc_replicator_done(p.b, rd));
  CHECK_EQ(hc_core_length(rd), 0);
  teardown(&p, w, rd, fw, fr);
}

typedef struct ext_log {
  int n;
  char last[64];
  int warnings;
} ext_log;

static void on_ext(void *user, hc_replicator *r, hc_core *core, const char *name, const uint8_t *msg,
                   size_t len) {
  ext_log *l = user;
  l->n++;
  snprintf(l->last, sizeof l->last, "%s:%.*s", name, (int)len, (const char *)msg);
}

static void on_warn(void *user, hc_replicator *r, hc_core *core, int err, const char *message) {
  ext_log *l = user;
  l->warnings++;
}

static void test_extensions(void) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 0, 3);
  hc_core *rd = mem_core(&fr, hc_core_key(w));
  ext_log la = {0}, lb = {0};
  hc_replicator_callbacks cba, cbb;
  cba = (hc_replicator_callbacks)HC_REPLICATOR_CALLBACKS_INIT;
  cbb = (hc_replicator_callbacks)HC_REPLICATOR_CALLBACKS_INIT;
  cbb.on_warning = on_warn;
  pair p = {0};
  p.a = mk(true, &cba, &la);
  p.b = mk(false, &cbb, &lb);
  CHECK_OK(hc_replicator_add_core(p.a, w));
  CHECK_OK(hc_replicator_add_core(p.b, rd));
  CHECK_OK(hc_replicator_register_extension(p.a, w, "test/echo", on_ext, &la));
  CHECK_OK(hc_replicator_register_extension(p.b, rd, "test/echo", on_ext, &lb));
  CHECK_RC(hc_replicator_register_extension(p.b, rd, "test/echo", on_ext, &lb), HC_ERR_EXISTS);
  CHECK_RC(hc_replicator_send_extension(p.a, w, "test/echo", (const uint8_t *)"x", 1), HC_ERR_BUSY);
  CHECK_OK(pump(&p, 1000));
  CHECK_OK(hc_replicator_send_extension(p.a, w, "test/echo", (const uint8_t *)"hello", 5));
  CHECK_OK(hc_replicator_send_extension(p.a, w, "test/echo", (const uint8_t *)"again", 5)); /* name elided */
  CHECK_OK(hc_replicator_send_extension(p.b, rd, "test/echo", (const uint8_t *)"back", 4));
  CHECK_OK(hc_replicator_send_extension(p.a, w, "unknown/ext", (const uint8_t *)"?", 1));
  CHECK_OK(pump(&p, 1000));
  CHECK_EQ(lb.n, 2);
  CHECK(strcmp(lb.last, "test/echo:again") == 0);
  CHECK_EQ(la.n, 1);
  CHECK(strcmp(la.last, "test/echo:back") == 0);
  CHECK_EQ(lb.warnings, 1); /* unknown extension: dropped with a warning, connection fine */
  CHECK_OK(hc_replicator_error(p.b));
  static uint8_t big[HC_MAX_EXTENSION_MESSAGE + 1];
  CHECK_RC(hc_replicator_send_extension(p.a, w, "test/echo", big, sizeof big), HC_ERR_INVALID_ARG);
  teardown(&p, w, rd, fw, fr);
}

static void count_download(void *user, hc_replicator *r, hc_core *core, uint64_t index, size_t bytes) {
  (void)r, (void)core, (void)bytes;
  uint64_t *n = user;
  n[0]++;
  if (index < n[1]) n[1] = index; /* the lowest index downloaded */
}

/* Connects writer `w` and a live reader `rd` (downloading everything) and runs them dry. */
static void connect_live(pair *p, hc_core *w, hc_core *rd, const hc_replicator_callbacks *cb,
                         void *user) {
  p->a = mk(true, NULL, NULL);
  p->b = mk(false, cb, user);
  CHECK_OK(hc_replicator_add_core(p->a, w));
  CHECK_OK(hc_replicator_add_core(p->b, rd));
  CHECK_OK(hc_replicator_download(p->b, rd, 0, UINT64_MAX));
  CHECK_OK(hc_replicator_set_live(p->b, rd, true));
  CHECK_OK(pump(p, 100000));
}

/* A fork switch finds the exact first differing block (the reference's hash-request descent):
 * the reader keeps every shared block and downloads only the new ones, whatever the shape of
 * the trees. Before, a reader truncated to the longest prefix of equal roots: for a 1024-block
 * core (one root) truncated to 1000 and regrown, that was everything. */
static void reorg_case(uint64_t len, uint64_t cut, uint64_t grow) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 0, (int)len);
  hc_core *rd = mem_core(&fr, hc_core_key(w));
  uint64_t dl[2] = {0, UINT64_MAX};
  hc_replicator_callbacks cb;
  cb = (hc_replicator_callbacks)HC_REPLICATOR_CALLBACKS_INIT;
  cb.on_download = count_download;
  pair p = {0};
  connect_live(&p, w, rd, &cb, dl);
  same_tree(w, rd);
  CHECK_EQ(dl[0], len);
  dl[0] = 0;
  dl[1] = UINT64_MAX;
  /* the writer moves to a new fork while the reader is away; the reader then meets a tree
   * that is not a prefix of its own (when connected, it would see the bare truncation first) */
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  CHECK_OK(hc_core_truncate(w, cut));
  append_n(w, 100000, (int)grow);
  connect_live(&p, w, rd, &cb, dl);
  same_tree(w, rd);
  CHECK_EQ(hc_core_fork(rd), 1);
  same_blocks(w, rd, 0, cut + grow);
  CHECK_EQ(dl[0], grow);  /* only the new blocks */
  if (grow) CHECK_EQ(dl[1], cut); /* the first one right after the shared prefix */
  uint64_t bad;
  CHECK_OK(hc_core_verify(rd, &bad));
  teardown(&p, w, rd, fw, fr);
}

static void test_reorg_exact(void) {
  reorg_case(1024, 1000, 30); /* one root; the fork point deep inside it */
  reorg_case(1024, 1023, 1);  /* the very last block replaced */
  reorg_case(1000, 1, 50);    /* almost nothing shared */
  reorg_case(777, 600, 0);    /* a plain truncation: nothing new to fetch */
  reorg_case(300, 0, 20);     /* nothing shared at all */
  reorg_case(513, 512, 3);    /* the fork point on a root boundary */
}

int main(void) {
  test_extensions();
  test_full_clone_and_live();
  test_sparse_and_many_cores();
  test_tampered_stream();
  test_wrong_key();
  test_reorg_exact();
  printf("test_replicate: ok\n");
  return 0;
}
