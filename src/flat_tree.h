/* flat-tree index math (the npm package flat-tree 1.x): leaves at even indices, parents odd. */
#ifndef HC_FLAT_TREE_H
#define HC_FLAT_TREE_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hc_ft_depth(uint64_t i) {
  uint64_t d = 0;
  while (i & 1) { i >>= 1; d++; }
  return d;
}
static inline uint64_t hc_ft_offset(uint64_t i) { return i >> (hc_ft_depth(i) + 1); }
static inline uint64_t hc_ft_index(uint64_t depth, uint64_t offset) {
  return (((offset << 1) | 1) << depth) - 1;
}
static inline uint64_t hc_ft_parent(uint64_t i) {
  uint64_t d = hc_ft_depth(i);
  return hc_ft_index(d + 1, hc_ft_offset(i) >> 1);
}
static inline uint64_t hc_ft_sibling(uint64_t i) {
  uint64_t d = hc_ft_depth(i);
  return hc_ft_index(d, hc_ft_offset(i) ^ 1);
}
static inline uint64_t hc_ft_left_child(uint64_t i) {
  uint64_t d = hc_ft_depth(i);
  return d == 0 ? i : hc_ft_index(d - 1, hc_ft_offset(i) << 1);
}
static inline uint64_t hc_ft_right_child(uint64_t i) {
  uint64_t d = hc_ft_depth(i);
  return d == 0 ? i : hc_ft_index(d - 1, (hc_ft_offset(i) << 1) + 1);
}
static inline uint64_t hc_ft_left_span(uint64_t i) {
  uint64_t d = hc_ft_depth(i);
  return d == 0 ? i : hc_ft_offset(i) * ((uint64_t)2 << d);
}
static inline uint64_t hc_ft_right_span(uint64_t i) {
  uint64_t d = hc_ft_depth(i);
  return d == 0 ? i : (hc_ft_offset(i) + 1) * ((uint64_t)2 << d) - 2;
}
static inline uint64_t hc_ft_count_leaves(uint64_t i) { return (uint64_t)1 << hc_ft_depth(i); }
/* Is node i a left child? */
static inline int hc_ft_is_left(uint64_t i) { return (hc_ft_offset(i) & 1) == 0; }

/* The roots of a tree of `length` blocks (fullRoots(2*length)), left to right, into out (at most
 * 64). Returns the count. */
size_t hc_ft_full_roots(uint64_t length, uint64_t *out);

/* The flat-tree iterator (flat.iterator) used by the reference's proof code. */
typedef struct hc_ft_iter {
  uint64_t index, offset, factor;
} hc_ft_iter;
void hc_ft_iter_seek(hc_ft_iter *it, uint64_t index);
int hc_ft_iter_is_left(const hc_ft_iter *it);
int hc_ft_iter_is_right(const hc_ft_iter *it);
uint64_t hc_ft_iter_parent(hc_ft_iter *it);
uint64_t hc_ft_iter_sibling(hc_ft_iter *it);
uint64_t hc_ft_iter_left_child(hc_ft_iter *it);
uint64_t hc_ft_iter_right_child(hc_ft_iter *it);
uint64_t hc_ft_iter_left_span(const hc_ft_iter *it);
uint64_t hc_ft_iter_right_span(const hc_ft_iter *it);
uint64_t hc_ft_iter_count_leaves(const hc_ft_iter *it);
/* Is the iterator at a full root of a tree with `index` as its last (exclusive node) bound?
 * (flat-tree's iterator.fullRoot(index)) */
int hc_ft_iter_full_root(hc_ft_iter *it, uint64_t index);
/* Moves to the next tree to the right (iterator.nextTree()). */
uint64_t hc_ft_iter_next_tree(hc_ft_iter *it);
uint64_t hc_ft_iter_prev_tree(hc_ft_iter *it);
uint64_t hc_ft_iter_contains(const hc_ft_iter *it, uint64_t index);

#endif
