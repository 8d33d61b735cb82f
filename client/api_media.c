/* api_media.c - media: resolve (transcode polling, size/ETag probe) and
 * ranged reads from the pre-signed URL (never with the bearer token:
 * api_call_do sends it only to the API origin); and the analytics
 * conversation query. */
#include "client_int.h"
#include "decode.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MEDIA_POLL_FIRST_MS 250
#define MEDIA_POLL_MAX_MS 2000
#define MEDIA_READ_MAX (16u << 20)
/* A streamed read gets the request deadline once per this many bytes
 * asked, as if each were its own request: a run of blocks needs no
 * faster a link than one block does. */
#define MEDIA_DEADLINE_BYTES (2u << 20)

static enum api_rc resolve_once(struct api_client *c,
                                const struct api_media_ref *ref,
                                struct api_media *out, struct api_error *err)
{
    switch (ref->source) {
    case API_MEDIA_RECORDING:
        return api_conversation_recording_get(c, ref->conversation_id,
                                              ref->id, ref->format, NULL,
                                              out, err);
    case API_MEDIA_ORPHAN:
        return api_orphan_media_get(c, ref->id, ref->format, NULL, out, err);
    case API_MEDIA_USER_RECORDING:
        return api_userrecording_media_get(c, ref->id, ref->format, out, err);
    default:
        return api_fail(err, API_EINVAL, "unknown media source");
    }
}

/* An error document where media was expected (a proxy or storage error
 * page answered 200): never taken for the object's bytes. */
static int not_media(const struct http_resp *resp)
{
    return strncasecmp(resp->content_type, "application/json", 16) == 0 ||
           strncasecmp(resp->content_type, "text/html", 9) == 0;
}

/* One ranged GET of the first head_cap bytes (at least 1) for size, ETag
 * and content type (a HEAD may not be covered by the URL's signature);
 * the bytes land in head (*head_len of them), so that a small file's
 * whole content comes with its probe. */
static enum api_rc probe(struct api_client *c, struct api_media *m,
                         void *head, size_t head_cap, size_t *head_len,
                         struct api_error *err)
{
    unsigned char byte = 0;
    char range[48];
    struct api_call call = {.method = "GET", .url = m->url, .media = 1,
                            .range = range, .sink = head ? head : &byte,
                            .sink_cap = head ? head_cap : 1};
    struct http_resp resp = {0};
    uint64_t a = 1, b = 0;
    int64_t total = -1;
    enum api_rc rc;

    snprintf(range, sizeof(range), "0-%zu", call.sink_cap - 1);
    rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK && not_media(&resp))
        rc = api_fail(err, API_EPROTO, "media host sent %s, not media",
                      resp.content_type);
    if (rc == API_OK && resp.status == 206 &&
        api_parse_content_range(resp.content_range, &a, &b, &total) != 0)
        rc = api_fail(err, API_EPROTO, "bad Content-Range from media host");
    if (rc == API_OK && resp.status == 200)
        total = resp.content_length;
    if (rc == API_OK && total >= 0)
        m->size = total;
    if (rc == API_OK && resp.etag[0] && !(m->etag = strdup(resp.etag)))
        rc = api_fail(err, API_ENOMEM, "out of memory");
    if (rc == API_OK && resp.content_type[0] &&
        !(m->content_type = strdup(resp.content_type)))
        rc = api_fail(err, API_ENOMEM, "out of memory");
    /* the head stands for the object's first bytes only when it is the
     * complete 206 answer to our range (never a 200, a truncated body or
     * one that starts elsewhere) */
    if (head_len)
        *head_len = rc == API_OK && resp.status == 206 && a == 0 &&
                            b >= a && resp.len == b - a + 1
                        ? resp.len
                        : 0;
    http_resp_clear(&resp);
    return rc;
}

enum api_rc api_media_resolve_head(struct api_client *c,
                                   const struct api_media_ref *ref,
                                   struct api_media *out, void *head,
                                   size_t head_cap, size_t *head_len,
                                   struct api_error *err)
{
    int64_t deadline = api_now_ms(c) + c->cfg.transcode_timeout_ms;
    long delay = MEDIA_POLL_FIRST_MS;
    enum api_rc rc;

    if (head_len)
        *head_len = 0;
    if (!head || head_cap == 0 || head_cap > MEDIA_READ_MAX)
        head = NULL;
    for (;;) {
        api_error_clear(err);
        rc = resolve_once(c, ref, out, err);
        if (rc != API_ENOTREADY)
            break;
        int64_t left = deadline - api_now_ms(c);
        if (left <= 0 || atomic_load(&c->shutdown))
            break;
        api_sleep_ms(c, delay < left ? delay : (long)left);
        delay = delay * 2 > MEDIA_POLL_MAX_MS ? MEDIA_POLL_MAX_MS : delay * 2;
    }
    if (rc == API_ENOTREADY && err)
        snprintf(err->message, sizeof(err->message),
                 "media still transcoding after %ld ms",
                 c->cfg.transcode_timeout_ms);
    if (rc == API_OK)
        rc = probe(c, out, head, head_cap, head_len, err);
    if (rc != API_OK) {
        api_media_clear(out);
        if (head_len)
            *head_len = 0;
    }
    return rc;
}

enum api_rc api_media_resolve(struct api_client *c,
                              const struct api_media_ref *ref,
                              struct api_media *out, struct api_error *err)
{
    return api_media_resolve_head(c, ref, out, NULL, 0, NULL, err);
}

/* Check a media answer before any of its bytes is used: 206 must start
 * at off; neither the ETag nor the size may have moved. */
static enum api_rc check_head(const struct api_media *m,
                              const struct http_resp *resp, uint64_t off,
                              struct api_error *err)
{
    uint64_t a = 0, b = 0;
    int64_t total = -1;

    if (not_media(resp))
        return api_fail(err, API_EPROTO, "media host sent %s, not media",
                        resp->content_type);
    if (m->etag && resp->etag[0] && strcmp(m->etag, resp->etag) != 0)
        return api_fail(err, API_ECHANGED, "media changed on the server");
    if (resp->status == 206 &&
        (api_parse_content_range(resp->content_range, &a, &b, &total) != 0 ||
         a != off))
        return api_fail(err, API_EPROTO, "media host sent the wrong range");
    /* the object's size is part of its identity, ETag or not */
    if (m->size >= 0 &&
        ((resp->status == 206 && total >= 0 && total != m->size) ||
         (resp->status == 200 && resp->content_length >= 0 &&
          resp->content_length != m->size)))
        return api_fail(err, API_ECHANGED, "media changed on the server");
    if (resp->status != 206 && resp->status != 200)
        return api_fail(err, API_EPROTO, "unexpected media status %ld",
                        resp->status);
    return API_OK;
}

/* A streamed read: [pos, end) still to hand to the sink. */
struct stream {
    const struct api_media *m;
    uint64_t pos, end;
    uint64_t start;     /* first byte the current attempt asks for */
    char range[64];
    api_media_sink_fn sink;
    void *arg;
    enum api_rc refused; /* why an answer's bytes were refused (err set) */
    struct api_error *err;
};

/* Before each attempt: ask only for what the sink has not had, so a
 * retry after a reset or a truncated body resumes where it stopped. */
static void stream_prepare(void *arg, struct http_req *q)
{
    struct stream *s = arg;

    s->start = s->pos < s->end ? s->pos : s->end - 1;
    snprintf(s->range, sizeof(s->range), "%" PRIu64 "-%" PRIu64, s->start,
             s->end - 1);
    q->range = s->range;
    q->skip_if_full = s->start;
    q->sink_cap = (size_t)(s->end - s->pos);
}

static int stream_piece(void *arg, const struct http_resp *resp,
                        const void *data, size_t len)
{
    struct stream *s = arg;

    if (resp->status != 206 && resp->status != 200)
        return 0; /* an error's body: its status speaks (api_call_do) */
    if (resp->len == 0) {
        /* this answer's first bytes: none reaches the sink unless the
         * answer is the one asked for */
        s->refused = check_head(s->m, resp, s->start, s->err);
        if (s->refused != API_OK)
            return 1;
    }
    if (s->sink(s->arg, data, len) != 0)
        return 1;
    s->pos += len;
    return 0;
}

enum api_rc api_media_stream(struct api_client *c, const struct api_media *m,
                             uint64_t off, size_t len, api_media_sink_fn sink,
                             void *arg, size_t *got, struct api_error *err)
{
    struct stream s = {.m = m, .pos = off, .end = off + len, .sink = sink,
                       .arg = arg, .err = err};
    struct api_call call = {.method = "GET", .url = m->url, .media = 1,
                            .if_match = m->etag, .sink_fn = stream_piece,
                            .sink_arg = &s, .prepare = stream_prepare,
                            .prepare_arg = &s};
    struct http_resp resp = {0};
    uint64_t a = 0, b = 0;
    int64_t total = -1;
    enum api_rc rc;

    api_error_clear(err);
    *got = 0;
    if (!m->url)
        return api_fail(err, API_EINVAL, "bad media read");
    if (len == 0 || (m->size >= 0 && off >= (uint64_t)m->size))
        return API_OK;
    call.deadline = api_now_ms(c) +
                    c->cfg.request_timeout_ms *
                        (int64_t)(1 + (len - 1) / MEDIA_DEADLINE_BYTES);
    rc = api_call_do(c, &call, &resp, err);
    if (s.refused != API_OK) {
        rc = s.refused;
    } else if (rc == API_EHTTP && resp.status == 412) {
        api_error_clear(err);
        rc = api_fail(err, API_ECHANGED, "media changed on the server");
    } else if (rc == API_EHTTP && resp.status == 416) {
        api_error_clear(err); /* past the end: nothing (more) to read */
        rc = API_OK;
    } else if (rc == API_OK && resp.len == 0) {
        rc = check_head(m, &resp, s.start, err); /* judged all the same */
    }
    /* a short 206 is legitimate only at the end of the object */
    if (rc == API_OK && resp.status == 206 && s.pos < s.end &&
        (api_parse_content_range(resp.content_range, &a, &b, &total) != 0 ||
         resp.len < b - a + 1))
        rc = api_fail(err, API_EPROTO, "media host sent a short range");
    *got = (size_t)(s.pos - off);
    atomic_fetch_add(&c->st_media_bytes, *got);
    http_resp_clear(&resp);
    return rc;
}

/* api_media_read's sink: the caller's buffer (the stream never hands
 * over more than was asked). */
struct media_buf {
    unsigned char *buf;
    size_t len;
};

static int media_buf_put(void *arg, const void *data, size_t len)
{
    struct media_buf *k = arg;

    memcpy(k->buf + k->len, data, len);
    k->len += len;
    return 0;
}

enum api_rc api_media_read(struct api_client *c, const struct api_media *m,
                           uint64_t off, size_t len, void *buf, size_t *got,
                           struct api_error *err)
{
    struct media_buf k = {.buf = buf};

    api_error_clear(err);
    *got = 0;
    if (len > MEDIA_READ_MAX)
        return api_fail(err, API_EINVAL, "bad media read");
    return api_media_stream(c, m, off, len, media_buf_put, &k, got, err);
}

/* ------------------------------------------------------------------ */
/* Analytics conversation query                                       */

#define P_ANALYTICS "/api/v2/analytics/conversations/details/query"

struct query {
    time_t start, end;
};

struct query_page {
    const struct query *q;
    int page;
};

static enum api_rc query_post(struct api_client *c, void *arg, char **body,
                              size_t *len, struct api_error *err)
{
    const struct query_page *qp = arg;
    char *req = dec_analytics_query(qp->q->start, qp->q->end, API_PAGE_SIZE,
                                    qp->page);
    /* a query is a read: repeating it is safe */
    struct api_call call = {.method = "POST", .path = P_ANALYTICS,
                            .body = req, .idempotent = 1};
    struct http_resp resp = {0};
    enum api_rc rc;

    if (!req)
        return api_fail(err, API_ENOMEM, "out of memory");
    call.body_len = strlen(req);
    rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK) {
        *body = resp.body ? resp.body : strdup("{}");
        *len = resp.body ? resp.len : 2;
        resp.body = NULL;
        if (!*body)
            rc = api_fail(err, API_ENOMEM, "out of memory");
    }
    free(req);
    http_resp_clear(&resp);
    return rc;
}

/* One page through the document cache (keyed by interval and page), so
 * the listing survives an offline restart. */
static enum api_rc query_page(struct api_client *c, void *arg, int page,
                              char **body, size_t *len,
                              struct api_error *err)
{
    struct query_page qp = {.q = arg, .page = page};
    char key[API_PATH_MAX];
    enum api_rc rc;

    rc = api_path(key, sizeof(key), err, P_ANALYTICS "#%lld/%lld/%d",
                  (long long)qp.q->start, (long long)qp.q->end, page);
    if (rc == API_OK)
        rc = api_cached_fetch(c, key, 0, query_post, &qp, body, len, err);
    return rc;
}

static int by_id(const void *a, const void *b)
{
    const struct api_entry *x = a, *y = b;

    return strcmp(x->id, y->id);
}

static int by_start(const void *a, const void *b)
{
    const struct api_entry *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Keep conversations that started in [start, end) (unknown start: kept),
 * once each, ordered by start. */
static void filter_dedup(struct api_list *l, time_t start, time_t end)
{
    size_t w = 0;

    if (l->n == 0)
        return;
    qsort(l->v, l->n, sizeof(l->v[0]), by_id);
    for (size_t i = 0; i < l->n; i++) {
        struct api_entry *e = &l->v[i];
        int dup = w > 0 && strcmp(l->v[w - 1].id, e->id) == 0;
        int out = e->start != 0 && (e->start < start || e->start >= end);
        if (dup || out) {
            api_entry_clear(e);
            continue;
        }
        if (w != i) {
            l->v[w] = *e;
            memset(e, 0, sizeof(*e));
        }
        w++;
    }
    l->n = w;
    qsort(l->v, l->n, sizeof(l->v[0]), by_start);
}

/* Pages beyond the first: from pageCount or totalHits. */
static int query_pages(const struct dec_page *pg)
{
    if (pg->page_count > 0)
        return pg->page_count;
    if (pg->total > 0)
        return (int)((pg->total + API_PAGE_SIZE - 1) / API_PAGE_SIZE);
    return 1;
}

/* Bodies without totalHits (older API): fetch on while pages are full. */
static enum api_rc query_sequential(struct api_client *c, struct query *q,
                                    struct api_list *out,
                                    struct api_error *err)
{
    struct dec_page pg = {.n_entities = API_PAGE_SIZE};
    enum api_rc rc = API_OK;

    for (int page = 2; rc == API_OK && pg.n_entities == API_PAGE_SIZE;
         page++) {
        char *body = NULL;
        size_t len = 0;
        rc = query_page(c, q, page, &body, &len, err);
        if (rc == API_OK)
            rc = dec_list_append(API_KIND_CONVERSATION, body, len, out,
                                 c->cfg.max_entries, &pg, err);
        free(body);
    }
    return rc;
}

enum api_rc api_conversations_query(struct api_client *c, time_t start,
                                    time_t end, struct api_list *out,
                                    struct api_error *err)
{
    struct query q = {.start = start, .end = end};
    struct dec_page pg = {0};
    char *body = NULL;
    size_t len = 0;
    int pages;
    enum api_rc rc;

    api_error_clear(err);
    if (end <= start)
        return api_fail(err, API_EINVAL, "empty interval");
    rc = query_page(c, &q, 1, &body, &len, err);
    if (rc == API_OK)
        rc = dec_list_append(API_KIND_CONVERSATION, body, len, out,
                             c->cfg.max_entries, &pg, err);
    free(body);
    pages = query_pages(&pg);
    if (rc == API_OK &&
        (size_t)pages > c->cfg.max_entries / API_PAGE_SIZE + 1)
        rc = api_fail(err, API_EPROTO, "query has more than %zu entries",
                      c->cfg.max_entries);
    if (rc == API_OK && pages > 1)
        rc = api_append_pages(c, API_KIND_CONVERSATION, query_page, &q, 2,
                              pages, out, err);
    else if (rc == API_OK && pg.total < 0 && pg.page_count <= 0 &&
             pg.n_entities == API_PAGE_SIZE)
        rc = query_sequential(c, &q, out, err);
    if (rc == API_OK)
        filter_dedup(out, start, end);
    else
        api_list_clear(out);
    return rc;
}
