/* test_fs_cli.c - the option table, the command-line parser, --help and
 * the man page agree (fs/fs_optable.c, fs/fs_cli.c, fs/recfs.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fuse.h>
#include <fuse_lowlevel.h>

#include "fs_cli.h"
#include "fs_optable.h"

static char *help_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    fs_optable_help(f, "recfs");
    fclose(f);
    return buf;
}

/* Parse argv (NULL-terminated) into o; args returned for inspection. */
static int parse(const char *const *argv, struct fs_opts *o,
                 struct fuse_args *args, char *err, size_t n)
{
    int argc = 0;

    while (argv[argc])
        argc++;
    args->argc = argc;
    args->argv = (char **)argv;
    args->allocated = 0;
    fs_opts_init(o);
    return fs_cli_parse(args, o, err, n);
}

static int args_has(const struct fuse_args *a, const char *needle)
{
    for (int i = 0; i < a->argc; i++)
        if (strstr(a->argv[i], needle))
            return 1;
    return 0;
}

static const char *sample(const struct fs_optdef *d)
{
    if (!strcmp(d->name, "format"))
        return "WAV";
    if (!strcmp(d->name, "log_level"))
        return "debug";
    if (!strcmp(d->name, "cache_size"))
        return "1G";
    return d->kind == FS_OPT_LONG ? "5" : "sample";
}

/* Every entry of both tables appears in --help. */
static void test_help_lists_everything(void **state)
{
    char *help = help_text(), needle[96];

    (void)state;
    assert_true(fs_optable_count() < 64); /* struct fs_opts.given */
    for (size_t i = 0; i < fs_optable_count(); i++) {
        const struct fs_optdef *d = fs_optable_at(i);
        snprintf(needle, sizeof needle, "%s%s", d->name, d->arg ? "=" : "");
        if (!strstr(help, needle))
            fail_msg("--help misses option %s", d->name);
        if (d->env && !strstr(help, d->env))
            fail_msg("--help misses variable %s", d->env);
        if (d->defval && !strstr(help, d->defval))
            fail_msg("--help misses the default of %s", d->name);
    }
    for (size_t i = 0; i < fs_fuseopt_count(); i++)
        if (!strstr(help, fs_fuseopt_at(i)->name))
            fail_msg("--help misses FUSE option %s", fs_fuseopt_at(i)->name);
    assert_non_null(strstr(help, "environment"));   /* the alias */
    assert_non_null(strstr(help, "prefetch"));
    assert_non_null(strstr(help, "status"));
    assert_non_null(strstr(help, "Examples"));
    free(help);
}

/* The parser accepts every -o option of the table (and refuses the
 * credentials), each one landing in struct fs_opts. */
static void test_parser_accepts_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < fs_optable_count(); i++) {
        const struct fs_optdef *d = fs_optable_at(i);
        char opt[128], err[256];
        const char *argv[] = {"recfs", "-o", opt, "/mnt", NULL};
        struct fuse_args a;
        struct fs_opts o;
        int rc;

        snprintf(opt, sizeof opt, "%s%s%s", d->name, d->arg ? "=" : "",
                 d->arg ? sample(d) : "");
        rc = parse(argv, &o, &a, err, sizeof err);
        if (d->flags & FS_OPT_NO_ARGV) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "command line"));
            assert_null(strstr(err, "sample"));
        } else {
            if (rc)
                fail_msg("-o %s refused: %s", opt, err);
            assert_true(o.given & (1ULL << i));
            assert_int_equal(args_has(&a, d->name),
                             !!(d->flags & FS_OPT_FUSE_TOO));
            assert_true(args_has(&a, "/mnt"));
        }
        fs_opts_clear(&o);
        fuse_opt_free_args(&a);
    }
}

/* Every FUSE option we let through is really accepted by libfuse. */
static void test_fuse_options_reach_libfuse(void **state)
{
    static const struct fuse_operations ops;

    (void)state;
    for (size_t i = 0; i < fs_fuseopt_count(); i++) {
        const struct fs_fuseopt *f = fs_fuseopt_at(i);
        char opt[128], err[256];
        const char *argv[] = {"recfs", "-o", opt, "/", NULL};
        struct fuse_cmdline_opts cmd = {0};
        struct fuse_args a;
        struct fs_opts o;
        struct fuse *fu;

        if (f->name[0] == '-' || !strcmp(f->name, "debug"))
            continue;
        snprintf(opt, sizeof opt, "%s%s", f->name, f->arg ? "=4096" : "");
        assert_int_equal(parse(argv, &o, &a, err, sizeof err), 0);
        assert_true(args_has(&a, f->name));
        assert_int_equal(fuse_parse_cmdline(&a, &cmd), 0);
        fu = fuse_new(&a, &ops, sizeof ops, NULL);
        if (!fu)
            fail_msg("libfuse refuses -o %s", opt);
        fuse_destroy(fu);
        free(cmd.mountpoint);
        fs_opts_clear(&o);
        fuse_opt_free_args(&a);
    }
}

static void test_unknown_and_suggestions(void **state)
{
    const char *a1[] = {"recfs", "-o", "cache_sise=1G", "/mnt", NULL};
    const char *a2[] = {"recfs", "-o", "ro,allow_othr", "/mnt", NULL};
    const char *a3[] = {"recfs", "-o", "zzqqxx", "/mnt", NULL};
    const char *a4[] = {"recfs", "--frobnicate", "/mnt", NULL};
    const char *a5[] = {"recfs", "-o", "max_threads", "/mnt", NULL};
    struct fuse_args a;
    struct fs_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse(a1, &o, &a, err, sizeof err), -1);
    assert_string_equal(err, "unknown option 'cache_sise'; did you mean "
                             "'cache_size'?");
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a2, &o, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "did you mean 'allow_other'?"));
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a3, &o, &a, err, sizeof err), -1);
    assert_null(strstr(err, "did you mean"));
    assert_non_null(strstr(err, "zzqqxx"));
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a4, &o, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "--frobnicate"));
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a5, &o, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "needs a value"));
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_null(fs_optable_suggest("ab"));
    assert_string_equal(fs_optable_suggest("enviroment"), "environment");
    assert_string_equal(fs_optable_suggest("formt"), "format");
}

/* What mount(8)/mount.fuse3 pass: SOURCE first, fstab-only options. */
static void test_fstab_style(void **state)
{
    const char *a1[] = {"recfs", "acme", "/mnt", "-o",
                        "rw,_netdev,nofail,noauto,user,x-systemd.automount,"
                        "allow_other", NULL};
    const char *a2[] = {"recfs", "recfs", "/mnt", NULL};
    const char *a3[] = {"recfs", "acme", "/mnt", "-o", "profile=beta", NULL};
    const char *a4[] = {"recfs", "/dev/sda1", "/mnt", NULL};
    const char *a5[] = {"recfs", "a", "b", "c", NULL};
    struct fuse_args a;
    struct fs_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse(a1, &o, &a, err, sizeof err), 0);
    assert_string_equal(o.profile, "acme");
    assert_true(args_has(&a, "allow_other"));
    assert_true(args_has(&a, "rw"));
    assert_false(args_has(&a, "_netdev"));
    assert_false(args_has(&a, "nofail"));
    assert_false(args_has(&a, "x-systemd"));
    assert_false(args_has(&a, "acme"));
    assert_string_equal(a.argv[a.argc - 1], "/mnt");
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a2, &o, &a, err, sizeof err), 0);
    assert_null(o.profile);
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a3, &o, &a, err, sizeof err), 0);
    assert_string_equal(o.profile, "beta");
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a4, &o, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a profile name"));
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
    assert_int_equal(parse(a5, &o, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "too many arguments"));
    fs_opts_clear(&o);
    fuse_opt_free_args(&a);
}

/* The same option twice on the command line: the later one wins, as
 * with mount(8) (a wrapper's defaults, then the user's own); a bad later
 * value is an error, not ignored. */
static void test_later_option_wins(void **state)
{
    static const struct {
        const char *o1, *o2;
        int rc;
        long ttl;
        const char *dir;
    } cases[] = {
        {"metadata_ttl=1", "metadata_ttl=60,format=WAV", 0, 60, NULL},
        {"cache_dir=/a,cache_dir=/b", "format=WAV", 0, -1, "/b"},
        {"metadata_ttl=5", "metadata_ttl=x", -1, -1, NULL},
    };
    struct fuse_args a;
    struct fs_opts o;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {"recfs", "/mnt", "-o", cases[i].o1,
                              "-o", cases[i].o2, NULL};
        assert_int_equal(parse(argv, &o, &a, err, sizeof err), cases[i].rc);
        if (cases[i].rc)
            assert_non_null(strstr(err, "metadata_ttl"));
        if (cases[i].ttl >= 0)
            assert_int_equal(o.metadata_ttl, cases[i].ttl);
        if (cases[i].dir)
            assert_string_equal(o.cache_dir, cases[i].dir);
        fs_opts_clear(&o);
        fuse_opt_free_args(&a);
    }
}

/* recfs(1) documents every option of the table. */
static void test_man_page_lists_everything(void **state)
{
    const char *src = getenv("RECFS_SOURCE_DIR");
    char path[1024], *text;
    FILE *f;
    long len;

    (void)state;
    if (!src)
        skip();
    snprintf(path, sizeof path, "%s/fs/recfs.1", src);
    f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    for (size_t i = 0; i < fs_optable_count(); i++) {
        const struct fs_optdef *d = fs_optable_at(i);
        if (!strstr(text, d->name))
            fail_msg("recfs.1 misses option %s", d->name);
        if (d->env && !strstr(text, d->env))
            fail_msg("recfs.1 misses variable %s", d->env);
    }
    for (size_t i = 0; i < fs_fuseopt_count(); i++) {
        const char *name = fs_fuseopt_at(i)->name;
        if (name[0] != '-' && !strstr(text, name))
            fail_msg("recfs.1 misses FUSE option %s", name);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_everything),
        cmocka_unit_test(test_parser_accepts_table),
        cmocka_unit_test(test_fuse_options_reach_libfuse),
        cmocka_unit_test(test_unknown_and_suggestions),
        cmocka_unit_test(test_fstab_style),
        cmocka_unit_test(test_later_option_wins),
        cmocka_unit_test(test_man_page_lists_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
