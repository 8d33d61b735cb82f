/* test_fs_read_more.c - read-side features of a real mount against the
 * emulator (DESIGN.md §1-§2): transcript.json of chat/email recordings,
 * one listing for concurrent `ls` of the same directory, readdirplus
 * attributes, byte-exact zero-copy reads (cold, hot, cached), the kernel
 * page cache dropped when the server's media version changes, and the
 * media name of format NONE. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "emu.h"
#include "mount.h"

static struct emu emu;
static struct recfs_mount mnt;

/* The conversation of recording rid (from the emulator's state). */
static int conv_of(const char *rid, char *cid, size_t n)
{
    return sh_out(cid, n, 20,
                  "curl -sf %s/state | jq -r '.conversations | to_entries[]"
                  " | select(.value | index(\"%s\")) | .key'",
                  emu.control_url, rid);
}

/* The first recording of media type `media` and its conversation. */
static int find_rec(const char *media, char *rid, char *cid, size_t n)
{
    return sh_out(rid, n, 20,
                  "curl -sf %s/state | jq -er '.recordings_by_media.%s[0]'",
                  emu.control_url, media) ||
           conv_of(rid, cid, n);
}

static int setup(void **state)
{
    const char *args[] = {"--seed", "demo", "--transcode-ms", "0", NULL};
    int rc;

    (void)state;
    if (!mount_supported())
        exit(77);
    rc = emu_start(&emu, args);
    if (rc == -2)
        exit(77);
    if (rc)
        return -1;
    return mount_start(&mnt, &emu, NULL);
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

/* transcript.json of a chat and an email recording: the document's
 * transcript / emailTranscript, 0444, instead of media.*; reading it
 * costs no request beyond the conversation's listing. */
static void check_transcript(const char *media, const char *field)
{
    char rid[160], cid[160], api[512];
    char *body = NULL;
    FILE *f;

    assert_int_equal(find_rec(media, rid, cid, sizeof rid), 0);
    assert_int_equal(sh(20, "cd %s/conversations/%s/%s && ls | grep -qx "
                            "transcript.json && ! ls | grep -q '^media\\.' "
                            "&& [ $(stat -c %%a transcript.json) = 444 ]",
                        mnt.mnt, cid, rid), 0);
    snprintf(api, sizeof api,
             "/api/v2/conversations/%s/recordingmetadata/%s", cid, rid);
    assert_int_equal(emu_api(&emu, "GET", api, NULL, &body), 200);
    f = fopen("/tmp/recfs-test-transcript.json", "w");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
    free(body);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(20, "cd %s/conversations/%s/%s && "
                            "[ \"$(jq -S .%s /tmp/recfs-test-transcript.json)\""
                            " = \"$(jq -S . transcript.json)\" ] && "
                            "[ $(stat -c %%s transcript.json) = "
                            "$(wc -c < transcript.json) ] && "
                            "tail -c1 transcript.json | od -c | grep -q '\\\\n'",
                        mnt.mnt, cid, rid, field), 0);
    assert_int_equal(emu_total(&emu), 0);
    unlink("/tmp/recfs-test-transcript.json");
    /* read-only */
    assert_int_not_equal(sh(10, "echo x > %s/conversations/%s/%s/"
                                "transcript.json 2>/dev/null", mnt.mnt, cid,
                            rid), 0);
}

static void test_transcript(void **state)
{
    (void)state;
    check_transcript("chat", "transcript");
    check_transcript("email", "emailTranscript");
}

/* Lookups and listings of one directory not listed yet, at once (two
 * stat of different children, ls, ls -l): one listing request (made
 * slow so that they overlap). */
static void test_concurrent_listing(void **state)
{
    char u1[160], u2[160];

    (void)state;
    assert_int_equal(sh_out(u1, sizeof u1, 20, "curl -sf %s/state | jq -r "
                            "'.userrecordings[0]'", emu.control_url), 0);
    assert_int_equal(sh_out(u2, sizeof u2, 20, "curl -sf %s/state | jq -r "
                            "'.userrecordings[1]'", emu.control_url), 0);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(emu_fault(&emu, "{\"match\":\"GET /api/v2/user"
                                     "recordings\",\"count\":1,"
                                     "\"latency_ms\":700}"), 0);
    assert_int_equal(sh(30, "cd %s/userrecordings && (stat %s >/dev/null &"
                            " stat %s/metadata.json >/dev/null & ls "
                            ">/dev/null & ls -l >/dev/null & wait)", mnt.mnt,
                        u1, u2), 0);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings$"), 1);
    assert_int_equal(emu_reset(&emu), 0);
}

/* A page-cache-less, zero-copy and copied read of the same media give
 * the emulator's bytes: cold (downloads), hot (page cache), through the
 * disk cache after a remount (splice from the cache file), and with
 * unaligned reads that span blocks (dd with odd block sizes). */
static void test_media_bytes(void **state)
{
    char rid[160], cid[160], path[512], want[65], rel[512], p[512];
    uint64_t size;

    (void)state;
    assert_int_equal(find_rec("audio", rid, cid, sizeof rid), 0);
    assert_int_equal(emu_media_file(&emu, "recording", rid, "WAV", path,
                                    sizeof path, want, &size), 0);
    snprintf(rel, sizeof rel, "conversations/%s/%s/media.wav", cid, rid);
    mount_path(&mnt, rel, p, sizeof p);
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(sh(60, "[ \"$(sha256sum < %s | cut -c1-64)\" = "
                                "%s ]", p, want), 0);
        assert_int_equal(sh(60, "[ \"$(dd if=%s bs=77777 2>/dev/null | "
                                "sha256sum | cut -c1-64)\" = %s ]", p,
                            want), 0);
        assert_int_equal(sh(60, "cmp <(dd if=%s bs=1 skip=1000 count=5000 "
                                "2>/dev/null) <(dd if=%s bs=1 skip=1000 "
                                "count=5000 2>/dev/null)", p, path), 0);
        /* remount on the same cache: the bytes come from the cache file */
        assert_int_equal(mount_stop(&mnt), 0);
        assert_int_equal(mount_start(&mnt, &emu, NULL), 0);
        assert_int_equal(emu_reset(&emu), 0);
    }
}

/* A new media version on the server: after the metadata TTL, stat shows
 * the new size and a read the new bytes (the kernel's cached pages of the
 * old version are dropped). */
static void test_version_change(void **state)
{
    struct recfs_mount m2 = {0};
    char rid[160], cid[160], path[512], want[65], rel[512], p[512];
    uint64_t size;

    (void)state;
    assert_int_equal(find_rec("audio", rid, cid, sizeof rid), 0);
    assert_int_equal(mount_start(&m2, &emu, "metadata_ttl=1"), 0);
    snprintf(rel, sizeof rel, "conversations/%s/%s/media.ogg", cid, rid);
    mount_path(&m2, rel, p, sizeof p);
    assert_int_equal(emu_media_file(&emu, "recording", rid, "OGG_VORBIS",
                                    path, sizeof path, want, &size), 0);
    assert_int_equal(sh(60, "[ \"$(sha256sum < %s | cut -c1-64)\" = %s ]",
                        p, want), 0);
    assert_int_equal(sh(20, "curl -sf -X POST -d '{\"kind\":\"media\","
                            "\"id\":\"%s\",\"format\":\"OGG_VORBIS\"}'"
                            " %s/mutate >/dev/null", rid, emu.control_url),
                     0);
    assert_int_equal(emu_media_file(&emu, "recording", rid, "OGG_VORBIS",
                                    path, sizeof path, want, &size), 0);
    sleep(3);
    assert_int_equal(sh(20, "[ $(stat -c %%s %s) = %llu ]", p,
                        (unsigned long long)size), 0);
    assert_int_equal(sh(60, "[ \"$(sha256sum < %s | cut -c1-64)\" = %s ]",
                        p, want), 0);
    mount_stop(&m2);
    assert_int_equal(mount_log_clean(&m2), 0);
    mount_cleanup(&m2);
}

/* format=NONE: the listing cannot know the original's content type
 * without one request per recording, so media is listed as media.bin;
 * its bytes are the original (the emulator's NONE file). */
static void test_format_none(void **state)
{
    struct recfs_mount m2 = {0};
    char rid[160], cid[160], path[512], want[65], rel[512], p[512];
    uint64_t size;

    (void)state;
    assert_int_equal(find_rec("audio", rid, cid, sizeof rid), 0);
    assert_int_equal(mount_start(&m2, &emu, "format=NONE"), 0);
    snprintf(rel, sizeof rel, "conversations/%s/%s", cid, rid);
    mount_path(&m2, rel, p, sizeof p);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(20, "ls %s | grep -qx media.bin", p), 0);
    assert_int_equal(emu_count(&emu, "^GET /media/"), 0);
    assert_int_equal(emu_media_file(&emu, "recording", rid, "NONE", path,
                                    sizeof path, want, &size), 0);
    assert_int_equal(sh(60, "[ \"$(sha256sum < %s/media.bin | cut -c1-64)"
                            "\" = %s ]", p, want), 0);
    mount_stop(&m2);
    assert_int_equal(mount_log_clean(&m2), 0);
    mount_cleanup(&m2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcript),
        cmocka_unit_test(test_concurrent_listing),
        cmocka_unit_test(test_media_bytes),
        cmocka_unit_test(test_version_change),
        cmocka_unit_test(test_format_none),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
