/* File locks that the JS reference sees.
 *
 * hypercore 10.38.2 (random-access-file 4.1.2 with `lock: true`, through fs-native-extensions
 * tryLock) locks its oplog with an fcntl open-file-description lock, F_OFD_SETLK, of type
 * F_WRLCK over the whole file (l_whence SEEK_SET, l_start 0, l_len 0), non-blocking; a
 * read-only file (never opened so by hypercore) would get F_RDLCK. corestore 6.18.4 takes the
 * same lock on `primary-key` instead (its cores' oplogs are then not locked). On macOS
 * fs-native-extensions uses flock(LOCK_EX | LOCK_NB) instead.
 *
 * C takes both: the OFD lock (what JS sees) and flock(LOCK_EX) (what earlier libhypercore
 * versions took). Both belong to the open file description: a second open of the same file,
 * in this process or another, is refused; close(fd) (or the process dying) releases them. */
#ifndef HC_LOCK_H
#define HC_LOCK_H

#include <stdbool.h>

/* Locks the whole file `fd` (opened read-write) exclusively, non-blocking, as above.
 * HC_OK, HC_ERR_LOCKED (another process or open file holds it), or HC_ERR_IO. */
int hc__lock_fd(int fd);

/* Opens `path` read-write (creating it, mode 0644, when `create`) and locks it with
 * hc__lock_fd; *fd_out is the locked descriptor (O_CLOEXEC): read and write through it,
 * hc__lock_release it to unlock. For a corestore's `primary-key`. HC_ERR_NOT_FOUND (missing and !create),
 * HC_ERR_LOCKED, HC_ERR_IO. Nothing is created when the lock is refused on an existing file. */
int hc__lock_file_open(const char *path, bool create, int *fd_out);

/* Closes a descriptor locked by hc__lock_fd / hc__lock_file_open (releasing its locks) and
 * forgets it (this process no longer holds that file). -1 is ignored. */
void hc__lock_release(int fd);

/* A core inside a corestore 6 store: DIR is S/cores/<dk[0:2]>/<dk[2:4]>/<dk hex> and
 * S/primary-key exists. corestore 6 locks only primary-key (F_WRLCK), not the cores' oplogs,
 * so a writer opening such a core directly also takes a shared OFD lock (F_RDLCK) on
 * S/primary-key: corestore 6 (or a C store in another process) cannot open the store while
 * it writes, and it is refused (HC_ERR_LOCKED) while one of them holds the store. Direct
 * writers of different cores of one store do not exclude each other (their oplog locks do
 * that per core). Skipped when this process holds the store lock itself (a C store opening
 * its own cores). *fd_out: the descriptor to hc__lock_release when the core closes, or -1
 * (DIR is not in a store, or the lock is ours already). */
int hc__lock_store_of_core(const char *dir, int *fd_out);

#endif
