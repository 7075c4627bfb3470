/* `serve --swarm` and `clone --swarm`: the CLI over discovery.h (tools/cmd_swarm.c). */
#ifndef HC_CLI_SWARM_H
#define HC_CLI_SWARM_H

#include <stdbool.h>
#include <stdint.h>

#include "hypercore.h"

#define HC_CLI_SWARM_DEFAULT_TIMEOUT_MS 60000 /* clone --swarm gives up without a peer */

typedef struct hc_cli_swarm_args {
  const char *cmd;       /* command name, for messages */
  const char *dir;       /* the core's directory (holds swarm.seed, the swarm identity) */
  uint64_t start, end;   /* clone: the range */
  bool live;             /* clone: follow appends until interrupted */
  bool stdin_writer;     /* serve: append stdin lines */
  const char *bootstrap; /* NULL: the public DHT */
  uint64_t timeout_ms;   /* clone: give up after this long with no connection */
} hc_cli_swarm_args;

/* Each returns the exit status (0, 1) and prints its own messages. */
int hc_cli_swarm_clone(hc_core *core, const hc_cli_swarm_args *a);
int hc_cli_swarm_serve(hc_core *core, const hc_cli_swarm_args *a);

#endif
