/* test_cache_perf.c - the disk cache's streaming paths: CRC32C (hardware
 * and portable agree), downloaded blocks served from memory (no disk
 * read, no second download, also when the disk refused them), stored
 * late once the disk works again, zero-copy descriptors only for blocks
 * on disk, and blocks of an earlier mount checked ahead of the reader. */
#include "testdata.h"
#include <errno.h>
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
#define MAXB 64

struct fake {
    uint64_t seed, size;
    int calls;
    int per_block[MAXB];
};

static int fake_fetch(void *arg, uint64_t off, size_t len, cache_sink_fn sink,
                      void *sink_arg)
{
    struct fake *f = arg;

    __atomic_add_fetch(&f->calls, 1, __ATOMIC_SEQ_CST);
    test_count_blocks(f->per_block, MAXB, BS, off, len);
    return test_stream(f->seed, f->size, off, len, sink, sink_arg);
}

static struct cache *open_cache(int ra)
{
    struct cache_config cfg = {.dir = test_tmpdir, .min_free_bytes = 1,
                               .block_size = BS, .readahead_blocks = ra,
                               .workers = 2};
    char err[256];
    struct cache *c = cache_open(&cfg, err, sizeof err);

    assert_non_null(c);
    return c;
}

static struct cache_obj *open_obj(struct cache *c, struct fake *f)
{
    struct cache_source src = {.fetch = fake_fetch, .arg = f};
    int err = 1;
    struct cache_obj *o = cache_obj_open(c, "k/perf", "v1", f->size, &src,
                                         &err);

    assert_non_null(o);
    return o;
}

static void check_read(struct cache_obj *o, struct fake *f, uint64_t off,
                       size_t len)
{
    unsigned char *buf = malloc(len + 1);

    assert_int_equal(cache_obj_read(o, buf, len, off), (ssize_t)len);
    for (size_t i = 0; i < len; i++)
        if (buf[i] != test_byte_at(f->seed, off + i))
            fail_msg("byte %llu wrong", (unsigned long long)(off + i));
    free(buf);
}

static void test_crc32c(void **state)
{
    static unsigned char buf[3 * 8192 * 2 + 3 * 256 + 100];

    (void)state;
    assert_int_equal(cache_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(cache_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = test_byte_at(7, i);
    for (size_t len = 0; len + 3 < sizeof buf; len += len < 2000 ? 61 : 997) {
        uint32_t one = cache_crc32c(0, buf + 3, len);
        uint32_t half = cache_crc32c(cache_crc32c(0, buf + 3, len / 2),
                                     buf + 3 + len / 2, len - len / 2);
        assert_int_equal(one, cache_crc32c_portable(0, buf + 3, len));
        assert_int_equal(one, half);
    }
}

/* A block read in pieces is downloaded once and served from memory, also
 * when the disk refuses it; once the disk works, it is stored without a
 * second download. */
static void test_memory_copy(void **state)
{
    struct fake f = {.seed = 3, .size = 4 * BS};
    struct cache *c = open_cache(-1);
    struct cache_obj *o = open_obj(c, &f);
    size_t avail;
    off_t fdoff;
    int fd;

    (void)state;
    cache_set_pwrite_hook(c, test_pwrite_enospc);
    for (uint64_t off = 0; off + 4096 < BS; off += 4096)
        check_read(o, &f, off, 4096);
    assert_int_equal(f.calls, 1);
    assert_int_equal(cache_obj_cached_bytes(o), 0);
    assert_int_equal(cache_obj_read_fd(o, 0, &fd, &fdoff, &avail), -ENOSYS);
    cache_set_pwrite_hook(c, NULL);
    check_read(o, &f, 100, 10); /* stores the copy it has */
    assert_int_equal(f.calls, 1);
    assert_int_equal(cache_obj_cached_bytes(o), BS);
    /* in memory: copied; read to its end: the disk copy, by descriptor */
    assert_int_equal(cache_obj_read_fd(o, 0, &fd, &fdoff, &avail), -ENOSYS);
    check_read(o, &f, BS - 4096, 4096);
    assert_int_equal(cache_obj_read_fd(o, 10, &fd, &fdoff, &avail), 0);
    assert_int_equal(avail, BS - 10);
    cache_obj_unpin(o, 10);
    assert_int_equal(f.calls, 1);
    cache_obj_release(o);
    cache_close(c);
}

/* After a remount, a sequential reader finds the blocks ahead of it
 * already checked by the workers; nothing is downloaded again. */
static void test_verify_ahead(void **state)
{
    struct fake f = {.seed = 4, .size = 16 * BS};
    struct cache *c = open_cache(4);
    struct cache_obj *o = open_obj(c, &f);
    struct cache_ent *ent;
    int verified = 0;

    (void)state;
    check_read(o, &f, 0, (size_t)f.size);
    assert_int_equal(f.calls, 16);
    cache_obj_release(o);
    cache_close(c);
    c = open_cache(4);
    o = open_obj(c, &f);
    f.calls = 0;
    check_read(o, &f, 0, 4096);
    check_read(o, &f, 4096, 4096); /* sequential: readahead starts */
    for (int i = 0; i < 200 && verified < 4; i++) {
        usleep(10 * 1000);
        pthread_mutex_lock(&c->lock);
        ent = cache_ent_find(c, "k/perf");
        verified = 0;
        for (uint32_t b = 1; ent && b <= 4; b++)
            verified += ent->blk[b].verified;
        pthread_mutex_unlock(&c->lock);
    }
    assert_int_equal(verified, 4);
    check_read(o, &f, 0, (size_t)f.size);
    assert_int_equal(f.calls, 0);
    cache_obj_release(o);
    cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        TEST_WITH_TMPDIR(test_memory_copy),
        TEST_WITH_TMPDIR(test_verify_ahead),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
