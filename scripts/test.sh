#!/usr/bin/env bash
# Install what is missing, build with ASan+UBSan, run every test.
#   scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="${RECFS_BUILD_DIR:-$top/build-test}"

"$top/scripts/install-deps.sh"

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
      -DENABLE_SANITIZERS=ON -DENABLE_WERROR=ON -DBUILD_TESTING=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

cd "$build"
ctest --output-on-failure -j2 --timeout 600 "$@"
