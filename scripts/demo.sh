#!/usr/bin/env bash
# Builds libhypercore and the `hypercore` CLI, then walks through the log with the CLI:
# create, append, read, info (now and at an earlier length), truncate, verify; clone over
# loopback; then a corestore 6 store with a Hyperbee, seeded and read sparsely by key.
#   bash scripts/demo.sh            build dir: build/ (override: HC_BUILD_DIR)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/deps.sh"
hc_install_deps
hc_install_swarm_helper "$ROOT"

BUILD="${HC_BUILD_DIR:-$ROOT/build}"
echo "==> build ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(hc_jobs)" --target hypercore_cli >/dev/null
HC="$BUILD/hypercore"

DIR="$(mktemp -d "${TMPDIR:-/tmp}/hypercore-demo.XXXXXX")"
trap 'rm -rf "$DIR"' EXIT
CORE="$DIR/core"

run() { printf '\n$ hypercore'; printf ' %q' "$@"; printf '\n'; "$HC" "$@"; }

echo "==> demo in $CORE"
# a fixed seed: the same key as the JS reference test vectors (shared/vectors)
run create "$CORE" --seed 0101010101010101010101010101010101010101010101010101010101010101
run append "$CORE" a b c
printf 'first line\nsecond line\n' > "$DIR/lines.txt"
printf '\n$ hypercore append %s < lines.txt\n' "$CORE"
"$HC" append "$CORE" < "$DIR/lines.txt"
head -c 100000 /dev/urandom > "$DIR/blob.bin"
run append-file "$CORE" "$DIR/blob.bin"
run get "$CORE" 0; echo
run cat "$CORE" --start 3 --end 5; echo
run info "$CORE"
run info "$CORE" --length 3 --json
run checkout "$CORE" 3
run verify "$CORE"
run truncate "$CORE" 4
run append "$CORE" "after the truncate"
run info "$CORE" --json
run verify "$CORE"

echo
echo "==> replication over loopback: serve the core, clone it by key, verify the clone"
KEY="$("$HC" info "$CORE" --json | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')"
printf '\n$ hypercore serve %s --listen 127.0.0.1:0 &\n' "$CORE"
"$HC" serve "$CORE" --listen 127.0.0.1:0 > "$DIR/serve.out" &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do grep -q '^port ' "$DIR/serve.out" 2>/dev/null && break; sleep 0.1; done
cat "$DIR/serve.out"
PORT="$(sed -n 's/^port //p' "$DIR/serve.out")"
run clone "$KEY" "$DIR/clone" --connect "127.0.0.1:$PORT"
run info "$DIR/clone" --json
run verify "$DIR/clone"
run get "$DIR/clone" 0; echo
kill "$SERVE_PID" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true

echo
echo "==> a corestore 6 store: a named core, a Hyperbee in another, the whole store seeded"
STORE="$DIR/store"
run store create "$STORE"
run store get "$STORE" --name log
run append "$STORE:name/log" "in a store"
run store get "$STORE" --name bee
run bee put "$STORE:name/bee" hello world
run bee put "$STORE:name/bee" hi there
run bee ls "$STORE:name/bee" --json
run store list "$STORE"
BEE_KEY="$("$HC" store key "$STORE" --name bee)"
printf '
$ hypercore seed %s --listen 127.0.0.1:0 &
' "$STORE"
"$HC" seed "$STORE" --listen 127.0.0.1:0 > "$DIR/seed.out" 2>"$DIR/seed.err" &
SEED_PID=$!
trap 'kill $SEED_PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do grep -q '^port ' "$DIR/seed.out" 2>/dev/null && break; sleep 0.1; done
SEED_PORT="$(sed -n 's/^port //p' "$DIR/seed.out")"
echo "port $SEED_PORT"
run bee get "$BEE_KEY" hello --connect "127.0.0.1:$SEED_PORT"; echo
kill -TERM "$SEED_PID" 2>/dev/null || true
wait "$SEED_PID" 2>/dev/null || true
echo
echo "==> demo done"
