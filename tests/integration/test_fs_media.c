/* test_fs_media.c - media through the cache on a real mount: partial
 * reads cost only the touched blocks, concurrent readers share
 * downloads, faults are retried, the API going away leaves the cache
 * readable and fails the rest quickly, and an offline remount works. */
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

static struct emu emu;
static struct recfs_mount mnt;
static char large[1024];     /* the large recording's media.wav */
static char large_src[512];  /* its source in the emulator */
static char cid[160], rid[160];
static char large_sha[65];

static int setup(void **state)
{
    const char *args[] = {"--seed", "bench", "--conversations", "6",
                          "--transcode-ms", "0", "--large-media-mib", "24",
                          NULL};
    uint64_t size;
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
                       sizeof large_src, large_sha, &size))
        return -1;
    if (mount_start(&mnt, &emu, "format=WAV"))
        return -1;
    snprintf(large, sizeof large, "%s/conversations/%s/%s/media.wav",
             mnt.mnt, cid, rid);
    return 0;
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
        cmocka_unit_test(test_api_down_then_offline_remount),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
