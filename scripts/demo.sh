#!/usr/bin/env bash
# Try recfs on sample recordings, with nothing but this repository:
#   scripts/demo.sh [MOUNTPOINT]   install what is missing, build, start the
#                                  emulator (demo seed) and mount (./mnt)
#   scripts/demo.sh stop           unmount and stop the emulator
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
state="$top/.demo"
build="$top/build"

stop() {
  if [ -f "$state/mountpoint" ]; then
    mp=$(cat "$state/mountpoint")
    if mountpoint -q "$mp" 2>/dev/null; then
      fusermount3 -u "$mp" && echo "demo: unmounted $mp"
    fi
  fi
  if [ -f "$state/emulator.pid" ]; then
    pid=$(cat "$state/emulator.pid")
    kill "$pid" 2>/dev/null && echo "demo: emulator stopped" || true
    rm -f "$state/emulator.pid"
  fi
}

if [ "${1:-}" = "stop" ]; then
  stop
  exit 0
fi

mnt=$(realpath -m "${1:-$top/mnt}")
"$top/scripts/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

stop >/dev/null 2>&1 || true
mkdir -p "$state" "$mnt"
echo "$mnt" > "$state/mountpoint"

python3 "$top/scripts/emulator/gcemu.py" --data "$state/emulator" --seed demo \
  --listen 127.0.0.1:0 > "$state/emulator.json" 2> "$state/emulator.log" &
echo $! > "$state/emulator.pid"
for _ in $(seq 1 300); do
  [ -s "$state/emulator.json" ] && break
  sleep 0.1
done
if [ ! -s "$state/emulator.json" ]; then
  echo "demo: the emulator did not start; see $state/emulator.log" >&2
  exit 1
fi
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$state/emulator.json" "$1"; }
api_url=$(field api_url)
login_url=$(field login_url)
echo "demo: emulator running at $api_url (log: $state/emulator.log)"

export PURECLOUD_CLIENT_ID=$(field client_id)
export PURECLOUD_SECRET=$(field client_secret)
"$build/recfs" -o "api_url=$api_url,login_url=$login_url,cache_dir=$state/cache" \
  -o transcode_timeout=30 "$mnt" 2> "$state/recfs.log"
for _ in $(seq 1 100); do
  mountpoint -q "$mnt" && break
  sleep 0.1
done
if ! mountpoint -q "$mnt"; then
  echo "demo: recfs did not mount; see $state/recfs.log" >&2
  exit 1
fi
echo "demo: recfs mounted at $mnt"
echo

run() { echo "\$ $*"; "$@"; echo; }
cd "$mnt"
run ls
conv=$(ls conversations | head -n 1)
run ls -l "conversations/$conv"
rec=$(ls "conversations/$conv" | head -n 1)
run ls -l "conversations/$conv/$rec"
run head -n 15 "conversations/$conv/$rec/metadata.json"
media=$(ls "conversations/$conv/$rec" | grep '^media\.' | head -n 1 || true)
if [ -n "$media" ]; then
  run cp "conversations/$conv/$rec/$media" "/tmp/recfs-demo-$media"
  run ls -l "/tmp/recfs-demo-$media"
fi
run ls by-date
run cat userrecordings/summary.json
echo "Explore with: cd $mnt && ls -lR | less"
echo "Stop with:    scripts/demo.sh stop"
