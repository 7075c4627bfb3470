/* Crash harness: runs crash_writer on one core directory, kills it with SIGKILL after a random
 * delay, and checks the recovered core, N times:
 *   - it opens (writable), hc_core_verify passes,
 *   - its length is >= the last length the writer acknowledged (printed after
 *     hc_core_append returned), and every block below the length is the expected content,
 *   - appending continues (the harness appends the next block itself),
 *   - with $HYPERCORE_BIN set, `hypercore verify DIR` agrees (exit 0).
 * The library does not fsync by default (like the reference); SIGKILL keeps the page cache,
 * so everything hc_core_append acknowledged must survive.
 *
 *   crash_harness WRITER ROUNDS [DIR] [SEED]
 * Prints "N kills, N recovered, N lost"; exits non-zero if anything was lost or broken. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash_common.h"
#include "hypercore.h"

static uint64_t rng_state;
static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Runs the writer, kills it after delay_us; returns the last acknowledged length (or
 * `floor` when it acknowledged nothing) and whether it was really killed. */
static int run_writer(const char *writer, const char *dir, long delay_us, uint64_t *acked,
                      bool *killed, uint64_t max_len) {
  int fds[2];
  if (pipe(fds) < 0) return -1;
  char maxs[32];
  snprintf(maxs, sizeof maxs, "%llu", (unsigned long long)max_len);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(writer, writer, dir, maxs, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
  *killed = kill(pid, SIGKILL) == 0;
  /* read everything it printed (the pipe keeps what was written before the kill) */
  FILE *f = fdopen(fds[0], "r");
  char line[128];
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "open ", 5) == 0) continue;
    uint64_t v = strtoull(line, NULL, 10);
    if (v > *acked) *acked = v;
  }
  if (f) fclose(f);
  int status;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return 0;
  *killed = false;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0; /* finished before the kill */
  fprintf(stderr, "writer failed (status %d)\n", status);
  return -1;
}

/* Opens the core, checks it, appends one more block. Returns 0 ok, 1 lost data, -1 broken. */
static int check(const char *dir, uint64_t acked, uint64_t *len_out) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = CRASH_SEED;
  hc_core *c;
  int rc = hc_core_open_dir(&c, dir, &o);
  if (rc) {
    fprintf(stderr, "reopen %s: %s\n", dir, hc_err_name(rc));
    return -1;
  }
  int result = 0;
  uint64_t len = hc_core_length(c), bad = 0;
  if (len < acked) {
    fprintf(stderr, "LOST: length %llu < acknowledged %llu\n", (unsigned long long)len,
            (unsigned long long)acked);
    result = 1;
  }
  rc = hc_core_verify(c, &bad);
  if (rc) {
    fprintf(stderr, "verify: %s (block %llu)\n", hc_err_name(rc), (unsigned long long)bad);
    result = -1;
  }
  static uint8_t want[2200], got[2200];
  for (uint64_t i = 0; i < len && result == 0; i++) {
    size_t wl = crash_block(i, want, sizeof want), gl;
    rc = hc_core_get(c, i, got, sizeof got, &gl);
    if (rc || gl != wl || memcmp(want, got, wl) != 0) {
      fprintf(stderr, "block %llu: %s, wrong content\n", (unsigned long long)i, hc_err_name(rc));
      result = -1;
    }
  }
  if (result == 0) {
    uint8_t b[2200];
    hc_buf hb = {b, crash_block(len, b, sizeof b)};
    uint64_t nl;
    rc = hc_core_append(c, &hb, 1, &nl, NULL);
    if (rc || nl != len + 1) {
      fprintf(stderr, "append after recovery: %s\n", hc_err_name(rc));
      result = -1;
    }
    len = nl;
  }
  hc_core_close(c);
  *len_out = len;
  return result;
}

static int cli_verify(const char *dir) {
  const char *bin = getenv("HYPERCORE_BIN");
  if (!bin || !*bin) return 0;
  char cmd[8300];
  snprintf(cmd, sizeof cmd, "'%s' verify '%s' >/dev/null", bin, dir);
  int st = system(cmd);
  if (st != 0) fprintf(stderr, "hypercore verify %s: exit %d\n", dir, st);
  return st == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: crash_harness WRITER ROUNDS [DIR] [SEED]\n");
    return 2;
  }
  const char *writer = argv[1];
  long rounds = atol(argv[2]);
  char dir[4096];
  if (argc > 3) snprintf(dir, sizeof dir, "%s", argv[3]);
  else snprintf(dir, sizeof dir, "/tmp/hc-crash-%d", (int)getpid());
  rng_state = argc > 4 ? strtoull(argv[4], NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
  printf("crash_harness: dir %s, seed %llu\n", dir, (unsigned long long)rng_state);
  char cmd[8300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) return 2;

  long kills = 0, recovered = 0, lost = 0, broken = 0;
  uint64_t acked = 0; /* acknowledged so far, across writer runs */
  for (long r = 0; r < rounds; r++) {
    if (r % 25 == 0 && system(cmd) != 0) return 2; /* start over now and then */
    if (r % 25 == 0) acked = 0;
    /* mostly mid-append kills; some very early ones (during open/creation) */
    long delay = (rnd() % 8 == 0) ? (long)(rnd() % 3000) : (long)(rnd() % 60000);
    bool killed = false;
    uint64_t a = acked;
    if (run_writer(writer, dir, delay, &a, &killed, acked + 1000000) < 0) {
      broken++;
      break;
    }
    acked = a;
    if (killed) kills++;
    uint64_t len = 0;
    int res = check(dir, acked, &len);
    if (res == 0 && cli_verify(dir) != 0) res = -1;
    if (res == 0) {
      recovered++;
      acked = len; /* the harness's own append is acknowledged too */
    } else if (res == 1) {
      lost++;
      break;
    } else {
      broken++;
      break;
    }
  }
  printf("%ld kills, %ld recovered, %ld lost", kills, recovered, lost);
  if (broken) printf(", %ld broken (did not open/verify/append)", broken);
  printf("\n");
  if (lost + broken == 0) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
  } else {
    fprintf(stderr, "crash_harness: FAILED (core left in %s)\n", dir);
  }
  return lost + broken == 0 ? 0 : 1;
}
