/* Internal hooks of discovery.c for the fuzzer and unit tests: a discovery with no helper
 * process, fed the helper's byte stream directly. */
#ifndef HC_DISCOVERY_INTERNAL_H
#define HC_DISCOVERY_INTERNAL_H

#include "hypercore/discovery.h"

/* A discovery whose "helper" is the caller: no process, no socket; what it would send to
 * the helper is discarded (replicator output is still drained, so backpressure works). */
int hc__discovery_new_detached(hc_discovery **out, const hc_discovery_opts *opts,
                               const hc_discovery_callbacks *cb, void *user);
/* Feeds bytes as if the helper sent them. HC_OK, or HC_ERR_HELPER once a malformed frame
 * failed the discovery (detached discoveries never restart). */
int hc__discovery_feed(hc_discovery *d, const uint8_t *data, size_t len);

#endif
