/* A seeder's store stays bounded while one connection walks through many cores (issue 10:
 * "peak RSS flat as the number of cores grows past the open-core limit"). A store of 300
 * cores with an open-core limit of 16 serves them on demand to one client that opens each
 * core, downloads it, and closes it again on the same connection (as a corestore reader that
 * closes its sessions): the store must release each core when its channel closes
 * (on_core_released), so at most the limit (+ the one in use) stay open; and the client's
 * later re-open of an early core is served again. */
#include "test_util.h"

enum { NCORES = 300, MAX_OPEN = 16 };

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

static int released;
static void on_released(void *user, hc_replicator *r, hc_core *core) {
  (void)user;
  (void)r;
  (void)core;
  released++;
}

/* Downloads core `key` through the client side of p into a fresh memory core; checks it. */
static void fetch(pair *p, const uint8_t key[32], uint64_t want_len, const char *want0) {
  hc_storage_factory *f;
  CHECK_OK(hc_storage_memory_factory_new(&f));
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.key = key;
  hc_core *c;
  CHECK_OK(hc_core_open(&c, f, &o));
  CHECK_OK(hc_replicator_add_core(p->b, c));
  CHECK_OK(hc_replicator_download(p->b, c, 0, UINT64_MAX));
  CHECK_OK(pump(p, 100000));
  CHECK(hc_replicator_done(p->b, c));
  CHECK_EQ(hc_core_length(c), want_len);
  uint8_t *b;
  size_t n;
  CHECK_OK(hc_core_get_alloc(c, 0, &b, &n));
  CHECK(n == strlen(want0) && memcmp(b, want0, n) == 0);
  hc_free(b);
  CHECK_OK(hc_replicator_remove_core(p->b, c)); /* the reader closes it */
  CHECK_OK(pump(p, 1000));
  hc_core_close(c);
  hc_storage_factory_free(f);
}

int main(void) {
  const char *dir = test_tmpdir("seed-release");
  hc_store_opts so;
  memset(&so, 0, sizeof so);
  so.version = HC_STORE_OPTS_VERSION;
  so.create = true;
  so.max_open_cores = MAX_OPEN;
  hc_store *s;
  CHECK_OK(hc_store_open(&s, dir, &so));
  static uint8_t keys[NCORES][32];
  for (int i = 0; i < NCORES; i++) {
    char name[32], blk[32];
    snprintf(name, sizeof name, "core-%d", i);
    snprintf(blk, sizeof blk, "first block of %d", i);
    hc_core *c;
    CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)name, strlen(name), &c));
    hc_buf b[2] = {{(const uint8_t *)blk, strlen(blk)}, {(const uint8_t *)"second", 6}};
    CHECK_OK(hc_core_append(c, b, 1 + (i % 2), NULL, NULL));
    memcpy(keys[i], hc_core_key(c), 32);
    hc_store_release(s, c);
  }
  CHECK(hc_store_open_cores(s) <= MAX_OPEN);

  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  hc_replicator_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.on_core_released = on_released;
  pair p = {0};
  CHECK_OK(hc_store_replicator_new(s, &p.a, &o, &cb, NULL));
  o.is_initiator = true;
  CHECK_OK(hc_replicator_new(&p.b, &o, NULL, NULL));
  CHECK_OK(pump(&p, 1000));

  size_t peak = 0;
  for (int i = 0; i < NCORES; i++) {
    char blk[32];
    snprintf(blk, sizeof blk, "first block of %d", i);
    fetch(&p, keys[i], 1 + (i % 2), blk);
    size_t open = hc_store_open_cores(s);
    if (open > peak) peak = open;
  }
  printf("one connection, %d cores fetched and closed: peak open cores %zu (limit %d), released %d\n",
         NCORES, peak, MAX_OPEN, released);
  CHECK(peak <= MAX_OPEN + 1);
  CHECK_EQ(released, NCORES);
  /* an early core (long evicted) once more on the same connection */
  fetch(&p, keys[3], 2, "first block of 3");
  CHECK_EQ(released, NCORES + 1);
  CHECK_OK(hc_replicator_error(p.a));

  hc_store_detach(s, p.a);
  hc_replicator_free(p.a);
  hc_replicator_free(p.b);
  hc_store_close(s);
  printf("test_seed_release: ok\n");
  return 0;
}
