/* Manifests and non-compat keys: compat:false creation (vector key and signature), custom
 * manifests (namespaces, quorum, prologue, version 0), multisig partials + assembly +
 * hc_core_append_signed, bad signatures (short of quorum, repeated or out-of-range signer,
 * wrong fork), manifests that do not hash to the key (open and proofs), clones adopting the
 * manifest from a proof. */
#include "crypto.h"
#include "manifest.h"
#include "test_util.h"

#define VEC_MANIFEST                                                                           \
  "0100000101004144eea531e483d54e0c14f4ca68e0644f355343ff6fcb0f005200e12cd747cb8a88e3dd7409f1" \
  "95fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define VEC_KEY "d8c3a0597903b28d751c6e0b7107775e388ec5a3cf669bdd1e7ec41b8b8f6e72"
#define VEC_SIG                                                                                \
  "0100ffc0d71651d8c0c24962a662c90f411f371945e3514669899d3189b832a1bd960415ee04d8ccb4c4159506" \
  "ad230d223f33ca3dce6aa6d16d27e9fbd47efa25050000"

typedef struct pair {
  uint8_t seed[32], pk[32], sk[64];
} pair;

static void make_pair(pair *p, uint8_t fill) {
  memset(p->seed, fill, 32);
  hc_crypto_seed_keypair(p->pk, p->sk, p->seed);
}

static hc_core_opts opts0(void) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  return o;
}

static hc_core *open_mem(hc_storage_factory **f, const hc_core_opts *o, int want) {
  hc_core *c = NULL;
  CHECK_OK(hc_storage_memory_factory_new(f));
  CHECK_RC(hc_core_open(&c, *f, o), want);
  return c;
}

static const hc_buf ABC[3] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1},
                              {(const uint8_t *)"c", 1}};

/* compat:false with the default signer manifest: the vector key and signature. */
static void test_non_compat_vector(void) {
  pair p;
  make_pair(&p, 1);
  hc_core_opts o = opts0();
  o.seed = p.seed;
  o.non_compat = true;
  const char *dir = test_tmpdir("manifest-noncompat");
  char path[4096];
  snprintf(path, sizeof path, "%s", dir);
  hc_core *c;
  CHECK_OK(hc_core_open_dir(&c, path, &o));
  CHECK_HEX(hc_core_key(c), VEC_KEY);
  CHECK_HEX(hc_core_discovery_key(c),
            "fb892b1c77fdcb05dcbd234607208b7036e00a13e7f2cc0bbaa463924e57865a");
  size_t ml;
  const uint8_t *man = hc_core_manifest(c, &ml);
  CHECK_EQ(ml, strlen(VEC_MANIFEST) / 2);
  CHECK_HEX(man, VEC_MANIFEST);
  CHECK(hc_core_writable(c));
  CHECK_OK(hc_core_append(c, ABC, 3, NULL, NULL));
  size_t sl;
  const uint8_t *sig = hc_core_signature(c, &sl);
  CHECK_EQ(sl, 68);
  CHECK_HEX(sig, VEC_SIG);
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);

  /* reopen (no options): still non-compat, writable, appends verify */
  hc_core_opts ro = opts0();
  CHECK_OK(hc_core_open_dir(&c, path, &ro));
  CHECK_HEX(hc_core_key(c), VEC_KEY);
  hc_buf d = {(const uint8_t *)"d", 1};
  CHECK_OK(hc_core_append(c, &d, 1, NULL, NULL));
  CHECK_EQ(hc_core_length(c), 4);
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);

  /* the matching manifest is accepted on open, another one is a key mismatch */
  uint8_t mbuf[200];
  CHECK_OK(hc_hex_decode(mbuf, ml, VEC_MANIFEST));
  ro.manifest = mbuf;
  ro.manifest_len = ml;
  CHECK_OK(hc_core_open_dir(&c, path, &ro));
  hc_core_close(c);
  mbuf[ml - 1] ^= 1;
  CHECK_RC(hc_core_open_dir(&c, path, &ro), HC_ERR_KEY_MISMATCH);
  ro.manifest_len = ml - 3; /* truncated: malformed */
  CHECK_RC(hc_core_open_dir(&c, path, &ro), HC_ERR_INVALID_ARG);

  /* hc_manifest_build of the default signer manifest gives the same bytes and key */
  hc_manifest_params mp;
  mp = (hc_manifest_params)HC_MANIFEST_PARAMS_INIT;
  mp.nsigners = 1;
  mp.public_keys = p.pk;
  size_t bl;
  CHECK_OK(hc_manifest_build(&mp, NULL, 0, &bl));
  CHECK_EQ(bl, ml);
  CHECK_RC(hc_manifest_build(&mp, mbuf, 10, &bl), HC_ERR_NOBUF);
  CHECK_OK(hc_manifest_build(&mp, mbuf, sizeof mbuf, &bl));
  CHECK_HEX(mbuf, VEC_MANIFEST);
  uint8_t key[32];
  CHECK_OK(hc_manifest_key(mbuf, bl, key));
  CHECK_HEX(key, VEC_KEY);
  CHECK_RC(hc_manifest_key(mbuf, bl - 1, key), HC_ERR_DECODE);

  /* a key given at creation must be the manifest hash */
  hc_storage_factory *f;
  hc_core_opts bad = opts0();
  bad.seed = p.seed;
  bad.non_compat = true;
  bad.key = p.pk;
  open_mem(&f, &bad, HC_ERR_KEY_MISMATCH);
  hc_storage_factory_free(f);
}

/* A 2-of-3 multisig core (one signer in a custom namespace). */
static size_t build_multisig(uint8_t *out, size_t cap, pair *ps, size_t n, uint32_t quorum,
                             bool v0) {
  uint8_t pks[3 * 32], nss[3 * 32];
  for (size_t i = 0; i < n; i++) {
    memcpy(pks + 32 * i, ps[i].pk, 32);
    memcpy(nss + 32 * i, HC_NS_DEFAULT, 32);
  }
  memset(nss + 32, 0x42, 32); /* signer 1: a custom namespace */
  hc_manifest_params mp;
  mp = (hc_manifest_params)HC_MANIFEST_PARAMS_INIT;
  mp.version0 = v0;
  mp.nsigners = n;
  mp.public_keys = pks;
  mp.namespaces = nss;
  mp.has_quorum = quorum > 0;
  mp.quorum = quorum;
  size_t len;
  CHECK_OK(hc_manifest_build(&mp, out, cap, &len));
  return len;
}

static void sign2(const uint8_t *man, size_t ml, const pair *a, const pair *b,
                  const uint8_t hash[32], uint64_t len, uint64_t fork, hc_multisig_partial *out) {
  CHECK_OK(hc_multisig_sign(man, ml, a->sk, hash, len, fork, &out[0]));
  CHECK_OK(hc_multisig_sign(man, ml, b->sk, hash, len, fork, &out[1]));
}

static void test_multisig(bool v0) {
  pair ps[3], other;
  for (int i = 0; i < 3; i++) make_pair(&ps[i], (uint8_t)(0x10 + i));
  make_pair(&other, 0x77);
  uint8_t man[512];
  size_t ml = build_multisig(man, sizeof man, ps, 3, 0, v0); /* default quorum: 2 */
  hc_manifest dm;
  hc_dec d;
  hc_dec_init(&d, man, ml);
  CHECK_OK(hc_manifest_decode(&d, &dm));
  CHECK_EQ(dm.quorum, 2);
  CHECK_EQ(dm.version, v0 ? 0 : 1);
  uint8_t key[32];
  CHECK_OK(hc_manifest_key(man, ml, key));

  hc_core_opts o = opts0();
  o.manifest = man;
  o.manifest_len = ml;
  hc_storage_factory *f;
  hc_core *c = open_mem(&f, &o, HC_OK);
  CHECK_MEM(hc_core_key(c), key, 32);
  CHECK(!hc_core_writable(c));
  CHECK_RC(hc_core_append(c, ABC, 3, NULL, NULL), HC_ERR_NOT_WRITABLE);

  uint8_t h[32];
  uint64_t len, fork;
  CHECK_OK(hc_core_batch_hash(c, ABC, 3, h, &len, &fork));
  CHECK_EQ(len, 3);
  CHECK_EQ(fork, 0);
  CHECK_EQ(hc_core_length(c), 0); /* nothing stored */

  hc_multisig_partial parts[3];
  sign2(man, ml, &ps[2], &ps[0], h, len, fork, parts);
  CHECK_EQ(parts[0].signer, 2);
  CHECK_EQ(parts[1].signer, 0);
  hc_multisig_partial np;
  CHECK_RC(hc_multisig_sign(man, ml, other.sk, h, len, fork, &np), HC_ERR_NOT_FOUND);

  uint8_t sig[512];
  size_t sl;
  /* short of the quorum: nothing stored */
  CHECK_OK(hc_multisig_assemble(man, ml, parts, 1, sig, sizeof sig, &sl));
  CHECK_RC(hc_core_append_signed(c, ABC, 3, sig, sl, NULL, NULL), HC_ERR_BAD_SIGNATURE);
  CHECK_EQ(hc_core_length(c), 0);
  CHECK_EQ(hc_core_byte_length(c), 0);
  /* no signature at all */
  CHECK_RC(hc_core_append_signed(c, ABC, 3, NULL, 0, NULL, NULL), HC_ERR_BAD_SIGNATURE);
  /* assemble refuses repeated and out-of-range signers */
  hc_multisig_partial dup[2] = {parts[0], parts[0]};
  CHECK_RC(hc_multisig_assemble(man, ml, dup, 2, sig, sizeof sig, &sl), HC_ERR_INVALID_ARG);
  hc_multisig_partial oor[2] = {parts[0], parts[1]};
  oor[1].signer = 3;
  CHECK_RC(hc_multisig_assemble(man, ml, oor, 2, sig, sizeof sig, &sl), HC_ERR_INVALID_ARG);
  /* ... and hand-made containers with them do not verify */
  hc_manifest_proof hp[2] = {{2, {0}}, {2, {0}}};
  memcpy(hp[0].signature, parts[0].signature, 64);
  memcpy(hp[1].signature, parts[0].signature, 64);
  hc_manifest fake = dm;
  fake.nsigners = HC_MAX_SIGNERS; /* lets hc_manifest_assemble encode anything */
  hc_manifest_proof one = hp[0];
  size_t single_len;
  CHECK_OK(hc_manifest_assemble(&fake, &one, 1, sig, sizeof sig, &single_len));
  /* duplicate: the same proof twice */
  {
    hc_enc e;
    hc_enc_init(&e, sig, sizeof sig);
    hc_enc_uint(&e, 2);
    for (int i = 0; i < 2; i++) {
      if (v0) hc_enc_uint(&e, 0);
      hc_enc_uint(&e, hp[i].signer);
      hc_enc_raw(&e, hp[i].signature, 64);
      if (!v0) hc_enc_uint(&e, 0);
    }
    hc_enc_uint(&e, 0);
    CHECK_RC(hc_core_append_signed(c, ABC, 3, sig, e.pos, NULL, NULL), HC_ERR_BAD_SIGNATURE);
    CHECK_RC(hc_multisig_verify(key, man, ml, h, len, fork, sig, e.pos), HC_ERR_BAD_SIGNATURE);
  }
  /* out of range: signer 7 */
  {
    hc_manifest_proof pr[2] = {hp[0], hp[0]};
    pr[1].signer = 7;
    CHECK_OK(hc_manifest_assemble(&fake, pr, 2, sig, sizeof sig, &sl));
    CHECK_RC(hc_core_append_signed(c, ABC, 3, sig, sl, NULL, NULL), HC_ERR_BAD_SIGNATURE);
  }
  /* a valid container for another fork / length does not verify */
  sign2(man, ml, &ps[2], &ps[0], h, len, fork + 1, parts);
  CHECK_OK(hc_multisig_assemble(man, ml, parts, 2, sig, sizeof sig, &sl));
  CHECK_RC(hc_core_append_signed(c, ABC, 3, sig, sl, NULL, NULL), HC_ERR_BAD_SIGNATURE);
  CHECK_RC(hc_core_append_signed(c, ABC, 2, sig, sl, NULL, NULL), HC_ERR_BAD_SIGNATURE);
  CHECK_EQ(hc_core_length(c), 0);

  /* the real thing */
  sign2(man, ml, &ps[2], &ps[0], h, len, fork, parts);
  size_t need;
  CHECK_OK(hc_multisig_assemble(man, ml, parts, 2, NULL, 0, &need));
  CHECK_RC(hc_multisig_assemble(man, ml, parts, 2, sig, need - 1, &sl), HC_ERR_NOBUF);
  CHECK_OK(hc_multisig_assemble(man, ml, parts, 2, sig, sizeof sig, &sl));
  CHECK_EQ(sl, need);
  CHECK_EQ(sl, 1 + 2 * 66 + 1); /* count, 2 x (signer, sig, patch | flags, signer, sig), nodes */
  CHECK_OK(hc_multisig_verify(key, man, ml, h, len, fork, sig, sl));
  uint8_t wrongkey[32];
  memcpy(wrongkey, key, 32);
  wrongkey[0] ^= 1;
  CHECK_RC(hc_multisig_verify(wrongkey, man, ml, h, len, fork, sig, sl), HC_ERR_KEY_MISMATCH);
  uint64_t nl, nb;
  CHECK_OK(hc_core_append_signed(c, ABC, 3, sig, sl, &nl, &nb));
  CHECK_EQ(nl, 3);
  CHECK_EQ(nb, 3);
  size_t csl;
  const uint8_t *cs = hc_core_signature(c, &csl);
  CHECK_EQ(csl, sl);
  CHECK_MEM(cs, sig, sl);
  CHECK_OK(hc_core_verify(c, NULL));
  uint8_t th[32];
  CHECK_OK(hc_core_tree_hash(c, 3, th));
  CHECK_MEM(th, h, 32);

  /* more signers than the quorum: extra proofs are carried along */
  hc_buf dd = {(const uint8_t *)"dd", 2};
  CHECK_OK(hc_core_batch_hash(c, &dd, 1, h, &len, &fork));
  CHECK_EQ(len, 4);
  hc_multisig_partial three[3];
  for (int i = 0; i < 3; i++) CHECK_OK(hc_multisig_sign(man, ml, ps[i].sk, h, len, fork, &three[i]));
  CHECK_OK(hc_multisig_assemble(man, ml, three, 3, sig, sizeof sig, &sl));
  CHECK_OK(hc_core_append_signed(c, &dd, 1, sig, sl, NULL, NULL));
  CHECK_EQ(hc_core_length(c), 4);
  CHECK_OK(hc_core_verify(c, NULL));

  /* a clone by key alone adopts the manifest from a proof that carries it */
  hc_proof_request rq;
  memset(&rq, 0, sizeof rq);
  rq.has_block = true;
  rq.block_index = 1;
  rq.has_upgrade = true;
  rq.upgrade_start = 0;
  rq.upgrade_length = 4;
  uint8_t *pf;
  size_t pl;
  CHECK_OK(hc_core_proof(c, &rq, 1, &pf, &pl)); /* no manifest asked */
  hc_core_opts co = opts0();
  co.key = key;
  hc_storage_factory *f2;
  hc_core *clone = open_mem(&f2, &co, HC_OK);
  CHECK(hc_core_manifest(clone, NULL) == NULL);
  CHECK(hc_core_apply_proof(clone, pf, pl) != HC_OK); /* the compat guess does not verify */
  CHECK_EQ(hc_core_length(clone), 0);
  hc_free(pf);
  rq.manifest = true;
  CHECK_OK(hc_core_proof(c, &rq, 1, &pf, &pl));
  CHECK_OK(hc_core_apply_proof(clone, pf, pl));
  hc_free(pf);
  CHECK_EQ(hc_core_length(clone), 4);
  size_t cml;
  const uint8_t *cm = hc_core_manifest(clone, &cml);
  CHECK(cm != NULL);
  CHECK_EQ(cml, ml);
  CHECK_MEM(cm, man, ml);
  uint8_t *blk;
  size_t bl;
  CHECK_OK(hc_core_get_alloc(clone, 1, &blk, &bl));
  CHECK(bl == 1 && blk[0] == 'b');
  hc_free(blk);
  hc_core_close(clone);
  hc_storage_factory_free(f2);

  /* a proof whose manifest is not the key's: rejected, nothing stored */
  {
    pair q[3];
    for (int i = 0; i < 3; i++) make_pair(&q[i], (uint8_t)(0x30 + i));
    uint8_t man2[512];
    size_t ml2 = build_multisig(man2, sizeof man2, q, 3, 2, v0);
    hc_core_opts o2 = opts0();
    o2.manifest = man2;
    o2.manifest_len = ml2;
    hc_storage_factory *f3, *f4;
    hc_core *c2 = open_mem(&f3, &o2, HC_OK);
    CHECK_OK(hc_core_batch_hash(c2, ABC, 3, h, &len, &fork));
    sign2(man2, ml2, &q[0], &q[1], h, len, fork, parts);
    CHECK_OK(hc_multisig_assemble(man2, ml2, parts, 2, sig, sizeof sig, &sl));
    CHECK_OK(hc_core_append_signed(c2, ABC, 3, sig, sl, NULL, NULL));
    rq.block_index = 0;
    rq.upgrade_length = 3;
    CHECK_OK(hc_core_proof(c2, &rq, 1, &pf, &pl));
    clone = open_mem(&f4, &co, HC_OK); /* expects `key`, gets man2 */
    CHECK_RC(hc_core_verify_proof(clone, pf, pl), HC_ERR_BAD_MANIFEST);
    CHECK_RC(hc_core_apply_proof(clone, pf, pl), HC_ERR_BAD_MANIFEST);
    CHECK_EQ(hc_core_length(clone), 0);
    CHECK(hc_core_manifest(clone, NULL) == NULL);
    hc_free(pf);
    hc_core_close(clone);
    hc_core_close(c2);
    hc_storage_factory_free(f3);
    hc_storage_factory_free(f4);
  }

  /* truncate with an external multisig signature of (tree hash at 2, 2, fork 1) */
  CHECK_RC(hc_core_truncate(c, 2), HC_ERR_NOT_WRITABLE);
  CHECK_OK(hc_core_tree_hash(c, 2, h));
  sign2(man, ml, &ps[0], &ps[1], h, 2, 1, parts);
  CHECK_OK(hc_multisig_assemble(man, ml, parts, 1, sig, sizeof sig, &sl));
  CHECK_RC(hc_core_truncate_signed(c, 2, 1, sig, sl), HC_ERR_BAD_SIGNATURE); /* short */
  CHECK_OK(hc_multisig_assemble(man, ml, parts, 2, sig, sizeof sig, &sl));
  CHECK_RC(hc_core_truncate_signed(c, 2, 0, sig, sl), HC_ERR_BAD_SIGNATURE); /* other fork */
  CHECK_EQ(hc_core_length(c), 4);
  CHECK_EQ(hc_core_fork(c), 0);
  CHECK_OK(hc_core_truncate_signed(c, 2, 1, sig, sl));
  CHECK_EQ(hc_core_length(c), 2);
  CHECK_EQ(hc_core_fork(c), 1);
  CHECK_OK(hc_core_verify(c, NULL));

  /* the core opened with one signer's key pair still cannot sign alone (quorum 2) */
  hc_core_close(c);
  hc_storage_factory_free(f);
  o.seed = ps[1].seed;
  c = open_mem(&f, &o, HC_OK);
  CHECK(!hc_core_writable(c)); /* a signer, but quorum 2 */
  CHECK_RC(hc_core_append(c, ABC, 3, NULL, NULL), HC_ERR_NOT_WRITABLE);
  CHECK_EQ(hc_core_length(c), 0);
  hc_core_close(c);
  hc_storage_factory_free(f);

  /* quorum 1 of 3: a signer alone appends (container naming its index) */
  ml = build_multisig(man, sizeof man, ps, 3, 1, v0);
  o.manifest_len = ml;
  o.seed = ps[1].seed;
  c = open_mem(&f, &o, HC_OK);
  CHECK(hc_core_writable(c));
  CHECK_OK(hc_core_append(c, ABC, 3, NULL, NULL));
  cs = hc_core_signature(c, &csl);
  CHECK_EQ(csl, 68);
  CHECK_EQ(cs[v0 ? 2 : 1], 1); /* signer index 1 */
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);
  hc_storage_factory_free(f);
}

/* A version 0 single signer signs with the bare signature (namespace as context). */
static void test_v0_single(void) {
  pair p;
  make_pair(&p, 5);
  uint8_t man[200];
  size_t ml = build_multisig(man, sizeof man, &p, 1, 1, true);
  CHECK_EQ(man[0], 0);
  CHECK_EQ(man[2], 1); /* type 1: one signer */
  hc_core_opts o = opts0();
  o.manifest = man;
  o.manifest_len = ml;
  o.seed = p.seed;
  hc_storage_factory *f;
  hc_core *c = open_mem(&f, &o, HC_OK);
  CHECK_OK(hc_core_append(c, ABC, 3, NULL, NULL));
  size_t sl;
  const uint8_t *sig = hc_core_signature(c, &sl);
  CHECK_EQ(sl, 64);
  CHECK_OK(hc_core_verify(c, NULL));
  /* the same through the multisig API */
  uint8_t h[32], out[128];
  uint64_t len, fork;
  hc_buf d = {(const uint8_t *)"d", 1};
  CHECK_OK(hc_core_batch_hash(c, &d, 1, h, &len, &fork));
  hc_multisig_partial part;
  CHECK_OK(hc_multisig_sign(man, ml, p.sk, h, len, fork, &part));
  CHECK_OK(hc_multisig_assemble(man, ml, &part, 1, out, sizeof out, &sl));
  CHECK_EQ(sl, 64);
  CHECK_OK(hc_core_append_signed(c, &d, 1, out, sl, NULL, NULL));
  CHECK_OK(hc_core_verify(c, NULL));
  (void)sig;
  hc_core_close(c);
  hc_storage_factory_free(f);
}

/* Prologue: the first `length` blocks are fixed by their tree hash, no signature needed. */
static void test_prologue(void) {
  pair p;
  make_pair(&p, 9);
  hc_buf pro[2] = {{(const uint8_t *)"p1", 2}, {(const uint8_t *)"p2", 2}};
  /* the prologue hash from a scratch core */
  hc_core_opts so = opts0();
  hc_storage_factory *sf;
  hc_core *scratch = open_mem(&sf, &so, HC_OK);
  hc_manifest_params mp;
  mp = (hc_manifest_params)HC_MANIFEST_PARAMS_INIT;
  uint64_t len;
  CHECK_OK(hc_core_batch_hash(scratch, pro, 2, mp.prologue_hash, &len, NULL));
  CHECK_EQ(len, 2);
  hc_core_close(scratch);
  hc_storage_factory_free(sf);
  mp.has_prologue = true;
  mp.prologue_length = 2;
  mp.nsigners = 1;
  mp.public_keys = p.pk;
  uint8_t man[200];
  size_t ml;
  CHECK_OK(hc_manifest_build(&mp, man, sizeof man, &ml));
  CHECK_EQ(man[1], 2); /* flags: prologue */

  hc_core_opts o = opts0();
  o.manifest = man;
  o.manifest_len = ml;
  o.seed = p.seed;
  const char *dir = test_tmpdir("manifest-prologue");
  char path[4096];
  snprintf(path, sizeof path, "%s", dir);
  hc_core *c;
  CHECK_OK(hc_core_open_dir(&c, path, &o));
  /* shorter than the prologue: refused; other blocks: do not match the prologue hash */
  CHECK(hc_core_append(c, pro, 1, NULL, NULL) != HC_OK);
  hc_buf wrong[2] = {{(const uint8_t *)"p1", 2}, {(const uint8_t *)"pX", 2}};
  CHECK_RC(hc_core_append_signed(c, wrong, 2, NULL, 0, NULL, NULL), HC_ERR_BAD_SIGNATURE);
  CHECK_EQ(hc_core_length(c), 0);
  CHECK_OK(hc_core_append_signed(c, pro, 2, NULL, 0, NULL, NULL));
  CHECK_EQ(hc_core_length(c), 2);
  CHECK_OK(hc_core_verify(c, NULL));
  hc_buf x = {(const uint8_t *)"x", 1};
  CHECK_OK(hc_core_append(c, &x, 1, NULL, NULL)); /* signed by the signer from here */
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);
  hc_core_opts ro = opts0();
  CHECK_OK(hc_core_open_dir(&c, path, &ro));
  CHECK_EQ(hc_core_length(c), 3);
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);
}

/* Manifest encoding edge cases: decode rejects unknown versions / types / hashes. */
static void test_decode_bad(void) {
  static const uint8_t bad[][4] = {{2, 0, 0, 0}, {1, 0, 1, 0}, {0, 0, 3, 0}, {0, 1, 1, 0}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t key[32];
    CHECK(hc_manifest_key(bad[i], 4, key) != HC_OK);
    hc_core_opts o = opts0();
    o.manifest = bad[i];
    o.manifest_len = 4;
    hc_storage_factory *f;
    open_mem(&f, &o, HC_ERR_INVALID_ARG);
    hc_storage_factory_free(f);
  }
  /* too many signers */
  uint8_t many[40 * 32];
  memset(many, 7, sizeof many);
  hc_manifest_params mp;
  mp = (hc_manifest_params)HC_MANIFEST_PARAMS_INIT;
  mp.nsigners = 40;
  mp.public_keys = many;
  size_t l;
  CHECK_RC(hc_manifest_build(&mp, NULL, 0, &l), HC_ERR_INVALID_ARG);
}

/* Patched proofs through the hash-only check: rejected with allowPatch (checking one needs the
 * tree's roots: hc_manifest_verify_tree, exercised against JS-made patches in
 * interop-test-manifest-wire), the patch length ignored without it (as the reference). */
static void test_patch(void) {
  pair p;
  make_pair(&p, 0x61);
  for (int allow = 0; allow < 2; allow++) {
    hc_manifest m;
    hc_manifest_default(&m, p.pk);
    m.allow_patch = allow != 0;
    uint8_t key[32], th[32], sig[128];
    CHECK_OK(hc_manifest_hash(&m, key));
    memset(th, 0x44, 32);
    size_t s, sl;
    hc_manifest_proof pr;
    pr.signer = 0;
    CHECK_OK(hc_manifest_partial(&m, key, th, 5, 0, p.sk, &s, pr.signature));
    CHECK_OK(hc_manifest_assemble(&m, &pr, 1, sig, sizeof sig, &sl));
    CHECK_EQ(sl, 68);
    CHECK_OK(hc_manifest_verify(&m, key, th, 5, 0, sig, sl));
    sig[66] = 2; /* patch length 2 */
    CHECK_RC(hc_manifest_verify(&m, key, th, 5, 0, sig, sl), allow ? HC_ERR_BAD_SIGNATURE : HC_OK);
    CHECK_RC(hc_manifest_verify(&m, key, th, 5, 0, sig, sl - 1), HC_ERR_BAD_SIGNATURE); /* truncated */
  }
}

/* hypercore 11 manifests v2/v3: linked keys and user data, built, used, stored, reopened. */
static void test_v2_linked_user_data(void) {
  pair p;
  make_pair(&p, 0x42);
  uint8_t linked[3 * 32], ud[300];
  memset(linked, 0xab, sizeof linked);
  for (size_t i = 0; i < sizeof ud; i++) ud[i] = (uint8_t)i;
  hc_manifest_params mp;
  mp = (hc_manifest_params)HC_MANIFEST_PARAMS_INIT;
  mp.nsigners = 1;
  mp.public_keys = p.pk;
  mp.nlinked = 3;
  mp.linked = linked;
  mp.user_data = ud;
  mp.user_data_len = sizeof ud;
  uint8_t man[2048];
  size_t ml;
  CHECK_OK(hc_manifest_build(&mp, man, sizeof man, &ml));
  CHECK_EQ(man[0], 2);         /* version 2, chosen by the fields */
  CHECK_EQ(man[1], 4 | 8);     /* flags: linked, user data */
  hc_manifest m;
  hc_dec d;
  hc_dec_init(&d, man, ml);
  CHECK_OK(hc_manifest_decode(&d, &m));
  CHECK(d.p == d.end); /* all of it consumed */
  CHECK_EQ(m.nlinked, 3);
  CHECK_EQ(m.user_data_len, sizeof ud);
  CHECK(memcmp(m.user_data, ud, sizeof ud) == 0);
  uint8_t re[2048];
  hc_enc e;
  hc_enc_init(&e, re, sizeof re);
  hc_manifest_encode(&e, &m);
  CHECK_EQ(e.pos, ml);
  CHECK(memcmp(re, man, ml) == 0); /* byte-exact round trip: the key is its hash */
  uint8_t key[32];
  CHECK_OK(hc_manifest_key(man, ml, key));

  hc_storage_factory *f;
  hc_core_opts o = opts0();
  o.manifest = man;
  o.manifest_len = ml;
  o.seed = p.seed;
  hc_core *c = open_mem(&f, &o, HC_OK);
  CHECK_MEM(hc_core_key(c), key, 32);
  CHECK_OK(hc_core_append(c, ABC, 3, NULL, NULL));
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);
  hc_core_opts ro = opts0();
  CHECK_OK(hc_core_open(&c, f, &ro)); /* the header keeps the v2 manifest */
  size_t sl;
  const uint8_t *stored = hc_core_manifest(c, &sl);
  CHECK(stored && sl == ml && memcmp(stored, man, ml) == 0);
  CHECK_EQ(hc_core_length(c), 3);
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);
  hc_storage_factory_free(f);

  /* v3 with an empty linked list (the flag alone) decodes and re-encodes the same */
  man[0] = 3;
  hc_dec_init(&d, man, ml);
  CHECK_OK(hc_manifest_decode(&d, &m));
  CHECK_EQ(m.version, 3);
  m.nlinked = 0;
  hc_enc_init(&e, re, sizeof re);
  hc_manifest_encode(&e, &m);
  hc_dec_init(&d, re, e.pos);
  hc_manifest m2;
  CHECK_OK(hc_manifest_decode(&d, &m2));
  CHECK(m2.has_linked && m2.nlinked == 0 && m2.has_user_data);

  /* limits and bad input */
  man[0] = 4; /* unknown version */
  CHECK(hc_manifest_key(man, ml, key) != HC_OK);
  man[0] = 2;
  uint8_t big[64];
  hc_enc_init(&e, big, sizeof big);
  hc_enc_uint(&e, 2);
  hc_enc_uint(&e, 4); /* linked */
  hc_enc_uint(&e, 0);
  hc_enc_uint(&e, 0);
  hc_enc_uint(&e, 0);
  hc_enc_uint(&e, 100000); /* linked count */
  CHECK(hc_manifest_key(big, e.pos, key) != HC_OK);
  uint8_t many[33 * 32];
  memset(many, 1, sizeof many);
  mp.nlinked = 33;
  mp.linked = many;
  CHECK_RC(hc_manifest_build(&mp, NULL, 0, &ml), HC_ERR_INVALID_ARG);
  mp.nlinked = 1;
  mp.user_data_len = HC_MANIFEST_MAX_USER_DATA + 1;
  CHECK_RC(hc_manifest_build(&mp, NULL, 0, &ml), HC_ERR_INVALID_ARG);
  mp.user_data_len = 0;
  mp.version0 = true;
  CHECK_RC(hc_manifest_build(&mp, NULL, 0, &ml), HC_ERR_INVALID_ARG);
}

int main(void) {
  CHECK_OK(hc_crypto_init());
  test_non_compat_vector();
  test_multisig(false);
  test_multisig(true);
  test_v0_single();
  test_prologue();
  test_decode_bad();
  test_patch();
  test_v2_linked_user_data();
  printf("test_manifest: ok\n");
  return 0;
}
