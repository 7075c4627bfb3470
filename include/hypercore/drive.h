/* libhypercore — Hyperdrive (hyperdrive 11.x): a file system kept in two cores, a Hyperbee of
 * entries (db) and a blobs core holding the file contents (hyperblobs, 64 KiB blocks).
 *
 * Entries are bee keys "files\0" + path (utf-8, normalised: leading '/', no trailing '/')
 * with a JSON value {executable, linkname, blob: {blockOffset, byteOffset, blockLength,
 * byteLength} | null, metadata}. The db core's header carries the blobs core's key
 * (contentFeed). Reads go through hc_bee_opts.get_block for both cores, so a sparse replica
 * fetches only the blocks of the entries and byte ranges it reads. */
#ifndef HYPERCORE_DRIVE_H
#define HYPERCORE_DRIVE_H

#include <stdbool.h>

#include "bee.h"
#include "common.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hc_drive hc_drive;

/* Options for hc_drive_open: start from HC_DRIVE_OPTS_INIT (another version is
 * HC_ERR_BAD_VERSION). */
#define HC_DRIVE_OPTS_VERSION 1
typedef struct hc_drive_opts {
  int version;
  /* How blocks of both cores are read (NULL: local blocks only), as hc_bee_opts. */
  hc_bee_get_block_cb get_block;
  void *get_block_user;
} hc_drive_opts;
#ifdef __cplusplus
#define HC_DRIVE_OPTS_INIT {HC_DRIVE_OPTS_VERSION}
#else
#define HC_DRIVE_OPTS_INIT {.version = HC_DRIVE_OPTS_VERSION}
#endif

/* The blobs key a drive's db core names in its header (HC_ERR_NOT_FOUND when the header has
 * none, e.g. an empty core or a drive of non-compat cores, whose blobs key comes from the
 * manifest). */
HC_EXPORT int hc_drive_content_key(hc_core *db, const hc_drive_opts *opts,
                                   uint8_t key[HC_KEY_BYTES]);

/* Opens a drive on its db core and its blobs core (both borrowed; blobs may be NULL to only
 * list and stat). A writable empty db gets a header naming the blobs core at the first write.
 * Errors: HC_ERR_NOT_A_BEE, HC_ERR_KEY_MISMATCH (blobs is not the core the header names). */
HC_EXPORT int hc_drive_open(hc_drive **out, hc_core *db, hc_core *blobs,
                            const hc_drive_opts *opts);
HC_EXPORT void hc_drive_close(hc_drive *drive);
/* The drive's bee (its keys carry the "files\0" prefix). */
HC_EXPORT hc_bee *hc_drive_bee(hc_drive *drive);

/* A drive entry (one allocation: hc_drive_entry_free). */
typedef struct hc_drive_entry {
  char *path;     /* "/dir/file" */
  uint64_t seq;   /* the db block holding it */
  bool executable;
  char *linkname; /* a symlink's target, else NULL */
  bool has_blob;
  uint64_t block_offset, block_length, byte_offset, byte_length;
  char *metadata; /* the metadata's JSON text ("null" when none) */
  bool block_map; /* blob.blockMap (hyperblobs dedup): the blob's blocks are a map of data
                   * blocks and byte_length is the map's size, not the file's */
} hc_drive_entry;
HC_EXPORT void hc_drive_entry_free(hc_drive_entry *e);

/* The entry at path: HC_OK, HC_ERR_NOT_FOUND, HC_ERR_BEE_CORRUPT (a value that is not an
 * entry). */
HC_EXPORT int hc_drive_entry_get(hc_drive *drive, const char *path, hc_drive_entry **out);

typedef struct hc_drive_iter hc_drive_iter;
/* Lists the entries under folder ("/" for all): recursive, every entry in key order; else one
 * per immediate child, a folder given as the first entry inside it with *is_dir set. */
HC_EXPORT int hc_drive_list(hc_drive *drive, const char *folder, bool recursive,
                            hc_drive_iter **out);
/* Next entry: HC_OK, HC_ERR_NOT_FOUND at the end. For a non-recursive list, *name (may be
 * NULL) gets the child's name (owned by the iterator, valid until the next call) and *is_dir
 * whether it is a folder. */
HC_EXPORT int hc_drive_list_next(hc_drive_iter *it, hc_drive_entry **out, const char **name,
                                 bool *is_dir);
HC_EXPORT void hc_drive_list_free(hc_drive_iter *it);

/* Receives file bytes in order; return non-zero to stop (the read returns HC_ERR_CALLBACK). */
typedef int (*hc_drive_write_cb)(void *user, const uint8_t *data, size_t len);

/* Reads bytes [start, start + length) of the entry's file (length UINT64_MAX: to the end),
 * fetching only the blobs blocks that hold them (and a block-map blob's map). HC_ERR_CORRUPT when the blob points outside
 * the blobs core or its blocks do not add up to its byteLength. */
HC_EXPORT int hc_drive_read(hc_drive *drive, const hc_drive_entry *entry, uint64_t start,
                            uint64_t length, hc_drive_write_cb cb, void *user);

/* Supplies file bytes for hc_drive_put_stream: fill buf (cap bytes), *got = bytes (0 at the
 * end). Return non-zero on error. */
typedef int (*hc_drive_read_cb)(void *user, uint8_t *buf, size_t cap, size_t *got);

/* Writes a file: its content appended to the blobs core in 64 KiB blocks, then the entry.
 * metadata_json NULL: null. */
HC_EXPORT int hc_drive_put(hc_drive *drive, const char *path, const uint8_t *data, size_t len,
                           bool executable, const char *metadata_json);
HC_EXPORT int hc_drive_put_stream(hc_drive *drive, const char *path, hc_drive_read_cb cb,
                                  void *user, bool executable, const char *metadata_json);
/* A symlink entry path -> target. */
HC_EXPORT int hc_drive_symlink(hc_drive *drive, const char *path, const char *target);
/* Deletes the entry (its blobs stay, as in the reference); absent: HC_OK. */
HC_EXPORT int hc_drive_del(hc_drive *drive, const char *path);
/* The normalised path (unix-path-resolve from "/", as the reference): allocated (hc_free). */
HC_EXPORT char *hc_drive_normalize(const char *path);

#ifdef __cplusplus
}
#endif
#endif
