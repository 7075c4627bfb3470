/* The public API's ABI rules and helpers (include/hypercore.h): versioned structs are checked
 * (HC_ERR_BAD_VERSION) and their HC_*_INIT macros work; key pairs; manifest decoding;
 * hypercore 11 storage is recognised and never written to; the error table is consistent. */
#include <stdbool.h>
#include <sys/stat.h>

#include "hypercore/fault.h"
#include "test_util.h"

static const char *SEED01_KEY = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

static void test_version(void) {
  CHECK(strcmp(hc_version(), HC_VERSION_STRING) == 0);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", HC_VERSION_MAJOR, HC_VERSION_MINOR, HC_VERSION_PATCH);
  CHECK(strcmp(buf, HC_VERSION_STRING) == 0);
  CHECK_EQ(HC_VERSION_NUMBER, HC_VERSION_MAJOR * 10000 + HC_VERSION_MINOR * 100 + HC_VERSION_PATCH);
}

/* Values are unique, start at 0 and go down by one (the integrator renumbers appended codes on
 * merges: a gap or a duplicate shows here); every code has a name and its own message. */
static void test_error_table(void) {
  int values[] = {
#define V(name, value, msg) value,
      HC_ERRNO_MAP(V)
#undef V
  };
  size_t n = sizeof values / sizeof *values;
  for (size_t i = 0; i < n; i++) {
    CHECK_EQ((int64_t)values[i], -(int64_t)i);
    CHECK(strcmp(hc_err_name(values[i]), "HC_ERR_UNKNOWN") != 0);
    CHECK(strcmp(hc_strerror(values[i]), "unknown error") != 0);
  }
  CHECK(strcmp(hc_err_name(HC_ERR_BAD_VERSION), "HC_ERR_BAD_VERSION") == 0);
  CHECK(strstr(hc_strerror(HC_ERR_STORAGE_V11), "hypercore 11") != NULL);
  CHECK(strstr(hc_strerror(HC_ERR_STORAGE_V11), "not supported on disk") != NULL);
  CHECK(strstr(hc_strerror(HC_ERR_STORAGE_V11), "replication") != NULL);
}

static void test_keypairs(void) {
  uint8_t seed[HC_SEED_BYTES], pk[HC_KEY_BYTES], sk[HC_SECRET_KEY_BYTES], pk2[HC_KEY_BYTES];
  memset(seed, 1, sizeof seed);
  CHECK_OK(hc_keypair_from_seed(pk, sk, seed));
  CHECK_HEX(pk, SEED01_KEY); /* hypercore-crypto keyPair(Buffer.alloc(32, 1)) */
  CHECK_MEM(sk, seed, 32);   /* secret key = seed || public key */
  CHECK_MEM(sk + 32, pk, 32);
  CHECK_OK(hc_keypair_public_key(pk2, sk));
  CHECK_MEM(pk2, pk, 32);
  uint8_t a[HC_KEY_BYTES], b[HC_KEY_BYTES];
  CHECK_OK(hc_keypair_generate(a, sk));
  CHECK_OK(hc_keypair_public_key(pk2, sk));
  CHECK_MEM(pk2, a, 32);
  CHECK_OK(hc_keypair_generate(b, sk));
  CHECK(memcmp(a, b, 32) != 0);
  CHECK_RC(hc_keypair_from_seed(pk, sk, NULL), HC_ERR_INVALID_ARG);
  CHECK_RC(hc_keypair_public_key(NULL, sk), HC_ERR_INVALID_ARG);
  CHECK_RC(hc_keypair_generate(pk, NULL), HC_ERR_INVALID_ARG);
}

/* A backend whose files carry a method table of a version the library does not know. */
typedef struct {
  hc_storage_factory base;
  hc_storage_factory *inner;
  hc_storage_methods methods;
  int methods_version;
} odd_factory;

static int odd_open(hc_storage_factory *f, const char *name, unsigned flags, hc_storage **out) {
  odd_factory *o = (odd_factory *)f;
  int rc = o->inner->open(o->inner, name, flags, out);
  if (rc) return rc;
  o->methods = *(*out)->methods; /* same verbs, another version number */
  o->methods.version = o->methods_version;
  (*out)->methods = &o->methods;
  return HC_OK;
}

static void test_core_opts(void) {
  hc_storage_factory *mem;
  hc_core *core;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  hc_core_opts o = HC_CORE_OPTS_INIT;
  CHECK_EQ(o.version, HC_CORE_OPTS_VERSION);
  CHECK(!o.no_create && !o.readonly && !o.seed && !o.manifest);
  hc_core_opts zero;
  memset(&zero, 0, sizeof zero);
  CHECK_RC(hc_core_open(&core, mem, &zero), HC_ERR_BAD_VERSION);
  CHECK(core == NULL);
  hc_core_opts newer = HC_CORE_OPTS_INIT;
  newer.version = HC_CORE_OPTS_VERSION + 1;
  CHECK_RC(hc_core_open(&core, mem, &newer), HC_ERR_BAD_VERSION);
  mem->version = HC_STORAGE_FACTORY_VERSION + 1;
  CHECK_RC(hc_core_open(&core, mem, &o), HC_ERR_BAD_VERSION);
  mem->version = HC_STORAGE_FACTORY_VERSION;
  /* a method table of version 0 or a future one */
  for (int v = 0; v <= HC_STORAGE_METHODS_VERSION + 1; v += HC_STORAGE_METHODS_VERSION + 1) {
    odd_factory odd = {{HC_STORAGE_FACTORY_VERSION, odd_open, NULL, NULL}, mem, {0}, v};
    CHECK_RC(hc_core_open(&core, &odd.base, &o), HC_ERR_BAD_VERSION);
  }
  odd_factory ok = {{HC_STORAGE_FACTORY_VERSION, odd_open, NULL, NULL}, mem, {0}, 1};
  CHECK_OK(hc_core_open(&core, &ok.base, &o)); /* version 1 tables are still accepted */
  hc_core_close(core);
  /* nothing was created by the refused opens beyond what the accepted one made */
  CHECK_OK(hc_core_open(&core, mem, NULL)); /* NULL: the defaults */
  CHECK_EQ(hc_core_length(core), 0);
  hc_core_close(core);
  hc_storage_factory_free(mem);
}

static void test_replicator_opts(void) {
  hc_replicator *r = NULL;
  hc_replicator_opts o = HC_REPLICATOR_OPTS_INIT;
  hc_replicator_callbacks cb = HC_REPLICATOR_CALLBACKS_INIT;
  CHECK_EQ(o.version, HC_REPLICATOR_OPTS_VERSION);
  CHECK_EQ(cb.version, HC_REPLICATOR_CALLBACKS_VERSION);
  CHECK(cb.on_download == NULL && cb.on_warning == NULL);
  CHECK_OK(hc_replicator_new(&r, &o, &cb, NULL));
  hc_replicator_free(r);
  CHECK_OK(hc_replicator_new(&r, &o, NULL, NULL)); /* no callbacks */
  hc_replicator_free(r);
  o.version = 1; /* the first layout (no handshake_timeout_ms) is still accepted */
  CHECK_OK(hc_replicator_new(&r, &o, &cb, NULL));
  hc_replicator_free(r);
  o.version = 0;
  CHECK_RC(hc_replicator_new(&r, &o, &cb, NULL), HC_ERR_BAD_VERSION);
  CHECK(r == NULL);
  o.version = HC_REPLICATOR_OPTS_VERSION + 1;
  CHECK_RC(hc_replicator_new(&r, &o, &cb, NULL), HC_ERR_BAD_VERSION);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  hc_replicator_callbacks bad;
  memset(&bad, 0, sizeof bad); /* the old way: no version */
  CHECK_RC(hc_replicator_new(&r, &o, &bad, NULL), HC_ERR_BAD_VERSION);
  bad.version = HC_REPLICATOR_CALLBACKS_VERSION + 1;
  CHECK_RC(hc_replicator_new(&r, &o, &bad, NULL), HC_ERR_BAD_VERSION);
}

static void test_manifest(void) {
  uint8_t seed[32], pk[32], sk[64], enc[4096];
  size_t len;
  memset(seed, 7, sizeof seed);
  CHECK_OK(hc_keypair_from_seed(pk, sk, seed));
  hc_manifest_params zero;
  memset(&zero, 0, sizeof zero);
  CHECK_RC(hc_manifest_build(&zero, NULL, 0, &len), HC_ERR_BAD_VERSION);

  uint8_t linked[32], ud[3] = {1, 2, 3};
  memset(linked, 9, sizeof linked);
  hc_manifest_params mp = HC_MANIFEST_PARAMS_INIT;
  mp.nsigners = 1;
  mp.public_keys = pk;
  mp.nlinked = 1;
  mp.linked = linked;
  mp.user_data = ud;
  mp.user_data_len = sizeof ud;
  CHECK_OK(hc_manifest_build(&mp, enc, sizeof enc, &len));

  hc_manifest_info info = HC_MANIFEST_INFO_INIT;
  CHECK_OK(hc_manifest_parse(enc, len, NULL, &info));
  CHECK_EQ(info.version, HC_MANIFEST_INFO_VERSION);
  CHECK_EQ(info.manifest_version, 2); /* linked cores and user data: version 2 */
  CHECK(!info.compat && !info.allow_patch && !info.has_prologue);
  CHECK_EQ(info.quorum, 1);
  CHECK_EQ(info.nsigners, 1);
  CHECK_MEM(info.public_keys[0], pk, 32);
  CHECK(info.has_linked && info.nlinked == 1);
  CHECK_MEM(info.linked[0], linked, 32);
  CHECK(info.has_user_data && info.user_data_len == 3);
  CHECK_MEM(info.user_data, ud, 3);
  /* compat: the signer's key is the core key */
  CHECK_OK(hc_manifest_parse(enc, len, pk, &info));
  CHECK(info.compat);

  CHECK_RC(hc_manifest_parse(enc, len - 1, NULL, &info), HC_ERR_DECODE);
  enc[len] = 0;
  CHECK_RC(hc_manifest_parse(enc, len + 1, NULL, &info), HC_ERR_DECODE); /* trailing byte */
  static hc_manifest_info old; /* zeroed: no version */
  CHECK_RC(hc_manifest_parse(enc, len, NULL, &old), HC_ERR_BAD_VERSION);
  CHECK_RC(hc_manifest_parse(NULL, len, NULL, &info), HC_ERR_INVALID_ARG);

  /* the manifest of a compat core made from a seed, as the CLI prints it */
  hc_storage_factory *mem;
  hc_core *core;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  hc_core_opts o = HC_CORE_OPTS_INIT;
  o.seed = seed;
  CHECK_OK(hc_core_open(&core, mem, &o));
  hc_buf b = {(const uint8_t *)"x", 1};
  CHECK_OK(hc_core_append(core, &b, 1, NULL, NULL));
  const uint8_t *m = hc_core_manifest(core, &len);
  CHECK(m != NULL);
  CHECK_OK(hc_manifest_parse(m, len, hc_core_key(core), &info));
  CHECK(info.compat && info.nsigners == 1 && info.quorum == 1);
  CHECK_MEM(info.public_keys[0], pk, 32);
  hc_core_close(core);
  hc_storage_factory_free(mem);
}

static void test_fault_plan(void) {
  hc_storage_factory *mem, *ff;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  mem->version = 0;
  CHECK_RC(hc_storage_fault_factory_new(&ff, mem), HC_ERR_BAD_VERSION);
  mem->version = HC_STORAGE_FACTORY_VERSION;
  CHECK_OK(hc_storage_fault_factory_new(&ff, mem));
  hc_fault_plan p = HC_FAULT_PLAN_INIT;
  CHECK_OK(hc_storage_fault_set(ff, &p));
  p.version = 0;
  CHECK_RC(hc_storage_fault_set(ff, &p), HC_ERR_BAD_VERSION);
  hc_storage_factory_free(ff);
  hc_storage_factory_free(mem);
}

static bool exists(const char *dir, const char *name) {
  char path[4200];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

static void touch(const char *dir, const char *name) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  fclose(f);
}

/* Directories laid out as hypercore-storage (JS hypercore 11 / corestore 7) leaves them. */
static void test_v11_storage(void) {
  char base[4096], dir[4200];
  snprintf(base, sizeof base, "%s", test_tmpdir("api-v11"));
  hc_core *core = NULL;
  hc_storage_factory *f = NULL;

  snprintf(dir, sizeof dir, "%s/missing", base);
  CHECK_OK(hc_storage_dir_check(dir)); /* not there: a new core may be made */
  CHECK_OK(hc_storage_dir_check(base)); /* empty */
  CHECK_RC(hc_storage_dir_check(""), HC_ERR_INVALID_ARG);

  /* a CORESTORE file (every v11 store and core directory has one) */
  snprintf(dir, sizeof dir, "%s/corestore", base);
  CHECK(mkdir(dir, 0755) == 0);
  touch(dir, "CORESTORE");
  CHECK_RC(hc_storage_dir_check(dir), HC_ERR_STORAGE_V11);
  CHECK_RC(hc_core_open_dir(&core, dir, NULL), HC_ERR_STORAGE_V11); /* create-if-missing too */
  CHECK(core == NULL);
  hc_core_opts ow = HC_CORE_OPTS_INIT;
  ow.overwrite = true;
  CHECK_RC(hc_core_open_dir(&core, dir, &ow), HC_ERR_STORAGE_V11);
  CHECK(!exists(dir, "oplog") && !exists(dir, "data")); /* nothing written next to it */
  CHECK_RC(hc_storage_file_factory_new(&f, dir), HC_ERR_STORAGE_V11);

  /* only the RocksDB folder */
  snprintf(dir, sizeof dir, "%s/rocks", base);
  CHECK(mkdir(dir, 0755) == 0);
  char db[4300];
  snprintf(db, sizeof db, "%s/db", dir);
  CHECK(mkdir(db, 0755) == 0);
  CHECK_OK(hc_storage_dir_check(dir)); /* an empty db/ folder is not RocksDB */
  touch(db, "CURRENT");
  CHECK_RC(hc_storage_dir_check(dir), HC_ERR_STORAGE_V11);
  hc_core_opts ro = HC_CORE_OPTS_INIT;
  ro.readonly = true;
  ro.no_create = true;
  CHECK_RC(hc_core_open_dir(&core, dir, &ro), HC_ERR_STORAGE_V11);

  /* a v10 core wins over a stray CORESTORE: its oplog is at the top */
  snprintf(dir, sizeof dir, "%s/v10", base);
  CHECK_OK(hc_core_open_dir(&core, dir, NULL));
  hc_core_close(core);
  touch(dir, "CORESTORE");
  CHECK_OK(hc_storage_dir_check(dir));
  CHECK_OK(hc_core_open_dir(&core, dir, NULL));
  hc_core_close(core);
}

int main(void) {
  test_version();
  test_error_table();
  test_keypairs();
  test_core_opts();
  test_replicator_opts();
  test_manifest();
  test_fault_plan();
  test_v11_storage();
  printf("test_api: ok\n");
  return 0;
}
