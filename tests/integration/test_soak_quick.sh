#!/usr/bin/env bash
# Short fault and load soak (~60 s): mixed workload on one mount while the
# emulator injects faults; checks bytes, errnos, edits, clean unmount.
# Long runs: scripts/soak.sh --minutes N.
# Driver: tests/soak/soak.py (Python 3 stdlib). Exit 77 = skipped.
set -uo pipefail
top="${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${RECFS_BINARY:-}" ] || [ ! -x "$RECFS_BINARY" ]; then
  echo "SKIP: RECFS_BINARY not set or not built"; exit 77
fi
rc=0
timeout -k 5 88 python3 "$top/tests/soak/soak.py" --seconds 45 --budget 80 || rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: soak.py took more than 88 s"
exit "$rc"
