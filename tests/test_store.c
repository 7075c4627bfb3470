/* The corestore 6 store: key derivation (vectors from corestore@6.18.4), layout, lock, the
 * open-core LRU, listing, bad stores, and serving every core on demand over a replicator. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "test_util.h"

static const char *PK01 = "0101010101010101010101010101010101010101010101010101010101010101";

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  CHECK(f);
  CHECK(fwrite(data, 1, len, f) == len);
  fclose(f);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static size_t count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  CHECK(d);
  size_t n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

static hc_store *open_store(const char *dir, bool create, size_t max_open) {
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.create = create;
  o.max_open_cores = max_open;
  uint8_t pk[32];
  CHECK_OK(hc_hex_decode(pk, 32, PK01));
  o.primary_key = pk;
  hc_store *s;
  CHECK_OK(hc_store_open(&s, dir, &o));
  return s;
}

static int try_open(const char *dir, bool create, bool readonly) {
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.create = create;
  o.readonly = readonly;
  hc_store *s = NULL;
  int rc = hc_store_open(&s, dir, &o);
  hc_store_close(s);
  return rc;
}

/* Keys corestore 6.18.4 gives with primary key 01*32 (checked live in test-store-cs6.js). */
static void test_derivation(void) {
  uint8_t pk[32], pub[32], sec[64], ns[32], ns2[32];
  CHECK_OK(hc_hex_decode(pk, 32, PK01));
  hc_store_derive_key_pair(pk, NULL, (const uint8_t *)"foo", 3, pub, sec);
  CHECK_HEX(pub, "4bc55274db3843451c2399a6a53b12825e1bd1997a1c173997ad1fd30731e050");
  CHECK_MEM(sec + 32, pub, 32);
  hc_store_namespace(ns, NULL, (const uint8_t *)"a", 1);
  hc_store_namespace(ns2, ns, (const uint8_t *)"b", 1);
  CHECK_HEX(ns2, "d0ae678ce0be4526c454bcfa0f859c859311a6425338c4430c5f70fcffd98dd1");
  hc_store_derive_key_pair(pk, ns2, (const uint8_t *)"bar", 3, pub, sec);
  CHECK_HEX(pub, "b2dc69e6d1c919d7e9449b352a57253f12f1ded06670f2906a499e29f0c0a4c9");
  /* an explicit root namespace is the default one */
  uint8_t zero[32] = {0}, pub2[32];
  hc_store_derive_key_pair(pk, zero, (const uint8_t *)"foo", 3, pub2, sec);
  CHECK_HEX(pub2, "4bc55274db3843451c2399a6a53b12825e1bd1997a1c173997ad1fd30731e050");
}

static void test_layout_and_lock(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/s", test_tmpdir("store-layout"));
  CHECK_RC(try_open(dir, false, false), HC_ERR_NOT_FOUND);
  CHECK_EQ(hc_store_probe(dir), HC_STORE_KIND_MISSING);
  hc_store *s = open_store(dir, true, 0);
  CHECK_EQ(hc_store_probe(dir), HC_STORE_KIND_CORESTORE6);
  char p[4200];
  snprintf(p, sizeof p, "%s/primary-key", dir);
  CHECK_EQ(file_size(p), 32);
  /* the lock: a second writer is refused, a read-only open is not */
  CHECK_RC(try_open(dir, false, false), HC_ERR_LOCKED);
  CHECK_RC(try_open(dir, false, true), HC_OK);

  hc_core *a, *a2, *r;
  CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)"foo", 3, &a));
  CHECK_HEX(hc_core_key(a), "4bc55274db3843451c2399a6a53b12825e1bd1997a1c173997ad1fd30731e050");
  CHECK(hc_core_writable(a));
  hc_buf b = {(const uint8_t *)"hello", 5};
  CHECK_OK(hc_core_append(a, &b, 1, NULL, NULL));
  CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)"foo", 3, &a2));
  CHECK(a == a2);
  const uint8_t *v;
  size_t vl;
  CHECK_OK(hc_core_get_user_data(a, "corestore/name", &v, &vl));
  CHECK(vl == 3 && memcmp(v, "foo", 3) == 0);
  CHECK_OK(hc_core_get_user_data(a, "corestore/namespace", &v, &vl));
  CHECK_EQ(vl, 32);
  /* layout: cores/<dk[0:2]>/<dk[2:4]>/<dk> */
  char dkhex[65];
  hc_hex_encode(dkhex, hc_core_discovery_key(a), 32);
  snprintf(p, sizeof p, "%s/cores/%.2s/%.2s/%s/oplog", dir, dkhex, dkhex + 2, dkhex);
  CHECK(file_size(p) > 0);
  char *cp = hc_store_core_path(s, hc_core_discovery_key(a));
  CHECK(cp && strstr(p, cp) == p);
  hc_free(cp);
  hc_store_release(s, a);
  hc_store_release(s, a2);

  /* by key: missing without create, a read-only replica with it */
  uint8_t key[32];
  memset(key, 7, 32);
  CHECK_RC(hc_store_get_key(s, key, false, &r), HC_ERR_NOT_FOUND);
  uint8_t dk[32];
  hc_store_discovery_key(dk, key);
  CHECK_RC(hc_store_get_discovery_key(s, dk, &r), HC_ERR_NOT_FOUND);
  cp = hc_store_core_path(s, dk);
  CHECK(file_size(cp) < 0); /* nothing created */
  CHECK_OK(hc_store_get_key(s, key, true, &r));
  CHECK(!hc_core_writable(r));
  CHECK_EQ(hc_core_length(r), 0);
  CHECK(file_size(cp) > 0);
  hc_free(cp);
  hc_store_release(s, r);
  CHECK_OK(hc_store_get_discovery_key(s, dk, &r));
  CHECK_MEM(hc_core_key(r), key, 32);
  hc_store_release(s, r);
  hc_store_close(s);

  /* reopened: the same primary key, the named core writable again by discovery key */
  s = open_store(dir, false, 0);
  uint8_t fk[32];
  CHECK_OK(hc_store_name_key(s, NULL, (const uint8_t *)"foo", 3, fk));
  hc_store_discovery_key(dk, fk);
  CHECK_OK(hc_store_get_discovery_key(s, dk, &a));
  CHECK(hc_core_writable(a));
  CHECK_EQ(hc_core_length(a), 1);
  hc_store_release(s, a);
  hc_store_close(s);
  /* read-only store: no named core is created */
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.readonly = true;
  CHECK_OK(hc_store_open(&s, dir, &o));
  CHECK_RC(hc_store_get_named(s, NULL, (const uint8_t *)"new", 3, &a), HC_ERR_NOT_WRITABLE);
  CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)"foo", 3, &a));
  CHECK_EQ(hc_core_length(a), 1);
  CHECK_RC(hc_core_append(a, &b, 1, NULL, NULL), HC_ERR_NOT_WRITABLE);
  hc_store_release(s, a);
  hc_store_close(s);
  o.version = 99;
  CHECK_RC(hc_store_open(&s, dir, &o), HC_ERR_INVALID_ARG);
}

static void test_bad_stores(void) {
  const char *base = test_tmpdir("store-bad");
  char d[4096], p[4200];
  /* short primary-key: refused, not replaced */
  snprintf(d, sizeof d, "%s/short", base);
  mkdir(d, 0755);
  write_file(d, "primary-key", "0123456789", 10);
  CHECK_RC(try_open(d, false, false), HC_ERR_CORRUPT);
  CHECK_RC(try_open(d, true, false), HC_ERR_CORRUPT);
  snprintf(p, sizeof p, "%s/primary-key", d);
  CHECK_EQ(file_size(p), 10);
  /* cores/ but no primary-key: refused, nothing created */
  snprintf(d, sizeof d, "%s/nokey", base);
  snprintf(p, sizeof p, "%s/cores", d);
  mkdir(d, 0755);
  mkdir(p, 0755);
  CHECK_RC(try_open(d, true, false), HC_ERR_CORRUPT);
  snprintf(p, sizeof p, "%s/primary-key", d);
  CHECK_EQ(file_size(p), -1);
  /* corestore 7 (RocksDB) */
  snprintf(d, sizeof d, "%s/v11", base);
  mkdir(d, 0755);
  write_file(d, "CORESTORE", "", 0);
  CHECK_EQ(hc_store_probe(d), HC_STORE_KIND_ROCKSDB);
  CHECK_RC(try_open(d, true, false), HC_ERR_INCOMPATIBLE);
  snprintf(d, sizeof d, "%s/v11b", base);
  snprintf(p, sizeof p, "%s/db", d);
  mkdir(d, 0755);
  mkdir(p, 0755);
  write_file(p, "CURRENT", "MANIFEST-000005\n", 16);
  CHECK_RC(try_open(d, true, false), HC_ERR_INCOMPATIBLE);
  snprintf(p, sizeof p, "%s/primary-key", d);
  CHECK_EQ(file_size(p), -1);
  /* a lone core, and some other directory */
  snprintf(d, sizeof d, "%s/core", base);
  hc_core *c;
  hc_core_opts co;
  memset(&co, 0, sizeof co);
  co.version = HC_CORE_OPTS_VERSION;
  CHECK_OK(hc_core_open_dir(&c, d, &co));
  hc_core_close(c);
  CHECK_EQ(hc_store_probe(d), HC_STORE_KIND_CORE);
  CHECK_RC(try_open(d, true, false), HC_ERR_NOT_A_STORE);
  snprintf(d, sizeof d, "%s/other", base);
  mkdir(d, 0755);
  write_file(d, "notes.txt", "x", 1);
  CHECK_RC(try_open(d, true, false), HC_ERR_NOT_A_STORE);
  snprintf(p, sizeof p, "%s/primary-key", d);
  CHECK_EQ(file_size(p), -1);
  /* a directory of other things is not a store either */
  CHECK_RC(try_open(base, true, false), HC_ERR_NOT_A_STORE);
}

typedef struct list_acc {
  size_t n, named, bad;
  uint8_t last_dk[32];
} list_acc;

static int list_cb(void *user, const hc_store_entry *e) {
  list_acc *a = user;
  if (a->n) CHECK(memcmp(a->last_dk, e->discovery_key, 32) < 0); /* sorted */
  memcpy(a->last_dk, e->discovery_key, 32);
  a->n++;
  if (e->error) {
    a->bad++;
    return 0;
  }
  uint8_t dk[32];
  hc_store_discovery_key(dk, e->key);
  CHECK_MEM(dk, e->discovery_key, 32);
  if (e->name) {
    a->named++;
    CHECK(e->has_namespace);
    CHECK_EQ(e->length, 3);
    CHECK(e->writable);
  }
  return 0;
}

static int warnings;
static void on_warn(void *user, hc_store *s, const uint8_t dk[32], int err, const char *msg) {
  warnings++;
  CHECK(strstr(msg, "core ") == msg);
}

/* 300 named cores with an LRU of 8: open cores and file descriptors stay bounded. */
static void test_lru_and_list(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/s", test_tmpdir("store-lru"));
  size_t fds0 = count_fds();
  /* 300 cores x 4 files would need 1200 descriptors: with a limit of fds0 + 128 (8 idle and 20
   * pinned cores at most below) the store only works if it keeps its open cores bounded */
  struct rlimit old, lim;
  CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
  lim = old;
  lim.rlim_cur = fds0 + 128;
  CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.create = true;
  o.max_open_cores = 8;
  o.on_warning = on_warn;
  hc_store *s;
  CHECK_OK(hc_store_open(&s, dir, &o));
  uint8_t ns[32];
  hc_store_namespace(ns, NULL, (const uint8_t *)"app", 3);
  uint8_t first_dk[32];
  for (int i = 0; i < 300; i++) {
    char name[32];
    snprintf(name, sizeof name, "core-%d", i);
    hc_core *c;
    CHECK_OK(hc_store_get_named(s, i % 2 ? ns : NULL, (const uint8_t *)name, strlen(name), &c));
    hc_buf b[3] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1}, {(const uint8_t *)"c", 1}};
    if (hc_core_length(c) == 0) CHECK_OK(hc_core_append(c, b, 3, NULL, NULL));
    if (i == 0) memcpy(first_dk, hc_core_discovery_key(c), 32);
    hc_store_release(s, c);
    CHECK(hc_store_open_cores(s) <= 8);
  }
  CHECK(count_fds() <= fds0 + 1 + 8 * 4);
  /* pinned cores are never evicted */
  hc_core *pinned[20];
  for (int i = 0; i < 20; i++) {
    char name[32];
    snprintf(name, sizeof name, "core-%d", i * 2);
    CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)name, strlen(name), &pinned[i]));
  }
  CHECK(hc_store_open_cores(s) >= 20);
  for (int i = 0; i < 20; i++) CHECK_EQ(hc_core_length(pinned[i]), 3);
  for (int i = 0; i < 20; i++) hc_store_release(s, pinned[i]);
  CHECK(hc_store_open_cores(s) <= 8);
  hc_store_set_max_open(s, 2);
  CHECK(hc_store_open_cores(s) <= 2);

  /* corrupt one core: listing reports it and goes on */
  char *cp = hc_store_core_path(s, first_dk);
  char p[4200];
  snprintf(p, sizeof p, "%s/oplog", cp);
  hc_core *c0;
  CHECK_OK(hc_store_get_discovery_key(s, first_dk, &c0));
  hc_store_release(s, c0);
  hc_store_close(s);
  FILE *f = fopen(p, "r+b");
  CHECK(f);
  uint8_t junk[8192];
  memset(junk, 0xa5, sizeof junk);
  CHECK(fwrite(junk, 1, sizeof junk, f) == sizeof junk);
  fclose(f);
  hc_free(cp);
  CHECK_OK(hc_store_open(&s, dir, &o));
  list_acc acc;
  memset(&acc, 0, sizeof acc);
  warnings = 0;
  CHECK_OK(hc_store_list(s, list_cb, &acc));
  CHECK_EQ(acc.n, 300);
  CHECK_EQ(acc.bad, 1);
  CHECK_EQ(acc.named, 299);
  CHECK_EQ(warnings, 1);
  CHECK(hc_store_get_discovery_key(s, first_dk, &c0) != HC_OK);
  CHECK_EQ(hc_store_open_cores(s), 0); /* listing opens nothing for good */
  hc_store_close(s);
  CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
}

/* A named core copied into a store with another primary key is not taken as that name. */
static void test_foreign_name(void) {
  const char *base = test_tmpdir("store-foreign");
  char a_dir[4096], b_dir[4096];
  snprintf(a_dir, sizeof a_dir, "%s/a", base);
  snprintf(b_dir, sizeof b_dir, "%s/b", base);
  hc_store *a = open_store(a_dir, true, 0);
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.create = true; /* random primary key */
  hc_store *b;
  CHECK_OK(hc_store_open(&b, b_dir, &o));
  hc_core *c;
  CHECK_OK(hc_store_get_named(a, NULL, (const uint8_t *)"x", 1, &c));
  uint8_t dk[32];
  memcpy(dk, hc_core_discovery_key(c), 32);
  char *src = hc_store_core_path(a, dk), *dst = hc_store_core_path(b, dk);
  hc_store_release(a, c);
  hc_store_close(a);
  char cmd[9000];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -r '%s'/. '%s'/", dst, src, dst);
  CHECK(system(cmd) == 0);
  CHECK_RC(hc_store_get_discovery_key(b, dk, &c), HC_ERR_KEY_MISMATCH);
  CHECK_EQ(hc_store_open_cores(b), 0);
  hc_free(src);
  hc_free(dst);
  hc_store_close(b);
}

/* ---- serving on demand ---- */

static int pump(hc_replicator *a, hc_replicator *b, uint64_t *now, int rounds) {
  for (int i = 0; i < rounds; i++) {
    bool moved = false;
    hc_replicator *from[2] = {a, b}, *to[2] = {b, a};
    for (int k = 0; k < 2; k++) {
      const uint8_t *d;
      size_t n;
      hc_replicator_pending_out(from[k], &d, &n);
      if (!n) continue;
      moved = true;
      uint8_t *copy = malloc(n);
      CHECK(copy);
      memcpy(copy, d, n);
      hc_replicator_consume_out(from[k], n);
      int rc = hc_replicator_feed(to[k], copy, n, *now);
      free(copy);
      if (rc) return rc;
    }
    *now += 1;
    if (!moved) return HC_OK;
  }
  return HC_OK;
}

static void test_serve(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/s", test_tmpdir("store-serve"));
  enum { N = 40, BLOCKS = 10, UNKNOWN = 2000 };
  hc_store *s = open_store(dir, true, 4);
  uint8_t keys[N][32];
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof name, "served-%d", i);
    hc_core *c;
    CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)name, strlen(name), &c));
    for (int k = 0; k < BLOCKS; k++) {
      char blk[64];
      int n = snprintf(blk, sizeof blk, "core %d block %d", i, k);
      hc_buf b = {(const uint8_t *)blk, (size_t)n};
      CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
    }
    memcpy(keys[i], hc_core_key(c), 32);
    hc_store_release(s, c);
  }
  CHECK(hc_store_open_cores(s) <= 4);
  /* one served core is corrupt: reported and skipped, the others are served */
  hc_store_close(s);
  {
    uint8_t dk[32];
    hc_store_discovery_key(dk, keys[N - 1]);
    hc_store *tmp = open_store(dir, false, 4);
    char *cp = hc_store_core_path(tmp, dk), p[4200];
    hc_store_close(tmp);
    snprintf(p, sizeof p, "%s/oplog", cp);
    hc_free(cp);
    FILE *f = fopen(p, "r+b");
    CHECK(f);
    uint8_t junk[8192];
    memset(junk, 0x3c, sizeof junk);
    CHECK(fwrite(junk, 1, sizeof junk, f) == sizeof junk);
    fclose(f);
  }
  hc_store_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.version = HC_STORE_OPTS_VERSION;
  wo.max_open_cores = 4;
  wo.on_warning = on_warn;
  CHECK_OK(hc_store_open(&s, dir, &wo));
  warnings = 0;

  hc_replicator_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.version = HC_REPLICATOR_OPTS_VERSION;
  hc_replicator *server, *client;
  CHECK_OK(hc_store_replicator_new(s, &server, &ro, NULL, NULL));
  ro.is_initiator = true;
  CHECK_OK(hc_replicator_new(&client, &ro, NULL, NULL));
  /* the reader: every served core, plus many the store does not have */
  hc_storage_factory *f[N + UNKNOWN];
  hc_core *rc_[N + UNKNOWN];
  for (int i = 0; i < N + UNKNOWN; i++) {
    uint8_t k[32];
    if (i < N) memcpy(k, keys[i], 32);
    else {
      memset(k, 0x5a, 32); /* distinct keys no core of the store has */
      memcpy(k, &i, sizeof i);
    }
    CHECK_OK(hc_storage_memory_factory_new(&f[i]));
    hc_core_opts co;
    memset(&co, 0, sizeof co);
    co.version = HC_CORE_OPTS_VERSION;
    co.key = k;
    CHECK_OK(hc_core_open(&rc_[i], f[i], &co));
    CHECK_OK(hc_replicator_add_core(client, rc_[i]));
    if (i < N) CHECK_OK(hc_replicator_download(client, rc_[i], 0, UINT64_MAX));
  }
  uint64_t now = 1;
  bool done = false;
  for (int round = 0; round < 200 && !done; round++) {
    CHECK_OK(pump(client, server, &now, 1000));
    done = true;
    for (int i = 0; i < N - 1; i++)
      if (!hc_replicator_done(client, rc_[i])) done = false;
  }
  CHECK(done);
  CHECK_OK(hc_replicator_error(server));
  CHECK_OK(hc_replicator_error(client));
  CHECK_EQ(hc_core_length(rc_[N - 1]), 0); /* the corrupt one */
  CHECK(warnings >= 1);
  for (int i = 0; i < N - 1; i++) {
    CHECK_EQ(hc_core_length(rc_[i]), BLOCKS);
    uint8_t *blk;
    size_t len;
    CHECK_OK(hc_core_get_alloc(rc_[i], BLOCKS - 1, &blk, &len));
    char want[64];
    int n = snprintf(want, sizeof want, "core %d block %d", i, BLOCKS - 1);
    CHECK(len == (size_t)n && memcmp(blk, want, len) == 0);
    hc_free(blk);
  }
  /* the served cores are pinned for the connection, the unknown ones cost nothing */
  CHECK_EQ(hc_store_open_cores(s), N - 1);
  hc_store_detach(s, server); /* takes the cores off the live replicator, then unpins */
  CHECK(hc_store_open_cores(s) <= 4);
  hc_replicator_free(server);
  hc_replicator_free(client);
  for (int i = 0; i < N + UNKNOWN; i++) {
    hc_core_close(rc_[i]);
    hc_storage_factory_free(f[i]);
  }
  hc_store_close(s);
}

/* A remote asking for more cores than max_served_cores gets the rest refused, not fds. */
static void test_served_cap(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/s", test_tmpdir("store-cap"));
  enum { N = 20, CAP = 5 };
  hc_store *s = open_store(dir, true, 2);
  uint8_t keys[N][32];
  for (int i = 0; i < N; i++) {
    char name[16];
    snprintf(name, sizeof name, "c%d", i);
    hc_core *c;
    CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)name, strlen(name), &c));
    hc_buf b = {(const uint8_t *)name, strlen(name)};
    CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
    memcpy(keys[i], hc_core_key(c), 32);
    hc_store_release(s, c);
  }
  hc_store_close(s);
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.max_open_cores = 2;
  o.max_served_cores = CAP;
  o.on_warning = on_warn;
  CHECK_OK(hc_store_open(&s, dir, &o));
  warnings = 0;
  hc_replicator_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.version = HC_REPLICATOR_OPTS_VERSION;
  hc_replicator *server, *client;
  CHECK_OK(hc_store_replicator_new(s, &server, &ro, NULL, NULL));
  ro.is_initiator = true;
  CHECK_OK(hc_replicator_new(&client, &ro, NULL, NULL));
  hc_storage_factory *f[N];
  hc_core *rc_[N];
  for (int i = 0; i < N; i++) {
    CHECK_OK(hc_storage_memory_factory_new(&f[i]));
    hc_core_opts co;
    memset(&co, 0, sizeof co);
    co.version = HC_CORE_OPTS_VERSION;
    co.key = keys[i];
    CHECK_OK(hc_core_open(&rc_[i], f[i], &co));
    CHECK_OK(hc_replicator_add_core(client, rc_[i]));
    CHECK_OK(hc_replicator_download(client, rc_[i], 0, UINT64_MAX));
  }
  uint64_t now = 1;
  for (int round = 0; round < 50; round++) CHECK_OK(pump(client, server, &now, 1000));
  int served = 0;
  for (int i = 0; i < N; i++) served += hc_core_length(rc_[i]) == 1;
  CHECK_EQ(served, CAP);
  CHECK_EQ(warnings, N - CAP);
  CHECK(hc_store_open_cores(s) <= CAP + 2);
  CHECK_OK(hc_replicator_error(server));
  CHECK_OK(hc_replicator_error(client));
  hc_store_detach(s, server);
  hc_replicator_free(server);
  hc_replicator_free(client);
  for (int i = 0; i < N; i++) {
    hc_core_close(rc_[i]);
    hc_storage_factory_free(f[i]);
  }
  hc_store_close(s);
}

int main(void) {
  test_derivation();
  test_layout_and_lock();
  test_bad_stores();
  test_lru_and_list();
  test_foreign_name();
  test_serve();
  test_served_cap();
  printf("test_store: ok\n");
  return 0;
}
