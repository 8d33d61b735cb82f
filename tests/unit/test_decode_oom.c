/* test_decode_oom.c - allocation failure paths of the JSON layer, in the
 * style of jansson's test_chaos: fail the Nth jansson allocation for
 * N = 1, 2, ... until a run completes without reaching N. Every run must
 * end in API_OK or a clean failure (outputs cleared); ASan/LSan check
 * that nothing leaks.
 *
 * jansson 2.14 (and master) ignores allocation failures in its lexer's
 * token buffer (lex_save -> strbuffer_append_byte) and then reads past the
 * buffer: a failure while a token outgrows the initial 16-byte buffer
 * crashes inside json_loadb. The documents parsed here therefore keep
 * every token (quotes included) under 16 bytes, so the token buffer never
 * grows; every other allocation, ours and jansson's, is failed in turn. */
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

static int fail_at;
static int n_alloc;

static void *chaos_malloc(size_t size)
{
    if (++n_alloc == fail_at)
        return NULL;
    return malloc(size);
}

static void chaos_free(void *p)
{
    free(p);
}

/* Runs fn under failure injection. fn returns its rc after checking its
 * own outputs; parse errors caused by a failed allocation count as clean
 * failures (jansson reports some as syntax errors). With need_enomem, at
 * least one run must report API_ENOMEM (the injection reached our code). */
static void chaos(enum api_rc (*fn)(void), const char *name, int need_enomem)
{
    int enomem = 0;
    enum api_rc rc;

    json_set_alloc_funcs(chaos_malloc, chaos_free);
    for (fail_at = 1; fail_at < 100000; fail_at++) {
        n_alloc = 0;
        rc = fn();
        if (n_alloc < fail_at) {
            if (rc != API_OK)
                fail_msg("%s: rc %d without injected failure", name, rc);
            break;
        }
        if (rc == API_ENOMEM)
            enomem++;
    }
    json_set_alloc_funcs(malloc, free);
    if (need_enomem && enomem == 0)
        fail_msg("%s: no run reported API_ENOMEM (%d runs)", name, fail_at);
}

static enum api_rc run_entry(void)
{
    struct api_entry e = {0};
    struct api_error err = {0};
    const char *doc = J("{'id':'rec-1','media':'Audio','name':'n',"
                        "'fileState':'X','a':[1,{'b':null}],"
                        "'mediaUris':{'0':{'x':1}},'startTime':null}");
    enum api_rc rc = dec_entry(API_KIND_RECORDING, doc, strlen(doc), &e,
                               &err);

    if (rc != API_OK) {
        assert_null(e.id);
        assert_null(e.json);
        assert_int_equal(err.rc, rc);
    } else {
        assert_string_equal(e.id, "rec-1");
        assert_non_null(e.json);
    }
    api_entry_clear(&e);
    return rc;
}

static enum api_rc run_list(void)
{
    struct api_list l = {0};
    struct dec_page pg;
    const char *doc = J("{'entities':[{'id':'a'},{'id':'b','n':[1]},"
                        "{'id':'c'},{'id':'!'}],'pageCount':1}");
    enum api_rc rc = dec_list_append(API_KIND_POLICY, doc, strlen(doc), &l,
                                     10, &pg, NULL);

    if (rc != API_OK)
        assert_int_equal(l.n, 0);
    else
        assert_int_equal(l.n, 3);
    api_list_clear(&l);
    return rc;
}

static enum api_rc run_update(void)
{
    int changed = -1, only = -1;
    char *body = NULL;
    const char *base = J("{'id':'p','name':'n','enabled':true,'order':1}");
    const char *text = J("{'enabled':false,'name':'m','actions':{'a':[1,"
                         "{'b':2}]}}");
    enum api_rc rc = dec_check_update(API_KIND_POLICY, base, text,
                                      strlen(text), &changed, &body, &only,
                                      NULL);

    if (rc != API_OK) {
        assert_null(body);
        assert_int_equal(changed, 0);
    } else {
        assert_int_equal(changed, 1);
        assert_non_null(body);
    }
    free(body);
    return rc;
}

static enum api_rc run_orphan(void)
{
    int changed = -1;
    char *body = NULL;
    const char *base = J("{'id':'o','name':'n'}");
    const char *text = J("{'integrationId':'i','deleteDate':null}");
    enum api_rc rc = dec_check_update(API_KIND_ORPHAN, base, text,
                                      strlen(text), &changed, &body, NULL,
                                      NULL);

    if (rc != API_OK)
        assert_null(body);
    free(body);
    return rc;
}

static enum api_rc run_screen(void)
{
    char *body = NULL;
    const char *base = J("{'id':'s','name':'n'}");
    const char *text = J("{'id':'s','state':'STOPPED'}");
    enum api_rc rc = dec_check_update(API_KIND_SCREEN_SESSION, base, text,
                                      strlen(text), NULL, &body, NULL, NULL);

    if (rc != API_OK)
        assert_null(body);
    free(body);
    return rc;
}

static enum api_rc run_create(void)
{
    char *body = NULL;
    const char *text = J("{'name':'p','enabled':true,'actions':{'x':[1]}}");
    enum api_rc rc = dec_check_create(API_KIND_POLICY, text, strlen(text),
                                      &body, NULL);

    if (rc != API_OK)
        assert_null(body);
    free(body);
    return rc;
}

static enum api_rc run_token(void)
{
    char *tok = NULL;
    long ttl;
    const char *doc = J("{'access_token':'abc','expires_in':60}");
    enum api_rc rc = dec_token(doc, strlen(doc), &tok, &ttl, NULL);

    if (rc != API_OK)
        assert_null(tok);
    free(tok);
    return rc;
}

static enum api_rc run_media(void)
{
    char *url = NULL;
    int64_t size;
    const char *doc = J("{'mediaUris':{'0':{'mediaUri':'http://h/x'}}}");
    enum api_rc rc = dec_media_uri(doc, strlen(doc), &url, &size, NULL);

    if (rc != API_OK)
        assert_null(url);
    free(url);
    return rc;
}

static enum api_rc run_misc(void)
{
    struct api_error err = {0};
    const char *a = J("{'id':'a','n':[1,2.5,{'x':'y'}]}");
    char *q = dec_analytics_query(0, 86400, 100, 1);
    int same = dec_same_doc(a, strlen(a), a, strlen(a));

    dec_error_body(J("{'code':'bad','message':'m'}"), 28, &err);
    free(q);
    return q && same == 1 ? API_OK : API_ENOMEM;
}

static void test_chaos(void **state)
{
    (void)state;
    chaos(run_entry, "dec_entry", 1);
    chaos(run_list, "dec_list_append", 1);
    chaos(run_update, "dec_check_update", 1);
    chaos(run_orphan, "dec_check_update orphan", 1);
    chaos(run_screen, "dec_check_update screen", 1);
    chaos(run_create, "dec_check_create", 1);
    chaos(run_token, "dec_token", 0);
    chaos(run_media, "dec_media_uri", 0);
    chaos(run_misc, "analytics/same_doc/error_body", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
