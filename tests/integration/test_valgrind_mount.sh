#!/usr/bin/env bash
# valgrind memcheck over one full mount session (mount, ls -lR, cat media,
# edit, annotation create, unmount): zero errors, zero definite leaks.
# The ctest build is ASan, which valgrind cannot run, so this is skipped
# (77) unless RECFS_VALGRIND_BINARY names a non-sanitized recfs:
#   cmake -S . -B build-vg -DENABLE_SANITIZERS=OFF && cmake --build build-vg --target recfs
#   RECFS_VALGRIND_BINARY=$PWD/build-vg/recfs ctest --test-dir build -R valgrind
# Driver: tests/soak/vgmount.py.
set -uo pipefail
top="${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -z "${RECFS_VALGRIND_BINARY:-}" ]; then
  echo "SKIP: RECFS_VALGRIND_BINARY not set (a recfs built with -DENABLE_SANITIZERS=OFF)"
  exit 77
fi
rc=0
timeout -k 5 280 python3 "$top/tests/soak/vgmount.py" --budget 270 || rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: valgrind session took more than 280 s"
exit "$rc"
