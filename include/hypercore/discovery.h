/* libhypercore — discovery: find peers on the Hyperswarm DHT and replicate with them.
 *
 * Peers meet by joining a topic (a core's discovery key) as server (announce) and/or client
 * (look up). Today's backend is the real hyperswarm 4.17.2 / hyperdht 6.34.0 from npm, run as
 * a helper process (helper/swarm/helper.js, pinned by its committed package-lock.json) that
 * the library starts and talks to over a socketpair it inherits (no filesystem name; nobody
 * else can connect). Hyperswarm does the DHT work, holepunching, the Noise IK handshake and
 * secret-stream encryption; every connection's plaintext messages are relayed to this process
 * and fed to a pre-authenticated replicator (preauth.h), so all verification happens here.
 * Hyperswarm keeps one connection per remote peer (also when both sides join as server and
 * client). A native C DHT can later replace the helper behind this same interface.
 *
 * If Node.js or the helper's packages are missing, hc_discovery_new fails with HC_ERR_HELPER
 * and a message naming the command that installs them; nothing else in the library needs
 * them. A helper that dies is restarted (topics joined again, peers reconnect); connections
 * it carried end with on_disconnect (HC_ERR_HELPER). Nothing unverified is ever stored. */
#ifndef HYPERCORE_DISCOVERY_H
#define HYPERCORE_DISCOVERY_H

#include "common.h"
#include "core.h"
#include "preauth.h"
#include "replicate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_discovery hc_discovery;

#define HC_DISCOVERY_CALLBACKS_VERSION 1
typedef struct hc_discovery_callbacks {
  int version; /* HC_DISCOVERY_CALLBACKS_VERSION (start from HC_DISCOVERY_CALLBACKS_INIT) */
  /* A connection to a peer is up; r is a pre-authenticated replicator owned by the discovery.
   * Add cores to it (hc_replicator_add_core, download, set_live) and return HC_OK, or return
   * an error to close the connection. Required. */
  int (*on_connection)(void *user, hc_discovery *d, hc_replicator *r,
                       const uint8_t remote_public_key[32], bool initiator);
  /* A connection ended (err HC_OK: closed by the remote or by us; or the error, also when
   * on_connection refused it); r is freed after. May be NULL. */
  void (*on_disconnect)(void *user, hc_discovery *d, hc_replicator *r, int err,
                        const char *message);
  /* The first announce/lookup round of a joined topic finished. May be NULL. */
  void (*on_joined)(void *user, hc_discovery *d, const uint8_t topic[32]);
  /* Something about the helper to tell a user (it exited, was restarted, reported an error).
   * May be NULL. */
  void (*on_log)(void *user, hc_discovery *d, const char *message);
  /* Makes the replicator of a new connection from the transport's parameters (e.g. a store's
   * replicator that serves every core on demand); it must be a pre-authenticated one made with
   * *opts (the pointers in it are valid during the call only). NULL: the discovery calls
   * hc_replicator_new_preauth with opts.replicator_callbacks. Return NULL to refuse the
   * connection. The discovery owns (and frees) the replicator, after on_disconnect. */
  hc_replicator *(*make_replicator)(void *user, hc_discovery *d, const hc_preauth_opts *opts);
} hc_discovery_callbacks;
#ifdef __cplusplus
#define HC_DISCOVERY_CALLBACKS_INIT {HC_DISCOVERY_CALLBACKS_VERSION}
#else
#define HC_DISCOVERY_CALLBACKS_INIT {.version = HC_DISCOVERY_CALLBACKS_VERSION}
#endif

#define HC_DISCOVERY_OPTS_VERSION 1
typedef struct hc_discovery_opts {
  int version;
  /* The swarm key pair's 32-byte seed (keep it to keep the peer's identity across restarts:
   * hc_discovery_seed_load); NULL: a random one. */
  const uint8_t *seed;
  /* DHT bootstrap nodes "HOST:PORT[,HOST:PORT...]"; NULL or "": hyperdht's public ones. When
   * every node is on 127.0.0.0/8 (or "localhost") the helper binds 127.0.0.1 only and runs
   * unfirewalled (a private test network); otherwise hyperdht's defaults apply (all
   * interfaces, firewall detection, holepunching). */
  const char *bootstrap;
  /* The node executable (NULL: $HC_NODE, else "node" from PATH) and the helper script (NULL:
   * $HC_SWARM_HELPER, else helper/swarm/helper.js of the source tree this library was built
   * from). */
  const char *node;
  const char *helper;
  /* Callbacks (and their user pointer) of every connection's replicator. May be NULL. */
  const hc_replicator_callbacks *replicator_callbacks;
  void *replicator_user;
  /* Connections kept at once; more are closed at once (0: 64, hyperswarm's maxPeers). */
  uint32_t max_connections;
  /* Helper restarts allowed after it dies (0: 5; negative: none, the discovery fails). */
  int max_restarts;
  /* Milliseconds to wait for the helper to start (0: 30000). */
  uint32_t start_timeout_ms;
  /* A helper that answers no PING (sent every 2 s) for this long is hung: it is killed and
   * restarted (0: 20000). */
  uint32_t health_timeout_ms;
  /* Out: why hc_discovery_new failed (may be NULL). */
  char *errbuf;
  size_t errbuf_len;
} hc_discovery_opts;
#ifdef __cplusplus
#define HC_DISCOVERY_OPTS_INIT {HC_DISCOVERY_OPTS_VERSION}
#else
#define HC_DISCOVERY_OPTS_INIT {.version = HC_DISCOVERY_OPTS_VERSION}
#endif

/* Starts the helper and the swarm (waits until it is up). HC_ERR_HELPER (errbuf says why and
 * what to run), HC_ERR_INVALID_ARG, HC_ERR_NOMEM, HC_ERR_TIMEOUT. */
HC_EXPORT int hc_discovery_new(hc_discovery **out, const hc_discovery_opts *opts,
                               const hc_discovery_callbacks *cb, void *user);
/* Closes every connection, stops the helper (which unannounces every topic) and frees d. */
HC_EXPORT void hc_discovery_free(hc_discovery *d);

#define HC_DISCOVERY_SERVER 1 /* announce the topic and accept its peers */
#define HC_DISCOVERY_CLIENT 2 /* look the topic up and connect to its peers */
/* Joins topic (32 bytes, usually hc_core_discovery_key) with HC_DISCOVERY_* flags; joining
 * again replaces the flags. Remembered across helper restarts. */
HC_EXPORT int hc_discovery_join(hc_discovery *d, const uint8_t topic[32], int flags);
/* Leaves topic: stops announcing and looking it up (open connections stay). */
HC_EXPORT int hc_discovery_leave(hc_discovery *d, const uint8_t topic[32]);

/* A watched fd is readable (or hung up); return non-zero to stop watching it. */
typedef int (*hc_discovery_fd_cb)(void *user, hc_discovery *d, int fd);
/* Loop condition: return true to stop. Called at least once a second. */
typedef bool (*hc_discovery_until_cb)(void *user, hc_discovery *d);
HC_EXPORT int hc_discovery_watch_fd(hc_discovery *d, int fd, hc_discovery_fd_cb cb, void *user);
/* Runs the loop until `until` returns true (HC_OK), timeout_ms passes (HC_ERR_TIMEOUT; -1:
 * none), hc_discovery_stop, or the helper failed for good (HC_ERR_HELPER). */
HC_EXPORT int hc_discovery_run(hc_discovery *d, int timeout_ms, hc_discovery_until_cb until,
                               void *user);
HC_EXPORT void hc_discovery_stop(hc_discovery *d);

/* For a caller's own poll loop: poll hc_discovery_fd for POLLIN (and POLLOUT when
 * hc_discovery_wants_write), then call hc_discovery_process; call it at least once a second
 * (helper health) and after anything that may have made replicators produce output. Returns
 * HC_OK or HC_ERR_HELPER. */
HC_EXPORT int hc_discovery_fd(const hc_discovery *d);
HC_EXPORT bool hc_discovery_wants_write(const hc_discovery *d);
HC_EXPORT int hc_discovery_process(hc_discovery *d);

typedef struct hc_discovery_stats {
  uint32_t connections;    /* open now */
  uint32_t peers;          /* peers the helper knows of (found on the DHT), as last reported */
  uint32_t dht_nodes;      /* DHT routing table size, as last reported */
  uint32_t restarts;       /* helper restarts so far */
  uint64_t connections_total;
  int helper_pid;          /* the running helper (0 while none) */
} hc_discovery_stats;
HC_EXPORT void hc_discovery_get_stats(const hc_discovery *d, hc_discovery_stats *st);
/* The swarm public key (32 bytes) peers see. */
HC_EXPORT const uint8_t *hc_discovery_public_key(const hc_discovery *d);
/* The error that stopped the discovery (HC_OK while healthy) and why. */
HC_EXPORT int hc_discovery_error(const hc_discovery *d);
HC_EXPORT const char *hc_discovery_error_message(const hc_discovery *d);

/* Reads the 32-byte key pair seed kept in `path`, creating it (random, mode 0600) if missing:
 * the peer keeps its swarm identity across restarts. HC_ERR_IO, HC_ERR_CORRUPT. */
HC_EXPORT int hc_discovery_seed_load(const char *path, uint8_t seed[32]);

#ifdef __cplusplus
}
#endif
#endif
