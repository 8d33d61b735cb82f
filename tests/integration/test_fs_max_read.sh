#!/usr/bin/env bash
# test_fs_max_read.sh - the read request size: by default at most 512 KiB
# (a 1 MiB reply does not fit a splice pipe), and a user's -o max_read
# wins (libfuse refuses to mount when init() and the mount option
# disagree). Media bytes equal the emulator's (sha256) either way, read
# cold (from download buffers) and again after a remount (from the cache
# files). Exit 77 without FUSE or the emulator.
set -u
. "$(dirname "$0")/../support/emu_mount.sh"
emu_start --media-seconds 150

RID=$(state '.recordings_by_media.audio[0]')
CID=$(state ".conversations | to_entries[] | select(.value | index(\"$RID\")) | .key")
F=$MNT/conversations/$CID/$RID/media.wav
WANT=$(curl -sf "$CTL/media?kind=recording&id=$RID&format=WAV" | jq -r .sha256)
SIZE=$(curl -sf "$CTL/media?kind=recording&id=$RID&format=WAV" | jq -r .size)
check "the WAV spans two cache blocks ($SIZE bytes)" [ "$SIZE" -gt $((2 << 20)) ]

for opt in "" "-o max_read=131072"; do
    # shellcheck disable=SC2086
    start_mount $opt
    check "mounted with '${opt:-defaults}'" grep -q " $MNT fuse" /proc/mounts
    check "cold read, '${opt:-defaults}': bytes equal" [ "$(sha256sum < "$F" | cut -c1-64)" = "$WANT" ]
    stop_mount
    start_mount $opt
    check "after remount, '${opt:-defaults}': bytes equal" [ "$(sha256sum < "$F" | cut -c1-64)" = "$WANT" ]
    stop_mount
done
check "no libfuse init/max_read complaint" test -z "$(grep "maximum read size" "$T/recfs.log")"
finish
