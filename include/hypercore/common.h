/* libhypercore — common definitions: errors, sizes, export macro, buffers. */
#ifndef HYPERCORE_COMMON_H
#define HYPERCORE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HC_EXPORT __attribute__((visibility("default")))
#define HC_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define HC_EXPORT
#define HC_WARN_UNUSED
#endif

/* The version of these headers (CMakeLists.txt reads it from here). The shared library's
 * SONAME is libhypercore.so.HC_VERSION_MAJOR; hc_version() is the library's own at run time. */
#define HC_VERSION_MAJOR 0
#define HC_VERSION_MINOR 1
#define HC_VERSION_PATCH 0
#define HC_VERSION_STRING "0.1.0"
#define HC_VERSION_NUMBER (HC_VERSION_MAJOR * 10000 + HC_VERSION_MINOR * 100 + HC_VERSION_PATCH)

#define HC_KEY_BYTES 32        /* core key, discovery key, public key */
#define HC_SECRET_KEY_BYTES 64 /* Ed25519 secret key (seed || public key) */
#define HC_SEED_BYTES 32
#define HC_HASH_BYTES 32       /* BLAKE2b-256 */
#define HC_SIGNATURE_BYTES 64
#define HC_MAX_BLOCK_BYTES (15u * 1024u * 1024u) /* MAX_SUGGESTED_BLOCK_SIZE of the reference */

/* Error codes. Values are pinned: never renumber, only append.
 * Reserved: HC_ERR_CALLBACK and HC_ERR_CANCELLED are not returned by this version of the
 * library (kept, with their values, so the numbering stays stable).
 * X(name, value, message) */
#define HC_ERRNO_MAP(X)                                                                 \
  X(HC_OK, 0, "success")                                                                \
  X(HC_ERR_INVALID_ARG, -1, "invalid argument")                                         \
  X(HC_ERR_NOMEM, -2, "out of memory")                                                  \
  X(HC_ERR_IO, -3, "I/O error")                                                         \
  X(HC_ERR_SHORT_READ, -4, "short read")                                                \
  X(HC_ERR_DECODE, -5, "malformed encoding")                                            \
  X(HC_ERR_CORRUPT, -6, "storage is corrupt")                                           \
  X(HC_ERR_BAD_SIGNATURE, -7, "signature does not verify")                              \
  X(HC_ERR_NOBUF, -8, "buffer too small")                                               \
  X(HC_ERR_PROTOCOL, -9, "protocol violation by the remote peer")                       \
  X(HC_ERR_CALLBACK, -10, "callback failed")                                            \
  X(HC_ERR_CLOSED, -11, "closed")                                                       \
  X(HC_ERR_NOT_FOUND, -12, "not found")                                                 \
  X(HC_ERR_OUT_OF_RANGE, -13, "index out of range")                                     \
  X(HC_ERR_NOT_AVAILABLE, -14, "block not available locally")                           \
  X(HC_ERR_NOT_WRITABLE, -15, "core is not writable (no secret key)")                   \
  X(HC_ERR_BAD_CHECKSUM, -16, "hash does not match the signed tree")                    \
  X(HC_ERR_KEY_MISMATCH, -17, "key does not match the stored core")                     \
  X(HC_ERR_LOCKED, -18, "core is locked by another process")                            \
  X(HC_ERR_NOSPC, -19, "no space left on device")                                       \
  X(HC_ERR_EXISTS, -20, "core already exists")                                          \
  X(HC_ERR_NO_CORE, -21, "no core at this location")                                    \
  X(HC_ERR_INCOMPATIBLE, -22, "incompatible storage format")                            \
  X(HC_ERR_BLOCK_TOO_LARGE, -23, "block too large")                                     \
  X(HC_ERR_BAD_PROOF, -24, "proof does not verify")                                     \
  X(HC_ERR_SNAPSHOT_STALE, -25, "snapshot no longer valid: core truncated below it")    \
  X(HC_ERR_HEADER_OVERFLOW, -26, "oplog header too large")                              \
  X(HC_ERR_TIMEOUT, -27, "timed out")                                                   \
  X(HC_ERR_HANDSHAKE, -28, "handshake failed")                                          \
  X(HC_ERR_CANCELLED, -29, "cancelled")                                                 \
  X(HC_ERR_BUSY, -30, "operation not allowed now")                                      \
  X(HC_ERR_DECRYPT, -31, "block does not decrypt (wrong encryption key)")               \
  X(HC_ERR_BAD_MANIFEST, -32, "manifest does not hash to the core key")                 \
  X(HC_ERR_NOT_A_STORE, -33, "not a corestore directory")                               \
  X(HC_ERR_BAD_VERSION, -34,                                                            \
    "unsupported struct version (set .version, e.g. with the HC_*_INIT macro)")         \
  X(HC_ERR_STORAGE_V11, -35,                                                            \
    "this is hypercore 11 storage (a CORESTORE file and a RocksDB db/ folder), which is " \
    "not supported on disk; wire replication with hypercore 11 works")                  \
  X(HC_ERR_BUDGET, -36, "resource budget exceeded")                                     \
  X(HC_ERR_TOO_LARGE, -37, "length too large for this storage")                         \
  X(HC_ERR_HELPER, -38, "discovery helper missing or failed")                           \
  X(HC_ERR_NOT_A_BEE, -39, "core does not hold a Hyperbee (block 0 is not its header)") \
  X(HC_ERR_BEE_CORRUPT, -40, "Hyperbee node or index is not valid")

typedef enum {
#define HC__ERR_ENUM(name, value, msg) name = value,
  HC_ERRNO_MAP(HC__ERR_ENUM)
#undef HC__ERR_ENUM
} hc_err;

/* The library's version string at run time (HC_VERSION_STRING of the headers it was built
 * with; compare to catch a header/library mismatch). */
HC_EXPORT const char *hc_version(void);

/* A human-readable message for an error code (never NULL). */
HC_EXPORT const char *hc_strerror(int err);
/* The symbolic name of an error code, e.g. "HC_ERR_CORRUPT" (never NULL). */
HC_EXPORT const char *hc_err_name(int err);

/* A borrowed byte range. */
typedef struct hc_buf {
  const uint8_t *data;
  size_t len;
} hc_buf;

/* Frees memory the library allocated and handed to the caller (hc_core_get_alloc, ...). */
HC_EXPORT void hc_free(void *p);

/* Lowercase hex of `len` bytes into `out` (2*len+1 bytes, NUL terminated). */
HC_EXPORT void hc_hex_encode(char *out, const uint8_t *in, size_t len);
#define HC_ID_CHARS 52 /* z-base-32 of a 32-byte key */
/* The key's id: z-base-32 as hypercore-id-encoding (52 chars + NUL). */
HC_EXPORT void hc_id_encode(char out[HC_ID_CHARS + 1], const uint8_t key[HC_KEY_BYTES]);
/* Parses a key given as 64 hex chars, a 52-char z-base-32 id, or "pear://ID[/...]".
 * HC_OK or HC_ERR_INVALID_ARG. */
HC_EXPORT int hc_id_decode(uint8_t key[HC_KEY_BYTES], const char *id);

/* Parses exactly `len` bytes of hex. Returns HC_OK or HC_ERR_INVALID_ARG. */
HC_EXPORT int hc_hex_decode(uint8_t *out, size_t len, const char *hex);

#ifdef __cplusplus
}
#endif
#endif
