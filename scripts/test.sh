#!/usr/bin/env bash
# Install what is missing; build the concurrency tests with ThreadSanitizer
# and run them; then build everything with ASan+UBSan and run every test
# (last, so the final summary line is the whole suite's).
#   scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
#   RECFS_NO_TSAN=1 scripts/test.sh   skip the ThreadSanitizer stage
#   RECFS_NO_VALGRIND=1 ...           skip the valgrind mount session
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="${RECFS_BUILD_DIR:-$top/build-test}"
jobs=$(nproc)

"$top/scripts/install-deps.sh"

# ThreadSanitizer over the tests that exercise concurrency: the client
# under many threads, the cache's single-download machinery, and real
# mounts (the multithreaded daemon built with TSan; the mount helper fails
# a test on any sanitizer report in the daemon's log).
if [ -z "${RECFS_NO_TSAN:-}" ] && [ "$#" -eq 0 ]; then
  tsan="$build-tsan"
  tsan_targets=(unit_test_cache_concurrency unit_test_cache_runs
                integration_test_client_net
                recfs integration_test_fs_read integration_test_fs_media
                integration_test_fs_write)
  tsan_tests='unit_test_cache_(concurrency|runs)|integration_test_client_net|integration_test_fs_(read|media|write)$|shell_test_fs_readdir_stream'
  echo "== ThreadSanitizer build"
  cmake -S "$top" -B "$tsan" -DCMAKE_BUILD_TYPE=Debug -DENABLE_TSAN=ON \
        -DENABLE_SANITIZERS=OFF -DENABLE_WERROR=ON -DBUILD_TESTING=ON >/dev/null
  cmake --build "$tsan" -j"$jobs" --target "${tsan_targets[@]}"
  echo "== tests (TSan)"
  (cd "$tsan" && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
     ctest --output-on-failure --timeout 600 -R "$tsan_tests")
fi

# valgrind memcheck needs a binary without sanitizers: one full mount
# session runs in the main suite (shell_test_valgrind_mount).
if [ -z "${RECFS_NO_VALGRIND:-}" ] && command -v valgrind >/dev/null; then
  plain="$build-plain"
  echo "== plain build (for valgrind)"
  cmake -S "$top" -B "$plain" -DCMAKE_BUILD_TYPE=Debug -DENABLE_SANITIZERS=OFF \
        -DENABLE_WERROR=ON -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$plain" -j"$jobs" --target recfs
  export RECFS_VALGRIND_BINARY="$plain/recfs"
fi

echo "== ASan+UBSan build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
      -DENABLE_SANITIZERS=ON -DENABLE_WERROR=ON -DBUILD_TESTING=ON >/dev/null
cmake --build "$build" -j"$jobs"

# Static analysis in the suite: cppcheck and clang-tidy (shell_test_lint).
export RECFS_LINT_FULL="${RECFS_LINT_FULL:-1}"

echo "== tests (ASan+UBSan)"
(cd "$build" && ctest --output-on-failure -j2 --timeout 600 "$@")
