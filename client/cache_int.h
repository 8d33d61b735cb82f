/* cache_int.h - internals of the disk cache (client/cache_*.c) and its
 * test hooks. Not for use outside the cache and its tests.
 *
 * Locking: one mutex per cache (struct cache.lock) protects every field
 * marked "[L]" below, in struct cache, struct cache_ent, struct cache_blk,
 * struct cache_obj and struct cache_fl. It is never held across a fetch,
 * a block-sized pread/pwrite or an fsync; it is held across small
 * metadata syscalls (open, unlink, mkdir, rename, fallocate punch-hole),
 * which keeps eviction free of races with a concurrent refetch of the same
 * block. One condvar per download in flight (struct cache_fl.cv) wakes
 * the readers waiting on that block. ent->commit_lock serializes metadata
 * commits of one object and is taken before cache.lock, never after.
 */
#ifndef RECFS_CACHE_INT_H
#define RECFS_CACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cache.h"

#define CACHE_FMT_DIR "v1"         /* on-disk format version */
#define CACHE_TAB_SIZE 256         /* object hash table buckets */
#define CACHE_QUEUE_CAP 256        /* readahead job queue */
#define CACHE_COMMIT_BLOCKS 32     /* meta commit after this many blocks */
#define CACHE_COMMIT_SECS 1        /* ... or this many seconds */
#define CACHE_DOC_MAX (64u << 20)  /* largest document we read back */
#define CACHE_META_MAX (64u << 20) /* largest meta file we read back */
#define CACHE_MEM_KEEP 6           /* downloaded blocks kept in memory */
#define CACHE_ALIGN 4096u          /* O_DIRECT buffer/length alignment */
#define CACHE_POOL 6               /* idle block buffers kept for reuse */
/* A sequential reader's readahead window doubles only when the media
 * source's time to first byte is at least this: a deeper window hides a
 * round trip, and costs where there is none (loopback: ~8 %). */
#define CACHE_DEEP_RTT_US 3000
#define CACHE_RUN_MAX 16           /* most blocks in one readahead request */
#define CACHE_WQ_CAP 4             /* downloaded blocks queued for the writers */
#define CACHE_WRITERS 2            /* threads storing downloaded blocks */

enum cache_blk_state {
    CACHE_BLK_MISSING = 0,
    CACHE_BLK_PRESENT, /* on disk; trusted once verified != 0 */
    CACHE_BLK_FETCHING /* fl != NULL */
};

/* One block's download in flight (alone, or one block of a run).
 * Refcounted: the downloader plus each waiter. buf is allocated when the
 * block's first byte arrives (a run's later blocks hold no memory before)
 * and holds the block's bytes once done && rc == 0 (immutable then). */
struct cache_fl {
    struct cache *cache; /* owner of the buffer pool */
    pthread_cond_t cv;
    int done;  /* [L] */
    int rc;    /* [L] 0 or -errno, valid when done */
    int again; /* [L] with rc: the run this block belonged to failed
                  before its bytes came; the block is MISSING again and a
                  waiter fetches it itself rather than take the error */
    int refs;  /* [L] */
    size_t len;
    unsigned char *buf; /* written only by the downloader until done */
};

/* A run: blocks [first, first + n) of one object, each claimed
 * (FETCHING, its own cache_fl, so that a reader waits on exactly the
 * block it needs) and brought by one streamed fetch. cur and fill belong
 * to the downloader. */
struct cache_run {
    struct cache_obj *obj;
    uint32_t first, n;
    uint32_t cur;  /* the block whose bytes are arriving */
    size_t fill;   /* its bytes so far */
    int have;      /* one block whose bytes are in memory already (a
                      download an earlier full disk kept): store only */
    int keep;      /* the caller keeps the reference on fl[0] */
    uint64_t t0_us; /* when the request went out; 0 once bytes came */
    struct cache_fl *fl[CACHE_RUN_MAX];
};

struct cache_ent;

struct cache_blk {
    struct cache_ent *ent;
    struct cache_blk *prev, *next; /* [L] global LRU; NULL if not linked */
    struct cache_fl *fl;           /* [L] when FETCHING */
    struct cache_fl *mem;          /* [L] its bytes, still in memory
                                      after the download (one of
                                      cache.memq; also when they could
                                      not be stored), or NULL */
    uint32_t idx;
    uint32_t crc;     /* [L] CRC32C of the block when PRESENT */
    int pins;         /* [L] readers/read_fd holders */
    uint8_t state;    /* [L] enum cache_blk_state */
    uint8_t verified; /* [L] checksum checked this session */
    uint8_t queued;   /* [L] readahead job pending */
    uint8_t checking; /* [L] a thread is verifying it (others wait on
                         cache.vcv rather than read and check it too) */
};

/* One cached media object (key + version), shared by all its handles. */
struct cache_ent {
    struct cache_ent *hnext; /* [L] hash chain (live entries only) */
    char *key;
    char *version;
    char hash[17]; /* directory name under objects/ */
    uint64_t size;
    uint32_t bsize;
    uint32_t nblocks;
    struct cache_blk *blk; /* nblocks entries */
    int refs;              /* [L] handles + running commits */
    int dead;              /* [L] detached: discarded or replaced */
    int fd;                /* [L] data file, -1 until needed */
    int dfd;               /* [L] the same file opened O_DIRECT for block
                              writes, or -1 (unsupported: use fd) */
    unsigned dirty;        /* [L] blocks changed since last commit */
    int commit_queued;     /* [L] a commit job is pending */
    time_t last_commit;    /* [L] */
    uint64_t cached_bytes; /* [L] sum of PRESENT block lengths */
    pthread_mutex_t commit_lock;
};

struct cache_obj {
    struct cache *cache;
    struct cache_ent *ent; /* NULL in pass-through */
    struct cache_source src;
    uint64_t size;
    int refs;          /* [L] caller + queued readahead jobs */
    int released;      /* [L] caller released it */
    uint64_t last_end; /* [L] end of the previous read */
    uint64_t seq_start; /* [L] where the current sequential reading began */
};

#define CACHE_JOB_COMMIT UINT32_MAX /* job: commit the object's meta */
struct cache_job {
    struct cache_obj *obj;
    uint32_t idx;          /* block to prefetch, or CACHE_JOB_COMMIT */
    struct cache_run *run; /* a claimed run to download (owned), or NULL */
};

/* A downloaded block for a writer thread to checksum and store. */
struct cache_wjob {
    struct cache_obj *obj; /* a reference */
    uint32_t idx;
    struct cache_fl *fl;   /* a reference */
    int fetched;           /* bytes from the network (not a kept copy) */
};

/* Test hook: replaces pwrite() for block data (to inject ENOSPC/EIO). */
typedef ssize_t (*cache_pwrite_fn)(int fd, const void *buf, size_t n,
                                   off_t off);
/* Test hook in place of fallocate(fd, 0, off, len): 0 or -1 with errno. */
typedef int (*cache_falloc_fn)(int fd, off_t off, off_t len);

struct cache {
    char *dir;
    char *objdir; /* <dir>/v1/objects */
    char *docdir; /* <dir>/v1/docs */
    int lockfd;
    int passthrough; /* disk unusable since open */
    uint64_t max_bytes;
    uint64_t min_free;
    uint32_t bsize;
    int ra_blocks;
    int run_blocks; /* most blocks a readahead request brings */
    int nworkers;
    cache_pwrite_fn pwrite_hook;
    cache_falloc_fn falloc_hook;

    pthread_mutex_t lock;
    struct cache_ent *tab[CACHE_TAB_SIZE]; /* [L] */
    struct cache_blk lru;  /* [L] sentinel: next = most recent */
    struct cache_stats st; /* [L] counters (bytes_used is live) */
    int warned_disk;       /* [L] disk warning logged once */

    int direct;            /* [L] block writes bypass the page cache */
    atomic_int falloc;     /* allocate before a direct write (until the
                              filesystem says it cannot) */
    /* Blocks whose bytes stay in memory after their download, oldest
     * first: a sequential reader behind readahead takes them from here,
     * not from the disk (block writes use O_DIRECT and leave nothing in
     * the page cache). Each holds a reference on its blk->mem. */
    struct cache_blk *memq[CACHE_MEM_KEEP]; /* [L] */
    int nmem;                               /* [L] */
    /* Idle block-sized download buffers: reusing them spares a fresh
     * mapping (page faults + zeroing) per 2 MiB downloaded. */
    unsigned char *pool[CACHE_POOL];        /* [L] */
    int npool;                              /* [L] */

    pthread_cond_t qcv;                  /* [L] workers wait here */
    pthread_cond_t vcv;                  /* [L] a block check ended */
    struct cache_job q[CACHE_QUEUE_CAP]; /* [L] ring */
    int qhead, qlen;                     /* [L] */
    int stopping;                        /* [L] */
    int nruns;                           /* [L] runs claimed, not done */
    uint32_t rtt_us; /* [L] the media source's time to first byte,
                        smoothed over the last requests (0: none yet) */
    pthread_t *workers;
    int nstarted;
    /* The writers: store downloaded blocks, so that a run's download goes
     * on while its earlier blocks are checksummed and written. */
    pthread_t writer[CACHE_WRITERS];
    int writer_started; /* how many of writer[] run */
    pthread_cond_t wcv;                   /* [L] the writers wait here */
    struct cache_wjob wq[CACHE_WQ_CAP];   /* [L] ring */
    int wqhead, wqlen;                    /* [L] */
    int wstop;                            /* [L] */

    pthread_mutex_t doc_lock; /* serializes doc renames/unlinks */
};

/* Set the pwrite hook (tests only; NULL restores pwrite). */
void cache_set_pwrite_hook(struct cache *cache, cache_pwrite_fn fn);
/* Set the fallocate hook (tests only; NULL restores fallocate). */
void cache_set_falloc_hook(struct cache *cache, cache_falloc_fn fn);

/* ---- cache_util.c ---- */
uint32_t cache_crc32c(uint32_t crc, const void *data, size_t len);
/* The portable implementation (tests compare it with cache_crc32c). */
uint32_t cache_crc32c_portable(uint32_t crc, const void *data, size_t len);
/* 16 hex digits of a 64-bit FNV-1a hash of s, NUL-terminated. */
void cache_hash_hex(const char *s, char out[17]);
/* malloc'd "a/b"; NULL on ENOMEM. */
char *cache_path(const char *a, const char *b);
/* Write iov to path atomically: temp file in the same dir, fsync,
 * rename, fsync dir (durable != 0); without durable, no fsync at all: for
 * content that carries its own checksum, where a crash may cost the file
 * (it then reads as absent) but never serves wrong bytes. 0 or -errno.
 * With lock != NULL the rename is done under it, and skipped (tmp
 * removed, -ESTALE) if *cancel != 0; *existed (may be NULL) tells whether
 * path existed just before the rename. */
struct iovec;
int cache_write_atomic(const char *path, const struct iovec *iov, int iovcnt,
                       pthread_mutex_t *lock, const int *cancel, int *existed,
                       int durable);
/* Read a whole file of at most cap bytes. *out: caller frees. 0/-errno */
int cache_read_all(const char *path, size_t cap, unsigned char **out,
                   size_t *len);
/* Remove path and everything below it (best effort). */
void cache_rm_tree(const char *path);
/* mkdir -p with mode; 0 or -errno. */
int cache_mkdirs(const char *path, mode_t mode);

/* ---- cache.c ---- */
/* Log a disk problem once per cache (caller holds nothing). */
void cache_warn_disk(struct cache *cache, const char *what, int err);

/* ---- cache_docs.c ---- */
/* Count documents, remove temp files left by a crash. 0 or -errno. */
int cache_docs_scan(struct cache *cache);

/* ---- cache_meta.c (object table, metadata) ---- */
int cache_meta_scan(struct cache *cache);
/* Live entry for key or NULL. [L] */
struct cache_ent *cache_ent_find(struct cache *cache, const char *key);
/* Find or create the entry for (key, version, size); a mismatching one
 * is detached. Takes a reference. *created set when new. [L] */
struct cache_ent *cache_ent_get(struct cache *cache, const char *key,
                                const char *version, uint64_t size,
                                int *created);
/* Discard every block of ent and its files; ent becomes dead. [L] */
void cache_ent_detach(struct cache *cache, struct cache_ent *ent);
/* Drop a reference; frees a dead entry at zero. [L] */
void cache_ent_unref(struct cache *cache, struct cache_ent *ent);
/* Data file descriptor, opened on first use; -errno on failure. [L] */
int cache_ent_fd(struct cache *cache, struct cache_ent *ent);
/* Commit ent's metadata (data fdatasync'd first). Takes its own locks. */
int cache_meta_commit(struct cache *cache, struct cache_ent *ent);
/* Commit every dirty entry and free all entries (close time). */
void cache_ents_free_all(struct cache *cache);
uint32_t cache_blk_len(const struct cache_ent *ent, uint32_t idx);

/* ---- cache_lru.c ---- */
void cache_lru_unlink(struct cache *cache, struct cache_blk *b); /* [L] */
/* Keep the bytes fl of the just-stored block b in memory (evicting the
 * oldest kept block beyond CACHE_MEM_KEEP). [L] */
void cache_mem_keep(struct cache *cache, struct cache_blk *b,
                    struct cache_fl *fl);
/* Forget b's in-memory copy, if any. [L] */
void cache_mem_drop(struct cache *cache, struct cache_blk *b);
void cache_lru_touch(struct cache *cache, struct cache_blk *b);  /* [L] */
/* Forget a PRESENT block: accounting, LRU, state MISSING. [L] */
void cache_blk_forget(struct cache *cache, struct cache_blk *b);
/* Reserve room for len bytes, evicting LRU blocks; avail = free bytes on
 * the cache fs measured by the caller. 0 if reserved, -ENOSPC if the
 * free-space floor cannot be kept. [L] */
int cache_reserve(struct cache *cache, uint64_t len, uint64_t avail);

/* ---- cache_blocks.c ---- */
#define CACHE_BLK_DIRECT 2 /* not cacheable now: fetch into the caller */
/* Where a block's bytes are after cache_blk_get: the pinned data file
 * (fd >= 0) or the memory of the download that brought it (fl). */
struct cache_blk_ref {
    int fd;
    struct cache_fl *fl;
};
/* Make block idx readable: 0 (ref filled; release with cache_blk_put),
 * CACHE_BLK_DIRECT, or -errno from the fetch. A missing block is fetched
 * alone. reader != 0 counts hits and misses. No lock held on entry. */
int cache_blk_get(struct cache_obj *obj, uint32_t idx, int reader,
                  struct cache_blk_ref *ref);
void cache_blk_put(struct cache_obj *obj, uint32_t idx,
                   struct cache_blk_ref *ref);
/* Copy n bytes at object offset off (boff inside the block). */
ssize_t cache_blk_pread(struct cache_blk_ref *ref, void *dst, size_t n,
                        off_t off, off_t boff);
/* Fetch exactly len bytes at off through the object's source. */
int cache_fetch_exact(struct cache_obj *obj, uint64_t off, size_t len,
                      void *buf);
void cache_fl_put(struct cache_fl *fl); /* [L] */
/* Claim block idx, MISSING and not in memory, and the blocks after it
 * that are too, up to max blocks in all (and CACHE_RUN_MAX): each becomes
 * FETCHING with its own cache_fl. Returns the number claimed (0 when out
 * of memory). [L] */
uint32_t cache_run_claim(struct cache_obj *obj, uint32_t idx, uint32_t max,
                         struct cache_run *run);
/* Download a claimed run with one fetch. Each block is published to its
 * waiters as soon as its bytes are in, then checksummed and stored. When
 * the fetch fails, the block that was arriving gets its error; the later
 * ones go back to MISSING and their waiters fetch them themselves (but
 * -ESTALE goes to every one: the object is gone). The run's references
 * are dropped, except fl[0]'s with run->keep. Returns the outcome of the
 * first block: 0 or -errno. No lock held on entry. */
int cache_run_fetch(struct cache_run *run);
/* A claimed run that will not be fetched: its blocks go back to MISSING
 * and their waiters look again. No lock held on entry. */
void cache_run_drop(struct cache_run *run);
/* Checksum and store block idx from the bytes of its download fl (done,
 * rc 0; the block still FETCHING), then publish the outcome (PRESENT, or
 * MISSING with the bytes kept in memory) and drop the reference on fl.
 * No lock held on entry. */
void cache_blk_store(struct cache_obj *obj, uint32_t idx,
                     struct cache_fl *fl, int fetched);

/* Block-sized buffers straight from mmap (page-aligned for O_DIRECT):
 * freed ones go back to the system at once instead of lingering in
 * per-thread malloc arenas (which had the daemon peak above 100 MiB). */
void *cache_buf_alloc(size_t cap);
void cache_buf_free(void *p, size_t cap);

/* ---- cache_ra.c (readahead workers) ---- */
int cache_workers_start(struct cache *cache);
/* Stops the workers, then the writers once they have stored what they hold. */
void cache_workers_stop(struct cache *cache);
/* Give block idx's download to the writers (taking over the reference on
 * fl): 0, or -EAGAIN when it has no room (store it yourself). [L] */
int cache_store_schedule(struct cache_obj *obj, uint32_t idx,
                         struct cache_fl *fl, int fetched);
/* Queue readahead of the `window` blocks after `last` for obj (claiming
 * runs of missing blocks, see cache_ra.c). [L] */
void cache_ra_schedule(struct cache_obj *obj, uint32_t last, uint32_t window);
/* Queue a metadata commit of obj's entry, so a reader never waits on the
 * fdatasync. 0, or -EAGAIN when no worker can take it (commit inline). [L]
 */
int cache_commit_schedule(struct cache_obj *obj);
/* Drop one reference of obj; the last one frees it. Takes the lock. */
void cache_obj_unref(struct cache_obj *obj);
/* Download block idx if missing (readahead). No lock held on entry. */
void cache_blk_prefetch(struct cache_obj *obj, uint32_t idx);

#endif
