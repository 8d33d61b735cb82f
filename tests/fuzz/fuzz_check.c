/* fuzz_check.c - libFuzzer target: the edit validator, dec_check_update()
 * and dec_check_create(). First byte = kind (fuzz_util.h). If the rest
 * holds a NUL byte, the part before it is the server copy (base_json) and
 * the part after it the user's text; otherwise the text is checked
 * against a fixed, plausible base document.
 *
 * Invariants: on success the body to send (when any) is a JSON document
 * (dec_same_doc() on itself is 1); on failure no body is returned and the
 * error's field/message are NUL-terminated.
 */
#include "fuzz_util.h"

#include "decode.h"
#include "log.h"

static const char fallback_base[] =
    "{\"id\":\"x-1\",\"name\":\"n\",\"archiveDate\":null,\"enabled\":true,"
    "\"read\":false,\"period\":\"DAILY\",\"url\":\"https://k\","
    "\"apiId\":\"a\",\"apiKey\":\"k\",\"description\":\"d\","
    "\"state\":\"ACTIVE\",\"maxSimultaneousStreams\":1,"
    "\"conversation\":{\"id\":\"c-1\"},\"mediaUris\":{\"0\":"
    "{\"mediaUri\":\"https://m/x?X-Amz-Signature=s\"}}}";

static void check_err(const struct api_error *err)
{
    FUZZ_CHECK(err->rc != API_OK);
    FUZZ_CHECK(fuzz_terminated(err->field, sizeof err->field));
    FUZZ_CHECK(fuzz_terminated(err->message, sizeof err->message));
}

static void check_body(const char *body)
{
    size_t n = strlen(body);

    FUZZ_CHECK(dec_same_doc(body, n, body, n) == 1);
}

static void fuzz_update(enum api_kind kind, const char *base,
                        const char *text, size_t len)
{
    struct api_error err = {0};
    char *body = NULL;
    int changed = -1, only = -1;

    if (dec_check_update(kind, base, text, len, &changed, &body, &only,
                         &err) == API_OK) {
        FUZZ_CHECK(changed == 0 || changed == 1);
        if (body)
            check_body(body);
    } else {
        FUZZ_CHECK(!body);
        check_err(&err);
    }
    free(body);
}

static void fuzz_create(enum api_kind kind, const char *text, size_t len)
{
    struct api_error err = {0};
    char *body = NULL;

    if (dec_check_create(kind, text, len, &body, &err) == API_OK) {
        if (body)
            check_body(body);
    } else {
        FUZZ_CHECK(!body);
        check_err(&err);
    }
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum api_kind kind;
    const char *base = fallback_base, *text;
    size_t len;
    char *s;

    if (size < 1)
        return 0;
    log_set_level(LOG_LEVEL_ERR);
    kind = (enum api_kind)(data[0] % API_KIND_COUNT);
    s = fuzz_cstr(data + 1, size - 1);
    if (!s)
        return 0;
    text = s;
    len = size - 1;
    if (strlen(s) < len) { /* "base\0text" */
        base = s;
        text = s + strlen(s) + 1;
        len = size - 1 - (strlen(s) + 1);
    }
    fuzz_update(kind, base, text, len);
    fuzz_create(kind, text, len);
    free(s);
    return 0;
}
