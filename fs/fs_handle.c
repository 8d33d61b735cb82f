/* fs_handle.c - open file handles and the commit-on-flush rules. */
#include "fs_handle.h"
#include "fs_read.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fs_handle *handle_new(enum fs_hkind kind, const char *path)
{
    struct fs_handle *h = calloc(1, sizeof *h);

    if (!h)
        return NULL;
    h->kind = kind;
    snprintf(h->path, sizeof h->path, "%s", path);
    pthread_mutex_init(&h->lk, NULL);
    return h;
}

void fs_handle_free(struct fs_ctx *ctx, struct fs_handle *h)
{
    if (!h)
        return;
    if (h->m)
        fs_media_close(ctx, h->m);
    free(h->buf);
    free(h->base);
    pthread_mutex_destroy(&h->lk);
    free(h);
}

static int reserve(struct fs_handle *h, size_t need)
{
    size_t cap = h->cap ? h->cap : 4096;
    char *nb;

    if (need > FS_DOC_MAX)
        return -EFBIG;
    if (need <= h->cap && h->buf)
        return 0;
    while (cap < need)
        cap *= 2;
    if (cap > FS_DOC_MAX)
        cap = FS_DOC_MAX;
    nb = realloc(h->buf, cap + 1);
    if (!nb)
        return -ENOMEM;
    h->buf = nb;
    h->cap = cap;
    return 0;
}

/* Take ownership of data as the handle content. */
static void set_content(struct fs_handle *h, char *data, size_t len)
{
    free(h->buf);
    h->buf = data;
    h->len = len;
    h->cap = len;
}

static int dup_base(struct fs_handle *h)
{
    free(h->base);
    h->base = malloc(h->len + 1);
    if (!h->base)
        return -ENOMEM;
    if (h->len)
        memcpy(h->base, h->buf, h->len);
    h->base[h->len] = '\0';
    h->base_len = h->len;
    return 0;
}

static int wants_write(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int open_media(struct fs_ctx *ctx, const char *path, int flags,
                      struct fs_handle *h, int *keep_cache)
{
    int changed = 0;
    int rc;

    if (wants_write(flags))
        return ctx->opts.ro ? -EROFS : -EACCES;
    rc = fs_media_open(ctx, path, &h->m, &changed);
    *keep_cache = !changed;
    return rc;
}

static int open_doc(struct fs_ctx *ctx, const char *path, int flags,
                    enum fs_type t, struct fs_handle *h)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (wants_write(flags) && ctx->opts.ro)
        return -EROFS;
    if (wants_write(flags) && !fs_type_is_writable(t))
        return -EACCES;
    rc = fs_doc_copy(ctx, path, &data, &len);
    if (rc)
        return rc;
    set_content(h, data, len);
    rc = dup_base(h);
    if (!rc && (flags & O_TRUNC)) {
        h->len = 0;
        h->truncated = 1;
    }
    return rc;
}

static int open_scratch(struct fs_ctx *ctx, const char *path, int flags,
                        struct fs_handle *h)
{
    char *data = NULL;
    size_t len = 0;
    int rc = fs_scratch_get(ctx, path, &data, &len);

    if (rc)
        return rc;
    set_content(h, data, len);
    if (flags & O_TRUNC) {
        h->len = 0;
        h->wrote = 1;
    }
    return 0;
}

/* An existing scratch file whose name is a document name in a creating
 * directory is a pending new document (an earlier create failed). */
static enum fs_hkind scratch_kind(const char *path)
{
    struct fs_path p;

    if (fs_path_parse(path, &p))
        return FS_H_SCRATCH;
    return fs_name_is_scratch(p.dir, p.name) ? FS_H_SCRATCH : FS_H_NEWDOC;
}

int fs_handle_open(struct fs_ctx *ctx, const char *path, int flags,
                   struct fs_handle **out, int *keep_cache, int *direct)
{
    struct fs_attr a;
    struct fs_handle *h;
    int rc;

    *out = NULL;
    *keep_cache = 0;
    *direct = 1;
    rc = fs_node_attr(ctx, path, &a);
    if (rc)
        return rc;
    if (S_ISDIR(a.mode))
        return -EISDIR;
    h = handle_new(a.scratch ? scratch_kind(path)
                   : fs_type_is_media(a.type) ? FS_H_MEDIA
                   : fs_type_is_writable(a.type) ? FS_H_DOC : FS_H_TEXT,
                   path);
    if (!h)
        return -ENOMEM;
    h->append = !!(flags & O_APPEND);
    if (a.scratch)
        rc = open_scratch(ctx, path, flags, h);
    else if (h->kind == FS_H_MEDIA)
        rc = open_media(ctx, path, flags, h, keep_cache);
    else
        rc = open_doc(ctx, path, flags, a.type, h);
    *direct = h->kind != FS_H_MEDIA;
    if (rc) {
        fs_handle_free(ctx, h);
        return rc;
    }
    *out = h;
    return 0;
}

int fs_handle_create(struct fs_ctx *ctx, const char *path, mode_t mode,
                     int flags, struct fs_handle **out)
{
    struct fs_path p;
    struct fs_handle *h;
    int rc = fs_path_parse(path, &p);

    *out = NULL;
    if (rc)
        return rc;
    if (ctx->opts.ro)
        return -EROFS;
    if (!fs_dir_accepts_files(p.dir) || fs_type_is_dir(p.type))
        return -EACCES;
    if (p.type != FS_T_OTHER && fs_name_is_scratch(p.dir, p.name) &&
        p.type != FS_T_ANN && p.type != FS_T_POLICY &&
        p.type != FS_T_LK_SETTING)
        return -EACCES; /* e.g. media.wav, metadata.json */
    rc = fs_scratch_create(ctx, path, mode);
    if (rc)
        return rc;
    h = handle_new(scratch_kind(path), path);
    if (!h) {
        fs_scratch_remove(ctx, path);
        return -ENOMEM;
    }
    h->append = !!(flags & O_APPEND);
    *out = h;
    return 0;
}

ssize_t fs_handle_read(struct fs_ctx *ctx, struct fs_handle *h, char *buf,
                       size_t size, off_t off)
{
    ssize_t n = 0;

    if (h->kind == FS_H_MEDIA) {
        atomic_fetch_add(&ctx->in_flight, 1);
        n = cache_obj_read(fs_mobj_obj(h->m), buf, size, (uint64_t)off);
        atomic_fetch_sub(&ctx->in_flight, 1);
        if (n < 0) {
            char msg[FS_ERR_MAX];
            snprintf(msg, sizeof msg, "read at %lld: %s", (long long)off,
                     strerror((int)-n));
            log_warn("%s: %s", h->path, msg);
            fs_node_set_error(ctx, h->path, msg);
        }
        return n;
    }
    pthread_mutex_lock(&h->lk);
    if (off >= 0 && (size_t)off < h->len) {
        n = (ssize_t)(h->len - (size_t)off < size ? h->len - (size_t)off
                                                  : size);
        memcpy(buf, h->buf + off, (size_t)n);
    }
    pthread_mutex_unlock(&h->lk);
    return n;
}

ssize_t fs_handle_write(struct fs_handle *h, const char *buf, size_t size,
                        off_t off)
{
    ssize_t rc;

    if (h->kind == FS_H_MEDIA || h->kind == FS_H_TEXT)
        return -EBADF;
    pthread_mutex_lock(&h->lk);
    if (h->append)
        off = (off_t)h->len;
    rc = off < 0 ? -EINVAL : reserve(h, (size_t)off + size);
    if (!rc) {
        if ((size_t)off > h->len)
            memset(h->buf + h->len, 0, (size_t)off - h->len);
        memcpy(h->buf + off, buf, size);
        if ((size_t)off + size > h->len)
            h->len = (size_t)off + size;
        h->wrote = 1;
        rc = (ssize_t)size;
    }
    pthread_mutex_unlock(&h->lk);
    return rc;
}

int fs_handle_truncate(struct fs_handle *h, off_t size)
{
    int rc;

    if (h->kind == FS_H_MEDIA || h->kind == FS_H_TEXT)
        return -EACCES;
    pthread_mutex_lock(&h->lk);
    rc = size < 0 ? -EINVAL : reserve(h, (size_t)size);
    if (!rc) {
        if ((size_t)size > h->len)
            memset(h->buf + h->len, 0, (size_t)size - h->len);
        h->len = (size_t)size;
        if (size == 0)
            h->truncated = 1;
        else
            h->wrote = 1;
    }
    pthread_mutex_unlock(&h->lk);
    return rc;
}

int64_t fs_handle_size(struct fs_handle *h)
{
    int64_t n;

    pthread_mutex_lock(&h->lk);
    n = (int64_t)h->len;
    pthread_mutex_unlock(&h->lk);
    return n;
}

/* DOC: commit a changed document; on failure the content reverts to the
 * server copy. */
static int flush_doc(struct fs_ctx *ctx, struct fs_handle *h)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (!h->wrote)
        return h->commit_err; /* nothing new (e.g. `> f` before the data,
                                 or a second fd's close after a commit) */
    h->wrote = h->truncated = 0;
    if (h->len == h->base_len && !memcmp(h->buf, h->base, h->len))
        return h->commit_err = 0;
    h->buf[h->len] = '\0';
    rc = fs_edit_commit(ctx, h->path, h->base, h->buf, h->len);
    h->commit_err = rc;
    if (fs_doc_copy(ctx, h->path, &data, &len) == 0) {
        set_content(h, data, len);
        dup_base(h);
    } else if (rc) {
        memcpy(h->buf, h->base, h->base_len); /* revert */
        h->len = h->base_len;
    }
    return rc;
}

static int flush_newdoc(struct fs_ctx *ctx, struct fs_handle *h)
{
    struct fs_path p;
    int rc;

    if (h->done)
        return 0;
    fs_path_parse(h->path, &p);
    if (h->len == 0 && p.dir != FS_T_KEYS)
        return 0; /* wait for content */
    if (!h->wrote && p.dir != FS_T_KEYS)
        return 0;
    h->wrote = 0;
    if (h->buf)
        h->buf[h->len] = '\0';
    rc = fs_edit_create(ctx, h->path, h->buf ? h->buf : "", h->len);
    if (!rc) {
        h->done = 1;
        if (p.dir == FS_T_KEYS)
            fs_scratch_ghost(ctx, h->path, 2);
        else
            fs_scratch_remove(ctx, h->path);
    } else {
        fs_scratch_set(ctx, h->path, h->buf, h->len);
    }
    return rc;
}

int fs_handle_flush(struct fs_ctx *ctx, struct fs_handle *h)
{
    int rc = 0;

    pthread_mutex_lock(&h->lk);
    switch (h->kind) {
    case FS_H_DOC:
        rc = flush_doc(ctx, h);
        break;
    case FS_H_NEWDOC:
        rc = flush_newdoc(ctx, h);
        break;
    case FS_H_SCRATCH:
        if (h->wrote || h->truncated)
            rc = fs_scratch_set(ctx, h->path, h->buf, h->len);
        h->wrote = h->truncated = 0;
        if (rc == -ENOENT)
            rc = 0; /* renamed or removed while open */
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&h->lk);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Zero-copy media reads.
 *
 * fs_handle_read_ref() pins the cached block it points the kernel at (on
 * disk, or the download buffer holding it in memory), and the pin must
 * outlive the op: libfuse splices the bytes from our cache file, or from
 * the pages of that buffer, after read_buf returns, and an eviction
 * punching the block's hole or a reuse of the buffer in between would
 * corrupt or fail the reply. The pin becomes a lease of the
 * calling thread: a FUSE worker handles one request at a time, so when
 * the same thread enters its next operation (fs_read_lease_drop), or
 * exits, the reply that used the block has been sent. A lease also holds
 * a reference on the media object, so a concurrent release cannot free
 * it. At most one block per FUSE thread stays pinned this way. */
struct fs_lease {
    struct fs_ctx *ctx;
    struct fs_mobj *m; /* NULL: no lease */
    uint64_t off;
    struct cache_ref ref;
};

static pthread_key_t lease_key;
static pthread_once_t lease_once = PTHREAD_ONCE_INIT;

static void lease_release(struct fs_lease *l)
{
    if (!l || !l->m)
        return;
    cache_obj_ref_put(fs_mobj_obj(l->m), l->off, &l->ref);
    fs_media_close(l->ctx, l->m);
    l->m = NULL;
}

static void lease_exit(void *p)
{
    lease_release(p);
    free(p);
}

static void lease_init(void)
{
    (void)pthread_key_create(&lease_key, lease_exit);
}

void fs_read_lease_drop(void)
{
    pthread_once(&lease_once, lease_init);
    lease_release(pthread_getspecific(lease_key));
}

static struct fs_lease *lease_get(void)
{
    struct fs_lease *l;

    pthread_once(&lease_once, lease_init);
    l = pthread_getspecific(lease_key);
    if (!l && (l = calloc(1, sizeof *l)) &&
        pthread_setspecific(lease_key, l) != 0) {
        free(l);
        l = NULL;
    }
    return l;
}

int fs_handle_read_ref(struct fs_ctx *ctx, struct fs_handle *h, size_t size,
                       off_t off, struct fs_read_ref *out)
{
    struct cache_obj *obj;
    struct cache_ref ref;
    struct fs_lease *l;
    uint64_t want;
    int rc;

    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (h->kind != FS_H_MEDIA || off < 0)
        return -ENOSYS;
    obj = fs_mobj_obj(h->m);
    if ((uint64_t)off >= cache_obj_size(obj))
        return 0; /* EOF: empty reply */
    want = cache_obj_size(obj) - (uint64_t)off;
    if (want > size)
        want = size;
    l = lease_get();
    if (!l)
        return -ENOSYS;
    lease_release(l);
    atomic_fetch_add(&ctx->in_flight, 1);
    rc = cache_obj_read_ref(obj, (uint64_t)off, &ref);
    atomic_fetch_sub(&ctx->in_flight, 1);
    if (rc)
        return rc; /* -ENOSYS: pass-through cache; else a read error */
    if (ref.avail < want) { /* spans two blocks: copy instead */
        cache_obj_ref_put(obj, (uint64_t)off, &ref);
        return -ENOSYS;
    }
    out->fd = ref.fd;
    out->fd_off = ref.fd_off;
    out->mem = ref.mem;
    out->len = (size_t)want;
    fs_media_hold(ctx, h->m);
    *l = (struct fs_lease){ctx, h->m, (uint64_t)off, ref};
    return 0;
}
