/* The big header next to the oplog: see oplog_ext.h. */
#include "oplog_ext.h"

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "grow.h"

/* Where the new copy goes: at 0 when it fits before the previous one, else after it (4 KiB
 * aligned), so the copy the oplog still points at is never overwritten. */
static uint64_t ext_position(size_t len, uint64_t ext_start, uint64_t ext_length) {
  uint64_t start = 0;
  if (len > ext_start) {
    start = ext_start + ext_length;
    if (start & 4095) start += 4096 - (start & 4095);
  }
  return start;
}

static int enc_header(hc_enc *e, const void *h) {
  hc_oplog_header_encode(e, h);
  return HC_OK;
}

int hc_oplog_ext_write(hc_storage *file, const hc_oplog_header *h, bool sync, uint64_t *ext_start,
                       uint64_t *ext_length, hc_oplog_header *ptr) {
  hc_oplog_header full = *h;
  full.external = false;
  uint8_t *buf;
  size_t len;
  int rc = hc_encode_alloc(enc_header, &full, 0, 0, NULL, 0, &buf, &len);
  if (rc) return rc;
  uint64_t start = ext_position(len, *ext_start, *ext_length);
  rc = hc_storage_write(file, start, buf, len);
  free(buf);
  if (!rc && sync) rc = hc_storage_sync(file); /* before the oplog points at it */
  if (rc) return rc;
  *ext_start = start;
  *ext_length = len;
  memset(ptr, 0, sizeof *ptr);
  ptr->external = true;
  ptr->ext_start = start;
  ptr->ext_length = len;
  return HC_OK;
}

int hc_oplog_ext_read(hc_storage *file, uint64_t start, uint64_t len, hc_oplog_header *out) {
  if (len > HC_OPLOG_EXT_MAX) return HC_ERR_CORRUPT;
  uint8_t *buf = malloc(len ? (size_t)len : 1);
  if (!buf) return HC_ERR_NOMEM;
  int rc = hc_storage_read(file, start, buf, (size_t)len);
  if (!rc) rc = hc_oplog_header_decode(buf, (size_t)len, out);
  free(buf);
  return rc ? HC_ERR_CORRUPT : HC_OK;
}
