/* Proof generation and verification for the Merkle tree: a line-by-line translation of
 * generateProof / verifyTree / verifyUpgrade / missingNodes in the reference's
 * lib/merkle-tree.js (hypercore 10.38.2), so the node order and selection are identical.
 *
 * Differences from the reference, all on inputs the reference mishandles:
 * - walks up to a root are bounded (the reference can loop forever on some hash+seek+upgrade
 *   requests); such requests give HC_ERR_INVALID_ARG;
 * - untrusted node indices/sizes and upgrade lengths are bounded (HC_LIMIT_*) so no flat-tree
 *   arithmetic can overflow; larger values give HC_ERR_BAD_PROOF;
 * - a proof whose upgrade adds nothing still has its signature checked. */
#include <stdlib.h>
#include <string.h>

#include "flat_tree.h"
#include "grow.h"
#include "merkle.h"

/* No real tree comes near these (the reference uses JS numbers, exact below 2^53). */
#define HC_LIMIT_INDEX ((uint64_t)1 << 58)
#define HC_LIMIT_SIZE ((uint64_t)1 << 56)
#define HC_LIMIT_LENGTH ((uint64_t)1 << 56)

/* ---------------------------------------------------------------------------------------- */
/* proof generation                                                                          */

/* A growable list of nodes; `set` distinguishes the reference's null from []. */
typedef struct nlist {
  hc_node *v;
  size_t n, cap;
  bool set;
} nlist;

static int nlist_push(nlist *l, const hc_node *node) {
  if (hc_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v, 8)) return HC_ERR_NOMEM;
  l->v[l->n++] = *node;
  return HC_OK;
}

/* p.x = [] */
static void nlist_reset(nlist *l) {
  l->n = 0;
  l->set = true;
}

typedef struct gen {
  hc_merkle *m;
  nlist node, seek, upgrade, additional;
} gen;

/* tree.get(index) (error = true) and push. */
static int push_get(gen *g, nlist *l, uint64_t index) {
  hc_node n;
  int rc = hc_merkle_get(g->m, index, &n);
  if (rc) return rc;
  return nlist_push(l, &n);
}

/* normalizeIndexed(block, hash) */
typedef struct indexed {
  bool value;
  uint64_t index, nodes, last_index;
} indexed;

/* Walking from `it` up towards `root` must stay below it. */
static bool below(const hc_ft_iter *it, uint64_t root) {
  return hc_ft_depth(it->index) < hc_ft_depth(root) && hc_ft_depth(root) < 62;
}

static int seek_proof(gen *g, uint64_t seek_root, uint64_t root) {
  hc_ft_iter it;
  hc_ft_iter_seek(&it, seek_root);
  nlist_reset(&g->seek);
  int rc = push_get(g, &g->seek, it.index);
  if (rc) return rc;
  while (it.index != root) {
    if (!below(&it, root)) return HC_ERR_INVALID_ARG;
    hc_ft_iter_sibling(&it);
    if ((rc = push_get(g, &g->seek, it.index))) return rc;
    hc_ft_iter_parent(&it);
  }
  return HC_OK;
}

static int block_and_seek_proof(gen *g, const indexed *node, bool seek, uint64_t seek_root,
                                uint64_t root) {
  if (!node) return seek_proof(g, seek_root, root);
  hc_ft_iter it;
  hc_ft_iter_seek(&it, node->index);
  int rc;
  nlist_reset(&g->node);
  if (!node->value && (rc = push_get(g, &g->node, it.index))) return rc;
  while (it.index != root) {
    if (!below(&it, root)) return HC_ERR_INVALID_ARG;
    hc_ft_iter_sibling(&it);
    if (seek && hc_ft_iter_contains(&it, seek_root) && it.index != seek_root) {
      rc = seek_proof(g, seek_root, it.index);
    } else {
      rc = push_get(g, &g->node, it.index);
    }
    if (rc) return rc;
    hc_ft_iter_parent(&it);
  }
  return HC_OK;
}

static int upgrade_proof(gen *g, const indexed *node, bool seek, uint64_t from, uint64_t to,
                         uint64_t sub_tree) {
  int rc;
  if (from == 0) nlist_reset(&g->upgrade);
  hc_ft_iter it;
  for (hc_ft_iter_seek(&it, 0); hc_ft_iter_full_root(&it, to); hc_ft_iter_next_tree(&it)) {
    /* check if they already have the node */
    if (it.index + it.factor / 2 < from) continue;

    /* connect existing tree */
    if (!g->upgrade.set && hc_ft_iter_contains(&it, from - 2)) {
      nlist_reset(&g->upgrade);
      uint64_t root = it.index, target = from - 2;
      hc_ft_iter_seek(&it, target);
      while (it.index != root) {
        if (!below(&it, root)) return HC_ERR_INVALID_ARG;
        hc_ft_iter_sibling(&it);
        if (it.index > target) {
          if (!g->node.set && !g->seek.set && hc_ft_iter_contains(&it, sub_tree)) {
            rc = block_and_seek_proof(g, node, seek, sub_tree, it.index);
          } else {
            rc = push_get(g, &g->upgrade, it.index);
          }
          if (rc) return rc;
        }
        hc_ft_iter_parent(&it);
      }
      continue;
    }

    if (!g->upgrade.set) nlist_reset(&g->upgrade);

    /* the subtree included is a child of this tree: include it instead of a dup node */
    if (!g->node.set && !g->seek.set && hc_ft_iter_contains(&it, sub_tree)) {
      if ((rc = block_and_seek_proof(g, node, seek, sub_tree, it.index))) return rc;
      continue;
    }

    if ((rc = push_get(g, &g->upgrade, it.index))) return rc;
  }
  return HC_OK;
}

static int additional_upgrade_proof(gen *g, uint64_t from, uint64_t to) {
  int rc;
  if (from == 0) nlist_reset(&g->additional);
  hc_ft_iter it;
  for (hc_ft_iter_seek(&it, 0); hc_ft_iter_full_root(&it, to); hc_ft_iter_next_tree(&it)) {
    if (it.index + it.factor / 2 < from) continue;

    if (!g->additional.set && hc_ft_iter_contains(&it, from - 2)) {
      nlist_reset(&g->additional);
      uint64_t root = it.index, target = from - 2;
      hc_ft_iter_seek(&it, target);
      while (it.index != root) {
        if (!below(&it, root)) return HC_ERR_INVALID_ARG;
        hc_ft_iter_sibling(&it);
        if (it.index > target && (rc = push_get(g, &g->additional, it.index))) return rc;
        hc_ft_iter_parent(&it);
      }
      continue;
    }

    if (!g->additional.set) nlist_reset(&g->additional);
    if ((rc = push_get(g, &g->additional, it.index))) return rc;
  }
  return HC_OK;
}

/* getUnpaddedSize: signed like the reference's numbers. */
static int64_t unpadded_size(const hc_node *n, uint64_t padding) {
  return (int64_t)n->size - (int64_t)(padding * hc_ft_count_leaves(n->index));
}

/* seekTrustedTree: trust that bytes are within root and find the node at bytes. */
static int seek_trusted_tree(hc_merkle *m, uint64_t root, int64_t bytes, uint64_t padding,
                             uint64_t *out) {
  if (!bytes) {
    *out = root;
    return HC_OK;
  }
  hc_ft_iter it;
  hc_ft_iter_seek(&it, root);
  while (it.index & 1) {
    hc_node l;
    int rc = hc_merkle_get(m, hc_ft_iter_left_child(&it), &l);
    if (rc == HC_OK) {
      int64_t size = unpadded_size(&l, padding);
      if (size == bytes) {
        *out = it.index;
        return HC_OK;
      }
      if (size > bytes) continue;
      bytes -= size;
      hc_ft_iter_sibling(&it);
    } else if (rc == HC_ERR_NOT_FOUND) {
      *out = hc_ft_iter_parent(&it);
      return HC_OK;
    } else {
      return rc;
    }
  }
  *out = it.index;
  return HC_OK;
}

/* seekFromHead(tree, head, bytes, padding) */
static int seek_from_head(hc_merkle *m, uint64_t head, uint64_t bytes_u, uint64_t padding,
                          uint64_t *out) {
  uint64_t roots[HC_MAX_ROOTS];
  size_t n = hc_ft_full_roots(head / 2, roots);
  int64_t bytes = (int64_t)bytes_u;
  for (size_t i = 0; i < n; i++) {
    hc_node node;
    int rc = hc_merkle_get(m, roots[i], &node);
    if (rc) return rc;
    int64_t size = unpadded_size(&node, padding);
    if (bytes == size) {
      *out = roots[i];
      return HC_OK;
    }
    if (bytes > size) {
      bytes -= size;
      continue;
    }
    return seek_trusted_tree(m, roots[i], bytes, padding, out);
  }
  *out = head;
  return HC_OK;
}

/* seekUntrustedTree: find the node at bytes without trusting it is within root. */
static int seek_untrusted_tree(hc_merkle *m, uint64_t root, uint64_t bytes_u, uint64_t padding,
                               uint64_t *out) {
  uint64_t off;
  int rc = hc_merkle_byte_offset(m, root, &off);
  if (rc) return rc == HC_ERR_OUT_OF_RANGE ? HC_ERR_INVALID_ARG : rc;
  int64_t offset = (int64_t)off - (padding ? (int64_t)(padding * (hc_ft_left_span(root) / 2)) : 0);
  int64_t bytes = (int64_t)bytes_u;
  if (offset > bytes) return HC_ERR_INVALID_ARG; /* Invalid seek */
  if (offset == bytes) {
    *out = root;
    return HC_OK;
  }
  bytes -= offset;
  hc_node node;
  if ((rc = hc_merkle_get(m, root, &node))) return rc;
  if (unpadded_size(&node, padding) <= bytes) return HC_ERR_INVALID_ARG; /* Invalid seek */
  return seek_trusted_tree(m, root, bytes, padding, out);
}

/* nodesToRoot(index, nodes, head) */
static int nodes_to_root(uint64_t index, uint64_t nodes, uint64_t head, uint64_t *out) {
  hc_ft_iter it;
  hc_ft_iter_seek(&it, index);
  for (uint64_t i = 0; i < nodes; i++) {
    hc_ft_iter_parent(&it);
    if (hc_ft_iter_contains(&it, head)) return HC_ERR_INVALID_ARG; /* Nodes is out of bounds */
  }
  *out = it.index;
  return HC_OK;
}

static int finish_proof(gen *g, const hc_proof_request *req, const indexed *node,
                        uint64_t up_start, uint64_t up_length, hc_proof *p) {
  hc_merkle *m = g->m;
  if (req->has_block || req->has_hash) {
    if (!g->node.set) return HC_ERR_INVALID_ARG; /* Invalid block/hash request */
  }
  bool want_seek = req->has_seek && g->seek.set;
  size_t total = 0;
  if (node) total += g->node.n;
  if (want_seek) total += g->seek.n;
  if (req->has_upgrade) total += g->upgrade.n + g->additional.n;
  size_t siglen = req->has_upgrade && m->signature ? m->signature_len : 0;
  size_t bytes = total * sizeof(hc_node) + siglen;
  uint8_t *buf = malloc(bytes ? bytes : 1);
  if (!buf) return HC_ERR_NOMEM;
  p->owned = buf;
  hc_node *w = (hc_node *)buf;
#define TAKE(dst, cnt, l)                                  \
  do {                                                     \
    (dst) = w;                                             \
    (cnt) = (l).n;                                         \
    if ((l).n) memcpy(w, (l).v, (l).n * sizeof(hc_node));  \
    w += (l).n;                                            \
  } while (0)
  if (req->has_block) {
    p->has_block = true;
    p->block_index = req->block_index;
    TAKE(p->block_nodes, p->n_block_nodes, g->node);
  } else if (req->has_hash) {
    p->has_hash = true;
    p->hash_index = req->hash_index;
    TAKE(p->hash_nodes, p->n_hash_nodes, g->node);
  }
  if (want_seek) {
    p->has_seek = true;
    p->seek_bytes = req->seek_bytes;
    TAKE(p->seek_nodes, p->n_seek_nodes, g->seek);
  }
  if (req->has_upgrade) {
    p->has_upgrade = true;
    p->upgrade_start = up_start;
    p->upgrade_length = up_length;
    TAKE(p->upgrade_nodes, p->n_upgrade_nodes, g->upgrade);
    TAKE(p->upgrade_additional, p->n_upgrade_additional, g->additional);
    if (siglen) {
      memcpy(w, m->signature, siglen);
      p->upgrade_signature = (const uint8_t *)w;
      p->upgrade_signature_len = siglen;
    }
  }
#undef TAKE
  return HC_OK;
}

static int generate(gen *g, const hc_proof_request *req, hc_proof *p) {
  hc_merkle *m = g->m;
  int rc;
  uint64_t up_start = req->upgrade_start, up_length = req->upgrade_length;
  if (m->has_prologue && req->has_upgrade) {
    up_start = up_start < m->prologue_length ? 0 : up_start;
    up_length = up_start < m->prologue_length ? m->prologue_length : up_length;
  }

  p->fork = m->fork;
  uint64_t head = 2 * m->length;
  if (head == 0) return HC_OK; /* can't do anything as we have no data */

  if (req->has_upgrade && (up_start > m->length || up_length > m->length))
    return HC_ERR_INVALID_ARG; /* also keeps the arithmetic below in range */
  uint64_t from = req->has_upgrade ? up_start * 2 : 0;
  uint64_t to = req->has_upgrade ? from + up_length * 2 : head;

  indexed nd, *node = NULL;
  if (req->has_block) {
    if (req->block_index >= HC_LIMIT_INDEX / 2) return HC_ERR_INVALID_ARG;
    nd = (indexed){true, req->block_index * 2, req->block_nodes, req->block_index};
    node = &nd;
  } else if (req->has_hash) {
    if (req->hash_index >= HC_LIMIT_INDEX) return HC_ERR_INVALID_ARG;
    nd = (indexed){false, req->hash_index, req->hash_nodes, hc_ft_right_span(req->hash_index) / 2};
    node = &nd;
  }

  if (from >= to || to > head) return HC_ERR_INVALID_ARG; /* Invalid upgrade */
  if (req->has_seek && req->has_upgrade && node && node->index >= from)
    return HC_ERR_INVALID_ARG; /* Cannot both do a seek and block/hash request when upgrading */

  uint64_t sub_tree = head;

  if (node && (!req->has_upgrade || node->last_index < up_start)) {
    if ((rc = nodes_to_root(node->index, node->nodes, to, &sub_tree))) return rc;
    uint64_t seek_root = head;
    if (req->has_seek) {
      rc = seek_untrusted_tree(m, sub_tree, req->seek_bytes, req->seek_padding, &seek_root);
      if (rc) return rc;
    }
    if ((rc = block_and_seek_proof(g, node, req->has_seek, seek_root, sub_tree))) return rc;
  } else if ((node || req->has_seek) && req->has_upgrade) {
    if (req->has_seek) {
      rc = seek_from_head(m, to, req->seek_bytes, req->seek_padding, &sub_tree);
      if (rc) return rc;
    } else {
      sub_tree = node->index;
    }
  }

  if (req->has_upgrade) {
    if ((rc = upgrade_proof(g, node, req->has_seek, from, to, sub_tree))) return rc;
    if (head > to && (rc = additional_upgrade_proof(g, to, head))) return rc;
  }

  return finish_proof(g, req, node, up_start, up_length, p);
}

int hc_merkle_proof(hc_merkle *m, const hc_proof_request *req, hc_proof *p) {
  memset(p, 0, sizeof *p);
  gen g;
  memset(&g, 0, sizeof g);
  g.m = m;
  int rc = generate(&g, req, p);
  free(g.node.v);
  free(g.seek.v);
  free(g.upgrade.v);
  free(g.additional.v);
  if (rc) {
    free(p->owned);
    memset(p, 0, sizeof *p);
  }
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* verification                                                                              */

/* NodeQueue: the proof's nodes in order, plus an optional extra node that may be taken
 * anywhere. */
typedef struct nqueue {
  const hc_node *nodes;
  size_t n, i;
  const hc_node *extra;
  size_t length;
} nqueue;

static void nqueue_init(nqueue *q, const hc_node *nodes, size_t n, const hc_node *extra) {
  q->nodes = nodes;
  q->n = n;
  q->i = 0;
  q->extra = extra;
  q->length = n + (extra ? 1 : 0);
}

static int nqueue_shift(nqueue *q, uint64_t index, hc_node *out) {
  if (q->extra && q->extra->index == index) {
    *out = *q->extra;
    q->extra = NULL;
    q->length--;
    return HC_OK;
  }
  if (q->i >= q->n) return HC_ERR_BAD_PROOF;
  const hc_node *node = &q->nodes[q->i++];
  if (node->index != index) return HC_ERR_BAD_PROOF;
  q->length--;
  *out = *node;
  return HC_OK;
}

static bool nodes_sane(const hc_node *nodes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (nodes[i].index >= HC_LIMIT_INDEX || nodes[i].size > HC_LIMIT_SIZE) return false;
  }
  return true;
}

static int parent_node(uint64_t index, const hc_node *a, const hc_node *b, hc_node *out) {
  if (a->size > HC_LIMIT_SIZE || b->size > HC_LIMIT_SIZE) return HC_ERR_BAD_PROOF;
  out->index = index;
  out->size = a->size + b->size;
  hc_crypto_parent(out->hash, a, b);
  return HC_OK;
}

/* verifyTree: hashes the seek and block/hash paths; *has_root/root get the untrusted top
 * node; every node (given and computed) is pushed to the batch. */
static int verify_tree(const hc_proof *p, hc_merkle_batch *b, bool *has_root, hc_node *root) {
  int rc;
  bool untrusted = p->has_block || p->has_hash;
  uint64_t u_index = 0;
  const hc_node *u_nodes = NULL;
  size_t u_n = 0;
  if (p->has_block) {
    if (p->block_index >= HC_LIMIT_INDEX / 2) return HC_ERR_BAD_PROOF;
    u_index = 2 * p->block_index;
    u_nodes = p->block_nodes;
    u_n = p->n_block_nodes;
  } else if (p->has_hash) {
    if (p->hash_index >= HC_LIMIT_INDEX) return HC_ERR_BAD_PROOF;
    u_index = p->hash_index;
    u_nodes = p->hash_nodes;
    u_n = p->n_hash_nodes;
  }
  bool has_seek = p->has_seek && p->n_seek_nodes > 0;
  *has_root = false;
  if (!untrusted && !has_seek) return HC_OK;
  if (u_n && !nodes_sane(u_nodes, u_n)) return HC_ERR_BAD_PROOF;
  if (has_seek && !nodes_sane(p->seek_nodes, p->n_seek_nodes)) return HC_ERR_BAD_PROOF;

  hc_node r, node;
  bool have = false;
  hc_ft_iter it;
  nqueue q;

  if (has_seek) {
    hc_ft_iter_seek(&it, p->seek_nodes[0].index);
    nqueue_init(&q, p->seek_nodes, p->n_seek_nodes, NULL);
    if ((rc = nqueue_shift(&q, it.index, &r))) return rc;
    if ((rc = hc_merkle_batch_push_node(b, &r))) return rc;
    while (q.length > 0) {
      if ((rc = nqueue_shift(&q, hc_ft_iter_sibling(&it), &node))) return rc;
      hc_node par;
      if ((rc = parent_node(hc_ft_iter_parent(&it), &r, &node, &par))) return rc;
      r = par;
      if ((rc = hc_merkle_batch_push_node(b, &node))) return rc;
      if ((rc = hc_merkle_batch_push_node(b, &r))) return rc;
    }
    have = true;
  }

  if (!untrusted) {
    *has_root = have;
    *root = r;
    return HC_OK;
  }

  hc_ft_iter_seek(&it, u_index);
  hc_node seek_root = r;
  nqueue_init(&q, u_nodes, u_n, have ? &seek_root : NULL);
  if (p->has_block) {
    r.index = it.index;
    r.size = p->block_value_len;
    hc_crypto_leaf(r.hash, p->block_value, p->block_value_len);
  } else if ((rc = nqueue_shift(&q, it.index, &r))) {
    return rc;
  }
  if ((rc = hc_merkle_batch_push_node(b, &r))) return rc;
  while (q.length > 0) {
    if ((rc = nqueue_shift(&q, hc_ft_iter_sibling(&it), &node))) return rc;
    hc_node par;
    if ((rc = parent_node(hc_ft_iter_parent(&it), &r, &node, &par))) return rc;
    r = par;
    if ((rc = hc_merkle_batch_push_node(b, &node))) return rc;
    if ((rc = hc_merkle_batch_push_node(b, &r))) return rc;
  }
  *has_root = true;
  *root = r;
  return HC_OK;
}

static int append_root(hc_merkle_batch *b, const hc_node *node, hc_ft_iter *it) {
  int rc = hc_merkle_batch_append_root(b, node);
  if (rc == HC_ERR_INVALID_ARG) return HC_ERR_BAD_PROOF; /* too many roots */
  if (rc) return rc;
  /* appendRoot leaves the iterator at the last root */
  hc_ft_iter_seek(it, b->roots[b->nroots - 1].index);
  return HC_OK;
}

/* verifyUpgrade: *consumed tells whether the untrusted block root was used. */
static int verify_upgrade(hc_merkle *m, const hc_proof *p, const hc_node *block_root,
                          hc_merkle_batch *b, bool *consumed) {
  int rc;
  uint64_t start = p->upgrade_start, length = p->upgrade_length;
  if (start > HC_LIMIT_LENGTH || length > HC_LIMIT_LENGTH) return HC_ERR_BAD_PROOF;
  if (!nodes_sane(p->upgrade_nodes, p->n_upgrade_nodes) ||
      !nodes_sane(p->upgrade_additional, p->n_upgrade_additional))
    return HC_ERR_BAD_PROOF;

  if (m->has_prologue) {
    if (start < m->prologue_length && (start != 0 || length < m->prologue_length))
      return HC_ERR_BAD_PROOF; /* Upgrade does not satisfy prologue */
  }

  nqueue q;
  nqueue_init(&q, p->upgrade_nodes, p->n_upgrade_nodes, block_root);

  bool grow = b->nroots > 0;
  size_t i = 0;
  uint64_t to = 2 * (start + length);
  hc_ft_iter it;
  hc_node node;

  for (hc_ft_iter_seek(&it, 0); hc_ft_iter_full_root(&it, to); hc_ft_iter_next_tree(&it)) {
    if (i < b->nroots && b->roots[i].index == it.index) {
      i++;
      continue;
    }
    if (grow) {
      grow = false;
      uint64_t root = it.index;
      if (i < b->nroots) {
        hc_ft_iter_seek(&it, b->roots[b->nroots - 1].index);
        while (it.index != root) {
          if ((rc = nqueue_shift(&q, hc_ft_iter_sibling(&it), &node))) return rc;
          if ((rc = append_root(b, &node, &it))) return rc;
        }
        continue;
      }
    }
    if ((rc = nqueue_shift(&q, it.index, &node))) return rc;
    if ((rc = append_root(b, &node, &it))) return rc;
  }

  if (m->has_prologue && b->length == m->prologue_length) {
    uint8_t h[HC_HASH_BYTES];
    hc_merkle_batch_hash(b, h);
    if (memcmp(h, m->prologue_hash, HC_HASH_BYTES) != 0) return HC_ERR_BAD_PROOF; /* Invalid hash */
  }

  const hc_node *extra = p->upgrade_additional;
  size_t n_extra = p->n_upgrade_additional;
  if (b->nroots == 0) return HC_ERR_BAD_PROOF; /* the reference throws on roots[-1] */
  hc_ft_iter_seek(&it, b->roots[b->nroots - 1].index);
  i = 0;
  while (i < n_extra && extra[i].index == hc_ft_iter_sibling(&it)) {
    if ((rc = append_root(b, &extra[i++], &it))) return rc;
  }
  while (i < n_extra) {
    const hc_node *nd = &extra[i++];
    while (nd->index != it.index) {
      if (it.factor == 2) return HC_ERR_BAD_PROOF; /* Unexpected node */
      hc_ft_iter_left_child(&it);
    }
    if ((rc = append_root(b, nd, &it))) return rc;
    hc_ft_iter_sibling(&it);
  }

  if ((rc = hc_merkle_batch_set_signature(b, p->upgrade_signature, p->upgrade_signature_len)))
    return rc;
  b->fork = p->fork;
  *consumed = q.extra == NULL;
  return HC_OK;
}

static int verify(hc_merkle *m, const hc_proof *p, hc_merkle_verify_sig_cb verify_sig, void *ctx,
                  hc_merkle_batch *b) {
  bool has_unverified = false;
  hc_node unverified;
  int rc = verify_tree(p, b, &has_unverified, &unverified);
  if (rc) return rc;

  if (p->has_upgrade) {
    bool consumed = false;
    rc = verify_upgrade(m, p, has_unverified ? &unverified : NULL, b, &consumed);
    if (rc) return rc;
    if (consumed) has_unverified = false;
  }

  if (has_unverified) {
    hc_node stored;
    rc = hc_merkle_get(m, unverified.index, &stored);
    /* Could not load node: the proof stops below what this tree has (the request asked for
     * too few nodes, or a node it counted on has not arrived yet) */
    if (rc == HC_ERR_NOT_FOUND) return HC_ERR_NOT_AVAILABLE;
    if (rc) return rc;
    if (memcmp(stored.hash, unverified.hash, HC_HASH_BYTES) != 0 || stored.size != unverified.size)
      return HC_ERR_BAD_PROOF; /* Invalid checksum */
  }

  if (p->has_upgrade) {
    if (!verify_sig) return HC_ERR_BAD_SIGNATURE;
    if (!p->upgrade_signature || !p->upgrade_signature_len) return HC_ERR_BAD_SIGNATURE;
    rc = verify_sig(ctx, b, p->upgrade_signature, p->upgrade_signature_len);
    if (rc) return rc == HC_ERR_NOMEM ? rc : HC_ERR_BAD_SIGNATURE;
  }
  return HC_OK;
}

int hc_merkle_verify(hc_merkle *m, const hc_proof *p, hc_merkle_verify_sig_cb verify_sig,
                     void *ctx, hc_merkle_batch *out) {
  int rc = hc_merkle_batch_init(out, m);
  if (rc) return rc;
  rc = verify(m, p, verify_sig, ctx, out);
  if (rc) {
    hc_merkle_batch_cleanup(out);
    memset(out, 0, sizeof *out);
  }
  return rc;
}

static const hc_node *patch_get(const hc_node *patch, size_t n, uint64_t index) {
  for (size_t i = 0; i < n; i++)
    if (patch[i].index == index) return &patch[i];
  return NULL;
}

#define PATCH_MAX_UPGRADE 256

int hc_merkle_patch_hash(const hc_node *roots, size_t nroots, uint64_t length, const hc_node *patch,
                         size_t npatch, uint64_t add, uint8_t hash[HC_HASH_BYTES]) {
  if (!add || length > HC_LIMIT_LENGTH || add > HC_LIMIT_LENGTH - length) return HC_ERR_BAD_SIGNATURE;
  if (!nodes_sane(patch, npatch)) return HC_ERR_BAD_SIGNATURE;
  /* generateUpgrade(patch, length, add) */
  hc_node up[PATCH_MAX_UPGRADE];
  size_t nup = 0;
  bool started = false;
  uint64_t from = 2 * length, to = from + 2 * add;
  hc_ft_iter it;
  for (hc_ft_iter_seek(&it, 0); hc_ft_iter_full_root(&it, to); hc_ft_iter_next_tree(&it)) {
    if (it.index + it.factor / 2 < from) continue;
    if (!started && from >= 2 && hc_ft_iter_contains(&it, from - 2)) {
      started = true;
      uint64_t root = it.index, target = from - 2;
      hc_ft_iter_seek(&it, target);
      while (it.index != root) {
        hc_ft_iter_sibling(&it);
        if (it.index > target) {
          const hc_node *n = patch_get(patch, npatch, it.index);
          if (!n || nup == PATCH_MAX_UPGRADE) return HC_ERR_BAD_SIGNATURE;
          up[nup++] = *n;
        }
        hc_ft_iter_parent(&it);
      }
      continue;
    }
    started = true;
    const hc_node *n = patch_get(patch, npatch, it.index);
    if (!n || nup == PATCH_MAX_UPGRADE) return HC_ERR_BAD_SIGNATURE;
    up[nup++] = *n;
  }
  /* batch.verifyUpgrade on a copy of the tree of `length` */
  hc_merkle m;
  memset(&m, 0, sizeof m);
  hc_merkle_batch b;
  memset(&b, 0, sizeof b);
  if (nroots > HC_MAX_ROOTS) return HC_ERR_BAD_SIGNATURE;
  b.tree = &m;
  memcpy(b.roots, roots, nroots * sizeof *roots);
  b.nroots = nroots;
  b.length = length;
  for (size_t i = 0; i < nroots; i++) b.byte_length += roots[i].size;
  hc_proof p;
  memset(&p, 0, sizeof p);
  p.has_upgrade = true;
  p.upgrade_start = length;
  p.upgrade_length = add;
  p.upgrade_nodes = up;
  p.n_upgrade_nodes = nup;
  bool consumed;
  int rc = verify_upgrade(&m, &p, NULL, &b, &consumed);
  if (!rc && b.length != length + add) rc = HC_ERR_BAD_SIGNATURE;
  if (!rc) hc_merkle_batch_hash(&b, hash);
  hc_merkle_batch_cleanup(&b);
  return rc ? HC_ERR_BAD_SIGNATURE : HC_OK;
}

int hc_merkle_verify_tree(const hc_proof *p, hc_merkle_batch *b, bool *has_root, hc_node *root) {
  return verify_tree(p, b, has_root, root);
}

int hc_merkle_missing_nodes_until(hc_merkle *m, uint64_t index, hc_merkle_node_pred pending,
                                  void *ctx, uint64_t *count, bool *stopped_pending) {
  *count = 0;
  if (stopped_pending) *stopped_pending = false;
  uint64_t head = 2 * m->length;
  if (index >= HC_LIMIT_INDEX / 2) return HC_OK;
  hc_ft_iter it;
  hc_ft_iter_seek(&it, 2 * index);
  /* if the index is not in the current tree we do not know how many nodes are missing */
  if (it.index + it.factor / 2 - 1 >= head) return HC_OK;
  uint64_t cnt = 0;
  while (!hc_ft_iter_contains(&it, head)) {
    hc_node n;
    int rc = hc_merkle_get(m, it.index, &n);
    if (rc == HC_OK) break;
    if (rc != HC_ERR_NOT_FOUND) return rc;
    if (pending && pending(ctx, it.index)) {
      if (stopped_pending) *stopped_pending = true;
      break;
    }
    cnt++;
    hc_ft_iter_parent(&it);
  }
  *count = cnt;
  return HC_OK;
}

int hc_merkle_missing_nodes(hc_merkle *m, uint64_t index, uint64_t *count) {
  return hc_merkle_missing_nodes_until(m, index, NULL, NULL, count, NULL);
}
