/* libhypercore — a fault-injecting storage backend, for testing code (yours or ours) against
 * failed, torn and lost writes.
 *
 * hc_storage_fault_factory_new wraps any hc_storage_factory. Every file opened through the
 * wrapper forwards to the inner factory's file, except that the mutating verbs (write,
 * truncate, del, sync) are counted, across all files of the factory, and the plan set with
 * hc_storage_fault_set decides which one misbehaves:
 *
 *   HC_FAULT_FAIL_ONCE     the at-th counted op fails with `error`, nothing is changed;
 *                          later ops succeed again (a transient error).
 *   HC_FAULT_FAIL_PERSIST  the at-th and every later counted op fail with `error` (a full
 *                          disk: set the plan to HC_FAULT_NONE once "space is back").
 *   HC_FAULT_TORN          the at-th op is torn: a write stores only its first torn_bytes bytes
 *                          (default: half, rounded down) and fails; a truncate/del/sync does
 *                          nothing and fails. The factory is then "crashed": every later
 *                          operation of any kind (reads included) fails with HC_ERR_IO, as if
 *                          the process had died at that moment.
 *
 * Power loss (plan.track_unsynced): the wrapper additionally remembers every write, truncate
 * and del not yet followed by a sync of the same file, with undo information. A later
 * hc_storage_fault_crash() rolls all of them back and re-applies a random subset (each kept
 * with probability 1/2, a kept write possibly cut at a 512-byte sector boundary) in order, the
 * way a disk may persist or lose unsynced writes (SQLite test6.c style). The factory is then
 * crashed as above; the inner storage holds what "survived" and can be reopened directly.
 *
 * Example (fail the 3rd write/truncate/del/sync with ENOSPC, then recover):
 *
 *   hc_storage_factory *mem, *ff;
 *   hc_storage_memory_factory_new(&mem);
 *   hc_storage_fault_factory_new(&ff, mem);
 *   hc_fault_plan p = HC_FAULT_PLAN_INIT;
 *   p.mode = HC_FAULT_FAIL_PERSIST; p.at = 3; p.error = HC_ERR_NOSPC;
 *   hc_storage_fault_set(ff, &p);
 *   ... hc_core_open(&core, ff, NULL); hc_core_append(...) -> HC_ERR_NOSPC ...
 *   hc_core_close(core);
 *   hc_storage_factory_free(ff);    (the inner factory is borrowed: free it yourself)
 *   hc_storage_factory_free(mem);
 *
 * The wrapper is not thread-safe (like the cores using it). */
#ifndef HYPERCORE_FAULT_H
#define HYPERCORE_FAULT_H

#include <stdbool.h>

#include "common.h"
#include "storage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which verbs are counted (and so can fail). */
#define HC_FAULT_OP_WRITE 1u
#define HC_FAULT_OP_TRUNCATE 2u
#define HC_FAULT_OP_DEL 4u
#define HC_FAULT_OP_SYNC 8u
#define HC_FAULT_OP_ALL 15u

typedef enum hc_fault_mode {
  HC_FAULT_NONE = 0, /* count only */
  HC_FAULT_FAIL_ONCE = 1,
  HC_FAULT_FAIL_PERSIST = 2,
  HC_FAULT_TORN = 3
} hc_fault_mode;

#define HC_FAULT_PLAN_VERSION 1
typedef struct hc_fault_plan {
  int version;         /* HC_FAULT_PLAN_VERSION */
  hc_fault_mode mode;
  unsigned ops;        /* HC_FAULT_OP_* mask of counted verbs; 0 means HC_FAULT_OP_ALL */
  uint64_t at;         /* 1-based index of the counted op that faults; 0: never */
  int error;           /* the error returned (HC_ERR_IO when 0) */
  size_t torn_bytes;   /* HC_FAULT_TORN: bytes of the torn write kept (0: half of it) */
  bool track_unsynced; /* remember unsynced mutations for hc_storage_fault_crash */
  /* A quota: a write or truncate that would make a file larger than this fails with
   * HC_ERR_NOSPC (and changes nothing), whatever the mode. 0: no limit. */
  uint64_t max_file_size;
} hc_fault_plan;
#ifdef __cplusplus
#define HC_FAULT_PLAN_INIT {HC_FAULT_PLAN_VERSION}
#else
#define HC_FAULT_PLAN_INIT {.version = HC_FAULT_PLAN_VERSION}
#endif

/* Wraps `inner` (borrowed: it must outlive the wrapper and is not freed with it). Starts with
 * the plan HC_FAULT_NONE. Free with hc_storage_factory_free. */
HC_EXPORT int hc_storage_fault_factory_new(hc_storage_factory **out, hc_storage_factory *inner);

/* Installs a plan: resets the op counter and the crashed state, and drops the unsynced log.
 * HC_ERR_INVALID_ARG if f is not a fault factory or the plan is malformed,
 * HC_ERR_BAD_VERSION if plan->version is not HC_FAULT_PLAN_VERSION. */
HC_EXPORT int hc_storage_fault_set(hc_storage_factory *f, const hc_fault_plan *plan);

/* Counted ops since the last hc_storage_fault_set (the one that faulted included). */
HC_EXPORT uint64_t hc_storage_fault_count(const hc_storage_factory *f);

/* Has the planned fault happened yet? */
HC_EXPORT bool hc_storage_fault_fired(const hc_storage_factory *f);

/* Is the factory crashed (after a torn op or hc_storage_fault_crash)? */
HC_EXPORT bool hc_storage_fault_crashed(const hc_storage_factory *f);

/* Simulates power loss (needs plan.track_unsynced): unsynced mutations are rolled back and a
 * random subset (deterministic for `seed`) re-applied to the inner storage; then the factory
 * is crashed. *kept / *dropped (may be NULL) get how many mutations survived or were lost. */
HC_EXPORT int hc_storage_fault_crash(hc_storage_factory *f, uint64_t seed, uint64_t *kept,
                                     uint64_t *dropped);

#ifdef __cplusplus
}
#endif
#endif
