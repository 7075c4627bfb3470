/* Core log: create/open/append/get/truncate/clear/seek/user data/snapshots/verify on both
 * storage backends, reopen and replay, and bad input (corrupt files, wrong key, torn oplog). */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "test_util.h"

static const uint8_t SEED[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static hc_core_opts opts_seed(void) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = SEED;
  return o;
}

static hc_core_opts opts_plain(void) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  return o;
}

static void append_str(hc_core *c, const char *s) {
  hc_buf b = {(const uint8_t *)s, strlen(s)};
  CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
}

static void check_block(hc_core *c, uint64_t i, const char *want) {
  uint8_t *out;
  size_t len;
  CHECK_OK(hc_core_get_alloc(c, i, &out, &len));
  CHECK_EQ(len, strlen(want));
  CHECK(memcmp(out, want, len) == 0);
  hc_free(out);
}

/* The compat sequence of the vectors: a, b, c, "hello world", 5000 bytes, truncate(3)... */
static void test_vectors_sequence(hc_storage_factory *f) {
  hc_core *c;
  hc_core_opts o = opts_seed();
  CHECK_OK(hc_core_open(&c, f, &o));
  CHECK_HEX(hc_core_key(c), "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  CHECK_HEX(hc_core_discovery_key(c), "c1feb82a2b3ba065ffed9f6addcf19ac250793bcab748986a1b4272c62da20e6");
  uint8_t h[32];
  CHECK_OK(hc_core_tree_hash(c, 0, h));
  CHECK_HEX(h, "bb30a42c1e62f0afda5f0a4e8a562f7a13a24cea00ee81917b86b89e801314aa");
  hc_buf abc[3] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1}, {(const uint8_t *)"c", 1}};
  uint64_t len, bytes;
  CHECK_OK(hc_core_append(c, abc, 3, &len, &bytes));
  CHECK_EQ(len, 3);
  CHECK_EQ(bytes, 3);
  append_str(c, "hello world");
  uint8_t big[5000];
  for (int i = 0; i < 5000; i++) big[i] = (uint8_t)(i & 0xff);
  hc_buf bb = {big, sizeof big};
  CHECK_OK(hc_core_append(c, &bb, 1, &len, &bytes));
  CHECK_EQ(len, 5);
  CHECK_EQ(bytes, 5014);
  static const char *by_len[6] = {
      "bb30a42c1e62f0afda5f0a4e8a562f7a13a24cea00ee81917b86b89e801314aa",
      "b06219c834e8e4da41e42b3c8239f4d1805a388c5dd03eff3777e6532ec72f27",
      "3424a063fb40dfef317c8ca38fb8c37dfdbccac669582f6f9cddd22bbdf9c044",
      "7ea73eb86179fb7328e73663f90f4c91256574af1112efe97fdf9309e03b67a7",
      "62734e9f4290093217918710d0f44d41e692a765ad99e92e54d05852b12ee197",
      "2ef988112fcff5b3e3011de7bda5b858e4d81afb0af6d59e3d22f2f7285cd50d"};
  for (uint64_t l = 0; l <= 5; l++) {
    CHECK_OK(hc_core_tree_hash(c, l, h));
    CHECK_HEX(h, by_len[l]);
  }
  /* leaf hash of 'a' is the vectors' 423177bd...8d4a */
  check_block(c, 0, "a");
  check_block(c, 3, "hello world");
  CHECK(hc_core_has(c, 0, 5));
  CHECK(!hc_core_has(c, 0, 6));
  uint64_t idx, off;
  CHECK_OK(hc_core_seek(c, 5, &idx, &off));
  CHECK_EQ(idx, 3);
  CHECK_EQ(off, 2);
  CHECK_OK(hc_core_seek(c, 5014, &idx, &off));
  CHECK_EQ(idx, 5);
  CHECK_EQ(off, 0);
  CHECK_RC(hc_core_seek(c, 5015, &idx, &off), HC_ERR_OUT_OF_RANGE);

  hc_snapshot *snap;
  CHECK_OK(hc_core_snapshot(c, 4, &snap));
  uint8_t h4[32], hs[32];
  CHECK_OK(hc_core_tree_hash(c, 4, h4));
  CHECK_OK(hc_snapshot_tree_hash(snap, hs));
  CHECK_MEM(h4, hs, 32);
  CHECK_EQ(hc_snapshot_byte_length(snap), 14);

  CHECK_OK(hc_core_truncate(c, 3));
  CHECK_EQ(hc_core_length(c), 3);
  CHECK_EQ(hc_core_fork(c), 1);
  CHECK_EQ(hc_core_byte_length(c), 3);
  CHECK_RC(hc_core_get_alloc(c, 3, &(uint8_t *){NULL}, NULL), HC_ERR_OUT_OF_RANGE);
  /* the snapshot still has its tree hash, blocks below the truncation, and knows the rest is gone */
  CHECK_OK(hc_snapshot_tree_hash(snap, hs));
  CHECK_MEM(h4, hs, 32);
  uint8_t *sb;
  size_t sl;
  CHECK_OK(hc_snapshot_get_alloc(snap, 2, &sb, &sl));
  CHECK(sl == 1 && sb[0] == 'c');
  hc_free(sb);
  CHECK_RC(hc_snapshot_get_alloc(snap, 3, &sb, &sl), HC_ERR_SNAPSHOT_STALE);
  hc_snapshot_free(snap);

  append_str(c, "d");
  append_str(c, "e");
  CHECK_EQ(hc_core_length(c), 5);
  CHECK_OK(hc_core_tree_hash(c, 5, h));
  /* final compat tree hash of the vectors (compat.final.treeHash) */
  CHECK_HEX(h, "93745e7d61224e1cfdb6004d598bb7a58535e9485fb74182c55beb1eac67a641");
  uint64_t bad;
  CHECK_OK(hc_core_verify(c, &bad));
  size_t siglen;
  const uint8_t *sig = hc_core_signature(c, &siglen);
  CHECK_EQ(siglen, 64);
  CHECK_HEX(sig, "29805f2db15d7e2ba7f18d06538488a31031e1867066722fcee7e2acc3d401173ec518c0efbb8c5ab2a75d69814c98f5d8b54baadcdad13449c69215705e6e0a");
  hc_core_close(c);

  /* reopen: replay or flushed state gives the same */
  CHECK_OK(hc_core_open(&c, f, &o));
  CHECK_EQ(hc_core_length(c), 5);
  CHECK_EQ(hc_core_fork(c), 1);
  CHECK_OK(hc_core_tree_hash(c, 5, h));
  CHECK_HEX(h, "93745e7d61224e1cfdb6004d598bb7a58535e9485fb74182c55beb1eac67a641");
  check_block(c, 3, "d");
  check_block(c, 4, "e");
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);
}

static void test_many_appends_reopen(hc_storage_factory *f) {
  hc_core *c;
  hc_core_opts o = opts_plain();
  CHECK_OK(hc_core_open(&c, f, &o));
  uint8_t key[32];
  memcpy(key, hc_core_key(c), 32);
  char buf[64];
  for (int i = 0; i < 300; i++) {
    snprintf(buf, sizeof buf, "block-%d", i);
    append_str(c, buf);
  }
  /* batch with empty and large blocks */
  static uint8_t large[1 << 20];
  for (size_t i = 0; i < sizeof large; i++) large[i] = (uint8_t)(i * 7 + 3);
  hc_buf bs[3] = {{NULL, 0}, {large, sizeof large}, {(const uint8_t *)"x", 1}};
  uint64_t len;
  CHECK_OK(hc_core_append(c, bs, 3, &len, NULL));
  CHECK_EQ(len, 303);
  CHECK_OK(hc_core_set_user_data(c, "hello", (const uint8_t *)"world", 5));
  uint8_t th[32];
  CHECK_OK(hc_core_tree_hash(c, 303, th));
  hc_core_close(c);

  o.key = key;
  CHECK_OK(hc_core_open(&c, f, &o));
  CHECK_EQ(hc_core_length(c), 303);
  CHECK(hc_core_writable(c));
  uint8_t th2[32];
  CHECK_OK(hc_core_tree_hash(c, 303, th2));
  CHECK_MEM(th, th2, 32);
  for (int i = 0; i < 300; i += 37) {
    snprintf(buf, sizeof buf, "block-%d", i);
    check_block(c, (uint64_t)i, buf);
  }
  uint8_t *out;
  size_t n;
  CHECK_OK(hc_core_get_alloc(c, 300, &out, &n));
  CHECK_EQ(n, 0);
  hc_free(out);
  CHECK_OK(hc_core_get_alloc(c, 301, &out, &n));
  CHECK_EQ(n, sizeof large);
  CHECK(memcmp(out, large, n) == 0);
  hc_free(out);
  uint8_t small[4];
  size_t got;
  CHECK_RC(hc_core_get(c, 301, small, sizeof small, &got), HC_ERR_NOBUF);
  CHECK_EQ(got, sizeof large);
  const uint8_t *ud;
  size_t udl;
  CHECK_OK(hc_core_get_user_data(c, "hello", &ud, &udl));
  CHECK(udl == 5 && memcmp(ud, "world", 5) == 0);
  CHECK_OK(hc_core_set_user_data(c, "hello", NULL, 0));
  CHECK_RC(hc_core_get_user_data(c, "hello", &ud, &udl), HC_ERR_NOT_FOUND);

  /* clear: has() false, get() not available, tree unchanged */
  uint64_t freed;
  CHECK_OK(hc_core_clear(c, 10, 20, &freed));
  CHECK(!hc_core_has(c, 10, 11));
  CHECK(hc_core_has(c, 0, 10));
  CHECK(hc_core_has(c, 20, 303));
  CHECK_RC(hc_core_get_alloc(c, 15, &out, &n), HC_ERR_NOT_AVAILABLE);
  CHECK_EQ(hc_core_contiguous_length(c), 10);
  CHECK_OK(hc_core_tree_hash(c, 303, th2));
  CHECK_MEM(th, th2, 32);
  uint64_t bad;
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);

  /* wrong key */
  uint8_t other[32];
  memcpy(other, key, 32);
  other[0] ^= 1;
  o.key = other;
  CHECK_RC(hc_core_open(&c, f, &o), HC_ERR_KEY_MISMATCH);
}

static void test_readonly_clone_and_errors(hc_storage_factory *f) {
  hc_core *c;
  uint8_t key[32];
  memset(key, 7, 32);
  hc_core_opts o = opts_plain();
  o.key = key;
  CHECK_OK(hc_core_open(&c, f, &o));
  CHECK(!hc_core_writable(c));
  CHECK_EQ(hc_core_length(c), 0);
  hc_buf b = {(const uint8_t *)"x", 1};
  CHECK_RC(hc_core_append(c, &b, 1, NULL, NULL), HC_ERR_NOT_WRITABLE);
  CHECK_RC(hc_core_truncate(c, 0), HC_ERR_NOT_WRITABLE);
  hc_core_close(c);
  o.no_create = true;
  o.key = NULL;
  hc_storage_factory *empty;
  CHECK_OK(hc_storage_memory_factory_new(&empty));
  CHECK_RC(hc_core_open(&c, empty, &o), HC_ERR_NO_CORE);
  hc_storage_factory_free(empty);
}

static void test_lock(const char *dir) {
  hc_core *a, *b;
  hc_core_opts o = opts_plain();
  CHECK_OK(hc_core_open_dir(&a, dir, &o));
  CHECK_RC(hc_core_open_dir(&b, dir, &o), HC_ERR_LOCKED);
  o.readonly = true;
  CHECK_OK(hc_core_open_dir(&b, dir, &o)); /* readers do not lock */
  hc_core_close(b);
  hc_core_close(a);
}

/* ---- corruption on files ---- */

static void write_at(const char *dir, const char *name, long off, const void *p, size_t n) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY);
  CHECK(fd >= 0);
  CHECK(pwrite(fd, p, n, off) == (ssize_t)n);
  close(fd);
}

static void append_file(const char *dir, const char *name, const void *p, size_t n) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_APPEND);
  CHECK(fd >= 0);
  CHECK(write(fd, p, n) == (ssize_t)n);
  close(fd);
}

static void truncate_file(const char *dir, const char *name, off_t size) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  CHECK(truncate(path, size) == 0);
}

static void copy_dir(const char *from, const char *to) {
  char cmd[9000];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s' && chmod -R u+w '%s'", to, from, to, to);
  CHECK(system(cmd) == 0);
}

static void make_core(const char *dir, int n) {
  hc_core *c;
  hc_core_opts o = opts_seed();
  o.overwrite = true;
  CHECK_OK(hc_core_open_dir(&c, dir, &o));
  char buf[64];
  for (int i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, "block-number-%d", i);
    append_str(c, buf);
  }
  CHECK_OK(hc_core_flush(c));
  hc_core_close(c);
}

static void test_corruption(const char *base) {
  char good[4096], dir[4200];
  snprintf(good, sizeof good, "%s/good", base);
  snprintf(dir, sizeof dir, "%s/bad", base);
  make_core(good, 20);
  hc_core *c;
  hc_core_opts ro = opts_plain();
  ro.readonly = true;
  uint64_t bad;
  uint8_t *out;
  size_t n;

  /* flipped data byte: get of that block fails with BAD_CHECKSUM, verify names it */
  copy_dir(good, dir);
  write_at(dir, "data", 5 * 15 + 3, "Z", 1); /* inside block 5 ("block-number-5" is 14 bytes) */
  CHECK_OK(hc_core_open_dir(&c, dir, &ro));
  uint64_t off5;
  CHECK_OK(hc_core_byte_offset(c, 5, &off5));
  hc_core_close(c);
  copy_dir(good, dir);
  write_at(dir, "data", (long)off5 + 3, "Z", 1);
  CHECK_OK(hc_core_open_dir(&c, dir, &ro));
  CHECK_RC(hc_core_get_alloc(c, 5, &out, &n), HC_ERR_BAD_CHECKSUM);
  check_block(c, 4, "block-number-4");
  CHECK_RC(hc_core_verify(c, &bad), HC_ERR_BAD_CHECKSUM);
  CHECK_EQ(bad, 5);
  hc_core_close(c);

  /* corrupt tree leaf node: that block does not verify */
  copy_dir(good, dir);
  write_at(dir, "tree", 40 * 14 + 10, "\xff", 1); /* leaf of block 7 */
  CHECK_OK(hc_core_open_dir(&c, dir, &ro));
  CHECK_RC(hc_core_get_alloc(c, 7, &out, &n), HC_ERR_BAD_CHECKSUM);
  CHECK_RC(hc_core_verify(c, &bad), HC_ERR_BAD_CHECKSUM);
  CHECK_EQ(bad, 7);
  hc_core_close(c);

  /* corrupt parent node: verify fails */
  copy_dir(good, dir);
  write_at(dir, "tree", 40 * 5 + 20, "\x01", 1);
  CHECK_OK(hc_core_open_dir(&c, dir, &ro));
  CHECK(hc_core_verify(c, &bad) != HC_OK);
  uint8_t buf[64];
  size_t got;
  CHECK(hc_core_get_verified(c, 0, buf, sizeof buf, &got) != HC_OK); /* node 5 is the sibling on block 0's path */
  CHECK_OK(hc_core_get_verified(c, 12, buf, sizeof buf, &got));
  hc_core_close(c);

  /* corrupt root (node 15 for 20 blocks is a root): signature check fails */
  copy_dir(good, dir);
  write_at(dir, "tree", 40 * 15 + 20, "\x01", 1);
  CHECK_OK(hc_core_open_dir(&c, dir, &ro));
  CHECK_RC(hc_core_verify(c, &bad), HC_ERR_BAD_SIGNATURE);
  hc_core_close(c);
  /* ... and a writer refuses to extend (and re-sign) that corrupt tree */
  {
    hc_core_opts wo = opts_plain();
    CHECK_OK(hc_core_open_dir(&c, dir, &wo));
    hc_buf nb = {(const uint8_t *)"x", 1};
    CHECK_RC(hc_core_append(c, &nb, 1, NULL, NULL), HC_ERR_CORRUPT);
    CHECK_EQ(hc_core_length(c), 20);
    hc_core_close(c);
  }

  /* truncated data file: blocks past the end are corrupt, earlier ones fine */
  copy_dir(good, dir);
  truncate_file(dir, "data", 40);
  CHECK_OK(hc_core_open_dir(&c, dir, &ro));
  check_block(c, 0, "block-number-0");
  CHECK(hc_core_get_alloc(c, 10, &out, &n) != HC_OK);
  CHECK(hc_core_verify(c, &bad) != HC_OK);
  hc_core_close(c);

  /* truncated tree file: roots missing -> open refuses */
  copy_dir(good, dir);
  truncate_file(dir, "tree", 40 * 10);
  CHECK_RC(hc_core_open_dir(&c, dir, &ro), HC_ERR_CORRUPT);

  /* both oplog header slots destroyed: corrupt */
  copy_dir(good, dir);
  write_at(dir, "oplog", 0, "\0\0\0\0\0\0\0\0", 8);
  write_at(dir, "oplog", 4096, "\0\0\0\0\0\0\0\0", 8);
  CHECK_RC(hc_core_open_dir(&c, dir, &ro), HC_ERR_CORRUPT);

  /* garbage after the last valid oplog entry: ignored (and trimmed when writable) */
  hc_core_opts w = opts_plain();
  copy_dir(good, dir);
  {
    CHECK_OK(hc_core_open_dir(&c, dir, &w));
    append_str(c, "unflushed-1"); /* first op after open flushes; the next stays in the oplog */
    append_str(c, "unflushed-2");
    hc_core_close(c);
  }
  append_file(dir, "oplog", "garbage-garbage-garbage", 23);
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  CHECK_EQ(hc_core_length(c), 22);
  check_block(c, 21, "unflushed-2");
  CHECK_OK(hc_core_verify(c, &bad));
  append_str(c, "after-garbage");
  CHECK_EQ(hc_core_length(c), 23);
  hc_core_close(c);

  /* torn last entry (half written): the previous state survives */
  copy_dir(good, dir);
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  append_str(c, "u1");
  append_str(c, "u2");
  hc_core_close(c);
  {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/oplog", dir);
    CHECK(stat(path, &st) == 0);
    CHECK(st.st_size > 8192);
    truncate_file(dir, "oplog", st.st_size - 5);
  }
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  CHECK_EQ(hc_core_length(c), 21);
  check_block(c, 20, "u1");
  CHECK_OK(hc_core_verify(c, &bad));
  hc_core_close(c);

  /* torn header slot write: the other slot is used */
  copy_dir(good, dir);
  CHECK_OK(hc_core_open_dir(&c, dir, &ro));
  uint8_t th[32];
  CHECK_OK(hc_core_tree_hash(c, hc_core_length(c), th));
  hc_core_close(c);
  /* make a new header flip then tear it */
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  CHECK_OK(hc_core_set_user_data(c, "k", (const uint8_t *)"v", 1)); /* flushes (first op) */
  hc_core_close(c);
  /* tear whichever slot is newest: try both, one of the two must still open at length 20 */
  for (int slot = 0; slot < 2; slot++) {
    char d2[4300];
    snprintf(d2, sizeof d2, "%s/torn%d", base, slot);
    copy_dir(dir, d2);
    write_at(d2, "oplog", slot * 4096 + 20, "\x55\x55", 2);
    int rc = hc_core_open_dir(&c, d2, &ro);
    CHECK_OK(rc);
    CHECK_EQ(hc_core_length(c), 20);
    CHECK_OK(hc_core_verify(c, &bad));
    hc_core_close(c);
  }

  /* v9 tree header: incompatible */
  copy_dir(good, dir);
  write_at(dir, "tree", 0, "\x05\x02\x57\x02\x00\x00\x28\x07\x42\x4c\x41\x4b\x45\x32\x62", 15);
  CHECK_RC(hc_core_open_dir(&c, dir, &ro), HC_ERR_INCOMPATIBLE);

  /* a different key stored there */
  copy_dir(good, dir);
  uint8_t k[32] = {9};
  ro.key = k;
  CHECK_RC(hc_core_open_dir(&c, dir, &ro), HC_ERR_KEY_MISMATCH);
}

/* The reference's own cores open and verify. */
static void test_reference_dirs(const char *base) {
  const char *names[] = {"core-compat", "core-noncompat", "core-unflushed"};
  for (int i = 0; i < 3; i++) {
    char src[4200], dst[4200];
    snprintf(src, sizeof src, "%s", shared_path("vectors/"));
    strncat(src, names[i], sizeof src - strlen(src) - 1);
    snprintf(dst, sizeof dst, "%s/%s", base, names[i]);
    copy_dir(src, dst);
    hc_core *c;
    hc_core_opts o = opts_plain();
    CHECK_OK(hc_core_open_dir(&c, dst, &o));
    uint64_t bad;
    CHECK_OK(hc_core_verify(c, &bad));
    CHECK(hc_core_length(c) > 0);
    if (i == 0) {
      CHECK_EQ(hc_core_length(c), 5);
      CHECK_EQ(hc_core_fork(c), 1);
      CHECK_HEX(hc_core_key(c), "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
      check_block(c, 3, "d");
    }
    if (i == 1) {
      CHECK_HEX(hc_core_key(c), "d8c3a0597903b28d751c6e0b7107775e388ec5a3cf669bdd1e7ec41b8b8f6e72");
      /* non-compat: appending signs with the 68-byte multisig container */
      size_t sl;
      append_str(c, "more");
      hc_core_signature(c, &sl);
      CHECK_EQ(sl, 68);
      CHECK_OK(hc_core_verify(c, &bad));
    }
    if (i == 2) CHECK(!hc_core_has(c, 1, 2)); /* cleared block 1 */
    hc_core_close(c);
  }
}

/* Sequential reads go through a read-ahead buffer: every write to the data file (append after
 * a truncation, clear) must drop it, so reads see the new bytes, never the old ones. */
static void test_readahead(hc_storage_factory *f) {
  hc_core *c;
  hc_core_opts o = opts_plain();
  CHECK_OK(hc_core_open(&c, f, &o));
  char buf[64];
  for (int i = 0; i < 200; i++) {
    snprintf(buf, sizeof buf, "old-%03d", i);
    append_str(c, buf);
  }
  for (int i = 0; i < 200; i++) { /* in order: served from the read-ahead */
    snprintf(buf, sizeof buf, "old-%03d", i);
    check_block(c, (uint64_t)i, buf);
  }
  /* same offsets, new bytes */
  CHECK_OK(hc_core_truncate(c, 50));
  for (int i = 50; i < 200; i++) {
    snprintf(buf, sizeof buf, "NEW-%03d", i);
    append_str(c, buf);
  }
  for (int i = 0; i < 200; i++) {
    snprintf(buf, sizeof buf, i < 50 ? "old-%03d" : "NEW-%03d", i);
    check_block(c, (uint64_t)i, buf);
  }
  /* a read into the middle of the buffered range, then a clear of blocks inside it */
  check_block(c, 10, "old-010");
  check_block(c, 11, "old-011");
  CHECK_OK(hc_core_clear(c, 12, 20, NULL));
  uint8_t out[64];
  size_t len;
  CHECK_EQ(hc_core_get(c, 12, out, sizeof out, &len), HC_ERR_NOT_AVAILABLE);
  check_block(c, 20, "old-020");
  /* an append right after a sequential read of the last block */
  check_block(c, 199, "NEW-199");
  append_str(c, "tail-200");
  check_block(c, 200, "tail-200");
  /* big blocks bypass the read-ahead but mix with small ones in order */
  static uint8_t big[100000];
  memset(big, 0x5a, sizeof big);
  hc_buf bb[3] = {{(const uint8_t *)"s1", 2}, {big, sizeof big}, {(const uint8_t *)"s2", 2}};
  CHECK_OK(hc_core_append(c, bb, 3, NULL, NULL));
  check_block(c, 200, "tail-200");
  check_block(c, 201, "s1");
  uint8_t *bo;
  CHECK_OK(hc_core_get_alloc(c, 202, &bo, &len));
  CHECK_EQ(len, sizeof big);
  CHECK(memcmp(bo, big, len) == 0);
  hc_free(bo);
  check_block(c, 203, "s2");
  CHECK_OK(hc_core_verify(c, NULL));
  hc_core_close(c);
}

/* Applies block i of `src` to `dst` with the fewest nodes that verify (what a peer asks for). */
static void apply_block(hc_core *src, hc_core *dst, uint64_t i) {
  for (uint64_t nodes = 0; nodes < 64; nodes++) {
    hc_proof_request rq;
    memset(&rq, 0, sizeof rq);
    rq.has_block = true;
    rq.block_index = i;
    rq.block_nodes = nodes;
    uint8_t *pf;
    size_t pl;
    if (hc_core_proof(src, &rq, 1, &pf, &pl) != HC_OK) continue;
    int rc = hc_core_verify_proof(dst, pf, pl);
    if (rc == HC_OK) CHECK_OK(hc_core_apply_proof(dst, pf, pl));
    hc_free(pf);
    if (rc == HC_OK) return;
  }
  CHECK(!"no proof verifies");
}

/* Downloads into a sparse core after sequential reads of it (the read-ahead also covered the
 * holes, as zeros): the new blocks must be read from the file, not from the stale buffer. */
static void test_readahead_download(hc_storage_factory *fa, hc_storage_factory *fb) {
  hc_core *a, *b;
  hc_core_opts o = opts_plain();
  CHECK_OK(hc_core_open(&a, fa, &o));
  char buf[64];
  for (int i = 0; i < 40; i++) {
    snprintf(buf, sizeof buf, "download-%02d", i);
    append_str(a, buf);
  }
  hc_core_opts ob = opts_plain();
  ob.key = hc_core_key(a);
  CHECK_OK(hc_core_open(&b, fb, &ob));
  hc_proof_request up;
  memset(&up, 0, sizeof up);
  up.has_upgrade = true;
  up.upgrade_length = 40;
  uint8_t *pf;
  size_t pl;
  CHECK_OK(hc_core_proof(a, &up, 1, &pf, &pl));
  CHECK_OK(hc_core_apply_proof(b, pf, pl));
  hc_free(pf);
  CHECK_EQ(hc_core_length(b), 40);
  apply_block(a, b, 39); /* the data file now spans the holes (no short read) */
  for (uint64_t i = 0; i < 20; i++) apply_block(a, b, i);
  for (int i = 0; i < 20; i++) {
    snprintf(buf, sizeof buf, "download-%02d", i);
    check_block(b, (uint64_t)i, buf);
  }
  for (uint64_t i = 20; i < 39; i++) apply_block(a, b, i);
  for (int i = 20; i < 40; i++) {
    snprintf(buf, sizeof buf, "download-%02d", i);
    check_block(b, (uint64_t)i, buf);
  }
  CHECK_OK(hc_core_verify(b, NULL));
  hc_core_close(b);
  hc_core_close(a);
}

int main(void) {
  CHECK_OK(hc_crypto_init());
  hc_storage_factory *mem;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  test_vectors_sequence(mem);
  hc_storage_factory_free(mem);

  const char *base = test_tmpdir("core");
  char dir[4200];
  hc_storage_factory *file;
  snprintf(dir, sizeof dir, "%s/vec", base);
  CHECK_OK(hc_storage_file_factory_new(&file, dir));
  test_vectors_sequence(file);
  hc_storage_factory_free(file);

  CHECK_OK(hc_storage_memory_factory_new(&mem));
  test_many_appends_reopen(mem);
  hc_storage_factory_free(mem);
  snprintf(dir, sizeof dir, "%s/many", base);
  CHECK_OK(hc_storage_file_factory_new(&file, dir));
  test_many_appends_reopen(file);
  hc_storage_factory_free(file);

  CHECK_OK(hc_storage_memory_factory_new(&mem));
  test_readahead(mem);
  hc_storage_factory_free(mem);
  snprintf(dir, sizeof dir, "%s/readahead", base);
  CHECK_OK(hc_storage_file_factory_new(&file, dir));
  test_readahead(file);
  hc_storage_factory_free(file);
  hc_storage_factory *mem2;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  CHECK_OK(hc_storage_memory_factory_new(&mem2));
  test_readahead_download(mem, mem2);
  hc_storage_factory_free(mem);
  hc_storage_factory_free(mem2);

  CHECK_OK(hc_storage_memory_factory_new(&mem));
  test_readonly_clone_and_errors(mem);
  hc_storage_factory_free(mem);

  snprintf(dir, sizeof dir, "%s/lock", base);
  test_lock(dir);
  test_corruption(base);
  test_reference_dirs(base);
  printf("test_core: ok\n");
  return 0;
}
