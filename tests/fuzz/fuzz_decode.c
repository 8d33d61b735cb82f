/* fuzz_decode.c - libFuzzer target for the client's JSON layer: every
 * decoder of decode.h on the same input. Not built by default:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -I client tests/fuzz/fuzz_decode.c client/decode*.c \
 *     client/api_client.c client/log.c ... -ljansson -lcurl -lm \
 *     -o fuzz_decode && ./fuzz_decode -max_len=65536
 *
 * (api_client.c provides api_id_valid/api_entry_clear; link whatever it
 * needs in turn, or the whole librecfs_client.a.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_doc[] =
    "{\"id\":\"x-1\",\"name\":\"n\",\"archiveDate\":null,\"enabled\":true,"
    "\"read\":false,\"period\":\"DAILY\",\"url\":\"https://k\","
    "\"apiId\":\"a\",\"apiKey\":\"k\",\"description\":\"d\","
    "\"maxSimultaneousStreams\":1}";

static void fuzz_docs(const char *s, size_t n)
{
    struct api_entry e = {0};
    struct api_list l = {0};
    struct dec_page pg;
    char *body;
    int changed, only;

    for (int k = 0; k < API_KIND_COUNT; k++) {
        if (dec_entry((enum api_kind)k, s, n, &e, NULL) == API_OK)
            api_entry_clear(&e);
        dec_list_append((enum api_kind)k, s, n, &l, 1000, &pg, NULL);
        body = NULL;
        dec_check_update((enum api_kind)k, base_doc, s, n, &changed, &body,
                         &only, NULL);
        free(body);
        body = NULL;
        dec_check_create((enum api_kind)k, s, n, &body, NULL);
        free(body);
    }
    api_list_clear(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_error err = {0};
    char *s = malloc(size + 1), *out = NULL;
    int64_t sz;
    long ttl;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    log_set_level(LOG_LEVEL_ERR);
    fuzz_docs(s, size);
    dec_error_body(s, size, &err);
    if (dec_token(s, size, &out, &ttl, NULL) == API_OK)
        free(out);
    if (dec_media_uri(s, size, &out, &sz, NULL) == API_OK)
        free(out);
    dec_same_doc(s, size, base_doc, sizeof(base_doc) - 1);
    /* the server copy may be garbage too (NUL-terminated) */
    dec_check_update(API_KIND_POLICY, s, "{\"name\":\"z\"}", 12, NULL, NULL,
                     NULL, NULL);
    free(s);
    return 0;
}
