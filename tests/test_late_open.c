/* Late and repeated channel opens (issue 10, part 1), two C replicators back to back in
 * memory: the server's open is rejected by a client that has no core yet, and the client's
 * later open is answered; the client closes (hc_replicator_remove_core) and re-opens the core
 * on the same connection, three times; the server serves on demand (on_discovery_key) and
 * reuses its peer on re-opens; opens for cores nobody has are rejected, the connection stays
 * up and memory stays bounded (thousands of them); a downloader whose open was rejected
 * re-opens when it starts downloading. */
#include "test_util.h"

typedef struct pair {
  hc_replicator *a, *b;
  uint64_t now;
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
      int rc = hc_replicator_feed(to[k], copy, n, p->now);
      free(copy);
      if (rc) return rc;
    }
    p->now += 1;
    if (!moved) return HC_OK;
  }
  return HC_OK;
}

typedef struct counters {
  int adds, removes, lookups, released;
  hc_core **served; /* NULL-terminated */
} counters;

static void on_add(void *user, hc_replicator *r, hc_core *core) {
  (void)r;
  (void)core;
  ((counters *)user)->adds++;
}
static void on_remove(void *user, hc_replicator *r, hc_core *core) {
  (void)r;
  (void)core;
  ((counters *)user)->removes++;
}
static hc_core *lookup(void *user, hc_replicator *r, const uint8_t dk[32]) {
  (void)r;
  counters *c = user;
  c->lookups++;
  for (int i = 0; c->served && c->served[i]; i++)
    if (memcmp(hc_core_discovery_key(c->served[i]), dk, 32) == 0) return c->served[i];
  return NULL;
}

static void on_released(void *user, hc_replicator *r, hc_core *core) {
  (void)r;
  (void)core;
  ((counters *)user)->released++;
}

static hc_replicator *mk_ex(bool initiator, counters *c, bool serve_on_demand, bool release) {
  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  o.is_initiator = initiator;
  hc_replicator_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.on_peer_add = on_add;
  cb.on_peer_remove = on_remove;
  if (serve_on_demand) cb.on_discovery_key = lookup;
  if (release) cb.on_core_released = on_released;
  hc_replicator *r;
  CHECK_OK(hc_replicator_new(&r, &o, &cb, c));
  return r;
}

static hc_replicator *mk(bool initiator, counters *c, bool serve_on_demand) {
  return mk_ex(initiator, c, serve_on_demand, false);
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

static void append_n(hc_core *c, int n) {
  char buf[64];
  for (int i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, "block %d", i);
    hc_buf b = {(const uint8_t *)buf, strlen(buf)};
    CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
  }
}

static void same_core(hc_core *a, hc_core *b) {
  CHECK_EQ(hc_core_length(a), hc_core_length(b));
  for (uint64_t i = 0; i < hc_core_length(a); i++) {
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

/* A fresh empty replica of `w`, added to the client and downloaded in full. */
static void fetch_fresh(pair *p, hc_core *w, hc_core **rd, hc_storage_factory **f) {
  *rd = mem_core(f, hc_core_key(w));
  CHECK_OK(hc_replicator_add_core(p->b, *rd));
  CHECK_OK(hc_replicator_download(p->b, *rd, 0, UINT64_MAX));
  CHECK_OK(pump(p, 100000));
  CHECK(hc_replicator_done(p->b, *rd));
  same_core(w, *rd);
}

/* mode 0: the server added the core up front (like `hypercore serve`); 1: served on demand
 * (on_discovery_key); 2: on demand with on_core_released (a store: released on close). */
static void test_rejected_then_late_and_repeated(int mode) {
  bool on_demand = mode > 0;
  hc_storage_factory *fw;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 150);
  hc_core *served[2] = {w, NULL};
  counters sc = {0}, cc = {0};
  sc.served = served;
  pair p = {0};
  p.a = mk_ex(false, &sc, on_demand, mode == 2);
  p.b = mk(true, &cc, false);
  if (!on_demand) CHECK_OK(hc_replicator_add_core(p.a, w));
  CHECK_OK(pump(&p, 1000)); /* handshake; the server's open (if any) is rejected */
  CHECK(hc_replicator_ready(p.a) && hc_replicator_ready(p.b));
  CHECK_EQ(sc.adds, 0);
  CHECK_OK(hc_replicator_error(p.a));

  for (int round = 0; round < 3; round++) {
    hc_storage_factory *fr;
    hc_core *rd;
    fetch_fresh(&p, w, &rd, &fr);
    CHECK_EQ(sc.adds, round + 1);
    CHECK_EQ(cc.adds, round + 1);
    /* the client closes the core: the server sees the channel go, the connection stays */
    CHECK_OK(hc_replicator_remove_core(p.b, rd));
    CHECK_RC(hc_replicator_remove_core(p.b, rd), HC_ERR_NOT_FOUND);
    CHECK_OK(pump(&p, 1000));
    CHECK_EQ(sc.removes, round + 1);
    CHECK_EQ(cc.removes, round + 1);
    CHECK_EQ(sc.released, mode == 2 ? round + 1 : 0);
    CHECK_OK(hc_replicator_error(p.a));
    CHECK_OK(hc_replicator_error(p.b));
    hc_core_close(rd);
    hc_storage_factory_free(fr);
  }
  /* on demand: the server looked the core up once and reused its peer on every re-open;
   * with on_core_released it forgot it at each close and looked it up again */
  CHECK_EQ(sc.lookups, mode == 0 ? 0 : mode == 1 ? 1 : 3);

  /* the server also appends while nobody has the channel open; a later open gets it all */
  append_n(w, 20);
  hc_storage_factory *fr;
  hc_core *rd;
  fetch_fresh(&p, w, &rd, &fr);
  CHECK_EQ(hc_core_length(rd), 170);

  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_core_close(rd);
  hc_storage_factory_free(fr);
  hc_core_close(w);
  hc_storage_factory_free(fw);
}

/* Opens for cores the server does not have: each rejected, nothing kept, the connection up. */
static void test_unknown_opens_bounded(void) {
  enum { N = 3000 };
  hc_storage_factory *fw, *f;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 10);
  hc_core *served[2] = {w, NULL};
  counters sc = {0}, cc = {0};
  sc.served = served;
  pair p = {0};
  p.a = mk(false, &sc, true);
  p.b = mk(true, &cc, false);
  hc_core **strangers = calloc(N, sizeof *strangers);
  hc_storage_factory **sfs = calloc(N, sizeof *sfs);
  CHECK(strangers && sfs);
  for (int i = 0; i < N; i++) {
    hc_core_opts o;
    memset(&o, 0, sizeof o);
    o.version = HC_CORE_OPTS_VERSION;
    uint8_t key[32];
    memset(key, 0, sizeof key);
    memcpy(key, &i, sizeof i);
    key[31] = 0x5a;
    o.key = key;
    CHECK_OK(hc_storage_memory_factory_new(&sfs[i]));
    CHECK_OK(hc_core_open(&strangers[i], sfs[i], &o));
    CHECK_OK(hc_replicator_add_core(p.b, strangers[i]));
    CHECK_OK(hc_replicator_download(p.b, strangers[i], 0, UINT64_MAX));
  }
  CHECK_OK(pump(&p, 100000));
  CHECK_EQ(sc.lookups, N);
  CHECK_EQ(sc.adds, 0);
  CHECK_OK(hc_replicator_error(p.a));
  CHECK_OK(hc_replicator_error(p.b));
  /* the known core still replicates on the same connection */
  hc_core *rd;
  fetch_fresh(&p, w, &rd, &f);
  for (int i = 0; i < N; i++) {
    CHECK_OK(hc_replicator_remove_core(p.b, strangers[i]));
    hc_core_close(strangers[i]);
    hc_storage_factory_free(sfs[i]);
  }
  free(strangers);
  free(sfs);
  CHECK_OK(pump(&p, 1000));
  CHECK_OK(hc_replicator_error(p.a));
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_core_close(rd);
  hc_storage_factory_free(f);
  hc_core_close(w);
  hc_storage_factory_free(fw);
}

/* The client (a downloader) opened first and was rejected: the server did not have the core
 * then. When the server adds it later, the server's open pairs; a downloader that starts
 * downloading after a reject re-opens from its side too. */
static void test_downloader_rejected_first(void) {
  hc_storage_factory *fw, *fr;
  hc_core *w = mem_core(&fw, NULL);
  append_n(w, 40);
  counters sc = {0}, cc = {0};
  pair p = {0};
  p.a = mk(false, &sc, true); /* serves nothing yet */
  p.b = mk(true, &cc, false);
  hc_core *rd = mem_core(&fr, hc_core_key(w));
  CHECK_OK(hc_replicator_add_core(p.b, rd));
  CHECK_OK(pump(&p, 1000));
  CHECK_EQ(sc.lookups, 1);
  CHECK_EQ(cc.adds, 0);
  /* the server gets the core now and opens it: the client's channel pairs */
  CHECK_OK(hc_replicator_add_core(p.a, w));
  CHECK_OK(pump(&p, 1000));
  CHECK_EQ(cc.adds, 1);
  CHECK_OK(hc_replicator_download(p.b, rd, 0, UINT64_MAX));
  CHECK_OK(pump(&p, 100000));
  CHECK(hc_replicator_done(p.b, rd));
  same_core(w, rd);
  /* server drops the core; the client starts wanting more: re-opens, and the server (which
   * has it again) answers */
  CHECK_OK(hc_replicator_remove_core(p.a, w));
  CHECK_OK(pump(&p, 1000));
  CHECK_EQ(cc.removes, 1);
  append_n(w, 5);
  hc_core *served[2] = {w, NULL};
  sc.served = served;
  CHECK_OK(hc_replicator_set_live(p.b, rd, true));
  CHECK_OK(pump(&p, 100000));
  CHECK_EQ(cc.adds, 2);
  CHECK_EQ(hc_core_length(rd), 45);
  same_core(w, rd);
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_core_close(rd);
  hc_core_close(w);
  hc_storage_factory_free(fr);
  hc_storage_factory_free(fw);
}

int main(void) {
  test_rejected_then_late_and_repeated(0);
  test_rejected_then_late_and_repeated(1);
  test_rejected_then_late_and_repeated(2);
  test_unknown_opens_bounded();
  test_downloader_rejected_first();
  printf("test_late_open: ok\n");
  return 0;
}
