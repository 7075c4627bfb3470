/* libFuzzer: multisig signatures with patches (allowPatch manifests, as Autobase views use),
 * checked against a tree's roots (hc_manifest_verify_tree -> hc_merkle_patch_hash). Each run
 * builds a valid 2-of-3 container for the tree of L blocks (input byte 0: L in 1..12): signer 1
 * signs the tree of L, signer 0 signed the tree of 13 and proves it with the upgrade nodes from
 * L to 13 (lib/multisig.js partialSignature). The rest of the input XORs bytes of it (2-byte
 * position + value each). Invariants: the untouched container verifies (and its patch alone
 * does not, against the hash-only check); any tampered one returns OK or BAD_SIGNATURE, never
 * crashes or leaks. */
#include "core_internal.h"
#include "crypto.h"
#include "fuzz_util.h"
#include "manifest.h"
#include "messages.h"

#define FULL 13

static void keypair(uint8_t fill, uint8_t pk[32], uint8_t sk[64]) {
  uint8_t seed[32];
  memset(seed, fill, 32);
  hc_crypto_seed_keypair(pk, sk, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || hc_crypto_init()) return 0;
  uint64_t L = 1 + data[0] % (FULL - 1);
  data++;
  size--;
  /* the tree (any core: the tree does not depend on the manifest) */
  hc_storage_factory *f;
  FUZZ_ASSERT(hc_storage_memory_factory_new(&f) == HC_OK);
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  hc_core *w;
  FUZZ_ASSERT(hc_core_open(&w, f, &o) == HC_OK);
  char txt[FULL][16];
  hc_buf b[FULL];
  for (int i = 0; i < FULL; i++) {
    b[i].len = (size_t)snprintf(txt[i], sizeof txt[i], "blk %d", i);
    b[i].data = (const uint8_t *)txt[i];
  }
  FUZZ_ASSERT(hc_core_append(w, b, FULL, NULL, NULL) == HC_OK);
  hc_node roots[HC_MAX_ROOTS];
  size_t nroots;
  FUZZ_ASSERT(hc_merkle_get_roots(&w->tree, L, roots, &nroots) == HC_OK);
  uint8_t hl[32], hf[32];
  FUZZ_ASSERT(hc_core_tree_hash(w, L, hl) == HC_OK && hc_core_tree_hash(w, FULL, hf) == HC_OK);
  hc_proof_request rq;
  memset(&rq, 0, sizeof rq);
  rq.has_upgrade = true;
  rq.upgrade_start = L;
  rq.upgrade_length = FULL - L;
  uint8_t *raw;
  size_t rl;
  FUZZ_ASSERT(hc_core_proof(w, &rq, 1, &raw, &rl) == HC_OK);
  hc_proof up;
  memset(&up, 0, sizeof up);
  FUZZ_ASSERT(hc_msg_data_decode(raw, rl, &up) == HC_OK);

  /* the manifest: 3 signers, quorum 2, allowPatch */
  hc_manifest m;
  memset(&m, 0, sizeof m);
  m.version = 1;
  m.allow_patch = true;
  m.quorum = 2;
  m.nsigners = 3;
  uint8_t sk[3][64];
  for (int i = 0; i < 3; i++) {
    keypair((uint8_t)(0x31 + i), m.signers[i].public_key, sk[i]);
    memcpy(m.signers[i].namespace_, HC_NS_DEFAULT, 32);
  }
  uint8_t key[32];
  FUZZ_ASSERT(hc_manifest_hash(&m, key) == HC_OK);
  size_t who;
  uint8_t s0[64], s1[64];
  FUZZ_ASSERT(hc_manifest_partial(&m, key, hf, FULL, 0, sk[0], &who, s0) == HC_OK && who == 0);
  FUZZ_ASSERT(hc_manifest_partial(&m, key, hl, L, 0, sk[1], &who, s1) == HC_OK && who == 1);
  /* multiSignature: array({signer, signature, patch}), array(node) */
  uint8_t sig[2 + 2 * 67 + 2 + 64 * 48];
  hc_enc e;
  hc_enc_init(&e, sig, sizeof sig);
  hc_enc_uint(&e, 2);
  hc_enc_uint(&e, 0);
  hc_enc_raw(&e, s0, 64);
  hc_enc_uint(&e, FULL - L);
  hc_enc_uint(&e, 1);
  hc_enc_raw(&e, s1, 64);
  hc_enc_uint(&e, 0);
  hc_enc_uint(&e, up.n_upgrade_nodes);
  for (size_t i = 0; i < up.n_upgrade_nodes; i++) {
    hc_enc_uint(&e, up.upgrade_nodes[i].index);
    hc_enc_uint(&e, up.upgrade_nodes[i].size);
    hc_enc_raw(&e, up.upgrade_nodes[i].hash, 32);
  }
  FUZZ_ASSERT(e.err == 0);
  size_t sl = e.pos;
  hc_proof_cleanup(&up);
  hc_free(raw);

  bool touched = false;
  while (size >= 3) {
    size_t pos = ((size_t)data[0] | (size_t)data[1] << 8) % sl;
    if (data[2]) touched = true;
    sig[pos] ^= data[2];
    data += 3;
    size -= 3;
  }
  int rc = hc_manifest_verify_tree(&m, key, roots, nroots, L, 0, sig, sl);
  FUZZ_ASSERT(rc == HC_OK || rc == HC_ERR_BAD_SIGNATURE);
  if (!touched) {
    FUZZ_ASSERT(rc == HC_OK);
    /* without the roots a patched proof cannot be checked */
    FUZZ_ASSERT(hc_manifest_verify(&m, key, hl, L, 0, sig, sl) == HC_ERR_BAD_SIGNATURE);
    /* and the patch is what makes it verify: as an unpatched proof it fails */
    m.allow_patch = false;
    FUZZ_ASSERT(hc_manifest_verify_tree(&m, key, roots, nroots, L, 0, sig, sl) == HC_ERR_BAD_SIGNATURE);
  }
  hc_core_close(w);
  hc_storage_factory_free(f);
  return 0;
}
