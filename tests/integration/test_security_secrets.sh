#!/usr/bin/env bash
# test_security_secrets.sh - secrets never leak (DESIGN.md §4, issue 8).
#
# Mounts recfs at log_level=debug against the emulator, with the client
# secret in a 0600 config file, and exercises it (listings, documents,
# media reads through pre-signed URLs, a token expiry and renewal, an
# unknown id). Then checks that neither the client secret, nor a bearer
# token, nor a pre-signed URL's query string (X-Signature=, X-Expires=,
# nor any signature value the emulator actually received) appears in:
# recfs' stderr, /proc/<pid>/cmdline, .recfs/status.json, any file of
# the cache dir. Also: the cache dir is 0700 and holds no group/other
# accessible file or directory; a refused login (wrong secret) does not
# echo the secret; the client's own debug log over the hostile-server
# test (integration_test_hostile_client, if built) is clean too.
# Exit 77 without FUSE, python3 or the emulator.
set -u
SRC=${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${RECFS_BINARY:-}
PY=${PYTHON:-python3}
GCEMU=${GCEMU:-$SRC/scripts/emulator/gcemu.py}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; FAILED=1; }
FAILED=0

[ -n "$BIN" ] && [ -x "$BIN" ] || skip "RECFS_BINARY not built"
[ -e /dev/fuse ] && command -v fusermount3 >/dev/null || skip "no FUSE"
command -v "$PY" >/dev/null && [ -f "$GCEMU" ] || skip "no emulator"

T=$(mktemp -d /tmp/recfs-sec.XXXXXX) || exit 1
EPID="" RPID=""
cleanup() {
    [ -n "$RPID" ] && { fusermount3 -u "$T/mnt" 2>/dev/null || fusermount3 -uz "$T/mnt" 2>/dev/null; }
    [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
    [ -n "$EPID" ] && kill "$EPID" 2>/dev/null
    wait 2>/dev/null
    [ -n "${RECFS_TEST_KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

# ---- emulator ----
"$PY" "$GCEMU" --data "$T/emu" --listen 127.0.0.1:0 --seed demo \
    --transcode-ms 0 >"$T/emu.out" 2>"$T/emu.err" &
EPID=$!
for _ in $(seq 200); do [ -s "$T/emu.out" ] && break; sleep 0.1; done
[ -s "$T/emu.out" ] || skip "emulator did not start"
jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/emu.out" "$1"; }
API=$(jget api_url) LOGIN=$(jget login_url) CTL=$(jget control_url)
CID=$(jget client_id) SECRET=$(jget client_secret)

# ---- a refused login must not echo the secret ----
mkdir -p "$T/mnt" "$T/home"
WRONG="recfs-wrong-secret-$$-Zq"
timeout 30 env -u PURECLOUD_ACCESS_TOKEN HOME="$T/home" XDG_CONFIG_HOME="$T/nocfg" \
    PURECLOUD_CLIENT_ID="$CID" PURECLOUD_SECRET="$WRONG" \
    "$BIN" -f -o "api_url=$API,login_url=$LOGIN,cache_dir=$T/cache0,log_level=debug" \
    "$T/mnt" >"$T/wrong.log" 2>&1
rc=$?
[ $rc != 0 ] || fail "recfs mounted with a wrong secret"
mountpoint -q "$T/mnt" && fusermount3 -u "$T/mnt"
grep -q -- "$WRONG" "$T/wrong.log" && fail "the wrong secret is echoed in the error"
[ -s "$T/wrong.log" ] || fail "no error message for a refused login"

# ---- the mount, secret from a 0600 config file ----
mkdir -p "$T/cfg/recfs"
( umask 077; printf 'client_id = %s\nclient_secret = %s\n' "$CID" "$SECRET" >"$T/cfg/recfs/config" )
env -u PURECLOUD_ACCESS_TOKEN -u PURECLOUD_CLIENT_ID -u PURECLOUD_SECRET \
    -u PURECLOUD_CLIENT_SECRET HOME="$T/home" XDG_CONFIG_HOME="$T/cfg" \
    "$BIN" -f -o "api_url=$API,login_url=$LOGIN,cache_dir=$T/cache,log_level=debug" \
    "$T/mnt" 2>"$T/recfs.log" &
RPID=$!
for _ in $(seq 200); do [ -r "$T/mnt/.recfs/status.json" ] && break; sleep 0.1; done
if ! [ -r "$T/mnt/.recfs/status.json" ]; then
    tail -20 "$T/recfs.log"
    echo "FAIL: recfs did not mount"
    exit 1
fi
cp /proc/$RPID/cmdline "$T/cmdline"

M=$T/mnt
exercise() {
    ls "$M" "$M/conversations" "$M/userrecordings" "$M/orphanrecordings" \
        "$M/policies" "$M/keys" >/dev/null
    cat "$M/settings.json" "$M"/policies/*.json >/dev/null
    local n=0 conv rec f
    for conv in $(ls "$M/conversations" | head -3); do
        for rec in $(ls "$M/conversations/$conv" | head -1); do
            cat "$M/conversations/$conv/$rec/metadata.json" >/dev/null
            for f in "$M/conversations/$conv/$rec"/media.*; do
                head -c 70000 "$f" >/dev/null && n=$((n + 1))
            done
        done
    done
    for rec in $(ls "$M/userrecordings" | grep -v summary | head -2); do
        for f in "$M/userrecordings/$rec"/media.*; do
            head -c 70000 "$f" >/dev/null && n=$((n + 1))
        done
    done
    cat "$M/conversations/no-such-conversation/x/metadata.json" 2>/dev/null
    echo "$n media files read"
}
timeout 120 bash -c "$(declare -f exercise); M='$M'; exercise" || fail "exercising the mount failed"
curl -s -X POST "$CTL/expire-tokens" >/dev/null
timeout 60 bash -c "ls '$M/orphanrecordings' >/dev/null; ls '$M/userrecordings' >/dev/null"
sleep 1 # metadata TTL is 60 s: force one API call after the expiry
timeout 60 cat "$M/userrecordings/summary.json" >/dev/null
cp "$M/.recfs/status.json" "$T/status.json"

fusermount3 -u "$M" || fusermount3 -uz "$M"
for _ in $(seq 100); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.1; done
kill "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
RPID=""

# ---- what the emulator saw: signatures used, and that media was read ----
curl -s "$CTL/counters" >"$T/counters.json"
"$PY" - "$T/counters.json" >"$T/sigs" <<'EOF'
import json, sys, urllib.parse
d = json.load(open(sys.argv[1]))
for r in d.get("requests", []):
    for v in urllib.parse.parse_qs(r.get("query") or "").get("X-Signature", []):
        print(v)
EOF
nmedia=$(sort -u "$T/sigs" | wc -l)
[ "$nmedia" -gt 0 ] || fail "recfs fetched no media through a pre-signed URL (test is vacuous)"
grep -q -i debug "$T/recfs.log" || fail "no debug output in recfs' log (test is vacuous)"

# ---- scan ----
scan() { # scan <label> <file or dir>
    local label=$1 what=$2 pat
    for pat in "$SECRET" "Bearer " "X-Signature=" "X-Expires=" "Authorization:" \
               "access_token"; do
        if grep -r -a -q -F -- "$pat" "$what"; then
            fail "$label contains '$pat'"
            grep -r -a -n -F -- "$pat" "$what" | head -3 | cut -c1-200
        fi
    done
    if [ -s "$T/sigs" ] && grep -r -a -q -F -f "$T/sigs" "$what"; then
        fail "$label contains a pre-signed URL signature"
    fi
}
scan "recfs stderr (log_level=debug)" "$T/recfs.log"
scan "recfs stderr (refused login)" "$T/wrong.log"
scan "/proc/<pid>/cmdline" "$T/cmdline"
scan ".recfs/status.json" "$T/status.json"
scan "the cache dir" "$T/cache"

# ---- permissions ----
mode=$(stat -c %a "$T/cache")
[ "$mode" = 700 ] || fail "cache dir has mode $mode, not 700"
bad=$(find "$T/cache" \( -type f -o -type d \) -perm /077 | head -5)
[ -z "$bad" ] || fail "group/other-accessible cache entries: $bad"
[ "$(find "$T/cache" -type f | wc -l)" -gt 0 ] || fail "the cache dir is empty (test is vacuous)"

# ---- the client library's own debug log under a hostile server ----
HOSTILE=$(dirname "$BIN")/tests/integration_test_hostile_client
if [ -x "$HOSTILE" ]; then
    RECFS_TEST_LOG_DEBUG=1 GCEMU="$GCEMU" PYTHON="$PY" timeout 200 "$HOSTILE" \
        >"$T/hostile.log" 2>&1
    rc=$?
    [ $rc = 0 ] || fail "integration_test_hostile_client failed (rc $rc, see below)"
    grep -q -i debug "$T/hostile.log" || fail "no debug output from the client"
    scan "the client's debug log (hostile server)" "$T/hostile.log"
    [ $FAILED = 0 ] || tail -20 "$T/hostile.log"
fi

[ $FAILED = 0 ] && echo "secrets: ok ($nmedia pre-signed URLs used, $(wc -l <"$T/recfs.log") log lines scanned)"
exit $FAILED
