/* libhypercore — a C implementation of Hypercore, byte-compatible with hypercore@10.38.2.
 * The umbrella header: include this one (and hypercore/fault.h for the fault-injecting storage).
 *
 * Link with -lhypercore (pkg-config hypercore; CMake: find_package(hypercore), target
 * hypercore::hypercore). Functions return HC_OK (0) or a negative HC_ERR_* code.
 *
 * ABI: options and callback structs carry a `version` the library checks (an unknown one is
 * HC_ERR_BAD_VERSION); start them from their HC_*_INIT macro. Handles are opaque.
 *
 * Threading model:
 * - The library starts no threads, installs no signal handlers (sockets are written with
 *   MSG_NOSIGNAL) and keeps no mutable global state: independent objects may be used from
 *   different threads at the same time.
 * - Objects are not thread-safe. A core and everything attached to it (its sessions,
 *   snapshots, batches, iterators, the replicators it was added to, and the hc_net driving
 *   those) form one group that must be used from one thread at a time; serialise calls
 *   yourself (one owner thread, or one mutex around every call on the group). hc_net_stop is
 *   no exception: to stop a loop from another thread, wake it with a pipe watched through
 *   hc_net_watch_fd and call hc_net_stop from that callback.
 * - Callbacks (hc_core_on_update, replicator, extension and hc_net callbacks) run
 *   synchronously on the calling thread, inside the library call that caused them.
 * - Pointers the library returns into an object (hc_core_key, hc_core_manifest, user data,
 *   hc_replicator_pending_out, ...) stay valid only as documented (until the next mutation
 *   or call on that object): copy them before handing them to another thread.
 * - Pure functions may be called from any thread at any time: hc_version, hc_strerror,
 *   hc_err_name, the hex and id helpers, hc_keypair_*, hc_manifest_*, hc_multisig_*.
 * - Open a core's directory writable through one hc_core at a time (the oplog lock refuses a
 *   second writer, HC_ERR_LOCKED); more handles on the same core are sessions of it. */
#ifndef HYPERCORE_H
#define HYPERCORE_H

#include "hypercore/common.h"
#include "hypercore/storage.h"
#include "hypercore/keys.h"
#include "hypercore/core.h"
#include "hypercore/session.h"
#include "hypercore/replicate.h"
#include "hypercore/preauth.h"
#include "hypercore/discovery.h"
#include "hypercore/net.h"
#include "hypercore/multisig.h"
#include "hypercore/store.h"
#include "hypercore/limits.h"
#include "hypercore/bee.h"
#include "hypercore/drive.h"

#endif
