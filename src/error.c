/* Error table, hex helpers, hc_free. */
#include <stdlib.h>
#include <string.h>

#include "hypercore.h"

const char *hc_strerror(int err) {
  switch (err) {
#define HC__ERR_MSG(name, value, msg) \
  case value:                         \
    return msg;
    HC_ERRNO_MAP(HC__ERR_MSG)
#undef HC__ERR_MSG
  }
  return "unknown error";
}

const char *hc_err_name(int err) {
  switch (err) {
#define HC__ERR_NAME(name, value, msg) \
  case value:                          \
    return #name;
    HC_ERRNO_MAP(HC__ERR_NAME)
#undef HC__ERR_NAME
  }
  return "HC_ERR_UNKNOWN";
}

void hc_free(void *p) { free(p); }

void hc_hex_encode(char *out, const uint8_t *in, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int hc_hex_decode(uint8_t *out, size_t len, const char *hex) {
  if (!hex || strlen(hex) != 2 * len) return HC_ERR_INVALID_ARG;
  for (size_t i = 0; i < len; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return HC_ERR_INVALID_ARG;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return HC_OK;
}
