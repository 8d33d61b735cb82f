/* cache_obj.c - media object handles: open, read, zero-copy read, lookup.
 *
 * A read is split at block boundaries; each block comes from disk, from a
 * download in flight, or is downloaded (cache_blocks.c). When the block
 * cannot be cached (pass-through cache, detached object, disk error) the
 * caller's range is fetched straight into its buffer.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cache_int.h"
#include "log.h"

struct cache_obj *cache_obj_open(struct cache *cache, const char *key,
                                 const char *version, uint64_t size,
                                 const struct cache_source *src, int *errp)
{
    struct cache_obj *obj = calloc(1, sizeof *obj);
    int created = 0;

    if (errp)
        *errp = 0;
    if (obj && !cache->passthrough) {
        pthread_mutex_lock(&cache->lock);
        obj->ent =
            cache_ent_get(cache, key, version ? version : "", size, &created);
        pthread_mutex_unlock(&cache->lock);
        if (!obj->ent) {
            free(obj);
            obj = NULL;
        }
    }
    if (!obj) {
        if (src->arg_free)
            src->arg_free(src->arg);
        if (errp)
            *errp = -ENOMEM;
        return NULL;
    }
    obj->cache = cache;
    obj->src = *src;
    obj->size = size;
    obj->refs = 1;
    /* No metadata commit for a new entry: cache_obj_lookup answers from
     * memory within this mount, and an entry without blocks has nothing
     * to offer the next one (its first downloaded blocks commit it). Two
     * fsyncs per opened file were the largest cost of copying many small
     * recordings. */
    (void)created;
    return obj;
}

void cache_obj_release(struct cache_obj *obj)
{
    if (!obj)
        return;
    pthread_mutex_lock(&obj->cache->lock);
    obj->released = 1;
    pthread_mutex_unlock(&obj->cache->lock);
    cache_obj_unref(obj);
}

void cache_obj_unref(struct cache_obj *obj)
{
    struct cache *cache = obj->cache;
    struct cache_ent *ent = obj->ent;
    int last, dirty = 0;

    pthread_mutex_lock(&cache->lock);
    last = --obj->refs == 0;
    if (last && ent)
        dirty = ent->dirty && !ent->dead;
    pthread_mutex_unlock(&cache->lock);
    if (!last)
        return;
    if (dirty)
        (void)cache_meta_commit(cache, ent);
    if (ent) {
        pthread_mutex_lock(&cache->lock);
        cache_ent_unref(cache, ent);
        pthread_mutex_unlock(&cache->lock);
    }
    if (obj->src.arg_free)
        obj->src.arg_free(obj->src.arg);
    free(obj);
}

int cache_obj_lookup(struct cache *cache, const char *key, char **version,
                     uint64_t *size)
{
    struct cache_ent *ent;
    int rc = -ENOENT;

    *version = NULL;
    pthread_mutex_lock(&cache->lock);
    ent = cache_ent_find(cache, key);
    if (ent) {
        *version = strdup(ent->version);
        *size = ent->size;
        rc = *version ? 0 : -ENOMEM;
    }
    pthread_mutex_unlock(&cache->lock);
    return rc;
}

uint64_t cache_obj_size(const struct cache_obj *obj) { return obj->size; }

uint64_t cache_obj_cached_bytes(struct cache_obj *obj)
{
    uint64_t n = 0;

    if (!obj->ent)
        return 0;
    pthread_mutex_lock(&obj->cache->lock);
    if (!obj->ent->dead)
        n = obj->ent->cached_bytes;
    pthread_mutex_unlock(&obj->cache->lock);
    return n;
}

uint64_t cache_cached_bytes(struct cache *cache, const char *key)
{
    struct cache_ent *ent;
    uint64_t n = 0;

    pthread_mutex_lock(&cache->lock);
    ent = cache_ent_find(cache, key);
    if (ent)
        n = ent->cached_bytes;
    pthread_mutex_unlock(&cache->lock);
    return n;
}

/* Fetch the caller's range without caching it. 0 or -errno. */
static int read_direct(struct cache_obj *obj, void *buf, size_t len,
                       uint64_t off)
{
    int rc = cache_fetch_exact(obj, off, len, buf);

    if (rc == -ESTALE && obj->ent) {
        pthread_mutex_lock(&obj->cache->lock);
        cache_ent_detach(obj->cache, obj->ent);
        pthread_mutex_unlock(&obj->cache->lock);
    }
    return rc;
}

/* Sequential-reader detection: a read starting within one block of where
 * the previous one ended (FUSE may reorder concurrent reads a little)
 * starts readahead after the read's last block. A reader that has gone a
 * whole window sequentially gets twice the window when the media source
 * is a round trip away (CACHE_DEEP_RTT_US): more runs in flight, so that
 * it keeps up, while short sequential reads (headers, probes) and a
 * source close by do not pay for it. [L] */
static void note_read(struct cache_obj *obj, uint64_t off, uint64_t len)
{
    uint64_t bs = obj->ent->bsize, prev = obj->last_end;
    uint32_t window = (uint32_t)obj->cache->ra_blocks;

    obj->last_end = off + len;
    if (off + bs < prev || off > prev + bs) {
        obj->seq_start = off;
        return;
    }
    if (window == 0)
        return;
    if (off >= obj->seq_start + (uint64_t)window * bs &&
        obj->cache->rtt_us >= CACHE_DEEP_RTT_US)
        window *= 2;
    cache_ra_schedule(obj, (uint32_t)((off + len - 1) / bs), window);
}

static int read_block(struct cache_obj *obj, uint32_t idx, void *dst,
                      uint32_t boff, size_t n)
{
    struct cache *cache = obj->cache;
    struct cache_blk_ref ref = {.fd = -1, .fl = NULL};
    uint64_t off = (uint64_t)idx * obj->ent->bsize + boff;
    ssize_t got;
    int rc, from_disk;

    rc = cache_blk_get(obj, idx, 1, &ref);
    if (rc == CACHE_BLK_DIRECT)
        return read_direct(obj, dst, n, off);
    if (rc < 0)
        return rc;
    got = cache_blk_pread(&ref, dst, n, (off_t)off, boff);
    from_disk = ref.fd >= 0;
    cache_blk_put(obj, idx, &ref);
    if (!from_disk && boff + n == cache_blk_len(obj->ent, idx)) {
        /* read to its end: a sequential reader is done with the copy */
        pthread_mutex_lock(&cache->lock);
        cache_mem_drop(cache, &obj->ent->blk[idx]);
        pthread_mutex_unlock(&cache->lock);
    }
    if (got != (ssize_t)n) {
        cache_warn_disk(cache, "reading a block", got < 0 ? (int)-got : EIO);
        return read_direct(obj, dst, n, off);
    }
    if (from_disk) {
        pthread_mutex_lock(&cache->lock);
        cache->st.bytes_served += n;
        pthread_mutex_unlock(&cache->lock);
    }
    return 0;
}

ssize_t cache_obj_read(struct cache_obj *obj, void *buf, size_t len,
                       uint64_t off)
{
    size_t done = 0;
    int rc;

    if (off >= obj->size || len == 0)
        return 0;
    if (len > obj->size - off)
        len = (size_t)(obj->size - off);
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    if (!obj->ent) {
        rc = read_direct(obj, buf, len, off);
        return rc < 0 ? rc : (ssize_t)len;
    }
    pthread_mutex_lock(&obj->cache->lock);
    note_read(obj, off, len);
    pthread_mutex_unlock(&obj->cache->lock);
    while (done < len) {
        uint64_t pos = off + done;
        uint32_t idx = (uint32_t)(pos / obj->ent->bsize);
        uint32_t boff = (uint32_t)(pos % obj->ent->bsize);
        size_t n = cache_blk_len(obj->ent, idx) - boff;
        if (n > len - done)
            n = len - done;
        rc = read_block(obj, idx, (char *)buf + done, boff, n);
        if (rc < 0)
            return done > 0 ? (ssize_t)done : rc;
        done += n;
    }
    return (ssize_t)done;
}

int cache_obj_read_ref(struct cache_obj *obj, uint64_t off,
                       struct cache_ref *r)
{
    struct cache_blk_ref ref = {.fd = -1, .fl = NULL};
    uint32_t idx, boff;
    int rc;

    memset(r, 0, sizeof *r);
    r->fd = -1;
    if (!obj->ent || obj->cache->passthrough)
        return -ENOSYS;
    if (off >= obj->size)
        return 0;
    idx = (uint32_t)(off / obj->ent->bsize);
    boff = (uint32_t)(off % obj->ent->bsize);
    pthread_mutex_lock(&obj->cache->lock);
    note_read(obj, off, cache_blk_len(obj->ent, idx) - boff);
    pthread_mutex_unlock(&obj->cache->lock);
    rc = cache_blk_get(obj, idx, 1, &ref);
    if (rc == CACHE_BLK_DIRECT)
        return -ENOSYS;
    if (rc < 0)
        return rc;
    r->avail = cache_blk_len(obj->ent, idx) - boff;
    if (ref.fl) {
        /* in memory (a download, or kept after one): the reference on
         * the buffer keeps it unchanged until cache_obj_ref_put */
        r->mem = ref.fl->buf + boff;
        r->hold = ref.fl;
    } else {
        r->fd = ref.fd;
        r->fd_off = (off_t)off;
    }
    pthread_mutex_lock(&obj->cache->lock);
    obj->cache->st.bytes_served += r->avail;
    pthread_mutex_unlock(&obj->cache->lock);
    return 0;
}

void cache_obj_ref_put(struct cache_obj *obj, uint64_t off,
                       struct cache_ref *r)
{
    if (r->hold) {
        pthread_mutex_lock(&obj->cache->lock);
        cache_fl_put(r->hold);
        pthread_mutex_unlock(&obj->cache->lock);
    } else if (r->fd >= 0) {
        cache_obj_unpin(obj, off);
    }
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

int cache_obj_read_fd(struct cache_obj *obj, uint64_t off, int *fd,
                      off_t *fd_off, size_t *avail)
{
    struct cache_ref r;
    int rc = cache_obj_read_ref(obj, off, &r);

    *fd = r.fd;
    *fd_off = r.fd_off;
    *avail = r.avail;
    if (rc == 0 && r.mem) {
        /* the caller copies these (cache_obj_read) */
        cache_obj_ref_put(obj, off, &r);
        *fd = -1;
        *fd_off = 0;
        *avail = 0;
        return -ENOSYS;
    }
    return rc;
}

void cache_obj_unpin(struct cache_obj *obj, uint64_t off)
{
    struct cache_blk *b;

    if (!obj->ent || off >= obj->size)
        return;
    b = &obj->ent->blk[off / obj->ent->bsize];
    pthread_mutex_lock(&obj->cache->lock);
    if (b->pins > 0)
        b->pins--;
    pthread_mutex_unlock(&obj->cache->lock);
}
