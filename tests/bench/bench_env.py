"""bench_env - processes and mounts of the recfs benchmark.

Everything the benchmark starts (emulator, nginx, recfs, rclone, httpdirfs)
goes through an Env, which owns one temp directory and, on close(), unmounts
every mount it made (fusermount3 -u, then -uz) and kills every process it
started, by pid. Every wait has a timeout. Python 3 standard library only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request


class BenchError(Exception):
    """A step of the benchmark failed (message says which)."""


class Skip(Exception):
    """The benchmark cannot run here (missing tool, recfs does not mount)."""


def http(method, url, body=None, headers=None, timeout=60):
    """One HTTP request; returns (status, body bytes); 4xx/5xx are
    returned, not raised."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_json(method, url, body=None, headers=None, timeout=60):
    status, raw = http(method, url, body, headers, timeout)
    if status >= 300:
        raise BenchError(f"{method} {url.split('?')[0]}: HTTP {status}")
    return json.loads(raw) if raw else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what, proc=None, log=None):
    """Poll pred() every 20 ms until true; BenchError after timeout or if
    proc exits first (with the tail of log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: exited with {proc.returncode}"
                             + log_tail(log))
        time.sleep(0.02)
    raise BenchError(f"{what}: not ready after {timeout} s" + log_tail(log))


def log_tail(path, lines=8):
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        tail = f.read().decode(errors="replace").splitlines()[-lines:]
    return "\n  | " + "\n  | ".join(tail) if tail else ""


def is_mounted(path):
    """Whether path is a mount point, from /proc/self/mounts (never
    touches the mount itself, so a hung FUSE daemon cannot block us)."""
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def proc_cpu_seconds(pid):
    """utime + stime of a live process, in seconds (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_hwm_kib(pid):
    """Peak resident set size (VmHWM) of a live process, in KiB, or 0."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def large_folio_share(path, limit=64 << 20):
    """The share (0..1) of the first `limit` bytes of path that the page
    cache holds in large folios, once they are read: a file system with
    large folios (ext4 and XFS on recent kernels) keeps a file in folios of
    up to 2 MiB, one without (tmpfs by default, FUSE on kernels that have
    not enabled them) in 4 KiB pages, and a read from the page cache costs
    per folio.
    From /proc/self/pagemap and /proc/kpageflags (root only); None when
    those are not readable."""
    import ctypes
    import mmap
    page = os.sysconf("SC_PAGE_SIZE")
    try:
        pm = os.open("/proc/self/pagemap", os.O_RDONLY)
    except OSError:
        return None
    try:
        kf = os.open("/proc/kpageflags", os.O_RDONLY)
    except OSError:
        os.close(pm)
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        n = min(os.fstat(fd).st_size, limit) // page
        if n == 0:
            return None
        # a private mapping is writable (so ctypes can take its address);
        # reading it maps the page-cache pages themselves, no copy
        m = mmap.mmap(fd, n * page, flags=mmap.MAP_PRIVATE,
                      prot=mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            for i in range(n):
                m[i * page]  # fault every page in
            base = ctypes.addressof(ctypes.c_char.from_buffer(m)) // page
            large = present = 0
            for i in range(n):
                e = int.from_bytes(os.pread(pm, 8, (base + i) * 8), "little")
                if not e >> 63:  # not present
                    continue
                pfn = e & ((1 << 55) - 1)
                f = int.from_bytes(os.pread(kf, 8, pfn * 8), "little")
                present += 1
                if f & (3 << 15):  # KPF_COMPOUND_HEAD or _TAIL
                    large += 1
            return large / present if present else None
        finally:
            m.close()  # (the c_char view was a temporary: no export left)
    except (OSError, ValueError, BufferError):
        return None
    finally:
        os.close(fd)
        os.close(pm)
        os.close(kf)


def tmpfs_copy(env, path, shm="/dev/shm"):
    """A copy of path on tmpfs (removed by env.close()), or None when
    there is no tmpfs at shm or no room on it."""
    try:
        if os.statvfs(shm).f_bavail * os.statvfs(shm).f_frsize < \
                2 * os.path.getsize(path):
            return None
        d = tempfile.mkdtemp(prefix="recfs-bench-", dir=shm)
        env.extra_dirs.append(d)
        dest = os.path.join(d, os.path.basename(path))
        shutil.copyfile(path, dest)
        return dest
    except OSError:
        return None


def drop_file_cache(path):
    """Evict one file (or every file under a directory) from the page
    cache: fsync, then POSIX_FADV_DONTNEED."""
    paths = [path]
    if os.path.isdir(path):
        paths = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                os.fsync(fd)
            except OSError:
                pass
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def run_timed(argv, timeout, env=None, stdout=subprocess.DEVNULL):
    """Run argv to completion; returns (wall seconds, child CPU seconds).
    BenchError on a non-zero exit or timeout (the child is killed)."""
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=stdout, stderr=errf, env=env)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read().decode(errors="replace").strip()
    if p.returncode != 0:
        raise BenchError(f"{argv[0]} exited with {p.returncode}"
                         f" (timeout {timeout} s): {err[-300:]}")
    return wall, ru.ru_utime + ru.ru_stime


class Mount:
    """A FUSE mount served by a foreground process the Env started."""

    def __init__(self, env, name, mnt, proc, log):
        self.env, self.name, self.mnt, self.proc, self.log = \
            env, name, mnt, proc, log
        self.peak_rss_kib = 0

    @property
    def pid(self):
        return self.proc.pid

    def path(self, rel):
        return os.path.join(self.mnt, rel)

    def sample_rss(self):
        self.peak_rss_kib = max(self.peak_rss_kib, proc_hwm_kib(self.pid))
        return self.peak_rss_kib

    def close(self):
        self.env.unmount(self)


class Env:
    """Owns a temp dir, the processes started in it and the mounts."""

    def __init__(self, keep=False, verbose=False):
        self.top = tempfile.mkdtemp(prefix="recfs-bench-")
        self.keep, self.verbose = keep, verbose
        self.procs = []   # (name, Popen)
        self.mounts = []  # Mount
        self.extra_dirs = []  # removed by close() (a tmpfs copy)
        self._seq = 0

    def arm_watchdog(self, seconds):
        """After seconds, SIGKILL every FUSE daemon still mounted: a
        syscall blocked in a hung mount then fails (ENOTCONN) instead of
        hanging the benchmark past its budget."""
        def fire():
            for m in list(self.mounts):
                if m.proc.poll() is None:
                    print(f"bench: watchdog: killing {m.name} pid {m.pid}",
                          flush=True)
                    m.proc.kill()
        self._watchdog = threading.Timer(seconds, fire)
        self._watchdog.daemon = True
        self._watchdog.start()

    def tmpdir(self, name):
        self._seq += 1
        d = os.path.join(self.top, f"{name}-{self._seq}")
        os.makedirs(d)
        return d

    def spawn(self, name, argv, env=None, stdout=None):
        log = os.path.join(self.top, f"{name}-{self._seq}.log")
        self._seq += 1
        with open(log, "ab") as errf:
            p = subprocess.Popen(argv, stdout=stdout or errf, stderr=errf,
                                 env=env, start_new_session=True)
        self.procs.append((name, p))
        if self.verbose:
            print(f"bench: started {name} pid {p.pid}", flush=True)
        return p, log

    def stop_proc(self, p, grace=5):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.procs = [(n, q) for n, q in self.procs if q is not p]

    def mount(self, name, argv_for_mnt, env=None, timeout=30):
        """Start a foreground FUSE process (argv_for_mnt(mnt) -> argv) on a
        fresh mountpoint and wait until it is mounted."""
        mnt = self.tmpdir(f"mnt-{name}")
        p, log = self.spawn(name, argv_for_mnt(mnt), env=env)
        m = Mount(self, name, mnt, p, log)
        self.mounts.append(m)
        try:
            wait_for(lambda: is_mounted(mnt), timeout,
                     f"mount {name}", proc=p, log=log)
        except BenchError:
            self.unmount(m)
            raise
        return m

    def unmount(self, m):
        if m.proc.poll() is None:
            m.sample_rss()
        if is_mounted(m.mnt):
            r = subprocess.run(["fusermount3", "-u", m.mnt], timeout=20,
                               stderr=subprocess.DEVNULL)
            if r.returncode != 0:
                subprocess.run(["fusermount3", "-uz", m.mnt], timeout=20,
                               stderr=subprocess.DEVNULL)
        try:
            m.proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        self.stop_proc(m.proc)
        if m in self.mounts:
            self.mounts.remove(m)

    def close(self):
        """Unmount everything, stop every process, remove the temp dir
        (unless keep, or something is still mounted under it)."""
        if getattr(self, "_watchdog", None):
            self._watchdog.cancel()
        for m in list(reversed(self.mounts)):
            try:
                self.unmount(m)
            except Exception as e:  # keep going: cleanup must finish
                print(f"bench: unmount {m.mnt}: {e}", flush=True)
        for _, p in list(reversed(self.procs)):
            try:
                self.stop_proc(p)
            except Exception as e:
                print(f"bench: stop pid {p.pid}: {e}", flush=True)
        for d in self.extra_dirs:  # not kept: tmpfs is memory
            shutil.rmtree(d, ignore_errors=True)
        still = [m.mnt for m in self.mounts if is_mounted(m.mnt)]
        if self.keep or still:
            print(f"bench: kept {self.top}", flush=True)
            return
        shutil.rmtree(self.top, ignore_errors=True)


# ---------------------------------------------------------------- emulator

class Emulator:
    """The running gcemu.py and the URLs it printed."""

    def __init__(self, proc, info, log):
        self.proc, self.log = proc, log
        self.info = info
        self.api_url = info["api_url"].rstrip("/")
        self.login_url = info["login_url"].rstrip("/")
        self.control_url = info["control_url"].rstrip("/")
        self.client_id = info["client_id"]
        self.client_secret = info["client_secret"]
        self._token = None

    def control(self, method, path, body=None):
        hdrs = {"Content-Type": "application/json"} if body else None
        return http_json(method, self.control_url + path, body, hdrs)

    def reset(self):
        self.control("POST", "/reset")

    def counters(self):
        return self.control("GET", "/counters")

    def token(self):
        if self._token is None:
            import base64
            basic = base64.b64encode(
                f"{self.client_id}:{self.client_secret}".encode()).decode()
            doc = http_json("POST", self.login_url + "/oauth/token",
                            "grant_type=client_credentials",
                            {"Authorization": "Basic " + basic,
                             "Content-Type":
                             "application/x-www-form-urlencoded"})
            self._token = doc["access_token"]
        return self._token

    def api(self, path):
        """GET an API path with a bearer token; returns the JSON document."""
        return http_json("GET", self.api_url + path, None,
                         {"Authorization": "Bearer " + self.token()})


def start_emulator(env, gcemu, args, timeout):
    """Start gcemu.py on 127.0.0.1:0 and wait for its JSON line."""
    data = env.tmpdir("emu-data")
    out = os.path.join(env.top, "emulator.json")
    outf = open(out, "wb")
    try:
        p, log = env.spawn("emulator",
                           ["python3", gcemu, "--data", data,
                            "--listen", "127.0.0.1:0"] + args, stdout=outf)
    finally:
        outf.close()

    def ready():
        with open(out, "rb") as f:
            return f.read().endswith(b"\n")
    wait_for(ready, timeout, "emulator", proc=p, log=log)
    with open(out) as f:
        info = json.loads(f.readline())
    return Emulator(p, info, log)


# ------------------------------------------------------------------- nginx

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
{user}
pid {top}/nginx.pid;
error_log {top}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  types {{ audio/wav wav; }}
  client_body_temp_path {top}/client_body;
  proxy_temp_path {top}/proxy;
  fastcgi_temp_path {top}/fastcgi;
  uwsgi_temp_path {top}/uwsgi;
  scgi_temp_path {top}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    autoindex on;
    autoindex_exact_size on;
  }}
}}
"""


def start_nginx(env, root, timeout=15):
    """Serve directory root (autoindex) on a free loopback port as a
    foreground nginx with its own config. Returns the base URL."""
    top = env.tmpdir("nginx")
    user = "user root root;" if os.geteuid() == 0 else ""
    for _ in range(3):
        port = free_port()
        conf = os.path.join(top, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(user=user, top=top, port=port,
                                      root=root))
        p, log = env.spawn("nginx", ["nginx", "-p", top, "-e",
                                     os.path.join(top, "nginx-error.log"),
                                     "-c", conf])
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_for(lambda: _http_ok(url), timeout, "nginx", proc=p,
                     log=os.path.join(top, "nginx-error.log"))
            return url
        except BenchError:
            env.stop_proc(p)
    raise BenchError("nginx: could not start (see its error log)")


def _http_ok(url):
    try:
        return http("GET", url, timeout=2)[0] == 200
    except OSError:
        return False
