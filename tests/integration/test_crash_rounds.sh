#!/usr/bin/env bash
# Crash rounds: SIGKILL recfs mid-download and mid-commit, remount on the
# same cache, check cache integrity and all-or-nothing edits.
# Driver: tests/soak/crash.py (Python 3 stdlib). Exit 77 = skipped.
set -uo pipefail
top="${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${RECFS_BINARY:-}" ] || [ ! -x "$RECFS_BINARY" ]; then
  echo "SKIP: RECFS_BINARY not set or not built"; exit 77
fi
rc=0
timeout -k 5 88 python3 "$top/tests/soak/crash.py" --rounds 10 --budget 80 || rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: crash.py took more than 88 s"
exit "$rc"
