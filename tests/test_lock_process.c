/* Two processes, one core: the oplog lock (flock) keeps a second writer out.
 *   - a child process opening a core another process holds for writing gets HC_ERR_LOCKED,
 *     and a read-only open still works;
 *   - the `hypercore` CLI ($HYPERCORE_BIN) refuses with exit status 1 and a message naming
 *     the lock, and leaves the core untouched;
 *   - a writer killed with SIGKILL releases the lock: the next open works and sees its data. */
#include <signal.h>
#include <sys/wait.h>

#include "test_util.h"

static hc_core_opts opts(bool readonly) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.readonly = readonly;
  return o;
}

/* In a child process: opens dir (read-only or not) and exits with the hc_err as status
 * (negated, so HC_ERR_LOCKED = 18). */
static int child_open(const char *dir, bool readonly) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    hc_core *c;
    hc_core_opts o = opts(readonly);
    int rc = hc_core_open_dir(&c, dir, &o);
    if (rc == HC_OK) {
      if (hc_core_length(c) != 2) rc = HC_ERR_CORRUPT;
      hc_core_close(c);
    }
    _exit(-rc);
  }
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st));
  return -WEXITSTATUS(st);
}

int main(void) {
  const char *base = test_tmpdir("lock-process");
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/core", base);
  hc_core *c;
  hc_core_opts w = opts(false);
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  hc_buf b[2] = {{(const uint8_t *)"one", 3}, {(const uint8_t *)"two", 3}};
  CHECK_OK(hc_core_append(c, b, 2, NULL, NULL));

  CHECK_RC(child_open(dir, false), HC_ERR_LOCKED);
  CHECK_RC(child_open(dir, true), HC_OK);

  const char *bin = getenv("HYPERCORE_BIN");
  if (bin && *bin) {
    char cmd[8600], out[4300];
    snprintf(out, sizeof out, "%s/cli.err", base);
    snprintf(cmd, sizeof cmd, "'%s' append '%s' three 2>'%s'", bin, dir, out);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    FILE *f = fopen(out, "r");
    CHECK(f != NULL);
    char msg[1024] = {0};
    size_t n = fread(msg, 1, sizeof msg - 1, f);
    fclose(f);
    CHECK(n > 0);
    CHECK(strstr(msg, "locked") != NULL);
    printf("CLI while locked: %s", msg);
  }
  CHECK_EQ(hc_core_length(c), 2);
  hc_core_close(c);
  CHECK_RC(child_open(dir, false), HC_OK); /* released by close */

  /* a writer that dies holding the lock releases it */
  int pipefd[2];
  CHECK(pipe(pipefd) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    hc_core *cc;
    hc_core_opts o = opts(false);
    if (hc_core_open_dir(&cc, dir, &o) != HC_OK) _exit(1);
    if (write(pipefd[1], "k", 1) != 1) _exit(1);
    for (;;) pause();
  }
  char ch;
  CHECK(read(pipefd[0], &ch, 1) == 1);
  CHECK_RC(hc_core_open_dir(&c, dir, &w), HC_ERR_LOCKED);
  CHECK(kill(pid, SIGKILL) == 0);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  CHECK_EQ(hc_core_length(c), 2);
  hc_core_close(c);
  close(pipefd[0]);
  close(pipefd[1]);
  printf("test_lock_process: ok\n");
  return 0;
}
