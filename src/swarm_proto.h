/* The framed protocol between libhypercore and its Hyperswarm helper (helper/swarm/helper.js),
 * over a socketpair the helper inherits as fd 3. Sans-I/O: bytes in, frames out.
 *
 * Frame: uint32le n (1 <= n <= HC_SWP_MAX_FRAME) | uint8 type | body (n - 1 bytes).
 *
 * library -> helper                           helper -> library
 *   CONFIG  flags(1) seed(32) bootstrap(utf8)   READY      public_key(32)
 *           flags bit 0: loopback network       CONNECTION id(4) initiator(1) remote_pk(32)
 *   JOIN    topic(32) flags(1): 1 server,                  handshake_hash(64)
 *           2 client                            DATA       id(4) message
 *   LEAVE   topic(32)                           CLOSED     id(4) reason(utf8, may be empty)
 *   DATA    id(4) message                       ERROR      text(utf8)
 *   CLOSE   id(4)                               PONG       nonce(4) connections(4) peers(4)
 *   PING    nonce(4)                                       dht_nodes(4)
 *                                               JOINED     topic(32) (first announce/lookup
 *                                                          round done)
 * Integers are little-endian. id numbers a connection (chosen by the helper, never reused
 * while the helper runs); DATA carries exactly one secret-stream message (plaintext). */
#ifndef HC_SWARM_PROTO_H
#define HC_SWARM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_SWP_MAX_FRAME (0x1000000u + 64u) /* a secret-stream message plus the header */

enum {
  HC_SWP_CONFIG = 0x01,
  HC_SWP_JOIN = 0x02,
  HC_SWP_LEAVE = 0x03,
  HC_SWP_DATA = 0x04,
  HC_SWP_CLOSE = 0x05,
  HC_SWP_PING = 0x06,
  HC_SWP_READY = 0x81,
  HC_SWP_CONNECTION = 0x82,
  HC_SWP_H_DATA = 0x83,
  HC_SWP_CLOSED = 0x84,
  HC_SWP_ERROR = 0x85,
  HC_SWP_PONG = 0x86,
  HC_SWP_JOINED = 0x87
};

#define HC_SWP_JOIN_SERVER 1
#define HC_SWP_JOIN_CLIENT 2
#define HC_SWP_CONFIG_LOOPBACK 1

/* A decoded helper -> library frame; pointers are into the decoder's buffer, valid until the
 * next hc_swp_dec_* call. */
typedef struct hc_swp_frame {
  uint8_t type;
  uint32_t id;                  /* CONNECTION, DATA, CLOSED */
  bool initiator;               /* CONNECTION */
  const uint8_t *key;           /* READY: our public key; CONNECTION: the remote's (32) */
  const uint8_t *hash;          /* CONNECTION: handshake hash (64) */
  const uint8_t *topic;         /* JOINED (32) */
  const uint8_t *data;          /* DATA: the message; CLOSED, ERROR: text (not NUL-terminated) */
  size_t len;
  uint32_t nonce, connections, peers, dht_nodes; /* PONG */
} hc_swp_frame;

typedef struct hc_swp_dec {
  uint8_t *buf;
  size_t head, len, cap;
  int err;
} hc_swp_dec;

/* Space to read into: at least `want` bytes at *ptr (HC_ERR_NOMEM, or the decoder's error).
 * Then hc_swp_dec_commit(n) with what was read. At most one frame plus `want` is buffered. */
int hc_swp_dec_reserve(hc_swp_dec *d, size_t want, uint8_t **ptr, size_t *avail);
void hc_swp_dec_commit(hc_swp_dec *d, size_t n);
/* Copies bytes in (tests, fuzzing). */
int hc_swp_dec_feed(hc_swp_dec *d, const uint8_t *data, size_t len);
/* The next complete frame: 1 and *f, 0 when more bytes are needed, or a negative error
 * (HC_ERR_PROTOCOL: bad length, unknown type, wrong body size), after which the decoder stays
 * failed. */
int hc_swp_dec_next(hc_swp_dec *d, hc_swp_frame *f);
void hc_swp_dec_free(hc_swp_dec *d);

/* An output buffer of frames (library -> helper). */
typedef struct hc_swp_out {
  uint8_t *buf;
  size_t head, len, cap;
} hc_swp_out;

/* Appends one frame whose body is a || b (either may be empty). HC_OK or HC_ERR_NOMEM
 * (nothing appended), HC_ERR_INVALID_ARG when too large. */
int hc_swp_put(hc_swp_out *o, uint8_t type, const void *a, size_t alen, const void *b,
               size_t blen);
/* Appends DATA/CLOSE/PING-style frames: uint32 id then `data`. */
int hc_swp_put_id(hc_swp_out *o, uint8_t type, uint32_t id, const void *data, size_t len);
size_t hc_swp_out_pending(const hc_swp_out *o);
void hc_swp_out_consume(hc_swp_out *o, size_t n);
void hc_swp_out_free(hc_swp_out *o);

#endif
