/* proof_dump: Merkle proofs of the C implementation for tests/interop/test-merkle-proof.js.
 *
 * Trees: length L holds blocks "block-0" .. "block-(L-1)", fork 0, signed (compat signable)
 * with the Ed25519 key of seed 32 x 0x2a. Reads commands from stdin, one per line, and
 * answers each with one JSON line:
 *   gen L hasBlock bi bn hasHash hi hn hasSeek bytes padding hasUpgrade start length
 *     -> {"ok":true,"proof":{...},"wire":"<data message hex, request id 1>"}
 *   verify A <data message hex>
 *     -> verifies the decoded proof against the tree of length A:
 *        {"ok":true,"length":n,"fork":f,"hash":"..","nodes":[[i,s,"h"],..],"upgraded":b}
 *   missing A blockIndex -> {"ok":true,"count":n}
 * Errors: {"ok":false,"error":"HC_ERR_..."}. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "merkle.h"
#include "messages.h"

#define MAX_TREES 1024

typedef struct tree {
  hc_storage_factory *f;
  hc_storage *file;
  hc_merkle m;
  bool ok;
} tree;

static tree trees[MAX_TREES];
static uint8_t pk[32], sk[64];

static void signable(uint8_t out[80], const uint8_t hash[32], uint64_t length, uint64_t fork) {
  memcpy(out, HC_NS_TREE, 32);
  memcpy(out + 32, hash, 32);
  for (int i = 0; i < 8; i++) out[64 + i] = (uint8_t)(length >> (8 * i));
  for (int i = 0; i < 8; i++) out[72 + i] = (uint8_t)(fork >> (8 * i));
}

static int verify_sig(void *ctx, const hc_merkle_batch *b, const uint8_t *sig, size_t len) {
  (void)ctx;
  if (len != 64) return HC_ERR_BAD_SIGNATURE;
  uint8_t h[32], msg[80];
  hc_merkle_batch_hash(b, h);
  signable(msg, h, b->length, b->fork);
  return hc_crypto_verify(sig, msg, sizeof msg, pk);
}

static hc_merkle *get_tree(uint64_t len) {
  if (len >= MAX_TREES) return NULL;
  tree *t = &trees[len];
  if (t->ok) return &t->m;
  if (hc_storage_memory_factory_new(&t->f)) return NULL;
  if (t->f->open(t->f, "tree", HC_STORAGE_CREATE, &t->file)) return NULL;
  if (hc_merkle_init(&t->m, t->file)) return NULL;
  if (len) {
    hc_merkle_batch b;
    if (hc_merkle_batch_init(&b, &t->m)) return NULL;
    for (uint64_t i = 0; i < len; i++) {
      char buf[32];
      int n = snprintf(buf, sizeof buf, "block-%" PRIu64, i);
      if (hc_merkle_batch_append(&b, (const uint8_t *)buf, (size_t)n)) return NULL;
    }
    uint8_t h[32], msg[80], sig[64];
    hc_merkle_batch_hash(&b, h);
    signable(msg, h, b.length, b.fork);
    hc_crypto_sign(sig, msg, sizeof msg, sk);
    if (hc_merkle_batch_set_signature(&b, sig, 64)) return NULL;
    if (hc_merkle_batch_commit(&b)) return NULL;
    hc_merkle_batch_cleanup(&b);
  }
  t->ok = true;
  return &t->m;
}

static void print_hex(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static void print_nodes(const hc_node *n, size_t k) {
  putchar('[');
  for (size_t i = 0; i < k; i++) {
    printf("%s[%" PRIu64 ",%" PRIu64 ",\"", i ? "," : "", n[i].index, n[i].size);
    print_hex(n[i].hash, 32);
    printf("\"]");
  }
  putchar(']');
}

static void print_err(int rc) { printf("{\"ok\":false,\"error\":\"%s\"}\n", hc_err_name(rc)); }

static void do_gen(char *args) {
  uint64_t v[13];
  int k = 0;
  char *save = NULL;
  for (char *tok = strtok_r(args, " \t\r\n", &save); tok && k < 13;
       tok = strtok_r(NULL, " \t\r\n", &save))
    v[k++] = strtoull(tok, NULL, 10);
  if (k != 13) {
    print_err(HC_ERR_INVALID_ARG);
    return;
  }
  hc_merkle *m = get_tree(v[0]);
  if (!m) {
    print_err(HC_ERR_NOMEM);
    return;
  }
  hc_proof_request r;
  memset(&r, 0, sizeof r);
  r.has_block = v[1];
  r.block_index = v[2];
  r.block_nodes = v[3];
  r.has_hash = v[4];
  r.hash_index = v[5];
  r.hash_nodes = v[6];
  r.has_seek = v[7];
  r.seek_bytes = v[8];
  r.seek_padding = v[9];
  r.has_upgrade = v[10];
  r.upgrade_start = v[11];
  r.upgrade_length = v[12];
  hc_proof p;
  int rc = hc_merkle_proof(m, &r, &p);
  if (rc) {
    print_err(rc);
    return;
  }
  printf("{\"ok\":true,\"proof\":{\"fork\":%" PRIu64 ",\"block\":", p.fork);
  if (p.has_block) {
    printf("{\"index\":%" PRIu64 ",\"nodes\":", p.block_index);
    print_nodes(p.block_nodes, p.n_block_nodes);
    putchar('}');
  } else {
    printf("null");
  }
  printf(",\"hash\":");
  if (p.has_hash) {
    printf("{\"index\":%" PRIu64 ",\"nodes\":", p.hash_index);
    print_nodes(p.hash_nodes, p.n_hash_nodes);
    putchar('}');
  } else {
    printf("null");
  }
  printf(",\"seek\":");
  if (p.has_seek) {
    printf("{\"bytes\":%" PRIu64 ",\"nodes\":", p.seek_bytes);
    print_nodes(p.seek_nodes, p.n_seek_nodes);
    putchar('}');
  } else {
    printf("null");
  }
  printf(",\"upgrade\":");
  if (p.has_upgrade) {
    printf("{\"start\":%" PRIu64 ",\"length\":%" PRIu64 ",\"nodes\":", p.upgrade_start,
           p.upgrade_length);
    print_nodes(p.upgrade_nodes, p.n_upgrade_nodes);
    printf(",\"additionalNodes\":");
    print_nodes(p.upgrade_additional, p.n_upgrade_additional);
    printf(",\"signature\":\"");
    print_hex(p.upgrade_signature, p.upgrade_signature_len);
    printf("\"}");
  } else {
    printf("null");
  }
  printf("},\"wire\":\"");
  /* fill in the block value as a responder would, and encode as a data message */
  char val[32];
  if (p.has_block) {
    int n = snprintf(val, sizeof val, "block-%" PRIu64, p.block_index);
    p.block_value = (const uint8_t *)val;
    p.block_value_len = (size_t)n;
  }
  p.request = 1;
  hc_enc e;
  hc_enc_init(&e, NULL, 0);
  hc_msg_data_encode(&e, &p);
  size_t len = e.pos;
  uint8_t *buf = malloc(len ? len : 1);
  if (buf) {
    hc_enc_init(&e, buf, len);
    if (hc_msg_data_encode(&e, &p) == HC_OK) print_hex(buf, e.pos);
    free(buf);
  }
  printf("\"}\n");
  hc_proof_cleanup(&p);
}

static int unhex(const char *s, uint8_t **out, size_t *len) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) n--;
  if (n % 2) return HC_ERR_INVALID_ARG;
  uint8_t *b = malloc(n / 2 ? n / 2 : 1);
  if (!b) return HC_ERR_NOMEM;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned x;
    if (sscanf(s + 2 * i, "%2x", &x) != 1) {
      free(b);
      return HC_ERR_INVALID_ARG;
    }
    b[i] = (uint8_t)x;
  }
  *out = b;
  *len = n / 2;
  return HC_OK;
}

static void do_verify(char *args) {
  char *save = NULL;
  char *a = strtok_r(args, " \t\r\n", &save);
  char *hex = strtok_r(NULL, " \t\r\n", &save);
  if (!a || !hex) {
    print_err(HC_ERR_INVALID_ARG);
    return;
  }
  hc_merkle *m = get_tree(strtoull(a, NULL, 10));
  if (!m) {
    print_err(HC_ERR_NOMEM);
    return;
  }
  uint8_t *buf;
  size_t len;
  int rc = unhex(hex, &buf, &len);
  if (rc) {
    print_err(rc);
    return;
  }
  hc_proof p;
  rc = hc_msg_data_decode(buf, len, &p);
  if (rc) {
    free(buf);
    print_err(rc);
    return;
  }
  hc_merkle_batch b;
  rc = hc_merkle_verify(m, &p, verify_sig, NULL, &b);
  hc_proof_cleanup(&p);
  free(buf);
  if (rc) {
    print_err(rc);
    return;
  }
  uint8_t h[32];
  hc_merkle_batch_hash(&b, h);
  printf("{\"ok\":true,\"length\":%" PRIu64 ",\"fork\":%" PRIu64 ",\"upgraded\":%s,\"hash\":\"",
         b.length, b.fork, b.upgraded ? "true" : "false");
  print_hex(h, 32);
  printf("\",\"nodes\":");
  print_nodes(b.nodes, b.nnodes);
  printf("}\n");
  hc_merkle_batch_cleanup(&b);
}

static void do_missing(char *args) {
  uint64_t a, idx;
  if (sscanf(args, "%" SCNu64 " %" SCNu64, &a, &idx) != 2) {
    print_err(HC_ERR_INVALID_ARG);
    return;
  }
  hc_merkle *m = get_tree(a);
  uint64_t cnt;
  int rc = m ? hc_merkle_missing_nodes(m, idx, &cnt) : HC_ERR_NOMEM;
  if (rc) {
    print_err(rc);
    return;
  }
  printf("{\"ok\":true,\"count\":%" PRIu64 "}\n", cnt);
}

int main(void) {
  if (hc_crypto_init()) return 1;
  uint8_t seed[32];
  memset(seed, 0x2a, sizeof seed);
  hc_crypto_seed_keypair(pk, sk, seed);
  size_t cap = 1 << 16;
  char *line = malloc(cap);
  if (!line) return 1;
  for (;;) {
    /* getline-like, growing */
    size_t n = 0;
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
      if (n + 2 > cap) {
        char *l2 = realloc(line, cap * 2);
        if (!l2) return 1;
        line = l2;
        cap *= 2;
      }
      line[n++] = (char)c;
    }
    if (c == EOF && n == 0) break;
    line[n] = 0;
    if (!strncmp(line, "gen ", 4)) do_gen(line + 4);
    else if (!strncmp(line, "verify ", 7)) do_verify(line + 7);
    else if (!strncmp(line, "missing ", 8)) do_missing(line + 8);
    else if (n) print_err(HC_ERR_INVALID_ARG);
    fflush(stdout);
  }
  free(line);
  for (size_t i = 0; i < MAX_TREES; i++) {
    if (!trees[i].ok) continue;
    hc_merkle_cleanup(&trees[i].m);
    hc_storage_close(trees[i].file);
    hc_storage_factory_free(trees[i].f);
  }
  return 0;
}
