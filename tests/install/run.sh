#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and builds + runs a find_package(smpsim) consumer.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/smpsim"
test -f "$work/prefix/include/model/stop_machine.hpp"
ls "$work/prefix/share/smpsim/scenarios" >/dev/null
cmake -S "$src_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
echo "install: find_package(smpsim) consumer built and ran"
