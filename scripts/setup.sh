#!/usr/bin/env bash
# One-step set-up for a fresh Debian 12 machine: installs the Debian packages smpsim needs
# (idempotent; apt-get update first), builds the release preset and runs the main job on the
# bundled default. Run as root, or as a user with sudo.
#   scripts/setup.sh            install + build + run the default
#   scripts/setup.sh --deps     install packages only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-context-dev libfmt-dev libspdlog-dev doctest-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libmimalloc-dev               # the programs' allocator (CMake option SMPSIM_MIMALLOC)
  clang-14 libclang-rt-14-dev   # the libFuzzer targets (scripts/fuzz.sh)
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
[ "${1:-}" = "--deps" ] && exit 0

cmake --preset release >/dev/null
cmake --build --preset release
exec ./build/release/app/smpsim run scenarios/default.toml
