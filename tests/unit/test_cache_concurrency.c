/* test_cache_concurrency.c - many readers of one object: every byte right,
 * every block downloaded exactly once, cap kept under eviction. Run under
 * TSan too (-DENABLE_TSAN=ON). */
#include "testdata.h"
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "cache_int.h"

#define BS (64u << 10)
#define NBLK 48
#define NTHREADS 8

struct fake {
    uint64_t seed;
    uint64_t size;
    int delay_us;
    int calls;
    int per_block[NBLK];
};

static int fake_fetch(void *arg, uint64_t off, size_t len, cache_sink_fn sink,
                      void *sink_arg)
{
    struct fake *f = arg;

    __atomic_add_fetch(&f->calls, 1, __ATOMIC_SEQ_CST);
    test_count_blocks(f->per_block, NBLK, BS, off, len);
    if (f->delay_us)
        usleep((useconds_t)f->delay_us);
    return test_stream(f->seed, f->size, off, len, sink, sink_arg);
}

struct reader {
    struct cache *cache;
    struct cache_obj *obj;
    struct fake *fake;
    unsigned seed;
    int use_fd;
    uint64_t cap_slack; /* bytes_used may exceed max by this much */
    int bad;
};

static int check_range(struct reader *r, uint64_t off, size_t len)
{
    unsigned char buf[3 * BS];
    ssize_t n = cache_obj_read(r->obj, buf, len, off);
    size_t want = len < r->fake->size - off ? len : r->fake->size - off;

    if (n != (ssize_t)want) {
        fprintf(stderr, "read %zd want %zu\n", n, want);
        return 1;
    }
    for (size_t i = 0; i < want; i++)
        if (buf[i] != test_byte_at(r->fake->seed, off + i)) {
            fprintf(stderr, "wrong byte at %llu\n",
                    (unsigned long long)(off + i));
            return 1;
        }
    return 0;
}

static int check_fd(struct reader *r, uint64_t off)
{
    unsigned char buf[BS];
    size_t avail;
    off_t fdoff;
    int fd, rc = cache_obj_read_fd(r->obj, off, &fd, &fdoff, &avail);

    if (rc == -ENOSYS) /* block evicted again meanwhile: use the copy path */
        return check_range(r, off, BS);
    if (rc != 0 || avail == 0 || avail > BS) {
        fprintf(stderr, "read_fd rc %d avail %zu\n", rc, avail);
        return 1;
    }
    rc = pread(fd, buf, avail, fdoff) != (ssize_t)avail;
    for (size_t i = 0; !rc && i < avail; i++)
        rc = buf[i] != test_byte_at(r->fake->seed, off + i);
    cache_obj_unpin(r->obj, off);
    return rc;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct cache_stats st;

    for (int k = 0; k < 150 && !r->bad; k++) {
        uint64_t off = rand_r(&r->seed) % r->fake->size;
        size_t len = 1 + rand_r(&r->seed) % (3 * BS);
        if (k % 3 == 0) /* sequential runs trigger readahead */
            off = (uint64_t)(k / 3 % NBLK) * BS;
        r->bad |=
            r->use_fd && k % 2 ? check_fd(r, off) : check_range(r, off, len);
        cache_get_stats(r->cache, &st);
        if (st.bytes_used > st.max_bytes + r->cap_slack)
            r->bad |= 2;
    }
    return NULL;
}

static void run_readers(uint64_t max_bytes, int delay_us, int use_fd)
{
    struct cache_config cfg = {.dir = test_tmpdir,
                               .max_bytes = max_bytes,
                               .min_free_bytes = 1,
                               .block_size = BS,
                               .readahead_blocks = 4,
                               .workers = 4};
    struct fake f = {.seed = 42, .size = NBLK * BS - 999, .delay_us = delay_us};
    struct cache_source src = {.fetch = fake_fetch, .arg = &f};
    struct reader r[NTHREADS];
    pthread_t t[NTHREADS];
    char err[256];
    struct cache *c = cache_open(&cfg, err, sizeof err);
    struct cache_obj *o;
    int e;

    assert_non_null(c);
    o = cache_obj_open(c, "k/conc", "v", f.size, &src, &e);
    assert_non_null(o);
    for (int i = 0; i < NTHREADS; i++) {
        r[i] = (struct reader){.cache = c,
                               .obj = o,
                               .fake = &f,
                               .seed = (unsigned)i * 7919u + 1,
                               .use_fd = use_fd,
                               .cap_slack = (NTHREADS + 4) * (uint64_t)BS};
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &r[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].bad, 0);
    }
    if (max_bytes >= (uint64_t)NBLK * BS) /* nothing evicted: once each */
        for (int i = 0; i < NBLK; i++)
            assert_int_equal(f.per_block[i], 1);
    cache_obj_release(o);
    cache_close(c);
}

static void test_once_each(void **state)
{
    (void)state;
    run_readers(0, 2000, 0);
}

static void test_once_each_fd(void **state)
{
    (void)state;
    run_readers(0, 1000, 1);
}

static void test_evicting(void **state)
{
    (void)state;
    run_readers(8 * BS, 200, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_WITH_TMPDIR(test_once_each),
        TEST_WITH_TMPDIR(test_once_each_fd),
        TEST_WITH_TMPDIR(test_evicting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
