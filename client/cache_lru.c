/* cache_lru.c - byte accounting and LRU eviction of cached blocks.
 *
 * Every PRESENT block of every object is on one global LRU list, most
 * recently used first. Room is made when data is added (cache_reserve,
 * called before a block is written), never on a timer: the cap can be
 * exceeded only by blocks whose reservation found every remaining block
 * pinned, i.e. by at most one block per download in progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_int.h"
#include "log.h"

void cache_lru_unlink(struct cache *cache, struct cache_blk *b)
{
    (void)cache;
    if (!b->next)
        return;
    b->prev->next = b->next;
    b->next->prev = b->prev;
    b->prev = b->next = NULL;
}

void cache_lru_touch(struct cache *cache, struct cache_blk *b)
{
    cache_lru_unlink(cache, b);
    b->next = cache->lru.next;
    b->prev = &cache->lru;
    cache->lru.next->prev = b;
    cache->lru.next = b;
}

void cache_mem_drop(struct cache *cache, struct cache_blk *b)
{
    int i;

    if (!b->mem)
        return;
    for (i = 0; i < cache->nmem && cache->memq[i] != b; i++)
        ;
    if (i < cache->nmem) {
        /* memq is an array of pointers: its element size is a pointer's */
        memmove(&cache->memq[i], &cache->memq[i + 1],
                // NOLINTNEXTLINE(bugprone-sizeof-expression)
                (size_t)(cache->nmem - i - 1) * sizeof cache->memq[0]);
        cache->nmem--;
    }
    cache_fl_put(b->mem);
    b->mem = NULL;
}

void cache_mem_keep(struct cache *cache, struct cache_blk *b,
                    struct cache_fl *fl)
{
    cache_mem_drop(cache, b);
    if (cache->nmem == CACHE_MEM_KEEP)
        cache_mem_drop(cache, cache->memq[0]);
    fl->refs++;
    b->mem = fl;
    cache->memq[cache->nmem++] = b;
}

void cache_blk_forget(struct cache *cache, struct cache_blk *b)
{
    uint32_t len = cache_blk_len(b->ent, b->idx);

    cache_mem_drop(cache, b);
    cache_lru_unlink(cache, b);
    b->state = CACHE_BLK_MISSING;
    b->verified = 0;
    b->ent->cached_bytes -= len;
    b->ent->dirty++;
    cache->st.bytes_used -= len;
}

/* Give the block's disk space back. Done under the lock, so a concurrent
 * refetch of the same block cannot write before the hole is punched. */
static void punch(struct cache *cache, struct cache_ent *ent, uint32_t idx)
{
    off_t off = (off_t)idx * ent->bsize;
    int fd = ent->fd, tmp = -1;

    if (fd < 0) {
        char *dir = cache_path(cache->objdir, ent->hash);
        char *path = dir ? cache_path(dir, "data") : NULL;
        if (path)
            tmp = open(path, O_WRONLY | O_CLOEXEC);
        fd = tmp;
        free(path);
        free(dir);
    }
    if (fd >= 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                             off, cache_blk_len(ent, idx)) != 0)
        log_debug("cache: punch hole in %s: errno %d", ent->hash, errno);
    if (tmp >= 0)
        close(tmp);
}

/* Evict unpinned blocks from the cold end until `need` bytes are freed.
 * Returns the bytes freed. */
static uint64_t evict(struct cache *cache, uint64_t need)
{
    uint64_t freed = 0;
    struct cache_blk *b = cache->lru.prev;

    while (freed < need && b != &cache->lru) {
        struct cache_blk *prev = b->prev;
        if (b->pins == 0) {
            freed += cache_blk_len(b->ent, b->idx);
            cache_blk_forget(cache, b);
            punch(cache, b->ent, b->idx);
            cache->st.evictions++;
        }
        b = prev;
    }
    return freed;
}

int cache_reserve(struct cache *cache, uint64_t len, uint64_t avail)
{
    uint64_t used = cache->st.bytes_used;
    uint64_t need_cap = 0, need_free = 0, freed;

    if (used + len > cache->max_bytes)
        need_cap = used + len - cache->max_bytes;
    if (avail < cache->min_free + len)
        need_free = cache->min_free + len - avail;
    freed = evict(cache, need_cap > need_free ? need_cap : need_free);
    if (freed < need_free)
        return -ENOSPC;
    cache->st.bytes_used += len;
    return 0;
}
