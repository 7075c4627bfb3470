/* libhypercore — the storage interface (random-access-storage verbs, SQLite VFS shape).
 *
 * A core keeps four files (`oplog`, `tree`, `bitfield`, `data`, and `header` when the oplog
 * header overflows). It opens them by name through an hc_storage_factory, so any backend can be
 * plugged in without touching the core. */
#ifndef HYPERCORE_STORAGE_H
#define HYPERCORE_STORAGE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_storage hc_storage;

#define HC_STORAGE_METHODS_VERSION 2

typedef struct hc_storage_methods {
  /* 1: read..close. 2: adds writev. Callers only look at members of the version given, so a
   * table written for version 1 (without the newer members) keeps working. */
  int version;
  /* Reads len bytes at off. Bytes past the end of the file read as zero and the call returns
   * HC_ERR_SHORT_READ (the buffer is still fully written). */
  int (*read)(hc_storage *st, uint64_t off, void *buf, size_t len);
  /* Writes len bytes at off, growing the file as needed. HC_ERR_NOSPC when the disk is full. */
  int (*write)(hc_storage *st, uint64_t off, const void *buf, size_t len);
  /* Discards [off, off+len): the range reads back as zeros; space is freed where possible. */
  int (*del)(hc_storage *st, uint64_t off, uint64_t len);
  /* Sets the file size. */
  int (*truncate)(hc_storage *st, uint64_t size);
  /* The file size in bytes, and the bytes actually allocated (may be NULL). */
  int (*stat)(hc_storage *st, uint64_t *size, uint64_t *allocated);
  /* Makes everything written so far durable. */
  int (*sync)(hc_storage *st);
  /* Closes and frees the handle. */
  void (*close)(hc_storage *st);
  /* ---- version 2 ---- */
  /* Writes the concatenation of bufs[0..n) at off, like write() of one joined buffer (same
   * errors), without the caller joining them. May be NULL: hc_storage_writev() falls back. */
  int (*writev)(hc_storage *st, uint64_t off, const hc_buf *bufs, size_t n);
} hc_storage_methods;

/* Every backend puts this struct first in its own. */
struct hc_storage {
  const hc_storage_methods *methods;
};

/* Flags for hc_storage_factory.open. */
#define HC_STORAGE_CREATE 1u   /* create the file if missing (else HC_ERR_NOT_FOUND) */
#define HC_STORAGE_LOCK 2u     /* take an exclusive lock (the oplog); HC_ERR_LOCKED if held */
#define HC_STORAGE_READONLY 4u /* open read-only */

/* Opens named files of one core. A backend sets version = HC_STORAGE_FACTORY_VERSION (another
 * version is HC_ERR_BAD_VERSION at hc_core_open); its files' method tables carry their own
 * version (HC_STORAGE_METHODS_VERSION, 1 and 2 accepted). */
#define HC_STORAGE_FACTORY_VERSION 1
typedef struct hc_storage_factory hc_storage_factory;
struct hc_storage_factory {
  int version; /* HC_STORAGE_FACTORY_VERSION */
  /* Opens `name` (oplog, tree, bitfield, data, header). */
  int (*open)(hc_storage_factory *f, const char *name, unsigned flags, hc_storage **out);
  /* Deletes every file of the core (purge). May be NULL. */
  int (*destroy)(hc_storage_factory *f);
  /* Frees the factory itself. May be NULL. */
  void (*free)(hc_storage_factory *f);
};

/* Convenience wrappers over the method table. */
static inline int hc_storage_read(hc_storage *st, uint64_t off, void *buf, size_t len) {
  return st->methods->read(st, off, buf, len);
}
static inline int hc_storage_write(hc_storage *st, uint64_t off, const void *buf, size_t len) {
  return st->methods->write(st, off, buf, len);
}
static inline int hc_storage_del(hc_storage *st, uint64_t off, uint64_t len) {
  return st->methods->del(st, off, len);
}
static inline int hc_storage_truncate(hc_storage *st, uint64_t size) {
  return st->methods->truncate(st, size);
}
static inline int hc_storage_stat(hc_storage *st, uint64_t *size, uint64_t *allocated) {
  return st->methods->stat(st, size, allocated);
}
static inline int hc_storage_sync(hc_storage *st) { return st->methods->sync(st); }
static inline void hc_storage_close(hc_storage *st) {
  if (st) st->methods->close(st);
}
/* Writes bufs[0..n) back to back at off: the backend's writev when it has one (version >= 2),
 * else one write of the joined buffers (or one write per buffer if joining cannot allocate). */
HC_EXPORT int hc_storage_writev(hc_storage *st, uint64_t off, const hc_buf *bufs, size_t n);

/* A factory for plain files in directory `dir` (created if missing), the layout of
 * random-access-file. The oplog is locked with flock(2) like the reference's fd-lock. */
HC_EXPORT int hc_storage_file_factory_new(hc_storage_factory **out, const char *dir);

/* A factory that keeps files in memory. Files survive closing a core and reopening it from the
 * same factory; they are freed with the factory. */
HC_EXPORT int hc_storage_memory_factory_new(hc_storage_factory **out);

/* Frees a factory (NULL is fine). */
HC_EXPORT void hc_storage_factory_free(hc_storage_factory *f);

/* Is `dir` storage of JS hypercore 11 / corestore 7 (a CORESTORE file or a RocksDB db/ folder,
 * and no hypercore 10 oplog)? HC_ERR_STORAGE_V11 if so, else HC_OK (also when dir does not
 * exist). hc_storage_file_factory_new refuses such a directory with the same error: the v11
 * format is not supported on disk (wire replication with v11 is). Note: JS hypercore 11 opened
 * on a v10 directory moves its files into db/ and opens an empty core. */
HC_EXPORT int hc_storage_dir_check(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
