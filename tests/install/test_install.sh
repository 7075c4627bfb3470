#!/usr/bin/env bash
# Installs the build into a temporary prefix and uses it as a C programmer would:
#  - the install holds the public headers (and no internal one), libhypercore.so.0 ->
#    libhypercore.so.0.x.y, libhypercore.a, bin/hypercore, hypercore(1), hypercore.pc and
#    the CMake package;
#  - the README's C example (the first ```c block under "## C API") builds against the
#    installed copy with `pkg-config --cflags --libs hypercore` and with a tiny CMake project
#    using find_package(hypercore) (hypercore::hypercore, and hypercore::hypercore_static),
#    runs, and prints the tree hashes the installed `hypercore info` reports;
#  - the headers compile as C++ (extern "C", the HC_*_INIT macros);
#  - the prefix still works after it is moved elsewhere (relocatable .pc, CMake package and
#    command).
# usage: test_install.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS]   (sanitizer builds pass their flags)
set -uo pipefail
BUILD=${1:?build dir} SRC=${2:?source dir} EXTRA=${3:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0 CHECKS=0
check() { # EXIT-STATUS MESSAGE
  CHECKS=$((CHECKS + 1))
  if [ "$1" != 0 ]; then echo "FAIL: $2" >&2; FAILS=$((FAILS + 1)); fi
}
finish() {
  echo "$((CHECKS - FAILS)) passed, $FAILS failed"
  [ "$FAILS" = 0 ]
  exit $?
}

P=$T/prefix
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1
check $? "cmake --install failed: $(tail -5 "$T/install.log")"
[ -f "$P/include/hypercore.h" ] || finish

# ---- what is installed
PC=$(find "$P" -name hypercore.pc | head -1)
[ -n "$PC" ]; check $? "no hypercore.pc installed"
LIBDIR=$(cd "$(dirname "$PC")/.." && pwd)
VERSION=$("$BUILD/hypercore" --version | awk '{ print $2 }')
MAJOR=${VERSION%%.*}
[ -f "$LIBDIR/libhypercore.so.$VERSION" ]; check $? "no libhypercore.so.$VERSION in $LIBDIR"
[ "$(readlink "$LIBDIR/libhypercore.so.$MAJOR")" = "libhypercore.so.$VERSION" ]
check $? "libhypercore.so.$MAJOR is not a link to libhypercore.so.$VERSION"
[ -L "$LIBDIR/libhypercore.so" ]; check $? "no libhypercore.so development link"
[ -f "$LIBDIR/libhypercore.a" ]; check $? "no libhypercore.a"
[ -f "$LIBDIR/cmake/hypercore/hypercoreConfig.cmake" ]; check $? "no CMake package config"
[ -x "$P/bin/hypercore" ]; check $? "no bin/hypercore"
[ -f "$P/share/man/man1/hypercore.1" ]; check $? "no share/man/man1/hypercore.1"
(cd "$SRC/include" && find . -name '*.h' | sort) >"$T/src-headers"
(cd "$P/include" && find . -name '*.h' | sort) >"$T/inst-headers"
cmp -s "$T/src-headers" "$T/inst-headers"
check $? "installed headers differ from include/: $(diff "$T/src-headers" "$T/inst-headers" | tr '\n' ' ')"

# ---- the installed command finds the installed library (RPATH) and runs
"$P/bin/hypercore" --version >"$T/v" 2>&1 && grep -qx "hypercore $VERSION" "$T/v"
check $? "installed hypercore --version: $(cat "$T/v")"
loaded=$(ldd "$P/bin/hypercore" | awk '/libhypercore/ { print $3 }')
[ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$LIBDIR/libhypercore.so.$MAJOR")" ]
check $? "installed hypercore does not load the installed library: $(ldd "$P/bin/hypercore" | grep hypercore)"
LC_ALL=C MANWIDTH=100 man -l "$P/share/man/man1/hypercore.1" 2>&1 | grep -q '^NAME'
check $? "man -l of the installed page does not render"

# ---- the README's example, against the installed copy
awk '/^## C API/ { f = 1 } f && /^```c/ { g = 1; next } g && /^```/ { exit } g' "$SRC/README.md" >"$T/readme.c"
grep -q '/tmp/example-core' "$T/readme.c"
check $? "the README's C example (first \`\`\`c block under ## C API) no longer opens /tmp/example-core"
example() { # NAME: example.c writing into $T/core-NAME
  sed "s#/tmp/example-core#$T/core-$1#" "$T/readme.c" >"$T/$1.c"
}
# run_example NAME BINARY: runs it; its tree hashes must be what `hypercore info` reports
run_example() {
  "$2" >"$T/$1.out" 2>&1
  check $? "$1: the example failed: $(head -c 400 "$T/$1.out")"
  grep -qx 'block 1: world' "$T/$1.out"; check $? "$1: no 'block 1: world' in: $(cat "$T/$1.out")"
  local h1 h2
  h2=$("$P/bin/hypercore" info "$T/core-$1" --json | sed -E 's/.*"treeHash":"([0-9a-f]+)".*/\1/')
  h1=$("$P/bin/hypercore" info "$T/core-$1" --json --length 1 | sed -E 's/.*"treeHash":"([0-9a-f]+)".*/\1/')
  grep -qx "length 2, tree hash $h2" "$T/$1.out"; check $? "$1: tree hash is not $h2: $(cat "$T/$1.out")"
  grep -qx "at length 1: tree hash $h1" "$T/$1.out"; check $? "$1: snapshot hash is not $h1"
}

export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
pkg-config --exists hypercore; check $? "pkg-config does not find hypercore"
[ "$(pkg-config --modversion hypercore)" = "$VERSION" ]; check $? "pkg-config version is not $VERSION"
pkg-config --static --libs hypercore | grep -q -- '-lsodium'; check $? "pkg-config --static lacks -lsodium"
example pc
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Wextra -Werror $EXTRA -o "$T/ex-pc" "$T/pc.c" $(pkg-config --cflags --libs hypercore) \
  -Wl,-rpath,"$(pkg-config --variable=libdir hypercore)" >"$T/cc.log" 2>&1
check $? "cc with pkg-config failed: $(head -c 800 "$T/cc.log")"
[ -x "$T/ex-pc" ] && run_example pc "$T/ex-pc"

example cm
example cmstatic
cat >"$T/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(hypercore $VERSION REQUIRED COMPONENTS static)
add_executable(ex-cm cm.c)
target_link_libraries(ex-cm PRIVATE hypercore::hypercore)
add_executable(ex-cmstatic cmstatic.c)
target_link_libraries(ex-cmstatic PRIVATE hypercore::hypercore_static)
CM
cmake -S "$T" -B "$T/cb" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$EXTRA" >"$T/cm.log" 2>&1 &&
  cmake --build "$T/cb" >>"$T/cm.log" 2>&1
check $? "CMake consumer with find_package(hypercore) failed: $(tail -c 1200 "$T/cm.log")"
[ -x "$T/cb/ex-cm" ] && run_example cm "$T/cb/ex-cm"
[ -x "$T/cb/ex-cmstatic" ] && run_example cmstatic "$T/cb/ex-cmstatic"
if [ -x "$T/cb/ex-cmstatic" ]; then
  ! readelf -d "$T/cb/ex-cmstatic" | grep -q 'libhypercore'
  check $? "hypercore::hypercore_static links the shared library"
fi

# ---- the headers as C++
cat >"$T/cxx.cc" <<'CXX'
#include <hypercore.h>
#include <hypercore/fault.h>
int main() {
  hc_core_opts o = HC_CORE_OPTS_INIT;
  hc_replicator_opts r = HC_REPLICATOR_OPTS_INIT;
  hc_replicator_callbacks cb = HC_REPLICATOR_CALLBACKS_INIT;
  hc_manifest_params mp = HC_MANIFEST_PARAMS_INIT;
  hc_fault_plan fp = HC_FAULT_PLAN_INIT;
  return o.version + r.version + cb.version + mp.version + fp.version == 0;
}
CXX
# (GCC's -Wextra warns about members an aggregate initialiser leaves out, even in C++20: valid)
c++ -std=c++11 -Wall -Wextra -Wno-missing-field-initializers -Werror -fsyntax-only -I"$P/include" "$T/cxx.cc" >"$T/cxx.log" 2>&1
check $? "the headers do not compile as C++11: $(head -c 800 "$T/cxx.log")"

# ---- the result of a verification must not be ignored (HC_WARN_UNUSED)
cat >"$T/unused.c" <<'C'
#include <hypercore.h>
int f(hc_core *c);
int f(hc_core *c) { hc_core_verify(c, 0); return 0; }
C
! cc -std=c11 -Werror=unused-result -c -o "$T/unused.o" -I"$P/include" "$T/unused.c" >"$T/unused.log" 2>&1
check $? "ignoring hc_core_verify's result compiles without a warning"
grep -q 'unused-result' "$T/unused.log"; check $? "no unused-result diagnostic: $(head -c 300 "$T/unused.log")"

# ---- relocatable: move the prefix, everything still resolves
mv "$P" "$T/moved"
P=$T/moved
"$P/bin/hypercore" --version >/dev/null 2>&1; check $? "the moved command does not run"
PKG_CONFIG_PATH="${LIBDIR/$T\/prefix/$T/moved}/pkgconfig" pkg-config --cflags hypercore | grep -q -- "-I$T/moved/"
check $? "the moved hypercore.pc does not point into the new prefix"

finish
