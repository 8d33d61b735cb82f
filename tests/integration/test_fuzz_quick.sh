#!/usr/bin/env bash
# test_fuzz_quick.sh - build every libFuzzer target of tests/fuzz/ and run
# each for a few seconds on the checked-in corpus (scripts/fuzz.sh).
# Catches targets that no longer build and shallow crashes; the long run
# is `scripts/fuzz.sh --seconds 600`. Exit 77 without clang's libFuzzer.
set -u
SRC=${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=$(mktemp -d /tmp/recfs-fuzzq.XXXXXX) || exit 1
trap 'rm -rf "$WORK"' EXIT

bash "$SRC/scripts/fuzz.sh" --seconds "${FUZZ_QUICK_SECONDS:-3}" --no-seed \
    --work "$WORK"
rc=$?
if [ $rc != 0 ] && [ -d "$WORK/crashes" ]; then
    # keep the reproducers of a failure
    mkdir -p /tmp/recfs-fuzz-crashes && cp "$WORK"/crashes/* /tmp/recfs-fuzz-crashes/ 2>/dev/null &&
        echo "crash inputs copied to /tmp/recfs-fuzz-crashes" >&2
fi
exit $rc
