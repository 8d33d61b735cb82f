/* decode.h - client-internal JSON layer. decode*.c are the only client
 * files that include <jansson.h>; json_t never leaves them.
 *
 * All functions are pure (no I/O, no globals) and thread-safe. Inputs are
 * untrusted: size- and depth-capped (DEC_MAX_DEPTH), malformed input is an
 * error (API_EPROTO for server bodies, API_EINVAL for user text), never a
 * crash. Out-params follow api_client.h conventions (cleared on failure).
 */
#ifndef RECFS_DECODE_H
#define RECFS_DECODE_H

#include "api_client.h"

#define DEC_MAX_DEPTH 64

/* One document of `kind` (server body) -> entry: C fields + pretty JSON
 * with volatile fields removed (mediaUris, contentLocationUri, any
 * pre-signed URL). Ids are checked with api_id_valid (bad id: API_EPROTO).
 */
enum api_rc dec_entry(enum api_kind kind, const char *body, size_t len,
                      struct api_entry *out, struct api_error *err);

/* Paging information of one listing page. */
struct dec_page {
    int page_count;   /* pageCount, or 1 for unpaged bodies, 0 if absent */
    int64_t total;    /* total / totalHits, -1 if absent */
    int page_number;  /* pageNumber, 0 if absent */
    size_t n_entities;/* entities on this page */
};

/* The pretty document of raw (an entity of a listing): what dec_entry
 * would give as json. *json caller frees. */
enum api_rc dec_render(const char *raw, size_t raw_len, char **json,
                       size_t *json_len, struct api_error *err);

/* 1 if body is JSON that dec_load accepts (an object or array, not too
 * deep): what may be stored in the document cache. */
int dec_body_valid(const char *body, size_t len);

/* Append the entries of one listing page to out (their raw set, json
 * NULL: see api_entry.raw). Accepts a paging
 * envelope ({"entities":[...], "pageCount":..}), a bare JSON array, the
 * LocalEncryptionConfigurationListing ({total, entities, selfUri}) and
 * the analytics response ({"conversations":[...], "totalHits":N}; missing
 * "conversations" = empty page; kind API_KIND_CONVERSATION). Fails with
 * API_EPROTO when out would exceed max_entries. Entities with an invalid
 * id are skipped with a warning (never become file names). */
enum api_rc dec_list_append(enum api_kind kind, const char *body, size_t len,
                            struct api_list *out, size_t max_entries,
                            struct dec_page *page, struct api_error *err);

/* ErrorBody (or OAuth error body) -> err->api_code, message, context_id.
 * Tolerates garbage (leaves the fields as they are). */
void dec_error_body(const char *body, size_t len, struct api_error *err);

/* OAuth token response -> *token (caller frees), *expires_in seconds. */
enum api_rc dec_token(const char *body, size_t len, char **token,
                      long *expires_in, struct api_error *err);

/* The media location of a Recording (mediaUris: the entry with the lowest
 * key, e.g. "0") or DownloadResponse (contentLocationUri). *url caller
 * frees; *size = outputSizeInBytes if present and > 0, else -1.
 * API_EPROTO if there is none. */
enum api_rc dec_media_uri(const char *body, size_t len, char **url,
                          int64_t *size, struct api_error *err);

/* The transcript (transcript, else emailTranscript, else
 * messagingTranscript) of a Recording document, pretty-printed like every
 * document. *out caller frees. API_EPROTO when there is none. */
enum api_rc dec_transcript(const char *doc, size_t len, char **out,
                           size_t *out_len, struct api_error *err);

/* Request body of the analytics conversation details query for interval
 * "start/end" (ISO-8601 UTC), paging (page_size, page_number), ordered by
 * conversationStart asc. Caller frees; NULL on ENOMEM. */
char *dec_analytics_query(time_t start, time_t end, int page_size,
                          int page_number);

/* Validate an edit (see api_doc_check_update in api_client.h). On success
 * *body (caller frees, may be NULL when !*changed) is the request body to
 * send: base_json with the writable fields of text applied (for ORPHAN the
 * OrphanUpdateRequest, for SCREEN_SESSION the
 * ScreenRecordingSessionRequest). For a POLICY whose only change is
 * "enabled", *only_enabled = 1 (PATCH allowed); the body is the full merged
 * Policy either way. */
enum api_rc dec_check_update(enum api_kind kind, const char *base_json,
                             const char *text, size_t len, int *changed,
                             char **body, int *only_enabled,
                             struct api_error *err);

/* Validate a create body (see api_doc_create). *body caller frees. */
enum api_rc dec_check_create(enum api_kind kind, const char *text,
                             size_t len, char **body, struct api_error *err);

/* 1 when two documents are equal ignoring volatile fields and key order,
 * 0 when they differ, -1 when either does not parse. */
int dec_same_doc(const char *a, size_t alen, const char *b, size_t blen);

#endif
