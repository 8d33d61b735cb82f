#!/usr/bin/env bash
# test_fs_ffprobe.sh - media files as players see them: ffprobe reads every
# format's media.<ext> through the mount (stat size exact before the first
# read, seeks served by Range requests), and the bytes equal the emulator's
# (sha256). Exit 77 without FUSE, ffprobe or the emulator.
set -u
command -v ffprobe >/dev/null || { echo "SKIP: no ffprobe"; exit 77; }
. "$(dirname "$0")/../support/emu_mount.sh"
emu_start
start_mount

RID=$(state '.recordings_by_media.audio[0]')
CID=$(state ".conversations | to_entries[] | select(.value | index(\"$RID\")) | .key")
DIR=$MNT/conversations/$CID/$RID
for f in WEBM:webm WAV:wav WAV_ULAW:ulaw.wav OGG_VORBIS:ogg OGG_OPUS:opus MP3:mp3; do
    fmt=${f%%:*}
    ext=${f#*:}
    src=$(curl -sf "$CTL/media?kind=recording&id=$RID&format=$fmt")
    want_size=$(echo "$src" | jq .size)
    check "$ext: stat size exact before reading" [ "$(stat -c %s "$DIR/media.$ext")" = "$want_size" ]
    dur=$(timeout 60 ffprobe -v error -show_entries format=duration -of csv=p=0 "$DIR/media.$ext")
    check "$ext: ffprobe reads it (duration $dur)" [ -n "$dur" ]
    check "$ext: bytes equal the source" \
        [ "$(sha256sum < "$DIR/media.$ext" | cut -c1-64)" = "$(echo "$src" | jq -r .sha256)" ]
done

UR=$(state '.userrecordings[0]')
check "user recording: ffprobe" timeout 60 ffprobe -v error "$MNT/userrecordings/$UR/media.webm"
OR=$(state '.orphans[0]')
check "orphan: ffprobe" timeout 60 ffprobe -v error "$MNT/orphanrecordings/$OR/media.webm"

stop_mount
finish
