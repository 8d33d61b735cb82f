/* fs_status.c - the virtual .recfs/status.json (formatted here; fs/ has
 * no JSON library). */
#include "fs_int.h"

#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define FS_STATUS_MAX 16384
#define FS_STATUS_ERRORS 10

/* JSON string escaping for the few strings we print (URLs). */
static void put_str(char *dst, size_t n, const char *s)
{
    size_t o = 0;

    for (; s && *s && o + 7 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(dst + o, n - o, "\\%c", ch);
        else if (ch < 0x20)
            o += (size_t)snprintf(dst + o, n - o, "\\u%04x", ch);
        else
            dst[o++] = (char)ch;
    }
    dst[o] = '\0';
}

/* ",\n  \"recent_errors\": [...]" from the per-path errors of the node
 * table (user.recfs.error), at most FS_STATUS_ERRORS, into dst. */
static void put_errors(struct fs_ctx *ctx, char *dst, size_t n)
{
    size_t o = 0, count = 0;
    char path[600], msg[600];

    o += (size_t)snprintf(dst, n, ",\n  \"recent_errors\": [");
    pthread_mutex_lock(&ctx->lock);
    for (size_t b = 0; b < FS_HASH_BUCKETS; b++) {
        for (struct fs_node *nd = ctx->tab[b]; nd; nd = nd->hnext) {
            if (!nd->err || count == FS_STATUS_ERRORS || o + 1400 > n)
                continue;
            put_str(path, sizeof path, nd->path);
            put_str(msg, sizeof msg, nd->err);
            o += (size_t)snprintf(dst + o, n - o, "%s\n    {\"path\": \"%s\", "
                                  "\"error\": \"%s\"}", count ? "," : "",
                                  path, msg);
            count++;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    snprintf(dst + o, n - o, "%s]", count ? "\n  " : "");
}

/* ",\n  \"pid\": ..." : who is serving, with which settings. */
static void put_identity(struct fs_ctx *ctx, char *dst, size_t n)
{
    char prof[128], dir[600], lvl[32];

    put_str(prof, sizeof prof, ctx->opts.profile ? ctx->opts.profile : "");
    put_str(dir, sizeof dir, ctx->opts.cache_dir ? ctx->opts.cache_dir : "");
    put_str(lvl, sizeof lvl, ctx->opts.log_level ? ctx->opts.log_level
                                                 : "info");
    snprintf(dst, n, ",\n  \"pid\": %ld,\n  \"uptime_s\": %ld,\n"
             "  \"profile\": \"%s\",\n  \"cache_dir\": \"%s\",\n"
             "  \"log_level\": \"%s\"", (long)getpid(),
             (long)(time(NULL) - ctx->start_time), prof, dir, lvl);
}

char *fs_status_json(struct fs_ctx *ctx, size_t *len)
{
    struct cache_stats cs = {0};
    struct api_stats as = {0};
    char url[512], ident[1024], errs[FS_STATUS_MAX / 2];
    char *buf = malloc(FS_STATUS_MAX);
    int w;

    if (!buf)
        return NULL;
    if (ctx->cache)
        cache_get_stats(ctx->cache, &cs);
    api_client_stats(ctx->client, &as);
    put_str(url, sizeof url, api_client_api_url(ctx->client));
    put_identity(ctx, ident, sizeof ident);
    put_errors(ctx, errs, sizeof errs);
    w = snprintf(buf, FS_STATUS_MAX,
        "{\n  \"version\": \"%s\",\n  \"api_url\": \"%s\",\n"
        "  \"format\": \"%s\",\n  \"offline\": %s,\n"
        "  \"in_flight_downloads\": %llu,\n  \"open_media_reads\": %ld,\n"
        "  \"cache\": {\n    \"hits\": %llu,\n    \"misses\": %llu,\n"
        "    \"bytes_downloaded\": %llu,\n    \"bytes_served\": %llu,\n"
        "    \"evictions\": %llu,\n    \"bytes_used\": %llu,\n"
        "    \"max_bytes\": %llu,\n    \"doc_entries\": %llu,\n"
        "    \"passthrough\": %s\n  },\n"
        "  \"client\": {\n    \"requests\": %llu,\n    \"retries\": %llu,\n"
        "    \"rate_limit_waits\": %llu,\n    \"errors\": %llu,\n"
        "    \"token_renewals\": %llu,\n    \"doc_cache_hits\": %llu,\n"
        "    \"stale_served\": %llu,\n    \"media_bytes\": %llu\n  }%s%s\n}\n",
        RECFS_VERSION, url, api_format_name(ctx->opts.format),
        as.offline ? "true" : "false", (unsigned long long)cs.in_flight,
        (long)atomic_load(&ctx->in_flight), (unsigned long long)cs.hits,
        (unsigned long long)cs.misses,
        (unsigned long long)cs.bytes_downloaded,
        (unsigned long long)cs.bytes_served,
        (unsigned long long)cs.evictions, (unsigned long long)cs.bytes_used,
        (unsigned long long)cs.max_bytes,
        (unsigned long long)cs.doc_entries,
        cs.passthrough ? "true" : "false", (unsigned long long)as.requests,
        (unsigned long long)as.retries,
        (unsigned long long)as.rate_limit_waits,
        (unsigned long long)as.errors, (unsigned long long)as.token_renewals,
        (unsigned long long)as.doc_cache_hits,
        (unsigned long long)as.stale_served,
        (unsigned long long)as.media_bytes, ident, errs);
    if (w < 0 || w >= FS_STATUS_MAX) {
        free(buf);
        return NULL;
    }
    *len = (size_t)w;
    return buf;
}
