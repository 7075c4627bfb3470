/* `hypercore bee ...` and `hypercore drive ...`: Hyperbee and Hyperdrive on local cores, or on
 * a remote one by key with --connect HOST:PORT (blocks fetched sparsely, kept in memory).
 * Only the public API (hypercore.h). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_store.h"
#include "hypercore.h"

#define EXIT_OPERR 1
#define EXIT_USAGE 2
#define MAX_POS 8

int hc_cmd_bee(int argc, char **argv);
int hc_cmd_drive(int argc, char **argv);

/* ---------------------------------------------------------------- arguments ---- */

typedef struct args {
  const char *group, *sub; /* "bee" / "drive", the sub-command */
  const char *pos[MAX_POS];
  int npos;
  /* value options */
  const char *gt, *gte, *lt, *lte, *limit, *connect, *timeout, *checkout, *subp, *start,
      *length, *prefix, *ns, *bootstrap;
  /* flags */
  bool reverse, json, hex, recursive, stats, executable, swarm;
} args;

static const char *cur_cmd = "bee";

static int fail(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "hypercore: %s: %s\n", cur_cmd, buf);
  return EXIT_OPERR;
}

static int usage(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "hypercore: %s: bad arguments: %s\n(see 'hypercore %s --help')\n", cur_cmd,
          buf, cur_cmd);
  return EXIT_USAGE;
}

static int parse(args *a, int argc, char **argv) {
  struct {
    const char *name;
    const char **val;
    bool *flag;
  } opts[] = {
      {"gt", &a->gt, NULL},           {"gte", &a->gte, NULL},
      {"lt", &a->lt, NULL},           {"lte", &a->lte, NULL},
      {"limit", &a->limit, NULL},     {"connect", &a->connect, NULL},
      {"timeout", &a->timeout, NULL}, {"checkout", &a->checkout, NULL},
      {"sub", &a->subp, NULL},        {"start", &a->start, NULL},
      {"length", &a->length, NULL},   {"prefix", &a->prefix, NULL},
      {"namespace", &a->ns, NULL},    {"bootstrap", &a->bootstrap, NULL},
      {"swarm", NULL, &a->swarm},
      {"reverse", NULL, &a->reverse}, {"json", NULL, &a->json},
      {"hex", NULL, &a->hex},         {"recursive", NULL, &a->recursive},
      {"stats", NULL, &a->stats},     {"executable", NULL, &a->executable},
  };
  bool only_pos = false;
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    if (!only_pos && strcmp(s, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (!only_pos && s[0] == '-' && s[1] == '-') {
      size_t k;
      for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
        if (strcmp(s + 2, opts[k].name) == 0) break;
      if (k == sizeof(opts) / sizeof(opts[0])) return usage("unknown option '%s'", s);
      if (opts[k].flag) {
        *opts[k].flag = true;
      } else {
        if (i + 1 >= argc) return usage("option '%s' needs a value", s);
        *opts[k].val = argv[++i];
      }
      continue;
    }
    if (a->npos >= MAX_POS) return usage("too many arguments");
    a->pos[a->npos++] = s;
  }
  return 0;
}

static bool parse_u64(const char *s, uint64_t *v) {
  if (!s || !*s) return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end || s[0] == '-') return false;
  *v = x;
  return true;
}

/* A key/value argument: utf-8 bytes, or hex with --hex. */
static int arg_bytes(const args *a, const char *what, const char *s, uint8_t **out, size_t *len) {
  size_t n = strlen(s);
  if (!a->hex) {
    *out = (uint8_t *)strdup(s);
    *len = n;
    return *out ? 0 : fail("%s", hc_strerror(HC_ERR_NOMEM));
  }
  if (n % 2) return usage("%s must be hex with --hex", what);
  *out = malloc(n / 2 + 1);
  if (!*out) return fail("%s", hc_strerror(HC_ERR_NOMEM));
  if (n && hc_hex_decode(*out, n / 2, s) != HC_OK) {
    free(*out);
    return usage("%s must be hex with --hex", what);
  }
  *len = n / 2;
  return 0;
}

/* ---------------------------------------------------------------- output ---- */

static void put_hex(FILE *f, const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    fputc(d[p[i] >> 4], f);
    fputc(d[p[i] & 15], f);
  }
}

/* A JSON string of bytes taken as utf-8 (invalid bytes and controls escaped as \u00XX). */
static void put_json_str(FILE *f, const uint8_t *p, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
    } else if (c < 0x20) {
      fprintf(f, "\\u%04x", c);
    } else {
      fputc(c, f);
    }
  }
  fputc('"', f);
}

static void put_bytes_json(const args *a, const uint8_t *p, size_t n) {
  if (a->hex) {
    fputc('"', stdout);
    put_hex(stdout, p, n);
    fputc('"', stdout);
  } else {
    put_json_str(stdout, p, n);
  }
}

static void print_entry(const args *a, const hc_bee_entry *e, bool history) {
  if (a->json) {
    fputs("{", stdout);
    if (history) fprintf(stdout, "\"type\":\"%s\",\"seq\":%" PRIu64 ",", e->deleted ? "del" : "put", e->seq);
    fputs("\"key\":", stdout);
    put_bytes_json(a, e->key, e->key_len);
    fputs(",\"value\":", stdout);
    if (e->has_value) put_bytes_json(a, e->value, e->value_len);
    else fputs("null", stdout);
    fputs("}\n", stdout);
    return;
  }
  if (history) fprintf(stdout, "%s %" PRIu64 " ", e->deleted ? "del" : "put", e->seq);
  if (a->hex) put_hex(stdout, e->key, e->key_len);
  else fwrite(e->key, 1, e->key_len, stdout);
  if (e->has_value) {
    fputc(' ', stdout);
    if (a->hex) put_hex(stdout, e->value, e->value_len);
    else fwrite(e->value, 1, e->value_len, stdout);
  }
  fputc('\n', stdout);
}

/* ---------------------------------------------------------------- remote ---- */

/* A remote bee or drive: its cores opened in memory by key, blocks fetched on demand (and
 * verified) from one TCP peer (--connect) or from the peers found on the Hyperswarm DHT by
 * the first core's discovery key (--swarm). With --swarm every connection carries every core
 * (a drive's db and blobs cores on the same connections, as corestore replicates them), and a
 * block is asked of every connected peer; the first verified copy wins. */
#define MAX_SWARM_PEERS 64

typedef struct remote {
  /* --connect */
  hc_net *net;
  hc_replicator *r;
  int conn_err;
  /* --swarm */
  hc_discovery *d;
  hc_replicator *peers[MAX_SWARM_PEERS];
  size_t npeers;
  bool swarm, joined, verbose;
  uint64_t started, first_peer_ms;
  bool have_peer;
  /* the block being waited for: asked of every peer that connects meanwhile */
  hc_core *want_core;
  uint64_t want_index;
  /* both */
  hc_storage_factory *factory[2];
  hc_core *cores[2];
  int ncores;
  int timeout_ms;
  uint64_t fetched[2];
} remote;

static void remote_on_close(void *user, hc_net *net, hc_replicator *r, int err, const char *m) {
  remote *rm = user;
  if (rm->r == r) {
    rm->conn_err = err ? err : HC_ERR_CLOSED;
    rm->r = NULL;
  }
}

static void remote_on_download(void *user, hc_replicator *r, hc_core *core, uint64_t index,
                               size_t bytes) {
  remote *rm = user;
  for (int i = 0; i < rm->ncores; i++)
    if (rm->cores[i] == core) rm->fetched[i]++;
}

/* ---- --swarm: the peers found on the DHT ---- */

static void swarm_note(const remote *rm, const char *what, const uint8_t *rpk, size_t n) {
  if (!rm->verbose) return;
  char hex[65] = "?";
  if (rpk) hc_hex_encode(hex, rpk, 32);
  fprintf(stderr, "hypercore: %s: swarm: %s %.16s (%zu connection%s)\n", cur_cmd, what, hex, n,
          n == 1 ? "" : "s");
}

/* Puts core (live: its length follows the peer's; blocks come only when asked) on r. */
static int swarm_peer_add_core(remote *rm, hc_replicator *r, hc_core *core) {
  int rc = hc_replicator_add_core(r, core);
  if (!rc) rc = hc_replicator_set_live(r, core, true);
  if (!rc && rm->want_core == core)
    rc = hc_replicator_download(r, core, rm->want_index, rm->want_index + 1);
  return rc;
}

static int swarm_on_connection(void *user, hc_discovery *d, hc_replicator *r, const uint8_t rpk[32],
                               bool initiator) {
  remote *rm = user;
  if (rm->npeers == MAX_SWARM_PEERS) return HC_ERR_BUSY;
  for (int i = 0; i < rm->ncores; i++) {
    int rc = swarm_peer_add_core(rm, r, rm->cores[i]);
    if (rc) return rc;
  }
  rm->peers[rm->npeers++] = r;
  if (!rm->have_peer) {
    rm->have_peer = true;
    rm->first_peer_ms = hc_net_now_ms() - rm->started;
  }
  swarm_note(rm, "connected to", rpk, rm->npeers);
  return HC_OK;
}

static void swarm_on_disconnect(void *user, hc_discovery *d, hc_replicator *r, int err,
                                const char *m) {
  remote *rm = user;
  for (size_t i = 0; i < rm->npeers; i++) {
    if (rm->peers[i] != r) continue;
    rm->peers[i] = rm->peers[--rm->npeers];
    swarm_note(rm, "disconnected from", hc_replicator_remote_public_key(r), rm->npeers);
    return;
  }
}

static void swarm_on_log(void *user, hc_discovery *d, const char *m) {
  fprintf(stderr, "hypercore: %s: swarm: %s\n", cur_cmd, m);
}

/* Starts the helper with a fresh identity (a reader keeps no state between runs). */
static int swarm_start(remote *rm, const char *bootstrap) {
  static hc_replicator_callbacks rcb;
  memset(&rcb, 0, sizeof rcb);
  rcb.version = HC_REPLICATOR_CALLBACKS_VERSION;
  rcb.on_download = remote_on_download;
  hc_discovery_callbacks cb = HC_DISCOVERY_CALLBACKS_INIT;
  cb.on_connection = swarm_on_connection;
  cb.on_disconnect = swarm_on_disconnect;
  cb.on_log = swarm_on_log;
  char err[1200] = "";
  hc_discovery_opts o = HC_DISCOVERY_OPTS_INIT;
  o.bootstrap = bootstrap;
  o.replicator_callbacks = &rcb;
  o.replicator_user = rm;
  o.max_connections = MAX_SWARM_PEERS;
  o.errbuf = err;
  o.errbuf_len = sizeof err;
  int rc = hc_discovery_new(&rm->d, &o, &cb, rm);
  if (rc) {
    rm->d = NULL;
    return fail("%s", *err ? err : hc_strerror(rc));
  }
  return 0;
}

static const char *swarm_error(const remote *rm, int rc) {
  return hc_discovery_error(rm->d) ? hc_discovery_error_message(rm->d) : hc_strerror(rc);
}

/* How long a peer that says the first core is empty is believed when no other peer says
 * otherwise: a peer on the topic may be an empty replica (a reader that announces), so one
 * that holds data is given a moment to answer too. */
#define SWARM_EMPTY_GRACE_MS 2000

typedef struct swarm_wait {
  remote *rm;
  hc_core *core;
  bool grace;          /* the first core: an empty answer waits SWARM_EMPTY_GRACE_MS */
  uint64_t empty_since; /* when a peer first said length 0 (0: none yet) */
} swarm_wait;

/* A connected peer has the core open and we hold its length. */
static bool swarm_synced(void *user, hc_discovery *d) {
  swarm_wait *w = user;
  uint64_t fork, length;
  for (size_t i = 0; i < w->rm->npeers; i++) {
    if (!hc_replicator_remote_info(w->rm->peers[i], w->core, &fork, &length)) continue;
    if (length == 0 && w->grace) {
      if (!w->empty_since) w->empty_since = hc_net_now_ms();
      if (hc_net_now_ms() - w->empty_since < SWARM_EMPTY_GRACE_MS) continue;
    }
    if (hc_core_length(w->core) >= length) return true;
  }
  return false;
}

/* Joins the first core's discovery key (look-up only) and waits for a peer that has it. */
static int swarm_add_core(remote *rm, hc_core *core) {
  int rc;
  for (size_t i = 0; i < rm->npeers; i++)
    if ((rc = swarm_peer_add_core(rm, rm->peers[i], core))) return fail("swarm: %s", hc_strerror(rc));
  swarm_wait w = {rm, core, !rm->joined, 0};
  if (!rm->joined) {
    if ((rc = hc_discovery_join(rm->d, hc_core_discovery_key(core), HC_DISCOVERY_CLIENT)))
      return fail("swarm: join: %s", hc_strerror(rc));
    rm->joined = true;
  }
  rc = hc_discovery_run(rm->d, rm->timeout_ms, swarm_synced, &w);
  if (rc == HC_OK) return 0;
  char hex[2 * HC_KEY_BYTES + 1];
  hc_hex_encode(hex, hc_core_key(core), HC_KEY_BYTES);
  if (rc != HC_ERR_TIMEOUT) return fail("swarm: %s", swarm_error(rm, rc));
  if (!rm->have_peer)
    return fail("no peer serving %s was found on the swarm within %.1f s (--timeout MS)", hex,
                rm->timeout_ms / 1000.0);
  return fail("no peer on the swarm sent the length of %s within %.1f s (--timeout MS)", hex,
              rm->timeout_ms / 1000.0);
}

static bool swarm_has_block(void *user, hc_discovery *d) {
  remote *rm = user;
  return hc_core_has(rm->want_core, rm->want_index, rm->want_index + 1);
}

/* Asks every peer for the block and waits for the first verified copy. A peer that fails
 * the ask is closing (its replicator failed): the others, and peers that connect while we
 * wait, are asked all the same. */
static int swarm_get_block(remote *rm, hc_core *core, uint64_t index) {
  rm->want_core = core;
  rm->want_index = index;
  for (size_t i = 0; i < rm->npeers; i++) hc_replicator_download(rm->peers[i], core, index, index + 1);
  int rc = hc_discovery_run(rm->d, rm->timeout_ms, swarm_has_block, rm);
  rm->want_core = NULL;
  if (rc && rc != HC_ERR_TIMEOUT)
    fprintf(stderr, "hypercore: %s: swarm: %s\n", cur_cmd, swarm_error(rm, rc));
  return rc;
}

/* ---- both ---- */

static int remote_get_block(void *user, hc_core *core, uint64_t index, uint8_t **out,
                            size_t *len) {
  remote *rm = user;
  if (hc_core_has(core, index, index + 1)) return hc_core_get_alloc(core, index, out, len);
  if (index >= hc_core_length(core)) return HC_ERR_OUT_OF_RANGE;
  if (rm->swarm) {
    int rc = swarm_get_block(rm, core, index);
    return rc ? rc : hc_core_get_alloc(core, index, out, len);
  }
  if (!rm->r) return rm->conn_err ? rm->conn_err : HC_ERR_CLOSED;
  return hc_net_get(rm->net, rm->r, core, index, rm->timeout_ms, out, len);
}

/* Asks for blocks [start, end) of core at once, so a file's blocks come pipelined instead of
 * one round trip each (the reads then find them, or wait for them as usual). --swarm: of one
 * peer that has the core (the per-block asks still go to every peer). Best effort. */
static void remote_prefetch(remote *rm, hc_core *core, uint64_t start, uint64_t end) {
  if (end > hc_core_length(core)) end = hc_core_length(core);
  if (start >= end || hc_core_has(core, start, end)) return;
  if (!rm->swarm) {
    if (rm->r) hc_replicator_download(rm->r, core, start, end);
    return;
  }
  uint64_t fork, length;
  for (size_t i = 0; i < rm->npeers; i++)
    if (hc_replicator_remote_info(rm->peers[i], core, &fork, &length) && length >= end) {
      hc_replicator_download(rm->peers[i], core, start, end);
      return;
    }
}

typedef struct synced_wait {
  remote *rm;
  hc_core *core;
} synced_wait;

static bool synced(void *user, hc_net *net) {
  synced_wait *w = user;
  if (!w->rm->r) return true;
  uint64_t fork, length;
  if (!hc_replicator_remote_info(w->rm->r, w->core, &fork, &length)) return false;
  return hc_core_length(w->core) >= length;
}

/* Opens a core for key in memory and waits for the remote's length. Returns an exit status
 * (the message printed). */
static int remote_add_core(remote *rm, const uint8_t key[HC_KEY_BYTES], const char *what,
                           hc_core **out) {
  int i = rm->ncores;
  if (i >= 2) return fail("%s", hc_strerror(HC_ERR_INVALID_ARG));
  int rc = hc_storage_memory_factory_new(&rm->factory[i]);
  if (rc) return fail("%s", hc_strerror(rc));
  hc_core_opts o = {.version = HC_CORE_OPTS_VERSION, .key = key};
  if ((rc = hc_core_open(&rm->cores[i], rm->factory[i], &o))) return fail("%s", hc_strerror(rc));
  rm->ncores++;
  if (rm->swarm) {
    int ret = swarm_add_core(rm, rm->cores[i]);
    if (ret) return ret;
    *out = rm->cores[i];
    return 0;
  }
  if (!rm->r) rc = rm->conn_err ? rm->conn_err : HC_ERR_CLOSED;
  if (!rc) rc = hc_replicator_add_core(rm->r, rm->cores[i]);
  /* follow the remote's length (upgrades only: blocks come when read) */
  if (!rc) rc = hc_replicator_set_live(rm->r, rm->cores[i], true);
  synced_wait w = {rm, rm->cores[i]};
  if (!rc) rc = hc_net_run(rm->net, rm->timeout_ms, synced, &w);
  if (rc == HC_OK && !rm->r) rc = rm->conn_err;
  if (rc) return rc == HC_ERR_NOT_FOUND ? fail("not found") : fail("%s: %s", what, hc_strerror(rc));
  *out = rm->cores[i];
  return 0;
}

/* --connect HOST:PORT or --swarm [--bootstrap LIST]; --timeout MS (default 30000): per block,
 * and with --swarm also to find a peer. */
static int remote_open(remote *rm, const char *connect, bool swarm, const char *bootstrap,
                       const char *timeout, bool verbose) {
  memset(rm, 0, sizeof(*rm));
  uint64_t t = 30000;
  if (timeout && !parse_u64(timeout, &t)) return usage("--timeout must be milliseconds");
  rm->timeout_ms = t > 0x7fffffff ? 0x7fffffff : (int)t;
  rm->verbose = verbose;
  if (swarm) {
    rm->swarm = true;
    rm->started = hc_net_now_ms();
    return swarm_start(rm, bootstrap);
  }
  const char *spec = connect;
  const char *colon = strrchr(spec, ':');
  uint64_t port;
  char host[256];
  if (!colon || !parse_u64(colon + 1, &port) || port > 65535 || (size_t)(colon - spec) >= sizeof host)
    return usage("expected HOST:PORT, got '%s'", spec);
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = 0;
  if (!*host) strcpy(host, "127.0.0.1");
  if (hc_net_new(&rm->net, remote_on_close, rm)) return fail("%s", hc_strerror(HC_ERR_NOMEM));
  hc_replicator_opts ro = {.version = HC_REPLICATOR_OPTS_VERSION, .is_initiator = true};
  hc_replicator_callbacks cb = HC_REPLICATOR_CALLBACKS_INIT;
  cb.on_download = remote_on_download;
  int nrc = hc_replicator_new(&rm->r, &ro, &cb, rm);
  if (nrc) return fail("%s", hc_strerror(nrc));
  int rc = hc_net_connect(rm->net, host, (uint16_t)port, rm->r);
  if (rc) {
    rm->r = NULL;
    return fail("cannot connect to %s: %s", spec, hc_strerror(rc));
  }
  return 0;
}

static void remote_close(remote *rm, bool stats) {
  if (stats && rm->ncores)
    fprintf(stderr, "fetched %" PRIu64 " blocks of the db core (length %" PRIu64 ")%s",
            rm->fetched[0], rm->cores[0] ? hc_core_length(rm->cores[0]) : 0,
            rm->ncores > 1 ? "" : "\n");
  if (stats && rm->ncores > 1)
    fprintf(stderr, ", %" PRIu64 " of the blobs core (length %" PRIu64 ")\n", rm->fetched[1],
            hc_core_length(rm->cores[1]));
  if (stats && rm->swarm && rm->have_peer)
    fprintf(stderr, "swarm: first peer after %" PRIu64 " ms, done after %" PRIu64 " ms\n",
            rm->first_peer_ms, hc_net_now_ms() - rm->started);
  hc_net_free(rm->net); /* frees the replicator */
  hc_discovery_free(rm->d); /* closes the connections, stops the helper */
  for (int i = 0; i < rm->ncores; i++) hc_core_close(rm->cores[i]);
  for (int i = 0; i < 2; i++)
    if (rm->factory[i]) hc_storage_factory_free(rm->factory[i]);
}

/* The remote options go together: --connect or --swarm (not both), read-only; --bootstrap
 * with --swarm. */
static int remote_args(const args *a, bool write) {
  if (a->connect && a->swarm) return usage("--connect and --swarm exclude each other");
  if (a->bootstrap && !a->swarm) return usage("--bootstrap goes with --swarm");
  if ((a->connect || a->swarm) && write) return usage("%s reads only", a->swarm ? "--swarm" : "--connect");
  return 0;
}

static const char *remote_flag(const args *a) { return a->swarm ? "--swarm" : "--connect"; }
static const char *remote_what(const args *a) { return a->swarm ? "swarm" : a->connect; }

/* ---------------------------------------------------------------- bee ---- */

static int err_rc(const char *what, int rc) {
  if (rc == HC_ERR_NOT_FOUND) return fail("not found");
  return fail("%s: %s", what, hc_strerror(rc));
}

typedef struct bee_ctx {
  void *held; /* the store of a STORE:... DIR (tools/cmd_store.c) */
  hc_core *core;
  hc_bee *bee, *view; /* view: checkout and/or sub of bee (or bee itself) */
  remote rm;
  bool is_remote;
} bee_ctx;

static int bee_setup(const args *a, bee_ctx *bc, bool write) {
  memset(bc, 0, sizeof(*bc));
  int rc, ret;
  hc_bee_opts bo = {.version = HC_BEE_OPTS_VERSION};
  if ((ret = remote_args(a, write))) return ret;
  if (a->connect || a->swarm) {
    uint8_t key[HC_KEY_BYTES];
    if (hc_id_decode(key, a->pos[0]) != HC_OK)
      return usage("with %s give the bee's KEY (64 hex or z-base-32), got '%s'", remote_flag(a),
                   a->pos[0]);
    bc->is_remote = true; /* teardown frees what remote_open made, also on failure */
    if ((ret = remote_open(&bc->rm, a->connect, a->swarm, a->bootstrap, a->timeout, a->stats)))
      return ret;
    if ((ret = remote_add_core(&bc->rm, key, remote_what(a), &bc->core))) return ret;
    bo.get_block = remote_get_block;
    bo.get_block_user = &bc->rm;
  } else {
    /* DIR, or a core of a store: STORE:name/NAME, STORE:key/KEY, ... */
    char *path = NULL;
    if ((ret = hc_cli_resolve("bee", a->pos[0], write, false, &path, &bc->held))) return ret;
    const char *dir = path ? path : a->pos[0];
    struct stat st;
    if (!path && write && stat(dir, &st) < 0 && mkdir(dir, 0755) < 0) {
      ret = fail("cannot create %s: %s", dir, strerror(errno));
    } else if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
      ret = fail("no core at %s", a->pos[0]);
    } else {
      hc_core_opts o = {.version = HC_CORE_OPTS_VERSION, .no_create = !write || path, .readonly = !write};
      if ((rc = hc_core_open_dir(&bc->core, dir, &o))) ret = err_rc(a->pos[0], rc);
    }
    free(path);
    if (ret) return ret;
  }
  if ((rc = hc_bee_open(&bc->bee, bc->core, &bo))) return err_rc(a->pos[0], rc);
  bc->view = bc->bee;
  if (a->checkout) {
    uint64_t v;
    if (!parse_u64(a->checkout, &v)) return usage("--checkout must be a version");
    if (write) return usage("--checkout is read-only");
    hc_bee *c;
    if ((rc = hc_bee_checkout(bc->view, v, &c))) return err_rc("checkout", rc);
    bc->view = c;
  }
  if (a->subp) {
    uint8_t *p;
    size_t pl;
    if ((ret = arg_bytes(a, "--sub", a->subp, &p, &pl))) return ret;
    hc_bee *s;
    rc = hc_bee_sub(bc->view, p, pl, NULL, 0, &s);
    free(p);
    if (rc) return err_rc("sub", rc);
    if (bc->view != bc->bee) hc_bee_close(bc->view);
    bc->view = s;
  }
  return 0;
}

static void bee_teardown(const args *a, bee_ctx *bc) {
  if (bc->view != bc->bee) hc_bee_close(bc->view);
  hc_bee_close(bc->bee);
  if (bc->is_remote) {
    remote_close(&bc->rm, a->stats);
  } else {
    hc_core_close(bc->core);
    if (bc->held) hc_cli_release(bc->held);
  }
}

static int finish(int ret) {
  if (fflush(stdout) != 0 && !ret) return fail("writing to stdout: %s", strerror(errno));
  return ret;
}

static int bee_get(const args *a, bee_ctx *bc) {
  if (a->npos != 2) return usage("expected DIR KEY");
  uint8_t *k;
  size_t kl;
  int ret = arg_bytes(a, "KEY", a->pos[1], &k, &kl);
  if (ret) return ret;
  hc_bee_entry *e;
  int rc = hc_bee_get(bc->view, k, kl, &e);
  free(k);
  if (rc) return err_rc("get", rc);
  if (a->json) print_entry(a, e, false);
  else if (a->hex) {
    put_hex(stdout, e->value, e->value_len);
    fputc('\n', stdout);
  } else if (e->value_len) {
    fwrite(e->value, 1, e->value_len, stdout);
  }
  hc_bee_entry_free(e);
  return 0;
}

static int bee_range(const args *a, hc_bee_range *r, uint8_t *bufs[4]) {
  memset(r, 0, sizeof(*r));
  r->version = HC_BEE_RANGE_VERSION;
  r->reverse = a->reverse;
  if (a->limit && !parse_u64(a->limit, &r->limit)) return usage("--limit must be a number");
  if (a->limit && r->limit == 0) r->limit = UINT64_MAX; /* handled by the caller */
  const char *src[4] = {a->gt, a->gte, a->lt, a->lte};
  const uint8_t **dst[4] = {&r->gt, &r->gte, &r->lt, &r->lte};
  size_t *lens[4] = {&r->gt_len, &r->gte_len, &r->lt_len, &r->lte_len};
  for (int i = 0; i < 4; i++) {
    if (!src[i]) continue;
    int ret = arg_bytes(a, "a bound", src[i], &bufs[i], lens[i]);
    if (ret) return ret;
    *dst[i] = bufs[i];
  }
  return 0;
}

static int bee_ls(const args *a, bee_ctx *bc, bool peek) {
  if (a->npos != 1) return usage("expected DIR");
  hc_bee_range r;
  uint8_t *bufs[4] = {0};
  int ret = bee_range(a, &r, bufs);
  bool none = a->limit && r.limit == UINT64_MAX;
  if (peek) r.limit = 1;
  hc_bee_iter *it = NULL;
  int rc = ret || none ? HC_OK : hc_bee_iter_new(bc->view, &r, &it);
  if (rc) ret = err_rc("range", rc);
  while (!ret && it) {
    hc_bee_entry *e;
    rc = hc_bee_iter_next(it, &e);
    if (rc == HC_ERR_NOT_FOUND) {
      if (peek && !a->json) ret = fail("not found");
      break;
    }
    if (rc) {
      ret = err_rc("range", rc);
      break;
    }
    print_entry(a, e, false);
    hc_bee_entry_free(e);
    if (peek) break;
  }
  hc_bee_iter_free(it);
  for (int i = 0; i < 4; i++) free(bufs[i]);
  return ret;
}

static int bee_history(const args *a, bee_ctx *bc) {
  uint64_t gte = 0, lt = 0, limit = 0;
  if ((a->gte && !parse_u64(a->gte, &gte)) || (a->lt && !parse_u64(a->lt, &lt)) ||
      (a->limit && !parse_u64(a->limit, &limit)))
    return usage("history takes --gte SEQ --lt SEQ --limit N (numbers)");
  if (a->gt || a->lte) return usage("history takes --gte and --lt");
  hc_bee_iter *it;
  int rc = hc_bee_history_new(bc->view, gte, lt, a->reverse, limit, &it);
  if (rc) return err_rc("history", rc);
  int ret = 0;
  for (;;) {
    hc_bee_entry *e;
    rc = hc_bee_iter_next(it, &e);
    if (rc == HC_ERR_NOT_FOUND) break;
    if (rc) {
      ret = err_rc("history", rc);
      break;
    }
    print_entry(a, e, true);
    hc_bee_entry_free(e);
  }
  hc_bee_iter_free(it);
  return ret;
}

static int bee_write(const args *a, bee_ctx *bc, bool del) {
  if (a->npos != (del ? 2 : 3)) return usage(del ? "expected DIR KEY" : "expected DIR KEY VALUE");
  uint8_t *k, *v = NULL;
  size_t kl, vl = 0;
  int ret = arg_bytes(a, "KEY", a->pos[1], &k, &kl);
  if (ret) return ret;
  if (!del && (ret = arg_bytes(a, "VALUE", a->pos[2], &v, &vl))) {
    free(k);
    return ret;
  }
  uint64_t version = hc_bee_version(bc->view);
  int rc = del ? hc_bee_del(bc->view, k, kl, &version) : hc_bee_put(bc->view, k, kl, v, vl, &version);
  free(k);
  free(v);
  if (rc) return err_rc(del ? "del" : "put", rc);
  printf("%" PRIu64 "\n", version);
  return 0;
}

/* `bee apply DIR`: stdin lines "put HEXKEY HEXVALUE" (no HEXVALUE: empty; "-": null),
 * "del HEXKEY", "batch" (start a batch) and "flush" (append it); outside a batch each
 * operation is its own append. Prints the final version. */
static int bee_apply(const args *a, bee_ctx *bc) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  hc_bee_batch *b = NULL;
  int ret = 0, rc = HC_OK;
  uint64_t lineno = 0;
  while (!ret && (n = getline(&line, &cap, stdin)) >= 0) {
    lineno++;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (!n) continue;
    char *op = strtok(line, " "), *ks = strtok(NULL, " "), *vs = strtok(NULL, " ");
    if (strcmp(op, "batch") == 0) {
      if (!b && (rc = hc_bee_batch_new(bc->view, &b))) break;
      continue;
    }
    if (strcmp(op, "flush") == 0) {
      if (b && (rc = hc_bee_batch_flush(b, NULL))) break;
      hc_bee_batch_free(b);
      b = NULL;
      continue;
    }
    bool del = strcmp(op, "del") == 0;
    if ((!del && strcmp(op, "put") != 0) || !ks || (del && vs)) {
      ret = usage("stdin line %" PRIu64 ": expected 'put HEXKEY [HEXVALUE|-]', 'del HEXKEY', 'batch' or 'flush'", lineno);
      break;
    }
    bool null_value = vs && strcmp(vs, "-") == 0;
    if (null_value) vs = NULL;
    size_t kl = strlen(ks) / 2, vl = vs ? strlen(vs) / 2 : 0;
    uint8_t *k = malloc(kl + 1), *v = malloc(vl + 1);
    if (!k || !v || (kl && hc_hex_decode(k, kl, ks)) || (vl && hc_hex_decode(v, vl, vs)) ||
        strlen(ks) % 2 || (vs && strlen(vs) % 2)) {
      free(k);
      free(v);
      ret = usage("stdin line %" PRIu64 ": bad hex", lineno);
      break;
    }
    if (b) rc = del ? hc_bee_batch_del(b, k, kl) : hc_bee_batch_put(b, k, kl, null_value ? NULL : v, vl);
    else rc = del ? hc_bee_del(bc->view, k, kl, NULL) : hc_bee_put(bc->view, k, kl, null_value ? NULL : v, vl, NULL);
    free(k);
    free(v);
    if (rc) break;
  }
  if (!ret && !rc && b) rc = hc_bee_batch_flush(b, NULL);
  hc_bee_batch_free(b);
  free(line);
  if (!ret && rc) ret = err_rc("apply", rc);
  if (!ret) printf("%" PRIu64 "\n", hc_bee_version(bc->view));
  return ret;
}

/* Parses HEX into a new buffer (NULL on bad hex). */
static uint8_t *hex_arg(const char *s, size_t *len) {
  size_t n = strlen(s);
  if (n % 2) return NULL;
  uint8_t *b = malloc(n / 2 + 1);
  if (b && n && hc_hex_decode(b, n / 2, s) != HC_OK) {
    free(b);
    return NULL;
  }
  *len = n / 2;
  return b;
}

static void query_entry(const hc_bee_entry *e, bool history) {
  if (history) printf("%s %" PRIu64 " ", e->deleted ? "del" : "put", e->seq);
  put_hex(stdout, e->key, e->key_len);
  fputc(' ', stdout);
  if (e->has_value) put_hex(stdout, e->value, e->value_len);
  else fputc('-', stdout);
  fputc('\n', stdout);
}

/* One query line of `bee query`: "get HEXKEY", "range [gt=HEX] [gte=HEX] [lt=HEX] [lte=HEX]
 * [reverse] [limit=N]", "history [gte=N] [lt=N] [reverse] [limit=N]", each optionally with
 * version=N (a checkout) and sub=HEX (a sub). Answers: one line per entry ("HEXKEY HEXVALUE",
 * '-' for a null value; history: "put|del SEQ HEXKEY HEXVALUE"), then ".", or "! ERROR". */
static int query_line(bee_ctx *bc, char *line) {
  char *save = NULL, *op = strtok_r(line, " ", &save), *tok;
  if (!op) return 0;
  hc_bee_range r = {.version = HC_BEE_RANGE_VERSION};
  uint8_t *bufs[6] = {0};
  uint64_t version = 0, hgte = 0, hlt = 0, limit = 0;
  const char *key = NULL;
  int rc = HC_OK;
  hc_bee *view = bc->view, *tmp = NULL;
  while ((tok = strtok_r(NULL, " ", &save))) {
    char *eq = strchr(tok, '=');
    const char *v = eq ? eq + 1 : "";
    if (eq) *eq = 0;
    size_t l;
    if (strcmp(tok, "reverse") == 0) r.reverse = true;
    else if (strcmp(tok, "limit") == 0) parse_u64(v, &limit);
    else if (strcmp(tok, "version") == 0) parse_u64(v, &version);
    else if (strcmp(op, "history") == 0 && strcmp(tok, "gte") == 0) parse_u64(v, &hgte);
    else if (strcmp(op, "history") == 0 && strcmp(tok, "lt") == 0) parse_u64(v, &hlt);
    else if (strcmp(tok, "gt") == 0 && (bufs[0] = hex_arg(v, &l))) r.gt = bufs[0], r.gt_len = l;
    else if (strcmp(tok, "gte") == 0 && (bufs[1] = hex_arg(v, &l))) r.gte = bufs[1], r.gte_len = l;
    else if (strcmp(tok, "lt") == 0 && (bufs[2] = hex_arg(v, &l))) r.lt = bufs[2], r.lt_len = l;
    else if (strcmp(tok, "lte") == 0 && (bufs[3] = hex_arg(v, &l))) r.lte = bufs[3], r.lte_len = l;
    else if (strcmp(tok, "sub") == 0 && (bufs[4] = hex_arg(v, &l))) {
      hc_bee *s;
      if ((rc = hc_bee_sub(view, bufs[4], l, NULL, 0, &s))) break;
      hc_bee_close(tmp);
      view = tmp = s;
    } else if (!eq && !key) key = tok;
    else rc = HC_ERR_INVALID_ARG;
  }
  if (rc == HC_OK && version) {
    hc_bee *c;
    if ((rc = hc_bee_checkout(view, version, &c)) == HC_OK) {
      hc_bee_close(tmp);
      view = tmp = c;
    }
  }
  r.limit = limit;
  if (rc == HC_OK && strcmp(op, "get") == 0) {
    size_t kl = 0;
    uint8_t *k = key ? hex_arg(key, &kl) : NULL;
    if (!k) rc = HC_ERR_INVALID_ARG;
    hc_bee_entry *e = NULL;
    if (k) rc = hc_bee_get(view, k, kl, &e);
    free(k);
    if (rc == HC_OK) query_entry(e, false);
    if (rc == HC_ERR_NOT_FOUND) rc = HC_OK;
    hc_bee_entry_free(e);
  } else if (rc == HC_OK && (strcmp(op, "range") == 0 || strcmp(op, "history") == 0)) {
    bool hist = op[0] == 'h';
    hc_bee_iter *it = NULL;
    rc = hist ? hc_bee_history_new(view, hgte, hlt, r.reverse, limit, &it)
              : hc_bee_iter_new(view, &r, &it);
    while (rc == HC_OK) {
      hc_bee_entry *e;
      rc = hc_bee_iter_next(it, &e);
      if (rc) break;
      query_entry(e, hist);
      hc_bee_entry_free(e);
    }
    if (rc == HC_ERR_NOT_FOUND) rc = HC_OK;
    if (it) hc_bee_iter_free(it);
  } else if (rc == HC_OK) {
    rc = HC_ERR_INVALID_ARG;
  }
  hc_bee_close(tmp);
  for (int i = 0; i < 6; i++) free(bufs[i]);
  if (rc) printf("! %s\n", hc_strerror(rc));
  else printf(".\n");
  return 0;
}

static int bee_query(const args *a, bee_ctx *bc) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    query_line(bc, line);
  }
  free(line);
  return 0;
}

static const char bee_help[] =
    "usage: hypercore bee COMMAND DIR [ARGS...] [OPTIONS]\n\n"
    "Hyperbee (hyperbee 2.x) in the core at DIR (or a core of a store: STORE:name/NAME,\n"
    "STORE:key/KEY, ...). Keys and values are utf-8 arguments, or hex with --hex (output too).\n\n"
    "  get DIR KEY             the value, raw, to stdout (exit 1 \"not found\" when absent)\n"
    "  put DIR KEY VALUE       puts, prints the new version (creates DIR's core if missing)\n"
    "  del DIR KEY             deletes, prints the version\n"
    "  ls DIR                  one \"KEY VALUE\" per line in key order; --json: {\"key\",\"value\"}\n"
    "                          per line; --gt K --gte K --lt K --lte K --reverse --limit N\n"
    "  peek DIR                the first entry of the range (options as ls)\n"
    "  version DIR             the bee's version (the core's length, at least 1)\n"
    "  history DIR             \"put|del SEQ KEY [VALUE]\" per block; --gte SEQ --lt SEQ\n"
    "                          --reverse --limit N --json\n"
    "  apply DIR               operations from stdin, one per line: \"put HEXKEY [HEXVALUE]\"\n"
    "                          (no value: empty, '-': null), \"del HEXKEY\", \"batch\" ...\n"
    "                          \"flush\" (one append); prints the version\n"
    "  query DIR               read queries from stdin, one per line (hex keys): \"get KEY\",\n"
    "                          \"range [gt=K] [gte=K] [lt=K] [lte=K] [reverse] [limit=N]\",\n"
    "                          \"history [gte=N] [lt=N] [reverse] [limit=N]\", each with optional\n"
    "                          version=N and sub=HEX; answers \"KEY VALUE\" lines ('-': null\n"
    "                          value; history: \"put|del SEQ KEY VALUE\") then \".\" (\"! ERROR\")\n\n"
    "Options: --checkout VERSION (read as of VERSION), --sub PREFIX (keys under PREFIX + 0x00),\n"
    "--connect HOST:PORT (DIR is then the bee's KEY: read from that peer, fetching only the\n"
    "blocks on the way, kept in memory), --swarm [--bootstrap HOST:PORT,...] (DIR is the bee's\n"
    "KEY: read from the peers found on the Hyperswarm DHT by its discovery key, as --connect;\n"
    "default bootstrap: the public DHT; needs Node.js and helper/swarm), --timeout MS (default\n"
    "30000: per block, and with --swarm to find a peer: exit 1 \"no peer serving KEY was found\"),\n"
    "--stats (blocks fetched, to stderr; with --swarm also the connections).\n";

int hc_cmd_bee(int argc, char **argv) {
  args a;
  memset(&a, 0, sizeof(a));
  cur_cmd = "bee";
  if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    fputs(bee_help, argc < 1 ? stderr : stdout);
    return argc < 1 ? EXIT_USAGE : 0;
  }
  a.sub = argv[0];
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0) {
      fputs(bee_help, stdout);
      return 0;
    }
  int ret = parse(&a, argc - 1, argv + 1);
  if (ret) return ret;
  if (a.npos < 1) return usage("missing DIR");
  const char *s = a.sub;
  bool write = strcmp(s, "put") == 0 || strcmp(s, "del") == 0 || strcmp(s, "apply") == 0;
  if (!write && strcmp(s, "get") && strcmp(s, "ls") && strcmp(s, "peek") &&
      strcmp(s, "version") && strcmp(s, "history") && strcmp(s, "query"))
    return usage("unknown bee command '%s'", s);
  bee_ctx bc;
  ret = bee_setup(&a, &bc, write);
  if (!ret) {
    if (strcmp(s, "get") == 0) ret = bee_get(&a, &bc);
    else if (strcmp(s, "ls") == 0) ret = bee_ls(&a, &bc, false);
    else if (strcmp(s, "peek") == 0) ret = bee_ls(&a, &bc, true);
    else if (strcmp(s, "history") == 0) ret = bee_history(&a, &bc);
    else if (strcmp(s, "version") == 0) printf("%" PRIu64 "\n", hc_bee_version(bc.view));
    else if (strcmp(s, "apply") == 0) ret = bee_apply(&a, &bc);
    else if (strcmp(s, "query") == 0) ret = bee_query(&a, &bc);
    else ret = bee_write(&a, &bc, strcmp(s, "del") == 0);
  }
  bee_teardown(&a, &bc);
  return finish(ret);
}

/* ---------------------------------------------------------------- drive ---- */

typedef struct drive_ctx {
  hc_store *store;
  hc_core *db, *blobs;
  hc_drive *drive;
  remote rm;
  bool is_remote;
  int first_arg; /* index of the first argument after STORE KEY (or KEY) */
} drive_ctx;

static int open_store(const char *dir, bool write, bool create, hc_store **out) {
  hc_store_opts so = {.version = HC_STORE_OPTS_VERSION, .readonly = !write, .create = create};
  int rc = hc_store_open(out, dir, &so);
  if (rc == HC_ERR_NOT_FOUND) return fail("no store at %s", dir);
  if (rc) return fail("%s: %s", dir, hc_strerror(rc));
  return 0;
}

static int store_core(drive_ctx *dc, const char *store, const uint8_t key[HC_KEY_BYTES],
                      hc_core **out) {
  int rc = hc_store_get_key(dc->store, key, false, out);
  char hex[2 * HC_KEY_BYTES + 1];
  hc_hex_encode(hex, key, HC_KEY_BYTES);
  if (rc == HC_ERR_NOT_FOUND) return fail("no core %s in the store %s", hex, store);
  if (rc) return fail("core %s: %s", hex, hc_strerror(rc));
  return 0;
}

static int drive_setup(const args *a, drive_ctx *dc, bool write) {
  memset(dc, 0, sizeof(*dc));
  uint8_t key[HC_KEY_BYTES], bkey[HC_KEY_BYTES];
  int rc, ret;
  hc_drive_opts o = {.version = HC_DRIVE_OPTS_VERSION};
  if ((ret = remote_args(a, write))) return ret;
  if (a->connect || a->swarm) {
    if (a->npos < 1 || hc_id_decode(key, a->pos[0]) != HC_OK)
      return usage("with %s give the drive's KEY first (64 hex or z-base-32)", remote_flag(a));
    dc->first_arg = 1;
    dc->is_remote = true;
    if ((ret = remote_open(&dc->rm, a->connect, a->swarm, a->bootstrap, a->timeout, a->stats)))
      return ret;
    if ((ret = remote_add_core(&dc->rm, key, remote_what(a), &dc->db))) return ret;
    o.get_block = remote_get_block;
    o.get_block_user = &dc->rm;
    if ((rc = hc_drive_content_key(dc->db, &o, bkey))) return err_rc("the drive's header", rc);
    if ((ret = remote_add_core(&dc->rm, bkey, "blobs core", &dc->blobs))) return ret;
  } else {
    if (a->npos < 2 || hc_id_decode(key, a->pos[1]) != HC_OK)
      return usage("expected STORE DRIVE_KEY (64 hex or z-base-32)");
    dc->first_arg = 2;
    if ((ret = open_store(a->pos[0], write, false, &dc->store))) return ret;
    if ((ret = store_core(dc, a->pos[0], key, &dc->db))) return ret;
    rc = hc_drive_content_key(dc->db, &o, bkey);
    if (rc) return err_rc("the drive's header", rc);
    if ((ret = store_core(dc, a->pos[0], bkey, &dc->blobs))) return ret;
  }
  if ((rc = hc_drive_open(&dc->drive, dc->db, dc->blobs, &o))) return err_rc("open", rc);
  return 0;
}

static void drive_teardown(const args *a, drive_ctx *dc) {
  hc_drive_close(dc->drive);
  if (dc->is_remote) {
    remote_close(&dc->rm, a->stats);
  } else if (dc->store) {
    if (dc->blobs) hc_store_release(dc->store, dc->blobs);
    if (dc->db) hc_store_release(dc->store, dc->db);
    hc_store_close(dc->store);
  }
}

static int out_cb(void *user, const uint8_t *data, size_t len) {
  return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

static int drive_cat(const args *a, drive_ctx *dc) {
  if (a->npos != dc->first_arg + 1) return usage("expected PATH");
  uint64_t start = 0, length = UINT64_MAX;
  if ((a->start && !parse_u64(a->start, &start)) || (a->length && !parse_u64(a->length, &length)))
    return usage("--start and --length take byte counts");
  hc_drive_entry *e;
  int rc = hc_drive_entry_get(dc->drive, a->pos[dc->first_arg], &e);
  if (rc) return err_rc(a->pos[dc->first_arg], rc);
  if (e->linkname && !e->has_blob) {
    hc_drive_entry_free(e);
    return fail("%s is a symlink", a->pos[dc->first_arg]);
  }
  /* the whole file of a remote drive: ask for all its blobs blocks at once */
  if (dc->is_remote && e->has_blob && !e->block_map && start == 0 && length >= e->byte_length)
    remote_prefetch(&dc->rm, dc->blobs, e->block_offset, e->block_offset + e->block_length);
  rc = hc_drive_read(dc->drive, e, start, length, out_cb, NULL);
  hc_drive_entry_free(e);
  if (rc == HC_ERR_CALLBACK) return fail("writing to stdout: %s", strerror(errno));
  if (rc) return err_rc("read", rc);
  return 0;
}

static void print_drive_entry_json(const hc_drive_entry *e) {
  fputs("{\"path\":", stdout);
  put_json_str(stdout, (const uint8_t *)e->path, strlen(e->path));
  printf(",\"seq\":%" PRIu64 ",\"executable\":%s,\"linkname\":", e->seq,
         e->executable ? "true" : "false");
  if (e->linkname) put_json_str(stdout, (const uint8_t *)e->linkname, strlen(e->linkname));
  else fputs("null", stdout);
  if (e->has_blob)
    printf(",\"blob\":{\"blockOffset\":%" PRIu64 ",\"byteOffset\":%" PRIu64
           ",\"blockLength\":%" PRIu64 ",\"byteLength\":%" PRIu64 "%s}",
           e->block_offset, e->byte_offset, e->block_length, e->byte_length,
           e->block_map ? ",\"blockMap\":true" : "");
  else fputs(",\"blob\":null", stdout);
  printf(",\"metadata\":%s}\n", e->metadata);
}

static int drive_ls(const args *a, drive_ctx *dc) {
  if (a->npos > dc->first_arg + 1) return usage("expected at most one PATH");
  const char *folder = a->npos > dc->first_arg ? a->pos[dc->first_arg] : "/";
  hc_drive_iter *it;
  int rc = hc_drive_list(dc->drive, folder, a->recursive, &it);
  if (rc) return err_rc("list", rc);
  int ret = 0;
  char *f = hc_drive_normalize(folder);
  for (;;) {
    hc_drive_entry *e;
    const char *name;
    bool is_dir;
    rc = hc_drive_list_next(it, &e, &name, &is_dir);
    if (rc == HC_ERR_NOT_FOUND) break;
    if (rc) {
      ret = err_rc("list", rc);
      break;
    }
    if (a->json) {
      print_drive_entry_json(e);
    } else if (a->recursive) {
      printf("%s\n", e->path);
    } else {
      printf("%s%s%s%s\n", f && strcmp(f, "/") ? f : "", "/", name, is_dir ? "/" : "");
    }
    hc_drive_entry_free(e);
  }
  free(f);
  hc_drive_list_free(it);
  return ret;
}

static int drive_stat(const args *a, drive_ctx *dc) {
  if (a->npos != dc->first_arg + 1) return usage("expected PATH");
  hc_drive_entry *e;
  int rc = hc_drive_entry_get(dc->drive, a->pos[dc->first_arg], &e);
  if (rc) return err_rc(a->pos[dc->first_arg], rc);
  print_drive_entry_json(e);
  hc_drive_entry_free(e);
  return 0;
}

typedef struct fd_src {
  int fd;
} fd_src;

static int fd_read(void *user, uint8_t *buf, size_t cap, size_t *got) {
  fd_src *s = user;
  for (;;) {
    ssize_t n = read(s->fd, buf, cap);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    *got = (size_t)n;
    return 0;
  }
}

static int put_file(drive_ctx *dc, const char *path, const char *file, bool executable) {
  int fd = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY);
  if (fd < 0) return fail("%s: %s", file, strerror(errno));
  fd_src s = {fd};
  int rc = hc_drive_put_stream(dc->drive, path, fd_read, &s, executable, NULL);
  if (fd) close(fd);
  if (rc) return fail("put %s: %s", path, hc_strerror(rc));
  return 0;
}

typedef struct cmp_src {
  int fd;
  bool same;
} cmp_src;

static int cmp_cb(void *user, const uint8_t *data, size_t len) {
  cmp_src *c = user;
  uint8_t buf[65536];
  size_t off = 0;
  while (off < len && c->same) {
    size_t want = len - off < sizeof buf ? len - off : sizeof buf;
    ssize_t n = read(c->fd, buf, want);
    if (n <= 0 || memcmp(buf, data + off, (size_t)n) != 0) c->same = false;
    else off += (size_t)n;
  }
  return c->same ? 0 : 1;
}

/* The entry already holds exactly this file (size, mode, bytes)? */
static bool unchanged(drive_ctx *dc, const char *path, const char *file, const struct stat *st) {
  hc_drive_entry *e;
  if (hc_drive_entry_get(dc->drive, path, &e) != HC_OK) return false;
  bool same = e->has_blob && !e->block_map && !e->linkname && e->byte_length == (uint64_t)st->st_size &&
              e->executable == ((st->st_mode & S_IXUSR) != 0);
  if (same) {
    cmp_src c = {open(file, O_RDONLY), true};
    if (c.fd < 0) same = false;
    else {
      same = hc_drive_read(dc->drive, e, 0, UINT64_MAX, cmp_cb, &c) == HC_OK && c.same;
      close(c.fd);
    }
  }
  hc_drive_entry_free(e);
  return same;
}

typedef struct mirror_stats {
  uint64_t added, same, removed;
} mirror_stats;

static int mirror_dir(drive_ctx *dc, const char *local, const char *prefix, mirror_stats *ms) {
  DIR *d = opendir(local);
  if (!d) return fail("%s: %s", local, strerror(errno));
  struct dirent *de;
  int ret = 0;
  while (!ret && (de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    size_t ll = strlen(local) + strlen(de->d_name) + 2, pl = strlen(prefix) + strlen(de->d_name) + 2;
    char *lp = malloc(ll), *pp = malloc(pl);
    if (!lp || !pp) {
      free(lp);
      free(pp);
      ret = fail("%s", hc_strerror(HC_ERR_NOMEM));
      break;
    }
    snprintf(lp, ll, "%s/%s", local, de->d_name);
    snprintf(pp, pl, "%s/%s", strcmp(prefix, "/") ? prefix : "", de->d_name);
    struct stat st;
    if (lstat(lp, &st) < 0) {
      ret = fail("%s: %s", lp, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      ret = mirror_dir(dc, lp, pp, ms);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlink(lp, target, sizeof target - 1);
      if (n < 0) {
        ret = fail("%s: %s", lp, strerror(errno));
      } else {
        target[n] = 0;
        hc_drive_entry *e;
        bool same = hc_drive_entry_get(dc->drive, pp, &e) == HC_OK && e->linkname &&
                    strcmp(e->linkname, target) == 0;
        if (same) hc_drive_entry_free(e);
        else if (e) hc_drive_entry_free(e), e = NULL;
        int rc = same ? HC_OK : hc_drive_symlink(dc->drive, pp, target);
        if (rc) ret = fail("symlink %s: %s", pp, hc_strerror(rc));
        else if (same) ms->same++;
        else ms->added++;
      }
    } else if (S_ISREG(st.st_mode)) {
      if (unchanged(dc, pp, lp, &st)) ms->same++;
      else if (!(ret = put_file(dc, pp, lp, (st.st_mode & S_IXUSR) != 0))) ms->added++;
    }
    free(lp);
    free(pp);
  }
  closedir(d);
  return ret;
}

/* Entries under prefix without a local file are deleted (MirrorDrive's prune). */
static int mirror_prune(drive_ctx *dc, const char *local, const char *prefix, mirror_stats *ms) {
  hc_drive_iter *it;
  int rc = hc_drive_list(dc->drive, prefix, true, &it);
  if (rc) return fail("list: %s", hc_strerror(rc));
  size_t plen = strcmp(prefix, "/") ? strlen(prefix) : 0;
  char **gone = NULL;
  size_t ngone = 0;
  int ret = 0;
  for (;;) {
    hc_drive_entry *e;
    rc = hc_drive_list_next(it, &e, NULL, NULL);
    if (rc) break;
    size_t n = strlen(local) + strlen(e->path) + 2;
    char *lp = malloc(n);
    struct stat st;
    if (lp) snprintf(lp, n, "%s%s", local, e->path + plen);
    if (lp && lstat(lp, &st) < 0 && errno == ENOENT) {
      char **g = realloc(gone, (ngone + 1) * sizeof(*g));
      if (g) {
        gone = g;
        gone[ngone++] = strdup(e->path);
      }
    }
    free(lp);
    hc_drive_entry_free(e);
  }
  hc_drive_list_free(it);
  if (rc != HC_ERR_NOT_FOUND) ret = fail("list: %s", hc_strerror(rc));
  for (size_t i = 0; i < ngone; i++) {
    if (!ret && gone[i]) {
      if ((rc = hc_drive_del(dc->drive, gone[i]))) ret = fail("del %s: %s", gone[i], hc_strerror(rc));
      else ms->removed++;
    }
    free(gone[i]);
  }
  free(gone);
  return ret;
}

/* `drive create STORE [--namespace NAME]`: the drive JS's `new Hyperdrive(store)` makes on
 * this store (or on store.namespace(NAME)): db = the named core "db", blobs = the named core
 * "<db id>/blobs", both derived from the store's primary key (created when missing). Prints the
 * drive's key; an existing drive is opened, not replaced. */
static int drive_create(const args *a) {
  if (a->npos != 1) return usage("expected STORE");
  drive_ctx dc;
  memset(&dc, 0, sizeof(dc));
  int ret = open_store(a->pos[0], true, true, &dc.store);
  if (ret) return ret;
  uint8_t ns[HC_NAMESPACE_BYTES];
  if (a->ns) hc_store_namespace(ns, NULL, (const uint8_t *)a->ns, strlen(a->ns));
  int rc = hc_store_get_named(dc.store, a->ns ? ns : NULL, (const uint8_t *)"db", 2, &dc.db);
  if (rc == HC_OK) {
    char name[HC_ID_CHARS + 8];
    hc_id_encode(name, hc_core_key(dc.db));
    strcat(name, "/blobs");
    rc = hc_store_get_named(dc.store, a->ns ? ns : NULL, (const uint8_t *)name, strlen(name), &dc.blobs);
  }
  if (rc == HC_OK) rc = hc_drive_open(&dc.drive, dc.db, dc.blobs, NULL);
  if (rc == HC_OK && hc_core_length(dc.db) == 0) {
    /* the header (naming the blobs core) goes in now: a del of an absent key writes only it */
    hc_bee_batch *b;
    rc = hc_bee_batch_new(hc_drive_bee(dc.drive), &b);
    if (rc == HC_OK) {
      rc = hc_bee_batch_del(b, (const uint8_t *)"", 0);
      hc_bee_batch_free(b);
    }
  }
  if (rc) {
    ret = fail("%s", hc_strerror(rc));
  } else {
    char hex[2 * HC_KEY_BYTES + 1];
    hc_hex_encode(hex, hc_core_key(dc.db), HC_KEY_BYTES);
    printf("%s\n", hex);
  }
  drive_teardown(a, &dc);
  return ret;
}

static const char drive_help[] =
    "usage: hypercore drive COMMAND STORE DRIVE_KEY [ARGS...] [OPTIONS]\n\n"
    "Hyperdrive (hyperdrive 11.x) in a corestore 6 store directory (see 'hypercore store');\n"
    "DRIVE_KEY is the db core's key. Writes lock the store as corestore 6 does.\n\n"
    "  ls STORE KEY [PATH]       the children of PATH (default /), one path per line, folders\n"
    "                            with a trailing '/'; --recursive: every entry below PATH;\n"
    "                            --json: one entry object per line\n"
    "  cat STORE KEY PATH        the file's bytes to stdout; --start N --length N: a range\n"
    "  stat STORE KEY PATH       the entry as JSON (executable, linkname, blob, metadata)\n"
    "  create STORE              the drive JS's new Hyperdrive(store) makes (named cores \"db\"\n"
    "                            and \"<id>/blobs\" of the store's primary key; --namespace NAME:\n"
    "                            of store.namespace(NAME)), created if missing; prints its key\n"
    "  put STORE KEY PATH FILE   writes FILE ('-': stdin) at PATH; --executable\n"
    "  symlink STORE KEY PATH TARGET\n"
    "  del STORE KEY PATH        deletes the entry\n"
    "  mirror STORE KEY LOCALDIR makes the drive's --prefix (default /) equal LOCALDIR: puts\n"
    "                            new and changed files and symlinks, deletes the rest; prints\n"
    "                            \"added N unchanged N removed N\"\n\n"
    "--connect HOST:PORT: read a remote drive, STORE omitted (KEY first), fetching only the db\n"
    "blocks on the way and the blobs blocks of what is read; --swarm [--bootstrap HOST:PORT,...]:\n"
    "the same from the peers found on the Hyperswarm DHT by the drive's discovery key (db and\n"
    "blobs cores on the same connections; default bootstrap: the public DHT; needs Node.js and\n"
    "helper/swarm); --timeout MS (default 30000: per block, and with --swarm to find a peer),\n"
    "--stats (blocks fetched, to stderr).\n";

int hc_cmd_drive(int argc, char **argv) {
  args a;
  memset(&a, 0, sizeof(a));
  cur_cmd = "drive";
  if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    fputs(drive_help, argc < 1 ? stderr : stdout);
    return argc < 1 ? EXIT_USAGE : 0;
  }
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0) {
      fputs(drive_help, stdout);
      return 0;
    }
  a.sub = argv[0];
  int ret = parse(&a, argc - 1, argv + 1);
  if (ret) return ret;
  const char *s = a.sub;
  if (strcmp(s, "create") == 0) return finish(drive_create(&a));
  bool write = strcmp(s, "put") == 0 || strcmp(s, "del") == 0 || strcmp(s, "mirror") == 0 ||
               strcmp(s, "symlink") == 0;
  if (!write && strcmp(s, "ls") && strcmp(s, "cat") && strcmp(s, "stat"))
    return usage("unknown drive command '%s'", s);
  drive_ctx dc;
  ret = drive_setup(&a, &dc, write);
  if (!ret) {
    int fa = dc.first_arg;
    if (strcmp(s, "ls") == 0) ret = drive_ls(&a, &dc);
    else if (strcmp(s, "cat") == 0) ret = drive_cat(&a, &dc);
    else if (strcmp(s, "stat") == 0) ret = drive_stat(&a, &dc);
    else if (strcmp(s, "put") == 0) {
      ret = a.npos != fa + 2 ? usage("expected PATH FILE") : put_file(&dc, a.pos[fa], a.pos[fa + 1], a.executable);
    } else if (strcmp(s, "symlink") == 0) {
      int rc = a.npos != fa + 2 ? -1 : hc_drive_symlink(dc.drive, a.pos[fa], a.pos[fa + 1]);
      ret = rc < 0 && rc != -1 ? fail("%s", hc_strerror(rc)) : rc == -1 ? usage("expected PATH TARGET") : 0;
    } else if (strcmp(s, "del") == 0) {
      int rc = a.npos != fa + 1 ? -1 : hc_drive_del(dc.drive, a.pos[fa]);
      ret = rc < 0 && rc != -1 ? fail("%s", hc_strerror(rc)) : rc == -1 ? usage("expected PATH") : 0;
    } else {
      mirror_stats ms = {0};
      const char *prefix = a.prefix ? a.prefix : "/";
      char *p = hc_drive_normalize(prefix);
      if (a.npos != fa + 1) ret = usage("expected LOCALDIR");
      else if (!p) ret = usage("bad --prefix");
      else if (!(ret = mirror_dir(&dc, a.pos[fa], p, &ms)) && !(ret = mirror_prune(&dc, a.pos[fa], p, &ms)))
        printf("added %" PRIu64 " unchanged %" PRIu64 " removed %" PRIu64 "\n", ms.added, ms.same, ms.removed);
      free(p);
    }
  }
  drive_teardown(&a, &dc);
  return finish(ret);
}
