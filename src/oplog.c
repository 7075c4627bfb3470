/* The oplog: framing, header slots, recovery, and the header/entry encodings. */
#include "oplog.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "encoding.h"
#include "grow.h"

uint32_t hc_oplog_crc(const uint8_t *p, size_t len) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (len > 0) {
    uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
    c = crc32(c, p, n);
    p += n;
    len -= n;
  }
  return (uint32_t)c;
}

/* ---- header ---- */

void hc_oplog_header_cleanup(hc_oplog_header *h) {
  for (size_t i = 0; i < h->n_user_data; i++) {
    free(h->user_data[i].key);
    free(h->user_data[i].value);
  }
  free(h->user_data);
  free(h->signature);
  hc_crypto_wipe(h->secret_key, sizeof h->secret_key);
  h->user_data = NULL;
  h->n_user_data = 0;
  h->signature = NULL;
  h->signature_len = 0;
}

int hc_oplog_header_set_signature(hc_oplog_header *h, const uint8_t *sig, size_t len) {
  uint8_t *copy = NULL;
  if (sig && len) {
    copy = malloc(len);
    if (!copy) return HC_ERR_NOMEM;
    memcpy(copy, sig, len);
  }
  free(h->signature);
  h->signature = copy;
  h->signature_len = copy ? len : 0;
  return HC_OK;
}

int hc_oplog_header_set_user_data(hc_oplog_header *h, const char *key, size_t key_len,
                                  const uint8_t *value, size_t len) {
  if (!value) len = 0;
  for (size_t i = 0; i < h->n_user_data; i++) {
    hc_user_data *u = &h->user_data[i];
    if (u->key_len != key_len || memcmp(u->key, key, key_len) != 0) continue;
    if (len == 0) {
      free(u->key);
      free(u->value);
      memmove(u, u + 1, (h->n_user_data - i - 1) * sizeof *u);
      h->n_user_data--;
      return HC_OK;
    }
    uint8_t *v = malloc(len);
    if (!v) return HC_ERR_NOMEM;
    memcpy(v, value, len);
    free(u->value);
    u->value = v;
    u->len = len;
    return HC_OK;
  }
  if (len == 0) return HC_OK;
  hc_user_data *arr = realloc(h->user_data, (h->n_user_data + 1) * sizeof *arr);
  if (!arr) return HC_ERR_NOMEM;
  h->user_data = arr;
  hc_user_data *u = &arr[h->n_user_data];
  u->key = malloc(key_len + 1);
  u->value = malloc(len);
  if (!u->key || !u->value) {
    free(u->key);
    free(u->value);
    return HC_ERR_NOMEM;
  }
  memcpy(u->key, key, key_len);
  u->key[key_len] = 0;
  u->key_len = key_len;
  memcpy(u->value, value, len);
  u->len = len;
  h->n_user_data++;
  return HC_OK;
}

void hc_oplog_header_encode(hc_enc *e, const hc_oplog_header *h) {
  hc_enc_uint(e, 1);
  if (h->external) {
    hc_enc_uint(e, 1);
    hc_enc_uint(e, h->ext_start);
    hc_enc_uint(e, h->ext_length);
    return;
  }
  hc_enc_uint(e, (h->has_manifest ? 2u : 0u) | (h->has_keypair ? 4u : 0u));
  hc_enc_raw(e, h->key, HC_KEY_BYTES);
  if (h->has_manifest) hc_manifest_encode(e, &h->manifest);
  if (h->has_keypair) {
    hc_enc_buffer(e, h->public_key, HC_KEY_BYTES);
    hc_enc_buffer(e, h->has_secret_key ? h->secret_key : NULL, HC_SECRET_KEY_BYTES);
  }
  hc_enc_uint(e, h->n_user_data);
  for (size_t i = 0; i < h->n_user_data; i++) {
    hc_enc_string(e, h->user_data[i].key, h->user_data[i].key_len);
    hc_enc_buffer(e, h->user_data[i].value, h->user_data[i].len);
  }
  hc_enc_uint(e, h->fork);
  hc_enc_uint(e, h->length);
  hc_enc_buffer(e, h->has_root_hash ? h->root_hash : NULL, HC_HASH_BYTES);
  hc_enc_buffer(e, h->signature, h->signature_len);
  hc_enc_uint(e, h->n_reorgs);
  for (size_t i = 0; i < h->n_reorgs; i++) {
    hc_enc_uint(e, h->reorgs[i].from);
    hc_enc_uint(e, h->reorgs[i].to);
    hc_enc_uint(e, h->reorgs[i].ancestors);
  }
  hc_enc_uint(e, h->contiguous_length);
}

static int dec_keypair(hc_dec *d, hc_oplog_header *h) {
  size_t pl, sl;
  const uint8_t *pk = hc_dec_buffer(d, &pl);
  const uint8_t *sk = hc_dec_buffer(d, &sl);
  if (d->err) return d->err;
  if (pl != HC_KEY_BYTES || (sl != 0 && sl != HC_SECRET_KEY_BYTES)) return d->err = HC_ERR_DECODE;
  h->has_keypair = true;
  memcpy(h->public_key, pk, HC_KEY_BYTES);
  if (sl == HC_SECRET_KEY_BYTES) {
    h->has_secret_key = true;
    memcpy(h->secret_key, sk, HC_SECRET_KEY_BYTES);
  }
  return HC_OK;
}

static int dec_tree_and_hints(hc_dec *d, hc_oplog_header *h) {
  h->fork = hc_dec_uint(d);
  h->length = hc_dec_uint(d);
  size_t rl, sl;
  const uint8_t *rh = hc_dec_buffer(d, &rl);
  const uint8_t *sig = hc_dec_buffer(d, &sl);
  if (d->err) return d->err;
  if (rl != 0 && rl != HC_HASH_BYTES) return d->err = HC_ERR_DECODE;
  if (rl) {
    h->has_root_hash = true;
    memcpy(h->root_hash, rh, HC_HASH_BYTES);
  }
  if (sl && hc_oplog_header_set_signature(h, sig, sl)) return d->err = HC_ERR_NOMEM;
  return HC_OK;
}

static int dec_hints(hc_dec *d, hc_oplog_header *h) {
  uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / 3);
  if (d->err) return d->err;
  for (uint64_t i = 0; i < n; i++) {
    hc_reorg_hint r;
    r.from = hc_dec_uint(d);
    r.to = hc_dec_uint(d);
    r.ancestors = hc_dec_uint(d);
    if (d->err) return d->err;
    if (h->n_reorgs < sizeof h->reorgs / sizeof *h->reorgs) h->reorgs[h->n_reorgs++] = r;
  }
  h->contiguous_length = hc_dec_left(d) ? hc_dec_uint(d) : 0;
  return d->err;
}

static int dec_user_data(hc_dec *d, hc_oplog_header *h) {
  uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / 2);
  if (d->err) return d->err;
  for (uint64_t i = 0; i < n; i++) {
    size_t kl, vl;
    const uint8_t *k = hc_dec_buffer(d, &kl);
    const uint8_t *v = hc_dec_buffer(d, &vl);
    if (d->err) return d->err;
    int rc = hc_oplog_header_set_user_data(h, k ? (const char *)k : "", kl, v, vl);
    if (rc) return d->err = rc;
  }
  return HC_OK;
}

int hc_oplog_header_decode(const uint8_t *buf, size_t len, hc_oplog_header *h) {
  memset(h, 0, sizeof *h);
  hc_dec d;
  hc_dec_init(&d, buf, len);
  uint64_t version = hc_dec_uint(&d);
  if (d.err || version > 1) return HC_ERR_DECODE;
  if (version == 0) {
    /* types{tree, bitfield, signer}, userData, tree, signer keyPair, hints */
    for (int i = 0; i < 3; i++) {
      size_t l;
      hc_dec_buffer(&d, &l);
    }
    if (dec_user_data(&d, h) || dec_tree_and_hints(&d, h) || dec_keypair(&d, h) ||
        dec_hints(&d, h))
      goto fail;
    memcpy(h->key, h->public_key, HC_KEY_BYTES);
    h->has_manifest = true;
    memset(&h->manifest, 0, sizeof h->manifest);
    h->manifest.version = 0;
    h->manifest.quorum = 1;
    h->manifest.nsigners = 1;
    memcpy(h->manifest.signers[0].namespace_, HC_NS_DEFAULT, HC_HASH_BYTES);
    memcpy(h->manifest.signers[0].public_key, h->public_key, HC_KEY_BYTES);
    if (!h->has_secret_key) h->has_keypair = true;
    return HC_OK;
  }
  uint64_t flags = hc_dec_uint(&d);
  if (d.err) goto fail;
  if (flags & 1) {
    h->external = true;
    h->ext_start = hc_dec_uint(&d);
    h->ext_length = hc_dec_uint(&d);
    if (d.err) goto fail;
    return HC_OK;
  }
  hc_dec_fixed(&d, h->key, HC_KEY_BYTES);
  if (d.err) goto fail;
  if (flags & 2) {
    h->has_manifest = true;
    if (hc_manifest_decode(&d, &h->manifest)) goto fail;
  }
  if ((flags & 4) && dec_keypair(&d, h)) goto fail;
  if (dec_user_data(&d, h) || dec_tree_and_hints(&d, h) || dec_hints(&d, h)) goto fail;
  return HC_OK;
fail:
  hc_oplog_header_cleanup(h);
  return d.err == HC_ERR_NOMEM ? HC_ERR_NOMEM : HC_ERR_DECODE;
}

/* ---- entries ---- */

void hc_oplog_entry_encode(hc_enc *e, const hc_oplog_entry *en) {
  hc_enc_u8(e, (uint8_t)((en->has_user_data ? 1 : 0) | (en->has_tree_nodes ? 2 : 0) |
                         (en->has_upgrade ? 4 : 0) | (en->has_bitfield ? 8 : 0)));
  if (en->has_user_data) {
    hc_enc_string(e, en->ud_key, en->ud_key_len);
    hc_enc_buffer(e, en->ud_value, en->ud_len);
  }
  if (en->has_tree_nodes) {
    hc_enc_uint(e, en->nnodes);
    for (size_t i = 0; i < en->nnodes; i++) {
      hc_enc_uint(e, en->nodes[i].index);
      hc_enc_uint(e, en->nodes[i].size);
      hc_enc_raw(e, en->nodes[i].hash, HC_HASH_BYTES);
    }
  }
  if (en->has_upgrade) {
    hc_enc_uint(e, en->fork);
    hc_enc_uint(e, en->ancestors);
    hc_enc_uint(e, en->length);
    hc_enc_buffer(e, en->signature, en->signature_len);
  }
  if (en->has_bitfield) {
    hc_enc_u8(e, en->drop ? 1 : 0);
    hc_enc_uint(e, en->bf_start);
    hc_enc_uint(e, en->bf_length);
  }
}

int hc_oplog_entry_decode(const uint8_t *buf, size_t len, hc_oplog_entry *en,
                          hc_node **nodes_owned) {
  memset(en, 0, sizeof *en);
  *nodes_owned = NULL;
  hc_dec d;
  hc_dec_init(&d, buf, len);
  uint64_t flags = hc_dec_uint(&d);
  if (d.err) return HC_ERR_DECODE;
  if (flags & 1) {
    en->has_user_data = true;
    const uint8_t *k = hc_dec_buffer(&d, &en->ud_key_len);
    en->ud_key = k ? (const char *)k : "";
    en->ud_value = hc_dec_buffer(&d, &en->ud_len);
  }
  if (flags & 2) {
    en->has_tree_nodes = true;
    uint64_t n = hc_dec_uint_max(&d, hc_dec_left(&d) / 34);
    if (d.err) return HC_ERR_DECODE;
    if (n) {
      hc_node *nodes = malloc((size_t)n * sizeof *nodes);
      if (!nodes) return HC_ERR_NOMEM;
      for (uint64_t i = 0; i < n; i++) {
        nodes[i].index = hc_dec_uint(&d);
        nodes[i].size = hc_dec_uint(&d);
        hc_dec_fixed(&d, nodes[i].hash, HC_HASH_BYTES);
      }
      *nodes_owned = nodes;
      en->nodes = nodes;
      en->nnodes = (size_t)n;
    }
  }
  if (flags & 4) {
    en->has_upgrade = true;
    en->fork = hc_dec_uint(&d);
    en->ancestors = hc_dec_uint(&d);
    en->length = hc_dec_uint(&d);
    en->signature = hc_dec_buffer(&d, &en->signature_len);
  }
  if (flags & 8) {
    en->has_bitfield = true;
    en->drop = (hc_dec_uint(&d) & 1) != 0;
    en->bf_start = hc_dec_uint(&d);
    en->bf_length = hc_dec_uint(&d);
  }
  if (d.err) {
    free(*nodes_owned);
    *nodes_owned = NULL;
    return HC_ERR_DECODE;
  }
  return HC_OK;
}

/* ---- the file ---- */

typedef struct frame {
  uint64_t offset; /* of the payload */
  uint32_t len;
  int header_bit;
  bool partial;
} frame;

/* Validates the record at buf[pos..]: returns its total size or 0. */
static size_t read_frame(const uint8_t *buf, size_t size, size_t pos, frame *f) {
  if (pos > size || size - pos < 8) return 0;
  uint32_t crc = hc_get_u32le(buf + pos);
  uint32_t word = hc_get_u32le(buf + pos + 4);
  uint32_t len = word >> 2;
  if (size - pos - 8 < len) return 0;
  if (hc_oplog_crc(buf + pos + 4, (size_t)len + 4) != crc) return 0;
  f->offset = pos + 8;
  f->len = len;
  f->header_bit = word & 1;
  f->partial = (word & 2) != 0;
  return (size_t)len + 8;
}

static int decode_slot(const uint8_t *buf, size_t size, size_t pos, hc_oplog_header *h,
                       int *bit) {
  frame f;
  if (!read_frame(buf, size, pos, &f)) return HC_ERR_DECODE;
  int rc = hc_oplog_header_decode(buf + f.offset, f.len, h);
  if (rc) return rc;
  *bit = f.header_bit;
  return HC_OK;
}

int hc_oplog_open(hc_oplog *op, hc_storage *file, bool readonly, hc_oplog_header *header,
                  bool *has_header, hc_oplog_entry_cb cb, void *ctx) {
  memset(op, 0, sizeof *op);
  op->file = file;
  op->readonly = readonly;
  op->headers[0] = 1;
  op->headers[1] = 0;
  *has_header = false;
  memset(header, 0, sizeof *header);

  uint64_t size64;
  int rc = hc_storage_stat(file, &size64, NULL);
  if (rc) return rc;
  if (size64 > SIZE_MAX / 2) return HC_ERR_CORRUPT;
  size_t size = (size_t)size64;
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) return HC_ERR_NOMEM;
  rc = hc_storage_read(file, 0, buf, size);
  if (rc && rc != HC_ERR_SHORT_READ) goto out;
  rc = HC_OK;

  hc_oplog_header h1, h2;
  int b1 = 0, b2 = 0;
  int r1 = decode_slot(buf, size, 0, &h1, &b1);
  if (r1 == HC_ERR_NOMEM) {
    rc = r1;
    goto out;
  }
  int r2 = size >= HC_OPLOG_PAGE ? decode_slot(buf, size, HC_OPLOG_PAGE, &h2, &b2) : HC_ERR_DECODE;
  if (r2 == HC_ERR_NOMEM) {
    if (r1 == HC_OK) hc_oplog_header_cleanup(&h1);
    rc = r2;
    goto out;
  }
  if (r1 != HC_OK && r2 != HC_OK) {
    rc = size >= HC_OPLOG_ENTRY_OFFSET ? HC_ERR_CORRUPT : HC_OK;
    goto out;
  }
  if (r1 == HC_OK && r2 != HC_OK) {
    op->headers[0] = op->headers[1] = (uint8_t)b1;
  } else if (r1 != HC_OK && r2 == HC_OK) {
    op->headers[0] = (uint8_t)((b2 + 1) & 1);
    op->headers[1] = (uint8_t)b2;
  } else {
    op->headers[0] = (uint8_t)b1;
    op->headers[1] = (uint8_t)b2;
  }
  int active = (op->headers[0] + op->headers[1]) & 1;
  if (active) {
    *header = h2;
    if (r1 == HC_OK) hc_oplog_header_cleanup(&h1);
  } else {
    *header = h1;
    if (r2 == HC_OK) hc_oplog_header_cleanup(&h2);
  }
  *has_header = true;

  /* entries: valid frames with the active header bit; drop trailing partial batches */
  size_t pos = HC_OPLOG_ENTRY_OFFSET, valid_end = HC_OPLOG_ENTRY_OFFSET, count = 0, valid_count = 0;
  frame f;
  size_t n;
  while ((n = read_frame(buf, size, pos, &f)) != 0 && f.header_bit == active) {
    hc_oplog_entry en;
    hc_node *owned;
    if (hc_oplog_entry_decode(buf + f.offset, f.len, &en, &owned) != HC_OK) break;
    free(owned);
    pos += n;
    count++;
    if (!f.partial) {
      valid_end = pos;
      valid_count = count;
    }
  }
  pos = HC_OPLOG_ENTRY_OFFSET;
  while (pos < valid_end) {
    n = read_frame(buf, size, pos, &f);
    hc_oplog_entry en;
    hc_node *owned;
    rc = hc_oplog_entry_decode(buf + f.offset, f.len, &en, &owned);
    if (rc == HC_OK && cb) rc = cb(ctx, &en);
    free(owned);
    if (rc) goto out;
    pos += n;
  }
  op->byte_length = valid_end - HC_OPLOG_ENTRY_OFFSET;
  op->length = valid_count;
  if (!readonly && size != valid_end) rc = hc_storage_truncate(file, valid_end);
out:
  free(buf);
  if (rc && *has_header) {
    hc_oplog_header_cleanup(header);
    *has_header = false;
  }
  return rc;
}

/* The frame header of the len encoded bytes at f + 8: CRC, then length, partial and bit. */
static void put_frame(uint8_t *f, size_t len, int partial, int bit) {
  hc_put_u32le(f + 4, (uint32_t)(len << 2) | (uint32_t)partial | (uint32_t)bit);
  hc_put_u32le(f, hc_oplog_crc(f + 4, len + 4));
}

static int enc_header(hc_enc *e, const void *h) {
  hc_oplog_header_encode(e, h);
  return HC_OK;
}

static int encode_framed_header(const hc_oplog_header *h, int bit, uint8_t **out, size_t *out_len) {
  size_t len;
  int rc = hc_encode_alloc(enc_header, h, 8, 0, NULL, 0, out, &len);
  if (rc) return rc;
  put_frame(*out, len, 0, bit);
  *out_len = len + 8;
  return HC_OK;
}

/* Entries as consecutive frames (all but the last marked partial when atomic). */
typedef struct frames {
  const hc_oplog_entry *entries;
  size_t n;
  bool atomic;
  int bit;
} frames;

static int enc_frames(hc_enc *e, const void *item) {
  static const uint8_t room[8];
  const frames *f = item;
  for (size_t i = 0; i < f->n; i++) {
    size_t at = e->pos;
    hc_enc_raw(e, room, sizeof room);
    hc_oplog_entry_encode(e, &f->entries[i]);
    if (e->err) return e->err;
    size_t len = e->pos - at - 8;
    if (len >= (1u << 30) - 8) return HC_ERR_INVALID_ARG;
    if (e->buf) put_frame(e->buf + at, len, (f->atomic && i + 1 < f->n) ? 2 : 0, f->bit);
  }
  return HC_OK;
}

int hc_oplog_append(hc_oplog *op, const hc_oplog_entry *entries, size_t n, bool atomic) {
  int bit = (op->headers[0] + op->headers[1]) & 1;
  if (n == 0) return HC_OK;
  /* size every frame, then encode them all into one buffer for one write */
  uint8_t small[512], *all;
  size_t total;
  frames fr = {entries, n, atomic, bit};
  int rc = hc_encode_alloc(enc_frames, &fr, 0, 0, small, sizeof small, &all, &total);
  if (rc) return rc;
  rc = hc_storage_write(op->file, HC_OPLOG_ENTRY_OFFSET + op->byte_length, all, total);
  if (all != small) free(all);
  if (rc) return rc;
  op->byte_length += total;
  op->length += n;
  return HC_OK;
}

int hc_oplog_frame_into(const hc_oplog *op, const hc_oplog_entry *en, uint8_t **buf, size_t *len,
                        size_t *cap) {
  frames fr = {en, 1, false, (op->headers[0] + op->headers[1]) & 1};
  size_t n;
  int rc = hc_encode_append(enc_frames, &fr, 0, buf, *len, cap, 4096, &n);
  if (rc) return rc;
  *len += n;
  return HC_OK;
}

int hc_oplog_write_frames(hc_oplog *op, const uint8_t *buf, size_t len, size_t count) {
  if (!len) return HC_OK;
  int rc = hc_storage_write(op->file, HC_OPLOG_ENTRY_OFFSET + op->byte_length, buf, len);
  if (rc) return rc;
  op->byte_length += len;
  op->length += count;
  return HC_OK;
}

static int oplog_flush(hc_oplog *op, const hc_oplog_header *h, bool sync);

int hc_oplog_flush(hc_oplog *op, const hc_oplog_header *h) { return oplog_flush(op, h, false); }

int hc_oplog_flush_sync(hc_oplog *op, const hc_oplog_header *h) {
  return oplog_flush(op, h, true);
}

static int oplog_flush(hc_oplog *op, const hc_oplog_header *h, bool sync) {
  int i = op->headers[0] == op->headers[1] ? 1 : 0;
  int bit = (op->headers[i] + 1) & 1;
  uint8_t *buf;
  size_t len;
  int rc = encode_framed_header(h, bit, &buf, &len);
  if (rc) return rc;
  if (len > HC_OPLOG_PAGE) {
    free(buf);
    return HC_ERR_HEADER_OVERFLOW;
  }
  rc = hc_storage_write(op->file, i == 0 ? 0 : HC_OPLOG_PAGE, buf, len);
  free(buf);
  if (!rc && sync) rc = hc_storage_sync(op->file); /* the new header before the entries go */
  if (rc) return rc;
  /* The new header is on disk and active: entries written from now on must carry its bit,
   * even if dropping the old entries fails (stale ones carry the old bit and are ignored). */
  op->headers[i] = (uint8_t)bit;
  op->byte_length = 0;
  op->length = 0;
  return hc_storage_truncate(op->file, HC_OPLOG_ENTRY_OFFSET);
}
