/* test_decode_scan.c - the fast path of listing pages (client/
 * decode_scan.c) against the jansson path: for every kind and many bodies
 * (valid, tricky, invalid) both must give the same entries, paging,
 * return code and error text; the scanner must never call valid what
 * jansson refuses; and a listed entity's raw text must render to the very
 * bytes dec_entry gives for it. */
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
#include "log.h"

static void str_same(const char *a, const char *b, const char *what)
{
    if (!a || !b) {
        if (a != b)
            fail_msg("%s: '%s' vs '%s'", what, a ? a : "(null)",
                     b ? b : "(null)");
        return;
    }
    if (strcmp(a, b))
        fail_msg("%s: '%s' vs '%s'", what, a, b);
}

static char *render(const struct api_entry *e)
{
    char *json = NULL;
    size_t len = 0;

    assert_non_null(e->raw);
    assert_null(e->json);
    assert_int_equal(dec_render(e->raw, e->raw_len, &json, &len, NULL),
                     API_OK);
    assert_int_equal(strlen(json), len);
    return json;
}

static void entry_same(const struct api_entry *a, const struct api_entry *b)
{
    char *ja, *jb;

    assert_int_equal(a->kind, b->kind);
    str_same(a->id, b->id, "id");
    str_same(a->name, b->name, "name");
    str_same(a->conversation_id, b->conversation_id, "conversation_id");
    str_same(a->media, b->media, "media");
    str_same(a->file_state, b->file_state, "file_state");
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->duration_ms, b->duration_ms);
    assert_int_equal(a->mtime, b->mtime);
    assert_int_equal(a->start, b->start);
    assert_int_equal(a->has_recording, b->has_recording);
    ja = render(a);
    jb = render(b);
    str_same(ja, jb, "rendered document");
    free(ja);
    free(jb);
}

/* dec_list_append (fast path first) == dec_list_append_tree. Returns the
 * rc. Both lists start with one entry (appending). */
static enum api_rc same_list(enum api_kind kind, const char *body,
                             size_t max)
{
    struct api_list a = {0}, b = {0};
    struct dec_page pa = {0}, pb = {0};
    struct api_error ea = {0}, eb = {0};
    const char *first = J("[{'id':'first'}]");
    enum api_rc ra, rb;
    json_t *v;

    assert_int_equal(dec_list_append(API_KIND_POLICY, first, strlen(first),
                                     &a, 10, NULL, NULL), API_OK);
    assert_int_equal(dec_list_append_tree(API_KIND_POLICY, first,
                                          strlen(first), &b, 10, &pb, NULL),
                     API_OK);
    memset(&pb, 0, sizeof pb);
    ra = dec_list_append(kind, body, strlen(body), &a, max, &pa, &ea);
    rb = dec_list_append_tree(kind, body, strlen(body), &b, max, &pb, &eb);
    if (rb != API_OK) {
        while (b.n > 1)
            api_entry_clear(&b.v[--b.n]);
    }
    if (ra != rb)
        fail_msg("kind %d body %s: rc %d vs %d (%s / %s)", kind, body, ra,
                 rb, ea.message, eb.message);
    str_same(ea.message, eb.message, "error");
    str_same(ea.field, eb.field, "error field");
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        entry_same(&a.v[i], &b.v[i]);
    if (ra == API_OK) {
        assert_int_equal(pa.page_count, pb.page_count);
        assert_int_equal(pa.total, pb.total);
        assert_int_equal(pa.page_number, pb.page_number);
        assert_int_equal(pa.n_entities, pb.n_entities);
    }
    /* the scanner never accepts what jansson refuses */
    if (dec_scan_valid(body, strlen(body))) {
        assert_int_equal(dec_load(body, strlen(body), 0, &v, NULL), API_OK);
        json_decref(v);
    }
    api_list_clear(&a);
    api_list_clear(&b);
    return ra;
}

static int valid(const char *body)
{
    return dec_scan_valid(body, strlen(body));
}

/* 1 if the fast path answered for body (not sure: 0). */
static int fast(enum api_kind kind, const char *body)
{
    struct api_list l = {0};
    struct dec_page pg = {0};
    enum api_rc rc;
    int done = dec_scan_list(kind, body, strlen(body), &l, 1000, &pg, &rc,
                             NULL);

    api_list_clear(&l);
    return done && rc == API_OK;
}

static const char *const samples[] = {
    S_RECORDING, S_ANNOTATION, S_USER_RECORDING, S_ORPHAN, S_POLICY,
    S_SETTINGS, S_KEY, S_ROTATION, S_LOCALKEY, S_SCREEN, S_FAX,
    S_CONVERSATION(",'recording':true", ""),
};
#define N_SAMPLES (sizeof samples / sizeof samples[0])

/* Entities (single quotes) that must read the same either way. */
static const char *const tricky[] = {
    "{'id':'a'}",
    "{'id':'a','id':'b'}",
    "{'i\\u0064':'esc-key'}",
    "{'id':'\\u0061bc'}",
    "{'id':'a','name':'caf\\u00e9 \\\"q\\\" \\n'}",
    "{'id':'a','name':'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'}",
    "{'id':'a','name':'\\ud83d\\ude00'}",
    "{'id':'a','name':'\\udc00'}",
    "{'id':'a','name':'\\u0000'}",
    "{'id':'a','name':'bad \xff'}",
    "{'id':'a','name':'overlong \xc0\xaf'}",
    "{'id':'a','name':'surrogate \xed\xa0\x80'}",
    "{'id':'a','name':'ctl \x01'}",
    "{'id':'a','name':5}",
    "{'id':'a','name':null}",
    "{'id':7}",
    "{'id':'bad id'}",
    "{'id':''}",
    "{'name':'no id'}",
    "7", "'x'", "null", "[]", "[{'id':'in-array'}]",
    "{'id':'a','contentLength':1e3,'durationMilliseconds':12.0}",
    "{'id':'a','contentLength':-5,'durationMilliseconds':-0}",
    "{'id':'a','contentLength':123456789012345678}",
    "{'id':'a','contentLength':1234567890123456789}",
    "{'id':'a','contentLength':123456789012345678901}",
    "{'id':'a','contentLength':-9223372036854775808}",
    "{'id':'a','x':1e400}",
    "{'id':'a','x':1e-400,'y':0.5E+12,'z':-1.25e-3}",
    "{'id':'a','x':01}",
    "{'id':'a','x':1.}",
    "{'id':'a','x':.5}",
    "{'id':'a','x':-}",
    "{'id':'a','x':+1}",
    "{'id':'a','conversation':'abc','recording':7}",
    "{'id':'a','conversation':null,'recording':null}",
    "{'id':'a','conversation':{'id':'c\\u0031'},'recording':{'conver"
    "sationId':'c2','startTime':'2026-11-20T10:00:00Z','endTime':"
    "'2026-11-20T10:00:01.5Z'}}",
    "{'id':'a','conversation':{'id':'c1','id':'c2'}}",
    "{'id':'a','conversation':{'id':'c1','x':{'id':'deep'}}}",
    "{'id':'a','dateCreated':'2026-11-20T10:00:00Z','dateModified':"
    "'2026-11-21T10:00:00+02:00','startTime':'garbage','createdTime':7}",
    "{'id':'a','media':'CALL','mediaType':'Chat','fileState':true}",
    "{'id':'a','mediaUris':{'0':{'mediaUri':'https://x/y?X-Amz-Sig=1'}},"
    "'u':'https://x/y?Signature=s','l':['https://x?sig=1','ok']}",
    "{ 'id' : 'ws' ,\n\t'name'\r: 'x' }",
    "{'id':'a','x':tru}",
    "{'id':'a','x':truex}",
    "{'id':'a',}",
    "{'id':'a' 'b':1}",
    "{'id':'a','x':[1,2,]}",
    "{'id':'a','x':{'':1},'':''}",
    "{'id':'a','x':\"unterminated}",
};
#define N_TRICKY (sizeof tricky / sizeof tricky[0])

static void test_same_entries(void **state)
{
    char body[4096];
    (void)state;

    log_set_level(LOG_LEVEL_ERR);
    for (int k = 0; k < API_KIND_COUNT; k++) {
        /* all samples on one page, as envelope and as bare array */
        size_t n = 0;
        n += (size_t)snprintf(body + n, sizeof body - n, "{'entities':[");
        for (size_t i = 0; i < N_SAMPLES; i++)
            n += (size_t)snprintf(body + n, sizeof body - n, "%s%s",
                                  i ? "," : "", samples[i]);
        snprintf(body + n, sizeof body - n,
                 "],'pageSize':25,'pageNumber':3,'total':30,"
                 "'pageCount':2,'conversations':[],'totalHits':4}");
        same_list((enum api_kind)k, J(body), 100);
        same_list((enum api_kind)k, J(body), 5); /* over the cap */
        snprintf(body, sizeof body, "[%s,%s]", samples[k % N_SAMPLES],
                 samples[(k + 3) % N_SAMPLES]);
        same_list((enum api_kind)k, J(body), 100);
        for (size_t i = 0; i < N_TRICKY; i++) {
            snprintf(body, sizeof body, "{'entities':[%s,{'id':'z'}]}",
                     tricky[i]);
            same_list((enum api_kind)k, J(body), 100);
            snprintf(body, sizeof body, " [ %s ] ", tricky[i]);
            same_list((enum api_kind)k, J(body), 100);
        }
    }
}

static void test_same_envelopes(void **state)
{
    static const char *const bodies[] = {
        "", " ", "5", "'x'", "null", "[]", "{}", " { } ", "[] x", "{}}",
        "\xef\xbb\xbf[]",
        "{'entities':null}",
        "{'entities':5}",
        "{'entities':{}}",
        "{'entities':[],'entities':[{'id':'a'}]}",
        "{'entit\\u0069es':[{'id':'a'}]}",
        "{'entities':[{'id':'a'}],'pageCount':-1,'total':-3}",
        "{'entities':[{'id':'a'}],'pageCount':2.0,'total':2.5}",
        "{'entities':[{'id':'a'}],'pageCount':'3','pageNumber':null}",
        "{'entities':[{'id':'a'}],'pageCount':99999999999,"
        "'pageNumber':2147483647,'total':123456789012345678}",
        "{'entities':[{'id':'a'}],'pageCount':1234567890123456789012}",
        "{'entities':[{'id':'a'}],'pageSize':null}",
        "{'entities':[{'id':'a'}],'pageSize':1,'pageSize':2}",
        "{'entities':[{'id':'a'}],'total':1,'total':2}",
        "{'entities':[{'id':'a'}],'x':{'entities':7}}",
        "{'conversations':[{'conversationId':'c1'}],'totalHits':1}",
        "{'entities':[{'id':'a'}]",
    };
    (void)state;

    log_set_level(LOG_LEVEL_ERR);
    for (int k = 0; k < API_KIND_COUNT; k++)
        for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
            same_list((enum api_kind)k, J(bodies[i]), 100);
}

static void test_depth(void **state)
{
    char *deep;
    char body[1024];
    (void)state;

    /* 64 levels in all are fine, 65 are not: same answer both ways */
    for (size_t d = 60; d <= 66; d++) {
        deep = nested(d - 3); /* envelope, entities array, entity */
        snprintf(body, sizeof body, "{'entities':[{'id':'a','x':%s}]}",
                 deep);
        assert_int_equal(same_list(API_KIND_USER_RECORDING, J(body), 10),
                         d <= DEC_MAX_DEPTH ? API_OK : API_EPROTO);
        free(deep);
        deep = nested(d - 1);
        snprintf(body, sizeof body, "[%s]", deep);
        same_list(API_KIND_POLICY, J(body), 10);
        free(deep);
    }
}

/* The common pages take the fast path; what it cannot be sure of goes to
 * jansson. */
static void test_fast_path_taken(void **state)
{
    char body[4096];
    (void)state;

    snprintf(body, sizeof body,
             "{'entities':[%s,%s],'pageSize':100,'pageNumber':1,"
             "'total':2,'pageCount':1}",
             S_USER_RECORDING, S_USER_RECORDING);
    assert_true(fast(API_KIND_USER_RECORDING, J(body)));
    snprintf(body, sizeof body, "{'entities':[%s]}", S_RECORDING);
    assert_true(fast(API_KIND_RECORDING, J(body)));
    snprintf(body, sizeof body, "{'entities':[%s]}", S_ORPHAN);
    assert_true(fast(API_KIND_ORPHAN, J(body)));
    snprintf(body, sizeof body, "[%s]", S_POLICY);
    assert_true(fast(API_KIND_POLICY, J(body)));
    /* an escape in a field the entry reads or in a key: that entity is
     * read by jansson, the page still by the scanner */
    assert_true(fast(API_KIND_USER_RECORDING,
                     J("[{'id':'a','name':'\\u00e9'}]")));
    assert_true(fast(API_KIND_USER_RECORDING, J("[{'i\\u0064':'a'}]")));
    /* in the envelope's keys, analytics, too deep, unsure numbers: the
     * whole page goes to jansson */
    assert_false(fast(API_KIND_USER_RECORDING,
                      J("{'entit\\u0069es':[{'id':'a'}]}")));
    assert_false(fast(API_KIND_USER_RECORDING,
                      J("[{'id':'a','x':12345678901234567890}]")));
    assert_false(fast(API_KIND_CONVERSATION, J("{'conversations':[]}")));
    assert_false(valid(J("{'a':'\\u0000'}")));
    assert_false(valid(J("{'a':1e100}")));
    assert_false(valid(J("{'a':1234567890123456789}")));
    assert_true(valid(J("{'a':[1,-2.5e+10,true,null,{},'\\u00e9']}")));
}

/* A listed entity renders to what a GET of the same document gives. */
static void test_render_same_as_entry(void **state)
{
    char body[4096];
    struct api_list l = {0};
    struct api_entry e = {0};
    (void)state;

    for (int k = 0; k < API_KIND_COUNT; k++) {
        for (size_t i = 0; i < N_SAMPLES; i++) {
            const char *doc = J(samples[i]);
            char *json;

            if (dec_entry((enum api_kind)k, doc, strlen(doc), &e, NULL) !=
                API_OK)
                continue;
            snprintf(body, sizeof body, "[%s]", samples[i]);
            if (dec_list_append((enum api_kind)k, J(body), strlen(body), &l,
                                10, NULL, NULL) == API_OK &&
                l.n == 1) {
                json = render(&l.v[0]);
                assert_string_equal(json, e.json);
                free(json);
            }
            api_list_clear(&l);
            api_entry_clear(&e);
        }
    }
    /* not an object, not JSON */
    {
        char *json = (char *)"x";
        size_t len = 1;
        assert_int_equal(dec_render("[1]", 3, &json, &len, NULL),
                         API_EPROTO);
        assert_null(json);
        assert_int_equal(len, 0);
        assert_int_equal(dec_render("{", 1, &json, &len, NULL), API_EPROTO);
    }
}

/* The scanner skips plain string bytes eight at a time: a byte it must
 * stop at, in any position of a run, is still seen. */
static void test_string_runs(void **state)
{
    static const struct {
        const char *bytes;
        int valid;
    } stops[] = {{"\\n", 1}, {"\\u00e9", 1}, {"\xc3\xa9", 1},
                 {"\xe2\x82\xac", 1}, {"\x01", 0}, {"\x1f", 0},
                 {"\xff", 0}, {"\x80", 0}, {"\\x", 0}, {"\"", 0},
                 {"\x7f", 1}, {" ", 1}};
    char body[256], run[64];
    json_t *v;
    (void)state;

    for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {
        for (size_t pos = 0; pos < 20; pos++) {
            memset(run, 'a', pos);
            run[pos] = '\0';
            snprintf(body, sizeof body,
                     "{\"entities\":[{\"id\":\"x\",\"name\":\"%s%s"
                     "abcdefghijklmnop\"}]}", run, stops[k].bytes);
            assert_int_equal(dec_scan_valid(body, strlen(body)),
                             stops[k].valid);
            if (dec_load(body, strlen(body), 0, &v, NULL) == API_OK) {
                json_decref(v);
                assert_true(stops[k].valid);
            } else {
                assert_false(stops[k].valid);
            }
            same_list(API_KIND_USER_RECORDING, body, 10);
        }
    }
}

static void test_body_valid(void **state)
{
    (void)state;
    const char *s = J("{'a':1}");
    assert_true(dec_body_valid(s, strlen(s)));
    s = J("['\\ud83d\\ude00']"); /* the scanner leaves it to jansson */
    assert_true(dec_body_valid(s, strlen(s)));
    s = J("{'a':1");
    assert_false(dec_body_valid(s, strlen(s)));
    assert_false(dec_body_valid("5", 1));
    assert_false(dec_body_valid(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_entries),
        cmocka_unit_test(test_same_envelopes),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_fast_path_taken),
        cmocka_unit_test(test_render_same_as_entry),
        cmocka_unit_test(test_string_runs),
        cmocka_unit_test(test_body_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
