/* File locks compatible with the JS reference (see lock.h). */
#define _GNU_SOURCE
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

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

int hc__lock_fd(int fd) {
  int rc = ofd_lock(fd);
  if (rc) return rc;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) return lock_errno(errno);
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
