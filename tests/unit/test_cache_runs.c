/* test_cache_runs.c - readahead by runs: one request brings several
 * blocks, each readable as soon as its own bytes are in; a run failing
 * half-way keeps what came and gives the rest back; readers waiting
 * inside a run get exactly their bytes. Run under TSan too. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "cache_int.h"

#define BS (64u << 10)
#define NBLK 42 /* the last one short */
#define SIZE ((uint64_t)(NBLK - 1) * BS + 1234)
#define RA 4
#define RUN 4
#define PIECE 10000u /* bytes the fake hands over at a time */
#define MAXCALLS 256
#define NONE UINT64_MAX

struct call {
    uint64_t off;
    size_t len;
};

/* A source whose delivery can be held at a byte offset (gate) and made
 * to fail once on reaching another (fail_at). */
struct fake {
    uint64_t seed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t gate;    /* bytes at or past this offset wait for it to move */
    uint64_t fail_at; /* a fetch reaching this offset fails with fail_rc */
    int fail_rc;
    int delay_us;     /* after each piece: a link slower than the reader */
    int ttfb_us;      /* before the first byte: a source a round trip away */
    int ncalls;
    struct call calls[MAXCALLS];
    int per_block[NBLK];
};

static int fake_fetch(void *arg, uint64_t off, size_t len, cache_sink_fn sink,
                      void *sink_arg)
{
    struct fake *f = arg;
    unsigned char piece[PIECE];
    uint64_t end = off + len < SIZE ? off + len : SIZE;

    pthread_mutex_lock(&f->mu);
    if (f->ncalls < MAXCALLS)
        f->calls[f->ncalls] = (struct call){off, len};
    f->ncalls++;
    test_count_blocks(f->per_block, NBLK, BS, off, len);
    pthread_mutex_unlock(&f->mu);
    if (f->ttfb_us)
        usleep((useconds_t)f->ttfb_us);
    for (uint64_t pos = off; pos < end;) {
        size_t n = end - pos < PIECE ? (size_t)(end - pos) : PIECE;
        int fail = 0, rc;
        pthread_mutex_lock(&f->mu);
        while (pos >= f->gate)
            pthread_cond_wait(&f->cv, &f->mu);
        if (n > f->gate - pos)
            n = (size_t)(f->gate - pos);
        if (f->fail_at >= pos && f->fail_at < pos + n) {
            n = (size_t)(f->fail_at - pos);
            fail = f->fail_rc;
            f->fail_at = NONE;
        }
        pthread_mutex_unlock(&f->mu);
        test_fill(f->seed, pos, piece, n);
        rc = n ? sink(sink_arg, piece, n) : 0;
        if (rc || fail)
            return rc ? rc : fail;
        pos += n;
        if (f->delay_us)
            usleep((useconds_t)f->delay_us);
    }
    return 0;
}

static void fake_init(struct fake *f, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->seed = seed;
    f->gate = NONE;
    f->fail_at = NONE;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
}

static void fake_destroy(struct fake *f)
{
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}

static void fake_set(struct fake *f, uint64_t *field, uint64_t v)
{
    pthread_mutex_lock(&f->mu);
    *field = v;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static int fake_calls(struct fake *f)
{
    int n;

    pthread_mutex_lock(&f->mu);
    n = f->ncalls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static struct cache *open_cache(void)
{
    struct cache_config cfg = {.dir = test_tmpdir,
                               .min_free_bytes = 1,
                               .block_size = BS,
                               .readahead_blocks = RA,
                               .run_blocks = RUN,
                               .workers = 4,
                               .clear = 1};
    struct cache *c = test_cache_open(&cfg);

    assert_non_null(c);
    return c;
}

static struct cache_obj *open_obj(struct cache *c, struct fake *f)
{
    struct cache_source src = {.fetch = fake_fetch, .arg = f};
    int err = 1;
    struct cache_obj *o = cache_obj_open(c, "k/runs", "v1", SIZE, &src, &err);

    assert_non_null(o);
    return o;
}

/* 1 if [off, off+len) of the object reads back right. */
static int read_ok(struct cache_obj *o, uint64_t seed, uint64_t off,
                   size_t len)
{
    unsigned char *buf = malloc(len);
    size_t want = off >= SIZE ? 0 : len < SIZE - off ? len : SIZE - off;
    ssize_t n = cache_obj_read(o, buf, len, off);
    int ok = n == (ssize_t)want;

    for (size_t i = 0; ok && i < want; i++)
        ok = buf[i] == test_byte_at(seed, off + i);
    if (!ok)
        fprintf(stderr, "read at %llu: %zd (want %zu)\n",
                (unsigned long long)off, n, want);
    free(buf);
    return ok;
}

/* Wait until no download is in flight (10 s at most). */
static void settle(struct cache *c)
{
    struct cache_stats st;

    for (int i = 0; i < 10000; i++) {
        cache_get_stats(c, &st);
        if (st.in_flight == 0)
            return;
        usleep(1000);
    }
    fail_msg("downloads still in flight");
}

static int blk_state(struct cache *c, struct cache_obj *o, uint32_t idx)
{
    int s;

    pthread_mutex_lock(&c->lock);
    s = o->ent->blk[idx].state;
    pthread_mutex_unlock(&c->lock);
    return s;
}

static int by_off(const void *a, const void *b)
{
    const struct call *x = a, *y = b;

    return x->off < y->off ? -1 : x->off > y->off;
}

/* A cold sequential read: the reader's first block alone, then runs of
 * RUN blocks from block 1 (each claimed when the reader enters the run
 * before it), every block once, every byte right. */
static void test_cold_sequential(void **state)
{
    struct fake f;
    struct cache *c;
    struct cache_obj *o;
    int want = 1 + (NBLK - 1 + RUN - 1) / RUN;

    (void)state;
    fake_init(&f, 11);
    f.delay_us = 50;
    c = open_cache();
    o = open_obj(c, &f);
    for (uint64_t off = 0; off < SIZE; off += 32 << 10)
        assert_true(read_ok(o, f.seed, off, 32 << 10));
    settle(c);
    assert_int_equal(fake_calls(&f), want);
    /* workers and the reader may call in any order */
    qsort(f.calls, (size_t)want, sizeof f.calls[0], by_off);
    assert_int_equal(f.calls[0].off, 0);
    assert_int_equal(f.calls[0].len, BS);
    for (int i = 1; i < want; i++) {
        uint64_t first = 1 + (uint64_t)(i - 1) * RUN;
        uint64_t last = first + RUN - 1 < NBLK - 1 ? first + RUN - 1 : NBLK - 1;
        assert_int_equal(f.calls[i].off, first * BS);
        assert_int_equal(f.calls[i].len,
                         (last < NBLK - 1 ? (last + 1) * BS : SIZE) -
                             first * BS);
    }
    for (int i = 0; i < NBLK; i++)
        assert_int_equal(f.per_block[i], 1);
    assert_int_equal(cache_obj_cached_bytes(o), SIZE);
    cache_obj_release(o);
    cache_close(c);
    fake_destroy(&f);
}

/* Two sequential readers of one object at once, each through its own
 * handle (cp -r of a conversation whose recordings share nothing but
 * the cache; here the halves of one file, so the blocks they race for
 * are the same): every byte right, no block downloaded twice, and runs
 * still used (fewer requests than blocks). */
struct half {
    struct cache_obj *o;
    uint64_t seed, from, to;
    int ok;
};

static void *half_main(void *arg)
{
    struct half *h = arg;

    h->ok = 1;
    for (uint64_t off = h->from; h->ok && off < h->to; off += 32 << 10)
        h->ok = read_ok(h->o, h->seed, off,
                        (size_t)(h->to - off < (32 << 10) ? h->to - off
                                                          : 32 << 10));
    return NULL;
}

static void test_two_readers(void **state)
{
    struct fake f;
    struct cache *c;
    struct half h[2];
    pthread_t th[2];
    uint64_t mid = (uint64_t)(NBLK / 2) * BS;

    (void)state;
    fake_init(&f, 13);
    f.delay_us = 50;
    c = open_cache();
    h[0] = (struct half){open_obj(c, &f), f.seed, 0, mid, 0};
    h[1] = (struct half){open_obj(c, &f), f.seed, mid, SIZE, 0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, half_main, &h[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    settle(c);
    assert_true(h[0].ok && h[1].ok);
    for (int i = 0; i < NBLK; i++)
        assert_int_equal(f.per_block[i], 1);
    assert_true(fake_calls(&f) < NBLK / 2);
    assert_int_equal(cache_obj_cached_bytes(h[0].o), SIZE);
    cache_obj_release(h[0].o);
    cache_obj_release(h[1].o);
    cache_close(c);
    fake_destroy(&f);
}

/* Highest block index fetched so far (-1: none). */
static int highest_fetched(struct fake *f)
{
    int h = -1;

    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < NBLK; i++)
        if (f->per_block[i])
            h = i;
    pthread_mutex_unlock(&f->mu);
    return h;
}

/* Read blocks 0..11 one at a time (downloads settled in between) from a
 * source whose first byte takes ttfb_us; the highest block fetched. */
static int reach(int ttfb_us)
{
    struct fake f;
    struct cache *c;
    struct cache_obj *o;
    int h;

    fake_init(&f, 13);
    f.ttfb_us = ttfb_us;
    c = open_cache();
    o = open_obj(c, &f);
    for (uint64_t i = 0; i < 12; i++) {
        assert_true(read_ok(o, f.seed, i * BS, BS));
        settle(c);
    }
    h = highest_fetched(&f);
    cache_obj_release(o);
    cache_close(c);
    fake_destroy(&f);
    return h;
}

/* A reader that has gone a window in order gets twice the window only
 * when the source's first byte takes a round trip (CACHE_DEEP_RTT_US):
 * the reader at block 11 has blocks up to 11 + RA (+ the rest of the
 * last run) fetched from a source close by, up to 11 + 2 RA from one
 * 5 ms away. */
static void test_window_follows_rtt(void **state)
{
    int near = reach(0), far = reach(CACHE_DEEP_RTT_US + 2000);

    (void)state;
    assert_true(near >= 11 + RA);
    assert_true(near <= 11 + RA + RUN - 1);
    assert_true(far >= 11 + 2 * RA);
}

/* The run of blocks 1-4 fails in block 3: blocks 1 and 2 are stored, 3
 * and 4 missing again; a re-read fetches only those, bytes right. */
static void test_run_fails_midway(void **state)
{
    struct fake f;
    struct cache *c;
    struct cache_obj *o;

    (void)state;
    fake_init(&f, 12);
    f.fail_at = 3 * (uint64_t)BS + 1000;
    f.fail_rc = -EIO;
    c = open_cache();
    o = open_obj(c, &f);
    assert_true(read_ok(o, f.seed, 0, 100)); /* block 0; run 1-4 */
    settle(c);
    assert_int_equal(fake_calls(&f), 2);
    qsort(f.calls, 2, sizeof f.calls[0], by_off);
    assert_int_equal(f.calls[1].off, BS);
    assert_int_equal(f.calls[1].len, RUN * BS);
    assert_int_equal(blk_state(c, o, 1), CACHE_BLK_PRESENT);
    assert_int_equal(blk_state(c, o, 2), CACHE_BLK_PRESENT);
    assert_int_equal(blk_state(c, o, 3), CACHE_BLK_MISSING);
    assert_int_equal(blk_state(c, o, 4), CACHE_BLK_MISSING);
    assert_int_equal(cache_obj_cached_bytes(o), 3 * BS);
    /* read back out of order (no readahead): 3 and 4 fetched again */
    assert_true(read_ok(o, f.seed, 4 * (uint64_t)BS, BS));
    assert_true(read_ok(o, f.seed, 3 * (uint64_t)BS, BS));
    assert_true(read_ok(o, f.seed, 0, 5 * BS));
    settle(c);
    assert_int_equal(f.per_block[1], 1);
    assert_int_equal(f.per_block[2], 1);
    assert_int_equal(f.per_block[3], 2);
    assert_int_equal(f.per_block[4], 2);
    cache_obj_release(o);
    cache_close(c);
    fake_destroy(&f);
}

struct reader {
    struct cache_obj *obj;
    uint64_t seed;
    uint32_t idx;
    ssize_t rc;
    int ok;
    int done; /* atomic */
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    unsigned char *buf = malloc(BS);
    uint64_t off = (uint64_t)r->idx * BS;

    r->rc = cache_obj_read(r->obj, buf, BS, off);
    r->ok = r->rc == BS;
    for (size_t i = 0; r->ok && i < BS; i++)
        r->ok = buf[i] == test_byte_at(r->seed, off + i);
    free(buf);
    __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int done(struct reader *r)
{
    return __atomic_load_n(&r->done, __ATOMIC_SEQ_CST);
}

static void wait_done(struct reader *r)
{
    for (int i = 0; i < 10000 && !done(r); i++)
        usleep(1000);
    assert_true(done(r));
}

/* Readers of blocks 2, 3 and 4 while the run 1-4 is held before block
 * 3's bytes: each waits on its own block. */
struct held {
    struct fake f;
    struct cache *c;
    struct cache_obj *o;
    struct reader rd[3];
    pthread_t th[3];
};

static void held_start(struct held *h, uint64_t seed)
{
    fake_init(&h->f, seed);
    h->c = open_cache();
    h->o = open_obj(h->c, &h->f);
    fake_set(&h->f, &h->f.gate, 3 * (uint64_t)BS);
    assert_true(read_ok(h->o, seed, 0, 100)); /* block 0; run 1-4 */
    for (int i = 0; i < 3; i++) {
        h->rd[i] = (struct reader){.obj = h->o, .seed = seed,
                                   .idx = (uint32_t)(2 + i)};
        assert_int_equal(
            pthread_create(&h->th[i], NULL, reader_main, &h->rd[i]), 0);
    }
    wait_done(&h->rd[0]); /* block 2 came before the hold */
    assert_true(h->rd[0].ok);
    usleep(20000);
    assert_false(done(&h->rd[1]));
    assert_false(done(&h->rd[2]));
}

/* Let the held run go on (to fail with rc on reaching byte at, unless at
 * is NONE) and join the readers. */
static void held_go(struct held *h, uint64_t at, int rc)
{
    pthread_mutex_lock(&h->f.mu);
    h->f.fail_at = at;
    h->f.fail_rc = rc;
    h->f.gate = NONE;
    pthread_cond_broadcast(&h->f.cv);
    pthread_mutex_unlock(&h->f.mu);
    for (int i = 0; i < 3; i++)
        pthread_join(h->th[i], NULL);
    settle(h->c);
}

static void held_end(struct held *h)
{
    cache_obj_release(h->o);
    cache_close(h->c);
    fake_destroy(&h->f);
}

/* Readers inside a run: each is served as soon as its own block is in
 * (block 3 while the run is still held before block 4), all bytes right,
 * every block fetched once. */
static void test_waiters_inside_run(void **state)
{
    struct held h;

    (void)state;
    held_start(&h, 13);
    fake_set(&h.f, &h.f.gate, 4 * (uint64_t)BS);
    wait_done(&h.rd[1]);
    assert_true(h.rd[1].ok);
    assert_false(done(&h.rd[2]));
    held_go(&h, NONE, 0);
    for (int i = 0; i < 3; i++)
        assert_true(h.rd[i].ok);
    for (int i = 0; i <= 4; i++)
        assert_int_equal(h.f.per_block[i], 1);
    held_end(&h);
}

/* The held run fails in block 3: its reader gets the error, the reader
 * of block 4 (never reached) fetches it alone and gets its bytes. */
static void test_waiters_of_failed_run(void **state)
{
    struct held h;

    (void)state;
    held_start(&h, 14);
    held_go(&h, 3 * (uint64_t)BS + 500, -EIO);
    assert_int_equal(h.rd[1].rc, -EIO);
    assert_true(h.rd[2].ok);
    assert_int_equal(h.f.per_block[2], 1);
    assert_int_equal(h.f.per_block[4], 2);
    assert_int_equal(blk_state(h.c, h.o, 4), CACHE_BLK_PRESENT);
    assert_true(read_ok(h.o, h.f.seed, 3 * (uint64_t)BS, BS));
    held_end(&h);
}

/* The object changes on the server during a run (-ESTALE): every waiter
 * gets -ESTALE at once, none hangs, and the version is discarded. */
static void test_run_stale(void **state)
{
    struct held h;

    (void)state;
    held_start(&h, 15);
    held_go(&h, 3 * (uint64_t)BS, -ESTALE);
    assert_int_equal(h.rd[1].rc, -ESTALE);
    assert_int_equal(h.rd[2].rc, -ESTALE);
    assert_int_equal(cache_obj_cached_bytes(h.o), 0);
    held_end(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cold_sequential),
        cmocka_unit_test(test_two_readers),
        cmocka_unit_test(test_run_fails_midway),
        cmocka_unit_test(test_waiters_inside_run),
        cmocka_unit_test(test_waiters_of_failed_run),
        cmocka_unit_test(test_run_stale),
        cmocka_unit_test(test_window_follows_rtt),
    };

    return cmocka_run_group_tests(tests, test_tmpdir_setup,
                                  test_tmpdir_teardown);
}
