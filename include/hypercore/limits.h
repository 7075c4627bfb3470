/* libhypercore — resource limits for serving on an open network (hostile peers).
 *
 * One connection's memory (secret-stream frame buffer, output of every kind, queued remote
 * requests, the remote's bitfield, in-flight requests) is counted by hc_replicator_memory and
 * capped per connection; an hc_net also caps the sum over its connections and their number.
 * A peer over a budget is disconnected with a message saying which budget and how much each
 * part held (the net's close callback gets it). Defaults are used when a field is 0. */
#ifndef HYPERCORE_LIMITS_H
#define HYPERCORE_LIMITS_H

#include "common.h"
#include "net.h"
#include "replicate.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HC_DEFAULT_CONN_MEMORY (48u << 20)    /* per connection: 48 MiB */
#define HC_DEFAULT_NET_MEMORY (256u << 20)    /* all connections of one hc_net: 256 MiB */
#define HC_DEFAULT_MAX_CONNECTIONS 512u
#define HC_DEFAULT_MAX_OUTPUT (8u << 20)      /* stop reading a peer that leaves 8 MiB unread */
#define HC_DEFAULT_READ_BUDGET (256u << 10)   /* bytes read per connection per poll round */

#define HC_REPLICATOR_LIMITS_VERSION 1
typedef struct hc_replicator_limits {
  int version; /* HC_REPLICATOR_LIMITS_VERSION */
  /* Memory budget of this connection in bytes (0: HC_DEFAULT_CONN_MEMORY; SIZE_MAX: none).
   * Over it, the connection fails with HC_ERR_BUDGET. Replicators have no budget until set. */
  size_t max_memory;
} hc_replicator_limits;
#ifdef __cplusplus
#define HC_REPLICATOR_LIMITS_INIT {HC_REPLICATOR_LIMITS_VERSION}
#else
#define HC_REPLICATOR_LIMITS_INIT {.version = HC_REPLICATOR_LIMITS_VERSION}
#endif

/* Sets r's limits (HC_ERR_BAD_VERSION for an unknown version). */
HC_EXPORT int hc_replicator_set_limits(hc_replicator *r, const hc_replicator_limits *limits);
/* Bytes of memory r holds now (buffers, queues, remote bitfields). */
HC_EXPORT size_t hc_replicator_memory(const hc_replicator *r);

#define HC_NET_LIMITS_VERSION 1
typedef struct hc_net_limits {
  int version;            /* HC_NET_LIMITS_VERSION */
  size_t max_connections; /* 0: HC_DEFAULT_MAX_CONNECTIONS. When full, a new connection evicts
                             the oldest one still in its handshake, else it is refused */
  size_t max_memory;      /* sum over connections, bytes (0: HC_DEFAULT_NET_MEMORY); over it,
                             the connection holding the most is dropped */
  size_t conn_max_memory; /* per connection (0: HC_DEFAULT_CONN_MEMORY), applied to every
                             replicator the net drives */
  size_t max_output;      /* a peer with this much output unread is not read from until it
                             reads (0: HC_DEFAULT_MAX_OUTPUT) */
  size_t read_budget;     /* bytes read from one connection per poll round, so one fast sender
                             cannot starve the others (0: HC_DEFAULT_READ_BUDGET) */
} hc_net_limits;
#ifdef __cplusplus
#define HC_NET_LIMITS_INIT {HC_NET_LIMITS_VERSION}
#else
#define HC_NET_LIMITS_INIT {.version = HC_NET_LIMITS_VERSION}
#endif

/* Sets the net's limits (before or while running). HC_ERR_BAD_VERSION for an unknown version. */
HC_EXPORT int hc_net_set_limits(hc_net *net, const hc_net_limits *limits);

typedef struct hc_net_stats {
  uint64_t accepted;         /* connections accepted */
  uint64_t refused;          /* accepted and closed at once: max_connections of live peers */
  uint64_t evicted_pending;  /* dropped in their handshake to make room (limit or EMFILE) */
  uint64_t over_budget;      /* dropped over the per-connection or global memory budget */
  uint64_t accept_pauses;    /* accept failed (EMFILE, ENFILE, ...): listener paused */
} hc_net_stats;

/* Counters since hc_net_new. */
HC_EXPORT void hc_net_get_stats(const hc_net *net, hc_net_stats *out);

#ifdef __cplusplus
}
#endif
#endif
