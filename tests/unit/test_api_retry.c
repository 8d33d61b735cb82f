/* test_api_retry.c - the retry/backoff policy (pure function) and the
 * deadline handling of the request loop with an injected clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "client_int.h"

static struct api_retry_in base(void)
{
    struct api_retry_in in = {
        .idempotent = 1, .result = HTTP_OK, .status = 503,
        .retry_after_s = -1, .attempt = 0, .max_retries = 4,
        .remaining_ms = 60000, .rand = 0,
    };
    return in;
}

static void test_statuses(void **state)
{
    struct api_retry_in in = base();
    static const long yes[] = {429, 500, 502, 503, 504, 599};
    static const long no[] = {200, 202, 400, 401, 403, 404, 409, 412, 501};

    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        in.status = yes[i];
        assert_true(api_retry_delay(&in) >= 0);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        in.status = no[i];
        assert_int_equal(api_retry_delay(&in), -1);
    }
}

static void test_non_idempotent(void **state)
{
    struct api_retry_in in = base();

    (void)state;
    in.idempotent = 0;
    in.status = 503;
    assert_int_equal(api_retry_delay(&in), -1);
    in.status = 429;
    assert_true(api_retry_delay(&in) >= 0);
    in.result = HTTP_ETRANSPORT;
    assert_int_equal(api_retry_delay(&in), -1);
    in.result = HTTP_ETIMEOUT;
    assert_int_equal(api_retry_delay(&in), -1);
    in.result = HTTP_ECONNECT; /* nothing was sent */
    assert_true(api_retry_delay(&in) >= 0);
    in.idempotent = 1;
    in.result = HTTP_ETRANSPORT;
    assert_true(api_retry_delay(&in) >= 0);
    in.result = HTTP_ETOOBIG;
    assert_int_equal(api_retry_delay(&in), -1);
    in.result = HTTP_ESHUTDOWN;
    assert_int_equal(api_retry_delay(&in), -1);
}

static void test_backoff_bounds(void **state)
{
    struct api_retry_in in = base();
    long prev_max = 0;

    (void)state;
    in.max_retries = 100;
    for (int a = 0; a < 12; a++) {
        long step = API_BACKOFF_BASE_MS << (a < 7 ? a : 7);
        if (step > API_BACKOFF_CAP_MS)
            step = API_BACKOFF_CAP_MS;
        in.attempt = a;
        in.rand = 0;
        long lo = api_retry_delay(&in);
        in.rand = 0xffffffffu;
        long hi = api_retry_delay(&in);
        assert_int_equal(lo, step / 2);
        assert_true(hi >= lo && hi <= step);
        assert_true(hi >= prev_max / 2);
        prev_max = hi;
    }
    in.attempt = 20;
    in.rand = 12345;
    assert_true(api_retry_delay(&in) <= API_BACKOFF_CAP_MS);
}

static void test_limits(void **state)
{
    struct api_retry_in in = base();

    (void)state;
    in.attempt = 4;
    assert_int_equal(api_retry_delay(&in), -1); /* max_retries reached */
    in.attempt = 0;
    in.max_retries = 0;
    assert_int_equal(api_retry_delay(&in), -1);
    in.max_retries = 4;
    in.remaining_ms = 0;
    assert_int_equal(api_retry_delay(&in), -1);
    in.remaining_ms = 40; /* backoff (>= 50 ms) would overrun */
    assert_int_equal(api_retry_delay(&in), -1);
}

static void test_retry_after(void **state)
{
    struct api_retry_in in = base();

    (void)state;
    in.status = 429;
    in.retry_after_s = 3;
    assert_int_equal(api_retry_delay(&in), 3000);
    in.remaining_ms = 2999; /* waiting would pass the deadline: give up */
    assert_int_equal(api_retry_delay(&in), -1);
    in.remaining_ms = 60000;
    in.retry_after_s = 0; /* "now": plain backoff */
    assert_in_range(api_retry_delay(&in), 50, 100);
    in.retry_after_s = -1;
    assert_in_range(api_retry_delay(&in), 50, 100);
}

/* ---- the request loop against a dead port, with a fake clock ---- */

struct fake_clock {
    int64_t now;
    long slept;
    int sleeps;
};

static int64_t fake_now(void *arg)
{
    return ((struct fake_clock *)arg)->now;
}

static void fake_sleep(void *arg, long ms)
{
    struct fake_clock *f = arg;

    f->now += ms;
    f->slept += ms;
    f->sleeps++;
}

static void test_deadline_loop(void **state)
{
    struct fake_clock fc = {.now = 1000};
    struct api_clock ck = {fake_now, fake_sleep, &fc};
    struct api_config cfg = {
        .api_url = "http://127.0.0.1:1", .access_token = "t",
        .max_retries = 3, .request_timeout_ms = 60000,
        .connect_timeout_ms = 500,
    };
    struct api_error err;
    struct api_client *c = api_client_new(&cfg, &err);
    struct api_entry e = {0};
    struct api_stats st;

    (void)state;
    assert_non_null(c);
    api_client_set_clock(c, &ck);
    /* port 1 refuses: connect errors are retried max_retries times */
    assert_int_equal(api_settings_get(c, 0, &e, &err), API_ETRANSPORT);
    assert_int_equal(api_error_to_errno(&err), EIO);
    assert_int_equal(fc.sleeps, 3);
    assert_in_range(fc.slept, 50 + 100 + 200, 100 + 200 + 400);
    api_client_stats(c, &st);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.offline, 1);

    /* deadline already passed: no request at all, ETIMEDOUT */
    struct api_call call = {.method = "GET", .path = "/api/v2/x",
                            .deadline = fc.now - 1};
    struct http_resp resp;
    api_error_clear(&err);
    assert_int_equal(api_call_do(c, &call, &resp, &err), API_ETIMEOUT);
    assert_int_equal(api_error_to_errno(&err), ETIMEDOUT);
    http_resp_clear(&resp);
    api_client_stats(c, &st);
    assert_int_equal(st.requests, 4);

    /* shutdown: fails at once */
    api_client_shutdown(c);
    api_error_clear(&err);
    assert_int_equal(api_settings_get(c, 0, &e, &err), API_ETRANSPORT);
    api_client_stats(c, &st);
    assert_int_equal(st.requests, 4); /* nothing sent */
    api_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_non_idempotent),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_deadline_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
