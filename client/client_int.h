/* client_int.h - internals shared by the api_*.c files of client/.
 * Not for fs/. Nothing here includes curl or jansson.
 */
#ifndef RECFS_CLIENT_INT_H
#define RECFS_CLIENT_INT_H

#include "api_client.h"
#include "http.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#define API_PAGE_SIZE 100
#define API_PAGE_THREADS 4
#define API_URL_MAX 2048
#define API_PATH_MAX 1024
#define API_BACKOFF_BASE_MS 100
#define API_BACKOFF_CAP_MS 5000

/* API paths (relative to api_url). */
#define API_P_META_LIST "/api/v2/conversations/%s/recordingmetadata"
#define API_P_META API_P_META_LIST "/%s"
#define API_P_ANN "/api/v2/conversations/%s/recordings/%s/annotations/%s"
#define API_P_USERREC "/api/v2/userrecordings"
#define API_P_ORPHANS "/api/v2/orphanrecordings"
#define API_P_POLICIES "/api/v2/recording/mediaretentionpolicies"
#define API_P_LOCALKEY_SETTINGS "/api/v2/recording/localkeys/settings"
#define API_P_KEYS "/api/v2/recording/recordingkeys"
#define API_P_ROTATION "/api/v2/recording/recordingkeys/rotationschedule"
#define API_P_SETTINGS "/api/v2/recording/settings"
#define API_P_SCREEN "/api/v2/recordings/screensessions"
#define API_P_FAX_SUMMARY "/api/v2/userrecordings/summary"

/* Injectable time source (tests). now_ms: monotonic milliseconds.
 * sleep_ms may return early; the client re-checks its deadline. */
struct api_clock {
    int64_t (*now_ms)(void *arg);
    void (*sleep_ms)(void *arg, long ms);
    void *arg;
};

struct api_client {
    /* immutable after api_client_new */
    struct api_config cfg;      /* string members point at the copies */
    char *api_url;              /* no trailing slash */
    char *login_url;            /* no trailing slash */
    char *client_id;
    char *client_secret;
    char *fixed_token;          /* ready token (no renewal possible) */
    char *cacert;
    struct http_ctx *http;
    struct api_clock clock;
    struct cache *cache;        /* borrowed; set once before use */

    /* token state: protected by tok_lock; tok_cond signals the end of a
     * renewal. tok_gen counts renewals so that several callers seeing a
     * 401 for the same token cause one renewal. */
    pthread_mutex_t tok_lock;
    pthread_cond_t tok_cond;
    char *token;
    int64_t tok_renew_at;       /* monotonic ms; 0: renew now */
    uint64_t tok_gen;
    int tok_renewing;

    /* shutdown: wakes sleepers */
    pthread_mutex_t sleep_lock;
    pthread_cond_t sleep_cond;
    atomic_int shutdown;

    /* statistics */
    atomic_uint_fast64_t st_requests, st_retries, st_rate_waits, st_errors,
        st_renewals, st_cache_hits, st_stale, st_media_bytes;
    atomic_int st_offline;
};

/* ---- errors (api_client.c) ---- */

/* Set err (if not NULL and not already set: the first error wins). */
void api_error_set(struct api_error *err, enum api_rc rc, long status,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Return rc after api_error_set(err, rc, 0, ...). */
enum api_rc api_fail(struct api_error *err, enum api_rc rc,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- retry policy (api_client.c; pure) ---- */

struct api_retry_in {
    int idempotent;         /* method may be repeated */
    enum http_result result;
    long status;            /* when result == HTTP_OK */
    long retry_after_s;     /* -1 if absent */
    int attempt;            /* retries already made */
    int max_retries;
    int64_t remaining_ms;   /* until the call's deadline */
    uint32_t rand;          /* jitter source */
};
/* Milliseconds to wait before retrying, or -1 to give up: idempotent
 * requests retry on 429, 5xx except 501, transport errors and timeouts;
 * non-idempotent ones only on 429 and when nothing was sent
 * (HTTP_ECONNECT). Jittered exponential backoff (base 100 ms, cap 5 s);
 * Retry-After is honoured and a wait beyond the deadline gives up. */
long api_retry_delay(const struct api_retry_in *in);

/* Parse "bytes a-b/total" (total may be "*": *total = -1). 0 or -1. */
int api_parse_content_range(const char *s, uint64_t *start, uint64_t *end,
                            int64_t *total);

/* 1 if both absolute URLs have the same scheme, host and port. */
int api_same_origin(const char *a, const char *b);
/* 1 for http(s) URLs whose host is loopback (127/8, ::1, localhost). */
int api_url_is_loopback(const char *url);

/* ---- clock (api_client.c) ---- */
int64_t api_now_ms(struct api_client *c);
/* Sleep up to ms; returns early on shutdown. */
void api_sleep_ms(struct api_client *c, long ms);
/* Tests: replace the clock (NULL restores the real one). */
void api_client_set_clock(struct api_client *c, const struct api_clock *ck);

/* ---- auth (api_client.c) ---- */

/* Copy a valid token (renewing it first if due) into a new string
 * (*token, caller frees) and its generation. */
enum api_rc api_token_get(struct api_client *c, char **token, uint64_t *gen,
                          struct api_error *err);
/* The token of generation gen was refused (401): renew it once. Returns 0
 * if the caller may retry, -1 if no renewal is possible. */
int api_token_invalidate(struct api_client *c, uint64_t gen);

/* ---- requests (api_request.c) ---- */

struct api_call {
    const char *method;
    const char *path;        /* "/api/v2/..." + query, relative to api_url */
    const char *url;         /* absolute URL instead of path (media) */
    const char *body;        /* JSON request body, or NULL */
    size_t body_len;
    int idempotent;          /* -1: by method (GET/HEAD/PUT/DELETE) */
    int media;               /* media deadline; bearer only to API host */
    int login;               /* token request: Basic auth, form body */
    const char *range;       /* "a-b" */
    const char *if_match;
    void *sink;              /* see struct http_req */
    size_t sink_cap;
    uint64_t skip_if_full;
    int (*sink_fn)(void *arg, const struct http_resp *resp, const void *data,
                   size_t len);
    void *sink_arg;
    /* Called before each attempt (the retries too) with the request about
     * to go out, which it may adjust: a streamed read asks only for the
     * bytes its sink has not had yet. May be NULL. */
    void (*prepare)(void *arg, struct http_req *q);
    void *prepare_arg;
    int64_t deadline;        /* absolute api_now_ms(); 0: default */
};

/* One API call with auth, retries, deadline and logging. API_OK for any
 * 2xx/3xx (resp->status tells which); otherwise err is set (API_EHTTP
 * with the decoded ErrorBody, API_ETIMEOUT, API_ETRANSPORT, API_EPROTO
 * for an oversized body, API_ENOMEM). resp is always filled; caller
 * clears it with http_resp_clear(). */
enum api_rc api_call_do(struct api_client *c, const struct api_call *call,
                        struct http_resp *resp, struct api_error *err);

/* snprintf into buf; API_EINVAL if it did not fit. */
enum api_rc api_path(char *buf, size_t n, struct api_error *err,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* API_EINVAL unless each of the n ids (const char *) is api_id_valid
 * (NULL is invalid). */
enum api_rc api_ids_check(struct api_error *err, int n, ...);

/* ---- documents (api_docs.c) ---- */

/* Produce a body (one request, with retries); *body caller frees. */
typedef enum api_rc (*api_fetch_fn)(struct api_client *c, void *arg,
                                    char **body, size_t *len,
                                    struct api_error *err);
/* The document cache around fetch: the copy stored under key_path is
 * served when younger than metadata_ttl (unless bypass); otherwise fetch
 * runs and its body is stored; if it fails at transport, by timeout or
 * with 5xx, an expired copy is served ("may be stale"). */
enum api_rc api_cached_fetch(struct api_client *c, const char *key_path,
                             int bypass, api_fetch_fn fetch, void *arg,
                             char **body, size_t *len, struct api_error *err);
/* GET path (through the document cache unless bypass) -> body. *body
 * caller frees. */
enum api_rc api_get_body(struct api_client *c, const char *path, int bypass,
                         char **body, size_t *len, struct api_error *err);
/* GET path -> one document of kind. */
enum api_rc api_get_entry(struct api_client *c, enum api_kind kind,
                          const char *path, int bypass,
                          struct api_entry *out, struct api_error *err);
/* The page sink of the listing this thread fetches (api_doc_list_stream
 * sets it around the typed listing call; api_get_list takes it). */
struct api_sink {
    api_list_sink_fn fn;
    void *arg;
};
/* Set this thread's sink; returns the previous one. */
struct api_sink api_sink_swap(struct api_sink s);
/* GET every page of a listing: path without paging parameters (may have
 * a query). Pages after the first are fetched concurrently. */
enum api_rc api_get_list(struct api_client *c, enum api_kind kind,
                         const char *path, struct api_list *out,
                         struct api_error *err);
/* Write request (PUT/POST/PATCH/DELETE) with an optional JSON body. If
 * out != NULL the answer is decoded as kind. On success the cached
 * listing list_path (all its pages) is dropped (if not NULL), and the
 * answer is stored under doc_path (dropped instead for DELETE or when
 * out is NULL). */
enum api_rc api_send(struct api_client *c, const char *method,
                     const char *path, const char *body, enum api_kind kind,
                     struct api_entry *out, const char *doc_path,
                     const char *list_path, struct api_error *err);
/* Drop a listing from the cache: the key of path and of all its pages. */
void api_cache_drop_list(struct api_client *c, const char *path);
/* GET an unpaged listing (bare array or {entities}) through the cache. */
enum api_rc api_get_unpaged(struct api_client *c, enum api_kind kind,
                            const char *path, struct api_list *out,
                            struct api_error *err);
/* Fetch one page (1-based) of some listing into *body (caller frees). */
typedef enum api_rc (*api_page_fetch_fn)(struct api_client *c, void *arg,
                                         int page, char **body, size_t *len,
                                         struct api_error *err);
/* Fetch pages first..last concurrently (up to API_PAGE_THREADS threads);
 * bodies[i]/lens[i] hold page first + i (caller frees each). The bytes of
 * all pages together are capped by max_body_bytes (API_EPROTO). */
enum api_rc api_pages_fetch(struct api_client *c, api_page_fetch_fn fetch,
                            void *arg, int first, int last, char **bodies,
                            size_t *lens, struct api_error *err);
/* api_pages_fetch, then dec_list_append of every page in order. */
enum api_rc api_append_pages(struct api_client *c, enum api_kind kind,
                             api_page_fetch_fn fetch, void *arg, int first,
                             int last, struct api_list *out,
                             struct api_error *err);

/* A GET that may answer 202 (transcoding -> API_ENOTREADY); on 200 the
 * entry (if out) and the media location (if media) are decoded. */
enum api_rc api_media_get(struct api_client *c, const char *path,
                          enum api_kind kind, struct api_entry *out,
                          struct api_media *media, struct api_error *err);

/* Typed helpers on "<base>/<id>" documents of collection base. */
enum api_rc api_get_by_id(struct api_client *c, enum api_kind kind,
                          const char *base, const char *id, int bypass,
                          struct api_entry *out, struct api_error *err);
/* PUT/PATCH/DELETE base/id; out may be NULL (answer still cached). */
enum api_rc api_send_by_id(struct api_client *c, const char *method,
                           enum api_kind kind, const char *base,
                           const char *id, const char *json,
                           struct api_entry *out, struct api_error *err);
/* POST json to base (a collection); the collection's cache is dropped. */
enum api_rc api_create_in(struct api_client *c, enum api_kind kind,
                          const char *base, const char *json,
                          struct api_entry *out, struct api_error *err);

/* Drop cached documents: the key for path, or all keys starting with it. */
void api_cache_drop(struct api_client *c, const char *path, int prefix);

/* Test hook (NULL in production): called by a GET that is about to store
 * its answer in the document cache, after it saw no write since it
 * started and before it stores; a test makes a write land exactly there. */
extern void (*api_before_store_hook)(struct api_client *c,
                                     const char *key_path);

#endif
