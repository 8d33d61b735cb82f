/* cache_blocks.c - getting one block: from disk, from a download in
 * flight, or by downloading it (exactly once across all readers); and
 * downloading runs of blocks.
 *
 * A block is MISSING, FETCHING (one struct cache_fl; later readers wait
 * on its condvar and copy from its buffer) or PRESENT (on disk; pinned
 * while read so eviction skips it). Readers of PRESENT blocks never wait
 * on a download. The lock is dropped for the fetch, the checksum, the
 * block pwrite and every verification pread.
 *
 * A PRESENT block from an earlier session is checked once before it is
 * served: read into a block buffer, checksummed, dropped from the page
 * cache and kept in memory like a download (check_block).
 *
 * Downloads go by runs (struct cache_run): consecutive blocks claimed
 * together and fetched with one streamed request, each block published,
 * checksummed and stored as soon as its own last byte arrives, so a run
 * holds one partly filled buffer at a time. A reader's missing block is
 * a run of one (its first byte waits for no other block); readahead
 * claims longer runs (cache_ra.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cache_int.h"
#include "log.h"

static uint64_t mono_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int pwrite_full(struct cache *cache, int fd, const void *buf, size_t len,
                       off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = cache->pwrite_hook
                        ? cache->pwrite_hook(fd, (const char *)buf + done,
                                             len - done, off + (off_t)done)
                        : pwrite(fd, (const char *)buf + done, len - done,
                                 off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return 0;
}

/* A sink into one caller's buffer (cache_fetch_exact). */
struct copy_sink {
    unsigned char *buf;
    size_t cap, len;
};

static int copy_put(void *arg, const void *data, size_t len)
{
    struct copy_sink *k = arg;

    if (len > k->cap - k->len)
        return -EIO; /* more than asked: a broken source */
    memcpy(k->buf + k->len, data, len);
    k->len += len;
    return 0;
}

/* Fetch exactly len bytes at off (the object size is exact). */
int cache_fetch_exact(struct cache_obj *obj, uint64_t off, size_t len,
                      void *buf)
{
    struct copy_sink k = {.buf = buf, .cap = len};
    int rc = obj->src.fetch(obj->src.arg, off, len, copy_put, &k);

    if (rc < 0)
        return rc;
    return k.len == len ? 0 : -EIO;
}

static size_t align_up(size_t n)
{
    return (n + CACHE_ALIGN - 1) / CACHE_ALIGN * CACHE_ALIGN;
}

void *cache_buf_alloc(size_t cap)
{
    void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

void cache_buf_free(void *p, size_t cap)
{
    if (p)
        munmap(p, cap);
}

static size_t fl_cap(const struct cache_fl *fl)
{
    return align_up(fl->len ? fl->len : 1);
}

/* A download of len bytes, its buffer not allocated yet. [L] */
static struct cache_fl *fl_new(struct cache *cache, size_t len)
{
    struct cache_fl *fl = calloc(1, sizeof *fl);

    if (!fl)
        return NULL;
    fl->cache = cache;
    fl->len = len;
    fl->refs = 1;
    pthread_cond_init(&fl->cv, NULL);
    return fl;
}

/* The download's buffer: aligned and padded with zeros to CACHE_ALIGN, so
 * that it can be written with O_DIRECT (the padding lands beyond the
 * object's end in the sparse data file, where nothing reads it). Full
 * blocks reuse an idle buffer of the pool. 0 or -ENOMEM. [L] */
static int fl_buf(struct cache *cache, struct cache_fl *fl)
{
    size_t cap = fl_cap(fl);
    unsigned char *p;

    if (cap == align_up(cache->bsize) && cache->npool > 0)
        p = cache->pool[--cache->npool];
    else
        p = cache_buf_alloc(cap);
    if (!p)
        return -ENOMEM;
    memset(p + fl->len, 0, cap - fl->len);
    fl->buf = p;
    return 0;
}

void cache_fl_put(struct cache_fl *fl)
{
    struct cache *cache = fl->cache;

    if (--fl->refs > 0)
        return;
    pthread_cond_destroy(&fl->cv);
    if (fl->buf && fl_cap(fl) == align_up(cache->bsize) &&
        cache->npool < CACHE_POOL)
        cache->pool[cache->npool++] = fl->buf;
    else if (fl->buf)
        cache_buf_free(fl->buf, fl_cap(fl));
    free(fl);
}

/* Write the block's bytes at off: through dfd (O_DIRECT: no copy into
 * the page cache, whose fresh pages cost more than the network) when
 * there is one, else through fd. A direct write the filesystem refuses
 * (EINVAL) falls back to fd.
 *
 * Before a direct write the range is allocated (fallocate): a direct
 * write into allocated blocks holds the file's lock shared on ext4, so
 * the writers store blocks side by side, where writes that allocate (or
 * extend the file) go one at a time, each waiting for its disk write.
 * Cold read of 256 MiB, 9 interleaved runs: one writer 337 ms, two
 * with fallocate 316. A filesystem without fallocate just writes; one
 * that is full says ENOSPC here, as the write would. */
static int falloc(int fd, off_t off, off_t len)
{
    return fallocate(fd, 0, off, len);
}

static int write_block(struct cache *cache, int fd, int dfd,
                       const struct cache_fl *fl, off_t off)
{
    int rc = -EINVAL;

    if (dfd >= 0 && atomic_load(&cache->falloc) &&
        (cache->falloc_hook ? cache->falloc_hook : falloc)(
            fd, off, (off_t)align_up(fl->len)) != 0) {
        int e = errno;
        if (e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG)
            return -e; /* the write would fail alike */
        if (e == EOPNOTSUPP || e == ENOSYS || e == EINVAL) {
            log_debug("cache: %s has no fallocate; plain writes", cache->dir);
            atomic_store(&cache->falloc, 0);
        }
    }
    if (dfd >= 0)
        rc = pwrite_full(cache, dfd, fl->buf, align_up(fl->len), off);
    if (rc == -EINVAL)
        rc = pwrite_full(cache, fd, fl->buf, fl->len, off);
    return rc;
}

/* Write a downloaded block to the data file after reserving room for it.
 * 0 (stored, reservation kept) or -errno (nothing claimed). */
static int store(struct cache_obj *obj, struct cache_blk *b,
                 const struct cache_fl *fl)
{
    struct cache *cache = obj->cache;
    struct cache_ent *ent = b->ent;
    struct statvfs vfs;
    uint64_t avail = UINT64_MAX;
    const char *what = "free space below the floor";
    int fd, dfd, rc;

    if (statvfs(cache->dir, &vfs) == 0)
        avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    pthread_mutex_lock(&cache->lock);
    rc = ent->dead ? -ESTALE : cache_reserve(cache, fl->len, avail);
    fd = rc == 0 ? cache_ent_fd(cache, ent) : rc;
    if (rc == 0 && fd < 0) {
        cache->st.bytes_used -= fl->len;
        rc = fd;
    }
    dfd = rc == 0 ? ent->dfd : -1;
    pthread_mutex_unlock(&cache->lock);
    if (rc == 0) {
        what = "writing a block";
        rc = write_block(cache, fd, dfd, fl, (off_t)b->idx * ent->bsize);
        if (rc != 0) {
            pthread_mutex_lock(&cache->lock);
            cache->st.bytes_used -= fl->len;
            pthread_mutex_unlock(&cache->lock);
        }
    }
    if (rc != 0 && rc != -ESTALE)
        cache_warn_disk(
            cache, fd < 0 && rc != -ENOSPC ? "opening a data file" : what, -rc);
    return rc;
}

/* Publish the outcome of a download of b. [L] Returns 1 when the object's
 * metadata is due for a commit. */
static int finish(struct cache *cache, struct cache_blk *b, struct cache_fl *fl,
                  int rc, int stored, uint32_t crc)
{
    struct cache_ent *ent = b->ent;
    int commit = 0;

    cache->st.in_flight--;
    b->fl = NULL;
    b->state = CACHE_BLK_MISSING;
    if (stored && ent->dead) {
        cache->st.bytes_used -= fl->len;
    } else if (stored) {
        b->state = CACHE_BLK_PRESENT;
        b->verified = 1;
        b->crc = crc;
        cache_lru_touch(cache, b);
        ent->cached_bytes += fl->len;
        ent->dirty++;
        commit = ent->dirty >= CACHE_COMMIT_BLOCKS ||
                 time(NULL) - ent->last_commit >= CACHE_COMMIT_SECS;
    }
    if (rc == 0 && !ent->dead)
        cache_mem_keep(cache, b, fl);
    if (rc == -ESTALE)
        cache_ent_detach(cache, ent);
    fl->done = 1;
    fl->rc = rc;
    pthread_cond_broadcast(&fl->cv);
    return commit;
}

/* Make b FETCHING, downloaded through fl. [L] */
static void claim(struct cache *cache, struct cache_blk *b,
                  struct cache_fl *fl)
{
    b->fl = fl;
    b->state = CACHE_BLK_FETCHING;
    cache->st.in_flight++;
}

uint32_t cache_run_claim(struct cache_obj *obj, uint32_t idx, uint32_t max,
                         struct cache_run *run)
{
    struct cache *cache = obj->cache;
    struct cache_ent *ent = obj->ent;

    memset(run, 0, sizeof *run);
    run->obj = obj;
    run->first = idx;
    if (max > CACHE_RUN_MAX)
        max = CACHE_RUN_MAX;
    for (uint32_t j = idx; j < ent->nblocks && run->n < max; j++) {
        struct cache_blk *b = &ent->blk[j];
        struct cache_fl *fl;
        if (b->state != CACHE_BLK_MISSING || b->mem)
            break;
        fl = fl_new(cache, cache_blk_len(ent, j));
        if (!fl)
            break;
        claim(cache, b, fl);
        run->fl[run->n++] = fl;
    }
    return run->n;
}

/* Drop the run's reference on its block k (not fl[0] with keep). [L] */
static void run_put(struct cache_run *r, uint32_t k)
{
    if (!(r->keep && k == 0))
        cache_fl_put(r->fl[k]);
}

void cache_blk_store(struct cache_obj *obj, uint32_t idx,
                     struct cache_fl *fl, int fetched)
{
    struct cache *cache = obj->cache;
    struct cache_blk *b = &obj->ent->blk[idx];
    uint32_t crc = cache_crc32c(0, fl->buf, fl->len);
    int stored = store(obj, b, fl) == 0, commit;

    pthread_mutex_lock(&cache->lock);
    if (fetched)
        cache->st.bytes_downloaded += fl->len;
    commit = finish(cache, b, fl, 0, stored, crc);
    if (commit)
        commit = cache_commit_schedule(obj) != 0;
    cache_fl_put(fl);
    pthread_mutex_unlock(&cache->lock);
    if (commit)
        (void)cache_meta_commit(cache, obj->ent);
}

/* Block k of the run has all its bytes: readers waiting for them take
 * them from memory now; the checksum and the disk write follow (the
 * block stays FETCHING, i.e. unclaimed on disk, until both are done):
 * for readahead by a writer thread when there is room, so the download
 * goes on meanwhile; a reader's own block is stored before its read
 * returns, as it always was. */
static void block_done(struct cache_run *r, uint32_t k)
{
    struct cache_obj *obj = r->obj;
    struct cache *cache = obj->cache;
    struct cache_fl *fl = r->fl[k];
    int queued;

    pthread_mutex_lock(&cache->lock);
    if (!r->have) {
        fl->rc = 0;
        fl->done = 1;
        pthread_cond_broadcast(&fl->cv);
    }
    if (r->keep)
        fl->refs++; /* the store's own; the caller keeps the run's */
    queued = !r->keep &&
             cache_store_schedule(obj, r->first + k, fl, !r->have) == 0;
    pthread_mutex_unlock(&cache->lock);
    if (!queued)
        cache_blk_store(obj, r->first + k, fl, !r->have);
}

/* The fetch's sink: bytes into the current block's buffer, on to the
 * next block at each block boundary. */
static int run_sink(void *arg, const void *data, size_t len)
{
    struct cache_run *r = arg;
    struct cache *cache = r->obj->cache;
    const unsigned char *p = data;

    if (r->t0_us && len > 0) { /* the first bytes: note the round trip */
        uint64_t t = mono_us() - r->t0_us;
        uint32_t us = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
        r->t0_us = 0;
        pthread_mutex_lock(&cache->lock);
        cache->rtt_us = cache->rtt_us ? (uint32_t)(((uint64_t)cache->rtt_us
                                                    * 3 + us) / 4)
                                      : us;
        pthread_mutex_unlock(&cache->lock);
    }
    while (len > 0) {
        struct cache_fl *fl;
        size_t n;
        int rc = 0;
        if (r->cur == r->n)
            return -EIO; /* more than asked: a broken source */
        fl = r->fl[r->cur];
        if (!fl->buf) {
            pthread_mutex_lock(&cache->lock);
            rc = fl_buf(cache, fl);
            pthread_mutex_unlock(&cache->lock);
            if (rc)
                return rc;
        }
        n = fl->len - r->fill < len ? fl->len - r->fill : len;
        memcpy(fl->buf + r->fill, p, n);
        r->fill += n;
        p += n;
        len -= n;
        if (r->fill == fl->len) {
            block_done(r, r->cur);
            r->cur++;
            r->fill = 0;
        }
    }
    return 0;
}

/* The run ended with rc before blocks cur.. were complete; the waiters
 * of blocks again.. look again. */
static void run_fail(struct cache_run *r, int rc, uint32_t again)
{
    struct cache *cache = r->obj->cache;

    pthread_mutex_lock(&cache->lock);
    for (uint32_t k = r->cur; k < r->n; k++) {
        struct cache_blk *b = &r->obj->ent->blk[r->first + k];
        r->fl[k]->again = k >= again;
        (void)finish(cache, b, r->fl[k], rc, 0, 0);
        run_put(r, k);
    }
    pthread_mutex_unlock(&cache->lock);
}

int cache_run_fetch(struct cache_run *r)
{
    struct cache_obj *obj = r->obj;
    uint64_t off = (uint64_t)r->first * obj->ent->bsize;
    size_t len = 0;
    int rc;

    if (r->have) {
        block_done(r, 0);
        return 0;
    }
    for (uint32_t k = 0; k < r->n; k++)
        len += r->fl[k]->len;
    r->t0_us = mono_us();
    rc = obj->src.fetch(obj->src.arg, off, len, run_sink, r);
    if (r->cur < r->n) {
        if (rc == 0)
            rc = -EIO; /* the source ended short of the object's size */
        run_fail(r, rc, rc == -ESTALE ? r->n : r->cur + 1);
    }
    return r->cur > 0 ? 0 : rc;
}

void cache_run_drop(struct cache_run *r)
{
    run_fail(r, -ECANCELED, 0);
}

/* The in-memory copy of a block since its download (stored or not: a
 * full cache disk must not cost a download per read). [L] */
static void get_mem(struct cache *cache, struct cache_blk *b, int reader,
                    struct cache_blk_ref *ref)
{
    if (b->state == CACHE_BLK_PRESENT)
        cache_lru_touch(cache, b);
    b->mem->refs++;
    if (reader)
        cache->st.hits++;
    ref->fd = -1;
    ref->fl = b->mem;
}

/* Check a PRESENT block from an earlier session: read it (through the
 * page cache, so that the kernel's readahead on the data file keeps the
 * disk busy ahead of us) into a block buffer, checksum it, drop the
 * range from the page cache, and keep the buffer as the block's copy in
 * memory: the reader is served from it as from a download, and the
 * cache file does not also sit in the page cache beside the mount's own
 * copy of the same bytes. [L] on entry and exit; returns 1 (look again)
 * or -ENOMEM. */
static int check_block(struct cache *cache, struct cache_blk *b, int fd,
                       uint32_t crc)
{
    struct cache_ent *ent = b->ent;
    uint32_t len = cache_blk_len(ent, b->idx);
    off_t off = (off_t)b->idx * ent->bsize;
    struct cache_fl *fl = fl_new(cache, len);
    ssize_t got;
    int ok;

    if (!fl || fl_buf(cache, fl) != 0) {
        if (fl)
            cache_fl_put(fl);
        return -ENOMEM;
    }
    b->checking = 1;
    b->pins++;
    pthread_mutex_unlock(&cache->lock);
    got = pread_full(fd, fl->buf, len, off);
    /* (whole pages: a short last block ends inside its last page) */
    (void)posix_fadvise(fd, off, (off_t)fl_cap(fl), POSIX_FADV_DONTNEED);
    ok = got == (ssize_t)len && cache_crc32c(0, fl->buf, len) == crc;
    pthread_mutex_lock(&cache->lock);
    b->pins--;
    b->checking = 0;
    cache->st.checked++;
    pthread_cond_broadcast(&cache->vcv);
    fl->done = 1;
    if (b->state == CACHE_BLK_PRESENT && !b->verified) {
        if (ok) {
            b->verified = 1;
            cache_mem_keep(cache, b, fl);
        } else {
            log_info("cache: block %u of %s failed its checksum; "
                     "refetching",
                     b->idx, ent->hash);
            cache_blk_forget(cache, b);
        }
    }
    cache_fl_put(fl);
    return 1;
}

/* PRESENT block: pin it and check it once per session. [L] on entry and
 * exit. Returns 0 (pinned, ref->fd set), 1 (look again: the block was
 * checked, by this thread or another, and is now in memory, or missing
 * after a failed checksum), -ENOMEM or CACHE_BLK_DIRECT. */
static int get_present(struct cache_obj *obj, struct cache_blk *b, int reader,
                       struct cache_blk_ref *ref)
{
    struct cache *cache = obj->cache;
    int fd;
    uint32_t crc = b->crc;

    if (!b->verified && b->checking) {
        /* the kernel's readahead asks for the 512 KiB pieces of one
         * block at once, and a readahead worker may be at it too: one
         * check, the others wait for its outcome and look again */
        while (b->checking)
            pthread_cond_wait(&cache->vcv, &cache->lock);
        return 1;
    }
    fd = cache_ent_fd(cache, b->ent);
    if (fd < 0)
        return CACHE_BLK_DIRECT;
    if (!b->verified)
        return check_block(cache, b, fd, crc);
    b->pins++;
    cache_lru_touch(cache, b);
    if (reader)
        cache->st.hits++;
    ref->fd = fd;
    ref->fl = NULL;
    return 0;
}

/* Wait for the download of b in flight. [L] on entry and exit. Returns
 * 0 (ref filled), -errno, or 1: look again (the run b belonged to failed
 * before b's bytes came, and b is MISSING again). */
static int get_fetching(struct cache *cache, struct cache_blk *b, int reader,
                        struct cache_blk_ref *ref)
{
    struct cache_fl *fl = b->fl;
    int rc;

    fl->refs++;
    if (reader)
        cache->st.misses++;
    while (!fl->done)
        pthread_cond_wait(&fl->cv, &cache->lock);
    rc = fl->rc;
    if (rc < 0) {
        /* (the block is not this download's any more: finish() let go) */
        int again = fl->again && b->fl != fl;
        cache_fl_put(fl);
        return again ? 1 : rc;
    }
    ref->fd = -1;
    ref->fl = fl;
    return 0;
}

int cache_blk_get(struct cache_obj *obj, uint32_t idx, int reader,
                  struct cache_blk_ref *ref)
{
    struct cache *cache = obj->cache;
    struct cache_ent *ent = obj->ent;
    struct cache_run run;
    struct cache_fl *fl;
    int rc;

    pthread_mutex_lock(&cache->lock);
    for (;;) {
        struct cache_blk *b = &ent->blk[idx];
        if (ent->dead || cache->passthrough) {
            rc = CACHE_BLK_DIRECT;
            break;
        }
        if (b->mem && b->state == CACHE_BLK_PRESENT) {
            get_mem(cache, b, reader, ref);
            rc = 0;
            break;
        }
        if (b->state == CACHE_BLK_PRESENT) {
            rc = get_present(obj, b, reader, ref);
            if (rc == 1)
                continue;
            break;
        }
        if (b->state == CACHE_BLK_FETCHING) {
            rc = get_fetching(cache, b, reader, ref);
            if (rc == 1)
                continue;
            break;
        }
        /* MISSING: download it alone (the reader waits for its first
         * byte: no run), or store the copy an earlier download left in
         * memory when the disk was full */
        if (b->mem) {
            run = (struct cache_run){.obj = obj, .first = idx, .n = 1,
                                     .have = 1, .fl = {b->mem}};
            b->mem->refs++;
            claim(cache, b, b->mem);
        } else if (cache_run_claim(obj, idx, 1, &run) == 0) {
            rc = -ENOMEM;
            break;
        }
        run.keep = 1;
        fl = run.fl[0];
        if (reader)
            cache->st.misses += !run.have;
        if (reader)
            cache->st.hits += run.have;
        pthread_mutex_unlock(&cache->lock);
        rc = cache_run_fetch(&run);
        pthread_mutex_lock(&cache->lock);
        if (rc < 0) {
            cache_fl_put(fl);
        } else {
            ref->fd = -1;
            ref->fl = fl;
        }
        break;
    }
    pthread_mutex_unlock(&cache->lock);
    return rc;
}

void cache_blk_put(struct cache_obj *obj, uint32_t idx,
                   struct cache_blk_ref *ref)
{
    pthread_mutex_lock(&obj->cache->lock);
    if (ref->fl)
        cache_fl_put(ref->fl);
    else if (ref->fd >= 0 && obj->ent->blk[idx].pins > 0)
        obj->ent->blk[idx].pins--;
    pthread_mutex_unlock(&obj->cache->lock);
    ref->fl = NULL;
    ref->fd = -1;
}

ssize_t cache_blk_pread(struct cache_blk_ref *ref, void *dst, size_t n,
                        off_t off, off_t boff)
{
    if (ref->fl) {
        memcpy(dst, ref->fl->buf + boff, n);
        return (ssize_t)n;
    }
    return pread_full(ref->fd, dst, n, off);
}
