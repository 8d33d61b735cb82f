/* test_api_url.c - regions, URL rules (https except loopback), origin
 * comparison (bearer only to the API host), escaping, paths,
 * Content-Range parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client_int.h"

static void test_regions(void **state)
{
    static const char *const envs[] = {
        "mypurecloud.com", "mypurecloud.ie", "mypurecloud.de",
        "mypurecloud.jp", "mypurecloud.com.au", "usw2.pure.cloud",
        "cac1.pure.cloud", "apne2.pure.cloud", "euw2.pure.cloud",
        "aps1.pure.cloud", "sae1.pure.cloud", "mec1.pure.cloud",
        "apne3.pure.cloud", "euc2.pure.cloud", "use2.us-gov-pure.cloud",
    };
    char buf[128], want[128];

    (void)state;
    for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
        snprintf(want, sizeof(want), "https://api.%s", envs[i]);
        assert_non_null(api_region_api_url(envs[i], buf, sizeof(buf)));
        assert_string_equal(buf, want);
    }
    assert_null(api_region_api_url("example.com", buf, sizeof(buf)));
    assert_null(api_region_api_url("pure.cloud", buf, sizeof(buf)));
    assert_null(api_region_api_url(NULL, buf, sizeof(buf)));
}

static struct api_client *mk(const char *env, const char *api,
                             const char *login, struct api_error *err)
{
    struct api_config cfg = {.environment = env, .api_url = api,
                             .login_url = login, .client_id = "id",
                             .client_secret = "secret"};
    return api_client_new(&cfg, err);
}

static void test_client_urls(void **state)
{
    struct api_error err;
    struct api_client *c;

    (void)state;
    c = mk("usw2.pure.cloud", NULL, NULL, &err);
    assert_non_null(c);
    assert_string_equal(api_client_api_url(c), "https://api.usw2.pure.cloud");
    assert_string_equal(c->login_url, "https://login.usw2.pure.cloud");
    api_client_free(c);

    c = mk(NULL, NULL, NULL, &err); /* default region */
    assert_non_null(c);
    assert_string_equal(api_client_api_url(c), "https://api.mypurecloud.com");
    api_client_free(c);

    c = mk("nowhere.example", NULL, NULL, &err);
    assert_null(c);
    assert_int_equal(err.rc, API_EINVAL);
    assert_non_null(strstr(err.message, "region"));

    c = mk(NULL, "http://127.0.0.1:8080/", "http://localhost:9/", &err);
    assert_non_null(c);
    assert_string_equal(api_client_api_url(c), "http://127.0.0.1:8080");
    api_client_free(c);
    c = mk(NULL, "http://[::1]:8080", "http://127.9.9.9:1", &err);
    assert_non_null(c);
    api_client_free(c);

    c = mk(NULL, "http://api.example.com", "https://login.example.com",
           &err);
    assert_null(c);
    assert_int_equal(api_error_to_errno(&err), EINVAL);
    assert_non_null(strstr(err.message, "https"));
    c = mk(NULL, "https://api.example.com", "http://10.0.0.1", &err);
    assert_null(c);
    c = mk(NULL, "http://128.0.0.1", NULL, &err);
    assert_null(c);

    struct api_config none = {.api_url = "https://x.example"};
    assert_null(api_client_new(&none, &err));
    assert_int_equal(err.rc, API_EINVAL);
    struct api_config tok = {.api_url = "https://x.example",
                             .access_token = "ready"};
    c = api_client_new(&tok, &err);
    assert_non_null(c);
    api_client_free(c);
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(api_same_origin("https://api.x.com/a?b", "https://API.x.com"));
    assert_true(api_same_origin("https://api.x.com:443/a", "https://api.x.com"));
    assert_true(api_same_origin("http://127.0.0.1:80/a", "http://127.0.0.1"));
    assert_false(api_same_origin("https://api.x.com", "http://api.x.com"));
    assert_false(api_same_origin("http://127.0.0.1:8080/m",
                                 "http://127.0.0.1:8081"));
    assert_false(api_same_origin("https://media.x.com/a", "https://api.x.com"));
    assert_false(api_same_origin("https://api.x.com@evil.com/",
                                 "https://api.x.com"));
    assert_false(api_same_origin("https://api.x.com.evil.com/",
                                 "https://api.x.com"));
    assert_false(api_same_origin("ftp://api.x.com/", "ftp://api.x.com"));
    assert_true(api_same_origin("http://[::1]:5/x", "http://[::1]:5"));
    assert_true(api_url_is_loopback("http://localhost:1/"));
    assert_true(api_url_is_loopback("http://127.255.0.1/"));
    assert_false(api_url_is_loopback("http://127.0.0.1.evil.com/"));
    assert_false(api_url_is_loopback("http://192.168.0.1/"));
}

static void test_escape_path(void **state)
{
    char *s;
    char buf[16];

    (void)state;
    s = http_escape("a b&c=d/é~");
    assert_string_equal(s, "a%20b%26c%3Dd%2F%C3%A9~");
    free(s);
    s = http_escape("");
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(api_path(buf, sizeof(buf), NULL, "/x/%s", "abc"),
                     API_OK);
    assert_string_equal(buf, "/x/abc");
    assert_int_equal(api_path(buf, sizeof(buf), NULL, "/x/%s",
                              "0123456789abcdef"), API_EINVAL);
}

static void test_content_range(void **state)
{
    uint64_t a, b;
    int64_t t;

    (void)state;
    assert_int_equal(api_parse_content_range("bytes 0-0/1234", &a, &b, &t), 0);
    assert_true(a == 0 && b == 0 && t == 1234);
    assert_int_equal(api_parse_content_range("bytes 100-199/*", &a, &b, &t),
                     0);
    assert_true(a == 100 && b == 199 && t == -1);
    assert_int_equal(api_parse_content_range("bytes 5-4/10", &a, &b, &t), -1);
    assert_int_equal(api_parse_content_range("bytes 0-9/9", &a, &b, &t), -1);
    assert_int_equal(api_parse_content_range("items 0-1/2", &a, &b, &t), -1);
    assert_int_equal(api_parse_content_range("bytes 0-1/x", &a, &b, &t), -1);
    assert_int_equal(api_parse_content_range(NULL, &a, &b, &t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_client_urls),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_escape_path),
        cmocka_unit_test(test_content_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
