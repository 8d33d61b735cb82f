/* fs_media.c - media files: resolve (per id+format, until the pre-signed
 * URL expires), then read through the disk cache's block objects.
 *
 * One cache object per (kind, id, format) is shared by every open handle;
 * the entry survives the last close so a later open can tell whether the
 * server version changed (the kernel page cache is then dropped).
 */
#include "fs_int.h"
#include "fs_read.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_KEY_MAX 512
#define FS_URL_SLACK_S 30   /* re-resolve this long before URL expiry */
#define FS_URL_DEFAULT_S 300
/* The resolve probe fetches the first FS_HEAD bytes: the whole of a small
 * recording, kept until its first read (at most FS_HEADS of them held),
 * so that copying many small files costs no block request each. */
#define FS_HEAD (64u << 10)
#define FS_HEADS 16

struct fs_mres {
    struct fs_mres *next;
    char key[FS_KEY_MAX];
    struct api_media m;
    time_t valid_until;
    unsigned char *head; /* first head_len bytes of version m.etag */
    size_t head_len;
};

static int heads_held; /* protected by ctx->lock (one mount a process) */

struct fs_mobj {
    struct fs_mobj *next;
    char key[FS_KEY_MAX];
    char *etag;
    struct cache_obj *obj; /* NULL when no handle has it open */
    int refs;
};

struct mref {
    struct api_media_ref ref;
    struct fs_path p;
    char key[FS_KEY_MAX];
    char path[PATH_MAX];
};

struct fetch_arg {
    struct fs_ctx *ctx;
    struct mref mr;
    pthread_mutex_t lk;
    struct api_media m; /* protected by lk; url NULL: resolve first */
    unsigned char *head; /* the probe's bytes of version m.etag, or NULL */
    size_t head_len;
};

static const char *source_name(enum api_media_source s)
{
    return s == API_MEDIA_ORPHAN          ? "orphan"
           : s == API_MEDIA_USER_RECORDING ? "userrecording"
                                           : "recording";
}

static int mref_from_path(struct fs_ctx *ctx, const char *path,
                          struct mref *mr)
{
    int rc = fs_path_parse(path, &mr->p);

    if (rc)
        return rc;
    snprintf(mr->path, sizeof mr->path, "%s", path);
    memset(&mr->ref, 0, sizeof mr->ref);
    switch (mr->p.type) {
    case FS_T_REC_MEDIA:
        mr->ref.source = API_MEDIA_RECORDING;
        mr->ref.conversation_id = mr->p.conv;
        break;
    case FS_T_UREC_MEDIA: mr->ref.source = API_MEDIA_USER_RECORDING; break;
    case FS_T_ORPHAN_MEDIA: mr->ref.source = API_MEDIA_ORPHAN; break;
    default: return -EINVAL;
    }
    mr->ref.id = mr->p.rec;
    if (api_format_from_media_name(mr->p.name, &mr->ref.format))
        mr->ref.format = API_FORMAT_NONE;
    snprintf(mr->key, sizeof mr->key, "%s/%s/%s/%s",
             api_client_api_url(ctx->client), source_name(mr->ref.source),
             mr->p.rec, api_format_name(mr->ref.format));
    return 0;
}

static int media_copy(struct api_media *dst, const struct api_media *src)
{
    memset(dst, 0, sizeof *dst);
    dst->size = src->size;
    dst->expires = src->expires;
    if ((src->url && !(dst->url = strdup(src->url))) ||
        (src->content_type &&
         !(dst->content_type = strdup(src->content_type))) ||
        (src->etag && !(dst->etag = strdup(src->etag)))) {
        api_media_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

/* Lock held. */
static struct fs_mres *mres_find(struct fs_ctx *ctx, const char *key)
{
    struct fs_mres *r = ctx->mres;

    while (r && strcmp(r->key, key))
        r = r->next;
    return r;
}

static void mres_forget(struct fs_ctx *ctx, const char *key)
{
    struct fs_mres *r;

    pthread_mutex_lock(&ctx->lock);
    r = mres_find(ctx, key);
    if (r)
        r->valid_until = 0;
    pthread_mutex_unlock(&ctx->lock);
}

/* Lock held. Forget r's head bytes. */
static void mres_head_drop(struct fs_mres *r)
{
    if (r->head)
        heads_held--;
    free(r->head);
    r->head = NULL;
    r->head_len = 0;
}

/* Lock held. Keep a copy of the probe's bytes (bounded by FS_HEADS). */
static void mres_head_keep(struct fs_mres *r, const unsigned char *head,
                           size_t len)
{
    mres_head_drop(r);
    if (!head || len == 0 || heads_held >= FS_HEADS ||
        !(r->head = malloc(len)))
        return;
    memcpy(r->head, head, len);
    r->head_len = len;
    heads_held++;
}

/* 1 when a resolve answered another version than the one remembered. */
static int version_moved(const struct api_media *old,
                         const struct api_media *m)
{
    if (old->size >= 0 && m->size >= 0 && old->size != m->size)
        return 1;
    return old->etag && m->etag && strcmp(old->etag, m->etag) != 0;
}

/* Remember the resolve of key; a new server version drops the kernel's
 * cached pages of path (they would otherwise be kept: keep_cache). */
static void mres_store(struct fs_ctx *ctx, const char *key, const char *path,
                       const struct api_media *m, const unsigned char *head,
                       size_t head_len)
{
    time_t now = time(NULL);
    struct fs_mres *r;
    int moved = 0;

    pthread_mutex_lock(&ctx->lock);
    r = mres_find(ctx, key);
    if (r)
        moved = version_moved(&r->m, m);
    if (!r && (r = calloc(1, sizeof *r))) {
        snprintf(r->key, sizeof r->key, "%s", key);
        r->next = ctx->mres;
        ctx->mres = r;
    }
    if (r) {
        api_media_clear(&r->m);
        if (media_copy(&r->m, m))
            r->valid_until = 0;
        else
            r->valid_until = m->expires ? m->expires - FS_URL_SLACK_S
                                        : now + FS_URL_DEFAULT_S;
        /* re-resolving is how a new server version is seen */
        if (r->valid_until > now + ctx->opts.metadata_ttl)
            r->valid_until = now + ctx->opts.metadata_ttl;
        mres_head_keep(r, head, head_len);
    }
    pthread_mutex_unlock(&ctx->lock);
    if (moved) {
        log_info("media %s changed on the server", path);
        fs_inval_queue(path);
    }
}

/* The resolved media of mr (cached until its URL expires). */
static int resolve(struct fs_ctx *ctx, const char *path,
                   const struct mref *mr, struct api_media *out)
{
    struct api_error err = {0};
    unsigned char *head;
    size_t head_len = 0;
    struct fs_mres *r;
    int rc = 1;

    pthread_mutex_lock(&ctx->lock);
    r = mres_find(ctx, mr->key);
    if (r && r->valid_until > time(NULL))
        rc = media_copy(out, &r->m);
    pthread_mutex_unlock(&ctx->lock);
    if (rc <= 0)
        return rc;
    head = malloc(FS_HEAD);
    if (api_media_resolve_head(ctx->client, &mr->ref, out, head,
                               head ? FS_HEAD : 0, &head_len,
                               &err) != API_OK) {
        free(head);
        return fs_fail(ctx, path, "media", &err);
    }
    mres_store(ctx, mr->key, path, out, head, head_len);
    free(head);
    if (out->size >= 0)
        fs_node_set_size(ctx, path, out->size);
    return 0;
}

/* Move the kept head bytes of key's version etag to a (its first read
 * needs no request). */
static void head_take(struct fs_ctx *ctx, const char *key, const char *etag,
                      struct fetch_arg *a)
{
    struct fs_mres *r;

    pthread_mutex_lock(&ctx->lock);
    r = mres_find(ctx, key);
    if (r && r->head && r->m.etag && etag && !strcmp(r->m.etag, etag)) {
        a->head = r->head;
        a->head_len = r->head_len;
        r->head = NULL;
        r->head_len = 0;
        heads_held--;
    }
    pthread_mutex_unlock(&ctx->lock);
}

/* Size from a fresh resolve (memory), else the API; when the API is
 * unreachable, the size the disk cache recorded for the last version. */
int fs_media_size(struct fs_ctx *ctx, const char *path, int64_t *size)
{
    struct api_media m = {0};
    struct fs_mres *r;
    struct mref mr;
    char *ver = NULL;
    uint64_t sz;
    int rc = mref_from_path(ctx, path, &mr);

    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    r = mres_find(ctx, mr.key);
    rc = r && r->valid_until > time(NULL) && r->m.size >= 0 ? 0 : 1;
    if (!rc)
        *size = r->m.size;
    pthread_mutex_unlock(&ctx->lock);
    if (!rc)
        return 0;
    rc = resolve(ctx, path, &mr, &m);
    if (!rc)
        *size = m.size >= 0 ? m.size : 0;
    else if ((rc == -EIO || rc == -ETIMEDOUT) &&
             !cache_obj_lookup(ctx->cache, mr.key, &ver, &sz)) {
        *size = (int64_t)sz;
        rc = 0;
    }
    free(ver);
    api_media_clear(&m);
    return rc;
}

static void fetch_arg_free(void *p)
{
    struct fetch_arg *a = p;

    if (!a)
        return;
    api_media_clear(&a->m);
    pthread_mutex_destroy(&a->lk);
    free(a->head);
    free(a);
}

/* Snapshot the URL to use; resolve first when there is none (offline
 * open) or when `renew` (expired URL). */
static int fetch_media(struct fetch_arg *a, int renew, struct api_media *m)
{
    int rc = 0;

    pthread_mutex_lock(&a->lk);
    if (!a->m.url || renew) {
        struct api_media fresh = {0};
        mres_forget(a->ctx, a->mr.key);
        rc = resolve(a->ctx, a->mr.path, &a->mr, &fresh);
        if (!rc && a->m.etag && fresh.etag && strcmp(a->m.etag, fresh.etag))
            rc = -ESTALE;
        if (!rc) {
            api_media_clear(&a->m);
            a->m = fresh;
        } else {
            api_media_clear(&fresh);
        }
    }
    if (!rc)
        rc = media_copy(m, &a->m);
    pthread_mutex_unlock(&a->lk);
    return rc;
}

/* The cache's sink, remembering its error (the client only says that
 * the receiver stopped the read). */
struct media_sink {
    cache_sink_fn fn;
    void *arg;
    int rc;
};

static int media_sink_put(void *arg, const void *data, size_t len)
{
    struct media_sink *k = arg;

    k->rc = k->fn(k->arg, data, len);
    return k->rc;
}

/* The cache's fetch: [off, off+len) streamed to sink with one request; an
 * expired URL is renewed once and the read goes on after the bytes
 * already handed over. */
static int media_fetch(void *arg, uint64_t off, size_t len,
                       cache_sink_fn sink, void *sink_arg)
{
    struct fetch_arg *a = arg;
    struct media_sink k = {sink, sink_arg, 0};
    struct api_error err = {0};
    struct api_media m = {0};
    enum api_rc arc = API_EHTTP;
    size_t done = 0, got;
    int rc = 0;

    if (a->head && off + len <= a->head_len) /* came with the probe */
        return sink(sink_arg, a->head + off, len);
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = fetch_media(a, attempt > 0, &m);
        if (rc)
            break;
        got = 0;
        arc = api_media_stream(a->ctx->client, &m, off + done, len - done,
                               media_sink_put, &k, &got, &err);
        api_media_clear(&m);
        done += got;
        if (arc == API_OK)
            return 0;
        if (!(arc == API_EHTTP && err.http_status == 403))
            break;
    }
    if (rc)
        return rc;
    if (k.rc)
        return k.rc;
    if (arc == API_ECHANGED) {
        mres_forget(a->ctx, a->mr.key);
        return -ESTALE;
    }
    return -api_error_to_errno(&err) ? -api_error_to_errno(&err) : -EIO;
}

/* Lock held. */
static struct fs_mobj *mobj_find(struct fs_ctx *ctx, const char *key)
{
    struct fs_mobj *o = ctx->mobjs;

    while (o && strcmp(o->key, key))
        o = o->next;
    return o;
}

static struct cache_obj *obj_open(struct fs_ctx *ctx, const struct mref *mr,
                                  const struct api_media *m,
                                  const char *etag, uint64_t size, int *errp)
{
    struct fetch_arg *a = calloc(1, sizeof *a);
    struct cache_source src = {media_fetch, a, fetch_arg_free};

    if (!a) {
        *errp = -ENOMEM;
        return NULL;
    }
    a->ctx = ctx;
    a->mr = *mr;
    a->mr.ref.id = a->mr.p.rec;
    a->mr.ref.conversation_id = a->mr.p.conv;
    pthread_mutex_init(&a->lk, NULL);
    if (m && media_copy(&a->m, m)) {
        fetch_arg_free(a);
        *errp = -ENOMEM;
        return NULL;
    }
    if (!m)
        a->m.etag = etag ? strdup(etag) : NULL;
    else
        head_take(ctx, mr->key, etag, a);
    return cache_obj_open(ctx->cache, mr->key, etag ? etag : "", size, &src,
                          errp);
}

/* The object for (key, etag): shared, opened if needed. Lock NOT held
 * across cache_obj_open. */
static int mobj_get(struct fs_ctx *ctx, const struct mref *mr,
                    const struct api_media *m, const char *etag,
                    uint64_t size, struct fs_mobj **out, int *changed)
{
    struct fs_mobj *o;
    struct cache_obj *obj;
    int rc = 0;

    obj = NULL;
    pthread_mutex_lock(&ctx->lock);
    o = mobj_find(ctx, mr->key);
    *changed = o && o->etag && strcmp(o->etag, etag ? etag : "");
    if (o && o->obj && !*changed) {
        o->refs++;
        *out = o;
        pthread_mutex_unlock(&ctx->lock);
        return 0;
    }
    pthread_mutex_unlock(&ctx->lock);
    obj = obj_open(ctx, mr, m, etag, size, &rc);
    if (!obj)
        return rc ? rc : -ENOMEM;
    pthread_mutex_lock(&ctx->lock);
    o = mobj_find(ctx, mr->key);
    if (o && o->obj && o->refs > 0 && *changed)
        o = NULL; /* old version still open: keep it apart */
    if (!o && (o = calloc(1, sizeof *o))) {
        snprintf(o->key, sizeof o->key, "%s", mr->key);
        o->next = ctx->mobjs;
        ctx->mobjs = o;
    }
    if (!o) {
        rc = -ENOMEM;
    } else if (o->obj && !*changed) {
        o->refs++; /* lost a race: use the winner's object */
    } else {
        o->obj = obj;
        obj = NULL;
        o->refs = 1;
        free(o->etag);
        o->etag = strdup(etag ? etag : "");
    }
    *out = o;
    pthread_mutex_unlock(&ctx->lock);
    if (obj)
        cache_obj_release(obj);
    return rc;
}

int fs_media_open(struct fs_ctx *ctx, const char *path,
                  struct fs_mobj **out, int *changed)
{
    struct api_media m = {0};
    struct mref mr;
    char *ver = NULL;
    uint64_t size;
    int rc = mref_from_path(ctx, path, &mr);

    *out = NULL;
    *changed = 0;
    if (rc)
        return rc;
    rc = resolve(ctx, path, &mr, &m);
    if (!rc) {
        rc = mobj_get(ctx, &mr, &m, m.etag, m.size >= 0 ? (uint64_t)m.size
                                                        : 0, out, changed);
    } else if ((rc == -EIO || rc == -ETIMEDOUT) &&
               !cache_obj_lookup(ctx->cache, mr.key, &ver, &size)) {
        log_warn("media %s: API unreachable, serving the cached copy",
                 path);
        rc = mobj_get(ctx, &mr, NULL, ver, size, out, changed);
        if (!rc)
            fs_node_set_size(ctx, path, (int64_t)size);
    }
    free(ver);
    api_media_clear(&m);
    return rc;
}

struct cache_obj *fs_mobj_obj(struct fs_mobj *m)
{
    return m->obj;
}

void fs_media_hold(struct fs_ctx *ctx, struct fs_mobj *m)
{
    pthread_mutex_lock(&ctx->lock);
    m->refs++;
    pthread_mutex_unlock(&ctx->lock);
}

void fs_media_close(struct fs_ctx *ctx, struct fs_mobj *m)
{
    struct cache_obj *rel = NULL;

    if (!m)
        return;
    pthread_mutex_lock(&ctx->lock);
    if (--m->refs == 0) {
        rel = m->obj;
        m->obj = NULL;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (rel)
        cache_obj_release(rel);
}

uint64_t fs_media_cached(struct fs_ctx *ctx, const char *path)
{
    struct mref mr;

    if (mref_from_path(ctx, path, &mr))
        return 0;
    return cache_cached_bytes(ctx->cache, mr.key);
}

void fs_media_destroy(struct fs_ctx *ctx)
{
    while (ctx->mobjs) {
        struct fs_mobj *o = ctx->mobjs;
        ctx->mobjs = o->next;
        if (o->obj)
            cache_obj_release(o->obj);
        free(o->etag);
        free(o);
    }
    while (ctx->mres) {
        struct fs_mres *r = ctx->mres;
        ctx->mres = r->next;
        api_media_clear(&r->m);
        mres_head_drop(r);
        free(r);
    }
}
