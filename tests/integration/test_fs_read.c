/* test_fs_read.c - the read side of a real mount against the emulator
 * (DESIGN.md §1-§2): tree, documents, media in every format, costs,
 * offline behaviour. */
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
static char audio_cid[160], audio_rid[160];

/* The first audio recording of the seed and its conversation. */
static int find_audio(void)
{
    return sh_out(audio_rid, sizeof audio_rid, 20,
                  "curl -sf %s/state | jq -r '.recordings_by_media.audio[0]'",
                  emu.control_url) ||
           sh_out(audio_cid, sizeof audio_cid, 20,
                  "curl -sf %s/state | jq -r '.conversations | to_entries[] "
                  "| select(.value | index(\"%s\")) | .key'",
                  emu.control_url, audio_rid);
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
    if (rc || find_audio())
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

static void test_tree(void **state)
{
    (void)state;
    /* every recording of every conversation of the window */
    assert_int_equal(sh(60, "cd %s && curl -sf %s/state | jq -r "
        "'.conversations | to_entries[] | .key as $c | .value[] | "
        "\"conversations/\\($c)/\\(.)/metadata.json\"' | "
        "xargs -r -n1 test -f", mnt.mnt, emu.control_url), 0);
    /* conversations without recordings are left out of the listing */
    assert_int_equal(sh(30, "cd %s && for c in $(curl -sf %s/state | jq -r "
        "'.conversations_without_recordings[]'); do ls conversations | "
        "grep -qx $c && exit 1; done; exit 0", mnt.mnt, emu.control_url), 0);
    assert_int_equal(sh(60, "cd %s && S=$(curl -sf %s/state) && "
        "for u in $(jq -r '.userrecordings[]' <<<\"$S\"); do "
        "test -f userrecordings/$u/metadata.json || exit 1; done && "
        "for o in $(jq -r '.orphans[]' <<<\"$S\"); do "
        "test -f orphanrecordings/$o/metadata.json || exit 2; done && "
        "for p in $(jq -r '.policies[]' <<<\"$S\"); do "
        "test -f policies/$p.json || exit 3; done && "
        "for k in $(jq -r '.keys[]' <<<\"$S\"); do "
        "test -f keys/$k.json || exit 4; done && "
        "for s in $(jq -r '.screensessions[]' <<<\"$S\"); do "
        "test -f screensessions/$s.json || exit 5; done && "
        "test -f settings.json && test -f keys/rotationschedule.json && "
        "test -f userrecordings/summary.json && test -d localkeys/requests "
        "&& test -f .recfs/status.json", mnt.mnt, emu.control_url), 0);
    /* by-date: links into conversations/ */
    assert_int_equal(sh(60, "cd %s && n=0; for d in by-date/*; do for l in "
        "$d/*; do [ -e \"$l\" ] || continue; [ -L \"$l\" ] || exit 1; "
        "case $(readlink $l) in ../../conversations/*) ;; *) exit 2;; esac; "
        "test -d $l/ || exit 3; n=$((n+1)); done; done; [ $n -gt 0 ]",
        mnt.mnt), 0);
}

static void test_unknown_ids(void **state)
{
    const char *rels[] = {"conversations/no-such-conversation",
                          "conversations/bad%id", "policies/nope.json",
                          "userrecordings/nope", "orphanrecordings/nope",
                          "keys/nope.json", "nothing", "by-date/2026-02-30"};
    char p[512];
    struct stat st;

    (void)state;
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        errno = 0;
        assert_int_equal(stat(mount_path(&mnt, rels[i], p, sizeof p), &st),
                         -1);
        assert_int_equal(errno, ENOENT);
    }
}

/* A document equals the API's copy minus volatile fields. */
static void check_doc(const char *api_path, const char *rel)
{
    char *body = NULL, tmp[] = "/tmp/recfs-doc.XXXXXX";
    long status = emu_api(&emu, "GET", api_path, NULL, &body);
    int fd = mkstemp(tmp);

    assert_int_equal(status, 200);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    free(body);
    assert_int_equal(sh(20, "cd %s && diff <(jq -S 'del(.mediaUris, "
        ".contentLocationUri)' %s) <(jq -S . '%s') && "
        "[ $(stat -c %%s '%s') -eq $(cat '%s' | wc -c) ] && "
        "[ \"$(tail -c1 '%s' | od -An -c | tr -d ' ')\" = '\\n' ]",
        mnt.mnt, tmp, rel, rel, rel, rel), 0);
    unlink(tmp);
}

static void test_documents(void **state)
{
    char api[512], rel[512], id[160];

    (void)state;
    snprintf(api, sizeof api,
             "/api/v2/conversations/%s/recordingmetadata/%s", audio_cid,
             audio_rid);
    snprintf(rel, sizeof rel, "conversations/%s/%s/metadata.json",
             audio_cid, audio_rid);
    check_doc(api, rel);
    check_doc("/api/v2/recording/settings", "settings.json");
    check_doc("/api/v2/recording/recordingkeys/rotationschedule",
              "keys/rotationschedule.json");
    assert_int_equal(sh_out(id, sizeof id, 20, "curl -sf %s/state | jq -r "
                            "'.policies[0]'", emu.control_url), 0);
    snprintf(api, sizeof api, "/api/v2/recording/mediaretentionpolicies/%s",
             id);
    snprintf(rel, sizeof rel, "policies/%s.json", id);
    check_doc(api, rel);
    assert_int_equal(sh_out(id, sizeof id, 20, "curl -sf %s/state | jq -r "
                            "'.userrecordings[0]'", emu.control_url), 0);
    snprintf(api, sizeof api, "/api/v2/userrecordings/%s", id);
    snprintf(rel, sizeof rel, "userrecordings/%s/metadata.json", id);
    check_doc(api, rel);
    /* read-only documents are 0444, writable ones 0644 */
    assert_int_equal(sh(10, "cd %s && [ $(stat -c %%a settings.json) = 644 ]"
                         " && [ $(stat -c %%a .recfs/status.json) = 444 ] && "
                         "[ $(stat -c %%a userrecordings/summary.json) = 444 ]"
                         " && [ $(stat -c %%u settings.json) = $(id -u) ]",
                         mnt.mnt), 0);
}

static void check_media(const char *kind, const char *id, const char *fmt,
                        const char *rel)
{
    char path[512], want[65], got[65], p[512];
    uint64_t size;
    struct stat st;

    assert_int_equal(emu_media_file(&emu, kind, id, fmt, path, sizeof path,
                                    want, &size), 0);
    mount_path(&mnt, rel, p, sizeof p);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal((uint64_t)st.st_size, size);
    assert_int_equal(test_sha256_file(p, got), 0);
    assert_string_equal(got, want);
}

static void test_media_formats(void **state)
{
    static const char *const fmts[][2] = {
        {"WEBM", "webm"}, {"WAV", "wav"}, {"WAV_ULAW", "ulaw.wav"},
        {"OGG_VORBIS", "ogg"}, {"OGG_OPUS", "opus"}, {"MP3", "mp3"}};
    char rel[512], id[160];

    (void)state;
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        snprintf(rel, sizeof rel, "conversations/%s/%s/media.%s", audio_cid,
                 audio_rid, fmts[i][1]);
        check_media("recording", audio_rid, fmts[i][0], rel);
    }
    assert_int_equal(sh_out(id, sizeof id, 20, "curl -sf %s/state | jq -r "
                            "'.userrecordings[0]'", emu.control_url), 0);
    snprintf(rel, sizeof rel, "userrecordings/%s/media.webm", id);
    check_media("userrecording", id, "WEBM", rel);
    assert_int_equal(sh_out(id, sizeof id, 20, "curl -sf %s/state | jq -r "
                            "'.orphans[0]'", emu.control_url), 0);
    snprintf(rel, sizeof rel, "orphanrecordings/%s/media.webm", id);
    check_media("orphan", id, "WEBM", rel);
}

static void test_xattrs(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(sh_out(out, sizeof out, 20, "cd %s/conversations/%s/%s "
                            "&& cat media.webm >/dev/null && getfattr "
                            "--only-values -n user.recfs.id media.webm && "
                            "getfattr --only-values -n user.recfs.kind "
                            "metadata.json && getfattr --only-values -n "
                            "user.recfs.cached media.webm", mnt.mnt,
                            audio_cid, audio_rid), 0);
    assert_non_null(strstr(out, audio_rid));
    assert_non_null(strstr(out, "recording"));
    assert_null(strstr(out, "recording0")); /* cached > 0 */
    assert_int_equal(sh(10, "cd %s/conversations/%s/%s && getfattr -d -m "
                         "user.recfs. . | grep -q conversation_id && ! "
                         "setfattr -n user.recfs.id -v x metadata.json "
                         "2>/dev/null", mnt.mnt, audio_cid, audio_rid), 0);
}

/* A listing keeps its entities as they came; a document is rendered when
 * first stat'ed or read: the size stat reports before any read is the
 * size read, and listing a directory of them costs no request. */
static void test_lazy_documents(void **state)
{
    static const char *const docs[][3] = {
        {".userrecordings[2]", "userrecordings/", "/metadata.json"},
        {".orphans[1]", "orphanrecordings/", "/metadata.json"},
        {".policies[1]", "policies/", ".json"},
    };
    char id[160], rel[512];

    (void)state;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        assert_int_equal(sh_out(id, sizeof id, 20, "curl -sf %s/state | jq "
                                "-r '%s'", emu.control_url, docs[i][0]), 0);
        snprintf(rel, sizeof rel, "%s%s%s", docs[i][1], id, docs[i][2]);
        assert_int_equal(sh(20, "cd %s && s=$(stat -c %%s '%s') && "
                             "[ \"$s\" -gt 2 ] && "
                             "[ \"$s\" -eq $(cat '%s' | wc -c) ] && "
                             "jq -e .id '%s' >/dev/null",
                             mnt.mnt, rel, rel, rel), 0);
    }
    /* ls -l of a recording directory looked into for the first time */
    assert_int_equal(sh_out(id, sizeof id, 20, "curl -sf %s/state | jq -r "
                            "'.userrecordings[3]'", emu.control_url), 0);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(20, "cd %s/userrecordings/%s && "
                         "s=$(ls -l metadata.json | awk '{print $5}') && "
                         "[ \"$s\" -eq $(cat metadata.json | wc -c) ] && "
                         "[ $(getfattr --only-values -n user.recfs.id "
                         "metadata.json) = %s ]", mnt.mnt, id, id), 0);
    assert_int_equal(emu_count(&emu, "^GET /api/v2/userrecordings"), 0);
}

/* A repeated ls -lR within the TTL costs no request at all. */
static void test_listing_costs(void **state)
{
    (void)state;
    assert_int_equal(sh(120, "ls -lR %s >/dev/null", mnt.mnt), 0);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(120, "ls -lR %s >/dev/null", mnt.mnt), 0);
    assert_int_equal(emu_total(&emu), 0);
}

/* cp -r / cp -rL are byte-exact; a second read costs no request. */
static void test_copy_trees(void **state)
{
    char out[600], day[32];

    (void)state;
    snprintf(out, sizeof out, "%s/out", mnt.dir);
    assert_int_equal(sh(120, "rm -rf %s && mkdir -p %s && cp -r "
                         "%s/conversations/%s %s/ && diff -r "
                         "%s/conversations/%s %s/%s", out, out, mnt.mnt,
                         audio_cid, out, mnt.mnt, audio_cid, out, audio_cid),
                     0);
    assert_int_equal(sh(30, "cmp %s/%s/%s/media.webm $(curl -sf "
                         "'%s/media?kind=recording&id=%s&format=WEBM' | "
                         "jq -r .path)", out, audio_cid, audio_rid,
                         emu.control_url, audio_rid), 0);
    assert_int_equal(sh_out(day, sizeof day, 20, "ls %s/by-date | tail -2 | "
                            "head -1", mnt.mnt), 0);
    assert_int_equal(sh(180, "cp -rL %s/by-date/%s %s/day && diff -r "
                         "%s/by-date/%s %s/day", mnt.mnt, day, out, mnt.mnt,
                         day, out), 0);
    assert_int_equal(emu_reset(&emu), 0);
    assert_int_equal(sh(120, "cat %s/conversations/%s/*/media.webm "
                         ">/dev/null", mnt.mnt, audio_cid), 0);
    assert_int_equal(emu_count(&emu, "^GET /media/"), 0);
}

/* Any well-formed id can be looked up, and is listed afterwards. */
static void test_lookup_outside_window(void **state)
{
    (void)state;
    mount_stop(&mnt);
    assert_int_equal(mount_start(&mnt, &emu, "recent_days=0"), 0);
    assert_int_equal(sh(20, "cd %s && ! ls conversations | grep -qx %s && "
                         "ls conversations/%s | grep -qx %s && ls "
                         "conversations | grep -qx %s", mnt.mnt, audio_cid,
                         audio_cid, audio_rid, audio_cid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_unknown_ids),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_media_formats),
        cmocka_unit_test(test_xattrs),
        cmocka_unit_test(test_lazy_documents),
        cmocka_unit_test(test_listing_costs),
        cmocka_unit_test(test_copy_trees),
        cmocka_unit_test(test_lookup_outside_window),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
