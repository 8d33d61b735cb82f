/* api_org.c - organization-wide Recording API operations: local keys,
 * retention policies, orphans, encryption keys, settings, screen
 * sessions. */
#include "client_int.h"
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P_LKS "/api/v2/recording/localkeys/settings"
#define P_LK "/api/v2/recording/localkeys"
#define P_POL "/api/v2/recording/mediaretentionpolicies"
#define P_ORPH "/api/v2/orphanrecordings"
#define P_KEYS "/api/v2/recording/recordingkeys"
#define P_ROT "/api/v2/recording/recordingkeys/rotationschedule"
#define P_SET "/api/v2/recording/settings"
#define P_SCR "/api/v2/recordings/screensessions"

static enum api_rc id_path(char *buf, const char *base, const char *id,
                           struct api_error *err)
{
    enum api_rc rc = api_ids_check(err, 1, id);

    if (rc == API_OK)
        rc = api_path(buf, API_PATH_MAX, err, "%s/%s", base, id);
    return rc;
}

enum api_rc api_get_by_id(struct api_client *c, enum api_kind kind,
                          const char *base, const char *id, int bypass,
                          struct api_entry *out, struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc = id_path(p, base, id, err);

    if (rc == API_OK)
        rc = api_get_entry(c, kind, p, bypass, out, err);
    return rc;
}

enum api_rc api_send_by_id(struct api_client *c, const char *method,
                           enum api_kind kind, const char *base,
                           const char *id, const char *json,
                           struct api_entry *out, struct api_error *err)
{
    char p[API_PATH_MAX];
    struct api_entry tmp = {0};
    int del = strcmp(method, "DELETE") == 0;
    enum api_rc rc = id_path(p, base, id, err);

    if (rc == API_OK)
        rc = api_send(c, method, p, json, kind,
                      out ? out : del ? NULL : &tmp, p, base, err);
    api_entry_clear(&tmp);
    return rc;
}

enum api_rc api_create_in(struct api_client *c, enum api_kind kind,
                          const char *base, const char *json,
                          struct api_entry *out, struct api_error *err)
{
    struct api_entry tmp = {0};
    enum api_rc rc;

    rc = api_send(c, "POST", base, json ? json : "", kind, out ? out : &tmp,
                  NULL, base, err);
    api_entry_clear(&tmp);
    return rc;
}

/* ---- local encryption ---- */

enum api_rc api_localkey_settings_list(struct api_client *c,
    struct api_list *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_unpaged(c, API_KIND_LOCALKEY_SETTINGS, P_LKS, out, err);
}

enum api_rc api_localkey_settings_create(struct api_client *c,
    const char *json, struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_create_in(c, API_KIND_LOCALKEY_SETTINGS, P_LKS, json, out,
                         err);
}

enum api_rc api_localkey_settings_get(struct api_client *c,
    const char *settings_id, struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_by_id(c, API_KIND_LOCALKEY_SETTINGS, P_LKS, settings_id,
                         0, out, err);
}

enum api_rc api_localkey_settings_put(struct api_client *c,
    const char *settings_id, const char *json, struct api_entry *out,
    struct api_error *err)
{
    api_error_clear(err);
    return api_send_by_id(c, "PUT", API_KIND_LOCALKEY_SETTINGS, P_LKS,
                          settings_id, json, out, err);
}

enum api_rc api_localkey_create(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err)
{
    struct api_entry tmp = {0};
    enum api_rc rc;

    api_error_clear(err);
    rc = api_send(c, "POST", P_LK, json, API_KIND_KEY, out ? out : &tmp,
                  NULL, P_KEYS, err);
    api_entry_clear(&tmp);
    return rc;
}

/* ---- retention policies ---- */

enum api_rc api_policies_list(struct api_client *c,
    const struct api_policy_filter *filter, struct api_list *out,
    struct api_error *err)
{
    char p[API_PATH_MAX];
    char *name = NULL;
    enum api_rc rc = API_OK;

    api_error_clear(err);
    if (!filter || (!filter->name && filter->enabled < 0 && !filter->summary))
        return api_get_list(c, API_KIND_POLICY, P_POL, out, err);
    if (filter->name && !(name = http_escape(filter->name)))
        return api_fail(err, API_ENOMEM, "out of memory");
    rc = api_path(p, sizeof(p), err, P_POL "?summary=%s%s%s%s%s",
                  filter->summary ? "true" : "false",
                  name ? "&name=" : "", name ? name : "",
                  filter->enabled < 0 ? "" : "&enabled=",
                  filter->enabled < 0 ? "" : filter->enabled ? "true"
                                                             : "false");
    free(name);
    if (rc == API_OK)
        rc = api_get_list(c, API_KIND_POLICY, p, out, err);
    return rc;
}

enum api_rc api_policy_create(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_create_in(c, API_KIND_POLICY, P_POL, json, out, err);
}

enum api_rc api_policies_delete(struct api_client *c, const char *const *ids,
    size_t n, struct api_error *err)
{
    char p[API_PATH_MAX];
    size_t used;
    enum api_rc rc;

    api_error_clear(err);
    if (n == 0)
        return api_fail(err, API_EINVAL, "no policy ids");
    used = (size_t)snprintf(p, sizeof(p), P_POL "?ids=");
    for (size_t i = 0; i < n; i++) {
        if (!api_id_valid(ids[i]))
            return api_fail(err, API_EINVAL, "invalid id");
        /* ids are [A-Za-z0-9._-]: nothing to escape; ',' is %2C */
        used += (size_t)snprintf(p + used, used < sizeof(p) ? sizeof(p) - used
                                 : 0, "%s%s", i ? "%2C" : "", ids[i]);
        if (used >= sizeof(p))
            return api_fail(err, API_EINVAL, "too many policy ids");
    }
    rc = api_send(c, "DELETE", p, NULL, API_KIND_POLICY, NULL, NULL, P_POL,
                  err);
    for (size_t i = 0; rc == API_OK && i < n; i++) {
        char doc[API_PATH_MAX];
        if (api_path(doc, sizeof(doc), NULL, P_POL "/%s", ids[i]) == API_OK)
            api_cache_drop(c, doc, 0);
    }
    return rc;
}

enum api_rc api_policy_get(struct api_client *c, const char *policy_id,
    struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_by_id(c, API_KIND_POLICY, P_POL, policy_id, 0, out, err);
}

enum api_rc api_policy_put(struct api_client *c, const char *policy_id,
    const char *json, struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_send_by_id(c, "PUT", API_KIND_POLICY, P_POL, policy_id, json,
                          out, err);
}

enum api_rc api_policy_patch(struct api_client *c, const char *policy_id,
    const char *json, struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_send_by_id(c, "PATCH", API_KIND_POLICY, P_POL, policy_id,
                          json, out, err);
}

enum api_rc api_policy_delete(struct api_client *c, const char *policy_id,
    struct api_error *err)
{
    api_error_clear(err);
    return api_send_by_id(c, "DELETE", API_KIND_POLICY, P_POL, policy_id,
                          NULL, NULL, err);
}

/* ---- orphans ---- */

enum api_rc api_orphans_list(struct api_client *c, struct api_list *out,
    struct api_error *err)
{
    api_error_clear(err);
    return api_get_list(c, API_KIND_ORPHAN, P_ORPH, out, err);
}

enum api_rc api_orphan_get(struct api_client *c, const char *orphan_id,
    struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_by_id(c, API_KIND_ORPHAN, P_ORPH, orphan_id, 0, out, err);
}

/* The orphan becomes a Recording: drop the orphan, its listing and the
 * recording listing of the conversation it joined. */
enum api_rc api_orphan_put(struct api_client *c, const char *orphan_id,
    const char *json, struct api_entry *out, struct api_error *err)
{
    char p[API_PATH_MAX], list[API_PATH_MAX];
    struct api_entry tmp = {0}, *rec = out ? out : &tmp;
    enum api_rc rc;

    api_error_clear(err);
    rc = id_path(p, P_ORPH, orphan_id, err);
    if (rc == API_OK)
        rc = api_send(c, "PUT", p, json ? json : "{}", API_KIND_RECORDING,
                      rec, NULL, P_ORPH, err);
    if (rc == API_OK) {
        api_cache_drop(c, p, 0);
        if (rec->conversation_id &&
            api_path(list, sizeof(list), NULL,
                     "/api/v2/conversations/%s/recordingmetadata",
                     rec->conversation_id) == API_OK)
            api_cache_drop_list(c, list);
    }
    api_entry_clear(&tmp);
    return rc;
}

enum api_rc api_orphan_delete(struct api_client *c, const char *orphan_id,
    struct api_error *err)
{
    api_error_clear(err);
    return api_send_by_id(c, "DELETE", API_KIND_ORPHAN, P_ORPH, orphan_id,
                          NULL, NULL, err);
}

enum api_rc api_orphan_media_get(struct api_client *c, const char *orphan_id,
    enum api_format format, struct api_entry *out, struct api_media *media,
    struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 1, orphan_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_ORPH "/%s/media?formatId=%s",
                      orphan_id, api_format_name(format));
    if (rc == API_OK)
        rc = api_media_get(c, p, API_KIND_RECORDING, out, media, err);
    return rc;
}

/* ---- keys, settings, screen sessions ---- */

enum api_rc api_keys_list(struct api_client *c, struct api_list *out,
    struct api_error *err)
{
    api_error_clear(err);
    return api_get_list(c, API_KIND_KEY, P_KEYS, out, err);
}

enum api_rc api_key_create(struct api_client *c, struct api_entry *out,
    struct api_error *err)
{
    api_error_clear(err);
    return api_create_in(c, API_KIND_KEY, P_KEYS, NULL, out, err);
}

enum api_rc api_rotation_schedule_get(struct api_client *c,
    struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_entry(c, API_KIND_ROTATION_SCHEDULE, P_ROT, 0, out, err);
}

enum api_rc api_rotation_schedule_put(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err)
{
    struct api_entry tmp = {0};
    enum api_rc rc;

    api_error_clear(err);
    rc = api_send(c, "PUT", P_ROT, json, API_KIND_ROTATION_SCHEDULE,
                  out ? out : &tmp, P_ROT, NULL, err);
    api_entry_clear(&tmp);
    return rc;
}

enum api_rc api_settings_get(struct api_client *c, int create_default,
    struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_entry(c, API_KIND_SETTINGS,
                         create_default ? P_SET "?createDefault=true" : P_SET,
                         0, out, err);
}

enum api_rc api_settings_put(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err)
{
    struct api_entry tmp = {0};
    enum api_rc rc;

    api_error_clear(err);
    rc = api_send(c, "PUT", P_SET, json, API_KIND_SETTINGS, out ? out : &tmp,
                  P_SET, P_SET, err);
    api_entry_clear(&tmp);
    return rc;
}

enum api_rc api_screensessions_list(struct api_client *c,
    struct api_list *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_list(c, API_KIND_SCREEN_SESSION, P_SCR, out, err);
}

enum api_rc api_screensession_patch(struct api_client *c,
    const char *session_id, const char *json, struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = id_path(p, P_SCR, session_id, err);
    if (rc == API_OK)
        rc = api_send(c, "PATCH", p, json, API_KIND_SCREEN_SESSION, NULL, p,
                      P_SCR, err);
    return rc;
}
