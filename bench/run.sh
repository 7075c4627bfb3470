#!/usr/bin/env bash
# libhypercore benchmark: every workload with our library and with the JS reference
# (hypercore@10.38.2, pinned in bench/package-lock.json) on this machine, medians of 3 runs.
#   bash bench/run.sh [--quick] [--runs N] [--only append_batch,get_seq,...]
# Env: HC_BENCH_BUILD (build dir, default build-bench/), HC_BENCH_TMP (temp dir base, default
# the system temp dir), HC_BENCH_VERBOSE=1 (print every run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HC_BENCH_BUILD:-$ROOT/build-bench}"

if [ ! -f "$ROOT/bench/node_modules/hc10/package.json" ]; then
  echo "==> npm ci (bench: hypercore@10.38.2)" >&2
  (cd "$ROOT/bench" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
echo "==> build bench_core ($BUILD, Release)" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target bench_core -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec node "$ROOT/bench/run.js" --bin "$BUILD/bench/bench_core" "$@"
