#!/usr/bin/env bash
# Installs the build/test dependencies with apt-get, only those that are missing.
# Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

# hc_install_deps [EXTRA_PACKAGE...]: the build packages plus the extras (test.sh: clang, valgrind).
# man-db (man -l, col), file and dpkg-dev (cpack's dpkg-shlibdeps) serve the install tests:
# the man page and the Debian package.
hc_install_deps() {
  local missing=()
  local pkg
  for pkg in build-essential cmake pkg-config libsodium-dev zlib1g-dev man-db file dpkg-dev "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  echo "==> installing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

hc_jobs() {
  nproc 2>/dev/null || echo 2
}

# hc_install_swarm_helper ROOT: the Hyperswarm helper's pinned packages (helper/swarm, used by
# `serve --swarm` / `clone --swarm` and hc_discovery_new), installed with npm ci.
hc_install_swarm_helper() {
  echo "==> npm ci (helper/swarm: pinned hyperswarm 4.17.2 / hyperdht 6.34.0)"
  (cd "$1/helper/swarm" && npm ci --no-audit --no-fund --loglevel=error)
}
