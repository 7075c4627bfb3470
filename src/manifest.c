/* Manifest encoding (v0/v1), hashing and the signature scheme of lib/verifier.js. */
#include "manifest.h"

#include <string.h>

#include "crypto.h"

static void enc_signer(hc_enc *e, const hc_signer *s) {
  hc_enc_uint(e, 0); /* ed25519 */
  hc_enc_raw(e, s->namespace_, 32);
  hc_enc_raw(e, s->public_key, 32);
}

void hc_manifest_encode(hc_enc *e, const hc_manifest *m) {
  hc_enc_uint(e, m->version);
  if (m->version == 0) {
    hc_enc_uint(e, 0); /* blake2b */
    if (m->has_prologue && m->nsigners == 0) {
      hc_enc_uint(e, 0);
      hc_enc_raw(e, m->prologue_hash, 32);
      return;
    }
    if (m->quorum == 1 && m->nsigners == 1 && !m->allow_patch) {
      hc_enc_uint(e, 1);
      enc_signer(e, &m->signers[0]);
      return;
    }
    hc_enc_uint(e, 2);
    hc_enc_uint(e, m->allow_patch ? 1 : 0);
    hc_enc_uint(e, m->quorum);
    hc_enc_uint(e, m->nsigners);
    for (size_t i = 0; i < m->nsigners; i++) enc_signer(e, &m->signers[i]);
    return;
  }
  hc_enc_uint(e, (m->allow_patch ? 1u : 0u) | (m->has_prologue ? 2u : 0u));
  hc_enc_uint(e, 0); /* blake2b */
  hc_enc_uint(e, m->quorum);
  hc_enc_uint(e, m->nsigners);
  for (size_t i = 0; i < m->nsigners; i++) enc_signer(e, &m->signers[i]);
  if (m->has_prologue) {
    hc_enc_raw(e, m->prologue_hash, 32);
    hc_enc_uint(e, m->prologue_length);
  }
}

static int dec_signer(hc_dec *d, hc_signer *s) {
  if (hc_dec_uint(d) != 0 && !d->err) d->err = HC_ERR_DECODE;
  hc_dec_fixed(d, s->namespace_, 32);
  hc_dec_fixed(d, s->public_key, 32);
  return d->err;
}

static int dec_signers(hc_dec *d, hc_manifest *m) {
  uint64_t n = hc_dec_uint(d);
  if (d->err) return d->err;
  if (n > HC_MAX_SIGNERS) return d->err = HC_ERR_DECODE;
  m->nsigners = (size_t)n;
  for (size_t i = 0; i < m->nsigners; i++)
    if (dec_signer(d, &m->signers[i])) return d->err;
  return HC_OK;
}

int hc_manifest_decode(hc_dec *d, hc_manifest *m) {
  memset(m, 0, sizeof *m);
  uint64_t v = hc_dec_uint(d);
  if (d->err) return d->err;
  if (v == 0) {
    if (hc_dec_uint(d) != 0) return d->err = HC_ERR_DECODE; /* hash */
    uint64_t type = hc_dec_uint(d);
    if (d->err || type > 2) return d->err = HC_ERR_DECODE;
    if (type == 0) {
      m->has_prologue = true;
      hc_dec_fixed(d, m->prologue_hash, 32);
      return d->err;
    }
    if (type == 1) {
      m->quorum = 1;
      m->nsigners = 1;
      return dec_signer(d, &m->signers[0]);
    }
    uint64_t flags = hc_dec_uint(d);
    m->allow_patch = (flags & 1) != 0;
    uint64_t q = hc_dec_uint(d);
    if (q > UINT32_MAX) return d->err = HC_ERR_DECODE;
    m->quorum = (uint32_t)q;
    return dec_signers(d, m);
  }
  if (v != 1) return d->err = HC_ERR_DECODE;
  m->version = 1;
  uint64_t flags = hc_dec_uint(d);
  if (hc_dec_uint(d) != 0) return d->err = HC_ERR_DECODE; /* hash */
  uint64_t q = hc_dec_uint(d);
  if (d->err || q > UINT32_MAX) return d->err = HC_ERR_DECODE;
  m->quorum = (uint32_t)q;
  m->allow_patch = (flags & 1) != 0;
  if (dec_signers(d, m)) return d->err;
  if (flags & 2) {
    m->has_prologue = true;
    hc_dec_fixed(d, m->prologue_hash, 32);
    m->prologue_length = hc_dec_uint(d);
  }
  return d->err;
}

int hc_manifest_hash(const hc_manifest *m, uint8_t out[32]) {
  uint8_t buf[32 + 16 + HC_MAX_SIGNERS * 65 + 48];
  hc_enc e;
  hc_enc_init(&e, buf, sizeof buf);
  hc_enc_raw(&e, HC_NS_MANIFEST, 32);
  hc_manifest_encode(&e, m);
  if (e.err) return e.err;
  hc_crypto_blake2b(out, 32, buf, e.pos, NULL, 0);
  return HC_OK;
}

void hc_manifest_default(hc_manifest *m, const uint8_t public_key[32]) {
  memset(m, 0, sizeof *m);
  m->version = 1;
  m->quorum = 1;
  m->nsigners = 1;
  memcpy(m->signers[0].namespace_, HC_NS_DEFAULT, 32);
  memcpy(m->signers[0].public_key, public_key, 32);
}

bool hc_manifest_is_compat(const hc_manifest *m, const uint8_t key[32]) {
  return m->nsigners == 1 && memcmp(m->signers[0].public_key, key, 32) == 0;
}

bool hc_manifest_matches_key(const hc_manifest *m, const uint8_t key[32]) {
  if (hc_manifest_is_compat(m, key)) return true;
  uint8_t h[32];
  return hc_manifest_hash(m, h) == HC_OK && memcmp(h, key, 32) == 0;
}

/* signable: compat 80 bytes, else 112 bytes with the manifest hash (v1) or namespace (v0). */
static size_t signable(uint8_t out[112], const hc_manifest *m, const uint8_t key[32],
                       size_t signer, const uint8_t tree_hash[32], uint64_t length,
                       uint64_t fork) {
  size_t o = 0;
  memcpy(out, HC_NS_TREE, 32);
  o = 32;
  if (!hc_manifest_is_compat(m, key)) {
    if (m->version == 0) memcpy(out + o, m->signers[signer].namespace_, 32);
    else memcpy(out + o, key, 32); /* key == manifest hash for non-compat cores */
    o += 32;
  }
  memcpy(out + o, tree_hash, 32);
  o += 32;
  hc_put_u64le(out + o, length);
  hc_put_u64le(out + o + 8, fork);
  return o + 16;
}

int hc_manifest_sign(const hc_manifest *m, const uint8_t key[32], const uint8_t tree_hash[32],
                     uint64_t length, uint64_t fork, const uint8_t secret_key[64], uint8_t *sig,
                     size_t *siglen) {
  uint8_t pk[32];
  hc_crypto_sk_to_pk(pk, secret_key);
  size_t s = 0;
  while (s < m->nsigners && memcmp(m->signers[s].public_key, pk, 32) != 0) s++;
  if (s == m->nsigners) return HC_ERR_NOT_WRITABLE;
  uint8_t msg[112], raw[64];
  size_t n = signable(msg, m, key, s, tree_hash, length, fork);
  hc_crypto_sign(raw, msg, n, secret_key);
  if (hc_manifest_is_compat(m, key) || m->nsigners != 1 || m->version == 0) {
    /* compat, v0, or a partial signature of a multisig core: the raw signature */
    memcpy(sig, raw, 64);
    *siglen = 64;
    return HC_OK;
  }
  /* v1 single signer: multisig container, array(proof) + array(node) */
  sig[0] = 1;
  sig[1] = 0; /* signer index */
  memcpy(sig + 2, raw, 64);
  sig[66] = 0; /* patch */
  sig[67] = 0; /* no nodes */
  *siglen = 68;
  return HC_OK;
}

int hc_manifest_verify(const hc_manifest *m, const uint8_t key[32], const uint8_t tree_hash[32],
                       uint64_t length, uint64_t fork, const uint8_t *sig, size_t siglen) {
  uint8_t msg[112];
  bool compat = hc_manifest_is_compat(m, key);
  if (!compat && m->version == 1 && m->has_prologue && length <= m->prologue_length) {
    return length == m->prologue_length && memcmp(tree_hash, m->prologue_hash, 32) == 0
               ? HC_OK
               : HC_ERR_BAD_SIGNATURE;
  }
  if (!sig) return HC_ERR_BAD_SIGNATURE;
  if (compat || (m->version == 0 && !m->allow_patch && m->nsigners == 1)) {
    if (siglen != 64) return HC_ERR_BAD_SIGNATURE;
    size_t n = signable(msg, m, key, 0, tree_hash, length, fork);
    return hc_crypto_verify(sig, msg, n, m->signers[0].public_key);
  }
  if (m->version != 1 || m->quorum == 0) return HC_ERR_BAD_SIGNATURE;
  /* multisig container v1 */
  hc_dec d;
  hc_dec_init(&d, sig, siglen);
  uint64_t nproofs = hc_dec_uint(&d);
  if (d.err || nproofs < m->quorum || nproofs > HC_MAX_SIGNERS) return HC_ERR_BAD_SIGNATURE;
  bool tried[HC_MAX_SIGNERS] = {false};
  for (uint64_t i = 0; i < nproofs; i++) {
    uint64_t signer = hc_dec_uint(&d);
    const uint8_t *s = hc_dec_raw(&d, 64);
    uint64_t patch = hc_dec_uint(&d);
    if (d.err) return HC_ERR_BAD_SIGNATURE;
    if (i >= m->quorum) continue;
    if (patch != 0) return HC_ERR_BAD_SIGNATURE; /* patched signatures: not supported yet */
    if (signer >= m->nsigners || tried[signer]) return HC_ERR_BAD_SIGNATURE;
    tried[signer] = true;
    size_t n = signable(msg, m, key, (size_t)signer, tree_hash, length, fork);
    if (hc_crypto_verify(s, msg, n, m->signers[signer].public_key) != HC_OK)
      return HC_ERR_BAD_SIGNATURE;
  }
  return HC_OK;
}

int hc_manifest_skip(hc_dec *d) {
  hc_manifest m;
  return hc_manifest_decode(d, &m);
}
