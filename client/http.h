/* http.h - the transport seam of the client: one HTTP exchange, no retry,
 * no auth policy, no JSON. http.c is the only file including <curl/curl.h>.
 *
 * Thread-safety: one struct http_ctx serves any number of threads at once.
 * Each exchange borrows a curl easy handle from a locked pool (a handle is
 * never used by two threads at once); all handles share one CURLSH (DNS,
 * TLS sessions, connections).
 */
#ifndef RECFS_HTTP_H
#define RECFS_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http_ctx;

struct http_opts {
    const char *cacert;      /* extra CA bundle, or NULL */
    int insecure;            /* skip TLS verification */
    long connect_timeout_ms;
    long low_speed_limit;    /* bytes/s */
    long low_speed_time_s;
    int max_connections;     /* per host */
};

/* Create the transport (curl_global_init is done once, thread-safely).
 * Returns NULL on ENOMEM. Caller frees with http_free(). */
struct http_ctx *http_new(const struct http_opts *opts);
/* Frees every pooled handle. No exchange may be running. */
void http_free(struct http_ctx *h);
/* Abort every running exchange and make later ones fail at once with
 * HTTP_ESHUTDOWN. Async-signal-unsafe but thread-safe. */
void http_shutdown(struct http_ctx *h);
int http_is_shutdown(const struct http_ctx *h);

struct http_resp;

struct http_req {
    const char *method;       /* "GET", "HEAD", "POST", "PUT", ... */
    const char *url;          /* absolute URL */
    const char *bearer;       /* token for "Authorization: Bearer", or
                                 NULL (never set for foreign hosts) */
    const char *user;         /* HTTP Basic user (with password), or NULL */
    const char *password;
    const char *content_type; /* of body, or NULL */
    const char *body;         /* request body, or NULL */
    size_t body_len;
    const char *range;        /* "0-99" -> "Range: bytes=0-99", or NULL */
    const char *if_match;     /* ETag, or NULL */
    int follow_redirects;     /* only for requests without credentials */
    long timeout_ms;          /* overall time for this exchange (> 0) */
    size_t max_body;          /* body cap when buffering (sink == NULL) */
    /* Optional sink: the body is written into sink[0..sink_cap) instead of
     * a heap buffer; bytes beyond sink_cap end the transfer (not an error).
     * When the server answers 200 to a ranged request, the first
     * skip_if_full bytes are dropped first (the slice is taken). */
    void *sink;
    size_t sink_cap;
    uint64_t skip_if_full;
    /* Optional streaming sink, instead of sink (same sink_cap and
     * skip_if_full rules): each piece of the body goes to sink_fn as it
     * arrives, in order, with resp (status and headers complete; resp->len
     * counts the bytes handed over before this piece). A nonzero return
     * ends the transfer with HTTP_ESINK. */
    int (*sink_fn)(void *arg, const struct http_resp *resp, const void *data,
                   size_t len);
    void *sink_arg;
};

enum http_result {
    HTTP_OK = 0,       /* a response was received (any status) */
    HTTP_ENOMEM,
    HTTP_ECONNECT,     /* could not resolve/connect: nothing was sent */
    HTTP_ETRANSPORT,   /* reset, TLS, protocol error, ... */
    HTTP_ETIMEOUT,     /* timeout or low-speed abort */
    HTTP_ETOOBIG,      /* body exceeded max_body */
    HTTP_ESHUTDOWN,    /* http_shutdown() was called */
    HTTP_ESINK,        /* the streaming sink refused the body */
};

struct http_resp {
    long status;            /* 0 if no response */
    char *body;             /* heap, NUL-terminated; caller frees with
                               http_resp_clear(); NULL with a sink */
    size_t len;             /* body bytes (into the sink: bytes stored) */
    int64_t content_length; /* Content-Length header, -1 */
    long retry_after_s;     /* Retry-After seconds, -1 if absent */
    char etag[128];
    char content_type[128];
    char content_range[128];
    char correlation_id[64];
    int curl_code;
    char errmsg[256];       /* curl's error text ("" if none) */
    long elapsed_ms;
};
void http_resp_clear(struct http_resp *r);

/* Perform one exchange. *resp is overwritten (not freed: clear it before
 * reuse) and filled also on failure (curl_code, errmsg, status if any).
 * Never retries. */
enum http_result http_perform(struct http_ctx *h, const struct http_req *req,
                              struct http_resp *resp);

/* Percent-encode s for a query value. Caller frees with free(); NULL on
 * ENOMEM. Pure (no curl handle needed). */
char *http_escape(const char *s);

#endif
