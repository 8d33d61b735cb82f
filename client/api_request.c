/* api_request.c - one API call: URL, bearer token (API host only),
 * deadline, retries with backoff, 401 -> one token renewal, logging, and
 * the conversion of the outcome into enum api_rc + struct api_error. */
#include "client_int.h"
#include "decode.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t jitter(void)
{
    static _Thread_local uint32_t s;

    if (s == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)&s ^ 0x9e3779b9u;
        if (s == 0)
            s = 1;
    }
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
}

static int method_idempotent(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
           strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
}

enum api_rc api_path(char *buf, size_t n, struct api_error *err,
                     const char *fmt, ...)
{
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n)
        return api_fail(err, API_EINVAL, "request path too long");
    return API_OK;
}

enum api_rc api_ids_check(struct api_error *err, int n, ...)
{
    va_list ap;
    enum api_rc rc = API_OK;

    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        if (!api_id_valid(va_arg(ap, const char *))) {
            rc = api_fail(err, API_EINVAL, "invalid id");
            break;
        }
    }
    va_end(ap);
    return rc;
}

/* Per-call state of the retry loop. */
struct attempt {
    char url[API_URL_MAX];
    char logurl[256];
    int auth;             /* send the bearer token */
    int idempotent;
    int64_t deadline;
    char *token;
    uint64_t gen;
};

static enum api_rc attempt_init(struct api_client *c,
                                const struct api_call *call,
                                struct attempt *a, struct api_error *err)
{
    int n;

    if (call->login)
        n = snprintf(a->url, sizeof(a->url), "%s/oauth/token", c->login_url);
    else if (call->url)
        n = snprintf(a->url, sizeof(a->url), "%s", call->url);
    else
        n = snprintf(a->url, sizeof(a->url), "%s%s", c->api_url, call->path);
    if (n < 0 || (size_t)n >= sizeof(a->url))
        return api_fail(err, API_EINVAL, "URL too long");
    log_redact_url(call->url ? call->url : a->url + (call->login ? 0 :
                   strlen(c->api_url)), a->logurl, sizeof(a->logurl));
    a->auth = !call->login && api_same_origin(a->url, c->api_url);
    a->idempotent = call->idempotent == 1 || method_idempotent(call->method);
    a->deadline = call->deadline ? call->deadline
                                 : api_now_ms(c) + c->cfg.request_timeout_ms;
    return API_OK;
}

static void fill_req(struct api_client *c, const struct api_call *call,
                     const struct attempt *a, struct http_req *q)
{
    memset(q, 0, sizeof(*q));
    q->method = call->method;
    q->url = a->url;
    q->bearer = a->auth ? a->token : NULL;
    if (call->login) {
        q->user = c->client_id;
        q->password = c->client_secret;
        q->content_type = "application/x-www-form-urlencoded";
    } else if (call->body) {
        q->content_type = "application/json";
    }
    q->body = call->body;
    q->body_len = call->body_len;
    q->range = call->range;
    q->if_match = call->if_match;
    q->follow_redirects = !a->auth && !call->login;
    q->max_body = c->cfg.max_body_bytes;
    q->sink = call->sink;
    q->sink_cap = call->sink_cap;
    q->skip_if_full = call->skip_if_full;
    q->sink_fn = call->sink_fn;
    q->sink_arg = call->sink_arg;
    if (call->prepare)
        call->prepare(call->prepare_arg, q);
}

/* One exchange (token fetched first when needed). */
static enum http_result exchange(struct api_client *c,
                                 const struct api_call *call,
                                 struct attempt *a, struct http_resp *resp,
                                 struct api_error *err, enum api_rc *rc)
{
    struct http_req q;
    enum http_result res;

    *rc = API_OK;
    free(a->token);
    a->token = NULL;
    if (a->auth) {
        *rc = api_token_get(c, &a->token, &a->gen, err);
        if (*rc != API_OK)
            return HTTP_OK;
    }
    fill_req(c, call, a, &q);
    q.timeout_ms = (long)(a->deadline - api_now_ms(c));
    if (q.timeout_ms <= 0) {
        memset(resp, 0, sizeof(*resp));
        return HTTP_ETIMEOUT;
    }
    res = http_perform(c->http, &q, resp);
    if (res != HTTP_ESHUTDOWN)
        atomic_fetch_add(&c->st_requests, 1);
    log_debug("%s %s -> %ld (%ld ms)%s%s", call->method, a->logurl,
              resp->status, resp->elapsed_ms, res == HTTP_OK ? "" : " ",
              res == HTTP_OK ? "" : resp->errmsg);
    return res;
}

static enum api_rc http_failure(struct api_client *c, enum http_result res,
                                const struct http_resp *resp,
                                struct api_error *err)
{
    enum api_rc rc;

    switch (res) {
    case HTTP_ETIMEOUT:
        rc = API_ETIMEOUT;
        break;
    case HTTP_ETOOBIG:
        return api_fail(err, API_EPROTO, "response larger than %zu bytes",
                        c->cfg.max_body_bytes);
    case HTTP_ENOMEM:
        return api_fail(err, API_ENOMEM, "out of memory");
    case HTTP_ESHUTDOWN:
        return api_fail(err, API_ETRANSPORT, "client shut down");
    case HTTP_ESINK:
        return api_fail(err, API_EINVAL, "transfer stopped by the receiver");
    default:
        rc = API_ETRANSPORT;
        break;
    }
    atomic_store(&c->st_offline, 1);
    api_fail(err, rc, "%s", resp->errmsg[0] ? resp->errmsg
                             : rc == API_ETIMEOUT ? "deadline exceeded"
                                                  : "transport error");
    if (err && err->rc == rc)
        err->curl_code = resp->curl_code;
    return rc;
}

static enum api_rc status_failure(const struct http_resp *resp,
                                  struct api_error *err)
{
    if (!err || err->rc != API_OK)
        return API_EHTTP;
    api_error_set(err, API_EHTTP, resp->status, "HTTP %ld", resp->status);
    if (resp->body)
        dec_error_body(resp->body, resp->len, err);
    if (!err->context_id[0])
        snprintf(err->context_id, sizeof(err->context_id), "%s",
                 resp->correlation_id);
    return API_EHTTP;
}

/* Decide about another attempt; sleeps the backoff. 1: retry.
 * A host that refuses connections while the client already knows it is
 * offline is not retried: the caller gets its error (or the cached copy)
 * at once instead of after the whole backoff, and the first attempt of
 * each call still notices when the API is back. */
static int retry_wait(struct api_client *c, const struct api_call *call,
                      struct attempt *a, enum http_result res,
                      const struct http_resp *resp, int attempt,
                      int was_offline)
{
    struct api_retry_in in = {
        .idempotent = a->idempotent,
        .result = res,
        .status = resp->status,
        .retry_after_s = resp->retry_after_s,
        .attempt = attempt,
        .max_retries = c->cfg.max_retries,
        .remaining_ms = a->deadline - api_now_ms(c),
        .rand = jitter(),
    };
    long d = api_retry_delay(&in);

    if (d < 0 || atomic_load(&c->shutdown) ||
        (res == HTTP_ECONNECT && was_offline))
        return 0;
    if (res == HTTP_OK && resp->status == 429)
        atomic_fetch_add(&c->st_rate_waits, 1);
    atomic_fetch_add(&c->st_retries, 1);
    if (res == HTTP_OK)
        log_info("%s %s: HTTP %ld, retry %d/%d in %ld ms", call->method,
                 a->logurl, resp->status, attempt + 1, c->cfg.max_retries, d);
    else
        log_info("%s %s: %s, retry %d/%d in %ld ms", call->method, a->logurl,
                 resp->errmsg[0] ? resp->errmsg : "transport error",
                 attempt + 1, c->cfg.max_retries, d);
    api_sleep_ms(c, d);
    return !atomic_load(&c->shutdown);
}

enum api_rc api_call_do(struct api_client *c, const struct api_call *call,
                        struct http_resp *resp, struct api_error *err)
{
    struct attempt a = {0};
    enum http_result res;
    enum api_rc rc;
    int renewed = 0, was_offline = atomic_load(&c->st_offline);

    memset(resp, 0, sizeof(*resp));
    rc = attempt_init(c, call, &a, err);
    for (int attempt = 0; rc == API_OK;) {
        res = exchange(c, call, &a, resp, err, &rc);
        if (rc != API_OK)
            break;
        if (res == HTTP_OK && resp->status == 401 && a.auth && !renewed &&
            api_token_invalidate(c, a.gen) == 0) {
            renewed = 1;
            http_resp_clear(resp);
            continue;
        }
        if (!retry_wait(c, call, &a, res, resp, attempt, was_offline)) {
            if (res != HTTP_OK)
                rc = http_failure(c, res, resp, err);
            else if (resp->status >= 400 || resp->status < 100)
                rc = status_failure(resp, err);
            else if (!call->media)
                atomic_store(&c->st_offline, 0);
            break;
        }
        attempt++;
        http_resp_clear(resp);
    }
    if (rc != API_OK)
        atomic_fetch_add(&c->st_errors, 1);
    free(a.token);
    return rc;
}
