#!/usr/bin/env bash
# Builds and runs the whole test suite for each preset given (default: release and asan).
# This is the README's test command and exactly what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release asan)
jobs=$(nproc 2>/dev/null || echo 2)
for p in "${presets[@]}"; do
  echo "=== test: preset $p"
  cmake --preset "$p" >/dev/null
  cmake --build --preset "$p" -j "$jobs"
  ctest --preset "$p" -j "$jobs"
done
