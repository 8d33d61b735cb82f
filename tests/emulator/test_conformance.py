"""Conformance: drive every operation of recording-openapi.json through a
validating Prism proxy (`prism proxy --errors`) in front of the emulator and
fail on any request/response violation that is not on the allowlist below.

Needs @stoplight/prism-cli (scripts/emulator/install-prism.sh puts it in
<repo>/.deps). Without it this file exits 77 (ctest SKIP)."""

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

from gcemu_helper import Emu, HERE

REPO = os.environ.get("RECFS_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
GCEMU_DIR = os.path.dirname(os.path.abspath(
    os.environ.get("GCEMU") or os.path.join(REPO, "scripts", "emulator", "gcemu.py")))
SPEC = os.path.join(GCEMU_DIR, "spec", "recording-openapi.json")


def find_prism():
    for p in (os.environ.get("PRISM"), os.path.join(REPO, ".deps", "node_modules", ".bin", "prism"),
              shutil.which("prism")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


PRISM = find_prism()
if PRISM is None or shutil.which("node") is None:
    print("SKIP: prism not installed (run scripts/emulator/install-prism.sh); "
          "looked in $PRISM, %s/.deps and PATH" % REPO, flush=True)
    sys.exit(77)

# Known, accepted differences between the 2017 definition and the emulator
# (which behaves like the live API). Each entry: (regex on the violation's
# JSON location joined with '.', violation code, regex on the message).
ALLOWLIST = [
    # The live API returns relative URIs ("/api/v2/...") in selfUri, firstUri,
    # nextUri, contentUri...; the spec says format "uri" (absolute).
    (r"(^|\.)\w*Uri$", "format", r'format "uri"'),
    # GET /conversations/{id}/recordings/{id}: S17 only documents 202; the
    # live API (and the 2026 definition) answers 200 with media ready.
    (r"^response$", "*", r"Unable to match the returned status code with those defined in the "
                          r"document: 202,400,401,403,404,415,429,500,503,504$"),
]


def allowed(v):
    loc = ".".join(str(x) for x in v.get("location", []))
    for lrx, code, mrx in ALLOWLIST:
        if re.search(lrx, loc) and (code == v.get("code") or code == "*") and re.search(mrx, v.get("message", "")):
            return True
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def future(days):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class ConformanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--transcode-ms", "0", "--media-seconds", "1")
        cls.port = free_port()
        cls.prism = subprocess.Popen(
            [PRISM, "proxy", "-h", "127.0.0.1", "-p", str(cls.port), SPEC, cls.emu.info["api_url"]],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        cls.prism_log = []
        ready = threading.Event()

        def reader():
            for line in cls.prism.stdout:
                line = line.decode(errors="replace")
                cls.prism_log.append(line)
                if "listening on" in line:
                    ready.set()
        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(90):
            cls.prism.kill()
            cls.emu.cleanup()
            raise RuntimeError("prism did not start:\n" + "".join(cls.prism_log[-30:]))

    @classmethod
    def tearDownClass(cls):
        cls.prism.terminate()
        try:
            cls.prism.wait(10)
        except subprocess.TimeoutExpired:
            cls.prism.kill()
        cls.emu.cleanup()

    def test_every_operation(self):
        import http.client
        e = self.emu
        token = e.login()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        problems = []

        def call(method, path, body=None, expect=None):
            h = {"Authorization": "Bearer " + token, "Accept": "application/json"}
            if body is not None:
                body = json.dumps(body)
                h["Content-Type"] = "application/json"
            t0 = time.time()
            conn.request(method, "/api/v2/" + path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            viol = json.loads(r.getheader("sl-violations") or "[]")
            bad = [v for v in viol if not allowed(v)]
            if bad:
                problems.append("%s %s -> %d: %s" % (method, path, r.status, json.dumps(bad)))
            if expect is not None and r.status not in ((expect,) if isinstance(expect, int) else expect):
                problems.append("%s %s -> %d (expected %s): %s" % (method, path, r.status, expect, data[:300]))
            if os.environ.get("CONF_DEBUG"):
                print("%.2fs %s %s -> %d %s" % (time.time() - t0, method, path, r.status, viol), file=sys.stderr)
            try:
                return r.status, (json.loads(data) if data else None)
            except ValueError:
                return r.status, None

        s = e.state()
        audio = s["recordings_by_media"]["audio"][0]
        cid = [c for c, rs in s["conversations"].items() if audio in rs][0]
        rbase = "conversations/%s/recordings/%s" % (cid, audio)

        # recordings
        call("GET", "conversations/%s/recordings?formatId=WAV&maxWaitMs=1000" % cid, expect=200)
        call("GET", rbase + "?formatId=MP3", expect=(200, 202))
        st, meta = call("GET", "conversations/%s/recordingmetadata/%s" % (cid, audio), expect=200)
        call("GET", "conversations/%s/recordingmetadata" % cid, expect=200)
        for rid in s["recordings_by_media"]["chat"] + s["recordings_by_media"]["email"]:
            c2 = [c for c, rs in s["conversations"].items() if rid in rs][0]
            call("GET", "conversations/%s/recordingmetadata/%s" % (c2, rid), expect=200)
        meta["archiveDate"] = future(10)
        meta["deleteDate"] = future(20)
        call("PUT", rbase, meta, expect=200)
        call("GET", "conversations/%s/recordings/nope?formatId=WAV" % cid, expect=404)
        call("GET", "conversations/nope/recordings", expect=404)
        # annotations
        call("GET", rbase + "/annotations", expect=200)
        st, a = call("POST", rbase + "/annotations", {"name": "Conformance", "location": 100, "durationMs": 10,
                                                      "agentScoreModifier": "0", "customerScoreModifier": "0"},
                     expect=200)
        aid = a["id"]
        call("GET", rbase + "/annotations/" + aid, expect=200)
        a["description"] = "updated"
        for k in ("selfUri", "id", "user"):
            a.pop(k, None)
        call("PUT", rbase + "/annotations/" + aid, a, expect=200)
        call("DELETE", rbase + "/annotations/" + aid, expect=204)
        call("GET", rbase + "/annotations/nope", expect=404)
        # local keys
        call("GET", "recording/localkeys/settings", expect=200)
        st, lk = call("POST", "recording/localkeys/settings", {"name": "Conf", "url": "https://k.example/x",
                                                               "apiId": "id", "apiKey": "key"}, expect=200)
        call("GET", "recording/localkeys/settings/" + lk["id"], expect=200)
        call("PUT", "recording/localkeys/settings/" + lk["id"], {"name": "Conf2", "url": "https://k.example/y",
                                                                 "apiId": "id", "apiKey": "key2"}, expect=200)
        call("POST", "recording/localkeys", {"configId": lk["id"], "publicKey": "QUJD", "keypairId": "kp"},
             expect=200)
        # policies
        call("GET", "recording/mediaretentionpolicies?pageSize=2", expect=200)
        st, p = call("POST", "recording/mediaretentionpolicies", {"name": "Conf policy", "enabled": True,
                                                                  "actions": {"retainRecording": True}}, expect=200)
        call("POST", "recording/mediaretentionpolicies", {"name": "Conf policy"}, expect=400)
        call("GET", "recording/mediaretentionpolicies/" + p["id"], expect=200)
        call("PUT", "recording/mediaretentionpolicies/" + p["id"], {"name": "Conf policy 2", "enabled": False},
             expect=200)
        call("PATCH", "recording/mediaretentionpolicies/" + p["id"], {"enabled": True}, expect=200)
        call("DELETE", "recording/mediaretentionpolicies/" + p["id"], expect=200)
        st, p2 = call("POST", "recording/mediaretentionpolicies", {"name": "Conf bulk"}, expect=200)
        call("DELETE", "recording/mediaretentionpolicies?ids=" + p2["id"], expect=200)
        call("GET", "recording/mediaretentionpolicies/nope", expect=404)
        # orphans
        st, ol = call("GET", "orphanrecordings?pageSize=2", expect=200)
        o1 = ol["entities"][0]["id"]
        call("GET", "orphanrecordings/" + o1, expect=200)
        call("GET", "orphanrecordings/%s/media?formatId=WAV" % o1, expect=(200, 202))
        call("PUT", "orphanrecordings/" + o1, {"conversationId": cid, "archiveDate": future(10),
                                               "deleteDate": future(20)}, expect=200)
        call("DELETE", "orphanrecordings/" + ol["entities"][1]["id"], expect=200)
        left = [o for o in s["orphans"] if o not in (o1, ol["entities"][1]["id"])][0]
        call("PUT", "orphanrecordings/" + left, {"conversationId": "nope"}, expect=400)
        # keys
        call("GET", "recording/recordingkeys", expect=200)
        call("POST", "recording/recordingkeys", expect=200)
        call("GET", "recording/recordingkeys/rotationschedule", expect=200)
        call("PUT", "recording/recordingkeys/rotationschedule", {"period": "WEEKLY"}, expect=200)
        # settings
        call("GET", "recording/settings", expect=200)
        call("PUT", "recording/settings", {"maxSimultaneousStreams": 4}, expect=200)
        # screen sessions
        st, ss = call("GET", "recordings/screensessions", expect=200)
        call("PATCH", "recordings/screensessions/" + ss["entities"][0]["id"], {"state": "STOPPED"}, expect=204)
        # user recordings
        st, ul = call("GET", "userrecordings?pageSize=3&pageNumber=2", expect=200)
        u = ul["entities"][0]
        call("GET", "userrecordings/" + u["id"], expect=200)
        call("PUT", "userrecordings/" + u["id"], {"name": "Renamed", "read": True}, expect=200)
        call("GET", "userrecordings/%s/media?formatId=WAV" % u["id"], expect=200)
        call("GET", "userrecordings/summary", expect=200)
        call("DELETE", "userrecordings/" + u["id"], expect=202)
        call("GET", "userrecordings/" + u["id"], expect=404)
        # analytics
        now = time.time()
        iv = "%s/%s" % (time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 8 * 86400)),
                        time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)))
        call("POST", "analytics/conversations/details/query",
             {"interval": iv, "order": "asc", "orderBy": "conversationStart",
              "paging": {"pageSize": 25, "pageNumber": 1}}, expect=200)
        call("POST", "analytics/conversations/details/query",
             {"interval": "2001-01-01T00:00:00Z/2001-01-02T00:00:00Z", "paging": {"pageSize": 25, "pageNumber": 1}},
             expect=200)
        call("POST", "analytics/conversations/details/query", {"interval": iv, "bogus": True})
        # errors without a token
        conn.request("GET", "/api/v2/userrecordings")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 401)
        conn.close()

        # every operation of the spec was exercised
        with open(SPEC) as f:
            spec = json.load(f)
        ops = {"%s %s" % (m.upper(), p) for p, o in spec["paths"].items() for m in o if m != "parameters"}
        counts = e.counters()["counts"]
        missing = sorted(op for op in ops if not counts.get(op))
        self.assertEqual(missing, [], "operations never called")
        self.assertEqual(len(ops), 42)
        self.assertEqual(problems, [], "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
