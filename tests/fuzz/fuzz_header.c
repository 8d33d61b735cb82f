/* fuzz_header.c - libFuzzer target for the client's parsers of
 * server-supplied header values and URLs (api_client.c, log.c):
 * api_parse_content_range (Content-Range of media reads),
 * api_same_origin / api_url_is_loopback (redirect and plain-http
 * checks), log_redact_url (what may be logged of a pre-signed URL),
 * api_ext_from_content_type and api_format_from_media_name.
 * The input is split at its first NUL into two strings (a, b).
 *
 * Invariants: a parsed range is ordered (start <= end < total, or total
 * -1); api_same_origin is symmetric; the redacted URL is a prefix of the
 * input holding no '?' or '#'.
 */
#include "fuzz_util.h"

#include "api_client.h"
#include "client_int.h"
#include "log.h"

static void fuzz_range(const char *s)
{
    uint64_t a = 0, b = 0;
    int64_t t = 0;

    if (api_parse_content_range(s, &a, &b, &t) == 0) {
        FUZZ_CHECK(a <= b);
        FUZZ_CHECK(t == -1 || (t > 0 && (uint64_t)t > b));
    }
}

static void fuzz_redact(const char *s)
{
    char buf[64];

    log_redact_url(s, buf, sizeof buf);
    FUZZ_CHECK(fuzz_terminated(buf, sizeof buf));
    FUZZ_CHECK(!strpbrk(buf, "?#"));
    FUZZ_CHECK(!strncmp(buf, s, strlen(buf)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    const char *a, *b;
    enum api_format f;

    if (!s)
        return 0;
    log_set_level(LOG_LEVEL_ERR);
    a = s;
    b = strlen(s) < size ? s + strlen(s) + 1 : "https://api.mypurecloud.com";
    fuzz_range(a);
    fuzz_redact(a);
    FUZZ_CHECK(api_same_origin(a, b) == api_same_origin(b, a));
    (void)api_url_is_loopback(a);
    FUZZ_CHECK(api_ext_from_content_type(a) != NULL);
    if (api_format_from_media_name(a, &f) == 0)
        FUZZ_CHECK(f >= 0 && f < API_FORMAT_COUNT);
    if (api_id_valid(a))
        FUZZ_CHECK(strlen(a) >= 1 && strlen(a) <= 128);
    free(s);
    return 0;
}
