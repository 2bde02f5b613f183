#!/usr/bin/env bash
# Installs what Drover needs on Debian 12 (only what is missing) and builds
# it into ./build. Used by run.sh, test.sh and CI.
#   scripts/setup.sh --sanitizer-tools   installs, in addition, what
#     fuzz.sh needs (clang 14, libFuzzer and LeakSanitizer from
#     libclang-rt-14-dev), and builds nothing.
#   scripts/setup.sh --with-browser      installs, in addition, what the
#     browser test of the web page needs (Chromium, Node.js, playwright-core
#     from npm), then builds; test.sh uses it, run.sh does not.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS_ONLY=0
BROWSER=0
case "${1:-}" in
  --sanitizer-tools) TOOLS_ONLY=1 ;;
  --with-browser) BROWSER=1 ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--sanitizer-tools | --with-browser]" >&2; exit 2 ;;
esac

PACKAGES=(
  build-essential cmake pkg-config
  librocksdb-dev libpistache-dev libboost1.81-dev libboost-json1.81-dev
  libcli11-dev libgtest-dev libgmock-dev
  python3-prometheus-client  # the metrics test parses the Prometheus text with it
  jq  # the README's /v1/jobs/parse example builds its request with it
)
if ((TOOLS_ONLY)); then PACKAGES+=(clang-14 libclang-rt-14-dev); fi
# The browser test of the web page (tests/browser): Chromium driven by
# playwright-core on Node. A node from elsewhere (e.g. NodeSource, which
# brings its own npm) is kept.
if ((BROWSER)); then
  PACKAGES+=(chromium)
  command -v node > /dev/null || PACKAGES+=(nodejs)
  command -v npm > /dev/null || PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${missing[@]}"
fi

if ((TOOLS_ONLY)); then exit 0; fi

if ((BROWSER)) && [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  echo "==> installing playwright-core for the browser test (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund)
fi

BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
echo "==> building (${BUILD_TYPE})"
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE}" > /dev/null
cmake --build build -j"$(nproc)"
