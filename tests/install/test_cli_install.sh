#!/usr/bin/env bash
# CLI behaviour added with the install work (tests/cli/test_cli.sh has the rest):
#  - verify counts what it checked: stored blocks, and how many are cleared;
#  - batch and append-file sign multisig cores with --signer-keys, as append does;
#  - the CLI only links the shared library's exported API (no static copy of internals).
# usage: test_cli_install.sh PATH/TO/hypercore
set -uo pipefail
HC=${1:?hypercore binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-cli-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0 CHECKS=0
check() { # EXIT-STATUS MESSAGE
  CHECKS=$((CHECKS + 1))
  if [ "$1" != 0 ]; then echo "FAIL: $2" >&2; FAILS=$((FAILS + 1)); fi
}
# expect WANT_STATUS WANT_STDOUT ARGS... (WANT_STDOUT '*': any)
expect() {
  local want_rc=$1 want_out=$2
  shift 2
  "$HC" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  [ "$rc" = "$want_rc" ]; check $? "hypercore $*: exit $rc, wanted $want_rc ($(head -c 300 "$T/err"))"
  if [ "$want_out" != '*' ]; then
    [ "$(cat "$T/out")" = "$want_out" ]; check $? "hypercore $*: stdout '$(cat "$T/out")', wanted '$want_out'"
  fi
}

# ---- verify counts the stored and the cleared blocks
C=$T/core
expect 0 '*' create "$C"
expect 0 8 append "$C" a b c d e f g h
expect 0 'ok: all 8 blocks are stored and verify' verify "$C"
expect 0 '' clear "$C" 2 6
expect 0 'ok: 4 stored blocks of 8 verify (4 cleared or not downloaded)' verify "$C"
expect 0 '' clear "$C" 0 8
expect 0 'ok: 0 stored blocks of 8 verify (8 cleared or not downloaded)' verify "$C"
E=$T/empty
expect 0 '*' create "$E"
expect 0 'ok: all 0 blocks are stored and verify' verify "$E"

# ---- batch / append-file --signer-keys on a 2-of-2 multisig core
S1=$(printf '01%.0s' $(seq 32)) S2=$(printf '02%.0s' $(seq 32))
PK1=$("$HC" create "$T/k1" --seed "$S1") PK2=$("$HC" create "$T/k2" --seed "$S2")
SK1=$S1$PK1 SK2=$S2$PK2
M=$T/multisig
expect 0 '*' create "$M" --signers "$PK1,$PK2" --quorum 2
printf 'one' >"$T/f1"
printf 'two' >"$T/f2"
printf 'three' >"$T/f3"
expect 1 '' batch "$M" "$T/f1" "$T/f2"                                   # needs the signers
grep -q 'not writable' "$T/err"; check $? "batch without --signer-keys: $(cat "$T/err")"
expect 1 '' batch "$M" "$T/f1" "$T/f2" --signer-keys "$SK1"              # short of the quorum
expect 0 2 batch "$M" "$T/f1" "$T/f2" --signer-keys "$SK1,$SK2"
expect 0 3 append-file "$M" "$T/f3" --signer-keys "$SK2,$SK1"
expect 0 onetwothree cat "$M"
expect 0 'ok: all 3 blocks are stored and verify' verify "$M"
expect 2 '' batch "$M" "$T/f1" --signer-keys nothex                      # usage error
expect 1 '' batch "$M" "$T/f1" --signer-keys "$SK1,$SK1"                 # a signer twice

# ---- the command links libhypercore.so and no static copy of it
readelf -d "$HC" | grep -q 'NEEDED.*libhypercore\.so\.'; check $? "hypercore does not link libhypercore.so"
! nm "$HC" 2>/dev/null | grep -qE ' [Tt] hc_(core_open|merkle_|oplog_)'
check $? "hypercore carries library code of its own"

echo "$((CHECKS - FAILS)) passed, $FAILS failed"
[ "$FAILS" = 0 ]
