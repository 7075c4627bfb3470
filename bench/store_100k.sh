#!/usr/bin/env bash
# A store of 100,000 cores (manual run, a few minutes and ~2 GB of disk): make it, list it,
# seed it with the default open-core limit (256) and fetch 10,000 of its cores in connections
# of 500 (the first and the last 5,000); prints the seeder's peak RSS and the most descriptors
# it had open (bounded by the cores of one connection plus the limit, whatever N).
#   bash bench/store_100k.sh [N]      (HC_BENCH_BUILD: build dir with bench_store and hypercore)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HC_BENCH_BUILD:-$ROOT/build}"
N="${1:-100000}"
DIR="$(mktemp -d "${HC_BENCH_TMP:-/tmp}/hc-store-100k-XXXXXX")"
SEED_PID=""
cleanup() { [ -n "$SEED_PID" ] && kill "$SEED_PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
echo "make $N cores x 1 block: $("$BUILD/bench/bench_store" make "$DIR/s" "$N" 1)"
echo "C open + list:            $("$BUILD/bench/bench_store" list "$DIR/s")"
t0=$(date +%s%N)
lines=$("$BUILD/hypercore" store list "$DIR/s" | wc -l)
echo "hypercore store list:     $lines lines in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
"$BUILD/hypercore" seed "$DIR/s" --listen 127.0.0.1:0 > "$DIR/seed.out" 2> "$DIR/seed.err" &
SEED_PID=$!
for _ in $(seq 100); do grep -q '^port ' "$DIR/seed.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/^port /{print $2}' "$DIR/seed.out")
( while kill -0 "$SEED_PID" 2>/dev/null; do ls /proc/"$SEED_PID"/fd 2>/dev/null | wc -l; sleep 0.05; done ) > "$DIR/fds" &
WATCH=$!
K=$(( N / 2 < 5000 ? N / 2 : 5000 ))
echo "fetch $K first cores:   $("$BUILD/bench/bench_store" fetch "$PORT" "$K" 1 500 0)"
echo "fetch $K last cores:    $("$BUILD/bench/bench_store" fetch "$PORT" "$K" 1 500 $((N - K)))"
echo "seeder peak RSS:          $(awk '/VmHWM/{print $2, $3}' /proc/"$SEED_PID"/status)"
kill "$SEED_PID"; wait "$SEED_PID" || true; SEED_PID=""
wait "$WATCH" 2>/dev/null || true
echo "seeder max open fds:      $(sort -n "$DIR/fds" | tail -1) (ulimit -n: $(ulimit -n))"
