/* `hypercore seed STORE [KEY ...] [--listen HOST:PORT] [--connect HOST:PORT ...] [--stdin]`
 *
 * One process that serves every core of a Corestore 6 store to every peer, answering channel
 * opens at any moment of a connection (the store opens the core by discovery key when the
 * remote asks), and downloads and follows live each KEY (added to the store as a replica)
 * from every peer it is connected to, while serving what it has to everyone: a seeder and a
 * relay in one process, over one hc_core per key.
 *
 * stdout (for scripts): "port PORT" once listening; "following KEY" for each followed key;
 * "synced KEY LENGTH" whenever a followed core holds every block up to a new length.
 * stderr: progress, one line per core on a terminal (length, peers, rates), otherwise a
 * summary line every 10 s when something changed, and one at exit.
 * SIGINT / SIGTERM: closes every connection and core, exits 0.
 * Uses the public API only. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hypercore.h"
#include "hypercore/store.h"

#define SEED_EXIT_OPERR 1
#define SEED_EXIT_USAGE 2
#define SEED_TICK_MS 200
#define SEED_SUMMARY_MS 10000
#define SEED_TTY_MS 500
#define SEED_RECONNECT_MIN_MS 500
#define SEED_RECONNECT_MAX_MS 10000
#define SEED_TTY_MAX_LINES 40

static const char seed_usage[] =
    "usage: hypercore seed STORE [KEY ...] [--listen HOST:PORT] [--connect HOST:PORT ...]\n"
    "                      [--stdin] [--max-open N] [--swarm [--bootstrap HOST:PORT,...]]\n";

static const char seed_help[] =
    "Serves every core of the Corestore 6 store STORE (created if missing) to every peer that\n"
    "connects, at any moment of the connection: a peer asks for a core by discovery key and\n"
    "gets it if the store has it (else its channel is rejected and the connection goes on).\n"
    "Each KEY (64 hex or z-base-32) is added to the store as a replica and downloaded and\n"
    "followed live from every peer (--connect peers and peers that connect to us), while\n"
    "being served to all of them: a relay.\n\n"
    "  --listen HOST:PORT   where to listen (default 127.0.0.1, any port); prints \"port PORT\"\n"
    "  --connect HOST:PORT  a peer to connect to (repeatable); reconnects when it drops\n"
    "  --stdin              each stdin line is one more KEY to follow while running\n"
    "  --max-open N         unpinned cores kept open by the store (default: the store's)\n"
    "  --swarm              also on the Hyperswarm DHT (tools/cmd_seed.c, discovery.h): announce\n"
    "                       every core of the store, look up and announce every KEY; prints\n"
    "                       \"joined DK\" per topic; identity in STORE/swarm.seed; needs Node.js\n"
    "                       and helper/swarm (npm ci)\n"
    "  --bootstrap HOST:PORT,...  DHT bootstrap nodes for --swarm (default: the public ones)\n\n"
    "stdout: \"port PORT\", \"following KEY\", and \"synced KEY LENGTH\" when a followed core holds\n"
    "every block up to a new length. stderr: one progress line per core on a terminal\n"
    "(length, peers, rates), a summary otherwise. Adding cores while it runs: KEY lines on\n"
    "--stdin; a core directory copied into STORE/cores/ is served on the next request for it\n"
    "(lookups go to the disk). SIGINT/SIGTERM: closes everything cleanly, exit 0.\n";

/* ---- state ---- */

typedef struct seed_core {
  uint8_t dk[32];
  char key_hex[65];
  hc_core *core;   /* followed cores only (pinned for the whole run) */
  bool followed;
  int peers;
  uint64_t length; /* last seen */
  uint64_t down_blocks, down_bytes, up_blocks, up_bytes;
  uint64_t rate_down_bytes, rate_up_bytes; /* at the last display */
  uint64_t synced_length;
  bool synced_once;
} seed_core;

typedef struct seed_conn {
  hc_replicator *r;
} seed_conn;

typedef struct seed_target {
  char host[256];
  uint16_t port;
  char spec[300];
  hc_replicator *r; /* NULL when not connected */
  uint64_t next_try;
  uint64_t backoff;
  bool warned;
} seed_target;

typedef struct seed {
  hc_store *store;
  hc_net *net;
  seed_core *cores;
  size_t ncores, cores_cap;
  size_t *slots; /* open-addressing index by discovery key: cores index + 1, 0 = empty */
  size_t nslots;
  size_t *followed; /* indices of followed cores */
  size_t nfollowed, followed_cap;
  hc_replicator **conns; /* every live replicator (ours to detach) */
  size_t nconns, conns_cap;
  seed_target *targets;
  size_t ntargets;
  bool tty;
  int tty_lines;
  uint64_t started, last_display, last_summary;
  bool changed;
  uint64_t total_down, total_up, total_down_bytes, total_up_bytes;
  size_t peers_total;
  /* --stdin */
  char line[256];
  size_t line_len;
  bool line_overflow;
  /* --swarm: its connections are in conns too */
  hc_discovery *disc;
  int disc_fd; /* the helper socket watched (a restarted helper has a new one) */
  bool disc_failed;
} seed;

static volatile sig_atomic_t seed_signal;
static void seed_on_signal(int sig) { seed_signal = sig; }

static int seed_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int seed_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "hypercore: seed: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return SEED_EXIT_OPERR;
}

static int seed_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int seed_usage_err(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "hypercore: seed: bad arguments: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fputs(seed_usage, stderr);
  fputs("Try 'hypercore seed --help' for more information.\n", stderr);
  return SEED_EXIT_USAGE;
}

static bool parse_hostport(const char *s, char *host, size_t cap, uint16_t *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || !colon[1]) return false;
  char *end;
  errno = 0;
  unsigned long p = strtoul(colon + 1, &end, 10);
  if (errno || *end || p > 65535) return false;
  size_t hl = (size_t)(colon - s);
  if (hl >= cap) return false;
  memcpy(host, s, hl);
  host[hl] = 0;
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = 0;
  }
  if (!*host) snprintf(host, cap, "127.0.0.1");
  *port = (uint16_t)p;
  return true;
}

static const char *store_error(int rc) {
  switch (rc) {
    case HC_ERR_LOCKED: return "the store is locked by another process";
    case HC_ERR_STORAGE_V11: return hc_strerror(HC_ERR_STORAGE_V11);
    case HC_ERR_NOT_A_STORE: return "not a corestore directory (no primary-key or cores/)";
    case HC_ERR_CORRUPT:
      return "primary-key is missing or shorter than 32 bytes (nothing was written)";
    default: return hc_strerror(rc);
  }
}

/* ---- per-core stats, by discovery key (a served core may be closed and reopened) ---- */

static size_t dk_hash(const uint8_t dk[32]) {
  size_t h;
  memcpy(&h, dk, sizeof h); /* a discovery key is a hash already */
  return h;
}

/* Rebuilds the index with room for twice the entries (keeps it at most half full). */
static bool index_grow(seed *sd) {
  size_t n = sd->nslots ? sd->nslots * 2 : 64;
  size_t *slots = calloc(n, sizeof *slots);
  if (!slots) return false;
  for (size_t i = 0; i < sd->ncores; i++) {
    size_t j = dk_hash(sd->cores[i].dk) & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = i + 1;
  }
  free(sd->slots);
  sd->slots = slots;
  sd->nslots = n;
  return true;
}

/* The stats of a core, by discovery key (O(1): called for every block up and down). */
static seed_core *core_entry(seed *sd, hc_core *core) {
  const uint8_t *dk = hc_core_discovery_key(core);
  size_t j = sd->nslots ? dk_hash(dk) & (sd->nslots - 1) : 0;
  for (; sd->nslots && sd->slots[j]; j = (j + 1) & (sd->nslots - 1))
    if (memcmp(sd->cores[sd->slots[j] - 1].dk, dk, 32) == 0) return &sd->cores[sd->slots[j] - 1];
  if ((sd->ncores + 1) * 2 > sd->nslots && !index_grow(sd)) return NULL;
  if (sd->ncores == sd->cores_cap) {
    size_t cap = sd->cores_cap ? sd->cores_cap * 2 : 16;
    seed_core *n = realloc(sd->cores, cap * sizeof *n);
    if (!n) return NULL;
    sd->cores = n;
    sd->cores_cap = cap;
  }
  seed_core *e = &sd->cores[sd->ncores++];
  memset(e, 0, sizeof *e);
  memcpy(e->dk, dk, 32);
  hc_hex_encode(e->key_hex, hc_core_key(core), 32);
  j = dk_hash(dk) & (sd->nslots - 1);
  while (sd->slots[j]) j = (j + 1) & (sd->nslots - 1);
  sd->slots[j] = sd->ncores;
  return e;
}

/* A followed core holds every block up to a new length: tell scripts. */
static void check_synced(seed *sd, seed_core *e) {
  if (!e->followed || !e->core) return;
  uint64_t len = hc_core_length(e->core);
  if (hc_core_contiguous_length(e->core) != len) return;
  if (e->synced_once && e->synced_length == len) return;
  if (len == 0) {
    /* an empty replica is only "synced" once a peer told us its length is 0 too */
    bool known = false;
    for (size_t i = 0; i < sd->nconns && !known; i++) {
      uint64_t fork, rl;
      known = hc_replicator_remote_info(sd->conns[i], e->core, &fork, &rl) && rl == 0;
    }
    if (!known) return;
  }
  e->synced_once = true;
  e->synced_length = len;
  printf("synced %s %" PRIu64 "\n", e->key_hex, len);
  fflush(stdout);
}

/* ---- replicator callbacks ---- */

static void cb_peer_add(void *user, hc_replicator *r, hc_core *core) {
  (void)r;
  seed *sd = user;
  seed_core *e = core_entry(sd, core);
  if (!e) return;
  e->peers++;
  e->length = hc_core_length(core);
  sd->changed = true;
}

static void cb_peer_remove(void *user, hc_replicator *r, hc_core *core) {
  (void)r;
  seed *sd = user;
  seed_core *e = core_entry(sd, core);
  if (!e) return;
  if (e->peers > 0) e->peers--;
  sd->changed = true;
}

static void cb_download(void *user, hc_replicator *r, hc_core *core, uint64_t index, size_t bytes) {
  (void)r;
  (void)index;
  seed *sd = user;
  seed_core *e = core_entry(sd, core);
  sd->total_down++;
  sd->total_down_bytes += bytes;
  sd->changed = true;
  if (!e) return;
  e->down_blocks++;
  e->down_bytes += bytes;
  e->length = hc_core_length(core);
  check_synced(sd, e);
}

static void cb_upload(void *user, hc_replicator *r, hc_core *core, uint64_t index, size_t bytes) {
  (void)r;
  (void)index;
  seed *sd = user;
  seed_core *e = core_entry(sd, core);
  sd->total_up++;
  sd->total_up_bytes += bytes;
  sd->changed = true;
  if (!e) return;
  e->up_blocks++;
  e->up_bytes += bytes;
  e->length = hc_core_length(core);
}

static void cb_remote_sync(void *user, hc_replicator *r, hc_core *core, uint64_t fork,
                           uint64_t length) {
  (void)r;
  (void)fork;
  (void)length;
  seed *sd = user;
  seed_core *e = core_entry(sd, core);
  if (e) check_synced(sd, e);
}

static void cb_warning(void *user, hc_replicator *r, hc_core *core, int err, const char *msg) {
  (void)user;
  (void)r;
  (void)core;
  fprintf(stderr, "hypercore: seed: warning: %s (%s)\n", msg, hc_err_name(err));
}

static void store_warning(void *user, hc_store *s, const uint8_t dk[32], int err,
                          const char *message) {
  (void)user;
  (void)s;
  char hex[65];
  hc_hex_encode(hex, dk, 32);
  fprintf(stderr, "hypercore: seed: skipping core %s: %s (%s)\n", hex, message ? message : "",
          hc_strerror(err));
}

/* ---- connections ---- */

/* Follows core on replicator r: download everything, keep up with the remote's length. */
static void follow_on(hc_replicator *r, hc_core *core) {
  int rc = hc_replicator_add_core(r, core);
  if (rc && rc != HC_ERR_EXISTS) return;
  hc_replicator_download(r, core, 0, UINT64_MAX);
  hc_replicator_set_live(r, core, true);
}

/* Room for one more connection in sd->conns (false: out of memory). */
static bool reserve_conn(seed *sd) {
  if (sd->nconns < sd->conns_cap) return true;
  size_t cap = sd->conns_cap ? sd->conns_cap * 2 : 8;
  hc_replicator **n = realloc(sd->conns, cap * sizeof *n);
  if (!n) return false;
  sd->conns = n;
  sd->conns_cap = cap;
  return true;
}

/* The callbacks of every seed connection (TCP or swarm). */
static hc_replicator_callbacks conn_callbacks(void) {
  hc_replicator_callbacks cb = HC_REPLICATOR_CALLBACKS_INIT;
  cb.on_peer_add = cb_peer_add;
  cb.on_peer_remove = cb_peer_remove;
  cb.on_download = cb_download;
  cb.on_upload = cb_upload;
  cb.on_remote_sync = cb_remote_sync;
  cb.on_warning = cb_warning;
  return cb;
}

/* A new connection's replicator r follows every followed key and is counted. */
static hc_replicator *add_conn(seed *sd, hc_replicator *r) {
  for (size_t i = 0; i < sd->nfollowed; i++) follow_on(r, sd->cores[sd->followed[i]].core);
  sd->conns[sd->nconns++] = r;
  sd->peers_total++;
  sd->changed = true;
  return r;
}

static hc_replicator *new_conn(seed *sd, bool initiator) {
  if (!reserve_conn(sd)) return NULL;
  hc_replicator_opts o = HC_REPLICATOR_OPTS_INIT;
  o.is_initiator = initiator;
  hc_replicator_callbacks cb = conn_callbacks();
  hc_replicator *r;
  if (hc_store_replicator_new(sd->store, &r, &o, &cb, sd) != HC_OK) return NULL;
  return add_conn(sd, r);
}

static void forget_conn(seed *sd, hc_replicator *r) {
  for (size_t i = 0; i < sd->nconns; i++) {
    if (sd->conns[i] != r) continue;
    hc_store_detach(sd->store, r);
    sd->conns[i] = sd->conns[--sd->nconns];
    break;
  }
  for (size_t i = 0; i < sd->ntargets; i++) {
    seed_target *t = &sd->targets[i];
    if (t->r != r) continue;
    t->r = NULL;
    t->next_try = hc_net_now_ms() + t->backoff;
  }
}

static hc_replicator *on_accept(void *user, hc_net *net) {
  (void)net;
  return new_conn(user, false);
}

static void on_conn_close(void *user, hc_net *net, hc_replicator *r, int err, const char *msg) {
  (void)net;
  seed *sd = user;
  if (err) fprintf(stderr, "hypercore: seed: peer disconnected: %s\n", msg && *msg ? msg : hc_strerror(err));
  forget_conn(sd, r);
  sd->changed = true;
}

/* A blocking TCP connect (the peers are local or near); the socket or -1 (errno set). */
static int tcp_connect(const char *host, uint16_t port) {
  struct addrinfo hints, *res, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char ps[8];
  snprintf(ps, sizeof ps, "%u", port);
  if (getaddrinfo(host, ps, &hints, &res) != 0) {
    errno = EHOSTUNREACH;
    return -1;
  }
  int fd = -1, e = ECONNREFUSED;
  for (ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      e = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
      e = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) errno = e;
  return fd;
}

/* Connects (or reconnects, with backoff) every --connect target that is due. The replicator
 * is made only once the socket is connected, so a refused connect involves no replicator. */
static void connect_targets(seed *sd) {
  uint64_t now = hc_net_now_ms();
  for (size_t i = 0; i < sd->ntargets; i++) {
    seed_target *t = &sd->targets[i];
    if (t->r || now < t->next_try) continue;
    int fd = tcp_connect(t->host, t->port);
    if (fd < 0) {
      if (!t->warned) fprintf(stderr, "hypercore: seed: cannot connect to %s (%s); retrying\n", t->spec, strerror(errno));
      t->warned = true;
      t->backoff = t->backoff ? t->backoff * 2 : SEED_RECONNECT_MIN_MS;
      if (t->backoff > SEED_RECONNECT_MAX_MS) t->backoff = SEED_RECONNECT_MAX_MS;
      t->next_try = now + t->backoff;
      continue;
    }
    hc_replicator *r = new_conn(sd, true);
    if (!r) {
      close(fd);
      t->next_try = now + SEED_RECONNECT_MAX_MS;
      continue;
    }
    if (hc_net_add_socket(sd->net, fd, r) != HC_OK) {
      /* out of memory: the net closed fd and freed r; the store only knows it by address */
      forget_conn(sd, r);
      t->next_try = now + SEED_RECONNECT_MAX_MS;
      continue;
    }
    if (t->warned) fprintf(stderr, "hypercore: seed: connected to %s\n", t->spec);
    t->warned = false;
    t->backoff = SEED_RECONNECT_MIN_MS;
    t->r = r;
  }
}

/* ---- following ---- */

static int follow_key(seed *sd, const uint8_t key[32]) {
  hc_core *core;
  int rc = hc_store_get_key(sd->store, key, true, &core);
  if (rc) return rc;
  seed_core *e = core_entry(sd, core);
  if (!e) {
    hc_store_release(sd->store, core);
    return HC_ERR_NOMEM;
  }
  if (e->followed) { /* given twice */
    hc_store_release(sd->store, core);
    return HC_OK;
  }
  if (sd->nfollowed == sd->followed_cap) {
    size_t cap = sd->followed_cap ? sd->followed_cap * 2 : 8;
    size_t *n = realloc(sd->followed, cap * sizeof *n);
    if (!n) {
      hc_store_release(sd->store, core);
      return HC_ERR_NOMEM;
    }
    sd->followed = n;
    sd->followed_cap = cap;
  }
  sd->followed[sd->nfollowed++] = (size_t)(e - sd->cores);
  e->followed = true;
  e->core = core; /* pinned until exit */
  e->length = hc_core_length(core);
  printf("following %s\n", e->key_hex);
  fflush(stdout);
  for (size_t i = 0; i < sd->nconns; i++) follow_on(sd->conns[i], core);
  if (sd->disc) hc_discovery_join(sd->disc, e->dk, HC_DISCOVERY_SERVER | HC_DISCOVERY_CLIENT);
  return HC_OK;
}

static void stdin_line(seed *sd) {
  char *s = sd->line;
  while (*s == ' ' || *s == '\t' || *s == '\r') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
  if (!n) return;
  uint8_t key[32];
  if (hc_id_decode(key, s) != HC_OK) {
    fprintf(stderr, "hypercore: seed: stdin: not a key: '%s'\n", s);
    return;
  }
  int rc = follow_key(sd, key);
  if (rc) fprintf(stderr, "hypercore: seed: cannot follow %s: %s\n", s, hc_strerror(rc));
}

static int on_stdin(void *user, hc_net *net, int fd) {
  (void)net;
  seed *sd = user;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return 0;
  if (n <= 0) return 1; /* EOF: keep seeding, stop watching */
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      sd->line[sd->line_len] = 0;
      if (!sd->line_overflow) stdin_line(sd);
      sd->line_len = 0;
      sd->line_overflow = false;
    } else if (sd->line_len + 1 < sizeof sd->line) {
      sd->line[sd->line_len++] = buf[i];
    } else {
      sd->line_overflow = true;
    }
  }
  return 0;
}

/* ---- progress ---- */

static void human_rate(char *out, size_t cap, double bytes_per_s) {
  if (bytes_per_s >= 1e6) snprintf(out, cap, "%.1f MB/s", bytes_per_s / 1e6);
  else if (bytes_per_s >= 1e3) snprintf(out, cap, "%.1f kB/s", bytes_per_s / 1e3);
  else snprintf(out, cap, "%.0f B/s", bytes_per_s);
}

static void display_tty(seed *sd, uint64_t now) {
  double secs = (double)(now - sd->last_display) / 1000.0;
  if (sd->tty_lines > 0) fprintf(stderr, "\033[%dA", sd->tty_lines);
  int lines = 0;
  size_t shown = 0, hidden = 0;
  for (size_t i = 0; i < sd->ncores; i++) {
    seed_core *e = &sd->cores[i];
    if (!e->followed && e->peers == 0) continue;
    if (shown >= SEED_TTY_MAX_LINES) {
      hidden++;
      continue;
    }
    if (e->core) e->length = hc_core_length(e->core);
    char dr[32], ur[32];
    human_rate(dr, sizeof dr, secs > 0 ? (double)(e->down_bytes - e->rate_down_bytes) / secs : 0);
    human_rate(ur, sizeof ur, secs > 0 ? (double)(e->up_bytes - e->rate_up_bytes) / secs : 0);
    e->rate_down_bytes = e->down_bytes;
    e->rate_up_bytes = e->up_bytes;
    fprintf(stderr, "\033[2K%.16s%s length %" PRIu64 "  peers %d  down %s  up %s\n", e->key_hex,
            e->followed ? " (following)" : "", e->length, e->peers, dr, ur);
    lines++;
    shown++;
  }
  fprintf(stderr, "\033[2K%zu connections, %zu cores open%s", sd->nconns,
          hc_store_open_cores(sd->store), hidden ? "" : "");
  if (hidden) fprintf(stderr, ", %zu more cores with peers", hidden);
  fputc('\n', stderr);
  lines++;
  /* clear what a longer previous display left below */
  for (int k = lines; k < sd->tty_lines; k++) fprintf(stderr, "\033[2K\n");
  if (sd->tty_lines > lines) fprintf(stderr, "\033[%dA", sd->tty_lines - lines);
  sd->tty_lines = lines;
}

static void display_summary(seed *sd, uint64_t now, bool final) {
  double secs = (double)(now - sd->started) / 1000.0;
  size_t followed = sd->nfollowed;
  fprintf(stderr,
          "seed%s: %.1f s, %zu connections now (%zu in all), %zu cores open, %zu followed, "
          "down %" PRIu64 " blocks (%" PRIu64 " bytes), up %" PRIu64 " blocks (%" PRIu64 " bytes)\n",
          final ? " done" : "", secs, sd->nconns, sd->peers_total, hc_store_open_cores(sd->store),
          followed, sd->total_down, sd->total_down_bytes, sd->total_up, sd->total_up_bytes);
}

static void progress(seed *sd) {
  uint64_t now = hc_net_now_ms();
  if (sd->tty) {
    if (now - sd->last_display < SEED_TTY_MS) return;
    display_tty(sd, now);
    sd->last_display = now;
    return;
  }
  if (!sd->changed || now - sd->last_summary < SEED_SUMMARY_MS) return;
  sd->changed = false;
  sd->last_summary = now;
  display_summary(sd, now, false);
}

/* ---- --swarm: peers found on the Hyperswarm DHT (discovery.h) ---- */

/* Each swarm connection gets a store replicator (every core on demand) following the keys. */
static hc_replicator *swarm_make(void *user, hc_discovery *d, const hc_preauth_opts *o) {
  (void)d;
  seed *sd = user;
  if (!reserve_conn(sd)) return NULL;
  hc_replicator_callbacks cb = conn_callbacks();
  hc_replicator *r;
  if (hc_store_replicator_new_preauth(sd->store, &r, o, &cb, sd) != HC_OK) return NULL;
  return add_conn(sd, r);
}

static int swarm_on_connection(void *user, hc_discovery *d, hc_replicator *r,
                               const uint8_t rpk[32], bool initiator) {
  (void)user;
  (void)d;
  (void)r;
  char hex[65];
  hc_hex_encode(hex, rpk, 32);
  fprintf(stderr, "hypercore: seed: swarm: connected to %.16s as %s\n", hex,
          initiator ? "initiator" : "responder");
  return HC_OK;
}

static void swarm_on_disconnect(void *user, hc_discovery *d, hc_replicator *r, int err,
                                const char *msg) {
  (void)d;
  seed *sd = user;
  const uint8_t *rpk = hc_replicator_remote_public_key(r);
  char hex[65] = "?";
  if (rpk) hc_hex_encode(hex, rpk, 32);
  fprintf(stderr, "hypercore: seed: swarm: disconnected from %.16s: %s\n", hex,
          msg && *msg ? msg : hc_strerror(err));
  forget_conn(sd, r); /* detaches it from the store before the discovery frees it */
  sd->changed = true;
}

static void swarm_on_joined(void *user, hc_discovery *d, const uint8_t topic[32]) {
  (void)user;
  (void)d;
  char hex[65];
  hc_hex_encode(hex, topic, 32);
  printf("joined %s\n", hex);
  fflush(stdout);
}

static void swarm_on_log(void *user, hc_discovery *d, const char *msg) {
  (void)user;
  (void)d;
  fprintf(stderr, "hypercore: seed: swarm: %s\n", msg);
}

static int swarm_announce(void *user, const hc_store_entry *e) {
  seed *sd = user;
  if (!e->error) hc_discovery_join(sd->disc, e->discovery_key, HC_DISCOVERY_SERVER);
  return 0;
}

/* The helper's socket is readable: relay what it sent. */
static int swarm_on_fd(void *user, hc_net *net, int fd) {
  (void)net;
  seed *sd = user;
  if (!sd->disc || fd != hc_discovery_fd(sd->disc)) return 1; /* an old helper's socket */
  if (hc_discovery_process(sd->disc) != HC_OK) sd->disc_failed = true;
  return 0;
}

/* Every loop turn: the discovery's timers and output, and the socket of a restarted helper. */
static void swarm_tick(seed *sd) {
  if (!sd->disc || sd->disc_failed) return;
  if (hc_discovery_process(sd->disc) != HC_OK) {
    sd->disc_failed = true;
    return;
  }
  int fd = hc_discovery_fd(sd->disc);
  if (fd >= 0 && fd != sd->disc_fd && hc_net_watch_fd(sd->net, fd, swarm_on_fd, sd) == HC_OK)
    sd->disc_fd = fd;
}

/* Starts the discovery: followed keys are joined as server and client (follow_key), every
 * core already in the store is announced. */
static int swarm_start(seed *sd, const char *store_dir, const char *bootstrap) {
  char path[4096], err[1200] = "";
  uint8_t seedkey[32];
  if (snprintf(path, sizeof path, "%s/swarm.seed", store_dir) >= (int)sizeof path)
    return seed_fail("store path too long");
  int rc = hc_discovery_seed_load(path, seedkey);
  if (rc) return seed_fail("cannot read or create the swarm identity %s: %s", path, hc_strerror(rc));
  hc_discovery_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.version = HC_DISCOVERY_CALLBACKS_VERSION;
  cb.on_connection = swarm_on_connection;
  cb.on_disconnect = swarm_on_disconnect;
  cb.on_joined = swarm_on_joined;
  cb.on_log = swarm_on_log;
  cb.make_replicator = swarm_make;
  hc_discovery_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_DISCOVERY_OPTS_VERSION;
  o.seed = seedkey;
  o.bootstrap = bootstrap;
  o.errbuf = err;
  o.errbuf_len = sizeof err;
  rc = hc_discovery_new(&sd->disc, &o, &cb, sd);
  memset(seedkey, 0, sizeof seedkey);
  if (rc) return seed_fail("%s", *err ? err : hc_strerror(rc));
  sd->disc_fd = -1;
  for (size_t i = 0; i < sd->nfollowed; i++)
    hc_discovery_join(sd->disc, sd->cores[sd->followed[i]].dk, HC_DISCOVERY_SERVER | HC_DISCOVERY_CLIENT);
  hc_store_list(sd->store, swarm_announce, sd);
  swarm_tick(sd);
  return 0;
}

static bool seed_until(void *user, hc_net *net) {
  (void)net;
  swarm_tick(user);
  return seed_signal != 0 || ((seed *)user)->disc_failed;
}

/* ---- main ---- */

typedef struct seed_args {
  const char *store;
  const char **keys;
  size_t nkeys;
  const char *listen;
  const char **connects;
  size_t nconnects;
  bool use_stdin;
  size_t max_open;
  bool swarm;
  const char *bootstrap;
} seed_args;

static int parse_seed_args(int argc, char **argv, seed_args *a) {
  bool only_pos = false;
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    if (!only_pos && strcmp(s, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (!only_pos && s[0] == '-' && s[1] == '-') {
      const char *name = s + 2, *eq = strchr(name, '=');
      size_t nl = eq ? (size_t)(eq - name) : strlen(name);
      const char *val = eq ? eq + 1 : NULL;
#define IS(opt) (nl == strlen(opt) && strncmp(name, opt, nl) == 0)
      if (IS("help")) {
        fputs(seed_usage, stdout);
        fputc('\n', stdout);
        fputs(seed_help, stdout);
        return fflush(stdout) == 0 ? 0 : SEED_EXIT_OPERR;
      }
      if (IS("stdin")) {
        if (val) return seed_usage_err("--stdin takes no value");
        a->use_stdin = true;
        continue;
      }
      if (IS("swarm")) {
        if (val) return seed_usage_err("--swarm takes no value");
        a->swarm = true;
        continue;
      }
      if (!IS("listen") && !IS("connect") && !IS("max-open") && !IS("bootstrap"))
        return seed_usage_err("unknown option '--%.*s'", (int)nl, name);
      if (!val) {
        if (i + 1 >= argc) return seed_usage_err("--%.*s needs a value", (int)nl, name);
        val = argv[++i];
      }
      if (IS("listen")) a->listen = val;
      else if (IS("bootstrap")) a->bootstrap = val;
      else if (IS("connect")) a->connects[a->nconnects++] = val;
      else {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || *end || !*val || v == 0) return seed_usage_err("--max-open needs a positive number");
        a->max_open = (size_t)v;
      }
#undef IS
      continue;
    }
    if (s[0] == '-' && s[1] == 'h' && !s[2] && !only_pos) {
      fputs(seed_usage, stdout);
      fputc('\n', stdout);
      fputs(seed_help, stdout);
      return fflush(stdout) == 0 ? 0 : SEED_EXIT_OPERR;
    }
    if (!a->store) a->store = s;
    else a->keys[a->nkeys++] = s;
  }
  if (!a->store) return seed_usage_err("STORE is required");
  if (a->bootstrap && !a->swarm) return seed_usage_err("--bootstrap goes with --swarm");
  return -1;
}

static void seed_free(seed *sd) {
  /* --swarm: its connections are detached (on_disconnect) as it stops */
  hc_discovery_free(sd->disc);
  sd->disc = NULL;
  /* detach every connection before the net frees its replicators, then close the store */
  for (size_t i = 0; i < sd->nconns; i++) hc_store_detach(sd->store, sd->conns[i]);
  sd->nconns = 0;
  hc_net_free(sd->net);
  for (size_t i = 0; i < sd->nfollowed; i++) hc_store_release(sd->store, sd->cores[sd->followed[i]].core);
  hc_store_close(sd->store);
  free(sd->cores);
  free(sd->slots);
  free(sd->followed);
  free(sd->conns);
  free(sd->targets);
  sd->targets = NULL;
}

int hc_cli_seed(int argc, char **argv);
int hc_cli_seed(int argc, char **argv) {
  seed_args a;
  memset(&a, 0, sizeof a);
  a.keys = calloc((size_t)argc + 1, sizeof *a.keys);
  a.connects = calloc((size_t)argc + 1, sizeof *a.connects);
  if (!a.keys || !a.connects) {
    free(a.keys);
    free(a.connects);
    return seed_fail("%s", hc_strerror(HC_ERR_NOMEM));
  }
  int ret = parse_seed_args(argc, argv, &a);
  seed sd;
  memset(&sd, 0, sizeof sd);
  char lhost[256] = "127.0.0.1";
  uint16_t lport = 0;
  uint8_t(*keys)[32] = NULL;
  if (ret >= 0) goto out_args;
  ret = SEED_EXIT_USAGE;
  if (a.listen && !parse_hostport(a.listen, lhost, sizeof lhost, &lport)) {
    ret = seed_usage_err("expected HOST:PORT, got '%s'", a.listen);
    goto out_args;
  }
  keys = calloc(a.nkeys + 1, sizeof *keys);
  sd.targets = calloc(a.nconnects + 1, sizeof *sd.targets);
  if (!keys || !sd.targets) {
    ret = seed_fail("%s", hc_strerror(HC_ERR_NOMEM));
    goto out_args;
  }
  for (size_t i = 0; i < a.nkeys; i++) {
    if (hc_id_decode(keys[i], a.keys[i]) != HC_OK) {
      ret = seed_usage_err("KEY must be 64 hex characters or a z-base-32 id, got '%s'", a.keys[i]);
      goto out_args;
    }
  }
  for (size_t i = 0; i < a.nconnects; i++) {
    seed_target *t = &sd.targets[i];
    if (!parse_hostport(a.connects[i], t->host, sizeof t->host, &t->port)) {
      ret = seed_usage_err("expected HOST:PORT, got '%s'", a.connects[i]);
      goto out_args;
    }
    snprintf(t->spec, sizeof t->spec, "%s", a.connects[i]);
  }
  sd.ntargets = a.nconnects;

  hc_store_opts so;
  memset(&so, 0, sizeof so);
  so.version = HC_STORE_OPTS_VERSION;
  so.create = true;
  so.max_open_cores = a.max_open;
  so.on_warning = store_warning;
  so.user = &sd;
  int rc = hc_store_open(&sd.store, a.store, &so);
  if (rc) {
    ret = seed_fail("cannot open store %s: %s", a.store, store_error(rc));
    goto out_args;
  }
  if (hc_net_new(&sd.net, on_conn_close, &sd) != HC_OK) {
    hc_store_close(sd.store);
    ret = seed_fail("%s", hc_strerror(HC_ERR_NOMEM));
    goto out_args;
  }
  for (size_t i = 0; i < a.nkeys; i++) {
    rc = follow_key(&sd, keys[i]);
    if (rc) {
      ret = seed_fail("cannot add %s to the store: %s", a.keys[i], hc_strerror(rc));
      seed_free(&sd);
      goto out_args;
    }
  }
  uint16_t bound = 0;
  rc = hc_net_listen(sd.net, lhost, lport, &bound, on_accept, &sd);
  if (rc) {
    ret = seed_fail("cannot listen on %s:%u: %s", lhost, lport, strerror(errno));
    seed_free(&sd);
    goto out_args;
  }
  /* handlers before "port": a script may signal us as soon as it reads it */
  struct sigaction sa, old_term, old_int;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = seed_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  printf("port %u\n", bound);
  fflush(stdout);
  if (a.use_stdin) hc_net_watch_fd(sd.net, STDIN_FILENO, on_stdin, &sd);
  if (a.swarm && (ret = swarm_start(&sd, a.store, a.bootstrap)) != 0) {
    seed_free(&sd);
    goto out_args;
  }

  sd.tty = isatty(STDERR_FILENO) == 1;
  sd.started = sd.last_display = sd.last_summary = hc_net_now_ms();
  ret = 0;
  while (!seed_signal) {
    connect_targets(&sd);
    rc = hc_net_run(sd.net, SEED_TICK_MS, seed_until, &sd);
    if (rc != HC_OK && rc != HC_ERR_TIMEOUT) {
      ret = seed_fail("%s", hc_strerror(rc));
      break;
    }
    if (sd.disc_failed) {
      ret = seed_fail("%s", hc_discovery_error_message(sd.disc));
      break;
    }
    for (size_t i = 0; i < sd.nfollowed; i++) check_synced(&sd, &sd.cores[sd.followed[i]]);
    progress(&sd);
  }
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  if (sd.tty && sd.tty_lines) display_tty(&sd, hc_net_now_ms());
  display_summary(&sd, hc_net_now_ms(), true);
  seed_free(&sd);
out_args:
  free(sd.targets); /* NULL once seed_free ran */
  free(keys);
  free(a.keys);
  free(a.connects);
  return ret;
}
