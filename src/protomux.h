/* Protomux 3.12.1, sans-I/O: channels multiplexed over a message-oriented transport. Each
 * decrypted secret-stream message is one protomux frame; every frame the mux wants to send goes
 * to the send_frame callback (the caller encrypts it as one message).
 *
 * Frame: varint channel || varint type || payload. Channel 0 is control: 0 batch, 1 open,
 * 2 reject, 3 close (spec §4.2). Ids: each side allocates its own local ids from 1 and reuses
 * freed ones (LIFO) exactly when protomux does; a side tags messages with its own local id.
 *
 * Pairing: hc_mux_open_channel sends `open`; the channel is fully open (on_open) when the remote
 * opens the same (protocol or alias, id). A remote open nobody is waiting for goes to
 * on_unknown_open: call hc_mux_open_channel for it inside the callback (or return
 * HC_MUX_DEFER and call it or hc_mux_reject later); otherwise it is rejected (control type 2).
 * Messages that arrive for such a remote channel before it pairs are buffered and delivered
 * after on_open.
 *
 * Callbacks run synchronously inside the call that caused them (feed, open, send, close).
 * They may call any hc_mux_* function except hc_mux_free. A channel handle stays valid until
 * on_close has returned for it (or hc_mux_close_channel returned); don't use it afterwards. */
#ifndef HC_PROTOMUX_H
#define HC_PROTOMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_MUX_MAX_BATCH (8u * 1024u * 1024u) /* a corked batch is split at this size */
#define HC_MUX_MAX_BUFFERED (4u * 1024u * 1024u) /* bytes buffered for unpaired channels */
#define HC_MUX_MAX_REMOTE_CHANNELS 65536u
#define HC_MUX_DEFER 1 /* on_unknown_open: keep the remote open pending */

typedef struct hc_mux hc_mux;
typedef struct hc_mux_channel hc_mux_channel;

typedef struct hc_mux_callbacks {
  /* Sends one frame; bytes are only valid during the call. Non-zero return values are
   * returned by the hc_mux_* call that produced the frame. Required. */
  int (*send_frame)(void *user, const uint8_t *frame, size_t len);
  /* Channel fully open; handshake = the remote's handshake payload (raw, borrowed). */
  int (*on_open)(void *user, hc_mux_channel *ch, const uint8_t *handshake, size_t len);
  /* A channel message (any type index; unknown types are the receiver's business). */
  int (*on_message)(void *user, hc_mux_channel *ch, uint64_t type, const uint8_t *payload,
                    size_t len);
  /* Channel closed: by the remote (close/reject, remote = true), by hc_mux_destroy
   * (remote = true, like protomux's shutdown) or by hc_mux_close_channel (remote = false). */
  void (*on_close)(void *user, hc_mux_channel *ch, bool remote);
  /* A remote open with no local channel waiting. Return HC_OK (rejected unless paired inside
   * the callback), HC_MUX_DEFER, or a negative error (returned by hc_mux_feed_frame). May be
   * NULL: reject everything unknown. */
  int (*on_unknown_open)(void *user, hc_mux *mux, const char *protocol, size_t protocol_len,
                         const uint8_t *id, size_t id_len);
} hc_mux_callbacks;

int hc_mux_new(hc_mux **out, const hc_mux_callbacks *cb, void *user);
/* Frees everything without callbacks. Not from inside a callback. */
void hc_mux_free(hc_mux *mux);
/* Closes every channel (on_close with remote = true); later calls fail with HC_ERR_CLOSED.
 * Also what the caller should do after hc_mux_feed_frame failed. */
void hc_mux_destroy(hc_mux *mux);

/* Feeds one received frame (a decrypted message). Empty frames are ignored. Errors:
 * HC_ERR_DECODE (truncated/malformed), HC_ERR_PROTOCOL (invalid open/reject, message for a
 * channel id never opened, too much buffered), HC_ERR_CLOSED (destroyed), HC_ERR_NOMEM, or a
 * callback's error. After an error the mux must be destroyed. */
int hc_mux_feed_frame(hc_mux *mux, const uint8_t *frame, size_t len);

typedef struct hc_mux_channel_opts {
  const char *protocol; /* NUL-terminated */
  const char *const *aliases; /* other names the remote may use, e.g. "hypercore" */
  size_t naliases;
  const uint8_t *id; /* NULL / 0 = no id */
  size_t id_len;
  const uint8_t *handshake; /* raw handshake payload appended to the open */
  size_t handshake_len;
  void *user; /* hc_mux_channel_user() */
} hc_mux_channel_opts;

/* Opens a channel: sends `open` (and, if a remote open for it is pending, pairs at once: on_open
 * runs before this returns, then buffered messages are delivered). *out is set before any
 * callback runs. HC_ERR_EXISTS if a channel for the same (protocol, id) is open. */
int hc_mux_open_channel(hc_mux *mux, const hc_mux_channel_opts *opts, hc_mux_channel **out);
/* Rejects every pending remote open for (protocol, id) (after HC_MUX_DEFER). */
int hc_mux_reject(hc_mux *mux, const char *protocol, const uint8_t *id, size_t id_len);
/* Sends a message (allowed before the remote opened; it buffers). HC_ERR_CLOSED if closed. */
int hc_mux_send(hc_mux *mux, hc_mux_channel *ch, uint64_t type, const uint8_t *payload,
                size_t len);
/* Sends `close` and closes locally (on_close with remote = false). */
int hc_mux_close_channel(hc_mux *mux, hc_mux_channel *ch);

/* Corked batches are sent as soon as they reach `bytes` (default and maximum HC_MUX_MAX_BATCH),
 * so a long corked section streams instead of arriving as one huge frame. */
void hc_mux_set_max_batch(hc_mux *mux, size_t bytes);

/* Nested: messages sent while corked go out as batch frames at the last uncork. */
void hc_mux_cork(hc_mux *mux);
int hc_mux_uncork(hc_mux *mux);

void *hc_mux_channel_user(const hc_mux_channel *ch);
void hc_mux_channel_set_user(hc_mux_channel *ch, void *user);
bool hc_mux_channel_opened(const hc_mux_channel *ch); /* both sides opened */
bool hc_mux_channel_closed(const hc_mux_channel *ch);
uint64_t hc_mux_channel_local_id(const hc_mux_channel *ch);
uint64_t hc_mux_channel_remote_id(const hc_mux_channel *ch); /* 0 until paired */
const char *hc_mux_channel_protocol(const hc_mux_channel *ch);
const uint8_t *hc_mux_channel_id(const hc_mux_channel *ch, size_t *len);
/* Is a channel for (protocol or alias, id) open locally? */
bool hc_mux_opened(const hc_mux *mux, const char *protocol, const uint8_t *id, size_t id_len);
/* Bytes held for unpaired remote channels. */
size_t hc_mux_buffered(const hc_mux *mux);

#endif
