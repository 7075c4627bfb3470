/* Key material of an open core for the store (kept out of core.c, which is being refactored). */
#include <string.h>

#include "core_internal.h"

int hc__core_secret_key(const hc_core *c, uint8_t out[64]) {
  if (!c->header.has_secret_key) return HC_ERR_NOT_FOUND;
  memcpy(out, c->header.secret_key, 64);
  return HC_OK;
}
