#!/usr/bin/env bash
# Randomized soak: many seeds of the `swarm` strategy on every bundled scenario under the asan
# build. Model failures (a kernel bug found in a scenario variant) are allowed and listed; an
# internal error (a broken engine invariant), an exception or a sanitizer report fails the soak.
# Usage: scripts/soak.sh [RUNS_PER_SCENARIO] [BUILD]   (default 20, build/asan; nightly: 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
bin=${2:-build/asan}/app/smpsim
export ASAN_OPTIONS=exitcode=86 UBSAN_OPTIONS=exitcode=86
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0 total=0
for sc in scenarios/*.toml; do
  case "$sc" in *hotplug_storm_64*) continue ;; esac
  set +e
  "$bin" fuzz "$sc" --runs "$runs" --strategy swarm --out "$tmp/out" >"$tmp/log" 2>&1
  st=$?
  set -e
  total=$((total + runs))
  if [ "$st" -ne 0 ] && [ "$st" -ne 1 ]; then
    echo "soak: $sc: smpsim exited $st"; tail -n 20 "$tmp/log"; bad=$((bad + 1))
  elif grep -qE '"signature":"(internal-error|exception)' "$tmp/out/results.jsonl"; then
    echo "soak: $sc: internal error:"; grep -E '"signature":"(internal-error|exception)' "$tmp/out/results.jsonl" | head -n 3
    bad=$((bad + 1))
  else
    found=$(grep -c '"failed":true' "$tmp/out/results.jsonl" || true)
    [ "$found" -gt 0 ] && echo "soak: $sc: $found model failure(s) in swarm variants (allowed)"
  fi
  rm -rf "$tmp/out"
done
echo "soak: $total swarm runs, $bad scenario(s) with internal errors or sanitizer reports"
[ "$bad" -eq 0 ]
