/* Minimal test helpers: each tests/test_*.c is one program; a failed check prints both sides
 * and exits non-zero. */
#ifndef HC_TEST_UTIL_H
#define HC_TEST_UTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypercore.h"

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

#define CHECK_EQ(a, b)                                                                   \
  do {                                                                                   \
    uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);                                     \
    if (_a != _b) {                                                                      \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%" PRIu64 " vs %" PRIu64 ")\n", \
              __FILE__, __LINE__, #a, #b, _a, _b);                                       \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

/* Checks an hc_err call returns `want`, printing the error names. */
#define CHECK_RC(call, want)                                                           \
  do {                                                                                 \
    int _rc = (call);                                                                  \
    if (_rc != (want)) {                                                               \
      fprintf(stderr, "%s:%d: %s returned %s (%d), wanted %s\n", __FILE__, __LINE__,   \
              #call, hc_err_name(_rc), _rc, hc_err_name(want));                        \
      exit(1);                                                                         \
    }                                                                                  \
  } while (0)

#define CHECK_OK(call) CHECK_RC(call, HC_OK)

#define CHECK_MEM(a, b, n)                                                  \
  do {                                                                      \
    if (memcmp((a), (b), (n)) != 0) {                                       \
      char _ha[2 * (n) + 1], _hb[2 * (n) + 1];                              \
      hc_hex_encode(_ha, (const uint8_t *)(a), (n));                        \
      hc_hex_encode(_hb, (const uint8_t *)(b), (n));                        \
      fprintf(stderr, "%s:%d: CHECK_MEM failed:\n  %s\n  %s\n", __FILE__, __LINE__, _ha, _hb); \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

/* Compares n bytes at a with a hex string. */
#define CHECK_HEX(a, hex)                                     \
  do {                                                        \
    size_t _n = strlen(hex) / 2;                              \
    uint8_t *_b = malloc(_n ? _n : 1);                        \
    CHECK(_b && hc_hex_decode(_b, _n, hex) == HC_OK);         \
    CHECK_MEM(a, _b, _n);                                     \
    free(_b);                                                 \
  } while (0)

/* A fresh directory under $HC_TEST_TMP (or /tmp) for this test; returns a static buffer. */
static inline const char *test_tmpdir(const char *name) {
  static char path[4096];
  const char *base = getenv("HC_TEST_TMP");
  if (!base) base = "/tmp/hc-test";
  snprintf(path, sizeof path, "%s/%s-%d", base, name, (int)getpid());
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
  if (system(cmd) != 0) { fprintf(stderr, "cannot make %s\n", path); exit(1); }
  return path;
}

/* Path of a file under ../shared (env HC_SHARED, set by CTest). */
static inline const char *shared_path(const char *rel) {
  static char path[4096];
  const char *base = getenv("HC_SHARED");
  if (!base) base = "../shared";
  snprintf(path, sizeof path, "%s/%s", base, rel);
  return path;
}

#endif
