/* test_fs_tree.c - path -> node mapping (fs/fs_tree.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fs_tree.h"

struct tcase {
    const char *path;
    int rc;
    enum fs_type type;
    enum fs_type dir;
    const char *conv, *rec, *id, *ext;
};

static const struct tcase cases[] = {
    {"/", 0, FS_T_ROOT, FS_T_NONE, "", "", "", ""},
    {"/conversations", 0, FS_T_CONVS, FS_T_ROOT, "", "", "", ""},
    {"/conversations/", 0, FS_T_CONVS, FS_T_ROOT, "", "", "", ""},
    {"/conversations/c-1", 0, FS_T_CONV, FS_T_CONVS, "c-1", "", "", ""},
    {"/conversations/c-1/r_2", 0, FS_T_REC, FS_T_CONV, "c-1", "r_2", "", ""},
    {"/conversations/c/r/metadata.json", 0, FS_T_REC_META, FS_T_REC, "c",
     "r", "", ""},
    {"/conversations/c/r/media.webm", 0, FS_T_REC_MEDIA, FS_T_REC, "c", "r",
     "", "webm"},
    {"/conversations/c/r/media.ulaw.wav", 0, FS_T_REC_MEDIA, FS_T_REC, "c",
     "r", "", "ulaw.wav"},
    {"/conversations/c/r/transcript.json", 0, FS_T_REC_TRANSCRIPT,
     FS_T_REC, "c", "r", "", ""},
    {"/conversations/c/r/annotations", 0, FS_T_ANNS, FS_T_REC, "c", "r", "",
     ""},
    {"/conversations/c/r/annotations/a1.json", 0, FS_T_ANN, FS_T_ANNS, "c",
     "r", "a1", ""},
    {"/conversations/c/r/annotations/.a1.json.swp", 0, FS_T_OTHER,
     FS_T_ANNS, "c", "r", "", ""},
    {"/conversations/c/r/.metadata.json.swp", 0, FS_T_OTHER, FS_T_REC, "c",
     "r", "", ""},
    {"/conversations/c/r/annotations/a/b", -ENOENT, 0, 0, "", "", "", ""},
    {"/conversations/c/r/x/y", -ENOENT, 0, 0, "", "", "", ""},
    {"/conversations/bad id", -ENOENT, 0, 0, "", "", "", ""},
    {"/conversations/..", -ENOENT, 0, 0, "", "", "", ""},
    {"/conversations/c/new", 0, FS_T_REC, FS_T_CONV, "c", "new", "", ""},
    {"/by-date", 0, FS_T_BYDATE, FS_T_ROOT, "", "", "", ""},
    {"/by-date/2026-11-21", 0, FS_T_DAY, FS_T_BYDATE, "", "", "", ""},
    {"/by-date/2026-02-30", -ENOENT, 0, 0, "", "", "", ""},
    {"/by-date/2024-02-29", 0, FS_T_DAY, FS_T_BYDATE, "", "", "", ""},
    {"/by-date/2026-11-21/c9", 0, FS_T_DAY_LINK, FS_T_DAY, "c9", "", "", ""},
    {"/by-date/2026-11-21/c9/r", -ENOENT, 0, 0, "", "", "", ""},
    {"/userrecordings", 0, FS_T_URECS, FS_T_ROOT, "", "", "", ""},
    {"/userrecordings/summary.json", 0, FS_T_UREC_SUMMARY, FS_T_URECS, "",
     "", "", ""},
    {"/userrecordings/u1", 0, FS_T_UREC, FS_T_URECS, "", "u1", "", ""},
    {"/userrecordings/u1/metadata.json", 0, FS_T_UREC_META, FS_T_UREC, "",
     "u1", "", ""},
    {"/userrecordings/u1/media.mp3", 0, FS_T_UREC_MEDIA, FS_T_UREC, "", "u1",
     "", "mp3"},
    {"/orphanrecordings/o1/media.opus", 0, FS_T_ORPHAN_MEDIA, FS_T_ORPHAN,
     "", "o1", "", "opus"},
    {"/orphanrecordings/o1/transcript.json", 0, FS_T_OTHER, FS_T_ORPHAN, "",
     "o1", "", ""},
    {"/policies", 0, FS_T_POLICIES, FS_T_ROOT, "", "", "", ""},
    {"/policies/p1.json", 0, FS_T_POLICY, FS_T_POLICIES, "", "", "p1", ""},
    {"/policies/tmp", 0, FS_T_OTHER, FS_T_POLICIES, "", "", "", ""},
    {"/settings.json", 0, FS_T_SETTINGS, FS_T_ROOT, "", "", "", ""},
    {"/.settings.json.swp", 0, FS_T_OTHER, FS_T_ROOT, "", "", "", ""},
    {"/keys/rotationschedule.json", 0, FS_T_ROTATION, FS_T_KEYS, "", "", "",
     ""},
    {"/keys/k1.json", 0, FS_T_KEY, FS_T_KEYS, "", "", "k1", ""},
    {"/keys/new", 0, FS_T_OTHER, FS_T_KEYS, "", "", "", ""},
    {"/localkeys", 0, FS_T_LOCALKEYS, FS_T_ROOT, "", "", "", ""},
    {"/localkeys/settings", 0, FS_T_LK_SETTINGS, FS_T_LOCALKEYS, "", "", "",
     ""},
    {"/localkeys/settings/s1.json", 0, FS_T_LK_SETTING, FS_T_LK_SETTINGS, "",
     "", "s1", ""},
    {"/localkeys/requests", 0, FS_T_LK_REQUESTS, FS_T_LOCALKEYS, "", "", "",
     ""},
    {"/localkeys/requests/r.json", 0, FS_T_OTHER, FS_T_LK_REQUESTS, "", "",
     "", ""},
    {"/localkeys/other", -ENOENT, 0, 0, "", "", "", ""},
    {"/screensessions/s1.json", 0, FS_T_SCREEN, FS_T_SCREENS, "", "", "s1",
     ""},
    {"/.recfs", 0, FS_T_CTL, FS_T_ROOT, "", "", "", ""},
    {"/.recfs/status.json", 0, FS_T_STATUS, FS_T_CTL, "", "", "", ""},
    {"/.recfs/other", -ENOENT, 0, 0, "", "", "", ""},
    {"/nothing/here", -ENOENT, 0, 0, "", "", "", ""},
    {"relative", -ENOENT, 0, 0, "", "", "", ""},
    {"/a/b/c/d/e/f/g", -ENOENT, 0, 0, "", "", "", ""},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *t = &cases[i];
        struct fs_path p;
        int rc = fs_path_parse(t->path, &p);

        assert_int_equal(rc, t->rc);
        if (rc)
            continue;
        assert_int_equal(p.type, t->type);
        assert_int_equal(p.dir, t->dir);
        assert_string_equal(p.conv, t->conv);
        assert_string_equal(p.rec, t->rec);
        assert_string_equal(p.id, t->id);
        assert_string_equal(p.ext, t->ext);
    }
}

static void test_long_names(void **state)
{
    char path[600], id[200];
    struct fs_path p;

    (void)state;
    memset(id, 'a', 128);
    id[128] = '\0';
    snprintf(path, sizeof path, "/conversations/%s", id);
    assert_int_equal(fs_path_parse(path, &p), 0);
    memset(id, 'a', 129);
    id[129] = '\0';
    snprintf(path, sizeof path, "/conversations/%s", id);
    assert_int_equal(fs_path_parse(path, &p), -ENOENT);
    memset(path, 'x', 300);
    path[0] = '/';
    path[300] = '\0';
    assert_int_equal(fs_path_parse(path, &p), -ENAMETOOLONG);
}

static void test_scratch_names(void **state)
{
    (void)state;
    assert_true(fs_name_is_scratch(FS_T_ANNS, ".x.json.swp"));
    assert_true(fs_name_is_scratch(FS_T_ANNS, "4913"));
    assert_true(fs_name_is_scratch(FS_T_ANNS, "x.json~"));
    assert_true(fs_name_is_scratch(FS_T_POLICIES, "sedAb12Cd"));
    assert_true(fs_name_is_scratch(FS_T_POLICIES, ".#p.json"));
    assert_true(fs_name_is_scratch(FS_T_POLICIES, "tmp"));
    assert_true(fs_name_is_scratch(FS_T_REC, "metadata.json.tmp"));
    assert_true(fs_name_is_scratch(FS_T_ROOT, "anything.json"));
    assert_false(fs_name_is_scratch(FS_T_ANNS, "new.json"));
    assert_false(fs_name_is_scratch(FS_T_POLICIES, "p.json"));
    assert_false(fs_name_is_scratch(FS_T_LK_SETTINGS, "s.json"));
    assert_false(fs_name_is_scratch(FS_T_KEYS, "new"));
    assert_false(fs_name_is_scratch(FS_T_LK_REQUESTS, "req.json"));
}

static void test_kinds(void **state)
{
    (void)state;
    assert_true(fs_type_is_dir(FS_T_ANNS));
    assert_false(fs_type_is_dir(FS_T_ANN));
    assert_true(fs_type_is_writable(FS_T_REC_META));
    assert_false(fs_type_is_writable(FS_T_KEY));
    assert_false(fs_type_is_writable(FS_T_UREC_SUMMARY));
    assert_false(fs_type_is_writable(FS_T_STATUS));
    assert_true(fs_type_is_doc(FS_T_STATUS));
    assert_true(fs_type_is_media(FS_T_ORPHAN_MEDIA));
    assert_false(fs_dir_accepts_files(FS_T_CONVS));
    assert_false(fs_dir_accepts_files(FS_T_DAY));
}

static void test_days_and_join(void **state)
{
    char buf[64];
    time_t t;

    (void)state;
    assert_true(fs_day_parse("2026-11-21", &t));
    fs_day_format(t, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-21");
    fs_day_format(t + 86399, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-21");
    assert_false(fs_day_parse("2026-13-01", &t));
    assert_false(fs_day_parse("2026-1-01", &t));
    assert_false(fs_day_parse("1969-12-31", &t));
    assert_int_equal(fs_path_join(buf, sizeof buf, "/", "x"), 0);
    assert_string_equal(buf, "/x");
    assert_int_equal(fs_path_join(buf, sizeof buf, "/a", "x"), 0);
    assert_string_equal(buf, "/a/x");
    assert_int_equal(fs_path_join(buf, 4, "/a", "xyz"), -ENAMETOOLONG);
    assert_int_equal(fs_path_parent("/a/b", buf, sizeof buf), 0);
    assert_string_equal(buf, "/a");
    assert_int_equal(fs_path_parent("/a", buf, sizeof buf), 0);
    assert_string_equal(buf, "/");
    assert_true(fs_id_valid("a.b_c-D9"));
    assert_false(fs_id_valid(""));
    assert_false(fs_id_valid("a/b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_scratch_names),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_days_and_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
