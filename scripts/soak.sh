#!/usr/bin/env bash
# Long reliability run (issue 8): the fault and load soak for N minutes,
# then crash rounds, server-restart cycles, disk full and TLS, all against
# real mounts on the emulator. The drivers are tests/soak/*.py; ctest runs
# short versions of each (tests/integration/test_{soak_quick,crash_*,
# recovery_*,diskfull_*,tls_*}.sh).
#   scripts/soak.sh                  5 minutes of soak (default)
#   scripts/soak.sh --minutes 30     longer
#   scripts/soak.sh --only soak      just the soak (soak,crash,recovery,diskfull,tls)
#   scripts/soak.sh --out DIR        figures as JSON in DIR (default build-soak/soak-results/)
#   scripts/soak.sh -- --seed 42 ... extra options for soak.py
# Builds an ASan/UBSan recfs in build-soak/ unless RECFS_BINARY names one
# (sanitizer reports in recfs' log fail the run).
# Exit: 0 all passed, 1 a check failed, 2 error, 77 cannot run here.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
minutes=5
only="soak,crash,recovery,diskfull,tls"
out="$top/build-soak/soak-results"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "soak: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$minutes" in ''|*[!0-9]*|0) echo "soak: --minutes wants a whole number >= 1" >&2; exit 2 ;; esac

recfs="${RECFS_BINARY:-}"
if [ -z "$recfs" ]; then
  build="${RECFS_SOAK_BUILD_DIR:-$top/build-soak}"
  cmake -S "$top" -B "$build" -DENABLE_SANITIZERS=ON -DBUILD_TESTING=OFF \
        >/dev/null || exit 2
  if ! cmake --build "$build" --target recfs -j2 >"$build/soak-build.log" 2>&1; then
    echo "soak: recfs does not build (see $build/soak-build.log)" >&2
    exit 2
  fi
  recfs="$build/recfs"
fi
export RECFS_BINARY="$recfs"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp}"
mkdir -p "$out" || exit 2

secs=$((minutes * 60))
worst=0
results=()
run() {  # name, command...
  local name="$1" rc=0; shift
  case ",$only," in *",$name,"*) ;; *) return 0 ;; esac
  echo "=== $name: $*"
  "$@" || rc=$?
  results+=("$name=$rc")
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$rc" -gt "$worst" ]; then
    worst=$rc
  fi
}
d="$top/tests/soak"
run soak python3 "$d/soak.py" --seconds "$secs" --json "$out/soak.json" "${extra[@]}"
run crash python3 "$d/crash.py" --rounds $((10 * minutes)) --budget $((60 + 20 * minutes))
run recovery python3 "$d/recovery.py" --cycles $((minutes + 1)) --down 10 \
    --budget $((60 + 40 * minutes))
run diskfull python3 "$d/diskfull.py" --mib 64 --budget 300
run tls python3 "$d/tls.py"
echo "=== results: ${results[*]} (0 ok, 1 failed, 2 error, 77 skipped)"
[ -f "$out/soak.json" ] && echo "soak figures: $out/soak.json"
[ "$worst" -gt 2 ] && worst=1
exit "$worst"
