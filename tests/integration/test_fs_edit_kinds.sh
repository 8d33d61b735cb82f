#!/usr/bin/env bash
# test_fs_edit_kinds.sh - the write side, kind by kind and tool by tool,
# through a real mount against the emulator; every outcome is checked on
# the server (the API), never through recfs itself.
#   annotation edit (PUT) and rm (DELETE, allow_delete); user recording
#   rm -r (DELETE); policy edit with `jq > /tmp/x && mv` (cross-fs: PUT),
#   policy enabled-only change (PATCH); settings.json with `cat > f`
#   (write in place, as nano does); rotationschedule.json with sed -i;
#   localkeys/settings edit (PUT) and new file (POST); a new annotation
#   written with `printf >> f`; partial writes at offsets (dd notrunc);
#   an unchanged save sends nothing; mv from /tmp onto a document (mv
#   removes the target first) is an edit, never a DELETE, with and without
#   allow_delete, while rm stays EPERM without it.
# Exit 77 without FUSE or the emulator.
set -u
. "$(dirname "$0")/../support/emu_mount.sh"
emu_start

start_mount -o allow_delete
RID=$(state '.recordings_by_media.audio[0]')
CID=$(state ".conversations | to_entries[] | select(.value | index(\"$RID\")) | .key")
ANN=$MNT/conversations/$CID/$RID/annotations
POL=$(state '.policies[0]')
LK=$(state '.localkeys[0]')
UR=$(state '.userrecordings[2]')

# --- annotations: create with printf >> (append to a new file), edit, rm
reset
printf '{"name":"appended","location":5,"durationMs":7}\n' >> "$ANN/new.json"
check "printf >> new annotation -> POST" [ "$(count '^POST /api/v2/conversations/')" = 1 ]
AID=$(api "/conversations/$CID/recordings/$RID/annotations" | jq -r '.[] | select(.name=="appended") | .id')
check "annotation on the server" [ -n "$AID" ]
check "shown as <newId>.json" test -f "$ANN/$AID.json"
check "scratch name gone" test ! -e "$ANN/new.json"
jq '.name = "edited" | .description = "by jq"' "$ANN/$AID.json" > "$T/a.json"
cat "$T/a.json" > "$ANN/$AID.json"
check "annotation edit -> PUT" [ "$(api "/conversations/$CID/recordings/$RID/annotations/$AID" | jq -r .name)" = edited ]
reset
rm "$ANN/$AID.json"
check "rm annotation -> DELETE" [ "$(count '^DELETE /api/v2/conversations/')" = 1 ]
check "annotation gone on the server" [ -z "$(api "/conversations/$CID/recordings/$RID/annotations" | jq -r ".[] | select(.id==\"$AID\") | .id")" ]

# --- policies: jq > /tmp && mv (cross-filesystem) = PUT; enabled only = PATCH
reset
jq '.description = "edited via /tmp"' "$MNT/policies/$POL.json" > "$T/p.json"
mv "$T/p.json" "$MNT/policies/$POL.json"
check "policy via mv from /tmp -> PUT" [ "$(api "/recording/mediaretentionpolicies/$POL" | jq -r .description)" = "edited via /tmp" ]
check "one PUT" [ "$(count '^PUT /api/v2/recording/mediaretentionpolicies')" = 1 ]
sleep 1.2
en=$(api "/recording/mediaretentionpolicies/$POL" | jq .enabled)
reset
jq ".enabled = $( [ "$en" = true ] && echo false || echo true )" "$MNT/policies/$POL.json" > "$T/p2.json"
cp "$T/p2.json" "$MNT/policies/$POL.json"
check "enabled-only change -> PATCH" [ "$(count '^PATCH /api/v2/recording/mediaretentionpolicies')" = 1 ]
check "enabled flipped" [ "$(api "/recording/mediaretentionpolicies/$POL" | jq .enabled)" != "$en" ]

# --- settings.json written in place (O_TRUNC + write, as nano does)
reset
jq '.maxSimultaneousStreams = 7' "$MNT/settings.json" > "$T/s.json"
cat "$T/s.json" > "$MNT/settings.json"
check "settings.json -> PUT" [ "$(api /recording/settings | jq .maxSimultaneousStreams)" = 7 ]
# an unchanged save sends nothing
reset
cat "$MNT/settings.json" > "$T/same.json"
cat "$T/same.json" > "$MNT/settings.json"
check "unchanged save sends nothing" [ "$(count '^(PUT|POST|PATCH|DELETE) ')" = 0 ]
# a partial write at an offset (dd conv=notrunc): 7 -> 9
off=$(grep -bo '"maxSimultaneousStreams": 7' "$MNT/settings.json" | cut -d: -f1)
printf '9' | dd of="$MNT/settings.json" bs=1 seek=$((off + 26)) conv=notrunc status=none
check "write at an offset -> PUT" [ "$(api /recording/settings | jq .maxSimultaneousStreams)" = 9 ]

# --- rotation schedule with sed -i
sed -i 's/"period": "[A-Z]*"/"period": "MONTHLY"/' "$MNT/keys/rotationschedule.json"
check "rotationschedule sed -i -> PUT" [ "$(api /recording/recordingkeys/rotationschedule | jq -r .period)" = MONTHLY ]
if sed -i 's/"MONTHLY"/"HOURLY"/' "$MNT/keys/rotationschedule.json" 2>/dev/null; then
    fail "bad enum accepted"
else
    ok "bad enum refused (EINVAL at rename)"
fi
check "server kept MONTHLY" [ "$(api /recording/recordingkeys/rotationschedule | jq -r .period)" = MONTHLY ]

# --- local key settings: edit (PUT) and new file (POST)
jq '.name = "renamed config"' "$MNT/localkeys/settings/$LK.json" > "$T/l.json"
cp "$T/l.json" "$MNT/localkeys/settings/$LK.json"
check "localkeys settings edit -> PUT" [ "$(api "/recording/localkeys/settings/$LK" | jq -r .name)" = "renamed config" ]
n=$(api /recording/localkeys/settings | jq '.entities | length')
echo '{"name":"new config","url":"https://keys.example.com/decrypt","apiId":"id1","apiKey":"k1"}' \
    > "$MNT/localkeys/settings/new.json"
check "localkeys settings new -> POST" [ "$(api /recording/localkeys/settings | jq '.entities | length')" = $((n + 1)) ]

# --- user recording: rm -r of its directory = DELETE (allow_delete)
reset
rm -r "$MNT/userrecordings/$UR"
check "rm -r user recording -> DELETE" [ "$(count '^DELETE /api/v2/userrecordings/')" = 1 ]
check "user recording gone on the server" [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/api/v2/userrecordings/$UR")" = 404 ]

# --- a commit made by another fd's flush (a forked child closing its copy
# of the fd after the data is written) that fails must fail the writer's
# own close() too: the child's close error is lost, the writer's is not
UR2=$(state '.userrecordings[3]')
curl -sf -XPOST "$CTL/faults" -H 'Content-Type: application/json' \
    -d '{"match":"^PUT /api/v2/userrecordings/","count":50,"status":500}' >/dev/null
out=$(python3 - "$MNT/userrecordings/$UR2/metadata.json" <<'PY'
import json, os, sys
p = sys.argv[1]
doc = json.load(open(p))
doc["name"] = "forked"
fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
os.write(fd, json.dumps(doc).encode())
pid = os.fork()
if pid == 0:
    os.close(fd)  # its flush commits (and fails); nobody sees the error
    os._exit(0)
os.waitpid(pid, 0)
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close errno", e.errno)
PY
)
curl -sf -XDELETE "$CTL/faults" >/dev/null
check "failed commit by a child's flush: the writer's close fails too ($out)" [ "$out" = "close errno 5" ]
check "the failed edit is not on the server" [ "$(api "/userrecordings/$UR2" | jq -r .name)" != forked ]

# --- nothing of the scratch files reached the server
check "no scratch names on the server" [ -z "$(api /recording/mediaretentionpolicies?pageSize=100 | jq -r '.entities[].name' | grep -E '\.swp$|~$|^sed|^4913$')" ]

# --- without allow_delete: mv from /tmp still edits, rm is still EPERM
stop_mount
start_mount
reset
jq '.maxSimultaneousStreams = 11' "$MNT/settings.json" > "$T/s2.json"
mv "$T/s2.json" "$MNT/settings.json"
check "mv from /tmp without allow_delete -> PUT" [ "$(api /recording/settings | jq .maxSimultaneousStreams)" = 11 ]
check "mv sent no DELETE" [ "$(count '^DELETE ')" = 0 ]
if rm "$MNT/policies/$POL.json" 2>/dev/null; then fail "rm without allow_delete succeeded"; else ok "rm without allow_delete: EPERM"; fi
check "policy still there" test -f "$MNT/policies/$POL.json"
check "rm sent nothing" [ "$(count '^(PUT|POST|PATCH|DELETE) ')" = 1 ]

stop_mount
finish
