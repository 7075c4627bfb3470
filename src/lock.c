/* File locks compatible with the JS reference (see lock.h). */
#define _GNU_SOURCE
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "hypercore/common.h"

static int lock_errno(int e) {
  return e == EAGAIN || e == EACCES || e == EWOULDBLOCK ? HC_ERR_LOCKED : HC_ERR_IO;
}

/* The lock fs-native-extensions' tryLock takes on Linux: F_OFD_SETLK, F_WRLCK, whole file. */
static int ofd_lock(int fd) {
#ifdef F_OFD_SETLK
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0; /* to the end of the file, however it grows */
  fl.l_pid = 0; /* required by OFD locks */
  if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
    /* a kernel without OFD locks (before Linux 3.15): flock below is all we have */
    if (errno == EINVAL) return HC_OK;
    return lock_errno(errno);
  }
#else
  (void)fd; /* macOS: fs-native-extensions uses flock, taken below */
#endif
  return HC_OK;
}

/* ---- the files this process holds locked (by device and inode), so that a C store's own
 * core opens can tell its primary-key lock from another process's ---- */

typedef struct held_file {
  dev_t dev;
  ino_t ino;
  int fd;
} held_file;

static held_file *held;
static size_t nheld, held_cap;
static atomic_flag held_guard = ATOMIC_FLAG_INIT;

static void held_enter(void) {
  while (atomic_flag_test_and_set_explicit(&held_guard, memory_order_acquire)) {
  }
}
static void held_leave(void) { atomic_flag_clear_explicit(&held_guard, memory_order_release); }

/* Out of memory only loses the "ours" shortcut: our own store's cores are then refused
 * (HC_ERR_LOCKED), never let through wrongly. */
static void held_add(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return;
  held_enter();
  if (hc_grow((void **)&held, &held_cap, nheld + 1, sizeof *held, 16)) {
    held_leave();
    return;
  }
  held[nheld++] = (held_file){st.st_dev, st.st_ino, fd};
  held_leave();
}

/* By descriptor and file: an entry left by a descriptor closed without hc__lock_release
 * (same number, another file) is not taken for this one. */
static void held_remove(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return;
  held_enter();
  for (size_t i = 0; i < nheld; i++) {
    if (held[i].fd != fd || held[i].dev != st.st_dev || held[i].ino != st.st_ino) continue;
    held[i] = held[--nheld];
    break;
  }
  if (nheld == 0) {
    free(held);
    held = NULL;
    held_cap = 0;
  }
  held_leave();
}

static bool held_has(const struct stat *st) {
  bool found = false;
  held_enter();
  for (size_t i = 0; i < nheld && !found; i++)
    found = held[i].dev == st->st_dev && held[i].ino == st->st_ino;
  held_leave();
  return found;
}

int hc__lock_fd(int fd) {
  int rc = ofd_lock(fd);
  if (rc) return rc;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) return lock_errno(errno);
  held_add(fd);
  return HC_OK;
}

void hc__lock_release(int fd) {
  if (fd < 0) return;
  held_remove(fd);
  close(fd);
}

static bool hex_name(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

/* Splits the last path component off p (trailing slashes ignored): returns its start, sets
 * *len, and cuts p before it. NULL when there is none. */
static const char *pop_component(char *p, size_t *len) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = 0;
  char *slash = strrchr(p, '/');
  const char *name = slash ? slash + 1 : p;
  *len = strlen(name);
  if (!*len) return NULL;
  if (slash == p) p[1] = 0; /* "/x": the root stays */
  else if (slash) *slash = 0;
  else p[0] = 0;
  return name;
}

int hc__lock_store_of_core(const char *dir, int *fd_out) {
  *fd_out = -1;
  char p[PATH_MAX], dk[65];
  if (strlen(dir) >= sizeof p) return HC_OK;
  strcpy(p, dir);
  size_t n;
  const char *c = pop_component(p, &n);
  if (!c || n != 64 || !hex_name(c, 64)) return HC_OK;
  memcpy(dk, c, 65);
  c = pop_component(p, &n);
  if (!c || n != 2 || memcmp(c, dk + 2, 2) != 0) return HC_OK;
  c = pop_component(p, &n);
  if (!c || n != 2 || memcmp(c, dk, 2) != 0) return HC_OK;
  c = pop_component(p, &n);
  if (!c || n != 5 || memcmp(c, "cores", 5) != 0) return HC_OK;
  char pk[PATH_MAX + 16];
  snprintf(pk, sizeof pk, "%s/primary-key", *p ? p : ".");
  int fd = open(pk, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return HC_OK; /* not a store (or not one we can read): nothing to coordinate */
  struct stat st;
  if (fstat(fd, &st) < 0 || held_has(&st)) {
    close(fd);
    return HC_OK; /* our own store holds it */
  }
#ifdef F_OFD_SETLK
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_OFD_SETLK, &fl) < 0 && errno != EINVAL) {
    int rc = lock_errno(errno);
    close(fd);
    return rc;
  }
#endif
  *fd_out = fd;
  return HC_OK;
}

int hc__lock_file_open(const char *path, bool create, int *fd_out) {
  *fd_out = -1;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno == ENOENT ? HC_ERR_NOT_FOUND : HC_ERR_IO;
  int rc = hc__lock_fd(fd);
  if (rc) {
    close(fd);
    return rc;
  }
  *fd_out = fd;
  return HC_OK;
}
