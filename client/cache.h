/* cache.h - the persistent disk cache of recfs (media blocks + documents).
 *
 * Knows neither FUSE nor HTTP: media bytes come from a fetch callback the
 * caller supplies. Thread-safe: every function may be called from any
 * thread. One mount per cache directory (flock). Layout is versioned;
 * crash-safe (data before the metadata that claims it; metadata committed
 * by temp file + fsync + rename; block checksums verified after a crash:
 * unverifiable blocks are refetched, never served).
 *
 * Errors are negative errno values; 0 is success.
 */
#ifndef RECFS_CACHE_H
#define RECFS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct cache;
struct cache_obj;

struct cache_config {
    const char *dir;         /* created 0700 if missing; CACHEDIR.TAG */
    uint64_t max_bytes;      /* byte cap (default 2 GiB when 0) */
    uint64_t min_free_bytes; /* free-space floor on the cache fs
                                (0 = 5 % of the filesystem) */
    uint32_t block_size;     /* 0 = the measured default (see cache.c) */
    int readahead_blocks;    /* blocks fetched ahead for sequential
                                readers, twice that once a reader has
                                read that many in order (0 = default) */
    int run_blocks;          /* most blocks one readahead request
                                brings (0 = default, 1 = one a request) */
    int workers;             /* background download workers (0 = def.) */
    int clear;               /* empty the cache directory at open */
};

/* Open (and lock) a cache directory. Returns NULL with a message in
 * errbuf when the directory cannot be created/locked (e.g. "cache
 * directory /x is in use by another recfs mount"). An unwritable or
 * full cache directory is NOT an error here: the cache then runs
 * pass-through (reads go to the network) and logs a warning once. */
struct cache *cache_open(const struct cache_config *cfg, char *errbuf,
                         size_t errlen);
/* Stops workers, waits for in-flight writes, commits metadata, unlocks. */
void cache_close(struct cache *cache);

/* ---- Documents and listings (small blobs, keyed by string) ---- */

/* Store data under key (replaces), stamped with the current time. */
int cache_doc_put(struct cache *cache, const char *key, const void *data,
                  size_t len);
/* Fetch a copy: *data (caller frees with free(); NUL-terminated for
 * convenience), *len, *stored_at. -ENOENT if absent. */
int cache_doc_get(struct cache *cache, const char *key, char **data,
                  size_t *len, time_t *stored_at);
/* Drop key; with prefix != 0 drop every key starting with key. */
void cache_doc_drop(struct cache *cache, const char *key, int prefix);

/* ---- Media objects (block cache) ---- */

/* Receives the bytes of a fetch as they arrive, in order, in pieces of
 * any size. Returns 0 to go on, or -errno to stop the fetch. */
typedef int (*cache_sink_fn)(void *sink_arg, const void *data, size_t len);

/* Fetch [off, off+len) and hand every byte of it to sink, in order and
 * once each, as soon as it arrives (a source that retries resumes after
 * the bytes already handed over). The range may span several blocks: the
 * cache publishes each block as its last byte arrives, so one request
 * serves a run of blocks. Returns 0 when the whole range was handed over
 * (less only at the end of the object), or -errno: the sink's own error
 * when it stopped the fetch, -ESTALE when the object changed on the
 * server (the cache discards this version); the bytes handed over before
 * an error stay valid. Called from reader threads and from background
 * workers, concurrently; must be thread-safe. */
typedef int (*cache_fetch_fn)(void *arg, uint64_t off, size_t len,
                              cache_sink_fn sink, void *sink_arg);

struct cache_source {
    cache_fetch_fn fetch;
    void *arg;                    /* passed to fetch */
    void (*arg_free)(void *arg);  /* called once the object is released
                                     and no fetch is running; may be NULL */
};

/* Open a media object identified by key (e.g. "<org>/recording/<id>/WAV")
 * at server version `version` (ETag; a different version than the cached
 * one discards the old blocks) and total size `size` (bytes, exact).
 * Takes ownership of src->arg (arg_free called even on failure).
 * Returns NULL only on ENOMEM (*errp = -ENOMEM). Caller releases with
 * cache_obj_release(). */
struct cache_obj *cache_obj_open(struct cache *cache, const char *key,
                                 const char *version, uint64_t size,
                                 const struct cache_source *src, int *errp);
void cache_obj_release(struct cache_obj *obj);
/* The last version and size recorded for key (persisted across mounts),
 * so cached media stays readable offline. *version: caller frees.
 * 0 or -ENOENT. */
int cache_obj_lookup(struct cache *cache, const char *key, char **version,
                     uint64_t *size);
uint64_t cache_obj_size(const struct cache_obj *obj);

/* Read up to len bytes at off into buf. Cached blocks are served without
 * waiting on any download; a missing block is fetched alone (exactly once
 * across all readers; others wait on it) and readahead is started for
 * sequential readers: it fetches runs of up to run_blocks missing blocks
 * with one request each, every block readable as soon as its own bytes
 * have arrived. Returns bytes read (0 at EOF) or -errno (-EIO, -ETIMEDOUT,
 * -ESTALE, ...). No lock is held across network I/O. */
ssize_t cache_obj_read(struct cache_obj *obj, void *buf, size_t len,
                       uint64_t off);

/* Zero-copy variant: make sure the block holding off is cached, then give
 * a file descriptor and offset the caller may pread/splice from, for up to
 * *avail bytes (within that block). The block stays pinned until
 * cache_obj_unpin(obj, off). Returns 0 or -errno; -ENOSYS (use
 * cache_obj_read) when the cache is pass-through, or when the block's
 * bytes are still in memory after their download (block writes bypass
 * the page cache, so copying them beats reading the disk). */
int cache_obj_read_fd(struct cache_obj *obj, uint64_t off, int *fd,
                      off_t *fd_off, size_t *avail);
void cache_obj_unpin(struct cache_obj *obj, uint64_t off);

/* Zero-copy, both kinds: make sure the block holding off is available and
 * point at its bytes from off (r->avail bytes, within that block), either
 * on disk (r->fd >= 0, r->fd_off: pinned as by cache_obj_read_fd) or in
 * memory (r->mem: a download, or a block kept in memory after one; the
 * bytes stay valid and unchanged until the put). r->avail == 0 at EOF.
 * Returns 0 or -errno; -ENOSYS when the cache is pass-through. Every 0
 * return is ended by cache_obj_ref_put(obj, off, r). */
struct cache_ref {
    int fd;
    off_t fd_off;
    const unsigned char *mem;
    size_t avail;
    void *hold; /* private */
};
int cache_obj_read_ref(struct cache_obj *obj, uint64_t off,
                       struct cache_ref *r);
void cache_obj_ref_put(struct cache_obj *obj, uint64_t off,
                       struct cache_ref *r);

/* Bytes of this object present in the cache (xattr user.recfs.cached). */
uint64_t cache_obj_cached_bytes(struct cache_obj *obj);
/* Same, by key, without opening (0 if unknown). */
uint64_t cache_cached_bytes(struct cache *cache, const char *key);

/* ---- Statistics ---- */
struct cache_stats {
    uint64_t hits;            /* block reads served from disk */
    uint64_t misses;          /* block reads that needed a download */
    uint64_t bytes_downloaded;
    uint64_t bytes_served;    /* bytes served from cache */
    uint64_t evictions;       /* blocks evicted */
    uint64_t in_flight;       /* downloads running now */
    uint64_t bytes_used;      /* bytes on disk now */
    uint64_t max_bytes;
    uint64_t doc_entries;
    uint64_t checked;         /* blocks of an earlier mount checksummed */
    int passthrough;          /* 1 when the disk is unusable */
};
void cache_get_stats(struct cache *cache, struct cache_stats *out);

#endif
