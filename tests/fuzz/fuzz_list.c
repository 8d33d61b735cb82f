/* fuzz_list.c - libFuzzer target: dec_list_append(), the listing-page
 * parser (paging envelope, bare array, localkeys listing, analytics
 * response). First byte = kind (fuzz_util.h), second byte = max_entries
 * (0..255), the rest is the page body, appended twice to the same list.
 *
 * Invariants: the list never exceeds max_entries, every entry has a
 * valid id and its raw text renders, a failed append leaves the entries
 * already held intact; the scanner's fast path gives what the jansson
 * path gives (entries, paging, rc), and never calls valid what jansson
 * refuses.
 */
#include "fuzz_util.h"

#include "decode_int.h"
#include "log.h"

static void check_list(const struct api_list *l, size_t max)
{
    char *json;
    size_t len;

    FUZZ_CHECK(l->n <= max);
    FUZZ_CHECK(l->n == 0 || l->v);
    for (size_t i = 0; i < l->n; i++) {
        FUZZ_CHECK(l->v[i].id && api_id_valid(l->v[i].id));
        FUZZ_CHECK(l->v[i].raw && !l->v[i].json);
        FUZZ_CHECK(dec_render(l->v[i].raw, l->v[i].raw_len, &json, &len,
                              NULL) == API_OK);
        FUZZ_CHECK(strlen(json) == len);
        free(json);
    }
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The jansson path gives the same as dec_list_append. */
static void check_same(enum api_kind kind, const char *body, size_t len,
                       size_t max, const struct api_list *got, size_t from,
                       enum api_rc rc, const struct dec_page *pg)
{
    struct api_list t = {0};
    struct dec_page tp = {0};
    enum api_rc trc = dec_list_append_tree(kind, body, len, &t, max, &tp,
                                           NULL);
    json_t *v;

    FUZZ_CHECK(trc == rc);
    if (rc == API_OK) {
        FUZZ_CHECK(t.n == got->n - from);
        FUZZ_CHECK(tp.page_count == pg->page_count && tp.total == pg->total
                   && tp.page_number == pg->page_number &&
                   tp.n_entities == pg->n_entities);
        for (size_t i = 0; i < t.n; i++) {
            const struct api_entry *a = &got->v[from + i], *b = &t.v[i];
            FUZZ_CHECK(same_str(a->id, b->id) && same_str(a->name, b->name)
                       && same_str(a->conversation_id, b->conversation_id)
                       && same_str(a->media, b->media) &&
                       same_str(a->file_state, b->file_state));
            FUZZ_CHECK(a->size == b->size && a->duration_ms ==
                       b->duration_ms && a->mtime == b->mtime &&
                       a->start == b->start &&
                       a->has_recording == b->has_recording);
            char *ja, *jb;
            size_t la, lb;
            FUZZ_CHECK(dec_render(a->raw, a->raw_len, &ja, &la, NULL) ==
                       API_OK);
            FUZZ_CHECK(dec_render(b->raw, b->raw_len, &jb, &lb, NULL) ==
                       API_OK);
            FUZZ_CHECK(la == lb && !memcmp(ja, jb, la));
            free(ja);
            free(jb);
        }
    }
    api_list_clear(&t);
    if (dec_scan_valid(body, len)) {
        FUZZ_CHECK(dec_load(body, len, 0, &v, NULL) == API_OK);
        json_decref(v);
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
        enum api_rc rc = dec_list_append(kind, body, size - 2, &l, max,
                                         &pg, &err);
        if (rc == API_OK)
            FUZZ_CHECK(l.n >= before);
        else
            FUZZ_CHECK(err.rc != API_OK && l.n == before);
        check_list(&l, max);
        check_same(kind, body, size - 2, max - before, &l, before, rc, &pg);
    }
    api_list_clear(&l);
    free(body);
    return 0;
}
