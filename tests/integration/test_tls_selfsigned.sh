#!/usr/bin/env bash
# TLS with a self-signed emulator: refused by default, mounts with
# -o cacert=, mounts with -o insecure and a loud warning.
# Driver: tests/soak/tls.py (Python 3 stdlib). Exit 77 = skipped.
set -uo pipefail
top="${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${RECFS_BINARY:-}" ] || [ ! -x "$RECFS_BINARY" ]; then
  echo "SKIP: RECFS_BINARY not set or not built"; exit 77
fi
rc=0
timeout -k 5 88 python3 "$top/tests/soak/tls.py" --budget 80 || rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: tls.py took more than 88 s"
exit "$rc"
