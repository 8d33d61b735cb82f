/* fs_nodes.c - the in-memory node table: what exists, with attributes,
 * listings and documents, each valid for metadata_ttl seconds.
 *
 * Existence is decided by listings: a path exists when its parent's
 * fresh listing names it, with two exceptions that are looked up by id
 * (conversations/<cid>, by-date/<day>) and media names of other formats.
 * The table lock is never held across a client call: fills (fs_fill.c)
 * build their child specs outside the lock and apply them in one locked
 * step (fs_apply).
 */
#include "fs_nodes_int.h"
#include "fs_read.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read-your-writes across a racing listing: a listing fetched while an
 * edit of one of its documents completed may carry the old document; it
 * must not replace what the edit stored. fs_node_put_doc() numbers its
 * stores (recent ones kept in a ring); a fill remembers the number it
 * started at, and apply_kid() keeps documents stored after that. */
#define PUT_RING 32

static struct {
    char *path;
    unsigned long gen;
} put_ring[PUT_RING];             /* protected by ctx->lock */
static unsigned long put_gen;     /* protected by ctx->lock */
static __thread unsigned long fill_start; /* 0: not inside a fill */

/* Lock held. 1 if path's document was stored after the fill began. */
static int put_since_fill(const char *path)
{
    if (!fill_start)
        return 0;
    for (int i = 0; i < PUT_RING; i++)
        if (put_ring[i].path && put_ring[i].gen >= fill_start &&
            !strcmp(put_ring[i].path, path))
            return 1;
    return 0;
}

/* Lock held. 1 if n's document was stored after the data being applied
 * was fetched: it is kept. */
static int doc_kept(const struct fs_node *n, const char *path)
{
    return put_since_fill(path) || (fill_start && n->put_gen >= fill_start);
}

unsigned long fs_fill_gen_swap(unsigned long gen)
{
    unsigned long old = fill_start;

    fill_start = gen;
    return old;
}

/* Lock held. */
static void put_note(const char *path)
{
    int i = (int)(++put_gen % PUT_RING);

    free(put_ring[i].path);
    put_ring[i].path = strdup(path);
    put_ring[i].gen = put_gen;
}

static unsigned hash_path(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % FS_HASH_BUCKETS;
}

struct fs_node *fs_tab_find(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n = ctx->tab[hash_path(path)];

    while (n && strcmp(n->path, path))
        n = n->hnext;
    return n;
}

void fs_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void node_free(struct fs_node *n)
{
    free(n->path);
    free(n->json);
    free(n->raw);
    free(n->link);
    fs_names_free(n->kids, n->nkids);
    free(n->id);
    free(n->conv);
    free(n->media_type);
    free(n->data);
    free(n->err);
    free(n);
}

/* Lock held. Returns the node for path, created empty if absent. */
struct fs_node *fs_tab_get(struct fs_ctx *ctx, const char *path)
{
    unsigned h = hash_path(path);
    struct fs_node *n = fs_tab_find(ctx, path);

    if (n)
        return n;
    n = calloc(1, sizeof *n);
    if (!n || !(n->path = strdup(path))) {
        free(n);
        return NULL;
    }
    n->size = -1;
    n->hnext = ctx->tab[h];
    ctx->tab[h] = n;
    return n;
}

void fs_tab_remove(struct fs_ctx *ctx, const char *path)
{
    struct fs_node **pp = &ctx->tab[hash_path(path)];

    while (*pp && strcmp((*pp)->path, path))
        pp = &(*pp)->hnext;
    if (*pp) {
        struct fs_node *n = *pp;
        *pp = n->hnext;
        node_free(n);
    }
}

int fs_fresh(time_t expires, time_t now)
{
    return expires == 0 || expires > now;
}

time_t fs_ttl_end(struct fs_ctx *ctx)
{
    return time(NULL) + ctx->opts.metadata_ttl;
}

int fs_ctx_init(struct fs_ctx *ctx)
{
    ctx->uid = getuid();
    ctx->gid = getgid();
    ctx->start_time = time(NULL);
    return pthread_mutex_init(&ctx->lock, NULL) ? -ENOMEM : 0;
}

void fs_ctx_destroy(struct fs_ctx *ctx)
{
    fs_fills_drain();
    fs_media_destroy(ctx);
    for (size_t i = 0; i < FS_HASH_BUCKETS; i++) {
        while (ctx->tab[i]) {
            struct fs_node *n = ctx->tab[i];
            ctx->tab[i] = n->hnext;
            node_free(n);
        }
    }
    fs_names_free(ctx->seen_convs, ctx->nseen);
    for (int i = 0; i < PUT_RING; i++) {
        free(put_ring[i].path);
        put_ring[i].path = NULL;
    }
    ctx->seen_convs = NULL;
    ctx->nseen = 0;
    pthread_mutex_destroy(&ctx->lock);
}

int fs_dup_into(char **dst, const char *src)
{
    char *c = NULL;

    if (src && !(c = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

/* Lock held. n takes over the entity text of k. */
static void take_raw(struct fs_node *n, const struct fs_kid *k)
{
    free(n->raw);
    n->raw = *k->raw;
    n->raw_len = k->raw_len;
    *k->raw = NULL;
    n->raw_gen = fill_start ? fill_start : put_gen + 1;
}

/* Lock held. 1 if the recording directory path has children in the
 * table (metadata.json is always one): they must be made again. */
static int has_kid(struct fs_ctx *ctx, const char *path)
{
    char kid[PATH_MAX];

    return !fs_path_join(kid, sizeof kid, path, "metadata.json") &&
           fs_tab_find(ctx, kid);
}

/* Lock held. n's document is fetched again when needed (lazy). */
static void drop_doc(struct fs_node *n)
{
    free(n->json);
    n->json = NULL;
    n->json_len = 0;
    free(n->raw);
    n->raw = NULL;
    n->raw_len = 0;
}

/* Lock held. Apply one child spec under dir. */
static int apply_kid(struct fs_ctx *ctx, const char *dir, const struct fs_kid *k,
                     time_t exp, unsigned gen)
{
    char path[PATH_MAX];
    struct fs_node *n;
    int rc;

    if (fs_path_join(path, sizeof path, dir, k->name))
        return -ENAMETOOLONG;
    n = fs_tab_get(ctx, path);
    if (!n)
        return -ENOMEM;
    n->apply_gen = gen;
    if (n->scratch)
        return 0; /* a local file shadows nothing; keep it */
    n->type = k->type;
    n->mode = k->mode;
    n->mtime = k->mtime;
    n->expires = exp;
    if (k->size >= 0 || !fs_type_is_media(k->type))
        n->size = k->size;
    rc = fs_dup_into(&n->link, k->link);
    if (!k->e && fs_type_is_doc(k->type) && !doc_kept(n, path))
        drop_doc(n);
    if (!rc && k->e) {
        n->kind = k->e->kind;
        rc = fs_dup_into(&n->id, k->e->id);
        if (!rc)
            rc = fs_dup_into(&n->conv, k->conv ? k->conv
                                            : k->e->conversation_id);
        if (!rc)
            rc = fs_dup_into(&n->media_type, k->e->media);
        const char *json = k->json ? k->json : k->e->json;
        size_t len = k->json ? k->json_len : k->e->json_len;
        if (!rc && fs_type_is_doc(k->type) && !doc_kept(n, path)) {
            if (json) {
                rc = fs_dup_into(&n->json, json);
                n->json_len = len;
                n->size = (int64_t)len;
                free(n->raw);
                n->raw = NULL;
            } else if (k->raw && *k->raw) {
                /* rendered when stat'ed or read (exact size then) */
                free(n->json);
                n->json = NULL;
                n->size = -1;
                take_raw(n, k);
            }
        } else if (!rc && S_ISDIR(k->mode) && k->raw && *k->raw) {
            if (k->listed)
                *k->listed = n->kids_expires != 0 || has_kid(ctx, path);
            take_raw(n, k);
        }
    }
    return rc;
}

/* Replace the listing of dir with kids (and their attributes). */
/* Lock held. Names of d's old listing that the pass gen did not list
 * again: the kernel must forget them (fs_inval_entry_queue). */
static void forget_gone(struct fs_ctx *ctx, const char *dir,
                        const struct fs_node *d, unsigned gen)
{
    char path[PATH_MAX];
    struct fs_node *n;

    for (size_t i = 0; i < d->nkids; i++) {
        if (fs_path_join(path, sizeof path, dir, d->kids[i]))
            continue;
        n = fs_tab_find(ctx, path);
        if (!n || n->apply_gen != gen)
            fs_inval_entry_queue(dir, d->kids[i]);
    }
}

int fs_apply(struct fs_ctx *ctx, const char *dir, const struct fs_kid *kids,
                 size_t nk, time_t dir_mtime)
{
    return fs_apply_until(ctx, dir, kids, nk, dir_mtime, fs_ttl_end(ctx));
}

int fs_apply_until(struct fs_ctx *ctx, const char *dir,
                   const struct fs_kid *kids, size_t nk, time_t dir_mtime,
                   time_t exp)
{
    static unsigned apply_gen;
    char **names = calloc(nk + 1, sizeof *names);
    struct fs_node *d;
    unsigned gen;
    int rc = 0;

    if (!names)
        return -ENOMEM;
    pthread_mutex_lock(&ctx->lock);
    d = fs_tab_get(ctx, dir);
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    gen = ++apply_gen;
    for (size_t i = 0; i < nk && !rc; i++) {
        rc = apply_kid(ctx, dir, &kids[i], exp, gen);
        if (!rc && !(names[i] = strdup(kids[i].name)))
            rc = -ENOMEM;
        if (kids[i].mtime > dir_mtime)
            dir_mtime = kids[i].mtime;
    }
    if (rc)
        goto out;
    forget_gone(ctx, dir, d, gen);
    fs_names_free(d->kids, d->nkids);
    d->kids = names;
    d->nkids = nk;
    names = NULL;
    d->kids_expires = exp;
    d->mode = S_IFDIR | 0755;
    if (dir_mtime)
        d->mtime = dir_mtime;
    if (!d->expires || d->expires < exp)
        d->expires = exp;
out:
    pthread_mutex_unlock(&ctx->lock);
    fs_names_free(names, nk);
    return rc;
}

mode_t fs_file_mode(struct fs_ctx *ctx, enum fs_type t)
{
    if (fs_type_is_writable(t) && !ctx->opts.ro)
        return S_IFREG | 0644;
    return S_IFREG | 0444;
}

int fs_fail(struct fs_ctx *ctx, const char *path, const char *what,
            const struct api_error *err)
{
    char msg[FS_ERR_MAX + 64];
    int e = api_error_to_errno(err);

    if (!e)
        e = EIO;
    api_error_str(err, msg, sizeof msg);
    if (e == ENOENT)
        return -e; /* an answer, not an error worth keeping */
    log_warn("%s %s: %s%s%s", what, path, msg,
             err->context_id[0] ? " contextId=" : "", err->context_id);
    fs_node_set_error(ctx, path, msg);
    return -e;
}

/* Lock held. Append name to v (no duplicates). */
void fs_names_add(char ***v, size_t *n, const char *name)
{
    char **nv;

    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], name))
            return;
    nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return;
    *v = nv;
    if ((nv[*n] = strdup(name)))
        (*n)++;
}

/* 1 if path is in the table and fresh; copies attributes if out. */
static int lookup_fresh(struct fs_ctx *ctx, const char *path,
                        struct fs_attr *out)
{
    struct fs_node *n;
    int ok = 0;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_find(ctx, path);
    if (n && n->mode && (n->scratch || fs_fresh(n->expires, time(NULL)))) {
        ok = 1;
        if (out) {
            out->type = n->scratch ? FS_T_OTHER : n->type;
            out->mode = n->mode;
            out->size = n->scratch ? (int64_t)n->data_len : n->size;
            out->mtime = n->mtime;
            out->kind = n->kind;
            out->scratch = n->scratch;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return ok;
}

static int listing_fresh(struct fs_ctx *ctx, const char *dir)
{
    struct fs_node *n;
    int ok;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_find(ctx, dir);
    ok = n && n->kids_expires && fs_fresh(n->kids_expires, time(NULL));
    pthread_mutex_unlock(&ctx->lock);
    return ok;
}

/* Fills in flight, so that concurrent lookups/listings of one directory
 * (two `ls` at once, a readdir racing a lookup) cost one listing: the
 * first caller fetches, the others wait for its outcome.
 *
 * A fill a readdir started (fs_fill_stream) runs on a thread of its own
 * and publishes the entries of each page as it arrives (sv), so that
 * the directory stream can hand them to the kernel while later pages
 * are still on the way (fs_dirstream.c). */
struct fill_wait {
    struct fill_wait *next;
    struct fs_ctx *ctx;
    char path[PATH_MAX];
    pthread_cond_t cv;
    int done, rc, refs;
    int streaming;          /* publishes entries: sv, sn */
    int complete;           /* sv is the whole directory */
    struct fs_dirent *sv;   /* entries published so far, in order */
    size_t sn, scap;
};

static pthread_mutex_t fills_lk = PTHREAD_MUTEX_INITIALIZER;
static struct fill_wait *fills; /* protected by fills_lk */
static int fills_bg;            /* background fills running; fills_lk */
static pthread_cond_t fills_bg_cv = PTHREAD_COND_INITIALIZER;
static __thread struct fill_wait *cur_fill; /* the fill this thread runs */

/* The directory whose listing fs_fill_dir(path) fetches: a recording
 * directory is filled with its parent, unless its listing kept its entry
 * (then it costs no request). */
static void fill_key(struct fs_ctx *ctx, const char *path,
                     const struct fs_path *p, char *key, size_t n)
{
    const struct fs_node *d;
    int kept;

    if (p->type == FS_T_REC || p->type == FS_T_UREC ||
        p->type == FS_T_ORPHAN) {
        pthread_mutex_lock(&ctx->lock);
        d = fs_tab_find(ctx, path);
        kept = d && d->raw;
        pthread_mutex_unlock(&ctx->lock);
        if (!kept) {
            fs_path_parent(path, key, n);
            return;
        }
    }
    snprintf(key, n, "%s", path);
}

/* fills_lk held. Drop one reference of w (the last frees it). */
static void fill_unref(struct fill_wait *w)
{
    if (--w->refs > 0)
        return;
    fs_dirents_free(w->sv, w->sn);
    pthread_cond_destroy(&w->cv);
    free(w);
}

/* fills_lk held. Publish the outcome of w's fill and unlist it. */
static void fill_finish(struct fill_wait *w, int rc)
{
    for (struct fill_wait **pp = &fills; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    w->done = 1;
    w->rc = rc;
    pthread_cond_broadcast(&w->cv);
    fill_unref(w);
}

/* fills_lk held. The fill of key in flight (one more reference), or a
 * new one listed with refs references (*created = 1; NULL on ENOMEM). */
static struct fill_wait *fill_join(struct fs_ctx *ctx, const char *key,
                                   int refs, int *created)
{
    struct fill_wait *w;

    *created = 0;
    for (w = fills; w && (w->ctx != ctx || strcmp(w->path, key));
         w = w->next)
        ;
    if (w) {
        w->refs++;
        return w;
    }
    if ((w = calloc(1, sizeof *w))) {
        w->ctx = ctx;
        snprintf(w->path, sizeof w->path, "%s", key);
        pthread_cond_init(&w->cv, NULL);
        w->refs = refs;
        w->next = fills;
        fills = w;
        *created = 1;
    }
    return w;
}

/* Run the fill of path (w may be NULL: untracked after ENOMEM), publish
 * its outcome and drop the reference the run held on w. */
static int fill_run(struct fs_ctx *ctx, struct fill_wait *w,
                    const char *path, const struct fs_path *p)
{
    struct fill_wait *outer;
    int rc;

    pthread_mutex_lock(&ctx->lock);
    fill_start = put_gen + 1; /* stores numbered above put_gen are newer */
    pthread_mutex_unlock(&ctx->lock);
    outer = cur_fill; /* a fill may run another (a parent's) */
    cur_fill = w;
    rc = fs_fill_dir(ctx, path, p);
    cur_fill = outer;
    fill_start = 0;
    if (w) {
        pthread_mutex_lock(&fills_lk);
        fill_finish(w, rc);
        pthread_mutex_unlock(&fills_lk);
    }
    return rc;
}

static int fill_once(struct fs_ctx *ctx, const char *path,
                     const struct fs_path *p)
{
    char key[PATH_MAX];
    struct fill_wait *w;
    int rc, created;

    fill_key(ctx, path, p, key, sizeof key);
    pthread_mutex_lock(&fills_lk);
    w = fill_join(ctx, key, 1, &created);
    if (w && !created) { /* someone is fetching it: wait for the outcome */
        while (!w->done)
            pthread_cond_wait(&w->cv, &fills_lk);
        rc = w->rc;
        fill_unref(w);
        pthread_mutex_unlock(&fills_lk);
        return rc;
    }
    pthread_mutex_unlock(&fills_lk);
    return fill_run(ctx, w, path, p);
}

/* ------------------------------------------------------------------ */
/* Streamed fills (a readdir shows the pages as they come)            */

static int ensure(struct fs_ctx *ctx, const char *path, struct fs_attr *out);

int fs_dirents_reserve(struct fs_dirent **v, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 256;
    struct fs_dirent *nv;

    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    if (!(nv = realloc(*v, c * sizeof *nv)))
        return -ENOMEM;
    *v = nv;
    *cap = c;
    return 0;
}

struct fill_wait *fs_fill_current(void)
{
    struct fill_wait *w = cur_fill;

    if (w) {
        pthread_mutex_lock(&fills_lk);
        if (!w->streaming)
            w = NULL;
        pthread_mutex_unlock(&fills_lk);
    }
    return w;
}

void fs_fill_publish(struct fill_wait *w, const struct fs_dirent *v,
                     size_t n)
{
    if (!w || n == 0)
        return;
    pthread_mutex_lock(&fills_lk);
    if (!w->streaming)
        goto out;
    if (!v) { /* entries lost: the rest comes with the final listing */
        w->streaming = 0;
        goto out;
    }
    if (fs_dirents_reserve(&w->sv, &w->scap, w->sn + n)) {
        w->streaming = 0; /* the rest comes with the final listing */
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        w->sv[w->sn] = v[i];
        if (!(w->sv[w->sn].name = strdup(v[i].name))) {
            w->streaming = 0;
            break;
        }
        w->sn++;
    }
    pthread_cond_broadcast(&w->cv);
out:
    pthread_mutex_unlock(&fills_lk);
}

struct fill_bg {
    struct fill_wait *w;
    struct fs_path p;
};

static void *fill_bg_main(void *arg)
{
    struct fill_bg *b = arg;
    struct fill_wait *w = b->w;

    (void)fill_run(w->ctx, w, w->path, &b->p); /* drops the run's ref */
    free(b);
    pthread_mutex_lock(&fills_lk);
    if (--fills_bg == 0)
        pthread_cond_broadcast(&fills_bg_cv);
    pthread_mutex_unlock(&fills_lk);
    return NULL;
}

/* Directories whose fill publishes its pages (large paged listings of
 * directories, whose attributes come with the listing). */
static int streamed_type(enum fs_type t)
{
    return t == FS_T_URECS || t == FS_T_ORPHANS;
}

struct fill_wait *fs_fill_stream(struct fs_ctx *ctx, const char *path,
                                 int *rc)
{
    struct fill_wait *w;
    struct fill_bg *b;
    struct fs_path p;
    pthread_t tid;
    pthread_attr_t at;
    int created, started = 0;

    *rc = fs_path_parse(path, &p);
    if (*rc || !streamed_type(p.type))
        return NULL;
    *rc = ensure(ctx, path, NULL); /* the directory itself */
    if (*rc || listing_fresh(ctx, path))
        return NULL;
    if (!(b = calloc(1, sizeof *b)))
        return NULL; /* listed the ordinary way */
    b->p = p;
    pthread_mutex_lock(&fills_lk);
    w = fill_join(ctx, path, 2, &created); /* ours + the thread's */
    if (w && created) {
        w->streaming = 1;
        b->w = w;
        if (pthread_attr_init(&at) == 0) {
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            started = pthread_create(&tid, &at, fill_bg_main, b) == 0;
            pthread_attr_destroy(&at);
        }
        if (started)
            fills_bg++;
    }
    pthread_mutex_unlock(&fills_lk);
    if (w && created && !started) /* no thread: fill here, then serve */
        (void)fill_run(ctx, w, path, &p);
    if (!started)
        free(b);
    return w;
}

int fs_fill_pull(struct fill_wait *w, size_t have, int wait,
                 struct fs_dirent **v, size_t *n, int *done)
{
    int rc = 0;

    *v = NULL;
    *n = 0;
    pthread_mutex_lock(&fills_lk);
    while (wait && !w->done && !w->complete && w->sn <= have)
        pthread_cond_wait(&w->cv, &fills_lk);
    if (w->sn > have) {
        size_t k = w->sn - have;
        *v = calloc(k, sizeof **v);
        for (size_t i = 0; *v && i < k; i++) {
            (*v)[i] = w->sv[have + i];
            if (!((*v)[i].name = strdup(w->sv[have + i].name))) {
                fs_dirents_free(*v, i);
                *v = NULL;
            }
        }
        if (*v)
            *n = k;
        else
            rc = -ENOMEM;
    }
    *done = (w->done || w->complete) && w->sn <= have + *n;
    if (*done && w->complete)
        *done = 2; /* the entries are the listing, whatever came after */
    else if (*done && !rc)
        rc = w->rc;
    pthread_mutex_unlock(&fills_lk);
    return rc;
}

void fs_fill_put(struct fill_wait *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&fills_lk);
    fill_unref(w);
    pthread_mutex_unlock(&fills_lk);
}

void fs_fills_drain(void)
{
    pthread_mutex_lock(&fills_lk);
    while (fills_bg > 0)
        pthread_cond_wait(&fills_bg_cv, &fills_lk);
    pthread_mutex_unlock(&fills_lk);
}

/* A fresh listing of directory path. */
static int ensure_listing(struct fs_ctx *ctx, const char *path)
{
    struct fs_path p;
    int rc;

    if (listing_fresh(ctx, path))
        return 0;
    rc = fs_path_parse(path, &p);
    if (rc)
        return rc;
    if (p.type != FS_T_ROOT && p.type != FS_T_CONV) {
        rc = ensure(ctx, path, NULL);
        if (rc)
            return rc;
        if (listing_fresh(ctx, path))
            return 0; /* filled together with its parent */
    }
    return fill_once(ctx, path, &p);
}

/* Media of another format than the listed one: add the node if the
 * recording has media. */
static int add_other_media(struct fs_ctx *ctx, const char *path,
                           const struct fs_path *p)
{
    char dir[PATH_MAX], listed[PATH_MAX], mname[32];
    struct fs_node *src, *n;
    enum api_format f;
    int rc = -ENOENT;

    if (api_format_from_media_name(p->name, &f) && ctx->opts.format !=
        API_FORMAT_NONE)
        return -ENOENT;
    fs_path_parent(path, dir, sizeof dir);
    fs_path_join(listed, sizeof listed, dir, fs_media_name(ctx, mname,
                                                        sizeof mname));
    pthread_mutex_lock(&ctx->lock);
    src = fs_tab_find(ctx, listed);
    if (src && (n = fs_tab_get(ctx, path))) {
        n->type = p->type;
        n->mode = S_IFREG | 0444;
        n->mtime = src->mtime;
        n->expires = src->expires;
        n->kind = src->kind;
        rc = fs_dup_into(&n->id, src->id);
        if (!rc)
            rc = fs_dup_into(&n->conv, src->conv);
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

static int add_day(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n;
    int rc = -ENOMEM;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_get(ctx, path);
    if (n) {
        n->type = FS_T_DAY;
        n->mode = S_IFDIR | 0755;
        n->expires = fs_ttl_end(ctx);
        rc = 0;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* userrecordings/summary.json is there whatever the listing says: a
 * lookup of it does not fetch the listing (100 pages for 10,000
 * recordings), nor wait for one being fetched (ls -l asks for it right
 * after the listing's last entries, and the fill still stores and
 * applies them). A new or expired node is made fresh with its document
 * to be fetched again (as a listing applies it: apply_kid); the fill
 * applies it again, keeping a document fetched meanwhile (doc_kept).
 * 1 if done. */
static int add_summary(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n;
    int done = 0;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_get(ctx, path);
    if (n && !n->scratch && (!n->mode || n->type == FS_T_UREC_SUMMARY)) {
        n->type = FS_T_UREC_SUMMARY;
        n->mode = fs_file_mode(ctx, FS_T_UREC_SUMMARY);
        n->size = -1;
        n->expires = fs_ttl_end(ctx);
        drop_doc(n);
        done = 1;
    }
    pthread_mutex_unlock(&ctx->lock);
    return done;
}

/* Make sure path exists (fresh); copy attributes to out (may be NULL). */
static int ensure(struct fs_ctx *ctx, const char *path, struct fs_attr *out)
{
    char parent[PATH_MAX];
    struct fs_path p;
    int rc;

    if (lookup_fresh(ctx, path, out))
        return 0;
    rc = fs_path_parse(path, &p);
    if (rc)
        return rc;
    if (p.type == FS_T_ROOT || p.type == FS_T_CONV)
        rc = fill_once(ctx, path, &p);
    else if (p.type == FS_T_DAY)
        rc = add_day(ctx, path);
    else if (p.type == FS_T_UREC_SUMMARY && add_summary(ctx, path))
        rc = 0;
    else if (!fs_path_parent(path, parent, sizeof parent))
        rc = ensure_listing(ctx, parent);
    if (rc)
        return rc;
    if (lookup_fresh(ctx, path, out))
        return 0;
    if (fs_type_is_media(p.type) && !add_other_media(ctx, path, &p) &&
        lookup_fresh(ctx, path, out))
        return 0;
    return -ENOENT;
}

/* Fetch a lazy singleton document (settings, rotation, summary). */
static int fetch_lazy_doc(struct fs_ctx *ctx, const char *path,
                          enum fs_type t)
{
    struct api_ref ref = {API_KIND_SETTINGS, NULL, NULL, NULL};
    struct api_entry e = {0};
    struct api_error err = {0};
    int rc;

    if (t == FS_T_ROTATION)
        ref.kind = API_KIND_ROTATION_SCHEDULE;
    else if (t == FS_T_UREC_SUMMARY)
        ref.kind = API_KIND_FAX_SUMMARY;
    if (api_doc_get(ctx->client, &ref, &e, &err) != API_OK)
        return fs_fail(ctx, path, "get", &err);
    rc = fs_node_put_doc(ctx, path, &e);
    api_entry_clear(&e);
    return rc;
}

/* Lock held. Render the listed entity of document n: its content and
 * exact size from now on. */
static int render_doc(struct fs_node *n)
{
    char *json;
    size_t len;
    enum api_rc rc = api_doc_render(n->raw, n->raw_len, &json, &len);

    if (rc != API_OK)
        return rc == API_ENOMEM ? -ENOMEM : -EIO;
    free(n->json);
    n->json = json;
    n->json_len = len;
    n->size = (int64_t)len;
    free(n->raw);
    n->raw = NULL;
    return 0;
}

/* 1 if path is a document whose content must be fetched (*t its type).
 * One kept from a listing is rendered here (out->size updated). 0 or
 * -errno otherwise. */
static int needs_doc(struct fs_ctx *ctx, const char *path, enum fs_type *t,
                     struct fs_attr *out)
{
    struct fs_node *n;
    int need = 0;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_find(ctx, path);
    if (n && !n->scratch && fs_type_is_doc(n->type) &&
        n->type != FS_T_STATUS && !n->json) {
        if (n->raw) {
            need = render_doc(n);
            if (!need && out)
                out->size = n->size;
        } else {
            need = 1;
            *t = n->type;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return need;
}

int fs_node_attr(struct fs_ctx *ctx, const char *path, struct fs_attr *out)
{
    enum fs_type t;
    int rc = ensure(ctx, path, out);

    if (rc)
        return rc;
    rc = needs_doc(ctx, path, &t, out);
    if (rc < 0)
        return rc;
    if (rc) {
        rc = fetch_lazy_doc(ctx, path, t);
        if (!rc)
            rc = ensure(ctx, path, out) ? -ENOENT : 0;
    }
    return rc;
}

static int scratch_names(struct fs_ctx *ctx, const char *dir, char ***v,
                         size_t *n)
{
    char parent[PATH_MAX];

    for (size_t b = 0; b < FS_HASH_BUCKETS; b++) {
        for (struct fs_node *x = ctx->tab[b]; x; x = x->hnext) {
            char **nv;
            if (!x->scratch || fs_path_parent(x->path, parent,
                                              sizeof parent) ||
                strcmp(parent, dir))
                continue;
            nv = realloc(*v, (*n + 1) * sizeof *nv);
            if (!nv)
                return -ENOMEM;
            *v = nv;
            if (!(nv[*n] = strdup(strrchr(x->path, '/') + 1)))
                return -ENOMEM;
            (*n)++;
        }
    }
    return 0;
}

/* The names of directory path's listing as the table has it. */
static int held_names(struct fs_ctx *ctx, const char *path, char ***names,
                      size_t *n)
{
    struct fs_node *d;
    char **v = NULL;
    size_t nv = 0;
    int rc;

    *names = NULL;
    *n = 0;
    pthread_mutex_lock(&ctx->lock);
    d = fs_tab_find(ctx, path);
    if (!d) {
        rc = -ENOENT;
        goto out;
    }
    v = calloc(d->nkids + 1, sizeof *v);
    rc = v ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < d->nkids; i++, nv++)
        if (!(v[i] = strdup(d->kids[i])))
            rc = -ENOMEM;
    if (!rc)
        rc = scratch_names(ctx, path, &v, &nv);
out:
    pthread_mutex_unlock(&ctx->lock);
    if (rc) {
        fs_names_free(v, nv);
        return rc;
    }
    *names = v;
    *n = nv;
    return 0;
}

int fs_dir_names(struct fs_ctx *ctx, const char *path, char ***names,
                 size_t *n)
{
    int rc = ensure_listing(ctx, path);

    *names = NULL;
    *n = 0;
    return rc ? rc : held_names(ctx, path, names, n);
}

int fs_attr_listed(enum fs_type type, mode_t mode, int64_t size,
                   time_t mtime, enum api_kind kind, struct fs_attr *a)
{
    if ((size < 0 && !S_ISDIR(mode)) || type == FS_T_STATUS)
        return 0;
    *a = (struct fs_attr){type, mode, size, mtime, kind, 0};
    return 1;
}

/* Lock held. Attributes of dir/name for readdirplus; 0 when unknown
 * (lazy size, generated content): the kernel then looks it up. */
static int entry_attr(struct fs_ctx *ctx, const char *dir, const char *name,
                      time_t now, struct fs_attr *a)
{
    char path[PATH_MAX];
    struct fs_node *n;

    if (fs_path_join(path, sizeof path, dir, name))
        return 0;
    n = fs_tab_find(ctx, path);
    if (!n || !n->mode || (!n->scratch && !fs_fresh(n->expires, now)))
        return 0;
    if (n->scratch) {
        *a = (struct fs_attr){FS_T_OTHER, n->mode, (int64_t)n->data_len,
                              n->mtime, n->kind, 1};
        return 1;
    }
    return fs_attr_listed(n->type, n->mode, n->size, n->mtime, n->kind, a);
}

void fs_fill_publish_end(struct fill_wait *w, const char *extra)
{
    struct fs_ctx *ctx;
    char **names = NULL;
    struct fs_dirent *d = NULL;
    size_t nn = 0, nd = 0;
    time_t now = time(NULL);
    int rc;

    if (!w)
        return;
    ctx = w->ctx;
    pthread_mutex_lock(&ctx->lock);
    rc = scratch_names(ctx, w->path, &names, &nn);
    d = rc ? NULL : calloc(nn + 2, sizeof *d);
    if (d && extra && !(d[nd].name = strdup(extra)))
        rc = -ENOMEM;
    else if (d && extra) {
        d[nd].has_attr = entry_attr(ctx, w->path, extra, now, &d[nd].a);
        nd++;
    }
    for (size_t i = 0; d && !rc && i < nn; i++) {
        if (extra && !strcmp(names[i], extra))
            continue;
        d[nd].has_attr = entry_attr(ctx, w->path, names[i], now, &d[nd].a);
        d[nd].name = names[i];
        names[i] = NULL;
        nd++;
    }
    pthread_mutex_unlock(&ctx->lock);
    fs_names_free(names, nn);
    if (!d || rc) { /* the rest comes with the final listing */
        fs_dirents_free(d, nd);
        return;
    }
    fs_fill_publish(w, d, nd);
    pthread_mutex_lock(&fills_lk);
    w->complete = w->streaming; /* else entries are missing from sv */
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&fills_lk);
    fs_dirents_free(d, nd);
}

static int dir_entries(struct fs_ctx *ctx, const char *path, int fetch,
                       struct fs_dirent **out, size_t *n)
{
    char **names = NULL;
    struct fs_dirent *v;
    size_t nn = 0;
    time_t now = time(NULL);
    int rc = fetch ? fs_dir_names(ctx, path, &names, &nn)
                   : held_names(ctx, path, &names, &nn);

    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    v = calloc(nn + 1, sizeof *v);
    if (!v) {
        fs_names_free(names, nn);
        return -ENOMEM;
    }
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < nn; i++) {
        v[i].name = names[i];
        v[i].has_attr = entry_attr(ctx, path, names[i], now, &v[i].a);
    }
    pthread_mutex_unlock(&ctx->lock);
    free(names); /* the strings now belong to v */
    *out = v;
    *n = nn;
    return 0;
}

int fs_dir_entries(struct fs_ctx *ctx, const char *path,
                   struct fs_dirent **out, size_t *n)
{
    return dir_entries(ctx, path, 1, out, n);
}

int fs_dir_entries_held(struct fs_ctx *ctx, const char *path,
                        struct fs_dirent **out, size_t *n)
{
    return dir_entries(ctx, path, 0, out, n);
}

void fs_dirents_free(struct fs_dirent *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
}

int fs_doc_copy(struct fs_ctx *ctx, const char *path, char **json,
                size_t *len)
{
    struct fs_attr a;
    struct fs_node *n;
    int rc = fs_node_attr(ctx, path, &a);

    *json = NULL;
    *len = 0;
    if (rc)
        return rc;
    if (a.type == FS_T_STATUS) {
        *json = fs_status_json(ctx, len);
        return *json ? 0 : -ENOMEM;
    }
    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_find(ctx, path);
    if (!n || !n->json)
        rc = -EIO;
    else if (!(*json = malloc(n->json_len + 1)))
        rc = -ENOMEM;
    else {
        memcpy(*json, n->json, n->json_len + 1);
        *len = n->json_len;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int fs_link_target(struct fs_ctx *ctx, const char *path, char *buf,
                   size_t n)
{
    struct fs_node *x;
    int rc = ensure(ctx, path, NULL);

    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    x = fs_tab_find(ctx, path);
    if (!x || !x->link)
        rc = -EINVAL;
    else
        snprintf(buf, n, "%s", x->link);
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int fs_node_ids(struct fs_ctx *ctx, const char *path, char *id, char *conv,
                size_t n, enum api_kind *kind)
{
    struct fs_node *x;
    int rc = ensure(ctx, path, NULL);

    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    x = fs_tab_find(ctx, path);
    if (!x || x->scratch || !x->id) {
        rc = -ENODATA;
    } else {
        if (id)
            snprintf(id, n, "%s", x->id);
        if (conv)
            snprintf(conv, n, "%s", x->conv ? x->conv : "");
        if (kind)
            *kind = x->kind;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_node_set_error(struct fs_ctx *ctx, const char *path, const char *msg)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = msg ? fs_tab_get(ctx, path) : fs_tab_find(ctx, path);
    if (n)
        fs_dup_into(&n->err, msg);
    pthread_mutex_unlock(&ctx->lock);
}

int fs_node_get_error(struct fs_ctx *ctx, const char *path, char *buf,
                      size_t n)
{
    struct fs_node *x;
    int rc = -ENODATA;

    pthread_mutex_lock(&ctx->lock);
    x = fs_tab_find(ctx, path);
    if (x && x->err) {
        snprintf(buf, n, "%s", x->err);
        rc = 0;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_node_set_size(struct fs_ctx *ctx, const char *path, int64_t size)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_find(ctx, path);
    if (n)
        n->size = size;
    pthread_mutex_unlock(&ctx->lock);
}

int fs_node_put_doc(struct fs_ctx *ctx, const char *path,
                    const struct api_entry *e)
{
    struct fs_path p;
    struct fs_node *n;
    int rc = fs_path_parse(path, &p);

    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_get(ctx, path);
    if (!n) {
        rc = -ENOMEM;
        goto out;
    }
    put_note(path);
    n->put_gen = put_gen;
    n->type = p.type;
    n->mode = fs_file_mode(ctx, p.type);
    n->expires = fs_ttl_end(ctx);
    if (e->mtime)
        n->mtime = e->mtime;
    n->kind = e->kind;
    rc = fs_dup_into(&n->json, e->json ? e->json : "");
    n->json_len = e->json ? e->json_len : 0;
    n->size = (int64_t)n->json_len;
    free(n->raw);
    n->raw = NULL;
    if (!rc && e->id)
        rc = fs_dup_into(&n->id, e->id);
out:
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_node_drop(struct fs_ctx *ctx, const char *path)
{
    pthread_mutex_lock(&ctx->lock);
    fs_tab_remove(ctx, path);
    pthread_mutex_unlock(&ctx->lock);
}

void fs_dir_invalidate(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_find(ctx, path);
    /* the kernel's names stay: the next listing drops those gone
     * (fs_apply), and an edit that removes one says so itself
     * (fs_inval_entry_queue). Dropping them all here would give every
     * name a new inode number under a reader (cp: "replaced while being
     * copied"). */
    if (n)
        n->kids_expires = 1; /* stale, but still a directory */
    pthread_mutex_unlock(&ctx->lock);
}

