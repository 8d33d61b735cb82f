/* test_fs_slow.c - nothing hangs: media still transcoding fails with
 * EAGAIN after transcode_timeout, a stalled media host with ETIMEDOUT
 * within the request deadline, and other operations keep working
 * meanwhile (DESIGN.md §2). Slow by nature (about a minute). */
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

static struct emu emu;
static struct recfs_mount mnt;
static char cid[160], rid[160];

static int start(const char *transcode_ms, const char *opts)
{
    const char *args[] = {"--seed", "demo", "--transcode-ms", transcode_ms,
                          NULL};
    int rc;

    if (!mount_supported())
        exit(77);
    rc = emu_start(&emu, args);
    if (rc == -2)
        exit(77);
    if (rc || sh_out(rid, sizeof rid, 20, "curl -sf %s/state | jq -r "
                     "'.recordings_by_media.audio[0]'", emu.control_url) ||
        sh_out(cid, sizeof cid, 20, "curl -sf %s/state | jq -r "
               "'.conversations | to_entries[] | select(.value | "
               "index(\"%s\")) | .key'", emu.control_url, rid))
        return -1;
    return mount_start(&mnt, &emu, opts);
}

static int setup_transcoding(void **state)
{
    (void)state;
    return start("600000", "transcode_timeout=3");
}

static int setup_ready(void **state)
{
    (void)state;
    return start("0", "metadata_ttl=1");
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

static void test_transcoding_eagain(void **state)
{
    char out[512];
    time_t t0 = time(NULL);

    (void)state;
    /* a reader waits in the background; listings still work */
    assert_int_equal(sh(60, "cd %s && (cat conversations/%s/%s/media.webm "
                         ">/dev/null 2>%s/err; echo $? > %s/rc) & sleep 0.5; "
                         "ls %s/policies >/dev/null && cat %s/settings.json "
                         ">/dev/null; wait", mnt.mnt, cid, rid, mnt.dir,
                         mnt.dir, mnt.mnt, mnt.mnt), 0);
    assert_true(time(NULL) - t0 < 30);
    assert_int_equal(sh_out(out, sizeof out, 5, "cat %s/err %s/rc", mnt.dir,
                            mnt.dir), 0);
    print_message("%s\n", out);
    assert_non_null(strstr(out, "temporarily unavailable"));
}

static void test_stall_etimedout(void **state)
{
    char out[512];
    time_t t0;

    (void)state;
    assert_int_equal(emu_fault(&emu, "{\"match\":\"GET /media/\","
                               "\"count\":100,\"stall_ms\":300000}"), 0);
    t0 = time(NULL);
    assert_int_equal(sh(200, "cd %s && (cat conversations/%s/%s/media.wav "
                         ">/dev/null 2>%s/err2; echo $? > %s/rc2) & sleep 1; "
                         "ls %s/userrecordings >/dev/null; wait", mnt.mnt,
                         cid, rid, mnt.dir, mnt.dir, mnt.mnt), 0);
    print_message("took %lds\n", (long)(time(NULL) - t0));
    assert_true(time(NULL) - t0 < 150);
    assert_int_equal(sh_out(out, sizeof out, 5, "cat %s/err2 %s/rc2",
                            mnt.dir, mnt.dir), 0);
    print_message("%s\n", out);
    assert_true(strstr(out, "timed out") || strstr(out, "temporarily"));
    sh(10, "curl -sf -XDELETE %s/faults >/dev/null", emu.control_url);
    /* still usable */
    assert_int_equal(sh(20, "ls %s/conversations/%s >/dev/null", mnt.mnt,
                         cid), 0);
}

/* A new server version of cached media is seen after the TTL: the new
 * bytes are served (never a mix of versions). */
static void test_media_version_change(void **state)
{
    char body[400], p[1024], want[65], got[65], src[512];
    uint64_t size;

    (void)state;
    snprintf(p, sizeof p, "%s/conversations/%s/%s/media.webm", mnt.mnt, cid,
             rid);
    assert_int_equal(test_sha256_file(p, got), 0);
    snprintf(body, sizeof body, "{\"kind\":\"media\",\"id\":\"%s\","
             "\"format\":\"WEBM\"}", rid);
    assert_int_equal(sh(10, "curl -sf -XPOST -d '%s' %s/mutate >/dev/null",
                         body, emu.control_url), 0);
    assert_int_equal(emu_media_file(&emu, "recording", rid, "WEBM", src,
                                    sizeof src, want, &size), 0);
    assert_string_not_equal(got, want);
    sleep(2);
    assert_int_equal(test_sha256_file(p, got), 0);
    assert_string_equal(got, want);
}

int main(void)
{
    const struct CMUnitTest transcoding[] = {
        cmocka_unit_test(test_transcoding_eagain),
    };
    const struct CMUnitTest ready[] = {
        cmocka_unit_test(test_media_version_change),
        cmocka_unit_test(test_stall_etimedout),
    };
    int rc = cmocka_run_group_tests(transcoding, setup_transcoding,
                                    teardown);

    return rc + cmocka_run_group_tests(ready, setup_ready, teardown);
}
