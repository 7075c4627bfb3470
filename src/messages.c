/* Hypercore wire messages (lib/messages.js `wire.*`). */
#include "messages.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "hypercore/common.h"

#define NODE_MIN_BYTES 34 /* varint index + varint size + fixed32 hash */

static const uint8_t EMPTY[1];

const char *hc_msg_name(uint64_t type) {
  static const char *const names[HC_MSG_COUNT] = {
      "sync", "request", "cancel", "data", "noData", "want", "unwant", "bitfield", "range",
      "extension"};
  return type < HC_MSG_COUNT ? names[type] : "unknown";
}

static int encode_any(hc_enc *e, uint64_t type, const void *msg) {
  switch (type) {
    case HC_MSG_SYNC: return hc_msg_sync_encode(e, msg);
    case HC_MSG_REQUEST: return hc_msg_request_encode(e, msg);
    case HC_MSG_CANCEL: return hc_msg_cancel_encode(e, msg);
    case HC_MSG_DATA: return hc_msg_data_encode(e, msg);
    case HC_MSG_NO_DATA: return hc_msg_no_data_encode(e, msg);
    case HC_MSG_WANT:
    case HC_MSG_UNWANT: return hc_msg_want_encode(e, msg);
    case HC_MSG_BITFIELD: return hc_msg_bitfield_encode(e, msg);
    case HC_MSG_RANGE: return hc_msg_range_encode(e, msg);
    case HC_MSG_EXTENSION: return hc_msg_extension_encode(e, msg);
    default: return HC_ERR_INVALID_ARG;
  }
}

typedef struct any_msg {
  uint64_t type;
  const void *msg;
} any_msg;

static int enc_any(hc_enc *e, const void *item) {
  const any_msg *a = item;
  return encode_any(e, a->type, a->msg);
}

int hc_msg_encode_alloc(uint64_t type, const void *msg, uint8_t **out, size_t *len) {
  *out = NULL;
  *len = 0;
  any_msg a = {type, msg};
  return hc_encode_alloc(enc_any, &a, 0, 0, NULL, 0, out, len);
}

static int dec_done(hc_dec *d) { return d->err ? HC_ERR_DECODE : HC_OK; }

/* ---- handshake ---- */

int hc_msg_handshake_encode(hc_enc *e, const hc_msg_handshake *m) {
  hc_enc_uint(e, m->seeks ? 1 : 0);
  hc_enc_raw(e, m->capability, HC_HASH_BYTES);
  return e->err;
}

int hc_msg_handshake_decode(hc_dec *d, hc_msg_handshake *m) {
  uint64_t flags = hc_dec_uint(d);
  m->seeks = (flags & 1) != 0;
  hc_dec_fixed(d, m->capability, HC_HASH_BYTES);
  return dec_done(d);
}

/* ---- sync ---- */

int hc_msg_sync_encode(hc_enc *e, const hc_msg_sync *m) {
  hc_enc_uint(e, (m->can_upgrade ? 1u : 0) | (m->uploading ? 2u : 0) | (m->downloading ? 4u : 0) |
                     (m->has_manifest ? 8u : 0) | (m->allow_push ? 16u : 0));
  hc_enc_uint(e, m->fork);
  hc_enc_uint(e, m->length);
  hc_enc_uint(e, m->remote_length);
  return e->err;
}

int hc_msg_sync_decode(hc_dec *d, hc_msg_sync *m) {
  uint64_t flags = hc_dec_uint(d);
  m->fork = hc_dec_uint(d);
  m->length = hc_dec_uint(d);
  m->remote_length = hc_dec_uint(d);
  m->can_upgrade = (flags & 1) != 0;
  m->uploading = (flags & 2) != 0;
  m->downloading = (flags & 4) != 0;
  m->has_manifest = (flags & 8) != 0;
  m->allow_push = (flags & 16) != 0;
  return dec_done(d);
}

/* ---- request ---- */

int hc_msg_request_encode(hc_enc *e, const hc_msg_request *m) {
  const hc_proof_request *r = &m->r;
  uint64_t flags = (r->has_block ? 1u : 0) | (r->has_hash ? 2u : 0) | (r->has_seek ? 4u : 0) |
                   (r->has_upgrade ? 8u : 0) | (r->manifest ? 16u : 0) |
                   (m->priority ? 32u : 0);
  hc_enc_uint(e, flags);
  hc_enc_uint(e, m->id);
  hc_enc_uint(e, m->fork);
  if (r->has_block) {
    hc_enc_uint(e, r->block_index);
    hc_enc_uint(e, r->block_nodes);
  }
  if (r->has_hash) {
    hc_enc_uint(e, r->hash_index);
    hc_enc_uint(e, r->hash_nodes);
  }
  if (r->has_seek) {
    hc_enc_uint(e, r->seek_bytes);
    hc_enc_uint(e, r->seek_padding);
  }
  if (r->has_upgrade) {
    hc_enc_uint(e, r->upgrade_start);
    hc_enc_uint(e, r->upgrade_length);
  }
  if (m->priority) hc_enc_uint(e, m->priority);
  return e->err;
}

int hc_msg_request_decode(hc_dec *d, hc_msg_request *m) {
  memset(m, 0, sizeof *m);
  hc_proof_request *r = &m->r;
  uint64_t flags = hc_dec_uint(d);
  m->id = hc_dec_uint(d);
  m->fork = hc_dec_uint(d);
  if (flags & 1) {
    r->has_block = true;
    r->block_index = hc_dec_uint(d);
    r->block_nodes = hc_dec_uint(d);
  }
  if (flags & 2) {
    r->has_hash = true;
    r->hash_index = hc_dec_uint(d);
    r->hash_nodes = hc_dec_uint(d);
  }
  if (flags & 4) {
    r->has_seek = true;
    r->seek_bytes = hc_dec_uint(d);
    r->seek_padding = hc_dec_uint(d);
  }
  if (flags & 8) {
    r->has_upgrade = true;
    r->upgrade_start = hc_dec_uint(d);
    r->upgrade_length = hc_dec_uint(d);
  }
  r->manifest = (flags & 16) != 0;
  if (flags & 32) m->priority = hc_dec_uint(d);
  return dec_done(d);
}

/* ---- cancel ---- */

int hc_msg_cancel_encode(hc_enc *e, const hc_msg_cancel *m) {
  hc_enc_uint(e, m->request);
  return e->err;
}

int hc_msg_cancel_decode(hc_dec *d, hc_msg_cancel *m) {
  m->request = hc_dec_uint(d);
  return dec_done(d);
}

/* ---- data ---- */

static void enc_nodes(hc_enc *e, const hc_node *nodes, size_t n) {
  hc_enc_uint(e, n);
  for (size_t i = 0; i < n; i++) {
    hc_enc_uint(e, nodes[i].index);
    hc_enc_uint(e, nodes[i].size);
    hc_enc_raw(e, nodes[i].hash, HC_HASH_BYTES);
  }
}

int hc_msg_data_encode(hc_enc *e, const hc_proof *p) {
  if (p->has_manifest && (!p->manifest || !p->manifest_len)) return HC_ERR_INVALID_ARG;
  uint64_t flags = (p->has_block ? 1u : 0) | (p->has_hash ? 2u : 0) | (p->has_seek ? 4u : 0) |
                   (p->has_upgrade ? 8u : 0) | (p->has_manifest ? 16u : 0);
  hc_enc_uint(e, flags);
  hc_enc_uint(e, p->request);
  hc_enc_uint(e, p->fork);
  if (p->has_block) {
    hc_enc_uint(e, p->block_index);
    hc_enc_buffer(e, p->block_value, p->block_value_len);
    enc_nodes(e, p->block_nodes, p->n_block_nodes);
  }
  if (p->has_hash) {
    hc_enc_uint(e, p->hash_index);
    enc_nodes(e, p->hash_nodes, p->n_hash_nodes);
  }
  if (p->has_seek) {
    hc_enc_uint(e, p->seek_bytes);
    enc_nodes(e, p->seek_nodes, p->n_seek_nodes);
  }
  if (p->has_upgrade) {
    hc_enc_uint(e, p->upgrade_start);
    hc_enc_uint(e, p->upgrade_length);
    enc_nodes(e, p->upgrade_nodes, p->n_upgrade_nodes);
    enc_nodes(e, p->upgrade_additional, p->n_upgrade_additional);
    hc_enc_buffer(e, p->upgrade_signature, p->upgrade_signature_len);
  }
  if (p->has_manifest) hc_enc_raw(e, p->manifest, p->manifest_len);
  return e->err;
}

/* Advances d past one encoded manifest (lib/messages.js `manifest`): v0 (types 0-2) and v1 as
 * 10.38.2 writes them, plus v2/v3 with the `linked` and `userData` flags 11.37.1 decodes. Same
 * validation as the JS decoders (unknown version, v0 type, hash or signature id fail); no
 * signer limit, no allocation. */
static void skip_signer(hc_dec *d) {
  if (hc_dec_uint(d) != 0 && !d->err) d->err = HC_ERR_DECODE;
  hc_dec_raw(d, HC_HASH_BYTES + HC_KEY_BYTES); /* namespace, public key */
}

static void skip_signers(hc_dec *d) {
  uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / (1 + HC_HASH_BYTES + HC_KEY_BYTES));
  for (uint64_t i = 0; i < n && !d->err; i++) skip_signer(d);
}

static int skip_manifest(hc_dec *d) {
  uint64_t version = hc_dec_uint(d);
  if (d->err) return d->err;
  if (version == 0) {
    uint64_t hash = hc_dec_uint(d);
    uint64_t type = hc_dec_uint(d);
    if (!d->err && (hash != 0 || type > 2)) d->err = HC_ERR_DECODE;
    if (d->err) return d->err;
    if (type == 0) {
      hc_dec_raw(d, HC_HASH_BYTES); /* v0 type 0: a prologue hash */
    } else if (type == 1) {
      skip_signer(d);
    } else {
      hc_dec_uint(d); /* flags */
      hc_dec_uint(d); /* quorum */
      skip_signers(d);
    }
    return d->err;
  }
  if (version > 3) return d->err = HC_ERR_DECODE;
  uint64_t flags = hc_dec_uint(d);
  if (hc_dec_uint(d) != 0 && !d->err) d->err = HC_ERR_DECODE; /* hash */
  hc_dec_uint(d);                                              /* quorum */
  skip_signers(d);
  if (flags & 2) { /* prologue */
    hc_dec_raw(d, HC_HASH_BYTES);
    hc_dec_uint(d);
  }
  if (flags & 4) { /* linked (11.x) */
    uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / HC_KEY_BYTES);
    hc_dec_raw(d, (size_t)n * HC_KEY_BYTES);
  }
  if (flags & 8) { /* userData (11.x) */
    size_t n;
    hc_dec_buffer(d, &n);
  }
  return d->err;
}

/* First pass: validates a node array and remembers where it starts. */
static void skip_nodes(hc_dec *d, const uint8_t **start, size_t *count) {
  uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / NODE_MIN_BYTES);
  *start = d->p;
  *count = 0;
  for (uint64_t i = 0; i < n && !d->err; i++) {
    hc_dec_uint(d);
    hc_dec_uint(d);
    hc_dec_raw(d, HC_HASH_BYTES);
  }
  if (!d->err) *count = (size_t)n;
}

/* Second pass: decodes `count` nodes (already validated) starting at `start`. */
static void fill_nodes(const uint8_t *start, const uint8_t *end, hc_node *out, size_t count) {
  hc_dec d;
  hc_dec_init(&d, start, (size_t)(end - start));
  for (size_t i = 0; i < count; i++) {
    out[i].index = hc_dec_uint(&d);
    out[i].size = hc_dec_uint(&d);
    hc_dec_fixed(&d, out[i].hash, HC_HASH_BYTES);
  }
}

int hc_msg_data_decode_dec(hc_dec *d, hc_proof *p) {
  memset(p, 0, sizeof *p);
  const uint8_t *s_block = NULL, *s_hash = NULL, *s_seek = NULL, *s_up = NULL, *s_add = NULL;

  uint64_t flags = hc_dec_uint(d);
  p->request = hc_dec_uint(d);
  p->fork = hc_dec_uint(d);
  if (flags & 1) {
    p->has_block = true;
    p->block_index = hc_dec_uint(d);
    p->block_value = hc_dec_buffer(d, &p->block_value_len);
    if (!p->block_value) p->block_value = EMPTY;
    skip_nodes(d, &s_block, &p->n_block_nodes);
  }
  if (flags & 2) {
    p->has_hash = true;
    p->hash_index = hc_dec_uint(d);
    skip_nodes(d, &s_hash, &p->n_hash_nodes);
  }
  if (flags & 4) {
    p->has_seek = true;
    p->seek_bytes = hc_dec_uint(d);
    skip_nodes(d, &s_seek, &p->n_seek_nodes);
  }
  if (flags & 8) {
    p->has_upgrade = true;
    p->upgrade_start = hc_dec_uint(d);
    p->upgrade_length = hc_dec_uint(d);
    skip_nodes(d, &s_up, &p->n_upgrade_nodes);
    skip_nodes(d, &s_add, &p->n_upgrade_additional);
    p->upgrade_signature = hc_dec_buffer(d, &p->upgrade_signature_len);
  }
  if ((flags & 16) && !d->err) {
    const uint8_t *mstart = d->p;
    if (skip_manifest(d) == HC_OK && !d->err) {
      p->has_manifest = true;
      p->manifest = mstart;
      p->manifest_len = (size_t)(d->p - mstart);
    }
  }
  if (d->err) {
    memset(p, 0, sizeof *p);
    return HC_ERR_DECODE;
  }

  size_t total = p->n_block_nodes + p->n_hash_nodes + p->n_seek_nodes + p->n_upgrade_nodes +
                 p->n_upgrade_additional;
  if (total) {
    hc_node *all = malloc(total * sizeof *all);
    if (!all) {
      memset(p, 0, sizeof *p);
      return HC_ERR_NOMEM;
    }
    p->owned = all;
    hc_node *q = all;
#define FILL(start, arr, n)                  \
  if (n) {                                   \
    fill_nodes(start, d->end, q, n);         \
    p->arr = q;                              \
    q += n;                                  \
  }
    FILL(s_block, block_nodes, p->n_block_nodes)
    FILL(s_hash, hash_nodes, p->n_hash_nodes)
    FILL(s_seek, seek_nodes, p->n_seek_nodes)
    FILL(s_up, upgrade_nodes, p->n_upgrade_nodes)
    FILL(s_add, upgrade_additional, p->n_upgrade_additional)
#undef FILL
  }
  return HC_OK;
}

int hc_msg_data_decode(const uint8_t *buf, size_t len, hc_proof *p) {
  hc_dec d;
  hc_dec_init(&d, buf, len);
  return hc_msg_data_decode_dec(&d, p);
}

void hc_proof_cleanup(hc_proof *p) {
  if (!p) return;
  free(p->owned);
  memset(p, 0, sizeof *p);
}

/* ---- noData ---- */

int hc_msg_no_data_encode(hc_enc *e, const hc_msg_no_data *m) {
  hc_enc_uint(e, m->request);
  if (m->has_flags || m->reason) {
    hc_enc_uint(e, m->reason ? 1 : 0);
    if (m->reason) hc_enc_uint(e, m->reason);
  }
  return e->err;
}

int hc_msg_no_data_decode(hc_dec *d, hc_msg_no_data *m) {
  m->request = hc_dec_uint(d);
  m->has_flags = false;
  m->reason = 0;
  if (!d->err && hc_dec_left(d) > 0) {
    m->has_flags = true;
    uint64_t flags = hc_dec_uint(d);
    if (flags & 1) m->reason = hc_dec_uint(d);
  }
  return dec_done(d);
}

/* ---- want / unwant ---- */

int hc_msg_want_encode(hc_enc *e, const hc_msg_want *m) {
  hc_enc_uint(e, m->start);
  hc_enc_uint(e, m->length);
  if (m->any) hc_enc_uint(e, 1);
  return e->err;
}

int hc_msg_want_decode(hc_dec *d, hc_msg_want *m) {
  m->start = hc_dec_uint(d);
  m->length = hc_dec_uint(d);
  m->any = false;
  if (!d->err && hc_dec_left(d) > 0) m->any = (hc_dec_uint(d) & 1) != 0;
  return dec_done(d);
}

/* ---- bitfield ---- */

int hc_msg_bitfield_encode(hc_enc *e, const hc_msg_bitfield *m) {
  hc_enc_uint(e, m->start);
  hc_enc_uint(e, m->nwords);
  if (m->nwords) hc_enc_raw(e, m->words, m->nwords * 4);
  return e->err;
}

int hc_msg_bitfield_encode_words(hc_enc *e, uint64_t start, const uint32_t *words, size_t n) {
  hc_enc_uint(e, start);
  hc_enc_uint(e, n);
  for (size_t i = 0; i < n; i++) hc_enc_u32(e, words[i]);
  return e->err;
}

int hc_msg_bitfield_decode(hc_dec *d, hc_msg_bitfield *m) {
  m->start = hc_dec_uint(d);
  uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / 4);
  m->words = hc_dec_raw(d, (size_t)n * 4);
  m->nwords = d->err ? 0 : (size_t)n;
  if (!m->words) m->words = EMPTY;
  return dec_done(d);
}

/* ---- range ---- */

int hc_msg_range_encode(hc_enc *e, const hc_msg_range *m) {
  hc_enc_uint(e, (m->drop ? 1u : 0) | (m->length == 1 ? 2u : 0));
  hc_enc_uint(e, m->start);
  if (m->length != 1) hc_enc_uint(e, m->length);
  return e->err;
}

int hc_msg_range_decode(hc_dec *d, hc_msg_range *m) {
  uint64_t flags = hc_dec_uint(d);
  m->drop = (flags & 1) != 0;
  m->start = hc_dec_uint(d);
  m->length = (flags & 2) ? 1 : hc_dec_uint(d);
  return dec_done(d);
}

/* ---- extension ---- */

int hc_msg_extension_encode(hc_enc *e, const hc_msg_extension *m) {
  hc_enc_string(e, m->name, m->name_len);
  if (m->message_len) hc_enc_raw(e, m->message, m->message_len);
  return e->err;
}

int hc_msg_extension_decode(hc_dec *d, hc_msg_extension *m) {
  size_t n = 0;
  const uint8_t *name = hc_dec_buffer(d, &n);
  m->name = name ? (const char *)name : "";
  m->name_len = n;
  m->message_len = d->err ? 0 : hc_dec_left(d);
  m->message = m->message_len ? hc_dec_raw(d, m->message_len) : EMPTY;
  return dec_done(d);
}
