/* Sessions, snapshot sessions across appends and truncation, batches, iterators, byte reads,
 * update events, block encryption (vectors), ids. */
#include "block_encryption.h"
#include "crypto.h"
#include "test_util.h"

static hc_core *new_core(hc_storage_factory **f) {
  CHECK_OK(hc_storage_memory_factory_new(f));
  hc_core *c;
  CHECK_OK(hc_core_open(&c, *f, NULL));
  return c;
}

static void append_str(hc_core *c, const char *s) {
  hc_buf b = {(const uint8_t *)s, strlen(s)};
  CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
}

static void check_get(int rc_want, int rc, uint8_t *buf, size_t len, const char *want) {
  CHECK_RC(rc, rc_want);
  if (rc_want == HC_OK) {
    CHECK_EQ(len, strlen(want));
    CHECK(memcmp(buf, want, len) == 0);
    hc_free(buf);
  }
}

static void test_sessions(void) {
  hc_storage_factory *f;
  hc_core *c = new_core(&f);
  append_str(c, "a");
  append_str(c, "b");
  append_str(c, "c");
  hc_session *live, *snap;
  CHECK_OK(hc_core_session(c, false, &live));
  CHECK_OK(hc_core_session(c, true, &snap));
  CHECK(hc_session_is_snapshot(snap));
  uint8_t h3[32], hs[32], h[32];
  CHECK_OK(hc_core_tree_hash(c, 3, h3));
  append_str(c, "d");
  append_str(c, "e");
  CHECK_EQ(hc_session_length(live), 5);
  CHECK_EQ(hc_session_length(snap), 3);
  CHECK_OK(hc_session_tree_hash(snap, hs));
  CHECK_MEM(hs, h3, 32);
  uint8_t *out;
  size_t len;
  CHECK_RC(hc_session_get_alloc(snap, 3, &out, &len), HC_ERR_OUT_OF_RANGE);
  int rc = hc_session_get_alloc(live, 4, &out, &len);
  check_get(HC_OK, rc, out, len, "e");
  /* update moves the snapshot */
  bool changed;
  CHECK_OK(hc_session_update(snap, &changed));
  CHECK(changed);
  CHECK_EQ(hc_session_length(snap), 5);
  CHECK_OK(hc_session_update(snap, &changed));
  CHECK(!changed);
  /* truncation underneath a snapshot: earlier blocks still read, lost ones are stale */
  CHECK_OK(hc_core_tree_hash(c, 5, h));
  CHECK_OK(hc_core_truncate(c, 2));
  append_str(c, "X");
  CHECK_EQ(hc_session_length(snap), 5);
  CHECK_OK(hc_session_tree_hash(snap, hs));
  CHECK_MEM(hs, h, 32);
  rc = hc_session_get_alloc(snap, 1, &out, &len);
  check_get(HC_OK, rc, out, len, "b");
  CHECK_RC(hc_session_get_alloc(snap, 2, &out, &len), HC_ERR_SNAPSHOT_STALE);
  CHECK(!hc_session_has(snap, 0, 5));
  CHECK(hc_session_has(snap, 0, 2));
  CHECK_EQ(hc_session_fork(snap), 0);
  CHECK_OK(hc_session_update(snap, &changed));
  CHECK(changed);
  CHECK_EQ(hc_session_length(snap), 3);
  CHECK_EQ(hc_session_fork(snap), 1);
  rc = hc_session_get_alloc(snap, 2, &out, &len);
  check_get(HC_OK, rc, out, len, "X");
  /* the core stays open while sessions remain */
  hc_core_close(c);
  CHECK_EQ(hc_session_length(live), 3);
  rc = hc_session_get_alloc(live, 0, &out, &len);
  check_get(HC_OK, rc, out, len, "a");
  hc_session_close(snap);
  hc_session_close(live); /* last handle: the core closes */
  hc_storage_factory_free(f);
}

static void test_batches(void) {
  hc_storage_factory *f;
  hc_core *c = new_core(&f);
  append_str(c, "base");
  hc_batch *b;
  CHECK_OK(hc_core_batch(c, &b));
  hc_buf blocks[3] = {{(const uint8_t *)"one", 3}, {(const uint8_t *)"two", 3}, {(const uint8_t *)"three", 5}};
  uint64_t len;
  CHECK_OK(hc_batch_append(b, blocks, 3, &len));
  CHECK_EQ(len, 4);
  CHECK_EQ(hc_core_length(c), 1); /* nothing stored yet */
  CHECK_EQ(hc_batch_byte_length(b), 4 + 11);
  uint8_t *out;
  size_t ol;
  int rc = hc_batch_get_alloc(b, 2, &out, &ol);
  check_get(HC_OK, rc, out, ol, "two");
  rc = hc_batch_get_alloc(b, 0, &out, &ol);
  check_get(HC_OK, rc, out, ol, "base");
  CHECK_OK(hc_batch_truncate(b, 3, false)); /* drops "three" */
  CHECK_EQ(hc_batch_length(b), 3);
  CHECK_RC(hc_batch_truncate(b, 0, false), HC_ERR_INVALID_ARG);
  uint8_t predicted[32], actual[32];
  CHECK_OK(hc_batch_tree_hash(b, predicted));
  size_t siglen_before;
  hc_core_signature(c, &siglen_before);
  CHECK_OK(hc_batch_flush(b));
  CHECK_EQ(hc_core_length(c), 3);
  CHECK_OK(hc_core_tree_hash(c, 3, actual));
  CHECK_MEM(predicted, actual, 32);
  rc = hc_core_get_alloc(c, 2, &out, &ol);
  check_get(HC_OK, rc, out, ol, "two");
  /* the core truncated underneath: flush refuses, nothing written */
  CHECK_OK(hc_batch_append(b, blocks, 1, NULL));
  CHECK_OK(hc_core_truncate(c, 1));
  CHECK_RC(hc_batch_flush(b), HC_ERR_BUSY);
  CHECK_EQ(hc_core_length(c), 1);
  hc_batch_free(b);
  /* a dropped batch leaves no trace */
  CHECK_OK(hc_core_batch(c, &b));
  CHECK_OK(hc_batch_append(b, blocks, 3, NULL));
  hc_batch_free(b);
  CHECK_EQ(hc_core_length(c), 1);
  uint64_t bad;
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);
  hc_storage_factory_free(f);
}

static void test_iter_and_bytes(void) {
  hc_storage_factory *f;
  hc_core *c = new_core(&f);
  append_str(c, "hello ");
  append_str(c, "");
  append_str(c, "wor");
  append_str(c, "ld!");
  hc_iter *it;
  CHECK_OK(hc_core_iter(c, 1, UINT64_MAX, true, &it));
  uint64_t idx;
  uint8_t *out;
  size_t len;
  int rc = hc_iter_next(it, &idx, &out, &len);
  CHECK_EQ(idx, 1);
  check_get(HC_OK, rc, out, len, "");
  rc = hc_iter_next(it, &idx, &out, &len);
  check_get(HC_OK, rc, out, len, "wor");
  rc = hc_iter_next(it, &idx, &out, &len);
  check_get(HC_OK, rc, out, len, "ld!");
  CHECK_RC(hc_iter_next(it, &idx, &out, &len), HC_ERR_BUSY); /* live: caught up */
  append_str(c, "more");
  rc = hc_iter_next(it, &idx, &out, &len);
  CHECK_EQ(idx, 4);
  check_get(HC_OK, rc, out, len, "more");
  hc_iter_free(it);
  CHECK_OK(hc_core_iter(c, 0, 2, false, &it));
  rc = hc_iter_next(it, &idx, &out, &len);
  check_get(HC_OK, rc, out, len, "hello ");
  rc = hc_iter_next(it, &idx, &out, &len);
  check_get(HC_OK, rc, out, len, "");
  CHECK_RC(hc_iter_next(it, &idx, &out, &len), HC_ERR_NOT_FOUND);
  hc_iter_free(it);

  char buf[64];
  size_t got;
  CHECK_OK(hc_core_read_bytes(c, 3, (uint8_t *)buf, 8, &got));
  CHECK_EQ(got, 8);
  CHECK(memcmp(buf, "lo world", 8) == 0);
  CHECK_OK(hc_core_read_bytes(c, 10, (uint8_t *)buf, 64, &got));
  CHECK_EQ(got, 6);
  CHECK(memcmp(buf, "d!more", 6) == 0);
  CHECK_RC(hc_core_read_bytes(c, 100, (uint8_t *)buf, 1, &got), HC_ERR_OUT_OF_RANGE);
  CHECK_OK(hc_core_clear(c, 2, 3, NULL));
  CHECK_RC(hc_core_read_bytes(c, 0, (uint8_t *)buf, 64, &got), HC_ERR_NOT_AVAILABLE);
  hc_core_close(c);
  hc_storage_factory_free(f);
}

typedef struct events {
  int n;
  hc_core_event ev[16];
  uint64_t start[16], length[16], fork[16];
} events;

static void on_update(void *user, hc_core *core, hc_core_event ev, uint64_t start, uint64_t length) {
  events *e = user;
  if (e->n < 16) {
    e->ev[e->n] = ev;
    e->start[e->n] = start;
    e->length[e->n] = length;
    e->fork[e->n] = hc_core_fork(core);
    e->n++;
  }
}

static void test_events(void) {
  hc_storage_factory *f;
  hc_core *c = new_core(&f);
  events e = {0};
  CHECK_OK(hc_core_on_update(c, on_update, &e));
  append_str(c, "a");
  hc_buf two[2] = {{(const uint8_t *)"b", 1}, {(const uint8_t *)"c", 1}};
  CHECK_OK(hc_core_append(c, two, 2, NULL, NULL));
  CHECK_OK(hc_core_truncate(c, 1));
  CHECK_OK(hc_core_clear(c, 0, 1, NULL));
  hc_core_off_update(c, on_update, &e);
  append_str(c, "z");
  CHECK_EQ(e.n, 4);
  CHECK(e.ev[0] == HC_EVENT_APPEND && e.start[0] == 0 && e.length[0] == 1);
  CHECK(e.ev[1] == HC_EVENT_APPEND && e.start[1] == 1 && e.length[1] == 2);
  CHECK(e.ev[2] == HC_EVENT_TRUNCATE && e.start[2] == 1 && e.length[2] == 2 && e.fork[2] == 1);
  CHECK(e.ev[3] == HC_EVENT_CLEAR && e.start[3] == 0 && e.length[3] == 1);
  hc_core_close(c);
  hc_storage_factory_free(f);
}

static void test_encryption(void) {
  /* vectors.json blockEncryption (compat and non-compat) */
  uint8_t key[32], core_key[32], out[13], plain[5];
  memset(key, 2, 32);
  CHECK_OK(hc_hex_decode(core_key, 32, "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"));
  hc_block_encryption e;
  hc_block_encryption_init(&e, key, core_key, true, false);
  CHECK_HEX(e.block_key, "477909509cbf9ad65440d205d8720023b4045516923a6e1306e530278fbb2283");
  CHECK_HEX(e.blinding_key, "311560373269dc5f271692f2f95d9198ad382ce4c506e82331955ef30cfa85f7");
  hc_block_encrypt(&e, 0, 0, (const uint8_t *)"hello", 5, out);
  CHECK_HEX(out, "01afac15f6635d6da014e3894c");
  hc_block_encrypt(&e, 7, 3, (const uint8_t *)"hello", 5, out);
  CHECK_HEX(out, "c42376b82e68cba4a3d9c82efb");
  uint64_t fork;
  hc_block_decrypt(&e, 7, out, 13, plain, &fork);
  CHECK(memcmp(plain, "hello", 5) == 0);
  CHECK_EQ(fork, 3);
  hc_block_encryption_init(&e, key, core_key, false, false);
  CHECK_HEX(e.block_key, "078d210ca00dd613a3225d335a93b9eb9313e323e635b5eb5189f38337ae50c3");
  hc_block_encrypt(&e, 7, 3, (const uint8_t *)"hello", 5, out);
  CHECK_HEX(out, "e3b3877977b6d3f822a52899fd");

  /* an encrypted core: byte lengths hide the padding; a wrong key is an error, never data */
  hc_storage_factory *f;
  CHECK_OK(hc_storage_memory_factory_new(&f));
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.encryption_key = key;
  hc_core *c;
  CHECK_OK(hc_core_open(&c, f, &o));
  CHECK_EQ(hc_core_padding(c), 8);
  append_str(c, "secret one");
  append_str(c, "two");
  CHECK_EQ(hc_core_byte_length(c), 13);
  uint8_t *b;
  size_t bl;
  int rc = hc_core_get_alloc(c, 0, &b, &bl);
  check_get(HC_OK, rc, b, bl, "secret one");
  uint64_t idx, off;
  CHECK_OK(hc_core_seek(c, 11, &idx, &off));
  CHECK(idx == 1 && off == 1);
  uint64_t bad;
  CHECK_OK(hc_core_verify(c, &bad));
  uint8_t wrong[32];
  memset(wrong, 3, 32);
  CHECK_OK(hc_core_set_encryption_key(c, wrong, false));
  CHECK_RC(hc_core_get_alloc(c, 0, &b, &bl), HC_ERR_DECRYPT);
  CHECK_OK(hc_core_set_encryption_key(c, NULL, false)); /* raw: the stored form */
  CHECK_OK(hc_core_get_alloc(c, 0, &b, &bl));
  CHECK_EQ(bl, 18);
  CHECK(memcmp(b + 8, "secret one", 10) != 0);
  hc_free(b);
  hc_core_close(c);
  hc_storage_factory_free(f);
}

static void test_ids(void) {
  uint8_t key[32], back[32];
  CHECK_OK(hc_hex_decode(key, 32, "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"));
  char id[HC_ID_CHARS + 1];
  hc_id_encode(id, key);
  CHECK(strcmp(id, "tkrq8zmwb8a3m9k15csu3q17qmfgqnp9dskbrg9uq1rydpyxp7qy") == 0);
  CHECK_OK(hc_id_decode(back, id));
  CHECK_MEM(back, key, 32);
  CHECK_OK(hc_id_decode(back, "pear://tkrq8zmwb8a3m9k15csu3q17qmfgqnp9dskbrg9uq1rydpyxp7qy/app"));
  CHECK_MEM(back, key, 32);
  CHECK_OK(hc_id_decode(back, "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"));
  CHECK_MEM(back, key, 32);
  CHECK_RC(hc_id_decode(back, "tkrq8zmwb8a3m9k15csu3q17qmfgqnp9dskbrg9uq1rydpyxp7q0"), HC_ERR_INVALID_ARG);
  CHECK_RC(hc_id_decode(back, "abc"), HC_ERR_INVALID_ARG);
}

int main(void) {
  CHECK_OK(hc_crypto_init());
  test_sessions();
  test_batches();
  test_iter_and_bytes();
  test_events();
  test_encryption();
  test_ids();
  printf("test_session: ok\n");
  return 0;
}
