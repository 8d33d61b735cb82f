#!/bin/sh
# Install the Stoplight Prism CLI (validating proxy used by
# tests/emulator/test_conformance.py) into <repo>/.deps. Idempotent: does
# nothing when a working prism is already there. Needs node >= 18 and npm.
# Usage: scripts/emulator/install-prism.sh   (PRISM_VERSION=5.14.2 to pin)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
deps="$repo/.deps"
version="${PRISM_VERSION:-5.14.2}"
prism="$deps/node_modules/.bin/prism"

if [ -x "$prism" ] && "$prism" --version >/dev/null 2>&1; then
    echo "prism $("$prism" --version) already installed in $deps"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "install-prism: node/npm not found; the emulator conformance test will be skipped" >&2
    exit 1
fi
mkdir -p "$deps"
npm install --no-audit --no-fund --loglevel=error --prefix "$deps" "@stoplight/prism-cli@$version"
"$prism" --version >/dev/null
echo "prism $("$prism" --version) installed in $deps"
