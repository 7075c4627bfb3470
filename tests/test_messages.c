/* Hypercore wire messages: known answers (vectors.json messageEncodings, every hypercore message
 * in the recorded plaintext frames), round trips, truncation, lying lengths. */
#include <stdarg.h>

#include "encoding.h"
#include "messages.h"
#include "test_util.h"
#include "wire_vectors.h"

/* ---- helpers ---- */

static uint8_t *unhex(const char *hex, size_t *len) {
  size_t n = strlen(hex) / 2;
  uint8_t *b = malloc(n ? n : 1);
  CHECK(b && hc_hex_decode(b, n, hex) == HC_OK);
  *len = n;
  return b;
}

typedef struct sbuf {
  char *s;
  size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  CHECK(n >= 0);
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = (b->len + (size_t)n + 1) * 2;
    b->s = realloc(b->s, b->cap);
    CHECK(b->s);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static void sb_hex(sbuf *b, const uint8_t *p, size_t n) {
  if (!p) {
    sb_printf(b, "null");
    return;
  }
  char *h = malloc(2 * n + 1);
  CHECK(h);
  hc_hex_encode(h, p, n);
  sb_printf(b, "%s", h);
  free(h);
}

static void sb_nodes(sbuf *b, const hc_node *nodes, size_t n) {
  sb_printf(b, "[");
  for (size_t i = 0; i < n; i++) {
    sb_printf(b, "%s%" PRIu64 ":%" PRIu64 ":", i ? "," : "", nodes[i].index, nodes[i].size);
    sb_hex(b, nodes[i].hash, 32);
  }
  sb_printf(b, "]");
}

/* Decodes payload as message `type` and renders it like tests/gen/wire-vectors-h.js. Returns
 * the decoder's rc; *text (malloc) only on success; *used = bytes consumed. */
static int decode_render(unsigned type, const uint8_t *p, size_t n, char **text, size_t *used) {
  sbuf b = {0};
  hc_dec d;
  hc_dec_init(&d, p, n);
  int rc = HC_ERR_DECODE;
  switch (type) {
    case HC_MSG_SYNC: {
      hc_msg_sync m;
      rc = hc_msg_sync_decode(&d, &m);
      sb_printf(&b,
                "sync fork=%" PRIu64 " length=%" PRIu64 " remoteLength=%" PRIu64
                " canUpgrade=%d uploading=%d downloading=%d hasManifest=%d",
                m.fork, m.length, m.remote_length, m.can_upgrade, m.uploading, m.downloading,
                m.has_manifest);
      break;
    }
    case HC_MSG_REQUEST: {
      hc_msg_request m;
      rc = hc_msg_request_decode(&d, &m);
      sb_printf(&b, "request id=%" PRIu64 " fork=%" PRIu64 " block=", m.id, m.fork);
      if (m.r.has_block) sb_printf(&b, "%" PRIu64 "/%" PRIu64, m.r.block_index, m.r.block_nodes);
      else sb_printf(&b, "null");
      sb_printf(&b, " hash=");
      if (m.r.has_hash) sb_printf(&b, "%" PRIu64 "/%" PRIu64, m.r.hash_index, m.r.hash_nodes);
      else sb_printf(&b, "null");
      sb_printf(&b, " seek=");
      if (m.r.has_seek) sb_printf(&b, "%" PRIu64 "/%" PRIu64, m.r.seek_bytes, m.r.seek_padding);
      else sb_printf(&b, "null");
      sb_printf(&b, " upgrade=");
      if (m.r.has_upgrade)
        sb_printf(&b, "%" PRIu64 "/%" PRIu64, m.r.upgrade_start, m.r.upgrade_length);
      else sb_printf(&b, "null");
      sb_printf(&b, " manifest=%d priority=%" PRIu64, m.r.manifest, m.priority);
      break;
    }
    case HC_MSG_CANCEL: {
      hc_msg_cancel m;
      rc = hc_msg_cancel_decode(&d, &m);
      sb_printf(&b, "cancel request=%" PRIu64, m.request);
      break;
    }
    case HC_MSG_NO_DATA: {
      hc_msg_no_data m;
      rc = hc_msg_no_data_decode(&d, &m);
      sb_printf(&b, "noData request=%" PRIu64, m.request);
      break;
    }
    case HC_MSG_DATA: {
      hc_proof pr;
      rc = hc_msg_data_decode_dec(&d, &pr);
      if (rc) break;
      sb_printf(&b, "data request=%" PRIu64 " fork=%" PRIu64 " block=", pr.request, pr.fork);
      if (pr.has_block) {
        sb_printf(&b, "{%" PRIu64 " ", pr.block_index);
        sb_hex(&b, pr.block_value, pr.block_value_len);
        sb_printf(&b, " ");
        sb_nodes(&b, pr.block_nodes, pr.n_block_nodes);
        sb_printf(&b, "}");
      } else sb_printf(&b, "null");
      sb_printf(&b, " hash=");
      if (pr.has_hash) {
        sb_printf(&b, "{%" PRIu64 " ", pr.hash_index);
        sb_nodes(&b, pr.hash_nodes, pr.n_hash_nodes);
        sb_printf(&b, "}");
      } else sb_printf(&b, "null");
      sb_printf(&b, " seek=");
      if (pr.has_seek) {
        sb_printf(&b, "{%" PRIu64 " ", pr.seek_bytes);
        sb_nodes(&b, pr.seek_nodes, pr.n_seek_nodes);
        sb_printf(&b, "}");
      } else sb_printf(&b, "null");
      sb_printf(&b, " upgrade=");
      if (pr.has_upgrade) {
        sb_printf(&b, "{%" PRIu64 " %" PRIu64 " ", pr.upgrade_start, pr.upgrade_length);
        sb_nodes(&b, pr.upgrade_nodes, pr.n_upgrade_nodes);
        sb_printf(&b, " ");
        sb_nodes(&b, pr.upgrade_additional, pr.n_upgrade_additional);
        sb_printf(&b, " ");
        sb_hex(&b, pr.upgrade_signature, pr.upgrade_signature_len);
        sb_printf(&b, "}");
      } else sb_printf(&b, "null");
      sb_printf(&b, " manifest=%s", pr.has_manifest ? "present" : "null");
      hc_proof_cleanup(&pr);
      break;
    }
    case HC_MSG_WANT:
    case HC_MSG_UNWANT: {
      hc_msg_want m;
      rc = hc_msg_want_decode(&d, &m);
      sb_printf(&b, "%s start=%" PRIu64 " length=%" PRIu64, hc_msg_name(type), m.start, m.length);
      break;
    }
    case HC_MSG_BITFIELD: {
      hc_msg_bitfield m;
      rc = hc_msg_bitfield_decode(&d, &m);
      sb_printf(&b, "bitfield start=%" PRIu64 " words=", m.start);
      sb_hex(&b, m.words, m.nwords * 4);
      break;
    }
    case HC_MSG_RANGE: {
      hc_msg_range m;
      rc = hc_msg_range_decode(&d, &m);
      sb_printf(&b, "range drop=%d start=%" PRIu64 " length=%" PRIu64, m.drop, m.start, m.length);
      break;
    }
    case HC_MSG_EXTENSION: {
      hc_msg_extension m;
      rc = hc_msg_extension_decode(&d, &m);
      sb_printf(&b, "extension name=%.*s message=", (int)m.name_len, m.name);
      sb_hex(&b, m.message, m.message_len);
      break;
    }
  }
  *used = (size_t)(d.p - p);
  if (rc) {
    free(b.s);
    *text = NULL;
  } else {
    *text = b.s;
  }
  return rc;
}

/* Decodes and re-encodes (count pass, then write) message `type`; output must equal input. */
static void reencode(unsigned type, const uint8_t *p, size_t n) {
  uint8_t *out = malloc(n + 16);
  CHECK(out);
  for (int pass = 0; pass < 2; pass++) {
    hc_enc e;
    hc_enc_init(&e, pass ? out : NULL, pass ? n + 16 : 0);
    hc_dec d;
    hc_dec_init(&d, p, n);
    int rc = HC_ERR_DECODE;
    switch (type) {
      case HC_MSG_SYNC: { hc_msg_sync m; CHECK_OK(hc_msg_sync_decode(&d, &m)); rc = hc_msg_sync_encode(&e, &m); break; }
      case HC_MSG_REQUEST: { hc_msg_request m; CHECK_OK(hc_msg_request_decode(&d, &m)); rc = hc_msg_request_encode(&e, &m); break; }
      case HC_MSG_CANCEL: { hc_msg_cancel m; CHECK_OK(hc_msg_cancel_decode(&d, &m)); rc = hc_msg_cancel_encode(&e, &m); break; }
      case HC_MSG_NO_DATA: { hc_msg_no_data m; CHECK_OK(hc_msg_no_data_decode(&d, &m)); rc = hc_msg_no_data_encode(&e, &m); break; }
      case HC_MSG_DATA: {
        hc_proof pr;
        CHECK_OK(hc_msg_data_decode(p, n, &pr));
        rc = hc_msg_data_encode(&e, &pr);
        hc_proof_cleanup(&pr);
        CHECK(pr.owned == NULL && pr.block_nodes == NULL);
        break;
      }
      case HC_MSG_WANT: case HC_MSG_UNWANT: { hc_msg_want m; CHECK_OK(hc_msg_want_decode(&d, &m)); rc = hc_msg_want_encode(&e, &m); break; }
      case HC_MSG_BITFIELD: { hc_msg_bitfield m; CHECK_OK(hc_msg_bitfield_decode(&d, &m)); rc = hc_msg_bitfield_encode(&e, &m); break; }
      case HC_MSG_RANGE: { hc_msg_range m; CHECK_OK(hc_msg_range_decode(&d, &m)); rc = hc_msg_range_encode(&e, &m); break; }
      case HC_MSG_EXTENSION: { hc_msg_extension m; CHECK_OK(hc_msg_extension_decode(&d, &m)); rc = hc_msg_extension_encode(&e, &m); break; }
    }
    CHECK_OK(rc);
    CHECK_EQ(e.pos, n);
  }
  CHECK_MEM(out, p, n);
  free(out);
}

/* Every strict prefix of a valid message must fail or decode to something else. */
static void prefixes(unsigned type, const uint8_t *p, size_t n, const char *full) {
  for (size_t k = 0; k < n; k++) {
    /* copy so ASan catches reads past the prefix */
    uint8_t *c = malloc(k ? k : 1);
    CHECK(c);
    memcpy(c, p, k);
    char *text;
    size_t used;
    int rc = decode_render(type, c, k, &text, &used);
    CHECK(used <= k);
    if (rc == HC_OK) {
      if (strcmp(text, full) == 0) {
        fprintf(stderr, "prefix %zu of %s decodes the same: %s\n", k, hc_msg_name(type), text);
        exit(1);
      }
      free(text);
    } else {
      CHECK_RC(rc, HC_ERR_DECODE);
    }
    free(c);
  }
}

static void check_item(const wv_item *it, const char *src) {
  size_t n;
  uint8_t *p = unhex(it->payload, &n);
  char *text;
  size_t used;
  CHECK_OK(decode_render(it->type, p, n, &text, &used));
  if (strcmp(text, it->text) != 0) {
    fprintf(stderr, "%s: decoded\n  %s\nexpected\n  %s\n", src, text, it->text);
    exit(1);
  }
  CHECK_EQ(used, n);
  reencode(it->type, p, n);
  prefixes(it->type, p, n, text);
  free(text);
  free(p);
}

/* ---- known answers ---- */

static void test_vectors(void) {
  size_t nitems = 0, ndata = 0;
  for (size_t i = 0; i < WV_NFRAMES; i++) {
    const wv_frame *f = &WV_FRAMES[i];
    for (unsigned j = 0; j < f->nitems; j++) {
      check_item(&f->items[j], f->src);
      nitems++;
      if (f->items[j].type == HC_MSG_DATA) ndata++;
    }
    if (f->is_open) {
      size_t n;
      uint8_t *p = unhex(f->open_handshake, &n);
      hc_dec d;
      hc_dec_init(&d, p, n);
      hc_msg_handshake h;
      CHECK_OK(hc_msg_handshake_decode(&d, &h));
      CHECK_EQ(hc_dec_left(&d), 0);
      CHECK_EQ(h.seeks, f->open_seeks);
      CHECK_HEX(h.capability, f->open_capability);
      uint8_t out[40];
      hc_enc e;
      hc_enc_init(&e, out, sizeof out);
      CHECK_OK(hc_msg_handshake_encode(&e, &h));
      CHECK_EQ(e.pos, n);
      CHECK_MEM(out, p, n);
      for (size_t k = 0; k < n; k++) {
        hc_dec_init(&d, p, k);
        CHECK_RC(hc_msg_handshake_decode(&d, &h), HC_ERR_DECODE);
      }
      free(p);
    }
  }
  CHECK(nitems >= 30);
  CHECK(ndata >= 10);
}

static void test_message_encodings(void) {
  size_t seen = 0;
  for (size_t i = 0; i < sizeof WV_MSG_ENCODINGS / sizeof WV_MSG_ENCODINGS[0]; i++) {
    const char *name = WV_MSG_ENCODINGS[i].name, *hex = WV_MSG_ENCODINGS[i].hex;
    size_t n;
    uint8_t *p = unhex(hex, &n);
    hc_dec d;
    hc_dec_init(&d, p, n);
    uint8_t out[64];
    hc_enc e;
    hc_enc_init(&e, out, sizeof out);
    if (strcmp(name, "handshake") == 0) {
      hc_msg_handshake h;
      CHECK_OK(hc_msg_handshake_decode(&d, &h));
      CHECK(h.seeks);
      for (int k = 0; k < 32; k++) CHECK_EQ(h.capability[k], 0xaa);
      CHECK_OK(hc_msg_handshake_encode(&e, &h));
    } else if (strcmp(name, "sync") == 0) {
      hc_msg_sync s;
      CHECK_OK(hc_msg_sync_decode(&d, &s));
      CHECK(s.can_upgrade && s.uploading && s.downloading && !s.has_manifest);
      CHECK_EQ(s.fork, 1);
      CHECK_EQ(s.length, 5);
      CHECK_EQ(s.remote_length, 3);
      CHECK_OK(hc_msg_sync_encode(&e, &s));
    } else if (strcmp(name, "request_block_upgrade") == 0) {
      hc_msg_request r;
      CHECK_OK(hc_msg_request_decode(&d, &r));
      CHECK_EQ(r.id, 1);
      CHECK_EQ(r.fork, 0);
      CHECK(r.r.has_block && !r.r.has_hash && !r.r.has_seek && r.r.has_upgrade && !r.r.manifest);
      CHECK_EQ(r.r.block_index, 3);
      CHECK_EQ(r.r.block_nodes, 2);
      CHECK_EQ(r.r.upgrade_start, 0);
      CHECK_EQ(r.r.upgrade_length, 5);
      CHECK_EQ(r.priority, 0);
      CHECK_OK(hc_msg_request_encode(&e, &r));
    } else if (strcmp(name, "range_len1") == 0) {
      hc_msg_range r;
      CHECK_OK(hc_msg_range_decode(&d, &r));
      CHECK(!r.drop);
      CHECK_EQ(r.start, 7);
      CHECK_EQ(r.length, 1);
      CHECK_OK(hc_msg_range_encode(&e, &r));
    } else if (strcmp(name, "range") == 0) {
      hc_msg_range r;
      CHECK_OK(hc_msg_range_decode(&d, &r));
      CHECK(r.drop);
      CHECK_EQ(r.start, 0);
      CHECK_EQ(r.length, 300);
      CHECK_OK(hc_msg_range_encode(&e, &r));
    } else if (strcmp(name, "bitfield") == 0) {
      hc_msg_bitfield b;
      CHECK_OK(hc_msg_bitfield_decode(&d, &b));
      CHECK_EQ(b.start, 0);
      CHECK_EQ(b.nwords, 2);
      CHECK_EQ(hc_msg_bitfield_word(&b, 0), 0x1f);
      CHECK_EQ(hc_msg_bitfield_word(&b, 1), 0);
      for (uint64_t j = 0; j < 64; j++) CHECK_EQ(hc_msg_bitfield_get(&b, j), j < 5);
      CHECK(!hc_msg_bitfield_get(&b, 64));
      CHECK_OK(hc_msg_bitfield_encode(&e, &b));
      uint32_t words[2] = {0x1f, 0};
      uint8_t out2[16];
      hc_enc e2;
      hc_enc_init(&e2, out2, sizeof out2);
      CHECK_OK(hc_msg_bitfield_encode_words(&e2, 0, words, 2));
      CHECK_EQ(e2.pos, n);
      CHECK_MEM(out2, p, n);
    } else if (strncmp(name, "uint_", 5) == 0) {
      uint64_t v = hc_dec_uint(&d);
      CHECK_OK(d.err);
      hc_enc_uint(&e, v);
    } else {
      fprintf(stderr, "unknown messageEncodings entry %s\n", name);
      exit(1);
    }
    seen++;
    CHECK_EQ(hc_dec_left(&d), 0);
    CHECK_OK(e.err);
    CHECK_EQ(e.pos, n);
    CHECK_MEM(out, p, n);
    free(p);
  }
  CHECK_EQ(seen, 9);
}

/* ---- round trips ---- */

static size_t enc_data(const hc_proof *p, uint8_t **out) {
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  CHECK_OK(hc_msg_data_encode(&e, p));
  size_t n = e.pos;
  *out = malloc(n);
  CHECK(*out);
  hc_enc_init(&e, *out, n);
  CHECK_OK(hc_msg_data_encode(&e, p));
  CHECK_EQ(e.pos, n);
  /* too small a buffer: NOBUF, no overflow */
  hc_enc_init(&e, *out, n - 1);
  CHECK_RC(hc_msg_data_encode(&e, p), HC_ERR_NOBUF);
  return n;
}

static void fill_nodes(hc_node *n, size_t count, uint64_t base) {
  for (size_t i = 0; i < count; i++) {
    n[i].index = base + i;
    n[i].size = (base + i) * 1000003u;
    memset(n[i].hash, (int)(base + i), 32);
  }
}

static void same_nodes(const hc_node *a, const hc_node *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    CHECK_EQ(a[i].index, b[i].index);
    CHECK_EQ(a[i].size, b[i].size);
    CHECK_MEM(a[i].hash, b[i].hash, 32);
  }
}

static void test_data_round_trip(void) {
  hc_node bn[3], hn[2], sn[4], un[5], an[1];
  fill_nodes(bn, 3, 2);
  fill_nodes(hn, 2, 300);
  fill_nodes(sn, 4, 70000);
  fill_nodes(un, 5, UINT64_C(1) << 40);
  fill_nodes(an, 1, UINT64_MAX - 1);
  uint8_t value[300], sig[64];
  for (int i = 0; i < 300; i++) value[i] = (uint8_t)(i * 7 + 3);
  memset(sig, 0x5a, sizeof sig);
  /* a v1 manifest with a prologue (not the compat one) */
  static const char *manifest_hex =
      "0102000101004144eea531e483d54e0c14f4ca68e0644f355343ff6fcb0f005200e12cd747cb8a88e3dd7409"
      "f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
      "1111111111111111111111111111111111111111111111111111111111111111" "05";
  size_t mlen;
  uint8_t *manifest = unhex(manifest_hex, &mlen);

  hc_proof p;
  memset(&p, 0, sizeof p);
  p.request = 70000;
  p.fork = UINT64_MAX;
  p.has_block = true;
  p.block_index = 12345678901ull;
  p.block_value = value;
  p.block_value_len = sizeof value;
  p.block_nodes = bn;
  p.n_block_nodes = 3;
  p.has_hash = true;
  p.hash_index = 17;
  p.hash_nodes = hn;
  p.n_hash_nodes = 2;
  p.has_seek = true;
  p.seek_bytes = 1u << 30;
  p.seek_nodes = sn;
  p.n_seek_nodes = 4;
  p.has_upgrade = true;
  p.upgrade_start = 3;
  p.upgrade_length = 9;
  p.upgrade_nodes = un;
  p.n_upgrade_nodes = 5;
  p.upgrade_additional = an;
  p.n_upgrade_additional = 1;
  p.upgrade_signature = sig;
  p.upgrade_signature_len = 64;
  p.has_manifest = true;
  p.manifest = manifest;
  p.manifest_len = mlen;

  uint8_t *buf;
  size_t n = enc_data(&p, &buf);
  CHECK_EQ(buf[0], 0x1f);

  hc_proof q;
  CHECK_OK(hc_msg_data_decode(buf, n, &q));
  CHECK(q.owned != NULL);
  CHECK_EQ(q.request, 70000);
  CHECK_EQ(q.fork, UINT64_MAX);
  CHECK(q.has_block && q.has_hash && q.has_seek && q.has_upgrade && q.has_manifest);
  CHECK_EQ(q.block_index, 12345678901ull);
  CHECK_EQ(q.block_value_len, 300);
  CHECK_MEM(q.block_value, value, 300);
  CHECK_EQ(q.n_block_nodes, 3);
  same_nodes(q.block_nodes, bn, 3);
  CHECK_EQ(q.hash_index, 17);
  CHECK_EQ(q.n_hash_nodes, 2);
  same_nodes(q.hash_nodes, hn, 2);
  CHECK_EQ(q.seek_bytes, 1u << 30);
  CHECK_EQ(q.n_seek_nodes, 4);
  same_nodes(q.seek_nodes, sn, 4);
  CHECK_EQ(q.upgrade_start, 3);
  CHECK_EQ(q.upgrade_length, 9);
  CHECK_EQ(q.n_upgrade_nodes, 5);
  same_nodes(q.upgrade_nodes, un, 5);
  CHECK_EQ(q.n_upgrade_additional, 1);
  same_nodes(q.upgrade_additional, an, 1);
  CHECK_EQ(q.upgrade_signature_len, 64);
  CHECK_MEM(q.upgrade_signature, sig, 64);
  CHECK_EQ(q.manifest_len, mlen);
  CHECK_MEM(q.manifest, manifest, mlen);
  /* values borrow from the input */
  CHECK(q.block_value >= buf && q.block_value < buf + n);
  CHECK(q.manifest + q.manifest_len == buf + n);

  uint8_t *buf2;
  size_t n2 = enc_data(&q, &buf2);
  CHECK_EQ(n2, n);
  CHECK_MEM(buf2, buf, n);
  free(buf2);
  hc_proof_cleanup(&q);
  CHECK(q.owned == NULL && !q.has_block && q.n_block_nodes == 0);
  hc_proof_cleanup(&q); /* idempotent */

  /* every strict prefix fails (nothing optional at the end of a data message) */
  for (size_t k = 0; k < n; k++) {
    uint8_t *c = malloc(k ? k : 1);
    CHECK(c);
    memcpy(c, buf, k);
    hc_proof r;
    CHECK_RC(hc_msg_data_decode(c, k, &r), HC_ERR_DECODE);
    CHECK(r.owned == NULL && r.block_nodes == NULL);
    free(c);
  }
  free(buf);

  /* empty block value decodes to a non-NULL empty buffer; empty arrays to NULL/0; a proof
   * with no nodes owns nothing */
  memset(&p, 0, sizeof p);
  p.has_block = true;
  p.block_index = 1;
  n = enc_data(&p, &buf);
  CHECK_EQ(n, 6);
  CHECK_HEX(buf, "010000010000");
  CHECK_OK(hc_msg_data_decode(buf, n, &q));
  CHECK(q.has_block && q.block_value != NULL && q.block_value_len == 0);
  CHECK(q.block_nodes == NULL && q.n_block_nodes == 0 && q.owned == NULL);
  hc_proof_cleanup(&q);
  free(buf);

  /* v11 (optionalBuffer) null signature is the same bytes as an empty one */
  memset(&p, 0, sizeof p);
  p.has_upgrade = true;
  p.upgrade_length = 4;
  n = enc_data(&p, &buf);
  CHECK_EQ(n, 8);
  CHECK_HEX(buf, "0800000004000000");
  CHECK_OK(hc_msg_data_decode(buf, n, &q));
  CHECK(q.has_upgrade && q.upgrade_signature == NULL && q.upgrade_signature_len == 0);
  hc_proof_cleanup(&q);
  free(buf);

  /* has_manifest without bytes is an argument error */
  memset(&p, 0, sizeof p);
  p.has_manifest = true;
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  CHECK_RC(hc_msg_data_encode(&e, &p), HC_ERR_INVALID_ARG);
  free(manifest);
}

/* Manifests of every version inside a data message: measured to the right length. */
static void test_data_manifests(void) {
  static const char *const ok[] = {
      /* v1 default signer manifest (spec §1.4) */
      "0100000101004144eea531e483d54e0c14f4ca68e0644f355343ff6fcb0f005200e12cd747cb8a88e3dd7409f1"
      "95fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
      /* v0 type 0: prologue only */
      "000000" "2222222222222222222222222222222222222222222222222222222222222222",
      /* v0 type 1: one signer */
      "000001" "00" "3333333333333333333333333333333333333333333333333333333333333333"
      "4444444444444444444444444444444444444444444444444444444444444444",
      /* v0 type 2: patch, quorum 2, two signers */
      "000002" "01" "02" "02"
      "00" "3333333333333333333333333333333333333333333333333333333333333333"
      "4444444444444444444444444444444444444444444444444444444444444444"
      "00" "5555555555555555555555555555555555555555555555555555555555555555"
      "6666666666666666666666666666666666666666666666666666666666666666",
      /* v1, no signers, prologue */
      "01020000" "00" "7777777777777777777777777777777777777777777777777777777777777777" "fd2c01",
      /* v2 (11.x): linked (2 keys) + userData */
      "020c000100" "02" "8888888888888888888888888888888888888888888888888888888888888888"
      "9999999999999999999999999999999999999999999999999999999999999999" "03616263",
      /* v3 (11.x): empty linked, empty userData */
      "030c0000" "00" "00" "00",
  };
  static const char *const bad[] = {
      "04",           /* unknown version */
      "000100",       /* v0 unknown hash */
      "000003",       /* v0 unknown type */
      "0100010100" "01", /* v1 unknown hash id */
      "01000001" "01" "01" "3333333333333333333333333333333333333333333333333333333333333333"
      "4444444444444444444444444444444444444444444444444444444444444444", /* signature id 1 */
      "010000ff" "ffffffffffffffff7f", /* lying signer count */
      "010400ff00" "feffffff0f", /* lying linked count */
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    size_t mlen;
    uint8_t *m = unhex(ok[i], &mlen);
    hc_proof p;
    memset(&p, 0, sizeof p);
    p.request = 2;
    p.has_manifest = true;
    p.manifest = m;
    p.manifest_len = mlen;
    uint8_t *buf;
    size_t n = enc_data(&p, &buf);
    /* trailing garbage after the message is ignored, like the JS decoders do */
    uint8_t *buf2 = malloc(n + 3);
    CHECK(buf2);
    memcpy(buf2, buf, n);
    memset(buf2 + n, 0xee, 3);
    hc_proof q;
    CHECK_OK(hc_msg_data_decode(buf2, n + 3, &q));
    CHECK(q.has_manifest);
    CHECK_EQ(q.manifest_len, mlen);
    CHECK_MEM(q.manifest, m, mlen);
    hc_proof_cleanup(&q);
    for (size_t k = 0; k < n; k++) CHECK_RC(hc_msg_data_decode(buf, k, &q), HC_ERR_DECODE);
    free(buf2);
    free(buf);
    free(m);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sbuf b = {0};
    sb_printf(&b, "100200%s", bad[i]);
    size_t n;
    uint8_t *buf = unhex(b.s, &n);
    hc_proof q;
    CHECK_RC(hc_msg_data_decode(buf, n, &q), HC_ERR_DECODE);
    free(buf);
    free(b.s);
  }
}

static void test_small_round_trips(void) {
  uint8_t buf[128];
  hc_enc e;
  hc_dec d;

  /* sync with every flag incl. 11.x allowPush */
  hc_msg_sync s = {UINT64_MAX, 1ull << 32, 0xffff, true, false, true, true, true}, s2;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_sync_encode(&e, &s));
  CHECK_EQ(buf[0], 0x1d);
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_sync_decode(&d, &s2));
  CHECK(s2.can_upgrade && !s2.uploading && s2.downloading && s2.has_manifest);
  CHECK_EQ(s2.fork, UINT64_MAX);
  CHECK_EQ(s2.length, 1ull << 32);
  CHECK_EQ(s2.remote_length, 0xffff);
  CHECK(s2.allow_push && !s2.uploading);

  /* request with every part + priority */
  hc_msg_request r, r2;
  memset(&r, 0, sizeof r);
  r.id = 3;
  r.fork = 4;
  r.r = (hc_proof_request){true, 5, 6, true, 7, 8, true, 9, 10, true, 11, 12, true};
  r.priority = 2;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_request_encode(&e, &r));
  CHECK_EQ(e.pos, 12);
  CHECK_HEX(buf, "3f030405060708090a0b0c02");
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_request_decode(&d, &r2));
  CHECK(memcmp(&r.r, &r2.r, sizeof r.r) == 0);
  CHECK_EQ(r2.priority, 2);
  CHECK_EQ(r2.id, 3);
  CHECK_EQ(r2.fork, 4);

  /* cancel */
  hc_msg_cancel c = {1ull << 40}, c2;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_cancel_encode(&e, &c));
  CHECK_HEX(buf, "ff0000000000010000");
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_cancel_decode(&d, &c2));
  CHECK_EQ(c2.request, 1ull << 40);

  /* noData: 10.x form, 11.x form (flags 0), 11.x reason */
  hc_msg_no_data nd = {7, false, 0}, nd2;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_no_data_encode(&e, &nd));
  CHECK_EQ(e.pos, 1);
  nd.has_flags = true;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_no_data_encode(&e, &nd));
  CHECK_HEX(buf, "0700");
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_no_data_decode(&d, &nd2));
  CHECK(nd2.has_flags && nd2.reason == 0 && nd2.request == 7);
  nd.reason = 3;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_no_data_encode(&e, &nd));
  CHECK_HEX(buf, "070103");
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_no_data_decode(&d, &nd2));
  CHECK_EQ(nd2.reason, 3);
  hc_dec_init(&d, buf, 2); /* flags says reason follows but it is missing */
  CHECK_RC(hc_msg_no_data_decode(&d, &nd2), HC_ERR_DECODE);

  /* want (v10 and 11.x any) */
  hc_msg_want w = {1u << 21, 1u << 21, false}, w2;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_want_encode(&e, &w));
  CHECK_HEX(buf, "fe00002000fe00002000");
  CHECK_EQ(e.pos, 10);
  w.any = true;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_unwant_encode(&e, &w));
  CHECK_EQ(e.pos, 11);
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_unwant_decode(&d, &w2));
  CHECK(w2.any && w2.start == 1u << 21 && w2.length == 1u << 21);

  /* range */
  hc_msg_range rg = {false, 9, 1}, rg2;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_range_encode(&e, &rg));
  CHECK_HEX(buf, "0209");
  rg = (hc_msg_range){true, 0, 0};
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_range_encode(&e, &rg));
  CHECK_HEX(buf, "010000");
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_range_decode(&d, &rg2));
  CHECK(rg2.drop && rg2.start == 0 && rg2.length == 0);

  /* extension: named, and empty name + empty message */
  hc_msg_extension x = {"ping", 4, (const uint8_t *)"\x01\x02", 2}, x2;
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_extension_encode(&e, &x));
  CHECK_HEX(buf, "0470696e670102");
  hc_dec_init(&d, buf, e.pos);
  CHECK_OK(hc_msg_extension_decode(&d, &x2));
  CHECK(x2.name_len == 4 && memcmp(x2.name, "ping", 4) == 0 && x2.message_len == 2);
  CHECK_EQ(hc_dec_left(&d), 0);
  x = (hc_msg_extension){NULL, 0, NULL, 0};
  hc_enc_init(&e, buf, sizeof buf);
  CHECK_OK(hc_msg_extension_encode(&e, &x));
  CHECK_EQ(e.pos, 1);
  hc_dec_init(&d, buf, 1);
  CHECK_OK(hc_msg_extension_decode(&d, &x2));
  CHECK(x2.name != NULL && x2.name_len == 0 && x2.message != NULL && x2.message_len == 0);
  hc_dec_init(&d, buf, 0);
  CHECK_RC(hc_msg_extension_decode(&d, &x2), HC_ERR_DECODE);
  hc_dec_init(&d, (const uint8_t *)"\x05zz", 3); /* name longer than the input */
  CHECK_RC(hc_msg_extension_decode(&d, &x2), HC_ERR_DECODE);

  /* bitfield from an unaligned input */
  uint8_t raw[1 + 1 + 1 + 12];
  raw[0] = 0xee; /* offset the message by one byte */
  raw[1] = 64;
  raw[2] = 3;
  for (int i = 0; i < 12; i++) raw[3 + i] = (uint8_t)(0x10 + i);
  hc_msg_bitfield bf;
  hc_dec_init(&d, raw + 1, sizeof raw - 1);
  CHECK_OK(hc_msg_bitfield_decode(&d, &bf));
  CHECK_EQ(bf.start, 64);
  CHECK_EQ(bf.nwords, 3);
  CHECK_EQ(hc_msg_bitfield_word(&bf, 2), 0x1b1a1918u);
  hc_dec_init(&d, raw + 1, sizeof raw - 2);
  CHECK_RC(hc_msg_bitfield_decode(&d, &bf), HC_ERR_DECODE);
  CHECK_EQ(bf.nwords, 0);

  /* allocating encoder */
  uint8_t *ab;
  size_t an;
  hc_msg_range arg = {false, 7, 1};
  CHECK_OK(hc_msg_encode_alloc(HC_MSG_RANGE, &arg, &ab, &an));
  CHECK_EQ(an, 2);
  CHECK_HEX(ab, "0207");
  free(ab);
  hc_msg_want aw = {0, 1u << 21, false};
  CHECK_OK(hc_msg_encode_alloc(HC_MSG_UNWANT, &aw, &ab, &an));
  CHECK_EQ(an, 6);
  CHECK_HEX(ab, "00fe00002000");
  free(ab);
  hc_proof ap;
  memset(&ap, 0, sizeof ap);
  ap.request = 9;
  CHECK_OK(hc_msg_encode_alloc(HC_MSG_DATA, &ap, &ab, &an));
  CHECK_EQ(an, 3);
  CHECK_HEX(ab, "000900");
  free(ab);
  CHECK_RC(hc_msg_encode_alloc(10, &arg, &ab, &an), HC_ERR_INVALID_ARG);
  CHECK(ab == NULL && an == 0);

  CHECK(strcmp(hc_msg_name(HC_MSG_EXTENSION), "extension") == 0);
  CHECK(strcmp(hc_msg_name(10), "unknown") == 0);
}

/* Lying lengths must fail without big allocations (ASan would catch a huge malloc attempt as
 * an error under allocator_may_return_null=0). */
static void test_lying_lengths(void) {
  static const char *const data_bad[] = {
      "01000000" "00" "ffffffffffffffffff",         /* block nodes count 2^64-1 */
      "01000000" "00" "fe00000001",                 /* 16M nodes, no bytes */
      "01000000" "ff0000000000000001",              /* value length 2^56 */
      "02000000" "ff00000000ffffffff",              /* hash nodes */
      "04000000" "01" "fd0001",                     /* seek nodes */
      "0800000000" "00" "fe00000100",               /* additional nodes */
      "0800000000" "00" "00" "41" "00",             /* signature longer than input */
      "0100000000" "02" "0101" "0000000000000000000000000000000000000000000000000000000000000000"
      "0202", /* second node truncated */
  };
  for (size_t i = 0; i < sizeof data_bad / sizeof data_bad[0]; i++) {
    size_t n;
    uint8_t *b = unhex(data_bad[i], &n);
    hc_proof p;
    if (hc_msg_data_decode(b, n, &p) != HC_ERR_DECODE) {
      fprintf(stderr, "data_bad[%zu] decoded\n", i);
      exit(1);
    }
    CHECK(p.owned == NULL);
    free(b);
  }
  size_t n;
  uint8_t *b = unhex("00ffffffffffffffff3f01020304", &n);
  hc_dec d;
  hc_dec_init(&d, b, n);
  hc_msg_bitfield bf;
  CHECK_RC(hc_msg_bitfield_decode(&d, &bf), HC_ERR_DECODE);
  free(b);
  b = unhex("00fe00000040", &n); /* 2^30 words */
  hc_dec_init(&d, b, n);
  CHECK_RC(hc_msg_bitfield_decode(&d, &bf), HC_ERR_DECODE);
  free(b);
}

/* hypercore@11.37.1 encodings (its own encoders, tests/gen/wire-vectors-h.js) */
static const char *v11_hex(const char *name) {
  for (size_t i = 0; i < sizeof WV_V11 / sizeof WV_V11[0]; i++)
    if (strcmp(WV_V11[i].name, name) == 0) return WV_V11[i].hex;
  fprintf(stderr, "no v11 vector %s\n", name);
  exit(1);
}

static void test_v11(void) {
  size_t n;
  uint8_t *p;
  hc_dec d;
  char *text;
  size_t used;

  p = unhex(v11_hex("sync_allowPush"), &n);
  hc_dec_init(&d, p, n);
  hc_msg_sync s;
  CHECK_OK(hc_msg_sync_decode(&d, &s));
  CHECK(s.can_upgrade && s.uploading && !s.downloading && s.has_manifest && s.allow_push);
  CHECK(s.fork == 3 && s.length == 10 && s.remote_length == 2);
  reencode(HC_MSG_SYNC, p, n);
  free(p);

  p = unhex(v11_hex("noData_reason"), &n);
  hc_dec_init(&d, p, n);
  hc_msg_no_data nd;
  CHECK_OK(hc_msg_no_data_decode(&d, &nd));
  CHECK(nd.request == 5 && nd.has_flags && nd.reason == 2);
  reencode(HC_MSG_NO_DATA, p, n);
  free(p);
  p = unhex(v11_hex("noData_plain"), &n);
  hc_dec_init(&d, p, n);
  CHECK_OK(hc_msg_no_data_decode(&d, &nd));
  CHECK(nd.request == 5 && nd.has_flags && nd.reason == 0);
  reencode(HC_MSG_NO_DATA, p, n);
  free(p);

  p = unhex(v11_hex("want_any"), &n);
  hc_dec_init(&d, p, n);
  hc_msg_want w;
  CHECK_OK(hc_msg_want_decode(&d, &w));
  CHECK(w.start == 0 && w.length == 2097152 && w.any);
  reencode(HC_MSG_WANT, p, n);
  free(p);
  p = unhex(v11_hex("unwant_plain"), &n);
  hc_dec_init(&d, p, n);
  CHECK_OK(hc_msg_unwant_decode(&d, &w));
  CHECK(w.start == 4 && w.length == 8 && !w.any);
  reencode(HC_MSG_UNWANT, p, n);
  free(p);

  p = unhex(v11_hex("request_v11"), &n);
  CHECK_OK(decode_render(HC_MSG_REQUEST, p, n, &text, &used));
  CHECK(strcmp(text, "request id=2 fork=1 block=7/3 hash=null seek=100/0 upgrade=null manifest=1 "
                     "priority=0") == 0);
  free(text);
  reencode(HC_MSG_REQUEST, p, n);
  free(p);

  p = unhex(v11_hex("data_manifest_v2"), &n);
  hc_proof pr;
  CHECK_OK(hc_msg_data_decode(p, n, &pr));
  CHECK(pr.has_block && pr.block_value_len == 0 && pr.has_upgrade && pr.has_manifest);
  CHECK(pr.upgrade_signature == NULL && pr.upgrade_length == 1);
  CHECK_EQ(pr.manifest_len, 4 + 1 + 65 + 1 + 32 + 3);
  CHECK(pr.manifest + pr.manifest_len == p + n);
  CHECK_EQ(pr.manifest[0], 2);
  hc_proof_cleanup(&pr);
  reencode(HC_MSG_DATA, p, n);
  for (size_t k = 0; k < n; k++) CHECK_RC(hc_msg_data_decode(p, k, &pr), HC_ERR_DECODE);
  free(p);
}

int main(void) {
  test_vectors();
  test_message_encodings();
  test_data_round_trip();
  test_data_manifests();
  test_small_round_trips();
  test_lying_lengths();
  test_v11();
  printf("test_messages: ok\n");
  return 0;
}
