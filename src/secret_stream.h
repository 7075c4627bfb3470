/* @hyperswarm/secret-stream 6.x framing over a Noise XX handshake, sans-I/O.
 *
 * Wire: every message is uint24le(len) || bytes.
 *   1. the three Noise XX handshake messages (see noise.h);
 *   2. as soon as its handshake completes, each side sends one 56-byte message
 *      streamId(32) || secretstream header(24), streamId = BLAKE2b-256(key = handshake hash,
 *      NS_INITIATOR or NS_RESPONDER of the sender's role);
 *   3. transport messages: crypto_secretstream_xchacha20poly1305_push(plaintext, TAG_MESSAGE),
 *      i.e. plaintext length + 17 bytes. Empty plaintexts are keep-alives (dropped on receive
 *      unless keep_empty is set).
 *
 * Bytes in: hc_ss_feed (any split). Bytes out: hc_ss_pending_out / hc_ss_consume_out. No I/O,
 * no clock: the caller sends keep-alives with hc_ss_keepalive on its own timer.
 * After any error the stream is failed: every later call returns the same error. Callbacks
 * may call hc_ss_write / hc_ss_keepalive / hc_ss_pending_out but must not free the stream. */
#ifndef HC_SECRET_STREAM_H
#define HC_SECRET_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "hypercore/common.h"

#define HC_SS_HASH_BYTES 64       /* the Noise handshake hash (HC_HANDSHAKE_HASH_BYTES) */
#define HC_SS_HEADER_MSG_BYTES 56 /* stream id + secretstream header */
#define HC_SS_ABYTES 17
#define HC_SS_MAX_FRAME 0xffffffu  /* largest uint24 */
#define HC_SS_MAX_MESSAGE (HC_SS_MAX_FRAME - HC_SS_ABYTES)

typedef struct hc_ss hc_ss;

/* A decrypted message (never called for keep-alives unless keep_empty). */
typedef void (*hc_ss_on_message_fn)(void *user, const uint8_t *data, size_t len);
/* The handshake completed (before the stream header is exchanged). Both pointers stay valid
 * while the stream lives. */
typedef void (*hc_ss_on_handshake_fn)(void *user, const uint8_t remote_public_key[HC_KEY_BYTES],
                                      const uint8_t handshake_hash[HC_SS_HASH_BYTES]);

typedef struct hc_ss_opts {
  hc_ss_on_message_fn on_message;
  hc_ss_on_handshake_fn on_handshake;
  void *user;
  /* Tests: 32-byte seed of the Noise ephemeral key pair (NULL = random). */
  const uint8_t *ephemeral_seed;
  /* Tests: fixed 24-byte secretstream header for our sending direction (NULL = random). */
  const uint8_t *secretstream_header;
  /* Largest accepted incoming frame (0 = HC_SS_MAX_FRAME). Larger frames fail the stream
   * with HC_ERR_PROTOCOL. */
  size_t max_frame;
  /* Deliver empty (keep-alive) messages to on_message instead of dropping them. */
  int keep_empty;
} hc_ss_opts;

enum {
  HC_SS_HANDSHAKING = 0, /* Noise in progress */
  HC_SS_OPEN = 1,        /* our handshake done: writes go out encrypted */
  HC_SS_FAILED = 2
};

/* Creates a stream. pk may be NULL (derived from sk). opts may be NULL. An initiator has its
 * first handshake message ready in the output right away. */
HC_WARN_UNUSED int hc_ss_new(hc_ss **out, int is_initiator, const uint8_t *pk,
                             const uint8_t sk[HC_SECRET_KEY_BYTES], const hc_ss_opts *opts);
void hc_ss_free(hc_ss *ss);

/* Consumes len bytes from the peer. Returns HC_OK, or an error (HC_ERR_HANDSHAKE for a bad
 * Noise message, HC_ERR_PROTOCOL for a bad header message / MAC / short or oversized frame,
 * HC_ERR_NOMEM); the stream is then failed. */
HC_WARN_UNUSED int hc_ss_feed(hc_ss *ss, const uint8_t *data, size_t len);

/* Encrypts one message (len <= HC_SS_MAX_MESSAGE, else HC_ERR_INVALID_ARG without failing the
 * stream) into the output. Before our side of the handshake completes the plaintext is copied
 * and sent right after the stream header. data must not point into the stream's own output
 * (hc_ss_pending_out) buffer. */
HC_WARN_UNUSED int hc_ss_write(hc_ss *ss, const uint8_t *data, size_t len);
/* Sends an empty message (keep-alive). */
HC_WARN_UNUSED int hc_ss_keepalive(hc_ss *ss);

/* Outgoing bytes not yet consumed (ptr valid until the next call on ss). */
void hc_ss_pending_out(hc_ss *ss, const uint8_t **ptr, size_t *len);
void hc_ss_consume_out(hc_ss *ss, size_t n);

int hc_ss_state(const hc_ss *ss);
/* Bytes held in buffers (the frame being received, output, writes queued before the handshake). */
size_t hc_ss_memory(const hc_ss *ss);
/* The error that failed the stream (HC_OK if not failed). */
int hc_ss_error(const hc_ss *ss);
/* 1 once the remote stream header has been received and verified (remote can send data). */
int hc_ss_remote_ready(const hc_ss *ss);
int hc_ss_is_initiator(const hc_ss *ss);
/* NULL before the handshake completes. */
const uint8_t *hc_ss_handshake_hash(const hc_ss *ss);    /* 64 bytes */
const uint8_t *hc_ss_remote_public_key(const hc_ss *ss); /* 32 bytes */
const uint8_t *hc_ss_public_key(const hc_ss *ss);        /* 32 bytes */

/* streamId = BLAKE2b-256(key = handshake hash, NS_INITIATOR / NS_RESPONDER). */
void hc_ss_stream_id(uint8_t out[HC_HASH_BYTES], const uint8_t handshake_hash[HC_SS_HASH_BYTES],
                     int initiator);

#endif
