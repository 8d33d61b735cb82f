"""Control endpoint: fault injection, counters, rate limit, token expiry, 202 flow."""

import http.client
import json
import socket
import time
import unittest

from gcemu_helper import Emu, audio_recording


def raw_exchange(host, port, request, timeout=5.0):
    """Send a raw request, read until EOF/RST. -> (bytes received, error name or None)."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(request)
    data = b""
    err = None
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except ConnectionResetError:
        err = "reset"
    except socket.timeout:
        err = "timeout"
    s.close()
    return data, err


class FaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--transcode-ms", "0", "--media-seconds", "2", "--conversations", "4",
                      "--user-recordings", "5")

    @classmethod
    def tearDownClass(cls):
        cls.emu.cleanup()

    def setUp(self):
        self.emu.control("POST", "reset")

    def fault(self, **f):
        st, js = self.emu.control("POST", "faults", f)
        self.assertEqual(st, 200, js)
        self.assertIn("id", js)

    def test_status_fault(self):
        e = self.emu
        self.fault(match=r"^GET /api/v2/userrecordings$", status=503, count=2)
        self.assertEqual(e.get("userrecordings")[0], 503)
        st, js, h = e.get("userrecordings")
        self.assertEqual((st, js["code"], js["status"]), (503, "service.unavailable", 503))
        self.assertEqual(e.get("userrecordings")[0], 200)
        self.fault(match=r"userrecordings/summary", status=429, retry_after=3)
        st, js, h = e.get("userrecordings/summary")
        self.assertEqual((st, h["retry-after"], js["code"]), (429, "3", "too.many.requests.retry.after"))
        self.assertEqual(js["message"], "Rate limit exceeded the maximum. Retry the request in [3] seconds")
        c = e.counters()
        self.assertEqual(c["counts"]["GET /api/v2/userrecordings"], 3)
        self.assertEqual(c["counts"]["GET /api/v2/userrecordings/summary"], 1)
        self.assertEqual([r["status"] for r in c["requests"] if r["path"] == "/api/v2/userrecordings"],
                         [503, 503, 200])

    def test_fault_until_reset_and_delete(self):
        e = self.emu
        self.fault(match="summary", status=500, count=-1)
        for _ in range(3):
            self.assertEqual(e.get("userrecordings/summary")[0], 500)
        e.control("DELETE", "faults")
        self.assertEqual(e.get("userrecordings/summary")[0], 200)

    def test_fault_array(self):
        e = self.emu
        st, js = e.control("POST", "faults", [{"match": "summary", "status": 500}, {"match": "summary", "status": 502}])
        self.assertEqual(len(js["ids"]), 2)
        self.assertEqual(e.get("userrecordings/summary")[0], 500)
        self.assertEqual(e.get("userrecordings/summary")[0], 502)
        self.assertEqual(e.get("userrecordings/summary")[0], 200)

    def test_query_narrows(self):
        e = self.emu
        self.fault(match=r"^GET /api/v2/userrecordings$", query=r"pageNumber=2(&|$)", status=503)
        self.assertEqual(e.get("userrecordings?pageSize=2&pageNumber=1")[0], 200)
        self.assertEqual(e.get("userrecordings?pageSize=2&pageNumber=3")[0], 200)
        self.assertEqual(e.get("userrecordings?pageNumber=2&pageSize=2")[0], 503)
        self.assertEqual(e.get("userrecordings?pageSize=2&pageNumber=2")[0], 200)  # count 1: used
        st, js = e.control("POST", "faults", {"match": "summary", "query": 3})
        self.assertEqual(st, 400, js)
        st, js = e.control("POST", "faults", {"match": "summary", "query": "("})
        self.assertEqual(st, 400, js)

    def test_latency(self):
        self.fault(match="summary", latency_ms=300)
        t = time.time()
        st, _, _ = self.emu.get("userrecordings/summary")
        self.assertEqual(st, 200)
        self.assertGreaterEqual(time.time() - t, 0.29)

    def test_stall(self):
        e = self.emu
        e.login()
        self.fault(match="summary", stall_ms=1500)
        c = http.client.HTTPConnection(e.api.hostname, e.api.port, timeout=0.5)
        c.request("GET", "/api/v2/userrecordings/summary", headers={"Authorization": "Bearer " + e.token})
        r = c.getresponse()  # headers arrive at once
        self.assertEqual(r.status, 200)
        with self.assertRaises(socket.timeout):
            r.read()
        c.close()

    def test_reset_after_bytes_media(self):
        e = self.emu
        cid, rid = audio_recording(e)
        st, r, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (cid, rid))
        url = r["mediaUris"]["0"]["mediaUri"]
        path = url[len(e.info["media_url"]):]
        self.fault(match=r"^GET /media/", reset_after_bytes=1000)
        req = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()
        data, err = raw_exchange(e.media.hostname, e.media.port, req)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertIn(b"200 OK", head)
        self.assertEqual(len(body), 1000)
        self.assertEqual(err, "reset")
        self.assertEqual(e.counters()["counts"]["GET /media/{key}"], 1)
        # next request is fine
        self.assertEqual(e.media_get(url)[0], 200)

    def test_truncate(self):
        e = self.emu
        e.login()
        self.fault(match="GET /api/v2/userrecordings$", truncate=True)
        req = ("GET /api/v2/userrecordings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
               % e.token).encode()
        data, err = raw_exchange(e.api.hostname, e.api.port, req)
        head, _, body = data.partition(b"\r\n\r\n")
        cl = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
        self.assertLess(len(body), cl)
        self.assertIsNone(err)

    def test_malformed(self):
        self.fault(match="GET /api/v2/userrecordings$", malformed=True)
        st, _, raw = self.emu.raw("GET", "/api/v2/userrecordings", headers={"Authorization": "Bearer " + self.emu.login()})
        self.assertEqual(st, 200)
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_login_fault(self):
        self.fault(match="POST /oauth/token", status=503)
        st, _, _ = self.emu.raw("POST", "/oauth/token", "grant_type=client_credentials")
        self.assertEqual(st, 503)
        self.assertEqual(self.emu.counters()["counts"]["POST /oauth/token"], 1)

    def test_expire_tokens(self):
        e = self.emu
        e.login()
        self.assertEqual(e.get("userrecordings/summary")[0], 200)
        e.control("POST", "expire-tokens")
        st, js, _ = e.get("userrecordings/summary")
        self.assertEqual((st, js["code"]), (401, "bad.credentials"))
        e.login()
        self.assertEqual(e.get("userrecordings/summary")[0], 200)

    def test_counters_log(self):
        e = self.emu
        e.login()
        e.get("userrecordings/summary", token=False)
        c = e.counters()
        self.assertEqual(c["total"], 2)
        last = c["requests"][-1]
        self.assertEqual((last["method"], last["path"], last["status"], last["authorization"]),
                         ("GET", "/api/v2/userrecordings/summary", 401, False))
        self.assertNotIn(e.token, json.dumps(c))


class RateLimitTest(unittest.TestCase):
    def test_rate_limit(self):
        with Emu("--seed", "empty", "--rate-limit", "5/2") as e:
            e.login()
            sts = [e.get("recording/settings")[0] for _ in range(5)]
            self.assertEqual(sts, [200] * 5)
            st, js, h = e.get("recording/settings")
            self.assertEqual((st, js["code"]), (429, "too.many.requests.retry.after"))
            ra = int(h["retry-after"])
            self.assertTrue(1 <= ra <= 2)
            self.assertEqual(js["message"], "Rate limit exceeded the maximum. Retry the request in [%d] seconds" % ra)
            self.assertEqual(js["limit"]["value"], 5)
            c = e.counters()["counts"]
            self.assertEqual(c["GET /api/v2/recording/settings"], 6)
            time.sleep(ra + 0.1)
            self.assertEqual(e.get("recording/settings")[0], 200)


class TokenTtlTest(unittest.TestCase):
    def test_token_ttl(self):
        with Emu("--seed", "empty", "--token-ttl", "1") as e:
            st, _, body = e.raw("POST", "/oauth/token", "grant_type=client_credentials",
                                {"Authorization": "Basic cmVjZnMtZGVtbzpyZWNmcy1kZW1vLXNlY3JldA==",
                                 "Content-Type": "application/x-www-form-urlencoded"})
            js = json.loads(body)
            self.assertEqual(js["expires_in"], 1)
            e.token = js["access_token"]
            self.assertEqual(e.get("recording/settings")[0], 200)
            time.sleep(1.2)
            st, js, _ = e.get("recording/settings")
            self.assertEqual(st, 401)


class TranscodeTest(unittest.TestCase):
    def test_202_flow(self):
        with Emu("--transcode-ms", "600", "--media-seconds", "1", "--conversations", "3",
                 "--user-recordings", "1") as e:
            cid, rid = audio_recording(e)
            path = "conversations/%s/recordings/%s?formatId=OGG_OPUS" % (cid, rid)
            st, r, _ = e.get(path)
            self.assertEqual(st, 202)
            self.assertEqual(r["id"], rid)
            self.assertNotIn("mediaUris", r)
            # metadata never triggers or waits
            st, m, _ = e.get("conversations/%s/recordingmetadata/%s" % (cid, rid))
            self.assertEqual(st, 200)
            # other formats are independent
            self.assertEqual(e.get("conversations/%s/recordings/%s?formatId=MP3" % (cid, rid))[0], 202)
            time.sleep(0.65)
            st, r, _ = e.get(path)
            self.assertEqual(st, 200)
            self.assertIn("mediaUris", r)
            # list endpoint: maxWaitMs smaller than the transcode -> 202 empty body
            t = time.time()
            st, body, _ = e.get("conversations/%s/recordings?formatId=WAV&maxWaitMs=100" % cid)
            self.assertEqual((st, body), (202, None))
            self.assertGreaterEqual(time.time() - t, 0.09)
            # maxWaitMs long enough -> waits and answers 200
            st, lst, _ = e.get("conversations/%s/recordings?formatId=WAV&maxWaitMs=3000" % cid)
            self.assertEqual(st, 200)
            self.assertTrue(all("mediaUris" in x for x in lst))
            oid = e.state()["orphans"][0]
            self.assertEqual(e.get("orphanrecordings/%s/media?formatId=WAV" % oid)[0], 202)
            time.sleep(0.65)
            self.assertEqual(e.get("orphanrecordings/%s/media?formatId=WAV" % oid)[0], 200)


if __name__ == "__main__":
    unittest.main()
