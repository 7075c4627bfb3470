/* @hyperswarm/secret-stream 6.x framing, sans-I/O (see secret_stream.h). */
#include "secret_stream.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "grow.h"
#include "noise.h"

struct hc_ss {
  int initiator;
  int state;
  int err;
  int remote_ready;
  int hs_done;
  int in_feed;
  hc_noise noise;
  uint8_t pk[HC_KEY_BYTES];
  uint8_t hash[HC_SS_HASH_BYTES];
  uint8_t remote_pk[HC_KEY_BYTES];
  hc_crypto_ss_state tx, rx;
  int has_fixed_header;
  uint8_t fixed_header[HC_CRYPTO_SS_HEADERBYTES];
  hc_ss_on_message_fn on_message;
  hc_ss_on_handshake_fn on_handshake;
  void *user;
  size_t max_frame;
  int keep_empty;
  /* incoming frame parser */
  uint8_t lenbuf[3];
  size_t lenhave;
  int in_body;
  size_t flen, fhave;
  uint8_t *fbuf;
  size_t fcap;
  /* outgoing bytes: out[off..len) */
  uint8_t *out;
  size_t out_off, out_len, out_cap;
  /* plaintexts written before the handshake completed: uint24le(len) || bytes, repeated */
  uint8_t *pend;
  size_t pend_len, pend_cap;
};

static void put_u24(uint8_t *p, size_t n) {
  p[0] = (uint8_t)n;
  p[1] = (uint8_t)(n >> 8);
  p[2] = (uint8_t)(n >> 16);
}

static size_t get_u24(const uint8_t *p) {
  return (size_t)p[0] | ((size_t)p[1] << 8) | ((size_t)p[2] << 16);
}

void hc_ss_stream_id(uint8_t out[HC_HASH_BYTES], const uint8_t handshake_hash[HC_SS_HASH_BYTES],
                     int initiator) {
  hc_crypto_blake2b(out, HC_HASH_BYTES, initiator ? HC_NS_SS_INITIATOR : HC_NS_SS_RESPONDER,
                    HC_HASH_BYTES, handshake_hash, HC_SS_HASH_BYTES);
}

static int ss_fail(hc_ss *ss, int err) {
  if (ss->state != HC_SS_FAILED) {
    ss->state = HC_SS_FAILED;
    ss->err = err;
    hc_noise_clear(&ss->noise);
    hc_crypto_wipe(&ss->tx, sizeof ss->tx);
    hc_crypto_wipe(&ss->rx, sizeof ss->rx);
  }
  return ss->err;
}

/* Reserves n bytes at the end of the output; returns a pointer or NULL on OOM. */
static uint8_t *out_reserve(hc_ss *ss, size_t n) {
  if (ss->out_off && ss->out_off == ss->out_len) ss->out_off = ss->out_len = 0;
  if (ss->out_cap - ss->out_len < n && ss->out_off) {
    memmove(ss->out, ss->out + ss->out_off, ss->out_len - ss->out_off);
    ss->out_len -= ss->out_off;
    ss->out_off = 0;
  }
  if (n > SIZE_MAX - ss->out_len ||
      hc_grow((void **)&ss->out, &ss->out_cap, ss->out_len + n, 1, 256))
    return NULL;
  uint8_t *p = ss->out + ss->out_len;
  ss->out_len += n;
  return p;
}

static int send_encrypted(hc_ss *ss, const uint8_t *data, size_t len) {
  uint8_t *p = out_reserve(ss, 3 + len + HC_SS_ABYTES);
  if (!p) return HC_ERR_NOMEM;
  put_u24(p, len + HC_SS_ABYTES);
  hc_crypto_ss_push(&ss->tx, p + 3, data, len, HC_CRYPTO_SS_TAG_MESSAGE);
  return HC_OK;
}

static int send_handshake_message(hc_ss *ss) {
  size_t need = 0;
  int rc = hc_noise_write_message(&ss->noise, NULL, 0, NULL, 0, &need);
  if (rc != HC_ERR_NOBUF) return rc ? rc : HC_ERR_HANDSHAKE;
  uint8_t *p = out_reserve(ss, 3 + need);
  if (!p) return HC_ERR_NOMEM;
  size_t n = 0;
  rc = hc_noise_write_message(&ss->noise, NULL, 0, p + 3, need, &n);
  if (rc) return rc;
  put_u24(p, n);
  ss->out_len -= need - n; /* n == need for empty payloads */
  return HC_OK;
}

/* Our side of the handshake is done: stream header, queued writes, then the callback. */
static int on_noise_complete(hc_ss *ss) {
  memcpy(ss->hash, ss->noise.hash, HC_SS_HASH_BYTES);
  memcpy(ss->remote_pk, ss->noise.rs, HC_KEY_BYTES);
  ss->hs_done = 1;
  uint8_t *p = out_reserve(ss, 3 + HC_SS_HEADER_MSG_BYTES);
  if (!p) return HC_ERR_NOMEM;
  put_u24(p, HC_SS_HEADER_MSG_BYTES);
  hc_ss_stream_id(p + 3, ss->hash, ss->initiator);
  if (ss->has_fixed_header) {
    memcpy(p + 3 + HC_HASH_BYTES, ss->fixed_header, HC_CRYPTO_SS_HEADERBYTES);
    /* init_pull(key, header) builds exactly the state init_push(key) -> header would build */
    int rc = hc_crypto_ss_init_pull(&ss->tx, ss->fixed_header, ss->noise.tx);
    if (rc) return rc;
  } else {
    hc_crypto_ss_init_push(&ss->tx, p + 3 + HC_HASH_BYTES, ss->noise.tx);
  }
  ss->state = HC_SS_OPEN;
  /* flush writes queued during the handshake */
  size_t off = 0;
  while (off + 3 <= ss->pend_len) {
    size_t n = get_u24(ss->pend + off);
    int rc = send_encrypted(ss, ss->pend + off + 3, n);
    if (rc) return rc;
    off += 3 + n;
  }
  free(ss->pend);
  ss->pend = NULL;
  ss->pend_len = ss->pend_cap = 0;
  if (ss->on_handshake) ss->on_handshake(ss->user, ss->remote_pk, ss->hash);
  return HC_OK;
}

int hc_ss_new(hc_ss **out, int is_initiator, const uint8_t *pk,
              const uint8_t sk[HC_SECRET_KEY_BYTES], const hc_ss_opts *opts) {
  if (!out || !sk) return HC_ERR_INVALID_ARG;
  *out = NULL;
  if (hc_crypto_init()) return HC_ERR_IO;
  hc_ss *ss = calloc(1, sizeof *ss);
  if (!ss) return HC_ERR_NOMEM;
  ss->initiator = is_initiator ? 1 : 0;
  ss->state = HC_SS_HANDSHAKING;
  ss->max_frame = HC_SS_MAX_FRAME;
  if (opts) {
    ss->on_message = opts->on_message;
    ss->on_handshake = opts->on_handshake;
    ss->user = opts->user;
    ss->keep_empty = opts->keep_empty;
    if (opts->max_frame && opts->max_frame < HC_SS_MAX_FRAME) ss->max_frame = opts->max_frame;
    if (opts->secretstream_header) {
      ss->has_fixed_header = 1;
      memcpy(ss->fixed_header, opts->secretstream_header, HC_CRYPTO_SS_HEADERBYTES);
    }
  }
  int rc = hc_noise_init(&ss->noise, ss->initiator, pk, sk, opts ? opts->ephemeral_seed : NULL);
  if (rc) {
    hc_ss_free(ss);
    return rc;
  }
  memcpy(ss->pk, ss->noise.s_pk, HC_KEY_BYTES);
  if (ss->initiator && (rc = send_handshake_message(ss))) {
    hc_ss_free(ss);
    return rc;
  }
  *out = ss;
  return HC_OK;
}

void hc_ss_free(hc_ss *ss) {
  if (!ss) return;
  hc_noise_clear(&ss->noise);
  if (ss->fbuf) hc_crypto_wipe(ss->fbuf, ss->fcap);
  free(ss->fbuf);
  free(ss->out);
  if (ss->pend) hc_crypto_wipe(ss->pend, ss->pend_cap);
  free(ss->pend);
  hc_crypto_wipe(ss, sizeof *ss);
  free(ss);
}

/* One complete incoming frame in ss->fbuf[0..flen). */
static int process_frame(hc_ss *ss) {
  uint8_t *m = ss->fbuf;
  size_t n = ss->flen;
  int rc;
  if (!ss->noise.complete) {
    rc = hc_noise_read_message(&ss->noise, m, n);
    if (rc) return rc == HC_ERR_NOMEM ? rc : HC_ERR_HANDSHAKE;
    if (hc_noise_wants_write(&ss->noise) && (rc = send_handshake_message(ss))) return rc;
    if (ss->noise.complete) return on_noise_complete(ss);
    return HC_OK;
  }
  if (!ss->remote_ready) {
    uint8_t id[HC_HASH_BYTES];
    if (n != HC_SS_HEADER_MSG_BYTES) return HC_ERR_PROTOCOL;
    hc_ss_stream_id(id, ss->hash, !ss->initiator);
    if (hc_crypto_memcmp(id, m, HC_HASH_BYTES) != 0) return HC_ERR_PROTOCOL;
    if ((rc = hc_crypto_ss_init_pull(&ss->rx, m + HC_HASH_BYTES, ss->noise.rx)))
      return HC_ERR_PROTOCOL;
    ss->remote_ready = 1;
    return HC_OK;
  }
  if (n < HC_SS_ABYTES) return HC_ERR_PROTOCOL;
  uint8_t tag = 0;
  if (hc_crypto_ss_pull(&ss->rx, m + 1, &tag, m, n)) return HC_ERR_PROTOCOL;
  size_t plen = n - HC_SS_ABYTES;
  if (plen == 0 && !ss->keep_empty) return HC_OK;
  if (ss->on_message) ss->on_message(ss->user, m + 1, plen);
  return HC_OK;
}

/* Validates a frame length as soon as its 3 bytes are known. */
static int check_len(hc_ss *ss, size_t n) {
  if (!ss->noise.complete) return n > HC_NOISE_MAX_MESSAGE ? HC_ERR_HANDSHAKE : HC_OK;
  if (!ss->remote_ready) return n != HC_SS_HEADER_MSG_BYTES ? HC_ERR_PROTOCOL : HC_OK;
  if (n < HC_SS_ABYTES || n > ss->max_frame) return HC_ERR_PROTOCOL;
  return HC_OK;
}

/* Room for `need` bytes of the frame being received (doubling, at most the frame length). */
static int grow_frame(hc_ss *ss, size_t need) {
  size_t cap = ss->fcap ? ss->fcap : 256;
  while (cap < need) cap *= 2;
  if (cap > ss->flen) cap = ss->flen;
  uint8_t *p = malloc(cap); /* not realloc: the old buffer is wiped (it held plaintexts) */
  if (!p) return HC_ERR_NOMEM;
  if (ss->fhave) memcpy(p, ss->fbuf, ss->fhave);
  if (ss->fbuf) hc_crypto_wipe(ss->fbuf, ss->fcap);
  free(ss->fbuf);
  ss->fbuf = p;
  ss->fcap = cap;
  return HC_OK;
}

size_t hc_ss_memory(const hc_ss *ss) { return ss->fcap + ss->out_cap + ss->pend_cap; }

int hc_ss_feed(hc_ss *ss, const uint8_t *data, size_t len) {
  if (!ss || (len && !data)) return HC_ERR_INVALID_ARG;
  if (ss->state == HC_SS_FAILED) return ss->err;
  if (ss->in_feed) return HC_ERR_BUSY;
  ss->in_feed = 1;
  int rc = HC_OK;
  size_t i = 0;
  while (i < len) {
    if (!ss->in_body) {
      while (ss->lenhave < 3 && i < len) ss->lenbuf[ss->lenhave++] = data[i++];
      if (ss->lenhave < 3) break;
      ss->lenhave = 0;
      ss->flen = get_u24(ss->lenbuf);
      ss->fhave = 0;
      if ((rc = check_len(ss, ss->flen))) break;
      /* the buffer grows with the bytes that really arrive (below), so a peer that announces
       * a 16 MiB frame and stalls holds what it sent, not 16 MiB */
      if ((ss->fcap < ss->flen && ss->fcap < 65536) || (ss->fcap > 65536 && ss->flen <= 65536)) {
        size_t cap = ss->flen > 256 ? ss->flen : 256;
        if (cap > 65536) cap = 65536;
        if (ss->fbuf) hc_crypto_wipe(ss->fbuf, ss->fcap);
        free(ss->fbuf);
        ss->fbuf = malloc(cap);
        ss->fcap = ss->fbuf ? cap : 0;
        if (!ss->fbuf) {
          rc = HC_ERR_NOMEM;
          break;
        }
      }
      ss->in_body = 1;
    }
    size_t take = ss->flen - ss->fhave;
    if (take > len - i) take = len - i;
    if (ss->fhave + take > ss->fcap && (rc = grow_frame(ss, ss->fhave + take))) break;
    if (take) memcpy(ss->fbuf + ss->fhave, data + i, take);
    ss->fhave += take;
    i += take;
    if (ss->fhave < ss->flen) break;
    ss->in_body = 0;
    if ((rc = process_frame(ss))) break;
  }
  ss->in_feed = 0;
  if (rc) return ss_fail(ss, rc);
  return HC_OK;
}

int hc_ss_write(hc_ss *ss, const uint8_t *data, size_t len) {
  if (!ss || (len && !data)) return HC_ERR_INVALID_ARG;
  if (ss->state == HC_SS_FAILED) return ss->err;
  if (len > HC_SS_MAX_MESSAGE) return HC_ERR_INVALID_ARG;
  if (ss->state == HC_SS_OPEN) {
    int rc = send_encrypted(ss, data, len);
    return rc ? ss_fail(ss, rc) : HC_OK;
  }
  /* queue until the handshake completes */
  if (len > SIZE_MAX - 3 - ss->pend_len ||
      hc_grow((void **)&ss->pend, &ss->pend_cap, ss->pend_len + 3 + len, 1, 256))
    return HC_ERR_NOMEM;
  put_u24(ss->pend + ss->pend_len, len);
  if (len) memcpy(ss->pend + ss->pend_len + 3, data, len);
  ss->pend_len += 3 + len;
  return HC_OK;
}

int hc_ss_keepalive(hc_ss *ss) { return hc_ss_write(ss, NULL, 0); }

void hc_ss_pending_out(hc_ss *ss, const uint8_t **ptr, size_t *len) {
  if (!ss || !ss->out) {
    if (ptr) *ptr = NULL;
    if (len) *len = 0;
    return;
  }
  if (ptr) *ptr = ss->out + ss->out_off;
  if (len) *len = ss->out_len - ss->out_off;
}

void hc_ss_consume_out(hc_ss *ss, size_t n) {
  if (!ss) return;
  size_t avail = ss->out_len - ss->out_off;
  if (n > avail) n = avail;
  ss->out_off += n;
  if (ss->out_off == ss->out_len) ss->out_off = ss->out_len = 0;
}

int hc_ss_state(const hc_ss *ss) { return ss->state; }
int hc_ss_error(const hc_ss *ss) { return ss->state == HC_SS_FAILED ? ss->err : HC_OK; }
int hc_ss_remote_ready(const hc_ss *ss) { return ss->remote_ready; }
int hc_ss_is_initiator(const hc_ss *ss) { return ss->initiator; }

const uint8_t *hc_ss_handshake_hash(const hc_ss *ss) {
  return ss && ss->hs_done ? ss->hash : NULL;
}

const uint8_t *hc_ss_remote_public_key(const hc_ss *ss) {
  return hc_ss_handshake_hash(ss) ? ss->remote_pk : NULL;
}

const uint8_t *hc_ss_public_key(const hc_ss *ss) { return ss ? ss->pk : NULL; }
