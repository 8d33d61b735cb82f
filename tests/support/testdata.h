/* testdata.h - deterministic pseudo-random bytes for cache tests: the
 * byte at any offset of an object is a pure function of (seed, offset),
 * so a reader can check every byte without keeping a copy. */
#ifndef RECFS_TEST_TESTDATA_H
#define RECFS_TEST_TESTDATA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

unsigned char test_byte_at(uint64_t seed, uint64_t off);
/* buf[i] = test_byte_at(seed, off + i) for i < len. */
void test_fill(uint64_t seed, uint64_t off, void *buf, size_t len);

/* A streamed fetch (cache_fetch_fn) of the test object of seed and size:
 * [off, off+len), clipped to size, handed to sink in pieces of at most
 * TEST_PIECE bytes (not a divisor of any block size: pieces straddle
 * block boundaries). Returns 0, or the sink's error. */
#define TEST_PIECE 61000u
int test_stream(uint64_t seed, uint64_t size, uint64_t off, size_t len,
                int (*sink)(void *arg, const void *data, size_t len),
                void *sink_arg);
/* counts[i]++ for every block of size bs that [off, off+len) touches,
 * i < n (atomically: fakes are called from several threads). */
void test_count_blocks(int *counts, size_t n, uint32_t bs, uint64_t off,
                       size_t len);

/* A block-write hook (cache_set_pwrite_hook) for a full disk: always
 * fails with ENOSPC. */
ssize_t test_pwrite_enospc(int fd, const void *buf, size_t n, off_t off);

/* cmocka setup/teardown (per test or per group) for the cache tests: a
 * fresh scratch directory test_tmpdir (/tmp/recfs-test-XXXXXX), removed
 * with everything in it. */
extern char test_tmpdir[64];
int test_tmpdir_setup(void **state);
int test_tmpdir_teardown(void **state);
/* cache_open(cfg), its message on stderr when it fails (NULL). */
struct cache;
struct cache_config;
struct cache *test_cache_open(const struct cache_config *cfg);
/* A cmocka test with its own scratch directory. */
#define TEST_WITH_TMPDIR(f) \
    cmocka_unit_test_setup_teardown(f, test_tmpdir_setup, test_tmpdir_teardown)

#endif
