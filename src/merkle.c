/* The Merkle tree of a core: state, node lookup (unflushed set, cache, `tree` file), batches,
 * truncation, flush, byte offsets and seeking. Proofs live in merkle_proof.c. */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "flat_tree.h"
#include "grow.h"

/* The read cache of the `tree` file. A random read walks ~log2(length) nodes (byte offsets),
 * so two parts:
 *  - nodes of depth >= CHUNK_DEPTH: few and shared by every walk; a hashed direct-mapped table
 *    (a plain `index & mask` would put every high node in the same slot);
 *  - below: slots are read CHUNK_SLOTS at a time. Chunk c holds slots [c*128, c*128+128), which
 *    is exactly the depth-6 subtree rooted at c*128+63 (plus one slot), so all the low nodes of
 *    a walk come from one read.
 * Memory is bounded (about 1.6 MB at most) and follows the core: the node table starts small
 * and doubles as the tree grows, chunks are allocated when first read, so a store keeping
 * hundreds of small cores open pays a few KB for each, not 1.6 MB. */
#ifndef HC_MERKLE_NODE_SETS
#define HC_MERKLE_NODE_SETS 8192
#endif
#ifndef HC_MERKLE_CHUNK_SHIFT
#define HC_MERKLE_CHUNK_SHIFT 7
#endif
#define NODE_SETS HC_MERKLE_NODE_SETS
#define NODE_WAYS 4
#define NODE_SLOTS (NODE_SETS * NODE_WAYS)
#define CHUNK_SHIFT HC_MERKLE_CHUNK_SHIFT
#define CHUNK_SLOTS (1u << CHUNK_SHIFT)
#define CHUNKS 16
#define CHUNK_BYTES (CHUNK_SLOTS * HC_TREE_SLOT_BYTES)

typedef struct node_val {
  uint64_t size;
  uint8_t hash[HC_HASH_BYTES];
} node_val;

#define MIN_NODE_SETS 16

struct hc_merkle_cache {
  size_t sets;     /* power of two, MIN_NODE_SETS..NODE_SETS */
  uint64_t *keys;  /* sets * NODE_WAYS: index + 1, 0 = empty */
  node_val *vals;  /* sets * NODE_WAYS, valid where keys[] is set */
  uint64_t chunk_ids[CHUNKS]; /* chunk + 1, 0 = empty */
  uint8_t *chunks[CHUNKS];    /* CHUNK_BYTES each, allocated on first use */
};

static const uint8_t OLD_TREE[15] = {0x05, 0x02, 0x57, 0x02, 0x00, 0x00, 0x28, 0x07,
                                     0x42, 0x4c, 0x41, 0x4b, 0x45, 0x32, 0x62};
static const uint8_t ZERO_HASH[HC_HASH_BYTES];

/* ---- node map: open addressing on index+1 (0 = empty) ---- */

struct hc_node_map {
  uint64_t *keys;
  hc_node *vals;
  size_t cap, count;
  /* insertion order, for flushing in a stable order */
};

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

static hc_node_map *map_new(void) {
  hc_node_map *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->cap = 64;
  m->keys = calloc(m->cap, sizeof *m->keys);
  m->vals = calloc(m->cap, sizeof *m->vals);
  if (!m->keys || !m->vals) {
    free(m->keys);
    free(m->vals);
    free(m);
    return NULL;
  }
  return m;
}

static void map_free(hc_node_map *m) {
  if (!m) return;
  free(m->keys);
  free(m->vals);
  free(m);
}

static const hc_node *map_get(const hc_node_map *m, uint64_t index) {
  size_t mask = m->cap - 1, i = (size_t)mix(index) & mask;
  while (m->keys[i]) {
    if (m->keys[i] == index + 1) return &m->vals[i];
    i = (i + 1) & mask;
  }
  return NULL;
}

static int map_put(hc_node_map *m, const hc_node *n);

static int map_grow(hc_node_map *m, size_t cap) {
  uint64_t *ok = m->keys;
  hc_node *ov = m->vals;
  size_t ocap = m->cap;
  uint64_t *nk = calloc(cap, sizeof *nk);
  hc_node *nv = calloc(cap, sizeof *nv);
  if (!nk || !nv) {
    free(nk);
    free(nv);
    return HC_ERR_NOMEM;
  }
  m->keys = nk;
  m->vals = nv;
  m->cap = cap;
  m->count = 0;
  for (size_t i = 0; i < ocap; i++)
    if (ok[i]) map_put(m, &ov[i]);
  free(ok);
  free(ov);
  return HC_OK;
}

static int map_put(hc_node_map *m, const hc_node *n) {
  /* 7/8 full before doubling: the mix spreads tree indexes well, and a 100-block core's 199
   * unflushed nodes then fit 256 slots instead of 512 (12 KB less per open core) */
  if ((m->count + 1) * 8 > m->cap * 7) {
    int rc = map_grow(m, m->cap * 2);
    if (rc) return rc;
  }
  size_t mask = m->cap - 1, i = (size_t)mix(n->index) & mask;
  while (m->keys[i] && m->keys[i] != n->index + 1) i = (i + 1) & mask;
  if (!m->keys[i]) m->count++;
  m->keys[i] = n->index + 1;
  m->vals[i] = *n;
  return HC_OK;
}

/* Keeps only nodes with index < limit. */
static int map_truncate(hc_node_map *m, uint64_t limit) {
  size_t keep = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] && m->keys[i] - 1 < limit) keep++;
  if (keep == m->count) return HC_OK;
  hc_node *tmp = malloc((keep ? keep : 1) * sizeof *tmp);
  if (!tmp) return HC_ERR_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] && m->keys[i] - 1 < limit) tmp[k++] = m->vals[i];
  memset(m->keys, 0, m->cap * sizeof *m->keys);
  m->count = 0;
  for (size_t i = 0; i < k; i++) map_put(m, &tmp[i]);
  free(tmp);
  return HC_OK;
}

static void map_clear(hc_node_map *m) {
  memset(m->keys, 0, m->cap * sizeof *m->keys);
  m->count = 0;
}

int hc__node_cmp(const void *a, const void *b);

static bool is_blank(const hc_node *n) {
  return n->size == 0 && memcmp(n->hash, ZERO_HASH, HC_HASH_BYTES) == 0;
}

/* ---- read cache ---- */

/* Depth 0..5 come from chunks: a walk that reaches a depth-6 node stays in its chunk. Depth-6
 * nodes are in the node table: a walk going right at depth 7 needs the left one, which is in
 * the neighbouring chunk. */
static bool in_chunks(uint64_t index) { return (~index & ((1u << (CHUNK_SHIFT - 1)) - 1)) != 0; }

static unsigned node_depth(uint64_t index) { return (unsigned)__builtin_ctzll(~index); }

/* First slot of the set of `index` (NODE_WAYS slots). */
static size_t node_set(const struct hc_merkle_cache *c, uint64_t index) {
  return ((size_t)mix(index) & (c->sets - 1)) * NODE_WAYS;
}

/* The slot holding `index`, or SIZE_MAX. */
static size_t node_find(const hc_merkle *m, uint64_t index) {
  size_t s = node_set(m->cache, index);
  for (size_t w = 0; w < NODE_WAYS; w++)
    if (m->cache->keys[s + w] == index + 1) return s + w;
  return SIZE_MAX;
}

static size_t chunk_slot(uint64_t chunk) { return (size_t)(chunk & (CHUNKS - 1)); }

static void cache_clear(hc_merkle *m) {
  memset(m->cache->keys, 0, m->cache->sets * NODE_WAYS * sizeof *m->cache->keys);
  memset(m->cache->chunk_ids, 0, sizeof m->cache->chunk_ids);
}

/* Node-table sets for a tree of `length` blocks: about length/32 nodes of depth >= 6, four
 * per set. */
static size_t sets_for(uint64_t length) {
  size_t sets = MIN_NODE_SETS;
  while (sets < NODE_SETS && (uint64_t)sets * 128 < length) sets *= 2;
  return sets;
}

/* Swaps in an empty node table of `sets` sets (a cache: its contents may be dropped). */
static int cache_resize(struct hc_merkle_cache *c, size_t sets) {
  uint64_t *keys = calloc(sets * NODE_WAYS, sizeof *keys);
  node_val *vals = malloc(sets * NODE_WAYS * sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return HC_ERR_NOMEM;
  }
  free(c->keys);
  free(c->vals);
  c->keys = keys;
  c->vals = vals;
  c->sets = sets;
  return HC_OK;
}

static void cache_free(struct hc_merkle_cache *c) {
  if (!c) return;
  free(c->keys);
  free(c->vals);
  for (size_t i = 0; i < CHUNKS; i++) free(c->chunks[i]);
  free(c);
}

static void cache_forget(hc_merkle *m, uint64_t index) {
  size_t s = node_find(m, index);
  if (s != SIZE_MAX) m->cache->keys[s] = 0;
}

/* Inserts or updates; a full set evicts its lowest node (high nodes serve every walk). */
static void cache_put_node(hc_merkle *m, const hc_node *n) {
  if (m->cache->sets < NODE_SETS && sets_for(m->length) > m->cache->sets)
    cache_resize(m->cache, sets_for(m->length)); /* the tree grew; on failure keep the old */
  size_t s = node_find(m, n->index);
  if (s == SIZE_MAX) {
    size_t base = node_set(m->cache, n->index);
    unsigned low = UINT32_MAX;
    for (size_t w = 0; w < NODE_WAYS; w++) {
      uint64_t k = m->cache->keys[base + w];
      if (!k) {
        s = base + w;
        break;
      }
      unsigned d = node_depth(k - 1);
      if (d < low) {
        low = d;
        s = base + w;
      }
    }
    if (m->cache->keys[s] && low > node_depth(n->index)) return; /* all more useful */
  }
  m->cache->keys[s] = n->index + 1;
  m->cache->vals[s].size = n->size;
  memcpy(m->cache->vals[s].hash, n->hash, HC_HASH_BYTES);
}

static void slot_to_node(const uint8_t *slot, uint64_t index, hc_node *out) {
  out->index = index;
  out->size = hc_get_u64le(slot);
  memcpy(out->hash, slot + 8, HC_HASH_BYTES);
}

/* The cached slot bytes of `index`, or NULL. */
static const uint8_t *cached_slot(const hc_merkle *m, uint64_t index) {
  uint64_t c = index >> CHUNK_SHIFT;
  size_t s = chunk_slot(c);
  if (m->cache->chunk_ids[s] != c + 1) return NULL; /* (never set without its buffer) */
  return m->cache->chunks[s] + (size_t)(index & (CHUNK_SLOTS - 1)) * HC_TREE_SLOT_BYTES;
}

/* Keeps cached chunks in step with slots written to the file. */
static void cache_write_slots(hc_merkle *m, uint64_t first, const uint8_t *buf, size_t n) {
  while (n > 0) {
    uint64_t c = first >> CHUNK_SHIFT;
    size_t off = (size_t)(first & (CHUNK_SLOTS - 1));
    size_t k = CHUNK_SLOTS - off < n ? CHUNK_SLOTS - off : n;
    size_t s = chunk_slot(c);
    if (m->cache->chunk_ids[s] == c + 1)
      memcpy(m->cache->chunks[s] + off * HC_TREE_SLOT_BYTES, buf, k * HC_TREE_SLOT_BYTES);
    first += k;
    buf += k * HC_TREE_SLOT_BYTES;
    n -= k;
  }
}

/* ---- tree ---- */

int hc_merkle_init(hc_merkle *m, hc_storage *file) {
  memset(m, 0, sizeof *m);
  m->file = file;
  uint8_t head[15];
  int rc = hc_storage_read(file, 0, head, sizeof head);
  if (rc == HC_OK && memcmp(head, OLD_TREE, sizeof head) == 0) return HC_ERR_INCOMPATIBLE;
  if (rc && rc != HC_ERR_SHORT_READ) return rc;
  m->unflushed = map_new();
  m->cache = calloc(1, sizeof *m->cache);
  if (m->cache && cache_resize(m->cache, MIN_NODE_SETS)) {
    free(m->cache);
    m->cache = NULL;
  }
  if (!m->unflushed || !m->cache) {
    hc_merkle_cleanup(m);
    return HC_ERR_NOMEM;
  }
  return HC_OK;
}

void hc_merkle_cleanup(hc_merkle *m) {
  map_free(m->unflushed);
  cache_free(m->cache);
  free(m->signature);
  m->unflushed = NULL;
  m->cache = NULL;
  m->signature = NULL;
}

static int set_signature(uint8_t **dst, size_t *dlen, const uint8_t *sig, size_t len) {
  uint8_t *copy = NULL;
  if (sig && len) {
    copy = malloc(len);
    if (!copy) return HC_ERR_NOMEM;
    memcpy(copy, sig, len);
  }
  free(*dst);
  *dst = copy;
  *dlen = copy ? len : 0;
  return HC_OK;
}

int hc_merkle_add_node(hc_merkle *m, const hc_node *node) {
  /* the unflushed set shadows the file (and so both caches) until the flush; only high nodes
   * ever enter the node table */
  if (!in_chunks(node->index)) cache_forget(m, node->index);
  return map_put(m->unflushed, node);
}

int hc_merkle_get(hc_merkle *m, uint64_t index, hc_node *out) {
  if (m->unflushed->count) {
    const hc_node *n = map_get(m->unflushed, index);
    if (n) {
      if (is_blank(n)) return HC_ERR_NOT_FOUND;
      *out = *n;
      return HC_OK;
    }
  }
  /* A pending truncation hides everything past it in the file. */
  if (m->truncated && index >= 2 * m->truncate_to) return HC_ERR_NOT_FOUND;
  if (index > UINT64_MAX / HC_TREE_SLOT_BYTES - CHUNK_SLOTS) return HC_ERR_NOT_FOUND;
  struct hc_merkle_cache *c = m->cache;
  const uint8_t *slot = cached_slot(m, index);
  if (!slot && in_chunks(index)) {
    /* read the whole chunk: the rest of this walk (and its neighbours) need it */
    uint64_t ch = index >> CHUNK_SHIFT;
    size_t s = chunk_slot(ch);
    c->chunk_ids[s] = 0;
    if (!c->chunks[s]) c->chunks[s] = malloc(CHUNK_BYTES); /* NULL: read the slot alone */
    if (c->chunks[s]) {
      int rc = hc_storage_read(m->file, ch * CHUNK_BYTES, c->chunks[s], CHUNK_BYTES);
      if (rc && rc != HC_ERR_SHORT_READ) return rc; /* past the end reads as zeros (blank) */
      c->chunk_ids[s] = ch + 1;
      slot = cached_slot(m, index);
    }
  }
  if (slot) {
    slot_to_node(slot, index, out);
    return is_blank(out) ? HC_ERR_NOT_FOUND : HC_OK;
  }
  size_t ns = node_find(m, index);
  if (ns != SIZE_MAX) {
    out->index = index;
    out->size = c->vals[ns].size;
    memcpy(out->hash, c->vals[ns].hash, HC_HASH_BYTES);
    return HC_OK;
  }
  uint8_t buf[HC_TREE_SLOT_BYTES];
  int rc = hc_storage_read(m->file, index * HC_TREE_SLOT_BYTES, buf, sizeof buf);
  if (rc == HC_ERR_SHORT_READ) return HC_ERR_NOT_FOUND;
  if (rc) return rc;
  slot_to_node(buf, index, out);
  if (is_blank(out)) return HC_ERR_NOT_FOUND;
  cache_put_node(m, out);
  return HC_OK;
}

bool hc_merkle_has(hc_merkle *m, uint64_t index) {
  hc_node n;
  return hc_merkle_get(m, index, &n) == HC_OK;
}

int hc_merkle_get_roots(hc_merkle *m, uint64_t length, hc_node *roots, size_t *n) {
  uint64_t idx[HC_MAX_ROOTS];
  size_t k = hc_ft_full_roots(length, idx);
  size_t r = 0;
  for (size_t i = 0; i < k; i++) {
    /* reuse the current roots when they match (no I/O) */
    while (r < m->nroots && m->roots[r].index < idx[i]) r++;
    if (r < m->nroots && m->roots[r].index == idx[i]) {
      roots[i] = m->roots[r];
      continue;
    }
    int rc = hc_merkle_get(m, idx[i], &roots[i]);
    if (rc == HC_ERR_NOT_FOUND) return HC_ERR_CORRUPT;
    if (rc) return rc;
  }
  *n = k;
  return HC_OK;
}

int hc_merkle_set_head(hc_merkle *m, uint64_t length, uint64_t fork, const uint8_t *sig,
                       size_t siglen) {
  hc_node roots[HC_MAX_ROOTS];
  size_t n = 0;
  m->nroots = 0; /* force loading from nodes */
  int rc = hc_merkle_get_roots(m, length, roots, &n);
  if (rc) return rc;
  rc = set_signature(&m->signature, &m->signature_len, sig, siglen);
  if (rc) return rc;
  memcpy(m->roots, roots, n * sizeof *roots);
  m->nroots = n;
  m->length = length;
  m->fork = fork;
  m->byte_length = 0;
  for (size_t i = 0; i < n; i++) m->byte_length += roots[i].size;
  return HC_OK;
}

void hc_merkle_hash(const hc_merkle *m, uint8_t out[HC_HASH_BYTES]) {
  hc_crypto_tree(out, m->roots, m->nroots);
}

int hc_merkle_byte_offset(hc_merkle *m, uint64_t index, uint64_t *out) {
  if (index == 2 * m->length) {
    *out = m->byte_length;
    return HC_OK;
  }
  if (index > 2 * m->length) return HC_ERR_OUT_OF_RANGE;
  if (index & 1) index = hc_ft_left_span(index);
  uint64_t head = 0, offset = 0;
  for (size_t r = 0; r < m->nroots; r++) {
    const hc_node *root = &m->roots[r];
    head += 2 * ((root->index - head) + 1);
    if (index >= head) {
      offset += root->size;
      continue;
    }
    hc_ft_iter it;
    hc_ft_iter_seek(&it, root->index);
    while (it.index != index) {
      if (index < it.index) {
        hc_ft_iter_left_child(&it);
      } else {
        hc_node l;
        int rc = hc_merkle_get(m, hc_ft_iter_left_child(&it), &l);
        if (rc == HC_ERR_NOT_FOUND) return HC_ERR_CORRUPT;
        if (rc) return rc;
        offset += l.size;
        hc_ft_iter_sibling(&it);
      }
    }
    *out = offset;
    return HC_OK;
  }
  return HC_ERR_OUT_OF_RANGE;
}

static uint64_t unpadded(const hc_node *n, uint64_t padding, uint64_t leaves) {
  return n->size - padding * leaves;
}

int hc_merkle_seek(hc_merkle *m, uint64_t bytes, uint64_t padding, uint64_t *block,
                   uint64_t *offset) {
  if (bytes == 0) {
    if (m->length == 0) return HC_ERR_OUT_OF_RANGE;
    *block = 0;
    *offset = 0;
    return HC_OK;
  }
  for (size_t r = 0; r < m->nroots; r++) {
    const hc_node *root = &m->roots[r];
    uint64_t size = unpadded(root, padding, hc_ft_count_leaves(root->index));
    if (bytes == size) {
      *block = (hc_ft_right_span(root->index) + 2) / 2;
      *offset = 0;
      return *block < m->length ? HC_OK : HC_ERR_OUT_OF_RANGE;
    }
    if (bytes > size) {
      bytes -= size;
      continue;
    }
    hc_ft_iter it;
    hc_ft_iter_seek(&it, root->index);
    while (it.index & 1) {
      hc_node l;
      int rc = hc_merkle_get(m, hc_ft_iter_left_child(&it), &l);
      if (rc == HC_ERR_NOT_FOUND) return HC_ERR_NOT_AVAILABLE;
      if (rc) return rc;
      uint64_t ls = unpadded(&l, padding, hc_ft_iter_count_leaves(&it));
      if (ls == bytes) {
        *block = (hc_ft_iter_right_span(&it) + 2) / 2;
        *offset = 0;
        return HC_OK;
      }
      if (ls > bytes) continue;
      bytes -= ls;
      hc_ft_iter_sibling(&it);
    }
    *block = it.index / 2;
    *offset = bytes;
    return HC_OK;
  }
  return HC_ERR_OUT_OF_RANGE;
}

/* Writes the slots of the unflushed nodes, one write per run of consecutive indices. */
static int write_run(hc_merkle *m, uint64_t first, const uint8_t *slots, size_t n) {
  int rc = hc_storage_write(m->file, first * HC_TREE_SLOT_BYTES, slots, n * HC_TREE_SLOT_BYTES);
  if (rc == HC_OK) cache_write_slots(m, first, slots, n);
  return rc;
}

static void put_slot(uint8_t *s, const hc_node *n) {
  hc_put_u64le(s, n->size);
  memcpy(s + 8, n->hash, HC_HASH_BYTES);
}

/* Nodes spread over a window not much larger than their count (every append batch): lay the
 * slots out in the window directly, no sort. */
static int flush_dense(hc_merkle *m, uint64_t lo, size_t span) {
  hc_node_map *u = m->unflushed;
  uint8_t *buf = malloc(span * (HC_TREE_SLOT_BYTES + 1));
  if (!buf) return HC_ERR_NOMEM;
  uint8_t *present = buf + span * HC_TREE_SLOT_BYTES;
  memset(present, 0, span);
  for (size_t i = 0; i < u->cap; i++) {
    if (!u->keys[i]) continue;
    size_t x = (size_t)(u->keys[i] - 1 - lo);
    put_slot(buf + x * HC_TREE_SLOT_BYTES, &u->vals[i]);
    present[x] = 1;
  }
  int rc = HC_OK;
  for (size_t x = 0; x < span && rc == HC_OK;) {
    if (!present[x]) {
      x++;
      continue;
    }
    size_t y = x + 1;
    while (y < span && present[y]) y++;
    rc = write_run(m, lo + x, buf + x * HC_TREE_SLOT_BYTES, y - x);
    x = y;
  }
  free(buf);
  return rc;
}

/* Sparse nodes (e.g. from proofs): sort them. */
static int flush_sorted(hc_merkle *m) {
  hc_node_map *u = m->unflushed;
  hc_node *nodes = malloc(u->count * sizeof *nodes);
  uint8_t *buf = malloc(u->count * HC_TREE_SLOT_BYTES);
  if (!nodes || !buf) {
    free(nodes);
    free(buf);
    return HC_ERR_NOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < u->cap; i++)
    if (u->keys[i]) nodes[k++] = u->vals[i];
  qsort(nodes, k, sizeof *nodes, hc__node_cmp);
  int rc = HC_OK;
  size_t i = 0;
  while (i < k && rc == HC_OK) {
    size_t j = i;
    while (j + 1 < k && nodes[j + 1].index == nodes[j].index + 1) j++;
    for (size_t x = i; x <= j; x++) put_slot(buf + (x - i) * HC_TREE_SLOT_BYTES, &nodes[x]);
    rc = write_run(m, nodes[i].index, buf, j - i + 1);
    i = j + 1;
  }
  free(buf);
  free(nodes);
  return rc;
}

int hc_merkle_flush(hc_merkle *m) {
  int rc;
  if (m->truncated) {
    uint64_t t = m->truncate_to;
    cache_clear(m); /* cached chunks may hold slots past the new end */
    rc = hc_storage_truncate(m->file, t == 0 ? 0 : (2 * t - 1) * HC_TREE_SLOT_BYTES);
    if (rc) return rc;
    m->truncated = false;
    m->truncate_to = 0;
  }
  hc_node_map *u = m->unflushed;
  if (u->count == 0) return HC_OK;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < u->cap; i++) {
    if (!u->keys[i]) continue;
    uint64_t x = u->keys[i] - 1;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  uint64_t span = hi - lo + 1;
  if (span <= 4 * (uint64_t)u->count + 1024) rc = flush_dense(m, lo, (size_t)span);
  else rc = flush_sorted(m);
  if (rc != HC_OK) {
    cache_clear(m); /* unknown how much reached the file */
    return rc;
  }
  /* warm the node cache with the high nodes we wrote (chunks were patched as written) */
  for (size_t i = 0; i < u->cap; i++) {
    if (!u->keys[i] || in_chunks(u->keys[i] - 1)) continue;
    if (!is_blank(&u->vals[i])) cache_put_node(m, &u->vals[i]);
    else cache_forget(m, u->keys[i] - 1);
  }
  map_clear(u);
  return HC_OK;
}

int hc__node_cmp(const void *a, const void *b) {
  uint64_t x = ((const hc_node *)a)->index, y = ((const hc_node *)b)->index;
  return x < y ? -1 : x > y;
}

/* ---- batches ---- */

int hc_merkle_batch_init(hc_merkle_batch *b, hc_merkle *m) {
  memset(b, 0, sizeof *b);
  b->tree = m;
  b->fork = m->fork;
  b->length = m->length;
  b->ancestors = m->length;
  b->byte_length = m->byte_length;
  b->tree_length = m->length;
  b->tree_fork = m->fork;
  memcpy(b->roots, m->roots, m->nroots * sizeof *b->roots);
  b->nroots = m->nroots;
  return HC_OK;
}

void hc_merkle_batch_cleanup(hc_merkle_batch *b) {
  free(b->nodes);
  free(b->signature);
  b->nodes = NULL;
  b->signature = NULL;
  b->nnodes = b->nodes_cap = 0;
}

int hc_merkle_batch_push_node(hc_merkle_batch *b, const hc_node *node) {
  if (hc_grow((void **)&b->nodes, &b->nodes_cap, b->nnodes + 1, sizeof *b->nodes, 16))
    return HC_ERR_NOMEM;
  b->nodes[b->nnodes++] = *node;
  return HC_OK;
}

int hc_merkle_batch_append_root(hc_merkle_batch *b, const hc_node *node) {
  hc_ft_iter it;
  hc_ft_iter_seek(&it, node->index);
  if (b->nroots >= HC_MAX_ROOTS) return HC_ERR_INVALID_ARG;
  int rc = hc_merkle_batch_push_node(b, node);
  if (rc) return rc;
  b->upgraded = true;
  b->length += it.factor / 2;
  b->byte_length += node->size;
  b->roots[b->nroots++] = *node;
  while (b->nroots > 1) {
    hc_node *a = &b->roots[b->nroots - 1];
    hc_node *l = &b->roots[b->nroots - 2];
    if (hc_ft_iter_sibling(&it) != l->index) {
      hc_ft_iter_sibling(&it);
      break;
    }
    hc_node p;
    p.index = hc_ft_iter_parent(&it);
    p.size = a->size + l->size;
    hc_crypto_parent(p.hash, a, l);
    rc = hc_merkle_batch_push_node(b, &p);
    if (rc) return rc;
    b->nroots -= 2;
    b->roots[b->nroots++] = p;
  }
  return HC_OK;
}

int hc_merkle_batch_append_leaf(hc_merkle_batch *b, const uint8_t hash[HC_HASH_BYTES],
                                uint64_t size) {
  hc_node n;
  n.index = 2 * b->length;
  n.size = size;
  memcpy(n.hash, hash, HC_HASH_BYTES);
  return hc_merkle_batch_append_root(b, &n);
}

int hc_merkle_batch_append(hc_merkle_batch *b, const uint8_t *data, size_t len) {
  uint8_t h[HC_HASH_BYTES];
  hc_crypto_leaf(h, data, len);
  return hc_merkle_batch_append_leaf(b, h, len);
}

int hc_merkle_batch_get(hc_merkle_batch *b, uint64_t index, hc_node *out) {
  if (index >= 2 * b->length) return HC_ERR_NOT_FOUND;
  for (size_t i = b->nnodes; i-- > 0;) {
    if (b->nodes[i].index == index) {
      *out = b->nodes[i];
      return HC_OK;
    }
  }
  return hc_merkle_get(b->tree, index, out);
}

void hc_merkle_batch_hash(const hc_merkle_batch *b, uint8_t out[HC_HASH_BYTES]) {
  hc_crypto_tree(out, b->roots, b->nroots);
}

int hc_merkle_batch_set_signature(hc_merkle_batch *b, const uint8_t *sig, size_t len) {
  return set_signature(&b->signature, &b->signature_len, sig, len);
}

int hc_merkle_batch_truncate(hc_merkle_batch *b, uint64_t length, uint64_t fork) {
  hc_node roots[HC_MAX_ROOTS];
  size_t n;
  hc_merkle *m = b->tree;
  if (length > m->length) {
    /* replay of an upgrade past the current head: roots come from the node set */
    hc_merkle tmp = *m;
    tmp.nroots = 0;
    int rc = hc_merkle_get_roots(&tmp, length, roots, &n);
    if (rc) return rc;
  } else {
    int rc = hc_merkle_get_roots(m, length, roots, &n);
    if (rc) return rc;
  }
  memcpy(b->roots, roots, n * sizeof *roots);
  b->nroots = n;
  b->fork = fork;
  b->length = length;
  b->ancestors = length;
  b->byte_length = 0;
  for (size_t i = 0; i < n; i++) b->byte_length += roots[i].size;
  b->upgraded = true;
  return HC_OK;
}

int hc_merkle_batch_commit(hc_merkle_batch *b) {
  hc_merkle *m = b->tree;
  bool ok = b->tree_fork == m->fork &&
            (b->upgraded ? b->tree_length == m->length : b->tree_length <= m->length);
  if (!ok) return HC_ERR_BUSY;
  int rc;
  if (b->upgraded) {
    if (b->ancestors < b->tree_length) {
      if (b->ancestors > 0) {
        uint64_t head = 2 * b->ancestors;
        hc_ft_iter it;
        hc_ft_iter_seek(&it, head - 2);
        for (;;) {
          if (hc_ft_iter_contains(&it, head) && it.index < head) {
            hc_node blank = {it.index, 0, {0}};
            rc = hc_merkle_add_node(m, &blank);
            if (rc) return rc;
          }
          if (it.offset == 0) break;
          hc_ft_iter_parent(&it);
        }
      }
      m->truncate_to = m->truncated ? (m->truncate_to < b->ancestors ? m->truncate_to : b->ancestors)
                                    : b->ancestors;
      m->truncated = true;
      cache_clear(m);
      rc = map_truncate(m->unflushed, 2 * b->ancestors);
      if (rc) return rc;
    }
    rc = set_signature(&m->signature, &m->signature_len, b->signature, b->signature_len);
    if (rc) return rc;
    memcpy(m->roots, b->roots, b->nroots * sizeof *b->roots);
    m->nroots = b->nroots;
    m->length = b->length;
    m->byte_length = b->byte_length;
    m->fork = b->fork;
  }
  for (size_t i = 0; i < b->nnodes; i++) {
    rc = hc_merkle_add_node(m, &b->nodes[i]);
    if (rc) return rc;
  }
  return HC_OK;
}
