/* Manifest encoding (spec §1.4; lib/messages.js `manifest` of hypercore 10.38.2 / 11.37.1). */
#include "manifest.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hypercore/common.h"

#define SIGNER_MIN_BYTES 65 /* varint type + fixed32 + fixed32 */

static void enc_signer(hc_enc *e, const hc_signer *s) {
  hc_enc_uint(e, s->signature);
  hc_enc_raw(e, s->ns, 32);
  hc_enc_raw(e, s->public_key, 32);
}

static void enc_signers(hc_enc *e, const hc_manifest *m) {
  hc_enc_uint(e, m->nsigners);
  for (size_t i = 0; i < m->nsigners; i++) enc_signer(e, &m->signers[i]);
}

int hc_manifest_encode(hc_enc *e, const hc_manifest *m) {
  if (m->hash != 0 || m->version > 3) return HC_ERR_INVALID_ARG;
  if (m->nsigners && !m->signers) return HC_ERR_INVALID_ARG;
  for (size_t i = 0; i < m->nsigners; i++)
    if (m->signers[i].signature != 0) return HC_ERR_INVALID_ARG;
  hc_enc_uint(e, m->version);
  if (m->version == 0) {
    hc_enc_uint(e, m->hash);
    if (m->has_prologue && m->nsigners == 0) {
      hc_enc_uint(e, 0);
      hc_enc_raw(e, m->prologue_hash, 32);
    } else if (m->quorum == 1 && m->nsigners == 1 && !m->allow_patch) {
      hc_enc_uint(e, 1);
      enc_signer(e, &m->signers[0]);
    } else {
      hc_enc_uint(e, 2);
      hc_enc_uint(e, m->allow_patch ? 1 : 0);
      hc_enc_uint(e, m->quorum);
      enc_signers(e, m);
    }
    return e->err;
  }
  uint64_t flags = (m->allow_patch ? HC_MANIFEST_FLAG_PATCH : 0) |
                   (m->has_prologue ? HC_MANIFEST_FLAG_PROLOGUE : 0) |
                   (m->linked ? HC_MANIFEST_FLAG_LINKED : 0) |
                   (m->has_user_data ? HC_MANIFEST_FLAG_USER_DATA : 0);
  hc_enc_uint(e, flags);
  hc_enc_uint(e, m->hash);
  hc_enc_uint(e, m->quorum);
  enc_signers(e, m);
  if (m->has_prologue) {
    hc_enc_raw(e, m->prologue_hash, 32);
    hc_enc_uint(e, m->prologue_length);
  }
  if (m->linked) {
    hc_enc_uint(e, m->nlinked);
    hc_enc_raw(e, m->linked, m->nlinked * 32);
  }
  if (m->has_user_data) hc_enc_buffer(e, m->user_data, m->user_data_len);
  return e->err;
}

static void fail(hc_dec *d) {
  if (!d->err) d->err = HC_ERR_DECODE;
  d->p = d->end;
}

static void dec_signer(hc_dec *d, hc_signer *s) {
  uint64_t type = hc_dec_uint(d);
  if (!d->err && type != 0) fail(d);
  uint8_t tmp[32];
  hc_dec_fixed(d, s ? s->ns : tmp, 32);
  hc_dec_fixed(d, s ? s->public_key : tmp, 32);
  if (s) s->signature = 0;
}

/* Reads the signer array; with m == NULL only validates. */
static int dec_signers(hc_dec *d, hc_manifest *m) {
  uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / SIGNER_MIN_BYTES);
  if (d->err) return d->err;
  hc_signer *arr = NULL;
  if (m && n) {
    arr = calloc((size_t)n, sizeof *arr);
    if (!arr) return HC_ERR_NOMEM;
    m->signers = arr;
    m->owned = arr;
  }
  if (m) m->nsigners = (size_t)n;
  for (uint64_t i = 0; i < n && !d->err; i++) dec_signer(d, arr ? &arr[i] : NULL);
  return d->err;
}

static int parse(hc_dec *d, hc_manifest *m) {
  hc_manifest scratch;
  hc_manifest *out = m ? m : &scratch;
  memset(out, 0, sizeof *out);
  uint64_t version = hc_dec_uint(d);
  if (d->err) return d->err;
  out->version = version;
  if (version == 0) {
    uint64_t hash = hc_dec_uint(d);
    uint64_t type = hc_dec_uint(d);
    if (d->err) return d->err;
    if (hash != 0 || type > 2) {
      fail(d);
      return d->err;
    }
    if (type == 0) {
      out->has_prologue = true;
      hc_dec_fixed(d, out->prologue_hash, 32);
      return d->err;
    }
    if (type == 1) {
      out->quorum = 1;
      if (!m) {
        dec_signer(d, NULL);
        return d->err;
      }
      hc_signer *s = calloc(1, sizeof *s);
      if (!s) return HC_ERR_NOMEM;
      out->signers = s;
      out->owned = s;
      out->nsigners = 1;
      dec_signer(d, s);
      return d->err;
    }
    uint64_t flags = hc_dec_uint(d);
    out->allow_patch = (flags & 1) != 0;
    out->quorum = hc_dec_uint(d);
    if (d->err) return d->err;
    return dec_signers(d, m);
  }
  if (version > 3) {
    fail(d);
    return d->err;
  }
  uint64_t flags = hc_dec_uint(d);
  uint64_t hash = hc_dec_uint(d);
  if (!d->err && hash != 0) fail(d);
  out->quorum = hc_dec_uint(d);
  if (d->err) return d->err;
  out->allow_patch = (flags & HC_MANIFEST_FLAG_PATCH) != 0;
  int rc = dec_signers(d, m);
  if (rc) return rc;
  if (flags & HC_MANIFEST_FLAG_PROLOGUE) {
    out->has_prologue = true;
    hc_dec_fixed(d, out->prologue_hash, 32);
    out->prologue_length = hc_dec_uint(d);
  }
  if (flags & HC_MANIFEST_FLAG_LINKED) {
    uint64_t n = hc_dec_uint_max(d, hc_dec_left(d) / 32);
    const uint8_t *p = hc_dec_raw(d, (size_t)n * 32);
    if (!d->err) {
      out->nlinked = (size_t)n;
      /* a present but empty array still needs a non-NULL marker to re-encode */
      out->linked = p ? p : (const uint8_t *)"";
    }
  }
  if (flags & HC_MANIFEST_FLAG_USER_DATA) {
    out->has_user_data = true;
    out->user_data = hc_dec_buffer(d, &out->user_data_len);
  }
  return d->err;
}

int hc_manifest_decode(hc_dec *d, hc_manifest *m) {
  int rc = parse(d, m);
  if (rc == HC_OK && d->err) rc = d->err;
  if (rc) hc_manifest_cleanup(m);
  return rc;
}

int hc_manifest_skip(hc_dec *d) {
  int rc = parse(d, NULL);
  return rc ? rc : d->err;
}

void hc_manifest_cleanup(hc_manifest *m) {
  if (!m) return;
  free(m->owned);
  memset(m, 0, sizeof *m);
}

void hc_manifest_default(hc_manifest *m, hc_signer *signer, const uint8_t public_key[32]) {
  memset(m, 0, sizeof *m);
  memset(signer, 0, sizeof *signer);
  memcpy(signer->ns, HC_NS_DEFAULT, 32);
  memcpy(signer->public_key, public_key, 32);
  m->version = 1;
  m->quorum = 1;
  m->signers = signer;
  m->nsigners = 1;
}

void hc_manifest_hash_encoded(uint8_t out[32], const uint8_t *enc, size_t len) {
  hc_buf parts[2] = {{HC_NS_MANIFEST, 32}, {enc, len}};
  hc_crypto_hash_parts(out, parts, 2, NULL, 0);
}

int hc_manifest_hash(uint8_t out[32], const hc_manifest *m) {
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  int rc = hc_manifest_encode(&e, m);
  if (rc) return rc;
  size_t n = e.pos;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return HC_ERR_NOMEM;
  hc_enc_init(&e, buf, n);
  rc = hc_manifest_encode(&e, m);
  if (rc == HC_OK) hc_manifest_hash_encoded(out, buf, n);
  free(buf);
  return rc;
}

bool hc_manifest_is_compat(const hc_manifest *m, const uint8_t key[32]) {
  return m->nsigners == 1 && memcmp(m->signers[0].public_key, key, 32) == 0;
}
