/* Hypercore wire messages (lib/messages.js `wire.*` of hypercore 10.38.2, plus what 11.37.1 adds
 * on the wire): the channel open handshake payload and the ten channel message types.
 *
 * Encoders take an hc_enc (buf == NULL counts bytes) and return e->err (HC_OK, HC_ERR_NOBUF).
 * Decoders read from an hc_dec and return HC_OK or HC_ERR_DECODE; like the JS decoders they do
 * not require the input to be consumed (trailing bytes are ignored, 11.x appends optional
 * fields). Decoded pointers borrow from the input. */
#ifndef HC_MESSAGES_H
#define HC_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encoding.h"
#include "merkle.h"

#define HC_PROTOCOL_NAME "hypercore/alpha"
#define HC_PROTOCOL_ALIAS "hypercore"

/* Channel message types (index in the protomux channel's message list). */
enum {
  HC_MSG_SYNC = 0,
  HC_MSG_REQUEST = 1,
  HC_MSG_CANCEL = 2,
  HC_MSG_DATA = 3,
  HC_MSG_NO_DATA = 4,
  HC_MSG_WANT = 5,
  HC_MSG_UNWANT = 6,
  HC_MSG_BITFIELD = 7,
  HC_MSG_RANGE = 8,
  HC_MSG_EXTENSION = 9,
  HC_MSG_COUNT = 10
};

/* Name of a message type ("sync", ...; "unknown" otherwise). */
const char *hc_msg_name(uint64_t type);

/* Encodes message `type` into a fresh allocation (*out, free()): msg points at the struct for
 * that type (hc_msg_sync, hc_msg_request, hc_msg_cancel, hc_proof for data, hc_msg_no_data,
 * hc_msg_want for want/unwant, hc_msg_bitfield, hc_msg_range, hc_msg_extension).
 * HC_ERR_INVALID_ARG for an unknown type, HC_ERR_NOMEM. */
int hc_msg_encode_alloc(uint64_t type, const void *msg, uint8_t **out, size_t *len);

/* Open handshake payload: varint flags (bit0 seeks; JS always sends 1) || fixed32 capability. */
typedef struct hc_msg_handshake {
  bool seeks;
  uint8_t capability[HC_HASH_BYTES];
} hc_msg_handshake;

int hc_msg_handshake_encode(hc_enc *e, const hc_msg_handshake *m);
int hc_msg_handshake_decode(hc_dec *d, hc_msg_handshake *m);

/* 0 sync. allow_push is 11.x only (flag bit 4). */
typedef struct hc_msg_sync {
  uint64_t fork, length, remote_length;
  bool can_upgrade, uploading, downloading, has_manifest, allow_push;
} hc_msg_sync;

int hc_msg_sync_encode(hc_enc *e, const hc_msg_sync *m);
int hc_msg_sync_decode(hc_dec *d, hc_msg_sync *m);

/* 1 request: the parts are the hc_proof_request of core.h (block/hash/seek/upgrade/manifest).
 * priority is sent only when non-zero (flag bit 5). */
typedef struct hc_msg_request {
  uint64_t id, fork;
  hc_proof_request r;
  uint64_t priority;
} hc_msg_request;

int hc_msg_request_encode(hc_enc *e, const hc_msg_request *m);
int hc_msg_request_decode(hc_dec *d, hc_msg_request *m);

/* 2 cancel */
typedef struct hc_msg_cancel {
  uint64_t request;
} hc_msg_cancel;

int hc_msg_cancel_encode(hc_enc *e, const hc_msg_cancel *m);
int hc_msg_cancel_decode(hc_dec *d, hc_msg_cancel *m);

/* 3 data: the body is an hc_proof (merkle.h).
 * Encode: flags from has_*; block value as buffer; the manifest bytes (already encoded) raw.
 * Decode: node arrays are allocated in one block into p->owned (free with hc_proof_cleanup);
 * block value, signature and manifest borrow from buf. An empty block value decodes to a
 * non-NULL pointer with length 0. The manifest is measured (versions 0-3, as 11.x decodes
 * them) to find its length; decode it with manifest.h.
 * On error *p is left cleaned up (nothing to free). */
int hc_msg_data_encode(hc_enc *e, const hc_proof *p);
int hc_msg_data_decode(const uint8_t *buf, size_t len, hc_proof *p);
/* Same, reading from a cursor (advances it past the message). */
int hc_msg_data_decode_dec(hc_dec *d, hc_proof *p);
/* hc_proof_cleanup (declared in merkle.h) is implemented in messages.c. */

/* 4 noData. 11.x always appends a flags varint (bit0: reason follows). */
typedef struct hc_msg_no_data {
  uint64_t request;
  bool has_flags; /* encode the flags varint even when reason == 0 (what 11.x sends) */
  uint64_t reason;
} hc_msg_no_data;

int hc_msg_no_data_encode(hc_enc *e, const hc_msg_no_data *m);
int hc_msg_no_data_decode(hc_dec *d, hc_msg_no_data *m);

/* 5 want / 6 unwant. `any` is 11.x (optional trailing flags varint, written only when set). */
typedef struct hc_msg_want {
  uint64_t start, length;
  bool any;
} hc_msg_want;

int hc_msg_want_encode(hc_enc *e, const hc_msg_want *m);
int hc_msg_want_decode(hc_dec *d, hc_msg_want *m);
/* unwant has the same encoding */
#define hc_msg_unwant_encode hc_msg_want_encode
#define hc_msg_unwant_decode hc_msg_want_decode

/* 7 bitfield: varint start, uint32array. `words` points at nwords*4 bytes, each word little
 * endian (borrowed from the input on decode; no alignment assumed). */
typedef struct hc_msg_bitfield {
  uint64_t start;
  const uint8_t *words;
  size_t nwords;
} hc_msg_bitfield;

int hc_msg_bitfield_encode(hc_enc *e, const hc_msg_bitfield *m);
/* Encodes host-order words. */
int hc_msg_bitfield_encode_words(hc_enc *e, uint64_t start, const uint32_t *words, size_t n);
int hc_msg_bitfield_decode(hc_dec *d, hc_msg_bitfield *m);
static inline uint32_t hc_msg_bitfield_word(const hc_msg_bitfield *m, size_t i) {
  return hc_get_u32le(m->words + 4 * i);
}
/* Bit j of the array (block start + j). */
static inline bool hc_msg_bitfield_get(const hc_msg_bitfield *m, uint64_t j) {
  return j / 32 < m->nwords && (hc_msg_bitfield_word(m, (size_t)(j / 32)) >> (j % 32)) & 1;
}

/* 8 range: flags bit0 drop, bit1 "length is 1" (length omitted). */
typedef struct hc_msg_range {
  bool drop;
  uint64_t start, length;
} hc_msg_range;

int hc_msg_range_encode(hc_enc *e, const hc_msg_range *m);
int hc_msg_range_decode(hc_dec *d, hc_msg_range *m);

/* 9 extension: string name (may be empty), raw message (the rest). */
typedef struct hc_msg_extension {
  const char *name; /* not NUL-terminated */
  size_t name_len;
  const uint8_t *message;
  size_t message_len;
} hc_msg_extension;

int hc_msg_extension_encode(hc_enc *e, const hc_msg_extension *m);
int hc_msg_extension_decode(hc_dec *d, hc_msg_extension *m);

#endif
