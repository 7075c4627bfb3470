/* The helpers the code-structure step introduced: hc_grow (overflow-checked array growth),
 * the two-pass encode helpers, and the sets carved out of replicator.c (inflight_bits.c,
 * node_set.c), each against a plain model. */
#include <stdint.h>

#include "bitfield.h"
#include "encoding.h"
#include "grow.h"
#include "inflight_bits.h"
#include "node_set.h"
#include "test_util.h"

static void test_grow(void) {
  uint32_t *a = NULL;
  size_t cap = 0;
  CHECK_OK(hc_grow((void **)&a, &cap, 1, sizeof *a, 8));
  CHECK_EQ(cap, 8);
  CHECK_OK(hc_grow((void **)&a, &cap, 8, sizeof *a, 8)); /* fits: unchanged */
  CHECK_EQ(cap, 8);
  CHECK_OK(hc_grow((void **)&a, &cap, 9, sizeof *a, 8)); /* doubles */
  CHECK_EQ(cap, 16);
  CHECK_OK(hc_grow((void **)&a, &cap, 100, sizeof *a, 8)); /* doubles until it fits */
  CHECK_EQ(cap, 128);
  for (uint32_t i = 0; i < 128; i++) a[i] = i;
  /* sizes whose byte count overflows are refused and leave the array as it was */
  uint32_t *before = a;
  CHECK_RC(hc_grow((void **)&a, &cap, SIZE_MAX / 2, sizeof *a, 8), HC_ERR_NOMEM);
  CHECK_RC(hc_grow((void **)&a, &cap, SIZE_MAX, 1, 8), HC_ERR_NOMEM);
  CHECK(a == before && cap == 128 && a[127] == 127);
  free(a);
  /* first capacity 0 means 1 */
  uint8_t *b = NULL;
  cap = 0;
  CHECK_OK(hc_grow((void **)&b, &cap, 3, 1, 0));
  CHECK_EQ(cap, 4);
  free(b);
}

typedef struct item {
  uint64_t a;
  const char *s;
  int fail; /* 1: the encoder returns an error; 2: the second pass writes one byte more */
  int *calls;
} item;

static int enc_item(hc_enc *e, const void *p) {
  const item *it = p;
  (*it->calls)++;
  if (it->fail == 1) return HC_ERR_INVALID_ARG;
  hc_enc_uint(e, it->a);
  hc_enc_string(e, it->s, strlen(it->s));
  if (it->fail == 2 && e->buf) hc_enc_u8(e, 0);
  return HC_OK;
}

static void test_encode(void) {
  int calls = 0;
  item it = {300, "hello", 0, &calls};
  /* the reference bytes: one pass into a big enough buffer */
  uint8_t want[64];
  hc_enc e;
  hc_enc_init(&e, want, sizeof want);
  hc_enc_uint(&e, 300);
  hc_enc_string(&e, "hello", 5);
  size_t wlen = e.pos;

  uint8_t *out = NULL;
  size_t len = 0;
  CHECK_OK(hc_encode_alloc(enc_item, &it, 8, 2, NULL, 0, &out, &len));
  CHECK_EQ(len, wlen);
  CHECK_MEM(out + 8, want, wlen);
  CHECK_EQ(calls, 2); /* two passes */
  free(out);

  uint8_t stack[16];
  CHECK_OK(hc_encode_alloc(enc_item, &it, 0, 0, stack, sizeof stack, &out, &len));
  CHECK(out == stack);
  CHECK_MEM(stack, want, wlen);
  CHECK_OK(hc_encode_alloc(enc_item, &it, 0, 0, stack, wlen - 1, &out, &len)); /* too small */
  CHECK(out != stack);
  CHECK_MEM(out, want, wlen);
  free(out);

  /* errors: the encoder's, or a second pass that disagrees with the first; outputs untouched */
  out = (uint8_t *)"x";
  it.fail = 1;
  CHECK_RC(hc_encode_alloc(enc_item, &it, 0, 0, NULL, 0, &out, &len), HC_ERR_INVALID_ARG);
  it.fail = 2;
  CHECK_RC(hc_encode_alloc(enc_item, &it, 0, 0, NULL, 0, &out, &len), HC_ERR_NOBUF);
  CHECK(out[0] == 'x');
  it.fail = 0;

  /* append: after what is there, growing the buffer */
  uint8_t *buf = NULL;
  size_t cap = 0, used = 0;
  for (int i = 0; i < 50; i++) {
    CHECK_OK(hc_encode_append(enc_item, &it, 3, &buf, used, &cap, 4, &len));
    CHECK_EQ(len, wlen);
    CHECK_MEM(buf + used + 3, want, wlen);
    used += 3 + len;
  }
  CHECK(cap >= used);
  for (int i = 0; i < 50; i++) CHECK_MEM(buf + (size_t)i * (3 + wlen) + 3, want, wlen);
  free(buf);

  /* into: size only, too small (length still told), exact */
  uint8_t dst[64];
  CHECK_OK(hc_encode_into(enc_item, &it, NULL, 0, &len));
  CHECK_EQ(len, wlen);
  len = 0;
  CHECK_RC(hc_encode_into(enc_item, &it, dst, wlen - 1, &len), HC_ERR_NOBUF);
  CHECK_EQ(len, wlen);
  CHECK_OK(hc_encode_into(enc_item, &it, dst, wlen, &len));
  CHECK_MEM(dst, want, wlen);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void test_inflight_bits(void) {
  enum { N = 1u << 16 };
  static bool model[N];
  hc_ibits b;
  memset(&b, 0, sizeof b);
  for (int k = 0; k < 200000; k++) {
    uint64_t i = rnd() % N;
    bool v = rnd() & 1;
    CHECK_OK(hc_ibits_set(&b, i * 37 % N + (uint64_t)(i & 7) * ((uint64_t)1 << 40), v));
    model[i] = v;
  }
  for (uint64_t i = 0; i < N; i++)
    CHECK_EQ(hc_ibits_get(&b, i * 37 % N + (i & 7) * ((uint64_t)1 << 40)), model[i]);
  CHECK(!hc_ibits_get(&b, (uint64_t)1 << 50));
  hc_ibits_free(&b);
  /* the cap: one bit in each of more pages than allowed */
  uint64_t page_bits = HC_BITFIELD_PAGE_BITS;
  int rc = HC_OK;
  uint64_t p = 0;
  for (; p < HC_INFLIGHT_MAX_PAGES + 1 && rc == HC_OK; p++)
    rc = hc_ibits_set(&b, p * page_bits, true);
  CHECK_RC(rc, HC_ERR_PROTOCOL);
  CHECK_EQ(p, HC_INFLIGHT_MAX_PAGES + 1);
  CHECK_OK(hc_ibits_set(&b, 5 * page_bits + 1, true)); /* an existing page still takes bits */
  CHECK_OK(hc_ibits_set(&b, (uint64_t)1 << 60, false)); /* clearing never allocates */
  hc_ibits_free(&b);
}

static void test_node_set(void) {
  enum { N = 5000 };
  static uint32_t model[N];
  hc_nset s;
  memset(&s, 0, sizeof s);
  for (int k = 0; k < 100000; k++) {
    uint64_t i = rnd() % N;
    if (rnd() % 3) {
      hc_nset_add(&s, i * 1000003);
      model[i]++;
    } else {
      hc_nset_remove(&s, i * 1000003);
      if (model[i]) model[i]--;
    }
  }
  for (uint64_t i = 0; i < N; i++) CHECK_EQ(hc_nset_has(&s, i * 1000003), model[i] > 0);
  /* drain everything: the backward-shift deletion keeps every other key findable */
  for (uint64_t i = 0; i < N; i++) {
    while (model[i]) {
      hc_nset_remove(&s, i * 1000003);
      model[i]--;
    }
    if (i % 97 == 0)
      for (uint64_t j = i + 1; j < N; j++) CHECK_EQ(hc_nset_has(&s, j * 1000003), model[j] > 0);
  }
  CHECK_EQ(s.count, 0);
  hc_nset_free(&s);
}

int main(void) {
  test_grow();
  test_encode();
  test_inflight_bits();
  test_node_set();
  printf("test_grow: ok\n");
  return 0;
}
