/* Merkle proofs (src/merkle_proof.c): generate on a full tree, verify on a tree holding a
 * prefix, commit the verified batch, tampered proofs, request errors, prologue, missingNodes.
 * The node-for-node comparison with the JS reference is tests/interop/test-merkle-proof.js. */
#include "crypto.h"
#include "flat_tree.h"
#include "merkle.h"
#include "test_util.h"

static uint8_t pk[32], sk[64];

typedef struct tree {
  hc_storage_factory *f;
  hc_storage *file;
  hc_merkle m;
} tree;

static void signable(uint8_t out[80], const uint8_t hash[32], uint64_t length, uint64_t fork) {
  memcpy(out, HC_NS_TREE, 32);
  memcpy(out + 32, hash, 32);
  for (int i = 0; i < 8; i++) out[64 + i] = (uint8_t)(length >> (8 * i));
  for (int i = 0; i < 8; i++) out[72 + i] = (uint8_t)(fork >> (8 * i));
}

static int calls;
static int verify_sig(void *ctx, const hc_merkle_batch *b, const uint8_t *sig, size_t len) {
  (void)ctx;
  calls++;
  if (len != 64) return HC_ERR_BAD_SIGNATURE;
  uint8_t h[32], msg[80];
  hc_merkle_batch_hash(b, h);
  signable(msg, h, b->length, b->fork);
  return hc_crypto_verify(sig, msg, sizeof msg, pk);
}

static size_t block_of(uint64_t i, char *buf) { return (size_t)sprintf(buf, "block-%" PRIu64, i); }

static void tree_open(tree *t) {
  CHECK_OK(hc_storage_memory_factory_new(&t->f));
  CHECK_OK(t->f->open(t->f, "tree", HC_STORAGE_CREATE, &t->file));
  CHECK_OK(hc_merkle_init(&t->m, t->file));
}

/* Appends blocks [m.length, len) and signs. */
static void tree_grow(tree *t, uint64_t len) {
  hc_merkle_batch b;
  CHECK_OK(hc_merkle_batch_init(&b, &t->m));
  for (uint64_t i = t->m.length; i < len; i++) {
    char buf[32];
    size_t n = block_of(i, buf);
    CHECK_OK(hc_merkle_batch_append(&b, (const uint8_t *)buf, n));
  }
  uint8_t h[32], msg[80], sig[64];
  hc_merkle_batch_hash(&b, h);
  signable(msg, h, b.length, b.fork);
  hc_crypto_sign(sig, msg, sizeof msg, sk);
  CHECK_OK(hc_merkle_batch_set_signature(&b, sig, 64));
  CHECK_OK(hc_merkle_batch_commit(&b));
  hc_merkle_batch_cleanup(&b);
}

static void tree_make(tree *t, uint64_t len) {
  tree_open(t);
  if (len) tree_grow(t, len);
}

static void tree_close(tree *t) {
  hc_merkle_cleanup(&t->m);
  hc_storage_close(t->file);
  hc_storage_factory_free(t->f);
}

static hc_proof_request up_req(uint64_t start, uint64_t length) {
  hc_proof_request r;
  memset(&r, 0, sizeof r);
  r.has_upgrade = true;
  r.upgrade_start = start;
  r.upgrade_length = length;
  return r;
}

/* Generates r on `full` and attaches the block value. */
static void gen(tree *full, const hc_proof_request *r, hc_proof *p, char *val) {
  CHECK_OK(hc_merkle_proof(&full->m, r, p));
  if (p->has_block) {
    p->block_value_len = block_of(p->block_index, val);
    p->block_value = (const uint8_t *)val;
  }
}

static int verify(tree *t, const hc_proof *p, hc_merkle_batch *b) {
  return hc_merkle_verify(&t->m, p, verify_sig, NULL, b);
}

#define NTREES 41
static tree full[NTREES];

/* Every (A, end, block) upgrade on trees up to 40: verify, compare with the full tree. */
static void test_upgrades(void) {
  int n = 0;
  for (uint64_t L = 1; L < NTREES; L += (L < 18 ? 1 : 7)) {
    uint8_t want[32];
    hc_merkle_hash(&full[L].m, want);
    for (uint64_t A = 0; A < L; A++) {
      for (uint64_t end = A + 1; end <= L; end++) {
        for (int64_t bi = -1; bi < (int64_t)end; bi++) {
          hc_proof_request r = up_req(A, end - A);
          if (bi >= 0) {
            r.has_block = true;
            r.block_index = (uint64_t)bi;
            CHECK_OK(hc_merkle_missing_nodes(&full[A].m, (uint64_t)bi, &r.block_nodes));
          }
          hc_proof p;
          char val[32];
          gen(&full[L], &r, &p, val);
          CHECK(p.has_upgrade && p.upgrade_start == A && p.upgrade_length == end - A);
          CHECK_EQ(p.has_block, bi >= 0);
          CHECK_EQ(p.upgrade_signature_len, 64);
          hc_merkle_batch b;
          calls = 0;
          CHECK_OK(verify(&full[A], &p, &b));
          CHECK_EQ(calls, 1);
          /* the signature is over the responder's full length: additional nodes reach L */
          CHECK_EQ(b.length, L);
          CHECK(b.upgraded);
          uint8_t h[32];
          hc_merkle_batch_hash(&b, h);
          CHECK_MEM(h, want, 32);
          CHECK_EQ(b.byte_length, full[L].m.byte_length);
          /* every node of the batch is a node of the full tree */
          for (size_t k = 0; k < b.nnodes; k++) {
            hc_node x;
            CHECK_OK(hc_merkle_get(&full[L].m, b.nodes[k].index, &x));
            CHECK_MEM(x.hash, b.nodes[k].hash, 32);
            CHECK_EQ(x.size, b.nodes[k].size);
          }
          if (bi >= 0) { /* the block's leaf is among the new nodes */
            bool found = false;
            for (size_t k = 0; k < b.nnodes; k++) found |= b.nodes[k].index == 2 * (uint64_t)bi;
            CHECK(found);
          }
          hc_merkle_batch_cleanup(&b);
          hc_proof_cleanup(&p);
          n++;
        }
      }
    }
  }
  CHECK(n > 3000);
}

/* Verify + commit into a sparse tree, then fill in blocks with block proofs. */
static void test_commit_sparse(void) {
  for (uint64_t L = 1; L <= 21; L += 4) {
    tree t;
    tree_open(&t);
    hc_proof_request r = up_req(0, L);
    hc_proof p;
    char val[32];
    gen(&full[L], &r, &p, val);
    hc_merkle_batch b;
    CHECK_OK(verify(&t, &p, &b));
    CHECK_OK(hc_merkle_batch_commit(&b));
    hc_merkle_batch_cleanup(&b);
    hc_proof_cleanup(&p);
    CHECK_EQ(t.m.length, L);
    CHECK_EQ(t.m.signature_len, 64);
    CHECK_MEM(t.m.signature, full[L].m.signature, 64);
    uint8_t h1[32], h2[32];
    hc_merkle_hash(&t.m, h1);
    hc_merkle_hash(&full[L].m, h2);
    CHECK_MEM(h1, h2, 32);
    /* fetch each block with exactly the missing nodes */
    for (uint64_t i = 0; i < L; i++) {
      uint64_t miss;
      CHECK_OK(hc_merkle_missing_nodes(&t.m, i, &miss));
      hc_proof_request br;
      memset(&br, 0, sizeof br);
      br.has_block = true;
      br.block_index = i;
      br.block_nodes = miss;
      gen(&full[L], &br, &p, val);
      CHECK(!p.has_upgrade);
      CHECK_OK(verify(&t, &p, &b));
      CHECK(!b.upgraded);
      CHECK_OK(hc_merkle_batch_commit(&b));
      hc_merkle_batch_cleanup(&b);
      hc_proof_cleanup(&p);
      CHECK(hc_merkle_has(&t.m, 2 * i));
      CHECK_OK(hc_merkle_missing_nodes(&t.m, i, &miss));
      CHECK_EQ(miss, 0);
    }
    /* now every node of the full tree is present */
    for (uint64_t idx = 0; idx < 2 * L - 1; idx++) {
      hc_node x, y;
      if (hc_merkle_get(&full[L].m, idx, &x) != HC_OK) continue;
      CHECK_OK(hc_merkle_get(&t.m, idx, &y));
      CHECK_MEM(x.hash, y.hash, 32);
    }
    tree_close(&t);
  }
  /* known counts: tree of 8 known only by its root 7 */
  tree t;
  tree_open(&t);
  hc_proof_request r = up_req(0, 8);
  hc_proof p;
  char val[32];
  gen(&full[8], &r, &p, val);
  CHECK_EQ(p.n_upgrade_nodes, 1);
  CHECK_EQ(p.upgrade_nodes[0].index, 7);
  hc_merkle_batch b;
  CHECK_OK(verify(&t, &p, &b));
  CHECK_OK(hc_merkle_batch_commit(&b));
  hc_merkle_batch_cleanup(&b);
  hc_proof_cleanup(&p);
  uint64_t miss;
  CHECK_OK(hc_merkle_missing_nodes(&t.m, 0, &miss));
  CHECK_EQ(miss, 3); /* 0, 1, 3 */
  CHECK_OK(hc_merkle_missing_nodes(&t.m, 8, &miss));
  CHECK_EQ(miss, 0); /* beyond the tree */
  hc_proof_request br;
  memset(&br, 0, sizeof br);
  br.has_block = true;
  br.block_index = 0;
  br.block_nodes = 3;
  gen(&full[8], &br, &p, val);
  CHECK_EQ(p.n_block_nodes, 3); /* siblings 2, 5, 11 */
  CHECK_EQ(p.block_nodes[0].index, 2);
  CHECK_EQ(p.block_nodes[1].index, 5);
  CHECK_EQ(p.block_nodes[2].index, 11);
  CHECK_OK(verify(&t, &p, &b));
  CHECK_OK(hc_merkle_batch_commit(&b));
  hc_merkle_batch_cleanup(&b);
  hc_proof_cleanup(&p);
  CHECK_OK(hc_merkle_missing_nodes(&t.m, 2, &miss));
  CHECK_EQ(miss, 1); /* leaf 4 (5 came as a sibling) */
  CHECK_OK(hc_merkle_missing_nodes(&t.m, 1, &miss));
  CHECK_EQ(miss, 0);
  tree_close(&t);
}

/* Block/hash/seek proofs without upgrade, verified against the full tree itself. */
static void test_no_upgrade(void) {
  int n = 0;
  for (uint64_t L = 1; L < NTREES; L += 3) {
    for (uint64_t i = 0; i < L; i++) {
      for (uint64_t k = 0; k < 8; k++) {
        hc_proof_request r;
        memset(&r, 0, sizeof r);
        r.has_block = true;
        r.block_index = i;
        r.block_nodes = k;
        hc_proof p;
        int rc = hc_merkle_proof(&full[L].m, &r, &p);
        /* nodes must stay below the tree head */
        uint64_t top = 2 * i;
        for (uint64_t j = 0; j < k; j++) top = hc_ft_parent(top);
        if (hc_ft_right_span(top) >= 2 * L) {
          CHECK_RC(rc, HC_ERR_INVALID_ARG);
          continue;
        }
        CHECK_OK(rc);
        CHECK_EQ(p.n_block_nodes, k);
        char val[32];
        p.block_value_len = block_of(i, val);
        p.block_value = (const uint8_t *)val;
        hc_merkle_batch b;
        calls = 0;
        CHECK_OK(verify(&full[L], &p, &b));
        CHECK_EQ(calls, 0);
        CHECK_EQ(b.nnodes, 1 + 2 * k);
        hc_merkle_batch_cleanup(&b);
        /* a different value gives a different top node: not the stored one */
        p.block_value_len--;
        CHECK_RC(verify(&full[L], &p, &b), HC_ERR_BAD_PROOF);
        hc_proof_cleanup(&p);
        n++;
      }
      /* hash of leaf 2i and of its parent */
      hc_proof_request r;
      memset(&r, 0, sizeof r);
      r.has_hash = true;
      r.hash_index = 2 * i;
      hc_proof p;
      CHECK_OK(hc_merkle_proof(&full[L].m, &r, &p));
      CHECK(p.has_hash && !p.has_block && p.n_hash_nodes == 1 && p.hash_nodes[0].index == 2 * i);
      hc_merkle_batch b;
      CHECK_OK(verify(&full[L], &p, &b));
      hc_merkle_batch_cleanup(&b);
      hc_proof_cleanup(&p);
    }
    /* seek + block: the seek nodes replace the sibling subtree that holds the byte */
    for (uint64_t bytes = 0; bytes <= full[L].m.byte_length; bytes += 5) {
      hc_proof_request r;
      memset(&r, 0, sizeof r);
      r.has_block = true;
      r.block_index = 0;
      r.block_nodes = 0;
      uint64_t top = 0;
      while (hc_ft_right_span(hc_ft_parent(top)) < 2 * L) {
        top = hc_ft_parent(top);
        r.block_nodes++;
      }
      r.has_seek = true;
      r.seek_bytes = bytes;
      hc_proof p;
      int rc = hc_merkle_proof(&full[L].m, &r, &p);
      uint64_t span_bytes;
      CHECK_OK(hc_merkle_byte_offset(&full[L].m, hc_ft_right_span(top) + 2, &span_bytes));
      if (bytes >= span_bytes) {
        CHECK_RC(rc, HC_ERR_INVALID_ARG); /* Invalid seek */
        continue;
      }
      CHECK_OK(rc);
      char val[32];
      p.block_value_len = block_of(0, val);
      p.block_value = (const uint8_t *)val;
      hc_merkle_batch b;
      CHECK_OK(verify(&full[L], &p, &b));
      hc_merkle_batch_cleanup(&b);
      hc_proof_cleanup(&p);
    }
  }
  CHECK(n > 200);
}

static void test_seek_upgrade(void) {
  for (uint64_t L = 1; L < NTREES; L += 5) {
    for (uint64_t A = 0; A < L; A += 2) {
      for (uint64_t bytes = 0; bytes <= full[L].m.byte_length + 1; bytes += 3) {
        hc_proof_request r = up_req(A, L - A);
        r.has_seek = true;
        r.seek_bytes = bytes;
        hc_proof p;
        CHECK_OK(hc_merkle_proof(&full[L].m, &r, &p));
        hc_merkle_batch b;
        CHECK_OK(verify(&full[A], &p, &b));
        CHECK_EQ(b.length, L);
        hc_merkle_batch_cleanup(&b);
        hc_proof_cleanup(&p);
      }
    }
  }
}

/* Node lists of a proof, for tampering. */
static size_t lists(hc_proof *p, hc_node **l[4], size_t *n[4]) {
  size_t k = 0;
  if (p->has_block) l[k] = &p->block_nodes, n[k++] = &p->n_block_nodes;
  if (p->has_seek) l[k] = &p->seek_nodes, n[k++] = &p->n_seek_nodes;
  if (p->has_upgrade) {
    l[k] = &p->upgrade_nodes, n[k++] = &p->n_upgrade_nodes;
    l[k] = &p->upgrade_additional, n[k++] = &p->n_upgrade_additional;
  }
  return k;
}

static void expect_reject(tree *t, const hc_proof *p) {
  hc_merkle_batch b;
  int rc = verify(t, p, &b);
  if (rc != HC_ERR_BAD_PROOF && rc != HC_ERR_BAD_SIGNATURE) {
    fprintf(stderr, "tampered proof gave %s\n", hc_err_name(rc));
    CHECK(0);
  }
  CHECK(b.nodes == NULL && b.nnodes == 0); /* nothing left to free */
}

static void test_tampered(void) {
  int n = 0;
  for (uint64_t L = 2; L < NTREES; L += 3) {
    for (uint64_t A = 0; A < L; A += 1 + A / 3) {
      for (uint64_t bi = A; bi < L; bi += 2) {
        hc_proof_request r = up_req(A, L - A - (L - A > 2 ? 1 : 0));
        if (bi < A + r.upgrade_length) {
          r.has_block = true;
          r.block_index = bi;
        }
        hc_proof p;
        char val[32];
        gen(&full[L], &r, &p, val);
        hc_merkle_batch b;
        CHECK_OK(verify(&full[A], &p, &b));
        hc_merkle_batch_cleanup(&b);

        hc_node **l[4];
        size_t *cnt[4];
        size_t k = lists(&p, l, cnt);
        for (size_t li = 0; li < k; li++) {
          hc_node *nodes = *l[li];
          size_t nn = *cnt[li];
          for (size_t j = 0; j < nn; j++) {
            hc_node saved = nodes[j];
            /* flipped hash byte */
            nodes[j].hash[j % 32] ^= 0x01;
            expect_reject(&full[A], &p);
            nodes[j] = saved;
            /* wrong index: sibling, neighbour, parent */
            nodes[j].index = hc_ft_sibling(saved.index);
            expect_reject(&full[A], &p);
            nodes[j].index = saved.index + 2;
            expect_reject(&full[A], &p);
            nodes[j].index = hc_ft_parent(saved.index);
            expect_reject(&full[A], &p);
            nodes[j] = saved;
            /* wrong size */
            nodes[j].size++;
            expect_reject(&full[A], &p);
            nodes[j] = saved;
            /* missing node: drop j (shift the rest) */
            memmove(&nodes[j], &nodes[j + 1], (nn - j - 1) * sizeof *nodes);
            (*cnt[li])--;
            expect_reject(&full[A], &p);
            (*cnt[li])++;
            memmove(&nodes[j + 1], &nodes[j], (nn - j - 1) * sizeof *nodes);
            nodes[j] = saved;
            n++;
          }
        }
        /* untouched again */
        CHECK_OK(verify(&full[A], &p, &b));
        hc_merkle_batch_cleanup(&b);

        /* wrong signature, missing signature, wrong fork, other length */
        uint8_t sig[64];
        memcpy(sig, p.upgrade_signature, 64);
        const uint8_t *orig = p.upgrade_signature;
        sig[7] ^= 0x40;
        p.upgrade_signature = sig;
        CHECK_RC(verify(&full[A], &p, &b), HC_ERR_BAD_SIGNATURE);
        p.upgrade_signature = NULL;
        p.upgrade_signature_len = 0;
        CHECK_RC(verify(&full[A], &p, &b), HC_ERR_BAD_SIGNATURE);
        p.upgrade_signature = orig;
        p.upgrade_signature_len = 64;
        p.fork = 1;
        CHECK_RC(verify(&full[A], &p, &b), HC_ERR_BAD_SIGNATURE);
        p.fork = 0;
        p.upgrade_length++;
        expect_reject(&full[A], &p);
        p.upgrade_length--;
        CHECK_RC(hc_merkle_verify(&full[A].m, &p, NULL, NULL, &b), HC_ERR_BAD_SIGNATURE);
        /* tampered block value */
        if (p.has_block) {
          p.block_value_len--;
          expect_reject(&full[A], &p);
          p.block_value_len++;
        }
        hc_proof_cleanup(&p);

        /* extra nodes: a stray additional node, an extra block node */
        r = up_req(A, L - A);
        r.has_block = true;
        r.block_index = bi;
        gen(&full[L], &r, &p, val);
        hc_node *big = malloc((p.n_block_nodes + 1) * sizeof *big);
        CHECK(big);
        memcpy(big, p.block_nodes, p.n_block_nodes * sizeof *big);
        big[p.n_block_nodes] = full[L].m.roots[0];
        hc_node *saved_nodes = p.block_nodes;
        p.block_nodes = big;
        p.n_block_nodes++;
        expect_reject(&full[A], &p);
        p.block_nodes = saved_nodes;
        p.n_block_nodes--;
        hc_node stray = {(uint64_t)1 << 40, 7, {1}};
        p.upgrade_additional = &stray;
        p.n_upgrade_additional = 1;
        expect_reject(&full[A], &p);
        free(big);
        hc_proof_cleanup(&p);
      }
    }
  }
  CHECK(n > 500);
}

/* Absurd values and random garbage: rejected, never a crash or hang. */
static void test_garbage(void) {
  hc_proof p;
  hc_merkle_batch b;
  memset(&p, 0, sizeof p);
  p.has_block = true;
  p.block_index = UINT64_MAX / 2;
  expect_reject(&full[5], &p);
  p.block_index = 3;
  hc_node huge = {UINT64_MAX - 1, UINT64_MAX, {0}};
  p.block_nodes = &huge;
  p.n_block_nodes = 1;
  expect_reject(&full[5], &p);
  memset(&p, 0, sizeof p);
  p.has_upgrade = true;
  p.upgrade_start = 5;
  p.upgrade_length = UINT64_MAX - 3;
  expect_reject(&full[5], &p);
  p.upgrade_length = 0;
  p.upgrade_start = 0;
  expect_reject(&full[0], &p); /* an upgrade to nothing */
  p.has_hash = true;
  p.hash_index = UINT64_MAX;
  expect_reject(&full[5], &p);

  uint64_t seed = 88172645463325252ull;
#define RND() (seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, seed)
  hc_node pool[4][12];
  uint8_t sig[64] = {0};
  for (int iter = 0; iter < 20000; iter++) {
    memset(&p, 0, sizeof p);
    hc_node *lists4[4] = {pool[0], pool[1], pool[2], pool[3]};
    size_t ns[4];
    for (int li = 0; li < 4; li++) {
      ns[li] = RND() % 6;
      for (size_t j = 0; j < ns[li]; j++) {
        lists4[li][j].index = RND() % 64;
        lists4[li][j].size = RND() % 100;
        memset(lists4[li][j].hash, (int)(RND() & 0xff), 32);
      }
    }
    uint64_t A = RND() % NTREES;
    p.fork = RND() % 2;
    if (RND() & 1) {
      p.has_block = true;
      p.block_index = RND() % 40;
      p.block_value = (const uint8_t *)"x";
      p.block_value_len = 1;
      p.block_nodes = lists4[0];
      p.n_block_nodes = ns[0];
    } else if (RND() & 1) {
      p.has_hash = true;
      p.hash_index = RND() % 80;
      p.hash_nodes = lists4[0];
      p.n_hash_nodes = ns[0];
    }
    if (RND() % 4 == 0) {
      p.has_seek = true;
      p.seek_nodes = lists4[1];
      p.n_seek_nodes = ns[1];
    }
    if (RND() & 1) {
      p.has_upgrade = true;
      p.upgrade_start = RND() % 40;
      p.upgrade_length = RND() % 40;
      p.upgrade_nodes = lists4[2];
      p.n_upgrade_nodes = ns[2];
      p.upgrade_additional = lists4[3];
      p.n_upgrade_additional = ns[3];
      p.upgrade_signature = sig;
      p.upgrade_signature_len = 64;
    }
    int rc = verify(&full[A], &p, &b);
    if (rc == HC_OK) {
      /* only possible without an upgrade when the random top node is a stored one */
      CHECK(!p.has_upgrade);
      hc_merkle_batch_cleanup(&b);
    } else {
      /* NOT_AVAILABLE: the random top node is one the tree does not have */
      CHECK(rc == HC_ERR_BAD_PROOF || rc == HC_ERR_BAD_SIGNATURE || rc == HC_ERR_NOT_AVAILABLE);
    }
  }

  /* random requests: an answer or a clean refusal */
  for (int iter = 0; iter < 20000; iter++) {
    hc_proof_request r;
    memset(&r, 0, sizeof r);
    uint64_t L = RND() % NTREES;
    r.has_block = RND() & 1;
    r.block_index = RND() % 45;
    r.block_nodes = RND() % 8;
    r.has_hash = RND() % 4 == 0;
    r.hash_index = RND() % 90;
    r.hash_nodes = RND() % 4;
    r.has_seek = RND() % 4 == 0;
    r.seek_bytes = RND() % 400;
    r.seek_padding = RND() % 3;
    r.has_upgrade = RND() & 1;
    r.upgrade_start = RND() % 42;
    r.upgrade_length = RND() % 42;
    int rc = hc_merkle_proof(&full[L].m, &r, &p);
    CHECK(rc == HC_OK || rc == HC_ERR_INVALID_ARG || rc == HC_ERR_NOT_FOUND);
    if (rc == HC_OK) hc_proof_cleanup(&p);
  }
}

static void test_requests(void) {
  hc_proof p;
  hc_proof_request r = up_req(0, 3);
  /* empty tree: an empty proof (the reference returns nulls) */
  CHECK_OK(hc_merkle_proof(&full[0].m, &r, &p));
  CHECK(!p.has_upgrade && !p.has_block && p.fork == 0);
  hc_proof_cleanup(&p);
  r = up_req(3, 0);
  CHECK_RC(hc_merkle_proof(&full[5].m, &r, &p), HC_ERR_INVALID_ARG);
  r = up_req(3, 3);
  CHECK_RC(hc_merkle_proof(&full[5].m, &r, &p), HC_ERR_INVALID_ARG);
  r = up_req(6, 1);
  CHECK_RC(hc_merkle_proof(&full[5].m, &r, &p), HC_ERR_INVALID_ARG);
  /* seek together with a block inside the upgrade */
  r = up_req(2, 3);
  r.has_seek = true;
  r.has_block = true;
  r.block_index = 3;
  CHECK_RC(hc_merkle_proof(&full[5].m, &r, &p), HC_ERR_INVALID_ARG);
  /* block beyond the upgrade target */
  r = up_req(0, 2);
  r.has_block = true;
  r.block_index = 3;
  CHECK_RC(hc_merkle_proof(&full[5].m, &r, &p), HC_ERR_INVALID_ARG);
  /* a known shape: length 5, have 3, block 1 with 2 nodes -> upgrade [6, 8] (JS order) */
  r = up_req(3, 2);
  r.has_block = true;
  r.block_index = 1;
  r.block_nodes = 2;
  CHECK_OK(hc_merkle_proof(&full[5].m, &r, &p));
  CHECK_EQ(p.n_block_nodes, 2);
  CHECK_EQ(p.block_nodes[0].index, 0);
  CHECK_EQ(p.block_nodes[1].index, 5);
  CHECK_EQ(p.n_upgrade_nodes, 2);
  CHECK_EQ(p.upgrade_nodes[0].index, 6);
  CHECK_EQ(p.upgrade_nodes[1].index, 8);
  CHECK_EQ(p.n_upgrade_additional, 0);
  hc_proof_cleanup(&p);
  /* additional nodes: have 1, prove 2 of 5: upgrade [2], additional [5, 8] */
  r = up_req(1, 1);
  CHECK_OK(hc_merkle_proof(&full[5].m, &r, &p));
  CHECK_EQ(p.n_upgrade_nodes, 1);
  CHECK_EQ(p.upgrade_nodes[0].index, 2);
  CHECK_EQ(p.n_upgrade_additional, 2);
  CHECK_EQ(p.upgrade_additional[0].index, 5);
  CHECK_EQ(p.upgrade_additional[1].index, 8);
  hc_proof_cleanup(&p);
}

static void test_prologue(void) {
  tree t;
  tree_open(&t);
  t.m.has_prologue = true;
  t.m.prologue_length = 4;
  hc_merkle_hash(&full[4].m, t.m.prologue_hash);
  /* generation rewrites an upgrade starting inside the prologue to [0, prologue) */
  full[9].m.has_prologue = true;
  full[9].m.prologue_length = 4;
  hc_merkle_hash(&full[4].m, full[9].m.prologue_hash);
  hc_proof_request r = up_req(1, 1);
  hc_proof p;
  CHECK_OK(hc_merkle_proof(&full[9].m, &r, &p));
  CHECK_EQ(p.upgrade_start, 0);
  CHECK_EQ(p.upgrade_length, 4);
  hc_merkle_batch b;
  CHECK_OK(verify(&t, &p, &b));
  CHECK_EQ(b.length, 9);
  hc_merkle_batch_cleanup(&b);
  /* an upgrade to less than the prologue */
  p.upgrade_length = 2;
  expect_reject(&t, &p);
  hc_proof_cleanup(&p);
  full[9].m.has_prologue = false;
  /* a prologue hash that does not match */
  t.m.prologue_hash[0] ^= 1;
  r = up_req(0, 4);
  CHECK_OK(hc_merkle_proof(&full[9].m, &r, &p));
  expect_reject(&t, &p);
  hc_proof_cleanup(&p);
  tree_close(&t);
}

int main(void) {
  CHECK_OK(hc_crypto_init());
  uint8_t seed[32];
  memset(seed, 0x2a, sizeof seed);
  hc_crypto_seed_keypair(pk, sk, seed);
  for (uint64_t L = 0; L < NTREES; L++) tree_make(&full[L], L);

  test_requests();
  test_upgrades();
  test_commit_sparse();
  test_no_upgrade();
  test_seek_upgrade();
  test_tampered();
  test_garbage();
  test_prologue();

  for (uint64_t L = 0; L < NTREES; L++) tree_close(&full[L]);
  printf("ok\n");
  return 0;
}
