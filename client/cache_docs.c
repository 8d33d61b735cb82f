/* cache_docs.c - documents and listings: one file per key under
 * <dir>/v1/docs/<FNV-1a-64(key)>, replaced by temp + rename (no fsync:
 * the checksum below turns a file torn by a crash into an absent one).
 *
 * File: struct doc_hdr, key bytes, data bytes, uint32 CRC32C of all the
 * preceding bytes. The key inside the file guards against hash
 * collisions: a file holding another key reads as absent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cache_int.h"
#include "log.h"

#define DOC_MAGIC "RECFSD1\n"

struct doc_hdr {
    char magic[8];
    uint32_t keylen;
    uint32_t reserved;
    uint64_t datalen;
    int64_t stored_at;
};

static char *doc_path(struct cache *cache, const char *key)
{
    char hash[17];

    cache_hash_hex(key, hash);
    return cache_path(cache->docdir, hash);
}

int cache_doc_put(struct cache *cache, const char *key, const void *data,
                  size_t len)
{
    struct doc_hdr h = {.keylen = (uint32_t)strlen(key),
                        .datalen = len,
                        .stored_at = (int64_t)time(NULL)};
    struct iovec iov[4];
    char *path;
    uint32_t crc;
    int rc, existed = 1;

    if (cache->passthrough)
        return -EROFS;
    if (len > CACHE_DOC_MAX)
        return -EFBIG;
    path = doc_path(cache, key);
    if (!path)
        return -ENOMEM;
    memcpy(h.magic, DOC_MAGIC, 8);
    crc = cache_crc32c(0, &h, sizeof h);
    crc = cache_crc32c(crc, key, h.keylen);
    crc = cache_crc32c(crc, data, len);
    iov[0] = (struct iovec){.iov_base = &h, .iov_len = sizeof h};
    iov[1] = (struct iovec){.iov_base = (void *)key, .iov_len = h.keylen};
    iov[2] = (struct iovec){.iov_base = (void *)data, .iov_len = len};
    iov[3] = (struct iovec){.iov_base = &crc, .iov_len = 4};
    /* no fsync: the CRC makes a torn file read as absent, and a document
     * is a cached copy (100 listing pages must not cost 200 fsyncs) */
    rc = cache_write_atomic(path, iov, 4, &cache->doc_lock, NULL, &existed,
                            0);
    if (rc == 0 && !existed) {
        pthread_mutex_lock(&cache->lock);
        cache->st.doc_entries++;
        pthread_mutex_unlock(&cache->lock);
    }
    if (rc != 0)
        cache_warn_disk(cache, "writing a document", -rc);
    free(path);
    return rc;
}

/* Validate a document file; on success *payload points into buf. */
static int doc_decode(const unsigned char *buf, size_t n, const char *key,
                      const unsigned char **payload, struct doc_hdr *h)
{
    uint32_t crc;

    if (n < sizeof *h + 4)
        return -ENOENT;
    memcpy(h, buf, sizeof *h);
    memcpy(&crc, buf + n - 4, 4);
    if (memcmp(h->magic, DOC_MAGIC, 8) != 0 ||
        n != sizeof *h + (size_t)h->keylen + h->datalen + 4 ||
        crc != cache_crc32c(0, buf, n - 4))
        return -ENOENT;
    if (h->keylen != strlen(key) ||
        memcmp(buf + sizeof *h, key, h->keylen) != 0)
        return -ENOENT; /* another key with the same hash */
    *payload = buf + sizeof *h + h->keylen;
    return 0;
}

int cache_doc_get(struct cache *cache, const char *key, char **data,
                  size_t *len, time_t *stored_at)
{
    char *path = doc_path(cache, key);
    const unsigned char *payload;
    unsigned char *buf = NULL;
    struct doc_hdr h;
    size_t n;
    int rc;

    *data = NULL;
    *len = 0;
    if (!path)
        return -ENOMEM;
    rc = cache_read_all(path, CACHE_DOC_MAX + 4096, &buf, &n);
    if (rc == 0)
        rc = doc_decode(buf, n, key, &payload, &h);
    if (rc == 0) {
        *data = malloc(h.datalen + 1);
        if (!*data) {
            rc = -ENOMEM;
            goto out;
        }
        memcpy(*data, payload, h.datalen);
        (*data)[h.datalen] = '\0';
        *len = h.datalen;
        if (stored_at)
            *stored_at = (time_t)h.stored_at;
    } else if (rc != -ENOMEM) {
        rc = -ENOENT;
    }
out:
    free(buf);
    free(path);
    return rc;
}

/* The key stored in a document file (caller frees), or NULL. */
static char *doc_key(const char *path)
{
    struct doc_hdr h;
    char *key = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
        !memcmp(h.magic, DOC_MAGIC, 8) && h.keylen < 65536) {
        key = malloc((size_t)h.keylen + 1);
        if (key && pread(fd, key, h.keylen, sizeof h) != (ssize_t)h.keylen) {
            free(key);
            key = NULL;
        } else if (key) {
            key[h.keylen] = '\0';
        }
    }
    close(fd);
    return key;
}

/* Unlink path if its key matches (exactly, or as a prefix). [doc_lock] */
static void drop_file(struct cache *cache, const char *path, const char *key,
                      int prefix)
{
    char *k = doc_key(path);
    int match = k && (prefix ? !strncmp(k, key, strlen(key)) : !strcmp(k, key));

    if (match && unlink(path) == 0) {
        pthread_mutex_lock(&cache->lock);
        if (cache->st.doc_entries > 0)
            cache->st.doc_entries--;
        pthread_mutex_unlock(&cache->lock);
    }
    free(k);
}

void cache_doc_drop(struct cache *cache, const char *key, int prefix)
{
    DIR *d;
    struct dirent *de;
    char *path;

    pthread_mutex_lock(&cache->doc_lock);
    if (!prefix) {
        path = doc_path(cache, key);
        if (path)
            drop_file(cache, path, key, 0);
        free(path);
        goto out;
    }
    d = opendir(cache->docdir);
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
            continue;
        path = cache_path(cache->docdir, de->d_name);
        if (path)
            drop_file(cache, path, key, 1);
        free(path);
    }
    if (d)
        closedir(d);
out:
    pthread_mutex_unlock(&cache->doc_lock);
}

int cache_docs_scan(struct cache *cache)
{
    DIR *d = opendir(cache->docdir);
    struct dirent *de;

    if (!d)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (!strstr(de->d_name, ".tmp.")) {
            cache->st.doc_entries++;
            continue;
        }
        char *p = cache_path(cache->docdir, de->d_name);
        if (p)
            (void)unlink(p);
        free(p);
    }
    closedir(d);
    return 0;
}
