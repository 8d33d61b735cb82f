#!/usr/bin/env bash
# test_fs_readdir_stream.sh - a large listing (userrecordings/, 10 pages)
# is shown while its later pages are still on the way: the first entries
# come after page 1, every name comes exactly once, each page is fetched
# once (also for two readers at once), a page failing half-way ends the
# listing with the page's errno after the entries already given, and the
# next listing is whole. Exit 77 without FUSE or the emulator.
set -u
. "$(dirname "$0")/../support/emu_mount.sh"
emu_start --user-recordings 1000
# a fresh mount with an empty cache: every listing cold (a long TTL, so
# that "fresh" never depends on how fast a loaded machine runs the test)
remount() {
    [ -z "$RECFS_PID" ] || stop_mount
    rm -rf "$T/cache"
    start_mount -o metadata_ttl=60
}
remount
D=$MNT/userrecordings
PAGES='^GET /api/v2/userrecordings$'

for p in $(seq 10); do
    api "/userrecordings?pageSize=100&pageNumber=$p" | jq -r '.entities[].id'
done > "$T/ids"
(cat "$T/ids"; echo summary.json) | sort > "$T/want"
check "the API lists 1000 user recordings" [ "$(sort -u "$T/ids" | wc -l)" = 1000 ]

# scan DIR OUT [K]: names into OUT; prints "<s to first entry> <s to all>
# <errno of a failed listing or 0> <s to the K-th entry>"
scan() {
    "$PY" - "$1" "$2" "${3:-1}" <<'PY'
import os, sys, time
t0 = time.monotonic()
names, first, kth, err = [], None, None, 0
try:
    for e in os.scandir(sys.argv[1]):
        if first is None:
            first = time.monotonic() - t0
        names.append(e.name)
        if len(names) == int(sys.argv[3]):
            kth = time.monotonic() - t0
except OSError as e:
    err = e.errno
with open(sys.argv[2], "w") as f:
    f.write("".join(n + "\n" for n in names))
print("%.3f %.3f %d %.3f" % (first if first is not None else -1,
                             time.monotonic() - t0, err,
                             kth if kth is not None else -1))
PY
}
late() { # page 1 at once, the next N requests of the listing D ms late
    curl -sf -XPOST "$CTL/faults" -d "[{\"match\":\"$PAGES\",\"latency_ms\":1,\"count\":1},
        {\"match\":\"$PAGES\",\"latency_ms\":$2,\"count\":$1}]" >/dev/null
}

reset
late 9 1500
read -r first all err _ < <(scan "$D" "$T/got")
check "first entry before the late pages (${first} s)" \
    "$PY" -c "import sys; sys.exit(not 0 <= $first < 1.0)"
check "the listing ends after them (${all} s)" \
    "$PY" -c "import sys; sys.exit(not $all >= 1.4)"
check "no error ($err)" [ "$err" = 0 ]
check "every page fetched once" [ "$(count "$PAGES")" = 10 ]
sort "$T/got" > "$T/got.s"
check "every name exactly once, summary.json included" cmp -s "$T/got.s" "$T/want"
reset
ls -l "$D" >/dev/null
n=$(count "$PAGES")
check "listed again from memory within metadata_ttl ($n page requests)" [ "$n" = 0 ]
[ "$n" = 0 ] || curl -sf "$CTL/counters" | jq -c '.requests[] | [.path, .query, .t]' | head -5

# every page is shown as soon as it and the pages before it are in, not
# only page 1: the listing's page threads publish what they complete (a
# lookup of "the fill this thread runs" there published only the pages
# the fill's own thread happened to complete). Page 10 of 10 late: the
# first 900 names come before it.
remount
reset
curl -sf -XPOST "$CTL/faults" -d "{\"match\":\"$PAGES\",\"query\":\"pageNumber=10(&|\$)\",
    \"latency_ms\":1500}" >/dev/null
read -r first all err kth < <(scan "$D" "$T/got" 900)
check "900 names before the last page ($kth s; all at $all s)" \
    "$PY" -c "import sys; sys.exit(not (0 <= $kth < 1.0 and $all >= 1.4))"
check "no error ($err)" [ "$err" = 0 ]
check "every name exactly once" sh -c "sort '$T/got' | cmp -s - '$T/want'"

# summary.json is there whatever the listing says: its stat costs its
# own request, not the listing's pages, and does not wait for a listing
# being fetched
remount
reset
n=$(stat -c %s "$D/summary.json")
want=$(api /userrecordings/summary | jq . | wc -c)
pages=$(count "$PAGES")
check "stat of summary.json: its size ($n bytes), no listing page fetched ($pages)" \
    sh -c "[ '$n' = '$want' ] && [ '$pages' = 0 ]"
stop_mount
rm -rf "$T/cache"
start_mount -o metadata_ttl=1
reset
stat "$D/summary.json" >/dev/null
sleep 2.2
n=$(stat -c %s "$D/summary.json")
s=$(count '^GET /api/v2/userrecordings/summary$')
pages=$(count "$PAGES")
check "expired: summary.json fetched again ($s), still no page ($pages)" \
    sh -c "[ '$n' = '$want' ] && [ '$s' = 2 ] && [ '$pages' = 0 ]"
remount
reset
late 9 1500
scan "$D" "$T/bg" >/dev/null & S=$!
sleep 0.3
t0=$(date +%s.%N)
stat "$D/summary.json" >/dev/null
t=$(echo "$(date +%s.%N) - $t0" | bc)
check "stat of summary.json while the listing comes ($t s)" \
    "$PY" -c "import sys; sys.exit(not $t < 1.0)"
wait $S
check "that listing is whole" sh -c "sort '$T/bg' | cmp -s - '$T/want'"

# the kernel runs readdirs of one directory side by side (FUSE's
# parallel dirops, which libfuse 3.14 never asks for: fs_kio.c): while
# one reader's readdir waits for a late page, a second reader gets the
# entries already there instead of waiting behind it
remount
reset
curl -sf -XPOST "$CTL/faults" -d "{\"match\":\"$PAGES\",\"query\":\"pageNumber=2(&|\$)\",
    \"latency_ms\":1500}" >/dev/null
scan "$D" "$T/r1" >/dev/null & S=$!
sleep 0.3
read -r first all err _ < <(scan "$D" "$T/r2")
wait $S
check "a second reader's first entry while the first waits ($first s)" \
    "$PY" -c "import sys; sys.exit(not 0 <= $first < 0.8)"
check "both got every name" sh -c "sort '$T/r1' | cmp -s - '$T/want' && sort '$T/r2' | cmp -s - '$T/want'"

# two readers of the cold listing share one fetch
remount
reset
late 9 500
scan "$D" "$T/a" >"$T/a.t" & A=$!
scan "$D" "$T/b" >"$T/b.t"
wait $A
check "reader 1 got every name" sh -c "sort '$T/a' | cmp -s - '$T/want'"
check "reader 2 got every name" sh -c "sort '$T/b' | cmp -s - '$T/want'"
check "one fetch for both" [ "$(count "$PAGES")" = 10 ]

# a page failing half-way: the entries given stay given, the listing
# ends with EACCES (403), and the next listing is whole
remount
reset
curl -sf -XPOST "$CTL/faults" -d "[{\"match\":\"$PAGES\",\"latency_ms\":1,\"count\":1},
    {\"match\":\"$PAGES\",\"latency_ms\":800,\"count\":3},
    {\"match\":\"$PAGES\",\"status\":403,\"count\":1}]" >/dev/null
read -r first all err _ < <(scan "$D" "$T/part")
n=$(wc -l < "$T/part")
check "failed listing: EACCES after the first page's entries ($err, $n names)" \
    sh -c "[ '$err' = 13 ] && [ $n -ge 100 ] && [ $n -lt 1001 ]"
check "no name twice in it" [ "$(sort "$T/part" | uniq -d | wc -l)" = 0 ]
reset
scan "$D" "$T/again" >/dev/null
check "the next listing is whole" sh -c "sort '$T/again' | cmp -s - '$T/want'"
check "and fetched its pages again" [ "$(count "$PAGES")" = 10 ]
stop_mount
finish
