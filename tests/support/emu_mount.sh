# emu_mount.sh - shell test support: start the emulator, mount recfs on it,
# talk to the API and the control endpoint, clean up on exit. Source it
# from a test script; it exits 77 when FUSE, the binary or the emulator
# is missing. Provides: T (temp dir), MNT, API, CTL, TOKEN, and the
# functions api, count, reset, state, start_mount, stop_mount, ok, fail,
# check, finish.
BIN=${RECFS_BINARY:-}
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "SKIP: RECFS_BINARY not built"; exit 77; }
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null || { echo "SKIP: no FUSE"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: no jq"; exit 77; }
PY=${PYTHON:-python3}
EMU=${GCEMU:-$(dirname "${BASH_SOURCE[0]}")/../../scripts/emulator/gcemu.py}
[ -f "$EMU" ] || { echo "SKIP: no emulator"; exit 77; }

T=$(mktemp -d /tmp/recfs-shtest.XXXXXX) || exit 1
MNT=$T/mnt
EMU_PID=
RECFS_PID=
emu_mount_cleanup() {
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
    [ -n "$RECFS_PID" ] && kill "$RECFS_PID" 2>/dev/null
    [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap emu_mount_cleanup EXIT
mkdir -p "$MNT" "$T/data"
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

# emu_start [gcemu args...]: demo seed, no transcoding delay by default
emu_start() {
    "$PY" "$EMU" --data "$T/data" --listen 127.0.0.1:0 --seed demo \
        --transcode-ms 0 "$@" >"$T/emu.json" 2>"$T/emu.err" &
    EMU_PID=$!
    for _ in $(seq 150); do [ -s "$T/emu.json" ] && break; sleep 0.2; done
    API=$(jq -r .api_url "$T/emu.json" 2>/dev/null)
    CTL=$(jq -r .control_url "$T/emu.json" 2>/dev/null)
    if [ -z "$API" ] || [ "$API" = null ]; then
        cat "$T/emu.err"
        echo "FAIL: the emulator did not start"
        exit 1
    fi
    TOKEN=$(curl -sf -u recfs-demo:recfs-demo-secret \
            -d grant_type=client_credentials "$API/oauth/token" | jq -r .access_token)
}
api() { curl -sf -H "Authorization: Bearer $TOKEN" "$API/api/v2$1"; }
count() { curl -sf "$CTL/counters" | jq "[.counts | to_entries[] | select(.key | test(\"$1\")) | .value] | add // 0"; }
reset() { curl -sf -XPOST "$CTL/reset" >/dev/null; }
state() { curl -sf "$CTL/state" | jq -r "$1"; }

# start_mount [recfs args...]: foreground daemon, metadata_ttl=1
start_mount() {
    PURECLOUD_CLIENT_ID=recfs-demo PURECLOUD_SECRET=recfs-demo-secret \
        timeout 600 "$BIN" -f -o "api_url=$API,login_url=$API,cache_dir=$T/cache" \
        -o metadata_ttl=1 "$@" "$MNT" 2>>"$T/recfs.log" &
    RECFS_PID=$!
    for _ in $(seq 100); do
        [ -f "$MNT/.recfs/status.json" ] && return 0
        kill -0 $RECFS_PID 2>/dev/null || break
        sleep 0.1
    done
    cat "$T/recfs.log"
    echo "FAIL: recfs did not mount"
    exit 1
}
stop_mount() {
    fusermount3 -u "$MNT"
    wait "$RECFS_PID" 2>/dev/null
    RECFS_PID=
}

# finish: fail on sanitizer reports in the daemon's log, print the
# summary line, exit with the result.
finish() {
    if grep -E "AddressSanitizer|ThreadSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|runtime error" \
            "$T/recfs.log" 2>/dev/null; then
        fail "sanitizer report in the recfs log"
    fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
    exit
}
