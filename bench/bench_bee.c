/* bench_bee: the C side of the Hyperbee / Hyperdrive benchmark (bench/run_bee.sh runs it next
 * to bench/bench_bee.js). One workload per process:
 *   bench_bee put_batch  DIR N BATCH      N puts (16-byte keys, 32-byte values) in batches
 *   bench_bee get_rand   DIR N            N random gets of keys put by put_batch (same seed)
 *   bench_bee scan       DIR              a full range scan
 *   bench_bee mirror     STORE SRCDIR     a new drive mirroring the files of SRCDIR
 * Prints one line of JSON: {"value":..,"unit":..,"secs":..,"rss_kb":..} (rss: VmHWM). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hypercore.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) v = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return v;
}

static void result(double value, const char *unit, double secs) {
  printf("{\"value\":%.1f,\"unit\":\"%s\",\"secs\":%.3f,\"rss_kb\":%ld}\n", value, unit, secs,
         peak_rss_kb());
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_bee: %s: %s\n", what, hc_strerror(rc));
  exit(1);
}

/* The same keys as bench_bee.js: key i = 16 bytes of a 32-bit LCG sequence seeded by i. */
static void make_kv(uint64_t i, uint8_t key[16], uint8_t val[32]) {
  uint32_t x = (uint32_t)(i * 2654435761u) ^ 0x5bd1e995u;
  for (int j = 0; j < 16; j++) {
    x = x * 1664525u + 1013904223u;
    key[j] = (uint8_t)(x >> 24);
  }
  for (int j = 0; j < 32; j++) val[j] = (uint8_t)(i >> ((j % 8) * 8)) ^ (uint8_t)j;
}

static hc_core *open_core(const char *dir, bool create) {
  hc_core *c;
  hc_core_opts o = {.version = HC_CORE_OPTS_VERSION, .no_create = !create, .readonly = !create};
  int rc = hc_core_open_dir(&c, dir, &o);
  if (rc) die(dir, rc);
  return c;
}

static void put_batch(const char *dir, uint64_t n, uint64_t batch) {
  hc_core *c = open_core(dir, true);
  hc_bee *bee;
  int rc = hc_bee_open(&bee, c, NULL);
  if (rc) die("open", rc);
  double t = now();
  for (uint64_t i = 0; i < n;) {
    hc_bee_batch *b;
    if ((rc = hc_bee_batch_new(bee, &b))) die("batch", rc);
    for (uint64_t j = 0; j < batch && i < n; j++, i++) {
      uint8_t k[16], v[32];
      make_kv(i, k, v);
      if ((rc = hc_bee_batch_put(b, k, 16, v, 32))) die("put", rc);
    }
    if ((rc = hc_bee_batch_flush(b, NULL))) die("flush", rc);
    hc_bee_batch_free(b);
  }
  double secs = now() - t;
  hc_bee_close(bee);
  hc_core_close(c);
  result((double)n / secs, "puts/s", secs);
}

static void get_rand(const char *dir, uint64_t n) {
  hc_core *c = open_core(dir, false);
  hc_bee *bee;
  int rc = hc_bee_open(&bee, c, NULL);
  if (rc) die("open", rc);
  /* keys put by put_batch: their count is the version - 1 (one block per put) */
  uint64_t nkeys = hc_bee_version(bee) - 1, x = 88172645463325252ull;
  double t = now();
  for (uint64_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint8_t k[16], v[32];
    make_kv(x % nkeys, k, v);
    hc_bee_entry *e;
    if ((rc = hc_bee_get(bee, k, 16, &e))) die("get", rc);
    if (e->value_len != 32 || memcmp(e->value, v, 32)) die("get: wrong value", HC_ERR_CORRUPT);
    hc_bee_entry_free(e);
  }
  double secs = now() - t;
  hc_bee_close(bee);
  hc_core_close(c);
  result((double)n / secs, "gets/s", secs);
}

static void scan(const char *dir) {
  hc_core *c = open_core(dir, false);
  hc_bee *bee;
  int rc = hc_bee_open(&bee, c, NULL);
  if (rc) die("open", rc);
  double t = now();
  hc_bee_iter *it;
  if ((rc = hc_bee_iter_new(bee, NULL, &it))) die("iter", rc);
  uint64_t n = 0;
  hc_bee_entry *e;
  while ((rc = hc_bee_iter_next(it, &e)) == HC_OK) {
    n++;
    hc_bee_entry_free(e);
  }
  if (rc != HC_ERR_NOT_FOUND) die("scan", rc);
  hc_bee_iter_free(it);
  double secs = now() - t;
  hc_bee_close(bee);
  hc_core_close(c);
  result((double)n / secs, "entries/s", secs);
}

typedef struct fdsrc {
  int fd;
} fdsrc;

static int fd_read(void *user, uint8_t *buf, size_t cap, size_t *got) {
  ssize_t n = read(((fdsrc *)user)->fd, buf, cap);
  if (n < 0) return -1;
  *got = (size_t)n;
  return 0;
}

static uint64_t mirror_dir(hc_drive *d, const char *local, const char *prefix, uint64_t *bytes) {
  DIR *dh = opendir(local);
  if (!dh) die(local, HC_ERR_IO);
  struct dirent *de;
  uint64_t n = 0;
  while ((de = readdir(dh))) {
    if (de->d_name[0] == '.') continue;
    char lp[4096], pp[4096];
    snprintf(lp, sizeof lp, "%s/%s", local, de->d_name);
    snprintf(pp, sizeof pp, "%s/%s", prefix, de->d_name);
    struct stat st;
    if (lstat(lp, &st) < 0) die(lp, HC_ERR_IO);
    if (S_ISDIR(st.st_mode)) {
      n += mirror_dir(d, lp, pp, bytes);
    } else if (S_ISREG(st.st_mode)) {
      fdsrc s = {open(lp, O_RDONLY)};
      int rc = hc_drive_put_stream(d, pp, fd_read, &s, (st.st_mode & S_IXUSR) != 0, NULL);
      close(s.fd);
      if (rc) die(pp, rc);
      *bytes += (uint64_t)st.st_size;
      n++;
    }
  }
  closedir(dh);
  return n;
}

static void mirror(const char *store, const char *src) {
  char db_dir[4096], blobs_dir[4096];
  snprintf(db_dir, sizeof db_dir, "%s/db", store);
  snprintf(blobs_dir, sizeof blobs_dir, "%s/blobs", store);
  mkdir(store, 0755);
  hc_core *db = open_core(db_dir, true), *blobs = open_core(blobs_dir, true);
  hc_drive *d;
  int rc = hc_drive_open(&d, db, blobs, NULL);
  if (rc) die("drive", rc);
  uint64_t bytes = 0;
  double t = now();
  uint64_t n = mirror_dir(d, src, "", &bytes);
  double secs = now() - t;
  hc_drive_close(d);
  hc_core_close(blobs);
  hc_core_close(db);
  if (n == 1) result((double)bytes / 1e6 / secs, "MB/s", secs);
  else result((double)n / secs, "files/s", secs);
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "put_batch") == 0) put_batch(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
  else if (argc >= 4 && strcmp(argv[1], "get_rand") == 0) get_rand(argv[2], strtoull(argv[3], NULL, 10));
  else if (argc >= 3 && strcmp(argv[1], "scan") == 0) scan(argv[2]);
  else if (argc >= 4 && strcmp(argv[1], "mirror") == 0) mirror(argv[2], argv[3]);
  else {
    fprintf(stderr, "usage: bench_bee put_batch DIR N BATCH | get_rand DIR N | scan DIR | mirror STORE SRC\n");
    return 2;
  }
  return 0;
}
