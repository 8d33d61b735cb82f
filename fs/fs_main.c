/* fs_main.c - recfs [options] <mountpoint>: options, credentials, login
 * before mounting, then the FUSE session (DESIGN.md §4). */
#include "fs_int.h"
#include "fs_ops.h"
#include "log.h"

#include <fuse_lowlevel.h>
#include <fuse_opt.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_ORG_KEY_FMT "recfs/org/%s"

enum { KEY_KV, KEY_FLAG, KEY_RO, KEY_SECRET };

static const struct fuse_opt fs_opt_spec[] = {
    FUSE_OPT_KEY("env=", KEY_KV),
    FUSE_OPT_KEY("api_url=", KEY_KV),
    FUSE_OPT_KEY("login_url=", KEY_KV),
    FUSE_OPT_KEY("format=", KEY_KV),
    FUSE_OPT_KEY("cache_dir=", KEY_KV),
    FUSE_OPT_KEY("cache_size=", KEY_KV),
    FUSE_OPT_KEY("recent_days=", KEY_KV),
    FUSE_OPT_KEY("metadata_ttl=", KEY_KV),
    FUSE_OPT_KEY("transcode_timeout=", KEY_KV),
    FUSE_OPT_KEY("cacert=", KEY_KV),
    FUSE_OPT_KEY("log_level=", KEY_KV),
    FUSE_OPT_KEY("allow_delete", KEY_FLAG),
    FUSE_OPT_KEY("insecure", KEY_FLAG),
    FUSE_OPT_KEY("cache_clear", KEY_FLAG),
    FUSE_OPT_KEY("ro", KEY_RO),
    FUSE_OPT_KEY("client_secret=", KEY_SECRET),
    FUSE_OPT_KEY("access_token=", KEY_SECRET),
    FUSE_OPT_KEY("client_id=", KEY_SECRET),
    FUSE_OPT_END
};

struct parse_state {
    struct fs_opts *o;
    char err[256];
};

static int opt_proc(void *data, const char *arg, int key,
                    struct fuse_args *outargs)
{
    struct parse_state *st = data;
    char kv[1024];
    char *eq;

    (void)outargs;
    switch (key) {
    case KEY_KV:
    case KEY_FLAG:
    case KEY_RO:
        snprintf(kv, sizeof kv, "%s", arg);
        eq = strchr(kv, '=');
        if (eq)
            *eq++ = '\0';
        if (fs_opts_set(st->o, kv, eq ? eq : "", st->err, sizeof st->err))
            return -1;
        return key == KEY_RO ? 1 : 0; /* ro also mounts read-only */
    case KEY_SECRET:
        snprintf(st->err, sizeof st->err, "credentials are not accepted "
                 "on the command line: use PURECLOUD_CLIENT_ID/"
                 "PURECLOUD_SECRET or the config file");
        return -1;
    default:
        return 1;
    }
}

static void usage(const char *prog)
{
    printf("usage: %s [options] <mountpoint>\n\n"
           "recfs options:\n"
           "    -o env=HOST             region, e.g. mypurecloud.ie\n"
           "    -o api_url=URL,login_url=URL  explicit endpoints\n"
           "    -o format=WEBM|WAV|WAV_ULAW|OGG_VORBIS|OGG_OPUS|MP3|NONE\n"
           "    -o cache_dir=DIR,cache_size=SIZE (default ~/.cache/recfs, "
           "2G)\n"
           "    -o recent_days=N (7), metadata_ttl=S (60), "
           "transcode_timeout=S (120)\n"
           "    -o allow_delete, ro, cache_clear, insecure, cacert=FILE, "
           "log_level=LEVEL\n"
           "credentials: PURECLOUD_CLIENT_ID, PURECLOUD_SECRET, "
           "PURECLOUD_ENVIRONMENT,\n"
           "    PURECLOUD_ACCESS_TOKEN or $XDG_CONFIG_HOME/recfs/config "
           "(mode 0600)\n\n", prog);
}

static int load_settings(struct fs_opts *o, char *err, size_t n)
{
    char path[1024];

    fs_opts_from_env(o);
    if (!fs_default_config_path(path, sizeof path) &&
        fs_config_load(o, path, err, n))
        return -1;
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

static int parse_args(struct fuse_args *args, struct fs_opts *o,
                      struct fuse_cmdline_opts *cmd, char *err, size_t n)
{
    struct parse_state st = {o, ""};

    if (fuse_opt_parse(args, &st, fs_opt_spec, opt_proc)) {
        snprintf(err, n, "%s", st.err[0] ? st.err : "bad options");
        return -1;
    }
    if (fuse_opt_insert_arg(args, 1, "-omax_threads=16") ||
        fuse_opt_insert_arg(args, 1, "-ofsname=recfs,subtype=recfs,"
                                     "default_permissions"))
        return snprintf(err, n, "out of memory"), -1;
    if (fuse_parse_cmdline(args, cmd)) {
        snprintf(err, n, "bad FUSE options");
        return -1;
    }
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

    if (load_settings(&ctx->opts, err, n))
        return 1;
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

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts cmd = {0};
    struct fs_ctx *ctx = calloc(1, sizeof *ctx);
    char err[512] = "";
    int rc = 1;

    if (!ctx || fs_ctx_init(ctx)) {
        fprintf(stderr, "recfs: out of memory\n");
        return 1;
    }
    fs_opts_init(&ctx->opts);
    if (parse_args(&args, &ctx->opts, &cmd, err, sizeof err))
        goto out;
    if (cmd.show_help || cmd.show_version) {
        if (cmd.show_help) {
            usage(argv[0]);
            fuse_cmdline_help();
        } else {
            printf("recfs %s (libfuse %s)\n", RECFS_VERSION,
                   fuse_pkgversion());
        }
        rc = 0;
        goto out;
    }
    if (!cmd.mountpoint) {
        snprintf(err, sizeof err, "no mountpoint given (see --help)");
        goto out;
    }
    rc = run(ctx, &args, &cmd, err, sizeof err);
out:
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
