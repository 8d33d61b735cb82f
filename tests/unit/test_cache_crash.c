/* test_cache_crash.c - SIGKILL a process in the middle of downloading
 * through the cache, many times; after each kill the cache reopens (the
 * flock died with the process) and serves only correct bytes. */
#include "testdata.h"
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "cache_int.h"

#define BS (64u << 10)
#define SIZE (40 * (uint64_t)BS + 1234)
#define ROUNDS 30

struct fake {
    uint64_t seed;
    int delay_us;
    int calls;
};

static int fake_fetch(void *arg, uint64_t off, size_t len, cache_sink_fn sink,
                      void *sink_arg)
{
    struct fake *f = arg;

    __atomic_add_fetch(&f->calls, 1, __ATOMIC_SEQ_CST);
    if (f->delay_us)
        usleep((useconds_t)f->delay_us);
    return test_stream(f->seed, SIZE, off, len, sink, sink_arg);
}

static char tmpdir[64];

static struct cache *open_cache(uint64_t max_bytes)
{
    struct cache_config cfg = {.dir = tmpdir,
                               .max_bytes = max_bytes,
                               .min_free_bytes = 1,
                               .block_size = BS,
                               .readahead_blocks = 3,
                               .workers = 2};
    char err[256];

    return cache_open(&cfg, err, sizeof err);
}

/* Child: read random ranges forever (until killed). */
static void child_main(unsigned seed, const char *version)
{
    struct fake f = {.seed = 77, .delay_us = 300};
    struct cache_source src = {.fetch = fake_fetch, .arg = &f};
    struct cache *c = open_cache(24 * (uint64_t)BS);
    struct cache_obj *o;
    unsigned char buf[2 * BS];
    int e;

    if (!c)
        _exit(3);
    o = cache_obj_open(c, "k/crash", version, SIZE, &src, &e);
    for (;;) {
        uint64_t off = rand_r(&seed) % SIZE;
        size_t len = 1 + rand_r(&seed) % sizeof buf;
        if (cache_obj_read(o, buf, len, off) < 0)
            _exit(4);
        if (seed % 5 == 0)
            cache_doc_put(c, "doc", buf, len);
    }
}

static void verify_all(const char *version)
{
    struct fake f = {.seed = 77};
    struct cache_source src = {.fetch = fake_fetch, .arg = &f};
    struct cache *c = open_cache(24 * (uint64_t)BS);
    unsigned char *buf = malloc(SIZE);
    struct cache_obj *o;
    char *doc;
    size_t len;
    int e;

    assert_non_null(c); /* the lock died with the child */
    o = cache_obj_open(c, "k/crash", version, SIZE, &src, &e);
    assert_non_null(o);
    assert_int_equal(cache_obj_read(o, buf, SIZE, 0), (ssize_t)SIZE);
    for (uint64_t i = 0; i < SIZE; i++)
        if (buf[i] != test_byte_at(77, i))
            fail_msg("wrong byte at %llu", (unsigned long long)i);
    if (cache_doc_get(c, "doc", &doc, &len, NULL) == 0)
        free(doc); /* whole or absent; its CRC was checked */
    cache_obj_release(o);
    cache_close(c);
    free(buf);
}

static void test_kill_and_reopen(void **state)
{
    unsigned seed = (unsigned)time(NULL);

    (void)state;
    strcpy(tmpdir, "/tmp/recfs-cachek-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    for (int round = 0; round < ROUNDS; round++) {
        /* Every 10 rounds the server version changes. */
        const char *version = round / 10 % 2 ? "B" : "A";
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0)
            child_main(seed + (unsigned)round, version);
        usleep(20000 + (useconds_t)(rand_r(&seed) % 80000));
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        verify_all(version);
    }
    cache_rm_tree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
