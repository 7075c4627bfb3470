/* A store of many cores in the Corestore 6 layout (corestore@6.18.4, index.js):
 *
 *   STORE/primary-key                          32 bytes, the lock file
 *   STORE/cores/<dk[0:2]>/<dk[2:4]>/<dk hex>/  one core directory per core
 *
 * Open cores live in a hash map by discovery key. A core handed out is pinned (refcount);
 * unpinned cores sit in an LRU list and are closed beyond max_open, so memory and file
 * descriptors stay bounded whatever the size of the store. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_internal.h"
#include "crypto.h"
#include "hypercore/preauth.h"
#include "hypercore/store.h"
#include "lock.h"

#define PRIMARY_KEY_FILE "primary-key"
#define CORES_DIR "cores"
#define UD_NAME "corestore/name"
#define UD_NAMESPACE "corestore/namespace"
#define MAX_NAME_BYTES 4096

typedef struct score {
  hc_core *core;
  uint8_t dk[32];
  size_t pins;
  struct score *hnext;             /* hash chain */
  struct score *lru_prev, *lru_next; /* in the LRU only while pins == 0 */
} score;

typedef struct store_conn {
  hc_store *s;
  hc_replicator *r;
  hc_replicator_callbacks cb; /* the caller's */
  void *user;
  hc_core **cores; /* pinned for this connection */
  size_t ncores, cap;
  struct store_conn *next;
} store_conn;

struct hc_store {
  char *dir;
  int lock_fd;
  bool readonly;
  uint8_t primary_key[HC_PRIMARY_KEY_BYTES];
  size_t max_open;
  size_t max_served; /* pinned cores at once for connections */
  hc_store_warning_cb on_warning;
  void *user;
  score **buckets;
  size_t nbuckets, count;
  score *lru_head, *lru_tail; /* head: most recently released */
  size_t lru_count;
  store_conn *conns;
};

/* ---------------------------------------------------------------- keys ---- */

static const uint8_t ROOT_NS[HC_NAMESPACE_BYTES] = {0};

/* crypto.namespace('corestore', 1)[0] */
static void corestore_ns(uint8_t out[32]) { hc_crypto_namespace(out, "corestore", 0); }

void hc_store_namespace(uint8_t out[HC_NAMESPACE_BYTES], const uint8_t *parent,
                        const uint8_t *name, size_t name_len) {
  hc_crypto_init();
  hc_buf parts[2] = {{parent ? parent : ROOT_NS, 32}, {name, name_len}};
  hc_crypto_hash_parts(out, parts, 2, NULL, 0);
}

/* deriveSeed: BLAKE2b-256 keyed with the primary key over NS || namespace || name */
static void derive_seed(uint8_t seed[32], const uint8_t primary_key[HC_PRIMARY_KEY_BYTES],
                        const uint8_t *ns, const uint8_t *name, size_t name_len) {
  uint8_t cns[32];
  hc_crypto_init();
  corestore_ns(cns);
  hc_buf parts[3] = {{cns, 32}, {ns ? ns : ROOT_NS, 32}, {name, name_len}};
  hc_crypto_hash_parts(seed, parts, 3, primary_key, HC_PRIMARY_KEY_BYTES);
}

void hc_store_derive_key_pair(const uint8_t primary_key[HC_PRIMARY_KEY_BYTES], const uint8_t *ns,
                              const uint8_t *name, size_t name_len,
                              uint8_t public_key[HC_KEY_BYTES],
                              uint8_t secret_key[HC_SECRET_KEY_BYTES]) {
  uint8_t seed[32];
  derive_seed(seed, primary_key, ns, name, name_len);
  hc_crypto_seed_keypair(public_key, secret_key, seed);
  hc_crypto_wipe(seed, sizeof seed);
}

static bool name_ok(const uint8_t *name, size_t len) {
  return name && len > 0 && len <= MAX_NAME_BYTES;
}

int hc_store_name_key(hc_store *s, const uint8_t *ns, const uint8_t *name, size_t name_len,
                      uint8_t key[HC_KEY_BYTES]) {
  if (!s || !key || !name_ok(name, name_len)) return HC_ERR_INVALID_ARG;
  uint8_t sk[64];
  hc_store_derive_key_pair(s->primary_key, ns, name, name_len, key, sk);
  hc_crypto_wipe(sk, sizeof sk);
  return HC_OK;
}

void hc_store_discovery_key(uint8_t out[32], const uint8_t key[HC_KEY_BYTES]) {
  hc_crypto_init();
  hc_crypto_discovery_key(out, key);
}

char *hc_store_core_path(const hc_store *s, const uint8_t discovery_key[32]) {
  char hex[65];
  hc_hex_encode(hex, discovery_key, 32);
  size_t n = strlen(s->dir) + sizeof("/" CORES_DIR "/xx/yy/") + 64;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/" CORES_DIR "/%.2s/%.2s/%s", s->dir, hex, hex + 2, hex);
  return p;
}

/* ---------------------------------------------------------------- probe ---- */

static bool exists_at(const char *dir, const char *name, bool want_dir) {
  char path[PATH_MAX];
  struct stat st;
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return false;
  if (stat(path, &st) < 0) return false;
  return want_dir ? S_ISDIR(st.st_mode) : true;
}

static bool dir_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  bool empty = true;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

hc_store_kind hc_store_probe(const char *dir) {
  struct stat st;
  if (!dir || stat(dir, &st) < 0) return HC_STORE_KIND_MISSING;
  if (!S_ISDIR(st.st_mode)) return HC_STORE_KIND_OTHER;
  /* corestore 7 / hypercore-storage: a CORESTORE device file and a RocksDB in db/ */
  if (exists_at(dir, "CORESTORE", false) || exists_at(dir, "db/CURRENT", false))
    return HC_STORE_KIND_ROCKSDB;
  if (exists_at(dir, PRIMARY_KEY_FILE, false) || exists_at(dir, CORES_DIR, true))
    return HC_STORE_KIND_CORESTORE6;
  if (exists_at(dir, "oplog", false)) return HC_STORE_KIND_CORE;
  if (dir_empty(dir)) return HC_STORE_KIND_MISSING;
  return HC_STORE_KIND_OTHER;
}

/* ---------------------------------------------------------------- lock ---- */

/* primary-key is locked as corestore 6 locks it: the fcntl open-file-description lock that
 * fs-native-extensions takes (what JS sees), plus flock (src/lock.c). */
static int write_all(int fd, const uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == ENOSPC ? HC_ERR_NOSPC : HC_ERR_IO;
    }
    done += (size_t)n;
  }
  return fsync(fd) < 0 ? HC_ERR_IO : HC_OK;
}

static int read_all(int fd, uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? HC_ERR_CORRUPT : HC_ERR_IO;
    done += (size_t)n;
  }
  return HC_OK;
}

/* Opens (creating when allowed) and locks primary-key, then reads or writes the key. A key
 * file shorter than 32 bytes is an error: corestore 6 would silently replace it with a new
 * random key, which changes the key of every named core. */
static int load_primary_key(hc_store *s, bool create, const uint8_t *given) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/" PRIMARY_KEY_FILE, s->dir) >= (int)sizeof path)
    return HC_ERR_INVALID_ARG;
  int flags = s->readonly ? O_RDONLY : O_RDWR;
  int fd = open(path, flags | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) return errno == ENOENT ? HC_ERR_CORRUPT : HC_ERR_IO;
  int rc = s->readonly ? HC_OK : hc__lock_fd(fd);
  struct stat st;
  if (!rc && fstat(fd, &st) < 0) rc = HC_ERR_IO;
  if (!rc) {
    if (st.st_size == 0 && create) {
      if (given) memcpy(s->primary_key, given, 32);
      else hc_crypto_random(s->primary_key, 32);
      rc = write_all(fd, s->primary_key, 32);
    } else if (st.st_size < HC_PRIMARY_KEY_BYTES) {
      rc = HC_ERR_CORRUPT;
    } else {
      rc = read_all(fd, s->primary_key, 32);
    }
  }
  if (rc) {
    hc__lock_release(fd);
    return rc;
  }
  s->lock_fd = fd;
  return HC_OK;
}

/* ---------------------------------------------------------------- open/close ---- */

static int mkdirs(const char *dir) {
  char buf[PATH_MAX];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof buf) return HC_ERR_INVALID_ARG;
  memcpy(buf, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (mkdir(buf, 0755) < 0 && errno != EEXIST) return HC_ERR_IO;
      buf[i] = c;
    }
  }
  return HC_OK;
}

/* Half of the descriptors left after 256 for everything else, at 4 per core. */
static size_t default_max_served(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 4096;
  size_t n = rl.rlim_cur > 256 ? (size_t)(rl.rlim_cur - 256) / 8 : 0;
  return n < 64 ? 64 : n;
}

int hc_store_open(hc_store **out, const char *dir, const hc_store_opts *opts) {
  if (!out || !dir || !*dir || !opts) return HC_ERR_INVALID_ARG;
  if (opts->version != HC_STORE_OPTS_VERSION) return HC_ERR_BAD_VERSION;
  *out = NULL;
  if (hc_crypto_init()) return HC_ERR_IO;
  bool create = opts->create && !opts->readonly;
  switch (hc_store_probe(dir)) {
    case HC_STORE_KIND_ROCKSDB: return HC_ERR_STORAGE_V11;
    case HC_STORE_KIND_CORE:
    case HC_STORE_KIND_OTHER: return HC_ERR_NOT_A_STORE;
    case HC_STORE_KIND_MISSING:
      if (!create) return HC_ERR_NOT_FOUND;
      break;
    case HC_STORE_KIND_CORESTORE6:
      /* cores/ without primary-key: the named cores' keys are lost; creating a new key would
       * silently fork them, so refuse */
      if (!exists_at(dir, PRIMARY_KEY_FILE, false)) return HC_ERR_CORRUPT;
      create = false;
      break;
  }
  hc_store *s = calloc(1, sizeof *s);
  if (!s) return HC_ERR_NOMEM;
  s->lock_fd = -1;
  s->readonly = opts->readonly;
  s->max_open = opts->max_open_cores ? opts->max_open_cores : HC_STORE_DEFAULT_MAX_OPEN;
  s->max_served = opts->max_served_cores ? opts->max_served_cores : default_max_served();
  s->on_warning = opts->on_warning;
  s->user = opts->user;
  s->nbuckets = 1024;
  s->dir = strdup(dir);
  s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
  int rc = (!s->dir || !s->buckets) ? HC_ERR_NOMEM : HC_OK;
  if (!rc && create) rc = mkdirs(dir);
  if (!rc) rc = load_primary_key(s, create, opts->primary_key);
  if (rc) {
    hc_store_close(s);
    return rc;
  }
  *out = s;
  return HC_OK;
}

const char *hc_store_dir(const hc_store *s) { return s ? s->dir : NULL; }

/* ---------------------------------------------------------------- open cores ---- */

static size_t bucket_of(const hc_store *s, const uint8_t dk[32]) {
  uint64_t h;
  memcpy(&h, dk, 8); /* a discovery key is a hash: any 8 bytes are uniform */
  return (size_t)(h % s->nbuckets);
}

static score *find_open(const hc_store *s, const uint8_t dk[32]) {
  for (score *e = s->buckets[bucket_of(s, dk)]; e; e = e->hnext)
    if (memcmp(e->dk, dk, 32) == 0) return e;
  return NULL;
}

static void grow_buckets(hc_store *s) {
  size_t n = s->nbuckets * 2;
  score **nb = calloc(n, sizeof *nb);
  if (!nb) return; /* longer chains, still correct */
  score **old = s->buckets;
  size_t on = s->nbuckets;
  s->buckets = nb;
  s->nbuckets = n;
  for (size_t i = 0; i < on; i++) {
    for (score *e = old[i], *next; e; e = next) {
      next = e->hnext;
      size_t b = bucket_of(s, e->dk);
      e->hnext = nb[b];
      nb[b] = e;
    }
  }
  free(old);
}

static void lru_unlink(hc_store *s, score *e) {
  if (e->lru_prev) e->lru_prev->lru_next = e->lru_next;
  else s->lru_head = e->lru_next;
  if (e->lru_next) e->lru_next->lru_prev = e->lru_prev;
  else s->lru_tail = e->lru_prev;
  e->lru_prev = e->lru_next = NULL;
  s->lru_count--;
}

static void lru_push(hc_store *s, score *e) {
  e->lru_prev = NULL;
  e->lru_next = s->lru_head;
  if (s->lru_head) s->lru_head->lru_prev = e;
  else s->lru_tail = e;
  s->lru_head = e;
  s->lru_count++;
}

static void remove_open(hc_store *s, score *e) {
  score **pp = &s->buckets[bucket_of(s, e->dk)];
  while (*pp != e) pp = &(*pp)->hnext;
  *pp = e->hnext;
  s->count--;
  hc_core_close(e->core);
  free(e);
}

/* Closes least recently used unpinned cores until at most `keep` remain. */
static void evict(hc_store *s, size_t keep) {
  while (s->lru_count > keep) {
    score *e = s->lru_tail;
    lru_unlink(s, e);
    remove_open(s, e);
  }
}

/* Every open core with no pins is in the LRU. */
static void pin(hc_store *s, score *e) {
  if (e->pins++ == 0) lru_unlink(s, e);
}

static int add_open(hc_store *s, hc_core *core, score **out) {
  score *e = calloc(1, sizeof *e);
  if (!e) return HC_ERR_NOMEM;
  e->core = core;
  memcpy(e->dk, hc_core_discovery_key(core), 32);
  if (s->count >= s->nbuckets) grow_buckets(s);
  size_t b = bucket_of(s, e->dk);
  e->hnext = s->buckets[b];
  s->buckets[b] = e;
  s->count++;
  e->pins = 1;
  *out = e;
  return HC_OK;
}

/* Unpins; an idle core joins the LRU. */
static void unpin(hc_store *s, hc_core *core) {
  score *e = find_open(s, hc_core_discovery_key(core));
  if (!e || e->core != core || e->pins == 0) return;
  if (--e->pins == 0) lru_push(s, e);
}

void hc_store_release(hc_store *s, hc_core *core) {
  if (!s || !core) return;
  unpin(s, core);
  evict(s, s->max_open);
}

size_t hc_store_open_cores(const hc_store *s) { return s ? s->count : 0; }

void hc_store_set_max_open(hc_store *s, size_t max_open_cores) {
  if (!s) return;
  s->max_open = max_open_cores ? max_open_cores : HC_STORE_DEFAULT_MAX_OPEN;
  evict(s, s->max_open);
}

static void warn(hc_store *s, const uint8_t dk[32], int err, const char *fmt, const char *arg) {
  if (!s->on_warning) return;
  char msg[512], hex[65];
  hc_hex_encode(hex, dk, 32);
  char what[256];
  snprintf(what, sizeof what, fmt, arg);
  snprintf(msg, sizeof msg, "core %s: %s: %s", hex, what, hc_strerror(err));
  s->on_warning(s->user, s, dk, err, msg);
}

/* Is there a core (a non-empty oplog, as corestore's _exists) at this discovery key? */
static bool core_exists(const hc_store *s, const uint8_t dk[32]) {
  char *p = hc_store_core_path(s, dk);
  if (!p) return false;
  char path[PATH_MAX];
  struct stat st;
  bool ok = snprintf(path, sizeof path, "%s/oplog", p) < (int)sizeof path && stat(path, &st) == 0 &&
            st.st_size > 0;
  free(p);
  return ok;
}

/* A named core's user data must derive its key with this store's primary key: a core copied
 * from another store (or a store whose primary-key changed) cannot be written as that name. */
static int check_name(hc_store *s, hc_core *core) {
  const uint8_t *name, *ns = NULL;
  size_t nlen, nslen = 0;
  if (hc_core_get_user_data(core, UD_NAME, &name, &nlen) != HC_OK) return HC_OK;
  if (hc_core_get_user_data(core, UD_NAMESPACE, &ns, &nslen) == HC_OK && nslen != 32)
    return HC_ERR_CORRUPT;
  if (!name_ok(name, nlen)) return HC_ERR_CORRUPT;
  uint8_t pk[32], sk[64], have[32];
  if (hc_core_public_key(core, have) != HC_OK) memcpy(have, hc_core_key(core), 32);
  if (hc__core_secret_key(core, sk) == HC_OK) {
    /* The header keeps seed || public key (corestore 6 always stores it): the seed the name
     * derives with our primary key (one BLAKE2b) is compared instead of re-deriving the public
     * key (an Ed25519 scalar multiplication, 10% of a seeder's CPU opening 1,000 cores). A core
     * of another store has another seed; the pair must also be the header's own. */
    uint8_t seed[32];
    derive_seed(seed, s->primary_key, ns, name, nlen);
    bool ok = memcmp(seed, sk, 32) == 0 && memcmp(sk + 32, have, 32) == 0;
    hc_crypto_wipe(seed, sizeof seed);
    hc_crypto_wipe(sk, sizeof sk);
    return ok ? HC_OK : HC_ERR_KEY_MISMATCH;
  }
  hc_store_derive_key_pair(s->primary_key, ns, name, nlen, pk, sk);
  hc_crypto_wipe(sk, sizeof sk);
  return memcmp(pk, have, 32) == 0 ? HC_OK : HC_ERR_KEY_MISMATCH;
}

/* Opens the core directory of `dk` with `o` and registers it pinned. */
static int open_core_at(hc_store *s, const uint8_t dk[32], hc_core_opts *o, score **out) {
  char *path = hc_store_core_path(s, dk);
  if (!path) return HC_ERR_NOMEM;
  evict(s, s->max_open ? s->max_open - 1 : 0);
  if (s->readonly) {
    o->readonly = true;
    o->no_create = true;
  }
  hc_core *core;
  int rc = hc_core_open_dir(&core, path, o);
  free(path);
  if (rc) return rc == HC_ERR_NO_CORE ? HC_ERR_NOT_FOUND : rc;
  if (memcmp(hc_core_discovery_key(core), dk, 32) != 0) {
    hc_core_close(core); /* a core filed under the wrong directory */
    return HC_ERR_KEY_MISMATCH;
  }
  rc = add_open(s, core, out);
  if (rc) hc_core_close(core);
  return rc;
}

int hc_store_get_named(hc_store *s, const uint8_t *ns, const uint8_t *name, size_t name_len,
                       hc_core **out) {
  if (!s || !out || !name_ok(name, name_len)) return HC_ERR_INVALID_ARG;
  *out = NULL;
  uint8_t pk[32], sk[64], dk[32];
  hc_store_derive_key_pair(s->primary_key, ns, name, name_len, pk, sk);
  hc_crypto_discovery_key(dk, pk);
  score *e = find_open(s, dk);
  int rc = HC_OK;
  if (e) {
    pin(s, e);
  } else {
    if (s->readonly && !core_exists(s, dk)) {
      hc_crypto_wipe(sk, sizeof sk);
      return HC_ERR_NOT_WRITABLE;
    }
    hc_core_opts o;
    memset(&o, 0, sizeof o);
    o.version = HC_CORE_OPTS_VERSION;
    o.secret_key = sk;
    o.key = pk;
    rc = open_core_at(s, dk, &o, &e);
  }
  hc_crypto_wipe(sk, sizeof sk);
  if (rc) return rc;
  /* corestore's userData on create; also repairs a core created just before a crash */
  const uint8_t *v;
  size_t vl;
  if (!s->readonly && hc_core_get_user_data(e->core, UD_NAME, &v, &vl) != HC_OK) {
    rc = hc_core_set_user_data(e->core, UD_NAMESPACE, ns ? ns : ROOT_NS, 32);
    if (!rc) rc = hc_core_set_user_data(e->core, UD_NAME, name, name_len);
  }
  if (rc) {
    hc_store_release(s, e->core);
    return rc;
  }
  *out = e->core;
  return HC_OK;
}

int hc_store_get_key(hc_store *s, const uint8_t key[HC_KEY_BYTES], bool create, hc_core **out) {
  if (!s || !key || !out) return HC_ERR_INVALID_ARG;
  *out = NULL;
  uint8_t dk[32];
  hc_crypto_discovery_key(dk, key);
  score *e = find_open(s, dk);
  if (e) {
    pin(s, e);
    *out = e->core;
    return HC_OK;
  }
  if (!core_exists(s, dk)) {
    if (!create) return HC_ERR_NOT_FOUND;
    if (s->readonly) return HC_ERR_NOT_WRITABLE;
  }
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.key = key;
  int rc = open_core_at(s, dk, &o, &e);
  if (rc) return rc;
  *out = e->core;
  return HC_OK;
}

int hc_store_get_discovery_key(hc_store *s, const uint8_t discovery_key[32], hc_core **out) {
  if (!s || !discovery_key || !out) return HC_ERR_INVALID_ARG;
  *out = NULL;
  score *e = find_open(s, discovery_key);
  if (e) {
    pin(s, e);
    *out = e->core;
    return HC_OK;
  }
  if (!core_exists(s, discovery_key)) return HC_ERR_NOT_FOUND;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.no_create = true;
  int rc = open_core_at(s, discovery_key, &o, &e);
  if (rc) return rc;
  rc = check_name(s, e->core);
  if (rc) {
    e->pins = 0;
    remove_open(s, e);
    return rc;
  }
  *out = e->core;
  return HC_OK;
}

static void detach_conn(hc_store *s, store_conn **pp, bool live);

void hc_store_close(hc_store *s) {
  if (!s) return;
  while (s->conns) detach_conn(s, &s->conns, false); /* their replicators may be gone */
  if (s->buckets) {
    for (size_t i = 0; i < s->nbuckets; i++) {
      for (score *e = s->buckets[i], *next; e; e = next) {
        next = e->hnext;
        hc_core_close(e->core);
        free(e);
      }
    }
  }
  free(s->buckets);
  hc__lock_release(s->lock_fd); /* drops both locks (-1: none) */
  hc_crypto_wipe(s->primary_key, sizeof s->primary_key);
  free(s->dir);
  free(s);
}

/* ---------------------------------------------------------------- listing ---- */

static bool is_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return s[n] == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in `dir` that are `len` lowercase hex chars (and start with `prefix`), sorted. */
static int hex_entries(const char *dir, size_t len, const char *prefix, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? HC_OK : HC_ERR_IO;
  size_t cap = 0, plen = strlen(prefix);
  char **v = NULL;
  struct dirent *de;
  int rc = HC_OK;
  while ((de = readdir(d))) {
    if (strlen(de->d_name) != len || !is_hex(de->d_name, len) || strncmp(de->d_name, prefix, plen))
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(v, cap * sizeof *nv);
      if (!nv) {
        rc = HC_ERR_NOMEM;
        break;
      }
      v = nv;
    }
    if (!(v[*n] = strdup(de->d_name))) {
      rc = HC_ERR_NOMEM;
      break;
    }
    (*n)++;
  }
  closedir(d);
  if (v) qsort(v, *n, sizeof *v, cmp_str);
  *out = v;
  return rc;
}

static void free_entries(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static void fill_entry(hc_store_entry *en, hc_core *core) {
  memcpy(en->key, hc_core_key(core), 32);
  en->length = hc_core_length(core);
  en->byte_length = hc_core_byte_length(core);
  en->fork = hc_core_fork(core);
  en->writable = hc_core_writable(core);
  const uint8_t *v;
  size_t vl;
  if (hc_core_get_user_data(core, UD_NAME, &v, &vl) == HC_OK && vl) {
    en->name = v;
    en->name_len = vl;
  }
  if (hc_core_get_user_data(core, UD_NAMESPACE, &v, &vl) == HC_OK && vl == 32) {
    en->has_namespace = true;
    memcpy(en->ns, v, 32);
  }
}

/* Lists one core directory: the open handle if there is one, else a read-only open. */
static int list_one(hc_store *s, const char *path, const char *hex, hc_store_list_cb cb,
                    void *user) {
  hc_store_entry en;
  memset(&en, 0, sizeof en);
  hc_hex_decode(en.discovery_key, 32, hex);
  score *e = find_open(s, en.discovery_key);
  if (e) {
    fill_entry(&en, e->core);
    return cb(user, &en);
  }
  char opl[PATH_MAX];
  struct stat st;
  if (snprintf(opl, sizeof opl, "%s/oplog", path) >= (int)sizeof opl) return HC_OK;
  if (stat(opl, &st) < 0 || st.st_size == 0) return HC_OK; /* not a core (corestore: _exists) */
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.readonly = true;
  o.no_create = true;
  hc_core *core;
  int rc = hc_core_open_dir(&core, path, &o);
  if (!rc && memcmp(hc_core_discovery_key(core), en.discovery_key, 32) != 0) {
    hc_core_close(core);
    rc = HC_ERR_KEY_MISMATCH;
  }
  if (rc) {
    en.error = rc == HC_ERR_NO_CORE ? HC_ERR_CORRUPT : rc;
    warn(s, en.discovery_key, en.error, "%s", "cannot open");
    return cb(user, &en);
  }
  fill_entry(&en, core);
  rc = cb(user, &en);
  hc_core_close(core);
  return rc;
}

int hc_store_list(hc_store *s, hc_store_list_cb cb, void *user) {
  if (!s || !cb) return HC_ERR_INVALID_ARG;
  char path[PATH_MAX];
  char **l1, **l2, **l3;
  size_t n1, n2, n3;
  snprintf(path, sizeof path, "%s/" CORES_DIR, s->dir);
  int rc = hex_entries(path, 2, "", &l1, &n1);
  for (size_t i = 0; !rc && i < n1; i++) {
    snprintf(path, sizeof path, "%s/" CORES_DIR "/%s", s->dir, l1[i]);
    if ((rc = hex_entries(path, 2, "", &l2, &n2))) break;
    for (size_t j = 0; !rc && j < n2; j++) {
      char prefix[5];
      snprintf(prefix, sizeof prefix, "%s%s", l1[i], l2[j]);
      snprintf(path, sizeof path, "%s/" CORES_DIR "/%s/%s", s->dir, l1[i], l2[j]);
      if ((rc = hex_entries(path, 64, prefix, &l3, &n3))) break;
      for (size_t k = 0; !rc && k < n3; k++) {
        char core_path[PATH_MAX];
        if (snprintf(core_path, sizeof core_path, "%s/%s", path, l3[k]) >= (int)sizeof core_path)
          continue;
        rc = list_one(s, core_path, l3[k], cb, user);
      }
      free_entries(l3, n3);
    }
    free_entries(l2, n2);
  }
  free_entries(l1, n1);
  return rc;
}

/* ---------------------------------------------------------------- replication ---- */

static store_conn *find_conn(hc_store *s, const hc_replicator *r, store_conn ***pp) {
  store_conn **p = &s->conns;
  while (*p && (*p)->r != r) p = &(*p)->next;
  if (pp) *pp = p;
  return *p;
}

static bool conn_has(const store_conn *c, const hc_core *core) {
  for (size_t i = 0; i < c->ncores; i++)
    if (c->cores[i] == core) return true;
  return false;
}

/* The remote opened a channel we do not replicate yet: serve it if the store has the core. */
static hc_core *sc_on_discovery_key(void *user, hc_replicator *r, const uint8_t dk[32]) {
  store_conn *c = user;
  hc_store *s = c->s;
  hc_core *core = NULL;
  int rc = hc_store_get_discovery_key(s, dk, &core);
  if (rc == HC_OK) {
    if (conn_has(c, core)) {
      hc_store_release(s, core); /* pinned once per connection */
      return core;
    }
    if (s->count - s->lru_count > s->max_served) {
      hc_store_release(s, core);
      warn(s, dk, HC_ERR_BUSY, "%s", "not served now: too many cores served at once");
      return NULL;
    }
    if (c->ncores == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 8;
      hc_core **n = realloc(c->cores, cap * sizeof *n);
      if (!n) {
        hc_store_release(s, core);
        return NULL;
      }
      c->cores = n;
      c->cap = cap;
    }
    c->cores[c->ncores++] = core;
    return core;
  }
  if (rc != HC_ERR_NOT_FOUND) warn(s, dk, rc, "%s", "not served");
  return c->cb.on_discovery_key ? c->cb.on_discovery_key(c->user, r, dk) : NULL;
}

/* The remote closed the channel of a core it asked for: unpin it (the LRU may close it), so
 * a reader that walks through many cores on one connection does not keep them all open. */
static void sc_on_core_released(void *user, hc_replicator *r, hc_core *core) {
  store_conn *c = user;
  for (size_t i = 0; i < c->ncores; i++) {
    if (c->cores[i] != core) continue;
    c->cores[i] = c->cores[--c->ncores];
    hc_store_release(c->s, core);
    break;
  }
  if (c->cb.on_core_released) c->cb.on_core_released(c->user, r, core);
}

static void sc_on_handshake(void *u, hc_replicator *r, const uint8_t pk[32]) {
  store_conn *c = u;
  c->cb.on_handshake(c->user, r, pk);
}
static void sc_on_peer_add(void *u, hc_replicator *r, hc_core *core) {
  store_conn *c = u;
  c->cb.on_peer_add(c->user, r, core);
}
static void sc_on_peer_remove(void *u, hc_replicator *r, hc_core *core) {
  store_conn *c = u;
  c->cb.on_peer_remove(c->user, r, core);
}
static void sc_on_remote_sync(void *u, hc_replicator *r, hc_core *core, uint64_t fork,
                              uint64_t length) {
  store_conn *c = u;
  c->cb.on_remote_sync(c->user, r, core, fork, length);
}
static void sc_on_download(void *u, hc_replicator *r, hc_core *core, uint64_t i, size_t n) {
  store_conn *c = u;
  c->cb.on_download(c->user, r, core, i, n);
}
static void sc_on_upload(void *u, hc_replicator *r, hc_core *core, uint64_t i, size_t n) {
  store_conn *c = u;
  c->cb.on_upload(c->user, r, core, i, n);
}
static void sc_on_warning(void *u, hc_replicator *r, hc_core *core, int err, const char *m) {
  store_conn *c = u;
  c->cb.on_warning(c->user, r, core, err, m);
}

/* A store connection over a Noise replicator (opts) or a pre-authenticated one (popts). */
static int store_replicator(hc_store *s, hc_replicator **out, const hc_replicator_opts *opts,
                            const hc_preauth_opts *popts, const hc_replicator_callbacks *cb,
                            void *user) {
  if (!s || !out || (!opts && !popts)) return HC_ERR_INVALID_ARG;
  if (cb && cb->version != HC_REPLICATOR_CALLBACKS_VERSION) return HC_ERR_BAD_VERSION;
  *out = NULL;
  store_conn *c = calloc(1, sizeof *c);
  if (!c) return HC_ERR_NOMEM;
  c->s = s;
  c->user = user;
  if (cb) c->cb = *cb;
  hc_replicator_callbacks w;
  memset(&w, 0, sizeof w);
  w.version = HC_REPLICATOR_CALLBACKS_VERSION;
  w.on_discovery_key = sc_on_discovery_key;
  w.on_core_released = sc_on_core_released;
  if (c->cb.on_handshake) w.on_handshake = sc_on_handshake;
  if (c->cb.on_peer_add) w.on_peer_add = sc_on_peer_add;
  if (c->cb.on_peer_remove) w.on_peer_remove = sc_on_peer_remove;
  if (c->cb.on_remote_sync) w.on_remote_sync = sc_on_remote_sync;
  if (c->cb.on_download) w.on_download = sc_on_download;
  if (c->cb.on_upload) w.on_upload = sc_on_upload;
  if (c->cb.on_warning) w.on_warning = sc_on_warning;
  int rc = opts ? hc_replicator_new(&c->r, opts, &w, c) : hc_replicator_new_preauth(&c->r, popts, &w, c);
  if (rc) {
    free(c);
    return rc;
  }
  c->next = s->conns;
  s->conns = c;
  *out = c->r;
  return HC_OK;
}

int hc_store_replicator_new(hc_store *s, hc_replicator **out, const hc_replicator_opts *opts,
                            const hc_replicator_callbacks *cb, void *user) {
  if (!opts) return HC_ERR_INVALID_ARG;
  return store_replicator(s, out, opts, NULL, cb, user);
}

int hc_store_replicator_new_preauth(hc_store *s, hc_replicator **out, const hc_preauth_opts *opts,
                                    const hc_replicator_callbacks *cb, void *user) {
  if (!opts) return HC_ERR_INVALID_ARG;
  return store_replicator(s, out, NULL, opts, cb, user);
}

/* Unpins the cores of connection c. `live`: r is still alive, so each core is taken off it
 * first (a release may let the LRU close the core, and the replicator must not touch it
 * afterwards, not even when it is freed). */
static void detach_conn(hc_store *s, store_conn **pp, bool live) {
  store_conn *c = *pp;
  *pp = c->next;
  for (size_t i = 0; i < c->ncores; i++) {
    if (live) hc_replicator_remove_core(c->r, c->cores[i]);
    hc_store_release(s, c->cores[i]);
  }
  free(c->cores);
  free(c);
}

void hc_store_detach(hc_store *s, hc_replicator *r) {
  if (!s || !r) return;
  store_conn **pp;
  if (!find_conn(s, r, &pp)) return;
  detach_conn(s, pp, true);
}
