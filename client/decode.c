/* decode.c - server documents -> struct api_entry, listings, errors,
 * tokens, media locations, the analytics query body (see decode.h). */
#include "decode_int.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Default validity of a token whose response lacks expires_in: the
 * documented default of OAuth clients (24 h). A 401 renews it earlier. */
#define DEC_TOKEN_DEFAULT_TTL 86400L
#define DEC_MAX_TOKEN 8192
#define DEC_MAX_URL 16384

/* ------------------------------------------------------------------ */
/* Entry fields                                                       */

static int64_t int_member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) && json_integer_value(v) >= 0
               ? (int64_t)json_integer_value(v)
               : -1;
}

/* An id member usable as a path segment, or NULL. */
static char *id_member(const json_t *obj, const char *key, int *oom)
{
    const char *s = json_string_value(json_object_get(obj, key));

    if (!s || !api_id_valid(s))
        return NULL;
    return dec_strdup_member(obj, key, oom);
}

/* Lower-case media name; orphans say "CALL" for audio, S26 recordings
 * "messaging" for what api_entry calls "message". */
static char *media_name(const char *s, int *oom)
{
    char *d;

    if (!s || !*s || strlen(s) > 32)
        return NULL;
    if (!strcasecmp(s, "CALL"))
        s = "audio";
    else if (!strcasecmp(s, "messaging"))
        s = "message";
    d = strdup(s);
    if (!d) {
        *oom = 1;
        return NULL;
    }
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Milliseconds between two date members, -1 if either is missing. */
static int64_t span_ms(const json_t *obj, const char *from, const char *to)
{
    time_t a, b;
    int ams, bms;

    if (dec_parse_time(json_string_value(json_object_get(obj, from)), 0, &a,
                       &ams) ||
        dec_parse_time(json_string_value(json_object_get(obj, to)), 0, &b,
                       &bms) ||
        b < a)
        return -1;
    return ((int64_t)b - a) * 1000 + bms - ams;
}

static time_t first_time(const json_t *obj, const char *a, const char *b)
{
    time_t t = dec_time_member(obj, a);

    return t ? t : dec_time_member(obj, b);
}

/* analytics: any session recording == true -> 1; only false seen -> 0;
 * no flag anywhere -> -1. */
static int has_recording(const json_t *conv)
{
    const json_t *part, *sess, *flag;
    size_t i, j;
    int seen = -1;

    json_array_foreach(json_object_get(conv, "participants"), i, part) {
        json_array_foreach(json_object_get(part, "sessions"), j, sess) {
            flag = json_object_get(sess, "recording");
            if (json_is_true(flag))
                return 1;
            if (json_is_false(flag))
                seen = 0;
        }
    }
    return seen;
}

static void fill_recording(const json_t *d, struct api_entry *e, int *oom)
{
    int64_t out_size = int_member(d, "outputSizeInBytes");

    e->conversation_id = id_member(d, "conversationId", oom);
    e->media = media_name(json_string_value(json_object_get(d, "media")),
                          oom);
    e->file_state = dec_strdup_member(d, "fileState", oom);
    e->size = out_size > 0 ? out_size : -1;
    e->duration_ms = span_ms(d, "startTime", "endTime");
    if (e->duration_ms < 0 && int_member(d, "outputDurationMs") > 0)
        e->duration_ms = int_member(d, "outputDurationMs");
    e->start = dec_time_member(d, "startTime");
    e->mtime = first_time(d, "endTime", "startTime");
}

static void fill_orphan(const json_t *d, struct api_entry *e, int *oom)
{
    const json_t *rec = json_object_get(d, "recording");

    e->conversation_id = id_member(rec, "conversationId", oom);
    e->media = media_name(json_string_value(json_object_get(d, "mediaType")),
                          oom);
    e->file_state = dec_strdup_member(d, "fileState", oom);
    e->size = int_member(d, "mediaSizeBytes");
    e->duration_ms = span_ms(rec, "startTime", "endTime");
    e->mtime = first_time(d, "recoveredTime", "createdTime");
    e->start = dec_time_member(d, "createdTime");
}

static void fill_kind(const json_t *d, struct api_entry *e, int *oom)
{
    switch (e->kind) {
    case API_KIND_RECORDING:
        fill_recording(d, e, oom);
        break;
    case API_KIND_ORPHAN:
        fill_orphan(d, e, oom);
        break;
    case API_KIND_ANNOTATION:
        e->duration_ms = int_member(d, "durationMs");
        break;
    case API_KIND_USER_RECORDING:
        e->conversation_id =
            id_member(json_object_get(d, "conversation"), "id", oom);
        e->size = int_member(d, "contentLength");
        e->duration_ms = int_member(d, "durationMilliseconds");
        e->mtime = first_time(d, "dateModified", "dateCreated");
        e->start = dec_time_member(d, "dateCreated");
        break;
    case API_KIND_POLICY:
        e->mtime = first_time(d, "modifiedDate", "createdDate");
        e->start = dec_time_member(d, "createdDate");
        break;
    case API_KIND_KEY:
        e->mtime = e->start = dec_time_member(d, "createDate");
        break;
    case API_KIND_SCREEN_SESSION:
        e->conversation_id =
            id_member(json_object_get(d, "conversation"), "id", oom);
        e->mtime = e->start = dec_time_member(d, "startTime");
        break;
    case API_KIND_CONVERSATION:
        e->conversation_id = id_member(d, "conversationId", oom);
        e->start = dec_time_member(d, "conversationStart");
        e->mtime = dec_time_member(d, "conversationEnd");
        e->duration_ms = span_ms(d, "conversationStart", "conversationEnd");
        e->has_recording = has_recording(d);
        break;
    default:
        break;
    }
}

/* Singletons and request kinds carry no (file-name) id. */
static int id_required(enum api_kind kind)
{
    return kind != API_KIND_SETTINGS && kind != API_KIND_ROTATION_SCHEDULE &&
           kind != API_KIND_FAX_SUMMARY && kind != API_KIND_LOCALKEY_REQUEST;
}

static enum api_rc entry_id(const json_t *d, struct api_entry *e, int *oom,
                            struct api_error *err)
{
    const char *key = e->kind == API_KIND_CONVERSATION ? "conversationId"
                                                       : "id";
    const char *s = json_string_value(json_object_get(d, key));

    if (!s && !id_required(e->kind))
        return API_OK;
    if (!s)
        return dec_fail(err, API_EPROTO, key, "document has no '%s'", key);
    if (!api_id_valid(s)) {
        if (!id_required(e->kind))
            return API_OK;
        return dec_fail(err, API_EPROTO, key, "invalid id in '%s'", key);
    }
    e->id = dec_strdup_member(d, key, oom);
    return API_OK;
}

enum api_rc dec_entry_fields(enum api_kind kind, const json_t *d,
                             struct api_entry *out, struct api_error *err)
{
    enum api_rc rc;
    int oom = 0;

    memset(out, 0, sizeof(*out));
    out->kind = kind;
    out->size = -1;
    out->duration_ms = -1;
    out->has_recording = -1;
    if (!json_is_object(d))
        return dec_fail(err, API_EPROTO, NULL, "document is not an object");
    rc = entry_id(d, out, &oom, err);
    if (rc == API_OK) {
        out->name = dec_strdup_member(d, "name", &oom);
        fill_kind(d, out, &oom);
        if (oom)
            rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
    }
    if (rc != API_OK)
        api_entry_clear(out);
    return rc;
}

/* d (an object we own) -> *out; strips d's volatile members. */
static enum api_rc entry_from_json(enum api_kind kind, json_t *d,
                                   struct api_entry *out,
                                   struct api_error *err)
{
    enum api_rc rc = dec_entry_fields(kind, d, out, err);

    if (rc != API_OK)
        return rc;
    dec_strip_volatile(d);
    out->json = dec_pretty(d, &out->json_len);
    if (!out->json) {
        api_entry_clear(out);
        rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
    }
    return rc;
}

enum api_rc dec_render(const char *raw, size_t raw_len, char **json,
                       size_t *json_len, struct api_error *err)
{
    json_t *d;
    enum api_rc rc;

    *json = NULL;
    *json_len = 0;
    rc = dec_load(raw, raw_len, 0, &d, err);
    if (rc != API_OK)
        return rc;
    if (!json_is_object(d)) {
        rc = dec_fail(err, API_EPROTO, NULL, "document is not an object");
    } else {
        dec_strip_volatile(d);
        *json = dec_pretty(d, json_len);
        if (!*json)
            rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
    }
    json_decref(d);
    return rc;
}

enum api_rc dec_entry(enum api_kind kind, const char *body, size_t len,
                      struct api_entry *out, struct api_error *err)
{
    json_t *d;
    enum api_rc rc;

    memset(out, 0, sizeof(*out));
    if ((unsigned)kind >= API_KIND_COUNT)
        return dec_fail(err, API_EINVAL, NULL, "unknown document kind");
    rc = dec_load(body, len, 0, &d, err);
    if (rc != API_OK)
        return rc;
    rc = entry_from_json(kind, d, out, err);
    json_decref(d);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Listings                                                           */

static int int_or(const json_t *obj, const char *key, int dflt)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > INT32_MAX)
        return dflt;
    return (int)json_integer_value(v);
}

/* The entity array of a listing body (borrowed; NULL = empty page) and
 * the paging fields. */
static enum api_rc list_array(enum api_kind kind, json_t *doc,
                              json_t **arr, struct dec_page *pg,
                              struct api_error *err)
{
    const json_t *total;
    const char *key = kind == API_KIND_CONVERSATION ? "conversations"
                                                    : "entities";

    pg->page_count = 1;
    pg->total = -1;
    pg->page_number = 0;
    if (json_is_array(doc) && kind != API_KIND_CONVERSATION) {
        *arr = doc;
        return API_OK;
    }
    if (!json_is_object(doc))
        return dec_fail(err, API_EPROTO, NULL, "listing is not an object");
    *arr = json_object_get(doc, key);
    if (json_is_null(*arr))
        *arr = NULL;
    if (*arr && !json_is_array(*arr))
        return dec_fail(err, API_EPROTO, key, "'%s' is not an array", key);
    total = json_object_get(doc, kind == API_KIND_CONVERSATION ? "totalHits"
                                                               : "total");
    if (json_is_integer(total) && json_integer_value(total) >= 0)
        pg->total = json_integer_value(total);
    pg->page_number = int_or(doc, "pageNumber", 0);
    /* LocalEncryptionConfigurationListing is unpaged: no pageSize. */
    pg->page_count = int_or(doc, "pageCount",
                            json_object_get(doc, "pageSize") ||
                                    kind == API_KIND_CONVERSATION
                                ? 0
                                : 1);
    return API_OK;
}

enum api_rc dec_list_entity(enum api_kind kind, const json_t *ent,
                            const char *raw, size_t raw_len, size_t index,
                            struct api_list *out, struct api_error *err)
{
    struct api_entry *e = &out->v[out->n];
    struct api_error e1 = {0};
    enum api_rc rc;

    rc = dec_entry_fields(kind, ent, e, &e1);
    if (rc == API_ENOMEM)
        return dec_fail(err, rc, NULL, "out of memory");
    if (rc == API_OK && !e->id) {
        /* id-less kinds (singletons) are never listed: no file name */
        api_entry_clear(e);
        rc = dec_fail(&e1, API_EPROTO, "id", "entity has no valid id");
    }
    if (rc != API_OK) {
        log_warn("skipping %s entity %zu of a listing: %s",
                 api_kind_name(kind), index, e1.message);
        return API_OK;
    }
    if (raw) {
        e->raw = malloc(raw_len ? raw_len : 1);
        if (e->raw)
            memcpy(e->raw, raw, raw_len);
    } else {
        e->raw = dec_compact(ent);
        raw_len = e->raw ? strlen(e->raw) : 0;
    }
    if (!e->raw) {
        api_entry_clear(e);
        return dec_fail(err, API_ENOMEM, NULL, "out of memory");
    }
    e->raw_len = raw_len;
    out->n++;
    return API_OK;
}

/* Decode arr's entities onto out (room already made). Entities that do
 * not decode (bad or missing id, not an object) are skipped with a
 * warning: every listed entry has a valid id. */
static enum api_rc append_entities(enum api_kind kind, json_t *arr,
                                   struct api_list *out,
                                   struct api_error *err)
{
    json_t *ent;
    size_t i;
    enum api_rc rc;

    json_array_foreach(arr, i, ent) {
        rc = dec_list_entity(kind, ent, NULL, 0, i, out, err);
        if (rc != API_OK)
            return rc;
    }
    return API_OK;
}

enum api_rc dec_list_append_tree(enum api_kind kind, const char *body,
                                 size_t len, struct api_list *out,
                                 size_t max_entries, struct dec_page *pg,
                                 struct api_error *err)
{
    size_t n;
    json_t *doc, *arr = NULL;
    struct api_entry *v;
    enum api_rc rc;

    rc = dec_load(body, len, 0, &doc, err);
    if (rc != API_OK)
        return rc;
    rc = list_array(kind, doc, &arr, pg, err);
    if (rc != API_OK)
        goto out;
    n = json_array_size(arr);
    pg->n_entities = n;
    if (n > max_entries || out->n > max_entries - n) {
        rc = dec_fail(err, API_EPROTO, NULL,
                      "listing exceeds %zu entries", max_entries);
        goto out;
    }
    if (n > 0) {
        v = realloc(out->v, (out->n + n) * sizeof(*v));
        if (!v) {
            rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
            goto out;
        }
        out->v = v;
        rc = append_entities(kind, arr, out, err);
    }
out:
    json_decref(doc);
    return rc;
}

enum api_rc dec_list_append(enum api_kind kind, const char *body, size_t len,
                            struct api_list *out, size_t max_entries,
                            struct dec_page *page, struct api_error *err)
{
    struct dec_page pg = {0};
    size_t n0 = out->n;
    enum api_rc rc;

    if (page)
        memset(page, 0, sizeof(*page));
    if (!dec_scan_list(kind, body, len, out, max_entries, &pg, &rc, err)) {
        /* not sure: jansson decides (and words any error) */
        while (out->n > n0)
            api_entry_clear(&out->v[--out->n]);
        memset(&pg, 0, sizeof(pg));
        rc = dec_list_append_tree(kind, body, len, out, max_entries, &pg,
                                  err);
    }
    /* On failure out is left as it was before this call. */
    while (rc != API_OK && out->n > n0)
        api_entry_clear(&out->v[--out->n]);
    if (rc == API_OK && page)
        *page = pg;
    return rc;
}

int dec_body_valid(const char *body, size_t len)
{
    json_t *v;

    if (dec_scan_valid(body, len))
        return 1;
    if (dec_load(body, len, 0, &v, NULL) != API_OK)
        return 0;
    json_decref(v);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Errors, tokens                                                     */

/* Copy a string member into a fixed buffer, control characters blanked.
 * Leaves buf alone when the member is absent. */
static void copy_member(const json_t *obj, const char *key, char *buf,
                        size_t n)
{
    const char *s = json_string_value(json_object_get(obj, key));

    if (!s || !*s)
        return;
    snprintf(buf, n, "%s", s);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

void dec_error_body(const char *body, size_t len, struct api_error *err)
{
    json_t *doc;

    if (!err || !body || dec_load(body, len, 0, &doc, NULL) != API_OK)
        return;
    if (json_is_object(doc)) {
        /* OAuth: {error, description, error_description} */
        copy_member(doc, "error", err->api_code, sizeof(err->api_code));
        copy_member(doc, "description", err->message, sizeof(err->message));
        copy_member(doc, "error_description", err->message,
                    sizeof(err->message));
        copy_member(doc, "code", err->api_code, sizeof(err->api_code));
        copy_member(doc, "message", err->message, sizeof(err->message));
        copy_member(doc, "contextId", err->context_id,
                    sizeof(err->context_id));
    }
    json_decref(doc);
}

/* A token goes into a header: printable ASCII, no spaces. */
static int token_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > DEC_MAX_TOKEN)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

enum api_rc dec_token(const char *body, size_t len, char **token,
                      long *expires_in, struct api_error *err)
{
    const json_t *ttl;
    const char *s;
    json_t *doc;
    enum api_rc rc;

    *token = NULL;
    *expires_in = 0;
    rc = dec_load(body, len, 0, &doc, err);
    if (rc != API_OK)
        return rc;
    s = json_string_value(json_object_get(doc, "access_token"));
    if (!s || !token_ok(s)) {
        rc = dec_fail(err, API_EPROTO, "access_token",
                      "token response without a valid access_token");
        goto out;
    }
    *token = strdup(s);
    if (!*token) {
        rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
        goto out;
    }
    ttl = json_object_get(doc, "expires_in");
    *expires_in = json_is_integer(ttl) && json_integer_value(ttl) > 0 &&
                          json_integer_value(ttl) < 100L * 365 * 86400
                      ? (long)json_integer_value(ttl)
                      : DEC_TOKEN_DEFAULT_TTL;
out:
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Media location                                                     */

/* Order of mediaUris keys: numeric keys by value, then the rest by
 * strcmp. Returns < 0 when a sorts before b. */
static int key_cmp(const char *a, const char *b)
{
    size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
    int na = la > 0 && !a[la], nb = lb > 0 && !b[lb];

    if (na != nb)
        return na ? -1 : 1;
    if (na && la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static const char *lowest_media_uri(const json_t *uris)
{
    const char *key, *best_key = NULL, *best = NULL, *s;
    json_t *m;

    json_object_foreach((json_t *)uris, key, m) {
        s = json_string_value(json_object_get(m, "mediaUri"));
        if (s && (!best_key || key_cmp(key, best_key) < 0)) {
            best_key = key;
            best = s;
        }
    }
    return best;
}

static int url_ok(const char *s)
{
    if (strncmp(s, "https://", 8) && strncmp(s, "http://", 7))
        return 0;
    if (strlen(s) > DEC_MAX_URL)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

/* The transcript of a chat / email / messaging Recording: the first of
 * these members that is present and not null. */
static const char *const transcript_keys[] = {
    "transcript", "emailTranscript", "messagingTranscript"};

enum api_rc dec_transcript(const char *doc, size_t len, char **out,
                           size_t *out_len, struct api_error *err)
{
    const json_t *t = NULL;
    json_t *root;
    enum api_rc rc;

    *out = NULL;
    *out_len = 0;
    rc = dec_load(doc, len, 0, &root, err);
    if (rc != API_OK)
        return rc;
    for (size_t i = 0; !t && i < sizeof transcript_keys /
                                     sizeof transcript_keys[0]; i++) {
        t = json_object_get(root, transcript_keys[i]);
        if (json_is_null(t))
            t = NULL;
    }
    if (!t)
        rc = dec_fail(err, API_EPROTO, "transcript",
                      "the recording has no transcript");
    else if (!(*out = dec_pretty(t, out_len)))
        rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
    json_decref(root);
    return rc;
}

enum api_rc dec_media_uri(const char *body, size_t len, char **url,
                          int64_t *size, struct api_error *err)
{
    const char *s;
    json_t *doc;
    enum api_rc rc;
    int64_t n;

    *url = NULL;
    *size = -1;
    rc = dec_load(body, len, 0, &doc, err);
    if (rc != API_OK)
        return rc;
    s = lowest_media_uri(json_object_get(doc, "mediaUris"));
    if (!s)
        s = json_string_value(json_object_get(doc, "contentLocationUri"));
    if (!s || !url_ok(s)) {
        rc = dec_fail(err, API_EPROTO, "mediaUris",
                      "no usable media URL in the answer");
        goto out;
    }
    *url = strdup(s);
    if (!*url) {
        rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
        goto out;
    }
    n = int_member(doc, "outputSizeInBytes");
    *size = n > 0 ? n : -1;
out:
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Analytics query, document comparison                               */

static int iso_time(time_t t, char *buf, size_t n)
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) ||
        strftime(buf, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
        return -1;
    return 0;
}

char *dec_analytics_query(time_t start, time_t end, int page_size,
                          int page_number)
{
    char a[40], b[40], interval[84];
    json_t *q;
    char *s;

    if (iso_time(start, a, sizeof(a)) || iso_time(end, b, sizeof(b)))
        return NULL;
    snprintf(interval, sizeof(interval), "%s/%s", a, b);
    q = json_pack("{s:s, s:s, s:s, s:{s:i, s:i}}", "interval", interval,
                  "order", "asc", "orderBy", "conversationStart", "paging",
                  "pageSize", page_size, "pageNumber", page_number);
    if (!q)
        return NULL;
    s = dec_compact(q);
    json_decref(q);
    return s;
}

int dec_same_doc(const char *a, size_t alen, const char *b, size_t blen)
{
    json_t *x, *y;
    int same;

    if (dec_load(a, alen, 0, &x, NULL) != API_OK)
        return -1;
    if (dec_load(b, blen, 0, &y, NULL) != API_OK) {
        json_decref(x);
        return -1;
    }
    dec_strip_volatile(x);
    dec_strip_volatile(y);
    same = dec_equal(x, y) ? 1 : 0;
    json_decref(x);
    json_decref(y);
    return same;
}
