"""Happy paths and validation of every API operation of the emulator."""

import datetime
import time
import unittest

from gcemu_helper import Emu, audio_recording


def future(days):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--seed", "demo", "--transcode-ms", "0", "--media-seconds", "3")

    @classmethod
    def tearDownClass(cls):
        cls.emu.cleanup()

    def assertError(self, st, js, hdrs, status, code=None):
        self.assertEqual(st, status, js)
        for k in ("status", "code", "message", "messageWithParams", "messageParams", "contextId",
                  "details", "errors"):
            self.assertIn(k, js)
        self.assertEqual(js["status"], status)
        self.assertEqual(hdrs.get("inin-correlation-id"), js["contextId"])
        if code:
            self.assertEqual(js["code"], code)

    # -- auth ---------------------------------------------------------------
    def test_auth_required(self):
        e = self.emu
        st, js, h = e.get("userrecordings", token=False)
        self.assertError(st, js, h, 401, "authentication.required")
        st, js, h = e.get("userrecordings", token=False, headers={"Authorization": "Bearer nope"})
        self.assertError(st, js, h, 401, "bad.credentials")

    def test_login_errors(self):
        e = self.emu
        st, _, body = e.raw("POST", "/oauth/token", "grant_type=client_credentials",
                            {"Authorization": "Basic cmVjZnMtZGVtbzp3cm9uZw==",
                             "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 401)
        import json
        js = json.loads(body)
        self.assertEqual(js["error"], "invalid_client")
        self.assertIn("error_description", js)
        self.assertIn("description", js)
        st, _, body = e.raw("POST", "/oauth/token", "grant_type=password",
                            {"Authorization": "Basic cmVjZnMtZGVtbzpyZWNmcy1kZW1vLXNlY3JldA==",
                             "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 400)
        st, _, body = e.raw("POST", "/oauth/token", "grant_type=client_credentials",
                            {"Authorization": "Basic cmVjZnMtZGVtbzpyZWNmcy1kZW1vLXNlY3JldA==",
                             "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)
        js = json.loads(body)
        self.assertEqual(js["token_type"], "bearer")
        self.assertEqual(js["expires_in"], 86400)

    def test_unknown_route(self):
        st, js, h = self.emu.get("nothing/here")
        self.assertError(st, js, h, 404, "not.found")

    # -- recordings ---------------------------------------------------------
    def test_recordings_flow(self):
        e = self.emu
        cid, rid = audio_recording(e)
        st, lst, _ = e.get("conversations/%s/recordingmetadata" % cid)
        self.assertEqual(st, 200)
        self.assertIn(rid, [r["id"] for r in lst])
        for r in lst:
            self.assertNotIn("mediaUris", r)
        st, r, _ = e.get("conversations/%s/recordingmetadata/%s" % (cid, rid))
        self.assertEqual((st, r["id"], r["conversationId"]), (200, rid, cid))
        self.assertNotIn("mediaUris", r)
        st, r, _ = e.get("conversations/%s/recordings/%s?formatId=MP3" % (cid, rid))
        self.assertEqual(st, 200)
        self.assertTrue(r["mediaUris"]["0"]["mediaUri"].startswith(e.info["media_url"] + "/media/"))
        _, m = e.control("GET", "media?kind=recording&id=%s&format=MP3" % rid)
        self.assertEqual(r["outputSizeInBytes"], m["size"])
        self.assertEqual(m["content_type"], "audio/mpeg")
        st, lst, _ = e.get("conversations/%s/recordings?formatId=WAV" % cid)
        self.assertEqual(st, 200)
        self.assertTrue(all("mediaUris" in x for x in lst if x["media"] == "audio"))
        st, js, h = e.get("conversations/%s/recordings/%s" % (cid, "00000000-0000-0000-0000-000000000000"))
        self.assertError(st, js, h, 404)
        st, js, h = e.get("conversations/%s/recordings" % "00000000-0000-0000-0000-000000000000")
        self.assertError(st, js, h, 404, "conversation.not.found")
        st, js, h = e.get("conversations/%s/recordings/%s?formatId=FLAC" % (cid, rid))
        self.assertError(st, js, h, 400, "invalid.value")

    def test_chat_and_email(self):
        e = self.emu
        s = e.state()
        chat = s["recordings_by_media"]["chat"][0]
        email = s["recordings_by_media"]["email"][0]
        for rid, field in ((chat, "transcript"), (email, "emailTranscript")):
            cid = [c for c, rs in s["conversations"].items() if rid in rs][0]
            st, r, _ = e.get("conversations/%s/recordingmetadata/%s" % (cid, rid))
            self.assertEqual(st, 200)
            self.assertTrue(r[field])
            st, r, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (cid, rid))
            self.assertEqual(st, 200)
            self.assertNotIn("mediaUris", r)

    def test_put_recording(self):
        e = self.emu
        cid, rid = audio_recording(e)
        path = "conversations/%s/recordings/%s" % (cid, rid)
        st, r, _ = e.get("conversations/%s/recordingmetadata/%s" % (cid, rid))
        r["archiveDate"] = future(30)
        r["deleteDate"] = future(60)
        st, r2, _ = e.call("PUT", path, r)
        self.assertEqual(st, 200, r2)
        self.assertEqual(r2["archiveDate"], r["archiveDate"])
        st, r3, _ = e.get("conversations/%s/recordingmetadata/%s" % (cid, rid))
        self.assertEqual(r3["deleteDate"], r["deleteDate"])
        # read-only field
        bad = dict(r3, id="other")
        st, js, h = e.call("PUT", path, bad)
        self.assertError(st, js, h, 400)
        self.assertEqual(js["details"][0]["fieldName"], "id")
        st, js, h = e.call("PUT", path, dict(r3, media="chat"))
        self.assertError(st, js, h, 400)
        # unknown field, wrong type
        st, js, h = e.call("PUT", path, {"bogus": 1})
        self.assertError(st, js, h, 400, "invalid.property")
        self.assertEqual(js["details"][0]["fieldName"], "bogus")
        st, js, h = e.call("PUT", path, {"archiveDate": 12})
        self.assertError(st, js, h, 400)
        st, js, h = e.call("PUT", path, {"archiveDate": "yesterday"})
        self.assertError(st, js, h, 400, "invalid.date")
        st, js, h = e.call("PUT", path, b"{not json")
        self.assertError(st, js, h, 400)
        st, js, h = e.call("PUT", path, {"archiveDate": future(40), "deleteDate": future(10)})
        self.assertError(st, js, h, 400)

    def test_annotations(self):
        e = self.emu
        cid, rid = audio_recording(e)
        base = "conversations/%s/recordings/%s/annotations" % (cid, rid)
        st, lst, _ = e.get(base)
        self.assertEqual(st, 200)
        n = len(lst)
        st, a, _ = e.call("POST", base, {"name": "Note", "location": 1000, "durationMs": 500,
                                         "description": "hello"})
        self.assertEqual(st, 200, a)
        st, b, _ = e.call("POST", base, {"name": "Note 2", "location": 10})
        self.assertNotEqual(a["id"], b["id"])
        st, lst, _ = e.get(base)
        self.assertEqual(len(lst), n + 2)
        st, g, _ = e.get(base + "/" + a["id"])
        self.assertEqual((st, g["description"]), (200, "hello"))
        g["description"] = "changed"
        st, p, _ = e.call("PUT", base + "/" + a["id"], g)
        self.assertEqual((st, p["description"]), (200, "changed"))
        st, js, h = e.call("PUT", base + "/" + a["id"], {"description": "x" * 501})
        self.assertError(st, js, h, 400, "recording.annotation.description.too.long")
        st, js, h = e.call("POST", base, {"description": "x" * 501})
        self.assertError(st, js, h, 400, "recording.annotation.description.too.long")
        st, js, h = e.call("POST", base, {"location": "abc"})
        self.assertError(st, js, h, 400)
        self.assertEqual(js["details"][0]["fieldName"], "location")
        st, _, _ = e.call("DELETE", base + "/" + a["id"])
        self.assertIn(st, (200, 204))
        st, js, h = e.get(base + "/" + a["id"])
        self.assertError(st, js, h, 404, "recording.annotation.not.found")
        st, r, _ = e.get("conversations/%s/recordingmetadata/%s" % (cid, rid))
        self.assertIn(b["id"], [x["id"] for x in r["annotations"]])

    # -- user recordings ----------------------------------------------------
    def test_userrecordings(self):
        e = self.emu
        st, pg, _ = e.get("userrecordings?pageSize=3")
        self.assertEqual(st, 200)
        self.assertEqual((pg["pageSize"], pg["pageNumber"], pg["total"], pg["pageCount"]), (3, 1, 10, 4))
        self.assertNotIn("previousUri", pg)
        self.assertIn("nextUri", pg)
        for k in ("selfUri", "firstUri", "lastUri"):
            self.assertIn(k, pg)
        st, last, _ = e.get("userrecordings?pageSize=3&pageNumber=4")
        self.assertEqual(len(last["entities"]), 1)
        self.assertNotIn("nextUri", last)
        self.assertIn("previousUri", last)
        st, js, h = e.get("userrecordings?pageSize=1000")
        self.assertError(st, js, h, 400, "invalid.value")
        st, js, h = e.get("userrecordings?pageSize=abc")
        self.assertError(st, js, h, 400, "invalid.value")
        st, summ, _ = e.get("userrecordings/summary")
        self.assertEqual(summ["totalCount"], 10)
        self.assertEqual(summ["readCount"] + summ["unreadCount"], 10)
        u = [x for x in pg["entities"] if not x["read"]][0] if any(not x["read"] for x in pg["entities"]) \
            else last["entities"][0]
        uid = u["id"]
        st, g, _ = e.get("userrecordings/" + uid)
        self.assertEqual(st, 200)
        time.sleep(0.01)
        g2 = dict(g, name="Renamed", read=not g["read"])
        st, p, _ = e.call("PUT", "userrecordings/" + uid, g2)
        self.assertEqual(st, 200, p)
        self.assertEqual(p["name"], "Renamed")
        self.assertGreater(p["dateModified"], g["dateModified"])
        st, s2, _ = e.get("userrecordings/summary")
        self.assertEqual(s2["readCount"], summ["readCount"] + (1 if g2["read"] else -1))
        st, js, h = e.call("PUT", "userrecordings/" + uid, dict(g, durationMilliseconds=5))
        self.assertError(st, js, h, 400)
        self.assertEqual(js["details"][0]["fieldName"], "durationMilliseconds")
        st, js, h = e.call("PUT", "userrecordings/" + uid, dict(g, read="yes"))
        self.assertError(st, js, h, 400)
        st, d, _ = e.get("userrecordings/%s/media?formatId=WAV" % uid)
        self.assertEqual(st, 200)
        self.assertIn("/media/", d["contentLocationUri"])
        st, _, hdr = e.call("DELETE", "userrecordings/" + uid)
        self.assertEqual(st, 202)
        st, js, h = e.get("userrecordings/" + uid)
        self.assertError(st, js, h, 404)
        st, s3, _ = e.get("userrecordings/summary")
        self.assertEqual(s3["totalCount"], 9)

    # -- orphans ------------------------------------------------------------
    def test_orphans(self):
        e = self.emu
        st, pg, _ = e.get("orphanrecordings")
        self.assertEqual(st, 200)
        n = pg["total"]
        self.assertGreaterEqual(n, 2)
        o1, o2 = pg["entities"][0], pg["entities"][1]
        st, g, _ = e.get("orphanrecordings/" + o1["id"])
        self.assertEqual((st, g["id"]), (200, o1["id"]))
        st, m, _ = e.get("orphanrecordings/%s/media?formatId=WAV" % o1["id"])
        self.assertEqual(st, 200)
        self.assertIn("0", m["mediaUris"])
        cid = [c for c, rs in e.state()["conversations"].items() if rs][0]
        st, js, h = e.call("PUT", "orphanrecordings/" + o1["id"], {"conversationId": "nope"})
        self.assertError(st, js, h, 400, "recording.orphan.unknown.conversation")
        st, js, h = e.call("PUT", "orphanrecordings/" + o1["id"],
                           {"conversationId": cid, "archiveDate": future(0.5)})
        self.assertError(st, js, h, 400)
        st, js, h = e.call("PUT", "orphanrecordings/" + o1["id"],
                           {"conversationId": cid, "archiveDate": future(30), "deleteDate": future(20)})
        self.assertError(st, js, h, 400)
        st, r, _ = e.call("PUT", "orphanrecordings/" + o1["id"],
                          {"conversationId": cid, "archiveDate": future(30), "deleteDate": future(60)})
        self.assertEqual(st, 200, r)
        self.assertEqual(r["conversationId"], cid)
        st, js, h = e.get("orphanrecordings/" + o1["id"])
        self.assertError(st, js, h, 404)
        st, lst, _ = e.get("conversations/%s/recordingmetadata" % cid)
        self.assertIn(r["id"], [x["id"] for x in lst])
        st, rr, _ = e.get("conversations/%s/recordings/%s?formatId=WAV" % (cid, r["id"]))
        self.assertEqual(st, 200)
        self.assertIn("mediaUris", rr)
        st, d, _ = e.call("DELETE", "orphanrecordings/" + o2["id"])
        self.assertEqual((st, d["id"]), (200, o2["id"]))
        st, pg, _ = e.get("orphanrecordings")
        self.assertEqual(pg["total"], n - 2)

    def test_orphan_into_norec_conversation(self):
        e = self.emu
        s = e.state()
        cid = s["conversations_without_recordings"][0]
        q = {"interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z", "paging": {"pageSize": 100, "pageNumber": 1},
             "conversationFilters": [{"type": "and", "predicates": [{"dimension": "conversationId", "value": cid}]}]}
        st, res, _ = e.call("POST", "analytics/conversations/details/query", q)
        self.assertEqual(res["totalHits"], 1)
        sess = [x for p in res["conversations"][0]["participants"] for x in p["sessions"]]
        self.assertFalse(any(x["recording"] for x in sess))
        orph = s["orphans"][-1]
        st, r, _ = e.call("PUT", "orphanrecordings/" + orph, {"conversationId": cid})
        self.assertEqual(st, 200, r)
        st, res, _ = e.call("POST", "analytics/conversations/details/query", q)
        sess = [x for p in res["conversations"][0]["participants"] for x in p["sessions"]]
        self.assertTrue(any(x["recording"] for x in sess))

    # -- policies -----------------------------------------------------------
    def test_policies(self):
        e = self.emu
        base = "recording/mediaretentionpolicies"
        st, pg, _ = e.get(base)
        self.assertEqual(st, 200)
        n = pg["total"]
        self.assertGreaterEqual(n, 3)
        st, js, h = e.call("POST", base, {"description": "no name"})
        self.assertError(st, js, h, 400)
        self.assertEqual(js["details"][0]["fieldName"], "name")
        st, p, _ = e.call("POST", base, {"name": "Test policy A", "enabled": True,
                                         "actions": {"retainRecording": True}})
        self.assertEqual(st, 200, p)
        st, js, h = e.call("POST", base, {"name": "test policy a"})
        self.assertError(st, js, h, 400, "recording.policy.name.duplicate.name")
        st, js, h = e.call("POST", base, {"name": "x", "enabled": "yes"})
        self.assertError(st, js, h, 400)
        st, g, _ = e.get(base + "/" + p["id"])
        self.assertEqual(g["name"], "Test policy A")
        time.sleep(0.01)
        g["description"] = "now described"
        st, u, _ = e.call("PUT", base + "/" + p["id"], g)
        self.assertEqual((st, u["description"]), (200, "now described"))
        self.assertGreater(u["modifiedDate"], p["modifiedDate"])
        st, pt, _ = e.call("PATCH", base + "/" + p["id"], {"enabled": False})
        self.assertEqual((st, pt["enabled"]), (200, False))
        st, js, h = e.call("PUT", base + "/" + p["id"], dict(g, id="other"))
        self.assertError(st, js, h, 400)
        st, f, _ = e.get(base + "?name=Test%20policy")
        self.assertEqual([x["id"] for x in f["entities"]], [p["id"]])
        st, f, _ = e.get(base + "?enabled=false")
        self.assertIn(p["id"], [x["id"] for x in f["entities"]])
        st, f, _ = e.get(base + "?summary=true")
        self.assertTrue(all("mediaPolicies" not in x for x in f["entities"]))
        st, q1, _ = e.call("POST", base, {"name": "Bulk 1"})
        st, q2, _ = e.call("POST", base, {"name": "Bulk 2"})
        st, _, _ = e.call("DELETE", base + "?ids=%s,%s" % (q1["id"], q2["id"]))
        self.assertEqual(st, 200)
        st, js, h = e.get(base + "/" + q1["id"])
        self.assertError(st, js, h, 404)
        st, js, h = e.call("DELETE", base)
        self.assertError(st, js, h, 400)
        st, _, _ = e.call("DELETE", base + "/" + p["id"])
        self.assertEqual(st, 200)
        st, pg, _ = e.get(base)
        self.assertEqual(pg["total"], n)

    # -- keys, settings -----------------------------------------------------
    def test_keys_and_schedule(self):
        e = self.emu
        st, pg, _ = e.get("recording/recordingkeys")
        self.assertEqual(st, 200)
        n = pg["total"]
        st, k, _ = e.call("POST", "recording/recordingkeys")
        self.assertEqual(st, 200)
        self.assertIn("keydataSummary", k)
        st, pg, _ = e.get("recording/recordingkeys?pageSize=100")
        self.assertEqual(pg["total"], n + 1)
        st, s, _ = e.get("recording/recordingkeys/rotationschedule")
        self.assertEqual(st, 200)
        self.assertIn(s["period"], ("DISABLED", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"))
        st, s2, _ = e.call("PUT", "recording/recordingkeys/rotationschedule", dict(s, period="WEEKLY"))
        self.assertEqual((st, s2["period"]), (200, "WEEKLY"))
        st, js, h = e.call("PUT", "recording/recordingkeys/rotationschedule", {"period": "HOURLY"})
        self.assertError(st, js, h, 400)
        st, js, h = e.call("PUT", "recording/recordingkeys/rotationschedule", {"name": "x"})
        self.assertError(st, js, h, 400)
        self.assertEqual(js["details"][0]["fieldName"], "period")

    def test_settings(self):
        e = self.emu
        st, s, _ = e.get("recording/settings")
        self.assertEqual(st, 200)
        self.assertIsInstance(s["maxSimultaneousStreams"], int)
        st, s2, _ = e.call("PUT", "recording/settings", {"maxSimultaneousStreams": 9})
        self.assertEqual((st, s2["maxSimultaneousStreams"]), (200, 9))
        st, js, h = e.call("PUT", "recording/settings", {"maxSimultaneousStreams": "nine"})
        self.assertError(st, js, h, 400)
        st, js, h = e.call("PUT", "recording/settings", {"maxSimultaneousStreams": -1})
        self.assertError(st, js, h, 400)
        st, s3, _ = e.get("recording/settings?createDefault=true")
        self.assertEqual(s3["maxSimultaneousStreams"], 9)

    def test_localkeys(self):
        e = self.emu
        st, lst, _ = e.get("recording/localkeys/settings")
        self.assertEqual(st, 200)
        self.assertEqual(set(lst), {"total", "entities", "selfUri"})
        self.assertEqual(lst["total"], 2)
        st, js, h = e.call("POST", "recording/localkeys/settings", {"name": "x", "url": "https://k"})
        self.assertError(st, js, h, 400)
        st, c, _ = e.call("POST", "recording/localkeys/settings",
                          {"name": "New", "url": "https://kms.test/x", "apiId": "a", "apiKey": "b"})
        self.assertEqual(st, 200, c)
        st, g, _ = e.get("recording/localkeys/settings/" + c["id"])
        self.assertEqual(g["url"], "https://kms.test/x")
        st, u, _ = e.call("PUT", "recording/localkeys/settings/" + c["id"], dict(g, apiKey="c"))
        self.assertEqual((st, u["apiKey"]), (200, "c"))
        st, js, h = e.get("recording/localkeys/settings/nope")
        self.assertError(st, js, h, 404)
        st, js, h = e.call("POST", "recording/localkeys", {"configId": "nope", "publicKey": "AA==",
                                                           "keypairId": "kp"})
        self.assertError(st, js, h, 400)
        st, js, h = e.call("POST", "recording/localkeys", {"configId": c["id"]})
        self.assertError(st, js, h, 400)
        st, k, _ = e.call("POST", "recording/localkeys", {"configId": c["id"], "publicKey": "QUJD",
                                                          "keypairId": "kp-1"})
        self.assertEqual(st, 200, k)
        st, pg, _ = e.get("recording/recordingkeys?pageSize=100")
        self.assertIn(k["id"], [x["id"] for x in pg["entities"]])

    def test_screensessions(self):
        e = self.emu
        st, pg, _ = e.get("recordings/screensessions")
        self.assertEqual(st, 200)
        n = pg["total"]
        sid = pg["entities"][0]["id"]
        st, js, h = e.call("PATCH", "recordings/screensessions/" + sid, {"state": "RUNNING"})
        self.assertError(st, js, h, 400)
        st, js, h = e.call("PATCH", "recordings/screensessions/" + sid, {})
        self.assertError(st, js, h, 400, "qm.screen.recording.state.required")
        st, _, _ = e.call("PATCH", "recordings/screensessions/" + sid, {"state": "STOPPED"})
        self.assertEqual(st, 204)
        st, pg, _ = e.get("recordings/screensessions")
        self.assertEqual(pg["total"], n - 1)
        st, js, h = e.call("PATCH", "recordings/screensessions/" + sid, {"state": "STOPPED"})
        self.assertError(st, js, h, 404)

    # -- analytics ----------------------------------------------------------
    def test_analytics(self):
        e = self.emu
        now = time.time()
        iv = "%s/%s" % (time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 8 * 86400)),
                        time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 60)))
        q = {"interval": iv, "order": "asc", "orderBy": "conversationStart",
             "paging": {"pageSize": 5, "pageNumber": 1}}
        st, r, _ = e.call("POST", "analytics/conversations/details/query", q)
        self.assertEqual(st, 200, r)
        total = r["totalHits"]
        self.assertEqual(total, len(e.state()["conversations"]))
        seen = []
        pn = 1
        while True:
            q["paging"]["pageNumber"] = pn
            st, r, _ = e.call("POST", "analytics/conversations/details/query", q)
            if "conversations" not in r:
                break
            seen += r["conversations"]
            pn += 1
        self.assertEqual(len(seen), total)
        starts = [c["conversationStart"] for c in seen]
        self.assertEqual(starts, sorted(starts))
        c = seen[0]
        for k in ("conversationId", "conversationStart", "conversationEnd", "participants"):
            self.assertIn(k, c)
        s = c["participants"][0]["sessions"][0]
        for k in ("mediaType", "sessionId", "direction", "recording", "segments"):
            self.assertIn(k, s)
        norec = [x for x in seen if not any(ss["recording"] for p in x["participants"] for ss in p["sessions"])]
        self.assertGreaterEqual(len(norec), 1)
        q["order"] = "desc"
        q["paging"]["pageNumber"] = 1
        st, r, _ = e.call("POST", "analytics/conversations/details/query", q)
        self.assertEqual(r["conversations"][0]["conversationId"], seen[-1]["conversationId"])
        q["segmentFilters"] = [{"type": "or", "predicates": [{"dimension": "mediaType", "value": "chat"}]}]
        st, r, _ = e.call("POST", "analytics/conversations/details/query", q)
        self.assertEqual(r["totalHits"], 1)
        del q["segmentFilters"]
        q["paging"]["pageSize"] = 101
        st, js, h = e.call("POST", "analytics/conversations/details/query", q)
        self.assertError(st, js, h, 400)
        q["paging"]["pageSize"] = 10
        q["interval"] = "garbage"
        st, js, h = e.call("POST", "analytics/conversations/details/query", q)
        self.assertError(st, js, h, 400)
        q["interval"] = "2001-01-01T00:00:00Z/2001-01-02T00:00:00Z"
        st, r, _ = e.call("POST", "analytics/conversations/details/query", q)
        self.assertEqual(r, {"totalHits": 0})
        st, js, h = e.call("POST", "analytics/conversations/details/query", {"interval": iv, "bogus": 1})
        self.assertError(st, js, h, 400, "invalid.property")

    def test_control_mutate(self):
        e = self.emu
        uid = e.state()["userrecordings"][0]
        st, g, _ = e.get("userrecordings/" + uid)
        time.sleep(0.01)
        st, m = e.control("POST", "mutate", {"kind": "userrecording", "id": uid, "set": {"name": "Changed by someone"}})
        self.assertEqual(st, 200)
        st, g2, _ = e.get("userrecordings/" + uid)
        self.assertEqual(g2["name"], "Changed by someone")
        self.assertGreater(g2["dateModified"], g["dateModified"])
        _, before = e.control("GET", "media?kind=userrecording&id=%s&format=WAV" % uid)
        st, m = e.control("POST", "mutate", {"kind": "media", "id": uid, "format": "WAV"})
        self.assertEqual(st, 200, m)
        _, after = e.control("GET", "media?kind=userrecording&id=%s&format=WAV" % uid)
        self.assertNotEqual(before["sha256"], after["sha256"])


if __name__ == "__main__":
    unittest.main()
