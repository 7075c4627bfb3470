/* flat-tree: full roots and the iterator, translated from the npm package flat-tree 1.13. */
#include "flat_tree.h"

size_t hc_ft_full_roots(uint64_t length, uint64_t *out) {
  size_t n = 0;
  uint64_t offset = 0, factor = 1;
  while (length) {
    while (factor * 2 <= length) factor *= 2;
    out[n++] = offset + factor - 1;
    offset += 2 * factor;
    length -= factor;
    factor = 1;
  }
  return n;
}

void hc_ft_iter_seek(hc_ft_iter *it, uint64_t index) {
  it->index = index;
  if (index & 1) {
    it->offset = hc_ft_offset(index);
    it->factor = (uint64_t)2 << hc_ft_depth(index);
  } else {
    it->offset = index / 2;
    it->factor = 2;
  }
}

int hc_ft_iter_is_left(const hc_ft_iter *it) { return (it->offset & 1) == 0; }
int hc_ft_iter_is_right(const hc_ft_iter *it) { return (it->offset & 1) == 1; }

static uint64_t iter_prev(hc_ft_iter *it) {
  if (!it->offset) return it->index;
  it->offset--;
  it->index -= it->factor;
  return it->index;
}

static uint64_t iter_next(hc_ft_iter *it) {
  it->offset++;
  it->index += it->factor;
  return it->index;
}

uint64_t hc_ft_iter_sibling(hc_ft_iter *it) {
  return hc_ft_iter_is_left(it) ? iter_next(it) : iter_prev(it);
}

uint64_t hc_ft_iter_parent(hc_ft_iter *it) {
  if (it->offset & 1) {
    it->index -= it->factor / 2;
    it->offset = (it->offset - 1) / 2;
  } else {
    it->index += it->factor / 2;
    it->offset /= 2;
  }
  it->factor *= 2;
  return it->index;
}

uint64_t hc_ft_iter_left_span(const hc_ft_iter *it) { return it->index - it->factor / 2 + 1; }
uint64_t hc_ft_iter_right_span(const hc_ft_iter *it) { return it->index + it->factor / 2 - 1; }

uint64_t hc_ft_iter_count_leaves(const hc_ft_iter *it) {
  if (!(it->index & 1)) return 1;
  return it->factor / 2;
}

uint64_t hc_ft_iter_left_child(hc_ft_iter *it) {
  if (it->factor == 2) return it->index;
  it->factor /= 2;
  it->index -= it->factor / 2;
  it->offset *= 2;
  return it->index;
}

uint64_t hc_ft_iter_right_child(hc_ft_iter *it) {
  if (it->factor == 2) return it->index;
  it->factor /= 2;
  it->index += it->factor / 2;
  it->offset = 2 * it->offset + 1;
  return it->index;
}

uint64_t hc_ft_iter_next_tree(hc_ft_iter *it) {
  it->index = it->index + it->factor / 2 + 1;
  it->offset = it->index / 2;
  it->factor = 2;
  return it->index;
}

uint64_t hc_ft_iter_prev_tree(hc_ft_iter *it) {
  if (!it->offset) {
    it->index = 0;
    it->factor = 2;
  } else {
    it->index = it->index - it->factor / 2 - 1;
    it->offset = it->index / 2;
    it->factor = 2;
  }
  return it->index;
}

int hc_ft_iter_full_root(hc_ft_iter *it, uint64_t index) {
  if (index <= it->index || (it->index & 1)) return 0;
  while (index > it->index + it->factor + it->factor / 2) {
    it->index += it->factor / 2;
    it->factor *= 2;
    it->offset /= 2;
  }
  return 1;
}

uint64_t hc_ft_iter_contains(const hc_ft_iter *it, uint64_t index) {
  if (index > it->index) return index < it->index + it->factor / 2;
  if (index < it->index) return index + it->factor / 2 > it->index; /* no unsigned underflow */
  return 1;
}
