#!/usr/bin/env bash
# Runs every C unit test (tests/test_*.c programs) and the fuzz corpus replays under
#   valgrind --leak-check=full --error-exitcode=1
# in a plain build (no sanitizers: valgrind and ASan do not mix).
#   bash scripts/valgrind.sh [TEST_NAME...]       build dir: build-valgrind/ (HC_VALGRIND_DIR)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HC_VALGRIND_DIR:-$ROOT/build-valgrind}"
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHC_SANITIZE=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
# ../shared when present (its committed copy tests/shared must match it), else the copy
if [ -z "${HC_SHARED:-}" ]; then
  if [ -f "$ROOT/../shared/vectors/vectors.json" ]; then HC_SHARED="$ROOT/../shared"; else HC_SHARED="$ROOT/tests/shared"; fi
fi
export HC_SHARED
export HC_TEST_TMP="$BUILD/tests/tmp"
mkdir -p "$HC_TEST_TMP"
[ -x "$BUILD/hypercore" ] && export HYPERCORE_BIN="$BUILD/hypercore"
VG=(valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 -q)
if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in "$ROOT"/tests/test_*.c; do names+=("$(basename "$f" .c)"); done
  for d in "$ROOT"/fuzz/corpus/*/; do names+=("replay_$(basename "$d")"); done
fi
failed=()
for n in "${names[@]}"; do
  exe="$BUILD/tests/$n"
  [ -x "$exe" ] || { echo "valgrind.sh: no $exe" >&2; failed+=("$n"); continue; }
  args=()
  case "$n" in replay_*) args=("$ROOT/fuzz/corpus/${n#replay_}") ;; esac
  start=$(date +%s)
  if (cd "$BUILD/tests" && "${VG[@]}" "$exe" "${args[@]}" >"$BUILD/$n.valgrind.log" 2>&1); then
    echo "ok    $n ($(( $(date +%s) - start ))s)"
  else
    echo "FAIL  $n: see $BUILD/$n.valgrind.log"
    tail -30 "$BUILD/$n.valgrind.log" | sed 's/^/      /'
    failed+=("$n")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "valgrind.sh: ${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
echo "valgrind.sh: all ${#names[@]} clean"
