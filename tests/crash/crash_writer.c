/* Crash-test writer: opens (or creates) the core in argv[1] and appends batches of
 * deterministic blocks (content derived from the index) until the length reaches argv[2]
 * (default: forever). After every successful hc_core_append it prints the acknowledged length
 * on its own line and flushes stdout, so a parent that kills it knows what was acknowledged.
 * Exit: 0 when the target length is reached, 2 on a library error (printed on stderr). */
#include <stdlib.h>

#include "crash_common.h"
#include "hypercore.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: crash_writer DIR [MAX_LENGTH]\n");
    return 2;
  }
  uint64_t max = argc > 2 ? strtoull(argv[2], NULL, 10) : UINT64_MAX;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = CRASH_SEED;
  hc_core *c;
  int rc = hc_core_open_dir(&c, argv[1], &o);
  if (rc) {
    fprintf(stderr, "crash_writer: open %s: %s\n", argv[1], hc_strerror(rc));
    return 2;
  }
  printf("open %llu\n", (unsigned long long)hc_core_length(c));
  fflush(stdout);
  static uint8_t bufs[8][2200];
  while (hc_core_length(c) < max) {
    uint64_t start = hc_core_length(c);
    size_t n = crash_batch(start);
    hc_buf b[8];
    for (size_t k = 0; k < n; k++) {
      b[k].data = bufs[k];
      b[k].len = crash_block(start + k, bufs[k], sizeof bufs[k]);
    }
    uint64_t len;
    rc = hc_core_append(c, b, n, &len, NULL);
    if (rc) {
      fprintf(stderr, "crash_writer: append at %llu: %s\n", (unsigned long long)start,
              hc_strerror(rc));
      hc_core_close(c);
      return 2;
    }
    printf("%llu\n", (unsigned long long)len);
    fflush(stdout);
  }
  hc_core_close(c);
  return 0;
}
