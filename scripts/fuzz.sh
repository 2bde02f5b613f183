#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan + UBSan) into ./build-fuzz and
# runs each for the given number of seconds (default 60), starting from its
# seed corpus fuzz/corpus/<target>/. New inputs go to build-fuzz/corpus/,
# crashing inputs to build-fuzz/artifacts/<target>/. Exits non-zero if any
# target crashed.
#   scripts/fuzz.sh [seconds] [target...]
# With DROVER_FUZZ_RUNS=N each target instead runs exactly N inputs from a
# fixed seed, so that a run is repeatable (CI uses this: a build that passed
# once passes again).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true

scripts/setup.sh --sanitizer-tools
LAUNCHER=()
if command -v ccache > /dev/null; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DDROVER_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}" > /dev/null
cmake --build build-fuzz -j"$(nproc)"

targets=("$@")
if ((${#targets[@]} == 0)); then
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  log="build-fuzz/$t.log"
  set +e
  if [[ -n "${DROVER_FUZZ_RUNS:-}" ]]; then
    budget=(-runs="$DROVER_FUZZ_RUNS" -seed=1)
    echo "==> fuzzing $t for $DROVER_FUZZ_RUNS inputs (seed 1)"
  else
    budget=(-max_total_time="$SECONDS_EACH")
    echo "==> fuzzing $t for ${SECONDS_EACH}s"
  fi
  "build-fuzz/fuzz/$t" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
    "build-fuzz/corpus/$t" "fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  if ((rc != 0)); then
    failed+=("$t")
    summary+=("$t: CRASH (exit $rc) after ${runs:-?} runs; see $log and build-fuzz/artifacts/$t/")
    tail -40 "$log"
  else
    summary+=("$t: ${runs:-?} runs, no crash")
  fi
done

echo "==> fuzz summary"
printf '    %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: crashes in ${failed[*]}" >&2
  exit 1
fi
