#!/usr/bin/env bash
# The Debian package (cpack -G DEB): its control file depends on libsodium and zlib (found by
# dpkg-shlibdeps), registers the shared library (shlibs, ldconfig trigger), and it holds the
# command, the library with its SONAME link, the headers, hypercore.pc, the CMake package
# and the man page. Unpacked (dpkg-deb -x, so nothing is installed on this machine) its
# `hypercore` runs against the packaged library and works on a core.
# (`bash scripts/deb.sh --install` also installs it with dpkg -i and checks /usr/bin/hypercore.)
# usage: test_deb.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?build dir}
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-deb.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0 CHECKS=0
check() { # EXIT-STATUS MESSAGE
  CHECKS=$((CHECKS + 1))
  if [ "$1" != 0 ]; then echo "FAIL: $2" >&2; FAILS=$((FAILS + 1)); fi
}

cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$T/out" >"$T/cpack.log" 2>&1
check $? "cpack -G DEB failed: $(tail -c 1200 "$T/cpack.log")"
DEB=$(find "$T/out" -maxdepth 1 -name 'hypercore_*.deb' | head -1)
[ -n "$DEB" ]; check $? "no hypercore_*.deb produced"
if [ -z "$DEB" ]; then echo "$((CHECKS - FAILS)) passed, $FAILS failed"; exit 1; fi
VERSION=$("$BUILD/hypercore" --version | awk '{ print $2 }')

[ "$(dpkg-deb -f "$DEB" Package)" = hypercore ]; check $? "package name is not hypercore"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ]; check $? "package version is not $VERSION"
deps=$(dpkg-deb -f "$DEB" Depends)
for d in libsodium23 zlib1g libc6; do
  echo "$deps" | grep -q "\b$d\b"; check $? "Depends lacks $d: $deps"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -t | grep -q 'shlibs$'; check $? "no shlibs control file"
dpkg-deb -c "$DEB" | awk '{ print $6 }' >"$T/files"
for f in ./usr/bin/hypercore ./usr/include/hypercore.h ./usr/include/hypercore/core.h \
         "libhypercore.so.$VERSION" libhypercore.so.0 libhypercore.a pkgconfig/hypercore.pc \
         cmake/hypercore/hypercoreConfig.cmake ./usr/share/man/man1/hypercore.1; do
  grep -q -- "$f\$" "$T/files"; check $? "the package lacks $f"
done

dpkg-deb -x "$DEB" "$T/root"
check $? "dpkg-deb -x failed"
HC=$T/root/usr/bin/hypercore
"$HC" --version >"$T/v" 2>&1 && grep -qx "hypercore $VERSION" "$T/v"
check $? "the packaged hypercore does not run: $(cat "$T/v")"
ldd "$HC" | awk '/libhypercore/ { print $3 }' | xargs -r readlink -f | grep -q "^$T/root/"
check $? "the packaged hypercore does not load the packaged library"
seed=0101010101010101010101010101010101010101010101010101010101010101
[ "$("$HC" create "$T/core" --seed $seed 2>&1)" = 8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c ]
check $? "packaged hypercore create gives the wrong key"
[ "$("$HC" append "$T/core" a b c 2>&1)" = 3 ] && [ "$("$HC" get "$T/core" 1 2>&1)" = b ]
check $? "packaged hypercore append/get failed"
LC_ALL=C MANWIDTH=100 man -l "$T/root/usr/share/man/man1/hypercore.1" 2>&1 | grep -q '^EXIT STATUS'
check $? "the packaged man page does not render"

echo "deb: $(basename "$DEB"), $(wc -l <"$T/files") entries"
echo "$((CHECKS - FAILS)) passed, $FAILS failed"
[ "$FAILS" = 0 ]
