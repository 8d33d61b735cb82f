/* fuzz_entry.c - libFuzzer target: dec_entry() on one server document of
 * every kind (first byte = kind, see fuzz_util.h).
 *
 * Invariants checked on success: the id (required except for singletons)
 * passes api_id_valid(), the
 * pretty JSON is NUL-terminated with strlen == json_len, carries no
 * volatile member (mediaUris, contentLocationUri), and compares equal to
 * itself with dec_same_doc(). On failure the entry is left cleared.
 */
#include "fuzz_util.h"

#include "decode.h"
#include "log.h"

/* Kinds whose documents carry no id of their own (decode.c). */
static int id_optional(enum api_kind k)
{
    return k == API_KIND_SETTINGS || k == API_KIND_ROTATION_SCHEDULE ||
           k == API_KIND_FAX_SUMMARY || k == API_KIND_LOCALKEY_REQUEST;
}

static void check_entry(const struct api_entry *e)
{
    FUZZ_CHECK(e->id || id_optional(e->kind));
    FUZZ_CHECK(!e->id || api_id_valid(e->id));
    FUZZ_CHECK(e->json && strlen(e->json) == e->json_len);
    FUZZ_CHECK(!strstr(e->json, "\"mediaUris\": "));
    FUZZ_CHECK(!strstr(e->json, "\"contentLocationUri\": "));
    FUZZ_CHECK(dec_same_doc(e->json, e->json_len, e->json, e->json_len) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_entry e = {0};
    struct api_error err = {0};
    enum api_kind kind;
    char *body;

    if (size < 1)
        return 0;
    log_set_level(LOG_LEVEL_ERR);
    kind = (enum api_kind)(data[0] % API_KIND_COUNT);
    body = fuzz_cstr(data + 1, size - 1);
    if (!body)
        return 0;
    if (dec_entry(kind, body, size - 1, &e, &err) == API_OK) {
        check_entry(&e);
        api_entry_clear(&e);
    } else {
        FUZZ_CHECK(!e.id && !e.json);
        FUZZ_CHECK(err.rc != API_OK);
        FUZZ_CHECK(fuzz_terminated(err.message, sizeof err.message));
    }
    free(body);
    return 0;
}
