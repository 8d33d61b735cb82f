"""Media host: pre-signed URLs, Range, ETag, conditional requests, formats."""

import hashlib
import json
import shutil
import subprocess
import time
import unittest
import urllib.parse

from gcemu_helper import Emu, audio_recording

CTYPES = {"WAV": "audio/wav", "WEBM": "audio/webm", "WAV_ULAW": "audio/wav", "OGG_VORBIS": "audio/ogg",
          "OGG_OPUS": "audio/opus", "MP3": "audio/mpeg", "NONE": "audio/opus"}


class MediaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--transcode-ms", "0", "--media-seconds", "3")
        cls.cid, cls.rid = audio_recording(cls.emu)

    @classmethod
    def tearDownClass(cls):
        cls.emu.cleanup()

    def url(self, fmt="WAV"):
        st, r, _ = self.emu.get("conversations/%s/recordings/%s?formatId=%s" % (self.cid, self.rid, fmt))
        self.assertEqual(st, 200, r)
        return r["mediaUris"]["0"]["mediaUri"]

    def info(self, fmt="WAV"):
        return self.emu.control("GET", "media?kind=recording&id=%s&format=%s" % (self.rid, fmt))[1]

    def test_all_formats_valid(self):
        have_ffprobe = shutil.which("ffprobe") is not None
        for fmt, ct in CTYPES.items():
            with self.subTest(fmt=fmt):
                st, h, body = self.emu.media_get(self.url(fmt))
                self.assertEqual(st, 200)
                self.assertEqual(h["content-type"], ct)
                inf = self.info(fmt)
                self.assertEqual(len(body), inf["size"])
                self.assertEqual(int(h["content-length"]), inf["size"])
                self.assertEqual(hashlib.sha256(body).hexdigest(), inf["sha256"])
                self.assertTrue(h["etag"].startswith('"') and h["etag"].endswith('"'))
                self.assertIn("last-modified", h)
                if have_ffprobe:
                    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                                        "-of", "json", inf["path"]], capture_output=True)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    dur = float(json.loads(r.stdout)["format"]["duration"])
                    self.assertAlmostEqual(dur, 3.0, delta=0.3)
        self.assertTrue(self.emu.get("conversations/%s/recordings/%s?formatId=WAV_ULAW" % (self.cid, self.rid))[1]
                        ["outputSizeInBytes"] > 0)

    def test_range(self):
        url = self.url()
        inf = self.info()
        with open(inf["path"], "rb") as f:
            full = f.read()
        size = len(full)
        for rng, a, b in (("bytes=0-99", 0, 99), ("bytes=100-", 100, size - 1), ("bytes=-50", size - 50, size - 1),
                          ("bytes=10-%d" % (size + 100), 10, size - 1)):
            st, h, body = self.emu.media_get(url, {"Range": rng})
            self.assertEqual(st, 206, rng)
            self.assertEqual(h["content-range"], "bytes %d-%d/%d" % (a, b, size))
            self.assertEqual(int(h["content-length"]), b - a + 1)
            self.assertEqual(body, full[a:b + 1])
        st, h, body = self.emu.media_get(url, {"Range": "bytes=%d-" % size})
        self.assertEqual(st, 416)
        self.assertEqual(h["content-range"], "bytes */%d" % size)
        st, h, body = self.emu.media_get(url, {"Range": "bytes=9-3"})
        self.assertEqual((st, len(body)), (200, size))
        st, h, body = self.emu.media_get(url, {"Range": "bytes=0-1,5-6"})
        self.assertEqual((st, len(body)), (200, size))

    def test_head(self):
        url = self.url()
        st, h, body = self.emu.media_get(url, method="HEAD")
        self.assertEqual(st, 200)
        self.assertEqual(body, b"")
        self.assertEqual(int(h["content-length"]), self.info()["size"])
        st, h, body = self.emu.media_get(url, {"Range": "bytes=0-9"}, method="HEAD")
        self.assertEqual((st, h["content-length"]), (206, "10"))
        # the connection stays usable after a HEAD
        st, h, body = self.emu.media_get(url, {"Range": "bytes=0-3"})
        self.assertEqual(body, b"RIFF")

    def test_conditionals(self):
        url = self.url()
        st, h, _ = self.emu.media_get(url, method="HEAD")
        etag = h["etag"]
        self.assertEqual(self.info()["etag"], etag)
        st, _, _ = self.emu.media_get(url, {"If-Match": etag, "Range": "bytes=0-1"})
        self.assertEqual(st, 206)
        st, _, _ = self.emu.media_get(url, {"If-Match": '"deadbeef"'})
        self.assertEqual(st, 412)
        st, _, body = self.emu.media_get(url, {"If-Range": '"deadbeef"', "Range": "bytes=0-1"})
        self.assertEqual(st, 200)
        self.assertEqual(len(body), self.info()["size"])
        st, _, body = self.emu.media_get(url, {"If-Range": etag, "Range": "bytes=0-1"})
        self.assertEqual((st, len(body)), (206, 2))
        st, _, _ = self.emu.media_get(url, {"If-None-Match": etag})
        self.assertEqual(st, 304)

    def test_auth_header_rejected(self):
        st, h, body = self.emu.media_get(self.url(), {"Authorization": "Bearer x"})
        self.assertEqual(st, 400)
        self.assertIn(b"Only one auth mechanism allowed", body)

    def test_bad_signature(self):
        url = self.url()
        u = urllib.parse.urlsplit(url)
        q = urllib.parse.parse_qs(u.query)
        bad = "%s://%s%s?X-Expires=%s&X-Signature=%s" % (u.scheme, u.netloc, u.path, q["X-Expires"][0],
                                                         "0" * 64)
        self.assertEqual(self.emu.media_get(bad)[0], 403)
        longer = "%s://%s%s?X-Expires=%d&X-Signature=%s" % (u.scheme, u.netloc, u.path,
                                                            int(q["X-Expires"][0]) + 10, q["X-Signature"][0])
        self.assertEqual(self.emu.media_get(longer)[0], 403)
        self.assertEqual(self.emu.media_get("%s://%s%s" % (u.scheme, u.netloc, u.path))[0], 403)

    def test_mutated_media_new_etag(self):
        url = self.url("MP3")
        st, h1, _ = self.emu.media_get(url, method="HEAD")
        st, m = self.emu.control("POST", "mutate", {"kind": "media", "id": self.rid, "format": "MP3"})
        self.assertEqual(st, 200)
        st, h2, body = self.emu.media_get(self.url("MP3"))
        self.assertNotEqual(h1["etag"], h2["etag"])
        self.assertEqual(hashlib.sha256(body).hexdigest(), self.info("MP3")["sha256"])
        st, _, _ = self.emu.media_get(url, {"If-Match": h1["etag"]})
        self.assertEqual(st, 412)

    def test_userrecording_and_orphan_media(self):
        e = self.emu
        uid = e.state()["userrecordings"][0]
        st, d, _ = e.get("userrecordings/%s/media?formatId=OGG_VORBIS" % uid)
        st, h, body = e.media_get(d["contentLocationUri"])
        self.assertEqual((st, h["content-type"]), (200, "audio/ogg"))
        self.assertEqual(body[:4], b"OggS")
        st, d, _ = e.get("userrecordings/%s/media" % uid)
        st, h, body = e.media_get(d["contentLocationUri"])
        self.assertEqual(h["content-type"], "audio/webm")
        st, u, _ = e.get("userrecordings/" + uid)
        self.assertEqual(u["contentLength"], len(body))
        oid = e.state()["orphans"][0]
        st, r, _ = e.get("orphanrecordings/%s/media?formatId=WAV" % oid)
        st, h, body = e.media_get(r["mediaUris"]["0"]["mediaUri"])
        self.assertEqual((st, body[:4]), (200, b"RIFF"))


class ExpiryTest(unittest.TestCase):
    def test_expired_url(self):
        with Emu("--transcode-ms", "0", "--media-seconds", "1", "--media-url-ttl", "1", "--seed", "demo",
                 "--conversations", "2", "--user-recordings", "1", "--orphans", "0") as e:
            cid, rid = audio_recording(e)
            st, r, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (cid, rid))
            url = r["mediaUris"]["0"]["mediaUri"]
            self.assertEqual(e.media_get(url)[0], 200)
            time.sleep(2.1)
            st, h, body = e.media_get(url)
            self.assertEqual(st, 403)
            self.assertIn(b"expired", body)


class TlsTest(unittest.TestCase):
    def test_https(self):
        import http.client
        import os
        import ssl
        import tempfile
        if not shutil.which("openssl"):
            self.skipTest("openssl not installed")
        d = tempfile.mkdtemp(prefix="gcemu-tls-")
        try:
            cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                            "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
                           check=True, capture_output=True)
            with Emu("--transcode-ms", "0", "--media-seconds", "1", "--conversations", "2",
                     "--user-recordings", "1", "--tls-cert", cert, "--tls-key", key) as e:
                self.assertTrue(e.info["api_url"].startswith("https://"))
                self.assertTrue(e.info["media_url"].startswith("https://"))
                ctx = ssl.create_default_context(cafile=cert)
                ctx.check_hostname = False
                c = http.client.HTTPSConnection(e.api.hostname, e.api.port, context=ctx, timeout=10)
                e._conns["api"] = c
                cid, rid = audio_recording(e)
                st, r, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (cid, rid))
                self.assertEqual(st, 200)
                e._conns["media"] = http.client.HTTPSConnection(e.media.hostname, e.media.port,
                                                                context=ctx, timeout=10)
                st, h, body = e.media_get(r["mediaUris"]["0"]["mediaUri"])
                self.assertEqual((st, len(body)), (200, int(h["content-length"])))
                self.assertEqual(body[:4], b"RIFF")
                st, h, body = e.media_get(r["mediaUris"]["0"]["mediaUri"], {"Range": "bytes=4-7"})
                self.assertEqual((st, len(body)), (206, 4))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_selfsigned(self):
        import http.client
        import os
        import ssl
        import urllib.parse
        if not shutil.which("openssl"):
            self.skipTest("openssl not installed")
        with Emu("--transcode-ms", "0", "--media-seconds", "1", "--conversations", "2",
                 "--user-recordings", "1", "--tls-selfsigned") as e:
            ca = e.info["ca_file"]
            self.assertTrue(os.path.isfile(ca))
            self.assertEqual(os.path.dirname(ca), os.path.join(e.data, "tls"))
            self.assertTrue(e.info["api_url"].startswith("https://"))
            # verified: CA file and host name (IP SAN); control and API
            cid, rid = audio_recording(e)
            st, r, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (cid, rid))
            self.assertEqual(st, 200)
            url = r["mediaUris"]["0"]["mediaUri"]
            self.assertTrue(url.startswith("https://127.0.0.1:"))
            st, h, body = e.media_get(url, {"Range": "bytes=0-3"})
            self.assertEqual((st, body), (206, b"RIFF"))
            # the redirect target host is covered by the certificate too
            st, js = e.control("POST", "faults", {"match": "summary", "hostile": "redirect"})
            alt = urllib.parse.urlsplit(js["alt_url"])
            self.assertEqual(alt.scheme, "https")
            c = http.client.HTTPSConnection(alt.hostname, alt.port, timeout=10,
                                            context=ssl.create_default_context(cafile=ca))
            c.request("GET", "/api/v2/userrecordings/summary")
            self.assertEqual(c.getresponse().status, 401)
            c.close()
            if shutil.which("curl"):
                out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca,
                                      e.info["api_url"] + "/api/v2/userrecordings"],
                                     capture_output=True, text=True, timeout=20)
                self.assertEqual(out.stdout, "401", out.stderr)
            with open(ca) as f:
                pem = f.read()
            e.stop()
            e.start()  # a restart reuses the certificate
            self.assertEqual(e.info["ca_file"], ca)
            with open(ca) as f:
                self.assertEqual(f.read(), pem)
            self.assertEqual(e.get("userrecordings/summary")[0], 200)


if __name__ == "__main__":
    unittest.main()
