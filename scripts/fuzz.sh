#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 (packages clang-14, libclang-rt-14-dev; ASan + UBSan +
# fuzzer coverage, -O1) and runs each for a bounded time from its corpus under
# tests/fuzz/corpus/<target>/. Only the three fuzz targets are built: they link the parser library
# smpsim_parse (and the engine and model it needs), not the runner, the CLI or the search code.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 20 s, every target)
# A crash, hang (-timeout), leak or sanitizer report fails the script; the input that caused it is
# kept in build/fuzz/findings/ (add it to the corpus and to a regression test once fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
build=build/fuzz
if [ $# -gt 0 ]; then targets="$*"; else targets=$(ls tests/fuzz/corpus); fi
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=FuzzO1 \
  -DCMAKE_CXX_FLAGS_FUZZO1="-O1 -gline-tables-only" -DSMPSIM_FUZZ=ON \
  -DSMPSIM_BUILD_BENCH=OFF -DSMPSIM_WERROR=OFF >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target $(for t in $targets; do echo "fuzz_$t"; done)
mkdir -p "$build/findings"
for t in $targets; do
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$t/." "$work/"
  echo "=== fuzz: $t for ${secs}s"
  log="$build/findings/$t.log"
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/findings/$t-" "$work" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $t FAILED (log: $log; the input is in $build/findings/)" >&2
    rm -rf "$work"
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done ' "$log" || tail -n 5 "$log"
  rm -rf "$work"
done
echo "fuzz: every target ran ${secs}s with no crash, hang or sanitizer report"
