/* test_fs_media.c - media through the cache on a real mount: partial
 * reads cost only the touched blocks, concurrent readers share
 * downloads, faults are retried, a cold sequential read costs one request
 * per readahead run, runs cut short fail the read (never a hang or wrong
 * bytes), the API going away leaves the cache readable and fails the rest
 * quickly, and an offline remount works. */
#include <errno.h>
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

#include "emu.h"
#include "mount.h"

#define BLOCK (2u << 20) /* the cache's default block size */
#define RUN 4            /* its default run_blocks (<= readahead) */

static struct emu emu;
static struct recfs_mount mnt;
static char large[1024];     /* the large recording's media.wav */
static char large_src[512];  /* its source in the emulator */
static char cid[160], rid[160];
static char large_sha[65];
static uint64_t large_size;

/* Mount (a new mount: m.dir empty) and find the large file in it. */
static int mount_large(void)
{
    if (mount_start(&mnt, &emu, "format=WAV"))
        return -1;
    snprintf(large, sizeof large, "%s/conversations/%s/%s/media.wav",
             mnt.mnt, cid, rid);
    return 0;
}

static int setup(void **state)
{
    const char *args[] = {"--seed", "bench", "--conversations", "6",
                          "--transcode-ms", "0", "--large-media-mib", "24",
                          NULL};
    int rc;

    (void)state;
    if (!mount_supported())
        exit(77);
    rc = emu_start(&emu, args);
    if (rc == -2)
        exit(77);
    if (rc || sh_out(cid, sizeof cid, 20, "curl -sf %s/state | jq -r "
                     ".large_recording.conversationId", emu.control_url) ||
        sh_out(rid, sizeof rid, 20, "curl -sf %s/state | jq -r "
               ".large_recording.recordingId", emu.control_url) ||
        emu_media_file(&emu, "recording", rid, "WAV", large_src,
                       sizeof large_src, large_sha, &large_size))
        return -1;
    return mount_large();
}

static int teardown(void **state)
{
    int rc;

    (void)state;
    mount_stop(&mnt);
    rc = mount_log_clean(&mnt);
    mount_cleanup(&mnt);
    emu_stop(&emu);
    return rc;
}

static void test_tail_costs_one_block(void **state)
{
    (void)state;
    assert_int_equal(sh(30, "stat %s >/dev/null", large), 0);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(30, "cmp <(tail -c 1000 %s) <(tail -c 1000 %s)",
                         large, large_src), 0);
    /* the last block, perhaps one readahead block, perhaps a resolve */
    assert_in_range(emu_count(&emu, "^GET /media/"), 1, 3);
}

static void test_concurrent_readers(void **state)
{
    long n;

    (void)state;
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(120, "sha256sum %s > %s/a & sha256sum %s > %s/b; "
                         "wait; want=$(sha256sum < %s | cut -c1-64); "
                         "grep -q $want %s/a && grep -q $want %s/b", large,
                         mnt.dir, large, mnt.dir, large_src, mnt.dir,
                         mnt.dir), 0);
    n = emu_count(&emu, "^GET /media/");
    /* 24 MiB = 12 blocks, one of them cached by the previous test */
    assert_in_range(n, 1, 24 * 1024 * 1024 / BLOCK + 2);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(60, "cat %s >/dev/null", large), 0);
    assert_int_equal(emu_count(&emu, "^GET /media/"), 0);
}

static void test_faults_during_copy(void **state)
{
    char out[600];

    (void)state;
    snprintf(out, sizeof out, "%s/copy", mnt.dir);
    assert_int_equal(emu_fault(&emu, "{\"match\":\"GET /media/\","
                               "\"count\":3,\"status\":503}"), 0);
    assert_int_equal(emu_fault(&emu, "{\"match\":\"GET /api/v2/conv\","
                               "\"count\":2,\"status\":429,"
                               "\"retry_after\":1}"), 0);
    assert_int_equal(sh(180, "rm -rf %s && mkdir %s && cd %s/conversations "
                         "&& for c in $(ls | grep -v %s); do cp -r $c %s/ "
                         "|| exit 1; diff -r $c %s/$c || exit 2; done",
                         out, out, mnt.mnt, cid, out, out), 0);
    assert_int_equal(sh(60, "cd %s && for m in */*/media.wav; do "
                         "id=$(basename $(dirname $m)); cmp $m $(curl -sf "
                         "\"%s/media?kind=recording&id=$id&format=WAV\" | "
                         "jq -r .path) || exit 1; done", out,
                         emu.control_url), 0);
    emu_reset(&emu);
}

/* Unmount (its log must be clean) and mount again with an empty cache. */
static int mount_fresh(void)
{
    mount_stop(&mnt);
    if (mount_log_clean(&mnt))
        return -1;
    mount_cleanup(&mnt);
    memset(&mnt, 0, sizeof mnt);
    return mount_large();
}

/* Cold sequential read: the first block alone (the reader waits for it),
 * then runs of RUN blocks from block 1, each claimed when the reader
 * enters the run before it: runs start at blocks 1, 1 + RUN, ... */
static void test_cold_sequential_runs(void **state)
{
    uint64_t blocks = (large_size + BLOCK - 1) / BLOCK;
    long want = 1 + (long)((blocks - 1 + RUN - 1) / RUN);

    (void)state;
    assert_int_equal(blocks, 12);
    assert_int_equal(mount_fresh(), 0);
    assert_int_equal(sh(30, "stat %s >/dev/null", large), 0);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(120, "sha256sum %s | grep -q %s", large, large_sha),
                     0);
    assert_int_equal(emu_count(&emu, "^GET /media/"), want);
}

/* Every media answer cut after 1 MiB: a retry resumes where the cut was,
 * but a run of 8 MiB needs more retries than a request may make, so the
 * read fails within the deadline; the blocks that came whole stay. With
 * the fault gone the bytes are exact, and a remount reads them from the
 * cache alone. */
static void test_runs_cut_short(void **state)
{
    time_t t0;

    (void)state;
    assert_int_equal(mount_fresh(), 0);
    assert_int_equal(sh(30, "stat %s >/dev/null", large), 0);
    assert_int_equal(emu_fault(&emu, "{\"match\":\"GET /media/\","
                               "\"count\":1000,"
                               "\"reset_after_bytes\":1048576}"), 0);
    t0 = time(NULL);
    assert_int_not_equal(sh(120, "cat %s >/dev/null 2>&1", large), 0);
    assert_true(time(NULL) - t0 < 100);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(120, "sha256sum %s | grep -q %s", large, large_sha),
                     0);
    mount_stop(&mnt);
    assert_int_equal(mount_start(&mnt, &emu, "format=WAV"), 0);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(120, "sha256sum %s | grep -q %s", large, large_sha),
                     0);
    /* the open's resolve probe (first 64 KiB), no block */
    assert_in_range(emu_count(&emu, "^GET /media/"), 0, 1);
}

static void test_api_down_then_offline_remount(void **state)
{
    char other[1024];
    time_t t0;

    (void)state;
    /* media.webm of the large recording was never read: uncached */
    snprintf(other, sizeof other, "%s/conversations/%s/%s/media.mp3",
             mnt.mnt, cid, rid);
    emu_stop(&emu);
    assert_int_equal(sh(60, "sha256sum %s | grep -q %s", large, large_sha),
                     0);
    t0 = time(NULL);
    assert_int_not_equal(sh(60, "cat %s >/dev/null 2>&1", other), 0);
    assert_true(time(NULL) - t0 < 30);
    assert_int_equal(sh(20, "ls %s/conversations/%s >/dev/null", mnt.mnt,
                         cid), 0);
    /* remount with the API down: works from the cache */
    mount_stop(&mnt);
    assert_int_equal(mount_start(&mnt, &emu, "format=WAV"), 0);
    assert_int_equal(sh(60, "sha256sum %s | grep -q %s", large, large_sha),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_costs_one_block),
        cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_faults_during_copy),
        cmocka_unit_test(test_cold_sequential_runs),
        cmocka_unit_test(test_runs_cut_short),
        cmocka_unit_test(test_api_down_then_offline_remount),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
