/* libhypercore — a store of many cores: the Corestore 6 layout (corestore@6.18.4, the
 * hypercore 10 storage), byte-compatible with JS corestore 6 in both directions.
 *
 *   STORE/primary-key                          32 bytes; the store's lock file
 *   STORE/cores/<dk[0:2]>/<dk[2:4]>/<dk hex>/  one ordinary core directory per core
 *
 * Named cores get their key pair from the primary key, a namespace and the name exactly as
 * corestore 6 derives it (so the same primary key gives the same keys in C and JS) and carry
 * the `corestore/name` / `corestore/namespace` user data corestore 6 writes.
 *
 * Cores are handed out pinned: the caller uses the hc_core and gives it back with
 * hc_store_release(). Unpinned cores stay open in an LRU of at most `max_open_cores` and are
 * closed beyond it, so a store of 100,000 cores never holds 100,000 open cores (file
 * descriptors). Cores serving a connection (hc_store_replicator_new) are pinned until
 * hc_store_detach(). Not thread-safe: one thread per store. */
#ifndef HYPERCORE_STORE_H
#define HYPERCORE_STORE_H

#include <stdbool.h>

#include "common.h"
#include "core.h"
#include "replicate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_store hc_store;

#define HC_NAMESPACE_BYTES 32
#define HC_PRIMARY_KEY_BYTES 32
#define HC_STORE_DEFAULT_MAX_OPEN 256 /* unpinned cores kept open (4 fds each) */

/* Called for a core that could not be opened while serving, listing or on demand (corrupt,
 * locked, a name from another store's primary key, ...): the store skips it and goes on. */
typedef void (*hc_store_warning_cb)(void *user, hc_store *s, const uint8_t discovery_key[32],
                                    int err, const char *message);

/* Options for hc_store_open. Zero-initialise, set version = HC_STORE_OPTS_VERSION. */
#define HC_STORE_OPTS_VERSION 1
typedef struct hc_store_opts {
  int version;
  /* Create the store (directory and primary-key) when it does not exist. Without it a missing
   * store is HC_ERR_NOT_FOUND. */
  bool create;
  /* Open without the lock and write nothing: cores are opened read-only, named cores and
   * replicas cannot be created (HC_ERR_NOT_WRITABLE). */
  bool readonly;
  /* create: the 32-byte primary key of a new store (NULL: random). Ignored for an existing
   * store. */
  const uint8_t *primary_key;
  /* Unpinned cores kept open (0: HC_STORE_DEFAULT_MAX_OPEN). */
  size_t max_open_cores;
  /* May be NULL. */
  hc_store_warning_cb on_warning;
  void *user;
  /* Cores pinned at once by connections (hc_store_replicator_new); a remote asking for more
   * is refused that core (with a warning) until others are released, so remotes cannot make
   * the store exhaust file descriptors (4 per core). 0: (RLIMIT_NOFILE soft limit - 256) / 8,
   * at least 64. */
  size_t max_served_cores;
} hc_store_opts;

/* What a directory holds (hc_store_probe). */
typedef enum hc_store_kind {
  HC_STORE_KIND_MISSING = 0,    /* no such directory, or an empty one */
  HC_STORE_KIND_CORESTORE6 = 1, /* a corestore 6 store (primary-key, cores/) */
  HC_STORE_KIND_ROCKSDB = 2,    /* a corestore 7 / hypercore 11 store (CORESTORE, db/): unsupported */
  HC_STORE_KIND_CORE = 3,       /* a single core directory (oplog), not a store */
  HC_STORE_KIND_OTHER = 4       /* something else (not a store) */
} hc_store_kind;

/* Looks at `dir` without changing anything. */
HC_EXPORT hc_store_kind hc_store_probe(const char *dir);

/* Opens (or, with opts->create, creates) the store in `dir`, locked as corestore 6 locks it
 * (the `primary-key` file; a JS corestore 6 on the same store sees the lock and vice versa).
 * Errors: HC_ERR_NOT_FOUND (no store, create unset), HC_ERR_LOCKED, HC_ERR_INCOMPATIBLE (a
 * corestore 7 RocksDB store), HC_ERR_NOT_A_STORE (a lone core or another directory),
 * HC_ERR_CORRUPT (primary-key missing or shorter than 32 bytes in an existing store: nothing
 * is written), HC_ERR_IO, HC_ERR_NOMEM. */
HC_EXPORT int hc_store_open(hc_store **out, const char *dir, const hc_store_opts *opts);
/* Closes every core (pinned ones too: their handles become invalid) and releases the lock.
 * Free the replicators using its cores first. NULL is fine. */
HC_EXPORT void hc_store_close(hc_store *s);

/* The store's directory (as given). */
HC_EXPORT const char *hc_store_dir(const hc_store *s);

/* ---- names, namespaces, keys (pure functions, corestore 6.18.4) ---- */

/* A sub-namespace: BLAKE2b-256(parent || name), corestore's store.namespace(name). parent
 * NULL: the root namespace (32 zero bytes). */
HC_EXPORT void hc_store_namespace(uint8_t out[HC_NAMESPACE_BYTES], const uint8_t *parent,
                                  const uint8_t *name, size_t name_len);
/* The key pair corestore 6 gives name `name` in namespace `ns` (NULL: root) with this primary
 * key (createKeyPair); the core key of the named core is the public key (compat). */
HC_EXPORT void hc_store_derive_key_pair(const uint8_t primary_key[HC_PRIMARY_KEY_BYTES],
                                        const uint8_t *ns, const uint8_t *name, size_t name_len,
                                        uint8_t public_key[HC_KEY_BYTES],
                                        uint8_t secret_key[HC_SECRET_KEY_BYTES]);
/* The core key of name `name` in namespace `ns` (NULL: root) of this store. */
HC_EXPORT int hc_store_name_key(hc_store *s, const uint8_t *ns, const uint8_t *name,
                                size_t name_len, uint8_t key[HC_KEY_BYTES]);
/* The discovery key of a core key (BLAKE2b-256 keyed with the key over "hypercore"). */
HC_EXPORT void hc_store_discovery_key(uint8_t out[32], const uint8_t key[HC_KEY_BYTES]);
/* The directory of the core with this discovery key (it may not exist): a new string, hc_free. */
HC_EXPORT char *hc_store_core_path(const hc_store *s, const uint8_t discovery_key[32]);

/* ---- getting cores (pinned until hc_store_release) ---- */

/* Gets the writable named core `name` (1..4096 bytes, any bytes, as corestore's utf-8 string)
 * in namespace `ns` (NULL: root), creating it if missing with the corestore user data.
 * Errors: HC_ERR_NOT_WRITABLE (read-only store and the core does not exist), HC_ERR_LOCKED,
 * HC_ERR_CORRUPT, HC_ERR_KEY_MISMATCH (the stored core has another key). */
HC_EXPORT int hc_store_get_named(hc_store *s, const uint8_t *ns, const uint8_t *name,
                                 size_t name_len, hc_core **out);
/* Gets the core with this key; when it is not in the store and `create` is set, creates an
 * empty replica (to download into), else HC_ERR_NOT_FOUND. */
HC_EXPORT int hc_store_get_key(hc_store *s, const uint8_t key[HC_KEY_BYTES], bool create,
                               hc_core **out);
/* Gets the core with this discovery key only if it exists locally (HC_ERR_NOT_FOUND
 * otherwise; nothing is created). A named core gets its key pair back from its user data
 * (HC_ERR_KEY_MISMATCH if the name does not derive its key with this store's primary key). */
HC_EXPORT int hc_store_get_discovery_key(hc_store *s, const uint8_t discovery_key[32],
                                         hc_core **out);
/* Gives back a core from hc_store_get_*: it stays open in the LRU until evicted. */
HC_EXPORT void hc_store_release(hc_store *s, hc_core *core);

/* Open cores (pinned or not) / the limit of unpinned ones (0: default). */
HC_EXPORT size_t hc_store_open_cores(const hc_store *s);
HC_EXPORT void hc_store_set_max_open(hc_store *s, size_t max_open_cores);

/* ---- listing ---- */

/* One core of the store, for hc_store_list. */
typedef struct hc_store_entry {
  uint8_t discovery_key[32];
  int error;                /* HC_OK, or why the core could not be read (fields below zero) */
  uint8_t key[HC_KEY_BYTES];
  uint64_t length, byte_length, fork;
  bool writable;            /* holds its secret key */
  const uint8_t *name;      /* corestore/name user data (NULL if none; not NUL-terminated) */
  size_t name_len;
  bool has_namespace;
  uint8_t ns[HC_NAMESPACE_BYTES]; /* corestore/namespace user data */
} hc_store_entry;

/* Return non-zero to stop the listing (hc_store_list returns that value). */
typedef int (*hc_store_list_cb)(void *user, const hc_store_entry *entry);

/* Calls cb for every core directory of the store (in discovery-key order), opening each
 * read-only without pinning it (cores already open are not reopened). A core that cannot be
 * read is given with entry->error set. Pointers in the entry are valid during the call. */
HC_EXPORT int hc_store_list(hc_store *s, hc_store_list_cb cb, void *user);

/* ---- replication: every core of the store served on demand ---- */

/* Creates a replicator whose remote may open a channel for any core of the store at any time:
 * the store opens it by discovery key if it exists locally (else the channel is rejected) and
 * pins it for this connection. `cb` and `user` are the caller's callbacks (its
 * on_discovery_key, if set, is asked first for cores the store does not have). Call
 * hc_store_detach(s, r) before r is freed (e.g. from the hc_net close callback). */
HC_EXPORT int hc_store_replicator_new(hc_store *s, hc_replicator **out,
                                      const hc_replicator_opts *opts,
                                      const hc_replicator_callbacks *cb, void *user);
/* Takes every core the store gave replicator r off it and unpins them (they stay in the LRU,
 * which may close them). r must still be alive (e.g. in the hc_net close callback); after
 * this the store no longer touches it. A core whose channel the remote closed is unpinned
 * as soon as the replicator releases it (on_core_released). */
HC_EXPORT void hc_store_detach(hc_store *s, hc_replicator *r);

#ifdef __cplusplus
}
#endif
#endif
