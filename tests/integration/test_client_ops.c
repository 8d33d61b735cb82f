/* test_client_ops.c - every API client operation against the emulator:
 * happy paths, error mapping (404 -> ENOENT, ...), the generic document
 * layer (update with stale detection, PATCH for enabled-only, create,
 * delete) and the analytics conversation query. Exit 77 if the emulator
 * cannot start. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "api_client.h"
#include "cache.h"
#include "emu.h"
#include <unistd.h>

static struct emu emu;
static json_t *state; /* the emulator's /__control/state */

static struct api_client *client_new(void)
{
    struct api_config cfg = {
        .api_url = emu.api_url, .login_url = emu.login_url,
        .client_id = emu.client_id, .client_secret = emu.client_secret,
        .request_timeout_ms = 20000,
    };
    struct api_error err;
    struct api_client *c = api_client_new(&cfg, &err);

    assert_non_null(c);
    return c;
}

static const char *state_id(const char *list, size_t i)
{
    return json_string_value(json_array_get(json_object_get(state, list), i));
}

static size_t state_len(const char *list)
{
    return json_array_size(json_object_get(state, list));
}

/* A conversation and its first recording from the state. */
static void some_recording(const char **cid, const char **rid)
{
    json_t *convs = json_object_get(state, "conversations");
    const char *k;
    json_t *v;

    json_object_foreach(convs, k, v)
    {
        if (json_array_size(v) > 0) {
            *cid = k;
            *rid = json_string_value(json_array_get(v, 0));
            return;
        }
    }
    fail_msg("no recording in the emulator state");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int all_distinct(const struct api_list *l)
{
    char **ids = calloc(l->n + 1, sizeof(*ids));
    int ok = 1;

    for (size_t i = 0; i < l->n; i++)
        ids[i] = l->v[i].id;
    qsort(ids, l->n, sizeof(*ids), cmp_str);
    for (size_t i = 1; i < l->n; i++)
        ok &= strcmp(ids[i - 1], ids[i]) != 0;
    free(ids);
    return ok;
}

static void test_login(void **st)
{
    struct api_client *c = client_new();
    struct api_error err;
    struct api_config bad = {.api_url = emu.api_url,
                             .login_url = emu.login_url,
                             .client_id = emu.client_id,
                             .client_secret = "wrong"};

    (void)st;
    assert_int_equal(api_client_login(c, &err), API_OK);
    api_client_free(c);
    c = api_client_new(&bad, &err);
    assert_int_equal(api_client_login(c, &err), API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), EACCES);
    assert_null(strstr(err.message, "wrong"));
    api_client_free(c);

    struct api_config tok = {.api_url = emu.api_url,
                             .access_token = "not-a-token"};
    c = api_client_new(&tok, &err);
    assert_int_equal(api_client_login(c, &err), API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), EACCES);
    api_client_free(c);
}

static void test_lists(void **st)
{
    struct api_client *c = client_new();
    struct api_list l = {0};
    struct api_error err;
    const char *cid, *rid;

    (void)st;
    emu_reset(&emu);
    assert_int_equal(api_userrecordings_list(c, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("userrecordings"));
    assert_int_equal(l.n, 250);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings$"), 3);
    /* listed entries carry the entity's text; rendered, it is the very
     * document a GET gives */
    assert_null(l.v[0].json);
    assert_non_null(l.v[0].raw);
    {
        struct api_entry e = {0};
        char *json = NULL;
        size_t len = 0;
        assert_int_equal(api_doc_render(l.v[0].raw, l.v[0].raw_len, &json,
                                        &len),
                         API_OK);
        assert_int_equal(api_userrecording_get(c, l.v[0].id, &e, &err),
                         API_OK);
        assert_int_equal(len, e.json_len);
        assert_string_equal(json, e.json);
        free(json);
        api_entry_clear(&e);
    }
    assert_true(all_distinct(&l)); /* every page once */
    api_list_clear(&l);
    assert_int_equal(api_orphans_list(c, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("orphans"));
    api_list_clear(&l);
    assert_int_equal(api_policies_list(c, NULL, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("policies"));
    api_list_clear(&l);
    struct api_policy_filter f = {.name = NULL, .enabled = 1, .summary = 1};
    assert_int_equal(api_policies_list(c, &f, &l, &err), API_OK);
    api_list_clear(&l);
    assert_int_equal(api_keys_list(c, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("keys"));
    api_list_clear(&l);
    assert_int_equal(api_localkey_settings_list(c, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("localkeys"));
    api_list_clear(&l);
    assert_int_equal(api_screensessions_list(c, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("screensessions"));
    api_list_clear(&l);

    some_recording(&cid, &rid);
    assert_int_equal(api_recordingmetadata_list(c, cid, &l, &err), API_OK);
    assert_int_equal(l.n, json_array_size(json_object_get(
                              json_object_get(state, "conversations"), cid)));
    assert_string_equal(l.v[0].conversation_id, cid);
    api_list_clear(&l);
    assert_int_equal(api_annotations_list(c, cid, rid, &l, &err), API_OK);
    api_list_clear(&l);

    /* generic layer */
    struct api_ref ref = {.kind = API_KIND_USER_RECORDING};
    assert_int_equal(api_doc_list(c, &ref, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("userrecordings"));
    api_list_clear(&l);
    ref.kind = API_KIND_SETTINGS;
    assert_int_equal(api_doc_list(c, &ref, &l, &err), API_EINVAL);
    api_client_free(c);
}

static void test_gets_and_errors(void **st)
{
    struct api_client *c = client_new();
    struct api_entry e = {0};
    struct api_error err;
    const char *cid, *rid;
    long before;

    (void)st;
    some_recording(&cid, &rid);
    assert_int_equal(api_recordingmetadata_get(c, cid, rid, &e, &err),
                     API_OK);
    assert_string_equal(e.id, rid);
    assert_null(strstr(e.json, "mediaUris"));
    api_entry_clear(&e);
    assert_int_equal(api_userrecording_get(c, state_id("userrecordings", 0),
                                           &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_orphan_get(c, state_id("orphans", 0), &e, &err),
                     API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_policy_get(c, state_id("policies", 0), &e, &err),
                     API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_localkey_settings_get(c, state_id("localkeys", 0),
                                               &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_settings_get(c, 1, &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_rotation_schedule_get(c, &e, &err), API_OK);
    api_entry_clear(&e);
    assert_int_equal(api_userrecordings_summary(c, &e, &err), API_OK);
    assert_int_equal(e.kind, API_KIND_FAX_SUMMARY);
    api_entry_clear(&e);
    struct api_ref key = {.kind = API_KIND_KEY, .id = state_id("keys", 0)};
    assert_int_equal(api_doc_get(c, &key, &e, &err), API_OK);
    assert_string_equal(e.id, state_id("keys", 0));
    api_entry_clear(&e);

    /* 404 -> ENOENT, for several shapes */
    assert_int_equal(api_userrecording_get(c, "no-such-id", &e, &err),
                     API_EHTTP);
    assert_int_equal(err.http_status, 404);
    assert_int_equal(api_error_to_errno(&err), ENOENT);
    assert_true(err.api_code[0] != '\0');
    assert_int_equal(api_recordingmetadata_get(c, cid, "nope", &e, &err),
                     API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), ENOENT);
    struct api_list l = {0};
    assert_int_equal(api_recordingmetadata_list(c, "nope", &l, &err),
                     API_EHTTP);
    assert_int_equal(l.n, 0);
    assert_int_equal(api_error_to_errno(&err), ENOENT);
    key.id = "nope";
    assert_int_equal(api_doc_get(c, &key, &e, &err), API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), ENOENT);
    assert_null(e.id);

    /* bad ids never reach the server */
    before = emu_total(&emu);
    assert_int_equal(api_userrecording_get(c, "../x", &e, &err), API_EINVAL);
    assert_int_equal(api_recordingmetadata_get(c, cid, "a/b", &e, &err),
                     API_EINVAL);
    assert_int_equal(api_policy_delete(c, "x?y", &err), API_EINVAL);
    assert_int_equal(api_error_to_errno(&err), EINVAL);
    assert_int_equal(emu_total(&emu), before);
    api_client_free(c);
}

static void test_update_user_recording(void **st)
{
    struct api_client *c = client_new();
    struct api_ref ref = {.kind = API_KIND_USER_RECORDING,
                          .id = state_id("userrecordings", 1)};
    struct api_entry base = {0}, out = {0};
    struct api_error err;
    char text[8192], path[256];
    json_t *doc;
    char *edited;

    (void)st;
    assert_int_equal(api_doc_get(c, &ref, &base, &err), API_OK);
    doc = json_loads(base.json, 0, NULL);
    json_object_set_new(doc, "name", json_string("renamed by test"));
    edited = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    snprintf(text, sizeof(text), "%s\n", edited);
    free(edited);
    assert_int_equal(api_doc_update(c, &ref, base.json, text, strlen(text),
                                    &out, &err), API_OK);
    assert_string_equal(out.name, "renamed by test");
    api_entry_clear(&out);

    /* the server copy moved on: our old base is stale */
    snprintf(path, sizeof(path), "/api/v2/userrecordings/%s", ref.id);
    assert_int_equal(api_doc_update(c, &ref, base.json, text, strlen(text),
                                    &out, &err), API_ESTALE);
    assert_int_equal(api_error_to_errno(&err), ESTALE);
    /* a read-only field: refused locally */
    assert_int_equal(api_doc_check_update(API_KIND_USER_RECORDING, base.json,
                                          "{\"id\":\"other\"}", 14, &(int){0},
                                          &err), API_EINVAL);
    api_entry_clear(&base);
    api_client_free(c);
}

static void test_policy_patch_create_delete(void **st)
{
    struct api_client *c = client_new();
    struct api_ref coll = {.kind = API_KIND_POLICY};
    struct api_entry base = {0}, out = {0};
    struct api_error err;
    const char *p = "{\"name\":\"test policy\",\"enabled\":false}";
    json_t *doc;
    char *text;

    (void)st;
    /* (the seeded policies miss fields the S17 schema requires, so the
     * emulator refuses full-Policy PATCH/PUT of those: use our own) */
    assert_int_equal(api_doc_create(c, &coll, p, strlen(p), &base, &err),
                     API_OK);
    assert_string_equal(base.name, "test policy");
    struct api_ref ref = {.kind = API_KIND_POLICY, .id = base.id};
    doc = json_loads(base.json, 0, NULL);
    json_object_set_new(doc, "enabled", json_true());
    text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    emu_reset(&emu);
    assert_int_equal(api_doc_update(c, &ref, base.json, text, strlen(text),
                                    &out, &err), API_OK);
    assert_int_equal(emu_count(&emu, "^PATCH /api/v2/recording/"
                                     "mediaretentionpolicies/"), 1);
    assert_int_equal(emu_count(&emu, "^PUT "), 0);
    free(text);
    api_entry_clear(&out);

    assert_int_equal(api_doc_delete(c, &ref, &err), API_OK);
    assert_int_equal(api_policy_get(c, ref.id, &out, &err), API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), ENOENT);
    api_entry_clear(&base);
    /* bulk delete */
    assert_int_equal(api_policy_create(c, p, &out, &err), API_OK);
    const char *ids[] = {out.id};
    assert_int_equal(api_policies_delete(c, ids, 1, &err), API_OK);
    api_entry_clear(&out);
    api_client_free(c);
}

static void test_annotations(void **st)
{
    struct api_client *c = client_new();
    struct api_entry out = {0}, got = {0};
    struct api_list l = {0};
    struct api_error err;
    const char *cid, *rid;
    const char *a = "{\"name\":\"note\",\"location\":1000,\"durationMs\":500,"
                    "\"description\":\"from test\"}";
    size_t n0;

    (void)st;
    some_recording(&cid, &rid);
    assert_int_equal(api_annotations_list(c, cid, rid, &l, &err), API_OK);
    n0 = l.n;
    api_list_clear(&l);
    struct api_ref coll = {.kind = API_KIND_ANNOTATION,
                           .conversation_id = cid, .recording_id = rid};
    assert_int_equal(api_doc_create(c, &coll, a, strlen(a), &out, &err),
                     API_OK);
    assert_int_equal(api_annotations_list(c, cid, rid, &l, &err), API_OK);
    assert_int_equal(l.n, n0 + 1);
    api_list_clear(&l);
    assert_int_equal(api_annotation_get(c, cid, rid, out.id, &got, &err),
                     API_OK);
    api_entry_clear(&got);
    const char *upd = "{\"name\":\"note2\",\"location\":1000,"
                      "\"durationMs\":500,\"description\":\"edited\"}";
    assert_int_equal(api_annotation_put(c, cid, rid, out.id, upd, &got,
                                        &err), API_OK);
    api_entry_clear(&got);
    assert_int_equal(api_annotation_delete(c, cid, rid, out.id, &err),
                     API_OK);
    assert_int_equal(api_annotation_get(c, cid, rid, out.id, &got, &err),
                     API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), ENOENT);
    api_entry_clear(&out);
    api_client_free(c);
}

static void test_recording_put_orphan_keys(void **st)
{
    struct api_client *c = client_new();
    struct api_entry e = {0}, out = {0};
    struct api_list l = {0};
    struct api_error err;
    const char *cid, *rid;

    (void)st;
    some_recording(&cid, &rid);
    assert_int_equal(api_recordingmetadata_get(c, cid, rid, &e, &err),
                     API_OK);
    const char *body = "{\"deleteDate\":\"2099-01-01T00:00:00.000Z\"}";
    assert_int_equal(api_conversation_recording_put(c, cid, rid, body, &out,
                                                    &err), API_OK);
    assert_string_equal(out.id, rid);
    api_entry_clear(&out);
    api_entry_clear(&e);

    assert_int_equal(api_key_create(c, &out, &err), API_OK);
    assert_non_null(out.id);
    api_entry_clear(&out);
    assert_int_equal(api_keys_list(c, &l, &err), API_OK);
    assert_int_equal(l.n, state_len("keys") + 1);
    api_list_clear(&l);
    assert_int_equal(api_rotation_schedule_put(c, "{\"period\":\"WEEKLY\"}",
                                               &out, &err), API_OK);
    api_entry_clear(&out);
    assert_int_equal(api_settings_get(c, 0, &e, &err), API_OK);
    assert_int_equal(api_settings_put(c, e.json, &out, &err), API_OK);
    api_entry_clear(&out);
    api_entry_clear(&e);

    /* screen session stop: PATCH, no body */
    assert_int_equal(api_screensession_patch(c, state_id("screensessions", 0),
                                             "{\"state\":\"STOPPED\"}", &err),
                     API_OK);
    /* orphan: attach to a conversation -> becomes a recording */
    char ob[256];
    snprintf(ob, sizeof(ob), "{\"conversationId\":\"%s\"}", cid);
    assert_int_equal(api_orphan_put(c, state_id("orphans", 2), ob, &out, &err),
                     API_OK);
    assert_int_equal(out.kind, API_KIND_RECORDING);
    api_entry_clear(&out);
    assert_int_equal(api_orphan_get(c, state_id("orphans", 2), &e, &err),
                     API_EHTTP);
    assert_int_equal(api_error_to_errno(&err), ENOENT);
    assert_int_equal(api_userrecording_delete(c, state_id("userrecordings",
                                                          9), &err), API_OK);
    api_client_free(c);
}

static void test_conversations_query(void **st)
{
    struct api_client *c = client_new();
    struct api_list l = {0};
    struct api_error err;
    time_t now = time(NULL);
    /* includes the conversations without recordings */
    size_t want = json_object_size(json_object_get(state, "conversations"));

    (void)st;
    assert_int_equal(api_conversations_query(c, now - 400 * 86400,
                                             now + 86400, &l, &err), API_OK);
    assert_int_equal(l.n, want);
    assert_true(want > 200); /* three analytics pages */
    for (size_t i = 1; i < l.n; i++) {
        assert_true(l.v[i - 1].start <= l.v[i].start);
        assert_true(strcmp(l.v[i - 1].id, l.v[i].id) != 0);
    }
    api_list_clear(&l);
    assert_int_equal(api_conversations_query(c, now, now - 1, &l, &err),
                     API_EINVAL);
    api_client_free(c);
}

static int setup(void **st)
{
    /* enough entries for several pages (pageSize 100) */
    static const char *const args[] = {"--seed", "demo", "--transcode-ms",
                                       "300", "--user-recordings", "250",
                                       "--conversations", "230", NULL};
    char *body = NULL;

    (void)st;
    if (emu_start(&emu, args) != 0)
        return -1;
    if (emu_api(&emu, "GET", "/__control/state", NULL, &body) != 200)
        return -1;
    state = json_loads(body, 0, NULL);
    free(body);
    return state ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    json_decref(state);
    emu_stop(&emu);
    return 0;
}

/* A GET listing is one document of the cache (its pages joined): a
 * second listing costs no request, and with the API down an expired copy
 * is served, the same entries. */
static void test_list_cache(void **st)
{
    struct api_config cfg = {
        .api_url = emu.api_url, .login_url = emu.login_url,
        .client_id = emu.client_id, .client_secret = emu.client_secret,
        .request_timeout_ms = 5000, .metadata_ttl_s = 1,
    };
    char dir[] = "/tmp/recfs-list-cache-XXXXXX", cmd[128];
    struct api_list a = {0}, b = {0};
    struct api_error err;
    struct api_stats s;
    struct api_client *c;
    struct cache *cache;

    (void)st;
    c = api_client_new(&cfg, &err);
    assert_non_null(c);
    cache = emu_client_cache(c, dir);
    if (!cache)
        skip();
    emu_reset(&emu);
    assert_int_equal(api_userrecordings_list(c, &a, &err), API_OK);
    assert_int_equal(a.n, 250);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings$"), 3);
    assert_int_equal(api_userrecordings_list(c, &b, &err), API_OK);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings$"), 3);
    api_client_stats(c, &s);
    assert_int_equal(s.doc_cache_hits, 1);
    assert_int_equal(b.n, a.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.v[i].id, b.v[i].id);
        assert_int_equal(a.v[i].raw_len, b.v[i].raw_len);
        assert_memory_equal(a.v[i].raw, b.v[i].raw, a.v[i].raw_len);
    }
    api_list_clear(&b);

    usleep(2100 * 1000); /* expire (ttl 1 s, 1 s resolution), fail the API */
    emu_fault(&emu, "{\"match\":\"GET /api/v2/userrecordings\","
                    "\"count\":100,\"status\":503}");
    assert_int_equal(api_userrecordings_list(c, &b, &err), API_OK);
    api_client_stats(c, &s);
    assert_int_equal(s.stale_served, 1);
    assert_int_equal(b.n, a.n);
    assert_string_equal(b.v[249].id, a.v[249].id);
    api_list_clear(&b);
    emu_reset(&emu);

    /* the API back: the expired copy is fetched anew */
    assert_int_equal(api_userrecordings_list(c, &b, &err), API_OK);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings$"), 3);
    api_list_clear(&b);
    api_list_clear(&a);
    api_client_free(c);
    cache_close(cache);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* api_doc_list_stream: the sink is told of each page in page order (the
 * second page made slower than the third), as soon as it is in, and the
 * pages told are the listing returned. */
struct sink_rec {
    size_t calls, n, sizes[8];
    int last[8];
    char ids[300][64];
    double first_at;
    struct timespec t0;
};

static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void sink_rec(void *arg, const struct api_entry *v, size_t n,
                     int last)
{
    struct sink_rec *r = arg;

    if (r->calls == 0)
        r->first_at = since(&r->t0);
    if (r->calls < 8) {
        r->sizes[r->calls] = n;
        r->last[r->calls] = last;
    }
    r->calls++;
    for (size_t i = 0; i < n && r->n < 300; i++)
        snprintf(r->ids[r->n++], sizeof r->ids[0], "%s", v[i].id);
}

static void test_list_stream(void **st)
{
    struct api_client *c = client_new();
    struct api_ref ref = {API_KIND_USER_RECORDING, NULL, NULL, NULL};
    struct sink_rec *r = calloc(1, sizeof *r);
    struct api_list l = {0};
    struct api_error err;

    (void)st;
    assert_non_null(r);
    emu_reset(&emu);
    emu_fault(&emu, "[{\"match\":\"^GET /api/v2/userrecordings$\","
                    "\"latency_ms\":1,\"count\":1},"
                    "{\"match\":\"^GET /api/v2/userrecordings$\","
                    "\"latency_ms\":700,\"count\":1}]");
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    assert_int_equal(api_doc_list_stream(c, &ref, &l, sink_rec, r, &err),
                     API_OK);
    assert_true(since(&r->t0) >= 0.7);
    assert_true(r->first_at < 0.5); /* page 1, before the slow page */
    assert_int_equal(r->calls, 3);
    assert_int_equal(r->sizes[0], 100);
    assert_int_equal(r->sizes[1], 100);
    assert_int_equal(r->sizes[2], 50);
    assert_int_equal(r->last[0], 0); /* the last page says so, alone */
    assert_int_equal(r->last[1], 0);
    assert_int_equal(r->last[2], 1);
    assert_int_equal(l.n, 250);
    assert_int_equal(r->n, l.n);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal(r->ids[i], l.v[i].id);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings$"), 3);
    api_list_clear(&l);

    /* a plain listing afterwards tells no sink (it is per call) */
    r->calls = 0;
    assert_int_equal(api_userrecordings_list(c, &l, &err), API_OK);
    assert_int_equal(r->calls, 0);
    api_list_clear(&l);
    api_client_free(c);

    /* the entry cap holds for what is told: 250 entries against a cap
     * of 150 fail the listing after page 1, and no call says "last" */
    {
        struct api_config cfg = {
            .api_url = emu.api_url, .login_url = emu.login_url,
            .client_id = emu.client_id, .client_secret = emu.client_secret,
            .request_timeout_ms = 20000, .max_entries = 150};
        c = api_client_new(&cfg, &err);
        assert_non_null(c);
    }
    memset(r, 0, sizeof *r);
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    assert_int_equal(api_doc_list_stream(c, &ref, &l, sink_rec, r, &err),
                     API_EPROTO);
    assert_true(r->n <= 150);
    for (size_t i = 0; i < r->calls && i < 8; i++)
        assert_int_equal(r->last[i], 0);
    api_list_clear(&l);
    free(r);
    api_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_list_cache),
        cmocka_unit_test(test_list_stream),
        cmocka_unit_test(test_gets_and_errors),
        cmocka_unit_test(test_update_user_recording),
        cmocka_unit_test(test_policy_patch_create_delete),
        cmocka_unit_test(test_annotations),
        cmocka_unit_test(test_recording_put_orphan_keys),
        cmocka_unit_test(test_conversations_query),
    };
    if (setup(NULL) != 0) {
        fprintf(stderr, "emulator unavailable: skipping\n");
        return 77;
    }
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    teardown(NULL);
    return rc;
}
