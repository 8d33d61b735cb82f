"""State persistence across restarts, clean shutdown, bench and empty seeds."""

import hashlib
import json
import os
import shutil
import signal
import tempfile
import time
import unittest

from gcemu_helper import Emu


class PersistenceTest(unittest.TestCase):
    def test_restart_keeps_state(self):
        data = tempfile.mkdtemp(prefix="gcemu-persist-")
        try:
            e = Emu("--transcode-ms", "0", "--media-seconds", "2", data=data)
            s1 = e.state()
            uid = s1["userrecordings"][0]
            st, u, _ = e.get("userrecordings/" + uid)
            st, u2, _ = e.call("PUT", "userrecordings/" + uid, dict(u, name="Persisted name"))
            self.assertEqual(st, 200)
            st, p, _ = e.call("POST", "recording/mediaretentionpolicies", {"name": "Persisted policy"})
            self.assertEqual(st, 200)
            st, _, _ = e.call("PUT", "recording/settings", {"maxSimultaneousStreams": 42})
            orph = s1["orphans"][0]
            cid = [c for c, r in s1["conversations"].items() if r][0]
            st, rec, _ = e.call("PUT", "orphanrecordings/" + orph, {"conversationId": cid})
            self.assertEqual(st, 200)
            _, m1 = e.control("GET", "media?kind=recording&id=%s&format=WAV" % rec["id"])
            self.assertEqual(e.stop(signal.SIGTERM), 0)
            for f in os.listdir(os.path.join(data, "state")):
                self.assertTrue(f.endswith(".json"), f)   # no temp files left behind
            mtime = os.path.getmtime(os.path.join(data, "media", "pool", "clip0.wav"))

            e.start()   # same --data: no re-seed
            try:
                s2 = e.state()
                self.assertEqual(set(s2["userrecordings"]), set(s1["userrecordings"]))
                self.assertEqual(set(s2["conversations"]), set(s1["conversations"]))
                self.assertNotIn(orph, s2["orphans"])
                self.assertIn(rec["id"], s2["conversations"][cid])
                st, u3, _ = e.get("userrecordings/" + uid)
                self.assertEqual((u3["name"], u3["dateModified"]), ("Persisted name", u2["dateModified"]))
                st, pp, _ = e.get("recording/mediaretentionpolicies/" + p["id"])
                self.assertEqual(st, 200)
                st, s, _ = e.get("recording/settings")
                self.assertEqual(s["maxSimultaneousStreams"], 42)
                _, m2 = e.control("GET", "media?kind=recording&id=%s&format=WAV" % rec["id"])
                self.assertEqual(m1["sha256"], m2["sha256"])
                self.assertEqual(mtime, os.path.getmtime(os.path.join(data, "media", "pool", "clip0.wav")))
                st, r, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (cid, rec["id"]))
                self.assertEqual(st, 200)
                st, _, body = e.media_get(r["mediaUris"]["0"]["mediaUri"])
                self.assertEqual(len(body), m2["size"])
            finally:
                self.assertEqual(e.stop(signal.SIGINT), 0)
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def test_kill9_keeps_acknowledged_changes(self):
        """Journaled single-document changes survive SIGKILL; a stale or torn
        journal entry is ignored; a clean stop folds the journal away."""
        data = tempfile.mkdtemp(prefix="gcemu-persist-")
        journal = os.path.join(data, "state", "journal.log")
        try:
            e = Emu("--transcode-ms", "0", "--media-seconds", "1", "--conversations", "3",
                    "--user-recordings", "4", data=data)
            s1 = e.state()
            u1, u2 = s1["userrecordings"][:2]
            st, u, _ = e.call("PUT", "userrecordings/" + u1, {"name": "After kill", "read": True})
            self.assertEqual(st, 200)
            self.assertEqual(e.call("DELETE", "userrecordings/" + u2)[0], 202)
            cid = [c for c, r in s1["conversations"].items() if r][0]
            rid = s1["conversations"][cid][0]
            st, ann, _ = e.call("POST", "conversations/%s/recordings/%s/annotations" % (cid, rid),
                                {"name": "kept", "location": 5})
            self.assertEqual(st, 200)
            e.control("POST", "mutate", {"kind": "userrecording", "id": s1["userrecordings"][2],
                                         "set": {"name": "Mutated"}})
            self.assertTrue(os.path.getsize(journal) > 0)
            e.stop(signal.SIGKILL)

            e.start()
            self.assertFalse(os.path.exists(journal))  # folded in at load
            self.assertEqual(e.get("userrecordings/" + u1)[1]["name"], "After kill")
            self.assertEqual(e.get("userrecordings/" + u2)[0], 404)
            self.assertEqual(e.get("userrecordings/" + s1["userrecordings"][2])[1]["name"], "Mutated")
            anns = e.get("conversations/%s/recordings/%s/annotations" % (cid, rid))[1]
            self.assertIn(ann["id"], [a["id"] for a in anns])
            self.assertEqual(e.get("userrecordings/summary")[1]["totalCount"], 3)
            self.assertEqual(e.stop(signal.SIGTERM), 0)
            self.assertFalse(os.path.exists(journal))

            # an entry older than the collection file, then a torn line
            stale = {"s": 1, "c": "userrecordings", "k": u1, "v": {"id": u1, "name": "STALE"}}
            with open(journal, "w") as f:
                f.write(json.dumps(stale) + "\n" + '{"s": 999999, "c": "userrec')
            e.start()
            try:
                self.assertEqual(e.get("userrecordings/" + u1)[1]["name"], "After kill")
                # numbering continues after the stale entries: new changes stick
                self.assertEqual(e.call("PUT", "userrecordings/" + u1, {"name": "Again"})[0], 200)
                e.stop(signal.SIGKILL)
                e.start()
                self.assertEqual(e.get("userrecordings/" + u1)[1]["name"], "Again")
            finally:
                e.stop()
        finally:
            shutil.rmtree(data, ignore_errors=True)


class SeedTest(unittest.TestCase):
    def test_empty(self):
        with Emu("--seed", "empty") as e:
            s = e.state()
            self.assertEqual((s["conversations"], s["userrecordings"], s["orphans"], s["policies"]), ({}, [], [], []))
            st, r, _ = e.get("recording/settings")
            self.assertEqual(st, 200)
            st, r, _ = e.get("recording/recordingkeys/rotationschedule")
            self.assertEqual(st, 200)
            st, r, _ = e.get("userrecordings")
            self.assertEqual((r["total"], r["entities"], r["pageCount"]), (0, [], 0))
            self.assertNotIn("nextUri", r)

    def test_demo_shape(self):
        with Emu("--transcode-ms", "0", "--media-seconds", "1") as e:
            s = e.state()
            convs = s["conversations"]
            self.assertEqual(len(convs), 22)
            self.assertEqual(len(s["conversations_without_recordings"]), 2)
            self.assertTrue(all(1 <= len(r) <= 3 for r in convs.values() if r))
            self.assertTrue(s["recordings_by_media"]["chat"])
            self.assertTrue(s["recordings_by_media"]["email"])
            self.assertEqual(len(s["userrecordings"]), 10)
            self.assertEqual(len(s["orphans"]), 3)
            self.assertEqual(len(s["policies"]), 3)
            self.assertEqual(len(s["keys"]), 2)
            self.assertEqual(len(s["localkeys"]), 2)
            self.assertEqual(len(s["screensessions"]), 3)
            week_ago = time.time() - 7 * 86400
            q = {"interval": "%s/%s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(week_ago)),
                                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))),
                 "paging": {"pageSize": 100, "pageNumber": 1}}
            st, r, _ = e.call("POST", "analytics/conversations/details/query", q)
            self.assertEqual(r["totalHits"], 22)

    def test_bench(self):
        t = time.time()
        with Emu("--seed", "bench", "--conversations", "1000", "--user-recordings", "10000",
                 "--large-media-mib", "8", "--small-media", "5", "--media-seconds", "5", "--transcode-ms", "0") as e:
            startup = time.time() - t
            self.assertLess(startup, 20)
            s = e.state()
            self.assertGreaterEqual(len(s["conversations"]), 1000)
            self.assertEqual(len(s["userrecordings"]), 10000)
            st, r, _ = e.get("userrecordings?pageSize=100&pageNumber=100")
            self.assertEqual((st, len(r["entities"]), r["pageCount"]), (200, 100, 100))
            lr = s["large_recording"]
            st, r, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (lr["conversationId"], lr["recordingId"]))
            self.assertEqual(r["outputSizeInBytes"], 8 * 1024 * 1024)
            st, h, body = e.media_get(r["mediaUris"]["0"]["mediaUri"], {"Range": "bytes=-16"})
            size = 8 << 20
            self.assertEqual((st, h["content-range"]), (206, "bytes %d-%d/%d" % (size - 16, size - 1, size)))
            st, h, body = e.media_get(r["mediaUris"]["0"]["mediaUri"])
            self.assertEqual(len(body), 8 << 20)
            _, m = e.control("GET", "media?kind=recording&id=%s&format=WAV" % lr["recordingId"])
            self.assertEqual(hashlib.sha256(body).hexdigest(), m["sha256"])
            self.assertEqual(len(s["small_recordings"]), 5)
            sr = s["small_recordings"][0]
            _, m = e.control("GET", "media?kind=recording&id=%s&format=WAV" % sr["recordingId"])
            self.assertEqual(m["size"], 65536)


if __name__ == "__main__":
    unittest.main()
