/* bench_core: one workload of the libhypercore benchmark per process (bench/run.js drives it).
 *
 *   bench_core append_batch  DIR N BLOCK BATCH   -> blocks/s   (N blocks of BLOCK bytes)
 *   bench_core append_single DIR N BLOCK         -> appends/s  (one signature each)
 *   bench_core append_durable DIR N BLOCK        -> appends/s  (the same with opts.durable: fsyncs)
 *   bench_core bulk          DIR BYTES BLOCK BATCH -> MB/s     (1 MB = 1e6 bytes)
 *   bench_core get_seq       DIR N               -> blocks/s   (blocks 0..N-1 of an existing core)
 *   bench_core get_rand      DIR N               -> blocks/s   (N pseudo-random blocks)
 *   bench_core reopen        DIR                 -> ms         (open + read the last block)
 *   bench_core clone_tcp     SRC DST             -> MB/s       (a forked writer process serves SRC
 *                                                  over TCP loopback; this process clones all of
 *                                                  it into DST, verifying; RSS is the reader's)
 *   bench_core limits        DIR BYTES           -> machine limits (see below)
 *
 * Prints one line of JSON: {"value":..,"unit":..,"rss_kb":..,...}. rss_kb is VmHWM (peak RSS)
 * from /proc/self/status at the end of the run. The timed part excludes creating the process
 * and, for appends and gets, opening/closing the core (reopen times exactly open + get). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "hypercore.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
  fprintf(stderr, "bench_core: %s: %s (%d)\n", what, hc_strerror(rc), rc);
  exit(1);
}

static void result(double value, const char *unit, double secs) {
  printf("{\"value\":%.6g,\"unit\":\"%s\",\"secs\":%.6f,\"rss_kb\":%ld}\n", value, unit, secs,
         peak_rss_kb());
}

/* Block contents: a fixed pseudo-random pattern with the block index in the first 8 bytes (the
 * JS side does the same), so no two blocks are equal and generating them costs ~nothing. */
static void fill_pattern(uint8_t *buf, size_t len) {
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = (uint8_t)x;
  }
}

static void stamp(uint8_t *block, size_t len, uint64_t index) {
  for (size_t i = 0; i < 8 && i < len; i++) block[i] = (uint8_t)(index >> (8 * i));
}

static bool g_durable; /* open cores with opts.durable (append_durable) */

static hc_core *open_core(const char *dir) {
  hc_core *core;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.durable = g_durable;
  int rc = hc_core_open_dir(&core, dir, &o);
  if (rc) die("open", rc);
  return core;
}

static int do_append(const char *dir, uint64_t n, size_t block, size_t batch, const char *unit,
                     double scale) {
  hc_core *core = open_core(dir);
  uint8_t *data = malloc(block * batch);
  hc_buf *bufs = malloc(batch * sizeof *bufs);
  if (!data || !bufs) die("malloc", HC_ERR_NOMEM);
  fill_pattern(data, block * batch);
  for (size_t i = 0; i < batch; i++) {
    bufs[i].data = data + i * block;
    bufs[i].len = block;
  }
  double t0 = now();
  for (uint64_t done = 0; done < n;) {
    size_t k = n - done < batch ? (size_t)(n - done) : batch;
    for (size_t i = 0; i < k; i++) stamp(data + i * block, block, done + i);
    int rc = hc_core_append(core, bufs, k, NULL, NULL);
    if (rc) die("append", rc);
    done += k;
  }
  double secs = now() - t0;
  if (hc_core_length(core) != n) die("length mismatch", HC_ERR_CORRUPT);
  hc_core_close(core);
  free(data);
  free(bufs);
  result((double)n * scale / secs, unit, secs);
  return 0;
}

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static int do_get(const char *dir, uint64_t n, bool random) {
  hc_core *core = open_core(dir);
  uint64_t len = hc_core_length(core);
  if (len == 0) die("empty core", HC_ERR_NOT_FOUND);
  uint8_t buf[65536];
  uint64_t seed = 0x2545f4914f6cdd1dULL, sum = 0;
  double t0 = now();
  for (uint64_t i = 0; i < n; i++) {
    uint64_t idx = random ? xorshift(&seed) % len : i % len;
    size_t got;
    int rc = hc_core_get(core, idx, buf, sizeof buf, &got);
    if (rc) die("get", rc);
    sum += buf[0] + got;
  }
  double secs = now() - t0;
  hc_core_close(core);
  if (sum == 0) die("nothing read", HC_ERR_CORRUPT);
  result((double)n / secs, "blocks/s", secs);
  return 0;
}

static int do_reopen(const char *dir) {
  uint8_t buf[65536];
  size_t got;
  double t0 = now();
  hc_core *core = open_core(dir);
  uint64_t len = hc_core_length(core);
  if (len == 0) die("empty core", HC_ERR_NOT_FOUND);
  int rc = hc_core_get(core, len - 1, buf, sizeof buf, &got);
  if (rc) die("get", rc);
  double secs = now() - t0;
  hc_core_close(core);
  printf("{\"value\":%.6g,\"unit\":\"ms\",\"secs\":%.6f,\"rss_kb\":%ld,\"length\":%llu}\n",
         secs * 1e3, secs, peak_rss_kb(), (unsigned long long)len);
  return 0;
}

/* Machine limits: BLAKE2b-256 of 64-byte messages, BLAKE2b-256 throughput on 4 KiB messages,
 * Ed25519 signatures of a 112-byte message (the v1 signable), sequential write of BYTES bytes
 * in 1 MiB pwrites to a new file in DIR (page cache, no fsync: what the appends do). */
static int do_limits(const char *dir, uint64_t bytes) {
  if (hc_crypto_init()) die("sodium", HC_ERR_IO);
  uint8_t msg[4096], out[32];
  fill_pattern(msg, sizeof msg);
  /* blake2b 64 B */
  uint64_t n = 0;
  double t0 = now(), t;
  do {
    for (int i = 0; i < 4096; i++) {
      msg[0] = (uint8_t)i;
      hc_crypto_blake2b(out, 32, msg, 64, NULL, 0);
      msg[1] ^= out[0];
    }
    n += 4096;
  } while ((t = now() - t0) < 0.3);
  double hash64 = (double)n / t;
  /* blake2b 4 KiB */
  n = 0;
  t0 = now();
  do {
    for (int i = 0; i < 256; i++) {
      msg[0] = (uint8_t)i;
      hc_crypto_blake2b(out, 32, msg, 4096, NULL, 0);
      msg[1] ^= out[0];
    }
    n += 256;
  } while ((t = now() - t0) < 0.3);
  double hash4k = (double)n * 4096 / t / 1e6;
  /* ed25519 */
  uint8_t pk[32], sk[64], sig[64];
  hc_crypto_keypair(pk, sk);
  n = 0;
  t0 = now();
  do {
    for (int i = 0; i < 256; i++) {
      msg[0] = (uint8_t)i;
      hc_crypto_sign(sig, msg, 112, sk);
      msg[1] ^= sig[0];
    }
    n += 256;
  } while ((t = now() - t0) < 0.3);
  double signs = (double)n / t;
  /* secretstream (XChaCha20-Poly1305): push then pull of 64 KiB messages, the size of the
   * replication batches; the rate of one direction (one side of a connection does one) */
  size_t ssz = 64 * 1024;
  uint8_t *sm = malloc(ssz), *sc = malloc(ssz + HC_CRYPTO_SS_ABYTES), *sp = malloc(ssz);
  if (!sm || !sc || !sp) die("malloc", HC_ERR_NOMEM);
  fill_pattern(sm, ssz);
  uint8_t sskey[32], ssheader[24], tag;
  hc_crypto_blake2b(sskey, 32, msg, 64, NULL, 0);
  hc_crypto_ss_state push, pull;
  hc_crypto_ss_init_push(&push, ssheader, sskey);
  if (hc_crypto_ss_init_pull(&pull, ssheader, sskey)) die("secretstream", HC_ERR_PROTOCOL);
  n = 0;
  t0 = now();
  do {
    for (int i = 0; i < 16; i++) {
      hc_crypto_ss_push(&push, sc, sm, ssz, HC_CRYPTO_SS_TAG_MESSAGE);
      if (hc_crypto_ss_pull(&pull, sp, &tag, sc, ssz + HC_CRYPTO_SS_ABYTES)) die("pull", HC_ERR_PROTOCOL);
    }
    n += 16;
  } while ((t = now() - t0) < 0.3);
  double ssmb = (double)n * (double)ssz / (t / 2) / 1e6;
  free(sm);
  free(sc);
  free(sp);
  /* sequential write */
  char path[4096];
  snprintf(path, sizeof path, "%s/seqwrite", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open seqwrite", HC_ERR_IO);
  size_t chunk = 1u << 20;
  uint8_t *big = malloc(chunk);
  if (!big) die("malloc", HC_ERR_NOMEM);
  fill_pattern(big, chunk);
  t0 = now();
  for (uint64_t off = 0; off < bytes; off += chunk) {
    big[0] = (uint8_t)off;
    if (pwrite(fd, big, chunk, (off_t)off) != (ssize_t)chunk) die("pwrite", HC_ERR_IO);
  }
  t = now() - t0;
  double wmb = (double)bytes / t / 1e6;
  close(fd);
  unlink(path);
  free(big);
  printf("{\"blake2b_64\":%.6g,\"blake2b_4k_mbs\":%.6g,\"ed25519_sign\":%.6g,\"secretstream_mbs\":%.6g,"
         "\"seq_write_mbs\":%.6g,\"rss_kb\":%ld}\n",
         hash64, hash4k, signs, ssmb, wmb, peak_rss_kb());
  return 0;
}

static uint64_t arg(int argc, char **argv, int i) {
  if (i >= argc) {
    fprintf(stderr, "bench_core: missing argument %d\n", i);
    exit(2);
  }
  return strtoull(argv[i], NULL, 10);
}

/* ---- clone over TCP: writer and reader in separate processes ---- */

static hc_core *g_src;

static hc_replicator *serve_accept(void *user, hc_net *net) {
  hc_replicator_opts o = {.version = HC_REPLICATOR_OPTS_VERSION};
  hc_replicator *r;
  if (hc_replicator_new(&r, &o, NULL, NULL)) return NULL;
  if (hc_replicator_add_core(r, g_src)) {
    hc_replicator_free(r);
    return NULL;
  }
  return r;
}

typedef struct clone_state {
  hc_replicator *r;
  hc_core *core;
  bool closed;
} clone_state;

static void clone_closed(void *user, hc_net *net, hc_replicator *r, int err, const char *msg) {
  clone_state *st = user;
  if (r == st->r) {
    st->closed = true;
    if (err) fprintf(stderr, "bench_core: clone: %s\n", msg);
  }
}

static bool clone_done(void *user, hc_net *net) {
  clone_state *st = user;
  return st->closed || hc_replicator_done(st->r, st->core);
}

static int do_clone(const char *src, const char *dst) {
  int fds[2];
  if (pipe(fds)) die("pipe", HC_ERR_IO);
  hc_core_opts o = {.version = HC_CORE_OPTS_VERSION, .no_create = true};
  int rc = hc_core_open_dir(&g_src, src, &o);
  if (rc) die("open source", rc);
  uint8_t key[32];
  memcpy(key, hc_core_key(g_src), 32);
  uint64_t want = hc_core_length(g_src), bytes = hc_core_byte_length(g_src);
  pid_t pid = fork();
  if (pid < 0) die("fork", HC_ERR_IO);
  if (pid == 0) { /* the writer process */
    hc_net *net;
    uint16_t port;
    if (hc_net_new(&net, NULL, NULL) || hc_net_listen(net, "127.0.0.1", 0, &port, serve_accept, NULL))
      _exit(1);
    if (write(fds[1], &port, sizeof port) != sizeof port) _exit(1);
    hc_net_run(net, 600000, NULL, NULL);
    _exit(0);
  }
  hc_core_close(g_src); /* the reader does not need it (the child has its own copy) */
  uint16_t port;
  if (read(fds[0], &port, sizeof port) != sizeof port) die("writer did not start", HC_ERR_IO);
  hc_core_opts ro = {.version = HC_CORE_OPTS_VERSION, .key = key};
  clone_state st = {0};
  rc = hc_core_open_dir(&st.core, dst, &ro);
  if (rc) die("open clone", rc);
  hc_net *net;
  if ((rc = hc_net_new(&net, clone_closed, &st))) die("net", rc);
  hc_replicator_opts opts = {.version = HC_REPLICATOR_OPTS_VERSION, .is_initiator = true};
  double t0 = now();
  if ((rc = hc_replicator_new(&st.r, &opts, NULL, NULL))) die("replicator", rc);
  if ((rc = hc_replicator_add_core(st.r, st.core))) die("add core", rc);
  hc_replicator_download(st.r, st.core, 0, UINT64_MAX);
  if ((rc = hc_net_connect(net, "127.0.0.1", port, st.r))) die("connect", rc);
  rc = hc_net_run(net, 600000, clone_done, &st);
  double secs = now() - t0;
  if (rc || st.closed || hc_core_length(st.core) != want || !hc_core_has(st.core, 0, want))
    die("clone incomplete", rc ? rc : HC_ERR_CLOSED);
  hc_net_free(net);
  hc_core_close(st.core);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  result((double)bytes / 1e6 / secs, "MB/s", secs);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_core WORKLOAD DIR [ARGS...] (see bench/bench_core.c)\n");
    return 2;
  }
  const char *w = argv[1], *dir = argv[2];
  if (!strcmp(w, "append_batch"))
    return do_append(dir, arg(argc, argv, 3), arg(argc, argv, 4), arg(argc, argv, 5), "blocks/s", 1);
  if (!strcmp(w, "append_durable")) {
    g_durable = true;
    return do_append(dir, arg(argc, argv, 3), arg(argc, argv, 4), 1, "appends/s", 1);
  }
  if (!strcmp(w, "append_single"))
    return do_append(dir, arg(argc, argv, 3), arg(argc, argv, 4), 1, "appends/s", 1);
  if (!strcmp(w, "bulk")) {
    uint64_t bytes = arg(argc, argv, 3), block = arg(argc, argv, 4);
    return do_append(dir, bytes / block, block, arg(argc, argv, 5), "MB/s", (double)block / 1e6);
  }
  if (!strcmp(w, "get_seq")) return do_get(dir, arg(argc, argv, 3), false);
  if (!strcmp(w, "get_rand")) return do_get(dir, arg(argc, argv, 3), true);
  if (!strcmp(w, "reopen")) return do_reopen(dir);
  if (!strcmp(w, "limits")) return do_limits(dir, arg(argc, argv, 3));
  if (!strcmp(w, "clone_tcp") && argc >= 4) return do_clone(dir, argv[3]);
  fprintf(stderr, "bench_core: unknown workload %s\n", w);
  return 2;
}
