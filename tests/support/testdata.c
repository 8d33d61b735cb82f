/* testdata.c - deterministic test bytes (see testdata.h). */
#include "testdata.h"

#include <errno.h>

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

ssize_t test_pwrite_enospc(int fd, const void *buf, size_t n, off_t off)
{
    (void)fd;
    (void)buf;
    (void)n;
    (void)off;
    errno = ENOSPC;
    return -1;
}
