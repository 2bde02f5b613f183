#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer
# (g++) into ./build-asan and runs them. Any sanitizer report fails the run.
#   scripts/sanitize.sh [gtest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
LAUNCHER=()
if command -v ccache > /dev/null; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Debug (-O0, assertions on): the sanitizers need no optimizer, and the
# template-heavy codecs compile several times faster without it.
cmake -S . -B build-asan -DDROVER_SANITIZE=ON -DDROVER_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug "${LAUNCHER[@]}" > /dev/null
cmake --build build-asan -j"$(nproc)" --target drover_unit_tests

echo "==> unit tests under ASan + UBSan"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
build-asan/tests/drover_unit_tests --gtest_brief=1 "$@"
echo "==> sanitizers: unit tests passed with no reports"
