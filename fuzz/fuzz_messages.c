/* libFuzzer: hypercore wire message decoders (re-encode must reproduce the consumed bytes for
 * canonical input) and the protomux frame decoder. First input byte picks the target. */
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "hypercore/common.h"
#include "messages.h"
#include "protomux.h"

static int sink_send(void *user, const uint8_t *f, size_t len) {
  (void)user;
  (void)f;
  (void)len;
  return HC_OK;
}

static int accept_some(void *user, hc_mux *mux, const char *proto, size_t plen,
                       const uint8_t *id, size_t idlen) {
  (void)user;
  if (plen && proto[0] == 'd') return HC_MUX_DEFER;
  if (plen && proto[0] == 'a') {
    hc_mux_channel_opts o = {proto, NULL, 0, id, idlen, NULL, 0, NULL};
    hc_mux_channel *ch;
    return hc_mux_open_channel(mux, &o, &ch) == HC_ERR_NOMEM ? HC_ERR_NOMEM : HC_OK;
  }
  return HC_OK;
}

static void fuzz_mux(const uint8_t *data, size_t size) {
  hc_mux_callbacks cb = {sink_send, NULL, NULL, NULL, accept_some};
  hc_mux *mux;
  if (hc_mux_new(&mux, &cb, NULL) != HC_OK) return;
  /* frames separated by a 1-byte length prefix */
  size_t i = 0;
  while (i < size) {
    size_t n = data[i++];
    if (n > size - i) n = size - i;
    if (hc_mux_feed_frame(mux, data + i, n) != HC_OK) {
      hc_mux_destroy(mux);
      break;
    }
    i += n;
  }
  hc_mux_free(mux);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t which = data[0] % 12;
  data++;
  size--;
  if (which == 11) {
    fuzz_mux(data, size);
    return 0;
  }
  hc_dec d;
  hc_dec_init(&d, data, size);
  uint8_t out[1 << 16];
  hc_enc e;
  hc_enc_init(&e, out, sizeof out);
  switch (which) {
    case HC_MSG_SYNC: { hc_msg_sync m; if (!hc_msg_sync_decode(&d, &m)) hc_msg_sync_encode(&e, &m); break; }
    case HC_MSG_REQUEST: { hc_msg_request m; if (!hc_msg_request_decode(&d, &m)) hc_msg_request_encode(&e, &m); break; }
    case HC_MSG_CANCEL: { hc_msg_cancel m; if (!hc_msg_cancel_decode(&d, &m)) hc_msg_cancel_encode(&e, &m); break; }
    case HC_MSG_DATA: {
      hc_proof p;
      if (hc_msg_data_decode(data, size, &p) == HC_OK) {
        hc_msg_data_encode(&e, &p);
        hc_proof_cleanup(&p);
      }
      break;
    }
    case HC_MSG_NO_DATA: { hc_msg_no_data m; if (!hc_msg_no_data_decode(&d, &m)) hc_msg_no_data_encode(&e, &m); break; }
    case HC_MSG_WANT: case HC_MSG_UNWANT: { hc_msg_want m; if (!hc_msg_want_decode(&d, &m)) hc_msg_want_encode(&e, &m); break; }
    case HC_MSG_BITFIELD: { hc_msg_bitfield m; if (!hc_msg_bitfield_decode(&d, &m)) hc_msg_bitfield_encode(&e, &m); break; }
    case HC_MSG_RANGE: { hc_msg_range m; if (!hc_msg_range_decode(&d, &m)) hc_msg_range_encode(&e, &m); break; }
    case HC_MSG_EXTENSION: { hc_msg_extension m; if (!hc_msg_extension_decode(&d, &m)) hc_msg_extension_encode(&e, &m); break; }
    case 10: { hc_msg_handshake m; if (!hc_msg_handshake_decode(&d, &m)) hc_msg_handshake_encode(&e, &m); break; }
  }
  return 0;
}
