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
      ffmpeg jq attr vim nano curl ca-certificates clang nodejs npm)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(nginx rclone httpdirfs gnuplot-nox hyperfine time)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
# vim-nox/vim-tiny also provide a usable vim for the editor tests.
if [[ " ${missing[*]-} " == *" vim "* ]] && command -v vim >/dev/null 2>&1; then
  missing=("${missing[@]/vim}")
fi
missing=($(printf '%s\n' "${missing[@]-}" | grep -v '^$' || true))

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
