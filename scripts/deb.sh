#!/usr/bin/env bash
# Builds the Debian package of libhypercore (library, headers, pkg-config and CMake files, the
# `hypercore` command and its man page):
#   bash scripts/deb.sh                 build-deb/hypercore_<version>_<arch>.deb
#   bash scripts/deb.sh --install       ... then installs it with dpkg -i (root or sudo) and
#                                       checks that /usr/bin/hypercore runs
#   bash scripts/deb.sh --install --remove   ... and removes it again afterwards
# The build directory is build-deb/ (HC_DEB_BUILD_DIR to change it), a Release build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/deps.sh"
hc_install_deps

INSTALL=0 REMOVE=0
for a in "$@"; do
  case "$a" in
    --install) INSTALL=1 ;;
    --remove) REMOVE=1 ;;
    *) echo "usage: scripts/deb.sh [--install [--remove]]" >&2; exit 2 ;;
  esac
done
BUILD="${HC_DEB_BUILD_DIR:-$ROOT/build-deb}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(hc_jobs)" --target hypercore hypercore_shared hypercore_cli
(cd "$BUILD" && cpack -G DEB)
DEB=$(ls -t "$BUILD"/hypercore_*.deb | head -1)
echo "==> $DEB"
dpkg-deb -f "$DEB" Package Version Depends
[ "$INSTALL" = 1 ] || exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" dpkg -i "$DEB"
echo "==> installed: $(command -v hypercore): $(hypercore --version)"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
hypercore create "$T/core" >/dev/null
[ "$(hypercore append "$T/core" a b c)" = 3 ] && [ "$(hypercore get "$T/core" 1)" = b ]
pkg-config --modversion hypercore
echo "==> /usr/bin/hypercore works"
if [ "$REMOVE" = 1 ]; then
  "${sudo[@]}" dpkg -r hypercore
  echo "==> removed"
fi
