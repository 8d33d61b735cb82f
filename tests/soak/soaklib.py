"""soaklib - processes, mounts and checks shared by the reliability drivers
(tests/soak/*.py): the emulator (restartable on the same ports), recfs
mounts run in the foreground (-f) so their pid is known, timed filesystem
operations with errno capture, and the emulator's control and API calls.

Everything started goes through an Env, which on close() unmounts every
mount (fusermount3 -u, then -uz), kills every process it started, by pid,
and removes its temp dir. Every wait has a timeout. Python 3 stdlib only.
"""

import base64
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request


class SoakError(Exception):
    """A check or a step failed (the message says which)."""


class Skip(Exception):
    """Cannot run here (no /dev/fuse, no emulator, no permission...)."""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------ http

def http(method, url, body=None, headers=None, timeout=30, ctx=None):
    """One request; returns (status, body bytes). Errors statuses are
    returned, not raised; transport errors raise OSError."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout,
                                    context=ctx) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(step)
    raise SoakError(f"{what}: not ready after {timeout} s")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


def is_mounted(path):
    """From /proc/self/mounts: never touches the (maybe hung) mount."""
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            t = f.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  | " + "\n  | ".join(t) if t else ""


# ----------------------------------------------------------------- errno

STRERROR = {os.strerror(n): name for n, name in errno.errorcode.items()}
CP_ERR = re.compile(r"^(?:cp|ls): (?:.*?'(?P<path>[^']*)'.*|(?P<bare>/.*))"
                    r": (?P<msg>[^:]+)$")


def errno_name(e):
    return errno.errorcode.get(e, str(e))


def errnos_from_stderr(text):
    """[(path, errno name)] from cp/ls error lines ("...: Input/output
    error"); unknown messages become ("?", line)."""
    out = []
    for line in text.splitlines():
        m = CP_ERR.match(line.strip())
        if m and m.group("msg") in STRERROR:
            out.append((m.group("path") or m.group("bare"),
                        STRERROR[m.group("msg")]))
        elif line.strip():
            out.append(("?", line.strip()[:200]))
    return out


def sanitizer_report(path):
    """The first sanitizer report lines in a log, or ''."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    m = re.search(r"(ERROR: \w+Sanitizer|runtime error:|"
                  r"WARNING: \w+Sanitizer)", text)
    return text[m.start():m.start() + 3000] if m else ""


# ------------------------------------------------------------------- env

class Env:
    """Owns a temp dir, the processes started in it and the mounts."""

    def __init__(self, keep=False, prefix="recfs-soak-"):
        base = os.environ.get("TMPDIR", "/tmp")
        self.top = tempfile.mkdtemp(prefix=prefix, dir=base)
        self.keep = keep
        self.procs = []
        self.mounts = []
        self._watchdog = None

    def arm_watchdog(self, seconds):
        """After seconds, SIGKILL every FUSE daemon still running, so a
        syscall blocked in a hung mount fails (ENOTCONN) instead of
        hanging the driver past its budget."""
        def fire():
            log(f"watchdog: budget of {seconds} s exceeded, killing mounts")
            for m in list(self.mounts):
                m.kill()
        self._watchdog = threading.Timer(seconds, fire)
        self._watchdog.daemon = True
        self._watchdog.start()

    def path(self, *parts):
        return os.path.join(self.top, *parts)

    def mkdir(self, name):
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        return d

    def spawn(self, argv, logname, env=None, stdout=None):
        logf = self.path(logname)
        with open(logf, "ab") as errf:
            p = subprocess.Popen(argv, stdout=stdout or errf, stderr=errf,
                                 env=env, start_new_session=True)
        self.procs.append(p)
        return p, logf

    def stop_proc(self, p, sig=signal.SIGTERM, grace=10):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        if p in self.procs:
            self.procs.remove(p)

    def close(self):
        if self._watchdog:
            self._watchdog.cancel()
        for m in list(reversed(self.mounts)):
            try:
                m.unmount()
            except Exception as e:  # cleanup must go on
                log(f"unmount {m.mnt}: {e}")
        for p in list(reversed(self.procs)):
            try:
                self.stop_proc(p)
            except Exception as e:
                log(f"stop pid {p.pid}: {e}")
        still = [m.mnt for m in self.mounts if is_mounted(m.mnt)]
        if self.keep or still:
            log(f"kept {self.top}")
            return
        shutil.rmtree(self.top, ignore_errors=True)


def on_term_exit():
    """SIGTERM/SIGHUP (e.g. from timeout(1)) raise SystemExit, so the
    drivers' finally blocks unmount and stop what they started."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def check_fuse():
    if not os.access("/dev/fuse", os.R_OK | os.W_OK) or \
            not shutil.which("fusermount3"):
        raise Skip("no /dev/fuse or fusermount3")


# -------------------------------------------------------------- emulator

class Emulator:
    """gcemu.py in a process of its own, with a data dir that outlives it:
    stop() and start() again serve the same state on the same ports."""

    def __init__(self, env, gcemu, args=(), name="emu"):
        if not gcemu or not os.path.exists(gcemu):
            raise Skip(f"emulator not found: {gcemu}")
        self.env, self.gcemu, self.args, self.name = env, gcemu, list(args), \
            name
        self.data = env.mkdir(name + "-data")
        self.proc = None
        self.info = None
        self.listen = "127.0.0.1:0"
        self.media_listen = None
        self._token = None
        self.ssl_ctx = None

    def start(self, timeout=60):
        out = self.env.path(self.name + ".json")
        argv = ["python3", self.gcemu, "--data", self.data,
                "--listen", self.listen] + self.args
        if self.media_listen:
            argv += ["--media-listen", self.media_listen]
        with open(out, "wb") as outf:
            self.proc, self.log = self.env.spawn(argv, self.name + ".log",
                                                 stdout=outf)

        def ready():
            if self.proc.poll() is not None:
                raise SoakError(f"emulator exited {self.proc.returncode}"
                                + tail(self.log))
            with open(out, "rb") as f:
                return f.read().endswith(b"\n")
        wait_for(ready, timeout, "emulator")
        with open(out) as f:
            self.info = json.loads(f.readline())
        self.api_url = self.info["api_url"].rstrip("/")
        self.login_url = self.info["login_url"].rstrip("/")
        self.control_url = self.info["control_url"].rstrip("/")
        if "ca_file" in self.info:
            import ssl
            self.ssl_ctx = ssl.create_default_context(
                cafile=self.info["ca_file"])
        # pin the ports so a restart serves the same URLs
        self.listen = self.api_url.split("//", 1)[1]
        self.media_listen = self.info["media_url"].rstrip("/") \
            .split("//", 1)[1]
        self._token = None
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            self.env.stop_proc(self.proc, sig)
            self.proc = None

    def restart(self, timeout=60, tries=20):
        """Start again on the same ports (retried while they are still
        in TIME_WAIT or held)."""
        last = None
        for _ in range(tries):
            try:
                return self.start(timeout)
            except SoakError as e:
                last = e
                self.proc = None
                time.sleep(0.5)
        raise SoakError(f"emulator restart on {self.listen}: {last}")

    # control endpoint
    def control(self, method, path, body=None, timeout=30):
        data = json.dumps(body) if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data else {}
        st, raw = http(method, self.control_url + path, data, hdrs,
                       timeout, self.ssl_ctx)
        if st >= 300:
            raise SoakError(f"control {method} {path}: HTTP {st} {raw[:200]}")
        return json.loads(raw) if raw.strip() else None

    def fault(self, obj):
        return self.control("POST", "/faults", obj)

    def faults(self):
        return self.control("GET", "/faults")

    def clear_faults(self):
        self.control("DELETE", "/faults")

    def expire_tokens(self):
        self.control("POST", "/expire-tokens")

    def state(self):
        return self.control("GET", "/state")

    def counters(self):
        return self.control("GET", "/counters")

    def media(self, kind, mid, fmt):
        q = f"/media?kind={kind}&id={mid}&format={fmt}"
        return self.control("GET", q)

    # the API as an ordinary client
    def token(self):
        if self._token is None:
            basic = base64.b64encode(
                f"{self.info['client_id']}:{self.info['client_secret']}"
                .encode()).decode()
            st, raw = http("POST", self.login_url + "/oauth/token",
                           "grant_type=client_credentials",
                           {"Authorization": "Basic " + basic,
                            "Content-Type":
                            "application/x-www-form-urlencoded"},
                           30, self.ssl_ctx)
            if st != 200:
                raise SoakError(f"token: HTTP {st}")
            self._token = json.loads(raw)["access_token"]
        return self._token

    def api(self, method, path, body=None):
        """(status, parsed JSON or None); renews the token on 401."""
        for _ in range(2):
            hdrs = {"Authorization": "Bearer " + self.token()}
            data = None
            if body is not None:
                data = json.dumps(body)
                hdrs["Content-Type"] = "application/json"
            st, raw = http(method, self.api_url + path, data, hdrs, 30,
                           self.ssl_ctx)
            if st != 401:
                break
            self._token = None
        try:
            doc = json.loads(raw) if raw.strip() else None
        except ValueError:
            doc = None
        return st, doc

    def api_ok(self, path):
        st, doc = self.api("GET", path)
        if st != 200:
            raise SoakError(f"GET {path}: HTTP {st}")
        return doc

    def audio_recordings(self):
        """[(conversationId, recordingId)] of audio recordings."""
        s = self.state()
        audio = set(s["recordings_by_media"]["audio"])
        return [(c, r) for c, rids in sorted(s["conversations"].items())
                for r in rids if r in audio]


# ----------------------------------------------------------------- recfs

def recfs_binary(arg=None):
    b = arg or os.environ.get("RECFS_BINARY")
    if not b or not os.access(b, os.X_OK):
        raise Skip("RECFS_BINARY not set or not executable")
    return os.path.abspath(b)


class Recfs:
    """One recfs -f process on its own mountpoint."""

    def __init__(self, env, binary, emu, name="recfs", cache_dir=None,
                 opts="", wrapper=(), api_url=None, login_url=None):
        self.env, self.binary, self.emu, self.name = env, binary, emu, name
        self.mnt = env.mkdir(name + "-mnt")
        self.cache_dir = cache_dir or env.mkdir(name + "-cache")
        self.opts, self.wrapper = opts, list(wrapper)
        self.api_url, self.login_url = api_url, login_url
        self.proc = None
        self.log = env.path(name + ".log")
        self.starts = 0

    def argv(self):
        o = (f"api_url={self.api_url or self.emu.api_url},"
             f"login_url={self.login_url or self.emu.login_url},"
             f"cache_dir={self.cache_dir}")
        if self.opts:
            o += "," + self.opts
        return self.wrapper + [self.binary, "-f", "-o", o, self.mnt]

    def environ(self):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("PURECLOUD_") or k.startswith("RECFS_") and \
                    k not in ("RECFS_SOURCE_DIR", "RECFS_BINARY"):
                del e[k]
        e["PURECLOUD_CLIENT_ID"] = self.emu.info["client_id"]
        e["PURECLOUD_SECRET"] = self.emu.info["client_secret"]
        e["XDG_CONFIG_HOME"] = self.env.mkdir("xdg-config")
        return e

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=30):
        """Start and wait until .recfs/status.json is readable."""
        with open(self.log, "ab") as f:
            f.write(f"---- start {self.starts}\n".encode())
        self.starts += 1
        self.proc, _ = self.env.spawn(self.argv(), os.path.basename(self.log),
                                      env=self.environ())
        if self not in self.env.mounts:
            self.env.mounts.append(self)
        status = os.path.join(self.mnt, ".recfs", "status.json")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SoakError(f"{self.name} exited "
                                f"{self.proc.returncode} at mount"
                                + tail(self.log))
            if is_mounted(self.mnt) and os.path.exists(status):
                return self
            time.sleep(0.05)
        self.kill()
        raise SoakError(f"{self.name}: not mounted after {timeout} s"
                        + tail(self.log))

    def status(self, timeout=10):
        """.recfs/status.json (read in a subprocess with a timeout)."""
        r = subprocess.run(["timeout", str(timeout), "cat",
                            os.path.join(self.mnt, ".recfs", "status.json")],
                           capture_output=True)
        if r.returncode != 0:
            raise SoakError(f"status.json: exit {r.returncode} "
                            f"{r.stderr.decode(errors='replace')[:200]}")
        return json.loads(r.stdout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def unmount(self, timeout=30):
        """fusermount3 -u; waits for the process. Returns its exit status
        (None when it had to be killed). Lazy unmount as a fallback."""
        rc = None
        if self.proc is None:
            self._fusermount()
            return None
        if is_mounted(self.mnt):
            self._fusermount()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.env.stop_proc(self.proc)
        self.proc = None
        return rc

    def _fusermount(self):
        if not is_mounted(self.mnt):
            return
        r = subprocess.run(["fusermount3", "-u", self.mnt], timeout=30,
                           capture_output=True)
        if r.returncode != 0:
            subprocess.run(["fusermount3", "-uz", self.mnt], timeout=30,
                           capture_output=True)

    def kill(self):
        """SIGKILL the daemon and clear the dead mount ("Transport endpoint
        is not connected")."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._fusermount()
        if self.proc is not None:
            self.env.stop_proc(self.proc)
            self.proc = None

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)


# ------------------------------------------------------------ operations

class Op:
    """Result of one timed operation."""
    __slots__ = ("kind", "ok", "err", "latency", "detail")

    def __init__(self, kind, ok, err, latency, detail=""):
        self.kind, self.ok, self.err, self.latency, self.detail = \
            kind, ok, err, latency, detail


def timed(kind, fn, *args):
    """Run fn(*args); Op with ok, errno name (OSError) and latency."""
    t0 = time.monotonic()
    try:
        detail = fn(*args)
        return Op(kind, True, None, time.monotonic() - t0, detail or "")
    except OSError as e:
        return Op(kind, False, errno_name(e.errno) if e.errno else
                  str(e)[:100], time.monotonic() - t0, str(e)[:200])


def read_file(path, chunk=1 << 20):
    with open(path, "rb") as f:
        h = hashlib.sha256()
        n = 0
        for blk in iter(lambda: f.read(chunk), b""):
            h.update(blk)
            n += len(blk)
    return h.hexdigest(), n


def write_file(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    """Write the whole of data; the commit's errno comes from close()."""
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data.encode() if isinstance(data, str) else data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError:
        os.close(fd)
        raise
    os.close(fd)


def run_cmd(argv, timeout):
    """(returncode or None on timeout, stderr text, seconds)."""
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout)
        return r.returncode, r.stderr.decode(errors="replace"), \
            time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="replace")
        return None, err, time.monotonic() - t0


def run_driver(name, a, body, prefix="recfs-soak-", budget=None):
    """The frame of a driver's main(): FUSE and recfs binary checks, an
    Env (temp dir named by prefix) with a watchdog of budget seconds (a
    budget by default), then body(env). Returns (body's result, None), or
    (None, exit code): 77 on Skip, 2 on SoakError; the Env is closed
    either way."""
    env = None
    on_term_exit()
    try:
        check_fuse()
        a.recfs = recfs_binary(a.recfs)
        env = Env(keep=a.keep, prefix=prefix)
        env.arm_watchdog(budget or a.budget)
        return body(env), None
    except Skip as e:
        print(f"{name}: SKIP: {e}")
        return None, 77
    except SoakError as e:
        print(f"{name}: ERROR: {e}")
        return None, 2
    finally:
        if env:
            env.close()


def verdict(name, problems, count=None, limit=30):
    """Print a driver's problems (at most limit, of count) and return its
    exit code: 1 with problems, else 0."""
    if problems:
        print(f"{name}: FAILED, {count or len(problems)} problem(s):")
        for p in problems[:limit]:
            print("  - " + p)
        return 1
    print(f"{name}: ok")
    return 0
