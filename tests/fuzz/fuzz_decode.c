/* fuzz_decode.c - libFuzzer target for the remaining decoders of
 * decode.h: dec_token (OAuth token response), dec_media_uri (Recording /
 * DownloadResponse media location) and dec_same_doc (stale-edit check).
 * The per-decoder targets are fuzz_entry, fuzz_list, fuzz_check and
 * fuzz_error; scripts/fuzz.sh builds and runs them all.
 *
 * If the input holds a NUL byte, dec_same_doc compares the parts before
 * and after it (otherwise the input with a fixed document).
 */
#include "fuzz_util.h"

#include "decode.h"
#include "log.h"

static const char base_doc[] =
    "{\"id\":\"x-1\",\"name\":\"n\",\"archiveDate\":null,\"enabled\":true,"
    "\"mediaUris\":{\"0\":{\"mediaUri\":\"https://m/a?Signature=s\"}}}";

static void fuzz_token(const char *s, size_t n)
{
    char *tok = (char *)1;
    long ttl = -7;

    if (dec_token(s, n, &tok, &ttl, NULL) == API_OK) {
        FUZZ_CHECK(tok && *tok);
        free(tok);
    } else {
        FUZZ_CHECK(!tok);
    }
}

static void fuzz_media(const char *s, size_t n)
{
    struct api_error err = {0};
    char *url = (char *)1;
    int64_t sz = 0;

    if (dec_media_uri(s, n, &url, &sz, &err) == API_OK) {
        FUZZ_CHECK(url && *url);
        FUZZ_CHECK(sz == -1 || sz > 0);
        free(url);
    } else {
        FUZZ_CHECK(!url);
        /* the URL is a secret: it must not leak into the error */
        FUZZ_CHECK(fuzz_terminated(err.message, sizeof err.message));
    }
}

static void fuzz_same(const char *s, size_t n)
{
    const char *a = s, *b = base_doc;
    size_t alen = n, blen = sizeof base_doc - 1;
    int ab, ba;

    if (strlen(s) < n) { /* "a\0b" */
        alen = strlen(s);
        b = s + alen + 1;
        blen = n - alen - 1;
    }
    ab = dec_same_doc(a, alen, b, blen);
    ba = dec_same_doc(b, blen, a, alen);
    FUZZ_CHECK(ab >= -1 && ab <= 1);
    FUZZ_CHECK(ab == ba);
    if (dec_same_doc(a, alen, a, alen) != -1)
        FUZZ_CHECK(dec_same_doc(a, alen, a, alen) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);

    if (!s)
        return 0;
    log_set_level(LOG_LEVEL_ERR);
    fuzz_token(s, size);
    fuzz_media(s, size);
    fuzz_same(s, size);
    free(s);
    return 0;
}
