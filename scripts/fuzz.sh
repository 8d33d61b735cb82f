#!/usr/bin/env bash
# fuzz.sh - build and run the libFuzzer targets of tests/fuzz/ (clang,
# -fsanitize=fuzzer,address,undefined), each for a bounded time.
#
#   scripts/fuzz.sh [--seconds N] [--targets "fuzz_entry fuzz_list"]
#                   [--work DIR] [--no-seed] [--build-only]
#
#   --seconds N   run time per target (default 60)
#   --targets L   subset of: fuzz_entry fuzz_list fuzz_check fuzz_error
#                 fuzz_decode fuzz_header fuzz_path (default: all)
#   --work DIR    binaries, corpora, logs, crash artifacts
#                 (default build-fuzz/ in the source tree; kept, so the
#                 corpus grows from run to run)
#   --no-seed     do not seed the corpus from the emulator
#   --build-only  build the targets and stop
#
# Corpora: DIR/corpus/<target> (grown by libFuzzer), the checked-in seeds
# tests/fuzz/corpus/<target> and the emulator's real responses
# (tests/fuzz/seed_corpus.py -> DIR/seeds/<target>, refreshed each run).
# A crash leaves DIR/crashes/<target>-crash-<sha1>; reproduce with
# DIR/bin/<target> <that file>.
# Exit: 0 all targets clean, 1 a target crashed / build failed, 77
# clang's libFuzzer runtime is unavailable (apt: clang, libclang-rt-dev).
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER=60
TARGETS="fuzz_entry fuzz_list fuzz_check fuzz_error fuzz_decode fuzz_header fuzz_path"
WORK="$SRC/build-fuzz"
SEED=1
BUILD_ONLY=0
CC=${CC_FUZZ:-clang}

while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --no-seed) SEED=0; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

# Sources each target is linked with (beyond tests/fuzz/<target>.c).
CLIENT_SRCS="client/decode.c client/decode_check.c client/decode_models.c
client/decode_scan.c client/decode_util.c client/api_client.c client/log.c"
FS_SRCS="fs/fs_tree.c"
CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
-fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
-DFUSE_USE_VERSION=35 -DRECFS_VERSION=\"fuzz\" -I$SRC/client -I$SRC/fs
-I$SRC/tests/fuzz -Wall -Wno-unused-parameter"
LIBS="$(pkg-config --libs jansson libcurl 2>/dev/null || echo -ljansson -lcurl) -lm -lpthread"

have_libfuzzer() {
    local t
    t=$(mktemp -d) || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ return 0; }\n' >"$t/t.c"
    "$CC" -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" >/dev/null 2>&1
    local rc=$?
    rm -rf "$t"
    return $rc
}

build() {
    mkdir -p "$WORK/obj" "$WORK/bin" || return 1
    local objs="" s o
    for s in $CLIENT_SRCS $FS_SRCS; do
        o="$WORK/obj/$(basename "$s" .c).o"
        # shellcheck disable=SC2086
        "$CC" $CFLAGS -fsanitize=fuzzer-no-link -c "$SRC/$s" -o "$o" || return 1
        objs="$objs $o"
    done
    for t in $TARGETS; do
        # shellcheck disable=SC2086
        "$CC" $CFLAGS -fsanitize=fuzzer "$SRC/tests/fuzz/$t.c" $objs $LIBS \
            -o "$WORK/bin/$t" || return 1
    done
}

seed() {
    [ "$SEED" = 1 ] || return 0
    command -v python3 >/dev/null || { echo "fuzz.sh: no python3, not seeding" >&2; return 0; }
    rm -rf "$WORK/seeds"
    timeout 120 python3 "$SRC/tests/fuzz/seed_corpus.py" --out "$WORK/seeds" \
        --gcemu "${GCEMU:-$SRC/scripts/emulator/gcemu.py}" ||
        echo "fuzz.sh: seeding from the emulator failed; using the checked-in corpus" >&2
}

# Run one target; prints a one-line summary. Returns its exit status.
run_one() {
    local t=$1 dirs="$WORK/corpus/$t" d dict=""
    mkdir -p "$WORK/corpus/$t" "$WORK/crashes" "$WORK/logs"
    for d in "$SRC/tests/fuzz/corpus/$t" "$WORK/seeds/$t"; do
        [ -d "$d" ] && dirs="$dirs $d"
    done
    [ "$t" != fuzz_path ] && [ "$t" != fuzz_header ] &&
        dict="-dict=$SRC/tests/fuzz/json.dict"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        timeout $((SECONDS_PER + 120)) "$WORK/bin/$t" \
        -max_total_time="$SECONDS_PER" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 $dict \
        -artifact_prefix="$WORK/crashes/$t-" $dirs >"$WORK/logs/$t.log" 2>&1
    local rc=$?
    local runs cov
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/logs/$t.log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$WORK/logs/$t.log" | tail -1)
    printf '%-12s %s  runs %s  %s  corpus %s files\n' "$t" \
        "$([ $rc = 0 ] && echo ok || echo "FAILED (rc $rc, see $WORK/logs/$t.log)")" \
        "${runs:-?}" "${cov:-cov: ?}" "$(ls "$WORK/corpus/$t" | wc -l)"
    [ $rc = 0 ] || grep -m5 -E 'ERROR|invariant|runtime error|Test unit written' "$WORK/logs/$t.log"
    return $rc
}

cd "$SRC" || exit 1
if ! have_libfuzzer; then
    echo "fuzz.sh: $CC cannot build -fsanitize=fuzzer (install clang and libclang-rt-dev)" >&2
    exit 77
fi
build || { echo "fuzz.sh: build failed" >&2; exit 1; }
[ "$BUILD_ONLY" = 1 ] && exit 0
seed
fail=0
for t in $TARGETS; do
    run_one "$t" || fail=1
done
exit $fail
