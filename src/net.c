/* poll(2)-based TCP driver for replicators (the only file with socket code). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "hypercore/limits.h"
#include "hypercore/net.h"
#include "hypercore/session.h"

#define READ_CHUNK (256 * 1024)
#define ACCEPTS_PER_ROUND 64     /* then the connections get their turn */
#define ACCEPT_PAUSE_MS 250      /* after accept ran out of resources (EMFILE, ENFILE, ...) */

typedef struct conn {
  int fd;
  hc_replicator *r;
  bool dead;
} conn;

typedef struct watch {
  int fd;
  hc_net_fd_cb cb;
  void *user;
  bool dead;
} watch;

struct hc_net {
  conn *conns;
  size_t nconns, conns_cap;
  watch *watches;
  size_t nwatches, watches_cap;
  int listen_fd;
  hc_net_accept_cb on_accept;
  void *accept_user;
  hc_net_close_cb on_close;
  void *user;
  bool stop;
  uint8_t *buf;
  hc_net_limits limits; /* every field resolved (no zeros) */
  hc_net_stats stats;
  uint64_t accept_paused_until;
};

static void resolve_limits(hc_net_limits *l) {
  if (!l->max_connections) l->max_connections = HC_DEFAULT_MAX_CONNECTIONS;
  if (!l->max_memory) l->max_memory = HC_DEFAULT_NET_MEMORY;
  if (!l->conn_max_memory) l->conn_max_memory = HC_DEFAULT_CONN_MEMORY;
  if (!l->max_output) l->max_output = HC_DEFAULT_MAX_OUTPUT;
  if (!l->read_budget || l->read_budget > READ_CHUNK) l->read_budget = READ_CHUNK;
}

static void apply_conn_limits(hc_net *n, hc_replicator *r) {
  hc_replicator_limits rl = {HC_REPLICATOR_LIMITS_VERSION, n->limits.conn_max_memory};
  hc_replicator_set_limits(r, &rl);
}

int hc_net_set_limits(hc_net *n, const hc_net_limits *l) {
  if (!n || !l) return HC_ERR_INVALID_ARG;
  if (l->version != HC_NET_LIMITS_VERSION) return HC_ERR_BAD_VERSION;
  n->limits = *l;
  n->limits.version = HC_NET_LIMITS_VERSION;
  resolve_limits(&n->limits);
  for (size_t i = 0; i < n->nconns; i++) apply_conn_limits(n, n->conns[i].r);
  return HC_OK;
}

void hc_net_get_stats(const hc_net *n, hc_net_stats *out) { *out = n->stats; }

uint64_t hc_net_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int hc_net_new(hc_net **out, hc_net_close_cb on_close, void *user) {
  hc_net *n = calloc(1, sizeof *n);
  if (!n) return HC_ERR_NOMEM;
  n->buf = malloc(READ_CHUNK);
  if (!n->buf) {
    free(n);
    return HC_ERR_NOMEM;
  }
  n->listen_fd = -1;
  n->limits.version = HC_NET_LIMITS_VERSION;
  resolve_limits(&n->limits);
  n->on_close = on_close;
  n->user = user;
  *out = n;
  return HC_OK;
}

void hc_net_free(hc_net *n) {
  if (!n) return;
  for (size_t i = 0; i < n->nconns; i++) {
    if (n->conns[i].fd >= 0) close(n->conns[i].fd);
    hc_replicator_free(n->conns[i].r);
  }
  if (n->listen_fd >= 0) close(n->listen_fd);
  free(n->conns);
  free(n->watches);
  free(n->buf);
  free(n);
}

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int hc_net_add_socket(hc_net *n, int fd, hc_replicator *r) {
  if (hc_grow((void **)&n->conns, &n->conns_cap, n->nconns + 1, sizeof *n->conns, 8)) {
    close(fd);
    hc_replicator_free(r);
    return HC_ERR_NOMEM;
  }
  set_nonblock(fd);
  apply_conn_limits(n, r);
  n->conns[n->nconns].fd = fd;
  n->conns[n->nconns].r = r;
  n->conns[n->nconns].dead = false;
  n->nconns++;
  hc_replicator_tick(r, hc_net_now_ms());
  return HC_OK;
}

static int resolve(const char *host, uint16_t port, struct addrinfo **res, bool passive) {
  struct addrinfo hints;
  char ps[8];
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  snprintf(ps, sizeof ps, "%u", port);
  return getaddrinfo(host && *host ? host : NULL, ps, &hints, res) == 0 ? HC_OK : HC_ERR_INVALID_ARG;
}

int hc_net_connect(hc_net *n, const char *host, uint16_t port, hc_replicator *r) {
  struct addrinfo *res, *ai;
  int rc = resolve(host, port, &res, false);
  if (rc) {
    hc_replicator_free(r);
    return rc;
  }
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    hc_replicator_free(r);
    return HC_ERR_IO;
  }
  return hc_net_add_socket(n, fd, r);
}

int hc_net_listen(hc_net *n, const char *host, uint16_t port, uint16_t *bound_port,
                  hc_net_accept_cb on_accept, void *user) {
  if (n->listen_fd >= 0) return HC_ERR_BUSY;
  struct addrinfo *res, *ai;
  int rc = resolve(host, port, &res, true);
  if (rc) return rc;
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return HC_ERR_IO;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (bound_port && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET) *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  set_nonblock(fd);
  n->listen_fd = fd;
  n->on_accept = on_accept;
  n->accept_user = user;
  return HC_OK;
}

int hc_net_watch_fd(hc_net *n, int fd, hc_net_fd_cb cb, void *user) {
  if (hc_grow((void **)&n->watches, &n->watches_cap, n->nwatches + 1, sizeof *n->watches, 4))
    return HC_ERR_NOMEM;
  n->watches[n->nwatches].fd = fd;
  n->watches[n->nwatches].cb = cb;
  n->watches[n->nwatches].user = user;
  n->watches[n->nwatches].dead = false;
  n->nwatches++;
  return HC_OK;
}

void hc_net_stop(hc_net *n) { n->stop = true; }

size_t hc_net_connections(const hc_net *n) { return n->nconns; }

/* Writes what the replicator has; false when the socket failed. */
static bool flush_conn(conn *c) {
  for (;;) {
    const uint8_t *d;
    size_t len;
    hc_replicator_pending_out(c->r, &d, &len);
    if (!len) return true;
    ssize_t w = send(c->fd, d, len, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    hc_replicator_consume_out(c->r, (size_t)w);
  }
}

static size_t output_backlog(conn *c) {
  const uint8_t *d;
  size_t len;
  hc_replicator_pending_out(c->r, &d, &len);
  return len;
}

static bool wants_write(conn *c) {
  const uint8_t *d;
  size_t len;
  hc_replicator_pending_out(c->r, &d, &len);
  return len > 0;
}

static void kill_conn(hc_net *n, conn *c, int err, const char *msg) {
  if (c->dead) return;
  c->dead = true;
  if (err == HC_ERR_BUDGET) n->stats.over_budget++;
  if (n->accept_paused_until) n->accept_paused_until = 0; /* a descriptor frees */
  if (n->on_close) n->on_close(n->user, n, c->r, err, msg);
}

static void reap(hc_net *n) {
  size_t k = 0;
  for (size_t i = 0; i < n->nconns; i++) {
    if (n->conns[i].dead) {
      if (n->conns[i].fd >= 0) close(n->conns[i].fd);
      hc_replicator_free(n->conns[i].r);
    } else {
      n->conns[k++] = n->conns[i];
    }
  }
  n->nconns = k;
  k = 0;
  for (size_t i = 0; i < n->nwatches; i++)
    if (!n->watches[i].dead) n->watches[k++] = n->watches[i];
  n->nwatches = k;
}

static size_t live_conns(const hc_net *n) {
  size_t k = 0;
  for (size_t i = 0; i < n->nconns; i++) k += !n->conns[i].dead;
  return k;
}

/* Drops the oldest connection still in its Noise handshake, closing its descriptor at once
 * (the cheapest connections to open are the ones that must not block the others). */
static bool evict_pending(hc_net *n, const char *why) {
  for (size_t i = 0; i < n->nconns; i++) {
    conn *c = &n->conns[i];
    if (c->dead || hc_replicator_ready(c->r)) continue;
    kill_conn(n, c, HC_ERR_BUSY, why);
    close(c->fd);
    c->fd = -1;
    n->stats.evicted_pending++;
    return true;
  }
  return false;
}

static bool listener_ready(hc_net *n) {
  struct pollfd p = {n->listen_fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static void do_accept(hc_net *n) {
  for (int k = 0; k < ACCEPTS_PER_ROUND; k++) {
    int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    /* out of descriptors with a peer waiting: make room from one still in its handshake */
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && listener_ready(n) &&
        evict_pending(n, "evicted: out of file descriptors and this peer had not finished "
                         "its handshake"))
      fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      /* a connection that failed before we took it (ECONNABORTED, EPROTO, ...): next one */
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* out of resources: the listener stays readable, so polling it again would spin;
         * pause accepting until a descriptor frees (a connection closes) or a while passes */
        n->accept_paused_until = hc_net_now_ms() + ACCEPT_PAUSE_MS;
        n->stats.accept_pauses++;
      }
      return;
    }
    /* full: make room from a peer still in its handshake, else refuse the new one */
    if (live_conns(n) >= n->limits.max_connections &&
        !evict_pending(n, "evicted: the connection limit is reached and this peer had not "
                          "finished its handshake")) {
      close(fd);
      n->stats.refused++;
      continue;
    }
    hc_replicator *r = n->on_accept ? n->on_accept(n->accept_user, n) : NULL;
    if (!r) {
      close(fd);
      continue;
    }
    n->stats.accepted++;
    hc_net_add_socket(n, fd, r);
  }
}

/* Over the global budget, the connection holding the most memory goes first; answers waiting
 * for it to read (up to max_output) do not count against it: a fast honest downloader holds
 * megabytes of our output, a hostile peer holds what it sent us. */
static void enforce_global_budget(hc_net *n) {
  for (;;) {
    size_t total = 0, worst = 0, worst_score = 0;
    conn *victim = NULL;
    for (size_t i = 0; i < n->nconns; i++) {
      conn *c = &n->conns[i];
      if (c->dead) continue;
      size_t m = hc_replicator_memory(c->r), out = output_backlog(c);
      if (out > n->limits.max_output) out = n->limits.max_output;
      size_t score = m > out ? m - out : 0;
      total += m;
      if (!victim || score > worst_score) {
        worst_score = score;
        worst = m;
        victim = c;
      }
    }
    if (total <= n->limits.max_memory || !victim) return;
    char msg[200];
    snprintf(msg, sizeof msg,
             "global memory budget of %.1f MiB exceeded (%.1f MiB in %zu connections): "
             "dropping the peer holding the most (%.1f MiB)",
             n->limits.max_memory / 1048576.0, total / 1048576.0, live_conns(n), worst / 1048576.0);
    kill_conn(n, victim, HC_ERR_BUDGET, msg);
  }
}

int hc_net_run(hc_net *n, int timeout_ms, hc_net_until_cb until, void *user) {
  uint64_t start = hc_net_now_ms();
  n->stop = false;
  struct pollfd *pfds = NULL;
  size_t pcap = 0;
  int result = HC_OK;
  for (;;) {
    /* flush, then check conditions */
    for (size_t i = 0; i < n->nconns; i++) {
      conn *c = &n->conns[i];
      if (c->dead) continue;
      int err = hc_replicator_error(c->r);
      if (err) kill_conn(n, c, err, hc_replicator_error_message(c->r));
      else if (!flush_conn(c)) kill_conn(n, c, HC_ERR_IO, "connection lost");
    }
    reap(n);
    if (n->stop) break;
    if (until && until(user, n)) break;
    if (n->nconns == 0 && n->listen_fd < 0 && n->nwatches == 0) {
      result = HC_ERR_CLOSED;
      break;
    }
    uint64_t now = hc_net_now_ms();
    if (timeout_ms >= 0 && now - start >= (uint64_t)timeout_ms) {
      result = HC_ERR_TIMEOUT;
      break;
    }
    size_t need = n->nconns + n->nwatches + 1;
    if (need > pcap) {
      struct pollfd *np = realloc(pfds, need * sizeof *np);
      if (!np) {
        result = HC_ERR_NOMEM;
        break;
      }
      pfds = np;
      pcap = need;
    }
    size_t k = 0;
    uint64_t wake = now + 1000;
    for (size_t i = 0; i < n->nconns; i++) {
      pfds[k].fd = n->conns[i].fd;
      pfds[k].events = (output_backlog(&n->conns[i]) < n->limits.max_output ? POLLIN : 0) |
                       (wants_write(&n->conns[i]) ? POLLOUT : 0);
      pfds[k].revents = 0;
      k++;
      uint64_t t = hc_replicator_next_timeout(n->conns[i].r);
      if (t < wake) wake = t;
    }
    for (size_t i = 0; i < n->nwatches; i++) {
      pfds[k].fd = n->watches[i].fd;
      pfds[k].events = POLLIN;
      pfds[k].revents = 0;
      k++;
    }
    bool accepting = n->listen_fd >= 0 && now >= n->accept_paused_until;
    if (n->listen_fd >= 0) {
      pfds[k].fd = accepting ? n->listen_fd : -1; /* paused: poll ignores negative fds */
      pfds[k].events = POLLIN;
      pfds[k].revents = 0;
      k++;
      if (!accepting && n->accept_paused_until < wake) wake = n->accept_paused_until;
    }
    int wait = wake > now ? (int)(wake - now) : 0;
    if (timeout_ms >= 0) {
      uint64_t left = (uint64_t)timeout_ms - (now - start);
      if ((uint64_t)wait > left) wait = (int)left;
    }
    int pr = poll(pfds, k, wait);
    if (pr < 0 && errno != EINTR) {
      result = HC_ERR_IO;
      break;
    }
    now = hc_net_now_ms();
    size_t nc = n->nconns, nw = n->nwatches;
    for (size_t i = 0; i < nc; i++) {
      conn *c = &n->conns[i];
      if (c->dead) continue;
      short re = pfds[i].revents;
      if (re & (POLLIN | POLLHUP | POLLERR)) {
        /* one read of at most read_budget bytes per poll round: a peer that always has more
         * to send gets its turn again after everyone else (and the listener) had theirs */
        for (;;) {
          ssize_t got = recv(c->fd, n->buf, n->limits.read_budget, 0);
          if (got > 0) {
            int rc = hc_replicator_feed(c->r, n->buf, (size_t)got, now);
            if (rc) {
              flush_conn(c);
              kill_conn(n, c, rc, hc_replicator_error_message(c->r));
              break;
            }
            if (!flush_conn(c)) {
              kill_conn(n, c, HC_ERR_IO, "connection lost");
              break;
            }
            break;
          }
          if (got == 0) {
            kill_conn(n, c, HC_OK, "remote closed the connection");
            break;
          }
          if (errno == EINTR) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) kill_conn(n, c, HC_ERR_IO, "connection lost");
          break;
        }
      }
      /* timers only when something happened or one is due (not every connection every round) */
      if (!c->dead && (re || now >= hc_replicator_next_timeout(c->r))) {
        int rc = hc_replicator_tick(c->r, now);
        if (rc) kill_conn(n, c, rc, hc_replicator_error_message(c->r));
      }
    }
    enforce_global_budget(n);
    for (size_t i = 0; i < nw; i++) {
      if (pfds[nc + i].revents && !n->watches[i].dead) {
        if (n->watches[i].cb(n->watches[i].user, n, n->watches[i].fd)) n->watches[i].dead = true;
      }
    }
    if (accepting && pfds[nc + nw].revents & POLLIN) do_accept(n);
  }
  free(pfds);
  return result;
}

typedef struct get_wait {
  hc_core *core;
  hc_replicator *r;
  uint64_t index;
  bool gone;
} get_wait;

static bool get_ready(void *user, hc_net *n) {
  get_wait *g = user;
  if (hc_core_has(g->core, g->index, g->index + 1)) return true;
  for (size_t i = 0; i < n->nconns; i++)
    if (n->conns[i].r == g->r) return false;
  g->gone = true;
  return true;
}

int hc_net_get(hc_net *n, hc_replicator *r, hc_core *core, uint64_t index, int timeout_ms,
               uint8_t **out, size_t *len) {
  *out = NULL;
  if (!hc_core_has(core, index, index + 1)) {
    int rc = hc_replicator_download(r, core, index, index + 1);
    if (rc) return rc;
    get_wait g = {core, r, index, false};
    rc = hc_net_run(n, timeout_ms, get_ready, &g);
    if (g.gone) return HC_ERR_CLOSED;
    if (rc) return rc;
  }
  return hc_core_get_alloc(core, index, out, len);
}

int hc_net_broadcast_extension(hc_net *n, hc_core *core, const char *name, const uint8_t *msg,
                               size_t len, size_t *sent) {
  size_t k = 0;
  int last = HC_OK;
  for (size_t i = 0; i < n->nconns; i++) {
    if (n->conns[i].dead) continue;
    int rc = hc_replicator_send_extension(n->conns[i].r, core, name, msg, len);
    if (rc == HC_OK) k++;
    else if (rc != HC_ERR_NOT_FOUND && rc != HC_ERR_BUSY) last = rc;
  }
  if (sent) *sent = k;
  return last;
}

typedef struct grow_wait {
  hc_core *core;
  uint64_t length;
} grow_wait;

static bool grew(void *user, hc_net *n) {
  grow_wait *g = user;
  return hc_core_length(g->core) > g->length || n->nconns == 0;
}

int hc_net_iter_next(hc_net *n, hc_replicator *r, hc_core *core, hc_iter *it, int timeout_ms,
                     uint64_t *index, uint8_t **out, size_t *len) {
  uint64_t start = hc_net_now_ms();
  for (;;) {
    int rc = hc_iter_next(it, index, out, len);
    if (rc != HC_ERR_BUSY && rc != HC_ERR_NOT_AVAILABLE) return rc;
    int left = -1;
    if (timeout_ms >= 0) {
      uint64_t spent = hc_net_now_ms() - start;
      if (spent >= (uint64_t)timeout_ms) return HC_ERR_TIMEOUT;
      left = (int)((uint64_t)timeout_ms - spent);
    }
    if (rc == HC_ERR_NOT_AVAILABLE) {
      uint8_t *b = NULL;
      size_t bl;
      rc = hc_net_get(n, r, core, *index, left, &b, &bl);
      hc_free(b);
      if (rc) return rc;
      continue;
    }
    /* live and caught up: follow the remote's appends until the core grows */
    hc_replicator_set_live(r, core, true);
    grow_wait g = {core, hc_core_length(core)};
    rc = hc_net_run(n, left, grew, &g);
    if (rc) return rc;
    if (n->nconns == 0) return HC_ERR_CLOSED;
  }
}
