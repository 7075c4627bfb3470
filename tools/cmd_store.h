/* `hypercore store` and the STORE:... core paths (tools/cmd_store.c). */
#ifndef HC_CMD_STORE_H
#define HC_CMD_STORE_H

#include <stdbool.h>

/* `hypercore store SUB ...` (argv after "store"); returns the exit status. */
int hc_cli_store(int argc, char **argv);
/* If `arg` is STORE:name/NAME, STORE:ns/HEX64/name/NAME, STORE:key/KEY or STORE:dk/HEX64 of a
 * corestore 6 store, sets *path to the core's directory (malloc'd) and *held to the open store
 * (locked when `writes`) to keep until the command is done (hc_cli_release). `create`: the core
 * may be missing (clone). Returns 0 (also for an ordinary DIR: *path NULL) or an exit status
 * after printing the error. */
int hc_cli_resolve(const char *cmd, const char *arg, bool writes, bool create, char **path,
                   void **held);
void hc_cli_release(void *held);

#endif
