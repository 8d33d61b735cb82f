/* api_paging.c - all pages of a listing: page 1 first (it tells the page
 * count), then pages 2..N fetched and decoded by up to API_PAGE_THREADS
 * threads at once, appended in page order. Caps: max_entries (via
 * dec_list_append and when appending) and max_body_bytes over all pages
 * held at once. A sink (api_doc_list_stream) is told of each page as
 * soon as it and all pages before it are decoded.
 *
 * A GET listing is one document of the document cache: its pages joined
 * into one JSON array "[page1,page2,...]" under the key of the listing
 * with "pageSize=100&pages" (one file per listing, not per page: creating
 * 100 files cost more CPU than decoding 10,000 entries). */
#include "client_int.h"
#include "decode.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pager {
    struct api_client *c;
    api_page_fetch_fn fetch;
    void *arg;
    int first, last;            /* pages to fetch */
    char **bodies;              /* [last - first + 1] */
    size_t *lens;
    struct api_list *lists;     /* decode mode: page i decoded here, its
                                   body freed at once (unless keep); else
                                   NULL */
    int keep;                   /* decode mode: keep the bodies */
    enum api_kind kind;
    struct api_sink sink;       /* decode mode: told of each page in
                                   order (api_list_sink_fn) */
    unsigned char *decoded;     /* with a sink: page i is decoded */
    size_t emitted;             /* with a sink: pages told, under lock */
    size_t told;                /* with a sink: entries told (the first
                                   page's too), under lock */
    atomic_int next;            /* next page to take */
    atomic_size_t bytes;        /* total held */
    atomic_int failed;
    pthread_mutex_t lock;       /* protects err, decoded, emitted */
    struct api_error err;       /* first failure */
};

static _Thread_local struct api_sink cur_sink;

struct api_sink api_sink_swap(struct api_sink s)
{
    struct api_sink old = cur_sink;

    cur_sink = s;
    return old;
}

static void pager_fail(struct pager *p, const struct api_error *e)
{
    pthread_mutex_lock(&p->lock);
    if (p->err.rc == API_OK)
        p->err = *e;
    pthread_mutex_unlock(&p->lock);
    atomic_store(&p->failed, 1);
}

/* Decode mode: page i into lists[i]; its body is freed. */
static enum api_rc pager_decode(struct pager *p, size_t i,
                                struct api_error *e)
{
    struct dec_page pg;
    enum api_rc rc;

    rc = dec_list_append(p->kind, p->bodies[i], p->lens[i], &p->lists[i],
                         p->c->cfg.max_entries, &pg, e);
    if (!p->keep) {
        free(p->bodies[i]);
        p->bodies[i] = NULL;
    }
    return rc;
}

/* Decode mode with a sink: page i is decoded; tell the sink about it
 * and every later page already decoded, unless an earlier page is still
 * missing (pages are told in order, one call at a time). The entry cap
 * holds for what is told: a page that would pass it fails the listing
 * instead (the sink is never told more than the listing may hold). */
static void pager_emit(struct pager *p, size_t i)
{
    size_t n = (size_t)(p->last - p->first) + 1;

    pthread_mutex_lock(&p->lock);
    p->decoded[i] = 1;
    while (p->emitted < n && p->decoded[p->emitted] &&
           !atomic_load(&p->failed)) {
        const struct api_list *l = &p->lists[p->emitted];
        if (p->told + l->n > p->c->cfg.max_entries) {
            if (p->err.rc == API_OK)
                api_error_set(&p->err, API_EPROTO, 0,
                              "listing has more than %zu entries",
                              p->c->cfg.max_entries);
            atomic_store(&p->failed, 1);
            break;
        }
        p->told += l->n;
        p->emitted++;
        p->sink.fn(p->sink.arg, l->v, l->n, p->emitted == n);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *pager_worker(void *arg)
{
    struct pager *p = arg;
    struct api_error e;
    int page;

    while (!atomic_load(&p->failed)) {
        page = atomic_fetch_add(&p->next, 1);
        if (page > p->last)
            break;
        size_t i = (size_t)(page - p->first);
        api_error_clear(&e);
        if (p->fetch(p->c, p->arg, page, &p->bodies[i], &p->lens[i], &e) !=
            API_OK) {
            pager_fail(p, &e);
            break;
        }
        if (atomic_fetch_add(&p->bytes, p->lens[i]) + p->lens[i] >
            p->c->cfg.max_body_bytes) {
            api_error_set(&e, API_EPROTO, 0, "listing larger than %zu bytes",
                          p->c->cfg.max_body_bytes);
            pager_fail(p, &e);
        } else if (p->lists && pager_decode(p, i, &e) != API_OK) {
            pager_fail(p, &e);
        } else if (p->lists && p->decoded) {
            pager_emit(p, i);
        }
    }
    return NULL;
}

/* Run the workers: the caller's thread plus up to API_PAGE_THREADS - 1. */
static void pager_run(struct pager *p)
{
    pthread_t tids[API_PAGE_THREADS];
    int n = p->last - p->first; /* extra threads wanted */
    int started = 0;

    if (n > API_PAGE_THREADS - 1)
        n = API_PAGE_THREADS - 1;
    for (; started < n; started++)
        if (pthread_create(&tids[started], NULL, pager_worker, p) != 0)
            break;
    pager_worker(p);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
}

static enum api_rc pager_go(struct pager *p, struct api_error *err)
{
    enum api_rc rc = API_OK;

    if (p->last < p->first)
        return API_OK;
    atomic_init(&p->next, p->first);
    atomic_init(&p->bytes, 0);
    atomic_init(&p->failed, 0);
    pthread_mutex_init(&p->lock, NULL);
    pager_run(p);
    pthread_mutex_destroy(&p->lock);
    if (p->err.rc != API_OK) {
        rc = p->err.rc;
        if (err && err->rc == API_OK)
            *err = p->err;
    }
    return rc;
}

enum api_rc api_pages_fetch(struct api_client *c, api_page_fetch_fn fetch,
                            void *arg, int first, int last, char **bodies,
                            size_t *lens, struct api_error *err)
{
    struct pager p = {.c = c, .fetch = fetch, .arg = arg, .first = first,
                      .last = last, .bodies = bodies, .lens = lens};

    return pager_go(&p, err);
}

/* ------------------------------------------------------------------ */
/* GET listings                                                       */

struct get_pages {
    const char *path;
    char sep;
};

/* One page, straight from the API (the listing as a whole is cached). */
static enum api_rc get_page(struct api_client *c, void *arg, int page,
                            char **body, size_t *len, struct api_error *err)
{
    struct get_pages *g = arg;
    char path[API_PATH_MAX];
    struct api_call call = {.method = "GET", .path = path};
    struct http_resp resp = {0};
    enum api_rc rc;

    *body = NULL;
    *len = 0;
    rc = api_path(path, sizeof(path), err, "%s%cpageSize=%d&pageNumber=%d",
                  g->path, g->sep, API_PAGE_SIZE, page);
    if (rc == API_OK)
        rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK) {
        *body = resp.body ? resp.body : strdup("");
        *len = resp.body ? resp.len : 0;
        resp.body = NULL;
        if (!*body)
            rc = api_fail(err, API_ENOMEM, "out of memory");
    }
    http_resp_clear(&resp);
    return rc;
}

/* Number of pages the listing claims, capped against max_entries. */
static enum api_rc pages_total(struct api_client *c,
                               const struct dec_page *pg, int *pages,
                               struct api_error *err)
{
    int n = pg->page_count > 0 ? pg->page_count : 1;

    if ((size_t)(n - 1) > c->cfg.max_entries / API_PAGE_SIZE + 1)
        return api_fail(err, API_EPROTO,
                        "listing has more than %zu entries",
                        c->cfg.max_entries);
    *pages = n;
    return API_OK;
}

/* Move the entries of lists[0..n) to the end of out, in order. */
static enum api_rc lists_join(struct api_client *c, struct api_list *lists,
                              size_t n, struct api_list *out,
                              struct api_error *err)
{
    size_t total = out->n;
    struct api_entry *v;

    if (!lists)
        n = 0;
    for (size_t i = 0; i < n; i++)
        total += lists[i].n;
    if (total > c->cfg.max_entries)
        return api_fail(err, API_EPROTO, "listing has more than %zu entries",
                        c->cfg.max_entries);
    v = realloc(out->v, (total ? total : 1) * sizeof(*v));
    if (!v)
        return api_fail(err, API_ENOMEM, "out of memory");
    out->v = v;
    for (size_t i = 0; i < n; i++) {
        if (lists[i].n)
            memcpy(v + out->n, lists[i].v, lists[i].n * sizeof(*v));
        out->n += lists[i].n;
        free(lists[i].v);
        lists[i] = (struct api_list){0};
    }
    return API_OK;
}

/* api_append_pages; keep != NULL: *keep takes the bodies of the pages
 * (caller frees each and the array; NULL on failure). */
static enum api_rc append_pages(struct api_client *c, enum api_kind kind,
                                api_page_fetch_fn fetch, void *arg,
                                int first, int last, struct api_list *out,
                                char ***keep, size_t **keep_lens,
                                struct api_sink sink, struct api_error *err)
{
    struct pager p = {.c = c, .fetch = fetch, .arg = arg, .first = first,
                      .last = last, .kind = kind, .keep = keep != NULL,
                      .sink = sink, .told = out->n};
    size_t n;
    enum api_rc rc;

    if (last < first)
        return API_OK;
    n = (size_t)last - (size_t)first + 1;
    p.bodies = calloc(n, sizeof(*p.bodies));
    p.lens = calloc(n, sizeof(*p.lens));
    p.lists = calloc(n, sizeof(*p.lists));
    if (sink.fn)
        p.decoded = calloc(n, 1);
    if (!p.bodies || !p.lens || !p.lists || (sink.fn && !p.decoded))
        rc = api_fail(err, API_ENOMEM, "out of memory");
    else
        rc = pager_go(&p, err);
    if (rc == API_OK)
        rc = lists_join(c, p.lists, n, out, err);
    if (rc == API_OK && keep) {
        *keep = p.bodies;
        *keep_lens = p.lens;
        p.bodies = NULL;
        p.lens = NULL;
    }
    for (size_t i = 0; p.bodies && p.lists && i < n; i++) {
        free(p.bodies[i]);
        api_list_clear(&p.lists[i]);
    }
    for (size_t i = 0; !p.bodies && p.lists && i < n; i++)
        api_list_clear(&p.lists[i]);
    free(p.bodies);
    free(p.lens);
    free(p.lists);
    free(p.decoded);
    return rc;
}

enum api_rc api_append_pages(struct api_client *c, enum api_kind kind,
                             api_page_fetch_fn fetch, void *arg, int first,
                             int last, struct api_list *out,
                             struct api_error *err)
{
    return append_pages(c, kind, fetch, arg, first, last, out, NULL, NULL,
                        (struct api_sink){0}, err);
}

/* A whole GET listing for api_cached_fetch: fetched and decoded into
 * out, then joined into the document the cache keeps. */
struct list_fetch {
    struct get_pages g;
    enum api_kind kind;
    struct api_list *out;
    struct api_sink sink; /* told of the pages as they come */
    int decoded; /* out holds the listing (else: the cache answered) */
};

/* "[b0,b1,...]" of n bodies; NULL on ENOMEM. */
static char *pages_join(char **bodies, const size_t *lens, size_t n,
                        size_t *len)
{
    size_t total = 2 + n;
    char *s, *w;

    for (size_t i = 0; i < n; i++)
        total += lens[i];
    s = malloc(total);
    if (!s)
        return NULL;
    w = s;
    *w++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        memcpy(w, bodies[i], lens[i]);
        w += lens[i];
    }
    *w++ = ']';
    *len = (size_t)(w - s);
    return s;
}

static enum api_rc fetch_listing(struct api_client *c, void *arg,
                                 char **body, size_t *len,
                                 struct api_error *err)
{
    struct list_fetch *lf = arg;
    struct dec_page pg = {0};
    char **bodies = NULL, *all;
    size_t *lens = NULL, n;
    int pages = 1;
    enum api_rc rc;

    *body = NULL;
    *len = 0;
    api_list_clear(lf->out);
    bodies = calloc(1, sizeof(*bodies));
    lens = calloc(1, sizeof(*lens));
    if (!bodies || !lens) {
        free(bodies);
        free(lens);
        return api_fail(err, API_ENOMEM, "out of memory");
    }
    rc = get_page(c, &lf->g, 1, &bodies[0], &lens[0], err);
    if (rc == API_OK)
        rc = dec_list_append(lf->kind, bodies[0], lens[0], lf->out,
                             c->cfg.max_entries, &pg, err);
    if (rc == API_OK)
        rc = pages_total(c, &pg, &pages, err);
    if (rc == API_OK && lf->sink.fn)
        lf->sink.fn(lf->sink.arg, lf->out->v, lf->out->n, pages == 1);
    if (rc == API_OK && pages > 1) {
        char **more = NULL;
        size_t *more_lens = NULL;
        rc = append_pages(c, lf->kind, get_page, &lf->g, 2, pages, lf->out,
                          &more, &more_lens, lf->sink, err);
        if (rc == API_OK) {
            char **b = realloc(bodies, (size_t)pages * sizeof(*b));
            size_t *l = b ? realloc(lens, (size_t)pages * sizeof(*l)) : NULL;
            if (b)
                bodies = b;
            if (l)
                lens = l;
            if (!b || !l) {
                for (int i = 0; i < pages - 1; i++)
                    free(more[i]);
                pages = 1;
                rc = api_fail(err, API_ENOMEM, "out of memory");
            } else {
                memcpy(bodies + 1, more, (size_t)(pages - 1) * sizeof(*b));
                memcpy(lens + 1, more_lens,
                       (size_t)(pages - 1) * sizeof(*l));
            }
        } else {
            pages = 1;
        }
        free(more);
        free(more_lens);
    }
    n = (size_t)pages;
    all = rc == API_OK ? pages_join(bodies, lens, n, len) : NULL;
    if (rc == API_OK && !all)
        rc = api_fail(err, API_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        free(bodies[i]);
    free(bodies);
    free(lens);
    if (rc != API_OK) {
        api_list_clear(lf->out);
        return rc;
    }
    lf->decoded = 1;
    *body = all;
    return API_OK;
}

/* The pages of a cached listing document "[page,...]": their spans
 * (the document was checked as JSON before it was stored; anything
 * unexpected is API_EPROTO, the pages are decoded with all checks). */
static enum api_rc decode_joined(struct api_client *c, enum api_kind kind,
                                 const char *s, size_t len,
                                 struct api_list *out, struct api_error *err)
{
    const char *p = s, *end = s + len, *start;
    int depth = 0, in_str = 0, pages = 0;
    enum api_rc rc = API_OK;

    while (p < end && strchr(" \t\r\n", *p) && *p)
        p++;
    if (p == end || *p != '[')
        return api_fail(err, API_EPROTO, "cached listing is damaged");
    start = ++p;
    for (; p < end && rc == API_OK; p++) {
        char ch = *p;
        if (in_str) {
            if (ch == '\\')
                p++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            depth++;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        } else if ((ch == ',' || ch == ']') && depth == 0) {
            rc = dec_list_append(kind, start, (size_t)(p - start), out,
                                 c->cfg.max_entries, NULL, err);
            pages++;
            start = p + 1;
            if (ch == ']')
                break;
        }
    }
    if (rc == API_OK && (p >= end || pages == 0))
        rc = api_fail(err, API_EPROTO, "cached listing is damaged");
    return rc;
}

enum api_rc api_get_list(struct api_client *c, enum api_kind kind,
                         const char *path, struct api_list *out,
                         struct api_error *err)
{
    /* the sink is this call's alone: a listing fetched from inside the
     * sink gets none */
    struct api_sink sink = api_sink_swap((struct api_sink){0});
    struct list_fetch lf = {.g = {.path = path,
                                  .sep = strchr(path, '?') ? '&' : '?'},
                            .kind = kind, .out = out, .sink = sink};
    char key[API_PATH_MAX];
    char *body = NULL;
    size_t len = 0;
    enum api_rc rc;

    rc = api_path(key, sizeof(key), err, "%s%cpageSize=%d&pages", path,
                  lf.g.sep, API_PAGE_SIZE);
    if (rc == API_OK)
        rc = api_cached_fetch(c, key, 0, fetch_listing, &lf, &body, &len,
                              err);
    if (rc == API_OK && !lf.decoded) {
        api_list_clear(out);
        rc = decode_joined(c, kind, body, len, out, err);
    }
    free(body);
    if (rc != API_OK)
        api_list_clear(out);
    api_sink_swap(sink);
    return rc;
}
