/* `hypercore serve DIR --swarm` and `hypercore clone KEY DIR --swarm [--live]`: replication
 * with peers found on the Hyperswarm DHT (discovery.h). The topic is the core's discovery
 * key. Connection events go to stderr ("swarm: ..."); stdout carries what scripts parse. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_swarm.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PEERS 64

typedef struct swarm_state {
  const hc_cli_swarm_args *a;
  hc_discovery *d;
  hc_core *core;
  hc_replicator *peers[MAX_PEERS];
  size_t npeers;
  bool done_at_close; /* a peer closed while we held everything it had */
  uint64_t started, last_connected, first_block_ms, last_print;
  uint64_t blocks, bytes;
  bool tty, have_block, announced, clone;
  /* serve --stdin */
  char *line;
  size_t line_len, line_cap;
} swarm_state;

static void msg(const swarm_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(const swarm_state *s, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (s->tty) fputc('\r', stderr);
  fprintf(stderr, "hypercore: %s: %s\n", s->a->cmd, buf);
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static void short_key(char out[17], const uint8_t key[32]) {
  char hex[65];
  hc_hex_encode(hex, key, 32);
  memcpy(out, hex, 16);
  out[16] = 0;
}

/* ---- callbacks ---- */

static void on_download(void *user, hc_replicator *r, hc_core *core, uint64_t index, size_t bytes) {
  swarm_state *s = user;
  s->blocks++;
  s->bytes += bytes;
  if (!s->have_block) {
    s->have_block = true;
    s->first_block_ms = hc_net_now_ms() - s->started;
  }
  uint64_t now = hc_net_now_ms();
  if (s->tty && now - s->last_print >= 200) {
    s->last_print = now;
    double secs = (double)(now - s->started) / 1000.0;
    hc_discovery_stats st = {0};
    if (s->d) hc_discovery_get_stats(s->d, &st);
    fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " blocks, %" PRIu64 " bytes, %.1f MB/s; peers: %u found, %zu connected   ",
            s->blocks, hc_core_length(core), s->bytes, secs > 0 ? (double)s->bytes / 1e6 / secs : 0.0,
            st.peers, s->npeers);
  }
}

static int on_connection(void *user, hc_discovery *d, hc_replicator *r, const uint8_t rpk[32],
                         bool initiator) {
  swarm_state *s = user;
  if (s->npeers == MAX_PEERS) return HC_ERR_BUSY;
  int rc = hc_replicator_add_core(r, s->core);
  if (!rc && s->clone) rc = hc_replicator_download(r, s->core, s->a->start, s->a->end);
  if (!rc && s->clone && s->a->live) rc = hc_replicator_set_live(r, s->core, true);
  if (rc) return rc;
  s->peers[s->npeers++] = r;
  s->last_connected = hc_net_now_ms();
  char k[17];
  short_key(k, rpk);
  msg(s, "swarm: connected to %s as %s (%zu connection%s)", k, initiator ? "initiator" : "responder",
      s->npeers, s->npeers == 1 ? "" : "s");
  return HC_OK;
}

static void on_disconnect(void *user, hc_discovery *d, hc_replicator *r, int err, const char *m) {
  swarm_state *s = user;
  for (size_t i = 0; i < s->npeers; i++) {
    if (s->peers[i] != r) continue;
    if (hc_replicator_done(r, s->core)) s->done_at_close = true;
    s->peers[i] = s->peers[--s->npeers];
    s->last_connected = hc_net_now_ms();
    const uint8_t *rpk = hc_replicator_remote_public_key(r);
    char k[17] = "?";
    if (rpk) short_key(k, rpk);
    msg(s, "swarm: disconnected from %s: %s (%zu connection%s)", k,
        err ? (m && *m ? m : hc_strerror(err)) : (m && *m ? m : "closed"), s->npeers,
        s->npeers == 1 ? "" : "s");
    return;
  }
}

static void on_joined(void *user, hc_discovery *d, const uint8_t topic[32]) {
  swarm_state *s = user;
  char hex[65];
  hc_hex_encode(hex, topic, 32);
  s->announced = true;
  printf("joined %s\n", hex);
  fflush(stdout);
}

static void on_log(void *user, hc_discovery *d, const char *m) { msg(user, "swarm: %s", m); }

/* ---- shared set-up ---- */

static bool is_loopback_list(const char *b) {
  return b && strncmp(b, "127.", 4) == 0;
}

static int start_swarm(swarm_state *s, hc_discovery **out) {
  const hc_cli_swarm_args *a = s->a;
  char path[4096];
  uint8_t seed[32];
  if (snprintf(path, sizeof path, "%s/swarm.seed", a->dir) >= (int)sizeof path) {
    msg(s, "directory name too long");
    return 1;
  }
  int rc = hc_discovery_seed_load(path, seed);
  if (rc) {
    msg(s, "cannot read or create the swarm identity %s: %s", path, hc_strerror(rc));
    return 1;
  }
  static hc_replicator_callbacks rcb;
  memset(&rcb, 0, sizeof rcb);
  rcb.version = HC_REPLICATOR_CALLBACKS_VERSION;
  rcb.on_download = on_download;
  hc_discovery_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.version = HC_DISCOVERY_CALLBACKS_VERSION;
  cb.on_connection = on_connection;
  cb.on_disconnect = on_disconnect;
  cb.on_joined = on_joined;
  cb.on_log = on_log;
  char err[1200] = "";
  hc_discovery_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_DISCOVERY_OPTS_VERSION;
  o.seed = seed;
  o.bootstrap = a->bootstrap;
  o.replicator_callbacks = &rcb;
  o.replicator_user = s;
  o.errbuf = err;
  o.errbuf_len = sizeof err;
  rc = hc_discovery_new(out, &o, &cb, s);
  memset(seed, 0, sizeof seed);
  if (rc) {
    msg(s, "%s", *err ? err : hc_strerror(rc));
    return 1;
  }
  char pk[65];
  hc_hex_encode(pk, hc_discovery_public_key(*out), 32);
  hc_discovery_stats st;
  hc_discovery_get_stats(*out, &st);
  msg(s, "swarm: started (public key %.16s, helper pid %d, %s)", pk, st.helper_pid,
      a->bootstrap && *a->bootstrap ? (is_loopback_list(a->bootstrap) ? "loopback DHT" : "private DHT")
                                    : "public DHT");
  return 0;
}

static void install_signals(struct sigaction *old_term, struct sigaction *old_int) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  stop_signal = 0;
  sigaction(SIGTERM, &sa, old_term);
  sigaction(SIGINT, &sa, old_int);
}

/* ---- clone ---- */

typedef struct clone_wait {
  swarm_state *s;
  bool gave_up;
} clone_wait;

static bool clone_until(void *user, hc_discovery *d) {
  clone_wait *w = user;
  swarm_state *s = w->s;
  if (stop_signal) return true;
  if (!s->a->live) {
    for (size_t i = 0; i < s->npeers; i++)
      if (hc_replicator_done(s->peers[i], s->core)) return true;
    /* no connection for timeout_ms (since the start or the last one ended): give up */
    if (s->npeers == 0 && hc_net_now_ms() - s->last_connected >= s->a->timeout_ms) {
      w->gave_up = true;
      return true;
    }
  }
  return false;
}

int hc_cli_swarm_clone(hc_core *core, const hc_cli_swarm_args *a) {
  swarm_state s;
  memset(&s, 0, sizeof s);
  s.a = a;
  s.core = core;
  s.tty = isatty(STDERR_FILENO);
  s.clone = true;
  /* times count from here: the helper's start is part of the time to the first block */
  s.started = s.last_connected = hc_net_now_ms();
  hc_discovery *d;
  if (start_swarm(&s, &d)) return 1;
  s.d = d;
  uint64_t helper_up = hc_net_now_ms() - s.started;
  const uint8_t *dk = hc_core_discovery_key(core);
  /* a live reader also announces (it can serve what it has, as JS apps do); a one-shot clone
   * only looks up */
  int rc = hc_discovery_join(d, dk, HC_DISCOVERY_CLIENT | (a->live ? HC_DISCOVERY_SERVER : 0));
  if (rc) {
    msg(&s, "join: %s", hc_strerror(rc));
    hc_discovery_free(d);
    return 1;
  }
  struct sigaction old_term, old_int;
  install_signals(&old_term, &old_int);
  s.last_connected = hc_net_now_ms(); /* the give-up timer starts once the helper is up */
  clone_wait w = {&s, false};
  int ret = 0;
  rc = hc_discovery_run(d, -1, clone_until, &w);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  if (rc) {
    msg(&s, "%s", hc_discovery_error(d) ? hc_discovery_error_message(d) : hc_strerror(rc));
    ret = 1;
  } else if (w.gave_up) {
    char hex[65];
    hc_hex_encode(hex, hc_core_key(core), 32);
    msg(&s, "no peer serving %s was found on the swarm within %.1f s (--timeout MS)", hex,
        (double)a->timeout_ms / 1000.0);
    ret = 1;
  }
  double secs = (double)(hc_net_now_ms() - s.started) / 1000.0;
  if (s.tty) fputc('\n', stderr);
  char first[64] = "no block received";
  if (s.have_block) snprintf(first, sizeof first, "first block after %" PRIu64 " ms", s.first_block_ms);
  fprintf(stderr,
          "cloned %" PRIu64 " blocks, %" PRIu64 " bytes in %.2f s (%.1f MB/s); length %" PRIu64
          ", fork %" PRIu64 "; helper up after %" PRIu64 " ms, %s\n",
          s.blocks, s.bytes, secs, secs > 0 ? (double)s.bytes / 1e6 / secs : 0.0,
          hc_core_length(core), hc_core_fork(core), helper_up, first);
  hc_discovery_leave(d, dk);
  hc_discovery_free(d);
  return ret;
}

/* ---- serve ---- */

/* --stdin: one line = one block, except "!truncate N" (truncate to N, new fork). */
static void serve_line(swarm_state *s) {
  static const char cmd[] = "!truncate ";
  size_t cl = sizeof cmd - 1;
  if (s->line_len > cl && memcmp(s->line, cmd, cl) == 0) {
    char num[32];
    size_t nl = s->line_len - cl;
    int rc = HC_ERR_INVALID_ARG;
    if (nl < sizeof num) {
      memcpy(num, s->line + cl, nl);
      num[nl] = 0;
      char *end;
      errno = 0;
      unsigned long long n = strtoull(num, &end, 10);
      if (!errno && *num && !*end)
        rc = n > hc_core_length(s->core) ? HC_ERR_OUT_OF_RANGE : hc_core_truncate(s->core, n);
    }
    if (rc) msg(s, "truncate failed: %s", hc_strerror(rc));
    else printf("truncated %" PRIu64 " %" PRIu64 "\n", hc_core_length(s->core), hc_core_fork(s->core));
    fflush(stdout);
    return;
  }
  hc_buf b = {(const uint8_t *)s->line, s->line_len};
  uint64_t len;
  int rc = hc_core_append(s->core, &b, 1, &len, NULL);
  if (rc) msg(s, "append failed: %s", hc_strerror(rc));
  else {
    printf("appended %" PRIu64 "\n", len);
    fflush(stdout);
  }
}

static int serve_stdin(void *user, hc_discovery *d, int fd) {
  swarm_state *s = user;
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR ? 0 : 1;
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      serve_line(s);
      s->line_len = 0;
      continue;
    }
    if (s->line_len == s->line_cap) {
      size_t cap = s->line_cap ? s->line_cap * 2 : 256;
      char *nl = realloc(s->line, cap);
      if (!nl) return 1;
      s->line = nl;
      s->line_cap = cap;
    }
    s->line[s->line_len++] = buf[i];
  }
  return 0;
}

static bool serve_until(void *user, hc_discovery *d) { return stop_signal != 0; }

int hc_cli_swarm_serve(hc_core *core, const hc_cli_swarm_args *a) {
  swarm_state s;
  memset(&s, 0, sizeof s);
  s.a = a;
  s.core = core;
  s.tty = false; /* serving: no progress line */
  hc_discovery *d;
  if (start_swarm(&s, &d)) return 1;
  char hex[65];
  hc_hex_encode(hex, hc_core_key(core), 32);
  printf("key %s\n", hex);
  hc_hex_encode(hex, hc_core_discovery_key(core), 32);
  printf("discovery-key %s\n", hex);
  fflush(stdout);
  int rc = hc_discovery_join(d, hc_core_discovery_key(core), HC_DISCOVERY_SERVER | HC_DISCOVERY_CLIENT);
  if (!rc && a->stdin_writer) rc = hc_discovery_watch_fd(d, STDIN_FILENO, serve_stdin, &s);
  if (rc) {
    msg(&s, "join: %s", hc_strerror(rc));
    hc_discovery_free(d);
    return 1;
  }
  struct sigaction old_term, old_int;
  install_signals(&old_term, &old_int);
  rc = hc_discovery_run(d, -1, serve_until, &s);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  int ret = 0;
  if (rc) {
    msg(&s, "%s", hc_discovery_error(d) ? hc_discovery_error_message(d) : hc_strerror(rc));
    ret = 1;
  }
  hc_discovery_leave(d, hc_core_discovery_key(core));
  hc_discovery_free(d); /* the helper unannounces and exits */
  free(s.line);
  return ret;
}
