/* fuzz_error.c - libFuzzer target: dec_error_body(), the ErrorBody /
 * OAuth error parser, which sees every failed response (from the API,
 * the login host, proxies and load balancers in front of them).
 *
 * Invariants: never crashes, the fixed-size fields of struct api_error
 * stay NUL-terminated, and fields it does not own (rc, http_status,
 * curl_code, field) are left as they were.
 */
#include "fuzz_util.h"

#include "decode.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_error err = {.rc = API_EHTTP, .http_status = 418,
                            .curl_code = 7, .field = "keep"};
    char *body = fuzz_cstr(data, size);

    if (!body)
        return 0;
    log_set_level(LOG_LEVEL_ERR);
    dec_error_body(body, size, &err);
    FUZZ_CHECK(fuzz_terminated(err.api_code, sizeof err.api_code));
    FUZZ_CHECK(fuzz_terminated(err.message, sizeof err.message));
    FUZZ_CHECK(fuzz_terminated(err.context_id, sizeof err.context_id));
    FUZZ_CHECK(err.rc == API_EHTTP && err.http_status == 418 &&
               err.curl_code == 7 && !strcmp(err.field, "keep"));
    dec_error_body(body, size, NULL);
    free(body);
    return 0;
}
