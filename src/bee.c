/* Hyperbee (hyperbee 2.27.3 index.js): reads and writes the B-tree kept in a core.
 *
 * Reading walks decoded blocks held in a bounded LRU cache (refcounted while a walk or an
 * iterator holds them). Every index is checked when first used (pointers inside the version
 * read, never at the header) and walks are bounded (depth, visited nodes, strictly ordered
 * output), so a hostile core gives HC_ERR_BEE_CORRUPT, never a crash or a loop.
 *
 * Writing mirrors the reference's algorithm object for object (TreeNode, Key, Child, the
 * pending index of a batch and its compaction in toBlocks), so the same operations produce the
 * same blocks as hyperbee; the objects of one batch live in an arena freed when it flushes. */
#include <stdlib.h>
#include <string.h>

#include "bee_messages.h"
#include "hypercore.h"

#define BEE_T 5
#define BEE_MIN_KEYS (BEE_T - 1)
#define BEE_MAX_CHILDREN (BEE_MIN_KEYS * 2 + 1)
#define BEE_MAX_DEPTH 64 /* a valid tree of 2^64 keys is < 30 levels deep */
#define BEE_DEFAULT_CACHE 4096

/* ------------------------------------------------------------------ block cache ---- */

typedef struct bblock {
  uint64_t seq;
  uint8_t *raw;
  hc_bee_node_msg msg;
  hc_bee_index *index;
  int refs;      /* holders other than the cache */
  bool detached; /* dropped from the cache (fork change): freed at the last release */
  struct bblock *hnext, *prev, *next;
} bblock;

typedef struct bee_shared {
  int refs;
  hc_core *core;
  hc_bee_get_block_cb get_block;
  void *get_block_user;
  uint64_t fork;
  bblock **table;
  size_t tmask, count, cap;
  bblock lru; /* sentinel: lru.next is the most recent */
  uint8_t *header_raw;
  hc_bee_header_msg header;
  bool header_loaded;
  uint8_t *hdr_cf, *hdr_ud;
  size_t hdr_cf_len, hdr_ud_len;
  bool hdr_meta, hdr_has_cf, hdr_has_ud;
} bee_shared;

struct hc_bee {
  bee_shared *sh;
  uint64_t checkout; /* 0: follows the core */
  uint8_t *prefix;   /* sub: prefix || sep */
  size_t prefix_len;
};

static int read_block(bee_shared *sh, uint64_t seq, uint8_t **out, size_t *len) {
  if (sh->get_block) return sh->get_block(sh->get_block_user, sh->core, seq, out, len);
  return hc_core_get_alloc(sh->core, seq, out, len);
}

static void bblock_free(bblock *b) {
  if (!b) return;
  free(b->index);
  hc_free(b->raw);
  free(b);
}

static void lru_unlink(bblock *b) {
  b->prev->next = b->next;
  b->next->prev = b->prev;
}

static void lru_front(bee_shared *sh, bblock *b) {
  b->next = sh->lru.next;
  b->prev = &sh->lru;
  sh->lru.next->prev = b;
  sh->lru.next = b;
}

static size_t hslot(const bee_shared *sh, uint64_t seq) {
  uint64_t h = seq * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 20) & sh->tmask;
}

static void table_remove(bee_shared *sh, bblock *b) {
  bblock **pp = &sh->table[hslot(sh, b->seq)];
  while (*pp && *pp != b) pp = &(*pp)->hnext;
  if (*pp) *pp = b->hnext;
  lru_unlink(b);
  sh->count--;
}

static void cache_evict(bee_shared *sh) {
  bblock *b = sh->lru.prev;
  while (sh->count > sh->cap && b != &sh->lru) {
    bblock *prev = b->prev;
    if (b->refs == 0) {
      table_remove(sh, b);
      bblock_free(b);
    }
    b = prev;
  }
}

/* Drops every cached block (a truncation may have replaced them). */
static void cache_clear(bee_shared *sh) {
  for (bblock *b = sh->lru.next; b != &sh->lru;) {
    bblock *next = b->next;
    table_remove(sh, b);
    if (b->refs) b->detached = true;
    else bblock_free(b);
    b = next;
  }
}

static void release(bee_shared *sh, bblock *b) {
  if (!b) return;
  if (--b->refs == 0 && b->detached) bblock_free(b);
  (void)sh;
}

/* Checks what the reference's writer guarantees: keys and children point at node blocks
 * (never the header; whether they exist in the version read is checked when they are loaded),
 * a child in the same block at one of its levels, a node with children has keys + 1 of them.
 * Pointers may go forward: the non-last blocks of a batch keep nodes whose children later
 * operations of the same batch rewrote (hyperbee does this; the version read has them). */
static int check_index(const bblock *b) {
  for (size_t l = 0; l < b->index->nlevels; l++) {
    const hc_bee_level *lv = &b->index->levels[l];
    for (size_t k = 0; k < lv->nkeys; k++)
      if (lv->keys[k] == 0) return HC_ERR_BEE_CORRUPT;
    for (size_t c = 0; c < lv->nchildren; c++) {
      uint64_t s = lv->children[2 * c], o = lv->children[2 * c + 1];
      if (s == 0) return HC_ERR_BEE_CORRUPT;
      if (s == b->seq && o >= b->index->nlevels) return HC_ERR_BEE_CORRUPT;
    }
    /* a node with children has one more child than keys */
    if (lv->nchildren && lv->nchildren != lv->nkeys + 1) return HC_ERR_BEE_CORRUPT;
  }
  return HC_OK;
}

static int decode_block(uint64_t seq, uint8_t *raw, size_t len, bblock **out) {
  bblock *b = calloc(1, sizeof(*b));
  if (!b) {
    hc_free(raw);
    return HC_ERR_NOMEM;
  }
  b->seq = seq;
  b->raw = raw;
  int rc = hc_bee_node_decode(raw, len, &b->msg);
  if (rc == HC_ERR_DECODE) rc = HC_ERR_BEE_CORRUPT;
  if (rc) {
    bblock_free(b);
    return rc;
  }
  *out = b;
  return HC_OK;
}

/* The block's index, decoded and checked on first use (a block loaded only for its key
 * never needs it). */
static int block_index(bblock *b) {
  if (b->index) return HC_OK;
  int rc = hc_bee_index_decode(b->msg.index, b->msg.index_len, &b->index);
  if (rc == HC_ERR_DECODE) rc = HC_ERR_BEE_CORRUPT;
  if (rc == HC_OK && (rc = check_index(b))) {
    free(b->index);
    b->index = NULL;
  }
  return rc;
}

/* Node block `seq` (< limit, the version being read), held until release(). */
static int load(bee_shared *sh, uint64_t seq, uint64_t limit, bblock **out) {
  if (seq == 0 || seq >= limit) return HC_ERR_BEE_CORRUPT;
  for (bblock *b = sh->table[hslot(sh, seq)]; b; b = b->hnext) {
    if (b->seq == seq) {
      lru_unlink(b);
      lru_front(sh, b);
      b->refs++;
      *out = b;
      return HC_OK;
    }
  }
  uint8_t *raw;
  size_t len;
  int rc = read_block(sh, seq, &raw, &len);
  if (rc) return rc;
  bblock *b;
  rc = decode_block(seq, raw, len, &b);
  if (rc) return rc;
  size_t slot = hslot(sh, seq);
  b->hnext = sh->table[slot];
  sh->table[slot] = b;
  lru_front(sh, b);
  sh->count++;
  b->refs = 1;
  cache_evict(sh);
  *out = b;
  return HC_OK;
}

/* A fork change means blocks may differ: forget them. */
static void sync_fork(bee_shared *sh) {
  uint64_t f = hc_core_fork(sh->core);
  if (f != sh->fork) {
    cache_clear(sh);
    sh->fork = f;
    sh->header_loaded = false;
    hc_free(sh->header_raw);
    sh->header_raw = NULL;
  }
}

static int load_header(bee_shared *sh) {
  if (sh->header_loaded) return HC_OK;
  if (hc_core_length(sh->core) == 0) return HC_ERR_NOT_FOUND;
  uint8_t *raw;
  size_t len;
  int rc = read_block(sh, 0, &raw, &len);
  if (rc) return rc;
  hc_bee_header_msg h;
  if (hc_bee_header_decode(raw, len, &h) != HC_OK || h.protocol_len != 8 ||
      memcmp(h.protocol, "hyperbee", 8) != 0) {
    hc_free(raw);
    return HC_ERR_NOT_A_BEE;
  }
  sh->header_raw = raw;
  sh->header = h;
  sh->header_loaded = true;
  return HC_OK;
}

static void shared_unref(bee_shared *sh) {
  if (!sh || --sh->refs > 0) return;
  cache_clear(sh);
  free(sh->table);
  hc_free(sh->header_raw);
  free(sh->hdr_cf);
  free(sh->hdr_ud);
  free(sh);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *d = malloc(n ? n : 1);
  if (d && n) memcpy(d, p, n);
  return d;
}

int hc_bee_open(hc_bee **out, hc_core *core, const hc_bee_opts *opts) {
  *out = NULL;
  if (!core) return HC_ERR_INVALID_ARG;
  if (opts && opts->version != HC_BEE_OPTS_VERSION) return HC_ERR_BAD_VERSION;
  bee_shared *sh = calloc(1, sizeof(*sh));
  hc_bee *bee = calloc(1, sizeof(*bee));
  if (!sh || !bee) goto nomem;
  sh->refs = 1;
  sh->core = core;
  sh->fork = hc_core_fork(core);
  sh->cap = opts && opts->cache_nodes ? opts->cache_nodes : BEE_DEFAULT_CACHE;
  size_t tsize = 64;
  while (tsize < sh->cap && tsize < ((size_t)1 << 24)) tsize <<= 1;
  sh->table = calloc(tsize, sizeof(*sh->table));
  if (!sh->table) goto nomem;
  sh->tmask = tsize - 1;
  sh->lru.next = sh->lru.prev = &sh->lru;
  if (opts) {
    sh->get_block = opts->get_block;
    sh->get_block_user = opts->get_block_user;
    sh->hdr_meta = opts->header_metadata;
    if (opts->content_feed) {
      if (!(sh->hdr_cf = dup_bytes(opts->content_feed, opts->content_feed_len))) goto nomem;
      sh->hdr_cf_len = opts->content_feed_len;
      sh->hdr_has_cf = true;
    }
    if (opts->user_data) {
      if (!(sh->hdr_ud = dup_bytes(opts->user_data, opts->user_data_len))) goto nomem;
      sh->hdr_ud_len = opts->user_data_len;
      sh->hdr_has_ud = true;
    }
  }
  bee->sh = sh;
  int rc = load_header(sh);
  if (rc && rc != HC_ERR_NOT_FOUND) {
    hc_bee_close(bee);
    return rc;
  }
  *out = bee;
  return HC_OK;
nomem:
  if (sh) {
    free(sh->table);
    free(sh->hdr_cf);
    free(sh->hdr_ud);
  }
  free(sh);
  free(bee);
  return HC_ERR_NOMEM;
}

void hc_bee_close(hc_bee *bee) {
  if (!bee) return;
  shared_unref(bee->sh);
  free(bee->prefix);
  free(bee);
}

hc_core *hc_bee_core(const hc_bee *bee) { return bee->sh->core; }

uint64_t hc_bee_version(const hc_bee *bee) {
  uint64_t v = bee->checkout ? bee->checkout : hc_core_length(bee->sh->core);
  return v ? v : 1;
}

static int view(hc_bee *bee, uint64_t checkout, const uint8_t *prefix, size_t plen,
                hc_bee **out) {
  hc_bee *v = calloc(1, sizeof(*v));
  if (!v) return HC_ERR_NOMEM;
  if (plen && !(v->prefix = dup_bytes(prefix, plen))) {
    free(v);
    return HC_ERR_NOMEM;
  }
  v->prefix_len = plen;
  v->sh = bee->sh;
  v->sh->refs++;
  v->checkout = checkout;
  *out = v;
  return HC_OK;
}

int hc_bee_checkout(hc_bee *bee, uint64_t version, hc_bee **out) {
  *out = NULL;
  return view(bee, version ? version : 1, bee->prefix, bee->prefix_len, out);
}

int hc_bee_sub(hc_bee *bee, const uint8_t *prefix, size_t prefix_len, const uint8_t *sep,
               size_t sep_len, hc_bee **out) {
  *out = NULL;
  static const uint8_t zero = 0;
  if (!sep) {
    sep = &zero;
    sep_len = 1;
  }
  size_t n = bee->prefix_len + prefix_len + sep_len;
  uint8_t *p = malloc(n ? n : 1);
  if (!p) return HC_ERR_NOMEM;
  if (bee->prefix_len) memcpy(p, bee->prefix, bee->prefix_len);
  if (prefix_len) memcpy(p + bee->prefix_len, prefix, prefix_len);
  if (sep_len) memcpy(p + bee->prefix_len + prefix_len, sep, sep_len);
  int rc = view(bee, bee->checkout, p, n, out);
  free(p);
  return rc;
}

int hc_bee_content_feed(hc_bee *bee, const uint8_t **out, size_t *len) {
  *out = NULL;
  *len = 0;
  sync_fork(bee->sh);
  int rc = load_header(bee->sh);
  if (rc) return rc;
  if (bee->sh->header.content_feed) {
    *out = bee->sh->header.content_feed;
    *len = bee->sh->header.content_feed_len;
  }
  return HC_OK;
}

void hc_bee_entry_free(hc_bee_entry *e) { free(e); }

static int cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c < 0 ? -1 : 1;
  return al < bl ? -1 : al > bl ? 1 : 0;
}

static int make_entry(const hc_bee *bee, const bblock *b, bool deleted, hc_bee_entry **out) {
  size_t skip = bee->prefix_len < b->msg.key_len ? bee->prefix_len : b->msg.key_len;
  size_t klen = b->msg.key_len - skip;
  size_t vlen = b->msg.has_value ? b->msg.value_len : 0;
  hc_bee_entry *e = malloc(sizeof(*e) + klen + vlen + 2);
  if (!e) return HC_ERR_NOMEM;
  e->seq = b->seq;
  e->key = (uint8_t *)(e + 1);
  e->key_len = klen;
  if (klen) memcpy(e->key, b->msg.key + skip, klen);
  e->key[klen] = 0;
  e->has_value = b->msg.has_value;
  e->value = e->has_value ? e->key + klen + 1 : NULL;
  e->value_len = vlen;
  if (e->value) {
    if (vlen) memcpy(e->value, b->msg.value, vlen);
    e->value[vlen] = 0;
  }
  e->deleted = deleted;
  *out = e;
  return HC_OK;
}

static bool has_key(const bblock *b, uint64_t seq) {
  for (size_t l = 0; l < b->index->nlevels; l++)
    for (size_t k = 0; k < b->index->levels[l].nkeys; k++)
      if (b->index->levels[l].keys[k] == seq) return true;
  return false;
}

/* A deletion is a block without a value whose index does not hold its own key. */
static bool is_deletion(const bblock *b) { return !b->msg.has_value && !has_key(b, b->seq); }

/* ------------------------------------------------------------------ reading ---- */

/* A tree node: level `off` of block b (b held). */
typedef struct rnode {
  bblock *b;
  size_t off;
} rnode;

static const hc_bee_level *lvl(const rnode *n) { return &n->b->index->levels[n->off]; }

/* The key of block seq, as seen from node n (its own block needs no load). *held gets the
 * block to release (or NULL). */
static int node_key(bee_shared *sh, uint64_t limit, const rnode *n, uint64_t seq,
                    const uint8_t **key, size_t *klen, bblock **held) {
  *held = NULL;
  if (seq == n->b->seq) {
    *key = n->b->msg.key;
    *klen = n->b->msg.key_len;
    return HC_OK;
  }
  int rc = load(sh, seq, limit, held);
  if (rc) return rc;
  *key = (*held)->msg.key;
  *klen = (*held)->msg.key_len;
  return HC_OK;
}

/* Child i of n into *child (held). */
static int node_child(bee_shared *sh, uint64_t limit, const rnode *n, size_t i, rnode *child) {
  const hc_bee_level *l = lvl(n);
  if (i >= l->nchildren) return HC_ERR_BEE_CORRUPT;
  uint64_t seq = l->children[2 * i], off = l->children[2 * i + 1];
  bblock *b;
  if (seq == n->b->seq) {
    b = n->b;
    b->refs++;
  } else {
    int rc = load(sh, seq, limit, &b);
    if (rc) return rc;
  }
  int rc = block_index(b);
  if (rc || off >= b->index->nlevels) {
    release(sh, b);
    return rc ? rc : HC_ERR_BEE_CORRUPT;
  }
  child->b = b;
  child->off = (size_t)off;
  return HC_OK;
}

/* The root: level 0 of block version-1 (*has false when the bee is empty). */
static int get_root(hc_bee *bee, uint64_t version, rnode *root, bool *has) {
  *has = false;
  if (version < 2) return HC_OK;
  int rc = load(bee->sh, version - 1, version, &root->b);
  if (rc) return rc;
  if ((rc = block_index(root->b))) {
    release(bee->sh, root->b);
    return rc;
  }
  if (root->b->index->nlevels == 0) {
    release(bee->sh, root->b);
    return HC_ERR_BEE_CORRUPT;
  }
  root->off = 0;
  *has = true;
  return HC_OK;
}

/* Binary search of key in n: *found (with *mid), else *i = the child to descend into. */
static int node_search(bee_shared *sh, uint64_t limit, const rnode *n, const uint8_t *key,
                       size_t klen, bool *found, size_t *mid_out, size_t *i_out, int *c_out) {
  const hc_bee_level *l = lvl(n);
  size_t s = 0, e = l->nkeys;
  int c = 0;
  *found = false;
  while (s < e) {
    size_t mid = (s + e) >> 1;
    const uint8_t *k;
    size_t kl;
    bblock *held;
    int rc = node_key(sh, limit, n, l->keys[mid], &k, &kl, &held);
    if (rc) return rc;
    c = cmp(key, klen, k, kl);
    release(sh, held);
    if (c == 0) {
      *found = true;
      *mid_out = mid;
      *c_out = 0;
      return HC_OK;
    }
    if (c < 0) e = mid;
    else s = mid + 1;
  }
  *i_out = c < 0 ? e : s;
  if (c_out) *c_out = c;
  return HC_OK;
}

static int full_key(const hc_bee *bee, const uint8_t *key, size_t klen, uint8_t **out) {
  *out = malloc(bee->prefix_len + klen + 1);
  if (!*out) return HC_ERR_NOMEM;
  if (bee->prefix_len) memcpy(*out, bee->prefix, bee->prefix_len);
  if (klen) memcpy(*out + bee->prefix_len, key, klen);
  return HC_OK;
}

int hc_bee_get(hc_bee *bee, const uint8_t *key, size_t key_len, hc_bee_entry **out) {
  *out = NULL;
  bee_shared *sh = bee->sh;
  sync_fork(sh);
  uint8_t *fk;
  int rc = full_key(bee, key, key_len, &fk);
  if (rc) return rc;
  size_t fl = bee->prefix_len + key_len;
  uint64_t version = hc_bee_version(bee);
  rnode n;
  bool has;
  rc = get_root(bee, version, &n, &has);
  if (rc || !has) {
    free(fk);
    return rc ? rc : HC_ERR_NOT_FOUND;
  }
  for (int depth = 0;; depth++) {
    if (depth > BEE_MAX_DEPTH) {
      rc = HC_ERR_BEE_CORRUPT;
      break;
    }
    /* the reference's shortcut: the block holding this node wrote this very key */
    if (cmp(n.b->msg.key, n.b->msg.key_len, fk, fl) == 0) {
      rc = is_deletion(n.b) ? HC_ERR_NOT_FOUND : make_entry(bee, n.b, false, out);
      break;
    }
    bool found;
    size_t mid = 0, i = 0;
    int c;
    rc = node_search(sh, version, &n, fk, fl, &found, &mid, &i, &c);
    if (rc) break;
    if (found) {
      bblock *b;
      rc = load(sh, lvl(&n)->keys[mid], version, &b);
      if (rc == HC_OK) {
        rc = make_entry(bee, b, false, out);
        release(sh, b);
      }
      break;
    }
    if (!lvl(&n)->nchildren) {
      rc = HC_ERR_NOT_FOUND;
      break;
    }
    rnode child;
    rc = node_child(sh, version, &n, i, &child);
    if (rc) break;
    release(sh, n.b);
    n = child;
  }
  release(sh, n.b);
  free(fk);
  return rc;
}

/* ------------------------------------------------------------------ iterators ---- */

typedef struct frame {
  rnode n;
  int64_t i;
} frame;

struct hc_bee_iter {
  hc_bee *bee;
  bool history;
  uint64_t version;
  /* range */
  uint8_t *gkey, *lkey;
  size_t gkey_len, lkey_len;
  bool has_g, has_l, g_incl, l_incl, reverse;
  int64_t limit; /* -1: none */
  frame stack[BEE_MAX_DEPTH + 1];
  size_t depth;
  uint64_t visits;
  uint8_t *last; /* the previous key returned: output must be strictly ordered */
  size_t last_len;
  bool has_last;
  int err; /* sticky */
  /* history */
  uint64_t gte, lt;
};

static void iter_pop(hc_bee_iter *it) { release(it->bee->sh, it->stack[--it->depth].n.b); }

static int iter_push(hc_bee_iter *it, rnode n, int64_t i) {
  /* a valid tree has fewer nodes than blocks: more visits means a cycle or shared subtrees */
  if (it->depth > BEE_MAX_DEPTH || ++it->visits > it->version + 64) {
    release(it->bee->sh, n.b);
    return HC_ERR_BEE_CORRUPT;
  }
  it->stack[it->depth].n = n;
  it->stack[it->depth].i = i;
  it->depth++;
  return HC_OK;
}

static int dup_bound(const uint8_t *prefix, size_t plen, const uint8_t *k, size_t kl,
                     uint8_t **out, size_t *len) {
  *out = malloc(plen + kl + 1);
  if (!*out) return HC_ERR_NOMEM;
  if (plen) memcpy(*out, prefix, plen);
  if (kl) memcpy(*out + plen, k, kl);
  *len = plen + kl;
  return HC_OK;
}

/* Bounds as the reference's encRange: a sub's prefix is added, and a sub without a lower
 * (upper) bound gets gt = prefix || 0x00 (lt = prefix with its last byte bumped). */
static int iter_bounds(hc_bee_iter *it, const hc_bee_range *r) {
  const hc_bee *bee = it->bee;
  const uint8_t *g = NULL, *l = NULL;
  size_t gl = 0, ll = 0;
  if (r) {
    it->reverse = r->reverse;
    it->limit = r->limit ? (int64_t)r->limit : -1;
    if (r->gt) g = r->gt, gl = r->gt_len, it->g_incl = false;
    else if (r->gte) g = r->gte, gl = r->gte_len, it->g_incl = true;
    if (r->lt) l = r->lt, ll = r->lt_len, it->l_incl = false;
    else if (r->lte) l = r->lte, ll = r->lte_len, it->l_incl = true;
  }
  int rc;
  if (g) {
    if ((rc = dup_bound(bee->prefix, bee->prefix_len, g, gl, &it->gkey, &it->gkey_len))) return rc;
    it->has_g = true;
  } else if (bee->prefix_len) {
    static const uint8_t zero = 0;
    if ((rc = dup_bound(bee->prefix, bee->prefix_len, &zero, 1, &it->gkey, &it->gkey_len))) return rc;
    it->has_g = true;
    it->g_incl = false;
  }
  if (l) {
    if ((rc = dup_bound(bee->prefix, bee->prefix_len, l, ll, &it->lkey, &it->lkey_len))) return rc;
    it->has_l = true;
  } else if (bee->prefix_len) {
    if ((rc = dup_bound(bee->prefix, bee->prefix_len, NULL, 0, &it->lkey, &it->lkey_len))) return rc;
    it->lkey[it->lkey_len - 1]++;
    it->has_l = true;
    it->l_incl = false;
  }
  if (!it->has_g) it->g_incl = true;
  if (!it->has_l) it->l_incl = true;
  return HC_OK;
}

/* RangeIterator._open: the stack down to the start key. */
static int iter_open(hc_bee_iter *it) {
  bee_shared *sh = it->bee->sh;
  rnode n;
  bool has;
  int rc = get_root(it->bee, it->version, &n, &has);
  if (rc || !has) return rc;
  bool incl = it->reverse ? it->l_incl : it->g_incl;
  const uint8_t *start = it->reverse ? it->lkey : it->gkey;
  size_t slen = it->reverse ? it->lkey_len : it->gkey_len;
  bool has_start = it->reverse ? it->has_l : it->has_g;
  if (!has_start) return iter_push(it, n, it->reverse ? (int64_t)lvl(&n)->nkeys << 1 : 0);
  for (int depth = 0;; depth++) {
    if (depth > BEE_MAX_DEPTH) { /* a cycle: nodes are not always pushed on the way down */
      release(sh, n.b);
      return HC_ERR_BEE_CORRUPT;
    }
    const hc_bee_level *l = lvl(&n);
    int64_t ei = it->reverse ? (int64_t)l->nkeys << 1 : 0;
    bool found;
    size_t mid = 0, i = 0;
    int c;
    rc = node_search(sh, it->version, &n, start, slen, &found, &mid, &i, &c);
    if (rc) {
      release(sh, n.b);
      return rc;
    }
    if (found) {
      ei = incl ? (int64_t)mid * 2 + 1 : (int64_t)mid * 2 + (it->reverse ? 0 : 2);
      return iter_push(it, n, ei);
    }
    ei = 2 * (int64_t)i + (it->reverse ? -1 : 1);
    bool leaf = l->nchildren == 0;
    rnode child;
    if (!leaf && (rc = node_child(sh, it->version, &n, i, &child))) {
      release(sh, n.b);
      return rc;
    }
    if (ei >= 0 && ei <= (int64_t)l->nkeys << 1) {
      if ((rc = iter_push(it, n, ei))) {
        if (!leaf) release(sh, child.b);
        return rc;
      }
    } else {
      release(sh, n.b);
    }
    if (leaf) return HC_OK;
    n = child;
  }
}

static int iter_new(hc_bee *bee, hc_bee_iter **out) {
  *out = NULL;
  hc_bee_iter *it = calloc(1, sizeof(*it));
  if (!it) return HC_ERR_NOMEM;
  it->bee = bee;
  it->limit = -1;
  sync_fork(bee->sh);
  it->version = hc_bee_version(bee);
  *out = it;
  return HC_OK;
}

int hc_bee_iter_new(hc_bee *bee, const hc_bee_range *range, hc_bee_iter **out) {
  *out = NULL;
  if (range && range->version != HC_BEE_RANGE_VERSION) return HC_ERR_BAD_VERSION;
  hc_bee_iter *it;
  int rc = iter_new(bee, &it);
  if (rc) return rc;
  if ((rc = iter_bounds(it, range)) || (rc = iter_open(it))) {
    hc_bee_iter_free(it);
    return rc;
  }
  *out = it;
  return HC_OK;
}

void hc_bee_iter_free(hc_bee_iter *it) {
  if (!it) return;
  while (it->depth) iter_pop(it);
  free(it->gkey);
  free(it->lkey);
  free(it->last);
  free(it);
}

/* Output must be strictly ordered (reverse: decreasing): else the tree is not a B-tree. */
static int check_order(hc_bee_iter *it, const bblock *b) {
  if (it->has_last) {
    int c = cmp(b->msg.key, b->msg.key_len, it->last, it->last_len);
    if (it->reverse ? c >= 0 : c <= 0) return HC_ERR_BEE_CORRUPT;
  }
  uint8_t *k = realloc(it->last, b->msg.key_len + 1);
  if (!k) return HC_ERR_NOMEM;
  if (b->msg.key_len) memcpy(k, b->msg.key, b->msg.key_len);
  it->last = k;
  it->last_len = b->msg.key_len;
  it->has_last = true;
  return HC_OK;
}

static int range_next(hc_bee_iter *it, hc_bee_entry **out) {
  bee_shared *sh = it->bee->sh;
  const uint8_t *end = it->reverse ? it->gkey : it->lkey;
  size_t end_len = it->reverse ? it->gkey_len : it->lkey_len;
  bool has_end = it->reverse ? it->has_g : it->has_l;
  bool incl = it->reverse ? it->g_incl : it->l_incl;
  while (it->depth && (it->limit == -1 || it->limit > 0)) {
    frame *top = &it->stack[it->depth - 1];
    const hc_bee_level *l = lvl(&top->n);
    bool is_key = (top->i & 1) == 1;
    int64_t n;
    if (it->reverse) n = top->i < 0 ? (int64_t)l->nkeys : (top->i-- >> 1);
    else n = top->i++ >> 1;
    if (!is_key) {
      if (!l->nchildren) continue;
      rnode child;
      int rc = node_child(sh, it->version, &top->n, (size_t)n, &child);
      if (rc) return rc;
      rc = iter_push(it, child, it->reverse ? (int64_t)lvl(&child)->nkeys << 1 : 0);
      if (rc) return rc;
      continue;
    }
    if (n >= (int64_t)l->nkeys) {
      iter_pop(it);
      continue;
    }
    bblock *b;
    int rc = load(sh, l->keys[n], it->version, &b);
    if (rc) return rc;
    if (has_end) {
      int c = cmp(b->msg.key, b->msg.key_len, end, end_len);
      if (c == 0 ? !incl : it->reverse ? c < 0 : c > 0) {
        release(sh, b);
        it->limit = 0;
        break;
      }
    }
    if (it->limit > 0) it->limit--;
    rc = check_order(it, b);
    if (rc == HC_OK) rc = make_entry(it->bee, b, false, out);
    release(sh, b);
    return rc;
  }
  return HC_ERR_NOT_FOUND;
}

static int history_next(hc_bee_iter *it, hc_bee_entry **out) {
  if (it->limit == 0 || it->gte >= it->lt) return HC_ERR_NOT_FOUND;
  if (it->limit > 0) it->limit--;
  uint64_t seq;
  if (it->reverse) {
    if (it->lt <= 1) return HC_ERR_NOT_FOUND;
    seq = --it->lt;
  } else {
    seq = it->gte++;
  }
  bblock *b;
  int rc = load(it->bee->sh, seq, it->version, &b);
  if (rc) return rc;
  if ((rc = block_index(b))) {
    release(it->bee->sh, b);
    return rc;
  }
  rc = make_entry(it->bee, b, is_deletion(b), out);
  release(it->bee->sh, b);
  return rc;
}

int hc_bee_iter_next(hc_bee_iter *it, hc_bee_entry **out) {
  *out = NULL;
  if (it->err) return it->err;
  int rc = it->history ? history_next(it, out) : range_next(it, out);
  if (rc && rc != HC_ERR_NOT_FOUND) it->err = rc;
  return rc;
}

int hc_bee_peek(hc_bee *bee, const hc_bee_range *range, hc_bee_entry **out) {
  *out = NULL;
  hc_bee_range r = {.version = HC_BEE_RANGE_VERSION};
  if (range) {
    if (range->version != HC_BEE_RANGE_VERSION) return HC_ERR_INVALID_ARG;
    r = *range;
  }
  r.limit = 1;
  hc_bee_iter *it;
  int rc = hc_bee_iter_new(bee, &r, &it);
  if (rc) return rc;
  rc = hc_bee_iter_next(it, out);
  hc_bee_iter_free(it);
  return rc;
}

int hc_bee_history_new(hc_bee *bee, uint64_t gte, uint64_t lt, bool reverse, uint64_t limit,
                       hc_bee_iter **out) {
  hc_bee_iter *it;
  int rc = iter_new(bee, &it);
  if (rc) return rc;
  it->history = true;
  it->gte = gte ? gte : 1;
  it->lt = lt ? lt : it->version;
  if (it->lt > it->version) it->lt = it->version;
  it->reverse = reverse;
  it->limit = limit ? (int64_t)limit : -1;
  *out = it;
  return HC_OK;
}

/* ------------------------------------------------------------------ writing ---- */

/* An arena: the objects of one batch, freed together. */
typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[];
} chunk;

typedef struct wkey {
  uint64_t seq;
  const uint8_t *v; /* NULL until loaded */
  size_t len;
} wkey;

struct wnode;
typedef struct wchild {
  uint64_t seq, offset;
  struct wnode *value;
} wchild;

typedef struct wnode {
  wkey *keys;
  size_t nk, ck;
  wchild **ch;
  size_t nc, cc;
  bool changed;
} wnode;

typedef struct pentry {
  uint64_t seq;
  const uint8_t *key, *value;
  size_t klen, vlen;
  bool has_value;
  wchild **index;
  size_t nindex, cindex;
} pentry;

struct hc_bee_batch {
  hc_bee *bee;
  chunk *arena;
  pentry *entries;
  size_t n, cap;
  uint64_t base; /* core length the pending seqs start at */
};

static void *aalloc(hc_bee_batch *b, size_t size) {
  size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  chunk *c = b->arena;
  if (!c || c->cap - c->used < size) {
    size_t cap = size > 65536 ? size : 65536;
    c = malloc(sizeof(chunk) + cap);
    if (!c) return NULL;
    c->next = b->arena;
    c->used = 0;
    c->cap = cap;
    b->arena = c;
  }
  void *p = (uint8_t *)c->data + c->used;
  c->used += size;
  return p;
}

static void arena_free(hc_bee_batch *b) {
  while (b->arena) {
    chunk *n = b->arena->next;
    free(b->arena);
    b->arena = n;
  }
}

static void *adup(hc_bee_batch *b, const void *p, size_t n) {
  uint8_t *d = aalloc(b, n ? n : 1);
  if (d && n) memcpy(d, p, n);
  return d;
}

/* Grows an arena array to hold one more element. */
static bool agrow(hc_bee_batch *b, void **arr, size_t n, size_t *cap, size_t elem) {
  if (n < *cap) return true;
  size_t nc = *cap ? *cap * 2 : 12;
  void *na = aalloc(b, nc * elem);
  if (!na) return false;
  if (n) memcpy(na, *arr, n * elem);
  *arr = na;
  *cap = nc;
  return true;
}

static wnode *wnode_create(hc_bee_batch *b) {
  wnode *n = aalloc(b, sizeof(*n));
  if (!n) return NULL;
  memset(n, 0, sizeof(*n));
  n->changed = true;
  return n;
}

static wchild *wchild_new(hc_bee_batch *b, uint64_t seq, uint64_t off, wnode *v) {
  wchild *c = aalloc(b, sizeof(*c));
  if (c) {
    c->seq = seq;
    c->offset = off;
    c->value = v;
  }
  return c;
}

static int keys_insert(hc_bee_batch *b, wnode *n, size_t i, wkey k) {
  if (!agrow(b, (void **)&n->keys, n->nk, &n->ck, sizeof(wkey))) return HC_ERR_NOMEM;
  memmove(n->keys + i + 1, n->keys + i, (n->nk - i) * sizeof(wkey));
  n->keys[i] = k;
  n->nk++;
  return HC_OK;
}

static int ch_insert(hc_bee_batch *b, wnode *n, size_t i, wchild *c) {
  if (!agrow(b, (void **)&n->ch, n->nc, &n->cc, sizeof(wchild *))) return HC_ERR_NOMEM;
  memmove(n->ch + i + 1, n->ch + i, (n->nc - i) * sizeof(wchild *));
  n->ch[i] = c;
  n->nc++;
  return HC_OK;
}

static wkey keys_remove(wnode *n, size_t i) {
  wkey k = n->keys[i];
  memmove(n->keys + i, n->keys + i + 1, (n->nk - i - 1) * sizeof(wkey));
  n->nk--;
  return k;
}

static wchild *ch_remove(wnode *n, size_t i) {
  wchild *c = n->ch[i];
  memmove(n->ch + i, n->ch + i + 1, (n->nc - i - 1) * sizeof(wchild *));
  n->nc--;
  return c;
}

/* The version being written: committed blocks + pending ones. */
static uint64_t wversion(const hc_bee_batch *b) {
  uint64_t v = b->base + b->n;
  return v ? v : 1;
}

/* getKey: the key bytes of block seq (pending or committed, copied into the arena). */
static int wget_key(hc_bee_batch *b, wkey *k) {
  if (k->v) return HC_OK;
  if (k->seq >= b->base) {
    if (k->seq - b->base >= b->n) return HC_ERR_BEE_CORRUPT;
    const pentry *pe = &b->entries[k->seq - b->base];
    k->v = pe->key;
    k->len = pe->klen;
    return HC_OK;
  }
  bblock *blk;
  int rc = load(b->bee->sh, k->seq, b->base, &blk);
  if (rc) return rc;
  k->v = adup(b, blk->msg.key, blk->msg.key_len);
  k->len = blk->msg.key_len;
  release(b->bee->sh, blk);
  return k->v ? HC_OK : HC_ERR_NOMEM;
}

/* getTreeNode(offset) of block seq: a pending node itself, or a fresh copy of a stored one. */
static int wtree_node(hc_bee_batch *b, uint64_t seq, uint64_t off, wnode **out) {
  if (seq >= b->base) {
    if (seq - b->base >= b->n) return HC_ERR_BEE_CORRUPT;
    pentry *pe = &b->entries[seq - b->base];
    if (off >= pe->nindex || !pe->index[off]) return HC_ERR_BEE_CORRUPT;
    *out = pe->index[off]->value;
    return HC_OK;
  }
  bblock *blk;
  int rc = load(b->bee->sh, seq, b->base, &blk);
  if (rc) return rc;
  if ((rc = block_index(blk)) || off >= blk->index->nlevels) {
    release(b->bee->sh, blk);
    return rc ? rc : HC_ERR_BEE_CORRUPT;
  }
  const hc_bee_level *l = &blk->index->levels[off];
  wnode *n = aalloc(b, sizeof(*n));
  if (n) {
    memset(n, 0, sizeof(*n));
    n->ck = l->nkeys + 1;
    n->cc = l->nchildren + 1;
    n->keys = aalloc(b, n->ck * sizeof(wkey));
    n->ch = aalloc(b, n->cc * sizeof(wchild *));
  }
  if (!n || !n->keys || !n->ch) {
    release(b->bee->sh, blk);
    return HC_ERR_NOMEM;
  }
  for (size_t i = 0; i < l->nkeys; i++) n->keys[n->nk++] = (wkey){l->keys[i], NULL, 0};
  for (size_t i = 0; i < l->nchildren; i++) {
    wchild *c = wchild_new(b, l->children[2 * i], l->children[2 * i + 1], NULL);
    if (!c) {
      release(b->bee->sh, blk);
      return HC_ERR_NOMEM;
    }
    n->ch[n->nc++] = c;
  }
  release(b->bee->sh, blk);
  *out = n;
  return HC_OK;
}

static int wchild_node(hc_bee_batch *b, wnode *n, size_t i, wnode **out) {
  if (i >= n->nc) return HC_ERR_BEE_CORRUPT;
  wchild *c = n->ch[i];
  if (!c->value) {
    int rc = wtree_node(b, c->seq, c->offset, &c->value);
    if (rc) return rc;
  }
  *out = c->value;
  return HC_OK;
}

static int wget_root(hc_bee_batch *b, wnode **root) {
  *root = NULL;
  uint64_t v = wversion(b);
  if (v < 2) return HC_OK;
  return wtree_node(b, v - 1, 0, root);
}

/* Binary search of key among n's keys. */
static int wsearch(hc_bee_batch *b, wnode *n, const uint8_t *key, size_t klen, bool *found,
                   size_t *pos) {
  size_t s = 0, e = n->nk;
  int c = 0;
  *found = false;
  while (s < e) {
    size_t mid = (s + e) >> 1;
    int rc = wget_key(b, &n->keys[mid]);
    if (rc) return rc;
    c = cmp(key, klen, n->keys[mid].v, n->keys[mid].len);
    if (c == 0) {
      *found = true;
      *pos = mid;
      return HC_OK;
    }
    if (c < 0) e = mid;
    else s = mid + 1;
  }
  *pos = c < 0 ? e : s;
  return HC_OK;
}

/* TreeNode.insertKey (alwaysDuplicate): *fits false when the node must split. */
static int winsert_key(hc_bee_batch *b, wnode *n, wkey key, wnode *child, bool *fits) {
  bool found;
  size_t i;
  int rc = wsearch(b, n, key.v, key.len, &found, &i);
  if (rc) return rc;
  n->changed = true;
  *fits = true;
  if (found) {
    n->keys[i] = key;
    return HC_OK;
  }
  if ((rc = keys_insert(b, n, i, key))) return rc;
  if (child) {
    wchild *c = wchild_new(b, 0, 0, child);
    if (!c || (rc = ch_insert(b, n, i + 1, c))) return c ? rc : HC_ERR_NOMEM;
  }
  *fits = n->nk < BEE_MAX_CHILDREN;
  return HC_OK;
}

/* TreeNode.split: n keeps the left half; *median and *right the rest. */
static int wsplit(hc_bee_batch *b, wnode *n, wkey *median, wnode **right) {
  size_t len = n->nk >> 1;
  wnode *r = wnode_create(b);
  if (!r) return HC_ERR_NOMEM;
  r->ck = len + 2;
  r->cc = len + 3;
  r->keys = aalloc(b, r->ck * sizeof(wkey));
  r->ch = aalloc(b, r->cc * sizeof(wchild *));
  if (!r->keys || !r->ch) return HC_ERR_NOMEM;
  memcpy(r->keys, n->keys + n->nk - len, len * sizeof(wkey));
  r->nk = len;
  n->nk -= len;
  int rc = wget_key(b, &n->keys[n->nk - 1]); /* the median's key is compared next */
  if (rc) return rc;
  *median = n->keys[--n->nk];
  if (n->nc) {
    size_t m = len + 1 < n->nc ? len + 1 : n->nc;
    memcpy(r->ch, n->ch + n->nc - m, m * sizeof(wchild *));
    r->nc = m;
    n->nc -= m;
  }
  n->changed = true;
  *right = r;
  return HC_OK;
}

/* TreeNode.indexChanges: numbers the changed nodes depth first into the new block's index. */
static int windex_changes(hc_bee_batch *b, pentry *pe, wnode *n, uint64_t seq, size_t *offset) {
  if (!agrow(b, (void **)&pe->index, pe->nindex, &pe->cindex, sizeof(wchild *)))
    return HC_ERR_NOMEM;
  *offset = pe->nindex;
  pe->index[pe->nindex++] = NULL;
  n->changed = false;
  for (size_t i = 0; i < n->nc; i++) {
    wchild *c = n->ch[i];
    if (!c->value || !c->value->changed) continue;
    c->seq = seq;
    size_t off;
    int rc = windex_changes(b, pe, c->value, seq, &off);
    if (rc) return rc;
    c->offset = off;
    pe->index[off] = c;
  }
  return HC_OK;
}

/* Batch._append: the new block's pending index, its root at offset 0. */
static int wappend(hc_bee_batch *b, wnode *root, uint64_t seq, const uint8_t *key, size_t klen,
                   const uint8_t *value, size_t vlen, bool has_value) {
  if (!agrow(b, (void **)&b->entries, b->n, &b->cap, sizeof(pentry))) return HC_ERR_NOMEM;
  pentry *pe = &b->entries[b->n];
  memset(pe, 0, sizeof(*pe));
  pe->seq = seq;
  pe->key = key;
  pe->klen = klen;
  pe->value = value;
  pe->vlen = vlen;
  pe->has_value = has_value;
  size_t off;
  int rc = windex_changes(b, pe, root, seq, &off);
  if (rc) return rc;
  if (!(pe->index[0] = wchild_new(b, seq, 0, root))) return HC_ERR_NOMEM;
  b->n++;
  return HC_OK;
}

static int append_header(hc_bee_batch *b) {
  bee_shared *sh = b->bee->sh;
  size_t len = hc_bee_header_encode(NULL, sh->hdr_has_cf ? sh->hdr_cf : NULL, sh->hdr_cf_len,
                                    sh->hdr_meta || sh->hdr_has_cf || sh->hdr_has_ud,
                                    sh->hdr_has_ud ? sh->hdr_ud : NULL, sh->hdr_ud_len);
  uint8_t *buf = malloc(len);
  if (!buf) return HC_ERR_NOMEM;
  hc_bee_header_encode(buf, sh->hdr_has_cf ? sh->hdr_cf : NULL, sh->hdr_cf_len,
                       sh->hdr_meta || sh->hdr_has_cf || sh->hdr_has_ud,
                       sh->hdr_has_ud ? sh->hdr_ud : NULL, sh->hdr_ud_len);
  hc_buf blk = {buf, len};
  int rc = hc_core_append(sh->core, &blk, 1, NULL, NULL);
  free(buf);
  return rc;
}

/* getRoot(true): an empty core gets its header first; pending seqs start after it. */
static int wprepare(hc_bee_batch *b) {
  sync_fork(b->bee->sh);
  if (b->n == 0) {
    if (hc_core_length(b->bee->sh->core) == 0) {
      int rc = append_header(b);
      if (rc) return rc;
    }
    b->base = hc_core_length(b->bee->sh->core);
  } else if (hc_core_length(b->bee->sh->core) != b->base) {
    return HC_ERR_BUSY; /* the core moved under a pending batch */
  }
  return HC_OK;
}

static int wput(hc_bee_batch *b, const uint8_t *key, size_t klen, const uint8_t *value,
                size_t vlen, bool has_value) {
  int rc = wprepare(b);
  if (rc) return rc;
  const uint8_t *k = adup(b, key, klen);
  const uint8_t *v = has_value ? adup(b, value, vlen) : NULL;
  if (!k || (has_value && !v)) return HC_ERR_NOMEM;
  wnode *root, *node;
  if ((rc = wget_root(b, &root))) return rc;
  if (!root && !(root = wnode_create(b))) return HC_ERR_NOMEM;
  node = root;
  uint64_t seq = b->base + b->n;
  wkey target = {seq, k, klen};
  wnode *stack[BEE_MAX_DEPTH + 1];
  size_t depth = 0;
  while (node->nc) {
    if (depth >= BEE_MAX_DEPTH) return HC_ERR_BEE_CORRUPT;
    stack[depth++] = node;
    node->changed = true;
    bool found;
    size_t i;
    if ((rc = wsearch(b, node, k, klen, &found, &i))) return rc;
    if (found) {
      node->keys[i] = target;
      return wappend(b, root, seq, k, klen, v, vlen, has_value);
    }
    if ((rc = wchild_node(b, node, i, &node))) return rc;
  }
  bool fits;
  if ((rc = winsert_key(b, node, target, NULL, &fits))) return rc;
  while (!fits) {
    wnode *parent = depth ? stack[--depth] : NULL;
    wkey median;
    wnode *right;
    if ((rc = wsplit(b, node, &median, &right))) return rc;
    if (parent) {
      if ((rc = winsert_key(b, parent, median, right, &fits))) return rc;
      node = parent;
    } else {
      wnode *nr = wnode_create(b);
      wchild *c0 = wchild_new(b, 0, 0, node), *c1 = wchild_new(b, 0, 0, right);
      if (!nr || !c0 || !c1) return HC_ERR_NOMEM;
      if ((rc = keys_insert(b, nr, 0, median)) || (rc = ch_insert(b, nr, 0, c0)) ||
          (rc = ch_insert(b, nr, 1, c1)))
        return rc;
      root = nr;
      fits = true;
    }
  }
  return wappend(b, root, seq, k, klen, v, vlen, has_value);
}

static int leaf_size(hc_bee_batch *b, wnode *n, bool go_left, size_t *size) {
  for (int d = 0; n->nc; d++) {
    if (d > BEE_MAX_DEPTH) return HC_ERR_BEE_CORRUPT;
    int rc = wchild_node(b, n, go_left ? 0 : n->nc - 1, &n);
    if (rc) return rc;
  }
  *size = n->nk;
  return HC_OK;
}

/* setKeyToNearestLeaf: the deleted internal key is replaced by its neighbour in the leaf with
 * more keys; that leaf's path joins the stack. */
static int wnearest_leaf(hc_bee_batch *b, wnode *n, size_t index, wnode **stack, size_t *depth) {
  wnode *left, *right;
  int rc;
  if ((rc = wchild_node(b, n, index, &left)) || (rc = wchild_node(b, n, index + 1, &right)))
    return rc;
  size_t ls, rs;
  if ((rc = leaf_size(b, left, false, &ls)) || (rc = leaf_size(b, right, true, &rs))) return rc;
  wnode *x = ls < rs ? right : left;
  for (;;) {
    if (*depth >= BEE_MAX_DEPTH) return HC_ERR_BEE_CORRUPT;
    stack[(*depth)++] = x;
    if (!x->nc) break;
    x = ls < rs ? x->ch[0]->value : x->ch[x->nc - 1]->value;
  }
  if (!x->nk) return HC_ERR_BEE_CORRUPT;
  n->keys[index] = ls < rs ? keys_remove(x, 0) : x->keys[--x->nk];
  return HC_OK;
}

/* TreeNode.removeKey */
static void wremove_key(wnode *n, size_t index) {
  keys_remove(n, index);
  if (n->nc) {
    n->ch[index + 1]->seq = 0; /* freed: dropped from earlier blocks of the batch */
    ch_remove(n, index + 1);
  }
  n->changed = true;
}

/* rebalance: borrow from or merge with a sibling up the stack; *out gets the new root. */
static int wrebalance(hc_bee_batch *b, wnode **stack, size_t depth, wnode **out) {
  wnode *root = stack[0];
  int rc;
  *out = root;
  while (depth > 1) {
    wnode *node = stack[--depth], *parent = stack[depth - 1];
    if (node->nk >= BEE_MIN_KEYS) return HC_OK;
    size_t index = parent->nc;
    for (size_t i = 0; i < parent->nc; i++)
      if (parent->ch[i]->value == node) index = i;
    if (index == parent->nc) return HC_ERR_BEE_CORRUPT; /* "Bad parent" */
    wnode *left = NULL, *right = NULL;
    if (index && (rc = wchild_node(b, parent, index - 1, &left))) return rc;
    if (index + 1 < parent->nc && (rc = wchild_node(b, parent, index + 1, &right))) return rc;
    if (left && left->nk > BEE_MIN_KEYS) {
      left->changed = true;
      if ((rc = keys_insert(b, node, 0, parent->keys[index - 1]))) return rc;
      if (left->nc && (rc = ch_insert(b, node, 0, left->ch[--left->nc]))) return rc;
      parent->keys[index - 1] = left->keys[--left->nk];
      return HC_OK;
    }
    if (right && right->nk > BEE_MIN_KEYS) {
      right->changed = true;
      if ((rc = keys_insert(b, node, node->nk, parent->keys[index]))) return rc;
      if (right->nc && (rc = ch_insert(b, node, node->nc, ch_remove(right, 0)))) return rc;
      parent->keys[index] = keys_remove(right, 0);
      return HC_OK;
    }
    if (left) {
      index--;
      right = node;
    } else {
      left = node;
    }
    if (!right) return HC_ERR_BEE_CORRUPT; /* a lone child */
    left->changed = true;
    if ((rc = keys_insert(b, left, left->nk, parent->keys[index]))) return rc;
    for (size_t i = 0; i < right->nk; i++)
      if ((rc = keys_insert(b, left, left->nk, right->keys[i]))) return rc;
    for (size_t i = 0; i < right->nc; i++)
      if ((rc = ch_insert(b, left, left->nc, right->ch[i]))) return rc;
    wremove_key(parent, index);
  }
  if (!root->nk && root->nc) return wchild_node(b, root, 0, out);
  return HC_OK;
}

static int wdel(hc_bee_batch *b, const uint8_t *key, size_t klen, bool *deleted) {
  *deleted = false;
  int rc = wprepare(b);
  if (rc) return rc;
  wnode *node;
  if ((rc = wget_root(b, &node))) return rc;
  if (!node) return HC_OK;
  uint64_t seq = b->base + b->n;
  wnode *stack[2 * BEE_MAX_DEPTH + 2];
  size_t depth = 0;
  for (;;) {
    if (depth >= BEE_MAX_DEPTH) return HC_ERR_BEE_CORRUPT;
    stack[depth++] = node;
    bool found;
    size_t i;
    if ((rc = wsearch(b, node, key, klen, &found, &i))) return rc;
    if (found) {
      if (node->nc) rc = wnearest_leaf(b, node, i, stack, &depth);
      else wremove_key(node, i);
      if (rc) return rc;
      for (size_t j = 0; j < depth; j++) stack[j]->changed = true;
      wnode *root;
      if ((rc = wrebalance(b, stack, depth, &root))) return rc;
      const uint8_t *k = adup(b, key, klen);
      if (!k) return HC_ERR_NOMEM;
      *deleted = true;
      return wappend(b, root, seq, k, klen, NULL, 0, false);
    }
    if (!node->nc) return HC_OK;
    if ((rc = wchild_node(b, node, i, &node))) return rc;
  }
}

/* toBlocks: every pending entry but the last keeps only the nodes no later entry rewrote
 * (swap-remove compaction, as the reference), then all are encoded. */
static void wcompact(pentry *pe) {
  pe->index[0] = NULL;
  size_t j = 0;
  while (j < pe->nindex) {
    wchild *c = pe->index[j];
    if (c && c->seq == pe->seq) {
      c->offset = j++;
      continue;
    }
    if (j == pe->nindex - 1) pe->nindex--;
    else pe->index[j] = pe->index[--pe->nindex];
  }
}

static int wencode(hc_bee_batch *b, const pentry *pe, hc_buf *out) {
  hc_bee_level *levels = aalloc(b, (pe->nindex + 1) * sizeof(*levels));
  if (!levels) return HC_ERR_NOMEM;
  for (size_t i = 0; i < pe->nindex; i++) {
    const wnode *n = pe->index[i]->value;
    uint64_t *keys = aalloc(b, (n->nk + 1) * sizeof(uint64_t));
    uint64_t *ch = aalloc(b, (2 * n->nc + 1) * sizeof(uint64_t));
    if (!keys || !ch) return HC_ERR_NOMEM;
    for (size_t k = 0; k < n->nk; k++) keys[k] = n->keys[k].seq;
    for (size_t c = 0; c < n->nc; c++) {
      ch[2 * c] = n->ch[c]->seq;
      ch[2 * c + 1] = n->ch[c]->offset;
    }
    levels[i] = (hc_bee_level){keys, n->nk, ch, n->nc};
  }
  size_t ilen = hc_bee_index_encode(NULL, levels, pe->nindex);
  uint8_t *index = aalloc(b, ilen + 1);
  if (!index) return HC_ERR_NOMEM;
  hc_bee_index_encode(index, levels, pe->nindex);
  size_t len = hc_bee_node_encode(NULL, index, ilen, pe->key, pe->klen, pe->value, pe->vlen,
                                  pe->has_value);
  uint8_t *buf = aalloc(b, len);
  if (!buf) return HC_ERR_NOMEM;
  hc_bee_node_encode(buf, index, ilen, pe->key, pe->klen, pe->value, pe->vlen, pe->has_value);
  out->data = buf;
  out->len = len;
  return HC_OK;
}

static void batch_reset(hc_bee_batch *b) {
  arena_free(b);
  b->entries = NULL;
  b->n = b->cap = 0;
}

int hc_bee_batch_new(hc_bee *bee, hc_bee_batch **out) {
  *out = NULL;
  if (bee->checkout) return HC_ERR_NOT_WRITABLE;
  if (!hc_core_writable(bee->sh->core)) return HC_ERR_NOT_WRITABLE;
  hc_bee_batch *b = calloc(1, sizeof(*b));
  if (!b) return HC_ERR_NOMEM;
  b->bee = bee;
  *out = b;
  return HC_OK;
}

void hc_bee_batch_free(hc_bee_batch *b) {
  if (!b) return;
  batch_reset(b);
  free(b);
}

/* A failed operation leaves the in-memory tree half changed: the batch is dropped. */
static int batch_op_done(hc_bee_batch *b, int rc) {
  if (rc) batch_reset(b);
  return rc;
}

int hc_bee_batch_put(hc_bee_batch *b, const uint8_t *key, size_t key_len, const uint8_t *value,
                     size_t value_len) {
  uint8_t *fk;
  int rc = full_key(b->bee, key, key_len, &fk);
  if (rc) return rc;
  rc = wput(b, fk, b->bee->prefix_len + key_len, value, value_len, value != NULL);
  free(fk);
  return batch_op_done(b, rc);
}

int hc_bee_batch_del(hc_bee_batch *b, const uint8_t *key, size_t key_len) {
  uint8_t *fk;
  int rc = full_key(b->bee, key, key_len, &fk);
  if (rc) return rc;
  bool deleted;
  rc = wdel(b, fk, b->bee->prefix_len + key_len, &deleted);
  free(fk);
  return batch_op_done(b, rc);
}

int hc_bee_batch_flush(hc_bee_batch *b, uint64_t *version) {
  int rc = HC_OK;
  if (b->n) {
    if (hc_core_length(b->bee->sh->core) != b->base) {
      batch_reset(b);
      return HC_ERR_BUSY;
    }
    hc_buf *blocks = aalloc(b, b->n * sizeof(hc_buf));
    if (!blocks) rc = HC_ERR_NOMEM;
    for (size_t i = 0; rc == HC_OK && i < b->n; i++) {
      if (i + 1 < b->n) wcompact(&b->entries[i]);
      rc = wencode(b, &b->entries[i], &blocks[i]);
    }
    if (rc == HC_OK) rc = hc_core_append(b->bee->sh->core, blocks, b->n, NULL, NULL);
    batch_reset(b);
  }
  if (version) *version = hc_bee_version(b->bee);
  return rc;
}

int hc_bee_put(hc_bee *bee, const uint8_t *key, size_t key_len, const uint8_t *value,
               size_t value_len, uint64_t *version) {
  hc_bee_batch *b;
  int rc = hc_bee_batch_new(bee, &b);
  if (rc) return rc;
  if ((rc = hc_bee_batch_put(b, key, key_len, value, value_len)) == HC_OK)
    rc = hc_bee_batch_flush(b, version);
  hc_bee_batch_free(b);
  return rc;
}

int hc_bee_del(hc_bee *bee, const uint8_t *key, size_t key_len, uint64_t *version) {
  hc_bee_batch *b;
  int rc = hc_bee_batch_new(bee, &b);
  if (rc) return rc;
  if ((rc = hc_bee_batch_del(b, key, key_len)) == HC_OK) rc = hc_bee_batch_flush(b, version);
  hc_bee_batch_free(b);
  return rc;
}
