/* cache_util.c - checksums, hashing and small file helpers of the cache. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cache_int.h"

/* CRC32C (Castagnoli). Every downloaded block is checksummed, and every
 * block claimed by a meta file is re-checksummed on its first read after
 * a mount, so this sits on the streaming path: with SSE4.2 (detected at
 * run time) the crc32 instruction does about 8 bytes per cycle; the
 * portable slicing-by-8 fallback does about 1 GB/s. */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t (*crc_fn)(uint32_t crc, const unsigned char *p, size_t len);

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= crc; /* little-endian hosts (x86-64, arm64) */
        crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
              crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
              crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
              crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define CACHE_CRC_HW 1

/* The crc32 instruction has a latency of 3 cycles and a throughput of 1:
 * three independent streams of CRC_LONG (then CRC_SHORT) bytes run at
 * once and are combined by "shifting" a CRC over the bytes that follow
 * it: a linear operator on the 32-bit CRC, tabulated at init (Mark
 * Adler's method). */
#define CRC_LONG 8192
#define CRC_SHORT 256
static uint32_t crc_long[4][256], crc_short[4][256];

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
    uint32_t sum = 0;

    for (; vec; vec >>= 1, mat++)
        if (vec & 1)
            sum ^= *mat;
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat)
{
    for (int n = 0; n < 32; n++)
        square[n] = gf2_times(mat, mat[n]);
}

/* The operator appending len zero bytes to a CRC, into even[32]. */
static void zeros_op(uint32_t *even, size_t len)
{
    uint32_t odd[32], row = 1;

    odd[0] = 0x82F63B78u; /* one zero bit */
    for (int n = 1; n < 32; n++, row <<= 1)
        odd[n] = row;
    gf2_square(even, odd); /* two zero bits */
    gf2_square(odd, even); /* four */
    do {                   /* 8, 16, ... zero bits, as len says */
        gf2_square(even, odd);
        len >>= 1;
        if (len == 0)
            return;
        gf2_square(odd, even);
        len >>= 1;
    } while (len);
    memcpy(even, odd, sizeof odd);
}

static void zeros_table(uint32_t zeros[4][256], size_t len)
{
    uint32_t op[32];

    zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 0; k < 4; k++)
            zeros[k][n] = gf2_times(op, n << (8 * k));
}

static uint32_t crc_shift(uint32_t zeros[4][256], uint32_t crc)
{
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^
           zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

/* Three streams of `chunk` bytes each, while len allows. */
__attribute__((target("sse4.2"))) static uint64_t
crc_hw3(uint64_t c0, const unsigned char **pp, size_t *lenp, size_t chunk,
        uint32_t zeros[4][256])
{
    const unsigned char *p = *pp;

    while (*lenp >= 3 * chunk) {
        uint64_t c1 = 0, c2 = 0, a, b, d;
        for (const unsigned char *end = p + chunk; p < end; p += 8) {
            memcpy(&a, p, 8);
            memcpy(&b, p + chunk, 8);
            memcpy(&d, p + 2 * chunk, 8);
            c0 = _mm_crc32_u64(c0, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, d);
        }
        c0 = crc_shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;
        c0 = crc_shift(zeros, (uint32_t)c0) ^ (uint32_t)c2;
        p += 2 * chunk;
        *lenp -= 3 * chunk;
    }
    *pp = p;
    return c0;
}

__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
    uint64_t c = crc;

    c = crc_hw3(c, &p, &len, CRC_LONG, crc_long);
    c = crc_hw3(c, &p, &len, CRC_SHORT, crc_short);
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c;
    while (len--)
        crc = _mm_crc32_u8(crc, *p++);
    return crc;
}
#endif

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] =
                (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
    crc_fn = crc_sw;
#ifdef CACHE_CRC_HW
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2") && !getenv("RECFS_CRC_SOFT")) {
        zeros_table(crc_long, CRC_LONG);
        zeros_table(crc_short, CRC_SHORT);
        crc_fn = crc_hw;
    }
#endif
}

uint32_t cache_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_fn(~crc, data, len);
}

uint32_t cache_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, data, len);
}

void cache_hash_hex(const char *s, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

char *cache_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);

    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static int write_iov_all(int fd, const struct iovec *iov, int iovcnt)
{
    for (int i = 0; i < iovcnt; i++) {
        const char *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left > 0) {
            ssize_t n = write(fd, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -errno;
            p += n;
            left -= (size_t)n;
        }
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    char *copy = strdup(path);
    int fd;

    if (!copy)
        return;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

int cache_write_atomic(const char *path, const struct iovec *iov, int iovcnt,
                       pthread_mutex_t *lock, const int *cancel, int *existed,
                       int durable)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    int fd, rc;

    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = write_iov_all(fd, iov, iovcnt);
    if (rc == 0 && durable && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0) {
        if (lock)
            pthread_mutex_lock(lock);
        if (existed)
            *existed = access(path, F_OK) == 0;
        if (cancel && *cancel)
            rc = -ESTALE;
        else if (rename(tmp, path) != 0)
            rc = -errno;
        if (lock)
            pthread_mutex_unlock(lock);
    }
    if (rc != 0)
        unlink(tmp);
    else if (durable)
        fsync_parent(path);
out:
    free(tmp);
    return rc;
}

int cache_read_all(const char *path, size_t cap, unsigned char **out,
                   size_t *len)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    *out = NULL;
    *len = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (size_t)st.st_size > cap) {
        rc = -EFBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto out;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

void cache_rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;

    if (!d) {
        (void)unlink(path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *sub = cache_path(path, de->d_name);
        if (sub) {
            cache_rm_tree(sub);
            free(sub);
        }
    }
    closedir(d);
    (void)rmdir(path);
}

int cache_mkdirs(const char *path, mode_t mode)
{
    char *copy = strdup(path);
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) != 0 && errno != EEXIST) {
            rc = -errno;
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return rc;
}
