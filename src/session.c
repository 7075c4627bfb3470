/* Sessions, snapshot sessions, in-memory batches, iterators and byte ranges (session.h). */
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "grow.h"
#include "hypercore/session.h"

/* ---- sessions ---- */

struct hc_session {
  hc_core *core;
  hc_snapshot *snap; /* snapshot sessions */
};

int hc_core_session(hc_core *core, bool snapshot, hc_session **out) {
  if (!core || !out) return HC_ERR_INVALID_ARG;
  hc_session *s = calloc(1, sizeof *s);
  if (!s) return HC_ERR_NOMEM;
  s->core = core;
  if (snapshot) {
    int rc = hc_core_snapshot(core, hc_core_length(core), &s->snap);
    if (rc) {
      free(s);
      return rc;
    }
  }
  core->refs++;
  *out = s;
  return HC_OK;
}

void hc_session_close(hc_session *s) {
  if (!s) return;
  hc_snapshot_free(s->snap);
  hc_core_close(s->core); /* drops our reference; the last one closes */
  free(s);
}

hc_core *hc_session_core(const hc_session *s) { return s->core; }
bool hc_session_is_snapshot(const hc_session *s) { return s->snap != NULL; }

int hc_session_update(hc_session *s, bool *changed) {
  if (changed) *changed = false;
  if (!s->snap) return HC_OK;
  uint64_t len = hc_core_length(s->core), fork = hc_core_fork(s->core);
  if (len == hc_snapshot_length(s->snap) && fork == hc_snapshot_fork(s->snap)) return HC_OK;
  hc_snapshot *n;
  int rc = hc_core_snapshot(s->core, len, &n);
  if (rc) return rc;
  hc_snapshot_free(s->snap);
  s->snap = n;
  if (changed) *changed = true;
  return HC_OK;
}

uint64_t hc_session_length(const hc_session *s) {
  return s->snap ? hc_snapshot_length(s->snap) : hc_core_length(s->core);
}

uint64_t hc_session_byte_length(const hc_session *s) {
  return s->snap ? hc_snapshot_byte_length(s->snap) : hc_core_byte_length(s->core);
}

uint64_t hc_session_fork(const hc_session *s) {
  return s->snap ? hc_snapshot_fork(s->snap) : hc_core_fork(s->core);
}

int hc_session_tree_hash(hc_session *s, uint8_t out[HC_HASH_BYTES]) {
  if (s->snap) return hc_snapshot_tree_hash(s->snap, out);
  return hc_core_tree_hash(s->core, hc_core_length(s->core), out);
}

int hc_session_get_alloc(hc_session *s, uint64_t index, uint8_t **out, size_t *len) {
  if (s->snap) return hc_snapshot_get_alloc(s->snap, index, out, len);
  return hc_core_get_alloc(s->core, index, out, len);
}

bool hc_session_has(hc_session *s, uint64_t start, uint64_t end) {
  if (s->snap) return hc_snapshot_has(s->snap, start, end);
  return hc_core_has(s->core, start, end);
}

/* ---- batches ---- */

struct hc_batch {
  hc_core *core;
  uint64_t start, fork, start_bytes; /* the core's state the batch builds on */
  hc_buf *blocks;                    /* owned copies */
  size_t n, cap;
  uint64_t bytes;
};

int hc_core_batch(hc_core *core, hc_batch **out) {
  if (!core || !out) return HC_ERR_INVALID_ARG;
  hc_batch *b = calloc(1, sizeof *b);
  if (!b) return HC_ERR_NOMEM;
  b->core = core;
  b->start = hc_core_length(core);
  b->fork = hc_core_fork(core);
  b->start_bytes = hc_core_byte_length(core);
  *out = b;
  return HC_OK;
}

static void drop_from(hc_batch *b, size_t k) {
  for (size_t i = k; i < b->n; i++) {
    b->bytes -= b->blocks[i].len;
    free((void *)b->blocks[i].data);
  }
  b->n = k;
}

void hc_batch_free(hc_batch *b) {
  if (!b) return;
  drop_from(b, 0);
  free(b->blocks);
  free(b);
}

int hc_batch_append(hc_batch *b, const hc_buf *blocks, size_t n, uint64_t *length) {
  if (!b || (n && !blocks)) return HC_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++) {
    if (blocks[i].len > HC_MAX_BLOCK_BYTES) return HC_ERR_BLOCK_TOO_LARGE;
    if (blocks[i].len && !blocks[i].data) return HC_ERR_INVALID_ARG;
  }
  if (n > SIZE_MAX - b->n || hc_grow((void **)&b->blocks, &b->cap, b->n + n, sizeof *b->blocks, 16))
    return HC_ERR_NOMEM;
  size_t k = b->n;
  for (size_t i = 0; i < n; i++) {
    uint8_t *copy = malloc(blocks[i].len ? blocks[i].len : 1);
    if (!copy) {
      drop_from(b, k);
      return HC_ERR_NOMEM;
    }
    if (blocks[i].len) memcpy(copy, blocks[i].data, blocks[i].len);
    b->blocks[b->n].data = copy;
    b->blocks[b->n].len = blocks[i].len;
    b->n++;
    b->bytes += blocks[i].len;
  }
  if (length) *length = b->start + b->n;
  return HC_OK;
}

uint64_t hc_batch_length(const hc_batch *b) { return b->start + b->n; }
uint64_t hc_batch_byte_length(const hc_batch *b) { return b->start_bytes + b->bytes; }

int hc_batch_get_alloc(hc_batch *b, uint64_t index, uint8_t **out, size_t *len) {
  *out = NULL;
  if (index < b->start) return hc_core_get_alloc(b->core, index, out, len);
  if (index >= b->start + b->n) return HC_ERR_OUT_OF_RANGE;
  const hc_buf *blk = &b->blocks[index - b->start];
  uint8_t *copy = malloc(blk->len ? blk->len : 1);
  if (!copy) return HC_ERR_NOMEM;
  if (blk->len) memcpy(copy, blk->data, blk->len);
  *out = copy;
  if (len) *len = blk->len;
  return HC_OK;
}

int hc_batch_tree_hash(hc_batch *b, uint8_t out[HC_HASH_BYTES]) {
  hc_core *c = b->core;
  if (hc_core_length(c) != b->start || hc_core_fork(c) != b->fork) return HC_ERR_BUSY;
  hc_merkle_batch mb;
  hc_merkle_batch_init(&mb, &c->tree);
  int rc = HC_OK;
  for (size_t i = 0; i < b->n && !rc; i++) {
    const hc_buf *blk = &b->blocks[i];
    if (c->encrypted) {
      uint8_t *enc = malloc(blk->len + HC_ENCRYPTION_PADDING);
      if (!enc) {
        rc = HC_ERR_NOMEM;
        break;
      }
      hc_block_encrypt(&c->encryption, b->start + i, b->fork, blk->data, blk->len, enc);
      rc = hc_merkle_batch_append(&mb, enc, blk->len + HC_ENCRYPTION_PADDING);
      free(enc);
    } else {
      rc = hc_merkle_batch_append(&mb, blk->data, blk->len);
    }
  }
  if (!rc) hc_merkle_batch_hash(&mb, out);
  hc_merkle_batch_cleanup(&mb);
  return rc;
}

int hc_batch_truncate(hc_batch *b, uint64_t new_length, bool force) {
  if (new_length >= b->start) {
    if (new_length - b->start < b->n) drop_from(b, (size_t)(new_length - b->start));
    return HC_OK;
  }
  if (!force) return HC_ERR_INVALID_ARG;
  if (hc_core_length(b->core) != b->start || hc_core_fork(b->core) != b->fork) return HC_ERR_BUSY;
  int rc = hc_core_truncate(b->core, new_length);
  if (rc) return rc;
  drop_from(b, 0);
  b->start = hc_core_length(b->core);
  b->fork = hc_core_fork(b->core);
  b->start_bytes = hc_core_byte_length(b->core);
  return HC_OK;
}

int hc_batch_flush(hc_batch *b) {
  if (!b) return HC_ERR_INVALID_ARG;
  if (hc_core_length(b->core) != b->start || hc_core_fork(b->core) != b->fork) return HC_ERR_BUSY;
  if (b->n == 0) return HC_OK;
  int rc = hc_core_append(b->core, b->blocks, b->n, NULL, NULL);
  if (rc) return rc;
  drop_from(b, 0);
  b->start = hc_core_length(b->core);
  b->start_bytes = hc_core_byte_length(b->core);
  return HC_OK;
}

/* ---- iterators ---- */

struct hc_iter {
  hc_core *core;
  uint64_t next, end;
  bool live;
};

int hc_core_iter(hc_core *core, uint64_t start, uint64_t end, bool live, hc_iter **out) {
  if (!core || !out || start > end) return HC_ERR_INVALID_ARG;
  hc_iter *it = calloc(1, sizeof *it);
  if (!it) return HC_ERR_NOMEM;
  it->core = core;
  it->next = start;
  it->end = end;
  it->live = live;
  *out = it;
  return HC_OK;
}

void hc_iter_free(hc_iter *it) { free(it); }

int hc_iter_next(hc_iter *it, uint64_t *index, uint8_t **out, size_t *len) {
  *out = NULL;
  *index = it->next;
  if (it->next >= it->end) return HC_ERR_NOT_FOUND;
  if (it->next >= hc_core_length(it->core)) return it->live ? HC_ERR_BUSY : HC_ERR_NOT_FOUND;
  int rc = hc_core_get_alloc(it->core, it->next, out, len);
  if (rc == HC_ERR_NOT_AVAILABLE) return rc;
  if (rc) return rc;
  it->next++;
  return HC_OK;
}

/* ---- byte ranges ---- */

int hc_core_read_bytes(hc_core *core, uint64_t byte_offset, uint8_t *buf, size_t len,
                       size_t *got) {
  *got = 0;
  uint64_t total = hc_core_byte_length(core);
  if (byte_offset > total) return HC_ERR_OUT_OF_RANGE;
  if (len == 0 || byte_offset == total) return HC_OK;
  uint64_t index, off;
  int rc = hc_core_seek(core, byte_offset, &index, &off);
  if (rc) return rc;
  while (*got < len && index < hc_core_length(core)) {
    uint8_t *blk;
    size_t bl;
    rc = hc_core_get_alloc(core, index, &blk, &bl);
    if (rc) return rc;
    if (off < bl) {
      size_t n = bl - (size_t)off;
      if (n > len - *got) n = len - *got;
      memcpy(buf + *got, blk + off, n);
      *got += n;
    }
    free(blk);
    off = 0;
    index++;
  }
  return HC_OK;
}
