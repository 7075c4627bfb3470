/* Hyperbee block encodings (hyperbee 2.x lib/messages.js, protocol buffers): the Header of
 * block 0, the Node of every other block and the YoloIndex inside a node.
 *
 * Decoders never read outside their input and never allocate more than a bound derived from
 * the input's length; pointers they return point into the input. */
#ifndef HC_BEE_MESSAGES_H
#define HC_BEE_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header { 1: protocol (string, required), 2: Metadata { 1: contentFeed, 2: userData } } */
typedef struct hc_bee_header_msg {
  const uint8_t *protocol;
  size_t protocol_len;
  bool has_metadata;
  const uint8_t *content_feed; /* NULL when absent */
  size_t content_feed_len;
  const uint8_t *user_data; /* NULL when absent */
  size_t user_data_len;
} hc_bee_header_msg;

/* Node { 1: index (bytes, required), 2: key (bytes, required), 3: value (bytes) } */
typedef struct hc_bee_node_msg {
  const uint8_t *index;
  size_t index_len;
  const uint8_t *key;
  size_t key_len;
  const uint8_t *value; /* may be non-NULL with value_len 0 */
  size_t value_len;
  bool has_value;
} hc_bee_node_msg;

/* One level of a YoloIndex: keys are block seqs, children are (seq, offset) pairs. */
typedef struct hc_bee_level {
  const uint64_t *keys;
  size_t nkeys;
  const uint64_t *children; /* 2 * nchildren values: seq, offset, seq, offset, ... */
  size_t nchildren;
} hc_bee_level;

/* A decoded YoloIndex: levels and their arrays in one allocation (free with free()). */
typedef struct hc_bee_index {
  size_t nlevels;
  hc_bee_level *levels;
} hc_bee_index;

/* HC_OK or HC_ERR_DECODE (also: protocol or key/index missing, as the reference). */
int hc_bee_header_decode(const uint8_t *buf, size_t len, hc_bee_header_msg *out);
int hc_bee_node_decode(const uint8_t *buf, size_t len, hc_bee_node_msg *out);
/* *out is allocated (free()); HC_ERR_DECODE, also for an odd number of child values;
 * HC_ERR_NOMEM. */
int hc_bee_index_decode(const uint8_t *buf, size_t len, hc_bee_index **out);

/* Encoders: with out == NULL only return the length; else write it (out must hold it). */
size_t hc_bee_header_encode(uint8_t *out, const uint8_t *content_feed, size_t cf_len,
                            bool has_metadata, const uint8_t *user_data, size_t ud_len);
size_t hc_bee_node_encode(uint8_t *out, const uint8_t *index, size_t index_len,
                          const uint8_t *key, size_t key_len, const uint8_t *value,
                          size_t value_len, bool has_value);
size_t hc_bee_index_encode(uint8_t *out, const hc_bee_level *levels, size_t nlevels);

/* Protocol buffer varint helpers (exposed for the tests). */
size_t hc_pb_varint_len(uint64_t v);
size_t hc_pb_put_varint(uint8_t *out, uint64_t v);

#endif
