/* test_decode_check.c - the edit and create validators
 * (client/decode_check.c): every kind, every rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode_int.h"
#include "fixtures/decode_samples.h"

struct res {
    enum api_rc rc;
    int changed;
    int only_enabled;
    char *body;
    struct api_error err;
};

static void res_clear(struct res *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* Edit base (a server document in J() notation, pretty-printed through
 * dec_entry first, as the client holds it) with text (J() notation). */
static struct res *upd(struct res *r, enum api_kind kind, const char *base,
                       const char *text)
{
    struct api_entry e = {0};
    struct api_error err = {0};
    char *t = strdup(J(text));

    res_clear(r);
    r->changed = r->only_enabled = -1;
    r->body = (char *)1;
    assert_int_equal(dec_entry(kind, J(base), strlen(J(base)), &e, &err),
                     API_OK);
    r->rc = dec_check_update(kind, e.json, t, strlen(t), &r->changed,
                             &r->body, &r->only_enabled, &r->err);
    api_entry_clear(&e);
    free(t);
    if (r->rc != API_OK) {
        assert_int_equal(r->err.rc, r->rc);
        assert_int_equal(r->changed, 0);
        assert_null(r->body);
    }
    return r;
}

static void expect_fail(struct res *r, enum api_rc rc, const char *field,
                        const char *msg)
{
    if (r->rc != rc)
        fail_msg("rc %d != %d (%s)", r->rc, rc, r->err.message);
    if (field)
        assert_string_equal(r->err.field, field);
    if (msg && !strstr(r->err.message, msg))
        fail_msg("message '%s' lacks '%s'", r->err.message, msg);
}

static void expect_body(struct res *r, const char *body)
{
    if (r->rc != API_OK)
        fail_msg("rc %d: %s", r->rc, r->err.message);
    assert_int_equal(r->changed, 1);
    assert_string_equal(r->body, J(body));
}

static void expect_unchanged(struct res *r)
{
    if (r->rc != API_OK)
        fail_msg("rc %d: %s", r->rc, r->err.message);
    assert_int_equal(r->changed, 0);
    assert_null(r->body);
    assert_int_equal(r->only_enabled, 0);
}

#define REC_BASE                                                            \
    "{'id':'rec-1','conversationId':'conv-1','fileState':'AVAILABLE',"    \
    "'archiveDate':'2027-01-01T00:00:00.000Z','deleteDate':null,"         \
    "'mediaUris':{'0':{'mediaUri':'https://m/x?X-Amz-Signature=1'}},"     \
    "'outputSizeInBytes':10,'selfUri':'/r/rec-1'}"

static void test_recording_edits(void **state)
{
    struct res r = {0};

    (void)state;
    expect_unchanged(upd(&r, API_KIND_RECORDING, REC_BASE, REC_BASE));
    /* reordered, compact, volatile fields dropped: still unchanged */
    expect_unchanged(upd(&r, API_KIND_RECORDING, REC_BASE,
                         "{'selfUri':'/r/rec-1','outputSizeInBytes':10.0,"
                         "'id':'rec-1','conversationId':'conv-1'}"));
    expect_unchanged(upd(&r, API_KIND_RECORDING, REC_BASE,
                         "{'exportDate':null}"));
    expect_body(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'deleteDate':'2028-01-01T00:00:00Z'}"),
                "{'id':'rec-1','conversationId':'conv-1','fileState':"
                "'AVAILABLE','archiveDate':'2027-01-01T00:00:00.000Z',"
                "'deleteDate':'2028-01-01T00:00:00Z','outputSizeInBytes':10,"
                "'selfUri':'/r/rec-1'}");
    expect_body(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'id':'rec-1','archiveDate':null,"
                    "'exportDate':'2027-06-01T12:00:00+02:00'}"),
                "{'id':'rec-1','conversationId':'conv-1','fileState':"
                "'AVAILABLE','archiveDate':null,'deleteDate':null,"
                "'outputSizeInBytes':10,'selfUri':'/r/rec-1',"
                "'exportDate':'2027-06-01T12:00:00+02:00'}");
    assert_int_equal(r.only_enabled, 0);
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, "{'id':'rec-2'}"),
                API_EINVAL, "id", "field 'id' is read-only");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'fileState':'DELETED'}"),
                API_EINVAL, "fileState", "read-only");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, "{'path':'/x'}"),
                API_EINVAL, "path", "field 'path' is read-only");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, "{'colour':'red'}"),
                API_EINVAL, "colour", "unknown field 'colour'");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'archiveDate':'next tuesday'}"),
                API_EINVAL, "archiveDate",
                "field 'archiveDate' must be an ISO-8601 date-time");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'archiveDate':'2027-01-01T00:00:00'}"),
                API_EINVAL, "archiveDate", "date-time");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'deleteDate':20280101}"),
                API_EINVAL, "deleteDate", "or null");
    res_clear(&r);
}

static void test_syntax(void **state)
{
    struct res r = {0};
    char *big;

    (void)state;
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, "[1,2]"), API_EINVAL,
                NULL, "not a JSON object");
    assert_string_equal(r.err.field, "");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, "null"), API_EINVAL,
                NULL, "not a JSON object");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, "'{}'"), API_EINVAL,
                NULL, "not a JSON object");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, ""), API_EINVAL,
                NULL, "empty document");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, " \n\t\n"),
                API_EINVAL, NULL, "empty document");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE, "{'id':'rec-1'"),
                API_EINVAL, NULL, "invalid JSON at line 1");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{\n'id':'rec-1',\n'deleteDate':'2028-01-01T00:00:00Z',"
                    "\n}"),
                API_EINVAL, NULL, "invalid JSON at line 4");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'deleteDate':null,'deleteDate':null}"),
                API_EINVAL, NULL, "invalid JSON");
    expect_fail(upd(&r, API_KIND_RECORDING, REC_BASE,
                    "{'deleteDate':'\xff'}"),
                API_EINVAL, NULL, "invalid JSON");
    /* secrets near the error are not echoed */
    expect_fail(upd(&r, API_KIND_LOCALKEY_SETTINGS, S_LOCALKEY,
                    "{'apiKey':'hunter2"),
                API_EINVAL, NULL, "invalid JSON");
    assert_null(strstr(r.err.message, "hunter2"));
    /* a UTF-8 byte order mark is tolerated */
    expect_unchanged(upd(&r, API_KIND_RECORDING, REC_BASE,
                         "\xEF\xBB\xBF{'id':'rec-1'}"));

    /* > 1 MiB */
    big = malloc(DEC_MAX_TEXT + 64);
    memset(big, ' ', DEC_MAX_TEXT + 10);
    memcpy(big + DEC_MAX_TEXT, "{}", 3);
    r.rc = dec_check_update(API_KIND_RECORDING, "{}", big, strlen(big),
                            &r.changed, &r.body, NULL, &r.err);
    expect_fail(&r, API_EINVAL, NULL, "too large");
    free(big);
    res_clear(&r);

    /* invalid server copy: not the user's fault */
    r.rc = dec_check_update(API_KIND_RECORDING, "{", "{}", 2, &r.changed,
                            &r.body, NULL, &r.err);
    expect_fail(&r, API_EPROTO, NULL, "server copy");
    res_clear(&r);
    r.rc = dec_check_update(API_KIND_COUNT, "{}", "{}", 2, NULL, NULL, NULL,
                            &r.err);
    expect_fail(&r, API_EINVAL, NULL, "kind");
    res_clear(&r);
}

static void test_depth_and_size(void **state)
{
    struct res r = {0};
    char *deep = nested(10000);
    char doc[300];
    int n;

    (void)state;
    r.rc = dec_check_update(API_KIND_POLICY, "{}", deep, strlen(deep),
                            &r.changed, &r.body, NULL, &r.err);
    expect_fail(&r, API_EINVAL, NULL, "deeper than 64");
    res_clear(&r);
    free(deep);

    /* 65 levels inside an object */
    n = snprintf(doc, sizeof(doc), "{\"conditions\":");
    for (int i = 0; i < DEC_MAX_DEPTH; i++)
        doc[n++] = '[';
    for (int i = 0; i < DEC_MAX_DEPTH; i++)
        doc[n++] = ']';
    strcpy(doc + n, "}");
    r.rc = dec_check_update(API_KIND_POLICY, "{}", doc, strlen(doc),
                            &r.changed, &r.body, NULL, &r.err);
    expect_fail(&r, API_EINVAL, NULL, "deeper than 64");
    res_clear(&r);
}

static void test_annotation_edits(void **state)
{
    struct res r = {0};
    char text[2400];
    int n;

    (void)state;
    expect_unchanged(upd(&r, API_KIND_ANNOTATION, S_ANNOTATION,
                         S_ANNOTATION));
    /* the pretty copy says 0.85; a tool printing 0.84999999999999998 is
     * no change */
    expect_unchanged(upd(&r, API_KIND_ANNOTATION, S_ANNOTATION,
                         "{'confidence':0.84999999999999998}"));
    upd(&r, API_KIND_ANNOTATION, S_ANNOTATION,
        "{'name':'Escalated','location':2000,'durationMs':0,"
        "'absoluteLocation':5,'absoluteDurationMs':7,'type':'note',"
        "'description':null}");
    assert_int_equal(r.rc, API_OK);
    assert_int_equal(r.changed, 1);
    assert_non_null(strstr(r.body, "\"name\":\"Escalated\",\"type\":\"note\","
                                   "\"location\":2000,\"durationMs\":0,"));
    assert_non_null(strstr(r.body, "\"description\":null"));
    assert_non_null(strstr(r.body, "\"absoluteDurationMs\":7}"));
    assert_non_null(strstr(r.body, "\"user\":{\"id\":\"user-1\""));

    expect_fail(upd(&r, API_KIND_ANNOTATION, S_ANNOTATION,
                    "{'user':{'id':'user-2'}}"),
                API_EINVAL, "user", "field 'user' is read-only");
    expect_fail(upd(&r, API_KIND_ANNOTATION, S_ANNOTATION,
                    "{'location':'1500'}"),
                API_EINVAL, "location", "field 'location' must be an integer");
    expect_fail(upd(&r, API_KIND_ANNOTATION, S_ANNOTATION,
                    "{'durationMs':-1}"),
                API_EINVAL, "durationMs", "between 0 and");
    expect_fail(upd(&r, API_KIND_ANNOTATION, S_ANNOTATION,
                    "{'location':1.5}"),
                API_EINVAL, "location", "integer");

    /* description: 500 characters (2-byte each) fine, 501 not */
    n = snprintf(text, sizeof(text), "{'description':'");
    for (int i = 0; i < 500; i++)
        n += snprintf(text + n, sizeof(text) - n, "\xc3\xa9");
    snprintf(text + n, sizeof(text) - n, "'}");
    upd(&r, API_KIND_ANNOTATION, S_ANNOTATION, text);
    assert_int_equal(r.rc, API_OK);
    snprintf(text + n, sizeof(text) - n, "x'}");
    expect_fail(upd(&r, API_KIND_ANNOTATION, S_ANNOTATION, text), API_EINVAL,
                "description",
                "field 'description' is longer than 500 characters");
    res_clear(&r);
}

static void test_user_recording_edits(void **state)
{
    struct res r = {0};

    (void)state;
    upd(&r, API_KIND_USER_RECORDING, S_USER_RECORDING,
        "{'read':true,'name':'VM'}");
    assert_int_equal(r.rc, API_OK);
    assert_non_null(strstr(r.body, "\"name\":\"VM\""));
    assert_non_null(strstr(r.body, "\"read\":true"));
    assert_null(strstr(r.body, "thumbs.example.com"));
    expect_fail(upd(&r, API_KIND_USER_RECORDING, S_USER_RECORDING,
                    "{'read':'true'}"),
                API_EINVAL, "read", "field 'read' must be a boolean");
    expect_fail(upd(&r, API_KIND_USER_RECORDING, S_USER_RECORDING,
                    "{'read':null}"),
                API_EINVAL, "read", "boolean");
    expect_fail(upd(&r, API_KIND_USER_RECORDING, S_USER_RECORDING,
                    "{'name':7}"),
                API_EINVAL, "name", "field 'name' must be a string");
    expect_fail(upd(&r, API_KIND_USER_RECORDING, S_USER_RECORDING,
                    "{'dateModified':'2030-01-01T00:00:00Z'}"),
                API_EINVAL, "dateModified", "read-only");
    expect_fail(upd(&r, API_KIND_USER_RECORDING, S_USER_RECORDING,
                    "{'contentLength':1}"),
                API_EINVAL, "contentLength", "read-only");
    res_clear(&r);
}

static void test_policy_edits(void **state)
{
    struct res r = {0};

    (void)state;
    upd(&r, API_KIND_POLICY, S_POLICY, "{'enabled':false}");
    assert_int_equal(r.rc, API_OK);
    assert_int_equal(r.changed, 1);
    assert_int_equal(r.only_enabled, 1);
    /* the full merged Policy */
    assert_non_null(strstr(r.body, "{\"id\":\"pol-1\",\"name\":\"Keep 90 days\""));
    assert_non_null(strstr(r.body, "\"enabled\":false,\"mediaPolicies\""));

    upd(&r, API_KIND_POLICY, S_POLICY, "{'enabled':false,'order':2}");
    assert_int_equal(r.rc, API_OK);
    assert_int_equal(r.only_enabled, 0);
    upd(&r, API_KIND_POLICY, S_POLICY,
        "{'mediaPolicies':{'callPolicy':{'actions':{'retainRecording':false}}},"
        "'conditions':{'forUsers':[]},'actions':null,'description':null}");
    assert_int_equal(r.rc, API_OK);
    assert_int_equal(r.only_enabled, 0);
    assert_non_null(strstr(r.body, "\"retainRecording\":false}}}"));

    expect_fail(upd(&r, API_KIND_POLICY, S_POLICY, "{'id':'pol-2'}"),
                API_EINVAL, "id", "read-only");
    expect_fail(upd(&r, API_KIND_POLICY, S_POLICY,
                    "{'modifiedDate':'2030-01-01T00:00:00Z'}"),
                API_EINVAL, "modifiedDate", "read-only");
    expect_fail(upd(&r, API_KIND_POLICY, S_POLICY, "{'policyErrors':{}}"),
                API_EINVAL, "policyErrors", "read-only");
    expect_fail(upd(&r, API_KIND_POLICY, S_POLICY, "{'name':null}"),
                API_EINVAL, "name", "must be a string");
    expect_fail(upd(&r, API_KIND_POLICY, S_POLICY, "{'enabled':1}"),
                API_EINVAL, "enabled", "boolean");
    expect_fail(upd(&r, API_KIND_POLICY, S_POLICY, "{'order':4294967296}"),
                API_EINVAL, "order", "between");
    expect_fail(upd(&r, API_KIND_POLICY, S_POLICY, "{'conditions':[]}"),
                API_EINVAL, "conditions", "must be an object");
    expect_unchanged(upd(&r, API_KIND_POLICY, S_POLICY, "{'enabled':true}"));
    res_clear(&r);
}

static void test_singleton_edits(void **state)
{
    struct res r = {0};

    (void)state;
    expect_body(upd(&r, API_KIND_SETTINGS, S_SETTINGS,
                    "{'maxSimultaneousStreams':10,"
                    "'regionalRecordingStorageEnabled':true}"),
                "{'maxSimultaneousStreams':10,'recordingPlaybackUrlTtl':60,"
                "'regionalRecordingStorageEnabled':true}");
    expect_fail(upd(&r, API_KIND_SETTINGS, S_SETTINGS,
                    "{'maxSimultaneousStreams':-1}"),
                API_EINVAL, "maxSimultaneousStreams", "between 0");
    expect_fail(upd(&r, API_KIND_SETTINGS, S_SETTINGS,
                    "{'maxSimultaneousStreams':'10'}"),
                API_EINVAL, "maxSimultaneousStreams", "integer");
    expect_fail(upd(&r, API_KIND_SETTINGS, S_SETTINGS,
                    "{'recordingPlaybackUrlTtl':1}"),
                API_EINVAL, "recordingPlaybackUrlTtl", "between 2 and 60");
    expect_fail(upd(&r, API_KIND_SETTINGS, S_SETTINGS, "{'x':1}"),
                API_EINVAL, "x", "unknown field 'x' for RecordingSettings");

    expect_body(upd(&r, API_KIND_ROTATION_SCHEDULE, S_ROTATION,
                    "{'period':'WEEKLY'}"),
                "{'id':'rotation','name':'Key rotation schedule',"
                "'period':'WEEKLY','selfUri':"
                "'/api/v2/recording/recordingkeys/rotationschedule'}");
    expect_fail(upd(&r, API_KIND_ROTATION_SCHEDULE, S_ROTATION,
                    "{'period':'HOURLY'}"),
                API_EINVAL, "period",
                "field 'period' must be one of DISABLED, DAILY, WEEKLY, "
                "MONTHLY, YEARLY");
    expect_fail(upd(&r, API_KIND_ROTATION_SCHEDULE, S_ROTATION,
                    "{'period':null}"),
                API_EINVAL, "period", "one of");
    expect_fail(upd(&r, API_KIND_ROTATION_SCHEDULE, S_ROTATION,
                    "{'selfUri':'/x'}"),
                API_EINVAL, "selfUri", "read-only");

    upd(&r, API_KIND_LOCALKEY_SETTINGS, S_LOCALKEY,
        "{'url':'https://kms2.example.com','apiKey':'new'}");
    assert_int_equal(r.rc, API_OK);
    assert_non_null(strstr(r.body, "\"apiKey\":\"new\""));
    expect_fail(upd(&r, API_KIND_LOCALKEY_SETTINGS, S_LOCALKEY,
                    "{'apiKey':12345}"),
                API_EINVAL, "apiKey", "string");
    assert_null(strstr(r.err.message, "12345"));
    expect_fail(upd(&r, API_KIND_LOCALKEY_SETTINGS, S_LOCALKEY,
                    "{'id':'lk-2'}"),
                API_EINVAL, "id", "read-only");
    res_clear(&r);
}

static void test_read_only_kinds(void **state)
{
    struct res r = {0};

    (void)state;
    expect_unchanged(upd(&r, API_KIND_KEY, S_KEY, S_KEY));
    expect_fail(upd(&r, API_KIND_KEY, S_KEY, "{'name':'renamed'}"),
                API_EPERM, "name", "read-only document");
    expect_fail(upd(&r, API_KIND_KEY, S_KEY, "{'extra':1}"), API_EPERM,
                "extra", "read-only document");
    expect_fail(upd(&r, API_KIND_FAX_SUMMARY, S_FAX, "{'readCount':3}"),
                API_EPERM, "readCount", "read-only document");
    expect_fail(upd(&r, API_KIND_CONVERSATION, S_CONVERSATION("", ""),
                    "{'conversationEnd':null}"),
                API_EPERM, "conversationEnd", "read-only");
    res_clear(&r);
}

static void test_screen_session_edits(void **state)
{
    struct res r = {0};

    (void)state;
    expect_unchanged(upd(&r, API_KIND_SCREEN_SESSION, S_SCREEN, S_SCREEN));
    expect_body(upd(&r, API_KIND_SCREEN_SESSION, S_SCREEN,
                    "{'state':'STOPPED'}"),
                "{'state':'STOPPED'}");
    expect_body(upd(&r, API_KIND_SCREEN_SESSION, S_SCREEN,
                    "{'id':'scr-1','name':'screen 1','state':'STOPPED',"
                    "'archiveDate':'2027-01-01T00:00:00Z','deleteDate':null}"),
                "{'state':'STOPPED','archiveDate':'2027-01-01T00:00:00Z'}");
    expect_fail(upd(&r, API_KIND_SCREEN_SESSION, S_SCREEN,
                    "{'state':'RUNNING'}"),
                API_EINVAL, "state", "must be one of STOPPED");
    expect_fail(upd(&r, API_KIND_SCREEN_SESSION, S_SCREEN,
                    "{'state':'STOPPED','name':'x'}"),
                API_EINVAL, "name", "field 'name' is read-only");
    expect_fail(upd(&r, API_KIND_SCREEN_SESSION, S_SCREEN,
                    "{'state':'STOPPED','archiveDate':'soon'}"),
                API_EINVAL, "archiveDate", "date-time");
    res_clear(&r);
}

static void test_orphan_edits(void **state)
{
    struct res r = {0};

    (void)state;
    expect_unchanged(upd(&r, API_KIND_ORPHAN, S_ORPHAN, S_ORPHAN));
    expect_unchanged(upd(&r, API_KIND_ORPHAN, S_ORPHAN,
                         "{'id':'orph-1','name':'orphan 1'}"));
    expect_body(upd(&r, API_KIND_ORPHAN, S_ORPHAN,
                    "{'conversationId':'conv-7',"
                    "'archiveDate':'2027-01-01T00:00:00Z',"
                    "'deleteDate':'2028-01-01T00:00:00Z',"
                    "'exportDate':null,'integrationId':'int-1'}"),
                "{'conversationId':'conv-7','archiveDate':"
                "'2027-01-01T00:00:00Z','deleteDate':'2028-01-01T00:00:00Z',"
                "'integrationId':'int-1'}");
    expect_body(upd(&r, API_KIND_ORPHAN, S_ORPHAN, "{}"), "{}");
    expect_fail(upd(&r, API_KIND_ORPHAN, S_ORPHAN,
                    "{'conversationId':'../x'}"),
                API_EINVAL, "conversationId", "must be an id");
    expect_fail(upd(&r, API_KIND_ORPHAN, S_ORPHAN,
                    "{'archiveDate':'2027-13-01T00:00:00Z'}"),
                API_EINVAL, "archiveDate", "date-time");
    expect_fail(upd(&r, API_KIND_ORPHAN, S_ORPHAN,
                    "{'id':'orph-1','conversationId':'conv-7'}"),
                API_EINVAL, "conversationId", "OrphanUpdateRequest");
    expect_fail(upd(&r, API_KIND_ORPHAN, S_ORPHAN,
                    "{'id':'orph-1','name':'renamed'}"),
                API_EINVAL, "name", "field 'name' is read-only");
    expect_fail(upd(&r, API_KIND_ORPHAN, S_ORPHAN, "{'foo':1}"), API_EINVAL,
                "foo", "unknown field 'foo'");
    res_clear(&r);
}

static void test_null_outs(void **state)
{
    struct api_error err = {0};
    const char *base = J(REC_BASE);
    const char *text = "{\"deleteDate\":\"2028-01-01T00:00:00Z\"}";

    (void)state;
    assert_int_equal(dec_check_update(API_KIND_RECORDING, base, text,
                                      strlen(text), NULL, NULL, NULL, NULL),
                     API_OK);
    assert_int_equal(dec_check_update(API_KIND_RECORDING, base, "[]", 2,
                                      NULL, NULL, NULL, NULL),
                     API_EINVAL);
    /* first error wins */
    err.rc = API_EHTTP;
    strcpy(err.message, "earlier");
    assert_int_equal(dec_check_update(API_KIND_RECORDING, base, "[]", 2,
                                      NULL, NULL, NULL, &err),
                     API_EINVAL);
    assert_string_equal(err.message, "earlier");
}

/* ------------------------------------------------------------------ */
/* Create                                                             */

static enum api_rc create(enum api_kind kind, const char *text, char **body,
                          struct api_error *err)
{
    const char *t = J(text);

    memset(err, 0, sizeof(*err));
    return dec_check_create(kind, t, strlen(t), body, err);
}

static void test_create(void **state)
{
    struct api_error err;
    char *body = NULL;

    (void)state;
    assert_int_equal(create(API_KIND_ANNOTATION,
                            "{ 'name': 'n', 'location': 5, 'durationMs': 0,"
                            " 'description': 'd', 'type': 'bookmark' }",
                            &body, &err),
                     API_OK);
    assert_string_equal(body, J("{'name':'n','location':5,'durationMs':0,"
                                "'description':'d','type':'bookmark'}"));
    free(body);
    assert_int_equal(create(API_KIND_ANNOTATION, "{}", &body, &err), API_OK);
    assert_string_equal(body, "{}");
    free(body);

    assert_int_equal(create(API_KIND_ANNOTATION, "{'id':'a','name':'n'}",
                            &body, &err),
                     API_EINVAL);
    assert_string_equal(err.field, "id");
    assert_non_null(strstr(err.message, "field 'id' is read-only"));
    assert_null(body);
    assert_int_equal(create(API_KIND_ANNOTATION, "{'selfUri':'/x'}", &body,
                            &err),
                     API_EINVAL);
    assert_int_equal(create(API_KIND_ANNOTATION, "{'nmae':'typo'}", &body,
                            &err),
                     API_EINVAL);
    assert_non_null(strstr(err.message, "unknown field 'nmae' for Annotation"));
    assert_int_equal(create(API_KIND_ANNOTATION, "{'location':'5'}", &body,
                            &err),
                     API_EINVAL);
    assert_string_equal(err.field, "location");

    assert_int_equal(create(API_KIND_POLICY,
                            "{'name':'p','enabled':false,'order':3,"
                            "'actions':{'retainRecording':true}}",
                            &body, &err),
                     API_OK);
    free(body);
    assert_int_equal(create(API_KIND_POLICY, "{'enabled':true}", &body, &err),
                     API_EINVAL);
    assert_string_equal(err.field, "name");
    assert_non_null(strstr(err.message, "field 'name' is required"));
    assert_int_equal(create(API_KIND_POLICY, "{'name':null}", &body, &err),
                     API_EINVAL);
    assert_int_equal(create(API_KIND_POLICY,
                            "{'name':'p','createdDate':"
                            "'2026-01-01T00:00:00Z'}",
                            &body, &err),
                     API_EINVAL);
    assert_string_equal(err.field, "createdDate");
}

static void test_create_localkeys(void **state)
{
    struct api_error err;
    char *body = NULL;

    (void)state;
    assert_int_equal(create(API_KIND_LOCALKEY_SETTINGS,
                            "{'name':'kms','url':'https://k','apiId':'i',"
                            "'apiKey':'k'}",
                            &body, &err),
                     API_OK);
    free(body);
    assert_int_equal(create(API_KIND_LOCALKEY_SETTINGS,
                            "{'url':'https://k','apiId':'i'}", &body, &err),
                     API_EINVAL);
    assert_string_equal(err.field, "apiKey");
    assert_int_equal(create(API_KIND_LOCALKEY_REQUEST,
                            "{'configId':'lk-1','publicKey':'MIIB',"
                            "'keypairId':'kp-1'}",
                            &body, &err),
                     API_OK);
    assert_string_equal(body, J("{'configId':'lk-1','publicKey':'MIIB',"
                                "'keypairId':'kp-1'}"));
    free(body);
    assert_int_equal(create(API_KIND_LOCALKEY_REQUEST,
                            "{'configId':'lk-1','publicKey':'MIIB'}", &body,
                            &err),
                     API_EINVAL);
    assert_string_equal(err.field, "keypairId");
    assert_int_equal(create(API_KIND_LOCALKEY_REQUEST,
                            "{'configId':'lk-1','publicKey':'MIIB',"
                            "'keypairId':'kp-1','x':1}",
                            &body, &err),
                     API_EINVAL);
    assert_string_equal(err.field, "x");

    /* KEY: no body, text ignored */
    body = (char *)1;
    assert_int_equal(create(API_KIND_KEY, "garbage", &body, &err), API_OK);
    assert_null(body);

    static const enum api_kind no_create[] = {
        API_KIND_RECORDING, API_KIND_USER_RECORDING, API_KIND_ORPHAN,
        API_KIND_SETTINGS, API_KIND_ROTATION_SCHEDULE,
        API_KIND_SCREEN_SESSION, API_KIND_FAX_SUMMARY,
        API_KIND_CONVERSATION, API_KIND_COUNT,
    };
    for (size_t i = 0; i < sizeof(no_create) / sizeof(no_create[0]); i++)
        assert_int_equal(create(no_create[i], "{}", &body, &err),
                         API_EINVAL);
    assert_int_equal(create(API_KIND_POLICY, "['name']", &body, &err),
                     API_EINVAL);
    assert_non_null(strstr(err.message, "not a JSON object"));
    assert_int_equal(create(API_KIND_POLICY, "{'name':'a'", &body, &err),
                     API_EINVAL);
    assert_non_null(strstr(err.message, "invalid JSON at line 1"));
    assert_int_equal(create(API_KIND_POLICY, "{'name':'a','name':'b'}",
                            &body, &err),
                     API_EINVAL);
    assert_null(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recording_edits),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_depth_and_size),
        cmocka_unit_test(test_annotation_edits),
        cmocka_unit_test(test_user_recording_edits),
        cmocka_unit_test(test_policy_edits),
        cmocka_unit_test(test_singleton_edits),
        cmocka_unit_test(test_read_only_kinds),
        cmocka_unit_test(test_screen_session_edits),
        cmocka_unit_test(test_orphan_edits),
        cmocka_unit_test(test_null_outs),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_create_localkeys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
