#!/usr/bin/env python3
"""gcemu - a stateful local emulator of the Genesys Cloud recordings API.

Python 3 standard library only (ffmpeg is called at seed time to encode audio).
See README.md next to this file for the contract, flags and behaviour.
"""

import argparse
import array
import base64
import collections
import concurrent.futures
import copy
import datetime
import email.utils
import hashlib
import hmac
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcemu_hostile as hostile  # noqa: E402  (next to this file)

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_FILE = os.path.join(HERE, "spec", "recording-openapi.json")
SPEC_CURRENT_FILE = os.path.join(HERE, "spec", "recording-openapi-current.json")

NS = uuid.UUID("5d0c1f9e-4f64-4d51-9a53-7b1e9f0a0c11")
RATE = 8000  # sample rate of the synthesized audio

FORMATS = ["WAV", "WEBM", "WAV_ULAW", "OGG_VORBIS", "OGG_OPUS", "MP3", "NONE"]
# format -> (file suffix in the clip pool, content type)
FORMAT_INFO = {
    "WAV": (".wav", "audio/wav"),
    "WEBM": (".webm", "audio/webm"),
    "WAV_ULAW": (".ulaw.wav", "audio/wav"),
    "OGG_VORBIS": (".ogg", "audio/ogg"),
    "OGG_OPUS": (".opus", "audio/opus"),
    "MP3": (".mp3", "audio/mpeg"),
    "NONE": (".opus", "audio/opus"),  # the "original" is the OGG_OPUS file
}
ENCODED = ["WEBM", "WAV_ULAW", "OGG_VORBIS", "OGG_OPUS", "MP3"]
FFMPEG_ARGS = {
    "WAV_ULAW": ["-c:a", "pcm_mulaw"],
    "WEBM": ["-c:a", "libopus", "-b:a", "24k", "-f", "webm"],
    "OGG_VORBIS": ["-c:a", "libvorbis", "-q:a", "3", "-f", "ogg"],
    "OGG_OPUS": ["-c:a", "libopus", "-b:a", "24k", "-f", "ogg"],
    "MP3": ["-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3"],
}

VERBOSE = False


def log(*a):
    if VERBOSE:
        print("gcemu:", *a, file=sys.stderr, flush=True)


def warn(*a):
    print("gcemu:", *a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# time helpers


def iso(t):
    """epoch seconds -> 2026-11-21T10:00:00.000Z"""
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$")


def parse_iso(s):
    """ISO-8601 -> epoch seconds, or None when not a valid date-time."""
    if not isinstance(s, str):
        return None
    m = _ISO_RE.match(s.strip())
    if not m:
        return None
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    try:
        dt = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0),
                               tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    t = dt.timestamp()
    if frac:
        t += float("0." + frac)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        tz = tz[1:].replace(":", "")
        t -= sign * (int(tz[:2]) * 3600 + int(tz[2:]) * 60)
    return t


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


# ----------------------------------------------------------------------------
# audio synthesis

VOWELS = [(730, 1090), (270, 2290), (530, 1840), (660, 1720), (300, 870),
          (640, 1190), (490, 1350), (400, 2000), (570, 840)]


def synth_speech(seconds, seed):
    """Speech-like PCM s16 mono at 8 kHz: voiced syllables with formant-shaped
    harmonics, consonant noise bursts, word and phrase pauses, comfort noise."""
    rnd = random.Random(seed)
    n = max(1, int(seconds * RATE))
    out = array.array("h", bytes(2 * n))
    noise = [rnd.random() - 0.5 for _ in range(4099)]
    speakers = [rnd.uniform(95, 130), rnd.uniform(180, 230)]
    i = 0
    ni = 0
    phrase = 0
    i += int(rnd.uniform(0.1, 0.4) * RATE)
    while i < n:
        f0base = speakers[phrase % 2]
        phrase += 1
        loud = rnd.uniform(5000, 9000)
        for _w in range(rnd.randint(3, 9)):
            for _s in range(rnd.randint(1, 3)):
                if i >= n:
                    break
                if rnd.random() < 0.5:  # consonant burst
                    cl = int(rnd.uniform(0.015, 0.045) * RATE)
                    for j in range(cl):
                        if i >= n:
                            break
                        out[i] = int(noise[ni] * loud * 0.6)
                        ni = (ni + 1) % 4099
                        i += 1
                dur = int(rnd.uniform(0.09, 0.26) * RATE)
                f1, f2 = rnd.choice(VOWELS)
                f0 = f0base * rnd.uniform(0.88, 1.15)
                L = max(8, int(round(RATE / f0)))
                f0 = RATE / L
                table = [0.0] * L
                k = 1
                while k * f0 < 3400:
                    f = k * f0
                    amp = (math.exp(-((f - f1) / 160.0) ** 2)
                           + 0.6 * math.exp(-((f - f2) / 220.0) ** 2) + 0.08 / k)
                    ph = rnd.random() * 6.283
                    w = 6.283185307 * k / L
                    for j in range(L):
                        table[j] += amp * math.sin(w * j + ph)
                    k += 1
                peak = max(abs(x) for x in table) or 1.0
                scale = loud / peak
                table = [x * scale for x in table]
                for j in range(dur):
                    if i >= n:
                        break
                    x = j / dur
                    env = 4.0 * x * (1.0 - x)
                    out[i] = int(table[j % L] * env + noise[ni] * 120)
                    ni = (ni + 1) % 4099
                    i += 1
                i += int(rnd.uniform(0.01, 0.05) * RATE)
            i += int(rnd.uniform(0.06, 0.2) * RATE)
        i += int(rnd.uniform(0.3, 0.9) * RATE)
    # comfort noise in the gaps
    for j in range(0, n, 3):
        if out[j] == 0:
            out[j] = int(noise[j % 4099] * 60)
    return out


def wav_header(data_len, rate=RATE):
    return (b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", data_len))


def write_file_atomic(path, data):
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def file_entry(data_dir, rel, duration_ms):
    p = os.path.join(data_dir, rel)
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return {"path": rel, "sha256": h.hexdigest(), "size": os.path.getsize(p),
            "duration_ms": duration_ms}


def encode_clip(data_dir, rel_base, pcm, formats=None):
    """Write <rel_base>.wav from pcm and encode the other formats with one
    ffmpeg run. Returns {format: file entry}."""
    formats = formats or FORMATS
    wav_rel = rel_base + ".wav"
    wav_path = os.path.join(data_dir, wav_rel)
    data = pcm.tobytes()
    write_file_atomic(wav_path, wav_header(len(data)) + data)
    duration_ms = int(len(pcm) * 1000 / RATE)
    entries = {}
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", wav_path]
    todo = []
    for fmt in ENCODED:
        if fmt in formats or (fmt == "OGG_OPUS" and "NONE" in formats):
            rel = rel_base + FORMAT_INFO[fmt][0]
            cmd += ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
            cmd += FFMPEG_ARGS[fmt] + [os.path.join(data_dir, rel)]
            todo.append((fmt, rel))
    if todo:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("ffmpeg failed: " + r.stderr.decode(errors="replace"))
    entries["WAV"] = file_entry(data_dir, wav_rel, duration_ms)
    for fmt, rel in todo:
        entries[fmt] = file_entry(data_dir, rel, duration_ms)
    if "OGG_OPUS" in entries:
        entries["NONE"] = dict(entries["OGG_OPUS"])
    return {f: e for f, e in entries.items() if f in formats}


# ----------------------------------------------------------------------------
# spec and validation


class Spec:
    def __init__(self):
        with open(SPEC_FILE) as f:
            self.s17 = json.load(f)
        try:
            with open(SPEC_CURRENT_FILE) as f:
                self.cur = json.load(f)
        except OSError:
            self.cur = {"definitions": {}}
        self.defs = self.s17["definitions"]
        self.cdefs = self.cur.get("definitions", {})
        self.ops = {}  # (method, template) -> op
        routes = []
        for path, ops in self.s17["paths"].items():
            for m, op in ops.items():
                if m == "parameters":
                    continue
                self.ops[(m.upper(), path)] = op
            rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
            routes.append((path.count("{"), path, re.compile(rx)))
        routes.sort(key=lambda r: (r[0], -len(r[1])))
        self.routes = [(p, rx) for _, p, rx in routes]

    def match(self, path):
        for tmpl, rx in self.routes:
            m = rx.match(path)
            if m:
                return tmpl, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
        return None, None

    def body_def(self, method, tmpl):
        op = self.ops.get((method, tmpl))
        if not op:
            return None, False
        for p in op.get("parameters", []):
            if p.get("in") == "body":
                ref = p.get("schema", {}).get("$ref", "")
                return ref.split("/")[-1] or None, bool(p.get("required"))
        return None, False

    def query_params(self, method, tmpl):
        op = self.ops.get((method, tmpl)) or {}
        return [p for p in op.get("parameters", []) if p.get("in") == "query"]

    # -- body validation -----------------------------------------------------
    # Annotation lists agentScoreModifier/customerScoreModifier as required and
    # User requires version: artefacts of the 2017 spec, not enforced.
    NO_REQUIRED = {"Annotation", "User", "Endpoint"}

    def validate(self, value, defname, base=None):
        """Errors of a request body as (fieldName, errorCode, message).

        base is the document the server currently returns for the target of
        a PUT/PATCH (None for POST). A nested object or array item equal to
        the server's own value at the same place is not validated again: a
        real server accepts a document it just returned, even where the 2017
        schema marks fields required deep inside (Queue.acwSettings...).
        Changed nested objects and the top level are fully validated."""
        errs = []
        self._obj(value, defname, "", errs, base)
        return errs

    def _props(self, name):
        props = {}
        d2 = self.cdefs.get(name, {})
        for k, v in d2.get("properties", {}).items():
            props[k] = (v, "cur")
        d1 = self.defs.get(name, {})
        for k, v in d1.get("properties", {}).items():
            props[k] = (v, "s17")
        return props, d1 or d2

    def _obj(self, value, name, path, errs, base=None):
        if path and base is not None and value == base:
            return  # unchanged: the server produced it
        if not isinstance(value, dict):
            errs.append((path or name, "invalid.value",
                         "Value for [%s] must be an object of type [%s]" % (path or "body", name)))
            return
        props, d = self._props(name)
        if not props and not d:
            return
        for k, v in value.items():
            fp = path + "." + k if path else k
            if k not in props:
                errs.append((fp, "invalid.property",
                             "Value [%s] is not a valid property for object [%s]" % (k, name)))
                continue
            if v is None:
                continue
            schema, src = props[k]
            self._val(v, schema, fp, errs, src, base.get(k) if isinstance(base, dict) else None)
        if name not in self.NO_REQUIRED:
            for r in d.get("required", []):
                if value.get(r) is None:
                    fp = path + "." + r if path else r
                    errs.append((fp, "invalid.value", "Missing required field [%s]" % fp))

    def _val(self, v, schema, path, errs, src="s17", base=None):
        if base is not None and v == base:
            return  # unchanged: the server produced it
        if "$ref" in schema:
            self._obj(v, schema["$ref"].split("/")[-1], path, errs, base)
            return
        t = schema.get("type")
        bad = False
        if t == "string":
            if not isinstance(v, str):
                bad = True
            elif "enum" in schema and v not in schema["enum"]:
                errs.append((path, "invalid.value", "Value [%s] is not valid for field [%s]. Allowable values are: %s"
                             % (v, path, ", ".join(schema["enum"]))))
            elif schema.get("format") == "date-time" and parse_iso(v) is None:
                errs.append((path, "invalid.date",
                             "Dates must be specified as ISO-8601 strings. For example: yyyy-MM-ddTHH:mm:ss.SSSZ"
                             " (field [%s])" % path))
        elif t == "integer":
            if not isinstance(v, int) or isinstance(v, bool):
                bad = True
            elif schema.get("format") == "int32" and not (-2 ** 31 <= v < 2 ** 31):
                errs.append((path, "invalid.value", "Value for [%s] is out of range" % path))
        elif t == "number":
            bad = not isinstance(v, (int, float)) or isinstance(v, bool)
        elif t == "boolean":
            bad = not isinstance(v, bool)
        elif t == "array":
            if not isinstance(v, list):
                bad = True
            else:
                bl = base if isinstance(base, list) else []
                for i, item in enumerate(v):
                    if item is not None and item not in bl:
                        self._val(item, schema.get("items", {}), "%s[%d]" % (path, i), errs, src,
                                  bl[i] if i < len(bl) else None)
        elif t == "object":
            if not isinstance(v, dict):
                bad = True
            elif "additionalProperties" in schema:
                for k, item in v.items():
                    if item is not None:
                        self._val(item, schema["additionalProperties"], path + "." + k, errs, src,
                                  base.get(k) if isinstance(base, dict) else None)
        if bad:
            errs.append((path, "invalid.value", "Value for field [%s] must be of type [%s]" % (path, t)))


# ----------------------------------------------------------------------------
# HTTP plumbing


class ApiError(Exception):
    def __init__(self, status, code, message, details=None, params=None, headers=None, extra=None):
        super().__init__(message)
        self.extra = extra
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.params = params or {}
        self.headers = headers or []


class Resp:
    def __init__(self, status, body=b"", ctype="application/json", headers=None, file=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = headers or []
        self.file = file  # (path, offset, length)

    @property
    def length(self):
        return self.file[2] if self.file else len(self.body)


def json_resp(status, obj, headers=None):
    return Resp(status, json.dumps(obj, separators=(",", ":")).encode(), headers=headers)


def error_resp(status, code, message, details=None, params=None, headers=None, extra=None):
    ctx = str(uuid.uuid4())
    body = {"status": status, "code": code, "message": message,
            "messageWithParams": message, "messageParams": params or {},
            "contextId": ctx, "details": details or [], "errors": []}
    if extra:
        body.update(extra)
    hdrs = [("ININ-Correlation-Id", ctx)] + list(headers or [])
    return json_resp(status, body, hdrs)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gcemu/1.0"
    timeout = 300

    def log_message(self, fmt, *args):
        if VERBOSE:
            warn("%s:%d %s" % (self.server.role, self.server.server_address[1], fmt % args))

    def _any(self):
        emu = self.server.emu
        try:
            emu.dispatch(self)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout, ssl.SSLError):
            self.close_connection = True
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr, emu, role, sslctx=None):
        self.emu = emu
        self.role = role
        self.sslctx = sslctx
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.sslctx:
            # the handshake happens on first read, in the handler thread
            sock = self.sslctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        if VERBOSE:
            super().handle_error(request, client_address)


# ----------------------------------------------------------------------------
# the emulator


COLLECTIONS = ["meta", "conversations", "recordings", "userrecordings", "orphans",
               "policies", "keys", "localkeys", "screensessions", "singletons", "media"]

MUTATE_KINDS = {
    "userrecording": ("userrecordings", "dateModified"),
    "recording": ("recordings", None),
    "orphan": ("orphans", None),
    "policy": ("policies", "modifiedDate"),
    "screensession": ("screensessions", None),
    "key": ("keys", None),
    "localkey": ("localkeys", None),
    "conversation": ("conversations", None),
}

def UR_ORDER(u):
    return (u.get("dateCreated", ""), u["id"])


API_USER = {"id": uid("user", "api-client"), "name": "recfs API client", "version": 1}


class Emulator:
    def __init__(self, args):
        self.args = args
        self.data = os.path.abspath(args.data)
        self.spec = Spec()
        self.lock = threading.RLock()
        self.state = {}
        self.tokens = {}
        self.transcode = {}
        self.counts = collections.Counter()
        self.total = 0
        self.reqlog = collections.deque(maxlen=2000)
        self.faults = []
        self.fault_seq = 0
        self.rl_times = collections.deque()
        self.rate = None
        if args.rate_limit:
            m = re.match(r"^(\d+)\s*/\s*(\d+(?:\.\d+)?)$", args.rate_limit)
            if not m:
                raise SystemExit("--rate-limit must look like N/S, e.g. 300/60")
            self.rate = (int(m.group(1)), float(m.group(2)))
        self.media_secret = secrets.token_bytes(32)
        self.ver = 0
        self._cache = {}
        self.media_url = ""
        self.api_url = ""
        self.api_server = None
        self.alt = None  # alternate host for redirect faults, started on demand
        self.alt_url = ""
        self.seq = 0  # last journal sequence number
        self.jfd = None
        self.jsize = 0
        self.jcolls = set()

    # -- persistence ---------------------------------------------------------
    def path(self, *p):
        return os.path.join(self.data, *p)

    def load_or_seed(self):
        os.makedirs(self.path("state"), exist_ok=True)
        os.makedirs(self.path("media", "pool"), exist_ok=True)
        os.makedirs(self.path("media", "custom"), exist_ok=True)
        if os.path.exists(self.path("state", "meta.json")):
            marks = {}
            for c in COLLECTIONS:
                try:
                    with open(self.path("state", c + ".json")) as f:
                        self.state[c] = json.load(f)
                except FileNotFoundError:
                    self.state[c] = {}
                marks[c] = self.state[c].pop("__seq__", 0)
            self.seq = max(marks.values())
            self.replay_journal(marks)
            log("loaded state from", self.data)
            return
        t0 = time.time()
        Seeder(self).seed()
        for c in COLLECTIONS:
            self.state.setdefault(c, {})
        for c in COLLECTIONS:
            if c != "meta":
                self.save(c)
        self.save("meta")  # last: marks the state complete
        log("seeded %s in %.2fs" % (self.args.seed, time.time() - t0))

    def sorted_cached(self, coll, key, reverse=False):
        """Sorted values of a collection, cached until the next save()."""
        ck = (coll, key, reverse)
        hit = self._cache.get(ck)
        if hit and hit[0] == self.ver:
            return hit[1]
        items = sorted(self.state[coll].values(), key=key, reverse=reverse)
        self._cache[ck] = (self.ver, items)
        return items

    # Persistence: a change is on disk (page cache: it survives kill -9, not
    # a power cut) before its response is sent. save() rewrites whole
    # collection files atomically; save_docs() appends single documents to
    # state/journal.log instead, which is O(document). Each collection file
    # records the journal sequence number it includes ("__seq__"), so
    # replaying the journal at load only applies newer entries. The journal
    # is folded into the files when it grows past JOURNAL_MAX, at load and at
    # shutdown. Callers hold self.lock.
    JOURNAL_MAX = 16 << 20

    def save(self, *names):
        self.ver += 1
        for name in names:
            p = self.path("state", name + ".json")
            tmp = p + ".tmp.%d.%d" % (os.getpid(), threading.get_ident())
            text = json.dumps(self.state.get(name, {}), separators=(",", ":"))  # C encoder
            if self.seq:
                text = text[:-1] + ("," if len(text) > 2 else "") + '"__seq__":%d}' % self.seq
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, p)

    def save_docs(self, coll, *keys):
        """Persist the current value of documents keys of coll (a key no
        longer in the collection is recorded as deleted)."""
        self.ver += 1
        out = []
        for k in keys:
            self.seq += 1
            out.append(json.dumps({"s": self.seq, "c": coll, "k": k, "v": self.state[coll].get(k)},
                                  separators=(",", ":")) + "\n")
        data = "".join(out).encode()
        if self.jfd is None:
            self.jfd = os.open(self.path("state", "journal.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(self.jfd, view):]
        self.jsize += len(data)
        self.jcolls.add(coll)
        if self.jsize > self.JOURNAL_MAX:
            self.compact()

    def compact(self):
        """Fold the journal into the collection files and remove it."""
        if self.jcolls:
            self.save(*sorted(self.jcolls))
        if self.jfd is not None:
            os.close(self.jfd)
            self.jfd = None
        try:
            os.unlink(self.path("state", "journal.log"))
        except FileNotFoundError:
            pass
        self.jsize = 0
        self.jcolls = set()

    def replay_journal(self, marks):
        """Apply the journal entries newer than each collection file; a torn
        last line (killed mid-append, never acknowledged) is ignored."""
        try:
            f = open(self.path("state", "journal.log"), "rb")
        except FileNotFoundError:
            return
        with f:
            for line in f:
                try:
                    e = json.loads(line)
                    seq, coll, key, val = e["s"], e["c"], e["k"], e["v"]
                except (ValueError, KeyError, TypeError):
                    break
                self.seq = max(self.seq, seq)
                if coll not in self.state or seq <= marks.get(coll, 0):
                    continue
                if val is None:
                    self.state[coll].pop(key, None)
                else:
                    self.state[coll][key] = val
                self.jcolls.add(coll)
        self.compact()

    # -- media ---------------------------------------------------------------
    def owner(self, kind, oid):
        coll = {"recording": "recordings", "orphan": "orphans", "userrecording": "userrecordings"}.get(kind)
        if not coll:
            return None
        return self.state[coll].get(oid)

    def media_entry(self, kind, oid, fmt):
        doc = self.owner(kind, oid)
        if doc is None or not doc.get("_clip"):
            return None
        ov = self.state["media"].get("overrides", {}).get("%s:%s:%s" % (kind, oid, fmt))
        if ov:
            return ov
        return self.state["media"]["clips"].get(doc["_clip"], {}).get(fmt)

    def media_url_for(self, kind, oid, fmt):
        key = base64.urlsafe_b64encode(("%s:%s:%s" % (kind, oid, fmt)).encode()).decode().rstrip("=")
        exp = int(time.time()) + int(self.args.media_url_ttl)
        sig = self.sign("/media/" + key, exp)
        return "%s/media/%s?X-Expires=%d&X-Signature=%s" % (self.media_url, key, exp, sig)

    def sign(self, path, exp):
        return hmac.new(self.media_secret, ("%s\n%d" % (path, exp)).encode(), hashlib.sha256).hexdigest()

    def transcode_ready(self, kind, oid, fmt):
        """(ready, remaining seconds). First ask starts the transcode."""
        k = (kind, oid, fmt)
        now = time.monotonic()
        with self.lock:
            t = self.transcode.setdefault(k, now)
        rem = t + self.args.transcode_ms / 1000.0 - now
        return rem <= 0, max(0.0, rem)

    # -- dispatch ------------------------------------------------------------
    def take_fault(self, line, query=""):
        with self.lock:
            for f in self.faults:
                if f["count"] == 0:
                    continue
                if f.get("qrx") is not None and not f["qrx"].search(query):
                    continue
                if f["rx"].search(line):
                    if f["count"] > 0:
                        f["count"] -= 1
                    return f
        return None

    def dispatch(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        path = parsed.path
        query = parsed.query
        method = h.command
        role = h.server.role
        body = h.read_body()  # always drain it, so keep-alive stays in sync
        if role == "api" and path.startswith("/__control"):
            resp = self.control(method, path, query, body)
            self.send(h, resp, None)
            return
        if role == "media":
            tmpl = "/media/{key}" if path.startswith("/media/") else path
        elif path == "/oauth/token":
            tmpl = path
        else:
            tmpl, _ = self.spec.match(path)
            tmpl = tmpl or path
        keyname = "%s %s" % (method, tmpl)
        if role == "alt":
            keyname = "alt:" + keyname
        with self.lock:
            self.counts[keyname] += 1
            self.total += 1
        # the alternate host is never faulted, so a redirect cannot loop
        fault = self.take_fault("%s %s" % (method, path), query) if role != "alt" else None
        if fault and fault.get("latency_ms"):
            time.sleep(fault["latency_ms"] / 1000.0)
        resp = self.fault_resp(fault, h, method, path) if fault else None
        if fault and fault.get("hostile") == "huge_body":
            self.log_request(h, method, path, query, 200)
            self.send_huge(h, fault, head=(method == "HEAD"))
            return
        if resp is None:
            kind = fault.get("hostile") if fault else None
            pn = ps = None
            if kind == "endless_paging":
                pn, ps = hostile.paging_of(query, body if method == "POST" else b"")
                query, body = hostile.first_page(query, body if method == "POST" else b"")
            resp = self.answer(h, role, method, path, query, body)
            if kind in ("bad_ids", "endless_paging"):
                resp = self.rewrite_json(resp, kind, fault, path, query, pn, ps)
        self.log_request(h, method, path, query, resp.status)
        self.send(h, resp, fault, head=(method == "HEAD"))

    def log_request(self, h, method, path, query, status):
        with self.lock:
            self.reqlog.append({"method": method, "path": path, "query": query,
                                "status": status, "range": h.headers.get("Range"),
                                "authorization": bool(h.headers.get("Authorization")),
                                "server": h.server.role, "t": time.time()})

    def answer(self, h, role, method, path, query, body):
        """The normal (unfaulted) answer of a request."""
        try:
            if role == "media":
                return self.media(h, method, path, query)
            if path == "/oauth/token":
                return self.login(h, method, body)
            return self.api(h, method, path, query, body)
        except ApiError as e:
            return error_resp(e.status, e.code, e.message, e.details, e.params, e.headers, e.extra)
        except Exception as e:  # a bug: answer 500, keep serving
            import traceback
            warn("internal error on %s %s: %s" % (method, path, e))
            traceback.print_exc(file=sys.stderr)
            return error_resp(500, "internal.server.error", "The server encountered an internal error")

    ERROR_CODES = {400: "bad.request", 401: "authentication.required", 403: "not.authorized",
                   404: "not.found", 408: "client.timeout", 409: "request.conflict",
                   413: "request.entity.too.large", 429: "too.many.requests.retry.after",
                   500: "internal.server.error", 502: "bad.gateway", 503: "service.unavailable",
                   504: "request.timeout"}

    def fault_resp(self, fault, h, method, path):
        """The answer a fault replaces the normal one with, or None when the
        normal answer is to be sent (possibly rewritten or mangled in send)."""
        kind = fault.get("hostile")
        if kind == "redirect":  # its "status" is the redirect's
            loc = fault.get("location")
            if not loc:
                base = self.media_url if fault.get("to") == "media" else self.alt_server()
                loc = base + h.path
            return Resp(int(fault.get("status", 302)), b"", ctype=None, headers=[("Location", loc)])
        if kind == "gzip_bomb" and hostile.accepts_gzip(h.headers):
            return Resp(200, hostile.gzip_bomb(fault.get("size")),
                        headers=[("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])
        if fault.get("status"):
            st = int(fault["status"])
            hdrs = []
            code = self.ERROR_CODES.get(st, "fault.injected")
            msg = "Injected fault"
            if st == 429:
                ra = int(fault.get("retry_after", 1))
                hdrs.append(("Retry-After", str(ra)))
                msg = "Rate limit exceeded the maximum. Retry the request in [%d] seconds" % ra
            elif fault.get("retry_after") is not None:
                hdrs.append(("Retry-After", str(int(fault["retry_after"]))))
            return error_resp(st, code, msg, headers=hdrs)
        if fault.get("malformed"):
            return Resp(200, b'{"entities": [{"id": "tru')
        return None

    def rewrite_json(self, resp, kind, fault, path, query, pn, ps):
        """bad_ids / endless_paging: rewrite a 200 JSON answer."""
        if resp.status != 200 or resp.file or not resp.body or "json" not in (resp.ctype or ""):
            return resp
        try:
            obj = json.loads(resp.body)
        except ValueError:
            return resp
        if kind == "bad_ids":
            obj = hostile.bad_ids(obj, fault)
        else:
            obj = hostile.endless(obj, path, query, pn, ps, fault)
        return json_resp(200, obj, resp.headers)

    def send_huge(self, h, fault, head=False):
        size = hostile.huge_size(fault)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if fault.get("no_length"):
            h.send_header("Connection", "close")
            h.close_connection = True
        else:
            h.send_header("Content-Length", str(size))
        h.end_headers()
        if not head:
            hostile.stream_huge(h.wfile, size)

    def alt_server(self):
        """URL of the alternate host (another loopback address, same API),
        started on first use: the target of redirect faults."""
        with self.lock:
            if self.alt is None:
                host = self.api_server.server_address[0]
                cands = ["127.0.0.3" if host == "127.0.0.2" else "127.0.0.2", host]
                for cand in cands:
                    try:
                        srv = Server((cand, 0), self, "alt", self.api_server.sslctx)
                        break
                    except OSError:
                        continue
                threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                                 daemon=True).start()
                self.alt = srv
                self.alt_url = self.url_of(srv)
            return self.alt_url

    def url_of(self, srv):
        h, p = srv.server_address[:2]
        if ":" in h:
            h = "[%s]" % h
        return "%s://%s:%d" % ("https" if srv.sslctx else "http", h, p)

    def send(self, h, resp, fault, head=False):
        fault = fault or {}
        lie = fault.get("direction", "short") if fault.get("hostile") == "content_length_lie" else None
        claimed = resp.length
        if lie == "short":
            claimed = resp.length // 2
        elif lie == "long":
            claimed = resp.length * 2 + 1
        h.send_response(resp.status)
        if resp.ctype and (resp.length or resp.status not in (202, 204)):
            h.send_header("Content-Type", resp.ctype)
        for k, v in resp.headers:
            h.send_header(k, v)
        if resp.status != 204 and resp.status != 304:
            h.send_header("Content-Length", str(claimed))
        if fault.get("truncate") or fault.get("reset_after_bytes") is not None:
            h.send_header("Connection", "close")
        h.end_headers()
        if fault.get("stall_ms"):
            time.sleep(fault["stall_ms"] / 1000.0)
        if head or resp.status in (204, 304):
            return
        limit = resp.length
        mode = None
        if fault.get("reset_after_bytes") is not None:
            limit = min(limit, int(fault["reset_after_bytes"]))
            mode = "reset"
        elif fault.get("truncate"):
            limit = resp.length // 2 if resp.length > 1 else 0
            mode = "truncate"
        if resp.file:
            self.send_file(h, resp.file[0], resp.file[1], limit)
        elif limit:
            h.wfile.write(resp.body[:limit])
        if mode == "reset":
            try:
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                h.connection.close()
            except OSError:
                pass
            h.close_connection = True
        elif mode == "truncate":
            h.close_connection = True

    def send_file(self, h, path, offset, length):
        """socket.sendfile uses os.sendfile (zero copy) and copes with the
        socket timeout; it falls back to send() for TLS sockets."""
        if length <= 0:
            return
        with open(path, "rb") as f:
            h.connection.sendfile(f, offset, length)

    # -- OAuth ---------------------------------------------------------------
    def login(self, h, method, body):
        if method != "POST":
            return json_resp(405, {"error": "method_not_allowed", "description": "Use POST",
                                   "error_description": "Use POST"})
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        cid = csec = None
        auth = h.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                dec = base64.b64decode(auth[6:].strip()).decode()
                cid, _, csec = dec.partition(":")
            except Exception:
                cid = csec = None
        if cid is None and "client_id" in form:
            cid = form["client_id"][0]
            csec = form.get("client_secret", [""])[0]
        if cid != self.args.client_id or csec != self.args.client_secret:
            msg = "Client authentication failed"
            return json_resp(401, {"error": "invalid_client", "description": msg, "error_description": msg})
        gt = form.get("grant_type", [""])[0]
        if gt != "client_credentials":
            msg = "Unsupported grant type: %r" % gt
            return json_resp(400, {"error": "unsupported_grant_type", "description": msg,
                                   "error_description": msg})
        tok = secrets.token_urlsafe(32)
        with self.lock:
            now = time.time()
            self.tokens = {k: v for k, v in self.tokens.items() if v > now}
            self.tokens[tok] = now + self.args.token_ttl
        return json_resp(200, {"access_token": tok, "token_type": "bearer",
                               "expires_in": int(self.args.token_ttl)})

    # -- API -----------------------------------------------------------------
    def api(self, h, method, path, query, body):
        if self.rate and path.startswith("/api/"):
            n, per = self.rate
            now = time.monotonic()
            with self.lock:
                while self.rl_times and self.rl_times[0] <= now - per:
                    self.rl_times.popleft()
                if len(self.rl_times) >= n:
                    ra = max(1, int(math.ceil(self.rl_times[0] + per - now)))
                    msg = "Rate limit exceeded the maximum. Retry the request in [%d] seconds" % ra
                    raise ApiError(429, "too.many.requests.retry.after", msg,
                                   headers=[("Retry-After", str(ra))],
                                   extra={"limit": {"key": "token.rate.per.window", "namespace": "platform.api",
                                                    "value": n}})
                self.rl_times.append(now)
        auth = h.headers.get("Authorization", "")
        if not auth:
            raise ApiError(401, "authentication.required", "No authentication bearer token specified in authorization header.")
        parts = auth.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise ApiError(401, "bad.credentials", "Invalid login credentials.")
        exp = self.tokens.get(parts[1].strip())
        if exp is None or exp <= time.time():
            raise ApiError(401, "bad.credentials", "Invalid login credentials.")
        tmpl, params = self.spec.match(path)
        if tmpl is None:
            raise ApiError(404, "not.found", "The requested resource was not found: %s" % path)
        if (method, tmpl) not in self.spec.ops:
            raise ApiError(405, "method.not.allowed", "Method %s is not allowed on %s" % (method, tmpl))
        q = self.parse_query(method, tmpl, query)
        bdef, breq = self.spec.body_def(method, tmpl)
        data = None
        if bdef:
            ctype = h.headers.get("Content-Type", "")
            if body.strip():
                if ctype and "json" not in ctype.lower():
                    raise ApiError(415, "unsupported.media.type", "Unsupported media type: %s" % ctype)
                try:
                    data = json.loads(body)
                except ValueError as e:
                    raise ApiError(400, "bad.request", "Request contains invalid JSON: %s" % e)
                errs = self.spec.validate(data, bdef, self.baseline(method, tmpl, path))
                if errs:
                    raise ApiError(400, errs[0][1], errs[0][2],
                                   details=[{"errorCode": c, "fieldName": fld} for fld, c, _ in errs])
            elif breq:
                raise ApiError(400, "bad.request", "A request body is required")
        fn = getattr(self, "op_" + re.sub(r"\W+", "_", method + tmpl[len("/api/v2"):]).strip("_"))
        with self.lock:
            return fn(params, q, data, h)

    def baseline(self, method, tmpl, path):
        """For PUT/PATCH: the document the server returns for the target now
        (no side effects), or None. See Spec.validate."""
        if method not in ("PUT", "PATCH"):
            return None
        _, p = self.spec.match(path)
        col = self.state
        with self.lock:
            if tmpl.endswith("/mediaretentionpolicies/{policyId}"):
                d = col["policies"].get(p["policyId"])
                return self.pol_doc(d) if d else None
            if tmpl.endswith("/userrecordings/{recordingId}"):
                d = col["userrecordings"].get(p["recordingId"])
                return self.ur_doc(d) if d else None
            if tmpl.endswith("/recordings/{recordingId}"):
                d = col["recordings"].get(p["recordingId"])
                return self.rec_doc(d) if d else None
            if tmpl.endswith("/annotations/{annotationId}"):
                d = col["recordings"].get(p["recordingId"])
                for a in (d or {}).get("_annotations", []):
                    if a.get("id") == p["annotationId"]:
                        return self.ann_doc(d, a)
            if tmpl.endswith("/localkeys/settings/{settingsId}"):
                d = col["localkeys"].get(p["settingsId"])
                return self.lk_doc(d) if d else None
        return None

    def parse_query(self, method, tmpl, query):
        raw = urllib.parse.parse_qs(query, keep_blank_values=True)
        out = {}
        for p in self.spec.query_params(method, tmpl):
            name = p["name"]
            if name not in raw:
                if p.get("required"):
                    raise ApiError(400, "invalid.value", "Missing required query parameter [%s]" % name,
                                   details=[{"errorCode": "invalid.value", "fieldName": name}])
                if "default" in p:
                    out[name] = p["default"]
                continue
            vals = raw[name]
            t = p.get("type")
            try:
                if t == "array":
                    v = [x for s in vals for x in s.split(",") if x]
                    en = p.get("items", {}).get("enum")
                    if en:
                        for x in v:
                            if x not in en:
                                raise ValueError(x)
                elif t == "integer":
                    v = int(vals[0])
                elif t == "boolean":
                    if vals[0].lower() not in ("true", "false"):
                        raise ValueError(vals[0])
                    v = vals[0].lower() == "true"
                else:
                    v = vals[0]
                    if "enum" in p and v not in p["enum"]:
                        raise ValueError(v)
            except ValueError:
                allowed = ", ".join(p.get("enum") or p.get("items", {}).get("enum") or [t])
                raise ApiError(400, "invalid.value",
                               "Value [%s] is not valid for parameter [%s]. Allowable values are: %s"
                               % (vals[0], name, allowed),
                               details=[{"errorCode": "invalid.value", "fieldName": name}])
            out[name] = v
        out["_raw"] = raw
        return out

    def page(self, items, q, base, extra=None, doc=None):
        ps = q.get("pageSize", 25)
        pn = q.get("pageNumber", 1)
        if ps < 1 or ps > 100:
            raise ApiError(400, "invalid.value", "Value [%d] is not valid for parameter [pageSize]. "
                           "It must be between 1 and 100" % ps,
                           details=[{"errorCode": "invalid.value", "fieldName": "pageSize"}])
        if pn < 1:
            raise ApiError(400, "invalid.value", "Value [%d] is not valid for parameter [pageNumber]" % pn,
                           details=[{"errorCode": "invalid.value", "fieldName": "pageNumber"}])
        total = len(items)
        pc = (total + ps - 1) // ps
        ent = items[(pn - 1) * ps: pn * ps]
        if doc:
            ent = [doc(x) for x in ent]
        ex = ""
        if extra:
            ex = "&" + urllib.parse.urlencode(extra)

        def uri(n):
            return "%s?pageSize=%d&pageNumber=%d%s" % (base, ps, n, ex)
        out = {"entities": ent, "pageSize": ps, "pageNumber": pn, "total": total,
               "firstUri": uri(1), "selfUri": uri(pn), "lastUri": uri(max(1, pc)), "pageCount": pc}
        if pn > 1:
            out["previousUri"] = uri(min(pn - 1, max(1, pc)))
        if pn < pc:
            out["nextUri"] = uri(pn + 1)
        return out

    # ---------------------------------------------------------------- documents
    def conv(self, cid, code="not.found"):
        c = self.state["conversations"].get(cid)
        if c is None:
            raise ApiError(404, code, "A conversation for the provided conversationId was not found."
                           if code == "conversation.not.found" else "Conversation %s not found" % cid)
        return c

    def rec(self, cid, rid):
        c = self.conv(cid)
        r = self.state["recordings"].get(rid)
        if r is None or r.get("conversationId") != cid:
            raise ApiError(404, "not.found", "Recording %s not found in conversation %s" % (rid, cid))
        return r

    def rec_doc(self, r):
        d = {k: v for k, v in r.items() if not k.startswith("_")}  # serialized at once: shallow is enough
        d["annotations"] = [self.ann_doc(r, a) for a in r.get("_annotations", [])]
        d["selfUri"] = "/api/v2/conversations/%s/recordings/%s" % (r["conversationId"], r["id"])
        return d

    def ann_doc(self, r, a):
        d = dict(a)
        d["selfUri"] = "/api/v2/conversations/%s/recordings/%s/annotations/%s" % (
            r["conversationId"], r["id"], a["id"])
        return d

    def rec_media_doc(self, r, fmt):
        """Recording document for the transcoding GETs: (status, doc)."""
        d = self.rec_doc(r)
        if r.get("media") not in ("audio", "screen") or not r.get("_clip"):
            return 200, d
        ready, rem = self.transcode_ready("recording", r["id"], fmt)
        if not ready:
            d["estimatedTranscodeTimeMs"] = int(rem * 1000) + 1
            return 202, d
        ent = self.media_entry("recording", r["id"], fmt)
        d["mediaUris"] = {"0": {"mediaUri": self.media_url_for("recording", r["id"], fmt)}}
        d["actualTranscodeTimeMs"] = int(self.args.transcode_ms)
        d["outputSizeInBytes"] = ent["size"]
        d["outputDurationMs"] = ent["duration_ms"]
        return 200, d

    def fmt_of(self, q):
        f = q.get("formatId") or "WEBM"
        return f

    # ---------------------------------------------------------------- recordings
    def op_GET_conversations_conversationId_recordings(self, p, q, data, h):
        c = self.conv(p["conversationId"], "conversation.not.found")
        fmt = self.fmt_of(q)
        wait = max(0, q.get("maxWaitMs", 5000))
        recs = [self.state["recordings"][rid] for rid in c.get("recordings", [])
                if rid in self.state["recordings"]]
        worst = 0.0
        for r in recs:
            if r.get("media") in ("audio", "screen") and r.get("_clip"):
                ready, rem = self.transcode_ready("recording", r["id"], fmt)
                worst = max(worst, rem)
        if worst > 0:
            if worst * 1000 > wait:
                self.lock.release()
                try:
                    time.sleep(wait / 1000.0)
                finally:
                    self.lock.acquire()
                return Resp(202, b"", ctype=None)
            self.lock.release()
            try:
                time.sleep(worst + 0.001)
            finally:
                self.lock.acquire()
        out = []
        for r in recs:
            st, d = self.rec_media_doc(r, fmt)
            if st == 202:
                return Resp(202, b"", ctype=None)
            out.append(d)
        return json_resp(200, out)

    def op_GET_conversations_conversationId_recordings_recordingId(self, p, q, data, h):
        r = self.rec(p["conversationId"], p["recordingId"])
        st, d = self.rec_media_doc(r, self.fmt_of(q))
        return json_resp(st, d)

    def op_PUT_conversations_conversationId_recordings_recordingId(self, p, q, data, h):
        r = self.rec(p["conversationId"], p["recordingId"])
        cur = self.rec_doc(r)
        volatile = {"mediaUris", "outputSizeInBytes", "outputDurationMs", "actualTranscodeTimeMs",
                    "estimatedTranscodeTimeMs", "selfUri", "annotations"}
        writable = {"archiveDate", "deleteDate", "exportDate"}
        bad = []
        for k, v in data.items():
            if k in writable or k in volatile:
                continue
            if v != cur.get(k) and not (v is None and k not in cur):
                bad.append(k)
        if bad:
            raise ApiError(400, "invalid.value", "Field [%s] is read-only and cannot be changed" % bad[0],
                           details=[{"errorCode": "invalid.value", "fieldName": k} for k in bad])
        new = {k: data.get(k, r.get(k)) for k in writable}
        a, dd = parse_iso(new.get("archiveDate")), parse_iso(new.get("deleteDate"))
        if a and dd and dd <= a:
            raise ApiError(400, "invalid.value", "deleteDate must be later than archiveDate",
                           details=[{"errorCode": "invalid.value", "fieldName": "deleteDate"}])
        for k in writable:
            if k in data:
                if data[k] is None:
                    r.pop(k, None)
                else:
                    r[k] = iso(parse_iso(data[k]))
        if r.get("archiveDate"):
            r["archiveMedium"] = "CLOUDARCHIVE"
        else:
            r.pop("archiveMedium", None)
        self.save_docs("recordings", r["id"])
        return json_resp(200, self.rec_doc(r))

    def op_GET_conversations_conversationId_recordingmetadata(self, p, q, data, h):
        c = self.conv(p["conversationId"])
        return json_resp(200, [self.rec_doc(self.state["recordings"][rid]) for rid in c.get("recordings", [])
                               if rid in self.state["recordings"]])

    def op_GET_conversations_conversationId_recordingmetadata_recordingId(self, p, q, data, h):
        return json_resp(200, self.rec_doc(self.rec(p["conversationId"], p["recordingId"])))

    # ---------------------------------------------------------------- annotations
    def ann(self, r, aid):
        for a in r.get("_annotations", []):
            if a["id"] == aid:
                return a
        raise ApiError(404, "recording.annotation.not.found", "The recording annotation was not found.")

    def ann_check(self, data):
        if len(data.get("description") or "") > 500:
            raise ApiError(400, "recording.annotation.description.too.long",
                           "Annotation description too long.",
                           details=[{"errorCode": "recording.annotation.description.too.long",
                                     "fieldName": "description"}])
        for k in ("location", "durationMs"):
            if isinstance(data.get(k), int) and data[k] < 0:
                raise ApiError(400, "invalid.value", "Field [%s] must not be negative" % k,
                               details=[{"errorCode": "invalid.value", "fieldName": k}])

    ANN_FIELDS = ["name", "type", "location", "durationMs", "description", "keywordName", "confidence",
                  "keywordSetId", "keywordSetName", "utterance", "timeBegin", "timeEnd",
                  "keywordConfidenceThreshold", "agentScoreModifier", "customerScoreModifier",
                  "absoluteLocation", "absoluteDurationMs", "recordingLocation", "recordingDurationMs"]

    def op_GET_conversations_conversationId_recordings_recordingId_annotations(self, p, q, data, h):
        r = self.rec(p["conversationId"], p["recordingId"])
        return json_resp(200, [self.ann_doc(r, a) for a in r.get("_annotations", [])])

    def op_POST_conversations_conversationId_recordings_recordingId_annotations(self, p, q, data, h):
        r = self.rec(p["conversationId"], p["recordingId"])
        self.ann_check(data)
        a = {"id": str(uuid.uuid4())}
        for k in self.ANN_FIELDS:
            if data.get(k) is not None:
                a[k] = data[k]
        a.setdefault("name", "Annotation")
        a.setdefault("type", "Manual")
        a.setdefault("location", 0)
        a.setdefault("durationMs", 0)
        a.setdefault("agentScoreModifier", "0")
        a.setdefault("customerScoreModifier", "0")
        a["user"] = dict(API_USER)
        r.setdefault("_annotations", []).append(a)
        self.save_docs("recordings", r["id"])
        return json_resp(200, self.ann_doc(r, a))

    def op_GET_conversations_conversationId_recordings_recordingId_annotations_annotationId(self, p, q, data, h):
        r = self.rec(p["conversationId"], p["recordingId"])
        return json_resp(200, self.ann_doc(r, self.ann(r, p["annotationId"])))

    def op_PUT_conversations_conversationId_recordings_recordingId_annotations_annotationId(self, p, q, data, h):
        r = self.rec(p["conversationId"], p["recordingId"])
        a = self.ann(r, p["annotationId"])
        if data.get("id") not in (None, a["id"]):
            raise ApiError(400, "invalid.value", "Field [id] is read-only and cannot be changed",
                           details=[{"errorCode": "invalid.value", "fieldName": "id"}])
        self.ann_check(data)
        for k in self.ANN_FIELDS:
            if k in data:
                if data[k] is None:
                    if k not in ("agentScoreModifier", "customerScoreModifier"):
                        a.pop(k, None)
                else:
                    a[k] = data[k]
        self.save_docs("recordings", r["id"])
        return json_resp(200, self.ann_doc(r, a))

    def op_DELETE_conversations_conversationId_recordings_recordingId_annotations_annotationId(self, p, q, data, h):
        r = self.rec(p["conversationId"], p["recordingId"])
        a = self.ann(r, p["annotationId"])
        r["_annotations"].remove(a)
        self.save_docs("recordings", r["id"])
        return Resp(204, b"", ctype=None)

    # ---------------------------------------------------------------- local keys
    def lk(self, sid):
        d = self.state["localkeys"].get(sid)
        if d is None:
            raise ApiError(404, "not.found", "Local encryption configuration %s not found" % sid)
        return d

    def lk_doc(self, d):
        d = dict(d)
        d["selfUri"] = "/api/v2/recording/localkeys/settings/" + d["id"]
        return d

    def op_GET_recording_localkeys_settings(self, p, q, data, h):
        ents = [self.lk_doc(d) for d in self.state["localkeys"].values()]
        return json_resp(200, {"total": len(ents), "entities": ents,
                               "selfUri": "/api/v2/recording/localkeys/settings"})

    def op_POST_recording_localkeys_settings(self, p, q, data, h):
        d = {"id": str(uuid.uuid4())}
        for k in ("name", "url", "apiId", "apiKey"):
            if data.get(k) is not None:
                d[k] = data[k]
        self.state["localkeys"][d["id"]] = d
        self.save("localkeys")
        return json_resp(200, self.lk_doc(d))

    def op_GET_recording_localkeys_settings_settingsId(self, p, q, data, h):
        return json_resp(200, self.lk_doc(self.lk(p["settingsId"])))

    def op_PUT_recording_localkeys_settings_settingsId(self, p, q, data, h):
        d = self.lk(p["settingsId"])
        if data.get("id") not in (None, d["id"]):
            raise ApiError(400, "invalid.value", "Field [id] is read-only and cannot be changed",
                           details=[{"errorCode": "invalid.value", "fieldName": "id"}])
        for k in ("name", "url", "apiId", "apiKey"):
            if k in data:
                if data[k] is None:
                    d.pop(k, None)
                else:
                    d[k] = data[k]
        self.save("localkeys")
        return json_resp(200, self.lk_doc(d))

    def op_POST_recording_localkeys(self, p, q, data, h):
        cfg = self.state["localkeys"].get(data["configId"])
        if cfg is None:
            raise ApiError(400, "invalid.value", "Local encryption configuration [%s] does not exist" % data["configId"],
                           details=[{"errorCode": "invalid.value", "fieldName": "configId"}])
        k = {"id": str(uuid.uuid4()), "name": data["keypairId"], "createDate": iso(time.time()),
             "keydataSummary": data["publicKey"], "user": dict(API_USER),
             "localEncryptionConfiguration": self.lk_doc(cfg), "keyConfigurationType": "LocalKeyManager"}
        self.state["keys"][k["id"]] = k
        self.save("keys")
        return json_resp(200, self.key_doc(k))

    # ---------------------------------------------------------------- policies
    def pol(self, pid):
        d = self.state["policies"].get(pid)
        if d is None:
            raise ApiError(404, "recording.policy.not.found", "The supplied policy was not found or is invalid")
        return d

    def pol_doc(self, d, summary=False):
        d = dict(d)
        d["selfUri"] = "/api/v2/recording/mediaretentionpolicies/" + d["id"]
        if summary:
            d = {k: v for k, v in d.items() if k in ("id", "name", "modifiedDate", "createdDate", "order",
                                                    "description", "enabled", "selfUri")}
        return d

    POL_FIELDS = ["name", "order", "description", "enabled", "mediaPolicies", "conditions", "actions"]

    def pol_name_check(self, name, pid=None):
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "invalid.value", "Field [name] is required",
                           details=[{"errorCode": "invalid.value", "fieldName": "name"}])
        for d in self.state["policies"].values():
            if d["id"] != pid and d["name"].lower() == name.lower():
                raise ApiError(400, "recording.policy.name.duplicate.name",
                               "Policy name already exists, cannot duplicate.",
                               details=[{"errorCode": "recording.policy.name.duplicate.name", "fieldName": "name"}])

    def op_GET_recording_mediaretentionpolicies(self, p, q, data, h):
        items = sorted(self.state["policies"].values(), key=lambda d: (d.get("order", 0), d["name"].lower()))
        if q.get("sortBy") == "name":
            items.sort(key=lambda d: d["name"].lower())
        extra = {}
        if q.get("name"):
            items = [d for d in items if q["name"].lower() in d["name"].lower()]
            extra["name"] = q["name"]
        if "enabled" in q:
            items = [d for d in items if bool(d.get("enabled")) == q["enabled"]]
            extra["enabled"] = str(q["enabled"]).lower()
        if "hasErrors" in q:
            items = [d for d in items if bool(d.get("policyErrors")) == q["hasErrors"]]
        summary = q.get("summary", False)
        if summary:
            extra["summary"] = "true"
        return json_resp(200, self.page(items, q, "/api/v2/recording/mediaretentionpolicies", extra,
                                        lambda d: self.pol_doc(d, summary)))

    def op_POST_recording_mediaretentionpolicies(self, p, q, data, h):
        self.pol_name_check(data.get("name"))
        now = iso(time.time())
        d = {"id": str(uuid.uuid4()), "createdDate": now, "modifiedDate": now, "enabled": False,
             "order": len(self.state["policies"])}
        for k in self.POL_FIELDS:
            if data.get(k) is not None:
                d[k] = data[k]
        self.state["policies"][d["id"]] = d
        self.save("policies")
        return json_resp(200, self.pol_doc(d))

    def op_DELETE_recording_mediaretentionpolicies(self, p, q, data, h):
        ids = [x.strip() for x in q["ids"].split(",") if x.strip()]
        if not ids:
            raise ApiError(400, "invalid.value", "Parameter [ids] must not be empty",
                           details=[{"errorCode": "invalid.value", "fieldName": "ids"}])
        for i in ids:
            self.state["policies"].pop(i, None)
        self.save("policies")
        return Resp(200, b"", ctype=None)

    def op_GET_recording_mediaretentionpolicies_policyId(self, p, q, data, h):
        return json_resp(200, self.pol_doc(self.pol(p["policyId"])))

    def op_PUT_recording_mediaretentionpolicies_policyId(self, p, q, data, h):
        d = self.pol(p["policyId"])
        if data.get("id") not in (None, d["id"]):
            raise ApiError(400, "invalid.value", "Field [id] is read-only and cannot be changed",
                           details=[{"errorCode": "invalid.value", "fieldName": "id"}])
        name = data.get("name", d["name"])
        self.pol_name_check(name, d["id"])
        for k in self.POL_FIELDS:
            if k == "name":
                d[k] = name
            elif data.get(k) is not None:
                d[k] = data[k]
            elif k not in ("order", "enabled"):
                d.pop(k, None)
        d["modifiedDate"] = iso(time.time())
        self.save("policies")
        return json_resp(200, self.pol_doc(d))

    def op_PATCH_recording_mediaretentionpolicies_policyId(self, p, q, data, h):
        d = self.pol(p["policyId"])
        if data.get("id") not in (None, d["id"]):
            raise ApiError(400, "invalid.value", "Field [id] is read-only and cannot be changed",
                           details=[{"errorCode": "invalid.value", "fieldName": "id"}])
        if "name" in data and data["name"] is not None:
            self.pol_name_check(data["name"], d["id"])
        for k in self.POL_FIELDS:
            if data.get(k) is not None:
                d[k] = data[k]
        d["modifiedDate"] = iso(time.time())
        self.save("policies")
        return json_resp(200, self.pol_doc(d))

    def op_DELETE_recording_mediaretentionpolicies_policyId(self, p, q, data, h):
        self.pol(p["policyId"])
        del self.state["policies"][p["policyId"]]
        self.save("policies")
        return Resp(200, b"", ctype=None)

    # ---------------------------------------------------------------- orphans
    def orph(self, oid):
        d = self.state["orphans"].get(oid)
        if d is None:
            raise ApiError(404, "not.found", "Orphan recording %s not found" % oid)
        return d

    def orph_doc(self, o):
        d = {k: v for k, v in o.items() if not k.startswith("_")}
        d["selfUri"] = "/api/v2/orphanrecordings/" + o["id"]
        return d

    def op_GET_orphanrecordings(self, p, q, data, h):
        items = sorted(self.state["orphans"].values(), key=lambda o: (o.get("createdTime", ""), o["id"]))
        extra = {}
        if q.get("hasConversation"):
            items = [o for o in items if o.get("orphanStatus") not in ("NO_CONVERSATION", "UNKNOWN_CONVERSATION")]
            extra["hasConversation"] = "true"
        if q.get("media"):
            want = {"Call": "CALL", "Screen": "SCREEN"}.get(q["media"], q["media"].upper())
            items = [o for o in items if o.get("mediaType") == want]
            extra["media"] = q["media"]
        return json_resp(200, self.page(items, q, "/api/v2/orphanrecordings", extra, self.orph_doc))

    def op_GET_orphanrecordings_orphanId(self, p, q, data, h):
        return json_resp(200, self.orph_doc(self.orph(p["orphanId"])))

    def op_DELETE_orphanrecordings_orphanId(self, p, q, data, h):
        o = self.orph(p["orphanId"])
        d = self.orph_doc(o)
        del self.state["orphans"][o["id"]]
        self.save("orphans")
        return json_resp(200, d)

    def op_PUT_orphanrecordings_orphanId(self, p, q, data, h):
        o = self.orph(p["orphanId"])
        data = data or {}
        cid = data.get("conversationId") or o.get("_conversationHint")
        if not cid or cid not in self.state["conversations"]:
            raise ApiError(400, "recording.orphan.unknown.conversation",
                           "The provided conversation in the payload doesn't exist.",
                           details=[{"errorCode": "recording.orphan.unknown.conversation",
                                     "fieldName": "conversationId"}])
        now = time.time()
        a, dd = parse_iso(data.get("archiveDate")), parse_iso(data.get("deleteDate"))
        bad = None
        if a is not None and a <= now + 86400:
            bad = "archiveDate"
        if dd is not None and dd <= now + 86400:
            bad = "deleteDate"
        if a is not None and dd is not None and dd <= a:
            bad = "deleteDate"
        if bad:
            raise ApiError(400, "recording.orphan.retention.data.invalid",
                           "The provided dates in the payload were invalid.",
                           details=[{"errorCode": "recording.orphan.retention.data.invalid", "fieldName": bad}])
        c = self.state["conversations"][cid]
        orec = o.get("recording") or {}
        rid = orec.get("id") or str(uuid.uuid4())
        r = {"id": rid, "conversationId": cid,
             "startTime": orec.get("startTime") or o.get("createdTime"),
             "endTime": orec.get("endTime") or o.get("createdTime"),
             "media": "audio", "fileState": "AVAILABLE",
             "maxAllowedRestorationsForOrg": 10, "remainingRestorationsAllowedForOrg": 10,
             "sessionId": str(uuid.uuid4()), "_clip": o.get("_clip"), "_annotations": []}
        if a is not None:
            r["archiveDate"] = iso(a)
            r["archiveMedium"] = "CLOUDARCHIVE"
        if dd is not None:
            r["deleteDate"] = iso(dd)
        self.state["recordings"][rid] = r
        c.setdefault("recordings", []).append(rid)
        ovs = self.state["media"].setdefault("overrides", {})
        for fmt in FORMATS:
            ov = ovs.pop("orphan:%s:%s" % (o["id"], fmt), None)
            if ov:
                ovs["recording:%s:%s" % (rid, fmt)] = ov
        del self.state["orphans"][o["id"]]
        self.save("recordings", "conversations", "orphans", "media")
        return json_resp(200, self.rec_doc(r))

    def op_GET_orphanrecordings_orphanId_media(self, p, q, data, h):
        o = self.orph(p["orphanId"])
        fmt = self.fmt_of(q)
        orec = copy.deepcopy(o.get("recording") or {"id": o["id"]})
        orec.setdefault("media", "audio")
        if not o.get("_clip"):
            return json_resp(200, orec)
        ready, rem = self.transcode_ready("orphan", o["id"], fmt)
        if not ready:
            return Resp(202, b"", ctype=None)
        ent = self.media_entry("orphan", o["id"], fmt)
        orec["mediaUris"] = {"0": {"mediaUri": self.media_url_for("orphan", o["id"], fmt)}}
        orec["outputSizeInBytes"] = ent["size"]
        orec["outputDurationMs"] = ent["duration_ms"]
        orec["actualTranscodeTimeMs"] = int(self.args.transcode_ms)
        return json_resp(200, orec)

    # ---------------------------------------------------------------- keys
    def key_doc(self, k):
        d = dict(k)
        d["selfUri"] = "/api/v2/recording/recordingkeys/" + k["id"]
        return d

    def op_GET_recording_recordingkeys(self, p, q, data, h):
        items = sorted(self.state["keys"].values(), key=lambda k: (k.get("createDate", ""), k["id"]))
        return json_resp(200, self.page(items, q, "/api/v2/recording/recordingkeys", None, self.key_doc))

    def op_POST_recording_recordingkeys(self, p, q, data, h):
        k = {"id": str(uuid.uuid4()), "name": "Recording key %d" % (len(self.state["keys"]) + 1),
             "createDate": iso(time.time()),
             "keydataSummary": base64.b64encode(secrets.token_bytes(32)).decode(),
             "user": dict(API_USER), "keyConfigurationType": "Native"}
        self.state["keys"][k["id"]] = k
        self.save("keys")
        return json_resp(200, self.key_doc(k))

    def op_GET_recording_recordingkeys_rotationschedule(self, p, q, data, h):
        d = dict(self.state["singletons"]["schedule"])
        d["selfUri"] = "/api/v2/recording/recordingkeys/rotationschedule"
        return json_resp(200, d)

    def op_PUT_recording_recordingkeys_rotationschedule(self, p, q, data, h):
        d = self.state["singletons"]["schedule"]
        if data.get("id") not in (None, d["id"]):
            raise ApiError(400, "invalid.value", "Field [id] is read-only and cannot be changed",
                           details=[{"errorCode": "invalid.value", "fieldName": "id"}])
        d["period"] = data["period"]
        if data.get("name") is not None:
            d["name"] = data["name"]
        self.save("singletons")
        return self.op_GET_recording_recordingkeys_rotationschedule(p, q, None, h)

    # ---------------------------------------------------------------- settings
    def op_GET_recording_settings(self, p, q, data, h):
        return json_resp(200, dict(self.state["singletons"]["settings"]))

    def op_PUT_recording_settings(self, p, q, data, h):
        s = self.state["singletons"]["settings"]
        for k, v in data.items():
            if v is None:
                continue
            if isinstance(v, int) and not isinstance(v, bool) and v < 0:
                raise ApiError(400, "recording.org.settings.request.invalid", "invalid recording setting",
                               details=[{"errorCode": "recording.org.settings.request.invalid", "fieldName": k}])
            if k in ("recordingPlaybackUrlTtl", "recordingBatchDownloadUrlTtl") and not (2 <= v <= 60):
                raise ApiError(400, "recording.org.settings.request.invalid", "invalid recording setting",
                               details=[{"errorCode": "recording.org.settings.request.invalid", "fieldName": k}])
        for k, v in data.items():
            if v is not None:
                s[k] = v
        self.save("singletons")
        return json_resp(200, dict(s))

    # ---------------------------------------------------------------- screen sessions
    def ss_doc(self, s):
        d = dict(s)
        d["selfUri"] = "/api/v2/recordings/screensessions/" + s["id"]
        return d

    def op_GET_recordings_screensessions(self, p, q, data, h):
        items = sorted(self.state["screensessions"].values(), key=lambda s: (s.get("startTime", ""), s["id"]))
        return json_resp(200, self.page(items, q, "/api/v2/recordings/screensessions", None, self.ss_doc))

    def op_PATCH_recordings_screensessions_recordingSessionId(self, p, q, data, h):
        s = self.state["screensessions"].get(p["recordingSessionId"])
        if s is None:
            raise ApiError(404, "not.found", "Screen recording session %s not found" % p["recordingSessionId"])
        if not data or data.get("state") != "STOPPED":
            raise ApiError(400, "qm.screen.recording.state.required",
                           "Can only update a screen recording session's state to stopped.",
                           details=[{"errorCode": "qm.screen.recording.state.required", "fieldName": "state"}])
        del self.state["screensessions"][s["id"]]
        self.save("screensessions")
        return Resp(204, b"", ctype=None)

    # ---------------------------------------------------------------- user recordings
    def ur(self, rid):
        d = self.state["userrecordings"].get(rid)
        if d is None:
            raise ApiError(404, "not.found", "User recording %s not found" % rid)
        return d

    def ur_doc(self, u):
        d = {k: v for k, v in u.items() if not k.startswith("_")}
        d["selfUri"] = "/api/v2/userrecordings/" + u["id"]
        d["contentUri"] = "/api/v2/userrecordings/%s/media" % u["id"]
        return d

    def op_GET_userrecordings(self, p, q, data, h):
        items = self.sorted_cached("userrecordings", UR_ORDER, True)
        extra = {"expand": ",".join(q["expand"])} if q.get("expand") else None
        return json_resp(200, self.page(items, q, "/api/v2/userrecordings", extra, self.ur_doc))

    def op_GET_userrecordings_summary(self, p, q, data, h):
        hit = self._cache.get("summary")
        if not hit or hit[0] != self.ver:
            items = self.state["userrecordings"].values()
            hit = (self.ver, len(items), sum(1 for u in items if u.get("read")))
            self._cache["summary"] = hit
        _, t, r = hit
        return json_resp(200, {"readCount": r, "unreadCount": t - r, "totalCount": t})

    def op_GET_userrecordings_recordingId(self, p, q, data, h):
        return json_resp(200, self.ur_doc(self.ur(p["recordingId"])))

    def op_PUT_userrecordings_recordingId(self, p, q, data, h):
        u = self.ur(p["recordingId"])
        cur = self.ur_doc(u)
        writable = {"name", "read"}
        volatile = {"selfUri", "contentUri", "dateModified", "thumbnails"}
        bad = [k for k, v in data.items() if k not in writable and k not in volatile
               and v != cur.get(k) and not (v is None and k not in cur)]
        if bad:
            raise ApiError(400, "invalid.value", "Field [%s] is read-only and cannot be changed" % bad[0],
                           details=[{"errorCode": "invalid.value", "fieldName": k} for k in bad])
        if "name" in data and (not isinstance(data["name"], str) or not data["name"].strip()):
            raise ApiError(400, "invalid.value", "Field [name] must not be empty",
                           details=[{"errorCode": "invalid.value", "fieldName": "name"}])
        changed = False
        for k in writable:
            if k in data and data[k] is not None and data[k] != u.get(k):
                u[k] = data[k]
                changed = True
        if changed:
            u["dateModified"] = iso(time.time())
            self.save_docs("userrecordings", u["id"])
        return json_resp(200, self.ur_doc(u))

    def op_DELETE_userrecordings_recordingId(self, p, q, data, h):
        self.ur(p["recordingId"])
        del self.state["userrecordings"][p["recordingId"]]
        self.save_docs("userrecordings", p["recordingId"])
        return Resp(202, b"", ctype=None)

    def op_GET_userrecordings_recordingId_media(self, p, q, data, h):
        u = self.ur(p["recordingId"])
        fmt = self.fmt_of(q)
        return json_resp(200, {"contentLocationUri": self.media_url_for("userrecording", u["id"], fmt)})

    # ---------------------------------------------------------------- analytics
    def op_POST_analytics_conversations_details_query(self, p, q, data, h):
        iv = data.get("interval")
        if not iv:
            raise ApiError(400, "invalid.value", "Field [interval] is required",
                           details=[{"errorCode": "invalid.value", "fieldName": "interval"}])
        parts = iv.split("/")
        t0 = parse_iso(parts[0]) if len(parts) == 2 else None
        t1 = parse_iso(parts[1]) if len(parts) == 2 else None
        if t0 is None or t1 is None or t1 <= t0:
            raise ApiError(400, "invalid.date", "Invalid interval [%s]; expected start/end ISO-8601" % iv,
                           details=[{"errorCode": "invalid.date", "fieldName": "interval"}])
        paging = data.get("paging") or {}
        ps = paging.get("pageSize", 25)
        pn = paging.get("pageNumber", 1)
        if ps < 1 or ps > 100 or pn < 1:
            raise ApiError(400, "invalid.value", "paging.pageSize must be 1..100 and pageNumber >= 1",
                           details=[{"errorCode": "invalid.value", "fieldName": "paging.pageSize"}])
        by = "conversationEnd" if data.get("orderBy") in ("conversationEnd", "segmentEnd") else "conversationStart"
        convs = [c for c in self.state["conversations"].values() if t0 <= c["_start"] < t1]
        for f in data.get("conversationFilters") or []:
            convs = [c for c in convs if self.filter_match(f, c, None, None)]
        for f in data.get("segmentFilters") or []:
            convs = [c for c in convs if any(self.filter_match(f, c, pt, s)
                                             for pt in c["participants"] for s in pt["sessions"])]
        convs.sort(key=lambda c: (c["_end"] if by == "conversationEnd" else c["_start"], c["id"]),
                   reverse=(data.get("order") == "desc"))
        total = len(convs)
        sl = convs[(pn - 1) * ps: pn * ps]
        out = {"totalHits": total}
        if sl:
            out["conversations"] = [self.an_doc(c) for c in sl]
        return json_resp(200, out)

    def filter_match(self, f, c, pt, s):
        res = [self.pred_match(pr, c, pt, s) for pr in f.get("predicates") or []]
        for cl in f.get("clauses") or []:
            res.append(self.filter_match(cl, c, pt, s))
        if not res:
            return True
        return all(res) if f.get("type", "and") == "and" else any(res)

    def pred_match(self, pr, c, pt, s):
        dim = pr.get("dimension") or pr.get("property")
        vals = {"conversationId": c["id"]}
        if pt is not None:
            vals.update({"userId": pt.get("userId"), "purpose": pt.get("purpose"),
                         "participantId": pt.get("participantId"), "participantName": pt.get("participantName")})
        if s is not None:
            vals.update({"mediaType": s.get("mediaType"), "direction": s.get("direction"),
                         "sessionId": s.get("sessionId"), "ani": s.get("ani"), "dnis": s.get("dnis"),
                         "recording": str(bool(c.get("recordings"))).lower()})
        op = pr.get("operator", "matches")
        v = vals.get(dim)
        if op == "exists":
            return v is not None
        if op == "notExists":
            return v is None
        if dim not in vals:
            return True  # unknown dimensions don't filter
        return v is not None and str(v) == str(pr.get("value"))

    def an_doc(self, c):
        has = bool(c.get("recordings"))
        parts = copy.deepcopy(c["participants"])
        for pt in parts:
            for s in pt["sessions"]:
                s["recording"] = has and pt.get("purpose") in ("agent", "customer", "external")
        return {"conversationId": c["id"], "conversationStart": iso(c["_start"]),
                "conversationEnd": iso(c["_end"]), "originatingDirection": c.get("direction", "inbound"),
                "participants": parts}

    # -- media host ----------------------------------------------------------
    def media(self, h, method, path, query):
        def err(status, code, msg, hdrs=None):
            ctx = str(uuid.uuid4())
            x = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
                 "<RequestId>%s</RequestId></Error>" % (code, msg, ctx)).encode()
            return Resp(status, x, ctype="application/xml", headers=hdrs or [])
        if method not in ("GET", "HEAD"):
            return err(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        if not path.startswith("/media/"):
            return err(404, "NoSuchKey", "The specified key does not exist.")
        qs = urllib.parse.parse_qs(query)
        if h.headers.get("Authorization"):
            return err(400, "InvalidArgument",
                       "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                       "Signature query string parameter or the Authorization header should be specified")
        try:
            exp = int(qs.get("X-Expires", [""])[0])
            sig = qs.get("X-Signature", [""])[0]
        except ValueError:
            return err(403, "AccessDenied", "Query-string authentication requires the X-Signature and X-Expires parameters")
        if not hmac.compare_digest(self.sign(path, exp), sig):
            return err(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you provided.")
        if exp < time.time():
            return err(403, "AccessDenied", "Request has expired")
        key = path[len("/media/"):]
        try:
            kind, oid, fmt = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode().split(":")
        except Exception:
            return err(404, "NoSuchKey", "The specified key does not exist.")
        with self.lock:
            ent = self.media_entry(kind, oid, fmt)
        if ent is None:
            return err(404, "NoSuchKey", "The specified key does not exist.")
        fpath = self.path(ent["path"])
        size = ent["size"]
        etag = '"%s"' % ent["sha256"][:32]
        try:
            mtime = os.stat(fpath).st_mtime
        except OSError:
            return err(404, "NoSuchKey", "The specified key does not exist.")
        hdrs = [("ETag", etag), ("Last-Modified", http_date(mtime)), ("Accept-Ranges", "bytes"),
                ("Cache-Control", "private, max-age=3600")]
        ctype = FORMAT_INFO.get(fmt, ("", "application/octet-stream"))[1]
        im = h.headers.get("If-Match")
        if im and im.strip() != "*" and etag not in [x.strip() for x in im.split(",")]:
            return err(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                       hdrs=[("ETag", etag)])
        inm = h.headers.get("If-None-Match")
        if inm and (inm.strip() == "*" or etag in [x.strip() for x in inm.split(",")]):
            return Resp(304, b"", ctype=None, headers=hdrs)
        rng = h.headers.get("Range")
        ir = h.headers.get("If-Range")
        if rng and ir:
            ir = ir.strip()
            if ir.startswith('"') or ir.startswith("W/"):
                if ir != etag:
                    rng = None
            else:
                t = email.utils.parsedate_to_datetime(ir).timestamp() if email.utils.parsedate(ir) else None
                if t is None or int(mtime) > int(t):
                    rng = None
        if rng:
            m = re.match(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", rng)
            if m and m.group(1) and m.group(2) and int(m.group(2)) < int(m.group(1)):
                m = None  # syntactically invalid range: ignored (RFC 9110), full 200
            if m and (m.group(1) or m.group(2)):
                a, b = m.group(1), m.group(2)
                if a:
                    start = int(a)
                    end = min(int(b), size - 1) if b else size - 1
                    ok = start < size
                else:
                    n = int(b)
                    start = max(0, size - n)
                    end = size - 1
                    ok = n > 0 and size > 0
                if not ok:
                    return Resp(416, b"", ctype=None, headers=hdrs + [("Content-Range", "bytes */%d" % size)])
                return Resp(206, ctype=ctype, headers=hdrs + [("Content-Range", "bytes %d-%d/%d" % (start, end, size))],
                            file=(fpath, start, end - start + 1))
        return Resp(200, ctype=ctype, headers=hdrs, file=(fpath, 0, size))

    # -- control -------------------------------------------------------------
    def control(self, method, path, query, body):
        qs = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        try:
            data = json.loads(body) if body.strip() else None
        except ValueError:
            return json_resp(400, {"error": "invalid JSON"})
        sub = path[len("/__control"):].rstrip("/")
        with self.lock:
            if sub == "/counters" and method == "GET":
                return json_resp(200, {"total": self.total, "counts": dict(self.counts),
                                       "requests": list(self.reqlog)})
            if sub == "/reset" and method == "POST":
                self.counts.clear()
                self.total = 0
                self.reqlog.clear()
                self.faults = []
                return json_resp(200, {"ok": True})
            if sub == "/faults" and method == "POST":
                items = data if isinstance(data, list) else [data]
                ids = []
                for f in items:
                    if not isinstance(f, dict) or not isinstance(f.get("match"), str):
                        return json_resp(400, {"error": "fault needs a 'match' regex"})
                    if f.get("query") is not None and not isinstance(f.get("query"), str):
                        return json_resp(400, {"error": "a fault's 'query' is a regex string"})
                    try:
                        rx = re.compile(f["match"])
                        qrx = re.compile(f["query"]) if f.get("query") is not None else None
                    except re.error as e:
                        return json_resp(400, {"error": "bad regex: %s" % e})
                    if f.get("hostile") is not None:
                        bad = hostile.check(f)
                        if bad:
                            return json_resp(400, {"error": bad})
                    self.fault_seq += 1
                    f = dict(f)
                    f["rx"] = rx
                    f["qrx"] = qrx
                    f["count"] = int(f.get("count", 1))
                    f["id"] = "f%d" % self.fault_seq
                    self.faults.append(f)
                    ids.append(f["id"])
                out = {"id": ids[0] if len(ids) == 1 else ids, "ids": ids}
                if any(f.get("hostile") == "redirect" and f.get("to") != "media" and not f.get("location")
                       for f in items):
                    out["alt_url"] = self.alt_server()
                return json_resp(200, out)
            if sub == "/faults" and method == "GET":
                return json_resp(200, [{k: v for k, v in f.items() if k not in ("rx", "qrx")}
                                       for f in self.faults])
            if sub == "/faults" and method == "DELETE":
                self.faults = []
                return json_resp(200, {"ok": True})
            if sub == "/expire-tokens" and method == "POST":
                self.tokens.clear()
                return json_resp(200, {"ok": True})
            if sub == "/media" and method == "GET":
                kind, oid, fmt = qs.get("kind", "recording"), qs.get("id", ""), qs.get("format", "WEBM")
                ent = self.media_entry(kind, oid, fmt)
                if ent is None:
                    return json_resp(404, {"error": "no media for %s %s %s" % (kind, oid, fmt)})
                return json_resp(200, {"path": self.path(ent["path"]), "sha256": ent["sha256"],
                                       "size": ent["size"], "duration_ms": ent["duration_ms"],
                                       "content_type": FORMAT_INFO[fmt][1],
                                       "etag": '"%s"' % ent["sha256"][:32]})
            if sub == "/state" and method == "GET":
                return json_resp(200, self.summary())
            if sub == "/mutate" and method == "POST":
                return self.mutate(data or {})
            if sub == "/transcode" and method == "DELETE":
                self.transcode.clear()
                return json_resp(200, {"ok": True})
        return json_resp(404, {"error": "unknown control endpoint %s %s" % (method, path)})

    def summary(self):
        st = self.state
        convs = {cid: list(c.get("recordings", [])) for cid, c in st["conversations"].items()}
        by_media = collections.defaultdict(list)
        for r in st["recordings"].values():
            by_media[r.get("media", "audio")].append(r["id"])
        return {
            "conversations": convs,
            "conversations_without_recordings": sorted(cid for cid, r in convs.items() if not r),
            "recordings_by_media": by_media,
            "userrecordings": sorted(st["userrecordings"]),
            "orphans": sorted(st["orphans"]),
            "policies": sorted(st["policies"]),
            "keys": sorted(st["keys"]),
            "localkeys": sorted(st["localkeys"]),
            "screensessions": sorted(st["screensessions"]),
            "large_recording": st["meta"].get("large_recording"),
            "small_recordings": st["meta"].get("small_recordings", []),
            "seed": st["meta"].get("seed"),
        }

    def mutate(self, d):
        kind = d.get("kind")
        if kind == "media":
            return self.mutate_media(d)
        if kind not in MUTATE_KINDS:
            return json_resp(400, {"error": "unknown kind %r" % kind})
        coll, mod = MUTATE_KINDS[kind]
        key = d.get("id")
        doc = self.state[coll].get(key)
        if doc is None:
            return json_resp(404, {"error": "no %s %r" % (kind, key)})
        if d.get("delete"):
            del self.state[coll][key]
            if kind == "recording":
                c = self.state["conversations"].get(doc.get("conversationId"))
                if c and doc["id"] in c.get("recordings", []):
                    c["recordings"].remove(doc["id"])
                    self.save_docs("conversations", doc["conversationId"])
            self.save_docs(coll, key)
            return json_resp(200, {"deleted": doc["id"]})
        for k, v in (d.get("set") or {}).items():
            if v is None:
                doc.pop(k, None)
            else:
                doc[k] = v
        if mod:
            doc[mod] = iso(max(time.time(), (parse_iso(doc.get(mod)) or 0) + 0.001))
        self.save_docs(coll, key)
        return json_resp(200, {k: v for k, v in doc.items() if not k.startswith("_")})

    def mutate_media(self, d):
        oid = d.get("id")
        kind = d.get("owner")
        if not kind:
            for k in ("recording", "orphan", "userrecording"):
                if self.owner(k, oid) is not None:
                    kind = k
                    break
        doc = self.owner(kind, oid) if kind else None
        if doc is None or not doc.get("_clip"):
            return json_resp(404, {"error": "no media owner %r" % oid})
        fmts = [d["format"]] if d.get("format") else FORMATS
        if any(f not in FORMATS for f in fmts):
            return json_resp(400, {"error": "bad format"})
        base = "media/custom/" + uuid.uuid4().hex
        secs = self.state["media"]["clips"][doc["_clip"]]["WAV"]["duration_ms"] / 1000.0
        secs = min(max(secs, 1.0), 60.0)
        ents = encode_clip(self.data, base, synth_speech(secs, secrets.randbits(32)), fmts)
        ovs = self.state["media"].setdefault("overrides", {})
        for f in fmts:
            ovs["%s:%s:%s" % (kind, oid, f)] = ents[f]
        if kind == "userrecording":
            if "WEBM" in fmts:
                doc["contentLength"] = ents["WEBM"]["size"]
            doc["dateModified"] = iso(time.time())
            self.save("userrecordings")
        self.save("media")
        return json_resp(200, {f: {"sha256": e["sha256"], "size": e["size"],
                                   "etag": '"%s"' % e["sha256"][:32]} for f, e in ents.items()})


# ----------------------------------------------------------------------------
# seeding

AGENTS = ["Maria Gonzalez", "James O'Connor", "Aisha Khan", "Liam Nguyen", "Sofia Rossi",
          "Noah Schmidt", "Chloe Dubois", "Ethan Park", "Priya Raman", "Lucas Silva"]
CUSTOMERS = ["+1 317 555 0142", "+1 312 555 0198", "+44 20 7946 0958", "+1 415 555 0123",
             "+353 1 555 0147", "+1 646 555 0175", "+61 2 5550 1234", "+49 30 5557 8123"]
QUEUES = ["Billing", "Technical Support", "Sales", "Retention", "Claims"]
UR_NAMES = ["Voicemail from +1 317 555 0142", "Team huddle notes", "Customer callback reminder",
            "Escalation summary - ticket 48213", "Voicemail from Dana Whitfield", "Training: de-escalation tips",
            "Follow-up for Acme Corp renewal", "Voicemail from +44 20 7946 0958", "Shift handover",
            "Quality review feedback", "Voicemail from Pharmacy Services", "Reminder: update CRM notes"]
# complete against the 2017 Queue schema (acwSettings, mediaSettings and
# skillEvaluationMethod are marked required there)
CLAIMS_QUEUE = {"id": uid("queue", "Claims"), "name": "Claims",
                "acwSettings": {"wrapupPrompt": "OPTIONAL"},
                "mediaSettings": {"CALL": {"alertingTimeoutSeconds": 8,
                                           "serviceLevel": {"percentage": 0.8, "durationMs": 20000}}},
                "skillEvaluationMethod": "BEST"}
ANN_SAMPLES = [("Customer hold", "Hold", "Agent placed the customer on hold to check the account."),
               ("Escalation", "Manual", "Customer asked for a supervisor; escalated per policy."),
               ("Compliance disclosure", "Manual", "Recording disclosure read at the start of the call."),
               ("Keyword: cancel", "Keyword", "Customer mentioned cancelling the subscription.")]
CHAT_LINES = [("customer", "Hi, I was double charged on my last invoice."),
              ("agent", "Sorry to hear that! Can you share the invoice number?"),
              ("customer", "Sure, it's INV-20931."),
              ("agent", "Thanks. I see the duplicate charge; I've issued a refund."),
              ("customer", "Great, how long will it take?"),
              ("agent", "3 to 5 business days. Anything else I can help with?"),
              ("customer", "No, that's all. Thanks!")]


class Seeder:
    def __init__(self, emu):
        self.emu = emu
        self.args = emu.args
        self.st = emu.state
        self.rnd = random.Random(20261121)
        self.now = time.time()
        self.users = [{"id": uid("user", n), "name": n, "version": 1} for n in AGENTS]

    def seed(self):
        a = self.args
        st = self.st
        for c in COLLECTIONS:
            st[c] = {}
        st["meta"] = {"seed": a.seed, "created": iso(self.now), "version": 1}
        st["singletons"] = {
            "settings": {"maxSimultaneousStreams": 5},
            "schedule": {"id": uid("schedule"), "name": "Key rotation schedule",
                         "period": "MONTHLY" if a.seed != "empty" else "DISABLED"},
        }
        st["media"] = {"clips": {}, "overrides": {}}
        if a.seed == "empty":
            return
        self.make_pool()
        if a.seed == "demo":
            self.seed_demo()
        else:
            self.seed_bench()

    def make_pool(self):
        a = self.args
        npool = 4
        secs = a.media_seconds

        def job(i):
            return i, encode_clip(self.emu.data, "media/pool/clip%d" % i, synth_speech(secs, 1000 + i))
        jobs = list(range(npool))
        if self.args.seed == "bench" and a.small_media:
            jobs.append("small")
        out = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(jobs))) as ex:
            futs = []
            for i in jobs:
                if i == "small":
                    # 64 KiB WAV exactly: 44-byte header + 65492 bytes of PCM
                    pcm = synth_speech(65492 / 2 / RATE, 77)[:65492 // 2]
                    futs.append(ex.submit(lambda pcm=pcm: ("small", encode_clip(self.emu.data, "media/pool/small", pcm))))
                else:
                    futs.append(ex.submit(job, i))
            for f in futs:
                k, ents = f.result()
                out["clip%d" % k if k != "small" else "small"] = ents
        self.st["media"]["clips"] = out
        self.pool = ["clip%d" % i for i in range(npool)]

    def clip_ms(self, clip):
        return self.st["media"]["clips"][clip]["WAV"]["duration_ms"]

    def add_conversation(self, key, start, media="voice", nrec=1, recorded=True, clip=None, kinds=None):
        rnd = self.rnd
        cid = uid("conversation", key)
        agent = rnd.choice(self.users)
        cust = rnd.choice(CUSTOMERS)
        dur = rnd.uniform(90, 900)
        end = start + dur
        direction = "inbound" if rnd.random() < 0.75 else "outbound"
        queue_id = uid("queue", rnd.choice(QUEUES))
        t_alert = start + rnd.uniform(5, 40)

        def seg(t0, t1, typ, queue=False):
            s = {"segmentStart": iso(t0), "segmentEnd": iso(t1), "segmentType": typ}
            if queue:
                s["queueId"] = queue_id
            return s
        cust_p = {"participantId": uid("participant", key, "c"), "participantName": cust, "purpose": "customer",
                  "sessions": [{"mediaType": media, "sessionId": uid("session", key, "c"), "direction": direction,
                                "ani": "tel:" + cust.replace(" ", ""), "dnis": "tel:+18005550100",
                                "segments": [seg(start, end, "interact")]}]}
        acd_p = {"participantId": uid("participant", key, "q"), "participantName": "Queue", "purpose": "acd",
                 "sessions": [{"mediaType": media, "sessionId": uid("session", key, "q"), "direction": direction,
                               "segments": [seg(start, t_alert, "delay", True)]}]}
        agent_segs = [seg(t_alert, t_alert + 4, "alert", True)]
        mid = t_alert + 4 + (end - t_alert - 4) * 0.6
        if rnd.random() < 0.3:
            agent_segs += [seg(t_alert + 4, mid, "interact", True), seg(mid, mid + 30, "hold", True),
                           seg(mid + 30, end, "interact", True)]
        else:
            agent_segs.append(seg(t_alert + 4, end, "interact", True))
        agent_segs.append(seg(end, end + rnd.uniform(10, 60), "wrapup", True))
        agent_p = {"participantId": uid("participant", key, "a"), "participantName": agent["name"],
                   "purpose": "agent", "userId": agent["id"],
                   "sessions": [{"mediaType": media, "sessionId": uid("session", key, "a"), "direction": direction,
                                 "segments": agent_segs}]}
        c = {"id": cid, "_start": start, "_end": end, "direction": direction,
             "participants": [cust_p, acd_p, agent_p], "recordings": []}
        self.st["conversations"][cid] = c
        if recorded:
            for i in range(nrec):
                k = (kinds[i] if kinds else "audio")
                self.add_recording(c, key, i, k, agent, cust, t_alert + 4, end, clip)
        return c

    def add_recording(self, c, key, i, kind, agent, cust, t0, t1, clip=None):
        rnd = self.rnd
        rid = uid("recording", key, i)
        clip = clip or self.pool[rnd.randrange(len(self.pool))]
        r = {"id": rid, "conversationId": c["id"], "media": kind, "fileState": "AVAILABLE",
             "maxAllowedRestorationsForOrg": 10, "remainingRestorationsAllowedForOrg": 10,
             "sessionId": uid("rsession", key, i), "users": [dict(agent)], "_annotations": []}
        if kind == "audio":
            rs = t0 + i * (self.clip_ms(clip) / 1000.0 + 5)
            r["startTime"] = iso(rs)
            r["endTime"] = iso(rs + self.clip_ms(clip) / 1000.0)
            r["_clip"] = clip
        else:
            r["startTime"] = iso(t0)
            r["endTime"] = iso(t1)
        if kind == "chat":
            r["transcript"] = []
            t = t0
            for j, (who, text) in enumerate(CHAT_LINES):
                t += rnd.uniform(8, 40)
                u = agent if who == "agent" else {"id": uid("extuser", cust), "name": "Web visitor"}
                r["transcript"].append({"id": uid("chatmsg", key, j), "body": text, "utc": iso(t),
                                        "from": u["id"], "to": c["id"], "chat": c["id"], "type": "standard",
                                        "user": {"id": u["id"], "name": u["name"], "displayName": u["name"]}})
        if kind == "email":
            r["emailTranscript"] = [
                {"id": uid("email", key, 0), "subject": "Question about my order #55812",
                 "from": {"email": "dana.whitfield@example.com", "name": "Dana Whitfield"},
                 "to": [{"email": "support@example.com", "name": "Support"}], "cc": [], "bcc": [],
                 "textBody": "Hello,\n\nMy order #55812 has not arrived yet. Could you check its status?\n\nDana",
                 "htmlBody": "<p>Hello,</p><p>My order #55812 has not arrived yet. Could you check its status?</p><p>Dana</p>",
                 "time": iso(t0), "attachments": []},
                {"id": uid("email", key, 1), "subject": "RE: Question about my order #55812",
                 "from": {"email": "support@example.com", "name": agent["name"]},
                 "to": [{"email": "dana.whitfield@example.com", "name": "Dana Whitfield"}], "cc": [], "bcc": [],
                 "textBody": "Hi Dana,\n\nYour parcel left our warehouse yesterday and should arrive tomorrow.\n\nBest,\n"
                             + agent["name"],
                 "htmlBody": "<p>Hi Dana,</p><p>Your parcel left our warehouse yesterday and should arrive tomorrow.</p>",
                 "time": iso(t1), "attachments": []}]
        self.st["recordings"][rid] = r
        c["recordings"].append(rid)
        return r

    def add_annotation(self, r, j, location):
        name, typ, desc = ANN_SAMPLES[self.rnd.randrange(len(ANN_SAMPLES))]
        a = {"id": uid("annotation", r["id"], j), "name": name, "type": typ, "location": location,
             "durationMs": self.rnd.randrange(1000, 8000), "description": desc,
             "user": dict(self.rnd.choice(self.users)), "agentScoreModifier": "0", "customerScoreModifier": "0"}
        r["_annotations"].append(a)

    def user_recording(self, i, t, name, clip=None):
        clip = clip or self.pool[i % len(self.pool)]
        webm = self.st["media"]["clips"][clip]["WEBM"]
        owner = self.users[i % len(self.users)]
        u = {"id": uid("userrecording", i), "name": name, "dateCreated": iso(t), "dateModified": iso(t),
             "workspace": {"id": uid("workspace", owner["id"]), "name": owner["name"] + "'s workspace"},
             "createdBy": {"id": owner["id"], "name": owner["name"]},
             "contentLength": webm["size"], "durationMilliseconds": webm["duration_ms"],
             "read": (i % 3 == 0), "thumbnails": [], "_clip": clip}
        self.st["userrecordings"][u["id"]] = u

    def orphan(self, i, t, status="NO_CONVERSATION", hint=None):
        clip = self.pool[i % len(self.pool)]
        oid = uid("orphan", i)
        ms = self.clip_ms(clip)
        o = {"id": oid, "name": "orphan-edge1-%04d.opus" % (i + 1), "createdTime": iso(t),
             "recoveredTime": iso(t + 3600), "providerType": "EDGE",
             "mediaSizeBytes": self.st["media"]["clips"][clip]["NONE"]["size"], "mediaType": "CALL",
             "fileState": "AVAILABLE", "orphanStatus": status,
             "providerEndpoint": {"id": uid("edge", 1), "name": "Edge-IND-01",
                                  "schema": {"id": uid("edgeschema"), "name": "Edge Endpoint"}},
             "recording": {"id": uid("orphanrec", i), "media": "audio", "fileState": "AVAILABLE",
                           "startTime": iso(t), "endTime": iso(t + ms / 1000.0)},
             "_clip": clip}
        if hint:
            o["_conversationHint"] = hint
        self.st["orphans"][oid] = o

    def seed_common(self):
        st = self.st
        now = self.now
        pols = [
            ("Retain 90 days, archive after 30", True, 30, 90, "Default retention for all voice recordings"),
            ("Delete chat after 1 year", True, None, 365, "Chat transcripts are kept for a year"),
            ("Legal hold - Claims queue", False, None, None, "Keep claims recordings indefinitely"),
        ]
        for i, (name, en, arch, dele, desc) in enumerate(pols):
            t = iso(now - 86400 * (60 - i * 10))
            ret = {}
            if arch:
                ret["archiveRetention"] = {"days": arch, "storageMedium": "CLOUDARCHIVE"}
            if dele:
                ret["deleteRetention"] = {"days": dele}
            actions = {"retainRecording": True, "deleteRecording": bool(dele), "alwaysDelete": False}
            if ret:
                actions["retentionDuration"] = ret
            pid = uid("policy", i)
            st["policies"][pid] = {
                "id": pid, "name": name, "description": desc, "enabled": en, "order": i,
                "createdDate": t, "modifiedDate": t,
                "mediaPolicies": {"callPolicy": {"actions": actions, "conditions": {"directions": ["INBOUND", "OUTBOUND"]}}}
                if i != 1 else {"chatPolicy": {"actions": actions, "conditions": {}}},
                "conditions": {"forQueues": [CLAIMS_QUEUE]} if i == 2 else {},
                "actions": actions}
        for i in range(2):
            kid = uid("key", i)
            st["keys"][kid] = {"id": kid, "name": "Recording key %d" % (i + 1),
                               "createDate": iso(now - 86400 * (40 - 30 * i)),
                               "keydataSummary": base64.b64encode(hashlib.sha256(kid.encode()).digest()).decode(),
                               "user": dict(self.users[i]), "keyConfigurationType": "Native"}
        for i, (name, url) in enumerate([("Primary KMS", "https://kms.example.com/recfs/decrypt"),
                                         ("DR KMS", "https://kms-dr.example.com/recfs/decrypt")]):
            lid = uid("localkey", i)
            st["localkeys"][lid] = {"id": lid, "name": name, "url": url, "apiId": "recfs-api-%d" % (i + 1),
                                    "apiKey": hashlib.sha1(lid.encode()).hexdigest()}
        for i in range(3):
            sid = uid("screensession", i)
            u = self.users[i + 2]
            st["screensessions"][sid] = {
                "id": sid, "name": "Screen recording - " + u["name"], "user": dict(u),
                "communicationId": uid("communication", i),
                "conversation": {"id": uid("conversation", "screen", i), "startTime": iso(now - 600 * (i + 1)),
                                 "participants": [],
                                 "selfUri": "/api/v2/conversations/" + uid("conversation", "screen", i)},
                "startTime": iso(now - 600 * (i + 1))}

    def seed_demo(self):
        rnd = self.rnd
        now = self.now
        n = self.args.conversations if self.args.conversations is not None else 20
        week = 7 * 86400
        starts = sorted(now - rnd.uniform(3600 * 2, week - 3600 * 2) for _ in range(n + 2))
        convs = []
        for i in range(n):
            key = "demo%d" % i
            if i == 3:
                c = self.add_conversation(key, starts[i], media="chat", nrec=1, kinds=["chat"])
            elif i == 7:
                c = self.add_conversation(key, starts[i], media="email", nrec=1, kinds=["email"])
            else:
                c = self.add_conversation(key, starts[i], nrec=rnd.choice([1, 1, 2, 2, 3]))
            convs.append(c)
        for j in range(2):
            self.add_conversation("demo-norec%d" % j, starts[n + j], recorded=False)
        k = 0
        for c in convs:
            for rid in c["recordings"]:
                r = self.st["recordings"][rid]
                if r["media"] == "audio" and k % 3 == 0:
                    for j in range(rnd.choice([1, 2])):
                        self.add_annotation(r, j, rnd.randrange(0, self.clip_ms(r["_clip"])))
                k += 1
        nur = self.args.user_recordings if self.args.user_recordings is not None else 10
        for i in range(nur):
            self.user_recording(i, now - rnd.uniform(3600, 20 * 86400), UR_NAMES[i % len(UR_NAMES)]
                                + ("" if i < len(UR_NAMES) else " (%d)" % (i // len(UR_NAMES) + 1)))
        no = self.args.orphans if self.args.orphans is not None else 3
        for i in range(no):
            self.orphan(i, now - rnd.uniform(86400, 5 * 86400),
                        ["NO_CONVERSATION", "UNKNOWN_CONVERSATION", "CONVERSATION_NOT_COMPLETE"][i % 3])
        self.seed_common()

    def seed_bench(self):
        a = self.args
        rnd = self.rnd
        now = self.now
        week = 7 * 86400
        n = a.conversations if a.conversations is not None else 1000
        for i in range(n):
            self.add_conversation("bench%d" % i, now - week + 3600 + (week - 7200) * (i + 0.5) / n,
                                  nrec=rnd.choice([1, 2, 3]))
        meta = self.st["meta"]
        if a.large_media_mib:
            clip = "large"
            rel = "media/large.wav"
            p = self.emu.path(rel)
            base = self.st["media"]["clips"][self.pool[0]]
            wav = open(self.emu.path(base["WAV"]["path"]), "rb").read()[44:]
            total = a.large_media_mib * 1024 * 1024 - 44
            total -= total % 2
            h = hashlib.sha256()
            with open(p + ".tmp", "wb") as f:
                hd = wav_header(total)
                f.write(hd)
                h.update(hd)
                left = total
                chunk = wav * max(1, (4 << 20) // len(wav))
                while left > 0:
                    b = chunk[:left]
                    f.write(b)
                    h.update(b)
                    left -= len(b)
            os.replace(p + ".tmp", p)
            ents = {f: dict(e) for f, e in base.items()}
            ents["WAV"] = {"path": rel, "sha256": h.hexdigest(), "size": total + 44,
                           "duration_ms": int(total / 2 * 1000 / RATE)}
            self.st["media"]["clips"]["large"] = ents
            c = self.add_conversation("bench-large", now - 3 * 86400, nrec=1, clip="large")
            meta["large_recording"] = {"conversationId": c["id"], "recordingId": c["recordings"][0],
                                       "size": total + 44}
        if a.small_media:
            small = []
            for i in range(a.small_media):
                c = self.add_conversation("bench-small%d" % i, now - week + 7200 + (week - 14400) * (i + 0.5) / a.small_media,
                                          nrec=1, clip="small")
                small.append({"conversationId": c["id"], "recordingId": c["recordings"][0]})
            meta["small_recordings"] = small
        nur = a.user_recordings if a.user_recordings is not None else 10000
        for i in range(nur):
            self.user_recording(i, now - 30 * 86400 + 30 * 86400 * i / max(1, nur),
                                "%s #%d" % (UR_NAMES[i % len(UR_NAMES)], i + 1))
        no = a.orphans if a.orphans is not None else 3
        for i in range(no):
            self.orphan(i, now - 86400 - i * 60)
        self.seed_common()


# ----------------------------------------------------------------------------
# main


def selfsigned_cert(tls_dir):
    """(cert, key) paths of a self-signed certificate for the loopback hosts
    in tls_dir, made with the openssl command line. An existing one is reused
    while it is valid for at least another hour (restarts keep the CA file)."""
    cert, key = os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")
    if not shutil.which("openssl"):
        raise RuntimeError("the openssl command is not installed")
    if os.path.exists(cert) and os.path.exists(key):
        r = subprocess.run(["openssl", "x509", "-checkend", "3600", "-noout", "-in", cert],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return cert, key
    os.makedirs(tls_dir, exist_ok=True)
    tmp_c, tmp_k = cert + ".tmp", key + ".tmp"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                        "-keyout", tmp_k, "-out", tmp_c, "-days", "30", "-subj", "/CN=gcemu",
                        "-addext", "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:::1,DNS:localhost",
                        "-addext", "basicConstraints=critical,CA:TRUE"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("openssl failed: " + r.stderr.decode(errors="replace").strip())
    os.replace(tmp_k, key)
    os.replace(tmp_c, cert)
    return cert, key


def parse_listen(s):
    host, _, port = s.rpartition(":")
    return (host or "127.0.0.1"), int(port or 0)


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(description="Genesys Cloud recordings API emulator")
    ap.add_argument("--data", required=True, help="state directory (created; reused if it holds state)")
    ap.add_argument("--listen", default="127.0.0.1:0", help="API+login address host:port (default 127.0.0.1:0)")
    ap.add_argument("--media-listen", default=None, help="media host address (default: API host, port 0)")
    ap.add_argument("--seed", choices=["demo", "bench", "empty"], default="demo")
    ap.add_argument("--conversations", type=int, default=None, help="demo: 20, bench: 1000")
    ap.add_argument("--user-recordings", type=int, default=None, help="demo: 10, bench: 10000")
    ap.add_argument("--orphans", type=int, default=None, help="default 3")
    ap.add_argument("--media-seconds", type=float, default=20.0, help="length of the seeded audio clips")
    ap.add_argument("--large-media-mib", type=int, default=0, help="bench: one recording with an N MiB WAV")
    ap.add_argument("--small-media", type=int, default=0, help="bench: N recordings with 64 KiB WAV media")
    ap.add_argument("--transcode-ms", type=float, default=2000.0, help="202 window per (recording, format)")
    ap.add_argument("--token-ttl", type=float, default=86400.0)
    ap.add_argument("--rate-limit", default=None, help="N/S: at most N API requests per S seconds")
    ap.add_argument("--media-url-ttl", type=float, default=3600.0, help="pre-signed URL validity, seconds")
    ap.add_argument("--client-id", default="recfs-demo")
    ap.add_argument("--client-secret", default="recfs-demo-secret")
    ap.add_argument("--tls-cert", default=None)
    ap.add_argument("--tls-key", default=None)
    ap.add_argument("--tls-selfsigned", action="store_true",
                    help="serve HTTPS with a self-signed cert made (openssl) into DIR/tls; prints ca_file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose
    if args.media_seconds <= 0:
        ap.error("--media-seconds must be > 0")
    if args.seed != "empty" and args.media_seconds > 0 and not shutil.which("ffmpeg"):
        if not os.path.exists(os.path.join(args.data, "state", "meta.json")):
            ap.error("ffmpeg is needed to seed media")

    emu = Emulator(args)
    emu.load_or_seed()

    sslctx = None
    ca_file = None
    if args.tls_selfsigned:
        try:
            args.tls_cert, args.tls_key = selfsigned_cert(emu.path("tls"))
        except (OSError, RuntimeError) as e:
            ap.error("--tls-selfsigned: %s" % e)
        ca_file = args.tls_cert
    if args.tls_cert:
        sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sslctx.load_cert_chain(args.tls_cert, args.tls_key)
    host, port = parse_listen(args.listen)
    api = Server((host, port), emu, "api", sslctx)
    mhost, mport = parse_listen(args.media_listen) if args.media_listen else (host, 0)
    med = Server((mhost, mport), emu, "media", sslctx)

    emu.api_server = api
    emu.api_url = emu.url_of(api)
    emu.media_url = emu.url_of(med)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for s in (api, med)]
    for t in threads:
        t.start()
    info = {"api_url": emu.api_url, "login_url": emu.api_url, "media_url": emu.media_url,
            "control_url": emu.api_url + "/__control",
            "client_id": args.client_id, "client_secret": args.client_secret}
    if ca_file:
        info["ca_file"] = ca_file
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    while not stop.wait(1.0):
        pass
    log("shutting down")
    for s in (api, med) + ((emu.alt,) if emu.alt else ()):
        s.shutdown()
        s.server_close()
    with emu.lock:
        emu.compact()
    return 0


if __name__ == "__main__":
    sys.exit(main())
