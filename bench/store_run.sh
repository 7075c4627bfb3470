#!/usr/bin/env bash
# The store benchmark: libhypercore's store vs JS corestore 6.18.4 (tests/interop/node_modules,
# pinned by its package-lock.json; installed with npm ci when missing).
#   bash bench/store_run.sh [--quick] [--runs N]
# Env: HC_BENCH_BUILD (build dir, default build-bench/), HC_BENCH_TMP (temp dir base).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HC_BENCH_BUILD:-$ROOT/build-bench}"
if [ ! -f "$ROOT/tests/interop/node_modules/cs6/package.json" ]; then
  echo "==> npm ci (tests/interop: corestore 6.18.4)" >&2
  (cd "$ROOT/tests/interop" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
echo "==> build bench_store and hypercore ($BUILD, Release)" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target bench_store hypercore_cli -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec node "$ROOT/bench/store_run.js" --bench-bin "$BUILD/bench/bench_store" --cli "$BUILD/hypercore" "$@"
