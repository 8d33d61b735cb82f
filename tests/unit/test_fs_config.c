/* test_fs_config.c - mount options, config file, environment
 * (fs/fs_config.c). */
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

#include "fs_int.h"

static void test_sizes(void **state)
{
    uint64_t v;

    (void)state;
    assert_int_equal(fs_size_parse("2G", &v), 0);
    assert_true(v == 2ULL << 30);
    assert_int_equal(fs_size_parse("512M", &v), 0);
    assert_true(v == 512ULL << 20);
    assert_int_equal(fs_size_parse("100k", &v), 0);
    assert_true(v == 100ULL << 10);
    assert_int_equal(fs_size_parse("1000", &v), 0);
    assert_true(v == 1000);
    assert_int_equal(fs_size_parse("1GiB", &v), 0);
    assert_true(v == 1ULL << 30);
    assert_int_equal(fs_size_parse("", &v), -1);
    assert_int_equal(fs_size_parse("G", &v), -1);
    assert_int_equal(fs_size_parse("-1G", &v), -1);
    assert_int_equal(fs_size_parse("12X", &v), -1);
    assert_int_equal(fs_size_parse("99999999999999999999G", &v), -1);
}

static void test_defaults_and_finish(void **state)
{
    struct fs_opts o;
    char err[256];

    (void)state;
    fs_opts_init(&o);
    assert_int_equal(fs_opts_finish(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "credentials"));
    assert_int_equal(fs_opts_set(&o, "access_token", "t", err, sizeof err),
                     0);
    assert_int_equal(fs_opts_finish(&o, err, sizeof err), 0);
    assert_int_equal(o.format, API_FORMAT_WEBM);
    assert_true(o.cache_size == 2ULL << 30);
    assert_int_equal(o.recent_days, 7);
    assert_int_equal(o.metadata_ttl, 60);
    assert_int_equal(o.transcode_timeout, 120);
    assert_int_equal(o.allow_delete, 0);
    fs_opts_clear(&o);
}

static void test_set_and_precedence(void **state)
{
    struct fs_opts o;
    char err[256];

    (void)state;
    fs_opts_init(&o);
    /* the first source wins: argv, then environment, then config */
    assert_int_equal(fs_opts_set(&o, "format", "WAV", err, sizeof err), 0);
    assert_int_equal(fs_opts_set(&o, "format", "MP3", err, sizeof err), 0);
    assert_int_equal(fs_opts_set(&o, "recent_days", "3", err, sizeof err), 0);
    assert_int_equal(fs_opts_set(&o, "recent_days", "9", err, sizeof err), 0);
    assert_int_equal(fs_opts_set(&o, "allow_delete", "", err, sizeof err),
                     0);
    assert_int_equal(fs_opts_set(&o, "recent_days", "x", err, sizeof err),
                     -1);
    assert_int_equal(fs_opts_set(&o, "ro", "maybe", err, sizeof err), -1);
    assert_int_equal(fs_opts_set(&o, "bogus", "1", err, sizeof err), -1);
    assert_non_null(strstr(err, "bogus"));
    assert_int_equal(fs_opts_set(&o, "client_id", "id", err, sizeof err), 0);
    assert_int_equal(fs_opts_set(&o, "client_secret", "s", err, sizeof err),
                     0);
    assert_int_equal(fs_opts_set(&o, "cache_size", "1M", err, sizeof err), 0);
    assert_int_equal(fs_opts_finish(&o, err, sizeof err), 0);
    assert_int_equal(o.format, API_FORMAT_WAV);
    assert_int_equal(o.recent_days, 3);
    assert_int_equal(o.allow_delete, 1);
    assert_true(o.cache_size == 1ULL << 20);
    fs_opts_clear(&o);

    fs_opts_init(&o);
    assert_int_equal(fs_opts_set(&o, "format", "FLAC", err, sizeof err), 0);
    assert_int_equal(fs_opts_set(&o, "access_token", "t", err, sizeof err),
                     0);
    assert_int_equal(fs_opts_finish(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "FLAC"));
    fs_opts_clear(&o);
}

static void test_config_text(void **state)
{
    struct fs_opts o;
    char err[256];

    (void)state;
    fs_opts_init(&o);
    assert_int_equal(fs_config_parse(&o, "# comment\n\n client_id = abc \n"
                                     "client_secret=s3cret\nenvironment = "
                                     "mypurecloud.ie\nformat = OGG_OPUS\n"
                                     "allow_delete\n", err, sizeof err), 0);
    assert_string_equal(o.client_id, "abc");
    assert_string_equal(o.client_secret, "s3cret");
    assert_string_equal(o.env, "mypurecloud.ie");
    assert_int_equal(o.allow_delete, 1);
    assert_int_equal(fs_opts_finish(&o, err, sizeof err), 0);
    assert_int_equal(o.format, API_FORMAT_OGG_OPUS);
    fs_opts_clear(&o);
    fs_opts_init(&o);
    assert_int_equal(fs_config_parse(&o, "client_id = a\nnope = 1\n", err,
                                     sizeof err), -1);
    assert_non_null(strstr(err, "line 2"));
    fs_opts_clear(&o);
}

static void test_config_file_mode(void **state)
{
    char dir[] = "/tmp/recfs-cfg.XXXXXX", path[300], err[512];
    struct fs_opts o;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config", dir);
    fs_opts_init(&o);
    assert_int_equal(fs_config_load(&o, path, err, sizeof err), 0); /* none */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("client_id = x\nclient_secret = y\n", f);
    fclose(f);
    chmod(path, 0644);
    assert_int_equal(fs_config_load(&o, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "0600"));
    assert_null(o.client_id);
    chmod(path, 0600);
    assert_int_equal(fs_config_load(&o, path, err, sizeof err), 0);
    assert_string_equal(o.client_secret, "y");
    fs_opts_clear(&o);
    unlink(path);
    rmdir(dir);
}

static void test_env_and_paths(void **state)
{
    struct fs_opts o;
    char buf[300];

    (void)state;
    setenv("PURECLOUD_CLIENT_ID", "envid", 1);
    setenv("PURECLOUD_SECRET", "envsecret", 1);
    setenv("PURECLOUD_ENVIRONMENT", "usw2.pure.cloud", 1);
    fs_opts_init(&o);
    assert_int_equal(fs_opts_from_env(&o, buf, sizeof buf), 0);
    assert_string_equal(o.client_id, "envid");
    assert_string_equal(o.client_secret, "envsecret");
    assert_string_equal(o.env, "usw2.pure.cloud");
    fs_opts_clear(&o);
    setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
    setenv("XDG_CONFIG_HOME", "/xdg/config", 1);
    assert_int_equal(fs_default_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/xdg/cache/recfs");
    assert_int_equal(fs_default_config_path(buf, sizeof buf), 0);
    assert_string_equal(buf, "/xdg/config/recfs/config");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    assert_int_equal(fs_default_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/home/u/.cache/recfs");
    unsetenv("PURECLOUD_CLIENT_ID");
    unsetenv("PURECLOUD_SECRET");
    unsetenv("PURECLOUD_ENVIRONMENT");
    unsetenv("XDG_CONFIG_HOME");
}

static const char profiles_text[] =
    "# global defaults\n"
    "client_id = global-id\n"
    "client_secret = \"global-secret\"\n"
    "format = MP3\n"
    "recent_days = 3\n"
    "allow_other\n"
    "\n"
    "[profile acme]\n"
    "client_id = acme-id\n"
    "environment = mypurecloud.ie\n"
    "format = WAV\n"
    "max_threads = 4\n"
    "\n"
    "[ profile  beta ]\n"
    "client_id = beta-id\n"
    "cache_size = 1G\n";

/* [profile NAME] lines win over the global ones; other sections are
 * only checked; FUSE options are collected for libfuse. */
static void test_profiles(void **state)
{
    struct fs_opts o;
    char err[256];

    (void)state;
    fs_opts_init(&o);
    assert_int_equal(fs_config_parse(&o, profiles_text, err, sizeof err), 0);
    assert_string_equal(o.client_id, "global-id");
    assert_string_equal(o.client_secret, "global-secret");
    assert_string_equal(o.format_name, "MP3");
    assert_null(o.env);
    assert_string_equal(o.fuse_opts, "allow_other");
    fs_opts_clear(&o);

    fs_opts_init(&o);
    assert_int_equal(fs_opts_set(&o, "profile", "acme", err, sizeof err), 0);
    assert_int_equal(fs_config_parse(&o, profiles_text, err, sizeof err), 0);
    assert_string_equal(o.client_id, "acme-id");
    assert_string_equal(o.client_secret, "global-secret");
    assert_string_equal(o.env, "mypurecloud.ie");
    assert_string_equal(o.format_name, "WAV");
    assert_int_equal(o.recent_days, 3);
    assert_null(o.cache_size_s); /* beta's */
    assert_string_equal(o.fuse_opts, "allow_other,max_threads=4");
    fs_opts_clear(&o);

    fs_opts_init(&o);
    assert_int_equal(fs_opts_set(&o, "profile", "beta", err, sizeof err), 0);
    assert_int_equal(fs_config_parse(&o, profiles_text, err, sizeof err), 0);
    assert_string_equal(o.client_id, "beta-id");
    assert_string_equal(o.cache_size_s, "1G");
    fs_opts_clear(&o);

    fs_opts_init(&o);
    assert_int_equal(fs_opts_set(&o, "profile", "nope", err, sizeof err), 0);
    assert_int_equal(fs_config_parse(&o, profiles_text, err, sizeof err), -1);
    assert_non_null(strstr(err, "no [profile nope]"));
    fs_opts_clear(&o);
}

static void test_config_errors(void **state)
{
    struct fs_opts o;
    char err[256];

    (void)state;
    fs_opts_init(&o);
    /* a typo in a profile that is not selected is still reported */
    assert_int_equal(fs_config_parse(&o, "format = WAV\n[profile x]\n"
                                     "cache_sise = 1G\n", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "unknown option 'cache_sise'; did you mean "
                                "'cache_size'?"));
    assert_non_null(strstr(err, "line 3"));
    fs_opts_clear(&o);
    fs_opts_init(&o);
    assert_int_equal(fs_config_parse(&o, "[default]\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "section"));
    fs_opts_clear(&o);
    fs_opts_init(&o);
    assert_int_equal(fs_config_parse(&o, "profile = a\n", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "cannot be set in the config file"));
    fs_opts_clear(&o);
    fs_opts_init(&o);
    assert_int_equal(fs_config_parse(&o, "cacert =\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "needs a value"));
    fs_opts_clear(&o);
}

/* command line > environment > config file, for every kind of option */
static void test_precedence_sources(void **state)
{
    struct fs_opts o;
    char err[256];

    (void)state;
    setenv("RECFS_FORMAT", "OGG_OPUS", 1);
    setenv("RECFS_RECENT_DAYS", "11", 1);
    setenv("RECFS_ALLOW_DELETE", "no", 1);
    setenv("PURECLOUD_SECRET", "env-secret", 1);
    fs_opts_init(&o);
    /* argv */
    assert_int_equal(fs_opts_set(&o, "format", "WAV", err, sizeof err), 0);
    /* environment */
    assert_int_equal(fs_opts_from_env(&o, err, sizeof err), 0);
    /* config */
    assert_int_equal(fs_config_parse(&o, "format = MP3\nrecent_days = 2\n"
                                     "allow_delete = yes\nmetadata_ttl = 9\n"
                                     "client_id = cfg-id\nclient_secret = "
                                     "cfg-secret\n", err, sizeof err), 0);
    assert_int_equal(fs_opts_finish(&o, err, sizeof err), 0);
    assert_int_equal(o.format, API_FORMAT_WAV);     /* argv */
    assert_int_equal(o.recent_days, 11);            /* env */
    assert_int_equal(o.allow_delete, 0);            /* env "no" beats cfg */
    assert_int_equal(o.metadata_ttl, 9);            /* config */
    assert_string_equal(o.client_id, "cfg-id");     /* config */
    assert_string_equal(o.client_secret, "env-secret");
    fs_opts_clear(&o);
    setenv("RECFS_RECENT_DAYS", "x", 1);
    fs_opts_init(&o);
    assert_int_equal(fs_opts_from_env(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "RECFS_RECENT_DAYS"));
    fs_opts_clear(&o);
    unsetenv("RECFS_FORMAT");
    unsetenv("RECFS_RECENT_DAYS");
    unsetenv("RECFS_ALLOW_DELETE");
    unsetenv("PURECLOUD_SECRET");
}

static void test_profile_needs_file(void **state)
{
    struct fs_opts o;
    char err[256];

    (void)state;
    fs_opts_init(&o);
    assert_int_equal(fs_opts_set(&o, "profile", "acme", err, sizeof err), 0);
    assert_int_equal(fs_config_load(&o, "/nonexistent/recfs/config", err,
                                    sizeof err), -1);
    assert_non_null(strstr(err, "profile 'acme'"));
    fs_opts_clear(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_defaults_and_finish),
        cmocka_unit_test(test_set_and_precedence),
        cmocka_unit_test(test_config_text),
        cmocka_unit_test(test_config_file_mode),
        cmocka_unit_test(test_env_and_paths),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_precedence_sources),
        cmocka_unit_test(test_profile_needs_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
