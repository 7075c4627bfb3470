/* The lock JS sees (issue 10, part 4). JS 10.38.2 locks its oplog with exactly this syscall
 * (fs-native-extensions tryLock on Linux): fcntl(fd, F_OFD_SETLK, {F_WRLCK, SEEK_SET, 0, 0}).
 * Here a child process plays JS with that raw syscall:
 *   - C holds a core for writing: the "JS" lock on its oplog is refused (EAGAIN);
 *   - "JS" holds the oplog lock: C's writer open fails with HC_ERR_LOCKED and writes nothing,
 *     C's read-only open works (JS's readers take no lock either);
 *   - hc__lock_file_open (a corestore's primary-key): refused to a second open file in this
 *     process and to "JS", released by close, nothing created when missing and !create;
 *   - a core inside a corestore 6 store opened directly by its directory: refused while the
 *     store is held ("JS" or a C store in another process), and "JS" cannot take the store
 *     while C writes the core.
 * With arguments `--hold PATH` it is the probe interop-test-locks uses against real JS:
 * takes hc__lock_file_open(PATH) and prints "locked" (held until stdin closes) or "refused
 * ERRNAME". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lock.h"
#include "test_util.h"

/* The JS lock attempt: 0 on success, else errno. */
static int js_style_lock(int fd) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? errno : 0;
}

/* In a child: opens path O_RDWR and tries the JS lock; exit status = errno (0: got it). */
static int child_js_lock(const char *path) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int fd = open(path, O_RDWR);
    if (fd < 0) _exit(100);
    _exit(js_style_lock(fd));
  }
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  CHECK(f);
  char *buf = malloc(1 << 20);
  CHECK(buf);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

static hc_core_opts opts(bool readonly) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.readonly = readonly;
  o.no_create = readonly;
  return o;
}

static void test_core_locks(const char *base) {
  char dir[4200], oplog[4300];
  snprintf(dir, sizeof dir, "%s/core", base);
  snprintf(oplog, sizeof oplog, "%s/oplog", dir);
  hc_core *c;
  hc_core_opts w = opts(false);
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  hc_buf b[2] = {{(const uint8_t *)"one", 3}, {(const uint8_t *)"two", 3}};
  CHECK_OK(hc_core_append(c, b, 2, NULL, NULL));
  /* C holds it: JS's lock is refused */
  int e = child_js_lock(oplog);
  CHECK(e == EAGAIN || e == EACCES);
  hc_core_close(c);
  CHECK_EQ(child_js_lock(oplog), 0); /* released by close */

  /* "JS" holds it (a child with the raw lock, until we close the pipe) */
  int ready[2], hold[2];
  CHECK(pipe(ready) == 0 && pipe(hold) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(ready[0]);
    close(hold[1]);
    int fd = open(oplog, O_RDWR);
    char ok = (fd >= 0 && js_style_lock(fd) == 0) ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    char x;
    while (read(hold[0], &x, 1) > 0) {
    }
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  char ok = 0;
  CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y');
  size_t before_len, after_len;
  char *before = slurp(oplog, &before_len);
  CHECK_RC(hc_core_open_dir(&c, dir, &w), HC_ERR_LOCKED);
  hc_core_opts ro = opts(true);
  CHECK_OK(hc_core_open_dir(&c, dir, &ro)); /* readers need no lock, as in JS */
  CHECK_EQ(hc_core_length(c), 2);
  hc_core_close(c);
  char *after = slurp(oplog, &after_len);
  CHECK_EQ(before_len, after_len);
  CHECK(memcmp(before, after, before_len) == 0);
  free(before);
  free(after);
  close(hold[1]);
  close(ready[0]);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK_OK(hc_core_open_dir(&c, dir, &w)); /* "JS" is gone */
  hc_core_close(c);
}

static void test_primary_key_lock(const char *base) {
  char pk[4200];
  snprintf(pk, sizeof pk, "%s/primary-key", base);
  int fd, fd2;
  CHECK_RC(hc__lock_file_open(pk, false, &fd), HC_ERR_NOT_FOUND);
  CHECK_EQ(fd, -1);
  struct stat s;
  CHECK(stat(pk, &s) < 0 && errno == ENOENT); /* nothing created */
  CHECK_OK(hc__lock_file_open(pk, true, &fd));
  CHECK(write(fd, "0123456789abcdef0123456789abcdef", 32) == 32);
  CHECK_RC(hc__lock_file_open(pk, false, &fd2), HC_ERR_LOCKED); /* per open file, not per process */
  int e = child_js_lock(pk);
  CHECK(e == EAGAIN || e == EACCES);
  hc__lock_release(fd);
  CHECK_EQ(child_js_lock(pk), 0);
  CHECK_OK(hc__lock_file_open(pk, false, &fd2));
  hc__lock_release(fd2);
}

/* A child holding the JS lock on `path` until *release_fd is closed; returns its pid. */
static pid_t child_js_hold(const char *path, int *release_fd) {
  int ready[2], hold[2];
  CHECK(pipe(ready) == 0 && pipe(hold) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(ready[0]);
    close(hold[1]);
    int fd = open(path, O_RDWR);
    char ok = (fd >= 0 && js_style_lock(fd) == 0) ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    char x;
    while (read(hold[0], &x, 1) > 0) {
    }
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  char ok = 0;
  CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y');
  close(ready[0]);
  *release_fd = hold[1];
  return pid;
}

static int open_core_status(const char *dir) {
  hc_core *c;
  hc_core_opts o = opts(false);
  o.no_create = true;
  int rc = hc_core_open_dir(&c, dir, &o);
  if (rc == HC_OK) hc_core_close(c);
  return -rc;
}

/* In another process (a fresh exec of this program, so it shares none of our open files, as
 * a separate C process): opens the core at dir for writing; returns its hc_err. */
/* This program's own path (argv[0] made absolute): /proc/self/exe would be valgrind's
 * launcher when the suite runs under valgrind (scripts/valgrind.sh). */
static char g_self[4096] = "/proc/self/exe";

static int child_core_open(const char *dir) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    execl(g_self, "test_lock_ofd", "--open-core", dir, (char *)NULL);
    _exit(100);
  }
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st));
  return -WEXITSTATUS(st);
}

/* corestore 6 locks only primary-key: a core of a store written directly (its directory
 * given, not through the store) must see that lock, and make corestore 6 see it. */
static void test_core_inside_store(const char *base) {
  char sdir[4200], pk[4300];
  snprintf(sdir, sizeof sdir, "%s/store", base);
  snprintf(pk, sizeof pk, "%s/primary-key", sdir);
  hc_store_opts so;
  memset(&so, 0, sizeof so);
  so.version = HC_STORE_OPTS_VERSION;
  so.create = true;
  hc_store *s;
  CHECK_OK(hc_store_open(&s, sdir, &so));
  hc_core *c;
  CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)"a", 1, &c));
  hc_buf b = {(const uint8_t *)"x", 1};
  CHECK_OK(hc_core_append(c, &b, 1, NULL, NULL));
  char *dir = hc_store_core_path(s, hc_core_discovery_key(c));
  CHECK(dir);
  hc_store_release(s, c);
  hc_store_set_max_open(s, 1);
  CHECK_OK(hc_store_get_named(s, NULL, (const uint8_t *)"b", 1, &c)); /* evicts "a" */
  hc_store_release(s, c);
  /* a C store in another process holds the store: a direct writer is refused */
  CHECK_RC(child_core_open(dir), HC_ERR_LOCKED);
  hc_store_close(s);
  CHECK_RC(child_core_open(dir), HC_OK);

  /* corestore 6 ("JS" lock on primary-key) holds the store: refused, nothing written */
  int rel;
  pid_t pid = child_js_hold(pk, &rel);
  char oplog[4400];
  snprintf(oplog, sizeof oplog, "%s/oplog", dir);
  size_t before_len, after_len;
  char *before = slurp(oplog, &before_len);
  hc_core_opts w = opts(false);
  CHECK_RC(hc_core_open_dir(&c, dir, &w), HC_ERR_LOCKED);
  hc_core_opts ro = opts(true);
  CHECK_OK(hc_core_open_dir(&c, dir, &ro)); /* reading needs no lock */
  hc_core_close(c);
  char *after = slurp(oplog, &after_len);
  CHECK(before_len == after_len && memcmp(before, after, before_len) == 0);
  free(before);
  free(after);
  close(rel);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);

  /* the reverse: C writes the core directly, corestore 6 cannot lock the store */
  CHECK_OK(hc_core_open_dir(&c, dir, &w));
  int e = child_js_lock(pk);
  CHECK(e == EAGAIN || e == EACCES);
  hc_core_close(c);
  CHECK_EQ(child_js_lock(pk), 0);
  hc_free(dir);
}

static int hold(const char *path) {
  int fd;
  int rc = hc__lock_file_open(path, false, &fd);
  if (rc) {
    printf("refused %s\n", hc_err_name(rc));
    return 0;
  }
  printf("locked\n");
  fflush(stdout);
  char x;
  while (read(STDIN_FILENO, &x, 1) > 0) {
  }
  hc__lock_release(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--hold") == 0) return hold(argv[2]);
  if (argc == 3 && strcmp(argv[1], "--open-core") == 0) return open_core_status(argv[2]);
  if (argv[0] && strchr(argv[0], '/') && !realpath(argv[0], g_self))
    snprintf(g_self, sizeof g_self, "/proc/self/exe");
  const char *base = test_tmpdir("lock-ofd");
  test_core_locks(base);
  test_primary_key_lock(base);
  test_core_inside_store(base);
  printf("test_lock_ofd: ok\n");
  return 0;
}
