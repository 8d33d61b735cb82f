#!/usr/bin/env bash
# test_lint.sh - static analysis inside ctest: cppcheck over client/, fs/
# and tests/fuzz/ (a few seconds). The clang-tidy pass takes 40-80 s on
# two cores, so it runs here only with RECFS_LINT_FULL=1; otherwise run
# `scripts/lint.sh` (both passes). Exit 77 if the tools are missing.
set -u
SRC=${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
args=(--no-tidy)
if [ -n "${RECFS_LINT_FULL:-}" ]; then
    args=()
    [ -n "${RECFS_BINARY:-}" ] && args=(--build-dir "$(dirname "$RECFS_BINARY")")
fi
exec bash "$SRC/scripts/lint.sh" "${args[@]}"
