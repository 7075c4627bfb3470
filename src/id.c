/* Key ids: z-base-32 (the npm packages z32 / hypercore-id-encoding) and hex. */
#include <string.h>

#include "hypercore/common.h"

static const char Z32[] = "ybndrfg8ejkmcpqxot1uwisza345h769";

void hc_id_encode(char out[HC_ID_CHARS + 1], const uint8_t key[HC_KEY_BYTES]) {
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < HC_KEY_BYTES; i++) {
    acc = (acc << 8) | key[i];
    bits += 8;
    while (bits >= 5) {
      out[o++] = Z32[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out[o++] = Z32[(acc << (5 - bits)) & 31];
  out[o] = 0;
}

static int quintet(char c) {
  const char *p = c ? strchr(Z32, c) : NULL;
  return p ? (int)(p - Z32) : -1;
}

int hc_id_decode(uint8_t key[HC_KEY_BYTES], const char *id) {
  if (!id) return HC_ERR_INVALID_ARG;
  if (strncmp(id, "pear://", 7) == 0) id += 7;
  size_t n = strcspn(id, "/");
  if (n == 2 * HC_KEY_BYTES) {
    char hex[2 * HC_KEY_BYTES + 1];
    memcpy(hex, id, 2 * HC_KEY_BYTES);
    hex[2 * HC_KEY_BYTES] = 0;
    return hc_hex_decode(key, HC_KEY_BYTES, hex);
  }
  if (n != HC_ID_CHARS) return HC_ERR_INVALID_ARG;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int q = quintet(id[i]);
    if (q < 0) return HC_ERR_INVALID_ARG;
    acc = (acc << 5) | (uint32_t)q;
    bits += 5;
    if (bits >= 8) {
      if (o < HC_KEY_BYTES) key[o++] = (uint8_t)(acc >> (bits - 8));
      bits -= 8;
    }
  }
  return o == HC_KEY_BYTES ? HC_OK : HC_ERR_INVALID_ARG;
}
