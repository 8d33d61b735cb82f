/* test_prefetch.c - `recfs prefetch` fills the cache of a running mount
 * (afterwards reading every media file costs no media request), prints
 * progress and a summary, fails with 1 on paths outside a mount, and
 * stops cleanly with 130 on SIGINT. `recfs status` shows the result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emu.h"
#include "mount.h"

static struct emu emu;
static const char *bin;

static int setup(void **state)
{
    const char *args[] = {"--seed", "demo", "--transcode-ms", "0", NULL};
    int rc;

    (void)state;
    bin = getenv("RECFS_BINARY");
    if (!bin || !mount_supported())
        exit(77);
    rc = emu_start(&emu, args);
    if (rc == -2)
        exit(77);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    emu_stop(&emu);
    return 0;
}

static void test_prefetch_fills_cache(void **state)
{
    struct recfs_mount m = {0};
    char out[8192];
    long media;
    int rc;

    (void)state;
    assert_int_equal(mount_start(&m, &emu, NULL), 0);
    assert_int_equal(emu_reset(&emu), 0);
    rc = sh_out(out, sizeof out, 120, "%s prefetch -j 4 %s/conversations "
                "%s/userrecordings %s/orphanrecordings 2>&1", bin, m.mnt,
                m.mnt, m.mnt);
    print_message("%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "files"));        /* progress line */
    assert_non_null(strstr(out, "/s"));           /* a rate */
    assert_non_null(strstr(out, "prefetch: "));   /* the summary */
    assert_null(strstr(out, "failed"));
    media = emu_count(&emu, "^GET /media/");
    assert_true(media > 0);

    /* everything is cached now: reading it all again costs no media */
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(120, "find %s/conversations %s/userrecordings "
                        "%s/orphanrecordings -name 'media.*' -type f "
                        "-exec cat {} + >/dev/null", m.mnt, m.mnt, m.mnt), 0);
    assert_int_equal(emu_count(&emu, "^GET /media/"), 0);

    /* a second prefetch is served by the cache */
    assert_int_equal(sh(60, "%s prefetch -q %s/conversations", bin, m.mnt),
                     0);
    assert_int_equal(emu_count(&emu, "^GET /media/"), 0);

    rc = sh_out(out, sizeof out, 30, "%s status %s", bin, m.mnt);
    print_message("%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Cache:"));
    assert_non_null(strstr(out, "Requests:"));
    assert_non_null(strstr(out, emu.api_url));
    assert_null(strstr(out, " 0 B of")); /* bytes are in the cache */

    /* not inside a mount: exit 1, named */
    rc = sh_out(out, sizeof out, 30, "%s prefetch /tmp 2>&1", bin);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "not inside a recfs mount"));
    assert_int_equal(sh(30, "%s status /tmp 2>/dev/null", bin), 1);
    assert_int_equal(sh(30, "%s prefetch 2>/dev/null", bin), 2);

    assert_int_equal(mount_stop(&m), 0);
    assert_int_equal(mount_log_clean(&m), 0);
    mount_cleanup(&m);
}

static void test_prefetch_sigint(void **state)
{
    struct recfs_mount m = {0};
    char out[8192];
    int rc;

    (void)state;
    assert_int_equal(mount_start(&m, &emu, NULL), 0);
    assert_int_equal(emu_fault(&emu, "{\"match\":\"GET /media/\","
                               "\"count\":1000,\"latency_ms\":1500}"), 0);
    rc = sh_out(out, sizeof out, 60, "timeout --preserve-status -s INT 2 "
                "%s prefetch -j 2 %s/conversations 2>&1; echo \"rc=$?\"",
                bin, m.mnt);
    print_message("%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "interrupted"));
    assert_non_null(strstr(out, "rc=130"));
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(mount_stop(&m), 0);
    assert_int_equal(mount_log_clean(&m), 0);
    mount_cleanup(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefetch_fills_cache),
        cmocka_unit_test(test_prefetch_sigint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
