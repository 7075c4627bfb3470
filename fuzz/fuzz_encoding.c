/* libFuzzer: the compact-encoding decoders (hc_dec_*). The first byte of every step picks a
 * decoder; decoding runs until the sticky error. Every value decoded re-encodes to bytes that
 * decode to the same value, and nothing reads past the input (ASan). */
#include "encoding.h"
#include "fuzz_util.h"

static void roundtrip_uint(uint64_t v) {
  uint8_t b[16];
  hc_enc e;
  hc_enc_init(&e, b, sizeof b);
  hc_enc_uint(&e, v);
  FUZZ_ASSERT(e.err == 0 && e.pos == hc_enc_uint_len(v));
  hc_dec d;
  hc_dec_init(&d, b, e.pos);
  FUZZ_ASSERT(hc_dec_uint(&d) == v && d.err == 0 && hc_dec_left(&d) == 0);
}

static void roundtrip_buffer(const uint8_t *p, size_t n) {
  uint8_t *b = malloc(n + 16);
  if (!b) return;
  hc_enc e;
  hc_enc_init(&e, b, n + 16);
  hc_enc_buffer(&e, p, n);
  FUZZ_ASSERT(e.err == 0);
  hc_dec d;
  hc_dec_init(&d, b, e.pos);
  size_t l;
  const uint8_t *q = hc_dec_buffer(&d, &l);
  FUZZ_ASSERT(d.err == 0 && l == n && (n == 0 || memcmp(q, p, n) == 0));
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  hc_dec d;
  hc_dec_init(&d, data + 1, size - 1);
  uint8_t sel = data[0];
  int steps = 0;
  while (!d.err && hc_dec_left(&d) > 0 && steps++ < 4096) {
    switch ((sel + steps) % 9) {
      case 0: {
        uint64_t v = hc_dec_uint(&d);
        if (!d.err) roundtrip_uint(v);
        break;
      }
      case 1: (void)hc_dec_u8(&d); break;
      case 2: {
        uint32_t v = hc_dec_u32(&d);
        if (!d.err) {
          uint8_t b[4];
          hc_enc e;
          hc_enc_init(&e, b, 4);
          hc_enc_u32(&e, v);
          hc_dec d2;
          hc_dec_init(&d2, b, 4);
          FUZZ_ASSERT(hc_dec_u32(&d2) == v);
        }
        break;
      }
      case 3: {
        uint64_t v = hc_dec_u64(&d);
        if (!d.err) {
          uint8_t b[8];
          hc_enc e;
          hc_enc_init(&e, b, 8);
          hc_enc_u64(&e, v);
          hc_dec d2;
          hc_dec_init(&d2, b, 8);
          FUZZ_ASSERT(hc_dec_u64(&d2) == v);
        }
        break;
      }
      case 4: {
        size_t l;
        const uint8_t *p = hc_dec_buffer(&d, &l);
        if (!d.err) {
          FUZZ_ASSERT(l == 0 || p != NULL);
          roundtrip_buffer(p, l);
        }
        break;
      }
      case 5: {
        uint8_t out[32];
        hc_dec_fixed(&d, out, sizeof out);
        break;
      }
      case 6: {
        size_t n = (size_t)(sel % 70);
        const uint8_t *p = hc_dec_raw(&d, n);
        FUZZ_ASSERT(d.err || p != NULL || n == 0);
        break;
      }
      case 7: {
        uint64_t max = hc_dec_left(&d) / 3;
        uint64_t v = hc_dec_uint_max(&d, max);
        FUZZ_ASSERT(d.err || v <= max);
        break;
      }
      default: {
        /* a zero-length read never fails while there is input */
        (void)hc_dec_raw(&d, 0);
        break;
      }
    }
  }
  /* the error is sticky: further reads give zeros */
  if (d.err) {
    FUZZ_ASSERT(hc_dec_uint(&d) == 0 && hc_dec_u32(&d) == 0 && d.err);
  }
  return 0;
}
