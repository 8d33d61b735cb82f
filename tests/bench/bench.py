#!/usr/bin/env python3
"""recfs benchmark driver (issue 7). Run it through scripts/bench.sh.

One run, all on loopback: the emulator (bench seed), recfs mounted on it,
and the baselines on the same media bytes: curl on the same pre-signed
URLs, nginx serving the emulator's media files as a plain directory,
mounted with rclone (--vfs-cache-mode off and full) and httpdirfs --cache,
and cat from local disk. Measures the figures of bench_report.METRICS,
writes bench.md / bench.json / throughput.png and checks the targets.

Exit status: 0 all targets met (or --quick / --no-gate), 1 a target
missed, 2 the benchmark itself failed, 77 cannot run here (a tool is
missing, or recfs does not mount).
"""

import argparse
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_env as be            # noqa: E402
import bench_report as br         # noqa: E402
from bench_phases import Bench    # noqa: E402

FULL = {"reps": 5, "conversations": 1000, "user_recordings": 10000,
        "large_mib": 256, "small": 200, "seed_timeout": 600,
        "budget": 1200}
QUICK = {"reps": 1, "conversations": 5, "user_recordings": 300,
         "large_mib": 4, "small": 10, "seed_timeout": 30, "budget": 45}

TOOLS = ["curl", "cat", "cp", "ls", "nginx", "rclone", "httpdirfs",
         "fusermount3"]


def parse_args(argv):
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfs", required=True, help="recfs binary")
    ap.add_argument("--gcemu",
                    default=os.path.join(top, "scripts/emulator/gcemu.py"))
    ap.add_argument("--out", help="results dir (default bench-results/,"
                    " bench-results/quick/ with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="1 repetition, tiny sizes, no gates")
    ap.add_argument("--no-gate", action="store_true",
                    help="report targets but always exit 0")
    ap.add_argument("--reps", type=int, help="repetitions (default 5)")
    ap.add_argument("--large-mib", type=int, help="size of the large file")
    ap.add_argument("--small", type=int, help="number of small files")
    ap.add_argument("--user-recordings", type=int)
    ap.add_argument("--conversations", type=int)
    ap.add_argument("--only", default="",
                    help="comma list of phases: seq,ttfb,small,ls")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir (logs, caches)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if not a.out:
        a.out = os.path.join(top, "bench-results",
                             "quick" if a.quick else "")
    return a


def make_config(a):
    cfg = dict(QUICK if a.quick else FULL)
    for k in ("reps", "large_mib", "small", "user_recordings",
              "conversations"):
        if getattr(a, k) is not None:
            cfg[k] = getattr(a, k)
    cfg["quick"] = a.quick
    cfg["phases"] = [p for p in a.only.split(",") if p] or \
        ["seq", "ttfb", "small", "ls"]
    return cfg


def on_alarm(signum, frame):
    raise be.BenchError("time budget exceeded")


def on_term(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run(a, cfg):
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        raise be.Skip("missing tools: " + " ".join(missing)
                      + " (scripts/install-deps.sh --bench)")
    if not os.path.exists(a.gcemu):
        raise be.Skip("emulator not found: " + a.gcemu)
    res = br.Results(cfg)
    env = be.Env(keep=a.keep, verbose=a.verbose)
    env.arm_watchdog(cfg["budget"] + (5 if cfg["quick"] else 30))
    try:
        b = Bench(env, cfg, res, a.recfs, a.gcemu)
        b.setup()
        if not b.recfs_ok and cfg["quick"]:
            raise be.Skip("recfs does not mount: " + b.recfs_error)
        b.run_phases()
        b.finish()
    finally:
        env.close()
    return res


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    cfg = make_config(a)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(cfg["budget"])
    t0 = time.monotonic()
    try:
        res = run(a, cfg)
    except be.Skip as e:
        print(f"bench: SKIP: {e}", flush=True)
        return 77
    except (be.BenchError, KeyboardInterrupt) as e:
        print(f"bench: FAILED: {e}" + ("" if a.keep else
              " (--keep keeps every daemon's log)"), flush=True)
        return 2
    except Exception as e:  # a bug or an unexpected tool failure
        import traceback
        traceback.print_exc()
        print(f"bench: FAILED: {type(e).__name__}: {e}", flush=True)
        return 2
    finally:
        signal.alarm(0)
    res.config["elapsed_s"] = round(time.monotonic() - t0, 1)
    br.write_all(res, a.out)
    print(br.text_table(res))
    print(f"bench: results in {a.out} ({res.config['elapsed_s']} s)")
    if "recfs" not in {s for m in res.samples.values() for s in m}:
        print("bench: recfs was not measured; targets not checked")
        return 0 if (a.no_gate or cfg["quick"]) else 77
    missed = res.failed_gates()
    if cfg["quick"] or a.no_gate:
        print(f"bench: {len(missed)} target(s) missed; not enforced"
              f" ({'--quick' if cfg['quick'] else '--no-gate'})")
    elif missed:
        print(f"bench: {len(missed)} target(s) missed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
