/* fs_dirstream.c - directory streams for readdir.
 *
 * A fresh listing is served from one snapshot. A large listing being
 * fetched (userrecordings/, orphanrecordings/: 100 pages for 10,000
 * recordings) is served as its pages arrive: the first entries reach
 * the kernel after one page, and `ls`, `find` or `cp -r` work on them
 * while later pages are still on the way. After the last page the
 * fill publishes what it adds after its pages (summary.json, local
 * files), and the stream ends there, while the fill still stores and
 * applies the listing. A fill that could not publish everything ends
 * the stream when it ends: the rest comes from the listing the table
 * then holds, each name once and at a stable index, so offsets stay
 * valid across readdir calls.
 */
#include "fs_nodes_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct fs_dirstream {
    struct fs_ctx *ctx;
    char path[PATH_MAX];
    struct fs_dirent *v; /* entries known so far, by index */
    size_t n, cap;
    struct fill_wait *w; /* the streamed fill; NULL when final */
    int final;           /* v is the whole directory */
};

int fs_dirstream_open(struct fs_ctx *ctx, const char *path,
                      struct fs_dirstream **out)
{
    struct fs_dirstream *ds = calloc(1, sizeof *ds);
    int rc = 0;

    *out = NULL;
    if (!ds)
        return -ENOMEM;
    ds->ctx = ctx;
    if (strlen(path) >= sizeof ds->path) {
        free(ds);
        return -ENAMETOOLONG;
    }
    strcpy(ds->path, path);
    ds->w = fs_fill_stream(ctx, path, &rc);
    if (!rc && !ds->w) {
        rc = fs_dir_entries(ctx, path, &ds->v, &ds->n);
        ds->cap = ds->n;
        ds->final = 1;
    }
    if (rc) {
        fs_dirstream_close(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

/* Append v[0..n) (taken over; v freed). */
static int take(struct fs_dirstream *ds, struct fs_dirent *v, size_t n)
{
    if (fs_dirents_reserve(&ds->v, &ds->cap, ds->n + n)) {
        fs_dirents_free(v, n);
        return -ENOMEM;
    }
    memcpy(ds->v + ds->n, v, n * sizeof *v);
    ds->n += n;
    free(v);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fill ended well: add what the final listing has beyond the
 * entries already given (normally the listing starts with exactly them;
 * if it does not, e.g. a stale copy served after a failed page, the
 * names not given yet are added, each once). */
static int finish(struct fs_dirstream *ds)
{
    struct fs_dirent *s = NULL;
    size_t ns = 0, k = 0, keep = 0;
    char **sorted = NULL;
    int rc = fs_dir_entries_held(ds->ctx, ds->path, &s, &ns);

    if (rc)
        return rc;
    while (k < ds->n && k < ns && !strcmp(ds->v[k].name, s[k].name))
        k++;
    if (k < ds->n) { /* not a prefix: drop the names already given */
        sorted = malloc((ds->n + 1) * sizeof *sorted);
        if (!sorted) {
            fs_dirents_free(s, ns);
            return -ENOMEM;
        }
        for (size_t i = 0; i < ds->n; i++)
            sorted[i] = ds->v[i].name;
        qsort(sorted, ds->n, sizeof *sorted, by_name);
        k = 0;
    }
    for (size_t i = 0; i < k; i++) /* given already */
        free(s[i].name);
    for (size_t i = k; i < ns; i++) {
        if (sorted && bsearch(&s[i].name, sorted, ds->n, sizeof *sorted,
                              by_name)) {
            free(s[i].name);
            continue;
        }
        s[keep++] = s[i];
    }
    free(sorted);
    if (keep == 0)
        free(s);
    else
        rc = take(ds, s, keep);
    if (!rc) {
        fs_fill_put(ds->w);
        ds->w = NULL;
        ds->final = 1;
    }
    return rc;
}

int fs_dirstream_get(struct fs_dirstream *ds, size_t i, int wait,
                     const struct fs_dirent **e)
{
    while (i >= ds->n) {
        struct fs_dirent *v;
        size_t n;
        int done, rc;

        if (ds->final)
            return 0;
        rc = fs_fill_pull(ds->w, ds->n, wait, &v, &n, &done);
        if (n && take(ds, v, n))
            return -ENOMEM;
        if (rc)
            return rc;
        if (done == 2) { /* the stream was the whole directory */
            fs_fill_put(ds->w);
            ds->w = NULL;
            ds->final = 1;
        } else if (done) {
            rc = finish(ds);
            if (rc)
                return rc;
        } else if (!n && !wait) {
            return -EAGAIN;
        }
    }
    *e = &ds->v[i];
    return 1;
}

void fs_dirstream_close(struct fs_dirstream *ds)
{
    if (!ds)
        return;
    fs_fill_put(ds->w);
    fs_dirents_free(ds->v, ds->n);
    free(ds);
}
