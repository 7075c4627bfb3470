#!/usr/bin/env bash
# Before/after of the serve workload in one time window (the machine's load changes by the
# minute, so numbers from separate runs do not compare): a store of N cores x 100 blocks made
# once; then ROUNDS rounds, each running, one after the other,
#   C seeder + C reader of build A, C seeder + C reader of build B, JS corestore 6.18.4 seeder +
#   the C reader of build B (and of build A, so each build's "x faster" uses its own reader).
#   bash bench/store_serve_ab.sh BUILD_A BUILD_B [N] [ROUNDS]
# BUILD_*: build directories holding bench/bench_store and hypercore (e.g. a Release build of
# the base commit made from `git archive`). Prints one line per run and the medians.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
A="$1"
B="$2"
N="${3:-1000}"
ROUNDS="${4:-3}"
TMP="$(mktemp -d "${HC_BENCH_TMP:-/tmp}/hc-serve-ab-XXXXXX")"
SEEDER=""
cleanup() {
  if [ -n "$SEEDER" ]; then kill "$SEEDER" 2>/dev/null || true; wait "$SEEDER" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

"$B/bench/bench_store" make "$TMP/store" "$N" 100 >/dev/null

# start_seeder CMD...: sets SEEDER and PORT
start_seeder() {
  rm -f "$TMP/seed.out" # (the old one would be read before the new process truncates it)
  "$@" >"$TMP/seed.out" 2>"$TMP/seed.err" &
  SEEDER=$!
  for _ in $(seq 1 600); do
    PORT=$(grep -o 'port [0-9]*' "$TMP/seed.out" 2>/dev/null | cut -d' ' -f2 || true)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "seeder did not start: $(cat "$TMP/seed.err")" >&2
  exit 1
}

# run LABEL READER_BUILD SEEDER_CMD...: one fetch; prints LABEL ms cpu_ms rss_kb
run() {
  local label="$1" reader="$2"
  shift 2
  start_seeder "$@"
  local out
  out=$("$reader/bench/bench_store" fetch "$PORT" "$N" 100)
  local blocks ms
  blocks=$(echo "$out" | sed 's/.*"blocks":\([0-9]*\).*/\1/')
  ms=$(echo "$out" | sed 's/.*"ms":\([0-9.]*\).*/\1/')
  [ "$blocks" = "$((N * 100))" ] || { echo "$label: fetched $blocks blocks" >&2; exit 1; }
  local hwm cpu
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SEEDER/status")
  cpu=$(awk '{print ($14 + $15) * 10}' "/proc/$SEEDER/stat")
  kill "$SEEDER"
  wait "$SEEDER" || true
  SEEDER=""
  echo "$label $ms $cpu $hwm" | tee -a "$TMP/results"
}

for r in $(seq 1 "$ROUNDS"); do
  run c-A "$A" "$A/hypercore" seed "$TMP/store" --listen 127.0.0.1:0 --max-open "$N"
  run c-B "$B" "$B/hypercore" seed "$TMP/store" --listen 127.0.0.1:0 --max-open "$N"
  rm -rf "$TMP/js" && cp -r "$TMP/store" "$TMP/js"
  run js-readerB "$B" node "$ROOT/bench/bench_store.js" seed "$TMP/js"
  rm -rf "$TMP/js" && cp -r "$TMP/store" "$TMP/js"
  run js-readerA "$A" node "$ROOT/bench/bench_store.js" seed "$TMP/js"
done

echo "# $ROUNDS rounds, $N cores x 100 blocks, one connection: label, median ms, median seeder CPU ms, max seeder peak RSS KB"
med() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for l in c-A c-B js-readerA js-readerB; do
  ms=$(grep "^$l " "$TMP/results" | awk '{print $2}' | med)
  cpu=$(grep "^$l " "$TMP/results" | awk '{print $3}' | med)
  rss=$(grep "^$l " "$TMP/results" | awk '{print $4}' | sort -n | tail -1)
  echo "$l $ms $cpu $rss"
done | tee "$TMP/medians"
awk '{v[$1]=$2; r[$1]=$4} END {
  printf "build A: %.1fx faster than JS (its reader), peak RSS %.1f%% of JS\n", v["js-readerA"]/v["c-A"], 100*r["c-A"]/r["js-readerA"];
  printf "build B: %.1fx faster than JS (its reader), peak RSS %.1f%% of JS\n", v["js-readerB"]/v["c-B"], 100*r["c-B"]/r["js-readerB"] }' "$TMP/medians"
