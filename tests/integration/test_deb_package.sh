#!/usr/bin/env bash
# test_deb_package.sh - `cpack -G DEB` builds a recfs .deb that holds the
# binary and the man page and depends on the FUSE, curl and jansson
# runtime packages. Runs cpack on the build dir of $RECFS_BINARY with its
# output in a scratch dir. Exit 77 if cpack or dpkg-deb are missing.
set -u
BIN=${RECFS_BINARY:-}
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "SKIP: RECFS_BINARY not built"; exit 77; }
command -v cpack >/dev/null && command -v dpkg-deb >/dev/null ||
    { echo "SKIP: cpack or dpkg-deb missing"; exit 77; }
BUILD=$(dirname "$BIN")
[ -f "$BUILD/CPackConfig.cmake" ] || { echo "SKIP: no CPackConfig.cmake in $BUILD"; exit 77; }

T=$(mktemp -d /tmp/recfs-deb.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

(cd "$BUILD" && timeout 240 cpack -G DEB -B "$T/out" >"$T/cpack.log" 2>&1) ||
    { cat "$T/cpack.log"; echo "FAIL: cpack"; exit 1; }
DEB=$(ls "$T"/out/recfs_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || { cat "$T/cpack.log"; echo "FAIL: no recfs_*.deb"; exit 1; }

dpkg-deb -I "$DEB" >"$T/info" || fail "dpkg-deb -I"
grep -q '^ Package: recfs$' "$T/info" || fail "package name: $(cat "$T/info")"
DEPENDS=$(sed -n 's/^ Depends: //p' "$T/info")
for dep in libfuse3-3 fuse3 libcurl4 libjansson4; do
    echo "$DEPENDS" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$dep" ||
        fail "Depends lacks $dep: $DEPENDS"
done

dpkg-deb -x "$DEB" "$T/root" || fail "dpkg-deb -x"
[ -x "$T/root/usr/bin/recfs" ] || fail "no usr/bin/recfs: $(cd "$T/root" && find . -type f)"
MAN=$(ls "$T"/root/usr/share/man/man1/recfs.1* 2>/dev/null | head -1)
[ -n "$MAN" ] || fail "no man page: $(cd "$T/root" && find . -type f)"
if [ -n "$MAN" ]; then
    case $MAN in *.gz) TEXT=$(gzip -dc "$MAN") ;; *) TEXT=$(cat "$MAN") ;; esac
    echo "$TEXT" | grep -q '^\.TH RECFS 1' || fail "man page header"
    echo "$TEXT" | grep -q 'cache_size' || fail "man page content"
fi
"$T/root/usr/bin/recfs" --version | grep -q '^recfs ' || fail "packaged binary --version"

[ $FAILED = 0 ] && echo "deb: ok ($(basename "$DEB"))"
exit $FAILED
