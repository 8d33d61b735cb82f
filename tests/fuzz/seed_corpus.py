#!/usr/bin/env python3
"""seed_corpus.py - seed the libFuzzer corpora of tests/fuzz/ with real
responses of the emulator (scripts/emulator/gcemu.py).

Starts the emulator (demo seed) on 127.0.0.1:0, fetches documents,
listing pages, token, media and error responses, and writes them as seed
files under OUT/<target>/ in the input format of each target (see
tests/fuzz/fuzz_util.h: first byte 'A'+kind where a kind is needed).
Files are small (bodies above 16 KiB are skipped). Exit status 0, or 77
when the emulator cannot be started.

usage: seed_corpus.py --out DIR [--gcemu PATH] [--max-docs N]
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

# enum api_kind order (client/api_client.h)
KINDS = ["RECORDING", "ANNOTATION", "USER_RECORDING", "ORPHAN", "POLICY",
         "SETTINGS", "KEY", "ROTATION_SCHEDULE", "LOCALKEY_SETTINGS",
         "LOCALKEY_REQUEST", "SCREEN_SESSION", "FAX_SUMMARY", "CONVERSATION"]
MAX_SEED = 16 * 1024


def kb(kind):
    return bytes([ord("A") + KINDS.index(kind)])


class Seeder:
    def __init__(self, out):
        self.out = out
        self.n = 0

    def put(self, target, data):
        if len(data) > MAX_SEED:
            return
        d = os.path.join(self.out, target)
        os.makedirs(d, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        self.n += 1


class Emu:
    def __init__(self, gcemu):
        self.tmp = tempfile.mkdtemp(prefix="recfs-fuzzseed-")
        self.proc = subprocess.Popen(
            [sys.executable, gcemu, "--data", os.path.join(self.tmp, "d"),
             "--listen", "127.0.0.1:0", "--seed", "demo",
             "--transcode-ms", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        self.info = json.loads(line)
        self.token = None

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def req(self, method, url, body=None, headers=None):
        r = urllib.request.Request(url, data=body, method=method,
                                   headers=headers or {})
        try:
            with urllib.request.urlopen(r, timeout=20) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def login(self):
        i = self.info
        cred = base64.b64encode(("%s:%s" % (i["client_id"], i["client_secret"]))
                                .encode()).decode()
        st, body = self.req("POST", i["login_url"] + "/oauth/token",
                            b"grant_type=client_credentials",
                            {"Authorization": "Basic " + cred,
                             "Content-Type": "application/x-www-form-urlencoded"})
        self.token = json.loads(body)["access_token"]
        return body

    def api(self, method, path, body=None):
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            h["Content-Type"] = "application/json"
        return self.req(method, self.info["api_url"] + "/api/v2" + path, body, h)


def entities(body):
    try:
        d = json.loads(body)
    except ValueError:
        return []
    if isinstance(d, list):
        return d
    return d.get("entities") or d.get("conversations") or []


def seed_doc(s, kind, doc):
    raw = json.dumps(doc).encode()
    s.put("fuzz_entry", kb(kind) + raw)
    s.put("fuzz_check", kb(kind) + raw + b"\0" + raw)
    s.put("fuzz_check", kb(kind) + raw)
    s.put("fuzz_decode", raw)


def seed_listing(s, e, kind, path, max_docs):
    st, body = e.api("GET", path)
    if st != 200:
        s.put("fuzz_error", body)
        return []
    s.put("fuzz_list", kb(kind) + b"\x20" + body)
    s.put("fuzz_list", kb(kind) + b"\x01" + body)
    docs = entities(body)[:max_docs]
    for d in docs:
        seed_doc(s, kind, d)
    return docs


def seed_singletons(s, e):
    for kind, path in (("SETTINGS", "/recording/settings"),
                       ("ROTATION_SCHEDULE",
                        "/recording/recordingkeys/rotationschedule"),
                       ("FAX_SUMMARY", "/userrecordings/summary")):
        st, body = e.api("GET", path)
        if st == 200:
            seed_doc(s, kind, json.loads(body))


def seed_conversations(s, e, state, max_docs):
    for cid in list(state.get("conversations", {}))[:max_docs]:
        recs = seed_listing(s, e, "RECORDING",
                            "/conversations/%s/recordingmetadata" % cid, 2)
        for r in recs[:2]:
            st, body = e.api("GET", "/conversations/%s/recordings/%s?formatId=WAV"
                             % (cid, r["id"]))
            s.put("fuzz_decode", body)
            seed_listing(s, e, "ANNOTATION", "/conversations/%s/recordings/%s/"
                         "annotations" % (cid, r["id"]), 2)
    q = {"interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z",
         "paging": {"pageSize": 3, "pageNumber": 1}}
    st, body = e.api("POST", "/analytics/conversations/details/query",
                     json.dumps(q).encode())
    if st == 200:
        s.put("fuzz_list", kb("CONVERSATION") + b"\x20" + body)
        for c in entities(body)[:max_docs]:
            seed_doc(s, "CONVERSATION", c)


def seed_errors(s, e):
    for path in ("/userrecordings/no-such-id", "/orphanrecordings/..%2f",
                 "/recording/mediaretentionpolicies/nope"):
        st, body = e.api("GET", path)
        s.put("fuzz_error", body)
    st, body = e.req("POST", e.info["login_url"] + "/oauth/token",
                     b"grant_type=client_credentials",
                     {"Authorization": "Basic eDp5"})
    s.put("fuzz_error", body)
    st, body = e.api("POST", "/recording/mediaretentionpolicies", b"{}")
    s.put("fuzz_error", body)


def seed_paths(s, state):
    convs = state.get("conversations", {})
    for cid, recs in list(convs.items())[:3]:
        s.put("fuzz_path", ("/conversations/%s" % cid).encode())
        for rid in recs[:1]:
            base = "/conversations/%s/%s" % (cid, rid)
            for leaf in ("", "/metadata.json", "/media.ulaw.wav",
                         "/annotations/a-1.json", "/.metadata.json.swp"):
                s.put("fuzz_path", (base + leaf).encode())
    for p in ("/", "/by-date/2024-02-29/c-1", "/userrecordings/summary.json",
              "/orphanrecordings/o-1/media.webm", "/policies/p.json",
              "/keys/rotationschedule.json", "/localkeys/settings/x.json",
              "/localkeys/requests/new.json", "/screensessions/s.json",
              "/settings.json", "/.recfs/status.json", "/policies/4913",
              "/keys/k~"):
        s.put("fuzz_path", p.encode())


def seed_headers(s, e):
    for h in (b"bytes 0-99/1000", b"bytes 5-5/*", b"bytes 0-0/1",
              b"https://media.example.com/a?X-Amz-Signature=1\0"
              b"https://media.example.com/b",
              b"http://127.0.0.1:8080/x#f\0http://localhost:8080/",
              b"http://[::1]:1/\0HTTP://[::1]:1/", b"audio/ogg; codecs=opus",
              b"media.ulaw.wav"):
        s.put("fuzz_header", h)
    s.put("fuzz_header", e.info["media_url"].encode() + b"/media/k?sig=1\0" +
          e.info["api_url"].encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--gcemu", default=os.environ.get("GCEMU") or os.path.join(
        os.path.dirname(__file__), "..", "..", "scripts", "emulator", "gcemu.py"))
    ap.add_argument("--max-docs", type=int, default=3)
    a = ap.parse_args()
    if not os.path.exists(a.gcemu):
        print("seed_corpus: no emulator at %s" % a.gcemu, file=sys.stderr)
        return 77
    try:
        e = Emu(a.gcemu)
    except (OSError, ValueError) as ex:
        print("seed_corpus: emulator did not start: %s" % ex, file=sys.stderr)
        return 77
    s = Seeder(a.out)
    try:
        s.put("fuzz_decode", e.login())
        st, state = e.req("GET", e.info["control_url"] + "/state")
        state = json.loads(state)
        for kind, path in (("USER_RECORDING", "/userrecordings?pageSize=3"),
                           ("ORPHAN", "/orphanrecordings?pageSize=3"),
                           ("POLICY", "/recording/mediaretentionpolicies?pageSize=3"),
                           ("KEY", "/recording/recordingkeys?pageSize=3"),
                           ("LOCALKEY_SETTINGS", "/recording/localkeys/settings"),
                           ("SCREEN_SESSION", "/recordings/screensessions?pageSize=3")):
            docs = seed_listing(s, e, kind, path, a.max_docs)
            if kind == "USER_RECORDING" and docs:
                st, body = e.api("GET", "/userrecordings/%s/media?formatId=WEBM"
                                 % docs[0]["id"])
                s.put("fuzz_decode", body)
        seed_singletons(s, e)
        seed_conversations(s, e, state, a.max_docs)
        seed_errors(s, e)
        seed_paths(s, state)
        seed_headers(s, e)
    finally:
        e.close()
    print("seed_corpus: %d seed files under %s" % (s.n, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
