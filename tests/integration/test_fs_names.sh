#!/usr/bin/env bash
# test_fs_names.sh - the kernel keeps names for metadata_ttl, yet a name
# deleted on the server is gone as soon as a listing is fetched again:
# the name is renewed late in its listing's life (readdirplus from the
# still-valid listing), deleted on the server, and after the listing
# expires one `ls` must make `test -e` fail at once, not when the
# kernel's own timeout for the name ends. Exit 77 without FUSE or the
# emulator.
set -u
. "$(dirname "$0")/../support/emu_mount.sh"
emu_start
start_mount -o metadata_ttl=4

P=$MNT/policies
POL=$(ls "$P" | grep -m1 '\.json$')
ID=${POL%.json}
check "a policy is listed ($POL)" [ -n "$POL" ]
sleep 3
# a listing late in its life renews the kernel's names (readdirplus, from
# our still-valid listing: no request) until 3 + 4 s
check "listed again late in the listing's life" sh -c "ls '$P' | grep -q '^$POL\$'"
check "and it resolves" test -e "$P/$POL"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
       -H "Authorization: Bearer $TOKEN" "$API/api/v2/recording/mediaretentionpolicies/$ID")
check "deleted on the server (HTTP $code)" sh -c "[ $code = 200 ] || [ $code = 204 ]"
sleep 1.5 # the listing (4 s) has expired; the kernel's name (4 s from the lookup) has not
reset
ls "$P" >/dev/null
check "the refreshed listing was fetched" [ "$(count 'GET /api/v2/recording/mediaretentionpolicies$')" -ge 1 ]
check "the name is gone at once" test ! -e "$P/$POL"
check "and stays gone" sh -c "! ls '$P' | grep -q '^$POL\$'"
check "other names still resolve" test -e "$P/$(ls "$P" | grep -m1 '\.json$')"
stop_mount
finish
