/* libhypercore — sessions, snapshots that move, in-memory batches, iterators, byte ranges.
 *
 * A session is another handle on an open core: it shares the core's state (storage, tree,
 * replication) and keeps the core open; the core closes when its last handle (the hc_core
 * itself, via hc_core_close, and every session) is closed. A snapshot session is frozen at the
 * length it was taken at: reads and tree hash are those of that length while the core grows
 * or truncates, until hc_session_update() moves it to the core's current state. */
#ifndef HYPERCORE_SESSION_H
#define HYPERCORE_SESSION_H

#include "common.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_session hc_session;

/* Opens a session on core (snapshot: frozen at the current length). */
HC_EXPORT int hc_core_session(hc_core *core, bool snapshot, hc_session **out);
/* Closes the session; the last handle closes the core. NULL is fine. */
HC_EXPORT void hc_session_close(hc_session *s);
HC_EXPORT hc_core *hc_session_core(const hc_session *s);
HC_EXPORT bool hc_session_is_snapshot(const hc_session *s);
/* A snapshot moves to the core's current length and fork; no-op for other sessions. Returns
 * true in *changed when the length or fork moved (may be NULL). */
HC_EXPORT int hc_session_update(hc_session *s, bool *changed);
HC_EXPORT uint64_t hc_session_length(const hc_session *s);
HC_EXPORT uint64_t hc_session_byte_length(const hc_session *s);
HC_EXPORT uint64_t hc_session_fork(const hc_session *s);
HC_EXPORT int hc_session_tree_hash(hc_session *s, uint8_t out[HC_HASH_BYTES]);
/* Reads block index as of the session (HC_ERR_SNAPSHOT_STALE: a snapshot's block was lost to a
 * truncation). *out allocated (hc_free). */
HC_EXPORT int hc_session_get_alloc(hc_session *s, uint64_t index, uint8_t **out, size_t *len);
HC_EXPORT bool hc_session_has(hc_session *s, uint64_t start, uint64_t end);

/* ---- batches: appends kept in memory, readable, committed atomically with one signature ---- */

typedef struct hc_batch hc_batch;

/* Starts a batch on top of the core's current length and fork. */
HC_EXPORT int hc_core_batch(hc_core *core, hc_batch **out);
/* Drops anything not flushed and frees the batch (NULL is fine). */
HC_EXPORT void hc_batch_free(hc_batch *b);
/* Appends blocks in memory (copied); *length (may be NULL) gets the batch's length. */
HC_EXPORT int hc_batch_append(hc_batch *b, const hc_buf *blocks, size_t n, uint64_t *length);
/* Length / byte length including the unflushed appends. */
HC_EXPORT uint64_t hc_batch_length(const hc_batch *b);
HC_EXPORT uint64_t hc_batch_byte_length(const hc_batch *b);
/* Reads block index from the core (committed part) or the batch's memory. */
HC_EXPORT int hc_batch_get_alloc(hc_batch *b, uint64_t index, uint8_t **out, size_t *len);
/* Tree hash the core will have once the batch is flushed. */
HC_EXPORT int hc_batch_tree_hash(hc_batch *b, uint8_t out[HC_HASH_BYTES]);
/* Drops unflushed appends beyond new_length. Below the committed length it truncates the core
 * itself (a new fork) only with force, else HC_ERR_INVALID_ARG. */
HC_EXPORT int hc_batch_truncate(hc_batch *b, uint64_t new_length, bool force);
/* Commits every unflushed append with one signature and one oplog entry. HC_ERR_BUSY (nothing
 * written) when the core's length or fork changed since the batch began (e.g. it was
 * truncated underneath); the batch stays usable for reading. */
HC_EXPORT int hc_batch_flush(hc_batch *b);

/* ---- iteration ---- */

typedef struct hc_iter hc_iter;

/* Iterates blocks [start, end) (end UINT64_MAX: to the current length; live: keep going as
 * the core grows). */
HC_EXPORT int hc_core_iter(hc_core *core, uint64_t start, uint64_t end, bool live, hc_iter **out);
HC_EXPORT void hc_iter_free(hc_iter *it);
/* Next block: HC_OK with *out allocated (hc_free) and *index; HC_ERR_NOT_FOUND at the end;
 * HC_ERR_BUSY when a live iterator has caught up (call again after the core grew) or the next
 * block is not local (HC_ERR_NOT_AVAILABLE, with *index = the missing block). */
HC_EXPORT int hc_iter_next(hc_iter *it, uint64_t *index, uint8_t **out, size_t *len);

/* Reads len bytes of the log's byte stream (the blocks concatenated) from byte_offset into buf,
 * across block boundaries (createByteStream). *got = bytes read (short at the end of the log).
 * HC_ERR_NOT_AVAILABLE if a needed block is not local. */
HC_EXPORT int hc_core_read_bytes(hc_core *core, uint64_t byte_offset, uint8_t *buf, size_t len,
                                 size_t *got);

#ifdef __cplusplus
}
#endif
#endif
