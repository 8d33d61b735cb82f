"""Shared helpers for the emulator tests: start gcemu.py, talk HTTP to it."""

import base64
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
GCEMU = os.environ.get("GCEMU") or os.path.normpath(
    os.path.join(HERE, "..", "..", "scripts", "emulator", "gcemu.py"))
PYTHON = os.environ.get("PYTHON") or sys.executable


class Emu:
    """A running emulator. Use as a context manager or call stop()."""

    def __init__(self, *extra, data=None, keep_data=False):
        self.own_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="gcemu-test-")
        self.keep_data = keep_data
        self.extra = list(extra)
        self.start()

    def start(self):
        args = [PYTHON, GCEMU, "--data", self.data] + self.extra
        # stderr goes to a file: a pipe nobody reads could fill up and block
        self.errlog = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.errlog)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.errlog.seek(0)
            err = self.errlog.read().decode(errors="replace")
            self.errlog.close()
            raise RuntimeError("gcemu did not start: %s" % err)
        self.info = json.loads(line)
        self.api = urllib.parse.urlsplit(self.info["api_url"])
        self.media = urllib.parse.urlsplit(self.info["media_url"])
        self._conns = {}
        self.token = None

    def stop(self, sig=signal.SIGTERM):
        for c in self._conns.values():
            c.close()
        self._conns = {}
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.errlog.close()
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        if self.own_data and not self.keep_data:
            shutil.rmtree(self.data, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.cleanup()

    # -- HTTP ----------------------------------------------------------------
    def conn(self, which="api"):
        c = self._conns.get(which)
        if c is None:
            u = self.api if which == "api" else self.media
            if u.scheme == "https":
                c = http.client.HTTPSConnection(u.hostname, u.port, timeout=30, context=self.tls_context())
            else:
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            self._conns[which] = c
        return c

    def tls_context(self):
        """Verifies against the --tls-selfsigned CA file when there is one;
        otherwise (--tls-cert) does not verify."""
        ca = self.info.get("ca_file")
        if ca:
            return ssl.create_default_context(cafile=ca)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def raw(self, method, path, body=None, headers=None, which="api"):
        """-> (status, headers dict (lower-case), body bytes). Reconnects once."""
        headers = dict(headers or {})
        for attempt in (0, 1):
            c = self.conn(which)
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    self._conns.pop(which, None)
                return r.status, hdrs, data
            except (http.client.HTTPException, ConnectionError, OSError):
                c.close()
                self._conns.pop(which, None)
                if attempt:
                    raise

    def login(self):
        st, _, body = self.raw("POST", "/oauth/token", "grant_type=client_credentials", {
            "Authorization": "Basic " + base64.b64encode(
                ("%s:%s" % (self.info["client_id"], self.info["client_secret"])).encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded"})
        assert st == 200, body
        self.token = json.loads(body)["access_token"]
        return self.token

    def call(self, method, path, body=None, headers=None, token=True):
        """API call -> (status, json-or-None, headers)."""
        h = dict(headers or {})
        if token:
            if self.token is None:
                self.login()
            h["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if not path.startswith("/"):
            path = "/api/v2/" + path
        st, hdrs, data = self.raw(method, path, body, h)
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = None
        return st, js, hdrs

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def control(self, method, sub, body=None):
        b = json.dumps(body) if body is not None else None
        st, _, data = self.raw(method, "/__control/" + sub, b, {"Content-Type": "application/json"} if b else {})
        return st, (json.loads(data) if data else None)

    def state(self):
        return self.control("GET", "state")[1]

    def counters(self):
        return self.control("GET", "counters")[1]

    def media_get(self, url, headers=None, method="GET"):
        u = urllib.parse.urlsplit(url)
        return self.raw(method, u.path + "?" + u.query, None, headers, which="media")


def audio_recording(emu):
    """(conversationId, recordingId) of some audio recording."""
    st = emu.state()
    rid = st["recordings_by_media"]["audio"][0]
    for cid, rids in st["conversations"].items():
        if rid in rids:
            return cid, rid
    raise AssertionError("no audio recording")
