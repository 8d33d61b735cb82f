#!/usr/bin/env python3
"""valgrind memcheck over one full mount session (issue 8): a
non-sanitized recfs (--recfs, or $RECFS_VALGRIND_BINARY) runs under
  valgrind --leak-check=full --error-exitcode=1
           --errors-for-leak-kinds=definite
while ls -lR, cat of media, an edit (user recording name), an annotation
create and unmount run; then the exit status must be 0 and valgrind's log
must show no error and no definite leak.
Exit 0 ok, 1 failed, 2 error, 77 skip.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soaklib as sl  # noqa: E402


def session(m, emu, problems):
    r = subprocess.run(["ls", "-lR", m.mnt], capture_output=True, timeout=300)
    if r.returncode != 0:
        problems.append("ls -lR: " + r.stderr.decode(errors="replace")[:300])
    c, rid = emu.audio_recordings()[0]
    want = emu.media("recording", rid, "WAV")["sha256"]
    got = sl.read_file(m.path("conversations", c, rid, "media.wav"))
    if got[0] != want:
        problems.append("media bytes differ")
    uid = emu.state()["userrecordings"][0]
    p = m.path("userrecordings", uid, "metadata.json")
    d = json.load(open(p))
    d["name"] = "edited under valgrind"
    sl.write_file(p, json.dumps(d, indent=2) + "\n")
    st, doc = emu.api("GET", f"/api/v2/userrecordings/{uid}")
    if st != 200 or doc.get("name") != "edited under valgrind":
        problems.append("the edit did not reach the server")
    ann = m.path("conversations", c, rid, "annotations", "new.json")
    sl.write_file(ann, json.dumps({"name": "vg", "description": "d",
                                   "location": 1, "durationMs": 1}),
                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    return got[1]


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfs", default=os.environ.get("RECFS_VALGRIND_BINARY"))
    ap.add_argument("--gcemu", default=os.environ.get(
        "GCEMU", os.path.join(top, "scripts/emulator/gcemu.py")))
    ap.add_argument("--budget", type=int, default=600)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    env = None
    problems = []
    fig = {}
    t0 = time.monotonic()
    sl.on_term_exit()
    try:
        sl.check_fuse()
        if not a.recfs:
            raise sl.Skip("RECFS_VALGRIND_BINARY not set (a recfs built "
                          "with -DENABLE_SANITIZERS=OFF)")
        if not shutil.which("valgrind"):
            raise sl.Skip("valgrind not installed")
        a.recfs = sl.recfs_binary(a.recfs)
        env = sl.Env(keep=a.keep, prefix="recfs-valgrind-")
        env.arm_watchdog(a.budget)
        emu = sl.Emulator(env, a.gcemu, ["--seed", "demo", "--transcode-ms",
                                         "0"]).start()
        vglog = env.path("valgrind.log")
        m = sl.Recfs(env, a.recfs, emu, opts="format=WAV", wrapper=[
            "valgrind", "--leak-check=full", "--error-exitcode=1",
            "--errors-for-leak-kinds=definite", "--track-fds=no",
            f"--log-file={vglog}"]).start(timeout=180)
        fig["media_bytes"] = session(m, emu, problems)
        rc = m.unmount(timeout=240)
        fig["exit"] = rc
        with open(vglog, errors="replace") as f:
            text = f.read()
        summ = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        leak = re.search(r"definitely lost: ([\d,]+) bytes", text)
        fig["errors"] = int(summ.group(1)) if summ else None
        fig["definitely_lost"] = leak.group(1) if leak else "0"
        fig["in_use_at_exit"] = (re.search(r"in use at exit: (.*)", text)
                                 or [None, "?"])[1]
        if rc != 0 or not summ or fig["errors"] or fig["definitely_lost"] \
                not in ("0", None):
            problems.append(f"valgrind: exit {rc}, see below")
            print(text[-6000:])
    except sl.Skip as e:
        print(f"valgrind: SKIP: {e}")
        return 77
    except (sl.SoakError, OSError) as e:
        problems.append(f"error: {e}")
    finally:
        if env:
            env.close()
    fig["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(fig, indent=2))
    if problems:
        print(f"valgrind: FAILED, {len(problems)} problem(s):")
        for p in problems:
            print("  - " + p)
        return 1
    print("valgrind: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
