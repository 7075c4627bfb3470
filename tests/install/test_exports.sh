#!/usr/bin/env bash
# The shared library's ABI is exactly the public headers: every symbol it exports is a
# function declared with HC_EXPORT in include/ (nothing internal leaks: hc_merkle_*,
# hc_oplog_*, ...), every HC_EXPORT function is exported, and the SONAME is
# libhypercore.so.<major>.
# usage: test_exports.sh PATH/TO/libhypercore.so INCLUDE_DIR MAJOR
set -uo pipefail
LIB=${1:?shared library} INC=${2:?include dir} MAJOR=${3:?major version}
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-exports.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0 CHECKS=0
check() { # EXIT-STATUS MESSAGE
  CHECKS=$((CHECKS + 1))
  if [ "$1" != 0 ]; then echo "FAIL: $2" >&2; FAILS=$((FAILS + 1)); fi
}

# Declared: HC_EXPORT declarations of every public header, comments and #lines removed.
find "$INC" -name '*.h' -print0 | sort -z | xargs -0 cat | grep -v '^[[:space:]]*#' |
  tr '\n' ' ' | sed -e 's:/\*\([^*]\|\*[^/]\)*\*/: :g' |
  grep -oE 'HC_EXPORT[^;{]*\(' | sed -E 's/[[:space:]]*\($//' |
  grep -oE '[A-Za-z_][A-Za-z0-9_]*$' | sort -u >"$T/declared"
[ "$(wc -l <"$T/declared")" -ge 100 ]
check $? "found only $(wc -l <"$T/declared") HC_EXPORT declarations in $INC"

# Exported: defined dynamic symbols. Names starting with '_' belong to the toolchain
# (_init, _fini, sanitizer instrumentation); everything else must be ours.
nm -D --defined-only "$LIB" | awk '{ print $NF }' | grep -v '^_' | sort -u >"$T/exported"
[ -s "$T/exported" ]; check $? "nm -D found no exported symbol in $LIB"

leaked=$(comm -13 "$T/declared" "$T/exported")
[ -z "$leaked" ]
check $? "exported but not declared HC_EXPORT in the public headers: $(echo $leaked)"
missing=$(comm -23 "$T/declared" "$T/exported")
[ -z "$missing" ]
check $? "declared HC_EXPORT but not exported (no definition?): $(echo $missing)"
grep -v '^hc_' "$T/exported" >"$T/unprefixed"
[ ! -s "$T/unprefixed" ]; check $? "exported without the hc_ prefix: $(cat "$T/unprefixed" | tr '\n' ' ')"

soname=$(readelf -d "$LIB" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
[ "$soname" = "libhypercore.so.$MAJOR" ]; check $? "SONAME is '$soname', wanted libhypercore.so.$MAJOR"

echo "exports: $(wc -l <"$T/exported") symbols exported, $(wc -l <"$T/declared") declared"
echo "$((CHECKS - FAILS)) passed, $FAILS failed"
[ "$FAILS" = 0 ]
