"""Hostile answers for gcemu's fault injection ({"hostile": KIND, ...}).

A misbehaving server, for the reliability tests: poisoned ids, listings that
never end, huge and compressed-bomb bodies, lying Content-Length, redirects to
another host. gcemu.py decides when a fault applies; this module builds or
rewrites the answer. Python standard library only. See README.md, "Hostile
faults".
"""

import ipaddress
import json
import struct
import threading
import urllib.parse
import zlib

KINDS = ("bad_ids", "endless_paging", "huge_body", "gzip_bomb", "redirect", "content_length_lie")

# ids a filesystem must never turn into a path as they are
BAD_IDS = ["../../etc", "..", "a/b", "x\u0000y", "\u0007ctl\n", "x" * 10240]

GIB = 1 << 30
MIB = 1 << 20


def check(f):
    """Error text for a bad hostile fault object, or None."""
    kind = f.get("hostile")
    if kind not in KINDS:
        return "hostile must be one of %s" % ", ".join(KINDS)
    if kind == "bad_ids":
        ids = f.get("ids", BAD_IDS)
        if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
            return "ids must be a non-empty list of strings"
        if not isinstance(f.get("fields", []), list):
            return "fields must be a list of field names"
    if kind in ("huge_body", "gzip_bomb"):
        size = f.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return "size must be an integer >= 0"
    if kind == "redirect":
        if int(f.get("status", 302)) not in (301, 302, 303, 307, 308):
            return "status must be 301, 302, 303, 307 or 308"
        if f.get("to", "alt") not in ("alt", "media"):
            return "to must be alt or media"
        if f.get("location") is not None and not is_loopback_url(f["location"]):
            return "location must be an http(s) URL on a loopback host"
    if kind == "content_length_lie" and f.get("direction", "short") not in ("short", "long"):
        return "direction must be short or long"
    return None


def is_loopback_url(url):
    try:
        u = urllib.parse.urlsplit(url)
        host = u.hostname or ""
        if u.scheme not in ("http", "https"):
            return False
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- bad_ids -----------------------------------------------------------------

def _entity_list(obj):
    """(list to extend, default id fields) of a JSON answer, or (None, None)."""
    if isinstance(obj, list):
        return obj, ["id"]
    if isinstance(obj, dict):
        if isinstance(obj.get("entities"), list):
            return obj["entities"], ["id"]
        if isinstance(obj.get("conversations"), list):  # analytics
            return obj["conversations"], ["conversationId"]
    return None, None


def bad_ids(obj, f):
    """Append one clone of the first entity per bad id (or poison a single
    document's id). Returns the changed JSON value."""
    ids = f.get("ids") or BAD_IDS
    ents, fields = _entity_list(obj)
    fields = f.get("fields") or fields
    if ents is None:
        if isinstance(obj, dict):
            for k in f.get("fields") or ["id"]:
                obj[k] = ids[0]
        return obj
    tmpl = ents[0] if ents else {}
    for bad in ids:
        e = json.loads(json.dumps(tmpl))
        for k in fields:
            e[k] = bad
        ents.append(e)
    if isinstance(obj, dict):
        for k in ("total", "totalHits"):
            if isinstance(obj.get(k), int):
                obj[k] += len(ids)
    return obj


# -- endless_paging ----------------------------------------------------------

def paging_of(query, body):
    """(pageNumber, pageSize) the client asked for (query or analytics body)."""
    q = urllib.parse.parse_qs(query)
    try:
        pn = int(q.get("pageNumber", ["1"])[0])
        ps = int(q.get("pageSize", ["25"])[0])
    except ValueError:
        pn, ps = 1, 25
    if body:
        try:
            pg = json.loads(body).get("paging") or {}
            pn, ps = int(pg.get("pageNumber", 1)), int(pg.get("pageSize", 25))
        except (ValueError, AttributeError, TypeError):
            pass
    return max(pn, 1), max(ps, 1)


def first_page(query, body):
    """The request rewritten to ask for page 1: (query, body)."""
    q = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k != "pageNumber"]
    query = urllib.parse.urlencode(q + [("pageNumber", "1")])
    if body:
        try:
            d = json.loads(body)
            if isinstance(d, dict) and isinstance(d.get("paging"), dict):
                d["paging"]["pageNumber"] = 1
                body = json.dumps(d).encode()
        except ValueError:
            pass
    return query, body


def endless(obj, path, query, pn, ps, f):
    """Page 1's answer dressed up as page pn of pn+1, with a nextUri (to page
    pn+1, or to itself with "next": "self"). Ids get a "~p<pn>" suffix on
    pages > 1 unless "repeat_ids" is true."""
    ents, fields = _entity_list(obj)
    if ents is not None and pn > 1 and not f.get("repeat_ids"):
        for e in ents:
            for k in fields:
                if isinstance(e, dict) and isinstance(e.get(k), str):
                    e[k] = "%s~p%d" % (e[k], pn)
    if not isinstance(obj, dict):
        return obj
    if "totalHits" in obj:  # analytics: claims one more page
        obj["totalHits"] = max(obj.get("totalHits") or 0, (pn + 1) * ps)
        return obj
    extra = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)
             if k not in ("pageNumber", "pageSize")]
    ex = ("&" + urllib.parse.urlencode(extra)) if extra else ""

    def uri(n):
        return "%s?pageSize=%d&pageNumber=%d%s" % (path, ps, n, ex)
    obj.update({"pageNumber": pn, "pageSize": ps, "pageCount": pn + 1,
                "total": max(obj.get("total") or 0, (pn + 1) * ps),
                "selfUri": uri(pn), "firstUri": uri(1), "lastUri": uri(pn + 1),
                "nextUri": uri(pn) if f.get("next") == "self" else uri(pn + 1)})
    if pn > 1:
        obj["previousUri"] = uri(pn - 1)
    return obj


# -- huge_body ---------------------------------------------------------------

HUGE_HEAD = b'{"entities":['
HUGE_TAIL = b'{"id":"last","name":"last"}],"pageSize":25,"pageNumber":1,"total":1,"pageCount":1}'
BLOCK = 256 * 1024


def _huge_block():
    unit = b'{"id":"huge","name":"huge body"},'
    n = BLOCK // len(unit)
    return unit * n + b" " * (BLOCK - n * len(unit))


HUGE_BLOCK = _huge_block()


def huge_size(f):
    return max(int(f.get("size") or 2 * GIB), len(HUGE_HEAD) + len(HUGE_TAIL))


def stream_huge(wfile, size):
    """Write a valid JSON document of exactly size bytes, made on the fly.
    A client that goes away ends it with BrokenPipe/ConnectionReset."""
    wfile.write(HUGE_HEAD)
    left = size - len(HUGE_HEAD) - len(HUGE_TAIL)
    while left >= BLOCK:
        wfile.write(HUGE_BLOCK)
        left -= BLOCK
    wfile.write(b" " * left)
    wfile.write(HUGE_TAIL)


# -- gzip_bomb ---------------------------------------------------------------

_bombs = {}
_bomb_lock = threading.Lock()
BOMB_HEAD = b'{"entities":['
BOMB_TAIL = b'],"total":0}'


def gzip_bomb(size):
    """A gzip member that inflates to a valid JSON document of about size
    bytes (whole MiB of spaces inside an array). Built once per size from one
    deflate segment per MiB (full flush makes them identical); about 1 KB per
    MiB of output."""
    mibs = max(1, (size or GIB) // MIB)
    with _bomb_lock:
        if mibs in _bombs:
            return _bombs[mibs]
        blk = b" " * MIB
        c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        head = c.compress(BOMB_HEAD) + c.flush(zlib.Z_FULL_FLUSH)
        unit = c.compress(blk) + c.flush(zlib.Z_FULL_FLUSH)
        tail = c.compress(BOMB_TAIL) + c.flush(zlib.Z_FINISH)
        crc = zlib.crc32(BOMB_HEAD)
        for _ in range(mibs):
            crc = zlib.crc32(blk, crc)
        crc = zlib.crc32(BOMB_TAIL, crc)
        total = len(BOMB_HEAD) + mibs * MIB + len(BOMB_TAIL)
        body = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head + unit * mibs + tail
                + struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF))
        _bombs[mibs] = body
        return body


def accepts_gzip(headers):
    ae = headers.get("Accept-Encoding") or ""
    for tok in ae.split(","):
        parts = [p.strip() for p in tok.split(";")]
        if parts[0].lower() in ("gzip", "x-gzip", "*") and "q=0" not in parts[1:]:
            return True
    return False
