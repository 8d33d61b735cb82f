/* testdata.c - deterministic test bytes (see testdata.h). */
#include "testdata.h"
#include "cache_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 finaliser */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

unsigned char test_byte_at(uint64_t seed, uint64_t off)
{
    return (unsigned char)(mix(seed ^ (off / 8)) >> ((off % 8) * 8));
}

void test_fill(uint64_t seed, uint64_t off, void *buf, size_t len)
{
    unsigned char *p = buf;

    for (size_t i = 0; i < len; i++)
        p[i] = test_byte_at(seed, off + i);
}

int test_stream(uint64_t seed, uint64_t size, uint64_t off, size_t len,
                int (*sink)(void *arg, const void *data, size_t len),
                void *sink_arg)
{
    unsigned char piece[TEST_PIECE];
    uint64_t end = off >= size ? off : size - off < len ? size : off + len;

    for (uint64_t pos = off; pos < end;) {
        size_t n = end - pos < TEST_PIECE ? (size_t)(end - pos) : TEST_PIECE;
        int rc;
        test_fill(seed, pos, piece, n);
        rc = sink(sink_arg, piece, n);
        if (rc)
            return rc;
        pos += n;
    }
    return 0;
}

void test_count_blocks(int *counts, size_t n, uint32_t bs, uint64_t off,
                       size_t len)
{
    for (uint64_t i = off / bs; len > 0 && i <= (off + len - 1) / bs && i < n;
         i++)
        __atomic_add_fetch(&counts[i], 1, __ATOMIC_SEQ_CST);
}

ssize_t test_pwrite_enospc(int fd, const void *buf, size_t n, off_t off)
{
    (void)fd;
    (void)buf;
    (void)n;
    (void)off;
    errno = ENOSPC;
    return -1;
}

char test_tmpdir[64];

int test_tmpdir_setup(void **state)
{
    (void)state;
    strcpy(test_tmpdir, "/tmp/recfs-test-XXXXXX");
    return mkdtemp(test_tmpdir) ? 0 : -1;
}

int test_tmpdir_teardown(void **state)
{
    (void)state;
    cache_rm_tree(test_tmpdir);
    return 0;
}

struct cache *test_cache_open(const struct cache_config *cfg)
{
    char err[256];
    struct cache *c = cache_open(cfg, err, sizeof err);

    if (!c)
        fprintf(stderr, "cache_open: %s\n", err);
    return c;
}
