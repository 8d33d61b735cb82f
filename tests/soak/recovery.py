#!/usr/bin/env python3
"""Server restart and API outage (issue 8). One mount; the emulator is
killed (SIGKILL, its --data kept) and stays down for a while:
  - what is cached (a media file read before, listings, documents) stays
    readable, byte-exact;
  - what is not cached fails fast with a clean errno (EIO, ETIMEDOUT,
    EAGAIN...) within FAIL_FAST_S, every time it is tried while down;
then the emulator restarts on the SAME ports (--listen/--media-listen) with
the same data (new signing secret, no tokens), and the mount must recover
by itself: listing and reading uncached media work again without a
remount. Repeated --cycles times. Exit 0 ok, 1 failed, 2 error, 77 skip.
"""

import argparse
import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soaklib as sl  # noqa: E402

FAIL_FAST_S = 15.0     # an uncached op with the API down
RECOVER_S = 30.0       # after the restart, until everything works
CLEAN = {"EIO", "ETIMEDOUT", "EAGAIN", "ENOENT", "EHOSTUNREACH"}


class Recovery:
    def __init__(self, a, env):
        self.a, self.env = a, env
        self.problems = []
        self.fig = {"down_ops": 0, "down_max_s": 0.0, "recover_s": [],
                    "cached_reads_while_down": 0, "cached_read_max_s": 0.0}

    def problem(self, msg):
        self.problems.append(msg)
        sl.log("PROBLEM: " + msg)

    def setup(self):
        self.emu = sl.Emulator(self.env, self.a.gcemu, [
            "--seed", "demo", "--transcode-ms", "0"]).start()
        self.recs = self.emu.audio_recordings()
        self.sha = {r: self.emu.media("recording", r, "WAV")["sha256"]
                    for _, r in self.recs}
        self.m = sl.Recfs(self.env, self.a.recfs, self.emu,
                          opts="format=WAV,metadata_ttl=1").start()
        self.next = 0

    def media(self, cid, rid):
        return self.m.path("conversations", cid, rid, "media.wav")

    def read_ok(self, cid, rid, what):
        op = sl.timed("read", sl.read_file, self.media(cid, rid))
        if not op.ok:
            self.problem(f"{what}: read {rid}: {op.err} {op.detail}")
        elif op.detail[0] != self.sha[rid]:
            self.problem(f"{what}: {rid}: wrong bytes")
        return op

    def expect_fail_fast(self, what, fn, *args):
        op = sl.timed(what, fn, *args)
        self.fig["down_ops"] += 1
        self.fig["down_max_s"] = round(max(self.fig["down_max_s"],
                                           op.latency), 3)
        if op.ok:
            # a listing may legitimately come from the cache
            return op
        if op.err not in CLEAN:
            self.problem(f"{what} while down: {op.err} ({op.detail})")
        if op.latency > FAIL_FAST_S:
            self.problem(f"{what} while down took {op.latency:.1f} s")
        return op

    def cycle(self, k):
        cached = self.recs[self.next]
        uncached = self.recs[self.next + 1]
        other_conv = self.recs[self.next + 2][0]
        self.next += 3
        self.read_ok(*cached, "before the outage")
        os.listdir(self.m.path("conversations", cached[0]))
        sl.log(f"cycle {k}: emulator killed")
        self.emu.stop(signal.SIGKILL)
        t_down = time.monotonic()
        while time.monotonic() - t_down < self.a.down:
            op = sl.timed("cached", sl.read_file, self.media(*cached))
            self.fig["cached_reads_while_down"] += 1
            self.fig["cached_read_max_s"] = round(max(
                self.fig["cached_read_max_s"], op.latency), 3)
            if not op.ok or op.detail[0] != self.sha[cached[1]]:
                self.problem(f"cached media unreadable while down: "
                             f"{op.err or 'wrong bytes'}")
            if op.latency > 2:
                self.problem(f"cached read took {op.latency:.1f} s")
            self.expect_fail_fast("uncached read", sl.read_file,
                                  self.media(*uncached))
            self.expect_fail_fast("uncached ls", os.listdir, self.m.path(
                "conversations", other_conv))
            self.expect_fail_fast("ls conversations", os.listdir,
                                  self.m.path("conversations"))
            time.sleep(0.5)
        if not self.m.alive():
            self.problem("recfs died while the API was down")
            return
        self.emu.restart()
        sl.log(f"cycle {k}: emulator back on {self.emu.listen}")
        self.wait_recovered(uncached, other_conv)

    def wait_recovered(self, uncached, conv):
        t0 = time.monotonic()
        while True:
            ok_read = sl.timed("read", sl.read_file, self.media(*uncached))
            ok_ls = sl.timed("ls", os.listdir,
                             self.m.path("conversations", conv))
            if ok_read.ok and ok_ls.ok:
                break
            if time.monotonic() - t0 > RECOVER_S:
                self.problem(f"not recovered {RECOVER_S:.0f} s after the "
                             f"restart: read {ok_read.err}, ls {ok_ls.err}")
                return
            time.sleep(0.5)
        self.fig["recover_s"].append(round(time.monotonic() - t0, 2))
        if ok_read.detail[0] != self.sha[uncached[1]]:
            self.problem("media read after the restart: wrong bytes")

    def run(self):
        for k in range(self.a.cycles):
            self.cycle(k + 1)
        st = self.m.status()
        self.fig["stale_served"] = st["client"]["stale_served"]
        self.fig["token_renewals"] = st["client"]["token_renewals"]
        rc = self.m.unmount()
        if rc != 0:
            self.problem(f"unmount: exit status {rc}" + sl.tail(self.m.log))
        rep = sl.sanitizer_report(self.m.log)
        if rep:
            self.problem("sanitizer report in the recfs log:\n" + rep)


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfs", default=os.environ.get("RECFS_BINARY"))
    ap.add_argument("--gcemu", default=os.environ.get(
        "GCEMU", os.path.join(top, "scripts/emulator/gcemu.py")))
    ap.add_argument("--cycles", type=int, default=2)
    ap.add_argument("--down", type=float, default=6.0,
                    help="seconds the API stays down per cycle")
    ap.add_argument("--budget", type=int, default=85)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    def body(env):
        r = Recovery(a, env)
        r.setup()
        r.run()
        return r

    r, rc = sl.run_driver("recovery", a, body, prefix="recfs-recovery-")
    if rc is not None:
        return rc
    print(json.dumps(r.fig, indent=2))
    return sl.verdict("recovery", r.problems)


if __name__ == "__main__":
    sys.exit(main())
