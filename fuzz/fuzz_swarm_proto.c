/* Fuzz target: the Hyperswarm helper's frames (swarm_proto.h) as the library receives them,
 * through the whole discovery path: the frame decoder, the connection table (CONNECTION,
 * DATA, CLOSED for any ids, too many connections), and pre-authenticated replicators fed
 * whatever DATA carries, replicating a core whose key the seeds use. Nothing may crash or
 * leak; a malformed frame fails the discovery for good; nothing unverified is stored.
 *
 * HC_FUZZ_WRITE_SEED=DIR: writes seed inputs (a real writer's replication stream framed as
 * the helper would send it) into DIR and exits. */
#include "crypto.h"
#include "discovery_internal.h"
#include "fuzz_util.h"
#include "swarm_proto.h"

static const uint8_t WRITER_SEED[32] = {0x5a, 0x17};
static const uint8_t HH[64] = {0x42, 0x01, 0x99};
static const uint8_t RPK[32] = {0x07};

typedef struct fstate {
  hc_core *core;
} fstate;

static int on_connection(void *user, hc_discovery *d, hc_replicator *r, const uint8_t rpk[32],
                         bool initiator) {
  fstate *s = user;
  int rc = hc_replicator_add_core(r, s->core);
  if (!rc) rc = hc_replicator_download(r, s->core, 0, UINT64_MAX);
  return rc;
}

static hc_core *mem_core(hc_storage_factory **f, const uint8_t *key, const uint8_t *seed) {
  if (hc_storage_memory_factory_new(f)) return NULL;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.key = key;
  o.seed = seed;
  hc_core *c;
  if (hc_core_open(&c, *f, &o)) {
    hc_storage_factory_free(*f);
    return NULL;
  }
  return c;
}

static void put_frame(FILE *f, uint8_t type, uint32_t id, bool with_id, const uint8_t *b, size_t n) {
  uint32_t len = (uint32_t)(1 + (with_id ? 4 : 0) + n);
  uint8_t h[9] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24), type,
                  (uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
  fwrite(h, 1, with_id ? 9 : 5, f);
  if (n) fwrite(b, 1, n, f);
}

/* A writer's replication stream to a reader, framed as the helper relays it. */
static void write_seeds(const char *dir) {
  hc_storage_factory *fw;
  hc_core *w = mem_core(&fw, NULL, WRITER_SEED);
  FUZZ_ASSERT(w);
  for (int i = 0; i < 40; i++) {
    char blk[64];
    snprintf(blk, sizeof blk, "block %d of the swarm seed", i);
    hc_buf b = {(const uint8_t *)blk, strlen(blk)};
    FUZZ_ASSERT(hc_core_append(w, &b, 1, NULL, NULL) == HC_OK);
  }
  hc_storage_factory *fr;
  hc_core *rd = mem_core(&fr, hc_core_key(w), NULL);
  hc_preauth_opts o = {.version = HC_PREAUTH_OPTS_VERSION, .handshake_hash = HH, .remote_public_key = RPK};
  hc_replicator *a, *b;
  o.is_initiator = true;
  FUZZ_ASSERT(hc_replicator_new_preauth(&a, &o, NULL, NULL) == HC_OK);
  o.is_initiator = false;
  FUZZ_ASSERT(hc_replicator_new_preauth(&b, &o, NULL, NULL) == HC_OK);
  hc_replicator_add_core(a, w);
  hc_replicator_add_core(b, rd);
  hc_replicator_download(b, rd, 0, UINT64_MAX);
  char path[4096];
  snprintf(path, sizeof path, "%s/replication", dir);
  FILE *f = fopen(path, "wb");
  FUZZ_ASSERT(f);
  uint8_t pk[32] = {0x33};
  put_frame(f, HC_SWP_READY, 0, false, pk, 32);
  uint8_t conn[4 + 1 + 32 + 64];
  memset(conn, 0, sizeof conn);
  conn[0] = 1;
  conn[4] = 0; /* the library side is the responder, the writer (a) the initiator */
  memcpy(conn + 5, RPK, 32);
  memcpy(conn + 37, HH, 64);
  fwrite((uint8_t[]){sizeof conn + 1, 0, 0, 0, HC_SWP_CONNECTION}, 1, 5, f);
  fwrite(conn, 1, sizeof conn, f);
  for (int round = 0; round < 200; round++) {
    bool moved = false;
    const uint8_t *m;
    size_t n;
    while (hc_replicator_pending_message(a, &m, &n)) {
      put_frame(f, HC_SWP_H_DATA, 1, true, m, n);
      uint8_t *copy = malloc(n ? n : 1);
      memcpy(copy, m, n);
      hc_replicator_consume_message(a);
      hc_replicator_feed_message(b, copy, n, 1);
      free(copy);
      moved = true;
    }
    while (hc_replicator_pending_message(b, &m, &n)) {
      uint8_t *copy = malloc(n ? n : 1);
      memcpy(copy, m, n);
      hc_replicator_consume_message(b);
      hc_replicator_feed_message(a, copy, n, 1);
      free(copy);
      moved = true;
    }
    if (!moved) break;
  }
  FUZZ_ASSERT(hc_core_length(rd) == 40);
  put_frame(f, HC_SWP_CLOSED, 1, true, (const uint8_t *)"done", 4);
  uint8_t pong[16] = {1, 0, 0, 0, 1};
  put_frame(f, HC_SWP_PONG, 0, false, pong, 16);
  uint8_t topic[32] = {9};
  put_frame(f, HC_SWP_JOINED, 0, false, topic, 32);
  put_frame(f, HC_SWP_ERROR, 0, false, (const uint8_t *)"an error", 8);
  fclose(f);
  hc_replicator_free(a);
  hc_replicator_free(b);
  hc_core_close(w);
  hc_core_close(rd);
  hc_storage_factory_free(fw);
  hc_storage_factory_free(fr);
  /* many connections: ids 1..80 (64 kept) */
  snprintf(path, sizeof path, "%s/many-connections", dir);
  f = fopen(path, "wb");
  FUZZ_ASSERT(f);
  for (uint32_t id = 1; id <= 80; id++) {
    conn[0] = (uint8_t)id;
    conn[4] = (uint8_t)(id & 1);
    fwrite((uint8_t[]){sizeof conn + 1, 0, 0, 0, HC_SWP_CONNECTION}, 1, 5, f);
    fwrite(conn, 1, sizeof conn, f);
  }
  fclose(f);
  exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t key[32];
  static bool init;
  if (!init) {
    init = true;
    const char *seed_dir = getenv("HC_FUZZ_WRITE_SEED");
    if (seed_dir) write_seeds(seed_dir);
    uint8_t sk[64];
    hc_crypto_init();
    hc_crypto_seed_keypair(key, sk, WRITER_SEED);
  }
  fstate s;
  hc_storage_factory *f;
  s.core = mem_core(&f, key, NULL);
  if (!s.core) return 0;
  hc_discovery_callbacks cb = {.version = HC_DISCOVERY_CALLBACKS_VERSION, .on_connection = on_connection};
  hc_discovery_opts o = {.version = HC_DISCOVERY_OPTS_VERSION};
  hc_discovery *d;
  if (hc__discovery_new_detached(&d, &o, &cb, &s) == HC_OK) {
    size_t off = 0;
    while (off < size) {
      size_t n = 1 + (size_t)data[off] * 37; /* chunk sizes chosen by the input */
      if (n > size - off) n = size - off;
      int rc = hc__discovery_feed(d, data + off, n);
      if (rc) {
        FUZZ_ASSERT(rc == HC_ERR_HELPER);
        FUZZ_ASSERT(hc__discovery_feed(d, data, 1) == HC_ERR_HELPER); /* failed stays failed */
        break;
      }
      off += n;
    }
    hc_discovery_stats st;
    hc_discovery_get_stats(d, &st);
    FUZZ_ASSERT(st.connections <= 64);
    if (getenv("HC_FUZZ_VERBOSE"))
      fprintf(stderr, "length %llu, contiguous %llu, connections %u (total %llu), error %s\n",
              (unsigned long long)hc_core_length(s.core),
              (unsigned long long)hc_core_contiguous_length(s.core), st.connections,
              (unsigned long long)st.connections_total, hc_discovery_error_message(d));
    hc_discovery_free(d);
  }
  /* whatever was stored verifies */
  uint64_t bad;
  FUZZ_ASSERT(hc_core_verify(s.core, &bad) == HC_OK);
  hc_core_close(s.core);
  hc_storage_factory_free(f);
  return 0;
}
