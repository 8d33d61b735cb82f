#!/usr/bin/env bash
# Benchmark recfs against curl, nginx+rclone, nginx+httpdirfs and local cat,
# all on loopback against the emulator (bench seed). See tests/bench/bench.py.
#   scripts/bench.sh               full run (~10 min), gates on the targets
#   scripts/bench.sh --quick       1 repetition, tiny sizes, no gates (< 60 s)
#   scripts/bench.sh --no-gate     full run, report only
#   scripts/bench.sh --only seq,ls ... other options: tests/bench/bench.py -h
# Results: bench-results/bench.{md,json}, bench-results/throughput.png.
# Builds an optimized recfs (no sanitizers) in build-bench/ unless
# RECFS_BINARY names one. Needs scripts/install-deps.sh --bench.
# Exit: 0 ok, 1 target missed, 2 error, 77 cannot run here.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

recfs="${RECFS_BINARY:-}"
if [ -z "$recfs" ]; then
  build="${RECFS_BENCH_BUILD_DIR:-$top/build-bench}"
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release \
        -DENABLE_SANITIZERS=OFF -DBUILD_TESTING=OFF >/dev/null
  if ! cmake --build "$build" --target recfs -j"$(nproc)" \
       >"$build/bench-build.log" 2>&1; then
    echo "bench: recfs does not build (see $build/bench-build.log);" \
         "measuring the baselines only" >&2
  fi
  recfs="$build/recfs"
fi

exec python3 "$top/tests/bench/bench.py" --recfs "$recfs" "$@"
