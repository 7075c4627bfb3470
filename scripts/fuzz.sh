#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DHC_FUZZ=ON) and runs each on its corpus for N seconds.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]      (default 30 s, every fuzz/fuzz_*.c)
# New interesting inputs go to $HC_FUZZ_WORK/<target> (default build-fuzz/corpus); crashers
# are written as build-fuzz/artifacts/<target>/crash-*; commit minimized crashers to
# fuzz/corpus/<target>/ as regression inputs (replayed by ctest in the normal build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-30}"
shift || true
BUILD="${HC_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
WORK="${HC_FUZZ_WORK:-$BUILD/corpus}"
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang)" >&2; exit 1; }
cmake -S "$ROOT" -B "$BUILD" -DHC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ "$#" -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=()
  for f in "$ROOT"/fuzz/fuzz_*.c; do TARGETS+=("$(basename "$f" .c)"); done
fi
status=0
for t in "${TARGETS[@]}"; do
  cmake --build "$BUILD" --target "$t" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
  mkdir -p "$WORK/$t" "$BUILD/artifacts/$t"
  seeds=()
  [ -d "$ROOT/fuzz/corpus/$t" ] && seeds+=("$ROOT/fuzz/corpus/$t")
  echo "==> $t (${SECS}s)"
  if ! ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" "$BUILD/fuzz/$t" -max_total_time="$SECS" \
      -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$BUILD/artifacts/$t/" "$WORK/$t" "${seeds[@]}" 2>"$BUILD/$t.log"; then
    echo "    CRASH: see $BUILD/$t.log and $BUILD/artifacts/$t/"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE" "$BUILD/$t.log" | tail -2 | sed 's/^/    /'
done
exit $status
