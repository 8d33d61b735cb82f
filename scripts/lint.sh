#!/usr/bin/env bash
# lint.sh - static analysis of client/ and fs/: cppcheck and clang-tidy
# (checks in .clang-tidy, compile flags from a build dir's
# compile_commands.json).
#
#   scripts/lint.sh [--build-dir DIR] [--jobs N] [--no-tidy] [--no-cppcheck]
#
# DIR defaults to the first of build-rel, build, build-* holding a
# compile_commands.json (any configured build dir will do: CMake exports
# it). Exit 0 clean, 1 findings, 77 a tool or the build dir is missing.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=""
JOBS=2
TIDY=1
CPPCHECK=1
while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --no-tidy) TIDY=0; shift ;;
    --no-cppcheck) CPPCHECK=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "lint.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
cd "$SRC" || exit 1

# Known clang-tidy findings in files whose owners still have to act, as
# extended regexes on the output lines (no line numbers: code moves).
# Keep this short; remove an entry once the code is fixed or carries a
# NOLINT.
TIDY_SUPPRESS=(
    # false positive: cache_path's memcpy copies the terminator (lb + 1)
    "^client/cache_util\.c:.*result from calling 'memcpy' is not null-terminated"
    # analyzer: UAF if an entry can be both dead and still in cache->tab
    # at close (cache_meta_commit -> cache_ent_unref frees it); the cache
    # owner to confirm that cannot happen and add a NOLINT, or fix
    "^client/cache_meta\.c:.*Use of memory after it is freed"
)
# cppcheck: suppressions are inline (// cppcheck-suppress id) next to the
# code; this list is for whole-file or third-party cases only.
CPPCHECK_SUPPRESS=(
    # cppcheck cannot see libfuse's/cmocka's macros: not our code
    "--suppress=missingIncludeSystem"
)

# cppcheck does not read system headers: jansson's iteration macros,
# spelled out (as in jansson.h) in a header given to it with --include.
CPPCHECK_DEFS=$(mktemp --suffix=.h) || exit 1
trap 'rm -f "$CPPCHECK_DEFS"' EXIT
cat >"$CPPCHECK_DEFS" <<'EOH'
#define json_object_foreach(o, k, v) \
    for (k = json_object_iter_key(json_object_iter(o)); \
         k && (v = json_object_iter_value(json_object_key_to_iter(k))); \
         k = json_object_iter_key(json_object_iter_next(o, json_object_key_to_iter(k))))
#define json_object_foreach_safe(o, n, k, v) \
    for (k = json_object_iter_key(json_object_iter(o)), \
         n = json_object_iter_next(o, json_object_key_to_iter(k)); \
         k && (v = json_object_iter_value(json_object_key_to_iter(k))); \
         k = json_object_iter_key(n), \
         n = json_object_iter_next(o, json_object_key_to_iter(k)))
#define json_array_foreach(a, i, v) \
    for (i = 0; i < json_array_size(a) && (v = json_array_get(a, i)); i++)
EOH

fail=0
if [ "$CPPCHECK" = 1 ]; then
    if ! command -v cppcheck >/dev/null; then
        echo "lint.sh: cppcheck not installed" >&2; exit 77
    fi
    echo "== cppcheck"
    cppcheck --enable=warning,performance,portability --error-exitcode=1 \
        --inline-suppr "${CPPCHECK_SUPPRESS[@]}" --include="$CPPCHECK_DEFS" \
        --std=c11 --quiet -j"$JOBS" \
        -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DFUSE_USE_VERSION=35 \
        -DRECFS_VERSION='"lint"' -I client -I fs client fs tests/fuzz || fail=1
fi

if [ "$TIDY" = 1 ]; then
    if ! command -v clang-tidy >/dev/null; then
        echo "lint.sh: clang-tidy not installed" >&2; exit 77
    fi
    if [ -z "$BUILD" ]; then
        for d in build-rel build build-*; do
            [ -f "$d/compile_commands.json" ] && { BUILD=$d; break; }
        done
    fi
    if [ -z "$BUILD" ] || [ ! -f "$BUILD/compile_commands.json" ]; then
        echo "lint.sh: no compile_commands.json (configure a build dir first)" >&2
        exit 77
    fi
    echo "== clang-tidy (compile commands from $BUILD)"
    out=$(mktemp) || exit 1
    # one file per run: clang-tidy 14 carries analyzer state (va_list)
    # across the files of one invocation (false valist.Uninitialized)
    ls client/*.c fs/*.c | xargs -P "$JOBS" -n 1 clang-tidy -p "$BUILD" --quiet \
        >"$out" 2>/dev/null
    filt=$(mktemp) || exit 1
    grep -E '(warning|error): ' "$out" | sed "s|$SRC/||" | sort -u >"$filt.all"
    cp "$filt.all" "$filt"
    for s in "${TIDY_SUPPRESS[@]}"; do
        grep -v -E -- "$s" "$filt" >"$filt.tmp"
        mv "$filt.tmp" "$filt"
    done
    if [ -s "$filt" ]; then
        cat "$filt"
        fail=1
    fi
    echo "clang-tidy: $(wc -l <"$filt") finding(s), $(($(wc -l <"$filt.all") - $(wc -l <"$filt"))) suppressed"
    rm -f "$out" "$filt" "$filt.all"
fi
[ $fail = 0 ] && echo "lint: clean"
exit $fail
