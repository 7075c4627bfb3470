/* Discovery through the Hyperswarm helper process (see hypercore/discovery.h and
 * swarm_proto.h for the frames). This file owns the helper's life (spawn, health, restart)
 * and the table of connections; each connection is a pre-authenticated replicator fed with
 * the plaintext messages the helper relays. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "crypto.h"
#include "discovery_internal.h"
#include "grow.h"
#include "hypercore/discovery.h"
#include "hypercore/net.h"
#include "swarm_proto.h"

#ifndef HC_SWARM_HELPER_DEFAULT
#define HC_SWARM_HELPER_DEFAULT "helper/swarm/helper.js"
#endif

#define READ_CHUNK (256u * 1024u)
/* Stop taking messages from replicators while this much waits for the helper: the rest stays
 * in each replicator's own bounded queue (it stops answering requests past its high water). */
#define OUT_HIGH_WATER (8u << 20)
#define PING_INTERVAL_MS 2000
#define HEALTH_TIMEOUT_MS 20000 /* default: no PONG for this long, the helper is hung */
#define STOP_GRACE_MS 3000      /* the helper's time to unannounce on shutdown */

typedef struct dconn {
  uint32_t id;
  hc_replicator *r;
  bool dead;
} dconn;

typedef struct dtopic {
  uint8_t topic[32];
  int flags;
} dtopic;

typedef struct dwatch {
  int fd;
  hc_discovery_fd_cb cb;
  void *user;
  bool dead;
} dwatch;

struct hc_discovery {
  hc_discovery_callbacks cb;
  void *user;
  hc_replicator_callbacks rcb;
  bool has_rcb;
  void *ruser;
  uint8_t seed[32], pk[32];
  char *bootstrap, *node, *helper;
  bool loopback;
  uint32_t max_connections;
  int max_restarts;
  uint32_t start_timeout_ms, health_timeout_ms;

  pid_t pid;
  int fd;
  bool ready;
  hc_swp_dec dec;
  hc_swp_out out;
  uint64_t last_ping, last_pong;
  uint32_t ping_nonce;

  dconn *conns;
  size_t nconns, conns_cap;
  dtopic *topics;
  size_t ntopics, topics_cap;
  dwatch *watches;
  size_t nwatches, watches_cap;

  hc_discovery_stats stats;
  bool detached; /* no helper: fed by hc__discovery_feed (fuzzing, tests) */
  bool stop;
  int err;
  char errmsg[512];
};

static void failf(hc_discovery *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void failf(hc_discovery *d, int err, const char *fmt, ...) {
  if (d->err) return;
  d->err = err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->errmsg, sizeof d->errmsg, fmt, ap);
  va_end(ap);
}

static void logf_(hc_discovery *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(hc_discovery *d, const char *fmt, ...) {
  if (!d->cb.on_log) return;
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  d->cb.on_log(d->user, d, msg);
}

/* ---------------------------------------------------------------- finding the helper ---- */

static bool is_executable(const char *path) { return access(path, X_OK) == 0; }

/* The node executable: an explicit path, or the first `name` on PATH. */
static char *find_node(const char *given) {
  const char *name = given && *given ? given : getenv("HC_NODE");
  if (!name || !*name) name = "node";
  if (strchr(name, '/')) return is_executable(name) ? strdup(name) : NULL;
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    const char *e = strchr(path, ':');
    size_t n = e ? (size_t)(e - path) : strlen(path);
    char *full = malloc(n + strlen(name) + 2);
    if (!full) return NULL;
    snprintf(full, n + strlen(name) + 2, "%.*s/%s", (int)n, path, name);
    if (n && is_executable(full)) return full;
    free(full);
    if (!e) break;
    path = e + 1;
  }
  return NULL;
}

/* The helper's directory has its pinned packages installed (npm ci). */
static bool helper_installed(const char *helper) {
  const char *slash = strrchr(helper, '/');
  size_t dl = slash ? (size_t)(slash - helper) : 1;
  const char *dir = slash ? helper : ".";
  char path[4096];
  if (snprintf(path, sizeof path, "%.*s/node_modules/hyperswarm/package.json", (int)dl, dir) >=
      (int)sizeof path)
    return false;
  if (access(path, R_OK) != 0) return false;
  snprintf(path, sizeof path, "%.*s/node_modules/hyperdht/package.json", (int)dl, dir);
  return access(path, R_OK) == 0;
}

/* ---------------------------------------------------------------- the helper process ---- */

static void close_helper(hc_discovery *d) {
  if (d->fd >= 0) close(d->fd);
  d->fd = -1;
  d->ready = false;
  hc_swp_dec_free(&d->dec);
  hc_swp_out_free(&d->out);
}

/* Waits up to ms for the helper to exit, then kills it. */
static void reap_helper(hc_discovery *d, uint64_t ms) {
  if (d->pid <= 0) return;
  uint64_t until = hc_net_now_ms() + ms;
  for (;;) {
    int st;
    pid_t w = waitpid(d->pid, &st, WNOHANG);
    if (w == d->pid || (w < 0 && errno != EINTR)) break;
    if (hc_net_now_ms() >= until) {
      kill(d->pid, SIGKILL);
      waitpid(d->pid, &st, 0);
      break;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  d->pid = 0;
  d->stats.helper_pid = 0;
}

static int send_config(hc_discovery *d) {
  uint8_t head[33];
  head[0] = d->loopback ? HC_SWP_CONFIG_LOOPBACK : 0;
  memcpy(head + 1, d->seed, 32);
  const char *b = d->bootstrap ? d->bootstrap : "";
  int rc = hc_swp_put(&d->out, HC_SWP_CONFIG, head, sizeof head, b, strlen(b));
  for (size_t i = 0; !rc && i < d->ntopics; i++) {
    uint8_t f = (uint8_t)d->topics[i].flags;
    rc = hc_swp_put(&d->out, HC_SWP_JOIN, d->topics[i].topic, 32, &f, 1);
  }
  return rc;
}

/* Forks the helper with one end of a socketpair as its fd 3. */
static int spawn_helper(hc_discovery *d) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    failf(d, HC_ERR_HELPER, "socketpair: %s", strerror(errno));
    return d->err;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    failf(d, HC_ERR_HELPER, "fork: %s", strerror(errno));
    return d->err;
  }
  if (pid == 0) {
    /* child: fd 3 = our end (dup2 clears close-on-exec), stdin from /dev/null, stdout to
     * stderr (the parent's stdout is its own), its own process group (a terminal's ^C is the
     * parent's to handle), and gone with the parent */
    setpgid(0, 0);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    dup2(2, 1);
    if (dup2(sv[1], 3) < 0) _exit(126);
    char *argv[] = {d->node, d->helper, NULL};
    execv(d->node, argv);
    _exit(127);
  }
  close(sv[1]);
  d->pid = pid;
  d->stats.helper_pid = (int)pid;
  d->fd = sv[0];
  int fl = fcntl(d->fd, F_GETFL);
  if (fl >= 0) fcntl(d->fd, F_SETFL, fl | O_NONBLOCK);
  int sz = 4 << 20;
  setsockopt(d->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  d->ready = false;
  d->last_pong = d->last_ping = hc_net_now_ms();
  int rc = send_config(d);
  if (rc) failf(d, rc, "out of memory");
  return rc;
}

/* ---------------------------------------------------------------- connections ---- */

static dconn *find_conn(hc_discovery *d, uint32_t id) {
  for (size_t i = 0; i < d->nconns; i++)
    if (d->conns[i].id == id && !d->conns[i].dead) return &d->conns[i];
  return NULL;
}

/* Ends a connection: the user hears it, the helper is told (unless it told us). */
static void end_conn(hc_discovery *d, dconn *c, int err, const char *msg, bool tell_helper) {
  if (c->dead) return;
  c->dead = true;
  if (tell_helper && (d->fd >= 0 || d->detached)) hc_swp_put_id(&d->out, HC_SWP_CLOSE, c->id, NULL, 0);
  if (d->cb.on_disconnect) d->cb.on_disconnect(d->user, d, c->r, err, msg);
}

static void reap_conns(hc_discovery *d) {
  size_t k = 0;
  for (size_t i = 0; i < d->nconns; i++) {
    if (d->conns[i].dead) hc_replicator_free(d->conns[i].r);
    else d->conns[k++] = d->conns[i];
  }
  d->nconns = k;
  d->stats.connections = (uint32_t)k;
}

static void on_connection(hc_discovery *d, const hc_swp_frame *f) {
  size_t live = 0;
  for (size_t i = 0; i < d->nconns; i++) live += !d->conns[i].dead;
  if (find_conn(d, f->id) || live >= d->max_connections) {
    /* a duplicate id is a helper bug; too many peers: bounded memory, drop the newest */
    hc_swp_put_id(&d->out, HC_SWP_CLOSE, f->id, NULL, 0);
    if (live >= d->max_connections) logf_(d, "too many connections (%u), one refused", d->max_connections);
    return;
  }
  if (hc_grow((void **)&d->conns, &d->conns_cap, d->nconns + 1, sizeof *d->conns, 8)) {
    hc_swp_put_id(&d->out, HC_SWP_CLOSE, f->id, NULL, 0);
    return;
  }
  hc_preauth_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_PREAUTH_OPTS_VERSION;
  o.is_initiator = f->initiator;
  o.handshake_hash = f->hash;
  o.remote_public_key = f->key;
  hc_replicator *r = NULL;
  if (d->cb.make_replicator) {
    r = d->cb.make_replicator(d->user, d, &o);
    if (r && !hc_replicator_is_preauth(r)) { /* a Noise replicator would wait forever */
      logf_(d, "make_replicator returned a replicator that is not pre-authenticated");
      hc_replicator_free(r);
      r = NULL;
    }
  } else if (hc_replicator_new_preauth(&r, &o, d->has_rcb ? &d->rcb : NULL, d->ruser) != HC_OK) {
    r = NULL;
  }
  if (!r) {
    hc_swp_put_id(&d->out, HC_SWP_CLOSE, f->id, NULL, 0);
    return;
  }
  size_t k = d->nconns++;
  d->conns[k] = (dconn){f->id, r, false};
  d->stats.connections_total++;
  /* callbacks never add connections, so index k stays valid */
  int rc = d->cb.on_connection ? d->cb.on_connection(d->user, d, r, f->key, f->initiator)
                               : HC_ERR_INVALID_ARG;
  /* refused: on_disconnect still comes, so whoever made the replicator can let go of it */
  if (rc) end_conn(d, &d->conns[k], rc, "refused by on_connection", true);
}

static void on_data(hc_discovery *d, const hc_swp_frame *f) {
  dconn *c = find_conn(d, f->id);
  if (!c) return; /* we closed it; the helper had not heard yet */
  int rc = hc_replicator_feed_message(c->r, f->data, f->len, hc_net_now_ms());
  if (rc) end_conn(d, c, rc, hc_replicator_error_message(c->r), true);
}

static void on_closed(hc_discovery *d, const hc_swp_frame *f) {
  dconn *c = find_conn(d, f->id);
  if (!c) return;
  char msg[300];
  if (f->len) snprintf(msg, sizeof msg, "connection closed: %.*s", (int)(f->len > 250 ? 250 : f->len), (const char *)f->data);
  else snprintf(msg, sizeof msg, "the remote closed the connection");
  end_conn(d, c, HC_OK, msg, false);
}

static void handle_frame(hc_discovery *d, const hc_swp_frame *f) {
  switch (f->type) {
  case HC_SWP_READY:
    memcpy(d->pk, f->key, 32);
    d->ready = true;
    d->last_pong = hc_net_now_ms();
    break;
  case HC_SWP_CONNECTION: on_connection(d, f); break;
  case HC_SWP_H_DATA: on_data(d, f); break;
  case HC_SWP_CLOSED: on_closed(d, f); break;
  case HC_SWP_ERROR:
    logf_(d, "helper: %.*s", (int)(f->len > 500 ? 500 : f->len), (const char *)f->data);
    break;
  case HC_SWP_PONG:
    d->last_pong = hc_net_now_ms();
    d->stats.peers = f->peers;
    d->stats.dht_nodes = f->dht_nodes;
    break;
  case HC_SWP_JOINED:
    if (d->cb.on_joined) d->cb.on_joined(d->user, d, f->topic);
    break;
  }
}

/* ---------------------------------------------------------------- I/O ---- */

/* Frames what the replicators want to send, until OUT_HIGH_WATER bytes wait for the helper
 * (the rest stays in each replicator's bounded queue); ends connections that failed. */
static void take_output(hc_discovery *d) {
  for (size_t i = 0; i < d->nconns; i++) {
    dconn *c = &d->conns[i];
    if (c->dead) continue;
    const uint8_t *m;
    size_t n;
    while (hc_swp_out_pending(&d->out) < OUT_HIGH_WATER &&
           hc_replicator_pending_message(c->r, &m, &n)) {
      if (hc_swp_put_id(&d->out, HC_SWP_DATA, c->id, m, n) != HC_OK) break;
      hc_replicator_consume_message(c->r); /* may make it answer queued requests */
    }
    int err = hc_replicator_error(c->r);
    if (err) end_conn(d, c, err, hc_replicator_error_message(c->r), true);
  }
}

/* Moves replicator output into frames, then writes what the socket takes (never blocks: the
 * rest goes when poll says POLLOUT). */
static void flush(hc_discovery *d) {
  if (d->detached) { /* nobody to send to: drain and drop */
    take_output(d);
    hc_swp_out_free(&d->out);
    return;
  }
  if (d->fd < 0) return;
  take_output(d);
  while (hc_swp_out_pending(&d->out)) {
    ssize_t w = send(d->fd, d->out.buf + d->out.head, hc_swp_out_pending(&d->out), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      break; /* EAGAIN: poll for POLLOUT; EPIPE: the read side sees the EOF */
    }
    hc_swp_out_consume(&d->out, (size_t)w);
    if (!hc_swp_out_pending(&d->out)) take_output(d); /* replicators may have more now */
  }
}

/* The helper is gone (EOF, hung, or spoke garbage): drop its connections, restart it. */
static void helper_died(hc_discovery *d, const char *why) {
  /* a helper that died closed its socket on its way out: give the kernel a moment to make it
   * reapable, so the message says how it ended; one that is alive but broken is killed */
  int status = -1;
  bool ended_itself = false;
  if (d->pid > 0) {
    for (int i = 0; i < 20; i++) {
      pid_t w = waitpid(d->pid, &status, WNOHANG);
      if (w == d->pid) {
        ended_itself = true;
        break;
      }
      struct timespec ts = {0, 5 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    if (!ended_itself) {
      kill(d->pid, SIGKILL);
      waitpid(d->pid, &status, 0);
    }
    d->pid = 0;
    d->stats.helper_pid = 0;
  }
  close_helper(d);
  char msg[300];
  if (ended_itself && WIFEXITED(status))
    snprintf(msg, sizeof msg, "swarm helper exited (exit status %d)", WEXITSTATUS(status));
  else if (ended_itself && WIFSIGNALED(status))
    snprintf(msg, sizeof msg, "swarm helper exited (signal %d)", WTERMSIG(status));
  else
    snprintf(msg, sizeof msg, "swarm helper %s (killed)", why);
  for (size_t i = 0; i < d->nconns; i++) end_conn(d, &d->conns[i], HC_ERR_HELPER, msg, false);
  reap_conns(d);
  if (d->max_restarts >= 0 && d->stats.restarts < (uint32_t)d->max_restarts) {
    d->stats.restarts++;
    logf_(d, "%s; restarting it (%u of %d)", msg, d->stats.restarts, d->max_restarts);
    spawn_helper(d);
    return;
  }
  failf(d, HC_ERR_HELPER, "%s", msg);
}

/* Reads what the helper sent (up to a bound per call) and handles every complete frame. */
static void read_helper(hc_discovery *d) {
  for (int round = 0; round < 64 && d->fd >= 0; round++) {
    uint8_t *p;
    size_t avail;
    if (hc_swp_dec_reserve(&d->dec, READ_CHUNK, &p, &avail)) {
      helper_died(d, "sent more than the library could buffer");
      return;
    }
    ssize_t got = recv(d->fd, p, avail, 0);
    if (got == 0) {
      helper_died(d, "exited");
      return;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) helper_died(d, "connection lost");
      return;
    }
    hc_swp_dec_commit(&d->dec, (size_t)got);
    hc_swp_frame f;
    int rc;
    while ((rc = hc_swp_dec_next(&d->dec, &f)) == 1) handle_frame(d, &f);
    if (rc < 0) {
      helper_died(d, "sent a malformed frame");
      return;
    }
    reap_conns(d);
    flush(d);
    if ((size_t)got < avail) return;
  }
}

static void health(hc_discovery *d, uint64_t now) {
  if (d->fd < 0) return;
  /* while starting, the start timeout rules (a cold Node can take seconds on a loaded box) */
  uint64_t limit = d->ready ? d->health_timeout_ms : d->start_timeout_ms;
  if (now - d->last_pong > limit) {
    helper_died(d, d->ready ? "stopped answering" : "did not start in time");
    return;
  }
  if (d->ready && now - d->last_ping >= PING_INTERVAL_MS) {
    d->last_ping = now;
    uint32_t nonce = ++d->ping_nonce;
    uint8_t nb[4] = {(uint8_t)nonce, (uint8_t)(nonce >> 8), (uint8_t)(nonce >> 16), (uint8_t)(nonce >> 24)};
    hc_swp_put(&d->out, HC_SWP_PING, nb, 4, NULL, 0);
  }
}

int hc_discovery_process(hc_discovery *d) {
  if (d->err) return d->err;
  read_helper(d);
  if (d->err) return d->err;
  health(d, hc_net_now_ms());
  reap_conns(d);
  flush(d);
  return d->err;
}

int hc_discovery_fd(const hc_discovery *d) { return d->fd; }

bool hc_discovery_wants_write(const hc_discovery *d) {
  return d->fd >= 0 && hc_swp_out_pending(&d->out) > 0;
}

/* ---------------------------------------------------------------- public API ---- */

static bool all_loopback(const char *list) {
  if (!list || !*list) return false;
  const char *p = list;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    bool lo = (n > 4 && strncmp(p, "127.", 4) == 0) || (n > 10 && strncmp(p, "localhost:", 10) == 0);
    if (n && !lo) return false;
    if (!e) break;
    p = e + 1;
  }
  return true;
}

static void set_errbuf(const hc_discovery_opts *o, const char *msg) {
  if (o && o->errbuf && o->errbuf_len) snprintf(o->errbuf, o->errbuf_len, "%s", msg);
}

static bool wait_ready(void *user, hc_discovery *d) {
  (void)user;
  return d->ready;
}

int hc_discovery_new(hc_discovery **out, const hc_discovery_opts *opts,
                     const hc_discovery_callbacks *cb, void *user) {
  if (!out) return HC_ERR_INVALID_ARG;
  *out = NULL;
  if (opts && cb && (opts->version != HC_DISCOVERY_OPTS_VERSION ||
                     cb->version != HC_DISCOVERY_CALLBACKS_VERSION ||
                     (opts->replicator_callbacks &&
                      opts->replicator_callbacks->version != HC_REPLICATOR_CALLBACKS_VERSION))) {
    set_errbuf(opts, "unsupported struct version");
    return HC_ERR_BAD_VERSION;
  }
  if (!opts || !cb || !cb->on_connection) {
    set_errbuf(opts, "invalid options");
    return HC_ERR_INVALID_ARG;
  }
  if (hc_crypto_init()) return HC_ERR_IO;
  hc_discovery *d = calloc(1, sizeof *d);
  if (!d) return HC_ERR_NOMEM;
  d->fd = -1;
  d->cb = *cb;
  d->user = user;
  if (opts->replicator_callbacks) {
    d->rcb = *opts->replicator_callbacks;
    d->has_rcb = true;
  }
  d->ruser = opts->replicator_user;
  if (opts->seed) memcpy(d->seed, opts->seed, 32);
  else hc_crypto_random(d->seed, 32);
  d->max_connections = opts->max_connections ? opts->max_connections : 64;
  d->max_restarts = opts->max_restarts ? (opts->max_restarts < 0 ? -1 : opts->max_restarts) : 5;
  d->start_timeout_ms = opts->start_timeout_ms ? opts->start_timeout_ms : 30000;
  d->health_timeout_ms = opts->health_timeout_ms ? opts->health_timeout_ms : HEALTH_TIMEOUT_MS;
  d->loopback = all_loopback(opts->bootstrap);
  const char *helper = opts->helper && *opts->helper ? opts->helper : getenv("HC_SWARM_HELPER");
  if (!helper || !*helper) helper = HC_SWARM_HELPER_DEFAULT;
  d->helper = strdup(helper);
  d->bootstrap = strdup(opts->bootstrap ? opts->bootstrap : "");
  if (!d->helper || !d->bootstrap) {
    hc_discovery_free(d);
    return HC_ERR_NOMEM;
  }
  char msg[1200];
  d->node = find_node(opts->node);
  if (!d->node) {
    set_errbuf(opts, "Node.js not found (the Hyperswarm helper needs it): install it with "
                     "'bash scripts/deps.sh' (apt-get install nodejs npm), or set HC_NODE");
    hc_discovery_free(d);
    return HC_ERR_HELPER;
  }
  if (access(d->helper, R_OK) != 0 || !helper_installed(d->helper)) {
    const char *slash = strrchr(d->helper, '/');
    snprintf(msg, sizeof msg,
             "the Hyperswarm helper is not installed at %s: run 'npm ci --prefix %.*s' "
             "(or set HC_SWARM_HELPER to its helper.js)",
             d->helper, slash ? (int)(slash - d->helper) : 1, slash ? d->helper : ".");
    set_errbuf(opts, msg);
    hc_discovery_free(d);
    return HC_ERR_HELPER;
  }
  d->max_restarts = -1; /* no restart loop while starting: a helper that cannot start fails */
  int rc = spawn_helper(d);
  if (!rc) rc = hc_discovery_run(d, (int)d->start_timeout_ms, wait_ready, NULL);
  if (rc || !d->ready) {
    snprintf(msg, sizeof msg, "the Hyperswarm helper did not start: %s",
             d->err ? d->errmsg : hc_strerror(rc ? rc : HC_ERR_TIMEOUT));
    set_errbuf(opts, msg);
    hc_discovery_free(d);
    return rc == HC_ERR_TIMEOUT || !rc ? HC_ERR_TIMEOUT : HC_ERR_HELPER;
  }
  d->max_restarts = opts->max_restarts ? (opts->max_restarts < 0 ? -1 : opts->max_restarts) : 5;
  *out = d;
  return HC_OK;
}

void hc_discovery_free(hc_discovery *d) {
  if (!d) return;
  for (size_t i = 0; i < d->nconns; i++) {
    if (!d->conns[i].dead && d->cb.on_disconnect)
      d->cb.on_disconnect(d->user, d, d->conns[i].r, HC_OK, "closed");
    hc_replicator_free(d->conns[i].r);
  }
  d->nconns = 0;
  if (d->fd >= 0) {
    /* closing our end is the helper's signal to leave every topic and exit */
    shutdown(d->fd, SHUT_RDWR);
    close_helper(d);
  }
  reap_helper(d, STOP_GRACE_MS);
  hc_swp_dec_free(&d->dec);
  hc_swp_out_free(&d->out);
  hc_crypto_wipe(d->seed, sizeof d->seed);
  free(d->conns);
  free(d->topics);
  free(d->watches);
  free(d->bootstrap);
  free(d->node);
  free(d->helper);
  free(d);
}

int hc_discovery_join(hc_discovery *d, const uint8_t topic[32], int flags) {
  if (!d || !topic || !(flags & (HC_DISCOVERY_SERVER | HC_DISCOVERY_CLIENT)) ||
      (flags & ~(HC_DISCOVERY_SERVER | HC_DISCOVERY_CLIENT)))
    return HC_ERR_INVALID_ARG;
  if (d->err) return d->err;
  dtopic *t = NULL;
  for (size_t i = 0; i < d->ntopics; i++)
    if (memcmp(d->topics[i].topic, topic, 32) == 0) t = &d->topics[i];
  if (!t) {
    if (hc_grow((void **)&d->topics, &d->topics_cap, d->ntopics + 1, sizeof *d->topics, 4))
      return HC_ERR_NOMEM;
    t = &d->topics[d->ntopics++];
    memcpy(t->topic, topic, 32);
  }
  t->flags = flags;
  uint8_t f = (uint8_t)flags;
  if (d->fd >= 0) {
    int rc = hc_swp_put(&d->out, HC_SWP_JOIN, topic, 32, &f, 1);
    if (rc) return rc;
    flush(d);
  }
  return HC_OK;
}

int hc_discovery_leave(hc_discovery *d, const uint8_t topic[32]) {
  if (!d || !topic) return HC_ERR_INVALID_ARG;
  if (d->err) return d->err;
  for (size_t i = 0; i < d->ntopics; i++) {
    if (memcmp(d->topics[i].topic, topic, 32) != 0) continue;
    d->topics[i] = d->topics[--d->ntopics];
    if (d->fd >= 0) {
      int rc = hc_swp_put(&d->out, HC_SWP_LEAVE, topic, 32, NULL, 0);
      if (rc) return rc;
      flush(d);
    }
    return HC_OK;
  }
  return HC_ERR_NOT_FOUND;
}

int hc_discovery_watch_fd(hc_discovery *d, int fd, hc_discovery_fd_cb cb, void *user) {
  if (!d || fd < 0 || !cb) return HC_ERR_INVALID_ARG;
  if (hc_grow((void **)&d->watches, &d->watches_cap, d->nwatches + 1, sizeof *d->watches, 4))
    return HC_ERR_NOMEM;
  d->watches[d->nwatches++] = (dwatch){fd, cb, user, false};
  return HC_OK;
}

void hc_discovery_stop(hc_discovery *d) { d->stop = true; }

int hc_discovery_run(hc_discovery *d, int timeout_ms, hc_discovery_until_cb until, void *user) {
  uint64_t start = hc_net_now_ms();
  d->stop = false;
  for (;;) {
    reap_conns(d);
    flush(d);
    if (d->err) return d->err;
    if (d->stop) return HC_OK;
    if (until && until(user, d)) return HC_OK;
    uint64_t now = hc_net_now_ms();
    if (timeout_ms >= 0 && now - start >= (uint64_t)timeout_ms) return HC_ERR_TIMEOUT;
    /* watches whose callback asked to stop */
    size_t k = 0;
    for (size_t i = 0; i < d->nwatches; i++)
      if (!d->watches[i].dead) d->watches[k++] = d->watches[i];
    d->nwatches = k;
    struct pollfd pfds[1 + 16];
    size_t nw = d->nwatches > 16 ? 16 : d->nwatches;
    pfds[0].fd = d->fd;
    pfds[0].events = (short)(POLLIN | (hc_discovery_wants_write(d) ? POLLOUT : 0));
    pfds[0].revents = 0;
    for (size_t i = 0; i < nw; i++) {
      pfds[1 + i].fd = d->watches[i].fd;
      pfds[1 + i].events = POLLIN;
      pfds[1 + i].revents = 0;
    }
    int wait = 500;
    if (timeout_ms >= 0) {
      uint64_t left = (uint64_t)timeout_ms - (now - start);
      if ((uint64_t)wait > left) wait = (int)left;
    }
    int pr = poll(pfds, 1 + nw, wait);
    if (pr < 0 && errno != EINTR) return HC_ERR_IO;
    if (d->fd >= 0 && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR))) read_helper(d);
    if (d->err) return d->err;
    health(d, hc_net_now_ms());
    for (size_t i = 0; i < nw; i++)
      if (pfds[1 + i].revents && !d->watches[i].dead &&
          d->watches[i].cb(d->watches[i].user, d, d->watches[i].fd))
        d->watches[i].dead = true;
  }
}

void hc_discovery_get_stats(const hc_discovery *d, hc_discovery_stats *st) { *st = d->stats; }

const uint8_t *hc_discovery_public_key(const hc_discovery *d) { return d->pk; }

int hc_discovery_error(const hc_discovery *d) { return d->err; }

const char *hc_discovery_error_message(const hc_discovery *d) { return d->err ? d->errmsg : ""; }

int hc_discovery_seed_load(const char *path, uint8_t seed[32]) {
  if (!path || !seed) return HC_ERR_INVALID_ARG;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    uint8_t buf[33];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != 32) return HC_ERR_CORRUPT;
    memcpy(seed, buf, 32);
    hc_crypto_wipe(buf, sizeof buf);
    return HC_OK;
  }
  if (errno != ENOENT) return HC_ERR_IO;
  if (hc_crypto_init()) return HC_ERR_IO;
  hc_crypto_random(seed, 32);
  /* write a temporary file and rename it: a crash never leaves a short seed behind */
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return HC_ERR_INVALID_ARG;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return HC_ERR_IO;
  ssize_t w = write(fd, seed, 32);
  int ok = w == 32 && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return HC_ERR_IO;
  }
  return HC_OK;
}

/* ---------------------------------------------------------------- detached (tests) ---- */

int hc__discovery_new_detached(hc_discovery **out, const hc_discovery_opts *opts,
                               const hc_discovery_callbacks *cb, void *user) {
  if (!out || !opts || !cb || !cb->on_connection) return HC_ERR_INVALID_ARG;
  *out = NULL;
  if (hc_crypto_init()) return HC_ERR_IO;
  hc_discovery *d = calloc(1, sizeof *d);
  if (!d) return HC_ERR_NOMEM;
  d->fd = -1;
  d->detached = true;
  d->cb = *cb;
  d->user = user;
  if (opts->replicator_callbacks) {
    d->rcb = *opts->replicator_callbacks;
    d->has_rcb = true;
  }
  d->ruser = opts->replicator_user;
  d->max_connections = opts->max_connections ? opts->max_connections : 64;
  d->max_restarts = -1;
  d->health_timeout_ms = HEALTH_TIMEOUT_MS;
  *out = d;
  return HC_OK;
}

int hc__discovery_feed(hc_discovery *d, const uint8_t *data, size_t len) {
  if (d->err) return d->err;
  if (hc_swp_dec_feed(&d->dec, data, len)) {
    helper_died(d, "sent more than the library could buffer");
    return d->err;
  }
  hc_swp_frame f;
  int rc;
  while ((rc = hc_swp_dec_next(&d->dec, &f)) == 1) handle_frame(d, &f);
  if (rc < 0) helper_died(d, "sent a malformed frame");
  reap_conns(d);
  flush(d);
  return d->err;
}
