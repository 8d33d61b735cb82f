/* http.c - libcurl behind http.h. The only file including <curl/curl.h>.
 *
 * Easy handles live in a locked pool: an exchange takes one (or makes
 * one), resets it, uses it and puts it back, so a handle is never shared
 * between threads and connections stay warm. All handles share one CURLSH
 * guarded by one mutex per curl_lock_data.
 */
#include "http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_INITIAL_BODY 4096
#define HTTP_SINK_BUFFER (256L << 10) /* receive buffer of media reads */

struct pool_item {
    CURL *easy;
    struct pool_item *next;
};

struct http_ctx {
    struct http_opts opts;
    char *cacert;                   /* owned copy */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;      /* protects pool */
    struct pool_item *pool;
    atomic_int shutdown;
};

/* Per-exchange state seen by the curl callbacks. */
struct xfer {
    const struct http_req *req;
    struct http_resp *resp;
    struct http_ctx *h;
    CURL *easy;
    size_t cap;          /* heap buffer capacity */
    uint64_t skip;       /* bytes still to drop (200 to a ranged GET) */
    int sink_checked;    /* status looked at for skip */
    int sink_full;       /* sink filled: transfer ended on purpose */
    int sink_refused;    /* sink_fn said stop */
    int too_big;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *easy, curl_lock_data data,
                       curl_lock_access access, void *userp)
{
    struct http_ctx *h = userp;

    (void)easy;
    (void)access;
    pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *userp)
{
    struct http_ctx *h = userp;

    (void)easy;
    pthread_mutex_unlock(&h->share_locks[data]);
}

struct http_ctx *http_new(const struct http_opts *opts)
{
    struct http_ctx *h;

    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->opts = *opts;
    if (opts->cacert) {
        h->cacert = strdup(opts->cacert);
        if (!h->cacert)
            goto fail;
    }
    h->share = curl_share_init();
    if (!h->share)
        goto fail;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->share_locks[i], NULL);
    pthread_mutex_init(&h->pool_lock, NULL);
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    return h;
fail:
    free(h->cacert);
    free(h);
    return NULL;
}

void http_free(struct http_ctx *h)
{
    struct pool_item *it;

    if (!h)
        return;
    while (h->pool) {
        it = h->pool;
        h->pool = it->next;
        curl_easy_cleanup(it->easy);
        free(it);
    }
    curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->share_locks[i]);
    pthread_mutex_destroy(&h->pool_lock);
    free(h->cacert);
    free(h);
}

void http_shutdown(struct http_ctx *h)
{
    atomic_store(&h->shutdown, 1);
}

int http_is_shutdown(const struct http_ctx *h)
{
    return atomic_load(&((struct http_ctx *)h)->shutdown);
}

void http_resp_clear(struct http_resp *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    r->retry_after_s = -1;
}

/* Take a pooled handle or make a new one; NULL on ENOMEM. */
static struct pool_item *pool_get(struct http_ctx *h)
{
    struct pool_item *it;

    pthread_mutex_lock(&h->pool_lock);
    it = h->pool;
    if (it)
        h->pool = it->next;
    pthread_mutex_unlock(&h->pool_lock);
    if (it)
        return it;
    it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->easy = curl_easy_init();
    if (!it->easy) {
        free(it);
        return NULL;
    }
    return it;
}

static void pool_put(struct http_ctx *h, struct pool_item *it)
{
    pthread_mutex_lock(&h->pool_lock);
    it->next = h->pool;
    h->pool = it;
    pthread_mutex_unlock(&h->pool_lock);
}

/* Copy a header value (trimmed) into dst. */
static void header_copy(char *dst, size_t n, const char *v, size_t len)
{
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
                   v[len - 1] == ' '))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userp)
{
    struct xfer *x = userp;
    struct http_resp *r = x->resp;
    size_t len = size * nitems;
    char tmp[32];
    static const struct {
        const char *name;
        size_t off, n;
    } want[] = {
        {"etag", offsetof(struct http_resp, etag), 128},
        {"content-type", offsetof(struct http_resp, content_type), 128},
        {"content-range", offsetof(struct http_resp, content_range), 128},
        {"inin-correlation-id", offsetof(struct http_resp, correlation_id),
         64},
    };
    const char *colon = memchr(buf, ':', len);
    size_t nlen;

    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* a new response (redirect, 100-continue): forget old headers */
        r->etag[0] = r->content_type[0] = r->content_range[0] = '\0';
        r->retry_after_s = -1;
        r->content_length = -1;
        return len;
    }
    if (!colon)
        return len;
    nlen = (size_t)(colon - buf);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (nlen == strlen(want[i].name) &&
            strncasecmp(buf, want[i].name, nlen) == 0) {
            header_copy((char *)r + want[i].off, want[i].n, colon + 1,
                        len - nlen - 1);
            return len;
        }
    }
    if ((nlen == 11 && strncasecmp(buf, "retry-after", 11) == 0) ||
        (nlen == 14 && strncasecmp(buf, "content-length", 14) == 0)) {
        header_copy(tmp, sizeof(tmp), colon + 1, len - nlen - 1);
        char *end;
        long long v = strtoll(tmp, &end, 10);
        if (end == tmp || *end || v < 0)
            return len; /* HTTP-date Retry-After: treated as absent */
        if (nlen == 11)
            r->retry_after_s = v > 86400 ? 86400 : (long)v;
        else
            r->content_length = v;
    }
    return len;
}

/* Body into the caller's sink (buffer or sink_fn); with a 200 to a
 * ranged request, drop the first skip_if_full bytes. Returns 0 when the
 * sink is full (this ends the transfer on purpose) or sink_fn refused,
 * else len. */
static size_t sink_write(struct xfer *x, const char *buf, size_t len)
{
    const struct http_req *q = x->req;
    struct http_resp *r = x->resp;
    size_t take, room, put;

    if (!x->sink_checked) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        x->sink_checked = 1;
        r->status = status; /* for sink_fn */
        if (status == 200 && q->range)
            x->skip = q->skip_if_full;
    }
    take = len;
    if (x->skip) {
        size_t n = x->skip < take ? (size_t)x->skip : take;
        x->skip -= n;
        buf += n;
        take -= n;
    }
    room = q->sink_cap - r->len;
    put = take < room ? take : room;
    if (put > 0 && q->sink_fn && q->sink_fn(q->sink_arg, r, buf, put) != 0) {
        x->sink_refused = 1;
        return 0;
    }
    if (put > 0 && !q->sink_fn)
        memcpy((char *)q->sink + r->len, buf, put);
    r->len += put;
    if (take > room) {
        x->sink_full = 1;
        return 0;
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *userp)
{
    struct xfer *x = userp;
    struct http_resp *r = x->resp;
    size_t len = size * nitems;

    if (x->req->sink || x->req->sink_fn)
        return sink_write(x, buf, len);
    if (r->len + len > x->req->max_body) {
        x->too_big = 1;
        return 0;
    }
    if (r->len + len + 1 > x->cap) {
        size_t ncap = x->cap ? x->cap : HTTP_INITIAL_BODY;
        while (ncap < r->len + len + 1)
            ncap *= 2;
        char *nb = realloc(r->body, ncap);
        if (!nb)
            return 0;
        r->body = nb;
        x->cap = ncap;
    }
    memcpy(r->body + r->len, buf, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = userp;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&x->h->shutdown) ? 1 : 0;
}

/* Build the request header list; NULL with *oom set on ENOMEM. */
static struct curl_slist *build_headers(const struct http_req *q, int *oom)
{
    struct curl_slist *l = NULL, *n;
    char line[2048];
    const char *v[4] = {NULL, NULL, NULL, NULL};
    int k = 0;
    char ctype[160], range[96], ifm[160];

    if (q->bearer) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", q->bearer);
        v[k++] = line;
    }
    if (q->content_type) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s", q->content_type);
        v[k++] = ctype;
    }
    if (q->range) {
        snprintf(range, sizeof(range), "Range: bytes=%s", q->range);
        v[k++] = range;
    }
    if (q->if_match) {
        snprintf(ifm, sizeof(ifm), "If-Match: %s", q->if_match);
        v[k++] = ifm;
    }
    n = curl_slist_append(l, "Accept: application/json, */*");
    for (int i = 0; n && i < k; i++) {
        l = n;
        n = curl_slist_append(l, v[i]);
    }
    if (!n) {
        curl_slist_free_all(l);
        *oom = 1;
        return NULL;
    }
    memset(line, 0, sizeof(line)); /* do not leave the token on the stack */
    return n;
}

/* Method, body and per-request options. */
static void set_method(CURL *e, const struct http_req *q)
{
    if (strcmp(q->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return;
    }
    if (strcmp(q->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(q->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->body || strcmp(q->method, "DELETE") != 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(q->body ? q->body_len : 0));
    }
}

static void set_options(struct http_ctx *h, struct xfer *x,
                        struct curl_slist *hdrs, char *errbuf)
{
    const struct http_req *q = x->req;
    CURL *e = x->easy;

    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, q->timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, h->opts.low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->opts.low_speed_time_s);
    curl_easy_setopt(e, CURLOPT_MAXCONNECTS, (long)h->opts.max_connections);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
                     q->follow_redirects && !q->bearer && !q->user ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "recfs/" RECFS_VERSION);
    if (h->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->cacert);
    if (h->opts.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (q->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, q->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, q->password ? q->password : "");
    }
    if ((q->sink || q->sink_fn) && q->sink_cap >= HTTP_SINK_BUFFER)
        /* big media ranges: fewer recv() calls and write callbacks */
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)HTTP_SINK_BUFFER);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    set_method(e, q);
}

static enum http_result classify(struct xfer *x, CURLcode cc)
{
    switch (cc) {
    case CURLE_OK:
        return HTTP_OK;
    case CURLE_WRITE_ERROR:
        if (x->sink_full)
            return HTTP_OK;
        if (x->sink_refused)
            return HTTP_ESINK;
        return x->too_big ? HTTP_ETOOBIG : HTTP_ENOMEM;
    case CURLE_ABORTED_BY_CALLBACK:
        return HTTP_ESHUTDOWN;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return HTTP_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_ETIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return HTTP_ENOMEM;
    default:
        return HTTP_ETRANSPORT;
    }
}

enum http_result http_perform(struct http_ctx *h, const struct http_req *req,
                              struct http_resp *resp)
{
    struct xfer x = {.req = req, .resp = resp, .h = h};
    struct curl_slist *hdrs;
    struct pool_item *it;
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_off_t total_us = 0;
    int oom = 0;
    CURLcode cc;

    memset(resp, 0, sizeof(*resp));
    resp->content_length = -1;
    resp->retry_after_s = -1;
    if (atomic_load(&h->shutdown))
        return HTTP_ESHUTDOWN;
    hdrs = build_headers(req, &oom);
    if (oom)
        return HTTP_ENOMEM;
    it = pool_get(h);
    if (!it) {
        curl_slist_free_all(hdrs);
        return HTTP_ENOMEM;
    }
    x.easy = it->easy;
    curl_easy_reset(x.easy);
    set_options(h, &x, hdrs, errbuf);
    cc = curl_easy_perform(x.easy);
    curl_easy_getinfo(x.easy, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(x.easy, CURLINFO_TOTAL_TIME_T, &total_us);
    /* drop credentials from the pooled handle before anyone reuses it */
    curl_easy_reset(x.easy);
    pool_put(h, it);
    curl_slist_free_all(hdrs);
    resp->elapsed_ms = (long)(total_us / 1000);
    resp->curl_code = (int)cc;
    if (cc != CURLE_OK && !x.sink_full)
        snprintf(resp->errmsg, sizeof(resp->errmsg), "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
    return classify(&x, cc);
}

char *http_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *p = out;

    if (!out)
        return NULL;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') ||
            (*u >= '0' && *u <= '9') || strchr("-._~", *u)) {
            *p++ = (char)*u;
        } else {
            *p++ = '%';
            *p++ = hex[*u >> 4];
            *p++ = hex[*u & 15];
        }
    }
    *p = '\0';
    return out;
}
