/* The big header (lib/core.js: a header too large for the oplog's 4 KiB slots lives in the
 * `header` file and the oplog holds a pointer to it: external, ext_start, ext_length).
 * Internal (src/), used by core.c; the core owns the `header` file. */
#ifndef HC_OPLOG_EXT_H
#define HC_OPLOG_EXT_H

#include <stdbool.h>
#include <stdint.h>

#include "hypercore/storage.h"
#include "oplog.h"

/* A stored big header longer than this is corrupt (it would drive a huge allocation). */
#define HC_OPLOG_EXT_MAX (64u << 20)

/* Writes h (as a full header) to `file`: at 0 when it ends before the previous copy (at
 * *ext_start, *ext_length bytes) begins, else right after that copy (4 KiB aligned); fsyncs it
 * when `sync` (before the oplog points at it). On success *ext_start and *ext_length say where
 * it is and *ptr is the pointer header for the oplog. */
int hc_oplog_ext_write(hc_storage *file, const hc_oplog_header *h, bool sync, uint64_t *ext_start,
                       uint64_t *ext_length, hc_oplog_header *ptr);
/* Reads and decodes the big header at [start, start + len) of `file` (len at most
 * HC_OPLOG_EXT_MAX). HC_ERR_CORRUPT if unreadable or malformed, HC_ERR_NOMEM. */
int hc_oplog_ext_read(hc_storage *file, uint64_t start, uint64_t len, hc_oplog_header *out);

#endif
