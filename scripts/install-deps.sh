#!/usr/bin/env bash
# Install what recfs needs to build, test and run its demo — only what is
# missing. Idempotent. Debian 12 (bookworm); needs root or sudo.
#   scripts/install-deps.sh           build + test + demo dependencies
#   scripts/install-deps.sh --bench   also the benchmark baselines
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

pkgs=(build-essential cmake pkg-config libfuse3-dev fuse3
      libcurl4-openssl-dev libjansson-dev libcmocka-dev python3
      ffmpeg jq attr vim nano curl ca-certificates clang nodejs npm
      valgrind openssl)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(nginx rclone httpdirfs gnuplot-nox hyperfine time)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
# Commands that other packages may already provide: vim-nox/vim-tiny give a
# usable vim; a nodejs from another source bundles npm and conflicts with
# Debian's npm package. Skip the package when its command is there.
provided() {
  case "$1" in
    vim|nodejs|npm|curl|clang) command -v "${1/nodejs/node}" >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}
kept=()
for p in "${missing[@]-}"; do
  [ -n "$p" ] && ! provided "$p" && kept+=("$p")
done
missing=("${kept[@]-}")
[ -n "${missing[0]-}" ] || missing=()

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all Debian packages present"
fi

# The OpenAPI validating proxy for the emulator's conformance test.
if [ -x "$here/emulator/install-prism.sh" ]; then
  "$here/emulator/install-prism.sh" || echo "install-deps: prism not installed (conformance test will be skipped)"
fi
