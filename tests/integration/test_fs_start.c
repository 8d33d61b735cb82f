/* test_fs_start.c - start-up failures give one clear message, a
 * non-zero exit and no mount (DESIGN.md §4); config file rules. */
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
static char dir[] = "/tmp/recfs-start.XXXXXX";
static char mnt[600], api_opt[1024], cache_env[700];

static int setup(void **state)
{
    const char *args[] = {"--seed", "demo", NULL};
    int rc;

    (void)state;
    if (!mount_supported())
        exit(77);
    rc = emu_start(&emu, args);
    if (rc == -2)
        exit(77);
    if (rc || !mkdtemp(dir))
        return -1;
    snprintf(mnt, sizeof mnt, "%s/mnt", dir);
    mkdir(mnt, 0700);
    snprintf(api_opt, sizeof api_opt,
             "api_url=%s,login_url=%s,cache_dir=%s/cache", emu.api_url,
             emu.login_url, dir);
    snprintf(cache_env, sizeof cache_env, "XDG_CONFIG_HOME=%s/cfg", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh(10, "fusermount3 -u %s 2>/dev/null; rm -rf %s", mnt, dir);
    emu_stop(&emu);
    return 0;
}

static int not_mounted(void)
{
    return sh(5, "! mountpoint -q %s", mnt) == 0;
}

/* Run recfs -f expecting failure: exit code != 0, message contains
 * needle, nothing mounted, the secret nowhere in the output. */
static void expect_fail(const char *const *args, const char *const *env,
                        const char *needle)
{
    char err[4096];
    int rc = recfs_run(args, env, 30, err, sizeof err);

    print_message("recfs said: %s", err);
    assert_int_not_equal(rc, 0);
    assert_int_not_equal(rc, -1); /* did not hang */
    assert_non_null(strstr(err, needle));
    assert_null(strstr(err, "recfs-demo-secret"));
    assert_null(strstr(err, "wrong-secret"));
    assert_true(not_mounted());
}

static void test_bad_credentials(void **state)
{
    const char *args[] = {"-f", "-o", api_opt, mnt, NULL};
    const char *env[] = {"PURECLOUD_CLIENT_ID=recfs-demo",
                         "PURECLOUD_SECRET=wrong-secret", cache_env, NULL};

    (void)state;
    expect_fail(args, env, "recfs:");
}

static void test_missing_credentials(void **state)
{
    const char *args[] = {"-f", "-o", api_opt, mnt, NULL};
    const char *env[] = {cache_env, NULL};

    (void)state;
    expect_fail(args, env, "credentials");
}

static void test_unreachable_api(void **state)
{
    char opt[700];
    const char *args[] = {"-f", "-o", opt, mnt, NULL};
    const char *env[] = {"PURECLOUD_CLIENT_ID=recfs-demo",
                         "PURECLOUD_SECRET=recfs-demo-secret", cache_env,
                         NULL};

    (void)state;
    snprintf(opt, sizeof opt, "api_url=http://127.0.0.1:9,login_url="
             "http://127.0.0.1:9,cache_dir=%s/empty-cache", dir);
    expect_fail(args, env, "reach");
}

static void test_bad_options(void **state)
{
    char opt[1200];
    const char *args[] = {"-f", "-o", opt, mnt, NULL};
    const char *env[] = {"PURECLOUD_CLIENT_ID=recfs-demo",
                         "PURECLOUD_SECRET=recfs-demo-secret", cache_env,
                         NULL};
    const char *noarg[] = {"-f", "-o", api_opt, NULL};

    (void)state;
    snprintf(opt, sizeof opt, "%s,format=FLAC", api_opt);
    expect_fail(args, env, "format");
    snprintf(opt, sizeof opt, "%s,cache_size=lots", api_opt);
    expect_fail(args, env, "cache_size");
    snprintf(opt, sizeof opt, "%s,client_secret=wrong-secret", api_opt);
    expect_fail(args, env, "command line");
    expect_fail(noarg, env, "mountpoint");
}

static void test_config_file(void **state)
{
    const char *args[] = {"-f", "-o", api_opt, mnt, NULL};
    const char *env[] = {cache_env, NULL};

    (void)state;
    assert_int_equal(sh(5, "mkdir -p %s/cfg/recfs && printf 'client_id = "
                         "recfs-demo\\nclient_secret = recfs-demo-secret\\n' "
                         "> %s/cfg/recfs/config && chmod 0644 "
                         "%s/cfg/recfs/config", dir, dir, dir), 0);
    expect_fail(args, env, "0600");
    /* with 0600 it mounts: run in the background and unmount */
    assert_int_equal(sh(5, "chmod 0600 %s/cfg/recfs/config", dir), 0);
    assert_int_equal(sh(40, "export %s; unset PURECLOUD_CLIENT_ID "
                         "PURECLOUD_SECRET; %s -o %s %s && "
                         "for i in $(seq 50); do [ -f %s/settings.json ] && "
                         "break; sleep 0.2; done; [ -f %s/settings.json ]; "
                         "rc=$?; fusermount3 -u %s; exit $rc", cache_env,
                         getenv("RECFS_BINARY"), api_opt, mnt, mnt, mnt,
                         mnt), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_credentials),
        cmocka_unit_test(test_missing_credentials),
        cmocka_unit_test(test_unreachable_api),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_config_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
