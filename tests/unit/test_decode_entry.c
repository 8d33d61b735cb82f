/* test_decode_entry.c - server documents -> api_entry (client/decode.c):
 * every kind, pretty output, volatile fields, caps, dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "decode_int.h"
#include "fixtures/decode_samples.h"

/* 2026-11-20T10:00:00Z */
#define T_1000 ((time_t)1795168800)

static enum api_rc entry(enum api_kind kind, const char *json,
                         struct api_entry *e, struct api_error *err)
{
    memset(err, 0, sizeof(*err));
    return dec_entry(kind, json, strlen(json), e, err);
}

static void test_recording(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(entry(API_KIND_RECORDING, J(S_RECORDING), &e, &err),
                     API_OK);
    assert_int_equal(e.kind, API_KIND_RECORDING);
    assert_string_equal(e.id, "rec-1");
    assert_null(e.name);
    assert_string_equal(e.conversation_id, "conv-1");
    assert_string_equal(e.media, "audio");
    assert_string_equal(e.file_state, "AVAILABLE");
    assert_int_equal(e.size, 123456);
    assert_int_equal(e.duration_ms, 330500);
    assert_int_equal(e.start, T_1000);
    assert_int_equal(e.mtime, T_1000 + 330);
    assert_int_equal(e.has_recording, -1);
    assert_non_null(e.json);
    assert_int_equal(e.json_len, strlen(e.json));
    assert_null(strstr(e.json, "mediaUris"));
    assert_null(strstr(e.json, "Signature"));
    assert_non_null(strstr(e.json, "\n  \"archiveDate\": \"2027-01-01"));
    assert_non_null(strstr(e.json, "\"deleteDate\": null"));
    assert_int_equal(e.json[e.json_len - 1], '\n');
    assert_int_equal(e.json[0], '{');
    api_entry_clear(&e);
}

static void test_recording_partial(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(
        entry(API_KIND_RECORDING,
              J("{'id':'r2','conversationId':'../etc','media':'Chat',"
                "'startTime':'2026-11-20T10:00:00Z','outputSizeInBytes':0,"
                "'outputDurationMs':4000,'unknownField':{'x':[1]}}"),
              &e, &err),
        API_OK);
    assert_null(e.conversation_id); /* invalid ids never leak out */
    assert_string_equal(e.media, "chat");
    assert_int_equal(e.size, -1);
    assert_int_equal(e.duration_ms, 4000);
    assert_int_equal(e.mtime, T_1000);
    assert_null(e.file_state);
    assert_non_null(strstr(e.json, "\"unknownField\""));
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_RECORDING,
                           J("{'id':'r3','media':'MESSAGING'}"), &e, &err),
                     API_OK);
    assert_string_equal(e.media, "message");
    assert_int_equal(e.duration_ms, -1);
    assert_int_equal(e.mtime, 0);
    api_entry_clear(&e);
}

static void test_annotation(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(entry(API_KIND_ANNOTATION, J(S_ANNOTATION), &e, &err),
                     API_OK);
    assert_string_equal(e.id, "ann-1");
    assert_string_equal(e.name, "Escalation");
    assert_int_equal(e.duration_ms, 2500);
    assert_int_equal(e.mtime, 0);
    assert_int_equal(e.size, -1);
    /* 15 significant digits: no 0.84999999999999998 */
    assert_non_null(strstr(e.json, "\"confidence\": 0.85,"));
    api_entry_clear(&e);
}

static void test_user_recording(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(
        entry(API_KIND_USER_RECORDING, J(S_USER_RECORDING), &e, &err),
        API_OK);
    assert_string_equal(e.id, "ur-1");
    assert_string_equal(e.name, "Voicemail from 555-0100");
    assert_int_equal(e.size, 48000);
    assert_int_equal(e.duration_ms, 6000);
    assert_int_equal(e.start, T_1000 - 26 * 3600);
    assert_int_equal(e.mtime, T_1000 - 26 * 3600 + 5400);
    assert_null(e.conversation_id);
    assert_non_null(strstr(e.json, "api/v2/userrecordings/ur-1\""));
    assert_null(strstr(e.json, "thumbs.example.com"));
    assert_non_null(strstr(e.json, "\"resolution\": \"small\""));
    api_entry_clear(&e);
}

static void test_orphan(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(entry(API_KIND_ORPHAN, J(S_ORPHAN), &e, &err), API_OK);
    assert_string_equal(e.id, "orph-1");
    assert_string_equal(e.media, "audio");
    assert_string_equal(e.conversation_id, "conv-9");
    assert_string_equal(e.file_state, "AVAILABLE");
    assert_int_equal(e.size, 64000);
    assert_int_equal(e.duration_ms, 60000);
    assert_int_equal(e.start, T_1000 - 46 * 3600);
    assert_int_equal(e.mtime, T_1000 - 46 * 3600); /* 13:00+01:00 */
    assert_null(strstr(e.json, "mediaUris"));
    assert_null(strstr(e.json, "sig="));
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_ORPHAN,
                           J("{'id':'o2','mediaType':'SCREEN',"
                             "'createdTime':'2026-11-20T10:00:00Z'}"),
                           &e, &err),
                     API_OK);
    assert_string_equal(e.media, "screen");
    assert_int_equal(e.mtime, T_1000);
    assert_int_equal(e.size, -1);
    api_entry_clear(&e);
}

static void test_policy_key_localkey(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(entry(API_KIND_POLICY, J(S_POLICY), &e, &err), API_OK);
    assert_string_equal(e.id, "pol-1");
    assert_string_equal(e.name, "Keep 90 days");
    assert_int_equal(e.mtime, 1790812800); /* 2026-10-01 */
    assert_int_equal(e.start, 1788220800); /* 2026-09-01 */
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_KEY, J(S_KEY), &e, &err), API_OK);
    assert_string_equal(e.id, "key-1");
    assert_int_equal(e.mtime, 1767323045);
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_LOCALKEY_SETTINGS, J(S_LOCALKEY), &e,
                           &err),
                     API_OK);
    assert_string_equal(e.id, "lk-1");
    assert_string_equal(e.name, "on-prem KMS");
    assert_int_equal(e.mtime, 0);
    api_entry_clear(&e);
}

static void test_singletons(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(entry(API_KIND_SETTINGS, J(S_SETTINGS), &e, &err),
                     API_OK);
    assert_null(e.id);
    assert_string_equal(e.json, "{\n  \"maxSimultaneousStreams\": 5,\n"
                                "  \"recordingPlaybackUrlTtl\": 60\n}\n");
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_ROTATION_SCHEDULE, J(S_ROTATION), &e,
                           &err),
                     API_OK);
    assert_string_equal(e.id, "rotation");
    assert_string_equal(e.name, "Key rotation schedule");
    api_entry_clear(&e);

    /* an odd id on a singleton is dropped, not fatal */
    assert_int_equal(entry(API_KIND_ROTATION_SCHEDULE,
                           J("{'id':'a/b','period':'DAILY'}"), &e, &err),
                     API_OK);
    assert_null(e.id);
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_FAX_SUMMARY, J(S_FAX), &e, &err),
                     API_OK);
    assert_null(e.id);
    assert_non_null(strstr(e.json, "\"totalCount\": 3"));
    api_entry_clear(&e);
}

static void test_screen_session(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(entry(API_KIND_SCREEN_SESSION, J(S_SCREEN), &e, &err),
                     API_OK);
    assert_string_equal(e.id, "scr-1");
    assert_string_equal(e.conversation_id, "conv-3");
    assert_int_equal(e.start, T_1000 - 3600);
    assert_int_equal(e.mtime, T_1000 - 3600);
    api_entry_clear(&e);
}

static void test_conversation(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(entry(API_KIND_CONVERSATION,
                           J(S_CONVERSATION(",'recording':false",
                                            ",'recording':true")),
                           &e, &err),
                     API_OK);
    assert_string_equal(e.id, "conv-5");
    assert_string_equal(e.conversation_id, "conv-5");
    assert_int_equal(e.start, T_1000);
    assert_int_equal(e.mtime, T_1000 + 1800);
    assert_int_equal(e.duration_ms, 1800000);
    assert_int_equal(e.has_recording, 1);
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_CONVERSATION,
                           J(S_CONVERSATION(",'recording':false", "")), &e,
                           &err),
                     API_OK);
    assert_int_equal(e.has_recording, 0);
    api_entry_clear(&e);

    assert_int_equal(entry(API_KIND_CONVERSATION, J(S_CONVERSATION("", "")),
                           &e, &err),
                     API_OK);
    assert_int_equal(e.has_recording, -1);
    api_entry_clear(&e);
}

static void test_bad_documents(void **state)
{
    static const struct {
        enum api_kind kind;
        const char *json;
    } bad[] = {
        {API_KIND_RECORDING, "{'name':'no id'}"},
        {API_KIND_RECORDING, "{'id':'../../etc'}"},
        {API_KIND_RECORDING, "{'id':'.'}"},
        {API_KIND_RECORDING, "{'id':''}"},
        {API_KIND_RECORDING, "{'id':42}"},
        {API_KIND_POLICY, "{'id':'a b'}"},
        {API_KIND_CONVERSATION, "{'id':'x'}"},
        {API_KIND_KEY, "[]"},
        {API_KIND_KEY, "'str'"},
        {API_KIND_KEY, "{'id':'k',}"},
        {API_KIND_KEY, ""},
        {API_KIND_KEY, "{'id':'k'} trailing"},
    };
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(entry(bad[i].kind, J(bad[i].json), &e, &err),
                         API_EPROTO);
        assert_int_equal(err.rc, API_EPROTO);
        assert_null(e.id);
        assert_null(e.json);
    }
    assert_int_equal(dec_entry(API_KIND_COUNT, "{}", 2, &e, &err),
                     API_EINVAL);
    /* embedded NUL */
    memset(&err, 0, sizeof(err));
    assert_int_equal(dec_entry(API_KIND_KEY, "{\"id\":\"k\0\"}", 10, &e,
                               &err),
                     API_EPROTO);
    /* NULL err is fine */
    assert_int_equal(dec_entry(API_KIND_KEY, "[", 1, &e, NULL), API_EPROTO);
}

/* {"id":"d","x":[[...]]}: levels of nesting in total. */
static char *deep_doc(int levels)
{
    char *s = malloc(2 * (size_t)levels + 32);
    int n = sprintf(s, "{\"id\":\"d\",\"x\":");

    for (int i = 1; i < levels; i++)
        s[n++] = '[';
    for (int i = 1; i < levels; i++)
        s[n++] = ']';
    strcpy(s + n, "}");
    return s;
}

static void test_depth(void **state)
{
    struct api_entry e = {0};
    struct api_error err;
    char *doc;

    (void)state;
    doc = deep_doc(DEC_MAX_DEPTH);
    assert_int_equal(entry(API_KIND_KEY, doc, &e, &err), API_OK);
    api_entry_clear(&e);
    free(doc);

    doc = deep_doc(DEC_MAX_DEPTH + 1);
    assert_int_equal(entry(API_KIND_KEY, doc, &e, &err), API_EPROTO);
    assert_non_null(strstr(err.message, "deeper"));
    assert_null(e.json);
    free(doc);

    doc = nested(10000);
    assert_int_equal(entry(API_KIND_KEY, doc, &e, &err), API_EPROTO);
    assert_int_equal(dec_same_doc(doc, strlen(doc), "[]", 2), -1);
    free(doc);
}

static void test_huge_string(void **state)
{
    static const char head[] = "{\"id\":\"big\",\"name\":\"";
    size_t n = 10u * 1024 * 1024, k = sizeof(head) - 1;
    char *big = calloc(1, n + 64);
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    if (!big) {
        fail_msg("out of memory");
        return;
    }
    memcpy(big, head, k);
    memset(big + k, 'a', n);
    memcpy(big + k + n, "\"}", 3);
    assert_int_equal(entry(API_KIND_KEY, big, &e, &err), API_OK);
    assert_int_equal(strlen(e.name), n);
    assert_true(e.json_len > n);
    api_entry_clear(&e);
    free(big);
}

static void test_pretty_exact(void **state)
{
    struct api_entry e = {0};
    struct api_error err;

    (void)state;
    assert_int_equal(
        entry(API_KIND_KEY,
              J("{'id':'k','b':1,'a':[1,{'x':null}],'e':{},'f':[],"
                "'u':'\\u00e9\\u65e5','r':1.0,'neg':-2.5e-3,"
                "'contentLocationUri':'https://x/y',"
                "'l':['https://s3/x?X-Amz-Credential=1','keep?me'],"
                "'plain':'Signature=abc'}"),
              &e, &err),
        API_OK);
    assert_string_equal(e.json,
                        "{\n"
                        "  \"id\": \"k\",\n"
                        "  \"b\": 1,\n"
                        "  \"a\": [\n"
                        "    1,\n"
                        "    {\n"
                        "      \"x\": null\n"
                        "    }\n"
                        "  ],\n"
                        "  \"e\": {},\n"
                        "  \"f\": [],\n"
                        "  \"u\": \"\xc3\xa9\xe6\x97\xa5\",\n"
                        "  \"r\": 1.0,\n"
                        "  \"neg\": -0.0025,\n"
                        "  \"l\": [\n"
                        "    \"keep?me\"\n"
                        "  ],\n"
                        "  \"plain\": \"Signature=abc\"\n"
                        "}\n");
    api_entry_clear(&e);
}

static void test_dates(void **state)
{
    static const struct {
        const char *s;
        int zone;
        int rc;
        time_t t;
        int ms;
    } cases[] = {
        {"2026-11-20T10:00:00Z", 1, 0, T_1000, 0},
        {"2026-11-20T10:00:00.000Z", 1, 0, T_1000, 0},
        {"2026-11-20T10:00:00.5Z", 1, 0, T_1000, 500},
        {"2026-11-20T10:00:00.123456789Z", 1, 0, T_1000, 123},
        {"2026-11-20t10:00:00z", 1, 0, T_1000, 0},
        {"2026-11-20 10:00:00Z", 1, 0, T_1000, 0},
        {"2026-11-20T12:00:00+02:00", 1, 0, T_1000, 0},
        {"2026-11-20T12:00:00+0200", 1, 0, T_1000, 0},
        {"2026-11-20T07:30:00-02:30", 1, 0, T_1000, 0},
        {"2026-11-20T11:00:00+01", 1, 0, T_1000, 0},
        {"2026-11-20T10:00:00", 0, 0, T_1000, 0},
        {"2026-11-20T10:00:00.250", 0, 0, T_1000, 250},
        {"2026-11-20T10:00:00", 1, -1, 0, 0},
        {"1970-01-01T00:00:00Z", 1, 0, 0, 0},
        {"2024-02-29T00:00:00Z", 1, 0, 1709164800, 0},
        {"2026-02-29T00:00:00Z", 1, -1, 0, 0},
        {"2026-13-01T00:00:00Z", 1, -1, 0, 0},
        {"2026-00-01T00:00:00Z", 1, -1, 0, 0},
        {"2026-11-31T00:00:00Z", 1, -1, 0, 0},
        {"2026-11-20T24:00:00Z", 1, -1, 0, 0},
        {"2026-11-20T10:60:00Z", 1, -1, 0, 0},
        {"2026-11-20T10:00:00.Z", 1, -1, 0, 0},
        {"2026-11-20T10:00Z", 1, -1, 0, 0},
        {"2026-11-20", 0, -1, 0, 0},
        {"2026-11-20T10:00:00Zjunk", 1, -1, 0, 0},
        {"2026-11-20T10:00:00+25:00", 1, -1, 0, 0},
        {"20261120T100000Z", 1, -1, 0, 0},
        {"tomorrow", 0, -1, 0, 0},
        {"", 0, -1, 0, 0},
    };
    time_t t;
    int ms;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t = 0;
        ms = -1;
        int rc = dec_parse_time(cases[i].s, cases[i].zone, &t, &ms);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d", cases[i].s, rc);
        if (rc == 0 && (t != cases[i].t || ms != cases[i].ms))
            fail_msg("%s: %lld.%03d", cases[i].s, (long long)t, ms);
    }
    assert_int_equal(dec_parse_time(NULL, 0, &t, NULL), -1);
}

/* ------------------------------------------------------------------ */
/* Listings                                                           */

static void test_list_envelope(void **state)
{
    struct api_list l = {0};
    struct dec_page pg;
    struct api_error err = {0};
    const char *body = J(
        "{'entities':[{'id':'ur-1','name':'a'},{'id':'bad id','name':'b'},"
        "{'id':'ur-3'},7,{'name':'no id'}],'pageSize':25,'pageNumber':2,"
        "'total':30,'pageCount':2,'selfUri':'/x','nextUri':null}");

    (void)state;
    assert_int_equal(dec_list_append(API_KIND_USER_RECORDING, body,
                                     strlen(body), &l, 100, &pg, &err),
                     API_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, "ur-1");
    assert_string_equal(l.v[1].id, "ur-3");
    assert_int_equal(pg.page_count, 2);
    assert_int_equal(pg.page_number, 2);
    assert_int_equal(pg.total, 30);
    assert_int_equal(pg.n_entities, 5);
    /* a second page appends */
    body = J("[{'id':'ur-4'}]");
    assert_int_equal(dec_list_append(API_KIND_USER_RECORDING, body,
                                     strlen(body), &l, 100, &pg, &err),
                     API_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[2].id, "ur-4");
    assert_int_equal(pg.page_count, 1);
    assert_int_equal(pg.total, -1);
    assert_int_equal(pg.page_number, 0);
    assert_int_equal(pg.n_entities, 1);
    api_list_clear(&l);
}

static void test_list_shapes(void **state)
{
    struct api_list l = {0};
    struct dec_page pg;
    struct api_error err = {0};
    const char *body;

    (void)state;
    /* LocalEncryptionConfigurationListing: {total, entities, selfUri} */
    body = J("{'total':1,'entities':[" S_LOCALKEY "],'selfUri':'/x'}");
    assert_int_equal(dec_list_append(API_KIND_LOCALKEY_SETTINGS, body,
                                     strlen(body), &l, 10, &pg, &err),
                     API_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(pg.page_count, 1);
    assert_int_equal(pg.total, 1);
    api_list_clear(&l);

    /* analytics */
    body = J("{'conversations':[" S_CONVERSATION("", "") "],'totalHits':7}");
    assert_int_equal(dec_list_append(API_KIND_CONVERSATION, body,
                                     strlen(body), &l, 10, &pg, &err),
                     API_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, "conv-5");
    assert_int_equal(pg.total, 7);
    assert_int_equal(pg.n_entities, 1);
    api_list_clear(&l);

    /* empty analytics page: no "conversations" key */
    body = J("{'totalHits':7}");
    assert_int_equal(dec_list_append(API_KIND_CONVERSATION, body,
                                     strlen(body), &l, 10, &pg, &err),
                     API_OK);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    assert_int_equal(pg.n_entities, 0);
    /* page may be NULL; empty envelope */
    body = J("{'entities':[],'pageCount':0}");
    assert_int_equal(dec_list_append(API_KIND_POLICY, body, strlen(body),
                                     &l, 10, NULL, &err),
                     API_OK);
    assert_int_equal(l.n, 0);
}

static void test_list_errors(void **state)
{
    struct api_list l = {0};
    struct dec_page pg;
    struct api_error err = {0};
    const char *body = J("[{'id':'a'},{'id':'b'},{'id':'c'}]");

    (void)state;
    assert_int_equal(dec_list_append(API_KIND_POLICY, body, strlen(body),
                                     &l, 3, &pg, &err),
                     API_OK);
    assert_int_equal(l.n, 3);
    /* would exceed the cap: refused, out unchanged */
    assert_int_equal(dec_list_append(API_KIND_POLICY, J("[{'id':'d'}]"),
                                     12, &l, 3, &pg, &err),
                     API_EPROTO);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[2].id, "c");
    memset(&err, 0, sizeof(err));
    assert_int_equal(dec_list_append(API_KIND_POLICY, J("{'entities':5}"),
                                     14, &l, 100, &pg, &err),
                     API_EPROTO);
    assert_string_equal(err.field, "entities");
    memset(&err, 0, sizeof(err));
    assert_int_equal(dec_list_append(API_KIND_CONVERSATION, "[]", 2, &l, 100,
                                     &pg, &err),
                     API_EPROTO);
    assert_int_equal(dec_list_append(API_KIND_POLICY, "{", 1, &l, 100, &pg,
                                     NULL),
                     API_EPROTO);
    assert_int_equal(l.n, 3);
    api_list_clear(&l);
}

/* ------------------------------------------------------------------ */
/* Errors, tokens, media, analytics, same_doc                          */

static void test_error_body(void **state)
{
    struct api_error err = {0};
    const char *body = J(
        "{'status':404,'code':'not.found','message':'The requested\\n"
        "recording was not found','contextId':'ctx-1','details':[]}");

    (void)state;
    err.rc = API_EHTTP;
    err.http_status = 404;
    dec_error_body(body, strlen(body), &err);
    assert_string_equal(err.api_code, "not.found");
    assert_string_equal(err.message,
                        "The requested recording was not found");
    assert_string_equal(err.context_id, "ctx-1");
    assert_int_equal(err.http_status, 404);

    memset(&err, 0, sizeof(err));
    body = J("{'error':'invalid_client','description':'d',"
             "'error_description':'client not found'}");
    dec_error_body(body, strlen(body), &err);
    assert_string_equal(err.api_code, "invalid_client");
    assert_string_equal(err.message, "client not found");

    strcpy(err.message, "kept");
    dec_error_body("<html>502</html>", 16, &err);
    dec_error_body("[1,2]", 5, &err);
    dec_error_body(NULL, 0, &err);
    dec_error_body("{}", 2, NULL);
    assert_string_equal(err.message, "kept");
}

static void test_token(void **state)
{
    struct api_error err = {0};
    char *tok = NULL;
    long ttl = 0;
    const char *body = J("{'access_token':'abc.DEF-123_~+/=','token_type':"
                         "'bearer','expires_in':86399}");

    (void)state;
    assert_int_equal(dec_token(body, strlen(body), &tok, &ttl, &err), API_OK);
    assert_string_equal(tok, "abc.DEF-123_~+/=");
    assert_int_equal(ttl, 86399);
    free(tok);

    body = J("{'access_token':'t'}");
    assert_int_equal(dec_token(body, strlen(body), &tok, &ttl, &err), API_OK);
    assert_int_equal(ttl, 86400);
    free(tok);

    static const char *const bad[] = {
        "{'token_type':'bearer'}", "{'access_token':''}",
        "{'access_token':'a b'}", "{'access_token':'a\\r\\nX: y'}",
        "{'access_token':5}", "[]", "nope",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        body = J(bad[i]);
        assert_int_equal(dec_token(body, strlen(body), &tok, &ttl, &err),
                         API_EPROTO);
        assert_null(tok);
        assert_null(strstr(err.message, "X: y"));
    }
}

static void test_media_uri(void **state)
{
    struct api_error err = {0};
    char *url = NULL;
    int64_t size = 0;
    const char *body;

    (void)state;
    body = J(S_RECORDING);
    assert_int_equal(dec_media_uri(body, strlen(body), &url, &size, &err),
                     API_OK);
    assert_non_null(strstr(url, "https://media.example.com/r/rec-1.webm?"));
    assert_int_equal(size, 123456);
    free(url);

    body = J("{'mediaUris':{'10':{'mediaUri':'http://h/10'},"
             "'2':{'mediaUri':'http://h/2'},'a':{'mediaUri':'http://h/a'},"
             "'1':{'waveformData':[]}},'outputSizeInBytes':0}");
    assert_int_equal(dec_media_uri(body, strlen(body), &url, &size, &err),
                     API_OK);
    assert_string_equal(url, "http://h/2");
    assert_int_equal(size, -1);
    free(url);

    body = J("{'contentLocationUri':'https://dl/x?Signature=1',"
             "'imageUri':null}");
    assert_int_equal(dec_media_uri(body, strlen(body), &url, &size, &err),
                     API_OK);
    assert_string_equal(url, "https://dl/x?Signature=1");
    free(url);

    static const char *const bad[] = {
        "{'mediaUris':{}}", "{'mediaUris':null}", "{}", "[]",
        "{'contentLocationUri':'file:///etc/passwd'}",
        "{'contentLocationUri':'https://a b'}",
        "{'mediaUris':{'0':{'mediaUri':5}}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        body = J(bad[i]);
        assert_int_equal(dec_media_uri(body, strlen(body), &url, &size, &err),
                         API_EPROTO);
        assert_null(url);
        assert_int_equal(size, -1);
    }
}

static void test_analytics_query(void **state)
{
    char *q = dec_analytics_query(T_1000, T_1000 + 86400, 100, 3);

    (void)state;
    assert_non_null(q);
    assert_string_equal(
        q, "{\"interval\":\"2026-11-20T10:00:00.000Z/"
           "2026-11-21T10:00:00.000Z\",\"order\":\"asc\","
           "\"orderBy\":\"conversationStart\",\"paging\":{\"pageSize\":100,"
           "\"pageNumber\":3}}");
    free(q);
}

static void test_same_doc(void **state)
{
    const char *a = J("{'id':'x','n':1,'o':{'a':[1,2],'b':null},"
                      "'mediaUris':{'0':{'mediaUri':'u'}}}");
    char b[256];

    (void)state;
    snprintf(b, sizeof(b), "%s",
             J("{\n 'o': {'b': null, 'a': [1, 2.0]}, 'n': 1.0, 'id': 'x'}"));
    assert_int_equal(dec_same_doc(a, strlen(a), b, strlen(b)), 1);
    snprintf(b, sizeof(b), "%s", J("{'id':'x','n':1,'o':{'a':[2,1],'b':null}}"));
    assert_int_equal(dec_same_doc(a, strlen(a), b, strlen(b)), 0);
    snprintf(b, sizeof(b), "%s", J("{'id':'x','n':1,'o':{'a':[1,2]}}"));
    assert_int_equal(dec_same_doc(a, strlen(a), b, strlen(b)), 0);
    snprintf(b, sizeof(b), "%s", J("{'id':'x','n':'1','o':{'a':[1,2],'b':null}}"));
    assert_int_equal(dec_same_doc(a, strlen(a), b, strlen(b)), 0);
    assert_int_equal(dec_same_doc(a, strlen(a), "{", 1), -1);
    assert_int_equal(dec_same_doc("", 0, a, strlen(a)), -1);
    assert_int_equal(dec_same_doc("[0.1]", 5, "[0.10000000000000001]", 21),
                     1);
    assert_int_equal(dec_same_doc("[0.1]", 5, "[0.1001]", 8), 0);
    assert_int_equal(dec_same_doc("[1e300]", 7, "[1e300]", 7), 1);
    /* a bare scalar is no document */
    assert_int_equal(dec_same_doc("\"a\"", 3, "\"a\"", 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recording),
        cmocka_unit_test(test_recording_partial),
        cmocka_unit_test(test_annotation),
        cmocka_unit_test(test_user_recording),
        cmocka_unit_test(test_orphan),
        cmocka_unit_test(test_policy_key_localkey),
        cmocka_unit_test(test_singletons),
        cmocka_unit_test(test_screen_session),
        cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_huge_string),
        cmocka_unit_test(test_pretty_exact),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_list_envelope),
        cmocka_unit_test(test_list_shapes),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_media_uri),
        cmocka_unit_test(test_analytics_query),
        cmocka_unit_test(test_same_doc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
