#!/usr/bin/env bash
# Reliability checks beyond the ctest suite (which already runs test_fault, test_corrupt_sweep,
# test_lock_process, a 30-kill crash run and the fuzz corpus replays):
#   1. crash at any moment: HC_RELIABILITY_KILLS (default 200) SIGKILLs of a writer, each
#      followed by reopen + verify + content check + append (tests/crash),
#   2. valgrind over every C unit test and corpus replay (scripts/valgrind.sh; HC_VALGRIND=0
#      skips it),
#   3. libFuzzer for HC_FUZZ_SECONDS per target (default 10; 0 skips; needs clang).
#   bash scripts/reliability.sh [BUILD_DIR]     (a configured normal build; default build/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-${HC_BUILD_DIR:-$ROOT/build}}"
KILLS="${HC_RELIABILITY_KILLS:-200}"
FUZZ_SECS="${HC_FUZZ_SECONDS:-10}"

if [ ! -x "$BUILD/tests/crash_harness" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target crash_writer crash_harness >/dev/null

echo "==> crash test: $KILLS kills"
cli=""
[ -x "$BUILD/hypercore" ] && cli="$BUILD/hypercore"
HYPERCORE_BIN="$cli" "$BUILD/tests/crash_harness" "$BUILD/tests/crash_writer" "$KILLS" \
  "$BUILD/tests/tmp/crash-full"

if [ "${HC_VALGRIND:-1}" != 0 ]; then
  echo "==> valgrind"
  bash "$ROOT/scripts/valgrind.sh"
fi

if [ "$FUZZ_SECS" != 0 ]; then
  if command -v clang >/dev/null && echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
      clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    echo "==> fuzzing, ${FUZZ_SECS}s per target"
    bash "$ROOT/scripts/fuzz.sh" "$FUZZ_SECS"
  else
    echo "reliability.sh: clang with libFuzzer is needed (apt-get install clang)" >&2
    exit 1
  fi
fi
echo "==> reliability checks passed"
