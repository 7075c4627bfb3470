/* Sparse remote bitfield: a treap of full-page runs and single-page bitmaps (see the header). */
#include "remote_bitfield.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hypercore/common.h"

#define PB ((uint64_t)HC_RB_PAGE_BITS)
#define MAX_PAGE (UINT64_MAX / PB) /* the page holding bit 2^64 - 1 */

struct hc_rb_node {
  uint64_t start, n; /* pages [start, start + n) */
  uint64_t *bits;    /* NULL: every bit of the run is set; else the bitmap of one page */
  uint32_t prio;
  hc_rb_node *l, *r;
};

/* ---- treap primitives (split/merge by first page) ---- */

static uint32_t next_prio(hc_rbits *b) {
  uint64_t x = b->rng; /* xorshift64*: the seed is random, so a peer cannot shape the tree */
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  b->rng = x;
  return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* a: nodes starting before key; c: the others. */
static void split(hc_rb_node *t, uint64_t key, hc_rb_node **a, hc_rb_node **c) {
  if (!t) {
    *a = *c = NULL;
    return;
  }
  if (t->start < key) {
    split(t->r, key, &t->r, c);
    *a = t;
  } else {
    split(t->l, key, a, &t->l);
    *c = t;
  }
}

static hc_rb_node *merge(hc_rb_node *a, hc_rb_node *c) {
  if (!a) return c;
  if (!c) return a;
  if (a->prio > c->prio) {
    a->r = merge(a->r, c);
    return a;
  }
  c->l = merge(a, c->l);
  return c;
}

static hc_rb_node *floor_node(hc_rb_node *t, uint64_t p) {
  hc_rb_node *best = NULL;
  while (t) {
    if (t->start <= p) {
      best = t;
      t = t->r;
    } else {
      t = t->l;
    }
  }
  return best;
}

static hc_rb_node *ceil_node(hc_rb_node *t, uint64_t p) {
  hc_rb_node *best = NULL;
  while (t) {
    if (t->start >= p) {
      best = t;
      t = t->l;
    } else {
      t = t->r;
    }
  }
  return best;
}

static void free_tree(hc_rbits *b, hc_rb_node *t) {
  while (t) { /* iterative on the right spine, recursive on the left (expected depth log n) */
    free_tree(b, t->l);
    hc_rb_node *r = t->r;
    if (t->bits) b->pages--;
    free(t->bits);
    free(t);
    b->nodes--;
    t = r;
  }
}

static hc_rb_node *new_node(hc_rbits *b, uint64_t start, uint64_t n, bool bitmap) {
  hc_rb_node *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  if (bitmap) {
    x->bits = calloc(HC_RB_PAGE_WORDS, sizeof *x->bits);
    if (!x->bits) {
      free(x);
      return NULL;
    }
    b->pages++;
  }
  x->start = start;
  x->n = n;
  x->prio = next_prio(b);
  b->nodes++;
  return x;
}

static void insert(hc_rbits *b, hc_rb_node *x) {
  hc_rb_node *a, *c;
  split(b->root, x->start, &a, &c);
  b->root = merge(merge(a, x), c);
}

static void erase(hc_rbits *b, uint64_t start) {
  hc_rb_node *a, *m, *c;
  split(b->root, start, &a, &m);
  split(m, start + 1, &m, &c);
  free_tree(b, m);
  b->root = merge(a, c);
}

static bool contains(const hc_rb_node *x, uint64_t p) { return x && p >= x->start && p - x->start < x->n; }

/* No run may straddle page p afterwards (p starts a node or lies outside every run). */
static int cut(hc_rbits *b, uint64_t p) {
  hc_rb_node *f = floor_node(b->root, p);
  if (!f || f->start == p || !contains(f, p)) return HC_OK;
  hc_rb_node *x = new_node(b, p, f->start + f->n - p, false);
  if (!x) return HC_ERR_NOMEM;
  f->n = p - f->start;
  insert(b, x);
  return HC_OK;
}

static bool page_all(const uint64_t *w, uint64_t v) {
  for (size_t i = 0; i < HC_RB_PAGE_WORDS; i++)
    if (w[i] != v) return false;
  return true;
}

/* A run (or page turned full) at x: absorb the full runs right before and after it. */
static void coalesce(hc_rbits *b, hc_rb_node *x) {
  if (x->start > 0) {
    hc_rb_node *pred = floor_node(b->root, x->start - 1);
    if (pred && !pred->bits && pred->start + pred->n == x->start) {
      pred->n += x->n;
      erase(b, x->start);
      x = pred;
    }
  }
  if (x->start + x->n <= MAX_PAGE) {
    hc_rb_node *succ = ceil_node(b->root, x->start + x->n);
    if (succ && !succ->bits && succ->start == x->start + x->n) {
      x->n += succ->n;
      erase(b, succ->start);
    }
  }
}

static void make_full(hc_rbits *b, hc_rb_node *x) {
  free(x->bits);
  x->bits = NULL;
  b->pages--;
  coalesce(b, x);
}

/* Every page of [x, y) set (v) or cleared: O(log n + nodes removed). */
static int set_pages(hc_rbits *b, uint64_t x, uint64_t y, bool v) {
  if (x >= y) return HC_OK;
  int rc = cut(b, x);
  if (!rc) rc = cut(b, y);
  if (rc) return rc;
  hc_rb_node *l, *m, *r;
  split(b->root, x, &l, &m);
  split(m, y, &m, &r);
  free_tree(b, m);
  hc_rb_node *run = v ? new_node(b, x, y - x, false) : NULL;
  b->root = merge(merge(l, run), r);
  if (v && !run) return HC_ERR_NOMEM;
  if (run) coalesce(b, run);
  return HC_OK;
}

/* Sets (v) or clears the bits of page p given by mask. */
static int set_page_bits(hc_rbits *b, uint64_t p, const uint64_t *mask, bool v) {
  hc_rb_node *f = floor_node(b->root, p);
  if (!contains(f, p)) {
    if (!v) return HC_OK;
    if (page_all(mask, UINT64_MAX)) return set_pages(b, p, p + 1, true);
    hc_rb_node *x = new_node(b, p, 1, true);
    if (!x) return HC_ERR_NOMEM;
    memcpy(x->bits, mask, HC_RB_PAGE_WORDS * sizeof *mask);
    insert(b, x);
    return HC_OK;
  }
  if (!f->bits) {
    if (v) return HC_OK;
    if (page_all(mask, 0)) return HC_OK;
    /* clearing inside a run: carve page p out as a bitmap of ones */
    int rc = cut(b, p);
    if (!rc) rc = cut(b, p + 1);
    if (rc) return rc;
    f = floor_node(b->root, p);
    f->bits = malloc(HC_RB_PAGE_WORDS * sizeof *f->bits);
    if (!f->bits) return HC_ERR_NOMEM;
    b->pages++;
    memset(f->bits, 0xff, HC_RB_PAGE_WORDS * sizeof *f->bits);
  }
  for (size_t i = 0; i < HC_RB_PAGE_WORDS; i++) f->bits[i] = v ? f->bits[i] | mask[i] : f->bits[i] & ~mask[i];
  if (page_all(f->bits, 0)) erase(b, p);
  else if (page_all(f->bits, UINT64_MAX)) make_full(b, f);
  return HC_OK;
}

/* Bits [lo, hi) of page p (0 <= lo < hi <= PB). */
static int set_in_page(hc_rbits *b, uint64_t p, uint64_t lo, uint64_t hi, bool v) {
  if (lo == 0 && hi == PB) return set_pages(b, p, p + 1, v);
  uint64_t mask[HC_RB_PAGE_WORDS];
  memset(mask, 0, sizeof mask);
  for (uint64_t k = lo; k < hi;) {
    uint64_t w = k / 64, off = k % 64, n = 64 - off;
    if (n > hi - k) n = hi - k;
    mask[w] |= (n == 64 ? UINT64_MAX : ((1ULL << n) - 1)) << off;
    k += n;
  }
  return set_page_bits(b, p, mask, v);
}

/* ---- public (internal) API ---- */

static void seed(hc_rbits *b) {
  hc_crypto_random(&b->rng, sizeof b->rng);
  if (!b->rng) b->rng = 0x9E3779B97F4A7C15ULL;
}

void hc_rb_init(hc_rbits *b) {
  memset(b, 0, sizeof *b);
  seed(b);
}

void hc_rb_free(hc_rbits *b) {
  free_tree(b, b->root);
  b->root = NULL;
}

bool hc_rb_get(const hc_rbits *b, uint64_t i) {
  uint64_t p = i / PB;
  hc_rb_node *f = floor_node(b->root, p);
  if (!contains(f, p)) return false;
  if (!f->bits) return true;
  uint64_t j = i % PB;
  return (f->bits[j / 64] >> (j % 64)) & 1;
}

int hc_rb_set_range(hc_rbits *b, uint64_t start, uint64_t len, bool v) {
  if (!len) return HC_OK;
  if (!b->rng) seed(b);
  uint64_t end = len > UINT64_MAX - start ? UINT64_MAX : start + len; /* exclusive */
  if (end <= start) return HC_OK;
  uint64_t ps = start / PB, pe = end / PB; /* pe: the page holding `end` */
  if (ps == pe) return set_in_page(b, ps, start % PB, end % PB, v);
  int rc = HC_OK;
  uint64_t first_full = ps;
  if (start % PB) {
    rc = set_in_page(b, ps, start % PB, PB, v);
    first_full = ps + 1;
  }
  if (!rc) rc = set_pages(b, first_full, pe, v);
  if (!rc && end % PB) rc = set_in_page(b, pe, 0, end % PB, v);
  return rc;
}

int hc_rb_or_words(hc_rbits *b, uint64_t start, const uint8_t *words, size_t n) {
  if (!b->rng) seed(b);
  uint64_t mask[HC_RB_PAGE_WORDS], cur = UINT64_MAX;
  bool any = false;
  int rc = HC_OK;
  for (size_t w = 0; w < n && !rc; w++) {
    uint32_t v = (uint32_t)words[4 * w] | (uint32_t)words[4 * w + 1] << 8 |
                 (uint32_t)words[4 * w + 2] << 16 | (uint32_t)words[4 * w + 3] << 24;
    if (v && start % 32 == 0 && 32 * (uint64_t)w <= UINT64_MAX - 31 - start) {
      /* aligned (what peers send): the word lands whole in one page, no per-bit work */
      uint64_t bit = start + 32 * (uint64_t)w, p = bit / PB;
      if (p != cur) {
        if (any) rc = set_page_bits(b, cur, mask, true);
        memset(mask, 0, sizeof mask);
        cur = p;
      }
      mask[(bit % PB) / 64] |= (uint64_t)v << (bit % 64);
      any = true;
      continue;
    }
    while (v && !rc) {
      int k = __builtin_ctz(v);
      v &= v - 1;
      uint64_t off = 32 * (uint64_t)w + (uint64_t)k;
      if (off > UINT64_MAX - start) goto done; /* past 2^64 - 1: nothing to set */
      uint64_t bit = start + off, p = bit / PB;
      if (p != cur) {
        if (any) rc = set_page_bits(b, cur, mask, true);
        memset(mask, 0, sizeof mask);
        cur = p;
        any = false;
      }
      mask[(bit % PB) / 64] |= 1ULL << (bit % 64);
      any = true;
    }
  }
done:
  if (!rc && any) rc = set_page_bits(b, cur, mask, true);
  return rc;
}

/* First set bit of a bitmap page at or after bit j, or PB. */
static uint64_t scan_set(const uint64_t *bits, uint64_t j) {
  for (uint64_t w = j / 64; w < HC_RB_PAGE_WORDS; w++) {
    uint64_t v = bits[w];
    if (w == j / 64) v &= UINT64_MAX << (j % 64);
    if (v) return 64 * w + (uint64_t)__builtin_ctzll(v);
  }
  return PB;
}

uint64_t hc_rb_next_set(const hc_rbits *b, uint64_t i, uint64_t end) {
  if (i >= end) return UINT64_MAX;
  uint64_t p = i / PB;
  hc_rb_node *f = floor_node(b->root, p);
  if (contains(f, p)) {
    if (!f->bits) return i;
    uint64_t j = scan_set(f->bits, i % PB);
    if (j < PB) return p * PB + j < end ? p * PB + j : UINT64_MAX;
  }
  if (p >= MAX_PAGE) return UINT64_MAX;
  hc_rb_node *g = ceil_node(b->root, p + 1);
  if (!g || g->start > (end - 1) / PB) return UINT64_MAX;
  uint64_t at = g->start * PB + (g->bits ? scan_set(g->bits, 0) : 0);
  return at < end ? at : UINT64_MAX;
}

uint64_t hc_rb_next_clear(const hc_rbits *b, uint64_t i) {
  for (;;) {
    uint64_t p = i / PB;
    hc_rb_node *f = floor_node(b->root, p);
    if (!contains(f, p)) return i;
    if (f->bits) {
      for (uint64_t j = i % PB; j < PB; j++)
        if (!((f->bits[j / 64] >> (j % 64)) & 1)) return p * PB + j;
      /* a stored bitmap always has a clear bit; be safe anyway */
    }
    uint64_t next_page = f->bits ? p + 1 : f->start + f->n;
    if (next_page > MAX_PAGE) return UINT64_MAX;
    i = next_page * PB;
  }
}

/* What malloc really holds: each allocation rounded up to 16 bytes plus its 16-byte header
 * (so budgets follow RSS, not just payload). */
static size_t alloc_bytes(size_t n) { return ((n + 15) & ~(size_t)15) + 16; }

size_t hc_rb_memory(const hc_rbits *b) {
  return b->nodes * alloc_bytes(sizeof(hc_rb_node)) +
         b->pages * alloc_bytes(HC_RB_PAGE_WORDS * sizeof(uint64_t));
}
