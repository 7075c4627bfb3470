/* The `oplog` file (lib/oplog.js): two 4 KiB header slots flipped on flush, then CRC-framed
 * entries. Also the header and entry encodings of lib/messages.js (oplog.header/entry). */
#ifndef HC_OPLOG_H
#define HC_OPLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "hypercore/storage.h"
#include "manifest.h"

#define HC_OPLOG_PAGE 4096
#define HC_OPLOG_ENTRY_OFFSET (2 * HC_OPLOG_PAGE)
#define HC_OPLOG_MAX_REORGS 4

typedef struct hc_user_data {
  char *key;      /* NUL terminated, key_len bytes */
  size_t key_len;
  uint8_t *value;
  size_t len;
} hc_user_data;

typedef struct hc_reorg_hint {
  uint64_t from, to, ancestors;
} hc_reorg_hint;

typedef struct hc_oplog_header {
  bool external; /* only ext_start/ext_length are meaningful: the real header is in `header` */
  uint64_t ext_start, ext_length;
  uint8_t key[HC_KEY_BYTES];
  bool has_manifest;
  hc_manifest manifest;
  bool has_keypair;
  uint8_t public_key[HC_KEY_BYTES];
  bool has_secret_key;
  uint8_t secret_key[HC_SECRET_KEY_BYTES];
  hc_user_data *user_data; /* owned */
  size_t n_user_data;
  uint64_t fork, length;
  bool has_root_hash;
  uint8_t root_hash[HC_HASH_BYTES];
  uint8_t *signature; /* owned, NULL if none */
  size_t signature_len;
  hc_reorg_hint reorgs[16];
  size_t n_reorgs;
  uint64_t contiguous_length;
} hc_oplog_header;

typedef struct hc_oplog_entry {
  bool has_user_data;
  const char *ud_key;
  size_t ud_key_len;
  const uint8_t *ud_value; /* NULL/0: delete */
  size_t ud_len;
  bool has_tree_nodes;
  const hc_node *nodes;
  size_t nnodes;
  bool has_upgrade;
  uint64_t fork, ancestors, length;
  const uint8_t *signature;
  size_t signature_len;
  bool has_bitfield;
  bool drop;
  uint64_t bf_start, bf_length;
} hc_oplog_entry;

typedef struct hc_oplog {
  hc_storage *file; /* borrowed */
  uint8_t headers[2];
  uint64_t byte_length; /* bytes of entries after the header pages */
  uint64_t length;      /* entries */
  bool readonly;
} hc_oplog;

void hc_oplog_header_cleanup(hc_oplog_header *h);
/* Sets (or with value NULL/len 0 deletes) a user-data key. */
int hc_oplog_header_set_user_data(hc_oplog_header *h, const char *key, size_t key_len,
                                  const uint8_t *value, size_t len);
int hc_oplog_header_set_signature(hc_oplog_header *h, const uint8_t *sig, size_t len);

void hc_oplog_header_encode(hc_enc *e, const hc_oplog_header *h);
int hc_oplog_header_decode(const uint8_t *buf, size_t len, hc_oplog_header *h);
void hc_oplog_entry_encode(hc_enc *e, const hc_oplog_entry *en);
/* Node array is allocated in *nodes_owned (free it); other pointers borrow buf. */
int hc_oplog_entry_decode(const uint8_t *buf, size_t len, hc_oplog_entry *en, hc_node **nodes_owned);

/* crc32 (zlib) over the length word + payload. */
uint32_t hc_oplog_crc(const uint8_t *p, size_t len);

typedef int (*hc_oplog_entry_cb)(void *ctx, const hc_oplog_entry *e);

/* Opens the oplog: recovers the active header (*has_header false for an empty/new file) and
 * replays valid entries through cb (in order, trailing partial batches dropped), then trims
 * the file after the last valid entry (unless readonly). HC_ERR_CORRUPT when neither header
 * slot is valid in a file of >= 8192 bytes. */
int hc_oplog_open(hc_oplog *op, hc_storage *file, bool readonly, hc_oplog_header *header,
                  bool *has_header, hc_oplog_entry_cb cb, void *ctx);

/* Appends entries (atomic: all but the last carry the partial bit). */
int hc_oplog_append(hc_oplog *op, const hc_oplog_entry *entries, size_t n, bool atomic);

/* Encodes one entry as a framed record (current header bit, not partial) at the end of a
 * growable buffer; hc_oplog_write_frames then appends such records (count of them) in one
 * write. The header must not be flushed in between. */
int hc_oplog_frame_into(const hc_oplog *op, const hc_oplog_entry *en, uint8_t **buf, size_t *len,
                        size_t *cap);
int hc_oplog_write_frames(hc_oplog *op, const uint8_t *buf, size_t len, size_t count);

/* Writes the header into the inactive slot and truncates the entries.
 * HC_ERR_HEADER_OVERFLOW when it does not fit a slot. */
int hc_oplog_flush(hc_oplog *op, const hc_oplog_header *h);
/* The same, with an fsync between writing the header and dropping the entries (durable). */
int hc_oplog_flush_sync(hc_oplog *op, const hc_oplog_header *h);

#endif
