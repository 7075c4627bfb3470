/* File storage backend: one file per name in a directory, like random-access-file.
 * The only module with POSIX file I/O. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hypercore/storage.h"
#include "lock.h"

typedef struct file_factory {
  hc_storage_factory base;
  char *dir;
  int dir_synced;
} file_factory;

typedef struct file_storage {
  hc_storage base;
  int fd;
  bool locked;  /* fd holds the writer's lock (hc__lock_fd) */
  int store_fd; /* the shared lock on the enclosing store's primary-key, or -1 (lock.h) */
} file_storage;

static int errno_to_hc(int e) {
  switch (e) {
    case ENOSPC:
    case EDQUOT: return HC_ERR_NOSPC;
    case ENOMEM: return HC_ERR_NOMEM;
    case ENOENT: return HC_ERR_NOT_FOUND;
    case EWOULDBLOCK: return HC_ERR_LOCKED;
    default: return HC_ERR_IO;
  }
}

static int f_read(hc_storage *st, uint64_t off, void *buf, size_t len) {
  int fd = ((file_storage *)st)->fd;
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_to_hc(errno);
    }
    if (n == 0) {
      memset((uint8_t *)buf + done, 0, len - done);
      return HC_ERR_SHORT_READ;
    }
    done += (size_t)n;
  }
  return HC_OK;
}

static int f_write(hc_storage *st, uint64_t off, const void *buf, size_t len) {
  int fd = ((file_storage *)st)->fd;
  size_t done = 0;
  if (off > (uint64_t)INT64_MAX - len) return HC_ERR_INVALID_ARG;
  while (done < len) {
    ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_to_hc(errno);
    }
    done += (size_t)n;
  }
  return HC_OK;
}

/* pwritev in rounds of at most IOV_BATCH buffers, resuming after short writes. */
#define IOV_BATCH 1024 /* Linux IOV_MAX */
static int f_writev(hc_storage *st, uint64_t off, const hc_buf *bufs, size_t n) {
  int fd = ((file_storage *)st)->fd;
  struct iovec iov[IOV_BATCH];
  size_t i = 0, skip = 0; /* next buffer, bytes of it already written */
  uint64_t total = 0;
  for (size_t k = 0; k < n; k++) total += bufs[k].len;
  if (off > (uint64_t)INT64_MAX - total) return HC_ERR_INVALID_ARG;
  while (i < n) {
    int cnt = 0;
    for (size_t k = i; k < n && cnt < IOV_BATCH; k++) {
      size_t s = k == i ? skip : 0;
      if (bufs[k].len == s) continue;
      iov[cnt].iov_base = (void *)(bufs[k].data + s);
      iov[cnt].iov_len = bufs[k].len - s;
      cnt++;
    }
    if (cnt == 0) break;
    ssize_t w = pwritev(fd, iov, cnt, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_to_hc(errno);
    }
    if (w == 0) return HC_ERR_IO;
    off += (uint64_t)w;
    size_t left = (size_t)w;
    while (i < n && left >= bufs[i].len - skip) {
      left -= bufs[i].len - skip;
      skip = 0;
      i++;
    }
    skip += left;
  }
  return HC_OK;
}

static int f_stat(hc_storage *st, uint64_t *size, uint64_t *allocated) {
  struct stat s;
  if (fstat(((file_storage *)st)->fd, &s) < 0) return errno_to_hc(errno);
  if (size) *size = (uint64_t)s.st_size;
  if (allocated) *allocated = (uint64_t)s.st_blocks * 512;
  return HC_OK;
}

static int f_del(hc_storage *st, uint64_t off, uint64_t len) {
  int fd = ((file_storage *)st)->fd;
  uint64_t size;
  int rc = f_stat(st, &size, NULL);
  if (rc) return rc;
  if (off >= size || len == 0) return HC_OK;
  if (len > size - off) len = size - off;
#ifdef FALLOC_FL_PUNCH_HOLE
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
    return HC_OK;
#endif
  /* No hole punching here: write zeros so the range still reads back as zeros. */
  uint8_t zero[4096] = {0};
  while (len) {
    size_t n = len < sizeof zero ? (size_t)len : sizeof zero;
    rc = f_write(st, off, zero, n);
    if (rc) return rc;
    off += n;
    len -= n;
  }
  return HC_OK;
}

static int f_truncate(hc_storage *st, uint64_t size) {
  if (ftruncate(((file_storage *)st)->fd, (off_t)size) < 0) return errno_to_hc(errno);
  return HC_OK;
}

static int f_sync(hc_storage *st) {
  if (fdatasync(((file_storage *)st)->fd) < 0) return errno_to_hc(errno);
  return HC_OK;
}

static void f_close(hc_storage *st) {
  file_storage *f = (file_storage *)st;
  if (f->locked) hc__lock_release(f->fd); /* also drops the locks */
  else close(f->fd);
  hc__lock_release(f->store_fd);
  free(f);
}

static const hc_storage_methods file_methods = {
    HC_STORAGE_METHODS_VERSION, f_read, f_write, f_del, f_truncate, f_stat, f_sync, f_close,
    f_writev};

static int mkdirs(const char *dir) {
  char buf[PATH_MAX];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof buf) return HC_ERR_INVALID_ARG;
  memcpy(buf, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (mkdir(buf, 0755) < 0 && errno != EEXIST) return errno_to_hc(errno);
      buf[i] = c;
    }
  }
  return HC_OK;
}

static void sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static int f_open(hc_storage_factory *base, const char *name, unsigned flags, hc_storage **out) {
  file_factory *ff = (file_factory *)base;
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", ff->dir, name) >= (int)sizeof path)
    return HC_ERR_INVALID_ARG;
  /* a core inside a corestore 6 store: the store's lock first (nothing created if refused) */
  int store_fd = -1;
  if (flags & HC_STORAGE_LOCK) {
    int rc = hc__lock_store_of_core(ff->dir, &store_fd);
    if (rc) return rc;
  }
  int oflags = (flags & HC_STORAGE_READONLY) ? O_RDONLY : O_RDWR;
  int fd = open(path, oflags | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && (flags & HC_STORAGE_CREATE) && !(flags & HC_STORAGE_READONLY)) {
    int rc = mkdirs(ff->dir);
    if (rc) {
      hc__lock_release(store_fd);
      return rc;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) sync_dir(ff->dir);
  }
  if (fd < 0) {
    int rc = errno_to_hc(errno);
    hc__lock_release(store_fd);
    return rc;
  }
  if (flags & HC_STORAGE_LOCK) {
    /* the lock JS 10.38.2 takes on its oplog (fcntl OFD), and our earlier flock: lock.h */
    int rc = hc__lock_fd(fd);
    if (rc) {
      hc__lock_release(fd);
      hc__lock_release(store_fd);
      return rc;
    }
  }
  file_storage *f = calloc(1, sizeof *f);
  if (!f) {
    if (flags & HC_STORAGE_LOCK) hc__lock_release(fd);
    else close(fd);
    hc__lock_release(store_fd);
    return HC_ERR_NOMEM;
  }
  f->base.methods = &file_methods;
  f->fd = fd;
  f->locked = (flags & HC_STORAGE_LOCK) != 0;
  f->store_fd = store_fd;
  *out = &f->base;
  return HC_OK;
}

static int f_destroy(hc_storage_factory *base) {
  file_factory *ff = (file_factory *)base;
  static const char *names[] = {"oplog", "tree", "bitfield", "data", "header"};
  char path[PATH_MAX];
  int rc = HC_OK;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(path, sizeof path, "%s/%s", ff->dir, names[i]);
    if (unlink(path) < 0 && errno != ENOENT) rc = errno_to_hc(errno);
  }
  rmdir(ff->dir); /* only if empty */
  return rc;
}

static void f_free(hc_storage_factory *base) {
  file_factory *ff = (file_factory *)base;
  free(ff->dir);
  free(ff);
}

int hc_storage_file_factory_new(hc_storage_factory **out, const char *dir) {
  if (!dir || !*dir) return HC_ERR_INVALID_ARG;
  file_factory *ff = calloc(1, sizeof *ff);
  if (!ff) return HC_ERR_NOMEM;
  ff->dir = strdup(dir);
  if (!ff->dir) {
    free(ff);
    return HC_ERR_NOMEM;
  }
  ff->base.version = 1;
  ff->base.open = f_open;
  ff->base.destroy = f_destroy;
  ff->base.free = f_free;
  *out = &ff->base;
  return HC_OK;
}
