/* libhypercore — a small blocking driver for replicators over TCP (poll(2)).
 *
 * The protocol engine (replicate.h) does no I/O; this moves its bytes over sockets. One hc_net
 * holds any number of connections (each with its own replicator, owned by the hc_net), an
 * optional listening socket, and extra file descriptors to watch (e.g. stdin). hc_net_run()
 * loops until a condition holds, a timeout passes, or nothing is left to do. */
#ifndef HYPERCORE_NET_H
#define HYPERCORE_NET_H

#include "common.h"
#include "core.h"
#include "replicate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_net hc_net;

/* A connection was accepted: return a new replicator (is_initiator = false) with its cores
 * added, or NULL to drop the connection. */
typedef hc_replicator *(*hc_net_accept_cb)(void *user, hc_net *net);
/* A connection ended (err HC_OK: the remote closed cleanly). The replicator is freed after. */
typedef void (*hc_net_close_cb)(void *user, hc_net *net, hc_replicator *r, int err,
                                const char *message);
/* A watched fd is readable (or hung up). Return non-zero to stop watching it. */
typedef int (*hc_net_fd_cb)(void *user, hc_net *net, int fd);
/* Loop condition for hc_net_run: return true to stop. */
typedef bool (*hc_net_until_cb)(void *user, hc_net *net);

HC_EXPORT int hc_net_new(hc_net **out, hc_net_close_cb on_close, void *user);
/* Closes every socket and frees every replicator (NULL is fine). */
HC_EXPORT void hc_net_free(hc_net *net);

/* Listens on host:port (port 0: any); *bound_port gets the port. Accepted connections get a
 * replicator from on_accept. */
HC_EXPORT int hc_net_listen(hc_net *net, const char *host, uint16_t port, uint16_t *bound_port,
                            hc_net_accept_cb on_accept, void *user);
/* Connects to host:port (blocking connect) and drives `r` over it; the net owns r from now
 * on, also on failure. */
HC_EXPORT int hc_net_connect(hc_net *net, const char *host, uint16_t port, hc_replicator *r);
/* Drives `r` over an already connected socket (owned by the net from now on). */
HC_EXPORT int hc_net_add_socket(hc_net *net, int fd, hc_replicator *r);
/* Calls cb whenever fd is readable. */
HC_EXPORT int hc_net_watch_fd(hc_net *net, int fd, hc_net_fd_cb cb, void *user);

/* Runs the loop until `until` returns true (HC_OK), timeout_ms passes (HC_ERR_TIMEOUT; -1 for
 * none), or no connection and no listener remain (HC_ERR_CLOSED). */
HC_EXPORT int hc_net_run(hc_net *net, int timeout_ms, hc_net_until_cb until, void *user);
/* Makes hc_net_run return HC_OK at its next iteration (callable from callbacks). */
HC_EXPORT void hc_net_stop(hc_net *net);
/* Open connections. */
HC_EXPORT size_t hc_net_connections(const hc_net *net);

/* Gets block `index`, downloading it through `r` (a connection of this net) when it is not
 * local, waiting up to timeout_ms. *out is allocated (hc_free). HC_ERR_TIMEOUT, or the
 * connection's error when it failed. */
HC_EXPORT int hc_net_get(hc_net *net, hc_replicator *r, hc_core *core, uint64_t index,
                         int timeout_ms, uint8_t **out, size_t *len);

/* hc_iter_next that waits: a block that is not local is downloaded through r, and a live
 * iterator that caught up waits for the core to grow (following the remote's appends), up to
 * timeout_ms (-1: forever). Returns what hc_iter_next returns, or HC_ERR_TIMEOUT /
 * HC_ERR_CLOSED. */
struct hc_iter;
HC_EXPORT int hc_net_iter_next(hc_net *net, hc_replicator *r, hc_core *core, struct hc_iter *it,
                               int timeout_ms, uint64_t *index, uint8_t **out, size_t *len);

/* Sends an extension message for core on every open connection that replicates it (JS
 * ext.broadcast). *sent (may be NULL) gets the number of peers reached. */
HC_EXPORT int hc_net_broadcast_extension(hc_net *net, hc_core *core, const char *name,
                                         const uint8_t *message, size_t len, size_t *sent);

/* Milliseconds of a monotonic clock (what hc_net passes to replicators). */
HC_EXPORT uint64_t hc_net_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
