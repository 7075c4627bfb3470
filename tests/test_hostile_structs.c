/* The data structures behind hostile-load hardening: the sparse remote bitfield (checked
 * against a plain bitmap under random operations, and for costs that follow the work asked,
 * not the state held) and the request queue (reference semantics, O(1) cancel). */
#include <time.h>

#include "remote_bitfield.h"
#include "request_queue.h"
#include "test_util.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define U (64 * 1024) /* bits of the model universe (64 pages) */

static void model_check(const hc_rbits *b, const uint8_t *m) {
  for (uint64_t i = 0; i < U; i++) CHECK_EQ(hc_rb_get(b, i), m[i]);
  /* next_set / next_clear at a few points */
  for (int k = 0; k < 64; k++) {
    uint64_t i = rnd() % U, e = i + rnd() % 5000;
    if (e > U) e = U;
    uint64_t want = UINT64_MAX;
    for (uint64_t j = i; j < e; j++)
      if (m[j]) {
        want = j;
        break;
      }
    CHECK_EQ(hc_rb_next_set(b, i, e), want);
    uint64_t wc = i;
    while (wc < U && m[wc]) wc++;
    if (wc < U) CHECK_EQ(hc_rb_next_clear(b, i), wc);
  }
}

static void test_random_model(void) {
  uint8_t *m = calloc(U, 1);
  CHECK(m);
  hc_rbits b;
  hc_rb_init(&b);
  for (int step = 0; step < 3000; step++) {
    int op = (int)(rnd() % 10);
    uint64_t s = rnd() % U, len;
    if (op < 4) len = 1 + rnd() % 8;
    else if (op < 8) len = 1 + rnd() % 5000;
    else len = 1 + rnd() % U;
    if (s + len > U) len = U - s;
    bool v = op == 9 ? false : (rnd() & 1);
    if (op == 7) { /* a bitfield message: words ORed in at a word-aligned start */
      size_t nw = 1 + (size_t)(rnd() % 100);
      uint64_t st = (s / 32) * 32;
      if (st + 32 * nw > U) nw = (U - st) / 32;
      uint8_t *w = malloc(4 * nw + 1);
      CHECK(w);
      for (size_t k = 0; k < 4 * nw; k++) w[k] = (uint8_t)((rnd() % 3) ? rnd() : 0xff);
      CHECK_OK(hc_rb_or_words(&b, st, w, nw));
      for (size_t k = 0; k < 32 * nw; k++)
        if ((w[k / 8] >> (k % 8)) & 1) m[st + k] = 1;
      free(w);
    } else {
      CHECK_OK(hc_rb_set_range(&b, s, len, v));
      memset(m + s, v, len);
    }
    if (step % 100 == 0) model_check(&b, m);
  }
  model_check(&b, m);
  /* clearing everything frees every node */
  CHECK_OK(hc_rb_set_range(&b, 0, UINT64_MAX, false));
  CHECK_EQ(b.nodes, 0);
  CHECK_EQ(hc_rb_memory(&b), 0);
  hc_rb_free(&b);
  free(m);
}

/* The attacks of issue 12 on the old bitfield: costs must follow the pages touched. */
static void test_costs(void) {
  hc_rbits b;
  hc_rb_init(&b);
  /* a range fill of 2^50 blocks is one node */
  CHECK_OK(hc_rb_set_range(&b, 1, 1ULL << 50, true));
  CHECK(hc_rb_memory(&b) < 1024);
  CHECK(hc_rb_get(&b, 1ULL << 49));
  CHECK(!hc_rb_get(&b, 0));
  CHECK_EQ(hc_rb_next_clear(&b, 1), 1 + (1ULL << 50));
  /* 100k drops of 2^63 blocks after fills: each O(log n) */
  double t0 = now_s();
  for (int k = 0; k < 100000; k++) {
    CHECK_OK(hc_rb_set_range(&b, (uint64_t)k * 4096 + 7, 1000, true));
    CHECK_OK(hc_rb_set_range(&b, 1, 1ULL << 62, false));
  }
  double dt = now_s() - t0;
  printf("100k fill+drop pairs: %.3f s\n", dt);
  CHECK(dt < 2.0);
  CHECK_EQ(b.nodes, 0);
  /* a sparse peer: one bit in each of 8192 distinct 4 KiB pages costs ~200 B each (was 4 KiB) */
  for (uint64_t k = 0; k < 8192; k++) CHECK_OK(hc_rb_set_range(&b, k * 32768 + 5, 1, true));
  printf("8192 sparse bits: %zu bytes\n", hc_rb_memory(&b));
  CHECK(hc_rb_memory(&b) < 8192 * 256);
  /* ranges of whole 32768-bit pages (the old 8192-page cap attack): ~nothing */
  hc_rb_free(&b);
  for (uint64_t k = 0; k < 8192; k++) CHECK_OK(hc_rb_set_range(&b, (2 * k + 1) * 32768, 32768, true));
  printf("8192 page-sized ranges: %zu bytes\n", hc_rb_memory(&b));
  CHECK(hc_rb_memory(&b) < 8192 * 128);
  /* bitfield words running past 2^64 - 1: the bits before it are set, nothing wraps */
  hc_rb_free(&b);
  uint8_t ones[8];
  memset(ones, 0xff, sizeof ones);
  CHECK_OK(hc_rb_or_words(&b, UINT64_MAX - 40, ones, 2));
  CHECK(hc_rb_get(&b, UINT64_MAX - 40));
  CHECK(hc_rb_get(&b, UINT64_MAX - 1));
  CHECK(!hc_rb_get(&b, 0));
  CHECK(!hc_rb_get(&b, 23));
  /* adjacent runs merge into one node */
  hc_rb_free(&b);
  for (uint64_t k = 0; k < 1000; k++) CHECK_OK(hc_rb_set_range(&b, k * 1000, 1000, true));
  CHECK_EQ(b.nodes, 2); /* the run of full pages, then the bits of the last page */
  CHECK_EQ(hc_rb_next_clear(&b, 0), 1000000);
  hc_rb_free(&b);
}

static hc_msg_request req(uint64_t id) {
  hc_msg_request m;
  memset(&m, 0, sizeof m);
  m.id = id;
  m.r.has_block = true;
  m.r.block_index = id * 10;
  return m;
}

static void test_queue(void) {
  hc_rqueue q;
  memset(&q, 0, sizeof q);
  hc_msg_request m;
  for (uint64_t i = 1; i <= 10; i++) {
    m = req(i);
    CHECK_OK(hc_rq_push(&q, HC_RQ_REQUEST, &m));
  }
  hc_msg_want w = {5, 7, false};
  CHECK_OK(hc_rq_push(&q, HC_RQ_WANT, &w));
  hc_rq_cancel(&q, 3);
  hc_rq_cancel(&q, 3);   /* twice: nothing more */
  hc_rq_cancel(&q, 999); /* unknown */
  m = req(5);
  m.r.block_index = 555; /* same id: replaces the queued one (reference semantics) */
  CHECK_OK(hc_rq_push(&q, HC_RQ_REQUEST, &m));
  CHECK_EQ(hc_rq_live(&q), 10);
  uint64_t order[] = {1, 2, 4, 6, 7, 8, 9, 10};
  hc_rq_entry e;
  for (size_t k = 0; k < 8; k++) {
    CHECK(hc_rq_pop(&q, &e));
    CHECK_EQ(e.kind, HC_RQ_REQUEST);
    CHECK_EQ(e.u.req.id, order[k]);
  }
  CHECK(hc_rq_pop(&q, &e));
  CHECK_EQ(e.kind, HC_RQ_WANT);
  CHECK_EQ(e.u.want.length, 7);
  CHECK(hc_rq_pop(&q, &e));
  CHECK_EQ(e.u.req.id, 5);
  CHECK_EQ(e.u.req.r.block_index, 555);
  CHECK(!hc_rq_pop(&q, &e));
  CHECK_EQ(hc_rq_live(&q), 0);

  /* the cancel flood of issue 12: 60k queued, 200k cancels; then request/cancel churn must
   * not grow the ring */
  double t0 = now_s();
  for (uint64_t i = 1; i <= 60000; i++) {
    m = req(i);
    CHECK_OK(hc_rq_push(&q, HC_RQ_REQUEST, &m));
  }
  for (uint64_t i = 0; i < 200000; i++) hc_rq_cancel(&q, 60000 - (i % 70000));
  double dt = now_s() - t0;
  printf("60k requests + 200k cancels: %.3f s\n", dt);
  CHECK(dt < 1.0);
  CHECK_EQ(hc_rq_live(&q), 0);
  CHECK(!hc_rq_pop(&q, &e));
  for (uint64_t i = 0; i < 1000000; i++) {
    m = req(i);
    CHECK_OK(hc_rq_push(&q, HC_RQ_REQUEST, &m));
    hc_rq_cancel(&q, i);
  }
  CHECK(q.cap <= 200000);
  CHECK(hc_rq_memory(&q) < 64u << 20);
  hc_rq_clear(&q);
}

int main(void) {
  test_random_model();
  test_costs();
  test_queue();
  printf("ok\n");
  return 0;
}
