/* cache.c - opening, locking and closing the disk cache; statistics.
 *
 * Layout (format version in the path, so a future format never misreads
 * this one):
 *   <dir>/lock              flock(LOCK_EX|LOCK_NB): one mount per dir
 *   <dir>/CACHEDIR.TAG      backup tools skip the cache
 *   <dir>/v1/objects/<h>/   h = FNV-1a-64(key) in hex
 *        data               sparse file, block i at offset i * block_size
 *        meta               key, version, size, block size, per-block
 *                           CRC32C + presence bitmap (cache_meta.c)
 *   <dir>/v1/docs/<h>       one document (cache_docs.c)
 *
 * Block size: CACHE_DEFAULT_BLOCK = 2 MiB. Each block costs one ranged GET,
 * i.e. one time-to-first-byte (TTFB), so small blocks waste throughput;
 * but a reader waits for its whole block, so large blocks delay the first
 * byte (players and file(1) probe headers; ls -l never reads). Measured
 * with tests/unit/test_cache_bench.c (RECFS_BENCH=1; fake fetch that
 * sleeps TTFB + len/bandwidth per request, 4 workers, readahead 4 blocks,
 * one reader of 64 MiB in 128 KiB reads; two runs on a busy 2-core VM):
 *   TTFB 30 ms, 40 MB/s:  1 MiB: first byte 58-62 ms,  66-67 MB/s
 *                         2 MiB:             96-101 ms, 74-88 MB/s
 *                         4 MiB:            165-191 ms, 81-101 MB/s
 *                         8 MiB:            297-358 ms, 88-112 MB/s
 *   TTFB 5 ms, 100 MB/s:  1 MiB: 22-29 ms, 156-160 MB/s
 *                         2 MiB: 33-39 ms, 217-250 MB/s
 *                         4 MiB: 55-67 ms, 246-254 MB/s
 *                         8 MiB: 152-265 ms, 115-217 MB/s
 * 2 MiB keeps most of the throughput (all of it on a fast link) at a third
 * of the 8 MiB first-byte latency; recordings are tens of MB, so a file is
 * a handful of blocks and partial caching stays fine-grained.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache_int.h"
#include "log.h"

#define CACHE_DEFAULT_BLOCK (2u << 20)
#define CACHE_DEFAULT_MAX (2ull << 30)
#define CACHE_DEFAULT_RA 4
#define CACHE_DEFAULT_RUN 4
#define CACHE_DEFAULT_WORKERS 4
#define CACHE_MIN_BLOCK (64u << 10)
#define CACHE_MAX_BLOCK (64u << 20)

static const char cachedir_tag[] =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by recfs.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n";

void cache_warn_disk(struct cache *cache, const char *what, int err)
{
    int first;

    pthread_mutex_lock(&cache->lock);
    first = !cache->warned_disk;
    cache->warned_disk = 1;
    pthread_mutex_unlock(&cache->lock);
    if (first)
        log_warn("cache %s: %s: %s; serving from the network (further "
                 "disk errors not logged)",
                 cache->dir, what, strerror(err));
}

void cache_set_pwrite_hook(struct cache *cache, cache_pwrite_fn fn)
{
    cache->pwrite_hook = fn;
}

void cache_set_falloc_hook(struct cache *cache, cache_falloc_fn fn)
{
    cache->falloc_hook = fn;
}

/* Lock <dir>/lock. 0, -EBUSY (in use) or -errno (cannot lock). */
static int lock_dir(struct cache *cache)
{
    char *path = cache_path(cache->dir, "lock");

    if (!path)
        return -ENOMEM;
    cache->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (cache->lockfd < 0)
        cache->lockfd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (cache->lockfd < 0)
        return -errno;
    if (flock(cache->lockfd, LOCK_EX | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? -EBUSY : -errno;
    return 0;
}

/* Empty the directory except the lock file (cfg->clear). */
static void clear_dir(struct cache *cache)
{
    char *v1 = cache_path(cache->dir, CACHE_FMT_DIR);

    if (v1) {
        cache_rm_tree(v1);
        free(v1);
    }
}

static int write_tag(struct cache *cache)
{
    char *path = cache_path(cache->dir, "CACHEDIR.TAG");
    struct stat st;
    int fd, rc = 0;

    if (!path)
        return -ENOMEM;
    if (stat(path, &st) == 0)
        goto out;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, cachedir_tag, sizeof cachedir_tag - 1) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
out:
    free(path);
    return rc;
}

/* Create the v1 tree; failure means pass-through, not an error. */
static int prepare_tree(struct cache *cache)
{
    int rc;

    cache->objdir = cache_path(cache->dir, CACHE_FMT_DIR "/objects");
    cache->docdir = cache_path(cache->dir, CACHE_FMT_DIR "/docs");
    if (!cache->objdir || !cache->docdir)
        return -ENOMEM;
    rc = write_tag(cache);
    if (rc == 0)
        rc = cache_mkdirs(cache->objdir, 0700);
    if (rc == 0)
        rc = cache_mkdirs(cache->docdir, 0700);
    if (rc == 0 && access(cache->objdir, W_OK) != 0)
        rc = -errno;
    return rc;
}

static void apply_config(struct cache *cache, const struct cache_config *cfg)
{
    struct statvfs vfs;

    cache->max_bytes = cfg->max_bytes ? cfg->max_bytes : CACHE_DEFAULT_MAX;
    cache->bsize = cfg->block_size ? cfg->block_size : CACHE_DEFAULT_BLOCK;
    if (cache->bsize < CACHE_MIN_BLOCK)
        cache->bsize = CACHE_MIN_BLOCK;
    if (cache->bsize > CACHE_MAX_BLOCK)
        cache->bsize = CACHE_MAX_BLOCK;
    cache->ra_blocks =
        cfg->readahead_blocks > 0 ? cfg->readahead_blocks : CACHE_DEFAULT_RA;
    if (cfg->readahead_blocks < 0)
        cache->ra_blocks = 0;
    cache->run_blocks =
        cfg->run_blocks > 0 ? cfg->run_blocks : CACHE_DEFAULT_RUN;
    if (cache->run_blocks > CACHE_RUN_MAX)
        cache->run_blocks = CACHE_RUN_MAX;
    cache->nworkers = cfg->workers > 0 ? cfg->workers : CACHE_DEFAULT_WORKERS;
    cache->min_free = cfg->min_free_bytes;
    cache->direct = 1; /* until the filesystem refuses O_DIRECT */
    atomic_init(&cache->falloc, 1);
    if (cache->min_free == 0 && statvfs(cache->dir, &vfs) == 0)
        cache->min_free = (uint64_t)vfs.f_blocks * vfs.f_frsize / 20;
    cache->st.max_bytes = cache->max_bytes;
}

static struct cache *cache_alloc(const char *dir)
{
    struct cache *cache = calloc(1, sizeof *cache);

    if (!cache)
        return NULL;
    cache->dir = strdup(dir);
    if (!cache->dir) {
        free(cache);
        return NULL;
    }
    cache->lockfd = -1;
    pthread_mutex_init(&cache->lock, NULL);
    pthread_mutex_init(&cache->doc_lock, NULL);
    pthread_cond_init(&cache->qcv, NULL);
    pthread_cond_init(&cache->vcv, NULL);
    pthread_cond_init(&cache->wcv, NULL);
    cache->lru.next = cache->lru.prev = &cache->lru;
    return cache;
}

static void cache_dealloc(struct cache *cache)
{
    while (cache->npool > 0)
        cache_buf_free(cache->pool[--cache->npool],
                       (cache->bsize + CACHE_ALIGN - 1) / CACHE_ALIGN *
                           CACHE_ALIGN);
    if (cache->lockfd >= 0)
        close(cache->lockfd); /* releases the flock */
    pthread_mutex_destroy(&cache->lock);
    pthread_mutex_destroy(&cache->doc_lock);
    pthread_cond_destroy(&cache->qcv);
    pthread_cond_destroy(&cache->vcv);
    pthread_cond_destroy(&cache->wcv);
    free(cache->objdir);
    free(cache->docdir);
    free(cache->dir);
    free(cache);
}

/* Lock, prepare the tree and load the index; pass-through on disk errors.
 * Returns 0 or -errno with errbuf filled. */
static int cache_setup(struct cache *cache, const struct cache_config *cfg,
                       char *errbuf, size_t errlen)
{
    int rc = lock_dir(cache);

    if (rc == -EBUSY) {
        snprintf(errbuf, errlen,
                 "cache directory %s is in use by another recfs mount",
                 cache->dir);
        return rc;
    }
    if (rc == 0 && cfg->clear)
        clear_dir(cache);
    if (rc == 0)
        rc = prepare_tree(cache);
    if (rc == -ENOMEM) {
        snprintf(errbuf, errlen, "out of memory");
        return rc;
    }
    if (rc == 0)
        rc = cache_meta_scan(cache);
    if (rc == 0)
        rc = cache_docs_scan(cache);
    if (rc != 0) {
        cache->passthrough = 1;
        cache->st.passthrough = 1;
        cache->warned_disk = 1;
        log_warn("cache directory %s is not usable (%s); running without a "
                 "disk cache",
                 cache->dir, strerror(-rc));
    }
    return 0;
}

struct cache *cache_open(const struct cache_config *cfg, char *errbuf,
                         size_t errlen)
{
    struct cache *cache;
    int rc;

    if (errlen)
        errbuf[0] = '\0';
    if (!cfg || !cfg->dir || !cfg->dir[0]) {
        snprintf(errbuf, errlen, "no cache directory given");
        return NULL;
    }
    rc = cache_mkdirs(cfg->dir, 0700);
    if (rc != 0) {
        snprintf(errbuf, errlen, "cannot create cache directory %s: %s",
                 cfg->dir, strerror(-rc));
        return NULL;
    }
    /* Cached recordings are for the mounting user only, also in a
     * directory that existed before. */
    if (chmod(cfg->dir, 0700) != 0)
        log_warn("cannot restrict cache directory %s to mode 0700: %s",
                 cfg->dir, strerror(errno));
    cache = cache_alloc(cfg->dir);
    if (!cache) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    apply_config(cache, cfg);
    if (cache_setup(cache, cfg, errbuf, errlen) != 0)
        goto fail;
    if (cache_workers_start(cache) != 0) {
        snprintf(errbuf, errlen, "cannot start cache workers");
        goto fail;
    }
    return cache;
fail:
    cache_workers_stop(cache);
    cache_ents_free_all(cache);
    cache_dealloc(cache);
    return NULL;
}

void cache_close(struct cache *cache)
{
    if (!cache)
        return;
    cache_workers_stop(cache);
    cache_ents_free_all(cache);
    cache_dealloc(cache);
}

void cache_get_stats(struct cache *cache, struct cache_stats *out)
{
    pthread_mutex_lock(&cache->lock);
    *out = cache->st;
    pthread_mutex_unlock(&cache->lock);
}
