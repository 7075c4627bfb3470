/* Failed, torn and lost writes (include/hypercore/fault.h over the memory backend).
 *
 * A fixed workload (create, single and batch appends, user data, truncate, clear, flush, more
 * appends) is run once to count the storage mutations, then once per mutation k with a fault
 * at k, for each fault kind:
 *   - transient I/O error at k (the workload goes on after it),
 *   - persistent ENOSPC from k on,
 *   - torn op at k, then the "process dies" (nothing works any more),
 *   - power loss at k with durable cores: unsynced writes rolled back / partly kept.
 * Every call must return success or an error (no crash, no leak under ASan), the core must
 * close cleanly, and the storage reopened without the wrapper must open, verify, hold exactly
 * the state the acknowledged calls produced (or, for the interrupted call, the state just
 * before or just after it), and accept more appends. */
#include "hypercore/fault.h"
#include "test_util.h"

static const uint8_t SEED[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

#define MAXB 64

/* The expected state of the core. A block is identified by the op that appended it. */
typedef struct model {
  uint64_t len, fork;
  int op[MAXB], j[MAXB];
  bool avail[MAXB];
  const char *ud; /* value of user data key "k", NULL if unset */
} model;

static size_t block_bytes(int op, int j, uint8_t *buf) {
  if (op == 4) { /* one big block: spans several 512-byte sectors */
    for (int i = 0; i < 5000; i++) buf[i] = (uint8_t)(i * 31 + op + j);
    return 5000;
  }
  return (size_t)snprintf((char *)buf, 64, "op%d-block%d", op, j);
}

enum { OP_APPEND, OP_UD, OP_TRUNCATE, OP_CLEAR, OP_FLUSH };
typedef struct step {
  int kind;
  int n;           /* blocks to append / truncate length / clear start */
  int end;         /* clear end */
  const char *val; /* user data value (NULL: delete) */
} step;

static const step WORKLOAD[] = {
    {OP_APPEND, 1, 0, NULL},   {OP_APPEND, 3, 0, NULL},   {OP_UD, 0, 0, "v1"},
    {OP_APPEND, 1, 0, NULL},   {OP_APPEND, 1, 0, NULL},   {OP_APPEND, 2, 0, NULL},
    {OP_TRUNCATE, 4, 0, NULL}, {OP_APPEND, 1, 0, NULL},   {OP_CLEAR, 1, 3, NULL},
    {OP_UD, 0, 0, "v2"},       {OP_APPEND, 3, 0, NULL},   {OP_FLUSH, 0, 0, NULL},
    {OP_APPEND, 1, 0, NULL},   {OP_UD, 0, 0, NULL},       {OP_APPEND, 2, 0, NULL},
    {OP_TRUNCATE, 9, 0, NULL}, {OP_APPEND, 1, 0, NULL},   {OP_CLEAR, 0, 1, NULL},
    {OP_APPEND, 1, 0, NULL},
};
#define NSTEPS (sizeof WORKLOAD / sizeof *WORKLOAD)

static void model_apply(model *m, int op, const step *s) {
  switch (s->kind) {
    case OP_APPEND:
      for (int j = 0; j < s->n; j++) {
        CHECK(m->len < MAXB);
        m->op[m->len] = op;
        m->j[m->len] = j;
        m->avail[m->len] = true;
        m->len++;
      }
      break;
    case OP_UD: m->ud = s->val; break;
    case OP_TRUNCATE:
      if ((uint64_t)s->n < m->len) m->len = (uint64_t)s->n;
      m->fork++;
      break;
    case OP_CLEAR:
      for (int i = s->n; i < s->end && (uint64_t)i < m->len; i++) m->avail[i] = false;
      break;
    default: break;
  }
}

static bool model_eq(const model *a, const model *b) {
  if (a->len != b->len || a->fork != b->fork) return false;
  if ((a->ud == NULL) != (b->ud == NULL) || (a->ud && strcmp(a->ud, b->ud) != 0)) return false;
  for (uint64_t i = 0; i < a->len; i++)
    if (a->op[i] != b->op[i] || a->j[i] != b->j[i] || a->avail[i] != b->avail[i]) return false;
  return true;
}

/* Does the open core hold exactly the state of m? (quiet: returns false on the first
 * difference, so callers can try several candidate states) */
static bool core_matches(hc_core *c, const model *m) {
  if (hc_core_length(c) != m->len || hc_core_fork(c) != m->fork) return false;
  const uint8_t *v;
  size_t vl;
  int rc = hc_core_get_user_data(c, "k", &v, &vl);
  if (m->ud) {
    if (rc != HC_OK || vl != strlen(m->ud) || memcmp(v, m->ud, vl) != 0) return false;
  } else if (rc != HC_ERR_NOT_FOUND) {
    return false;
  }
  for (uint64_t i = 0; i < m->len; i++) {
    uint8_t want[5000], got[5000];
    size_t wl = block_bytes(m->op[i], m->j[i], want), gl;
    rc = hc_core_get(c, i, got, sizeof got, &gl);
    if (m->avail[i]) {
      if (rc != HC_OK || gl != wl || memcmp(got, want, wl) != 0) return false;
    } else if (rc != HC_ERR_NOT_AVAILABLE) {
      return false;
    }
  }
  return true;
}

/* Runs one step; returns its hc_err. */
static int run_step(hc_core *c, int op, const step *s) {
  switch (s->kind) {
    case OP_APPEND: {
      uint8_t bufs[3][5000];
      hc_buf b[3];
      for (int j = 0; j < s->n; j++) {
        b[j].len = block_bytes(op, j, bufs[j]);
        b[j].data = bufs[j];
      }
      uint64_t len = 0;
      int rc = hc_core_append(c, b, (size_t)s->n, &len, NULL);
      if (rc == HC_OK) CHECK_EQ(len, hc_core_length(c));
      return rc;
    }
    case OP_UD:
      return hc_core_set_user_data(c, "k", (const uint8_t *)s->val, s->val ? strlen(s->val) : 0);
    case OP_TRUNCATE: { /* to n, or to the current length if shorter (after a failed append) */
      uint64_t to = (uint64_t)s->n < hc_core_length(c) ? (uint64_t)s->n : hc_core_length(c);
      return hc_core_truncate(c, to);
    }
    case OP_CLEAR: return hc_core_clear(c, (uint64_t)s->n, (uint64_t)s->end, NULL);
    case OP_FLUSH: return hc_core_flush(c);
  }
  return HC_ERR_INVALID_ARG;
}

static bool is_storage_error(int rc) {
  return rc == HC_ERR_IO || rc == HC_ERR_NOSPC || rc == HC_ERR_SHORT_READ ||
         rc == HC_ERR_CORRUPT;
}

typedef enum { K_ONCE, K_NOSPC, K_TORN, K_POWER } kind;
static const char *KIND_NAME[] = {"io-once", "nospc-persist", "torn", "power-loss"};

static hc_core_opts opts(bool durable) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = SEED;
  o.durable = durable;
  return o;
}

typedef struct stats {
  uint64_t runs, faults_fired, ambiguous_after, kept, dropped;
} stats;

/* One run of the workload with plan kind `k` at op `at` (at == 0: no fault). Returns the
 * number of counted storage ops. */
static uint64_t run(kind k, uint64_t at, uint64_t seed, stats *st) {
  hc_storage_factory *mem, *ff;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  CHECK_OK(hc_storage_fault_factory_new(&ff, mem));
  hc_fault_plan p;
  memset(&p, 0, sizeof p);
  p.version = HC_FAULT_PLAN_VERSION;
  p.at = at;
  switch (k) {
    case K_ONCE: p.mode = HC_FAULT_FAIL_ONCE; p.error = HC_ERR_IO; break;
    case K_NOSPC: p.mode = HC_FAULT_FAIL_PERSIST; p.error = HC_ERR_NOSPC; break;
    case K_TORN: p.mode = HC_FAULT_TORN; break;
    case K_POWER: p.mode = HC_FAULT_TORN; p.track_unsynced = true; break;
  }
  if (at == 0) p.mode = HC_FAULT_NONE;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  bool durable = k == K_POWER;
  if (getenv("HC_FAULT_TRACE")) fprintf(stderr, "run %s at=%" PRIu64 "\n", KIND_NAME[k], at);
  bool stop_at_error = k == K_TORN || k == K_POWER; /* the process died */

  model m, before;
  memset(&m, 0, sizeof m);
  before = m;
  bool ambiguous = false; /* the reopened core may be `before` or `m` */
  hc_core *c = NULL;
  hc_core_opts o = opts(durable);
  int rc = hc_core_open(&c, ff, &o);
  if (rc != HC_OK) {
    CHECK(at != 0 && is_storage_error(rc));
    CHECK(c == NULL);
  } else {
    for (size_t i = 0; i < NSTEPS; i++) {
      const step *s = &WORKLOAD[i];
      model prev = m;
      uint64_t c0 = hc_storage_fault_count(ff);
      rc = run_step(c, (int)i, s);
      if (getenv("HC_FAULT_TRACE"))
        fprintf(stderr, "  step %zu kind %d ops %" PRIu64 "..%" PRIu64 " -> %s, length %" PRIu64 "\n",
                i, s->kind, c0 + 1, hc_storage_fault_count(ff), hc_err_name(rc), hc_core_length(c));
      if (rc == HC_OK) {
        model_apply(&m, (int)i, s);
        continue;
      }
      if (at == 0 || !is_storage_error(rc)) {
        fprintf(stderr, "%s at=%" PRIu64 ": step %zu failed with %s\n", KIND_NAME[k], at, i,
                hc_err_name(rc));
        exit(1);
      }
      /* Did the failed call take effect in memory? (an error after the oplog entry) */
      model after = m;
      model_apply(&after, (int)i, s);
      if (stop_at_error) {
        before = prev;
        m = after;
        ambiguous = !model_eq(&before, &m);
        break;
      }
      if (core_matches(c, &after)) m = after;
      else CHECK(core_matches(c, &prev));
    }
  }
  uint64_t count = hc_storage_fault_count(ff);
  if (at) {
    st->runs++;
    if (hc_storage_fault_fired(ff)) st->faults_fired++;
  }
  if (k == K_POWER && at) {
    uint64_t kept, dropped;
    CHECK_OK(hc_storage_fault_crash(ff, seed, &kept, &dropped));
    st->kept += kept;
    st->dropped += dropped;
  }
  hc_core_close(c); /* must be clean whatever happened */
  hc_storage_factory_free(ff);

  /* reopen from the plain memory storage */
  hc_core_opts o2 = opts(false);
  CHECK_OK(hc_core_open(&c, mem, &o2));
  bool ok = core_matches(c, &m);
  if (!ok && ambiguous) {
    ok = core_matches(c, &before);
  } else if (ok && ambiguous) {
    st->ambiguous_after++;
  }
  if (!ok) {
    fprintf(stderr, "%s at=%" PRIu64 " seed=%" PRIu64 ": reopened core (length %" PRIu64
                    ", fork %" PRIu64 ") does not hold the acknowledged state (length %" PRIu64
                    ", fork %" PRIu64 ")\n",
            KIND_NAME[k], at, seed, hc_core_length(c), hc_core_fork(c), m.len, m.fork);
    exit(1);
  }
  uint64_t bad;
  rc = hc_core_verify(c, &bad);
  if (rc != HC_OK) {
    fprintf(stderr, "%s at=%" PRIu64 ": verify after reopen: %s (block %" PRIu64 ")\n",
            KIND_NAME[k], at, hc_err_name(rc), bad);
    exit(1);
  }
  /* appending continues */
  uint64_t l0 = hc_core_length(c), len;
  hc_buf b = {(const uint8_t *)"more", 4};
  CHECK_OK(hc_core_append(c, &b, 1, &len, NULL));
  CHECK_EQ(len, l0 + 1);
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);
  CHECK_OK(hc_core_open(&c, mem, &o2));
  CHECK_EQ(hc_core_length(c), l0 + 1);
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);
  hc_storage_factory_free(mem);
  return count;
}

/* ENOSPC: appends fail with HC_ERR_NOSPC while the disk is full; once space is back the
 * core reopens and appends work. */
static void test_enospc(void) {
  hc_storage_factory *mem, *ff;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  CHECK_OK(hc_storage_fault_factory_new(&ff, mem));
  hc_core *c;
  hc_core_opts o = opts(false);
  CHECK_OK(hc_core_open(&c, ff, &o));
  hc_buf b = {(const uint8_t *)"a", 1};
  for (int i = 0; i < 10; i++) CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
  hc_fault_plan p;
  memset(&p, 0, sizeof p);
  p.version = HC_FAULT_PLAN_VERSION;
  p.mode = HC_FAULT_FAIL_PERSIST;
  p.at = 1;
  p.error = HC_ERR_NOSPC;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  CHECK_RC(hc_core_append(c, &b, 1, NULL, NULL), HC_ERR_NOSPC);
  CHECK_EQ(hc_core_length(c), 10);
  hc_buf two[2] = {{(const uint8_t *)"x", 1}, {(const uint8_t *)"y", 1}};
  CHECK_RC(hc_core_append(c, two, 2, NULL, NULL), HC_ERR_NOSPC);
  CHECK_EQ(hc_core_length(c), 10);
  uint64_t bad;
  CHECK_OK(hc_core_verify(c, &bad)); /* reads still work */
  hc_core_close(c);
  /* space is back */
  p.mode = HC_FAULT_NONE;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  CHECK_OK(hc_core_open(&c, ff, &o));
  CHECK_EQ(hc_core_length(c), 10);
  CHECK_OK(hc_core_append(c, two, 2, NULL, NULL));
  CHECK_EQ(hc_core_length(c), 12);
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);
  /* the same without closing: the core keeps working once space is back, or says it needs a
   * reopen (HC_ERR_IO), never loses an acknowledged block */
  p.mode = HC_FAULT_FAIL_PERSIST;
  p.at = 2; /* data write ok, the oplog entry fails */
  CHECK_OK(hc_storage_fault_set(ff, &p));
  CHECK_OK(hc_core_open(&c, ff, &o));
  CHECK_RC(hc_core_append(c, &b, 1, NULL, NULL), HC_ERR_NOSPC);
  p.mode = HC_FAULT_NONE;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  int rc = hc_core_append(c, &b, 1, NULL, NULL);
  CHECK(rc == HC_OK || rc == HC_ERR_IO);
  uint64_t want = rc == HC_OK ? 13 : 12;
  CHECK_EQ(hc_core_length(c), want);
  hc_core_close(c);
  CHECK_OK(hc_core_open(&c, mem, &o));
  CHECK_EQ(hc_core_length(c), want);
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);
  hc_storage_factory_free(ff);
  hc_storage_factory_free(mem);
}

/* The wrapper itself: counting, masks, fail once vs persist, torn prefix, crash replay. */
static void test_wrapper(void) {
  hc_storage_factory *mem, *ff;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  CHECK_OK(hc_storage_fault_factory_new(&ff, mem));
  hc_fault_plan p;
  memset(&p, 0, sizeof p);
  p.version = HC_FAULT_PLAN_VERSION;
  CHECK_RC(hc_storage_fault_set(mem, &p), HC_ERR_INVALID_ARG); /* not a fault factory */
  p.mode = HC_FAULT_FAIL_ONCE;
  p.at = 2;
  p.ops = HC_FAULT_OP_WRITE;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  hc_storage *s;
  CHECK_OK(ff->open(ff, "f", HC_STORAGE_CREATE, &s));
  CHECK_OK(hc_storage_write(s, 0, "hello", 5));
  CHECK_OK(hc_storage_sync(s)); /* not counted */
  CHECK_RC(hc_storage_write(s, 5, "world", 5), HC_ERR_IO);
  CHECK(hc_storage_fault_fired(ff));
  CHECK_OK(hc_storage_write(s, 5, "WORLD", 5));
  CHECK_EQ(hc_storage_fault_count(ff), 3);
  uint8_t buf[16];
  CHECK_OK(hc_storage_read(s, 0, buf, 10));
  CHECK(memcmp(buf, "helloWORLD", 10) == 0);
  /* torn: prefix kept, then everything fails */
  p.mode = HC_FAULT_TORN;
  p.at = 1;
  p.torn_bytes = 3;
  p.ops = 0;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  CHECK_RC(hc_storage_write(s, 0, "abcdef", 6), HC_ERR_IO);
  CHECK(hc_storage_fault_crashed(ff));
  CHECK_RC(hc_storage_read(s, 0, buf, 1), HC_ERR_IO);
  CHECK_RC(hc_storage_truncate(s, 0), HC_ERR_IO);
  hc_storage_close(s);
  CHECK_OK(mem->open(mem, "f", 0, &s));
  CHECK_OK(hc_storage_read(s, 0, buf, 10));
  CHECK(memcmp(buf, "abcloWORLD", 10) == 0);
  hc_storage_close(s);
  /* persistent: every later op fails too */
  p.mode = HC_FAULT_FAIL_PERSIST;
  p.at = 2;
  p.error = HC_ERR_NOSPC;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  CHECK(!hc_storage_fault_crashed(ff));
  CHECK_OK(ff->open(ff, "f", 0, &s));
  CHECK_OK(hc_storage_truncate(s, 10));
  CHECK_RC(hc_storage_del(s, 0, 1), HC_ERR_NOSPC);
  CHECK_RC(hc_storage_sync(s), HC_ERR_NOSPC);
  hc_storage_close(s);
  /* quota: growing a file past max_file_size is ENOSPC, changes nothing, is not a fault */
  memset(&p, 0, sizeof p);
  p.version = HC_FAULT_PLAN_VERSION;
  p.max_file_size = 16;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  CHECK_OK(ff->open(ff, "f", 0, &s));
  CHECK_OK(hc_storage_write(s, 10, "123456", 6));
  CHECK_RC(hc_storage_write(s, 10, "1234567", 7), HC_ERR_NOSPC);
  CHECK_RC(hc_storage_write(s, UINT64_MAX - 2, "abc", 3), HC_ERR_NOSPC);
  CHECK_RC(hc_storage_truncate(s, 17), HC_ERR_NOSPC);
  CHECK_OK(hc_storage_truncate(s, 12));
  CHECK(!hc_storage_fault_fired(ff));
  uint64_t qsize;
  CHECK_OK(hc_storage_stat(s, &qsize, NULL));
  CHECK_EQ(qsize, 12);
  hc_storage_close(s);
  /* power loss: synced writes stay, unsynced ones are rolled back or kept */
  int seen_lost = 0, seen_kept = 0;
  for (uint64_t seed = 1; seed <= 16; seed++) {
    memset(&p, 0, sizeof p);
    p.version = HC_FAULT_PLAN_VERSION;
    p.track_unsynced = true;
    CHECK_OK(hc_storage_fault_set(ff, &p));
    CHECK_OK(ff->open(ff, "g", HC_STORAGE_CREATE, &s));
    CHECK_OK(hc_storage_truncate(s, 0));
    CHECK_OK(hc_storage_write(s, 0, "durable!", 8));
    CHECK_OK(hc_storage_sync(s));
    CHECK_OK(hc_storage_write(s, 8, "volatile", 8));
    CHECK_OK(hc_storage_write(s, 0, "DURABLE!", 8));
    uint64_t kept, dropped;
    CHECK_OK(hc_storage_fault_crash(ff, seed, &kept, &dropped));
    CHECK_EQ(kept + dropped, 2);
    hc_storage_close(s);
    CHECK_OK(mem->open(mem, "g", 0, &s));
    uint64_t size;
    CHECK_OK(hc_storage_stat(s, &size, NULL));
    CHECK(size == 8 || size == 16);
    CHECK_RC(hc_storage_read(s, 0, buf, 16), size == 16 ? HC_OK : HC_ERR_SHORT_READ);
    CHECK(memcmp(buf, "durable!", 8) == 0 || memcmp(buf, "DURABLE!", 8) == 0);
    if (size == 16) CHECK(memcmp(buf + 8, "volatile", 8) == 0);
    if (dropped) seen_lost++;
    if (kept) seen_kept++;
    hc_storage_close(s);
  }
  CHECK(seen_lost > 0 && seen_kept > 0);
  hc_storage_factory_free(ff);
  hc_storage_factory_free(mem);
}

int main(void) {
  test_wrapper();
  test_enospc();
  uint64_t tried = 0;
  for (int k = K_ONCE; k <= K_POWER; k++) {
    stats st;
    memset(&st, 0, sizeof st);
    uint64_t total = run((kind)k, 0, 0, &st);
    CHECK(total > 20);
    int seeds = k == K_POWER ? 4 : 1;
    for (uint64_t at = 1; at <= total; at++)
      for (int s = 0; s < seeds; s++) run((kind)k, at, (uint64_t)s * 1000 + at, &st);
    printf("%-14s %3" PRIu64 " storage ops, %4" PRIu64 " fault runs (%" PRIu64
           " fired, %" PRIu64 " interrupted calls persisted)",
           KIND_NAME[k], total, st.runs, st.faults_fired, st.ambiguous_after);
    if (k == K_POWER)
      printf(", unsynced mutations kept %" PRIu64 " / lost %" PRIu64,
             st.kept, st.dropped);
    printf("\n");
    CHECK_EQ(st.faults_fired, st.runs);
    tried += st.runs;
  }
  printf("test_fault: ok, %" PRIu64 " fault points tried\n", tried);
  return 0;
}
