/* A C peer with a hypercore extension, for tests/interop/test-extensions.js.
 *   ext_peer connect HOST PORT KEYHEX DIR NAME   (initiator, read-only clone of KEY in DIR)
 *   ext_peer listen DIR NAME                     (responder; prints "port N", serves DIR)
 * On channel open it sends "hello from c"; every message M it receives is printed as
 * "recv M" and answered with "echo:M" (broadcast in listen mode); "bye" makes it exit 0.
 * Warnings (unknown extensions) are printed as "warning ...". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypercore.h"

static const char *g_name;
static hc_core *g_core;
static hc_net *g_net;
static int g_done;

static void on_ext(void *user, hc_replicator *r, hc_core *core, const char *name, const uint8_t *msg,
                   size_t len) {
  printf("recv %.*s\n", (int)len, (const char *)msg);
  fflush(stdout);
  if (len == 3 && memcmp(msg, "bye", 3) == 0) {
    g_done = 1;
    return;
  }
  char out[512];
  int n = snprintf(out, sizeof out, "echo:%.*s", (int)len, (const char *)msg);
  hc_net_broadcast_extension(g_net, core, g_name, (const uint8_t *)out, (size_t)n, NULL);
}

static void on_peer_add(void *user, hc_replicator *r, hc_core *core) {
  hc_replicator_send_extension(r, core, g_name, (const uint8_t *)"hello from c", 12);
}

static void on_warning(void *user, hc_replicator *r, hc_core *core, int err, const char *msg) {
  printf("warning %s\n", msg);
  fflush(stdout);
}

static hc_replicator *make(int initiator) {
  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  o.is_initiator = initiator;
  hc_replicator_callbacks cb;
  cb = (hc_replicator_callbacks)HC_REPLICATOR_CALLBACKS_INIT;
  cb.on_peer_add = on_peer_add;
  cb.on_warning = on_warning;
  hc_replicator *r;
  if (hc_replicator_new(&r, &o, &cb, NULL)) return NULL;
  if (hc_replicator_add_core(r, g_core) ||
      hc_replicator_register_extension(r, g_core, g_name, on_ext, NULL)) {
    hc_replicator_free(r);
    return NULL;
  }
  return r;
}

static hc_replicator *on_accept(void *user, hc_net *net) { return make(0); }

static bool until_done(void *user, hc_net *net) { return g_done; }

int main(int argc, char **argv) {
  int rc;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  if (argc == 7 && strcmp(argv[1], "connect") == 0) {
    uint8_t key[32];
    if (hc_id_decode(key, argv[4])) return 2;
    o.key = key;
    g_name = argv[6];
    if ((rc = hc_core_open_dir(&g_core, argv[5], &o))) return fprintf(stderr, "%s\n", hc_strerror(rc)), 1;
    if (hc_net_new(&g_net, NULL, NULL)) return 1;
    hc_replicator *r = make(1);
    if (!r || (rc = hc_net_connect(g_net, argv[2], (uint16_t)atoi(argv[3]), r)))
      return fprintf(stderr, "connect failed\n"), 1;
  } else if (argc == 4 && strcmp(argv[1], "listen") == 0) {
    o.no_create = true;
    g_name = argv[3];
    if ((rc = hc_core_open_dir(&g_core, argv[2], &o))) return fprintf(stderr, "%s\n", hc_strerror(rc)), 1;
    if (hc_net_new(&g_net, NULL, NULL)) return 1;
    uint16_t port;
    if (hc_net_listen(g_net, "127.0.0.1", 0, &port, on_accept, NULL)) return 1;
    printf("port %u\n", port);
    fflush(stdout);
  } else {
    fprintf(stderr, "usage: ext_peer connect HOST PORT KEY DIR NAME | listen DIR NAME\n");
    return 2;
  }
  rc = hc_net_run(g_net, 20000, until_done, NULL);
  hc_net_free(g_net);
  hc_core_close(g_core);
  return g_done ? 0 : (fprintf(stderr, "ended: %s\n", hc_strerror(rc)), 1);
}
