/* The fork-point search of a fork switch (ReorgBatch of lib/merkle-tree.js): see
 * merkle_reorg.h. Only our tree's nodes and the remote's verified ones are read. */
#include "merkle_reorg.h"

#include <string.h>

#include "flat_tree.h"

/* Our node `n->index` equals `n` (and lies inside our tree: stale slots past a truncation do
 * not count as shared). */
static bool ours_equal(const hc_merkle *ours, const hc_node *n) {
  if ((hc_ft_right_span(n->index) + 2) / 2 > ours->length) return false;
  hc_node mine;
  if (hc_merkle_get((hc_merkle *)ours, n->index, &mine) != HC_OK) return false;
  return mine.size == n->size && memcmp(mine.hash, n->hash, HC_HASH_BYTES) == 0;
}

/* _updateDiffRoot: `diff` is the highest node known to differ; blocks before its span are
 * shared. A leaf ends the search; otherwise the next `hash` request covers its span. */
static void reorg_set_diff(hc_reorg *r, const hc_node *diff) {
  uint64_t start = hc_ft_left_span(diff->index) / 2;
  uint64_t end = hc_ft_right_span(diff->index) / 2 + 1;
  if (end > r->tree_length) end = r->tree_length;
  r->ancestors = start;
  r->diff = *diff;
  if ((diff->index & 1) == 0 || start >= r->tree_length || end <= start) {
    r->finished = true;
    return;
  }
  r->want_start = start;
  r->want_end = end;
  r->want_nodes = hc_ft_depth(diff->index);
}

/* _update: walks down from the diff through the verified nodes `n[0..count)`: into the left
 * child when ours differs, else into the right one. */
static void reorg_descend(const hc_merkle *ours, hc_reorg *r, const hc_node *n, size_t count) {
  hc_node cur = r->diff;
  bool moved = false;
  while (cur.index & 1) {
    hc_ft_iter it;
    hc_ft_iter_seek(&it, cur.index);
    uint64_t li = hc_ft_iter_left_child(&it), ri = li + 2 * (cur.index - li);
    const hc_node *left = NULL, *right = NULL;
    for (size_t k = 0; k < count; k++) {
      if (n[k].index == li) left = &n[k];
      if (n[k].index == ri) right = &n[k];
    }
    if (!left) break;
    if (!ours_equal(ours, left)) cur = *left;
    else if (right) cur = *right;
    else break;
    moved = true;
  }
  if (moved) reorg_set_diff(r, &cur);
}

int hc_merkle_reorg_start(hc_merkle *ours, const hc_merkle_batch *vb, hc_reorg *r) {
  hc_merkle_batch *b = &r->batch;
  int rc = hc_merkle_batch_init(b, ours);
  if (!rc) {
    memcpy(b->roots, vb->roots, vb->nroots * sizeof *vb->roots);
    b->nroots = vb->nroots;
    b->length = vb->length;
    b->byte_length = vb->byte_length;
    b->fork = vb->fork;
    b->upgraded = true;
  }
  for (size_t i = 0; i < vb->nnodes && !rc; i++) rc = hc_merkle_batch_push_node(b, &vb->nodes[i]);
  if (!rc) rc = hc_merkle_batch_set_signature(b, vb->signature, vb->signature_len);
  if (rc) {
    hc_merkle_reorg_cleanup(r);
    return rc;
  }
  r->active = true;
  r->tree_length = ours->length;
  r->tree_fork = ours->fork;
  /* the first root that differs from ours starts the search; none: all of it is shared */
  for (size_t i = 0; i < b->nroots; i++) {
    if (ours_equal(ours, &b->roots[i])) continue;
    reorg_set_diff(r, &b->roots[i]);
    reorg_descend(ours, r, b->nodes, b->nnodes);
    return HC_OK;
  }
  r->finished = true;
  r->ancestors = b->length < r->tree_length ? b->length : r->tree_length;
  return HC_OK;
}

int hc_merkle_reorg_update(const hc_merkle *ours, hc_reorg *r, const hc_proof *p) {
  if (!r->active || r->finished) return HC_ERR_INVALID_ARG;
  if (ours->fork != r->tree_fork || ours->length != r->tree_length) return HC_ERR_BUSY;
  if (p->fork != r->batch.fork || !p->has_hash || p->has_block || p->has_upgrade)
    return HC_ERR_BAD_PROOF;
  size_t first = r->batch.nnodes;
  bool has_root;
  hc_node root;
  int rc = hc_merkle_verify_tree(p, &r->batch, &has_root, &root);
  if (rc) return rc;
  if (!has_root || root.index != r->diff.index || root.size != r->diff.size ||
      memcmp(root.hash, r->diff.hash, HC_HASH_BYTES) != 0) {
    r->batch.nnodes = first; /* forget what this proof added */
    return HC_ERR_BAD_PROOF;
  }
  uint64_t before = r->diff.index;
  reorg_descend(ours, r, r->batch.nodes + first, r->batch.nnodes - first);
  /* an answer that hashes to the diff node holds both its children: no step down is a lie */
  if (!r->finished && r->diff.index == before) return HC_ERR_BAD_PROOF;
  return HC_OK;
}

void hc_merkle_reorg_cleanup(hc_reorg *r) {
  if (r->active || r->batch.tree) hc_merkle_batch_cleanup(&r->batch);
  memset(r, 0, sizeof *r);
}
