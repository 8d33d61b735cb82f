/* decode_models.c - per-kind field tables: which members of each swagger
 * model exist (S17 recording-openapi.json plus the S26 additions), which
 * are writable by an edit or allowed on create, and their types.
 *
 * The spec marks only id/selfUri readOnly; what is writable comes from the
 * operation descriptions (genesys-api.md §4): Recording PUT changes only
 * the retention dates, Annotation the user-editable marks, UserRecording
 * name/read, Policy everything but its server-kept dates and errors.
 */
#include "decode_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define RO(n) {n, DEC_T_ANY, DEC_F_RO, NULL, 0, 0, 0}
#define W(n, t, fl) {n, t, DEC_F_W | (fl), NULL, 0, 0, 0}
#define WINT(n, fl, lo, hi) {n, DEC_T_INT, DEC_F_W | (fl), NULL, 0, lo, hi}
#define WENUM(n, fl, e) {n, DEC_T_ENUM, DEC_F_W | (fl), e, 0, 0, 0}
#define MODEL(name, fields, ro) {name, fields, sizeof(fields) / sizeof((fields)[0]), ro}

static const struct dec_field recording_fields[] = {
    RO("id"), RO("name"), RO("conversationId"), RO("path"),
    RO("startTime"), RO("endTime"), RO("media"), RO("mediaSubtype"),
    RO("mediaSubject"), RO("annotations"), RO("transcript"),
    RO("emailTranscript"), RO("messagingTranscript"), RO("fileState"),
    RO("restoreExpirationTime"), RO("mediaUris"),
    RO("estimatedTranscodeTimeMs"), RO("actualTranscodeTimeMs"),
    W("archiveDate", DEC_T_DATE, DEC_F_NULL), RO("archiveMedium"),
    W("deleteDate", DEC_T_DATE, DEC_F_NULL),
    W("exportDate", DEC_T_DATE, DEC_F_NULL), RO("exportedDate"),
    RO("outputDurationMs"), RO("outputSizeInBytes"),
    RO("maxAllowedRestorationsForOrg"),
    RO("remainingRestorationsAllowedForOrg"), RO("sessionId"), RO("users"),
    RO("recordingFileRole"), RO("recordingErrorStatus"),
    RO("originalRecordingStartTime"), RO("creationTime"),
    RO("associatedConversationIds"), RO("region"), RO("selfUri"),
};

static const struct dec_field annotation_fields[] = {
    RO("id"),
    W("name", DEC_T_STRING, DEC_F_NULL),
    W("type", DEC_T_STRING, DEC_F_NULL),
    WINT("location", 0, 0, INT64_MAX),
    WINT("durationMs", 0, 0, INT64_MAX),
    WINT("absoluteLocation", 0, 0, INT64_MAX),
    WINT("absoluteDurationMs", 0, 0, INT64_MAX),
    RO("user"),
    {"description", DEC_T_STRING, DEC_F_W | DEC_F_NULL, NULL,
     DEC_MAX_DESCRIPTION, 0, 0},
    RO("keywordName"), RO("confidence"), RO("keywordSetId"),
    RO("keywordSetName"), RO("utterance"), RO("timeBegin"), RO("timeEnd"),
    RO("keywordConfidenceThreshold"), RO("agentScoreModifier"),
    RO("customerScoreModifier"), RO("recordingLocation"),
    RO("recordingDurationMs"), RO("reason"), RO("annotations"),
    RO("realtimeLocation"), RO("selfUri"),
};

static const struct dec_field user_recording_fields[] = {
    RO("id"), W("name", DEC_T_STRING, 0), RO("dateCreated"),
    RO("dateModified"), RO("contentUri"), RO("workspace"), RO("createdBy"),
    RO("conversation"), RO("contentLength"), RO("durationMilliseconds"),
    RO("thumbnails"), W("read", DEC_T_BOOL, 0), RO("selfUri"),
};

static const struct dec_field orphan_fields[] = {
    RO("id"), RO("name"), RO("createdTime"), RO("recoveredTime"),
    RO("providerType"), RO("mediaSizeBytes"), RO("mediaType"),
    RO("mediaSubtype"), RO("mediaSubject"), RO("fileState"),
    RO("providerEndpoint"), RO("recording"), RO("orphanStatus"),
    RO("sourceOrphaningId"), RO("region"), RO("selfUri"),
};

static const struct dec_field orphan_request_fields[] = {
    W("archiveDate", DEC_T_DATE, DEC_F_NULL),
    W("deleteDate", DEC_T_DATE, DEC_F_NULL),
    W("exportDate", DEC_T_DATE, DEC_F_NULL),
    W("integrationId", DEC_T_STRING, DEC_F_NULL),
    W("conversationId", DEC_T_ID, DEC_F_NULL),
};

static const struct dec_field policy_fields[] = {
    RO("id"), W("name", DEC_T_STRING, DEC_F_REQ), RO("modifiedDate"),
    RO("createdDate"), WINT("order", DEC_F_NULL, INT32_MIN, INT32_MAX),
    W("description", DEC_T_STRING, DEC_F_NULL),
    W("enabled", DEC_T_BOOL, 0),
    W("mediaPolicies", DEC_T_OBJECT, DEC_F_NULL),
    W("conditions", DEC_T_OBJECT, DEC_F_NULL),
    W("actions", DEC_T_OBJECT, DEC_F_NULL), RO("policyErrors"),
    RO("selfUri"),
};

static const struct dec_field settings_fields[] = {
    WINT("maxSimultaneousStreams", 0, 0, INT32_MAX),
    WINT("maxConfigurableScreenRecordingStreams", 0, 0, INT32_MAX),
    W("regionalRecordingStorageEnabled", DEC_T_BOOL, 0),
    WINT("recordingPlaybackUrlTtl", 0, 2, 60),
    WINT("recordingBatchDownloadUrlTtl", 0, 2, 60),
    W("stopRecordingWhenOnlyExternalParticipants", DEC_T_BOOL, 0),
};

static const struct dec_field key_fields[] = {
    RO("id"), RO("name"), RO("createDate"), RO("keydataSummary"),
    RO("user"), RO("localEncryptionConfiguration"),
    RO("keyConfigurationType"), RO("kmsKeyArn"), RO("selfUri"),
};

static const char *const periods[] = {"DISABLED", "DAILY", "WEEKLY",
                                      "MONTHLY", "YEARLY", NULL};
static const struct dec_field rotation_fields[] = {
    RO("id"), W("name", DEC_T_STRING, DEC_F_NULL),
    WENUM("period", DEC_F_REQ, periods), RO("selfUri"),
};

static const struct dec_field localkey_settings_fields[] = {
    RO("id"), W("name", DEC_T_STRING, DEC_F_NULL),
    W("url", DEC_T_STRING, DEC_F_REQ), W("apiId", DEC_T_STRING, DEC_F_REQ),
    W("apiKey", DEC_T_STRING, DEC_F_REQ), RO("selfUri"),
};

static const struct dec_field localkey_request_fields[] = {
    W("configId", DEC_T_STRING, DEC_F_REQ),
    W("publicKey", DEC_T_STRING, DEC_F_REQ),
    W("keypairId", DEC_T_STRING, DEC_F_REQ),
};

static const struct dec_field screen_fields[] = {
    RO("id"), RO("name"), RO("user"), RO("communicationId"),
    RO("conversation"), RO("startTime"), RO("selfUri"),
};

static const char *const screen_states[] = {"STOPPED", NULL};
static const struct dec_field screen_request_fields[] = {
    WENUM("state", 0, screen_states),
    W("archiveDate", DEC_T_DATE, DEC_F_NULL),
    W("deleteDate", DEC_T_DATE, DEC_F_NULL),
};

static const struct dec_field fax_fields[] = {
    RO("readCount"), RO("unreadCount"), RO("totalCount"),
};

static const struct dec_field conversation_fields[] = {
    RO("conversationId"), RO("conversationStart"), RO("conversationEnd"),
    RO("participants"), RO("evaluations"),
};

/* Indexed by enum api_kind. read_only: no edit can change anything (any
 * difference is API_EPERM). ORPHAN and SCREEN_SESSION documents have no
 * writable field either, but accept a request object instead. */
static const struct dec_model models[API_KIND_COUNT] = {
    [API_KIND_RECORDING] = MODEL("Recording", recording_fields, 0),
    [API_KIND_ANNOTATION] = MODEL("Annotation", annotation_fields, 0),
    [API_KIND_USER_RECORDING] =
        MODEL("UserRecording", user_recording_fields, 0),
    [API_KIND_ORPHAN] = MODEL("OrphanRecording", orphan_fields, 0),
    [API_KIND_POLICY] = MODEL("Policy", policy_fields, 0),
    [API_KIND_SETTINGS] = MODEL("RecordingSettings", settings_fields, 0),
    [API_KIND_KEY] = MODEL("EncryptionKey", key_fields, 1),
    [API_KIND_ROTATION_SCHEDULE] =
        MODEL("KeyRotationSchedule", rotation_fields, 0),
    [API_KIND_LOCALKEY_SETTINGS] =
        MODEL("LocalEncryptionConfiguration", localkey_settings_fields, 0),
    [API_KIND_LOCALKEY_REQUEST] =
        MODEL("LocalEncryptionKeyRequest", localkey_request_fields, 1),
    [API_KIND_SCREEN_SESSION] =
        MODEL("ScreenRecordingSession", screen_fields, 0),
    [API_KIND_FAX_SUMMARY] = MODEL("FaxSummary", fax_fields, 1),
    [API_KIND_CONVERSATION] =
        MODEL("AnalyticsConversation", conversation_fields, 1),
};

static const struct dec_model orphan_request =
    MODEL("OrphanUpdateRequest", orphan_request_fields, 0);
static const struct dec_model screen_request =
    MODEL("ScreenRecordingSessionRequest", screen_request_fields, 0);

const struct dec_model *dec_model_get(enum api_kind kind)
{
    if ((unsigned)kind >= API_KIND_COUNT)
        return NULL;
    return &models[kind];
}

const struct dec_model *dec_create_model_get(enum api_kind kind)
{
    switch (kind) {
    case API_KIND_ANNOTATION:
    case API_KIND_POLICY:
    case API_KIND_LOCALKEY_SETTINGS:
    case API_KIND_LOCALKEY_REQUEST:
        return &models[kind];
    default:
        return NULL;
    }
}

const struct dec_model *dec_orphan_request_model(void)
{
    return &orphan_request;
}

const struct dec_model *dec_screen_request_model(void)
{
    return &screen_request;
}

const struct dec_field *dec_model_field(const struct dec_model *m,
                                        const char *name)
{
    for (size_t i = 0; i < m->n_fields; i++)
        if (!strcmp(m->fields[i].name, name))
            return &m->fields[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Type checks                                                        */

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static int enum_ok(const char *const *e, const char *s)
{
    for (; *e; e++)
        if (!strcmp(*e, s))
            return 1;
    return 0;
}

static const char *type_text(enum dec_type t)
{
    switch (t) {
    case DEC_T_STRING: return "a string";
    case DEC_T_ID: return "an id ([A-Za-z0-9._-], 1-128 characters)";
    case DEC_T_DATE: return "an ISO-8601 date-time (2026-01-31T00:00:00Z)";
    case DEC_T_INT: return "an integer";
    case DEC_T_NUMBER: return "a number";
    case DEC_T_BOOL: return "a boolean";
    case DEC_T_ENUM: return "one of the allowed values";
    case DEC_T_OBJECT: return "an object";
    case DEC_T_ARRAY: return "an array";
    default: return "valid";
    }
}

static enum api_rc type_fail(const struct dec_field *f,
                             struct api_error *err)
{
    char list[160] = "";

    if (f->type == DEC_T_ENUM) {
        for (const char *const *e = f->enums; *e; e++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list),
                     "%s%s", e == f->enums ? "" : ", ", *e);
        return dec_fail(err, API_EINVAL, f->name,
                        "field '%s' must be one of %s%s", f->name, list,
                        f->flags & DEC_F_NULL ? " or null" : "");
    }
    return dec_fail(err, API_EINVAL, f->name, "field '%s' must be %s%s",
                    f->name, type_text(f->type),
                    f->flags & DEC_F_NULL ? " or null" : "");
}

/* 1 when v has the shape of f's type (bounds and lengths aside). */
static int type_ok(const struct dec_field *f, const json_t *v)
{
    const char *s = json_string_value(v);
    time_t t;

    switch (f->type) {
    case DEC_T_STRING: return s != NULL;
    case DEC_T_ID: return s && api_id_valid(s);
    case DEC_T_DATE: return s && dec_parse_time(s, 1, &t, NULL) == 0;
    case DEC_T_INT: return json_is_integer(v);
    case DEC_T_NUMBER: return json_is_number(v);
    case DEC_T_BOOL: return json_is_boolean(v);
    case DEC_T_ENUM: return s && enum_ok(f->enums, s);
    case DEC_T_OBJECT: return json_is_object(v);
    case DEC_T_ARRAY: return json_is_array(v);
    default: return 1;
    }
}

enum api_rc dec_check_type(const struct dec_field *f, const json_t *v,
                           struct api_error *err)
{
    json_int_t i;

    if (json_is_null(v))
        return f->flags & DEC_F_NULL ? API_OK : type_fail(f, err);
    if (!type_ok(f, v))
        return type_fail(f, err);
    if (f->type == DEC_T_INT && f->min != f->max) {
        i = json_integer_value(v);
        if (i < f->min || i > f->max)
            return dec_fail(err, API_EINVAL, f->name,
                            "field '%s' must be between %lld and %lld",
                            f->name, f->min, f->max);
    }
    if (f->max_chars && json_is_string(v) &&
        utf8_chars(json_string_value(v), json_string_length(v)) >
            f->max_chars)
        return dec_fail(err, API_EINVAL, f->name,
                        "field '%s' is longer than %zu characters", f->name,
                        f->max_chars);
    return API_OK;
}
