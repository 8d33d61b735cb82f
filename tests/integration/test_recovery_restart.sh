#!/usr/bin/env bash
# API down and server restart: cached data stays readable, uncached fails
# fast, and the mount recovers by itself when the emulator is back.
# Driver: tests/soak/recovery.py (Python 3 stdlib). Exit 77 = skipped.
set -uo pipefail
top="${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${RECFS_BINARY:-}" ] || [ ! -x "$RECFS_BINARY" ]; then
  echo "SKIP: RECFS_BINARY not set or not built"; exit 77
fi
rc=0
timeout -k 5 88 python3 "$top/tests/soak/recovery.py" --cycles 2 --budget 80 || rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: recovery.py took more than 88 s"
exit "$rc"
