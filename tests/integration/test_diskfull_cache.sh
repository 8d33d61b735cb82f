#!/usr/bin/env bash
# Cache directory on a full 4 MiB tmpfs (root only): media larger than it
# read byte-exact, a clear warning logged, bounded re-downloading.
# Driver: tests/soak/diskfull.py (Python 3 stdlib). Exit 77 = skipped.
set -uo pipefail
top="${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${RECFS_BINARY:-}" ] || [ ! -x "$RECFS_BINARY" ]; then
  echo "SKIP: RECFS_BINARY not set or not built"; exit 77
fi
rc=0
timeout -k 5 88 python3 "$top/tests/soak/diskfull.py" --budget 80 || rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: diskfull.py took more than 88 s"
exit "$rc"
