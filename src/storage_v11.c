/* Recognises the on-disk storage of JS hypercore 11 / corestore 7 (hypercore-storage: a
 * `CORESTORE` file and a RocksDB `db/` folder), which this library does not read, so that
 * users get "this is hypercore 11 storage" instead of "no core" or, worse, a fresh v10 core
 * written next to it. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "hypercore.h"

static bool path_is(const char *dir, const char *name, bool want_dir) {
  char path[PATH_MAX];
  struct stat st;
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return false;
  if (stat(path, &st) < 0) return false;
  return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

int hc_storage_dir_check(const char *dir) {
  if (!dir || !*dir) return HC_ERR_INVALID_ARG;
  /* A v10 core keeps its oplog at the top: that wins (v11 moves it into db/ when it
   * converts a directory, so both at once means v10 files were put back by hand). */
  if (path_is(dir, "oplog", false)) return HC_OK;
  if (path_is(dir, "CORESTORE", false)) return HC_ERR_STORAGE_V11;
  /* RocksDB keeps CURRENT (the name of the live MANIFEST) in every database folder. */
  if (path_is(dir, "db", true) && path_is(dir, "db/CURRENT", false)) return HC_ERR_STORAGE_V11;
  return HC_OK;
}
