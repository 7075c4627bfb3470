/* The discovery layer's helper management, against fake helpers (small Node scripts written
 * here that speak the frame protocol of swarm_proto.h): a helper that cannot start, one that
 * dies after each JOIN (restarted, topics joined again, then given up on), one that sends a
 * malformed frame, one that opens more connections than allowed (bounded), a missing helper
 * or node (the message names what to install), and the persistent swarm seed. The real
 * hyperswarm helper is exercised by the interop tests (tests/interop/test-swarm-*.js). */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery_internal.h"
#include "test_util.h"

static const char FAKE[] =
    "'use strict'\n"
    "const net = require('net')\n"
    "const mode = process.env.FAKE_MODE\n"
    "if (mode === 'exit3') process.exit(3)\n"
    "const ipc = new net.Socket({ fd: 3, readable: true, writable: true })\n"
    "const frame = (t, b) => { const h = Buffer.alloc(5); h.writeUInt32LE(1 + b.length); h[4] = t;"
    " return Buffer.concat([h, b]) }\n"
    "const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b }\n"
    "let buf = Buffer.alloc(0), configured = false, closes = 0\n"
    "ipc.on('data', (d) => {\n"
    "  buf = Buffer.concat([buf, d])\n"
    "  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {\n"
    "    const n = buf.readUInt32LE(0), t = buf[4], body = buf.subarray(5, 4 + n)\n"
    "    buf = buf.subarray(4 + n)\n"
    "    if (t === 1) {\n"
    "      configured = true\n"
    "      ipc.write(frame(0x81, Buffer.alloc(32, 0xab)))\n"
    "      if (mode === 'conns') for (let i = 1; i <= 70; i++)\n"
    "        ipc.write(frame(0x82, Buffer.concat([u32(i), Buffer.from([i & 1]), Buffer.alloc(32, i),"
    " Buffer.alloc(64, 7)])))\n"
    "    } else if (t === 2) {\n"
    "      if (mode === 'garbage') { ipc.write(u32(0)); continue }\n"
    "      ipc.write(frame(0x87, body.subarray(0, 32)))\n"
    "      if (mode === 'die-after-join') setTimeout(() => process.exit(1), 20)\n"
    "    } else if (t === 5) {\n"
    "      if (++closes === 6) ipc.write(frame(0x85, Buffer.from('closed ' + closes)))\n"
    "    } else if (t === 6) {\n"
    "      if (mode === 'mute') continue\n"
    "      ipc.write(frame(0x86, Buffer.concat([body, u32(0), u32(3), u32(9)])))\n"
    "    }\n"
    "  }\n"
    "})\n"
    "ipc.on('end', () => process.exit(0))\n"
    "ipc.on('error', () => process.exit(0))\n";

static char g_helper[4096];

/* A fake helper directory: helper.js and the package files the library checks for. */
static void write_fake(const char *dir) {
  char p[4200];
  snprintf(p, sizeof p, "mkdir -p '%s/node_modules/hyperswarm' '%s/node_modules/hyperdht' && "
                        "echo '{}' > '%s/node_modules/hyperswarm/package.json' && "
                        "echo '{}' > '%s/node_modules/hyperdht/package.json'",
           dir, dir, dir, dir);
  CHECK(system(p) == 0);
  snprintf(g_helper, sizeof g_helper, "%s/helper.js", dir);
  FILE *f = fopen(g_helper, "w");
  CHECK(f);
  CHECK(fwrite(FAKE, 1, sizeof FAKE - 1, f) == sizeof FAKE - 1);
  fclose(f);
}

typedef struct tstate {
  int connections, disconnects, joined;
  char log[4096];
} tstate;

static int t_on_connection(void *user, hc_discovery *d, hc_replicator *r, const uint8_t rpk[32],
                           bool initiator) {
  tstate *s = user;
  s->connections++;
  CHECK(hc_replicator_is_preauth(r));
  CHECK_EQ(rpk[0], rpk[31]);
  return HC_OK;
}

/* make_replicator: refuses odd connection numbers (the remote key's bytes are the number) */
static hc_replicator *t_make(void *user, hc_discovery *d, const hc_preauth_opts *o) {
  if (o->remote_public_key[0] & 1) return NULL;
  hc_replicator *r;
  return hc_replicator_new_preauth(&r, o, NULL, NULL) == HC_OK ? r : NULL;
}

static void t_on_disconnect(void *user, hc_discovery *d, hc_replicator *r, int err, const char *m) {
  ((tstate *)user)->disconnects++;
}

static void t_on_joined(void *user, hc_discovery *d, const uint8_t topic[32]) {
  tstate *s = user;
  CHECK_EQ(topic[0], 0x77);
  s->joined++;
}

static void t_on_log(void *user, hc_discovery *d, const char *m) {
  tstate *s = user;
  size_t n = strlen(s->log);
  snprintf(s->log + n, sizeof s->log - n, "%s\n", m);
}

static int start(hc_discovery **d, tstate *s, const char *mode, int max_restarts, char *err,
                 size_t errlen) {
  setenv("FAKE_MODE", mode, 1);
  memset(s, 0, sizeof *s);
  hc_discovery_callbacks cb = {.version = HC_DISCOVERY_CALLBACKS_VERSION, .on_connection = t_on_connection, .on_disconnect = t_on_disconnect,
                               .on_joined = t_on_joined, .on_log = t_on_log};
  hc_discovery_opts o = {.version = HC_DISCOVERY_OPTS_VERSION, .helper = g_helper,
                         .bootstrap = "127.0.0.1:1", .max_restarts = max_restarts,
                         .start_timeout_ms = 10000, .errbuf = err, .errbuf_len = errlen};
  return hc_discovery_new(d, &o, &cb, s);
}

static bool joined_n(void *user, hc_discovery *d) { return ((tstate *)user)->joined >= 1; }
static bool log_has_closed(void *user, hc_discovery *d) {
  return strstr(((tstate *)user)->log, "helper: closed 6") != NULL;
}

static void test_cannot_start(void) {
  hc_discovery *d;
  tstate s;
  char err[1024] = "";
  CHECK_RC(start(&d, &s, "exit3", 0, err, sizeof err), HC_ERR_HELPER);
  CHECK(d == NULL);
  CHECK(strstr(err, "did not start") && strstr(err, "exit status 3"));
}

static void test_restart_and_rejoin(void) {
  hc_discovery *d;
  tstate s;
  char err[1024] = "";
  CHECK_OK(start(&d, &s, "die-after-join", 2, err, sizeof err));
  uint8_t topic[32];
  memset(topic, 0x77, sizeof topic);
  CHECK_RC(hc_discovery_join(d, topic, 0), HC_ERR_INVALID_ARG);
  CHECK_OK(hc_discovery_join(d, topic, HC_DISCOVERY_SERVER | HC_DISCOVERY_CLIENT));
  /* joined, died, restarted and joined again (the library re-sends its topics), twice; the
   * third death is one too many */
  int rc = hc_discovery_run(d, 20000, NULL, NULL);
  CHECK_RC(rc, HC_ERR_HELPER);
  CHECK_EQ(s.joined, 3);
  hc_discovery_stats st;
  hc_discovery_get_stats(d, &st);
  CHECK_EQ(st.restarts, 2);
  CHECK(strstr(s.log, "restarting it (2 of 2)") != NULL);
  CHECK(strstr(hc_discovery_error_message(d), "exited (exit status 1)") != NULL);
  CHECK_RC(hc_discovery_join(d, topic, HC_DISCOVERY_CLIENT), HC_ERR_HELPER); /* stays failed */
  hc_discovery_free(d);
}

static void test_malformed_frame(void) {
  hc_discovery *d;
  tstate s;
  char err[1024] = "";
  CHECK_OK(start(&d, &s, "garbage", -1, err, sizeof err));
  uint8_t topic[32];
  memset(topic, 0x77, sizeof topic);
  CHECK_OK(hc_discovery_join(d, topic, HC_DISCOVERY_CLIENT));
  CHECK_RC(hc_discovery_run(d, 20000, NULL, NULL), HC_ERR_HELPER);
  CHECK(strstr(hc_discovery_error_message(d), "malformed frame") != NULL);
  hc_discovery_free(d);
}

static void test_too_many_connections(void) {
  hc_discovery *d;
  tstate s;
  char err[1024] = "";
  CHECK_OK(start(&d, &s, "conns", -1, err, sizeof err));
  CHECK_OK(hc_discovery_run(d, 20000, log_has_closed, &s));
  CHECK_EQ(s.connections, 64); /* 6 refused and closed: the helper counted the CLOSE frames */
  hc_discovery_stats st;
  hc_discovery_get_stats(d, &st);
  CHECK_EQ(st.connections, 64);
  CHECK(strstr(s.log, "too many connections (64)") != NULL);
  CHECK(st.helper_pid > 0);
  int pid = st.helper_pid;
  hc_discovery_free(d); /* closes every connection (on_disconnect), the helper exits */
  CHECK_EQ(s.disconnects, 64);
  CHECK(kill(pid, 0) != 0);
}

static void test_make_replicator(void) {
  setenv("FAKE_MODE", "conns", 1);
  tstate s;
  memset(&s, 0, sizeof s);
  char err[1024] = "";
  hc_discovery_callbacks cb = {.version = HC_DISCOVERY_CALLBACKS_VERSION, .on_connection = t_on_connection, .on_log = t_on_log,
                               .make_replicator = t_make};
  hc_discovery_opts o = {.version = HC_DISCOVERY_OPTS_VERSION, .helper = g_helper,
                         .bootstrap = "127.0.0.1:1", .max_restarts = -1, .errbuf = err,
                         .errbuf_len = sizeof err};
  hc_discovery *d;
  CHECK_OK(hc_discovery_new(&d, &o, &cb, &s));
  /* 70 connections, the 35 odd ones refused: the fake helper reports 6 CLOSEs early on */
  CHECK_OK(hc_discovery_run(d, 20000, log_has_closed, &s));
  CHECK_OK(hc_discovery_run(d, 300, NULL, NULL) == HC_ERR_TIMEOUT ? HC_OK : HC_ERR_IO);
  CHECK_EQ(s.connections, 35);
  hc_discovery_free(d);
}

/* A helper that stops answering PINGs is hung: killed and restarted after health_timeout_ms. */
static void test_hung_helper(void) {
  setenv("FAKE_MODE", "mute", 1);
  tstate s;
  memset(&s, 0, sizeof s);
  char err[1024] = "";
  hc_discovery_callbacks cb = {.version = HC_DISCOVERY_CALLBACKS_VERSION, .on_connection = t_on_connection, .on_log = t_on_log};
  hc_discovery_opts o = {.version = HC_DISCOVERY_OPTS_VERSION, .helper = g_helper,
                         .bootstrap = "127.0.0.1:1", .max_restarts = 1, .health_timeout_ms = 1500,
                         .errbuf = err, .errbuf_len = sizeof err};
  hc_discovery *d;
  CHECK_OK(hc_discovery_new(&d, &o, &cb, &s));
  hc_discovery_stats st;
  hc_discovery_get_stats(d, &st);
  int first = st.helper_pid;
  uint64_t t0 = hc_net_now_ms();
  CHECK_RC(hc_discovery_run(d, 20000, NULL, NULL), HC_ERR_HELPER); /* hung, restarted, hung */
  uint64_t dt = hc_net_now_ms() - t0;
  CHECK(dt >= 2 * 1500 && dt < 15000);
  CHECK(strstr(s.log, "swarm helper stopped answering (killed); restarting it (1 of 1)") != NULL);
  CHECK(strstr(hc_discovery_error_message(d), "stopped answering") != NULL);
  CHECK(kill(first, 0) != 0); /* the hung one is gone */
  hc_discovery_free(d);
}

static void test_health_ping(void) {
  hc_discovery *d;
  tstate s;
  char err[1024] = "";
  CHECK_OK(start(&d, &s, "echo", -1, err, sizeof err));
  uint8_t topic[32];
  memset(topic, 0x77, sizeof topic);
  CHECK_OK(hc_discovery_join(d, topic, HC_DISCOVERY_SERVER));
  CHECK_OK(hc_discovery_run(d, 10000, joined_n, &s));
  CHECK_RC(hc_discovery_run(d, 2600, NULL, NULL), HC_ERR_TIMEOUT); /* a PING answered */
  hc_discovery_stats st;
  hc_discovery_get_stats(d, &st);
  CHECK_EQ(st.peers, 3);
  CHECK_EQ(st.dht_nodes, 9);
  CHECK_EQ(hc_discovery_public_key(d)[0], 0xab);
  CHECK_OK(hc_discovery_leave(d, topic));
  CHECK_RC(hc_discovery_leave(d, topic), HC_ERR_NOT_FOUND);
  hc_discovery_free(d);
}

static void test_missing(const char *base) {
  hc_discovery *d;
  tstate s;
  char err[1024] = "";
  char missing[4200];
  snprintf(missing, sizeof missing, "%s/nothing-here/helper.js", base);
  hc_discovery_callbacks cb = {.version = HC_DISCOVERY_CALLBACKS_VERSION, .on_connection = t_on_connection};
  hc_discovery_opts o = {.version = HC_DISCOVERY_OPTS_VERSION, .helper = missing,
                         .errbuf = err, .errbuf_len = sizeof err};
  CHECK_RC(hc_discovery_new(&d, &o, &cb, &s), HC_ERR_HELPER);
  CHECK(strstr(err, "npm ci --prefix") != NULL);
  o.helper = g_helper;
  o.node = "/nonexistent/node";
  CHECK_RC(hc_discovery_new(&d, &o, &cb, &s), HC_ERR_HELPER);
  CHECK(strstr(err, "Node.js not found") != NULL);
  o.version = HC_DISCOVERY_OPTS_VERSION + 1;
  CHECK_RC(hc_discovery_new(&d, &o, &cb, &s), HC_ERR_BAD_VERSION);
  o.version = HC_DISCOVERY_OPTS_VERSION;
  cb.version = 0; /* a zeroed callbacks struct */
  CHECK_RC(hc_discovery_new(&d, &o, &cb, &s), HC_ERR_BAD_VERSION);
  cb.version = HC_DISCOVERY_CALLBACKS_VERSION;
}

static void test_seed(const char *base) {
  char path[4200];
  snprintf(path, sizeof path, "%s/swarm.seed", base);
  uint8_t a[32], b[32];
  CHECK_OK(hc_discovery_seed_load(path, a));
  CHECK_OK(hc_discovery_seed_load(path, b));
  CHECK_MEM(a, b, 32);
  struct stat st;
  CHECK(stat(path, &st) == 0);
  CHECK_EQ(st.st_mode & 0777, 0600);
  FILE *f = fopen(path, "w");
  CHECK(f);
  fputs("short", f);
  fclose(f);
  CHECK_RC(hc_discovery_seed_load(path, a), HC_ERR_CORRUPT);
}

int main(void) {
  char base[4096];
  snprintf(base, sizeof base, "%s", test_tmpdir("discovery"));
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/fake", base);
  write_fake(dir);
  test_missing(base);
  test_seed(base);
  test_cannot_start();
  test_health_ping();
  test_malformed_frame();
  test_too_many_connections();
  test_make_replicator();
  test_hung_helper();
  test_restart_and_rejoin();
  printf("test_discovery: ok\n");
  return 0;
}
