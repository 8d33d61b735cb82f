/* test_api_errors.c - the status->errno table, error text, format and
 * id helpers of the API client. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "client_int.h"

static void test_errno_table(void **state)
{
    static const struct {
        enum api_rc rc;
        long status;
        int want;
    } cases[] = {
        {API_OK, 0, 0},
        {API_EHTTP, 400, EINVAL},   {API_EHTTP, 401, EACCES},
        {API_EHTTP, 403, EACCES},   {API_EHTTP, 404, ENOENT},
        {API_EHTTP, 410, ENOENT},   {API_EHTTP, 409, EEXIST},
        {API_EHTTP, 412, ESTALE},   {API_EHTTP, 413, EFBIG},
        {API_EHTTP, 429, EIO},      {API_EHTTP, 500, EIO},
        {API_EHTTP, 503, EIO},      {API_EHTTP, 418, EIO},
        {API_ETIMEOUT, 0, ETIMEDOUT}, {API_ENOTREADY, 202, EAGAIN},
        {API_ESTALE, 0, ESTALE},    {API_EINVAL, 0, EINVAL},
        {API_EPERM, 0, EPERM},      {API_ENOMEM, 0, ENOMEM},
        {API_ETRANSPORT, 0, EIO},   {API_EPROTO, 0, EIO},
        {API_ECHANGED, 0, EIO},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_error e = {.rc = cases[i].rc,
                              .http_status = cases[i].status};
        assert_int_equal(api_error_to_errno(&e), cases[i].want);
    }
    assert_int_equal(api_error_to_errno(NULL), 0);
}

static void test_first_error_wins(void **state)
{
    struct api_error e;
    char buf[300];

    (void)state;
    api_error_clear(&e);
    assert_int_equal(api_fail(&e, API_EINVAL, "first %d", 1), API_EINVAL);
    api_error_set(&e, API_EHTTP, 500, "second");
    assert_int_equal(e.rc, API_EINVAL);
    assert_string_equal(e.message, "first 1");
    assert_int_equal(api_fail(NULL, API_ENOMEM, "x"), API_ENOMEM);
    api_error_str(&e, buf, sizeof(buf));
    assert_string_equal(buf, "invalid: first 1");

    api_error_clear(&e);
    api_error_set(&e, API_EHTTP, 404, "no such recording");
    strcpy(e.api_code, "not.found");
    assert_string_equal(api_error_str(&e, buf, sizeof(buf)),
                        "HTTP 404 not.found: no such recording");
    api_error_clear(&e);
    assert_string_equal(api_error_str(&e, buf, sizeof(buf)), "ok");
}

static void test_ids(void **state)
{
    char long_id[130];

    (void)state;
    assert_true(api_id_valid("abc-DEF_0.9"));
    assert_true(api_id_valid("a"));
    assert_false(api_id_valid(NULL));
    assert_false(api_id_valid(""));
    assert_false(api_id_valid("."));
    assert_false(api_id_valid(".."));
    assert_false(api_id_valid("a/b"));
    assert_false(api_id_valid("a b"));
    assert_false(api_id_valid("a?b"));
    assert_false(api_id_valid("a%2F"));
    assert_false(api_id_valid("\xc3\xa9"));
    memset(long_id, 'x', 128);
    long_id[128] = '\0';
    assert_true(api_id_valid(long_id));
    long_id[128] = 'x';
    long_id[129] = '\0';
    assert_false(api_id_valid(long_id));
    assert_int_equal(api_ids_check(NULL, 2, "a", "b"), API_OK);
    assert_int_equal(api_ids_check(NULL, 2, "a", NULL), API_EINVAL);
    assert_int_equal(api_ids_check(NULL, 1, "../x"), API_EINVAL);
}

static void test_formats(void **state)
{
    enum api_format f;

    (void)state;
    assert_string_equal(api_format_name(API_FORMAT_WAV_ULAW), "WAV_ULAW");
    assert_string_equal(api_format_ext(API_FORMAT_OGG_OPUS), "opus");
    assert_null(api_format_ext(API_FORMAT_NONE));
    assert_int_equal(api_format_parse("mp3", &f), 0);
    assert_int_equal(f, API_FORMAT_MP3);
    assert_int_equal(api_format_parse("flac", &f), -1);
    assert_int_equal(api_format_from_media_name("media.ulaw.wav", &f), 0);
    assert_int_equal(f, API_FORMAT_WAV_ULAW);
    assert_int_equal(api_format_from_media_name("media.wav", &f), 0);
    assert_int_equal(f, API_FORMAT_WAV);
    assert_int_equal(api_format_from_media_name("media.ogg", &f), 0);
    assert_int_equal(f, API_FORMAT_OGG_VORBIS);
    assert_int_equal(api_format_from_media_name("media.flac", &f), -1);
    assert_int_equal(api_format_from_media_name("metadata.json", &f), -1);
    assert_string_equal(api_ext_from_content_type("audio/ogg; codecs=opus"),
                        "ogg");
    assert_string_equal(api_ext_from_content_type("audio/mpeg"), "mp3");
    assert_string_equal(api_ext_from_content_type("x/unknown"), "bin");
    assert_string_equal(api_ext_from_content_type(NULL), "bin");
    assert_string_equal(api_kind_name(API_KIND_USER_RECORDING),
                        "userrecording");
    assert_string_equal(api_kind_name(API_KIND_COUNT), "unknown");
}

static void test_clear_helpers(void **state)
{
    struct api_entry e = {0};
    struct api_list l = {0};
    struct api_media m = {0};

    (void)state;
    api_entry_clear(&e);
    api_list_clear(&l);
    api_media_clear(&m);
    api_entry_clear(NULL);
    e.id = strdup("x");
    e.json = strdup("{}\n");
    api_entry_clear(&e);
    assert_null(e.id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_table),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_clear_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
