/* libFuzzer: a core opened from a valid oplog and data file (12 signed blocks, built once)
 * with a fuzzed `tree` and `bitfield` (input: 2-byte tree length, tree, bitfield). The tree is
 * untrusted: whatever it says, hc_core_get_verified only ever returns the real bytes of that
 * block, and hc_core_verify OK means every stored block verifies. */
#include "fuzz_util.h"

#define NB 12
static const char *NAMES[4] = {"oplog", "data", "tree", "bitfield"};
static uint8_t *base_oplog, *base_data;
static size_t base_oplog_len, base_data_len;

static size_t block(uint64_t i, uint8_t *buf) {
  size_t len = 1 + (size_t)(i * 29 % 70);
  for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)(i * 17 + k);
  return len;
}

static uint8_t *slurp(hc_storage_factory *f, const char *name, size_t *len) {
  hc_storage *st;
  uint64_t sz;
  if (f->open(f, name, 0, &st)) abort();
  if (hc_storage_stat(st, &sz, NULL)) abort();
  uint8_t *b = malloc(sz ? (size_t)sz : 1);
  if (!b || hc_storage_read(st, 0, b, (size_t)sz)) abort();
  hc_storage_close(st);
  *len = (size_t)sz;
  return b;
}

static void build_base(void) {
  static const uint8_t seed[32] = {42};
  hc_storage_factory *mem;
  if (hc_storage_memory_factory_new(&mem)) abort();
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = seed;
  hc_core *c;
  if (hc_core_open(&c, mem, &o)) abort();
  for (uint64_t i = 0; i < NB; i++) {
    uint8_t b[128];
    hc_buf hb = {b, block(i, b)};
    if (hc_core_append(c, &hb, 1, NULL, NULL)) abort();
  }
  if (hc_core_flush(c)) abort();
  hc_core_close(c);
  base_oplog = slurp(mem, "oplog", &base_oplog_len);
  base_data = slurp(mem, "data", &base_data_len);
  /* HC_FUZZ_WRITE_SEED=DIR: write the valid inputs (seeds for this target and for
   * fuzz_core_open) made from the base core, for fuzz/make_corpus.sh */
  const char *dir = getenv("HC_FUZZ_WRITE_SEED");
  if (dir) {
    size_t tl, bl;
    uint8_t *t = slurp(mem, "tree", &tl), *b = slurp(mem, "bitfield", &bl);
    char path[4096];
    snprintf(path, sizeof path, "%s/tree_bitfield.seed", dir);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    uint8_t hdr[2] = {(uint8_t)tl, (uint8_t)(tl >> 8)};
    fwrite(hdr, 1, 2, f);
    fwrite(t, 1, tl, f);
    fwrite(b, 1, bl, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/core_open.seed", dir);
    f = fopen(path, "wb");
    if (!f) abort();
    const uint8_t *parts[4] = {base_oplog, t, b, base_data};
    size_t lens[4] = {base_oplog_len, tl, bl, base_data_len};
    for (int i = 0; i < 4; i++) {
      uint8_t h[2] = {(uint8_t)lens[i], (uint8_t)(lens[i] >> 8)};
      if (i < 3) fwrite(h, 1, 2, f);
      fwrite(parts[i], 1, lens[i], f);
    }
    fclose(f);
    free(t);
    free(b);
  }
  hc_storage_factory_free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!base_oplog) build_base();
  const uint8_t *tb[2];
  size_t tl[2];
  fuzz_split(data, size, 2, tb, tl);
  const uint8_t *p[4] = {base_oplog, base_data, tb[0], tb[1]};
  size_t l[4] = {base_oplog_len, base_data_len, tl[0], tl[1]};
  hc_storage_factory *mem = fuzz_memory(NAMES, p, l, 4);
  if (!mem) return 0;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.no_create = true;
  o.readonly = (size & 1) != 0;
  hc_core *c;
  if (hc_core_open(&c, mem, &o) == HC_OK) {
    FUZZ_ASSERT(hc_core_length(c) == NB);
    bool all = true;
    for (uint64_t i = 0; i < NB; i++) {
      uint8_t got[256], want[128];
      size_t gl, wl = block(i, want);
      int rc = hc_core_get_verified(c, i, got, sizeof got, &gl);
      if (rc == HC_OK) FUZZ_ASSERT(gl == wl && memcmp(got, want, wl) == 0);
      else if (hc_core_has(c, i, i + 1)) all = false;
    }
    uint64_t bad;
    if (hc_core_verify(c, &bad) == HC_OK) FUZZ_ASSERT(all);
    fuzz_exercise_core(c);
    hc_core_close(c);
  }
  hc_storage_factory_free(mem);
  return 0;
}
