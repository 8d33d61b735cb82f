/* fs_main.c - recfs [SOURCE] <mountpoint> [options]: options,
 * credentials, login before mounting, then the FUSE session (DESIGN.md
 * §4); `recfs prefetch` and `recfs status` are dispatched from here. */
#include "fs_cli.h"
#include "fs_int.h"
#include "fs_ops.h"
#include "fs_optable.h"
#include "log.h"

#include <fuse_lowlevel.h>
#include <fuse_opt.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define FS_ORG_KEY_FMT "recfs/org/%s"

/* Sources after the command line: environment, then the config file. */
static int load_settings(struct fs_opts *o, char *err, size_t n)
{
    char path[1024];

    if (fs_opts_from_env(o, err, n))
        return -1;
    if (o->config) {
        if (access(o->config, F_OK)) {
            snprintf(err, n, "config file %s: %s", o->config,
                     strerror(errno));
            return -1;
        }
        snprintf(path, sizeof path, "%s", o->config);
    } else if (fs_default_config_path(path, sizeof path)) {
        path[0] = '\0';
    }
    if (path[0] && fs_config_load(o, path, err, n))
        return -1;
    if (!path[0] && o->profile) {
        snprintf(err, n, "profile '%s' selected but no config file (no "
                 "HOME or XDG_CONFIG_HOME)", o->profile);
        return -1;
    }
    if (!o->cache_dir) {
        if (fs_default_cache_dir(path, sizeof path)) {
            snprintf(err, n, "no cache_dir and no HOME");
            return -1;
        }
        o->cache_dir = strdup(path);
    }
    return fs_opts_finish(o, err, n);
}

static struct api_client *client_create(const struct fs_opts *o,
                                        struct api_error *err)
{
    struct api_config cfg = {0};

    cfg.environment = o->env;
    cfg.api_url = o->api_url;
    cfg.login_url = o->login_url;
    cfg.client_id = o->client_id;
    cfg.client_secret = o->client_secret;
    cfg.access_token = o->access_token;
    cfg.cacert = o->cacert;
    cfg.insecure = o->insecure;
    cfg.transcode_timeout_ms = o->transcode_timeout * 1000;
    cfg.metadata_ttl_s = o->metadata_ttl;
    return api_client_new(&cfg, err);
}

static struct cache *cache_create(const struct fs_opts *o, int clear,
                                  char *err, size_t n)
{
    struct cache_config cc = {0};

    cc.dir = o->cache_dir;
    cc.max_bytes = o->cache_size;
    cc.clear = clear;
    return cache_open(&cc, err, n);
}

/* The API could not be reached at start: 0 if an earlier mount of this
 * organization left a cache to work from (offline mount). */
static int offline_possible(struct fs_ctx *ctx, char *err, size_t n)
{
    char key[512], *data = NULL;
    size_t len;
    struct cache *c = cache_create(&ctx->opts, 0, err, n);
    int rc;

    if (!c)
        return -1;
    snprintf(key, sizeof key, FS_ORG_KEY_FMT,
             api_client_api_url(ctx->client));
    rc = cache_doc_get(c, key, &data, &len, NULL);
    free(data);
    cache_close(c);
    return rc ? -1 : 0;
}

static int login(struct fs_ctx *ctx, char *err, size_t n)
{
    struct api_error aerr = {0};
    char msg[400];

    if (api_client_login(ctx->client, &aerr) == API_OK)
        return 0;
    api_error_str(&aerr, msg, sizeof msg);
    if (aerr.rc == API_ETRANSPORT || aerr.rc == API_ETIMEOUT ||
        aerr.http_status >= 500) {
        if (!ctx->opts.cache_clear && !offline_possible(ctx, err, n)) {
            log_warn("API unreachable (%s): mounting offline from the "
                     "cache", msg);
            return 0;
        }
        snprintf(err, n, "cannot reach the API at %s: %s",
                 api_client_api_url(ctx->client), msg);
        return -1;
    }
    snprintf(err, n, "login failed (credentials rejected?): %s", msg);
    return -1;
}

/* After daemonizing: open the disk cache (starts its threads). */
static int start(struct fs_ctx *ctx)
{
    char err[256] = "", key[512];

    if (!ctx->opts.foreground)
        log_set_sink(LOG_SINK_SYSLOG); /* stderr is /dev/null now */
    ctx->cache = cache_create(&ctx->opts, 0, err, sizeof err);
    if (!ctx->cache) {
        log_err("%s", err);
        return -1;
    }
    api_client_set_cache(ctx->client, ctx->cache);
    snprintf(key, sizeof key, FS_ORG_KEY_FMT,
             api_client_api_url(ctx->client));
    cache_doc_put(ctx->cache, key, "1", 1);
    return 0;
}

static int precheck_cache(struct fs_ctx *ctx, char *err, size_t n)
{
    struct cache *c = cache_create(&ctx->opts, ctx->opts.cache_clear, err,
                                   n);

    if (!c)
        return -1;
    cache_close(c);
    return 0;
}

#define FS_MAX_READ 524288u

/* The max_read the kernel will get: the last max_read=N among the -o
 * options (ours come first). libfuse wants init() to repeat it. */
static unsigned effective_max_read(const struct fuse_args *args)
{
    unsigned v = FS_MAX_READ;

    for (int i = 1; i < args->argc; i++) {
        const char *p = args->argv[i];
        while (p && (p = strstr(p, "max_read=")) != NULL) {
            if (p == args->argv[i] || p[-1] == ',' || p[-1] == 'o')
                v = (unsigned)strtoul(p + 9, NULL, 10);
            p += 9;
        }
    }
    return v;
}

/* The command line, then the environment and config file, then the FUSE
 * part: defaults first so that anything given explicitly wins. */
static int parse_args(struct fuse_args *args, struct fs_opts *o,
                      struct fuse_cmdline_opts *cmd, char *err, size_t n)
{
    char fo[1024];

    if (fs_cli_parse(args, o, err, n))
        return -1;
    if (load_settings(o, err, n))
        return -1;
    snprintf(fo, sizeof fo, "-o%s", o->fuse_opts ? o->fuse_opts : "");
    if ((o->fuse_opts && fuse_opt_insert_arg(args, 1, fo)) ||
        fuse_opt_insert_arg(args, 1, "-omax_threads=16") ||
        /* read requests of at most 512 KiB (a user's max_read, later on
         * the line, wins): the kernel's readahead otherwise asks for
         * 1 MiB, whose reply (plus header) exceeds a pipe of the default
         * pipe-max-size, and libfuse then copies every reply through a
         * fresh buffer instead of splicing it: a third of the daemon's
         * CPU on a cold read, and more on a re-read from the disk cache.
         * 512 KiB requests also stay inside one 2 MiB cache block. */
        fuse_opt_insert_arg(args, 1, "-omax_read=524288") ||
        fuse_opt_insert_arg(args, 1, "-ofsname=recfs,subtype=recfs,"
                                     "default_permissions"))
        return snprintf(err, n, "out of memory"), -1;
    o->max_read = effective_max_read(args);
    if (fuse_parse_cmdline(args, cmd)) {
        snprintf(err, n, "bad FUSE options");
        return -1;
    }
    if (!cmd->mountpoint) {
        snprintf(err, n, "no mountpoint given (see recfs --help)");
        return -1;
    }
    /* -d promises a request trace: libfuse logs it at debug level, which
     * our log drops unless asked for; an explicit log_level still wins */
    if (cmd->debug && !o->log_level)
        log_set_level(LOG_LEVEL_DEBUG);
    return 0;
}

static int run(struct fs_ctx *ctx, struct fuse_args *args,
               struct fuse_cmdline_opts *cmd, char *err, size_t n)
{
    struct fs_run_opts ro = {cmd->mountpoint, cmd->foreground,
                             cmd->singlethread, cmd->clone_fd,
                             cmd->max_threads};
    struct api_error aerr = {0};
    int rc;

    ctx->client = client_create(&ctx->opts, &aerr);
    if (!ctx->client) {
        api_error_str(&aerr, err, n);
        return 1;
    }
    if (precheck_cache(ctx, err, n) || login(ctx, err, n))
        return 1;
    ctx->opts.foreground = cmd->foreground;
    rc = fs_mount_run(ctx, args, &ro, start);
    api_client_shutdown(ctx->client);
    if (rc)
        snprintf(err, n, "mount failed on %s", cmd->mountpoint);
    return rc;
}

/* -h/--help or -V/--version before "--": 'h', 'V' or 0. */
static int info_request(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 'h';
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
            return 'V';
    }
    return 0;
}

static int print_info(int what)
{
    if (what == 'h')
        fs_optable_help(stdout, "recfs");
    else
        printf("recfs %s (libfuse %s)\n", RECFS_VERSION,
               fuse_pkgversion());
    return 0;
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts cmd = {0};
    struct fs_ctx *ctx;
    char err[512] = "";
    int rc = 1;

    if (argc >= 2 && !strcmp(argv[1], "prefetch"))
        return fs_prefetch_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "status"))
        return fs_statcmd_main(argc - 1, argv + 1);
    if (info_request(argc, argv))
        return print_info(info_request(argc, argv));
#ifndef __SANITIZE_ADDRESS__ /* LeakSanitizer needs to ptrace us at exit */
    /* The daemon will hold the client secret and tokens: no core dumps,
     * no ptrace by other processes of the same user. */
    if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
        fprintf(stderr, "recfs: warning: cannot disable core dumps\n");
#endif
    ctx = calloc(1, sizeof *ctx);
    if (!ctx || fs_ctx_init(ctx)) {
        fprintf(stderr, "recfs: out of memory\n");
        free(ctx);
        return 1;
    }
    fs_opts_init(&ctx->opts);
    if (parse_args(&args, &ctx->opts, &cmd, err, sizeof err) == 0)
        rc = run(ctx, &args, &cmd, err, sizeof err);
    if (rc && err[0])
        fprintf(stderr, "recfs: %s\n", err);
    fs_ctx_destroy(ctx);
    if (ctx->cache)
        cache_close(ctx->cache);
    api_client_free(ctx->client);
    fs_opts_clear(&ctx->opts);
    free(ctx);
    free(cmd.mountpoint);
    fuse_opt_free_args(&args);
    return rc;
}
