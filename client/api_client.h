/* api_client.h - the internal Genesys Cloud recordings API client.
 *
 * The only interface fs/ uses to reach the organization. It knows HTTP
 * (libcurl) and JSON (jansson); no curl or jansson type appears here.
 *
 * Conventions
 * - Functions return enum api_rc (API_OK = 0) and fill an optional,
 *   caller-allocated struct api_error (may be NULL; the first error wins).
 * - Out-params are value structs the caller zero-initialises and releases
 *   with the matching *_clear(); on failure they are left cleared.
 * - Every string returned is owned by the out-struct (freed by *_clear).
 * - Thread-safety: one struct api_client may be used from any number of
 *   threads at once; each thread gets its own curl easy handle internally,
 *   sharing one CURLSH (DNS, TLS sessions, connections).
 * - Every call has a deadline (connect timeout, low-speed abort, overall
 *   deadline); no call blocks forever. Idempotent requests are retried on
 *   429 (Retry-After honoured), 5xx except 501 and transport errors, with
 *   jittered exponential backoff bounded by a count and the deadline.
 * - Ids (from the server or the user) are validated before they become URL
 *   path segments or file names: see api_id_valid().
 * - Documents handed out (api_entry.json) are the server's JSON,
 *   pretty-printed with a 2-space indent and a trailing newline, with
 *   volatile fields (mediaUris, contentLocationUri, pre-signed URLs)
 *   removed.
 * - Secrets (client secret, tokens, pre-signed URL query strings) never
 *   appear in logs or in struct api_error.
 */
#ifndef RECFS_API_CLIENT_H
#define RECFS_API_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct cache;

/* ------------------------------------------------------------------ */
/* Errors                                                             */

enum api_rc {
    API_OK = 0,
    API_ENOMEM,     /* allocation failed */
    API_EINVAL,     /* bad argument or invalid document (validation) */
    API_ETRANSPORT, /* connection refused, reset, DNS, TLS ... */
    API_ETIMEOUT,   /* deadline, connect timeout or low-speed abort */
    API_EHTTP,      /* the server answered with an error status */
    API_EPROTO,     /* malformed/oversized response, bad JSON, bad id */
    API_ENOTREADY,  /* media still transcoding after transcode_timeout */
    API_ECHANGED,   /* media object changed on the server (ETag/412) */
    API_ESTALE,     /* document changed on the server since it was read */
    API_EPERM,      /* refused locally (e.g. read-only field changed) */
};

struct api_error {
    enum api_rc rc;
    long http_status;     /* 0 when there was no HTTP response */
    int curl_code;        /* CURLcode as int, 0 if none */
    char api_code[48];    /* ErrorBody.code, e.g. "not.found" */
    char message[256];    /* ErrorBody.message, curl errbuf, or ours */
    char context_id[64];  /* ErrorBody.contextId / ININ-Correlation-Id */
    char field[64];       /* validation: the offending field, if any */
};

/* The ONE mapping to errno (positive value):
 * 400 EINVAL, 401/403 EACCES, 404/410 ENOENT, 409 EEXIST, 412 ESTALE,
 * 413 EFBIG, timeout ETIMEDOUT, not ready EAGAIN, stale ESTALE,
 * EINVAL rc EINVAL, ENOMEM ENOMEM, EPERM EPERM, otherwise EIO.
 * A NULL or API_OK error maps to 0. */
int api_error_to_errno(const struct api_error *err);
/* Short human-readable text: "HTTP 404 not.found: <message>". */
const char *api_error_str(const struct api_error *err, char *buf, size_t n);
void api_error_clear(struct api_error *err);

/* ------------------------------------------------------------------ */
/* Configuration and lifecycle                                        */

struct api_config {
    const char *environment;   /* region host, e.g. "mypurecloud.ie",
                                  "usw2.pure.cloud"; default
                                  "mypurecloud.com" */
    const char *api_url;       /* explicit base, e.g. http://127.0.0.1:8080
                                  (overrides environment) */
    const char *login_url;     /* explicit OAuth base (token at
                                  <login_url>/oauth/token) */
    const char *client_id;
    const char *client_secret;
    const char *access_token;  /* ready token; no secret needed */
    const char *cacert;        /* extra CA bundle file, or NULL */
    int insecure;              /* skip TLS verification (warned loudly) */
    long connect_timeout_ms;   /* default 10000 */
    long request_timeout_ms;   /* overall deadline per call, def. 60000 */
    long low_speed_limit;      /* bytes/s, default 1024 */
    long low_speed_time_s;     /* default 30 */
    int max_retries;           /* default 4 */
    long transcode_timeout_ms; /* default 120000 */
    size_t max_body_bytes;     /* JSON response cap, default 64 MiB */
    size_t max_entries;        /* listing cap, default 1000000 */
    int max_connections;       /* per host, default 8 */
    long metadata_ttl_s;       /* document/listing cache TTL, default 60 */
};

/* Look up a region host; returns the API base URL ("https://api.<env>")
 * in buf, or NULL if env is not a known Genesys Cloud region. */
const char *api_region_api_url(const char *env, char *buf, size_t n);

/* Create a client. Copies everything it needs from cfg. Rejects plain
 * http:// unless the host is a loopback address. Does no network I/O.
 * Returns NULL on failure (err filled). Caller frees with
 * api_client_free(). */
struct api_client *api_client_new(const struct api_config *cfg,
                                  struct api_error *err);
void api_client_free(struct api_client *c);

/* Obtain a token now (client-credentials grant) so bad credentials are
 * reported at mount time. With a ready access token, validates it with
 * one cheap API call. */
enum api_rc api_client_login(struct api_client *c, struct api_error *err);

/* Attach a disk cache for documents and listings (borrowed; must outlive
 * the client). GETs are then served from it within metadata_ttl; when the
 * API is unreachable (transport error, 5xx after retries) an expired copy
 * is served and a warning logged ("may be stale"). Successful writes
 * replace or drop the affected cached documents at once. */
void api_client_set_cache(struct api_client *c, struct cache *cache);

/* Fails every in-flight and future request fast (API_ETRANSPORT); used at
 * unmount so nothing waits on the network. */
void api_client_shutdown(struct api_client *c);

/* The API base URL in use (no secrets). Borrowed; valid for the client's
 * lifetime. */
const char *api_client_api_url(const struct api_client *c);

struct api_stats {
    uint64_t requests;        /* HTTP requests sent (API + media) */
    uint64_t retries;
    uint64_t rate_limit_waits;/* 429s waited on */
    uint64_t errors;          /* calls that failed */
    uint64_t token_renewals;
    uint64_t doc_cache_hits;
    uint64_t stale_served;    /* expired cache copies served offline */
    uint64_t media_bytes;     /* media bytes downloaded */
    int offline;              /* last API attempt failed at transport */
};
void api_client_stats(struct api_client *c, struct api_stats *out);

/* ------------------------------------------------------------------ */
/* Values                                                             */

enum api_kind {
    API_KIND_RECORDING,         /* Recording */
    API_KIND_ANNOTATION,        /* Annotation */
    API_KIND_USER_RECORDING,    /* UserRecording */
    API_KIND_ORPHAN,            /* OrphanRecording */
    API_KIND_POLICY,            /* Policy */
    API_KIND_SETTINGS,          /* RecordingSettings (singleton) */
    API_KIND_KEY,               /* EncryptionKey */
    API_KIND_ROTATION_SCHEDULE, /* KeyRotationSchedule (singleton) */
    API_KIND_LOCALKEY_SETTINGS, /* LocalEncryptionConfiguration */
    API_KIND_LOCALKEY_REQUEST,  /* LocalEncryptionKeyRequest (create only) */
    API_KIND_SCREEN_SESSION,    /* ScreenRecordingSession */
    API_KIND_FAX_SUMMARY,       /* FaxSummary (userrecordings/summary) */
    API_KIND_CONVERSATION,      /* AnalyticsConversation (discovery) */
    API_KIND_COUNT
};
/* "recording", "annotation", ... (stable; used in xattrs). */
const char *api_kind_name(enum api_kind kind);

struct api_entry {
    enum api_kind kind;
    char *id;              /* validated with api_id_valid() */
    char *name;            /* may be NULL */
    char *conversation_id; /* recordings, orphans' recording, analytics */
    char *media;           /* Recording.media lower-case: "audio", "chat",
                              "email", "screen", "message"; orphans from
                              mediaType; NULL if unknown */
    char *file_state;      /* Recording/Orphan fileState, may be NULL */
    int64_t size;          /* bytes from the document (contentLength,
                              mediaSizeBytes, outputSizeInBytes), -1 */
    int64_t duration_ms;   /* -1 if unknown */
    time_t mtime;          /* dateModified/modifiedDate/endTime/
                              createdTime/...; 0 if unknown */
    time_t start;          /* conversationStart/startTime/dateCreated */
    int has_recording;     /* analytics: -1 unknown, 0 no, 1 yes */
    char *json;            /* pretty document (see top), NUL-terminated;
                              NULL in the entries of a listing (raw) */
    size_t json_len;
    char *raw;             /* listings only: the entity as the server sent
                              it (volatile fields included, not
                              NUL-terminated); api_doc_render() makes the
                              pretty document of it */
    size_t raw_len;
};
void api_entry_clear(struct api_entry *e);

struct api_list {
    struct api_entry *v;
    size_t n;
};
void api_list_clear(struct api_list *l);

/* 1 if s is usable as a URL path segment and a file name: 1..128 bytes,
 * [A-Za-z0-9._-] only, not "." or "..". */
int api_id_valid(const char *s);

enum api_format {
    API_FORMAT_WEBM,
    API_FORMAT_WAV,
    API_FORMAT_WAV_ULAW,
    API_FORMAT_OGG_VORBIS,
    API_FORMAT_OGG_OPUS,
    API_FORMAT_MP3,
    API_FORMAT_NONE,
    API_FORMAT_COUNT
};
const char *api_format_name(enum api_format f);      /* "WEBM" */
/* "webm" "wav" "ulaw.wav" "ogg" "opus" "mp3"; NULL for NONE. */
const char *api_format_ext(enum api_format f);
int api_format_parse(const char *name, enum api_format *out); /* 0/-1 */
/* "media.ulaw.wav" -> WAV_ULAW etc. Returns 0, or -1 if not a media name
 * of a known format extension. */
int api_format_from_media_name(const char *name, enum api_format *out);
/* File extension for a content type ("audio/ogg" -> "ogg"), "bin" when
 * unknown. For format NONE. */
const char *api_ext_from_content_type(const char *content_type);

/* ------------------------------------------------------------------ */
/* Documents: the generic layer fs/ uses                              */

/* Identifies one document (or, for lists, the parent collection). */
struct api_ref {
    enum api_kind kind;
    const char *conversation_id; /* RECORDING, ANNOTATION */
    const char *recording_id;    /* ANNOTATION */
    const char *id;              /* the document's id; NULL: singleton */
};

/* List every entry of a collection (all pages, pageSize 100, pages after
 * the first fetched concurrently; capped by max_entries):
 *   RECORDING:  recordingmetadata of ref->conversation_id (no transcode)
 *   ANNOTATION: annotations of (conversation_id, recording_id)
 *   USER_RECORDING, ORPHAN, POLICY, KEY, LOCALKEY_SETTINGS,
 *   SCREEN_SESSION: the organization's collection.
 * Entries carry raw, not json: rendering 10,000 documents nobody reads
 * would cost more than fetching them (api_doc_render when needed). */
enum api_rc api_doc_list(struct api_client *c, const struct api_ref *ref,
                         struct api_list *out, struct api_error *err);

/* Called with the entries of each page of a listing being fetched, in
 * page order, as soon as that page and every page before it are in: a
 * directory can be shown while its later pages are still on the way.
 * last is 1 on the call with the listing's last page: every entry has
 * been told then, and the listing will be the entries told (unless
 * memory runs out in joining them). Calls are serialized but may come
 * from any thread; the entries are borrowed for the call. A listing
 * answered from the cache, or fetched again after a failure, makes no
 * calls: out is the result either way. */
typedef void (*api_list_sink_fn)(void *arg, const struct api_entry *v,
                                 size_t n, int last);
/* api_doc_list, telling sink (may be NULL) about pages as they arrive. */
enum api_rc api_doc_list_stream(struct api_client *c,
                                const struct api_ref *ref,
                                struct api_list *out, api_list_sink_fn sink,
                                void *sink_arg, struct api_error *err);

/* The pretty document (what api_entry.json of a GET of it holds) of raw,
 * an entity of a listing (api_entry.raw). Pure. *json caller frees.
 * API_ENOMEM, or API_EPROTO when raw is not a JSON object. */
enum api_rc api_doc_render(const char *raw, size_t raw_len, char **json,
                           size_t *json_len);

/* GET one document: RECORDING uses recordingmetadata/{id}; SETTINGS,
 * ROTATION_SCHEDULE, FAX_SUMMARY are singletons (ref->id NULL). */
enum api_rc api_doc_get(struct api_client *c, const struct api_ref *ref,
                        struct api_entry *out, struct api_error *err);

/* Validate an edit of a document without any network I/O: text must be a
 * JSON object, only the writable fields of that kind may differ from
 * base_json (the server copy we hold), with the right types. On failure
 * API_EINVAL (or API_EPERM) with err->field and err->message naming the
 * field. ORPHAN accepts an OrphanUpdateRequest instead of the document.
 * SCREEN_SESSION accepts {"state":"STOPPED"} (+archiveDate/deleteDate).
 * Returns API_OK and *changed = 0 when nothing writable changed. */
enum api_rc api_doc_check_update(enum api_kind kind, const char *base_json,
                                 const char *text, size_t len, int *changed,
                                 struct api_error *err);

/* Commit an edit: api_doc_check_update, then re-read the server copy
 * (bypassing the cache) and fail with API_ESTALE if it differs from
 * base_json in any field, then PUT (PATCH for a POLICY whose only change
 * is "enabled", and for SCREEN_SESSION; PUT orphan). On success *out is
 * the server's answer (for ORPHAN: the resulting RECORDING entry) and the
 * cache holds it. */
enum api_rc api_doc_update(struct api_client *c, const struct api_ref *ref,
                           const char *base_json, const char *text,
                           size_t len, struct api_entry *out,
                           struct api_error *err);

/* Create: ANNOTATION (POST under conversation_id/recording_id), POLICY,
 * LOCALKEY_SETTINGS, LOCALKEY_REQUEST (POST /recording/localkeys; *out is
 * the new KEY), KEY (POST recordingkeys; text ignored). Validates first
 * (object, required fields, types, no read-only fields). *out is the new
 * document; collection caches are dropped. */
enum api_rc api_doc_create(struct api_client *c, const struct api_ref *ref,
                           const char *text, size_t len,
                           struct api_entry *out, struct api_error *err);

/* DELETE: ANNOTATION, USER_RECORDING, ORPHAN, POLICY. */
enum api_rc api_doc_delete(struct api_client *c, const struct api_ref *ref,
                           struct api_error *err);

/* Conversations that started in [start, end) via the analytics
 * conversation details query (all pages, concurrent, de-duplicated by
 * conversationId, filtered on conversationStart). Entries are
 * API_KIND_CONVERSATION with id, start, mtime (conversationEnd) and
 * has_recording. */
enum api_rc api_conversations_query(struct api_client *c, time_t start,
                                    time_t end, struct api_list *out,
                                    struct api_error *err);

/* ------------------------------------------------------------------ */
/* Media                                                              */

enum api_media_source {
    API_MEDIA_RECORDING,      /* conversation recording */
    API_MEDIA_ORPHAN,         /* orphan recording */
    API_MEDIA_USER_RECORDING, /* user recording */
};

struct api_media_ref {
    enum api_media_source source;
    const char *conversation_id; /* API_MEDIA_RECORDING */
    const char *id;
    enum api_format format;
};

struct api_media {
    char *url;          /* pre-signed; NEVER log (use log_redact_url) */
    char *content_type; /* may be NULL */
    int64_t size;       /* total bytes; -1 if still unknown */
    char *etag;         /* server version; may be NULL */
    time_t expires;     /* when url stops working (0: unknown) */
};
void api_media_clear(struct api_media *m);

/* Ask for the media in ref->format (GET with formatId; no bearer token to
 * the media host). While the server answers 202 (transcoding), poll with
 * backoff up to transcode_timeout, then API_ENOTREADY. On success fills
 * url/content_type and, with one ranged request or HEAD to the media host,
 * size and etag. */
enum api_rc api_media_resolve(struct api_client *c,
                              const struct api_media_ref *ref,
                              struct api_media *out, struct api_error *err);

/* api_media_resolve whose probe asks for the first head_cap bytes
 * (<= 16 MiB) instead of one: they are stored into head, *head_len of
 * them (the whole content of a file of up to head_cap bytes), of the
 * version out->etag names. */
enum api_rc api_media_resolve_head(struct api_client *c,
                                   const struct api_media_ref *ref,
                                   struct api_media *out, void *head,
                                   size_t head_cap, size_t *head_len,
                                   struct api_error *err);

/* Read [off, off+len) of the media into buf (len <= 16 MiB), pinned to
 * m->etag (If-Match); *got is the number of bytes stored (short only at
 * end of object). API_ECHANGED if the object changed, API_EHTTP 403 when
 * the URL expired (re-resolve and retry). Never sends Authorization. */
enum api_rc api_media_read(struct api_client *c, const struct api_media *m,
                           uint64_t off, size_t len, void *buf, size_t *got,
                           struct api_error *err);
/* The same with one request, any len, and the bytes handed to sink in
 * order as they arrive, each once (a retry asks only for the rest). No
 * byte of an answer reaches sink before its status, range, size and ETag
 * are checked. The deadline is request_timeout_ms per 2 MiB asked.
 * *got: the bytes handed over, also on failure (they stay valid). A
 * nonzero return of sink stops the read (API_EINVAL). */
typedef int (*api_media_sink_fn)(void *arg, const void *data, size_t len);
enum api_rc api_media_stream(struct api_client *c, const struct api_media *m,
                             uint64_t off, size_t len, api_media_sink_fn sink,
                             void *arg, size_t *got, struct api_error *err);

/* ------------------------------------------------------------------ */
/* The operations, one function each (typed inputs). Listing operations
 * fetch every page. `json` arguments are request bodies as JSON text.   */

/* Recording API */
enum api_rc api_conversation_recordings_list(struct api_client *c,
    const char *conversation_id, enum api_format format, long max_wait_ms,
    struct api_list *out, struct api_error *err); /* 202 -> ENOTREADY */
enum api_rc api_conversation_recording_get(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    enum api_format format, struct api_entry *out, struct api_media *media,
    struct api_error *err);                       /* 202 -> ENOTREADY */
enum api_rc api_conversation_recording_put(struct api_client *c,
    const char *conversation_id, const char *recording_id, const char *json,
    struct api_entry *out, struct api_error *err);
enum api_rc api_recordingmetadata_list(struct api_client *c,
    const char *conversation_id, struct api_list *out,
    struct api_error *err);
enum api_rc api_recordingmetadata_get(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    struct api_entry *out, struct api_error *err);
/* The transcript of a chat / email / messaging recording, pretty JSON
 * (the document's transcript, emailTranscript or messagingTranscript),
 * taken from its Recording document (api_entry.json of a RECORDING: the
 * recordingmetadata listing carries the transcript, so this costs no
 * request). *out caller frees. API_EPROTO when the document has none. */
enum api_rc api_recording_transcript(const char *recording_json, size_t len,
                                     char **out, size_t *out_len,
                                     struct api_error *err);
enum api_rc api_annotations_list(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    struct api_list *out, struct api_error *err);
enum api_rc api_annotation_create(struct api_client *c,
    const char *conversation_id, const char *recording_id, const char *json,
    struct api_entry *out, struct api_error *err);
enum api_rc api_annotation_get(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    const char *annotation_id, struct api_entry *out, struct api_error *err);
enum api_rc api_annotation_put(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    const char *annotation_id, const char *json, struct api_entry *out,
    struct api_error *err);
enum api_rc api_annotation_delete(struct api_client *c,
    const char *conversation_id, const char *recording_id,
    const char *annotation_id, struct api_error *err);
enum api_rc api_localkey_settings_list(struct api_client *c,
    struct api_list *out, struct api_error *err);
enum api_rc api_localkey_settings_create(struct api_client *c,
    const char *json, struct api_entry *out, struct api_error *err);
enum api_rc api_localkey_settings_get(struct api_client *c,
    const char *settings_id, struct api_entry *out, struct api_error *err);
enum api_rc api_localkey_settings_put(struct api_client *c,
    const char *settings_id, const char *json, struct api_entry *out,
    struct api_error *err);
enum api_rc api_localkey_create(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err);

struct api_policy_filter {
    const char *name;  /* NULL: any */
    int enabled;       /* -1 any, 0, 1 */
    int summary;       /* 0/1 */
};
enum api_rc api_policies_list(struct api_client *c,
    const struct api_policy_filter *filter, struct api_list *out,
    struct api_error *err);
enum api_rc api_policy_create(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err);
enum api_rc api_policies_delete(struct api_client *c, const char *const *ids,
    size_t n, struct api_error *err);
enum api_rc api_policy_get(struct api_client *c, const char *policy_id,
    struct api_entry *out, struct api_error *err);
enum api_rc api_policy_put(struct api_client *c, const char *policy_id,
    const char *json, struct api_entry *out, struct api_error *err);
enum api_rc api_policy_patch(struct api_client *c, const char *policy_id,
    const char *json, struct api_entry *out, struct api_error *err);
enum api_rc api_policy_delete(struct api_client *c, const char *policy_id,
    struct api_error *err);

enum api_rc api_orphans_list(struct api_client *c, struct api_list *out,
    struct api_error *err);
enum api_rc api_orphan_get(struct api_client *c, const char *orphan_id,
    struct api_entry *out, struct api_error *err);
enum api_rc api_orphan_put(struct api_client *c, const char *orphan_id,
    const char *json, struct api_entry *out, struct api_error *err);
enum api_rc api_orphan_delete(struct api_client *c, const char *orphan_id,
    struct api_error *err);
enum api_rc api_orphan_media_get(struct api_client *c, const char *orphan_id,
    enum api_format format, struct api_entry *out, struct api_media *media,
    struct api_error *err);                       /* 202 -> ENOTREADY */

enum api_rc api_keys_list(struct api_client *c, struct api_list *out,
    struct api_error *err);
enum api_rc api_key_create(struct api_client *c, struct api_entry *out,
    struct api_error *err);
enum api_rc api_rotation_schedule_get(struct api_client *c,
    struct api_entry *out, struct api_error *err);
enum api_rc api_rotation_schedule_put(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err);
enum api_rc api_settings_get(struct api_client *c, int create_default,
    struct api_entry *out, struct api_error *err);
enum api_rc api_settings_put(struct api_client *c, const char *json,
    struct api_entry *out, struct api_error *err);
enum api_rc api_screensessions_list(struct api_client *c,
    struct api_list *out, struct api_error *err);
enum api_rc api_screensession_patch(struct api_client *c,
    const char *session_id, const char *json, struct api_error *err);

/* UserRecordings API */
enum api_rc api_userrecordings_list(struct api_client *c,
    struct api_list *out, struct api_error *err);
enum api_rc api_userrecording_get(struct api_client *c,
    const char *recording_id, struct api_entry *out, struct api_error *err);
enum api_rc api_userrecording_put(struct api_client *c,
    const char *recording_id, const char *json, struct api_entry *out,
    struct api_error *err);
enum api_rc api_userrecording_delete(struct api_client *c,
    const char *recording_id, struct api_error *err); /* 202 = OK */
enum api_rc api_userrecording_media_get(struct api_client *c,
    const char *recording_id, enum api_format format,
    struct api_media *media, struct api_error *err);
enum api_rc api_userrecordings_summary(struct api_client *c,
    struct api_entry *out, struct api_error *err);

/* ------------------------------------------------------------------ */
/* Utilities                                                          */

/* Flatten a JSON object (e.g. a mount's .recfs/status.json) into lines
 * "path\tvalue\n": nested object keys joined with '.', array elements
 * by index ("recent_errors.0.path"), strings unquoted with control
 * characters, tabs and newlines replaced by spaces, numbers as written,
 * true/false/null literally. Pure; thread-safe. Input is capped at
 * 1 MiB and DEC_MAX_DEPTH levels. Returns API_OK and *out (NUL-terminated,
 * caller frees with free()), API_EPROTO (bad JSON, not an object, over a
 * cap) or API_ENOMEM; *out is NULL on failure. */
enum api_rc api_json_flatten(const char *json, size_t len, char **out);

#endif
