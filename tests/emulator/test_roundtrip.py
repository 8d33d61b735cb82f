"""A document the server returned is accepted back unchanged (PUT and PATCH),
even where the 2017 schema marks fields required deep inside."""

import unittest

from gcemu_helper import Emu, audio_recording

POL = "recording/mediaretentionpolicies/"


class RoundTripTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--transcode-ms", "0", "--media-seconds", "1", "--conversations", "3",
                      "--user-recordings", "2")

    @classmethod
    def tearDownClass(cls):
        cls.emu.cleanup()

    def ok(self, res):
        st, js, _ = res
        self.assertEqual(st, 200, js)
        return js

    def test_seeded_policies_put_and_patch(self):
        e = self.emu
        pids = e.state()["policies"]
        self.assertGreaterEqual(len(pids), 3)
        for pid in pids:
            doc = self.ok(e.get(POL + pid))
            put = self.ok(e.call("PUT", POL + pid, doc))
            for k in ("name", "description", "enabled", "order", "mediaPolicies", "conditions", "actions"):
                self.assertEqual(put.get(k), doc.get(k), k)
            self.ok(e.call("PATCH", POL + pid, {"enabled": not doc["enabled"]}))
            merged = self.ok(e.get(POL + pid))
            self.assertEqual(merged["enabled"], not doc["enabled"])
            merged["enabled"] = doc["enabled"]
            back = self.ok(e.call("PATCH", POL + pid, merged))
            self.assertEqual(back["enabled"], doc["enabled"])
            self.assertEqual(back["conditions"], doc["conditions"])

    def test_seeded_queue_is_complete(self):
        e = self.emu
        pols = [p for p in self.ok(e.get(POL.rstrip("/")))["entities"] if p["name"] == "Legal hold - Claims queue"]
        queues = [q for p in pols for q in p.get("conditions", {}).get("forQueues", [])]
        self.assertTrue(queues)
        for q in queues:
            for k in ("acwSettings", "mediaSettings", "skillEvaluationMethod"):
                self.assertIn(k, q)

    def test_incomplete_server_document_round_trips(self):
        # state written by an older seed (or by someone else) lacks the
        # deep required fields: the document is still accepted back
        e = self.emu
        pid = self.ok(e.call("POST", POL.rstrip("/"), {"name": "Written by an old seed"}))["id"]
        st, js = e.control("POST", "mutate", {"kind": "policy", "id": pid, "set": {
            "conditions": {"forQueues": [{"id": "q1", "name": "Old queue"}]}}})
        self.assertEqual(st, 200, js)
        doc = self.ok(e.get(POL + pid))
        self.ok(e.call("PUT", POL + pid, doc))
        self.ok(e.call("PATCH", POL + pid, doc))
        # a queue the client changed is validated in full
        doc["conditions"]["forQueues"][0]["name"] = "Renamed"
        st, js, _ = e.call("PUT", POL + pid, doc)
        self.assertEqual(st, 400)
        self.assertIn("conditions.forQueues[0].acwSettings", [d["fieldName"] for d in js["details"]])
        # an unchanged queue next to a new complete one is fine
        doc = self.ok(e.get(POL + pid))
        q = dict(doc["conditions"]["forQueues"][0], id="q2", name="New", acwSettings={},
                 mediaSettings={}, skillEvaluationMethod="NONE")
        doc["conditions"]["forQueues"].append(q)
        self.assertEqual(len(self.ok(e.call("PUT", POL + pid, doc))["conditions"]["forQueues"]), 2)
        # type errors in a changed part are still caught
        doc["conditions"]["forQueues"][1]["skillEvaluationMethod"] = "SOMETIMES"
        self.assertEqual(e.call("PUT", POL + pid, doc)[0], 400)

    def test_other_documents_round_trip(self):
        e = self.emu
        st = e.state()
        ur = self.ok(e.get("userrecordings/" + st["userrecordings"][0]))
        self.ok(e.call("PUT", "userrecordings/" + ur["id"], ur))
        cid, rid = audio_recording(e)
        path = "conversations/%s/recordings/%s" % (cid, rid)
        rec = self.ok(e.get(path + "?formatId=WAV"))
        self.ok(e.call("PUT", path, rec))
        lid = st["localkeys"][0]
        lk = self.ok(e.get("recording/localkeys/settings/" + lid))
        self.ok(e.call("PUT", "recording/localkeys/settings/" + lid, lk))
        ann = self.ok(e.call("POST", path + "/annotations", {"name": "n", "description": "d", "location": 1}))
        self.ok(e.call("PUT", path + "/annotations/" + ann["id"], ann))


if __name__ == "__main__":
    unittest.main()
