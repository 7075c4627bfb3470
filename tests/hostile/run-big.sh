#!/usr/bin/env bash
# The hostile suite at a bigger scale (manual runs; figures for docs/hostile.md):
#   bash tests/hostile/run-big.sh [SCALE] [BUILD_DIR]        (default 10, build)
# JS 10.38.2 as the server instead (anchor): HC_HOSTILE_SERVER_BIN=tests/hostile/js-serve.js
# HC_HOSTILE_NO_LIMIT_FLAGS=1 bash tests/hostile/run-big.sh 1
set -u
scale=${1:-10}
build=${2:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export HYPERCORE_BIN=${HYPERCORE_BIN:-$root/$build/hypercore}
export HC_HOSTILE_SCALE=$scale
export HC_TEST_TMP=${HC_TEST_TMP:-$root/$build/tests/hostile/tmp-big}
fail=0
for c in range-drop cancel-flood read-fairness output-flood remote-bitfield pending-handshakes \
         emfile upgrade-storm clone-stall absurd-length frame-buffers; do
  "$root/$build/tests/hostile/hostile" "$c" 2> >(grep -v '^hypercore' >&2) || fail=$((fail + 1))
done
echo "cases failed: $fail"
exit $((fail > 0))
