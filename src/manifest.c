/* Manifest encoding (v0/v1), hashing and the signature scheme of lib/verifier.js. */
#include "manifest.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "grow.h"

static void enc_signer(hc_enc *e, const hc_signer *s) {
  hc_enc_uint(e, 0); /* ed25519 */
  hc_enc_raw(e, s->namespace_, HC_HASH_BYTES);
  hc_enc_raw(e, s->public_key, HC_KEY_BYTES);
}

void hc_manifest_encode(hc_enc *e, const hc_manifest *m) {
  hc_enc_uint(e, m->version);
  if (m->version == 0) {
    hc_enc_uint(e, 0); /* blake2b */
    if (m->has_prologue && m->nsigners == 0) {
      hc_enc_uint(e, 0);
      hc_enc_raw(e, m->prologue_hash, HC_HASH_BYTES);
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
  hc_enc_uint(e, (m->allow_patch ? 1u : 0u) | (m->has_prologue ? 2u : 0u) |
                    (m->has_linked ? 4u : 0u) | (m->has_user_data ? 8u : 0u));
  hc_enc_uint(e, 0); /* blake2b */
  hc_enc_uint(e, m->quorum);
  hc_enc_uint(e, m->nsigners);
  for (size_t i = 0; i < m->nsigners; i++) enc_signer(e, &m->signers[i]);
  if (m->has_prologue) {
    hc_enc_raw(e, m->prologue_hash, HC_HASH_BYTES);
    hc_enc_uint(e, m->prologue_length);
  }
  if (m->has_linked) {
    hc_enc_uint(e, m->nlinked);
    for (size_t i = 0; i < m->nlinked; i++) hc_enc_raw(e, m->linked[i], HC_KEY_BYTES);
  }
  if (m->has_user_data) {
    hc_enc_uint(e, m->user_data_len);
    hc_enc_raw(e, m->user_data, m->user_data_len);
  }
}

static int dec_signer(hc_dec *d, hc_signer *s) {
  if (hc_dec_uint(d) != 0 && !d->err) d->err = HC_ERR_DECODE;
  hc_dec_fixed(d, s->namespace_, HC_HASH_BYTES);
  hc_dec_fixed(d, s->public_key, HC_KEY_BYTES);
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
      hc_dec_fixed(d, m->prologue_hash, HC_HASH_BYTES);
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
  if (v > 3) return d->err = HC_ERR_DECODE; /* Unknown version */
  m->version = (uint32_t)v;
  uint64_t flags = hc_dec_uint(d);
  if (hc_dec_uint(d) != 0) return d->err = HC_ERR_DECODE; /* hash */
  uint64_t q = hc_dec_uint(d);
  if (d->err || q > UINT32_MAX) return d->err = HC_ERR_DECODE;
  m->quorum = (uint32_t)q;
  m->allow_patch = (flags & 1) != 0;
  if (dec_signers(d, m)) return d->err;
  if (flags & 2) {
    m->has_prologue = true;
    hc_dec_fixed(d, m->prologue_hash, HC_HASH_BYTES);
    m->prologue_length = hc_dec_uint(d);
  }
  if (flags & 4) {
    m->has_linked = true;
    uint64_t n = hc_dec_uint(d);
    if (d->err) return d->err;
    if (n > HC_MAX_LINKED) return d->err = HC_ERR_DECODE;
    m->nlinked = (size_t)n;
    for (size_t i = 0; i < m->nlinked; i++) hc_dec_fixed(d, m->linked[i], HC_KEY_BYTES);
  }
  if (flags & 8) {
    m->has_user_data = true;
    uint64_t n = hc_dec_uint(d);
    if (d->err) return d->err;
    if (n > HC_MAX_MANIFEST_USER_DATA) return d->err = HC_ERR_DECODE;
    m->user_data_len = (size_t)n;
    hc_dec_fixed(d, m->user_data, m->user_data_len);
  }
  return d->err;
}

int hc_manifest_hash(const hc_manifest *m, uint8_t out[HC_HASH_BYTES]) {
  uint8_t buf[32 + 16 + HC_MAX_SIGNERS * 65 + 48 + 10 + HC_MAX_LINKED * 32 + 10 +
              HC_MAX_MANIFEST_USER_DATA];
  hc_enc e;
  hc_enc_init(&e, buf, sizeof buf);
  hc_enc_raw(&e, HC_NS_MANIFEST, HC_HASH_BYTES);
  hc_manifest_encode(&e, m);
  if (e.err) return e.err;
  hc_crypto_blake2b(out, HC_HASH_BYTES, buf, e.pos, NULL, 0);
  return HC_OK;
}

void hc_manifest_default(hc_manifest *m, const uint8_t public_key[HC_KEY_BYTES]) {
  memset(m, 0, sizeof *m);
  m->version = 1;
  m->quorum = 1;
  m->nsigners = 1;
  memcpy(m->signers[0].namespace_, HC_NS_DEFAULT, HC_HASH_BYTES);
  memcpy(m->signers[0].public_key, public_key, HC_KEY_BYTES);
}

bool hc_manifest_is_compat(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES]) {
  return m->nsigners == 1 && memcmp(m->signers[0].public_key, key, HC_KEY_BYTES) == 0;
}

bool hc_manifest_matches_key(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES]) {
  if (hc_manifest_is_compat(m, key)) return true;
  uint8_t h[HC_HASH_BYTES];
  return hc_manifest_hash(m, h) == HC_OK && memcmp(h, key, HC_KEY_BYTES) == 0;
}

/* signable: compat 80 bytes (ctx NULL), else 112 bytes with the context: the manifest hash
 * (v1, which is the key of a non-compat core) or the signer's namespace (v0). */
static size_t signable(uint8_t out[112], const uint8_t *ctx, const uint8_t tree_hash[HC_HASH_BYTES],
                       uint64_t length, uint64_t fork) {
  size_t o = 0;
  memcpy(out, HC_NS_TREE, HC_HASH_BYTES);
  o = HC_HASH_BYTES;
  if (ctx) {
    memcpy(out + o, ctx, HC_HASH_BYTES);
    o += HC_HASH_BYTES;
  }
  memcpy(out + o, tree_hash, HC_HASH_BYTES);
  o += HC_HASH_BYTES;
  hc_put_u64le(out + o, length);
  hc_put_u64le(out + o + 8, fork);
  return o + 16;
}

static const uint8_t *signer_ctx(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                                 size_t signer) {
  return m->version == 0 ? m->signers[signer].namespace_ : key;
}

int hc_manifest_signer_index(const hc_manifest *m, const uint8_t public_key[HC_KEY_BYTES],
                             size_t *index) {
  for (size_t s = 0; s < m->nsigners; s++) {
    if (memcmp(m->signers[s].public_key, public_key, HC_KEY_BYTES) == 0) {
      *index = s;
      return HC_OK;
    }
  }
  return HC_ERR_NOT_FOUND;
}

int hc_manifest_partial(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                        const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length, uint64_t fork,
                        const uint8_t secret_key[HC_SECRET_KEY_BYTES], size_t *signer,
                        uint8_t sig[HC_SIGNATURE_BYTES]) {
  uint8_t pk[HC_KEY_BYTES], mh[HC_HASH_BYTES], msg[112];
  hc_crypto_sk_to_pk(pk, secret_key);
  if (hc_manifest_signer_index(m, pk, signer) != HC_OK) return HC_ERR_NOT_WRITABLE;
  if (!key) {
    int rc = hc_manifest_hash(m, mh);
    if (rc) return rc;
    key = mh;
  }
  size_t n = signable(msg, signer_ctx(m, key, *signer), tree_hash, length, fork);
  hc_crypto_sign(sig, msg, n, secret_key);
  return HC_OK;
}

typedef struct assembly {
  const hc_manifest *m;
  const hc_manifest_proof *proofs;
  size_t n;
} assembly;

/* The multisig signature: the signers' proofs, no patch. */
static int enc_assembly(hc_enc *e, const void *item) {
  const assembly *a = item;
  hc_enc_uint(e, a->n);
  for (size_t i = 0; i < a->n; i++) {
    if (a->m->version == 0) hc_enc_uint(e, 0); /* flags: no patch */
    hc_enc_uint(e, a->proofs[i].signer);
    hc_enc_raw(e, a->proofs[i].signature, HC_SIGNATURE_BYTES);
    if (a->m->version != 0) hc_enc_uint(e, 0); /* patch length */
  }
  hc_enc_uint(e, 0); /* no patch nodes */
  return HC_OK;
}

int hc_manifest_assemble(const hc_manifest *m, const hc_manifest_proof *proofs, size_t n,
                         uint8_t *out, size_t cap, size_t *len) {
  bool seen[HC_MAX_SIGNERS] = {false};
  if (n > HC_MAX_SIGNERS) return HC_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++) {
    if (proofs[i].signer >= m->nsigners || seen[proofs[i].signer]) return HC_ERR_INVALID_ARG;
    seen[proofs[i].signer] = true;
  }
  assembly a = {m, proofs, n};
  return hc_encode_into(enc_assembly, &a, out, cap, len);
}

/* Does a lone signature (no container) sign this core? compat, or a v0 single signer. */
static bool raw_signature(const hc_manifest *m, bool compat) {
  return compat || (m->version == 0 && !m->allow_patch && m->nsigners == 1);
}

int hc_manifest_sign(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                     const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length, uint64_t fork,
                     const uint8_t secret_key[HC_SECRET_KEY_BYTES], uint8_t *sig, size_t *siglen) {
  bool compat = hc_manifest_is_compat(m, key);
  hc_manifest_proof p;
  size_t s;
  if (compat) {
    uint8_t pk[HC_KEY_BYTES], msg[112];
    hc_crypto_sk_to_pk(pk, secret_key);
    if (memcmp(pk, key, HC_KEY_BYTES) != 0) return HC_ERR_NOT_WRITABLE;
    size_t n = signable(msg, NULL, tree_hash, length, fork);
    hc_crypto_sign(sig, msg, n, secret_key);
    *siglen = HC_SIGNATURE_BYTES;
    return HC_OK;
  }
  int rc = hc_manifest_partial(m, key, tree_hash, length, fork, secret_key, &s, p.signature);
  if (rc) return rc;
  if (raw_signature(m, false)) {
    memcpy(sig, p.signature, HC_SIGNATURE_BYTES);
    *siglen = HC_SIGNATURE_BYTES;
    return HC_OK;
  }
  /* one key pair alone can only sign when the quorum is 1 (and a prologue-only manifest has
   * no signers at all) */
  if (m->quorum > 1) return HC_ERR_NOT_WRITABLE;
  p.signer = (uint32_t)s;
  return hc_manifest_assemble(m, &p, 1, sig, 128, siglen);
}

/* Decodes a multisig container (v1: signer, sig, patch length; v0: flags, signer, sig,
 * [patch {start, length, array(uint)}]) followed by array(node), the patch nodes (*pnodes,
 * allocated when there are any; free it). */
static int decode_container(const hc_manifest *m, const uint8_t *sig, size_t siglen,
                            hc_manifest_proof *proofs, uint64_t *patches, size_t *nproofs,
                            hc_node **pnodes, size_t *npnodes) {
  *pnodes = NULL;
  *npnodes = 0;
  hc_dec d;
  hc_dec_init(&d, sig, siglen);
  uint64_t n = hc_dec_uint(&d);
  if (d.err || n > HC_MAX_SIGNERS) return HC_ERR_BAD_SIGNATURE;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t flags = m->version == 0 ? hc_dec_uint(&d) : 0;
    uint64_t signer = hc_dec_uint(&d);
    const uint8_t *s = hc_dec_raw(&d, HC_SIGNATURE_BYTES);
    uint64_t patch = 0;
    if (m->version != 0) {
      patch = hc_dec_uint(&d);
    } else if (flags & 1) {
      hc_dec_uint(&d); /* start */
      patch = hc_dec_uint(&d);
      uint64_t refs = hc_dec_uint(&d);
      for (uint64_t r = 0; r < refs && !d.err; r++) hc_dec_uint(&d);
    }
    if (d.err) return HC_ERR_BAD_SIGNATURE;
    proofs[i].signer = signer > UINT32_MAX ? UINT32_MAX : (uint32_t)signer;
    memcpy(proofs[i].signature, s, HC_SIGNATURE_BYTES);
    patches[i] = patch;
  }
  uint64_t nodes = hc_dec_uint(&d);
  if (d.err || nodes > siglen / 34) return HC_ERR_BAD_SIGNATURE; /* a node takes >= 34 bytes */
  hc_node *pn = nodes ? malloc((size_t)nodes * sizeof *pn) : NULL;
  if (nodes && !pn) return HC_ERR_NOMEM;
  for (uint64_t i = 0; i < nodes && !d.err; i++) {
    pn[i].index = hc_dec_uint(&d);
    pn[i].size = hc_dec_uint(&d);
    hc_dec_fixed(&d, pn[i].hash, HC_HASH_BYTES);
  }
  if (d.err) {
    free(pn);
    return HC_ERR_BAD_SIGNATURE;
  }
  *nproofs = (size_t)n;
  *pnodes = pn;
  *npnodes = (size_t)nodes;
  return HC_OK;
}

/* Both entry points: `roots` (may be NULL) is the tree being verified, needed only to check
 * patched proofs. */
static int verify_sig(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                      const uint8_t tree_hash[HC_HASH_BYTES], const hc_node *roots, size_t nroots,
                      uint64_t length, uint64_t fork, const uint8_t *sig, size_t siglen) {
  uint8_t msg[112];
  bool compat = hc_manifest_is_compat(m, key);
  if (!compat && m->version >= 1 && m->has_prologue && length <= m->prologue_length) {
    return length == m->prologue_length && memcmp(tree_hash, m->prologue_hash, HC_HASH_BYTES) == 0
               ? HC_OK
               : HC_ERR_BAD_SIGNATURE;
  }
  if (!sig) return HC_ERR_BAD_SIGNATURE;
  if (raw_signature(m, compat)) {
    if (siglen != HC_SIGNATURE_BYTES) return HC_ERR_BAD_SIGNATURE;
    size_t n = signable(msg, compat ? NULL : signer_ctx(m, key, 0), tree_hash, length, fork);
    return hc_crypto_verify(sig, msg, n, m->signers[0].public_key);
  }
  if (m->quorum == 0) return HC_ERR_BAD_SIGNATURE;
  hc_manifest_proof proofs[HC_MAX_SIGNERS];
  uint64_t patches[HC_MAX_SIGNERS];
  size_t nproofs, npatch;
  hc_node *patch;
  int rc = decode_container(m, sig, siglen, proofs, patches, &nproofs, &patch, &npatch);
  if (rc) return rc == HC_ERR_NOMEM ? rc : HC_ERR_BAD_SIGNATURE;
  rc = nproofs < m->quorum ? HC_ERR_BAD_SIGNATURE : HC_OK;
  bool tried[HC_MAX_SIGNERS] = {false};
  for (size_t i = 0; i < m->quorum && !rc; i++) {
    uint32_t s = proofs[i].signer;
    if (s >= m->nsigners || tried[s]) {
      rc = HC_ERR_BAD_SIGNATURE;
      break;
    }
    tried[s] = true;
    /* a patched proof signs a longer tree, of which ours is a prefix: the patch nodes extend
     * our roots to it (the reference ignores the patch when the manifest does not allow it) */
    const uint8_t *h = tree_hash;
    uint64_t l = length;
    uint8_t ph[HC_HASH_BYTES];
    if (patches[i] && m->allow_patch) {
      if (!roots || hc_merkle_patch_hash(roots, nroots, length, patch, npatch, patches[i], ph)) {
        rc = HC_ERR_BAD_SIGNATURE;
        break;
      }
      h = ph;
      l = length + patches[i];
    }
    size_t n = signable(msg, signer_ctx(m, key, s), h, l, fork);
    if (hc_crypto_verify(proofs[i].signature, msg, n, m->signers[s].public_key) != HC_OK)
      rc = HC_ERR_BAD_SIGNATURE;
  }
  free(patch);
  return rc;
}

int hc_manifest_verify(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                       const uint8_t tree_hash[HC_HASH_BYTES], uint64_t length, uint64_t fork,
                       const uint8_t *sig, size_t siglen) {
  return verify_sig(m, key, tree_hash, NULL, 0, length, fork, sig, siglen);
}

int hc_manifest_verify_tree(const hc_manifest *m, const uint8_t key[HC_KEY_BYTES],
                            const hc_node *roots, size_t nroots, uint64_t length, uint64_t fork,
                            const uint8_t *sig, size_t siglen) {
  uint8_t hash[HC_HASH_BYTES];
  hc_crypto_tree(hash, roots, nroots);
  return verify_sig(m, key, hash, roots, nroots, length, fork, sig, siglen);
}

int hc_manifest_skip(hc_dec *d) {
  hc_manifest m;
  return hc_manifest_decode(d, &m);
}
