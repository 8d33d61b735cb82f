/* test_hostile_client.c - the API client against a misbehaving server
 * (the emulator's control faults): malformed JSON, truncated bodies
 * (Content-Length larger than what is sent), connections reset mid-body,
 * stalls, on API documents, listings, the token endpoint and media reads;
 * and the emulator's "hostile" modes: poisoned ids ('/', "..", NUL,
 * control characters, 10 KiB), endless paging, 2 GiB bodies, a gzip
 * bomb, redirects to another host, Content-Length lies on a kept-alive
 * connection.
 *
 * Every call must return a clean error that maps to EIO (or ETIMEDOUT
 * for stalls) within a bounded time, never a crash, never partial data
 * reported as success, never a secret in the error text; ASan/LSan (the
 * sanitizer build) check for leaks on those error paths. A single fault
 * must be absorbed by a retry. Exit 77 if the emulator cannot start.
 * RECFS_TEST_LOG_DEBUG=1 turns the client's log to debug level (used by
 * test_security_secrets.sh to scan it for secrets).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "api_client.h"
#include "emu.h"
#include "log.h"

#define DEADLINE_MS 4000
/* A failing call may use its whole deadline plus one backoff step. */
#define BOUND_MS (DEADLINE_MS + 3000)

static struct emu emu;
static json_t *state;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* max_body / max_entries 0: the client's defaults. */
static struct api_client *client_caps(size_t max_body, size_t max_entries)
{
    struct api_config cfg = {
        .api_url = emu.api_url, .login_url = emu.login_url,
        .client_id = emu.client_id, .client_secret = emu.client_secret,
        .request_timeout_ms = DEADLINE_MS, .low_speed_time_s = 2,
        .transcode_timeout_ms = 20000, .max_body_bytes = max_body,
        .max_entries = max_entries,
    };
    struct api_error err;
    struct api_client *c = api_client_new(&cfg, &err);

    assert_non_null(c);
    return c;
}

static struct api_client *client_new(void)
{
    return client_caps(0, 0);
}

static struct api_client *client_login(void)
{
    struct api_client *c = client_new();
    struct api_error err;

    assert_int_equal(api_client_login(c, &err), API_OK);
    return c;
}

static const char *state_id(const char *list, size_t i)
{
    return json_string_value(json_array_get(json_object_get(state, list), i));
}

/* No secret may appear in an error's text. */
static void assert_no_secret(const struct api_error *err)
{
    char buf[512];

    api_error_str(err, buf, sizeof(buf));
    assert_null(strstr(buf, emu.client_secret));
    assert_null(strstr(buf, "Bearer"));
    assert_null(strstr(buf, "Signature"));
    assert_null(strstr(buf, "?"));
}

static void fault(const char *match, const char *what)
{
    char js[256];

    snprintf(js, sizeof(js), "{\"match\":\"%s\",\"count\":%s}", match, what);
    assert_int_equal(emu_fault(&emu, js), 0);
}

/* Fetch the fax summary (one small document) under the current faults;
 * returns the rc and checks the bound on time. */
static enum api_rc summary(struct api_client *c, struct api_error *err)
{
    struct api_entry e = {0};
    int64_t t0 = now_ms();
    enum api_rc rc = api_userrecordings_summary(c, &e, err);

    assert_true(now_ms() - t0 < BOUND_MS);
    if (rc == API_OK)
        assert_non_null(e.json);
    else
        assert_null(e.json);
    api_entry_clear(&e);
    return rc;
}

#define SUMMARY "GET /api/v2/userrecordings/summary"

static void expect_eio(enum api_rc rc, const struct api_error *err)
{
    assert_int_not_equal(rc, API_OK);
    assert_int_equal(api_error_to_errno(err), rc == API_ETIMEOUT ? ETIMEDOUT
                                                                 : EIO);
    assert_no_secret(err);
}

static void test_malformed_json(void **st)
{
    struct api_client *c = client_login();
    struct api_list l = {0};
    struct api_ref ref = {.kind = API_KIND_USER_RECORDING};
    struct api_error err;

    (void)st;
    emu_reset(&emu);
    fault(SUMMARY, "50,\"malformed\":true");
    assert_int_equal(summary(c, &err), API_EPROTO);
    expect_eio(API_EPROTO, &err);
    /* a listing page */
    fault("GET /api/v2/userrecordings$", "50,\"malformed\":true");
    assert_int_equal(api_doc_list(c, &ref, &l, &err), API_EPROTO);
    assert_int_equal(l.n, 0);
    expect_eio(API_EPROTO, &err);
    emu_reset(&emu);
    assert_int_equal(summary(c, &err), API_OK);
    api_client_free(c);
}

static void test_truncated_body(void **st)
{
    struct api_client *c = client_login();
    struct api_error err;
    enum api_rc rc;

    (void)st;
    emu_reset(&emu);
    fault(SUMMARY, "50,\"truncate\":true");
    rc = summary(c, &err);
    expect_eio(rc, &err);
    /* one truncated answer: the retry gets the document */
    emu_reset(&emu);
    fault(SUMMARY, "1,\"truncate\":true");
    assert_int_equal(summary(c, &err), API_OK);
    assert_int_equal(emu_count(&emu, "^" SUMMARY "$"), 2);
    emu_reset(&emu);
    api_client_free(c);
}

static void test_reset_mid_body(void **st)
{
    struct api_client *c = client_login();
    struct api_error err;
    enum api_rc rc;

    (void)st;
    emu_reset(&emu);
    fault(SUMMARY, "50,\"reset_after_bytes\":7");
    rc = summary(c, &err);
    expect_eio(rc, &err);
    emu_reset(&emu);
    fault(SUMMARY, "50,\"reset_after_bytes\":0");
    rc = summary(c, &err);
    expect_eio(rc, &err);
    emu_reset(&emu);
    fault(SUMMARY, "1,\"reset_after_bytes\":3");
    assert_int_equal(summary(c, &err), API_OK);
    emu_reset(&emu);
    api_client_free(c);
}

static void test_stall(void **st)
{
    struct api_client *c = client_login();
    struct api_error err;
    enum api_rc rc;

    (void)st;
    emu_reset(&emu);
    fault(SUMMARY, "50,\"stall_ms\":15000");
    rc = summary(c, &err);
    assert_int_equal(rc, API_ETIMEOUT);
    expect_eio(rc, &err);
    emu_reset(&emu);
    api_client_free(c);
}

static void test_token_endpoint(void **st)
{
    static const char *const faults[] = {
        "50,\"malformed\":true", "50,\"truncate\":true",
        "50,\"reset_after_bytes\":5", "50,\"status\":500",
    };
    struct api_error err;

    (void)st;
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        struct api_client *c = client_new();
        int64_t t0 = now_ms();
        enum api_rc rc;

        emu_reset(&emu);
        fault("POST /oauth/token", faults[i]);
        rc = api_client_login(c, &err);
        assert_true(now_ms() - t0 < BOUND_MS);
        expect_eio(rc, &err);
        api_client_free(c);
    }
    emu_reset(&emu);
}

/* Resolve a user recording's media (no faults yet). */
static void media_open(struct api_client *c, struct api_media *m)
{
    struct api_media_ref r = {.source = API_MEDIA_USER_RECORDING,
                              .id = state_id("userrecordings", 1),
                              .format = API_FORMAT_WAV};
    struct api_error err;

    assert_non_null(r.id);
    assert_int_equal(api_media_resolve(c, &r, m, &err), API_OK);
    assert_true(m->size > 4096);
}

static enum api_rc media_read(struct api_client *c, const struct api_media *m,
                              char *buf, size_t len, size_t *got,
                              struct api_error *err)
{
    int64_t t0 = now_ms();
    enum api_rc rc = api_media_read(c, m, 1000, len, buf, got, err);

    assert_true(now_ms() - t0 < BOUND_MS);
    return rc;
}

static void test_media(void **st)
{
    static const char *const faults[] = {
        "50,\"truncate\":true", "50,\"reset_after_bytes\":100",
        "50,\"malformed\":true", "50,\"stall_ms\":15000",
    };
    struct api_client *c = client_login();
    struct api_media m = {0};
    struct api_error err;
    char good[4096], buf[4096], eb[320];
    size_t got;

    (void)st;
    emu_reset(&emu);
    media_open(c, &m);
    assert_int_equal(media_read(c, &m, good, sizeof(good), &got, &err),
                     API_OK);
    assert_int_equal(got, sizeof(good));
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        enum api_rc rc;

        emu_reset(&emu);
        fault("GET /media/", faults[i]);
        rc = media_read(c, &m, buf, sizeof(buf), &got, &err);
        print_message("media fault %s -> %s\n", faults[i],
                      api_error_str(&err, eb, sizeof(eb)));
        if (rc == API_OK) /* never partial or wrong data as success */
            assert_true(got == sizeof(buf) && !memcmp(buf, good, got));
        else
            expect_eio(rc, &err);
    }
    /* one bad answer: retried, the right bytes */
    emu_reset(&emu);
    fault("GET /media/", "1,\"truncate\":true");
    assert_int_equal(media_read(c, &m, buf, sizeof(buf), &got, &err),
                     API_OK);
    assert_int_equal(got, sizeof(buf));
    assert_memory_equal(buf, good, got);
    emu_reset(&emu);
    api_media_clear(&m);
    api_client_free(c);
}

/* ---- the emulator's "hostile" modes ---- */

#define UREC_LIST "^GET /api/v2/userrecordings$"

static void list_urecs(struct api_client *c, struct api_list *l,
                       enum api_rc *rc, struct api_error *err)
{
    struct api_ref ref = {.kind = API_KIND_USER_RECORDING};
    int64_t t0 = now_ms();

    *rc = api_doc_list(c, &ref, l, err);
    assert_true(now_ms() - t0 < BOUND_MS);
}

/* A bad_ids fault with the ids of the JSON array items (without its
 * brackets), plus one 10 KiB id when big. */
static void bad_ids_fault(const char *match, const char *items, int big)
{
    static char x[10241], js[10600];

    memset(x, 'x', sizeof(x) - 1);
    snprintf(js, sizeof(js), "{\"match\":\"%s\",\"count\":1,"
             "\"hostile\":\"bad_ids\",\"ids\":[%s%s%s%s]}", match, items,
             big ? ",\"" : "", big ? x : "", big ? "\"" : "");
    assert_int_equal(emu_fault(&emu, js), 0);
}

/* Ids with '/', "..", NUL, control characters, 10 KiB: never listed. */
static void test_bad_ids(void **st)
{
    struct api_client *c = client_login();
    struct api_list good = {0}, l = {0};
    struct api_entry e = {0};
    struct api_error err;
    enum api_rc rc;

    (void)st;
    emu_reset(&emu);
    list_urecs(c, &good, &rc, &err);
    assert_int_equal(rc, API_OK);
    bad_ids_fault(UREC_LIST, "\"../../etc\",\"..\",\"a/b\","
                             "\"\\u0007ctl\\n\"", 1);
    list_urecs(c, &l, &rc, &err);
    assert_int_equal(rc, API_OK);
    assert_int_equal(l.n, good.n);
    for (size_t i = 0; i < l.n; i++)
        assert_true(api_id_valid(l.v[i].id));
    api_list_clear(&l);
    /* a NUL inside an id: the body is refused as a whole (jansson without
     * JSON_ALLOW_NUL), or the entity skipped; never "x" */
    bad_ids_fault(UREC_LIST, "\"x\\u0000y\"", 0);
    list_urecs(c, &l, &rc, &err);
    print_message("NUL in an id -> rc %d, %zu entries\n", (int)rc, l.n);
    assert_true(rc == API_OK || rc == API_EPROTO);
    for (size_t i = 0; i < l.n; i++)
        assert_string_not_equal(l.v[i].id, "x");
    /* a single document whose id is poisoned */
    emu_reset(&emu);
    fault("^GET /api/v2/userrecordings/", "1,\"hostile\":\"bad_ids\"");
    rc = api_userrecording_get(c, good.v[0].id, &e, &err);
    assert_int_equal(rc, API_EPROTO);
    assert_null(e.json);
    emu_reset(&emu);
    api_list_clear(&good);
    api_list_clear(&l);
    api_client_free(c);
}

/* A listing that never ends: bounded by the page count of page 1 and by
 * max_entries. */
static void test_endless_paging(void **st)
{
    static const char *const modes[] = {
        "-1,\"hostile\":\"endless_paging\"",
        "-1,\"hostile\":\"endless_paging\",\"next\":\"self\","
        "\"repeat_ids\":true",
    };
    struct api_client *c;
    struct api_list l = {0};
    struct api_error err;
    enum api_rc rc;

    (void)st;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        c = client_caps(0, 250);
        assert_int_equal(api_client_login(c, &err), API_OK);
        emu_reset(&emu);
        fault(UREC_LIST, modes[i]);
        list_urecs(c, &l, &rc, &err);
        assert_true(rc == API_OK || rc == API_EPROTO);
        assert_true(l.n <= 250);
        assert_true(emu_count(&emu, UREC_LIST) <= 250 / 100 + 3);
        api_list_clear(&l);
        api_client_free(c);
    }
    emu_reset(&emu);
}

/* 2 GiB JSON body, with and without Content-Length: capped. */
static void test_huge_body(void **st)
{
    static const char *const modes[] = {
        "1,\"hostile\":\"huge_body\"",
        "1,\"hostile\":\"huge_body\",\"no_length\":true",
    };
    struct api_client *c = client_caps(1 << 20, 0);
    struct api_list l = {0};
    struct api_error err;
    enum api_rc rc;

    (void)st;
    assert_int_equal(api_client_login(c, &err), API_OK);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        emu_reset(&emu);
        fault(UREC_LIST, modes[i]);
        list_urecs(c, &l, &rc, &err);
        assert_int_equal(rc, API_EPROTO);
        expect_eio(rc, &err);
        assert_int_equal(l.n, 0);
    }
    emu_reset(&emu);
    api_client_free(c);
}

/* A 1 GiB gzip bomb: either not asked for (no Accept-Encoding: the normal
 * answer) or capped like any other body. */
static void test_gzip_bomb(void **st)
{
    struct api_client *c = client_caps(1 << 20, 0);
    struct api_list l = {0};
    struct api_error err;
    enum api_rc rc;

    (void)st;
    assert_int_equal(api_client_login(c, &err), API_OK);
    emu_reset(&emu);
    fault(UREC_LIST, "1,\"hostile\":\"gzip_bomb\"");
    list_urecs(c, &l, &rc, &err);
    if (rc != API_OK)
        expect_eio(rc, &err);
    api_list_clear(&l);
    emu_reset(&emu);
    api_client_free(c);
}

/* A redirect to another host: not followed with the token. */
static void test_redirect(void **st)
{
    static const char *const modes[] = {
        "1,\"hostile\":\"redirect\"",
        "1,\"hostile\":\"redirect\",\"status\":307",
        "1,\"hostile\":\"redirect\",\"to\":\"media\"",
    };
    struct api_client *c = client_login();
    struct api_list l = {0};
    struct api_error err;
    enum api_rc rc;

    (void)st;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        emu_reset(&emu);
        fault(UREC_LIST, modes[i]);
        list_urecs(c, &l, &rc, &err);
        if (rc != API_OK)
            expect_eio(rc, &err);
        api_list_clear(&l);
        assert_int_equal(emu_count(&emu, "^alt:"), 0);
        assert_int_equal(emu_count(&emu, "^GET /media/"), 0);
    }
    emu_reset(&emu);
    api_client_free(c);
}

/* Content-Length shorter than the body on a keep-alive connection: the
 * surplus must not be taken for the next response. Longer: deadline. */
static void test_content_length_lie(void **st)
{
    struct api_client *c = client_login();
    struct api_entry e = {0};
    struct api_error err;
    enum api_rc rc;

    (void)st;
    emu_reset(&emu);
    fault(SUMMARY, "1,\"hostile\":\"content_length_lie\"");
    rc = summary(c, &err);
    if (rc != API_OK)
        expect_eio(rc, &err);
    for (int i = 0; i < 3; i++) { /* the same connection, reused */
        assert_int_equal(api_userrecordings_summary(c, &e, &err), API_OK);
        assert_non_null(strstr(e.json, "totalCount"));
        api_entry_clear(&e);
    }
    emu_reset(&emu);
    fault(SUMMARY, "50,\"hostile\":\"content_length_lie\","
                   "\"direction\":\"long\"");
    rc = summary(c, &err);
    expect_eio(rc, &err);
    emu_reset(&emu);
    api_client_free(c);
}

static int setup(void)
{
    static const char *const args[] = {"--seed", "demo", "--transcode-ms",
                                       "0", NULL};
    char *body = NULL;

    if (emu_start(&emu, args) != 0)
        return -1;
    if (emu_api(&emu, "GET", "/__control/state", NULL, &body) != 200) {
        free(body);
        emu_stop(&emu);
        return -1;
    }
    state = json_loads(body, 0, NULL);
    free(body);
    if (!state)
        emu_stop(&emu);
    return state ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_truncated_body),
        cmocka_unit_test(test_reset_mid_body),
        cmocka_unit_test(test_stall),
        cmocka_unit_test(test_token_endpoint),
        cmocka_unit_test(test_media),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_endless_paging),
        cmocka_unit_test(test_huge_body),
        cmocka_unit_test(test_gzip_bomb),
        cmocka_unit_test(test_redirect),
        cmocka_unit_test(test_content_length_lie),
    };
    int rc;

    /* test_security_secrets.sh scans this output at debug level */
    if (getenv("RECFS_TEST_LOG_DEBUG"))
        log_set_level(LOG_LEVEL_DEBUG);
    if (setup() != 0) {
        fprintf(stderr, "emulator unavailable: skipping\n");
        return 77;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_decref(state);
    emu_stop(&emu);
    return rc;
}
