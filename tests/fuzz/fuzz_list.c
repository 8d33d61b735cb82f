/* fuzz_list.c - libFuzzer target: dec_list_append(), the listing-page
 * parser (paging envelope, bare array, localkeys listing, analytics
 * response). First byte = kind (fuzz_util.h), second byte = max_entries
 * (0..255), the rest is the page body, appended twice to the same list.
 *
 * Invariants: the list never exceeds max_entries, every entry has a
 * valid id and NUL-terminated JSON, and a failed append leaves the
 * entries already held intact.
 */
#include "fuzz_util.h"

#include "decode.h"
#include "log.h"

static void check_list(const struct api_list *l, size_t max)
{
    FUZZ_CHECK(l->n <= max);
    FUZZ_CHECK(l->n == 0 || l->v);
    for (size_t i = 0; i < l->n; i++) {
        FUZZ_CHECK(l->v[i].id && api_id_valid(l->v[i].id));
        FUZZ_CHECK(l->v[i].json && strlen(l->v[i].json) == l->v[i].json_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_list l = {0};
    struct dec_page pg;
    enum api_kind kind;
    size_t max, before;
    char *body;

    if (size < 2)
        return 0;
    log_set_level(LOG_LEVEL_ERR);
    kind = (enum api_kind)(data[0] % API_KIND_COUNT);
    max = data[1];
    body = fuzz_cstr(data + 2, size - 2);
    if (!body)
        return 0;
    for (int round = 0; round < 2; round++) {
        struct api_error err = {0};

        before = l.n;
        memset(&pg, 0, sizeof pg);
        if (dec_list_append(kind, body, size - 2, &l, max, &pg, &err) ==
            API_OK)
            FUZZ_CHECK(l.n >= before);
        else
            FUZZ_CHECK(err.rc != API_OK);
        check_list(&l, max);
    }
    api_list_clear(&l);
    free(body);
    return 0;
}
