#!/usr/bin/env bash
# Builds libhypercore twice (normal, and with AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs the whole test suite (C unit tests, CLI tests, JS interop tests) in both builds.
#   bash scripts/test.sh            build dirs: build/ and build-asan/ (override: HC_BUILD_DIR, HC_ASAN_DIR)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/deps.sh"
hc_install_deps clang valgrind   # clang: libFuzzer targets; valgrind: memcheck of the suite

BUILD="${HC_BUILD_DIR:-$ROOT/build}"
ASAN="${HC_ASAN_DIR:-$ROOT/build-asan}"
JOBS="$(hc_jobs)"

echo "==> npm ci (tests/interop: pinned JS reference hypercore@10.38.2 / @11.37.1)"
(cd "$ROOT/tests/interop" && npm ci --no-audit --no-fund --loglevel=error)
hc_install_swarm_helper "$ROOT"

echo "==> build ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD" -j "$JOBS"
echo "==> ctest ($BUILD)"
(cd "$BUILD" && ctest --output-on-failure -j "$JOBS")

echo "==> reliability: 200 SIGKILLs, valgrind memcheck of every C test, libFuzzer per target"
HC_FUZZ_SECONDS="${HC_FUZZ_SECONDS:-20}" bash "$ROOT/scripts/reliability.sh" "$BUILD"

echo "==> build with ASan+UBSan ($ASAN)"
cmake -S "$ROOT" -B "$ASAN" -DCMAKE_BUILD_TYPE=Debug -DHC_SANITIZE=ON
cmake --build "$ASAN" -j "$JOBS"
echo "==> ctest ($ASAN)"
(cd "$ASAN" && ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  ctest --output-on-failure -j "$JOBS")

echo "==> all tests passed (normal and sanitizer builds)"
