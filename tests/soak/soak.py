#!/usr/bin/env python3
"""Fault and load soak of recfs (issue 8): one mount, a mixed workload for
a fixed time, random faults injected by the emulator, then checks.

Workload (threads, each looping until the time is up):
  copy x2   cp -r of a random conversation; media sha256 checked against
            the emulator's (GET {control}/media)
  lslr      ls -lR of the whole mount
  read      a random media file read whole (sha256 checked), stat of JSON
  urec      user recording metadata edits (name, read), own set of ids
  rec       recording deleteDate edits, own set of recordings
  annot     annotation create (new file) / delete (rm), allow_delete mount
Faults (re-armed every 1.5-3 s with a random count): 429 bursts with
Retry-After, 500/503, reset mid-body, stalls, truncated and malformed
bodies, latency spikes, token endpoint errors; tokens expired every ~10 s.
Write requests get only faults that answer before the server applies the
change (status, malformed, latency), so "a failed edit is not on the
server" is a strict check.

Checks: every completed copy/read byte-exact; every failure a clean errno
(EIO, ETIMEDOUT, EAGAIN, ESTALE; ENOENT only for annotation races) within
the deadline + margin; every successful edit on the server, no failed
one; the daemon alive, no sanitizer report, clean unmount (exit 0).
Prints the figures. Exit 0 ok, 1 a check failed, 2 error, 77 skip.
"""

import argparse
import collections
import datetime
import json
import os
import random
import re
import shutil
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soaklib as sl  # noqa: E402

REQUEST_DEADLINE = 60.0        # recfs per-call deadline (api_config)
OP_LIMIT = REQUEST_DEADLINE + 15  # single-file op: deadline + margin
TREE_LIMIT = 180.0             # cp -r / ls -lR of many files
CLEAN = {"EIO", "ETIMEDOUT", "EAGAIN", "ESTALE"}
READS = "^(GET|HEAD) /(api/v2|media)/"
ANYAPI = "^(GET|PUT|POST|DELETE|PATCH) /api/v2/"
# (name, fault without count, max count); counts up to 8 exhaust retries
FAULTS = [
    ("429", {"match": ANYAPI, "status": 429, "retry_after": 1}, 6),
    ("500", {"match": ANYAPI, "status": 500}, 6),
    ("503", {"match": ANYAPI, "status": 503, "retry_after": 1}, 8),
    ("503-media", {"match": "^GET /media/", "status": 503}, 6),
    ("reset-media", {"match": "^GET /media/", "reset_after_bytes": 40000}, 4),
    ("reset-api", {"match": "^GET /api/v2/", "reset_after_bytes": 10}, 4),
    ("stall", {"match": READS, "stall_ms": 2500}, 3),
    ("truncate", {"match": READS, "truncate": True}, 4),
    ("malformed", {"match": "^(GET|PUT|POST) /api/v2/", "malformed": True}, 4),
    ("malformed-media", {"match": "^GET /media/", "malformed": True}, 2),
    ("latency", {"match": ".", "latency_ms": 3000}, 4),
    ("token", {"match": "^POST /oauth/token", "status": 503}, 3),
]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []              # sl.Op
        self.problems = []         # check failures (the first 200)
        self.nproblems = 0
        self.kinds = collections.Counter()  # problem kind -> count
        self.inflight = {}         # id -> (kind, start)

    def add(self, op):
        with self.lock:
            self.ops.append(op)

    def problem(self, msg):
        kind = " ".join(re.sub(r"\S*/\S*|\(.*?\)|[\d.]+|'.*?'", "",
                               msg.split("\n")[0]).split())[:60]
        with self.lock:
            self.kinds[kind] += 1
            self.nproblems += 1
            if len(self.problems) < 200:
                self.problems.append(msg)
            quiet = self.nproblems > 50
        if not quiet:
            sl.log("PROBLEM: " + msg)

    def begin(self, kind):
        key = object()
        with self.lock:
            self.inflight[key] = (kind, time.monotonic())
        return key

    def end(self, key):
        with self.lock:
            self.inflight.pop(key, None)


class Soak:
    def __init__(self, a, env):
        self.a, self.env = a, env
        self.rng = random.Random(a.seed)
        self.stats = Stats()
        self.stop = threading.Event()
        self.sha = {}
        self.armed = collections.Counter()
        self.consumed = collections.Counter()
        self.expired = 0
        self.edits = collections.defaultdict(list)  # key -> [(val, ok)]
        self.annots = {}                            # name -> state
        only = set(filter(None, a.faults.split(",")))
        skip = set(filter(None, a.skip_faults.split(",")))
        self.faultset = [f for f in FAULTS if (not only or f[0] in only)
                         and f[0] not in skip]
        if not self.faultset:
            raise sl.SoakError("no fault left to inject")

    # ---------------------------------------------------------- setup
    def setup(self):
        a = self.a
        self.emu = sl.Emulator(self.env, a.gcemu, [
            "--seed", "demo", "--transcode-ms", "0",
            "--conversations", str(a.conversations)]).start()
        self.m = sl.Recfs(self.env, a.recfs, self.emu, opts=(
            "format=WAV,allow_delete,metadata_ttl=2")).start()
        recs = self.emu.audio_recordings()
        st = self.emu.state()
        self.convs = sorted({c for c, _ in recs})
        self.recs = recs
        self.urecs = st["userrecordings"]
        for c, r in recs:
            self.sha[("recording", r)] = self.emu.media(
                "recording", r, "WAV")["sha256"]
        for u in self.urecs:
            self.sha[("userrecording", u)] = self.emu.media(
                "userrecording", u, "WAV")["sha256"]
        self.rng.shuffle(recs)
        self.rec_edit = recs[:4]
        self.rec_annot = recs[4:7]
        self.urec_edit = self.urecs[:5]
        self.out = self.env.mkdir("copies")

    # ---------------------------------------------------------- helpers
    def run_op(self, kind, fn, *args, limit=OP_LIMIT):
        key = self.stats.begin(kind)
        op = sl.timed(kind, fn, *args)
        self.stats.end(key)
        self.stats.add(op)
        if op.latency > limit:
            self.stats.problem(f"{kind} took {op.latency:.1f} s "
                               f"(limit {limit:.0f} s) {op.detail}")
        if not op.ok and op.err not in CLEAN:
            self.stats.problem(f"{kind} failed with {op.err}: {op.detail}")
        return op

    def check_media(self, path, kind, mid):
        got = sl.sha256_file(path)
        if got != self.sha[(kind, mid)]:
            self.stats.problem(f"corrupt media {path}: sha256 {got[:12]} "
                               f"!= {self.sha[(kind, mid)][:12]}")

    def tree_errors(self, kind, stderr, allow_enoent):
        """errno of each cp/ls error line; returns the paths that failed."""
        bad = set()
        for path, name in sl.errnos_from_stderr(stderr):
            bad.add(path)
            ok = name in CLEAN or (name == "ENOENT" and allow_enoent(path))
            self.stats.add(sl.Op(kind + "-file", False, name, 0, path))
            if not ok:
                self.stats.problem(f"{kind}: {name} on {path}")
        return bad

    # ---------------------------------------------------------- workers
    def w_copy(self, w):
        n = 0
        while not self.stop.is_set():
            cid = self.rng.choice(self.convs)
            dst = os.path.join(self.out, f"cp{w}-{n}")
            n += 1
            key = self.stats.begin("cp -r")
            rc, err, t = sl.run_cmd(
                ["cp", "-r", self.m.path("conversations", cid), dst],
                TREE_LIMIT)
            self.stats.end(key)
            if rc is None:
                self.stats.problem(f"cp -r {cid} hung > {TREE_LIMIT} s")
            bad = self.tree_errors("cp", err, lambda p: "/annotations" in p)
            self.stats.add(sl.Op("cp -r", rc == 0, None if rc == 0 else
                                 "EIO" if bad else f"exit {rc}", t))
            if rc not in (0, 1, None):
                self.stats.problem(f"cp -r exit {rc}: {err[:200]}")
            self.verify_copy(dst, bad)
            shutil.rmtree(dst, ignore_errors=True)

    def verify_copy(self, dst, bad):
        """Every media file cp completed is byte-exact; JSON parses."""
        for root, _, files in os.walk(dst):
            for f in files:
                p = os.path.join(root, f)
                if any(b.endswith(os.path.relpath(p, dst)) for b in bad):
                    continue
                rid = os.path.basename(root)
                if f == "media.wav" and ("recording", rid) in self.sha:
                    self.check_media(p, "recording", rid)
                elif f.endswith(".json") and "annotations" not in root:
                    try:
                        json.load(open(p))
                    except ValueError as e:
                        self.stats.problem(f"copied {p}: bad JSON {e}")

    def w_lslr(self):
        while not self.stop.is_set():
            key = self.stats.begin("ls -lR")
            rc, err, t = sl.run_cmd(["ls", "-lR", self.m.mnt], TREE_LIMIT)
            self.stats.end(key)
            if rc is None:
                self.stats.problem(f"ls -lR hung > {TREE_LIMIT} s")
            bad = self.tree_errors("ls", err, lambda p: "/annotations" in p)
            self.stats.add(sl.Op("ls -lR", rc == 0, None if rc == 0 else
                                 "EIO" if bad else f"exit {rc}", t))
            self.stop.wait(0.5)

    def w_read(self):
        while not self.stop.is_set():
            if self.rng.random() < 0.7:
                cid, rid = self.rng.choice(self.recs)
                kind, mid = "recording", rid
                p = self.m.path("conversations", cid, rid, "media.wav")
            else:
                kind = "userrecording"
                mid = self.rng.choice(self.urecs)
                p = self.m.path("userrecordings", mid, "media.wav")
            op = self.run_op("read media", sl.read_file, p)
            if op.ok and op.detail[0] != self.sha[(kind, mid)]:
                self.stats.problem(f"read {p}: wrong bytes ({op.detail[1]}"
                                   f" bytes, sha256 {op.detail[0][:12]})")
            j = os.path.join(os.path.dirname(p), "metadata.json")
            self.run_op("stat", os.stat, j)

    def edit_json(self, path, change, key, current):
        """Read, check that the file shows our last successful edit
        (read-your-writes: a single writer per document), change, write."""
        with open(path) as f:
            doc = json.load(f)
        oks = [v for v, ok in self.edits[key] if ok]
        if oks and current(doc) != oks[-1]:
            self.stats.problem(f"{path} shows {current(doc)} after a "
                               f"successful edit to {oks[-1]}")
        change(doc)
        sl.write_file(path, json.dumps(doc, indent=2) + "\n")

    def w_urec(self):
        n = 0
        while not self.stop.is_set():
            uid = self.urec_edit[n % len(self.urec_edit)]
            val = (f"soak {n}", n % 2 == 0)
            n += 1
            p = self.m.path("userrecordings", uid, "metadata.json")
            key = ("urec", uid)
            op = self.run_op("edit urec", self.edit_json, p, lambda d, v=val:
                             d.update(name=v[0], read=v[1]), key,
                             lambda d: (d.get("name"), d.get("read")))
            self.record_edit(key, val, op)

    def w_rec(self):
        n = 0
        base = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
        while not self.stop.is_set():
            cid, rid = self.rec_edit[n % len(self.rec_edit)]
            val = (base + datetime.timedelta(minutes=n)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z")
            n += 1
            p = self.m.path("conversations", cid, rid, "metadata.json")
            key = ("rec", cid, rid)
            op = self.run_op("edit rec", self.edit_json, p, lambda d, v=val:
                             d.update(deleteDate=v), key,
                             lambda d: d.get("deleteDate"))
            self.record_edit(key, val, op)

    def record_edit(self, key, val, op):
        """A failure before the write (reading the old document) sends
        nothing; it still must not show on the server."""
        with self.stats.lock:
            self.edits[key].append((val, op.ok))

    def w_annot(self):
        n = 0
        while not self.stop.is_set():
            cid, rid = self.rec_annot[n % len(self.rec_annot)]
            d = self.m.path("conversations", cid, rid, "annotations")
            mine = [k for k, v in self.annots.items()
                    if v == "created" and k[1] == rid]
            if mine and self.rng.random() < 0.5:
                self.annot_delete(d, self.rng.choice(mine))
            else:
                self.annot_create(d, rid, n)
            n += 1

    def annot_create(self, d, rid, n):
        name = f"soak-{self.a.seed}-{n}"
        body = json.dumps({"name": name, "description": "soak",
                           "location": 100 + n, "durationMs": 10}) + "\n"
        p = os.path.join(d, f"new-{n}.json")
        op = self.run_op("annot create", sl.write_file, p, body,
                         os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self.annots[(name, rid)] = "created" if op.ok else "create-failed"
        if not op.ok:
            try:
                os.unlink(p)  # the local scratch file left behind, if any
            except OSError:
                pass

    def find_annot(self, d, name):
        for f in os.listdir(d):
            with open(os.path.join(d, f)) as fh:
                if json.load(fh).get("name") == name:
                    return os.path.join(d, f)
        raise FileNotFoundError(2, "annotation not listed: " + name)

    def annot_delete(self, d, key):
        op = self.run_op("annot find", self.find_annot, d, key[0])
        if not op.ok:
            return
        op = self.run_op("annot delete", os.unlink, op.detail)
        if op.ok:
            self.annots[key] = "deleted"

    def w_faults(self):
        tokens_at = time.monotonic() + 10
        while not self.stop.wait(self.rng.uniform(1.5, 3.0)):
            self.collect_faults()
            for _ in range(self.rng.randint(1, 2)):
                name, f, kmax = self.rng.choice(self.faultset)
                k = self.rng.randint(1, kmax)
                self.emu.fault(dict(f, count=k))
                self.armed[name] += k
            if time.monotonic() >= tokens_at:
                self.emu.expire_tokens()
                self.expired += 1
                tokens_at = time.monotonic() + self.rng.uniform(6, 14)
        self.collect_faults()

    def collect_faults(self):
        """Count the injected (consumed) faults, then clear them."""
        for f in self.emu.faults():
            name = next((n for n, g, _ in FAULTS if all(
                f.get(k) == v for k, v in g.items())), "?")
            left = max(int(f.get("count", 0)), 0)
            self.armed[name] -= left
        self.emu.clear_faults()

    def w_hang_watch(self):
        """Report any operation in flight longer than its limit."""
        seen = set()
        while not self.stop.wait(2):
            now = time.monotonic()
            with self.stats.lock:
                items = list(self.stats.inflight.items())
            for key, (kind, t0) in items:
                lim = TREE_LIMIT if kind in ("cp -r", "ls -lR") else OP_LIMIT
                if now - t0 > lim and key not in seen:
                    seen.add(key)
                    self.stats.problem(f"{kind} in flight for "
                                       f"{now - t0:.0f} s")

    # ---------------------------------------------------------- run
    def run(self):
        ws = [threading.Thread(target=self.w_copy, args=(i,))
              for i in range(2)]
        ws += [threading.Thread(target=f) for f in (
            self.w_lslr, self.w_read, self.w_urec, self.w_rec,
            self.w_annot)]
        fw = threading.Thread(target=self.w_faults)
        hw = threading.Thread(target=self.w_hang_watch, daemon=True)
        for t in ws + [fw, hw]:
            t.daemon = True
            t.start()
        sl.log(f"load for {self.a.seconds} s against {self.m.mnt}")
        t_end = time.monotonic() + self.a.seconds
        while time.monotonic() < t_end and self.m.alive():
            time.sleep(1)
        self.stop.set()
        fw.join(30)
        sl.log("load stopped; faults cleared; draining")
        for t in ws:
            t.join(TREE_LIMIT + 10)
            if t.is_alive():
                self.stats.problem("a worker did not finish")

    def figures_from_status(self):
        try:
            self.status = self.m.status()
        except sl.SoakError as e:
            self.stats.problem(f"status.json unreadable after the run: {e}")
            self.status = {}

    # ---------------------------------------------------------- checks
    def check_edits(self):
        """Server state vs the edits: the last successful value, and never
        a value whose edit failed (faults on writes answer before the
        change is applied)."""
        for key, hist in self.edits.items():
            if key[0] == "urec":
                doc = self.emu.api_ok(f"/api/v2/userrecordings/{key[1]}")
                have = (doc.get("name"), doc.get("read"))
            else:
                doc = self.emu.api_ok(f"/api/v2/conversations/{key[1]}/"
                                      f"recordingmetadata/{key[2]}")
                have = doc.get("deleteDate")
            oks = [v for v, ok in hist if ok]
            failed = {v for v, ok in hist if not ok}
            if oks and have != oks[-1]:
                self.stats.problem(f"{key}: server has {have}, last "
                                   f"successful edit was {oks[-1]}")
            if have in failed and (not oks or have != oks[-1]):
                self.stats.problem(f"{key}: a failed edit ({have}) is on "
                                   "the server")

    def check_annots(self):
        names = set()
        for cid, rid in self.rec_annot:
            docs = self.emu.api_ok(f"/api/v2/conversations/{cid}/recordings/"
                                   f"{rid}/annotations")
            names |= {(d.get("name"), rid) for d in docs}
        for key, state in self.annots.items():
            on = key in names
            if state == "created" and not on:
                self.stats.problem(f"annotation {key[0]}: created, not on "
                                   "the server")
            if state in ("deleted", "create-failed") and on:
                self.stats.problem(f"annotation {key[0]}: {state}, but on "
                                   "the server")

    def finish(self):
        self.figures_from_status()
        if not self.m.alive():
            self.stats.problem("recfs died during the run" +
                               sl.tail(self.m.log))
        self.emu.clear_faults()
        self.check_edits()
        self.check_annots()
        rc = self.m.unmount()
        if rc != 0:
            self.stats.problem(f"unmount: recfs exit status {rc}" +
                               sl.tail(self.m.log))
        rep = sl.sanitizer_report(self.m.log)
        if rep:
            self.stats.problem("sanitizer report in the recfs log:\n" + rep)

    def report(self):
        ops = self.stats.ops
        by = collections.defaultdict(lambda: [0, 0, 0.0,
                                              collections.Counter()])
        errs = collections.Counter()
        for o in ops:
            b = by[o.kind]
            b[0 if o.ok else 1] += 1
            b[2] = max(b[2], o.latency)
            if not o.ok:
                errs[o.err] += 1
                b[3][o.err] += 1
        cl = self.status.get("client", {})
        out = {
            "seconds": self.a.seconds,
            "operations": sum(1 for o in ops if not o.kind.endswith("-file")),
            "by_kind": {k: {"ok": v[0], "failed": v[1],
                            "max_latency_s": round(v[2], 2),
                            "errors": dict(v[3])}
                        for k, v in sorted(by.items())},
            "errors_by_errno": dict(errs.most_common()),
            "faults_injected": sum(self.armed.values()),
            "faults_by_kind": dict(+self.armed),
            "tokens_expired": self.expired,
            "max_latency_s": round(max((o.latency for o in ops),
                                       default=0), 2),
            "recfs": {k: cl.get(k) for k in (
                "requests", "retries", "rate_limit_waits", "errors",
                "token_renewals", "stale_served", "media_bytes")},
            "edits": {"ok": sum(ok for h in self.edits.values()
                                for _, ok in h),
                      "failed": sum(not ok for h in self.edits.values()
                                    for _, ok in h)},
            "annotations": dict(collections.Counter(self.annots.values())),
            "problems": self.stats.nproblems,
            "problem_kinds": dict(self.stats.kinds.most_common()),
        }
        print(json.dumps(out, indent=2), flush=True)
        if self.a.json:
            with open(self.a.json, "w") as f:
                json.dump(out, f, indent=2)
        return out


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfs", default=os.environ.get("RECFS_BINARY"))
    ap.add_argument("--gcemu", default=os.environ.get(
        "GCEMU", os.path.join(top, "scripts/emulator/gcemu.py")))
    ap.add_argument("--seconds", type=int, default=45)
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--faults", default="",
                    help="comma list: inject only these fault kinds")
    ap.add_argument("--skip-faults", default="",
                    help="comma list of fault kinds not to inject")
    ap.add_argument("--budget", type=int, default=0,
                    help="seconds before the watchdog kills the mount "
                    "(default: --seconds + 240)")
    ap.add_argument("--json", help="write the figures here too")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    def body(env):
        sl.log(f"soak: seed {a.seed}, {a.seconds} s")
        s = Soak(a, env)
        s.setup()
        s.run()
        s.finish()
        s.report()
        return s

    s, rc = sl.run_driver("soak", a, body,
                          budget=a.budget or a.seconds + TREE_LIMIT + 60)
    if rc is not None:
        return rc
    return sl.verdict("soak", s.stats.problems, s.stats.nproblems, limit=40)


if __name__ == "__main__":
    sys.exit(main())
