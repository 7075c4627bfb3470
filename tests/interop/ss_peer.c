/* ss_peer: a C secret-stream peer over a plain blocking TCP socket, driven by
 * tests/interop/test-secret-stream.js.
 *
 *   ss_peer connect <port> <initiator 0|1> [static-seed-hex]
 *   ss_peer listen  <initiator 0|1> [static-seed-hex]     (prints {"event":"listening","port":N})
 *
 * Behaviour: on handshake prints {"event":"handshake",...} and sends "c-hello", a 100000-byte
 * message (byte i = (i * 31 + 7) & 0xff), a keep-alive (empty message) and "c-done". Every
 * non-empty message received is echoed back as "echo:" || message (and printed with its
 * length and BLAKE2b-256). On "bye" it sends "bye-ack", shuts down its write side and exits 0
 * at EOF. Any stream error: prints {"event":"error",...} and exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "secret_stream.h"

typedef struct peer {
  hc_ss *ss;
  int fd;
  int got_bye;
  int failed;
  size_t nmsgs;
} peer;

static void hexs(char *out, const uint8_t *b, size_t n) { hc_hex_encode(out, b, n); }

static void on_handshake(void *user, const uint8_t rpk[32], const uint8_t hash[64]) {
  peer *p = user;
  char a[65], h[129], l[65];
  hexs(a, rpk, 32);
  hexs(h, hash, 64);
  hexs(l, hc_ss_public_key(p->ss), 32);
  printf("{\"event\":\"handshake\",\"publicKey\":\"%s\",\"remotePublicKey\":\"%s\",\"hash\":\"%s\"}\n",
         l, a, h);
  fflush(stdout);
  size_t big = 100000;
  uint8_t *m = malloc(big);
  if (!m) { p->failed = 1; return; }
  for (size_t i = 0; i < big; i++) m[i] = (uint8_t)((i * 31 + 7) & 0xff);
  if (hc_ss_write(p->ss, (const uint8_t *)"c-hello", 7) || hc_ss_write(p->ss, m, big) ||
      hc_ss_keepalive(p->ss) || hc_ss_write(p->ss, (const uint8_t *)"c-done", 6))
    p->failed = 1;
  free(m);
}

static void on_message(void *user, const uint8_t *data, size_t len) {
  peer *p = user;
  uint8_t hash[32];
  char hh[65];
  hc_crypto_blake2b(hash, 32, data, len, NULL, 0);
  hexs(hh, hash, 32);
  printf("{\"event\":\"message\",\"length\":%zu,\"hash\":\"%s\"}\n", len, hh);
  fflush(stdout);
  p->nmsgs++;
  if (len == 3 && memcmp(data, "bye", 3) == 0) {
    p->got_bye = 1;
    if (hc_ss_write(p->ss, (const uint8_t *)"bye-ack", 7)) p->failed = 1;
    return;
  }
  uint8_t *e = malloc(len + 5);
  if (!e) { p->failed = 1; return; }
  memcpy(e, "echo:", 5);
  if (len) memcpy(e + 5, data, len);
  if (hc_ss_write(p->ss, e, len + 5)) p->failed = 1;
  free(e);
}

static int flush_out(peer *p) {
  for (;;) {
    const uint8_t *b;
    size_t n;
    hc_ss_pending_out(p->ss, &b, &n);
    if (!n) return 0;
    ssize_t w = send(p->fd, b, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      perror("send");
      return -1;
    }
    hc_ss_consume_out(p->ss, (size_t)w);
  }
}

static void fail_event(const char *what, int rc) {
  printf("{\"event\":\"error\",\"what\":\"%s\",\"code\":\"%s\"}\n", what, hc_err_name(rc));
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ss_peer connect <port> <initiator> [seed] | listen <initiator> [seed]\n");
    return 2;
  }
  int listen_mode = strcmp(argv[1], "listen") == 0;
  int ai = listen_mode ? 2 : 3;
  if (argc <= ai) return 2;
  int initiator = atoi(argv[ai]);
  const char *seed_hex = argc > ai + 1 ? argv[ai + 1] : NULL;

  if (hc_crypto_init()) return 1;
  uint8_t pk[32], sk[64];
  if (seed_hex) {
    uint8_t seed[32];
    if (strlen(seed_hex) != 64 || hc_hex_decode(seed, 32, seed_hex)) return 2;
    hc_crypto_seed_keypair(pk, sk, seed);
  } else {
    hc_crypto_keypair(pk, sk);
  }

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd;
  if (listen_mode) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) { perror("socket"); return 1; }
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) || listen(ls, 1)) { perror("bind"); return 1; }
    socklen_t al = sizeof addr;
    if (getsockname(ls, (struct sockaddr *)&addr, &al)) { perror("getsockname"); return 1; }
    printf("{\"event\":\"listening\",\"port\":%d}\n", ntohs(addr.sin_port));
    fflush(stdout);
    fd = accept(ls, NULL, NULL);
    close(ls);
    if (fd < 0) { perror("accept"); return 1; }
  } else {
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr)) { perror("connect"); return 1; }
  }

  peer p = {0};
  p.fd = fd;
  hc_ss_opts opts = {0};
  opts.on_message = on_message;
  opts.on_handshake = on_handshake;
  opts.user = &p;
  int rc = hc_ss_new(&p.ss, initiator, pk, sk, &opts);
  if (rc) { fail_event("new", rc); return 1; }

  uint8_t buf[4096];
  int shut = 0;
  for (;;) {
    if (flush_out(&p)) { fail_event("send", HC_ERR_IO); return 1; }
    if (p.failed) { fail_event("callback", HC_ERR_CALLBACK); return 1; }
    if (p.got_bye && !shut) {
      shutdown(fd, SHUT_WR);
      shut = 1;
    }
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("recv");
      fail_event("recv", HC_ERR_IO);
      return 1;
    }
    if (r == 0) break;
    rc = hc_ss_feed(p.ss, buf, (size_t)r);
    if (rc) { fail_event("feed", rc); flush_out(&p); return 1; }
  }
  printf("{\"event\":\"end\",\"messages\":%zu,\"bye\":%d}\n", p.nmsgs, p.got_bye);
  fflush(stdout);
  int ok = p.got_bye;
  hc_ss_free(p.ss);
  close(fd);
  return ok ? 0 : 1;
}
