/* libhypercore — replication, sans-I/O (bytes in, bytes out, callbacks, caller's clock).
 *
 * One hc_replicator is one connection to one remote peer: the Noise XX secret stream of
 * @hyperswarm/secret-stream, Protomux on top, and one "hypercore/alpha" channel per core.
 * The caller moves bytes: hc_replicator_feed() with what the socket delivered, and
 * hc_replicator_pending_out()/hc_replicator_consume_out() for what to write to it. Time is
 * passed in (milliseconds from any fixed origin); hc_replicator_tick() sends keep-alives.
 *
 * Every block and upgrade received is verified against the core's key before anything is
 * written. A peer that sends something that does not verify, or malformed frames, fails the
 * connection: feed returns the error, hc_replicator_error() keeps it, nothing is stored.
 *
 * Several cores can share one replicator; one core can be on many replicators (serving many
 * peers): replicators listen to the core's update events, so appends and downloads made
 * anywhere are announced to every peer (live replication). */
#ifndef HYPERCORE_REPLICATE_H
#define HYPERCORE_REPLICATE_H

#include "common.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_replicator hc_replicator;

typedef struct hc_replicator_callbacks {
  /* The remote opened a channel for a discovery key we have not added, at any moment of the
   * connection. Return a core to replicate it (the replicator adds it, downloading nothing) or
   * NULL to reject (the connection stays up). May be NULL (reject). */
  hc_core *(*on_discovery_key)(void *user, hc_replicator *r, const uint8_t discovery_key[32]);
  /* Noise handshake done. May be NULL. */
  void (*on_handshake)(void *user, hc_replicator *r, const uint8_t remote_public_key[32]);
  /* A core's channel is open on both sides / closed. May be NULL. */
  void (*on_peer_add)(void *user, hc_replicator *r, hc_core *core);
  void (*on_peer_remove)(void *user, hc_replicator *r, hc_core *core);
  /* The remote announced a new length (sync) for a core. May be NULL. */
  void (*on_remote_sync)(void *user, hc_replicator *r, hc_core *core, uint64_t fork,
                         uint64_t length);
  /* A block was received, verified and stored / sent to the remote. May be NULL. */
  void (*on_download)(void *user, hc_replicator *r, hc_core *core, uint64_t index, size_t bytes);
  void (*on_upload)(void *user, hc_replicator *r, hc_core *core, uint64_t index, size_t bytes);
  /* Something the remote sent was dropped without failing the connection (a message for an
   * unknown extension, an oversized extension message, ...). May be NULL. */
  void (*on_warning)(void *user, hc_replicator *r, hc_core *core, int err, const char *message);
  /* A core that on_discovery_key gave is no longer replicated: the remote closed (or
   * rejected) its channel and we are not downloading it. The replicator forgot it (as if
   * hc_replicator_remove_core); the owner may close it now. A later open from the remote asks
   * on_discovery_key again. May be NULL: such cores then stay on the connection until it ends. */
  void (*on_core_released)(void *user, hc_replicator *r, hc_core *core);
} hc_replicator_callbacks;

/* ---- extensions (the reference's core.registerExtension) ---- */

#define HC_MAX_EXTENSION_NAME 256
#define HC_MAX_EXTENSION_MESSAGE (4u * 1024u * 1024u)

/* An extension message arrived for `name` (registered on this replicator and core). */
typedef void (*hc_extension_cb)(void *user, hc_replicator *r, hc_core *core, const char *name,
                                const uint8_t *message, size_t len);

#define HC_REPLICATOR_OPTS_VERSION 2
typedef struct hc_replicator_opts {
  int version;
  bool is_initiator;
  /* Noise static key pair (Ed25519 secret key, 64 bytes); NULL: a random one. */
  const uint8_t *static_secret_key;
  /* Tests only: fixed ephemeral seed (32 bytes) for a reproducible handshake. */
  const uint8_t *ephemeral_seed;
  /* Keep-alive interval (0: 5000 ms as the reference; UINT64_MAX: none). */
  uint64_t keepalive_ms;
  /* Maximum requests in flight per core (0: 512). */
  uint32_t max_inflight;
  /* Version >= 2: fail the connection if the Noise handshake is not done after this long
   * (0: 15000 ms). */
  uint64_t handshake_timeout_ms;
} hc_replicator_opts;

/* Creates a replicator. Output (the Noise message 1 when initiator) is ready at once. */
HC_EXPORT int hc_replicator_new(hc_replicator **out, const hc_replicator_opts *opts,
                                const hc_replicator_callbacks *cb, void *user);
/* Frees it and unregisters from every core (cores stay open; NULL is fine). */
HC_EXPORT void hc_replicator_free(hc_replicator *r);

/* Replicates `core` on this connection (opens its channel once the handshake is done).
 * Downloads nothing until asked (hc_replicator_download / hc_replicator_set_live).
 * The channel stays pairable for the whole connection, as the reference's protomux.pair: if
 * the remote rejects our open or closes the channel, its own later open is answered (and a
 * later download/set_live re-opens it from our side). */
HC_EXPORT int hc_replicator_add_core(hc_replicator *r, hc_core *core);

/* Stops replicating `core` on this connection: closes its channel (the remote sees a close,
 * as when a JS core closes) and forgets it; the core stays open. Adding it again later opens a
 * new channel. Not from inside a callback of r. HC_ERR_NOT_FOUND if it was not added. */
HC_EXPORT int hc_replicator_remove_core(hc_replicator *r, hc_core *core);

/* Downloads blocks [start, end) of `core` (end == UINT64_MAX: up to the remote's length,
 * whatever it is). Ranges accumulate. */
HC_EXPORT int hc_replicator_download(hc_replicator *r, hc_core *core, uint64_t start,
                                     uint64_t end);
/* Keep upgrading to the remote's length as it grows (reader following a live writer). */
HC_EXPORT int hc_replicator_set_live(hc_replicator *r, hc_core *core, bool live);

/* Registers extension `name` (1..256 bytes) for core on this connection. Messages for names
 * nobody registered are dropped with an on_warning. HC_ERR_EXISTS if already registered. */
HC_EXPORT int hc_replicator_register_extension(hc_replicator *r, hc_core *core, const char *name,
                                               hc_extension_cb cb, void *user);
/* Sends an extension message (<= 4 MiB) to the remote. HC_ERR_BUSY before the core's channel
 * is open on both sides. (Broadcast: send on every connection, see hc_net_broadcast_extension.) */
HC_EXPORT int hc_replicator_send_extension(hc_replicator *r, hc_core *core, const char *name,
                                           const uint8_t *message, size_t len);

/* Feeds received bytes (any split). Returns HC_OK or the error that failed the connection
 * (HC_ERR_HANDSHAKE, HC_ERR_PROTOCOL, HC_ERR_DECODE, HC_ERR_BAD_PROOF, HC_ERR_BAD_SIGNATURE,
 * HC_ERR_IO, ...). After an error only hc_replicator_free is useful. */
HC_EXPORT int hc_replicator_feed(hc_replicator *r, const uint8_t *data, size_t len,
                                 uint64_t now_ms);
/* Bytes to send (pointer valid until the next call on r). */
HC_EXPORT void hc_replicator_pending_out(hc_replicator *r, const uint8_t **data, size_t *len);
HC_EXPORT void hc_replicator_consume_out(hc_replicator *r, size_t n);
/* Timers: keep-alives. Returns HC_OK or the connection's error. */
HC_EXPORT int hc_replicator_tick(hc_replicator *r, uint64_t now_ms);
/* When hc_replicator_tick wants to run next (absolute ms). */
HC_EXPORT uint64_t hc_replicator_next_timeout(const hc_replicator *r);

/* The error that failed the connection (HC_OK while healthy) and a human-readable reason. */
HC_EXPORT int hc_replicator_error(const hc_replicator *r);
HC_EXPORT const char *hc_replicator_error_message(const hc_replicator *r);
/* Handshake done? */
HC_EXPORT bool hc_replicator_ready(const hc_replicator *r);

/* The remote's last announced (fork, length) for core; false if no sync received yet. */
HC_EXPORT bool hc_replicator_remote_info(const hc_replicator *r, const hc_core *core,
                                         uint64_t *fork, uint64_t *length);
/* True when the core has synced with the remote at least once, holds the remote's length
 * (same fork) and every block of the requested ranges. */
HC_EXPORT bool hc_replicator_done(const hc_replicator *r, const hc_core *core);
/* Requests in flight for core. */
HC_EXPORT size_t hc_replicator_inflight(const hc_replicator *r, const hc_core *core);

#ifdef __cplusplus
}
#endif
#endif
