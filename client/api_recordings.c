/* api_recordings.c - the Recording API operations (conversations'
 * recordings, metadata, annotations). Every id is validated before it
 * becomes a path segment; GETs of documents and listings go through the
 * document cache, calls that mint media URLs never do. */
#include "client_int.h"
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P_CONV "/api/v2/conversations/%s"
#define P_META_LIST P_CONV "/recordingmetadata"
#define P_META P_META_LIST "/%s"
#define P_REC P_CONV "/recordings/%s"
#define P_ANN_LIST P_REC "/annotations"
#define P_ANN P_ANN_LIST "/%s"

/* A GET that may answer 202 (transcoding): API_ENOTREADY then. On 200
 * decodes the entry (if out) and the media location (if media). */
enum api_rc api_media_get(struct api_client *c, const char *path,
                          enum api_kind kind, struct api_entry *out,
                          struct api_media *media, struct api_error *err)
{
    struct api_call call = {.method = "GET", .path = path};
    struct http_resp resp = {0};
    enum api_rc rc;

    rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK && resp.status == 202) {
        api_error_set(err, API_ENOTREADY, 202, "media is being transcoded");
        rc = API_ENOTREADY;
    }
    if (rc == API_OK && out)
        rc = dec_entry(kind, resp.body ? resp.body : "", resp.len, out, err);
    if (rc == API_OK && media)
        rc = dec_media_uri(resp.body ? resp.body : "", resp.len, &media->url,
                           &media->size, err);
    if (rc != API_OK) {
        api_entry_clear(out);
        api_media_clear(media);
    }
    http_resp_clear(&resp);
    return rc;
}

enum api_rc api_conversation_recordings_list(struct api_client *c,
    const char *conversation_id, enum api_format format, long max_wait_ms,
    struct api_list *out, struct api_error *err)
{
    struct api_call call = {.method = "GET"};
    struct http_resp resp = {0};
    struct dec_page pg;
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 1, conversation_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_CONV "/recordings?maxWaitMs=%ld"
                      "&formatId=%s", conversation_id,
                      max_wait_ms < 0 ? 0 : max_wait_ms,
                      api_format_name(format));
    call.path = p;
    if (rc == API_OK)
        rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK && resp.status == 202)
        rc = api_fail(err, API_ENOTREADY, "recordings are being transcoded");
    if (rc == API_OK)
        rc = dec_list_append(API_KIND_RECORDING, resp.body ? resp.body : "",
                             resp.len, out, c->cfg.max_entries, &pg, err);
    if (rc != API_OK)
        api_list_clear(out);
    http_resp_clear(&resp);
    return rc;
}

enum api_rc api_conversation_recording_get(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    enum api_format format, struct api_entry *out, struct api_media *media,
    struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 2, conversation_id, recording_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_REC "?formatId=%s",
                      conversation_id, recording_id, api_format_name(format));
    if (rc == API_OK)
        rc = api_media_get(c, p, API_KIND_RECORDING, out, media, err);
    return rc;
}

enum api_rc api_conversation_recording_put(struct api_client *c,
    const char *conversation_id, const char *recording_id, const char *json,
    struct api_entry *out, struct api_error *err)
{
    char p[API_PATH_MAX], doc[API_PATH_MAX], list[API_PATH_MAX];
    struct api_entry tmp = {0};
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 2, conversation_id, recording_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_REC, conversation_id,
                      recording_id);
    if (rc == API_OK)
        rc = api_path(doc, sizeof(doc), err, P_META, conversation_id,
                      recording_id);
    if (rc == API_OK)
        rc = api_path(list, sizeof(list), err, P_META_LIST, conversation_id);
    if (rc == API_OK)
        rc = api_send(c, "PUT", p, json, API_KIND_RECORDING,
                      out ? out : &tmp, doc, list, err);
    api_entry_clear(&tmp);
    return rc;
}

enum api_rc api_recordingmetadata_list(struct api_client *c,
    const char *conversation_id, struct api_list *out,
    struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 1, conversation_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_META_LIST, conversation_id);
    if (rc == API_OK)
        rc = api_get_unpaged(c, API_KIND_RECORDING, p, out, err);
    return rc;
}

enum api_rc api_recordingmetadata_get(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    struct api_entry *out, struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 2, conversation_id, recording_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_META, conversation_id,
                      recording_id);
    if (rc == API_OK)
        rc = api_get_entry(c, API_KIND_RECORDING, p, 0, out, err);
    return rc;
}

enum api_rc api_annotations_list(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    struct api_list *out, struct api_error *err)
{
    char p[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = api_ids_check(err, 2, conversation_id, recording_id);
    if (rc == API_OK)
        rc = api_path(p, sizeof(p), err, P_ANN_LIST, conversation_id,
                      recording_id);
    if (rc == API_OK)
        rc = api_get_unpaged(c, API_KIND_ANNOTATION, p, out, err);
    return rc;
}

/* Paths of an annotation (doc) and its collection (list). */
static enum api_rc ann_paths(const char *cid, const char *rid,
                             const char *aid, char *doc, char *list,
                             struct api_error *err)
{
    enum api_rc rc;

    rc = aid ? api_ids_check(err, 3, cid, rid, aid)
             : api_ids_check(err, 2, cid, rid);
    if (rc == API_OK)
        rc = api_path(list, API_PATH_MAX, err, P_ANN_LIST, cid, rid);
    if (rc == API_OK && aid)
        rc = api_path(doc, API_PATH_MAX, err, P_ANN, cid, rid, aid);
    return rc;
}

enum api_rc api_annotation_create(struct api_client *c,
    const char *conversation_id, const char *recording_id, const char *json,
    struct api_entry *out, struct api_error *err)
{
    char list[API_PATH_MAX];
    struct api_entry tmp = {0};
    enum api_rc rc;

    api_error_clear(err);
    rc = ann_paths(conversation_id, recording_id, NULL, NULL, list, err);
    if (rc == API_OK)
        rc = api_send(c, "POST", list, json, API_KIND_ANNOTATION,
                      out ? out : &tmp, NULL, list, err);
    api_entry_clear(&tmp);
    return rc;
}

enum api_rc api_annotation_get(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    const char *annotation_id, struct api_entry *out, struct api_error *err)
{
    char doc[API_PATH_MAX], list[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = ann_paths(conversation_id, recording_id, annotation_id, doc, list,
                   err);
    if (rc == API_OK)
        rc = api_get_entry(c, API_KIND_ANNOTATION, doc, 0, out, err);
    return rc;
}

enum api_rc api_annotation_put(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    const char *annotation_id, const char *json, struct api_entry *out,
    struct api_error *err)
{
    char doc[API_PATH_MAX], list[API_PATH_MAX];
    struct api_entry tmp = {0};
    enum api_rc rc;

    api_error_clear(err);
    rc = ann_paths(conversation_id, recording_id, annotation_id, doc, list,
                   err);
    if (rc == API_OK)
        rc = api_send(c, "PUT", doc, json, API_KIND_ANNOTATION,
                      out ? out : &tmp, doc, list, err);
    api_entry_clear(&tmp);
    return rc;
}

enum api_rc api_annotation_delete(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    const char *annotation_id, struct api_error *err)
{
    char doc[API_PATH_MAX], list[API_PATH_MAX];
    enum api_rc rc;

    api_error_clear(err);
    rc = ann_paths(conversation_id, recording_id, annotation_id, doc, list,
                   err);
    if (rc == API_OK)
        rc = api_send(c, "DELETE", doc, NULL, API_KIND_ANNOTATION, NULL, doc,
                      list, err);
    return rc;
}

enum api_rc api_recording_transcript(const char *recording_json, size_t len,
                                     char **out, size_t *out_len,
                                     struct api_error *err)
{
    api_error_clear(err);
    if (!recording_json)
        return api_fail(err, API_EINVAL, "no recording document");
    return dec_transcript(recording_json, len, out, out_len, err);
}
