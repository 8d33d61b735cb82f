/* decode_check.c - validation of user edits and creates (DESIGN.md §3):
 * nothing invalid ever reaches the server.
 *
 * Comparison rules of an edit (text against the server copy base_json):
 * - Members equal to the server copy (deep, key order irrelevant, numbers
 *   by value) are unchanged, whatever their field.
 * - A member missing from text is unchanged, writable or not: tools such
 *   as jq may drop members, and a PUT body is always the server copy with
 *   the changes applied, so a dropped member is never sent as deleted.
 *   To clear a nullable writable field, set it to null.
 * - null for a member the server copy lacks is unchanged (absent == null).
 * - Any other difference must be a writable field of the kind with the
 *   right type; otherwise API_EINVAL naming the field (API_EPERM for
 *   read-only documents).
 * - Volatile members (mediaUris, contentLocationUri, pre-signed URLs) are
 *   ignored in both texts: they are never shown, never sent.
 *
 * POLICY: the body is always the full merged Policy (valid for PUT and for
 * the S17 PATCH, whose body is a Policy); *only_enabled only tells the
 * caller that PATCH may be used.
 */
#include "decode_int.h"

#include <stdlib.h>
#include <string.h>

#define OOM(err) dec_fail(err, API_ENOMEM, NULL, "out of memory")

/* 1 when member v of text (key) is the same as in base. */
static int unchanged(const json_t *base, const char *key, const json_t *v)
{
    const json_t *bv = json_object_get(base, key);

    return bv ? dec_equal(bv, v) : json_is_null(v);
}

/* Error for a changed member that may not change. */
static enum api_rc not_writable(const struct dec_model *m,
                                const json_t *base, const char *key,
                                struct api_error *err)
{
    if (m->read_only)
        return dec_fail(err, API_EPERM, key,
                        "read-only document: field '%s' cannot change", key);
    if (dec_model_field(m, key) || json_object_get(base, key))
        return dec_fail(err, API_EINVAL, key, "field '%s' is read-only",
                        key);
    return dec_fail(err, API_EINVAL, key, "unknown field '%s' for %s", key,
                    m->name);
}

/* Apply doc's changed writable members to base (which becomes the
 * request body). *n counts them; *other is set when a member other than
 * "enabled" changed. */
static enum api_rc merge(const struct dec_model *m, json_t *base,
                         json_t *doc, int *n, int *other,
                         struct api_error *err)
{
    const struct dec_field *f;
    const char *key;
    json_t *v;
    enum api_rc rc;

    json_object_foreach(doc, key, v) {
        if (unchanged(base, key, v))
            continue;
        f = dec_model_field(m, key);
        if (m->read_only || !f || !(f->flags & DEC_F_W))
            return not_writable(m, base, key, err);
        rc = dec_check_type(f, v, err);
        if (rc != API_OK)
            return rc;
        if (json_object_set(base, key, v) != 0)
            return OOM(err);
        (*n)++;
        if (strcmp(key, "enabled") != 0)
            *other = 1;
    }
    return API_OK;
}

/* Copy doc's members that are fields of the request model rm into req
 * (type-checked; null members dropped); every other member must be
 * unchanged against base (document model m). */
static enum api_rc split_request(const struct dec_model *m,
                                 const struct dec_model *rm,
                                 const json_t *base, json_t *doc,
                                 json_t *req, struct api_error *err)
{
    const struct dec_field *f;
    const char *key;
    json_t *v;
    enum api_rc rc;

    json_object_foreach(doc, key, v) {
        f = dec_model_field(rm, key);
        if (!f) {
            if (!unchanged(base, key, v))
                return not_writable(m, base, key, err);
            continue;
        }
        rc = dec_check_type(f, v, err);
        if (rc != API_OK)
            return rc;
        if (!json_is_null(v) && json_object_set(req, key, v) != 0)
            return OOM(err);
    }
    return API_OK;
}

/* 1 when every member of doc is a field of the request model. */
static int only_request_fields(const struct dec_model *rm, json_t *doc)
{
    const char *key;
    json_t *v;

    json_object_foreach(doc, key, v)
        if (!dec_model_field(rm, key))
            return 0;
    return 1;
}

/* ORPHAN: an OrphanUpdateRequest (only its fields; {} too: the server
 * then deduces the conversation) converts the orphan; the document itself
 * may only come back unchanged. *req is the request, or NULL. */
static enum api_rc check_orphan(const json_t *base, json_t *doc,
                                json_t **req, struct api_error *err)
{
    const struct dec_model *m = dec_model_get(API_KIND_ORPHAN);
    const struct dec_model *rm = dec_orphan_request_model();
    const char *key;
    json_t *v;

    if (only_request_fields(rm, doc)) {
        *req = json_object();
        if (!*req)
            return OOM(err);
        return split_request(m, rm, base, doc, *req, err);
    }
    json_object_foreach(doc, key, v) {
        if (unchanged(base, key, v))
            continue;
        if (dec_model_field(rm, key))
            return dec_fail(err, API_EINVAL, key,
                            "field '%s' belongs to an OrphanUpdateRequest, "
                            "which must be written alone", key);
        return not_writable(m, base, key, err);
    }
    return API_OK;
}

/* SCREEN_SESSION: {"state":"STOPPED"} (+archiveDate/deleteDate), alone or
 * added to the unchanged document. *req is the request, or NULL. */
static enum api_rc check_screen(const json_t *base, json_t *doc,
                                json_t **req, struct api_error *err)
{
    enum api_rc rc;

    *req = json_object();
    if (!*req)
        return OOM(err);
    rc = split_request(dec_model_get(API_KIND_SCREEN_SESSION),
                       dec_screen_request_model(), base, doc, *req, err);
    if (rc == API_OK && json_object_size(*req) == 0) {
        json_decref(*req);
        *req = NULL;
    }
    return rc;
}

/* Parse the user's text (first, so its errors win) and the server copy;
 * both must be objects. Volatile members are dropped from both. */
static enum api_rc load_pair(const char *base_json, const char *text,
                             size_t len, json_t **base, json_t **doc,
                             struct api_error *err)
{
    struct api_error e1 = {0};
    enum api_rc rc;

    rc = dec_load(text, len, 1, doc, err);
    if (rc != API_OK)
        return rc;
    if (!json_is_object(*doc))
        return dec_fail(err, API_EINVAL, NULL, "not a JSON object");
    rc = dec_load(base_json, base_json ? strlen(base_json) : 0, 0, base,
                  &e1);
    if (rc == API_ENOMEM)
        return OOM(err);
    if (rc != API_OK || !json_is_object(*base))
        return dec_fail(err, API_EPROTO, NULL,
                        "the server copy is not a JSON object");
    dec_strip_volatile(*doc);
    dec_strip_volatile(*base);
    return API_OK;
}

/* The checks of one kind; *req is the body to send or NULL (no change). */
static enum api_rc check_kind(enum api_kind kind, json_t *base, json_t *doc,
                              json_t **req, int *only_enabled,
                              struct api_error *err)
{
    int n = 0, other = 0;
    enum api_rc rc;

    *req = NULL;
    if (kind == API_KIND_ORPHAN)
        return check_orphan(base, doc, req, err);
    if (kind == API_KIND_SCREEN_SESSION)
        return check_screen(base, doc, req, err);
    rc = merge(dec_model_get(kind), base, doc, &n, &other, err);
    if (rc != API_OK || n == 0)
        return rc;
    *req = json_incref(base);
    *only_enabled = kind == API_KIND_POLICY && !other;
    return API_OK;
}

enum api_rc dec_check_update(enum api_kind kind, const char *base_json,
                             const char *text, size_t len, int *changed,
                             char **body, int *only_enabled,
                             struct api_error *err)
{
    json_t *base = NULL, *doc = NULL, *req = NULL;
    int enabled = 0;
    enum api_rc rc;
    char *s = NULL;

    if (changed)
        *changed = 0;
    if (body)
        *body = NULL;
    if (only_enabled)
        *only_enabled = 0;
    if (!dec_model_get(kind))
        return dec_fail(err, API_EINVAL, NULL, "unknown document kind");
    rc = load_pair(base_json, text, len, &base, &doc, err);
    if (rc == API_OK)
        rc = check_kind(kind, base, doc, &req, &enabled, err);
    if (rc != API_OK || !req)
        goto out;
    if (body) {
        s = dec_compact(req);
        if (!s) {
            rc = OOM(err);
            goto out;
        }
        *body = s;
    }
    if (changed)
        *changed = 1;
    if (only_enabled)
        *only_enabled = enabled;
out:
    json_decref(req);
    json_decref(doc);
    json_decref(base);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Create                                                             */

static enum api_rc check_new(const struct dec_model *m, json_t *doc,
                             struct api_error *err)
{
    const struct dec_field *f;
    const char *key;
    json_t *v;
    enum api_rc rc;

    json_object_foreach(doc, key, v) {
        f = dec_model_field(m, key);
        if (!f)
            return dec_fail(err, API_EINVAL, key, "unknown field '%s' for %s",
                            key, m->name);
        if (!(f->flags & DEC_F_W))
            return dec_fail(err, API_EINVAL, key, "field '%s' is read-only",
                            key);
        rc = dec_check_type(f, v, err);
        if (rc != API_OK)
            return rc;
    }
    for (size_t i = 0; i < m->n_fields; i++) {
        f = &m->fields[i];
        v = json_object_get(doc, f->name);
        if ((f->flags & DEC_F_REQ) && (!v || json_is_null(v)))
            return dec_fail(err, API_EINVAL, f->name,
                            "field '%s' is required", f->name);
    }
    return API_OK;
}

enum api_rc dec_check_create(enum api_kind kind, const char *text,
                             size_t len, char **body, struct api_error *err)
{
    const struct dec_model *m;
    json_t *doc = NULL;
    enum api_rc rc;

    *body = NULL;
    if (kind == API_KIND_KEY)
        return API_OK; /* POST recordingkeys has no body */
    m = dec_create_model_get(kind);
    if (!m)
        return dec_fail(err, API_EINVAL, NULL,
                        "documents of this kind cannot be created");
    rc = dec_load(text, len, 1, &doc, err);
    if (rc != API_OK)
        return rc;
    if (!json_is_object(doc))
        rc = dec_fail(err, API_EINVAL, NULL, "not a JSON object");
    else
        rc = check_new(m, doc, err);
    if (rc == API_OK) {
        *body = dec_compact(doc);
        if (!*body)
            rc = OOM(err);
    }
    json_decref(doc);
    return rc;
}
