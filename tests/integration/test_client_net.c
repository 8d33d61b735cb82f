/* test_client_net.c - the API client's network behaviour against the
 * emulator: retries (5xx bursts, 429 + Retry-After, 501, POST), deadlines
 * (stall -> ETIMEDOUT in bounded time), shutdown, one token renewal for
 * many threads, media (202 then 200, byte-exact ranged reads without
 * Authorization, ETag pinning), the document cache (hits, stale copies
 * when the API fails) and concurrent use. Prints requests/second with 1
 * and 8 threads. Exit 77 if the emulator cannot start.
 *
 * A ThreadSanitizer build of this test: configure with -DENABLE_TSAN=ON
 * (instead of ENABLE_SANITIZERS) and run integration_test_client_net. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "api_client.h"
#include "cache.h"
#include "client_int.h"
#include "emu.h"

static struct emu emu;
static json_t *state;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct api_client *client_with(long timeout_ms, long ttl_s)
{
    struct api_config cfg = {
        .api_url = emu.api_url, .login_url = emu.login_url,
        .client_id = emu.client_id, .client_secret = emu.client_secret,
        .request_timeout_ms = timeout_ms, .metadata_ttl_s = ttl_s,
        .transcode_timeout_ms = 20000, .low_speed_time_s = 5,
    };
    struct api_error err;
    struct api_client *c = api_client_new(&cfg, &err);

    assert_non_null(c);
    assert_int_equal(api_client_login(c, &err), API_OK);
    return c;
}

static const char *state_id(const char *list, size_t i)
{
    return json_string_value(json_array_get(json_object_get(state, list), i));
}

#define SUMMARY "^GET /api/v2/userrecordings/summary$"

static void test_5xx_burst(void **st)
{
    struct api_client *c = client_with(20000, 60);
    struct api_entry e = {0};
    struct api_error err;
    struct api_stats s;

    (void)st;
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":2,\"status\":503}");
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_OK);
    assert_int_equal(emu_count(&emu, SUMMARY), 3);
    api_client_stats(c, &s);
    assert_int_equal(s.retries, 2);
    api_entry_clear(&e);

    /* 501 is never retried; nor is a POST after a 503 */
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":5,\"status\":501}");
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), EIO);
    assert_int_equal(emu_count(&emu, SUMMARY), 1);
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"POST /api/v2/recording/recordingkeys\","
                    "\"count\":1,\"status\":503}");
    assert_int_equal(api_key_create(c, &e, &err), API_EHTTP);
    assert_int_equal(err.http_status, 503);
    assert_int_equal(emu_count(&emu, "^POST /api/v2/recording/recordingkeys"),
                     1);
    /* exhausted retries: 5 attempts (max_retries 4), then EIO */
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":50,\"status\":500}");
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), EIO);
    assert_int_equal(emu_count(&emu, SUMMARY), 5);
    emu_reset(&emu);
    api_client_free(c);
}

static void test_429(void **st)
{
    struct api_client *c = client_with(20000, 60);
    struct api_entry e = {0};
    struct api_error err;
    struct api_stats s;
    int64_t t0;

    (void)st;
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":1,\"status\":429,\"retry_after\":1}");
    t0 = now_ms();
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_OK);
    assert_true(now_ms() - t0 >= 1000);
    assert_int_equal(emu_count(&emu, SUMMARY), 2);
    api_client_stats(c, &s);
    assert_int_equal(s.rate_limit_waits, 1);
    api_entry_clear(&e);
    api_client_free(c);

    /* Retry-After beyond the deadline: give up at once */
    c = client_with(2000, 60);
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":1,\"status\":429,\"retry_after\":30}");
    t0 = now_ms();
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_EHTTP);
    assert_int_equal(err.http_status, 429);
    assert_int_equal(api_error_to_errno(&err), EIO);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(emu_count(&emu, SUMMARY), 1);
    emu_reset(&emu);
    api_client_free(c);
}

static void test_stall_deadline(void **st)
{
    struct api_client *c = client_with(1500, 60);
    struct api_entry e = {0};
    struct api_error err;
    int64_t t0;

    (void)st;
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":20,\"stall_ms\":8000}");
    t0 = now_ms();
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_ETIMEOUT);
    assert_int_equal(api_error_to_errno(&err), ETIMEDOUT);
    assert_in_range(now_ms() - t0, 1400, 2500);
    emu_reset(&emu);
    api_client_free(c);
}

struct shut_arg {
    struct api_client *c;
    enum api_rc rc;
    int64_t ms;
};

static void *stalled_call(void *p)
{
    struct shut_arg *a = p;
    struct api_entry e = {0};
    int64_t t0 = now_ms();

    a->rc = api_userrecordings_summary(a->c, &e, NULL);
    a->ms = now_ms() - t0;
    api_entry_clear(&e);
    return NULL;
}

static void test_shutdown(void **st)
{
    struct shut_arg a = {.c = client_with(30000, 60)};
    pthread_t t;

    (void)st;
    emu_reset(&emu);
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":20,\"stall_ms\":20000}");
    pthread_create(&t, NULL, stalled_call, &a);
    usleep(300 * 1000);
    api_client_shutdown(a.c);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, API_ETRANSPORT);
    assert_true(a.ms < 2000);
    emu_reset(&emu);
    api_client_free(a.c);
}

/* ---- many threads ---- */

struct worker {
    struct api_client *c;
    int calls;
    int failures;
};

static void *work(void *p)
{
    struct worker *w = p;
    struct api_error err;

    for (int i = 0; i < w->calls; i++) {
        struct api_entry e = {0};
        enum api_rc rc;
        if (i % 2)
            rc = api_userrecordings_summary(w->c, &e, &err);
        else
            rc = api_userrecording_get(w->c, state_id("userrecordings",
                                                      (size_t)i % 5), &e,
                                       &err);
        if (rc != API_OK)
            w->failures++;
        api_entry_clear(&e);
    }
    return NULL;
}

static int run_threads(struct api_client *c, int n, int calls)
{
    pthread_t t[16];
    struct worker w[16];
    int failures = 0;

    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){.c = c, .calls = calls};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    return failures;
}

static void test_token_renewal_once(void **st)
{
    struct api_client *c = client_with(20000, 60);
    struct api_stats s;

    (void)st;
    emu_reset(&emu);
    emu_expire_tokens(&emu);
    assert_int_equal(run_threads(c, 8, 4), 0);
    assert_int_equal(emu_count(&emu, "^POST /oauth/token$"), 1);
    api_client_stats(c, &s);
    assert_int_equal(s.token_renewals, 1);
    api_client_free(c);
}

/* Proactive renewal: a 2 s token is renewed at half-life, before any
 * 401 (own emulator instance, empty seed). */
static void test_token_ttl(void **st)
{
    static const char *const args[] = {"--seed", "empty", "--token-ttl", "2",
                                       NULL};
    struct emu e2;
    struct api_entry e = {0};
    struct api_error err;

    (void)st;
    if (emu_start(&e2, args) != 0)
        skip();
    struct api_config cfg = {.api_url = e2.api_url, .login_url = e2.login_url,
                             .client_id = e2.client_id,
                             .client_secret = e2.client_secret};
    struct api_client *c = api_client_new(&cfg, &err);
    assert_int_equal(api_client_login(c, &err), API_OK);
    assert_int_equal(api_settings_get(c, 1, &e, &err), API_OK);
    api_entry_clear(&e);
    usleep(1200 * 1000);
    assert_int_equal(api_settings_get(c, 1, &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(emu_count(&e2, "^POST /oauth/token$"), 2);
    assert_int_equal(emu_count(&e2, "^GET /api/v2/recording/settings$"), 2);
    api_client_free(c);
    emu_stop(&e2);
}

static void test_concurrent(void **st)
{
    struct api_client *c = client_with(20000, 60);

    (void)st;
    emu_reset(&emu);
    assert_int_equal(run_threads(c, 8, 25), 0);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings"), 200);
    api_client_free(c);
}

static void throughput(int threads)
{
    struct api_client *c = client_with(20000, 60);
    int64_t t0 = now_ms(), ms;
    int calls = 400 / threads;

    emu_reset(&emu);
    t0 = now_ms();
    assert_int_equal(run_threads(c, threads, calls), 0);
    ms = now_ms() - t0;
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings"),
                     calls * threads);
    printf("throughput: %d thread(s): %d requests in %lld ms = %.0f req/s\n",
           threads, calls * threads, (long long)ms,
           calls * threads * 1000.0 / (double)(ms ? ms : 1));
    api_client_free(c);
}

static void test_throughput(void **st)
{
    (void)st;
    throughput(1);
    throughput(8);
}

/* ---- media ---- */

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long sz;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)sz + 1);
    assert_int_equal(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* Read the whole object in odd-sized chunks, back to front. */
static void read_all_check(struct api_client *c, const struct api_media *m,
                           const unsigned char *want, size_t n)
{
    const size_t chunk = 40000 + 17;
    unsigned char *buf = malloc(chunk);
    struct api_error err;
    size_t got;

    for (size_t k = (n + chunk - 1) / chunk; k-- > 0;) {
        uint64_t off = k * chunk;
        assert_int_equal(api_media_read(c, m, off, chunk, buf, &got, &err),
                         API_OK);
        assert_int_equal(got, off + chunk > n ? n - off : chunk);
        assert_memory_equal(buf, want + off, got);
    }
    /* past the end: nothing */
    assert_int_equal(api_media_read(c, m, n + 10, 10, buf, &got, &err),
                     API_OK);
    assert_int_equal(got, 0);
    free(buf);
}

static void check_media(struct api_client *c, const struct api_media_ref *r,
                        const char *kind)
{
    struct api_media m = {0};
    struct api_error err;
    char path[512], hex[65], hex2[65];
    uint64_t size;
    unsigned char *want;
    size_t n;

    assert_int_equal(api_media_resolve(c, r, &m, &err), API_OK);
    assert_int_equal(emu_media_file(&emu, kind, r->id, "WAV", path,
                                    sizeof(path), hex, &size), 0);
    assert_int_equal(m.size, (int64_t)size);
    assert_non_null(m.etag);
    want = slurp(path, &n);
    assert_int_equal(n, size);
    assert_int_equal(test_sha256_file(path, hex2), 0);
    assert_string_equal(hex, hex2);
    read_all_check(c, &m, want, n);
    free(want);
    api_media_clear(&m);
}

static void test_media(void **st)
{
    struct api_client *c = client_with(20000, 60);
    json_t *convs = json_object_get(state, "conversations");
    struct api_media_ref r = {.format = API_FORMAT_WAV};
    struct api_stats s;
    const char *k;
    json_t *v;

    (void)st;
    json_object_foreach(convs, k, v)
    {
        if (json_array_size(v) > 0) {
            r.conversation_id = k;
            r.id = json_string_value(json_array_get(v, 0));
            break;
        }
    }
    emu_reset(&emu);
    r.source = API_MEDIA_RECORDING;
    check_media(c, &r, "recording");
    /* transcoding: at least one 202 before the 200 */
    assert_true(emu_count(&emu, "^GET /api/v2/conversations/\\{conversationId"
                                "\\}/recordings/\\{recordingId\\}$") >= 2);
    r.source = API_MEDIA_USER_RECORDING;
    r.id = state_id("userrecordings", 2);
    check_media(c, &r, "userrecording");
    r.source = API_MEDIA_ORPHAN;
    r.id = state_id("orphans", 0);
    check_media(c, &r, "orphan");
    api_client_stats(c, &s);
    assert_true(s.media_bytes > 0);
    api_client_free(c);
}

static void test_media_changed(void **st)
{
    struct api_client *c = client_with(20000, 60);
    struct api_media_ref r = {.source = API_MEDIA_USER_RECORDING,
                              .id = state_id("userrecordings", 3),
                              .format = API_FORMAT_WAV};
    struct api_media m = {0};
    struct api_error err;
    char buf[100];
    size_t got;

    (void)st;
    assert_int_equal(api_media_resolve(c, &r, &m, &err), API_OK);
    free(m.etag);
    m.etag = strdup("\"not-the-etag\"");
    assert_int_equal(api_media_read(c, &m, 0, sizeof(buf), buf, &got, &err),
                     API_ECHANGED);
    api_media_clear(&m);
    /* bad ids fail before any request */
    r.id = "../etc";
    assert_int_equal(api_media_resolve(c, &r, &m, &err), API_EINVAL);
    api_client_free(c);
}

/* ---- the document cache ---- */

/* For test_doc_cache: the edit that lands between a GET's check and its
 * store (once). */
static const char *race_id;
static int race_writes;

static void write_before_store(struct api_client *c, const char *key_path)
{
    struct api_entry e = {0};
    struct api_error err = {0};

    if (race_writes || !strstr(key_path, race_id))
        return;
    race_writes++;
    assert_int_equal(api_userrecording_put(c, race_id, "{\"name\":\"raced\"}",
                                           &e, &err), API_OK);
    api_entry_clear(&e);
}

static void test_doc_cache(void **st)
{
    struct api_client *c = client_with(3000, 1);
    char dir[] = "/tmp/recfs-client-cache-XXXXXX";
    struct api_entry e = {0};
    struct api_error err;
    struct api_stats s;
    struct cache *cache;

    (void)st;
    cache = emu_client_cache(c, dir);
    if (!cache)
        skip();
    emu_reset(&emu);
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(emu_count(&emu, SUMMARY), 1);
    api_client_stats(c, &s);
    assert_int_equal(s.doc_cache_hits, 1);

    usleep(2100 * 1000); /* expire (ttl 1 s, 1 s resolution), fail the API */
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings/summary\","
                    "\"count\":100,\"status\":503}");
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_OK);
    assert_int_equal(e.kind, API_KIND_FAX_SUMMARY);
    api_entry_clear(&e);
    api_client_stats(c, &s);
    assert_int_equal(s.stale_served, 1);
    assert_int_equal(s.offline, 1);
    emu_reset(&emu);

    /* a write replaces the cached document */
    const char *id = state_id("userrecordings", 4);
    assert_int_equal(api_userrecording_get(c, id, &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_userrecording_put(c, id, "{\"name\":\"cached\"}", &e,
                                           &err), API_OK);
    api_entry_clear(&e);
    emu_reset(&emu);
    assert_int_equal(api_userrecording_get(c, id, &e, &err), API_OK);
    assert_string_equal(e.name, "cached");
    assert_int_equal(emu_count(&emu, "^GET "), 0);
    api_entry_clear(&e);

    /* a GET that saw no write when its answer came, and an edit that
     * lands before the GET stores that answer: the cache keeps the edit
     * (read-your-writes), not the GET's older document */
    usleep(2100 * 1000); /* the cached copy expires: the next GET fetches */
    race_id = id;
    api_before_store_hook = write_before_store;
    assert_int_equal(api_userrecording_get(c, id, &e, &err), API_OK);
    api_before_store_hook = NULL;
    assert_string_equal(e.name, "cached"); /* the GET's own answer */
    api_entry_clear(&e);
    assert_int_equal(race_writes, 1);
    emu_reset(&emu);
    assert_int_equal(api_userrecording_get(c, id, &e, &err), API_OK);
    assert_string_equal(e.name, "raced");
    api_entry_clear(&e);
    api_client_free(c);
    cache_close(cache);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void)
{
    static const char *const args[] = {"--seed", "demo", "--transcode-ms",
                                       "500", NULL};
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
    return state ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5xx_burst),
        cmocka_unit_test(test_429),
        cmocka_unit_test(test_stall_deadline),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_token_renewal_once),
        cmocka_unit_test(test_token_ttl),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_media),
        cmocka_unit_test(test_media_changed),
        cmocka_unit_test(test_doc_cache),
        cmocka_unit_test(test_throughput),
    };
    int rc;

    if (setup() != 0) {
        fprintf(stderr, "emulator unavailable: skipping\n");
        return 77;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_decref(state);
    emu_stop(&emu);
    return rc;
}
