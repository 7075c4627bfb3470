/* libhypercore — pre-authenticated replication: a replicator over a transport that already
 * did its own authenticated handshake and carries whole messages (a general transport hook).
 *
 * A Hyperswarm connection is an @hyperswarm/secret-stream whose Noise IK handshake happened
 * inside the DHT; hypercore replication runs protomux directly on it and derives the channel
 * capabilities from that stream's handshake hash. Such a connection cannot use our own Noise
 * XX handshake, so this mode skips it: the replicator is given the handshake hash, its role
 * (initiator or not) and the remote's static public key, and from then on consumes and
 * produces the PLAINTEXT of secret-stream messages, one whole message per call (each is one
 * protomux frame or batch). Capabilities, protomux, every hypercore message, verification and
 * backpressure work exactly as over hc_replicator_feed / pending_out.
 *
 * To plug another transport: run the secret-stream (or any framing that preserves message
 * boundaries and authenticates both ends with a 64-byte handshake hash) yourself, create the
 * replicator with hc_replicator_new_preauth, pass each received message to
 * hc_replicator_feed_message, and send each hc_replicator_pending_message in order.
 *
 * The capability each side sends proves knowledge of the core key bound to THIS handshake
 * hash, so a transport that reports a wrong handshake hash (or role) fails the channel with
 * HC_ERR_PROTOCOL ("invalid replication capability"), nothing is stored. Liveness belongs to
 * the transport in this mode: no keep-alives are sent, no handshake or silence timeout runs
 * (secret-stream's own keep-alives are empty messages the transport drops). */
#ifndef HYPERCORE_PREAUTH_H
#define HYPERCORE_PREAUTH_H

#include "common.h"
#include "replicate.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HC_HANDSHAKE_HASH_BYTES 64

#define HC_PREAUTH_OPTS_VERSION 1
typedef struct hc_preauth_opts {
  int version;
  /* Our role in the transport's handshake (secret-stream isInitiator). */
  bool is_initiator;
  /* The transport's handshake hash (64 bytes, secret-stream handshakeHash). Required. */
  const uint8_t *handshake_hash;
  /* The remote's static public key (32 bytes). Required (hc_replicator_remote_public_key). */
  const uint8_t *remote_public_key;
  /* Maximum requests in flight per core (0: 512). */
  uint32_t max_inflight;
} hc_preauth_opts;
#ifdef __cplusplus
#define HC_PREAUTH_OPTS_INIT {HC_PREAUTH_OPTS_VERSION}
#else
#define HC_PREAUTH_OPTS_INIT {.version = HC_PREAUTH_OPTS_VERSION}
#endif

/* Creates a replicator whose transport is already authenticated. It is ready at once: cores
 * added open their channels immediately (on_handshake is not called). hc_replicator_feed /
 * pending_out / consume_out are not used in this mode (feed returns HC_ERR_INVALID_ARG). */
HC_EXPORT int hc_replicator_new_preauth(hc_replicator **out, const hc_preauth_opts *opts,
                                        const hc_replicator_callbacks *cb, void *user);
/* True for a replicator made by hc_replicator_new_preauth. */
HC_EXPORT bool hc_replicator_is_preauth(const hc_replicator *r);

/* Feeds one whole received message (its plaintext). Returns HC_OK or the connection's error.
 * An empty message (a keep-alive that reached us) is ignored. */
HC_EXPORT int hc_replicator_feed_message(hc_replicator *r, const uint8_t *msg, size_t len,
                                         uint64_t now_ms);
/* The next whole message to send: true and (*msg, *len), or false when none is waiting.
 * The pointer is valid until the next call on r. */
HC_EXPORT bool hc_replicator_pending_message(hc_replicator *r, const uint8_t **msg, size_t *len);
/* Marks the message hc_replicator_pending_message returned as sent. */
HC_EXPORT void hc_replicator_consume_message(hc_replicator *r);
/* Bytes of messages waiting to be sent (the transport's backpressure signal). */
HC_EXPORT size_t hc_replicator_pending_bytes(const hc_replicator *r);

/* The remote's static public key (32 bytes): the transport's, or the Noise one once the
 * handshake is done; NULL before. */
HC_EXPORT const uint8_t *hc_replicator_remote_public_key(const hc_replicator *r);

#ifdef __cplusplus
}
#endif
#endif
