#!/usr/bin/env bash
# Installs what is missing (the browser test's Chromium and playwright-core
# too), builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-browser
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
