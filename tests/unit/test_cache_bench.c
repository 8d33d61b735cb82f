/* test_cache_bench.c - throughput of the cache (skipped unless
 * RECFS_BENCH=1; build without sanitizers for meaningful numbers).
 *   1. memcpy and warm pread baselines, 256 MiB in 128 KiB reads;
 *   2. cold and warm reads of a 256 MiB object through the cache with an
 *      in-memory fetch (copy path and read_fd path);
 *   3. block sizes 1/2/4/8 MiB against a fetch that models a remote
 *      server: TTFB per request + per-request bandwidth;
 *   4. with RECFS_BENCH_URL=<media URL> RECFS_BENCH_SIZE=<bytes>: the same
 *      object over HTTP Range GETs (libcurl, e.g. the emulator), against
 *      one plain GET of the whole URL.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "testdata.h"
#include "cache_int.h"

#define MIB (1024.0 * 1024.0)
#define RD (128u << 10)

struct src {
    const unsigned char *data;
    uint64_t size;
    int ttfb_us;     /* per request */
    double mb_per_s; /* per request, 0 = unlimited */
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mem_fetch(void *arg, uint64_t off, size_t len, cache_sink_fn sink,
                     void *sink_arg)
{
    struct src *s = arg;

    if (len > s->size - off)
        len = (size_t)(s->size - off);
    if (s->ttfb_us || s->mb_per_s > 0) {
        double us =
            s->ttfb_us +
            (s->mb_per_s > 0 ? (double)len / (s->mb_per_s * 1e6) * 1e6 : 0);
        usleep((useconds_t)us);
    }
    return sink(sink_arg, s->data + off, len);
}

static struct cache *bench_cache(const char *dir, uint32_t bs)
{
    struct cache_config cfg = {
        .dir = dir, .max_bytes = 1ull << 30, .block_size = bs, .clear = 1};
    struct cache *c = test_cache_open(&cfg);

    return c;
}

/* Sequential 128 KiB reads of the whole object; returns MB/s and sets
 * *first to the latency of the first read. */
static double seq_read(struct cache_obj *o, uint64_t size, unsigned char *buf,
                       int use_fd, double *first)
{
    double t0 = now();

    for (uint64_t off = 0; off < size; off += RD) {
        if (use_fd) {
            int fd;
            off_t fo;
            size_t avail;
            if (cache_obj_read_fd(o, off, &fd, &fo, &avail) != 0 ||
                pread(fd, buf, avail < RD ? avail : RD, fo) < 0)
                return -1;
            cache_obj_unpin(o, off);
        } else if (cache_obj_read(o, buf, RD, off) <= 0) {
            return -1;
        }
        if (off == 0 && first)
            *first = now() - t0;
    }
    return (double)size / MIB / (now() - t0);
}

static void baselines(const unsigned char *data, uint64_t size,
                      unsigned char *buf, const char *dir)
{
    char path[256];
    double t0 = now();
    int fd;

    for (uint64_t off = 0; off < size; off += RD)
        memcpy(buf, data + off, RD);
    printf("memcpy            %8.0f MB/s\n", size / MIB / (now() - t0));
    snprintf(path, sizeof path, "%s/plain", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        return;
    t0 = now();
    for (uint64_t off = 0; off < size; off += RD)
        if (pread(fd, buf, RD, (off_t)off) < 0)
            break;
    printf("pread (warm file) %8.0f MB/s\n", size / MIB / (now() - t0));
    close(fd);
    unlink(path);
}

static void through_cache(const char *dir, struct src *s, unsigned char *buf)
{
    struct cache *c = bench_cache(dir, 0);
    struct cache_source cs = {.fetch = mem_fetch, .arg = s};
    struct cache_obj *o;
    int e;

    if (!c)
        return;
    o = cache_obj_open(c, "bench/256", "v1", s->size, &cs, &e);
    printf("cache cold        %8.0f MB/s\n", seq_read(o, s->size, buf, 0, 0));
    printf("cache warm        %8.0f MB/s\n", seq_read(o, s->size, buf, 0, 0));
    printf("cache warm read_fd%8.0f MB/s\n", seq_read(o, s->size, buf, 1, 0));
    cache_obj_release(o);
    cache_close(c);
}

static void block_sizes(const char *dir, struct src *s, unsigned char *buf)
{
    static const uint32_t sizes[] = {1u << 20, 2u << 20, 4u << 20, 8u << 20};

    printf("remote model: TTFB %d ms, %.0f MB/s per request, 64 MiB\n",
           s->ttfb_us / 1000, s->mb_per_s);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct cache *c = bench_cache(dir, sizes[i]);
        struct cache_source cs = {.fetch = mem_fetch, .arg = s};
        struct cache_obj *o;
        double first = 0, mbs;
        int e;

        if (!c)
            return;
        o = cache_obj_open(c, "bench/bs", "v1", s->size, &cs, &e);
        mbs = seq_read(o, s->size, buf, 0, &first);
        printf("  block %u MiB: first byte %4.0f ms, %6.1f MB/s\n",
               sizes[i] >> 20, first * 1000, mbs);
        cache_obj_release(o);
        cache_close(c);
    }
}

struct sink {
    unsigned char *buf;
    size_t cap, len;
};

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
    struct sink *k = arg;
    size_t len = size * n;

    if (k->buf) {
        if (len > k->cap - k->len)
            return 0;
        memcpy(k->buf + k->len, p, len);
    }
    k->len += len;
    return size * n;
}

static __thread CURL *tls_curl; /* one handle per thread, never freed */

/* Body straight into the cache's sink. */
struct stream_sink {
    cache_sink_fn fn;
    void *arg;
};

static size_t stream_write(char *p, size_t size, size_t n, void *arg)
{
    struct stream_sink *k = arg;

    return k->fn(k->arg, p, size * n) == 0 ? size * n : 0;
}

static int http_fetch(void *arg, uint64_t off, size_t len, cache_sink_fn sink,
                      void *sink_arg)
{
    struct stream_sink k = {sink, sink_arg};
    char range[64];
    CURL *h = tls_curl ? tls_curl : (tls_curl = curl_easy_init());

    snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    curl_easy_setopt(h, CURLOPT_URL, (const char *)arg);
    curl_easy_setopt(h, CURLOPT_RANGE, range);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    return curl_easy_perform(h) == CURLE_OK ? 0 : -EIO;
}

static void over_http(const char *dir, const char *url, uint64_t size,
                      unsigned char *buf)
{
    static const uint32_t sizes[] = {1u << 20, 2u << 20, 4u << 20, 8u << 20};
    struct sink k = {0};
    CURL *h = curl_easy_init();
    double t0 = now();

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_perform(h);
    curl_easy_cleanup(h);
    printf("http plain GET    %8.0f MB/s (%zu bytes)\n",
           k.len / MIB / (now() - t0), k.len);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct cache *c = bench_cache(dir, sizes[i]);
        struct cache_source cs = {.fetch = http_fetch, .arg = (void *)url};
        struct cache_obj *o;
        double first = 0, cold, warm;
        int e;

        if (!c)
            return;
        o = cache_obj_open(c, "bench/http", "v1", size, &cs, &e);
        cold = seq_read(o, size, buf, 0, &first);
        warm = seq_read(o, size, buf, 0, NULL);
        printf("  http block %u MiB: first byte %4.1f ms, cold %6.1f MB/s, "
               "warm %6.0f MB/s\n",
               sizes[i] >> 20, first * 1000, cold, warm);
        cache_obj_release(o);
        cache_close(c);
    }
}

int main(void)
{
    const char *on = getenv("RECFS_BENCH");
    uint64_t size = 256ull << 20;
    char dir[] = "/tmp/recfs-cbench-XXXXXX";
    unsigned char *data, *buf = malloc(8u << 20);
    struct src s = {0};

    if (!on || strcmp(on, "1") != 0) {
        printf("benchmark skipped (set RECFS_BENCH=1)\n");
        free(buf);
        return 77;
    }
    data = malloc(size);
    if (!data || !buf || !mkdtemp(dir))
        return 1;
    for (uint64_t i = 0; i < size; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
    s.data = data;
    s.size = size;
    baselines(data, size, buf, dir);
    through_cache(dir, &s, buf);
    s.size = 64ull << 20;
    s.ttfb_us = 30000;
    s.mb_per_s = 40;
    block_sizes(dir, &s, buf);
    s.ttfb_us = 5000;
    s.mb_per_s = 100;
    block_sizes(dir, &s, buf);
    if (getenv("RECFS_BENCH_URL") && getenv("RECFS_BENCH_SIZE"))
        over_http(dir, getenv("RECFS_BENCH_URL"),
                  strtoull(getenv("RECFS_BENCH_SIZE"), NULL, 10), buf);
    cache_rm_tree(dir);
    free(data);
    free(buf);
    return 0;
}
