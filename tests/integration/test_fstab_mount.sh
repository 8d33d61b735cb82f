#!/usr/bin/env bash
# test_fstab_mount.sh - recfs mounts the way other FUSE filesystems do
# from /etc/fstab: mount.fuse3 runs `recfs SOURCE MOUNTPOINT -o OPTS`
# (with rw,dev,suid and fstab-only options such as _netdev and nofail),
# recfs daemonizes, the mount shows as fuse.recfs, SOURCE selects a
# profile of the config file, and umount ends the daemon.
#
# mount(8) runs its helpers without PATH and HOME, so `mount -t
# fuse.recfs` only finds an installed recfs; the test therefore calls
# /sbin/mount.fuse3 exactly as mount(8) does, with a PATH holding a
# `recfs` symlink to $RECFS_BINARY, and runs `mount -t fuse.recfs` too
# when recfs is installed in the default PATH. Needs root (exit 77).
set -u
BIN=${RECFS_BINARY:-}
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "SKIP: RECFS_BINARY not built"; exit 77; }
HELPER=$(command -v mount.fuse3 || ls /sbin/mount.fuse3 /usr/sbin/mount.fuse3 2>/dev/null | head -1)
[ -n "$HELPER" ] || { echo "SKIP: no mount.fuse3 (package fuse3)"; exit 77; }
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "SKIP: needs root and /dev/fuse"; exit 77; }
PY=${PYTHON:-python3}
EMU=${GCEMU:-$(dirname "$0")/../../scripts/emulator/gcemu.py}
[ -f "$EMU" ] || { echo "SKIP: no emulator"; exit 77; }

T=$(mktemp -d /tmp/recfs-fstab.XXXXXX) || exit 1
MNT=$T/mnt
EMU_PID=
cleanup() {
    umount "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
    [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$MNT" "$T/bin" "$T/cfg" "$T/data"
ln -s "$BIN" "$T/bin/recfs"
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

"$PY" "$EMU" --data "$T/data" --listen 127.0.0.1:0 --seed demo \
    --transcode-ms 0 >"$T/emu.json" 2>"$T/emu.err" &
EMU_PID=$!
for _ in $(seq 100); do [ -s "$T/emu.json" ] && break; sleep 0.2; done
API=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' "$T/emu.json") ||
    { cat "$T/emu.err"; echo "FAIL: emulator did not start"; exit 1; }

# the daemon's pid, from its status file; waits until it is gone after umount
daemon_pid() { sed -n 's/^ *"pid": \([0-9]*\),*$/\1/p' "$MNT/.recfs/status.json"; }
wait_gone() {
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    return 1
}

# check_mount <what>: mounted as fuse.recfs, browsable, daemonized; unmount
check_mount() {
    local pid
    mountpoint -q "$MNT" || { fail "$1: not mounted: $(cat "$T/out")"; return; }
    [ "$(findmnt -n -o FSTYPE "$MNT")" = fuse.recfs ] ||
        fail "$1: type $(findmnt -n -o FSTYPE "$MNT")"
    ls "$MNT/conversations" | grep -q . || fail "$1: empty conversations/"
    pid=$(daemon_pid)
    [ -n "$pid" ] && [ "$pid" != "$$" ] || fail "$1: no daemon pid"
    umount "$MNT" || fail "$1: umount"
    [ -z "$pid" ] || wait_gone "$pid" || fail "$1: daemon $pid still running after umount"
}

CRED_ENV=(PURECLOUD_CLIENT_ID=recfs-demo PURECLOUD_SECRET=recfs-demo-secret)
OPTS="rw,api_url=$API,login_url=$API,cache_dir=$T/cache,_netdev,nofail,noauto,user,x-systemd.automount,dev,suid"

# 1. as mount(8) runs the helper for "recfs /mnt fuse.recfs <opts>":
#    no PATH/HOME of its own; credentials from the environment
env -u HOME PATH="$T/bin:/usr/sbin:/usr/bin:/sbin:/bin" "${CRED_ENV[@]}" \
    timeout 30 "$HELPER" recfs "$MNT" -o "$OPTS" -t fuse.recfs >"$T/out" 2>&1 ||
    fail "mount.fuse3 recfs: exit $?: $(cat "$T/out")"
check_mount "source recfs"

# 2. SOURCE names a profile of a config file given with config=
cat >"$T/cfg/config" <<CFG
# global lines
format = WAV
[profile emu]
api_url = $API
login_url = $API
client_id = recfs-demo
client_secret = recfs-demo-secret
[profile other]
client_id = nobody
CFG
chmod 600 "$T/cfg/config"
env -u HOME -u PURECLOUD_CLIENT_ID -u PURECLOUD_SECRET PATH="$T/bin:/usr/bin:/bin" \
    timeout 30 "$HELPER" emu "$MNT" -t fuse.recfs \
    -o "rw,config=$T/cfg/config,cache_dir=$T/cache,_netdev,dev,suid" >"$T/out" 2>&1 ||
    fail "mount.fuse3 emu (profile): exit $?: $(cat "$T/out")"
grep -q '"format": "WAV"' "$MNT/.recfs/status.json" 2>/dev/null ||
    fail "profile mount: global config line not applied"
grep -q '"profile": "emu"' "$MNT/.recfs/status.json" 2>/dev/null ||
    fail "profile mount: profile not shown in status.json"
check_mount "profile emu"

# 3. the old "fuse" type with recfs#SOURCE
env -u HOME -u PURECLOUD_CLIENT_ID -u PURECLOUD_SECRET PATH="$T/bin:/usr/bin:/bin" \
    timeout 30 "$HELPER" "recfs#emu" "$MNT" \
    -o "config=$T/cfg/config,cache_dir=$T/cache" >"$T/out" 2>&1 ||
    fail "mount.fuse3 recfs#emu: exit $?: $(cat "$T/out")"
check_mount "recfs#emu"

# 4. a bad option fails the mount with a clear message, nothing mounted
env -u HOME PATH="$T/bin:/usr/bin:/bin" "${CRED_ENV[@]}" timeout 30 "$HELPER" \
    recfs "$MNT" -t fuse.recfs -o "$OPTS,cache_sise=1G" >"$T/out" 2>&1 &&
    fail "typo accepted"
grep -q "did you mean 'cache_size'" "$T/out" || fail "no suggestion: $(cat "$T/out")"
mountpoint -q "$MNT" && { fail "mounted despite a typo"; umount "$MNT"; }

# 5. the real mount(8), when recfs is installed where it looks
if PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v recfs >/dev/null; then
    env "${CRED_ENV[@]}" timeout 30 mount -t fuse.recfs recfs "$MNT" \
        -o "api_url=$API,login_url=$API,cache_dir=$T/cache,_netdev" >"$T/out" 2>&1 ||
        fail "mount -t fuse.recfs: $(cat "$T/out")"
    check_mount "mount -t fuse.recfs"
else
    echo "note: recfs not installed; mount(8) itself not exercised"
fi

[ $FAILED = 0 ] && echo "fstab: ok"
exit $FAILED
