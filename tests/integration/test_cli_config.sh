#!/usr/bin/env bash
# test_cli_config.sh - the command line of a real recfs binary: --help and
# --version, unknown options with a suggestion, and the precedence of the
# sources end to end (command line > environment > config file profile >
# config file globals), read back from .recfs/status.json of a mount
# against the emulator. Exit 77 without FUSE or the emulator.
set -u
BIN=${RECFS_BINARY:-}
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "SKIP: RECFS_BINARY not built"; exit 77; }
PY=${PYTHON:-python3}
EMU=${GCEMU:-$(dirname "$0")/../../scripts/emulator/gcemu.py}
T=$(mktemp -d /tmp/recfs-clicfg.XXXXXX) || exit 1
MNT=$T/mnt
EMU_PID=
cleanup() {
    fusermount3 -uz "$MNT" 2>/dev/null
    [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$MNT" "$T/cfg/recfs" "$T/home" "$T/data"
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

# --help / --version: exit 0, no credentials needed
"$BIN" --help >"$T/help" 2>&1 || fail "--help exit status"
for word in cache_size profile config log_level allow_other auto_unmount \
            PURECLOUD_CLIENT_ID prefetch status Examples; do
    grep -q -- "$word" "$T/help" || fail "--help lacks $word"
done
"$BIN" --version | grep -q '^recfs [0-9]' || fail "--version"
"$BIN" -o cache_sise=1G "$MNT" >"$T/out" 2>&1 && fail "typo accepted"
grep -q "unknown option 'cache_sise'; did you mean 'cache_size'?" "$T/out" ||
    fail "no suggestion: $(cat "$T/out")"

[ -c /dev/fuse ] && command -v fusermount3 >/dev/null || { echo "SKIP: no FUSE"; exit 77; }
[ -f "$EMU" ] || { echo "SKIP: no emulator"; exit 77; }
"$PY" "$EMU" --data "$T/data" --listen 127.0.0.1:0 --seed demo \
    --transcode-ms 0 >"$T/emu.json" 2>"$T/emu.err" &
EMU_PID=$!
for _ in $(seq 100); do [ -s "$T/emu.json" ] && break; sleep 0.2; done
API=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' "$T/emu.json") ||
    { cat "$T/emu.err"; echo "FAIL: emulator did not start"; exit 1; }

cat >"$T/cfg/recfs/config" <<CFG
client_id = recfs-demo
client_secret = recfs-demo-secret
api_url = $API
login_url = $API
format = MP3
recent_days = 3
[profile p]
format = OGG_VORBIS
CFG
chmod 600 "$T/cfg/recfs/config"

# mount_format <env...> -- <recfs args...>: mount -f in the background,
# print status.json's format, unmount
mount_format() {
    local envs=() pid fmt=""
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env -u PURECLOUD_CLIENT_ID -u PURECLOUD_SECRET -u RECFS_FORMAT \
        HOME="$T/home" XDG_CONFIG_HOME="$T/cfg" "${envs[@]}" \
        "$BIN" -f -o "cache_dir=$T/cache" "$@" "$MNT" >"$T/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        fmt=$(sed -n 's/^ *"format": "\(.*\)",*$/\1/p' "$MNT/.recfs/status.json" 2>/dev/null)
        [ -n "$fmt" ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.2
    done
    fusermount3 -u "$MNT" 2>/dev/null
    wait $pid
    echo "${fmt:-none: $(head -c 300 "$T/log")}"
}

got=$(mount_format -- )
[ "$got" = MP3 ] || fail "config file: got $got"
got=$(mount_format -- -o profile=p)
[ "$got" = OGG_VORBIS ] || fail "profile over globals: got $got"
got=$(mount_format RECFS_FORMAT=WAV -- -o profile=p)
[ "$got" = WAV ] || fail "environment over config: got $got"
got=$(mount_format RECFS_FORMAT=WAV -- -o profile=p,format=OGG_OPUS)
[ "$got" = OGG_OPUS ] || fail "command line over environment: got $got"
got=$(mount_format RECFS_PROFILE=p -- )
[ "$got" = OGG_VORBIS ] || fail "RECFS_PROFILE: got $got"

# a profile that does not exist: one clear message, nothing mounted
env HOME="$T/home" XDG_CONFIG_HOME="$T/cfg" timeout 20 "$BIN" -f \
    -o profile=nope "$MNT" >"$T/out" 2>&1 && fail "missing profile accepted"
grep -q "no \[profile nope\]" "$T/out" || fail "missing profile message: $(cat "$T/out")"
mountpoint -q "$MNT" && fail "mounted with a missing profile"

# stop_by <signal> <recfs args...>: mount -f in the background, wait for
# it, send the signal; prints the exit status. A signal (Ctrl-C, kill,
# systemd's stop, a closed terminal) is a requested stop like an unmount: status 0, the
# mountpoint released, and the log says why instead of "mount failed".
stop_by() {
    local sig=$1 pid rc
    shift
    env -u PURECLOUD_CLIENT_ID -u PURECLOUD_SECRET HOME="$T/home" \
        XDG_CONFIG_HOME="$T/cfg" "$BIN" -f -o "cache_dir=$T/cache" "$@" \
        "$MNT" >"$T/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        [ -f "$MNT/.recfs/status.json" ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.2
    done
    ls "$MNT/conversations" >/dev/null 2>&1
    kill -"$sig" $pid
    if timeout 20 tail --pid=$pid -f /dev/null; then
        wait $pid
        rc=$?
    else
        kill -KILL $pid
        wait $pid
        rc="no exit within 20 s"
    fi
    mountpoint -q "$MNT" && { fusermount3 -u "$MNT"; echo "still mounted"; }
    echo $rc
}
# (not INT here: a shell without job control starts background jobs with
# SIGINT ignored, and libfuse leaves an ignored signal alone)
for sig in TERM HUP; do
    got=$(stop_by $sig)
    [ "$got" = 0 ] || fail "SIG$sig: exit status $got, not 0: $(head -c 300 "$T/log")"
    grep -q "stopped by SIG$sig" "$T/log" || fail "SIG$sig: the log does not say why it stopped"
    grep -q "mount failed" "$T/log" && fail "SIG$sig: reported as a failed mount"
done
# -d adds the FUSE request trace (foreground, stderr); log_level wins
got=$(stop_by TERM -d)
[ "$got" = 0 ] || fail "-d: exit status $got"
grep -q "opcode: LOOKUP\|opcode: READDIR" "$T/log" || fail "-d: no request trace"
got=$(stop_by TERM -d -o log_level=warn)
grep -q "opcode:" "$T/log" && fail "-d with log_level=warn still traces"

[ $FAILED = 0 ] && echo "cli config: ok"
exit $FAILED
