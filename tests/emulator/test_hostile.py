"""Hostile faults: a misbehaving server for the reliability tests.
Each test is bounded to a few seconds."""

import gzip
import http.client
import json
import socket
import time
import unittest
import urllib.parse
import zlib

from gcemu_helper import Emu

UR = "/api/v2/userrecordings"


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--transcode-ms", "0", "--media-seconds", "1", "--conversations", "3",
                      "--user-recordings", "30")

    @classmethod
    def tearDownClass(cls):
        cls.emu.cleanup()

    def setUp(self):
        self.emu.control("POST", "reset")

    def fault(self, **f):
        st, js = self.emu.control("POST", "faults", f)
        self.assertEqual(st, 200, js)
        return js

    def fresh(self, timeout=10):
        """A new raw connection to the API port and the auth header."""
        e = self.emu
        if e.token is None:
            e.login()
        c = http.client.HTTPConnection(e.api.hostname, e.api.port, timeout=timeout)
        return c, {"Authorization": "Bearer " + e.token}

    def test_bad_fault_objects(self):
        for f in ({"match": "x", "hostile": "nope"}, {"match": "x", "hostile": "bad_ids", "ids": []},
                  {"match": "x", "hostile": "redirect", "location": "http://example.com/"},
                  {"match": "x", "hostile": "huge_body", "size": -1},
                  {"match": "x", "hostile": "content_length_lie", "direction": "up"}):
            st, js = self.emu.control("POST", "faults", f)
            self.assertEqual(st, 400, f)
            self.assertIn("error", js)

    def test_bad_ids_listing(self):
        e = self.emu
        st, normal, _ = e.get("userrecordings?pageSize=5")
        self.fault(match="^GET %s$" % UR, hostile="bad_ids")
        st, js, _ = e.get("userrecordings?pageSize=5")
        self.assertEqual(st, 200)
        ids = [x["id"] for x in js["entities"]]
        self.assertEqual(ids[:5], [x["id"] for x in normal["entities"]])
        self.assertEqual(ids[5:], ["../../etc", "..", "a/b", "x\u0000y", "\u0007ctl\n", "x" * 10240])
        self.assertEqual(js["total"], normal["total"] + 6)
        # the NUL travels as the JSON escape \u0000
        self.assertEqual(e.get("userrecordings?pageSize=5")[1], normal)  # count 1: used up

    def test_bad_ids_custom_fields_and_single_document(self):
        e = self.emu
        rid = e.state()["userrecordings"][0]
        self.fault(match="^GET %s$" % UR, hostile="bad_ids", ids=["a/b"], fields=["id", "name"])
        js = e.get("userrecordings?pageSize=2")[1]
        self.assertEqual((js["entities"][-1]["id"], js["entities"][-1]["name"]), ("a/b", "a/b"))
        self.fault(match="^GET %s/" % UR, hostile="bad_ids", ids=[".."])
        self.assertEqual(e.get("userrecordings/" + rid)[1]["id"], "..")
        # analytics: conversationId is poisoned
        self.fault(match="analytics", hostile="bad_ids", ids=["../x"])
        js = e.call("POST", "analytics/conversations/details/query",
                    {"interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z"})[1]
        self.assertEqual(js["conversations"][-1]["conversationId"], "../x")

    def test_endless_paging(self):
        e = self.emu
        self.fault(match="^GET %s$" % UR, hostile="endless_paging", count=-1)
        path = UR + "?pageSize=10"
        seen = set()
        for n in range(1, 8):
            st, js, _ = e.get(path)
            self.assertEqual(st, 200)
            self.assertEqual((js["pageNumber"], js["pageCount"]), (n, n + 1))
            self.assertGreater(js["total"], n * 10)
            self.assertEqual(len(js["entities"]), 10)
            seen.update(x["id"] for x in js["entities"])
            self.assertIn("nextUri", js)
            self.assertTrue(js["nextUri"].endswith("pageNumber=%d" % (n + 1)), js["nextUri"])
            path = js["nextUri"]
        self.assertEqual(len(seen), 70)  # ids are made unique per page
        e.control("DELETE", "faults")
        self.fault(match="^GET %s$" % UR, hostile="endless_paging", next="self", repeat_ids=True)
        js = e.get(UR + "?pageSize=5&pageNumber=3")[1]
        self.assertEqual((js["pageNumber"], js["pageCount"], js["nextUri"]), (3, 4, js["selfUri"]))

    def test_huge_body(self):
        c, hdrs = self.fresh(timeout=5)
        self.fault(match="^GET %s$" % UR, hostile="huge_body")
        t0 = time.monotonic()
        c.request("GET", UR, headers=hdrs)
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.getheader("Content-Length")), 2 << 30)
        got = r.read(4 << 20)
        self.assertEqual(len(got), 4 << 20)
        self.assertTrue(got.startswith(b'{"entities":[{"id":"huge"'))
        c.close()  # the server stops streaming
        self.assertLess(time.monotonic() - t0, 5)
        # a small one is a complete, valid document of exactly that size
        self.fault(match="^GET %s$" % UR, hostile="huge_body", size=1000000)
        st, h, body = self.emu.raw("GET", UR, headers=hdrs)
        self.assertEqual((st, len(body)), (200, 1000000))
        self.assertEqual(json.loads(body)["entities"][-1]["id"], "last")
        # the server is still fine
        self.assertEqual(self.emu.get("userrecordings/summary")[0], 200)

    def test_huge_body_without_length(self):
        c, hdrs = self.fresh(timeout=5)
        self.fault(match="^GET %s$" % UR, hostile="huge_body", size=300000, no_length=True)
        c.request("GET", UR, headers=hdrs)
        r = c.getresponse()
        self.assertIsNone(r.getheader("Content-Length"))
        self.assertEqual(len(r.read()), 300000)  # ends at close
        c.close()

    def test_gzip_bomb(self):
        e = self.emu
        c, hdrs = self.fresh()
        self.fault(match="^GET %s$" % UR, hostile="gzip_bomb", count=2)
        t0 = time.monotonic()
        c.request("GET", UR, headers=dict(hdrs, **{"Accept-Encoding": "gzip"}))
        r = c.getresponse()
        self.assertEqual((r.status, r.getheader("Content-Encoding")), (200, "gzip"))
        body = r.read()
        self.assertLess(len(body), 2 << 20)
        self.assertEqual(int(r.getheader("Content-Length")), len(body))
        d = zlib.decompressobj(31)
        out = d.decompress(body, 64 << 20)
        self.assertEqual(len(out), 64 << 20)  # and much more behind it
        self.assertTrue(out.startswith(b'{"entities":['))
        self.assertLess(time.monotonic() - t0, 10)
        c.close()
        # a small bomb is a valid gzip stream of valid JSON
        e.control("DELETE", "faults")
        self.fault(match="^GET %s$" % UR, hostile="gzip_bomb", size=3 << 20, count=2)
        st, h, body = e.raw("GET", UR, headers=dict(hdrs, **{"Accept-Encoding": "deflate, gzip;q=0.5"}))
        full = gzip.decompress(body)
        self.assertEqual(len(full), (3 << 20) + len('{"entities":[],"total":0}'))
        self.assertEqual(json.loads(full), {"entities": [], "total": 0})
        # without Accept-Encoding: gzip the answer is the normal one
        st, js, h = e.get("userrecordings")
        self.assertEqual(st, 200)
        self.assertNotIn("content-encoding", h)
        self.assertIn("entities", js)

    def test_redirect_to_alt_host(self):
        e = self.emu
        js = self.fault(match="^GET %s/summary$" % UR, hostile="redirect")
        alt = urllib.parse.urlsplit(js["alt_url"])
        self.assertTrue(alt.hostname.startswith("127."))
        self.assertNotEqual((alt.hostname, alt.port), (e.api.hostname, e.api.port))
        st, _, h = e.get("userrecordings/summary")
        self.assertEqual(st, 302)
        loc = urllib.parse.urlsplit(h["location"])
        self.assertEqual((loc.hostname, loc.port, loc.path), (alt.hostname, alt.port, UR + "/summary"))
        # a client that follows it with its token: recorded, and served
        c = http.client.HTTPConnection(loc.hostname, loc.port, timeout=5)
        c.request("GET", loc.path, headers={"Authorization": "Bearer " + e.token})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        r.read()
        c.request("GET", loc.path)  # and one without
        r = c.getresponse()
        self.assertEqual(r.status, 401)
        r.read()
        c.close()
        reqs = [x for x in e.counters()["requests"] if x["path"] == UR + "/summary"]
        self.assertEqual([(x["server"], x["status"], x["authorization"]) for x in reqs],
                         [("api", 302, True), ("alt", 200, True), ("alt", 401, False)])
        self.assertEqual(e.counters()["counts"]["alt:GET /api/v2/userrecordings/summary"], 2)

    def test_redirect_to_media_and_location(self):
        e = self.emu
        self.fault(match="^GET %s$" % UR, hostile="redirect", to="media", status=307)
        st, _, h = e.get("userrecordings?pageSize=2")
        self.assertEqual(st, 307)
        self.assertEqual(h["location"], e.info["media_url"] + UR + "?pageSize=2")
        self.fault(match="^GET %s$" % UR, hostile="redirect", location="http://127.0.0.9:1/x")
        self.assertEqual(e.get("userrecordings")[2]["location"], "http://127.0.0.9:1/x")

    def test_content_length_short(self):
        e = self.emu
        c, hdrs = self.fresh(timeout=3)
        full = e.get("userrecordings/summary")[2]
        self.fault(match="^GET %s/summary$" % UR, hostile="content_length_lie")
        s = socket.create_connection((e.api.hostname, e.api.port), timeout=3)
        req = "GET %s/summary HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n" % (UR, hdrs["Authorization"])
        s.sendall(req.encode())
        data = b""
        while b"}" not in data:
            data += s.recv(65536)
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        claimed = int([ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")][0])
        self.assertEqual(len(body), int(full["content-length"]))
        self.assertLess(claimed, len(body))
        c.close()

    def test_content_length_long(self):
        e = self.emu
        c, hdrs = self.fresh(timeout=1)
        self.fault(match="^GET %s/summary$" % UR, hostile="content_length_lie", direction="long")
        c.request("GET", UR + "/summary", headers=hdrs)
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        claimed = int(r.getheader("Content-Length"))
        got = r.read1(claimed)
        self.assertLess(len(got), claimed)
        with self.assertRaises(socket.timeout):  # the rest never comes
            r.read(claimed - len(got))
        c.close()


if __name__ == "__main__":
    unittest.main()
