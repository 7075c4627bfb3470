#!/usr/bin/env bash
# End-to-end test of the `hypercore` CLI: every command, its output and its error paths.
# usage: test_cli.sh PATH/TO/hypercore
# Known-answer values (keys, tree hashes, proofs) come from hypercore@10.38.2
# (/work/shared/vectors/vectors.json, compat core from seed 01*32) and its proof encoder.
set -e
set -o pipefail

HC=${1:?usage: test_cli.sh PATH/TO/hypercore}
HC=$(cd "$(dirname "$HC")" && pwd)/$(basename "$HC")
HERE=$(cd "$(dirname "$0")" && pwd)
VECTORS=${HC_SHARED:-$HERE/../../../shared}/vectors
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT

FAILS=0
CHECKS=0
fail() {
  local n=${#BASH_LINENO[@]}
  echo "FAIL (line ${BASH_LINENO[n - 2]}): $*" >&2
  echo "  stdout: $(head -c 400 "$T/out" 2>/dev/null | tr -d '\0')" >&2
  echo "  stderr: $(head -c 400 "$T/err" 2>/dev/null)" >&2
  FAILS=$((FAILS + 1))
}

# run ARGS... : runs the CLI, stdout -> $T/out, stderr -> $T/err, exit status -> $rc
run() {
  set +e
  "$HC" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  set -e
}
# run_in FILE ARGS... : as run, stdin from FILE
run_in() {
  local in=$1
  shift
  set +e
  "$HC" "$@" <"$in" >"$T/out" 2>"$T/err"
  rc=$?
  set -e
}
expect_rc() { # WANT
  CHECKS=$((CHECKS + 1))
  [ "$rc" = "$1" ] || fail "exit status $rc, wanted $1"
}
expect_out() { # EXACT stdout (trailing newline stripped by $(...))
  CHECKS=$((CHECKS + 1))
  local got
  got=$(cat "$T/out")
  [ "$got" = "$1" ] || fail "stdout '$got', wanted '$1'"
}
expect_err() { # SUBSTRING of stderr
  CHECKS=$((CHECKS + 1))
  grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1'"
}
expect_err_prefix() { # CMD: stderr starts with "hypercore: CMD: "
  CHECKS=$((CHECKS + 1))
  head -n1 "$T/err" | grep -q "^hypercore: $1: " || fail "stderr not prefixed 'hypercore: $1: '"
}
expect_no_out() {
  CHECKS=$((CHECKS + 1))
  [ ! -s "$T/out" ] || fail "unexpected stdout"
}
expect_eq() { # GOT WANT WHAT
  CHECKS=$((CHECKS + 1))
  [ "$1" = "$2" ] || { echo "FAIL: $3: '$1' != '$2'" >&2; FAILS=$((FAILS + 1)); }
}
expect_same_file() { # A B
  CHECKS=$((CHECKS + 1))
  cmp -s "$1" "$2" || fail "$1 and $2 differ"
}
ok() { expect_rc 0; }
# ok_out ARGS... -> runs and expects success, echoes nothing
json_field() { # FILE NAME -> value of a top-level field of a one-line JSON object
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v)' "$1" "$2" 2>/dev/null || echo "<no json>"
}

SEED=0101010101010101010101010101010101010101010101010101010101010101
SK=01010101010101010101010101010101010101010101010101010101010101018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c
KEY=8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c
DKEY=c1feb82a2b3ba065ffed9f6addcf19ac250793bcab748986a1b4272c62da20e6
TH0=bb30a42c1e62f0afda5f0a4e8a562f7a13a24cea00ee81917b86b89e801314aa
TH1=b06219c834e8e4da41e42b3c8239f4d1805a388c5dd03eff3777e6532ec72f27
TH2=3424a063fb40dfef317c8ca38fb8c37dfdbccac669582f6f9cddd22bbdf9c044
TH3=7ea73eb86179fb7328e73663f90f4c91256574af1112efe97fdf9309e03b67a7
TH4=62734e9f4290093217918710d0f44d41e692a765ad99e92e54d05852b12ee197
TH5=2ef988112fcff5b3e3011de7bda5b858e4d81afb0af6d59e3d22f2f7285cd50d
THF=93745e7d61224e1cfdb6004d598bb7a58535e9485fb74182c55beb1eac67a641

echo "== help / version"
run --help; ok
for c in create append append-file batch get cat info verify truncate clear seek user-data proof checkout; do
  grep -q "^  $c " "$T/out" || fail "--help does not list $c"
done
run --version; ok; expect_out "hypercore 0.1.0"
for c in create append append-file batch get cat info verify truncate clear seek user-data proof checkout; do
  run "$c" --help; ok
  head -n1 "$T/out" | grep -q "^usage: hypercore $c " || fail "$c --help: no usage line"
done
run help info; ok; grep -q "contiguousLength" "$T/out" || fail "help info"
run; expect_rc 2
run frobnicate; expect_rc 2; expect_err "unknown command 'frobnicate'"
run get; expect_rc 2; expect_err_prefix get; expect_err "bad arguments"

echo "== create"
D=$T/core
run create "$D" --seed $SEED; ok; expect_out $KEY
run create "$D" --seed $SEED; expect_rc 1; expect_err_prefix create; expect_err "core already exists"
run create "$D"; expect_rc 1; expect_err "core already exists"
run create "$T/c2" --seed abc; expect_rc 2; expect_err "--seed"
run create "$T/c2" --seed ${SEED}00; expect_rc 2
run create "$T/c2" --seed "${SEED:0:62}zz"; expect_rc 2
run create "$T/c2" --seed $SEED --secret-key $SK; expect_rc 2
run create "$T/c2" --secret-key 1234; expect_rc 2; expect_err "--secret-key"
run create "$T/c2" --bogus; expect_rc 2; expect_err "unknown option '--bogus'"
run create "$T/c2" --overwrite=1; expect_rc 2
run create "$T/c2" --seed; expect_rc 2; expect_err "needs a value"
run create "$T/sk" --secret-key=$SK; ok; expect_out $KEY
run create "$T/rand"; ok
RKEY=$(cat "$T/out")
[[ $RKEY =~ ^[0-9a-f]{64}$ ]] || fail "random key not 64 hex: $RKEY"
[ "$RKEY" != "$KEY" ] || fail "random key equals seeded key"
run create "$T/rand" --overwrite --seed $SEED; ok; expect_out $KEY
run create "$T/rand" --overwrite; ok
[ "$(cat "$T/out")" != "$KEY" ] || fail "overwrite kept the old key"
echo x >"$T/plainfile"
run create "$T/plainfile"; expect_rc 1; expect_err "not a directory"

echo "== info on an empty core"
run info "$D" --json; ok
expect_eq "$(json_field "$T/out" key)" $KEY "json key"
expect_eq "$(json_field "$T/out" discoveryKey)" $DKEY "json discoveryKey"
expect_eq "$(json_field "$T/out" length)" 0 "json length"
expect_eq "$(json_field "$T/out" treeHash)" $TH0 "json treeHash empty"
run info "$D"; ok; grep -q "^key: *$KEY$" "$T/out" || fail "info text key"
grep -q "^discovery key: *$DKEY$" "$T/out" || fail "info text discovery key"

echo "== append (the reference's compat sequence)"
run append "$D" a b c; ok; expect_out 3
run info "$D" --json; ok
python3 - "$T/out" <<'EOF' || fail "info --json shape"
import json, sys
txt = open(sys.argv[1]).read()
assert txt.count('\n') == 1, 'one line'
v = json.loads(txt)
assert sorted(v) == sorted(['key', 'discoveryKey', 'length', 'byteLength', 'fork', 'contiguousLength', 'treeHash']), sorted(v)
for k in ['length', 'byteLength', 'fork', 'contiguousLength']:
    assert type(v[k]) is int, k
for k in ['key', 'discoveryKey', 'treeHash']:
    assert v[k] == v[k].lower() and len(v[k]) == 64, k
assert v['length'] == 3 and v['byteLength'] == 3 and v['fork'] == 0 and v['contiguousLength'] == 3
EOF
expect_eq "$(json_field "$T/out" treeHash)" $TH3 "tree hash after a,b,c"
printf 'hello world' >"$T/hello"
run append-file "$D" "$T/hello"; ok; expect_out 4
python3 -c 'import sys; sys.stdout.buffer.write(bytes(i & 255 for i in range(5000)))' >"$T/big5000"
run_in "$T/big5000" append "$D" --raw; ok; expect_out 5
run info "$D" --json; ok
expect_eq "$(json_field "$T/out" treeHash)" $TH5 "tree hash at 5"
expect_eq "$(json_field "$T/out" byteLength)" 5014 "byteLength at 5"
I=0
for H in $TH0 $TH1 $TH2 $TH3 $TH4 $TH5; do
  run info "$D" --json --length $I; ok
  expect_eq "$(json_field "$T/out" treeHash)" $H "info --length $I treeHash"
  expect_eq "$(json_field "$T/out" length)" $I "info --length $I length"
  run checkout "$D" $I; ok
  grep -q "^tree hash: *$H$" "$T/out" || fail "checkout $I tree hash"
  I=$((I + 1))
done
run info "$D" --length 4; ok; grep -q "^byte length: *14$" "$T/out" || fail "info --length 4 byte length"
run info "$D" --length 6; expect_rc 1; expect_err "out of range"
run info "$D" --length x; expect_rc 2

echo "== get / cat"
run get "$D" 0; ok; expect_out a
run get "$D" 3; ok; expect_out "hello world"
run get "$D" 4; ok; expect_same_file "$T/out" "$T/big5000"
run get "$D" 5; expect_rc 1; expect_err_prefix get; expect_err "index 5 out of range (length 5)"
for bad in -1 abc 1x "" " 1" +1 0x1 18446744073709551616 99999999999999999999999; do
  run get "$D" "$bad"; expect_rc 2; expect_err "bad arguments"
done
run get "$D" 18446744073709551615; expect_rc 1; expect_err "out of range"
run get "$D" 0 1; expect_rc 2; expect_err "too many arguments"
run cat "$D"; ok
{ printf abc; cat "$T/hello" "$T/big5000"; } >"$T/all"
expect_same_file "$T/out" "$T/all"
run cat "$D" --start 1 --end 4; ok; expect_out "bchello world"
run cat "$D" --start=2 --end=2; ok; expect_no_out
run cat "$D" --end 6; expect_rc 1; expect_err "out of range"
run cat "$D" --start 3 --end 2; expect_rc 1
run cat "$D" --start -1; expect_rc 2
run seek "$D" 0; ok; expect_out "0 0"
run seek "$D" 2; ok; expect_out "2 0"
run seek "$D" 5; ok; expect_out "3 2"
run seek "$D" 14; ok; expect_out "4 0"
run seek "$D" 5013; ok; expect_out "4 4999"
run seek "$D" 5014; ok; expect_out "5 0"  # the end, as the reference's seek
run seek "$D" 5015; expect_rc 1; expect_err "out of range"
run seek "$D" x; expect_rc 2

echo "== truncate"
run truncate "$D" 6; expect_rc 1; expect_err "out of range"
run truncate "$D" -3; expect_rc 2
run truncate "$D" 3; ok; expect_out "3 1"
run append "$D" d e; ok; expect_out 5
run info "$D" --json; ok
expect_eq "$(json_field "$T/out" treeHash)" $THF "tree hash after truncate+append"
expect_eq "$(json_field "$T/out" fork)" 1 "fork after truncate"
expect_eq "$(json_field "$T/out" byteLength)" 5 "byteLength after truncate+append"
run cat "$D"; ok; expect_out abcde
run verify "$D"; ok

echo "== user-data"
run user-data "$D" hello; expect_rc 1; expect_err_prefix user-data; expect_no_out
run user-data "$D" hello world; ok; expect_no_out
run user-data "$D" hello; ok; expect_out world
run user-data "$D" other 'two words'; ok
run user-data "$D" other; ok; expect_out "two words"
run user-data "$D" hello --delete; ok
run user-data "$D" hello; expect_rc 1
run user-data "$D" other; ok; expect_out "two words"
run user-data "$D" hello x --delete; expect_rc 2
run user-data "$D"; expect_rc 2

echo "== state survives reopen, checkout through a snapshot"
run checkout "$D" 3 2; ok; expect_out c
run checkout "$D" 3 3; expect_rc 1; expect_err "index 3 out of range (length 3)"
run checkout "$D" 6; expect_rc 1; expect_err "out of range"
run checkout "$D" 5; ok
grep -q "^length: *5$" "$T/out" || fail "checkout length"
grep -q "^byte length: *5$" "$T/out" || fail "checkout byte length"
run checkout "$D" x; expect_rc 2

echo "== append from stdin lines, batching"
L=$T/lines
run create "$L"; ok
printf 'one\ntwo\n\nfour' >"$T/in4"
run_in "$T/in4" append "$L"; ok; expect_out 4
run get "$L" 0; ok; expect_out one
run get "$L" 2; ok; expect_no_out
run get "$L" 3; ok; expect_out four
seq 1 2500 >"$T/seq"
run_in "$T/seq" append "$L"; ok; expect_out 2504
run get "$L" 2503; ok; expect_out 2500
run get "$L" 1003; ok; expect_out 1000
run cat "$L" --start 4; ok
tr -d '\n' <"$T/seq" >"$T/seq.joined"
expect_same_file "$T/out" "$T/seq.joined"
: >"$T/empty"
run_in "$T/empty" append "$L"; ok; expect_out 2504
run append "$L" -- --raw -x; ok; expect_out 2506
run get "$L" 2504; ok; expect_out --raw
run get "$L" 2505; ok; expect_out -x
run append "$L" --raw extra; expect_rc 2
run verify "$L"; ok

echo "== batch, append-file, large blocks"
B=$T/batch
run create "$B"; ok
printf 'first' >"$T/f1"; : >"$T/f2"; printf 'third\n' >"$T/f3"
run batch "$B" "$T/f1" "$T/f2" "$T/f3"; ok; expect_out 3
run get "$B" 0; ok; expect_out first
run get "$B" 1; ok; expect_no_out
run get "$B" 2; ok; expect_same_file "$T/out" "$T/f3"
run batch "$B" "$T/f1" "$T/nonexistent"; expect_rc 1; expect_err "nonexistent"
run info "$B" --json; ok; expect_eq "$(json_field "$T/out" length)" 3 "failed batch appended nothing"
run batch "$B"; expect_rc 2
run append-file "$B" "$T"; expect_rc 1
MAX=$((15 * 1024 * 1024))
head -c $MAX /dev/urandom >"$T/max"
run append-file "$B" "$T/max"; ok; expect_out 4
run get "$B" 3; ok; expect_same_file "$T/out" "$T/max"
run_in "$T/max" append "$B" --raw; ok; expect_out 5
run get "$B" 4; ok; expect_same_file "$T/out" "$T/max"
cat "$T/max" "$T/f1" >"$T/toolarge"
run append-file "$B" "$T/toolarge"; expect_rc 1; expect_err "block too large"
run_in "$T/toolarge" append "$B" --raw; expect_rc 1; expect_err "block too large"
cat "$T/toolarge" | { set +e; "$HC" append "$B" --raw >"$T/out" 2>"$T/err"; echo $? >"$T/rc"; }
expect_eq "$(cat "$T/rc")" 1 "too large block through a pipe"
printf 'pipe\nd' | "$HC" append-file "$B" - >"$T/out"
expect_out 6
run get "$B" 5; ok; expect_out "$(printf 'pipe\nd')"
run verify "$B"; ok
run cat "$B" --start 3 --end 5; ok
CHECKS=$((CHECKS + 1))
[ "$(stat -c %s "$T/out")" = $((2 * MAX)) ] || fail "cat of two max blocks"

echo "== EPIPE"
set +e
"$HC" cat "$B" 2>"$T/err" | head -c 10 >/dev/null
st=("${PIPESTATUS[@]}")
set -e
expect_eq "${st[0]}" 1 "cat into a closed pipe exits 1"
CHECKS=$((CHECKS + 1))
[ ! -s "$T/err" ] || fail "EPIPE printed a message: $(cat "$T/err")"

echo "== clear"
run clear "$B" 1 0; expect_rc 2
run clear "$B" 0 99; expect_rc 1; expect_err "out of range"
run clear "$B" 3 4; ok; expect_no_out
run get "$B" 3; expect_rc 1; expect_err "block 3 not available locally"
run get "$B" 4; ok; expect_same_file "$T/out" "$T/max"
run cat "$B"; expect_rc 1; expect_err "block 3 not available locally"
run info "$B" --json; ok
expect_eq "$(json_field "$T/out" contiguousLength)" 3 "contiguousLength after clear"
expect_eq "$(json_field "$T/out" length)" 6 "length after clear"
run proof "$B" 3; expect_rc 1; expect_err "block 3 not available locally"
run verify "$B"; ok
run checkout "$B" 5 3; expect_rc 1; expect_err "not available"

echo "== verify detects corruption"
V=$T/verify
run create "$V"; ok
run append "$V" aaaa bbbb cccc dddd; ok
run verify "$V"; ok
# flip one byte of block 2 in the data file (blocks are stored back to back)
printf 'X' | dd of="$V/data" bs=1 seek=9 conv=notrunc 2>/dev/null
run verify "$V"; expect_rc 1; expect_err_prefix verify; expect_err "block 2"
V2=$T/verify2
run create "$V2"; ok
run append "$V2" aaaa bbbb cccc dddd; ok
# the tree file holds 40-byte nodes by flat-tree index; node 6 is the leaf of block 3
# (only when the nodes were flushed to the tree file rather than kept in the oplog)
if [ "$(stat -c %s "$V2/tree")" -ge 280 ]; then
  printf 'ZZZZ' | dd of="$V2/tree" bs=1 seek=$((6 * 40 + 10)) conv=notrunc 2>/dev/null
  run verify "$V2"; expect_rc 1; expect_err "block 3"
fi

echo "== stdout errors"
if [ -w /dev/full ]; then
  set +e
  "$HC" get "$D" 0 >/dev/full 2>"$T/err"
  rc=$?
  set -e
  expect_rc 1; expect_err_prefix get; expect_err "writing to stdout"
fi

echo "== proofs (known answers from hypercore@10.38.2 on the reference's own core)"
J=$T/jscore
cp -r "$VECTORS/core-compat" "$J"
run info "$J" --json; ok
expect_eq "$(json_field "$T/out" treeHash)" $THF "JS core tree hash"
expect_eq "$(json_field "$T/out" fork)" 1 "JS core fork"
run get "$J" 3; ok; expect_out d
run user-data "$J" hello; ok; expect_out world
run verify "$J"; ok
run proof "$J" 1; ok; expect_out 01000101016200
run proof "$J" 3 --nodes 2; ok
expect_out 0100010301640204019435aca782b6bc40e253392d45c885f3b1ad47f23e7b6c3f9daf5b0868c438c501029cac92aaed9e7d11eb629465684582ce39cb496303998de123533b09e16f2f06
run proof "$J" 1 --upgrade-from 0; ok
expect_out 090001010162020001423177bd3da55c6ac57419beff9c763bab05e12a6d8908b38b7fc14360228d4a05025ecb153b72aaf9234d9d7289123b41a8340729460a2b1aeffefdd08e6679856e0005010801154996491ba67a786f089c2b396b5ce1e8479ad9416b9057a7431dad4cce19e3004029805f2db15d7e2ba7f18d06538488a31031e1867066722fcee7e2acc3d401173ec518c0efbb8c5ab2a75d69814c98f5d8b54baadcdad13449c69215705e6e0a
run proof "$J" 4 --upgrade-from 2; ok
expect_out 0900010401650002030105025ecb153b72aaf9234d9d7289123b41a8340729460a2b1aeffefdd08e6679856e004029805f2db15d7e2ba7f18d06538488a31031e1867066722fcee7e2acc3d401173ec518c0efbb8c5ab2a75d69814c98f5d8b54baadcdad13449c69215705e6e0a
run proof "$J" 5; expect_rc 1; expect_err "index 5 out of range (length 5)"
run proof "$J" 1 --upgrade-from 9; expect_rc 1; expect_err "upgrade"
run proof "$J" 1 --nodes x; expect_rc 2
# the JS core stays untouched by read-only commands
CHECKS=$((CHECKS + 1))
diff -r "$J" "$VECTORS/core-compat" >/dev/null || fail "read-only commands modified the core"
# a read-only open of the JS core while the CLI holds no lock, then a writable one
run append "$J" f; ok; expect_out 6
run verify "$J"; ok

echo "== missing core, locked core, non-writable core"
run get "$T/nowhere" 0; expect_rc 1; expect_err_prefix get; expect_err "no core at $T/nowhere"
CHECKS=$((CHECKS + 1))
[ ! -e "$T/nowhere" ] || fail "a read-only command created the directory"
mkdir "$T/emptydir"
for args in "info" "verify" "cat" "seek 0" "checkout 0" "proof 0" "get 0" "user-data k"; do
  # shellcheck disable=SC2086
  run ${args%% *} "$T/emptydir" $(echo "$args" | cut -s -d' ' -f2-)
  expect_rc 1; expect_err "no core at $T/emptydir"
done
for c in append truncate clear user-data; do
  case $c in
    append) run append "$T/emptydir" x ;;
    truncate) run truncate "$T/emptydir" 0 ;;
    clear) run clear "$T/emptydir" 0 0 ;;
    user-data) run user-data "$T/emptydir" k v ;;
  esac
  expect_rc 1; expect_err "no core at $T/emptydir"
done
run append "$T/plainfile" x; expect_rc 1; expect_err "not a directory"
CHECKS=$((CHECKS + 1))
[ -z "$(ls -A "$T/emptydir")" ] || fail "opening an empty dir with no_create created files: $(ls "$T/emptydir")"

if command -v flock >/dev/null; then
  flock -o "$D/oplog" sleep 1.5 &
  FLOCK_PID=$!
  sleep 0.5
  run append "$D" locked; expect_rc 1; expect_err "locked"
  run get "$D" 0; ok; expect_out a  # readers take no lock
  wait "$FLOCK_PID" || true
  run append "$D" unlocked; ok; expect_out 6
fi

R=$T/readonly
run create "$R" --key $KEY; ok; expect_out $KEY
run info "$R" --json; ok; expect_eq "$(json_field "$T/out" key)" $KEY "clone key"
run append "$R" x; expect_rc 1; expect_err "core is not writable (no secret key)"
run truncate "$R" 0; expect_rc 1; expect_err "core is not writable"
run create "$T/rk" --key abcd; expect_rc 2
run create "$T/rk" --key $KEY --seed $SEED; expect_rc 2

echo
if [ $FAILS -ne 0 ]; then
  echo "test_cli: $FAILS of $CHECKS checks FAILED" >&2
  exit 1
fi
echo "test_cli: all $CHECKS checks passed"
