#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan+fuzzer) and runs each for a bounded time
# from its corpus. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=build/fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMPSIM_FUZZ=ON \
  -DSMPSIM_BUILD_BENCH=OFF -DSMPSIM_WERROR=OFF >/dev/null
targets=$(ls tests/fuzz/corpus)
for t in $targets; do cmake --build "$build" --target "fuzz_$t" -j "$(nproc)"; done
for t in $targets; do
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$t/." "$work/"
  echo "=== fuzz: $t for ${secs}s"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
echo "fuzz: all targets ran ${secs}s with no crash, hang or sanitizer report"
