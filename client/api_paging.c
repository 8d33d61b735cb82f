/* api_paging.c - all pages of a listing: page 1 first (it tells the page
 * count), then pages 2..N fetched by up to API_PAGE_THREADS threads at
 * once, appended in page order. Caps: max_entries (via dec_list_append)
 * and max_body_bytes over all pages held at once. */
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
    atomic_int next;            /* next page to take */
    atomic_size_t bytes;        /* total held */
    atomic_int failed;
    pthread_mutex_t lock;       /* protects err */
    struct api_error err;       /* first failure */
};

static void pager_fail(struct pager *p, const struct api_error *e)
{
    pthread_mutex_lock(&p->lock);
    if (p->err.rc == API_OK)
        p->err = *e;
    pthread_mutex_unlock(&p->lock);
    atomic_store(&p->failed, 1);
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

enum api_rc api_pages_fetch(struct api_client *c, api_page_fetch_fn fetch,
                            void *arg, int first, int last, char **bodies,
                            size_t *lens, struct api_error *err)
{
    struct pager p = {.c = c, .fetch = fetch, .arg = arg, .first = first,
                      .last = last, .bodies = bodies, .lens = lens};
    enum api_rc rc = API_OK;

    if (last < first)
        return API_OK;
    atomic_init(&p.next, first);
    atomic_init(&p.bytes, 0);
    atomic_init(&p.failed, 0);
    pthread_mutex_init(&p.lock, NULL);
    pager_run(&p);
    pthread_mutex_destroy(&p.lock);
    if (p.err.rc != API_OK) {
        rc = p.err.rc;
        if (err && err->rc == API_OK)
            *err = p.err;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* GET listings                                                       */

struct get_pages {
    const char *path;
    char sep;
};

static enum api_rc get_page(struct api_client *c, void *arg, int page,
                            char **body, size_t *len, struct api_error *err)
{
    struct get_pages *g = arg;
    char path[API_PATH_MAX];
    enum api_rc rc;

    rc = api_path(path, sizeof(path), err, "%s%cpageSize=%d&pageNumber=%d",
                  g->path, g->sep, API_PAGE_SIZE, page);
    if (rc == API_OK)
        rc = api_get_body(c, path, 0, body, len, err);
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

enum api_rc api_append_pages(struct api_client *c, enum api_kind kind,
                             api_page_fetch_fn fetch, void *arg, int first,
                             int last, struct api_list *out,
                             struct api_error *err)
{
    char **bodies = NULL;
    size_t *lens = NULL, n;
    struct dec_page pg;
    enum api_rc rc;

    if (last < first)
        return API_OK;
    n = (size_t)last - (size_t)first + 1;
    bodies = calloc(n, sizeof(*bodies));
    lens = calloc(n, sizeof(*lens));
    if (!bodies || !lens) {
        rc = api_fail(err, API_ENOMEM, "out of memory");
        goto out;
    }
    rc = api_pages_fetch(c, fetch, arg, first, last, bodies, lens, err);
    for (size_t i = 0; rc == API_OK && i < n; i++)
        rc = dec_list_append(kind, bodies[i], lens[i], out,
                             c->cfg.max_entries, &pg, err);
out:
    for (size_t i = 0; bodies && i < n; i++)
        free(bodies[i]);
    free(bodies);
    free(lens);
    return rc;
}

enum api_rc api_get_list(struct api_client *c, enum api_kind kind,
                         const char *path, struct api_list *out,
                         struct api_error *err)
{
    struct get_pages g = {.path = path, .sep = strchr(path, '?') ? '&' : '?'};
    struct dec_page pg = {0};
    char *body = NULL;
    size_t len = 0;
    int pages = 1;
    enum api_rc rc;

    rc = get_page(c, &g, 1, &body, &len, err);
    if (rc == API_OK)
        rc = dec_list_append(kind, body, len, out, c->cfg.max_entries, &pg,
                             err);
    free(body);
    if (rc == API_OK)
        rc = pages_total(c, &pg, &pages, err);
    if (rc == API_OK && pages > 1)
        rc = api_append_pages(c, kind, get_page, &g, 2, pages, out, err);
    if (rc != API_OK)
        api_list_clear(out);
    return rc;
}
