/* cache_ra.c - readahead: a bounded pool of workers downloads (or, for
 * blocks an earlier mount left, checksums) the blocks after a sequential
 * reader's position. Jobs hold a reference on their
 * object handle; a job of a released handle is dropped undone. And the
 * writers: CACHE_WRITERS threads that checksum and store downloaded
 * blocks, so a download goes on while its earlier blocks go to disk (a
 * bounded queue: when it is full, the downloader stores the block
 * itself).
 *
 * Missing blocks are downloaded by runs: a missing block of the window
 * and the missing blocks after it, up to run_blocks (so up to
 * run_blocks - 1 past the window), with one request. The reader claims
 * the run as it schedules it (FETCHING from then on: readers wait on its
 * blocks), and only while fewer runs are claimed than there are workers,
 * so a claimed run never waits behind another download (at most behind a
 * metadata commit or a block check); otherwise the blocks stay missing
 * and a reader that gets there first fetches its block itself. For one
 * reader going forward (at most three runs in flight with a window of
 * 2 x 4 blocks) the runs thus start at the same blocks whatever the
 * timing of the threads: at blocks 1, 1 + run_blocks, ... */
#include <errno.h>
#include <stdlib.h>

#include "cache_int.h"
#include "log.h"

/* [L] */
static void enqueue(struct cache *cache, struct cache_obj *obj, uint32_t idx,
                    struct cache_run *run)
{
    obj->refs++;
    cache->q[(cache->qhead + cache->qlen) % CACHE_QUEUE_CAP] =
        (struct cache_job){.obj = obj, .idx = idx, .run = run};
    cache->qlen++;
    pthread_cond_signal(&cache->qcv);
}

/* Claim the run from block j and queue it, if a worker is there for it.
 * 0, or -1 when not. [L] */
static int schedule_run(struct cache_obj *obj, uint32_t j)
{
    struct cache *cache = obj->cache;
    struct cache_run *run;

    if (cache->nruns >= cache->nstarted)
        return -1;
    run = malloc(sizeof *run);
    if (!run)
        return -1;
    if (cache_run_claim(obj, j, (uint32_t)cache->run_blocks, run) == 0) {
        free(run);
        return -1;
    }
    cache->nruns++;
    enqueue(cache, obj, j, run);
    return 0;
}

void cache_ra_schedule(struct cache_obj *obj, uint32_t last, uint32_t window)
{
    struct cache *cache = obj->cache;
    struct cache_ent *ent = obj->ent;

    if (cache->stopping || obj->released || ent->dead)
        return;
    for (uint32_t j = last + 1;
         j < ent->nblocks && j <= last + window; j++) {
        struct cache_blk *b = &ent->blk[j];
        /* missing blocks are downloaded; blocks claimed by an earlier
         * mount are checksummed ahead of the reader (which then finds
         * them verified and in the page cache) */
        if (b->queued || b->mem || b->state == CACHE_BLK_FETCHING ||
            (b->state == CACHE_BLK_PRESENT && b->verified))
            continue;
        if (cache->qlen == CACHE_QUEUE_CAP)
            return;
        if (b->state == CACHE_BLK_MISSING) {
            if (schedule_run(obj, j) != 0)
                return;
            continue;
        }
        b->queued = 1;
        enqueue(cache, obj, j, NULL);
    }
}

int cache_commit_schedule(struct cache_obj *obj)
{
    struct cache *cache = obj->cache;

    if (obj->ent->commit_queued)
        return 0;
    if (cache->stopping || cache->nstarted == 0 ||
        cache->qlen == CACHE_QUEUE_CAP)
        return -EAGAIN;
    obj->ent->commit_queued = 1;
    obj->refs++;
    cache->q[(cache->qhead + cache->qlen) % CACHE_QUEUE_CAP] =
        (struct cache_job){.obj = obj, .idx = CACHE_JOB_COMMIT};
    cache->qlen++;
    pthread_cond_signal(&cache->qcv);
    return 0;
}

void cache_blk_prefetch(struct cache_obj *obj, uint32_t idx)
{
    struct cache_blk_ref ref = {.fd = -1, .fl = NULL};
    int rc = cache_blk_get(obj, idx, 0, &ref);

    if (rc == 0)
        cache_blk_put(obj, idx, &ref);
    else if (rc < 0)
        log_debug("cache: readahead of block %u failed: %d", idx, rc);
}

static void run_fetch(struct cache_run *run)
{
    int rc = cache_run_fetch(run);

    if (rc < 0)
        log_debug("cache: readahead of blocks %u-%u failed: %d", run->first,
                  run->first + run->n - 1, rc);
}

/* Block b still needs a download or a check. [L] */
static int ra_wanted(const struct cache_blk *b)
{
    if (b->mem)
        return 0;
    return b->state == CACHE_BLK_MISSING ||
           (b->state == CACHE_BLK_PRESENT && !b->verified);
}

/* Pop a job. [L] */
static struct cache_job pop(struct cache *cache)
{
    struct cache_job job = cache->q[cache->qhead];

    cache->qhead = (cache->qhead + 1) % CACHE_QUEUE_CAP;
    cache->qlen--;
    if (job.idx == CACHE_JOB_COMMIT)
        job.obj->ent->commit_queued = 0;
    else if (!job.run)
        job.obj->ent->blk[job.idx].queued = 0;
    return job;
}

static void *worker_main(void *arg)
{
    struct cache *cache = arg;

    pthread_mutex_lock(&cache->lock);
    for (;;) {
        while (!cache->stopping && cache->qlen == 0)
            pthread_cond_wait(&cache->qcv, &cache->lock);
        if (cache->stopping)
            break;
        struct cache_job job = pop(cache);
        int commit = job.idx == CACHE_JOB_COMMIT, run = job.run != NULL;
        int live = !job.obj->released && !job.obj->ent->dead;
        int go = commit || (!job.run && live &&
                            ra_wanted(&job.obj->ent->blk[job.idx]));
        pthread_mutex_unlock(&cache->lock);
        if (job.run && live)
            run_fetch(job.run);
        else if (job.run)
            cache_run_drop(job.run);
        else if (go && commit)
            (void)cache_meta_commit(cache, job.obj->ent);
        else if (go)
            cache_blk_prefetch(job.obj, job.idx);
        free(job.run);
        cache_obj_unref(job.obj);
        pthread_mutex_lock(&cache->lock);
        cache->nruns -= run;
    }
    pthread_mutex_unlock(&cache->lock);
    return NULL;
}

int cache_store_schedule(struct cache_obj *obj, uint32_t idx,
                         struct cache_fl *fl, int fetched)
{
    struct cache *cache = obj->cache;

    if (!cache->writer_started || cache->wstop ||
        cache->wqlen == CACHE_WQ_CAP)
        return -EAGAIN;
    obj->refs++;
    cache->wq[(cache->wqhead + cache->wqlen) % CACHE_WQ_CAP] =
        (struct cache_wjob){.obj = obj, .idx = idx, .fl = fl,
                            .fetched = fetched};
    cache->wqlen++;
    pthread_cond_signal(&cache->wcv);
    return 0;
}

static void *writer_main(void *arg)
{
    struct cache *cache = arg;

    pthread_mutex_lock(&cache->lock);
    for (;;) {
        while (!cache->wstop && cache->wqlen == 0)
            pthread_cond_wait(&cache->wcv, &cache->lock);
        if (cache->wqlen == 0)
            break; /* stopping, and all stored */
        struct cache_wjob job = cache->wq[cache->wqhead];
        cache->wqhead = (cache->wqhead + 1) % CACHE_WQ_CAP;
        cache->wqlen--;
        pthread_mutex_unlock(&cache->lock);
        cache_blk_store(job.obj, job.idx, job.fl, job.fetched);
        cache_obj_unref(job.obj);
        pthread_mutex_lock(&cache->lock);
    }
    pthread_mutex_unlock(&cache->lock);
    return NULL;
}

int cache_workers_start(struct cache *cache)
{
    if (cache->passthrough)
        return 0;
    for (int i = 0; i < CACHE_WRITERS; i++) {
        if (pthread_create(&cache->writer[i], NULL, writer_main, cache) != 0)
            return -EAGAIN;
        cache->writer_started++;
    }
    cache->workers = calloc((size_t)cache->nworkers, sizeof(pthread_t));
    if (!cache->workers)
        return -ENOMEM;
    for (int i = 0; i < cache->nworkers; i++) {
        if (pthread_create(&cache->workers[i], NULL, worker_main, cache) != 0)
            return -EAGAIN;
        cache->nstarted++;
    }
    return 0;
}

void cache_workers_stop(struct cache *cache)
{
    pthread_mutex_lock(&cache->lock);
    cache->stopping = 1;
    pthread_cond_broadcast(&cache->qcv);
    pthread_mutex_unlock(&cache->lock);
    for (int i = 0; i < cache->nstarted; i++)
        pthread_join(cache->workers[i], NULL);
    cache->nstarted = 0;
    free(cache->workers);
    cache->workers = NULL;
    pthread_mutex_lock(&cache->lock);
    while (cache->qlen > 0) {
        struct cache_job job = pop(cache);
        pthread_mutex_unlock(&cache->lock);
        if (job.run)
            cache_run_drop(job.run);
        free(job.run);
        cache_obj_unref(job.obj);
        pthread_mutex_lock(&cache->lock);
    }
    cache->wstop = 1;
    pthread_cond_broadcast(&cache->wcv);
    pthread_mutex_unlock(&cache->lock);
    for (int i = 0; i < cache->writer_started; i++)
        pthread_join(cache->writer[i], NULL);
    cache->writer_started = 0;
}
