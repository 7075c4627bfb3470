/* The TCP driver (net.h) end to end in two processes: a writer that keeps appending while it
 * serves, and a reader using hc_net_get (sparse, waiting) and hc_net_iter_next (a live
 * iterator that follows the writer's appends). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

static const uint8_t SEED[32] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
                                 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

static hc_core *g_writer;

static hc_replicator *accept_cb(void *user, hc_net *net) {
  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  hc_replicator *r;
  if (hc_replicator_new(&r, &o, NULL, NULL)) return NULL;
  if (hc_replicator_add_core(r, g_writer)) {
    hc_replicator_free(r);
    return NULL;
  }
  return r;
}

static void append_block(hc_core *c, int i) {
  char buf[32];
  snprintf(buf, sizeof buf, "block-%d", i);
  hc_buf b = {(const uint8_t *)buf, strlen(buf)};
  CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
}

static void writer(int fd) {
  hc_storage_factory *f;
  CHECK_OK(hc_storage_memory_factory_new(&f));
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = SEED;
  CHECK_OK(hc_core_open(&g_writer, f, &o));
  for (int i = 0; i < 50; i++) append_block(g_writer, i);
  hc_net *net;
  CHECK_OK(hc_net_new(&net, NULL, NULL));
  uint16_t port;
  CHECK_OK(hc_net_listen(net, "127.0.0.1", 0, &port, accept_cb, NULL));
  CHECK(write(fd, &port, sizeof port) == sizeof port);
  close(fd);
  for (int i = 50; i < 60; i++) { /* live appends, one every 50 ms */
    hc_net_run(net, 50, NULL, NULL);
    append_block(g_writer, i);
  }
  hc_net_run(net, 10000, NULL, NULL);
  _exit(0);
}

int main(void) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    writer(fds[1]);
  }
  close(fds[1]);
  uint16_t port;
  CHECK(read(fds[0], &port, sizeof port) == sizeof port);

  /* the reader: the writer's key from the same seed */
  hc_storage_factory *wf, *rf;
  CHECK_OK(hc_storage_memory_factory_new(&wf));
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = SEED;
  hc_core *tmp;
  CHECK_OK(hc_core_open(&tmp, wf, &o));
  uint8_t key[32];
  memcpy(key, hc_core_key(tmp), 32);
  hc_core_close(tmp);
  hc_storage_factory_free(wf);
  CHECK_OK(hc_storage_memory_factory_new(&rf));
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.key = key;
  hc_core *rd;
  CHECK_OK(hc_core_open(&rd, rf, &o));

  hc_net *net;
  CHECK_OK(hc_net_new(&net, NULL, NULL));
  hc_replicator_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.version = HC_REPLICATOR_OPTS_VERSION;
  ro.is_initiator = true;
  hc_replicator *r;
  CHECK_OK(hc_replicator_new(&r, &ro, NULL, NULL));
  CHECK_OK(hc_replicator_add_core(r, rd));
  CHECK_OK(hc_net_connect(net, "127.0.0.1", port, r));

  /* sparse get of a block we do not have (nor the length yet) */
  uint8_t *out;
  size_t len;
  CHECK_OK(hc_net_get(net, r, rd, 17, 5000, &out, &len));
  CHECK(len == 8 && memcmp(out, "block-17", 8) == 0);
  hc_free(out);
  CHECK(!hc_core_has(rd, 16, 17));

  /* a live iterator from 45 follows the writer up to 60 blocks */
  hc_iter *it;
  CHECK_OK(hc_core_iter(rd, 45, 60, true, &it));
  for (int i = 45; i < 60; i++) {
    uint64_t idx;
    CHECK_OK(hc_net_iter_next(net, r, rd, it, 5000, &idx, &out, &len));
    CHECK_EQ(idx, (uint64_t)i);
    char want[32];
    snprintf(want, sizeof want, "block-%d", i);
    CHECK(len == strlen(want) && memcmp(out, want, len) == 0);
    hc_free(out);
  }
  uint64_t idx;
  CHECK_RC(hc_net_iter_next(net, r, rd, it, 1000, &idx, &out, &len), HC_ERR_NOT_FOUND);
  hc_iter_free(it);
  CHECK_EQ(hc_core_length(rd), 60);
  uint64_t bad;
  CHECK_OK(hc_core_verify(rd, &bad));

  hc_net_free(net);
  hc_core_close(rd);
  hc_storage_factory_free(rf);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  printf("test_net: ok\n");
  return 0;
}
