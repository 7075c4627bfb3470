/* The limits API (limits.h) in one process: version checks, the connection limit evicting the
 * oldest peer still in its handshake (stats), a per-connection budget failing a replicator with
 * HC_ERR_BUDGET and a message naming the budget, hc_replicator_memory. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_util.h"

static hc_core *g_core;
static int g_closed_busy;
static char g_last_msg[256];

static hc_replicator *accept_cb(void *user, hc_net *net) {
  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  hc_replicator *r;
  if (hc_replicator_new(&r, &o, NULL, NULL)) return NULL;
  if (hc_replicator_add_core(r, g_core)) {
    hc_replicator_free(r);
    return NULL;
  }
  return r;
}

static void on_close(void *user, hc_net *net, hc_replicator *r, int err, const char *msg) {
  if (err == HC_ERR_BUSY) g_closed_busy++;
  snprintf(g_last_msg, sizeof g_last_msg, "%s", msg ? msg : "");
}

static int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(0x7f000001);
  CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
  return fd;
}

int main(void) {
  hc_storage_factory *f;
  CHECK_OK(hc_storage_memory_factory_new(&f));
  hc_core_opts co;
  memset(&co, 0, sizeof co);
  co.version = HC_CORE_OPTS_VERSION;
  CHECK_OK(hc_core_open(&g_core, f, &co));

  hc_net *net;
  CHECK_OK(hc_net_new(&net, on_close, NULL));
  hc_net_limits l;
  memset(&l, 0, sizeof l);
  l.version = 99;
  CHECK_RC(hc_net_set_limits(net, &l), HC_ERR_BAD_VERSION);
  l.version = HC_NET_LIMITS_VERSION;
  l.max_connections = 2;
  CHECK_OK(hc_net_set_limits(net, &l));
  uint16_t port;
  CHECK_OK(hc_net_listen(net, "127.0.0.1", 0, &port, accept_cb, NULL));

  /* three silent peers with room for two: the oldest pending one is evicted for the third */
  int fds[3];
  for (int i = 0; i < 3; i++) {
    fds[i] = tcp_connect(port);
    hc_net_run(net, 100, NULL, NULL);
  }
  hc_net_run(net, 100, NULL, NULL);
  hc_net_stats st;
  hc_net_get_stats(net, &st);
  CHECK_EQ(st.accepted, 3);
  CHECK_EQ(st.evicted_pending, 1);
  CHECK_EQ(st.refused, 0);
  CHECK_EQ(hc_net_connections(net), 2);
  CHECK_EQ(g_closed_busy, 1);
  CHECK(strstr(g_last_msg, "connection limit") != NULL);
  /* the evicted one (the first) sees its connection closed */
  char b;
  CHECK(recv(fds[0], &b, 1, 0) == 0);
  for (int i = 0; i < 3; i++) close(fds[i]);
  hc_net_free(net);

  /* a replicator over its own budget fails with HC_ERR_BUDGET, saying which budget */
  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  o.is_initiator = true;
  hc_replicator *r;
  CHECK_OK(hc_replicator_new(&r, &o, NULL, NULL));
  hc_replicator_limits rl = {99, 0};
  CHECK_RC(hc_replicator_set_limits(r, &rl), HC_ERR_BAD_VERSION);
  size_t base = hc_replicator_memory(r);
  CHECK(base > 0);
  rl.version = HC_REPLICATOR_LIMITS_VERSION;
  rl.max_memory = base + 16;
  CHECK_OK(hc_replicator_set_limits(r, &rl));
  CHECK_OK(hc_replicator_tick(r, 1));
  CHECK_OK(hc_replicator_add_core(r, g_core)); /* a channel's state: past base + 16 bytes */
  int rc = hc_replicator_tick(r, 2);
  CHECK_RC(rc, HC_ERR_BUDGET);
  CHECK(strstr(hc_replicator_error_message(r), "memory budget") != NULL);
  hc_replicator_free(r);

  hc_core_close(g_core);
  hc_storage_factory_free(f);
  printf("ok\n");
  return 0;
}
