/* Fuzz target: the hypercore replication engine behind a completed handshake. A raw
 * secret-stream peer (the attacker) handshakes with a replicator serving a small core and
 * a replicator cloning it; then every 2-byte-length-prefixed record of the input is sent to
 * each of them as one encrypted message (a protomux frame). Whatever the frames say, nothing
 * may crash, and the clone must still verify. */
#include "crypto.h"
#include "encoding.h"
#include "fuzz_util.h"
#include "secret_stream.h"

static void on_message(void *user, const uint8_t *d, size_t n) { (void)user, (void)d, (void)n; }

/* Moves bytes both ways until quiet. Returns the replicator's error. */
static int pump(hc_ss *a, hc_replicator *r) {
  for (int i = 0; i < 64; i++) {
    const uint8_t *d;
    size_t n;
    bool moved = false;
    hc_ss_pending_out(a, &d, &n);
    if (n) {
      uint8_t *copy = malloc(n);
      memcpy(copy, d, n);
      hc_ss_consume_out(a, n);
      int rc = hc_replicator_feed(r, copy, n, 1);
      free(copy);
      if (rc) return rc;
      moved = true;
    }
    hc_replicator_pending_out(r, &d, &n);
    if (n) {
      uint8_t *copy = malloc(n);
      memcpy(copy, d, n);
      hc_replicator_consume_out(r, n);
      int rc = hc_ss_feed(a, copy, n);
      free(copy);
      if (rc) return HC_OK; /* the attacker gave up: fine */
      moved = true;
    }
    if (!moved) break;
  }
  return hc_replicator_error(r);
}

static void run(const uint8_t *data, size_t size, bool serving) {
  static const uint8_t seed[32] = {0x42};
  hc_storage_factory *fw, *fr = NULL;
  if (hc_storage_memory_factory_new(&fw)) return;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = seed;
  hc_core *w, *core;
  if (hc_core_open(&w, fw, &o)) abort();
  for (int i = 0; i < 20; i++) {
    char b[16];
    snprintf(b, sizeof b, "blk%d", i);
    hc_buf buf = {(const uint8_t *)b, strlen(b)};
    hc_core_append(w, &buf, 1, NULL, NULL);
  }
  core = w;
  if (!serving) { /* a clone that wants everything */
    hc_storage_memory_factory_new(&fr);
    memset(&o, 0, sizeof o);
    o.version = HC_CORE_OPTS_VERSION;
    o.key = hc_core_key(w);
    if (hc_core_open(&core, fr, &o)) abort();
  }
  hc_replicator_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.version = HC_REPLICATOR_OPTS_VERSION;
  ro.is_initiator = false;
  ro.ephemeral_seed = seed;
  hc_replicator *r;
  if (hc_replicator_new(&r, &ro, NULL, NULL)) abort();
  hc_replicator_add_core(r, core);
  if (!serving) hc_replicator_download(r, core, 0, UINT64_MAX);
  uint8_t sk[64], pk[32];
  hc_crypto_seed_keypair(pk, sk, seed);
  hc_ss_opts so;
  memset(&so, 0, sizeof so);
  so.on_message = on_message;
  so.ephemeral_seed = seed;
  hc_ss *a;
  if (hc_ss_new(&a, 1, NULL, sk, &so)) abort();
  pump(a, r);
  /* a valid channel open (the capability needs the handshake hash), so the fuzzed frames reach
   * the hypercore protocol, not just the capability check */
  const uint8_t *hh = hc_ss_handshake_hash(a);
  if (hh) {
    uint8_t cap[32], frame[128];
    hc_buf parts[2] = {{HC_NS_REPLICATE_INITIATOR, 32}, {hc_core_key(core), 32}};
    hc_crypto_hash_parts(cap, parts, 2, hh, 64);
    hc_enc e;
    hc_enc_init(&e, frame, sizeof frame);
    hc_enc_uint(&e, 0);
    hc_enc_uint(&e, 1);
    hc_enc_uint(&e, 1);
    hc_enc_string(&e, "hypercore/alpha", 15);
    hc_enc_buffer(&e, hc_core_discovery_key(core), 32);
    hc_enc_uint(&e, 1);
    hc_enc_raw(&e, cap, 32);
    if (hc_ss_write(a, frame, e.pos) == HC_OK) pump(a, r);
  }
  const uint8_t *p[1];
  size_t off = 0;
  while (off + 2 <= size && hc_replicator_error(r) == HC_OK) {
    size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
    off += 2;
    if (n > size - off) n = size - off;
    p[0] = data + off;
    off += n;
    if (hc_ss_write(a, p[0], n) != HC_OK) break;
    pump(a, r);
  }
  uint64_t bad;
  FUZZ_ASSERT(hc_core_verify(core, &bad) == HC_OK); /* nothing unverified was stored */
  hc_replicator_free(r);
  hc_ss_free(a);
  if (core != w) hc_core_close(core);
  hc_core_close(w);
  hc_storage_factory_free(fw);
  hc_storage_factory_free(fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hc_crypto_init();
  run(data, size, true);
  run(data, size, false);
  return 0;
}
