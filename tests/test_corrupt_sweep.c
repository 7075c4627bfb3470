/* Corrupt files, systematically. A small core (file backend: 40 blocks over two forks, a
 * truncation, user data, flushed state plus unflushed oplog entries) is damaged one way at a
 * time, in each of oplog, tree, bitfield and data:
 *   - one bit flipped at every byte (every byte of oplog, tree and data; the bitfield's
 *     meaningful bytes and every 7th after them), so every 40-byte tree slot and every oplog
 *     byte is hit,
 *   - truncated to many lengths (every entry/slot boundary region, 0, 1, half, ...),
 *   - garbage appended (random bytes, zeros, a copy of its own tail).
 * For each damaged core: hc_core_open either fails with a storage error code (never
 * crashes), or succeeds, and then every hc_core_get either fails or returns exactly bytes
 * that block held at some point (its fork-0 or fork-1 content), never anything else;
 * hc_core_verify returning OK implies every locally available block reads back correctly.
 * (test_core.c has the hand-picked cases with exact error codes; this is the sweep.) */
#include <sys/stat.h>

#include "crypto.h"
#include "test_util.h"

static const uint8_t SEED[32] = {5, 4, 3, 2, 1};
#define NBLOCKS 40
#define TRUNC_AT 25
#define FORK0_LEN 30

static size_t block_content(int fork, uint64_t i, uint8_t *buf) {
  size_t len = 1 + (size_t)((i * 37 + (uint64_t)fork * 11) % 90);
  for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)(fork * 101 + i * 13 + k);
  return len;
}

static void append_range(hc_core *c, int fork, uint64_t from, uint64_t to, size_t batch) {
  while (from < to) {
    uint8_t bufs[8][128];
    hc_buf b[8];
    size_t n = 0;
    while (n < batch && from + n < to) {
      b[n].len = block_content(fork, from + n, bufs[n]);
      b[n].data = bufs[n];
      n++;
    }
    CHECK_OK(hc_core_append(c, b, n, NULL, NULL));
    from += n;
  }
}

static const char *NAMES[4] = {"oplog", "tree", "bitfield", "data"};

typedef struct files {
  uint8_t *data[4];
  size_t len[4];
} files;

typedef struct counters {
  uint64_t tried, opened, open_failed, verify_failed, reads_ok, reads_failed;
  uint64_t per_file[4];
} counters;

static bool is_expected_error(int rc) {
  return rc == HC_ERR_CORRUPT || rc == HC_ERR_NO_CORE || rc == HC_ERR_INCOMPATIBLE ||
         rc == HC_ERR_DECODE || rc == HC_ERR_KEY_MISMATCH || rc == HC_ERR_BAD_SIGNATURE ||
         rc == HC_ERR_BAD_CHECKSUM;
}

static bool is_expected_get_error(int rc) {
  return rc == HC_ERR_BAD_CHECKSUM || rc == HC_ERR_CORRUPT || rc == HC_ERR_NOT_AVAILABLE ||
         rc == HC_ERR_OUT_OF_RANGE || rc == HC_ERR_NOBUF;
}

/* Opens the damaged file set and checks the guarantees. what/where describe the damage. */
static void try_files(const files *fs, counters *ct, int file, const char *what, size_t where) {
  hc_storage_factory *mem;
  CHECK_OK(hc_storage_memory_factory_new(&mem));
  for (int f = 0; f < 4; f++) {
    hc_storage *st;
    CHECK_OK(mem->open(mem, NAMES[f], HC_STORAGE_CREATE, &st));
    if (fs->len[f]) CHECK_OK(hc_storage_write(st, 0, fs->data[f], fs->len[f]));
    hc_storage_close(st);
  }
  ct->tried++;
  ct->per_file[file]++;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.no_create = true;
  hc_core *c;
  int rc = hc_core_open(&c, mem, &o);
  if (rc != HC_OK) {
    if (!is_expected_error(rc)) {
      fprintf(stderr, "%s %s @%zu: open returned %s\n", NAMES[file], what, where, hc_err_name(rc));
      exit(1);
    }
    ct->open_failed++;
    hc_storage_factory_free(mem);
    return;
  }
  ct->opened++;
  uint64_t len = hc_core_length(c);
  bool all_good = true;
  for (uint64_t i = 0; i < len + 2; i++) {
    uint8_t got[256], want0[128], want1[128];
    size_t gl = 0;
    rc = hc_core_get(c, i, got, sizeof got, &gl);
    if (rc != HC_OK) {
      if (!is_expected_get_error(rc)) {
        fprintf(stderr, "%s %s @%zu: get %" PRIu64 " returned %s\n", NAMES[file], what, where,
                i, hc_err_name(rc));
        exit(1);
      }
      if (i < len && hc_core_has(c, i, i + 1)) all_good = false;
      ct->reads_failed++;
      continue;
    }
    size_t l0 = block_content(0, i, want0), l1 = block_content(1, i, want1);
    bool ok0 = i < FORK0_LEN && gl == l0 && memcmp(got, want0, gl) == 0;
    bool ok1 = i >= TRUNC_AT && i < NBLOCKS && gl == l1 && memcmp(got, want1, gl) == 0;
    if (i >= len || !(ok0 || ok1)) {
      fprintf(stderr, "%s %s @%zu: get %" PRIu64 " returned WRONG bytes (%zu bytes)\n",
              NAMES[file], what, where, i, gl);
      exit(1);
    }
    ct->reads_ok++;
  }
  uint64_t bad;
  rc = hc_core_verify(c, &bad);
  if (rc == HC_OK && !all_good) {
    fprintf(stderr, "%s %s @%zu: verify OK although a stored block does not read back\n",
            NAMES[file], what, where);
    exit(1);
  }
  if (rc != HC_OK) {
    if (!(rc == HC_ERR_BAD_CHECKSUM || rc == HC_ERR_BAD_SIGNATURE || rc == HC_ERR_CORRUPT)) {
      fprintf(stderr, "%s %s @%zu: verify returned %s\n", NAMES[file], what, where,
              hc_err_name(rc));
      exit(1);
    }
    ct->verify_failed++;
  }
  hc_core_close(c);
  hc_storage_factory_free(mem);
}

static uint8_t *read_file(const char *dir, const char *name, size_t *len) {
  char path[4300];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  struct stat st;
  CHECK(fstat(fileno(f), &st) == 0);
  *len = (size_t)st.st_size;
  uint8_t *b = malloc(*len ? *len : 1);
  CHECK(b != NULL);
  CHECK(fread(b, 1, *len, f) == *len);
  fclose(f);
  return b;
}

int main(void) {
  CHECK_OK(hc_crypto_init());
  const char *base = test_tmpdir("corrupt-sweep");
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/core", base);

  /* the core: fork 0 up to 30 blocks, flushed; truncate to 25 (fork 1); 15 more blocks, the
   * last ones only in the oplog; user data in between */
  hc_core *c;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.seed = SEED;
  CHECK_OK(hc_core_open_dir(&c, dir, &o));
  append_range(c, 0, 0, 20, 1);
  append_range(c, 0, 20, FORK0_LEN, 4);
  CHECK_OK(hc_core_flush(c));
  CHECK_OK(hc_core_truncate(c, TRUNC_AT));
  CHECK_OK(hc_core_set_user_data(c, "who", (const uint8_t *)"sweep", 5));
  append_range(c, 1, TRUNC_AT, 33, 3);
  CHECK_OK(hc_core_clear(c, 2, 4, NULL));
  append_range(c, 1, 33, NBLOCKS, 2);
  CHECK_EQ(hc_core_length(c), NBLOCKS);
  hc_core_close(c);

  files good;
  for (int f = 0; f < 4; f++) good.data[f] = read_file(dir, NAMES[f], &good.len[f]);
  CHECK(good.len[0] > 8192); /* unflushed entries after the two header pages */
  counters ct;
  memset(&ct, 0, sizeof ct);

  /* the undamaged core passes the checks itself (and has unflushed entries) */
  try_files(&good, &ct, 0, "none", 0);
  CHECK_EQ(ct.opened, 1);

  uint8_t *scratch = malloc(good.len[0] + good.len[1] + good.len[2] + good.len[3] + 8192);
  CHECK(scratch != NULL);
  uint64_t rng = 12345;
  for (int f = 0; f < 4; f++) {
    files fs = good;
    size_t n = good.len[f];
    /* bit flips */
    size_t meaningful = n;
    if (f == 2) { /* bitfield: only the first bytes hold bits */
      meaningful = 16;
    }
    for (size_t p = 0; p < n; p++) {
      if (p >= meaningful && p % 7 != 0) continue;
      memcpy(scratch, good.data[f], n);
      scratch[p] ^= (uint8_t)(1u << (p % 8));
      fs.data[f] = scratch;
      try_files(&fs, &ct, f, "bitflip", p);
    }
    /* truncations: 0, 1, then every 13 bytes, and the last 64 lengths one by one */
    for (size_t l = 0; l < n; l++) {
      if (!(l < 2 || l % 13 == 0 || l + 64 >= n)) continue;
      fs.data[f] = good.data[f];
      fs.len[f] = l;
      try_files(&fs, &ct, f, "truncate", l);
    }
    fs.len[f] = n;
    /* garbage after the end: random, zeros, a copy of the tail */
    static const size_t sizes[] = {1, 3, 8, 40, 41, 100, 512, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      for (int kind = 0; kind < 3; kind++) {
        size_t g = sizes[s];
        memcpy(scratch, good.data[f], n);
        for (size_t k = 0; k < g; k++) {
          rng = rng * 6364136223846793005ull + 1442695040888963407ull;
          scratch[n + k] = kind == 0 ? (uint8_t)(rng >> 56)
                           : kind == 1 ? 0
                                       : good.data[f][n >= g ? n - g + k : k % (n ? n : 1)];
        }
        fs.data[f] = scratch;
        fs.len[f] = n + g;
        try_files(&fs, &ct, f, kind == 0 ? "garbage" : kind == 1 ? "zeros" : "tail-copy", g);
      }
    }
  }
  free(scratch);
  printf("corrupt inputs tried: %" PRIu64 " (oplog %" PRIu64 ", tree %" PRIu64
         ", bitfield %" PRIu64 ", data %" PRIu64 ")\n",
         ct.tried, ct.per_file[0], ct.per_file[1], ct.per_file[2], ct.per_file[3]);
  printf("  open refused %" PRIu64 ", opened %" PRIu64 " (verify failed on %" PRIu64
         "), block reads ok %" PRIu64 " / refused %" PRIu64 ", wrong bytes 0\n",
         ct.open_failed, ct.opened, ct.verify_failed, ct.reads_ok, ct.reads_failed);
  for (int f = 0; f < 4; f++) free(good.data[f]);
  printf("test_corrupt_sweep: ok\n");
  return 0;
}
