#!/usr/bin/env bash
# Smoke run of the benchmark (scripts/bench.sh --quick): tiny sizes,
# 1 repetition, no gates, < 60 s. Exit 77 (skipped) when a baseline tool
# is missing or recfs does not mount.
set -euo pipefail

top="${RECFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
out=$(mktemp -d "${TMPDIR:-/tmp}/recfs-bench-quick.XXXXXX")
trap 'rm -rf "$out"' EXIT

if [ -z "${RECFS_BINARY:-}" ] || [ ! -x "$RECFS_BINARY" ]; then
  echo "SKIP: RECFS_BINARY not set or not built"
  exit 77
fi
rc=0
timeout -k 5 58 python3 "$top/tests/bench/bench.py" --quick \
  --recfs "$RECFS_BINARY" --out "$out" || rc=$?
if [ "$rc" -ne 0 ]; then
  [ "$rc" -eq 124 ] && echo "FAIL: bench --quick took more than 58 s"
  exit "$rc"
fi
for f in bench.md bench.json; do
  [ -s "$out/$f" ] || { echo "FAIL: no $f written"; exit 1; }
done
python3 - "$out/bench.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
m = doc["metrics"]
need = [("cold_mbps", "curl"), ("cold_mbps", "recfs"), ("hot_mbps", "recfs"),
        ("ttfb_ms", "recfs"), ("small8_s", "recfs"), ("ls_cold_s", "recfs"),
        ("ls_rtt_s", "recfs"), ("ls_rtt_s", "curl pages")]
import os
if os.geteuid() == 0:  # the page-cache probe reads /proc/kpageflags
    need += [("hot_folio_pct", "recfs"), ("hot_folio_pct", "local cat")]
if os.path.ismount("/dev/shm"):
    need += [("hot_mbps", "local cat (tmpfs)")]
miss = [f"{k}/{s}" for k, s in need
        if s not in m.get(k, {}).get("systems", {})]
if miss:
    sys.exit("FAIL: figures missing from bench.json: " + ", ".join(miss))
print("bench --quick: ok")
EOF
