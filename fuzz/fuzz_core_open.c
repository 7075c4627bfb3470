/* libFuzzer: a whole core from fuzzed files (input: 2-byte lengths splitting it into oplog,
 * tree, bitfield, data). Open (read-only and writable), read and verify everything, and when
 * the core is writable append, truncate, clear and reopen: every call returns a code, never
 * crashes or leaks, and a block that passes hc_core_get_verified after a successful append is
 * the appended one. */
#include "fuzz_util.h"
#include "hypercore/fault.h"

static const char *NAMES[4] = {"oplog", "tree", "bitfield", "data"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p[4];
  size_t l[4];
  fuzz_split(data, size, 4, p, l);
  hc_storage_factory *mem = fuzz_memory(NAMES, p, l, 4), *quota = NULL;
  if (!mem) return 0;
  /* a 64 MiB disk: a corrupt tree can put the next append at any byte offset */
  hc_fault_plan plan;
  memset(&plan, 0, sizeof plan);
  plan.version = HC_FAULT_PLAN_VERSION;
  plan.max_file_size = 64u << 20;
  if (hc_storage_fault_factory_new(&quota, mem) || hc_storage_fault_set(quota, &plan)) {
    hc_storage_factory_free(quota);
    hc_storage_factory_free(mem);
    return 0;
  }
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.no_create = true;
  hc_core *c;
  o.readonly = true;
  if (hc_core_open(&c, quota, &o) == HC_OK) {
    fuzz_exercise_core(c);
    hc_core_close(c);
  }
  o.readonly = false;
  if (hc_core_open(&c, quota, &o) == HC_OK) {
    fuzz_exercise_core(c);
    if (hc_core_writable(c) && hc_core_length(c) < 100000) {
      static const uint8_t blk[] = "fuzz-appended-block";
      hc_buf b = {blk, sizeof blk};
      uint64_t len;
      if (hc_core_append(c, &b, 1, &len, NULL) == HC_OK) {
        uint8_t got[64];
        size_t gl;
        if (hc_core_get_verified(c, len - 1, got, sizeof got, &gl) == HC_OK)
          FUZZ_ASSERT(gl == sizeof blk && memcmp(got, blk, gl) == 0);
        (void)hc_core_set_user_data(c, "fuzz", blk, 4);
        (void)hc_core_clear(c, 0, 1, NULL);
        (void)hc_core_truncate(c, len / 2);
        (void)hc_core_append(c, &b, 1, NULL, NULL);
      }
      hc_core_close(c);
      if (hc_core_open(&c, quota, &o) == HC_OK) {
        fuzz_exercise_core(c);
        hc_core_close(c);
      }
    } else {
      hc_core_close(c);
    }
  }
  hc_storage_factory_free(quota);
  hc_storage_factory_free(mem);
  return 0;
}
