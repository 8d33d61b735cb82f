#!/usr/bin/env python3
"""Disk full in the cache directory (issue 8): cache_dir is a small tmpfs
(mount -t tmpfs -o size=4m; needs root, else exit 77), and recfs reads
media larger than it (bench seed, --large-media-mib) plus a few small
ones, twice; then again on a fresh tmpfs that another file has filled to
less than one block. Checks: every read byte-exact (sha256), no error,
bounded re-downloads, a clear warning in recfs' log when the disk is
full (on the small disk the cache may cope by evicting: no warning
needed), the daemon alive, clean unmount.
Exit 0 ok, 1 failed, 2 error, 77 skip.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soaklib as sl  # noqa: E402

WARNING = re.compile(r"(warning|error).*(No space left|ENOSPC|disk full|"
                     r"cache.*full|full.*cache)", re.I)


def mount_tmpfs(d, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700",
                        "tmpfs", d], capture_output=True, timeout=20)
    if r.returncode != 0:
        raise sl.Skip("cannot mount a tmpfs: " +
                      r.stderr.decode(errors="replace").strip())


def umount(d):
    if sl.is_mounted(d):
        subprocess.run(["umount", d], capture_output=True, timeout=20)
        if sl.is_mounted(d):
            subprocess.run(["umount", "-l", d], capture_output=True,
                           timeout=20)


def size_bytes(size):
    """"4m" -> bytes (tmpfs size syntax: k, m, g suffixes)."""
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    return int(size[:-1]) * mult[size[-1].lower()] if size[-1].isalpha() \
        else int(size)


def phase(a, env, emu, files, sha, need, filler, problems):
    """Mount a fresh tmpfs as cache_dir (filler bytes of it taken by
    another file first), read every file twice, check. Returns figures."""
    tag = "full disk" if filler else "small disk"
    cache = env.mkdir("tmpfs-cache-" + ("full" if filler else "small"))
    mount_tmpfs(cache, a.size)
    try:
        if filler:
            with open(os.path.join(cache, "filler"), "wb") as f:
                f.write(b"\0" * filler)
        m = sl.Recfs(env, a.recfs, emu, cache_dir=cache, opts="format=WAV",
                     name="recfs-" + ("full" if filler else "small"))
        m.start()
        worst = 0.0
        for rnd in range(2):
            for cid, rid in files:
                p = m.path("conversations", cid, rid, "media.wav")
                op = sl.timed("read", sl.read_file, p)
                worst = max(worst, op.latency)
                if not op.ok:
                    problems.append(f"{tag}, round {rnd}: read {rid}: "
                                    f"{op.err} {op.detail}")
                elif op.detail[0] != sha[rid]:
                    problems.append(f"{tag}, round {rnd}: {rid}: wrong "
                                    f"bytes ({op.detail[1]} bytes)")
        st = m.status()
        df = os.statvfs(cache)
        alive = m.alive()
        rc = m.unmount()
    finally:
        umount(cache)
    if not alive:
        problems.append(f"{tag}: recfs died" + sl.tail(m.log))
    if rc != 0:
        problems.append(f"{tag}: unmount: exit status {rc}" + sl.tail(m.log))
    with open(m.log, errors="replace") as f:
        lines = [ln.strip() for ln in f if WARNING.search(ln)]
    if filler and not lines:
        problems.append("no warning about the full cache disk in the log"
                        + sl.tail(m.log))
    got = st.get("client", {}).get("media_bytes", 0)
    if got > a.max_amplification * need:
        problems.append(f"{tag}: downloaded {got} media bytes to read {need}"
                        f" ({got / need:.1f}x; limit "
                        f"{a.max_amplification}x)")
    rep = sl.sanitizer_report(m.log)
    if rep:
        problems.append(f"{tag}: sanitizer report in the recfs log:\n" + rep)
    return {"filler_bytes": filler, "max_read_s": round(worst, 2),
            "media_bytes_downloaded": got, "cache": st.get("cache"),
            "free_bytes_at_end": df.f_bavail * df.f_frsize,
            "warning": lines[:1], "warnings": len(lines)}


def run(a, env, problems):
    """Two fresh mounts: on the small disk the cache lives by eviction (a
    warning only if a block could not be stored); on the full disk
    (another file leaves less room than one block) no block can be
    stored, which must be said in the log, and reads still succeed."""
    emu = sl.Emulator(env, a.gcemu, [
        "--seed", "bench", "--conversations", "4", "--user-recordings", "2",
        "--orphans", "0", "--large-media-mib", str(a.mib),
        "--transcode-ms", "0"]).start()
    lr = emu.state()["large_recording"]
    files = [(lr["conversationId"], lr["recordingId"])]
    files += [cr for cr in emu.audio_recordings()
              if cr[1] != lr["recordingId"]][:3]
    info = {r: emu.media("recording", r, "WAV") for _, r in files}
    sha = {r: i["sha256"] for r, i in info.items()}
    need = 2 * sum(i["size"] for i in info.values())
    small = phase(a, env, emu, files, sha, need, 0, problems)
    # what remains is less than a 2 MiB block plus the free-space floor
    full = phase(a, env, emu, files, sha, need,
                 size_bytes(a.size) - (3 << 19), problems)
    return {"tmpfs": a.size, "large_mib": a.mib,
            "reads": 2 * len(files), "bytes_read": need,
            "small_disk": small, "full_disk": full}


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfs", default=os.environ.get("RECFS_BINARY"))
    ap.add_argument("--gcemu", default=os.environ.get(
        "GCEMU", os.path.join(top, "scripts/emulator/gcemu.py")))
    ap.add_argument("--size", default="4m", help="tmpfs size")
    ap.add_argument("--mib", type=int, default=12, help="large media MiB")
    ap.add_argument("--max-amplification", type=float, default=4.0,
                    help="downloaded / read bytes allowed")
    ap.add_argument("--budget", type=int, default=85)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    env = None
    problems = []
    t0 = time.monotonic()
    sl.on_term_exit()
    try:
        sl.check_fuse()
        if os.geteuid() != 0:
            raise sl.Skip("needs root to mount a tmpfs")
        a.recfs = sl.recfs_binary(a.recfs)
        env = sl.Env(keep=a.keep, prefix="recfs-diskfull-")
        env.arm_watchdog(a.budget)
        fig = run(a, env, problems)
    except sl.Skip as e:
        print(f"diskfull: SKIP: {e}")
        return 77
    except sl.SoakError as e:
        print(f"diskfull: ERROR: {e}")
        return 2
    finally:
        if env:
            env.close()
    fig["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(fig, indent=2))
    if problems:
        print(f"diskfull: FAILED, {len(problems)} problem(s):")
        for p in problems[:20]:
            print("  - " + p)
        return 1
    print("diskfull: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
