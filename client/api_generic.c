/* api_generic.c - the generic document layer fs/ uses (api_doc_*):
 * dispatch by kind to the typed operations. */
#include "client_int.h"
#include "decode.h"

#include <stdlib.h>
#include <string.h>

enum api_rc api_doc_list_stream(struct api_client *c,
                                const struct api_ref *ref,
                                struct api_list *out, api_list_sink_fn sink,
                                void *sink_arg, struct api_error *err)
{
    struct api_sink saved = api_sink_swap((struct api_sink){sink, sink_arg});
    enum api_rc rc = api_doc_list(c, ref, out, err);

    api_sink_swap(saved);
    return rc;
}

enum api_rc api_doc_list(struct api_client *c, const struct api_ref *ref,
                         struct api_list *out, struct api_error *err)
{
    api_error_clear(err);
    switch (ref->kind) {
    case API_KIND_RECORDING:
        return api_recordingmetadata_list(c, ref->conversation_id, out, err);
    case API_KIND_ANNOTATION:
        return api_annotations_list(c, ref->conversation_id,
                                    ref->recording_id, out, err);
    case API_KIND_USER_RECORDING:
        return api_userrecordings_list(c, out, err);
    case API_KIND_ORPHAN:
        return api_orphans_list(c, out, err);
    case API_KIND_POLICY:
        return api_policies_list(c, NULL, out, err);
    case API_KIND_KEY:
        return api_keys_list(c, out, err);
    case API_KIND_LOCALKEY_SETTINGS:
        return api_localkey_settings_list(c, out, err);
    case API_KIND_SCREEN_SESSION:
        return api_screensessions_list(c, out, err);
    default:
        return api_fail(err, API_EINVAL, "%s is not a collection",
                        api_kind_name(ref->kind));
    }
}

/* Collections without a per-id GET: list and pick. */
static enum api_rc find_listed(struct api_client *c,
                               const struct api_ref *ref, int bypass,
                               struct api_entry *out, struct api_error *err)
{
    struct api_list l = {0};
    enum api_rc rc;

    if (!api_id_valid(ref->id))
        return api_fail(err, API_EINVAL, "invalid id");
    if (bypass)
        api_cache_drop_list(c, ref->kind == API_KIND_KEY ? API_P_KEYS
                                                         : API_P_SCREEN);
    rc = api_doc_list(c, ref, &l, err);
    for (size_t i = 0; rc == API_OK && i < l.n; i++) {
        if (strcmp(l.v[i].id, ref->id) == 0) {
            /* a listed entry: its document is rendered here */
            rc = api_doc_render(l.v[i].raw, l.v[i].raw_len, &l.v[i].json,
                                &l.v[i].json_len);
            if (rc != API_OK) {
                api_list_clear(&l);
                return api_fail(err, rc, "cannot render the %s",
                                api_kind_name(ref->kind));
            }
            free(l.v[i].raw);
            l.v[i].raw = NULL;
            l.v[i].raw_len = 0;
            *out = l.v[i];
            memset(&l.v[i], 0, sizeof(l.v[i]));
            api_list_clear(&l);
            return API_OK;
        }
    }
    api_list_clear(&l);
    if (rc == API_OK)
        api_error_set(err, API_EHTTP, 404, "no such %s",
                      api_kind_name(ref->kind));
    return rc == API_OK ? API_EHTTP : rc;
}

/* Recording metadata or annotation: GET the path built from the ref. */
static enum api_rc get_nested(struct api_client *c, const struct api_ref *ref,
                              int bypass, struct api_entry *out,
                              struct api_error *err)
{
    const char *cid = ref->conversation_id, *rid = ref->recording_id;
    char p[API_PATH_MAX];
    enum api_rc rc;

    if (ref->kind == API_KIND_RECORDING) {
        rc = api_ids_check(err, 2, cid, ref->id);
        if (rc == API_OK)
            rc = api_path(p, sizeof(p), err, API_P_META, cid, ref->id);
    } else {
        rc = api_ids_check(err, 3, cid, rid, ref->id);
        if (rc == API_OK)
            rc = api_path(p, sizeof(p), err, API_P_ANN, cid, rid, ref->id);
    }
    if (rc == API_OK)
        rc = api_get_entry(c, ref->kind, p, bypass, out, err);
    return rc;
}

static enum api_rc doc_get(struct api_client *c, const struct api_ref *ref,
                           int bypass, struct api_entry *out,
                           struct api_error *err)
{
    switch (ref->kind) {
    case API_KIND_RECORDING:
    case API_KIND_ANNOTATION:
        return get_nested(c, ref, bypass, out, err);
    case API_KIND_USER_RECORDING:
        return api_get_by_id(c, ref->kind, API_P_USERREC, ref->id, bypass,
                             out, err);
    case API_KIND_ORPHAN:
        return api_get_by_id(c, ref->kind, API_P_ORPHANS, ref->id, bypass,
                             out, err);
    case API_KIND_POLICY:
        return api_get_by_id(c, ref->kind, API_P_POLICIES, ref->id, bypass,
                             out, err);
    case API_KIND_LOCALKEY_SETTINGS:
        return api_get_by_id(c, ref->kind, API_P_LOCALKEY_SETTINGS, ref->id,
                             bypass, out, err);
    case API_KIND_SETTINGS:
        return api_get_entry(c, ref->kind, API_P_SETTINGS, bypass, out, err);
    case API_KIND_ROTATION_SCHEDULE:
        return api_get_entry(c, ref->kind, API_P_ROTATION, bypass, out, err);
    case API_KIND_FAX_SUMMARY:
        return api_get_entry(c, ref->kind, API_P_FAX_SUMMARY, bypass, out,
                             err);
    case API_KIND_KEY:
    case API_KIND_SCREEN_SESSION:
        return find_listed(c, ref, bypass, out, err);
    default:
        return api_fail(err, API_EINVAL, "cannot get a %s",
                        api_kind_name(ref->kind));
    }
}

enum api_rc api_doc_get(struct api_client *c, const struct api_ref *ref,
                        struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return doc_get(c, ref, 0, out, err);
}

enum api_rc api_doc_check_update(enum api_kind kind, const char *base_json,
                                 const char *text, size_t len, int *changed,
                                 struct api_error *err)
{
    char *body = NULL;
    int only_enabled = 0;
    enum api_rc rc;

    api_error_clear(err);
    rc = dec_check_update(kind, base_json, text, len, changed, &body,
                          &only_enabled, err);
    free(body);
    return rc;
}

/* Send the validated body with the method the kind needs. */
static enum api_rc doc_send(struct api_client *c, const struct api_ref *ref,
                            const char *body, int only_enabled,
                            struct api_entry *out, struct api_error *err)
{
    switch (ref->kind) {
    case API_KIND_RECORDING:
        return api_conversation_recording_put(c, ref->conversation_id,
                                              ref->id, body, out, err);
    case API_KIND_ANNOTATION:
        return api_annotation_put(c, ref->conversation_id, ref->recording_id,
                                  ref->id, body, out, err);
    case API_KIND_USER_RECORDING:
        return api_userrecording_put(c, ref->id, body, out, err);
    case API_KIND_ORPHAN:
        return api_orphan_put(c, ref->id, body, out, err);
    case API_KIND_POLICY:
        return only_enabled ? api_policy_patch(c, ref->id, body, out, err)
                            : api_policy_put(c, ref->id, body, out, err);
    case API_KIND_SETTINGS:
        return api_settings_put(c, body, out, err);
    case API_KIND_ROTATION_SCHEDULE:
        return api_rotation_schedule_put(c, body, out, err);
    case API_KIND_LOCALKEY_SETTINGS:
        return api_localkey_settings_put(c, ref->id, body, out, err);
    case API_KIND_SCREEN_SESSION:
        return api_screensession_patch(c, ref->id, body, err);
    default:
        return api_fail(err, API_EPERM, "a %s is read-only",
                        api_kind_name(ref->kind));
    }
}

enum api_rc api_doc_update(struct api_client *c, const struct api_ref *ref,
                           const char *base_json, const char *text,
                           size_t len, struct api_entry *out,
                           struct api_error *err)
{
    struct api_entry server = {0};
    char *body = NULL;
    int changed = 0, only_enabled = 0;
    enum api_rc rc;

    api_error_clear(err);
    rc = dec_check_update(ref->kind, base_json, text, len, &changed, &body,
                          &only_enabled, err);
    if (rc == API_OK && !changed) {
        rc = dec_entry(ref->kind, base_json, strlen(base_json), out, err);
        goto out;
    }
    if (rc == API_OK)
        rc = doc_get(c, ref, 1, &server, err);
    if (rc == API_OK && dec_same_doc(base_json, strlen(base_json),
                                     server.json, server.json_len) != 1)
        rc = api_fail(err, API_ESTALE,
                      "the %s changed on the server since it was read",
                      api_kind_name(ref->kind));
    if (rc == API_OK)
        rc = doc_send(c, ref, body, only_enabled, out, err);
    if (rc == API_OK && ref->kind == API_KIND_SCREEN_SESSION) {
        *out = server; /* PATCH answers without a body */
        memset(&server, 0, sizeof(server));
    }
out:
    api_entry_clear(&server);
    free(body);
    return rc;
}

enum api_rc api_doc_create(struct api_client *c, const struct api_ref *ref,
                           const char *text, size_t len,
                           struct api_entry *out, struct api_error *err)
{
    char *body = NULL;
    enum api_rc rc;

    api_error_clear(err);
    if (ref->kind == API_KIND_KEY)
        return api_key_create(c, out, err);
    rc = dec_check_create(ref->kind, text, len, &body, err);
    if (rc != API_OK)
        return rc;
    switch (ref->kind) {
    case API_KIND_ANNOTATION:
        rc = api_annotation_create(c, ref->conversation_id,
                                   ref->recording_id, body, out, err);
        break;
    case API_KIND_POLICY:
        rc = api_policy_create(c, body, out, err);
        break;
    case API_KIND_LOCALKEY_SETTINGS:
        rc = api_localkey_settings_create(c, body, out, err);
        break;
    case API_KIND_LOCALKEY_REQUEST:
        rc = api_localkey_create(c, body, out, err);
        break;
    default:
        rc = api_fail(err, API_EPERM, "cannot create a %s",
                      api_kind_name(ref->kind));
    }
    free(body);
    return rc;
}

enum api_rc api_doc_delete(struct api_client *c, const struct api_ref *ref,
                           struct api_error *err)
{
    api_error_clear(err);
    switch (ref->kind) {
    case API_KIND_ANNOTATION:
        return api_annotation_delete(c, ref->conversation_id,
                                     ref->recording_id, ref->id, err);
    case API_KIND_USER_RECORDING:
        return api_userrecording_delete(c, ref->id, err);
    case API_KIND_ORPHAN:
        return api_orphan_delete(c, ref->id, err);
    case API_KIND_POLICY:
        return api_policy_delete(c, ref->id, err);
    default:
        return api_fail(err, API_EPERM, "cannot delete a %s",
                        api_kind_name(ref->kind));
    }
}
