#!/usr/bin/env python3
"""TLS (issue 8): the emulator with --tls-selfsigned (https on the API and
media ports; a self-signed CA certificate for 127.0.0.1):
  1. default settings: recfs refuses to mount (certificate verification
     on): non-zero exit, a message about the certificate, nothing mounted;
  2. -o cacert=<ca_file>: mounts, lists, reads media byte-exact (the media
     host is https too);
  3. -o insecure: mounts, and logs a loud warning.
Exit 0 ok, 1 failed, 2 error, 77 skip (no openssl).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soaklib as sl  # noqa: E402

CERT_MSG = re.compile(r"certificate|SSL|TLS|verif", re.I)
INSECURE_MSG = re.compile(r"(warning|WARNING).*(insecure|verification is "
                          r"DISABLED|not verif)", re.I)


def refuse_default(emu, a, env, problems):
    m = sl.Recfs(env, a.recfs, emu, name="recfs-default")
    p = subprocess.Popen(m.argv(), env=m.environ(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        problems.append("default settings: recfs neither mounted nor "
                        "exited within 40 s")
    text = out.decode(errors="replace")
    if sl.is_mounted(m.mnt):
        problems.append("default settings: mounted despite an untrusted "
                        "certificate")
        subprocess.run(["fusermount3", "-u", m.mnt], timeout=20)
    if p.returncode == 0:
        problems.append("default settings: exit status 0")
    if not CERT_MSG.search(text):
        problems.append("default settings: no clear certificate message: "
                        + text.strip()[-300:])
    return {"exit": p.returncode, "message": text.strip().splitlines()[-1:]}


def with_cacert(emu, a, env, problems):
    m = sl.Recfs(env, a.recfs, emu, name="recfs-cacert",
                 opts=f"format=WAV,cacert={emu.info['ca_file']}").start()
    c, r = emu.audio_recordings()[0]
    want = emu.media("recording", r, "WAV")["sha256"]
    n = len(os.listdir(m.path("conversations")))
    got = sl.read_file(m.path("conversations", c, r, "media.wav"))
    if got[0] != want:
        problems.append("cacert: media bytes differ")
    st = m.status()
    rc = m.unmount()
    if rc != 0:
        problems.append(f"cacert: unmount exit status {rc}" + sl.tail(m.log))
    return {"conversations": n, "media_bytes": got[1],
            "api_url": st.get("api_url")}


def with_insecure(emu, a, env, problems):
    m = sl.Recfs(env, a.recfs, emu, name="recfs-insecure",
                 opts="format=WAV,insecure").start()
    c, r = emu.audio_recordings()[1]
    want = emu.media("recording", r, "WAV")["sha256"]
    got = sl.read_file(m.path("conversations", c, r, "media.wav"))
    if got[0] != want:
        problems.append("insecure: media bytes differ")
    rc = m.unmount()
    if rc != 0:
        problems.append(f"insecure: unmount exit status {rc}" + sl.tail(m.log))
    with open(m.log, errors="replace") as f:
        warn = [ln.strip() for ln in f if INSECURE_MSG.search(ln)]
    if not warn:
        problems.append("insecure: no warning in the log" + sl.tail(m.log))
    return {"warning": warn[:1]}


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfs", default=os.environ.get("RECFS_BINARY"))
    ap.add_argument("--gcemu", default=os.environ.get(
        "GCEMU", os.path.join(top, "scripts/emulator/gcemu.py")))
    ap.add_argument("--budget", type=int, default=85)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    env = None
    problems = []
    fig = {}
    sl.on_term_exit()
    try:
        sl.check_fuse()
        if not shutil.which("openssl"):
            raise sl.Skip("no openssl to make the certificate")
        a.recfs = sl.recfs_binary(a.recfs)
        env = sl.Env(keep=a.keep, prefix="recfs-tls-")
        env.arm_watchdog(a.budget)
        emu = sl.Emulator(env, a.gcemu, ["--seed", "demo", "--transcode-ms",
                                         "0", "--tls-selfsigned"]).start()
        if not emu.api_url.startswith("https://") or \
                "ca_file" not in emu.info:
            raise sl.SoakError("the emulator did not start with TLS")
        fig["default"] = refuse_default(emu, a, env, problems)
        fig["cacert"] = with_cacert(emu, a, env, problems)
        fig["insecure"] = with_insecure(emu, a, env, problems)
    except sl.Skip as e:
        print(f"tls: SKIP: {e}")
        return 77
    except (sl.SoakError, OSError) as e:
        print(f"tls: ERROR: {e}")
        problems.append(str(e))
    finally:
        if env:
            env.close()
    print(json.dumps(fig, indent=2))
    if problems:
        print(f"tls: FAILED, {len(problems)} problem(s):")
        for p in problems:
            print("  - " + p)
        return 1
    print("tls: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
