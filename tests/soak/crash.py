#!/usr/bin/env python3
"""Crash rounds (issue 8): SIGKILL the recfs daemon in the middle of a
media download or of an edit commit, clear the dead mount, remount on the
same cache_dir, and check:
  - cache integrity: the interrupted file and every file read before read
    back byte-exact (sha256 of the emulator's file);
  - edits are atomic: the user recording on the server is the old or the
    new document (name and read changed together), never a mix, and the
    remounted file shows what the server has.
The kill lands mid-request because the emulator delays media (latency on
every Range GET) and the PUT (latency_ms) of the round.
Exit 0 ok, 1 a check failed, 2 error, 77 skip.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soaklib as sl  # noqa: E402

EDIT_SCRIPT = r"""
import json, sys
p, name, read = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
d = json.load(open(p))
d["name"], d["read"] = name, read
f = open(p, "w"); f.write(json.dumps(d, indent=2) + "\n"); f.close()
"""


class Crash:
    def __init__(self, a, env):
        self.a, self.env = a, env
        self.rng = random.Random(a.seed)
        self.problems = []
        self.verified = {}      # path rel to mnt -> sha256 (read ok)
        self.kills = {"download": 0, "edit": 0}
        self.edit_outcomes = {"old": 0, "new": 0}

    def problem(self, msg):
        self.problems.append(msg)
        sl.log("PROBLEM: " + msg)

    def setup(self):
        self.emu = sl.Emulator(self.env, self.a.gcemu, [
            "--seed", "bench", "--conversations", "4", "--user-recordings",
            "4", "--orphans", "0", "--large-media-mib", str(self.a.mib),
            "--transcode-ms", "0"]).start()
        st = self.emu.state()
        lr = st["large_recording"]
        self.media = [(lr["conversationId"], lr["recordingId"])]
        self.media += [cr for cr in self.emu.audio_recordings()
                       if cr[1] != lr["recordingId"]][:4]
        info = {r: self.emu.media("recording", r, "WAV")
                for _, r in self.media}
        self.sha = {r: i["sha256"] for r, i in info.items()}
        self.src = info[lr["recordingId"]]["path"]   # the emulator's file
        self.size = info[lr["recordingId"]]["size"]
        self.regions = []                             # (offset, length)
        self.urecs = st["userrecordings"]
        self.m = sl.Recfs(self.env, self.a.recfs, self.emu,
                          opts="format=WAV")

    def rel(self, cid, rid):
        return os.path.join("conversations", cid, rid, "media.wav")

    def verify_regions(self):
        """The regions of the large file whose download was interrupted
        read back byte-exact (compared with the emulator's file)."""
        p = self.m.path(self.rel(*self.media[0]))
        with open(self.src, "rb") as ref:
            for off, ln in self.regions:
                ref.seek(off)
                want = ref.read(ln)
                try:
                    with open(p, "rb") as f:
                        f.seek(off)
                        got = f.read(ln)
                except OSError as e:
                    self.problem(f"read {ln} at {off} after remount: {e}")
                    continue
                if got != want:
                    self.problem(f"large file: wrong bytes at {off}+{ln} "
                                 "after remount")

    def verify_cache(self):
        """Every media file reads back byte-exact after the remount."""
        for cid, rid in self.media:
            p = self.m.path(self.rel(cid, rid))
            op = sl.timed("read", sl.read_file, p)
            if not op.ok:
                self.problem(f"read {rid} after remount: {op.err}")
            elif op.detail[0] != self.sha[rid]:
                self.problem(f"{rid}: wrong bytes after remount "
                             f"({op.detail[1]} bytes)")

    def kill_during_download(self):
        """Kill while dd reads a random 4 MiB region of the large file
        (each media GET delayed before its headers or its body)."""
        cid, rid = self.media[0]
        mib = self.size >> 20
        off = self.rng.randrange(0, max(mib - 4, 1)) << 20
        self.regions.append((off, 4 << 20))
        slow = self.rng.choice(["latency_ms", "stall_ms"])
        self.emu.fault({"match": "^GET /media/", "count": -1,
                        slow: self.rng.randint(500, 1500)})
        p = self.m.path(self.rel(cid, rid))
        cat = subprocess.Popen(["dd", f"if={p}", "of=/dev/null", "bs=64K",
                                f"skip={off >> 16}", "count=64"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(self.rng.uniform(0.1, 1.0))
        if cat.poll() is not None:
            sl.log("download finished before the kill")
        self.m.kill()
        self.kills["download"] += 1
        try:
            cat.wait(15)
        except subprocess.TimeoutExpired:
            cat.kill()
            self.problem("cat stayed blocked on the killed mount")
        self.emu.clear_faults()

    def kill_during_edit(self, n):
        uid = self.urecs[n % len(self.urecs)]
        st, old = self.emu.api("GET", f"/api/v2/userrecordings/{uid}")
        if st != 200:
            raise sl.SoakError(f"GET userrecording: HTTP {st}")
        new = (f"crash round {n}", not old.get("read"))
        lat = self.rng.randint(300, 1500)
        self.emu.fault({"match": "^PUT /api/v2/userrecordings/",
                        "count": 1, "latency_ms": lat})
        early = n % 4 == 1   # kill during the GET that precedes the PUT
        if early:
            self.emu.fault({"match": "^GET /api/v2/userrecordings/",
                            "count": -1, "latency_ms": 1000})
        p = self.m.path("userrecordings", uid, "metadata.json")
        ed = subprocess.Popen([sys.executable, "-c", EDIT_SCRIPT, p, new[0],
                               "1" if new[1] else "0"],
                              stderr=subprocess.DEVNULL)
        time.sleep(self.rng.uniform(0.2, 0.6) if early else
                   self.rng.uniform(0.1, lat / 1000.0 + 0.3))
        self.m.kill()
        self.kills["edit"] += 1
        try:
            ed.wait(15)
        except subprocess.TimeoutExpired:
            ed.kill()
            self.problem("the editor stayed blocked on the killed mount")
        time.sleep(lat / 1000.0 + 0.2)  # let a PUT in progress land
        self.emu.clear_faults()
        self.check_edit(uid, (old.get("name"), old.get("read")), new)

    def check_edit(self, uid, old, new):
        st, doc = self.emu.api("GET", f"/api/v2/userrecordings/{uid}")
        have = (doc.get("name"), doc.get("read")) if st == 200 else None
        if have == old:
            self.edit_outcomes["old"] += 1
        elif have == new:
            self.edit_outcomes["new"] += 1
        else:
            self.problem(f"userrecording {uid}: server has {have}, neither "
                         f"old {old} nor new {new}")
        self.pending_view = (uid, have)

    def check_view(self):
        """After the remount the file shows what the server has."""
        uid, have = self.pending_view
        p = self.m.path("userrecordings", uid, "metadata.json")
        try:
            d = json.load(open(p))
        except (OSError, ValueError) as e:
            self.problem(f"{p} after remount: {e}")
            return
        if (d.get("name"), d.get("read")) != have:
            self.problem(f"{p} shows {(d.get('name'), d.get('read'))}, "
                         f"server has {have}")

    def run(self):
        self.m.start()
        for n in range(self.a.rounds):
            mode = "edit" if n % 2 else "download"
            self.pending_view = None
            if mode == "download":
                self.kill_during_download()
            else:
                self.kill_during_edit(n)
            if self.m.alive() or sl.is_mounted(self.m.mnt):
                self.problem("the mount survived SIGKILL?")
            self.m.start()
            if self.pending_view:
                self.check_view()
            if mode == "download":
                self.verify_regions()
            if n == self.a.rounds - 1:
                self.verify_cache()
            sl.log(f"round {n + 1}/{self.a.rounds} ({mode}) done")
        rc = self.m.unmount()
        if rc != 0:
            self.problem(f"final unmount: exit status {rc}"
                         + sl.tail(self.m.log))
        rep = sl.sanitizer_report(self.m.log)
        if rep:
            self.problem("sanitizer report in the recfs log:\n" + rep)


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfs", default=os.environ.get("RECFS_BINARY"))
    ap.add_argument("--gcemu", default=os.environ.get(
        "GCEMU", os.path.join(top, "scripts/emulator/gcemu.py")))
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--mib", type=int, default=24, help="large file size")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--budget", type=int, default=85)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    t0 = time.monotonic()

    def body(env):
        sl.log(f"crash: seed {a.seed}, {a.rounds} rounds")
        c = Crash(a, env)
        c.setup()
        c.run()
        return c

    c, rc = sl.run_driver("crash", a, body, prefix="recfs-crash-")
    if rc is not None:
        return rc
    print(json.dumps({"rounds": a.rounds, "kills": c.kills,
                      "edit_outcomes": c.edit_outcomes,
                      "seconds": round(time.monotonic() - t0, 1),
                      "problems": len(c.problems)}, indent=2))
    return sl.verdict("crash", c.problems)


if __name__ == "__main__":
    sys.exit(main())
