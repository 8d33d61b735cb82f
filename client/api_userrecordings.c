/* api_userrecordings.c - the UserRecordings API operations. */
#include "client_int.h"
#include "decode.h"

#include <stdio.h>

#define P_UR "/api/v2/userrecordings"
#define P_UR_SUMMARY P_UR "/summary"

enum api_rc api_userrecordings_list(struct api_client *c,
    struct api_list *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_list(c, API_KIND_USER_RECORDING, P_UR, out, err);
}

enum api_rc api_userrecording_get(struct api_client *c,
    const char *recording_id, struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_by_id(c, API_KIND_USER_RECORDING, P_UR, recording_id, 0,
                         out, err);
}

/* A changed "read" flag changes the summary too. */
enum api_rc api_userrecording_put(struct api_client *c,
    const char *recording_id, const char *json, struct api_entry *out,
    struct api_error *err)
{
    enum api_rc rc;

    api_error_clear(err);
    rc = api_send_by_id(c, "PUT", API_KIND_USER_RECORDING, P_UR,
                        recording_id, json, out, err);
    if (rc == API_OK)
        api_cache_drop(c, P_UR_SUMMARY, 0);
    return rc;
}

enum api_rc api_userrecording_delete(struct api_client *c,
    const char *recording_id, struct api_error *err)
{
    enum api_rc rc;

    api_error_clear(err);
    rc = api_send_by_id(c, "DELETE", API_KIND_USER_RECORDING, P_UR,
                        recording_id, NULL, NULL, err);
    if (rc == API_OK)
        api_cache_drop(c, P_UR_SUMMARY, 0);
    return rc;
}

enum api_rc api_userrecording_media_get(struct api_client *c,
    const char *recording_id, enum api_format format,
    struct api_media *media, struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 1, recording_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_UR "/%s/media?formatId=%s",
                      recording_id, api_format_name(format));
    if (rc == API_OK)
        rc = api_media_get(c, p, API_KIND_USER_RECORDING, NULL, media, err);
    return rc;
}

enum api_rc api_userrecordings_summary(struct api_client *c,
    struct api_entry *out, struct api_error *err)
{
    api_error_clear(err);
    return api_get_entry(c, API_KIND_FAX_SUMMARY, P_UR_SUMMARY, 0, out, err);
}
