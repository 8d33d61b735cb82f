/* cache_meta.c - the table of cached objects and their metadata files.
 *
 * meta file (host byte order; written by temp + fsync + rename, after an
 * fdatasync of the data file, so it never claims bytes not on disk):
 *   struct meta_hdr, key bytes, version bytes, uint32 crc[nblocks],
 *   presence bitmap ((nblocks + 7) / 8 bytes), uint32 CRC32C of all the
 *   preceding bytes.
 * A block claimed by a meta file is trusted only after its CRC32C is
 * recomputed from the data file (lazily, on its first read), so a crash,
 * a punched hole or a flipped bit costs a refetch, never wrong bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cache_int.h"
#include "log.h"

#define META_MAGIC "RECFSM1\n"
#define META_FMT 1u

struct meta_hdr {
    char magic[8];
    uint32_t fmt;
    uint32_t bsize;
    uint64_t size;
    uint32_t nblocks;
    uint32_t keylen;
    uint32_t verlen;
    uint32_t reserved;
};

uint32_t cache_blk_len(const struct cache_ent *ent, uint32_t idx)
{
    uint64_t off = (uint64_t)idx * ent->bsize;
    uint64_t left = ent->size - off;

    return left < ent->bsize ? (uint32_t)left : ent->bsize;
}

static unsigned bucket(const char *key)
{
    unsigned h = 5381;

    for (; *key; key++)
        h = h * 33 + (unsigned char)*key;
    return h % CACHE_TAB_SIZE;
}

static void ent_close_fds(struct cache_ent *ent)
{
    if (ent->fd >= 0)
        close(ent->fd);
    if (ent->dfd >= 0)
        close(ent->dfd);
    ent->fd = ent->dfd = -1;
}

static void ent_free(struct cache_ent *ent)
{
    if (!ent)
        return;
    ent_close_fds(ent);
    pthread_mutex_destroy(&ent->commit_lock);
    free(ent->blk);
    free(ent->key);
    free(ent->version);
    free(ent);
}

static struct cache_ent *ent_new(const char *key, const char *version,
                                 uint64_t size, uint32_t bsize)
{
    struct cache_ent *ent = calloc(1, sizeof *ent);
    uint64_t nblocks = (size + bsize - 1) / bsize;

    if (!ent)
        return NULL;
    ent->fd = ent->dfd = -1;
    pthread_mutex_init(&ent->commit_lock, NULL);
    ent->key = strdup(key);
    ent->version = strdup(version);
    ent->size = size;
    ent->bsize = bsize;
    ent->nblocks = (uint32_t)nblocks;
    ent->blk = calloc(nblocks ? nblocks : 1, sizeof *ent->blk);
    if (!ent->key || !ent->version || !ent->blk || nblocks > UINT32_MAX) {
        ent_free(ent);
        return NULL;
    }
    for (uint32_t i = 0; i < ent->nblocks; i++) {
        ent->blk[i].ent = ent;
        ent->blk[i].idx = i;
    }
    cache_hash_hex(key, ent->hash);
    return ent;
}

static void tab_insert(struct cache *cache, struct cache_ent *ent)
{
    unsigned b = bucket(ent->key);

    ent->hnext = cache->tab[b];
    cache->tab[b] = ent;
}

static void tab_remove(struct cache *cache, struct cache_ent *ent)
{
    for (struct cache_ent **pp = &cache->tab[bucket(ent->key)]; *pp;
         pp = &(*pp)->hnext) {
        if (*pp == ent) {
            *pp = ent->hnext;
            ent->hnext = NULL;
            return;
        }
    }
}

struct cache_ent *cache_ent_find(struct cache *cache, const char *key)
{
    for (struct cache_ent *e = cache->tab[bucket(key)]; e; e = e->hnext)
        if (!strcmp(e->key, key))
            return e;
    return NULL;
}

/* A live entry of another key sharing key's directory (hash collision). */
static struct cache_ent *find_by_hash(struct cache *cache, const char *hash)
{
    for (int b = 0; b < CACHE_TAB_SIZE; b++)
        for (struct cache_ent *e = cache->tab[b]; e; e = e->hnext)
            if (!strcmp(e->hash, hash))
                return e;
    return NULL;
}

static void unlink_in(struct cache *cache, const char *hash, const char *name)
{
    char *dir = cache_path(cache->objdir, hash);
    char *path = dir ? cache_path(dir, name) : NULL;

    if (path)
        (void)unlink(path);
    free(path);
    free(dir);
}

void cache_ent_detach(struct cache *cache, struct cache_ent *ent)
{
    if (ent->dead)
        return;
    tab_remove(cache, ent);
    for (uint32_t i = 0; i < ent->nblocks; i++) {
        cache_mem_drop(cache, &ent->blk[i]);
        if (ent->blk[i].state == CACHE_BLK_PRESENT)
            cache_blk_forget(cache, &ent->blk[i]);
    }
    /* Open fds keep the old inode readable for pinned readers. */
    unlink_in(cache, ent->hash, "meta");
    unlink_in(cache, ent->hash, "data");
    ent->dead = 1;
    if (ent->refs == 0)
        ent_free(ent);
}

void cache_ent_unref(struct cache *cache, struct cache_ent *ent)
{
    (void)cache;
    if (--ent->refs > 0)
        return;
    if (ent->dead) {
        ent_free(ent);
    } else {
        ent_close_fds(ent);
    }
}

struct cache_ent *cache_ent_get(struct cache *cache, const char *key,
                                const char *version, uint64_t size,
                                int *created)
{
    struct cache_ent *ent = cache_ent_find(cache, key);
    struct cache_ent *other;

    *created = 0;
    if (ent && (strcmp(ent->version, version) != 0 || ent->size != size)) {
        log_debug("cache: %s changed version, discarding cached blocks",
                  ent->hash);
        cache_ent_detach(cache, ent);
        ent = NULL;
    }
    if (!ent) {
        ent = ent_new(key, version, size, cache->bsize);
        if (!ent)
            return NULL;
        other = find_by_hash(cache, ent->hash);
        if (other)
            cache_ent_detach(cache, other);
        tab_insert(cache, ent);
        *created = 1;
    }
    ent->refs++;
    return ent;
}

/* The O_DIRECT twin of the data file (block writes that leave nothing
 * behind in the page cache); -1 when the filesystem refuses O_DIRECT,
 * which then stays off for this cache. [L] */
static void open_direct(struct cache *cache, struct cache_ent *ent,
                        const char *path)
{
    if (!cache->direct || ent->dfd >= 0)
        return;
    ent->dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (ent->dfd < 0 && errno == EINVAL) {
        log_debug("cache: %s does not support O_DIRECT; buffered writes",
                  cache->dir);
        cache->direct = 0;
    }
    if (ent->dfd < 0)
        ent->dfd = -1;
}

int cache_ent_fd(struct cache *cache, struct cache_ent *ent)
{
    char *dir, *path;

    if (ent->fd >= 0)
        return ent->fd;
    dir = cache_path(cache->objdir, ent->hash);
    path = dir ? cache_path(dir, "data") : NULL;
    if (!path) {
        free(dir);
        return -ENOMEM;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        ent->fd = -errno;
    else
        ent->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ent->fd < 0) {
        int rc = ent->fd == -1 ? -errno : ent->fd;
        ent->fd = -1;
        free(path);
        free(dir);
        return rc;
    }
    open_direct(cache, ent, path);
    free(path);
    free(dir);
    return ent->fd;
}

/* Serialize ent's claims into one buffer. [L] *len set; caller frees. */
static unsigned char *meta_encode(const struct cache_ent *ent, size_t *len)
{
    struct meta_hdr h = {.fmt = META_FMT,
                         .bsize = ent->bsize,
                         .size = ent->size,
                         .nblocks = ent->nblocks};
    size_t bm = ((size_t)ent->nblocks + 7) / 8;
    size_t n, pos;
    unsigned char *buf;
    uint32_t crc;

    memcpy(h.magic, META_MAGIC, 8);
    h.keylen = (uint32_t)strlen(ent->key);
    h.verlen = (uint32_t)strlen(ent->version);
    n = sizeof h + h.keylen + h.verlen + 4 * (size_t)ent->nblocks + bm + 4;
    buf = calloc(1, n);
    if (!buf)
        return NULL;
    memcpy(buf, &h, sizeof h);
    pos = sizeof h;
    memcpy(buf + pos, ent->key, h.keylen);
    pos += h.keylen;
    memcpy(buf + pos, ent->version, h.verlen);
    pos += h.verlen;
    for (uint32_t i = 0; i < ent->nblocks; i++) {
        const struct cache_blk *b = &ent->blk[i];
        uint32_t c = b->state == CACHE_BLK_PRESENT ? b->crc : 0;
        memcpy(buf + pos + 4 * (size_t)i, &c, 4);
        if (b->state == CACHE_BLK_PRESENT)
            buf[pos + 4 * (size_t)ent->nblocks + i / 8] |= 1u << (i % 8);
    }
    pos += 4 * (size_t)ent->nblocks + bm;
    crc = cache_crc32c(0, buf, pos);
    memcpy(buf + pos, &crc, 4);
    *len = n;
    return buf;
}

int cache_meta_commit(struct cache *cache, struct cache_ent *ent)
{
    struct iovec iov;
    unsigned char *buf;
    size_t len = 0;
    char *dir = cache_path(cache->objdir, ent->hash);
    char *path = dir ? cache_path(dir, "meta") : NULL;
    int fd, rc;

    pthread_mutex_lock(&ent->commit_lock);
    pthread_mutex_lock(&cache->lock);
    ent->refs++;
    buf = path && !ent->dead ? meta_encode(ent, &len) : NULL;
    fd = ent->fd;
    if (buf) {
        ent->dirty = 0;
        ent->last_commit = time(NULL);
    }
    if (buf && mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = -errno;
    else
        rc = buf ? 0 : (ent->dead ? -ESTALE : -ENOMEM);
    pthread_mutex_unlock(&cache->lock);

    if (rc == 0 && fd >= 0 && fdatasync(fd) != 0)
        rc = -errno; /* data first: never claim unsynced blocks */
    if (rc == 0) {
        iov.iov_base = buf;
        iov.iov_len = len;
        rc = cache_write_atomic(path, &iov, 1, &cache->lock, &ent->dead, NULL,
                                1);
    }
    pthread_mutex_unlock(&ent->commit_lock); /* our ref keeps ent */
    pthread_mutex_lock(&cache->lock);
    if (rc != 0 && rc != -ESTALE && buf)
        ent->dirty++;
    cache_ent_unref(cache, ent);
    pthread_mutex_unlock(&cache->lock);
    if (rc != 0 && rc != -ESTALE && rc != -ENOMEM)
        cache_warn_disk(cache, "writing metadata", -rc);
    free(buf);
    free(path);
    free(dir);
    return rc;
}

/* Parse a meta file; NULL if it is damaged or of another format. */
static struct cache_ent *meta_decode(const unsigned char *buf, size_t len)
{
    struct meta_hdr h;
    struct cache_ent *ent = NULL;
    char *key = NULL, *ver = NULL;
    uint32_t crc;
    size_t bm, pos;

    if (len < sizeof h + 4)
        return NULL;
    memcpy(&h, buf, sizeof h);
    memcpy(&crc, buf + len - 4, 4);
    if (memcmp(h.magic, META_MAGIC, 8) != 0 || h.fmt != META_FMT ||
        h.bsize == 0 || crc != cache_crc32c(0, buf, len - 4) ||
        (h.size + h.bsize - 1) / h.bsize != h.nblocks)
        return NULL;
    bm = ((size_t)h.nblocks + 7) / 8;
    if (len !=
        sizeof h + (size_t)h.keylen + h.verlen + 4 * (size_t)h.nblocks + bm + 4)
        return NULL;
    pos = sizeof h;
    key = strndup((const char *)buf + pos, h.keylen);
    ver = strndup((const char *)buf + pos + h.keylen, h.verlen);
    if (key && ver && strlen(key) == h.keylen && strlen(ver) == h.verlen)
        ent = ent_new(key, ver, h.size, h.bsize);
    pos += (size_t)h.keylen + h.verlen;
    for (uint32_t i = 0; ent && i < h.nblocks; i++) {
        if (!(buf[pos + 4 * (size_t)h.nblocks + i / 8] & (1u << (i % 8))))
            continue;
        memcpy(&ent->blk[i].crc, buf + pos + 4 * (size_t)i, 4);
        ent->blk[i].state = CACHE_BLK_PRESENT;
    }
    free(key);
    free(ver);
    return ent;
}

/* Load <objdir>/<name>/meta; remove the directory if it is not valid. */
static struct cache_ent *scan_one(struct cache *cache, const char *name,
                                  time_t *mtime)
{
    char *dir = cache_path(cache->objdir, name);
    char *path = dir ? cache_path(dir, "meta") : NULL;
    struct cache_ent *ent = NULL;
    unsigned char *buf = NULL;
    struct stat st;
    size_t len;

    if (path && cache_read_all(path, CACHE_META_MAX, &buf, &len) == 0)
        ent = meta_decode(buf, len);
    if (ent && strcmp(ent->hash, name) != 0) {
        ent_free(ent);
        ent = NULL;
    }
    if (ent && stat(path, &st) == 0)
        *mtime = st.st_mtime;
    if (!ent && dir)
        cache_rm_tree(dir);
    free(buf);
    free(path);
    free(dir);
    return ent;
}

/* Temp files left by a crash mid-commit. */
static void remove_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".tmp."))
            continue;
        char *p = cache_path(dir, de->d_name);
        if (p)
            (void)unlink(p);
        free(p);
    }
    closedir(d);
}

struct scanned {
    struct cache_ent *ent;
    time_t mtime;
};

static int by_mtime(const void *a, const void *b)
{
    const struct scanned *x = a, *y = b;

    return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

/* Enter scanned entries oldest first, so the LRU order survives a mount. */
static void adopt(struct cache *cache, struct scanned *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, by_mtime);
    for (size_t k = 0; k < n; k++) {
        struct cache_ent *ent = v[k].ent;
        tab_insert(cache, ent);
        for (uint32_t i = 0; i < ent->nblocks; i++) {
            if (ent->blk[i].state != CACHE_BLK_PRESENT)
                continue;
            cache_lru_touch(cache, &ent->blk[i]);
            ent->cached_bytes += cache_blk_len(ent, i);
        }
        cache->st.bytes_used += ent->cached_bytes;
    }
}

int cache_meta_scan(struct cache *cache)
{
    DIR *d = opendir(cache->objdir);
    struct scanned *v = NULL, *nv;
    size_t n = 0, cap = 0;
    struct dirent *de;

    if (!d)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *sub = cache_path(cache->objdir, de->d_name);
        if (sub)
            remove_tmp_files(sub);
        free(sub);
        time_t mtime = 0;
        struct cache_ent *ent = scan_one(cache, de->d_name, &mtime);
        if (!ent)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                ent_free(ent);
                break;
            }
            v = nv;
        }
        v[n].ent = ent;
        v[n++].mtime = mtime;
    }
    closedir(d);
    adopt(cache, v, n);
    free(v);
    return 0;
}

void cache_ents_free_all(struct cache *cache)
{
    while (cache->nmem > 0)
        cache_mem_drop(cache, cache->memq[0]);
    for (int b = 0; b < CACHE_TAB_SIZE; b++) {
        struct cache_ent *ent;
        while ((ent = cache->tab[b]) != NULL) {
            if (ent->dirty && !cache->passthrough)
                (void)cache_meta_commit(cache, ent);
            cache->tab[b] = ent->hnext;
            if (ent->refs > 0)
                log_warn("cache: object %s still open at close", ent->hash);
            ent_free(ent);
        }
    }
}
