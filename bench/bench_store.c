/* bench_store: the C side of the store benchmark (bench/store_run.js drives it next to
 * bench/bench_store.js, JS corestore 6.18.4).
 *
 *   bench_store make DIR N BLOCKS [BYTES]     a store of N named cores ("core-I", primary key
 *                                             07*32) of BLOCKS blocks of BYTES (default 64)
 *   bench_store list DIR                      opens the store and lists it (key, length, name)
 *   bench_store fetch PORT N BLOCKS [PER_CONN] [FIRST]
 *                                             a reader: downloads cores core-FIRST..+N (keys
 *                                             derived from the same primary key) from a seeder
 *                                             on 127.0.0.1:PORT, PER_CONN cores per connection
 *                                             (default all on one), into memory, verifying all
 *
 * Each prints one line of JSON: {"ms":..,"count":..,"rss_kb":..} (rss_kb: VmHWM at the end;
 * fetch: ms from connecting to holding every block, summed over connections, without making
 * the reader's empty cores; total_ms with it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hypercore.h"

static const char *PK_HEX = "0707070707070707070707070707070707070707070707070707070707070707";

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_store: %s: %s (%d)\n", what, hc_strerror(rc), rc);
  exit(1);
}

static int cmd_make(const char *dir, long n, long blocks, long bytes) {
  uint8_t pk[32];
  hc_hex_decode(pk, 32, PK_HEX);
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.create = true;
  o.primary_key = pk;
  hc_store *s;
  int rc = hc_store_open(&s, dir, &o);
  if (rc) die("open", rc);
  hc_buf *bufs = calloc((size_t)blocks, sizeof *bufs);
  uint8_t *data = malloc((size_t)(blocks * bytes) + 1);
  if (!bufs || !data) die("alloc", HC_ERR_NOMEM);
  double t0 = now_ms();
  for (long i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "core-%ld", i);
    hc_core *c;
    if ((rc = hc_store_get_named(s, NULL, (const uint8_t *)name, strlen(name), &c))) die("get", rc);
    for (long b = 0; b < blocks; b++) {
      memset(data + b * bytes, (int)((i + b) & 0xff), (size_t)bytes);
      bufs[b].data = data + b * bytes;
      bufs[b].len = (size_t)bytes;
    }
    if (blocks && (rc = hc_core_append(c, bufs, (size_t)blocks, NULL, NULL))) die("append", rc);
    hc_store_release(s, c);
  }
  double t1 = now_ms();
  hc_store_close(s);
  free(bufs);
  free(data);
  printf("{\"ms\":%.1f,\"count\":%ld,\"rss_kb\":%ld}\n", t1 - t0, n, peak_rss_kb());
  return 0;
}

typedef struct list_acc {
  long count, bad;
  uint64_t blocks;
} list_acc;

static int on_entry(void *user, const hc_store_entry *e) {
  list_acc *a = user;
  a->count++;
  if (e->error) a->bad++;
  a->blocks += e->length;
  return 0;
}

static int cmd_list(const char *dir) {
  double t0 = now_ms();
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  hc_store *s;
  int rc = hc_store_open(&s, dir, &o);
  if (rc) die("open", rc);
  list_acc a = {0, 0, 0};
  if ((rc = hc_store_list(s, on_entry, &a))) die("list", rc);
  hc_store_close(s);
  double t1 = now_ms();
  if (a.bad) die("list: unreadable cores", HC_ERR_CORRUPT);
  printf("{\"ms\":%.1f,\"count\":%ld,\"blocks\":%llu,\"rss_kb\":%ld}\n", t1 - t0, a.count,
         (unsigned long long)a.blocks, peak_rss_kb());
  return 0;
}

/* ---- fetch ---- */

typedef struct reader {
  hc_core **cores;
  size_t n, done; /* cores [0, done) are complete */
  int closed;
} reader;

/* Checked after every poll round: resumes where the last call stopped (cores complete in
 * roughly the order they were asked for), so it costs O(1) per round, not O(cores). */
static bool all_done(void *user, hc_net *net) {
  reader *rd = user;
  if (rd->closed) return true;
  while (rd->done < rd->n) {
    hc_core *c = rd->cores[rd->done];
    if (hc_core_length(c) == 0 || hc_core_contiguous_length(c) < hc_core_length(c)) return false;
    rd->done++;
  }
  return true;
}

static void on_close(void *user, hc_net *net, hc_replicator *r, int err, const char *msg) {
  reader *rd = user;
  rd->closed = 1;
  if (err) fprintf(stderr, "bench_store: connection: %s\n", msg ? msg : hc_strerror(err));
}

/* One connection: downloads cores [first, first+n) of the store. */
static void fetch_batch(uint16_t port, const uint8_t pk[32], long first, long n, long blocks,
                        uint64_t *got, double *net_ms) {
  hc_storage_factory **f = calloc((size_t)n, sizeof *f);
  hc_core **cores = calloc((size_t)n, sizeof *cores);
  if (!f || !cores) die("alloc", HC_ERR_NOMEM);
  reader rd = {cores, (size_t)n, 0, 0};
  hc_net *net;
  int rc = hc_net_new(&net, on_close, &rd);
  if (rc) die("net", rc);
  hc_replicator_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.version = HC_REPLICATOR_OPTS_VERSION;
  ro.is_initiator = true;
  hc_replicator *r;
  if ((rc = hc_replicator_new(&r, &ro, NULL, NULL))) die("replicator", rc);
  for (long i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "core-%ld", first + i);
    uint8_t pub[32], sec[64];
    hc_store_derive_key_pair(pk, NULL, (const uint8_t *)name, strlen(name), pub, sec);
    if ((rc = hc_storage_memory_factory_new(&f[i]))) die("memory", rc);
    hc_core_opts co;
    memset(&co, 0, sizeof co);
    co.version = HC_CORE_OPTS_VERSION;
    co.key = pub;
    if ((rc = hc_core_open(&cores[i], f[i], &co))) die("core", rc);
    if ((rc = hc_replicator_add_core(r, cores[i]))) die("add", rc);
    if ((rc = hc_replicator_download(r, cores[i], 0, UINT64_MAX))) die("download", rc);
  }
  double t0 = now_ms(); /* from connecting to holding every block: the seeder's part */
  if ((rc = hc_net_connect(net, "127.0.0.1", port, r))) die("connect", rc);
  rc = hc_net_run(net, 120000, all_done, &rd);
  if (rc) die("run", rc);
  *net_ms += now_ms() - t0;
  for (long i = 0; i < n; i++) {
    if (hc_core_length(cores[i]) != (uint64_t)blocks) die("short core", HC_ERR_NOT_AVAILABLE);
    *got += hc_core_length(cores[i]);
  }
  hc_net_free(net);
  for (long i = 0; i < n; i++) {
    hc_core_close(cores[i]);
    hc_storage_factory_free(f[i]);
  }
  free(cores);
  free(f);
}

static int cmd_fetch(long port, long n, long blocks, long per_conn, long first) {
  uint8_t pk[32];
  hc_hex_decode(pk, 32, PK_HEX);
  if (per_conn <= 0) per_conn = n;
  uint64_t got = 0;
  double ms = 0, t0 = now_ms();
  for (long i = 0; i < n; i += per_conn)
    fetch_batch((uint16_t)port, pk, first + i, i + per_conn > n ? n - i : per_conn, blocks, &got,
                &ms);
  printf("{\"ms\":%.1f,\"total_ms\":%.1f,\"count\":%ld,\"blocks\":%llu,\"rss_kb\":%ld}\n", ms,
         now_ms() - t0, n, (unsigned long long)got, peak_rss_kb());
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "make"))
    return cmd_make(argv[2], atol(argv[3]), atol(argv[4]), argc > 5 ? atol(argv[5]) : 64);
  if (argc == 3 && !strcmp(argv[1], "list")) return cmd_list(argv[2]);
  if (argc >= 5 && !strcmp(argv[1], "fetch"))
    return cmd_fetch(atol(argv[2]), atol(argv[3]), atol(argv[4]), argc > 5 ? atol(argv[5]) : 0,
                     argc > 6 ? atol(argv[6]) : 0);
  fprintf(stderr, "usage: bench_store make DIR N BLOCKS [BYTES] | list DIR | "
                  "fetch PORT N BLOCKS [PER_CONN] [FIRST]\n");
  return 2;
}
