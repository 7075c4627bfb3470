#!/usr/bin/env bash
# Hyperbee / Hyperdrive benchmark: libhypercore (bench_bee.c) vs hyperbee 2.27.3 / hyperdrive
# 11.13.4 (tests/interop's pinned node_modules) in one run, each workload in its own process.
#   bash bench/run_bee.sh [--quick] [--runs N]   (medians of N runs, default 3)
# Env: HC_BENCH_BUILD (build dir, default build-bench/), HC_BENCH_TMP (temp dir base).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HC_BENCH_BUILD:-$ROOT/build-bench}"
if [ ! -f "$ROOT/tests/interop/node_modules/hyperbee/package.json" ]; then
  echo "==> npm ci (tests/interop: hyperbee, hyperdrive)" >&2
  (cd "$ROOT/tests/interop" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
echo "==> build bench_bee ($BUILD, Release)" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target bench_bee -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec node "$ROOT/bench/run_bee.js" --bin "$BUILD/bench/bench_bee" "$@"
