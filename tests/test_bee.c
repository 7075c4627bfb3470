/* Hyperbee and Hyperdrive: a randomised model test of put/del/batches with every read (get,
 * ranges, reverse, limits, checkouts, history, subs), the block codecs, and hostile cores
 * (bad header, garbage nodes, forward pointers, cycles, unsorted keys, absurd level counts,
 * drive entries pointing nowhere): clear errors, never a crash or a loop. */
#include "bee_messages.h"
#include "test_util.h"

/* ---------------------------------------------------------------- helpers ---- */

typedef struct mem_core {
  hc_storage_factory *f;
  hc_core *core;
} mem_core;

static void mem_open(mem_core *m, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof seed);
  CHECK_OK(hc_storage_memory_factory_new(&m->f));
  hc_core_opts o = {.version = HC_CORE_OPTS_VERSION, .seed = seed};
  CHECK_OK(hc_core_open(&m->core, m->f, &o));
}

static void mem_close(mem_core *m) {
  hc_core_close(m->core);
  hc_storage_factory_free(m->f);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* The model: a sorted array of (key, value) small strings. */
#define MAXK 24
typedef struct kv {
  char k[MAXK], v[MAXK];
} kv;
typedef struct model {
  kv *e;
  size_t n;
} model;

static int find(const model *m, const char *k, bool *found) {
  size_t s = 0, e = m->n;
  *found = false;
  while (s < e) {
    size_t mid = (s + e) / 2;
    int c = strcmp(k, m->e[mid].k);
    if (c == 0) {
      *found = true;
      return (int)mid;
    }
    if (c < 0) e = mid;
    else s = mid + 1;
  }
  return (int)s;
}

static void model_put(model *m, const char *k, const char *v) {
  bool f;
  int i = find(m, k, &f);
  if (!f) {
    m->e = realloc(m->e, (m->n + 1) * sizeof(kv));
    memmove(m->e + i + 1, m->e + i, (m->n - (size_t)i) * sizeof(kv));
    m->n++;
    snprintf(m->e[i].k, MAXK, "%s", k);
  }
  snprintf(m->e[i].v, MAXK, "%s", v);
}

static bool model_del(model *m, const char *k) {
  bool f;
  int i = find(m, k, &f);
  if (!f) return false;
  memmove(m->e + i, m->e + i + 1, (m->n - (size_t)i - 1) * sizeof(kv));
  m->n--;
  return true;
}

static model model_copy(const model *m) {
  model c = {malloc((m->n + 1) * sizeof(kv)), m->n};
  memcpy(c.e, m->e, m->n * sizeof(kv));
  return c;
}

static void check_get(hc_bee *bee, const model *m, const char *k) {
  bool f;
  int i = find(m, k, &f);
  hc_bee_entry *e = NULL;
  int rc = hc_bee_get(bee, (const uint8_t *)k, strlen(k), &e);
  if (!f) {
    CHECK_RC(rc, HC_ERR_NOT_FOUND);
    return;
  }
  CHECK_OK(rc);
  CHECK_EQ(e->key_len, strlen(k));
  CHECK(memcmp(e->key, k, e->key_len) == 0);
  CHECK_EQ(e->value_len, strlen(m->e[i].v));
  CHECK(memcmp(e->value, m->e[i].v, e->value_len) == 0);
  hc_bee_entry_free(e);
}

/* A range over the model and the bee; compares the outputs. */
static void check_range(hc_bee *bee, const model *m, const char *gt, const char *gte,
                        const char *lt, const char *lte, bool reverse, uint64_t limit) {
  hc_bee_range r = {.version = HC_BEE_RANGE_VERSION, .reverse = reverse, .limit = limit};
  if (gt) r.gt = (const uint8_t *)gt, r.gt_len = strlen(gt);
  if (gte) r.gte = (const uint8_t *)gte, r.gte_len = strlen(gte);
  if (lt) r.lt = (const uint8_t *)lt, r.lt_len = strlen(lt);
  if (lte) r.lte = (const uint8_t *)lte, r.lte_len = strlen(lte);
  size_t idx[20000], n = 0;
  for (size_t i = 0; i < m->n; i++) {
    const char *k = m->e[i].k;
    if (gt && strcmp(k, gt) <= 0) continue;
    if (!gt && gte && strcmp(k, gte) < 0) continue;
    if (lt && strcmp(k, lt) >= 0) continue;
    if (!lt && lte && strcmp(k, lte) > 0) continue;
    idx[n++] = i;
  }
  hc_bee_iter *it;
  CHECK_OK(hc_bee_iter_new(bee, &r, &it));
  size_t got = 0;
  for (;;) {
    hc_bee_entry *e;
    int rc = hc_bee_iter_next(it, &e);
    if (rc == HC_ERR_NOT_FOUND) break;
    CHECK_OK(rc);
    CHECK(got < n && (!limit || got < limit));
    const kv *want = &m->e[idx[reverse ? n - 1 - got : got]];
    CHECK(e->key_len == strlen(want->k) && memcmp(e->key, want->k, e->key_len) == 0);
    CHECK(e->value_len == strlen(want->v) && memcmp(e->value, want->v, e->value_len) == 0);
    hc_bee_entry_free(e);
    got++;
  }
  CHECK_EQ(got, limit && limit < n ? limit : n);
  hc_bee_iter_free(it);
}

static void rand_key(char *k) { snprintf(k, MAXK, "k%llu", (unsigned long long)(rnd() % 3000)); }

/* ---------------------------------------------------------------- model test ---- */

#define NSNAP 8
static void test_model(void) {
  mem_core mc;
  mem_open(&mc, 1);
  hc_bee *bee;
  hc_bee_opts bo = {.version = HC_BEE_OPTS_VERSION, .cache_nodes = 64}; /* evictions too */
  CHECK_OK(hc_bee_open(&bee, mc.core, &bo));
  CHECK_EQ(hc_bee_version(bee), 1);
  model m = {0};
  model snaps[NSNAP];
  uint64_t snap_v[NSNAP];
  int nsnap = 0;
  uint64_t puts = 0, dels = 0;
  for (int op = 0; op < 6000; op++) {
    char k[MAXK], v[MAXK];
    if (rnd() % 40 == 0) {
      /* a batch of 1..60 operations, one append */
      hc_bee_batch *b;
      CHECK_OK(hc_bee_batch_new(bee, &b));
      int n = 1 + (int)(rnd() % 60);
      uint64_t before = hc_core_length(mc.core);
      int appended = 0;
      for (int i = 0; i < n; i++) {
        rand_key(k);
        if (rnd() % 4 == 0) {
          if (model_del(&m, k)) appended++;
          CHECK_OK(hc_bee_batch_del(b, (uint8_t *)k, strlen(k)));
        } else {
          snprintf(v, MAXK, "v%llu", (unsigned long long)(rnd() % 100000));
          model_put(&m, k, v);
          appended++;
          CHECK_OK(hc_bee_batch_put(b, (uint8_t *)k, strlen(k), (uint8_t *)v, strlen(v)));
        }
      }
      uint64_t ver;
      CHECK_OK(hc_bee_batch_flush(b, &ver));
      hc_bee_batch_free(b);
      CHECK_EQ(ver, (before ? before : 1) + (uint64_t)appended);
      continue;
    }
    rand_key(k);
    uint64_t ver;
    if (rnd() % 4 == 0) {
      bool had = model_del(&m, k);
      uint64_t before = hc_bee_version(bee);
      CHECK_OK(hc_bee_del(bee, (uint8_t *)k, strlen(k), &ver));
      CHECK_EQ(ver, before + (had ? 1 : 0));
      dels += had;
    } else {
      snprintf(v, MAXK, "v%llu", (unsigned long long)(rnd() % 100000));
      model_put(&m, k, v);
      CHECK_OK(hc_bee_put(bee, (uint8_t *)k, strlen(k), (uint8_t *)v, strlen(v), &ver));
      puts++;
    }
    if (op % 700 == 699 && nsnap < NSNAP) {
      snaps[nsnap] = model_copy(&m);
      snap_v[nsnap++] = hc_bee_version(bee);
    }
  }
  /* every key of the key space */
  for (int i = 0; i < 3000; i++) {
    char k[MAXK];
    snprintf(k, MAXK, "k%d", i);
    check_get(bee, &m, k);
  }
  check_get(bee, &m, "");
  check_get(bee, &m, "zzz");
  /* ranges */
  check_range(bee, &m, NULL, NULL, NULL, NULL, false, 0);
  check_range(bee, &m, NULL, NULL, NULL, NULL, true, 0);
  for (int i = 0; i < 300; i++) {
    char a[MAXK], b[MAXK];
    rand_key(a);
    rand_key(b);
    if (rnd() % 5 == 0) a[strlen(a) - 1] = 0; /* a bound between keys */
    int g = (int)(rnd() % 3), l = (int)(rnd() % 3);
    check_range(bee, &m, g == 1 ? a : NULL, g == 2 ? a : NULL, l == 1 ? b : NULL,
                l == 2 ? b : NULL, rnd() % 2, rnd() % 3 == 0 ? 1 + rnd() % 30 : 0);
  }
  /* peek */
  hc_bee_entry *e;
  CHECK_OK(hc_bee_peek(bee, NULL, &e));
  CHECK(e->key_len == strlen(m.e[0].k) && memcmp(e->key, m.e[0].k, e->key_len) == 0);
  hc_bee_entry_free(e);
  /* checkouts reproduce the model as it was */
  for (int s = 0; s < nsnap; s++) {
    hc_bee *c;
    CHECK_OK(hc_bee_checkout(bee, snap_v[s], &c));
    CHECK_EQ(hc_bee_version(c), snap_v[s]);
    check_range(c, &snaps[s], NULL, NULL, NULL, NULL, false, 0);
    for (int i = 0; i < 200; i++) {
      char k[MAXK];
      rand_key(k);
      check_get(c, &snaps[s], k);
    }
    CHECK_RC(hc_bee_put(c, (const uint8_t *)"x", 1, NULL, 0, NULL), HC_ERR_NOT_WRITABLE);
    hc_bee_close(c);
    free(snaps[s].e);
  }
  /* history: one entry per block, dels marked */
  hc_bee_iter *it;
  CHECK_OK(hc_bee_history_new(bee, 0, 0, false, 0, &it));
  uint64_t n = 0, ndel = 0;
  while (hc_bee_iter_next(it, &e) == HC_OK) {
    CHECK_EQ(e->seq, n + 1);
    ndel += e->deleted;
    CHECK(e->deleted == !e->has_value);
    hc_bee_entry_free(e);
    n++;
  }
  hc_bee_iter_free(it);
  CHECK_EQ(n, hc_bee_version(bee) - 1);
  CHECK(ndel >= dels);
  CHECK_OK(hc_bee_history_new(bee, 5, 20, true, 4, &it));
  uint64_t want = 19;
  while (hc_bee_iter_next(it, &e) == HC_OK) {
    CHECK_EQ(e->seq, want--);
    hc_bee_entry_free(e);
  }
  CHECK_EQ(want, 15);
  hc_bee_iter_free(it);
  /* a second handle on the same core sees the same */
  hc_bee *b2;
  CHECK_OK(hc_bee_open(&b2, mc.core, NULL));
  check_range(b2, &m, NULL, NULL, NULL, NULL, false, 0);
  hc_bee_close(b2);
  printf("model: %llu puts, %llu dels, %zu keys, version %llu\n", (unsigned long long)puts,
         (unsigned long long)dels, m.n, (unsigned long long)hc_bee_version(bee));
  free(m.e);
  hc_bee_close(bee);
  mem_close(&mc);
}

/* subs: prefix + 0x00, keys returned without it; the reference's defaults for open bounds */
static void test_sub(void) {
  mem_core mc;
  mem_open(&mc, 2);
  hc_bee *bee, *s, *ss;
  CHECK_OK(hc_bee_open(&bee, mc.core, NULL));
  CHECK_OK(hc_bee_sub(bee, (const uint8_t *)"a", 1, NULL, 0, &s));
  CHECK_OK(hc_bee_sub(s, (const uint8_t *)"b", 1, NULL, 0, &ss));
  CHECK_OK(hc_bee_put(bee, (const uint8_t *)"a", 1, (const uint8_t *)"top", 3, NULL));
  CHECK_OK(hc_bee_put(s, (const uint8_t *)"x", 1, (const uint8_t *)"1", 1, NULL));
  CHECK_OK(hc_bee_put(s, (const uint8_t *)"y", 1, (const uint8_t *)"2", 1, NULL));
  CHECK_OK(hc_bee_put(ss, (const uint8_t *)"z", 1, (const uint8_t *)"3", 1, NULL));
  hc_bee_entry *e;
  CHECK_OK(hc_bee_get(bee, (const uint8_t *)"a\0x", 3, &e));
  hc_bee_entry_free(e);
  CHECK_OK(hc_bee_get(ss, (const uint8_t *)"z", 1, &e));
  CHECK(e->key_len == 1 && e->key[0] == 'z' && e->value[0] == '3');
  hc_bee_entry_free(e);
  hc_bee_iter *it;
  CHECK_OK(hc_bee_iter_new(s, NULL, &it));
  const char *want[] = {"b\0z", "x", "y"};
  size_t wl[] = {3, 1, 1};
  for (int i = 0; i < 3; i++) {
    CHECK_OK(hc_bee_iter_next(it, &e));
    CHECK(e->key_len == wl[i] && memcmp(e->key, want[i], wl[i]) == 0);
    hc_bee_entry_free(e);
  }
  CHECK_RC(hc_bee_iter_next(it, &e), HC_ERR_NOT_FOUND);
  hc_bee_iter_free(it);
  hc_bee_close(ss);
  hc_bee_close(s);
  hc_bee_close(bee);
  mem_close(&mc);
}

/* ---------------------------------------------------------------- codecs ---- */

static void test_codecs(void) {
  uint64_t k0[] = {1, 300, 70000}, c0[] = {1, 0, 2, 1, 3, 2, 4, 3};
  hc_bee_level lv[2] = {{k0, 3, c0, 4}, {NULL, 0, NULL, 0}};
  size_t il = hc_bee_index_encode(NULL, lv, 2);
  uint8_t idx[64];
  CHECK(il <= sizeof idx);
  CHECK_EQ(hc_bee_index_encode(idx, lv, 2), il);
  hc_bee_index *d;
  CHECK_OK(hc_bee_index_decode(idx, il, &d));
  CHECK_EQ(d->nlevels, 2);
  CHECK_EQ(d->levels[0].nkeys, 3);
  CHECK_EQ(d->levels[0].keys[2], 70000);
  CHECK_EQ(d->levels[0].nchildren, 4);
  CHECK_EQ(d->levels[0].children[7], 3);
  CHECK_EQ(d->levels[1].nkeys, 0);
  free(d);
  uint8_t node[128];
  size_t nl = hc_bee_node_encode(node, idx, il, (const uint8_t *)"key", 3, (const uint8_t *)"", 0, true);
  hc_bee_node_msg msg;
  CHECK_OK(hc_bee_node_decode(node, nl, &msg));
  CHECK(msg.has_value && msg.value_len == 0 && msg.key_len == 3 && msg.index_len == il);
  /* every prefix decodes or fails cleanly (ASan checks the bounds) */
  for (size_t i = 0; i < nl; i++) {
    uint8_t *p = malloc(i + 1);
    memcpy(p, node, i);
    if (hc_bee_node_decode(p, i, &msg) == HC_OK && hc_bee_index_decode(msg.index, msg.index_len, &d) == HC_OK)
      free(d);
    free(p);
  }
  uint8_t hdr[80];
  size_t hl = hc_bee_header_encode(hdr, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, true, NULL, 0);
  hc_bee_header_msg h;
  CHECK_OK(hc_bee_header_decode(hdr, hl, &h));
  CHECK(h.protocol_len == 8 && h.content_feed_len == 32 && !h.user_data);
  /* the reference's plain header: 0a 08 "hyperbee" */
  CHECK_EQ(hc_bee_header_encode(hdr, NULL, 0, false, NULL, 0), 10);
  CHECK_HEX(hdr, "0a086879706572626565");
  CHECK_RC(hc_bee_header_decode((const uint8_t *)"\x12\x00", 2, &h), HC_ERR_DECODE);
  /* odd child count, over-long varint, a group wire type */
  CHECK_RC(hc_bee_index_decode((const uint8_t *)"\x0a\x03\x12\x01\x01", 5, &d), HC_ERR_DECODE);
  CHECK_RC(hc_bee_index_decode((const uint8_t *)"\x0a\x0c\x0a\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 14, &d), HC_ERR_DECODE);
  CHECK_RC(hc_bee_node_decode((const uint8_t *)"\x0b", 1, &msg), HC_ERR_DECODE);
}

/* ---------------------------------------------------------------- hostile ---- */

static void append_raw(hc_core *core, const uint8_t *p, size_t n) {
  hc_buf b = {p, n};
  CHECK_OK(hc_core_append(core, &b, 1, NULL, NULL));
}

/* A node block from levels, key, value. */
static void append_node(hc_core *core, const hc_bee_level *lv, size_t nl, const char *key,
                        const char *value) {
  uint8_t idx[4096], node[8192];
  size_t il = hc_bee_index_encode(idx, lv, nl);
  size_t n = hc_bee_node_encode(node, idx, il, (const uint8_t *)key, strlen(key),
                                (const uint8_t *)value, value ? strlen(value) : 0, value != NULL);
  append_raw(core, node, n);
}

static void append_header(hc_core *core) {
  uint8_t h[16];
  append_raw(core, h, hc_bee_header_encode(h, NULL, 0, false, NULL, 0));
}

/* Every read of the bee fails cleanly with want (get of keys, ranges both ways, history). */
static void expect_reads_fail(hc_core *core, int want, const char *what) {
  hc_bee *bee;
  CHECK_OK(hc_bee_open(&bee, core, NULL));
  const char *keys[] = {"", "a", "m", "zzzz"};
  for (int i = 0; i < 4; i++) {
    hc_bee_entry *e = NULL;
    int rc = hc_bee_get(bee, (const uint8_t *)keys[i], strlen(keys[i]), &e);
    if (rc == HC_OK) hc_bee_entry_free(e);
    if (rc != want && rc != HC_ERR_NOT_FOUND && rc != HC_OK) {
      fprintf(stderr, "%s: get %s: %s\n", what, keys[i], hc_err_name(rc));
      exit(1);
    }
  }
  int seen = HC_OK;
  for (int rev = 0; rev < 4; rev++) {
    hc_bee_range r = {.version = HC_BEE_RANGE_VERSION, .reverse = rev & 1};
    if (rev >= 2) { /* a start key: the walk down to it does not push every node */
      r.gt = (const uint8_t *)"zzzz";
      r.gt_len = 4;
      r.lt = (const uint8_t *)"";
      r.lt_len = 0;
      if (rev == 3) r.gt = NULL, r.lte = (const uint8_t *)"zzzz", r.lte_len = 4, r.lt = NULL;
    }
    hc_bee_iter *it;
    int rc = hc_bee_iter_new(bee, &r, &it);
    int steps = 0;
    while (rc == HC_OK) {
      hc_bee_entry *e;
      rc = hc_bee_iter_next(it, &e);
      if (rc == HC_OK) hc_bee_entry_free(e);
      CHECK(++steps < 100000); /* never a loop */
    }
    if (rc != HC_ERR_NOT_FOUND) seen = rc;
    hc_bee_iter_free(it);
  }
  if (seen != want) {
    fprintf(stderr, "%s: range gave %s, wanted %s\n", what, hc_err_name(seen), hc_err_name(want));
    exit(1);
  }
  hc_bee_close(bee);
}

static void test_hostile(void) {
  mem_core mc;
  hc_bee *bee;
  /* not a Hyperbee */
  mem_open(&mc, 3);
  append_raw(mc.core, (const uint8_t *)"\x0a\x08hyperbeX", 10);
  CHECK_RC(hc_bee_open(&bee, mc.core, NULL), HC_ERR_NOT_A_BEE);
  mem_close(&mc);
  mem_open(&mc, 3);
  append_raw(mc.core, (const uint8_t *)"hello", 5);
  CHECK_RC(hc_bee_open(&bee, mc.core, NULL), HC_ERR_NOT_A_BEE);
  mem_close(&mc);

  /* garbage node */
  mem_open(&mc, 4);
  append_header(mc.core);
  append_raw(mc.core, (const uint8_t *)"\xff\xff\xff", 3);
  expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "garbage node");
  mem_close(&mc);

  /* a node without key or index fields */
  mem_open(&mc, 4);
  append_header(mc.core);
  append_raw(mc.core, (const uint8_t *)"\x1a\x01x", 3);
  expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "no key");
  mem_close(&mc);

  /* a key pointing forward (block 5 of a 3-block core) */
  mem_open(&mc, 5);
  append_header(mc.core);
  uint64_t fk[] = {5};
  hc_bee_level l1 = {fk, 1, NULL, 0};
  append_node(mc.core, &l1, 1, "a", "1");
  append_node(mc.core, &l1, 1, "b", "2");
  expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "forward key");
  mem_close(&mc);

  /* a child pointing outside the core / at the header */
  for (uint64_t target = 0; target < 2; target++) {
    mem_open(&mc, 6);
    append_header(mc.core);
    uint64_t k1[] = {1}, ch[] = {target ? 99 : 0, 0, 1, 0};
    hc_bee_level lv = {k1, 1, ch, 2};
    append_node(mc.core, &lv, 1, "m", "1");
    expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "child outside");
    mem_close(&mc);
  }

  /* a cycle: level 0 of block 1 is its own child */
  mem_open(&mc, 7);
  append_header(mc.core);
  uint64_t k2[] = {1}, cyc[] = {1, 0, 1, 0};
  hc_bee_level lc = {k2, 1, cyc, 2};
  append_node(mc.core, &lc, 1, "m", "1");
  expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "cycle");
  /* and the writer refuses to build on it */
  CHECK_OK(hc_bee_open(&bee, mc.core, NULL));
  CHECK_RC(hc_bee_put(bee, (const uint8_t *)"z", 1, (const uint8_t *)"1", 1, NULL), HC_ERR_BEE_CORRUPT);
  CHECK_RC(hc_bee_del(bee, (const uint8_t *)"z", 1, NULL), HC_ERR_BEE_CORRUPT);
  hc_bee_close(bee);
  mem_close(&mc);

  /* shared subtrees (a DAG that would list exponentially many entries) */
  mem_open(&mc, 8);
  append_header(mc.core);
  hc_bee_level dag[32];
  uint64_t dk[32][1], dc[32][4];
  for (int i = 0; i < 32; i++) {
    dk[i][0] = 1;
    dc[i][0] = 1, dc[i][1] = (uint64_t)(i + 1), dc[i][2] = 1, dc[i][3] = (uint64_t)(i + 1);
    dag[i] = (hc_bee_level){dk[i], 1, dc[i], i < 31 ? 2 : 0};
  }
  append_node(mc.core, dag, 32, "m", "1");
  expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "dag");
  mem_close(&mc);

  /* unsorted keys in a node */
  mem_open(&mc, 9);
  append_header(mc.core);
  append_node(mc.core, NULL, 0, "b", "1");
  uint64_t uk[] = {1, 2}; /* "b", "a" */
  hc_bee_level lu = {uk, 2, NULL, 0};
  append_node(mc.core, &lu, 1, "a", "2");
  expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "unsorted");
  mem_close(&mc);

  /* absurd level count: 100k empty levels; children count != keys + 1 */
  mem_open(&mc, 10);
  append_header(mc.core);
  size_t nl = 100000;
  uint8_t *idx = calloc(1, 2 * nl);
  for (size_t i = 0; i < nl; i++) idx[2 * i] = 0x0a;
  uint8_t *node = malloc(2 * nl + 16);
  size_t n = hc_bee_node_encode(node, idx, 2 * nl, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1, true);
  append_raw(mc.core, node, n);
  free(idx);
  free(node);
  CHECK_OK(hc_bee_open(&bee, mc.core, NULL));
  hc_bee_entry *e;
  CHECK_OK(hc_bee_get(bee, (const uint8_t *)"k", 1, &e)); /* the block's own key (shortcut) */
  hc_bee_entry_free(e);
  CHECK_RC(hc_bee_get(bee, (const uint8_t *)"x", 1, &e), HC_ERR_NOT_FOUND);
  hc_bee_close(bee);
  uint64_t mk[] = {2}, mc4[] = {2, 0};
  hc_bee_level lm = {mk, 1, mc4, 1};
  append_node(mc.core, &lm, 1, "z", "1");
  expect_reads_fail(mc.core, HC_ERR_BEE_CORRUPT, "children count");
  mem_close(&mc);
}

/* ---------------------------------------------------------------- drive ---- */

typedef struct sink {
  uint8_t *buf;
  size_t len;
} sink;

static int sink_cb(void *user, const uint8_t *d, size_t n) {
  sink *s = user;
  s->buf = realloc(s->buf, s->len + n + 1);
  memcpy(s->buf + s->len, d, n);
  s->len += n;
  return 0;
}

/* Block-map blobs (hyperblobs dedup, hyperdrive 13 createWriteStream({dedup})): the blob's
 * block is a map {version 0, [{index, byteLength}]} naming data blocks, here reused. */
static void put_raw_entry(hc_drive *d, const char *path, const char *json) {
  hc_bee *files;
  CHECK_OK(hc_bee_sub(hc_drive_bee(d), (const uint8_t *)"files", 5, NULL, 0, &files));
  CHECK_OK(hc_bee_put(files, (const uint8_t *)path, strlen(path), (const uint8_t *)json,
                      strlen(json), NULL));
  hc_bee_close(files);
}

static int map_read(hc_drive *d, const char *path, uint64_t start, uint64_t len, sink *s) {
  hc_drive_entry *e;
  CHECK_OK(hc_drive_entry_get(d, path, &e));
  CHECK(e->block_map);
  s->len = 0;
  int rc = hc_drive_read(d, e, start, len, sink_cb, s);
  hc_drive_entry_free(e);
  return rc;
}

static void test_block_map(void) {
  mem_core db, blobs;
  mem_open(&db, 21);
  mem_open(&blobs, 22);
  hc_drive *d;
  CHECK_OK(hc_drive_open(&d, db.core, blobs.core, NULL));
  /* blocks: 0 "abc", 1 "defg", 2 the map [1, 0, 1], 3 a map lying about a length, 4 a map
   * naming a block past the end, 5 version 1, 6 a truncated map */
  const uint8_t map[] = {0, 3, 1, 4, 0, 3, 1, 4};
  const uint8_t lie[] = {0, 1, 0, 5};
  const uint8_t far[] = {0, 1, 99, 3};
  const uint8_t v1[] = {1, 1, 0, 3};
  const uint8_t cut[] = {0, 2, 0, 3, 1};
  hc_buf b[] = {{(uint8_t *)"abc", 3}, {(uint8_t *)"defg", 4}, {map, sizeof map},
                {lie, sizeof lie},     {far, sizeof far},      {v1, sizeof v1},
                {cut, sizeof cut}};
  CHECK_OK(hc_core_append(blobs.core, b, 7, NULL, NULL));
  char json[256];
  const char *names[] = {"/map", "/lie", "/far", "/v1", "/cut"};
  for (int i = 0; i < 5; i++) {
    snprintf(json, sizeof json,
             "{\"executable\":false,\"linkname\":null,\"blob\":{\"blockOffset\":%d,"
             "\"byteOffset\":0,\"blockLength\":1,\"byteLength\":%zu,\"blockMap\":true},"
             "\"metadata\":null}", i + 2, b[i + 2].len);
    put_raw_entry(d, names[i], json);
  }
  sink s = {0};
  CHECK_OK(map_read(d, "/map", 0, UINT64_MAX, &s));
  CHECK(s.len == 11 && memcmp(s.buf, "defgabcdefg", 11) == 0);
  CHECK_OK(map_read(d, "/map", 5, 4, &s));
  CHECK(s.len == 4 && memcmp(s.buf, "bcde", 4) == 0);
  CHECK_OK(map_read(d, "/map", 10, 100, &s));
  CHECK(s.len == 1 && s.buf[0] == 'g');
  CHECK_OK(map_read(d, "/map", 11, 5, &s));
  CHECK(s.len == 0);
  for (int i = 1; i < 5; i++) CHECK_RC(map_read(d, names[i], 0, UINT64_MAX, &s), HC_ERR_CORRUPT);
  /* more than 64 map blocks: refused as hyperblobs does */
  put_raw_entry(d, "/huge", "{\"blob\":{\"blockOffset\":0,\"byteOffset\":0,\"blockLength\":65,"
                            "\"byteLength\":1,\"blockMap\":true}}");
  CHECK_RC(map_read(d, "/huge", 0, UINT64_MAX, &s), HC_ERR_CORRUPT);
  free(s.buf);
  hc_drive_close(d);
  mem_close(&blobs);
  mem_close(&db);
}

static void test_drive(void) {
  mem_core db, blobs;
  mem_open(&db, 11);
  mem_open(&blobs, 12);
  hc_drive *d;
  CHECK_OK(hc_drive_open(&d, db.core, blobs.core, NULL));
  size_t big = 200000;
  uint8_t *data = malloc(big);
  for (size_t i = 0; i < big; i++) data[i] = (uint8_t)(i * 7 + (i >> 9));
  CHECK_OK(hc_drive_put(d, "/a/big.bin", data, big, true, "{\"x\":[1,2]}"));
  CHECK_OK(hc_drive_put(d, "b.txt", (const uint8_t *)"bee", 3, false, NULL));
  CHECK_OK(hc_drive_put(d, "/a/sub/../empty", NULL, 0, false, NULL));
  CHECK_OK(hc_drive_symlink(d, "/link", "/b.txt"));
  CHECK_RC(hc_drive_put(d, "/", NULL, 0, false, NULL), HC_ERR_INVALID_ARG);
  CHECK_RC(hc_drive_put(d, "/x", NULL, 0, false, "{bad"), HC_ERR_INVALID_ARG);
  uint8_t ck[32];
  CHECK_OK(hc_drive_content_key(db.core, NULL, ck));
  CHECK_MEM(ck, hc_core_key(blobs.core), 32);
  hc_drive_entry *e;
  CHECK_OK(hc_drive_entry_get(d, "/a/big.bin", &e));
  CHECK(e->has_blob && e->executable && e->byte_length == big && e->block_length == 4);
  CHECK(strcmp(e->metadata, "{\"x\":[1,2]}") == 0);
  uint64_t ranges[][2] = {{0, UINT64_MAX}, {1, 10}, {65535, 2}, {65536, 65536}, {199990, 100}, {big, 5}};
  for (int i = 0; i < 6; i++) {
    sink s = {0};
    CHECK_OK(hc_drive_read(d, e, ranges[i][0], ranges[i][1], sink_cb, &s));
    uint64_t st = ranges[i][0] < big ? ranges[i][0] : big;
    uint64_t len = ranges[i][1] < big - st ? ranges[i][1] : big - st;
    CHECK_EQ(s.len, len);
    if (len) CHECK(memcmp(s.buf, data + st, len) == 0);
    free(s.buf);
  }
  hc_drive_entry_free(e);
  CHECK_OK(hc_drive_entry_get(d, "/link", &e));
  CHECK(e->linkname && strcmp(e->linkname, "/b.txt") == 0 && !e->has_blob);
  hc_drive_entry_free(e);
  /* lists */
  hc_drive_iter *it;
  CHECK_OK(hc_drive_list(d, "/", true, &it));
  const char *all[] = {"/a/big.bin", "/a/empty", "/b.txt", "/link"};
  for (int i = 0; i < 4; i++) {
    CHECK_OK(hc_drive_list_next(it, &e, NULL, NULL));
    CHECK(strcmp(e->path, all[i]) == 0);
    hc_drive_entry_free(e);
  }
  CHECK_RC(hc_drive_list_next(it, &e, NULL, NULL), HC_ERR_NOT_FOUND);
  hc_drive_list_free(it);
  CHECK_OK(hc_drive_list(d, "/", false, &it));
  const char *names[] = {"a", "b.txt", "link"};
  for (int i = 0; i < 3; i++) {
    const char *name;
    bool dir;
    CHECK_OK(hc_drive_list_next(it, &e, &name, &dir));
    CHECK(strcmp(name, names[i]) == 0 && dir == (i == 0));
    hc_drive_entry_free(e);
  }
  CHECK_RC(hc_drive_list_next(it, &e, NULL, NULL), HC_ERR_NOT_FOUND);
  hc_drive_list_free(it);
  CHECK_OK(hc_drive_del(d, "/b.txt"));
  CHECK_RC(hc_drive_entry_get(d, "/b.txt", &e), HC_ERR_NOT_FOUND);
  /* an entry pointing at blobs that do not exist, and values that are not entries */
  hc_bee *files;
  CHECK_OK(hc_bee_sub(hc_drive_bee(d), (const uint8_t *)"files", 5, NULL, 0, &files));
  const char *bad = "{\"executable\":false,\"linkname\":null,\"blob\":{\"blockOffset\":1000,"
                    "\"byteOffset\":0,\"blockLength\":5,\"byteLength\":10},\"metadata\":null}";
  CHECK_OK(hc_bee_put(files, (const uint8_t *)"/ghost", 6, (const uint8_t *)bad, strlen(bad), NULL));
  CHECK_OK(hc_drive_entry_get(d, "/ghost", &e));
  sink s = {0};
  CHECK_RC(hc_drive_read(d, e, 0, UINT64_MAX, sink_cb, &s), HC_ERR_CORRUPT);
  hc_drive_entry_free(e);
  const char *lie = "{\"blob\":{\"blockOffset\":0,\"byteOffset\":0,\"blockLength\":1,\"byteLength\":999999}}";
  CHECK_OK(hc_bee_put(files, (const uint8_t *)"/liar", 5, (const uint8_t *)lie, strlen(lie), NULL));
  CHECK_OK(hc_drive_entry_get(d, "/liar", &e));
  CHECK_RC(hc_drive_read(d, e, 0, UINT64_MAX, sink_cb, &s), HC_ERR_CORRUPT);
  hc_drive_entry_free(e);
  free(s.buf);
  const char *junk[] = {"not json", "{\"blob\":{\"blockOffset\":-1}}", "[1,2]", "{\"a\":"};
  for (int i = 0; i < 4; i++) {
    CHECK_OK(hc_bee_put(files, (const uint8_t *)"/junk", 5, (const uint8_t *)junk[i], strlen(junk[i]), NULL));
    CHECK_RC(hc_drive_entry_get(d, "/junk", &e), HC_ERR_BEE_CORRUPT);
  }
  hc_bee_close(files);
  /* a drive whose header names another blobs core */
  hc_drive_close(d);
  mem_core other;
  mem_open(&other, 13);
  CHECK_RC(hc_drive_open(&d, db.core, other.core, NULL), HC_ERR_KEY_MISMATCH);
  mem_close(&other);
  free(data);
  mem_close(&blobs);
  mem_close(&db);
  /* paths */
  const char *in[] = {"a", "/a/", "//a//b/", "a/./b/../c", "\\x\\y", ""};
  const char *out[] = {"/a", "/a", "/a/b", "/a/c", "/x/y", "/"};
  for (int i = 0; i < 6; i++) {
    char *p = hc_drive_normalize(in[i]);
    CHECK(p && strcmp(p, out[i]) == 0);
    hc_free(p);
  }
  CHECK(hc_drive_normalize("/..") == NULL);
}

/* A non-compat db core names no blobs key in its header: it comes from the manifest. Vector:
 * hypercore 10.38.2 core with keyPair(seed 05..05), compat false, and hyperdrive 11.13.4's
 * Hyperdrive.getContentKey(manifest, key). */
static void test_content_key_from_manifest(void) {
  hc_storage_factory *f;
  CHECK_OK(hc_storage_memory_factory_new(&f));
  uint8_t seed[32];
  memset(seed, 5, sizeof seed);
  hc_core_opts o = {.version = HC_CORE_OPTS_VERSION, .seed = seed, .non_compat = true};
  hc_core *db;
  CHECK_OK(hc_core_open(&db, f, &o));
  CHECK_HEX(hc_core_key(db), "e6a91fc321c8cac57e2d7e6d0463efdbdd7d8bdab232135e0d173601939b2b66");
  uint8_t key[32];
  CHECK_RC(hc_drive_content_key(db, NULL, key), HC_ERR_NOT_FOUND); /* empty: no header */
  hc_bee *bee;
  hc_bee_opts bo = {.version = HC_BEE_OPTS_VERSION, .header_metadata = true}; /* contentFeed null */
  CHECK_OK(hc_bee_open(&bee, db, &bo));
  CHECK_OK(hc_bee_put(bee, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1, NULL));
  hc_bee_close(bee);
  CHECK_OK(hc_drive_content_key(db, NULL, key));
  CHECK_HEX(key, "223c359261ea94e701404c4fb2885f4957c34290f923d7ad0b019107c0baa8f8");
  hc_core_close(db);
  hc_storage_factory_free(f);
}

int main(void) {
  test_content_key_from_manifest();
  test_codecs();
  test_sub();
  test_model();
  test_hostile();
  test_drive();
  test_block_map();
  printf("ok\n");
  return 0;
}
