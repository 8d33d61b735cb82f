/* fs_statcmd.c - `recfs status MOUNTPOINT`: a human-readable view of
 * MOUNTPOINT/.recfs/status.json. The JSON is flattened by the client
 * (api_json_flatten); this file only formats "path<TAB>value" lines. */
#include "fs_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ST_MAX (1024 * 1024)

/* The value of key in the flattened text, copied into buf ("" if absent). */
static const char *st_get(const char *flat, const char *key, char *buf,
                          size_t n)
{
    size_t klen = strlen(key);
    const char *l = flat;

    buf[0] = '\0';
    while (l && *l) {
        const char *end = strchr(l, '\n');
        if (!strncmp(l, key, klen) && l[klen] == '\t') {
            size_t vlen = (end ? (size_t)(end - l) : strlen(l)) - klen - 1;
            snprintf(buf, n, "%.*s", (int)vlen, l + klen + 1);
            break;
        }
        l = end ? end + 1 : NULL;
    }
    return buf;
}

static unsigned long long st_num(const char *flat, const char *key)
{
    char v[64];

    return strtoull(st_get(flat, key, v, sizeof v), NULL, 10);
}

static const char *st_bytes(unsigned long long v, char *buf, size_t n)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    int u = 0;

    while (d >= 1024 && u < 4) {
        d /= 1024;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
    return buf;
}

static int st_read(const char *mnt, char **text, size_t *len)
{
    char path[4096];
    char *buf;
    int fd;
    ssize_t r;

    snprintf(path, sizeof path, "%s/.recfs/status.json", mnt);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    buf = malloc(ST_MAX);
    *len = 0;
    while (buf && *len < ST_MAX &&
           (r = read(fd, buf + *len, ST_MAX - *len)) > 0)
        *len += (size_t)r;
    close(fd);
    *text = buf;
    return buf ? 0 : -ENOMEM;
}

static void st_header(const char *mnt, const char *f)
{
    char v[3][512];

    printf("recfs %s at %s (pid %s, up %llu s)\n",
           st_get(f, "version", v[0], sizeof v[0]), mnt,
           st_get(f, "pid", v[1], sizeof v[1]), st_num(f, "uptime_s"));
    printf("  API:        %s%s%s%s\n", st_get(f, "api_url", v[0], sizeof v[0]),
           !strcmp(st_get(f, "offline", v[1], sizeof v[1]), "true")
               ? "  (OFFLINE: serving the cache)" : "",
           *st_get(f, "profile", v[2], sizeof v[2]) ? "  profile " : "",
           v[2]);
    printf("  Format:     %s   log level %s\n",
           st_get(f, "format", v[0], sizeof v[0]),
           st_get(f, "log_level", v[1], sizeof v[1]));
}

static void st_cache(const char *f)
{
    unsigned long long used = st_num(f, "cache.bytes_used");
    unsigned long long max = st_num(f, "cache.max_bytes");
    unsigned long long hits = st_num(f, "cache.hits");
    unsigned long long miss = st_num(f, "cache.misses");
    char b[4][32], dir[512];

    printf("  Cache:      %s of %s used (%.0f%%), %llu documents, %s\n",
           st_bytes(used, b[0], sizeof b[0]), st_bytes(max, b[1], sizeof b[1]),
           max ? 100.0 * (double)used / (double)max : 0.0,
           st_num(f, "cache.doc_entries"),
           st_get(f, "cache_dir", dir, sizeof dir));
    printf("              hits %llu, misses %llu (%.0f%% hit rate), "
           "evictions %llu\n", hits, miss,
           hits + miss ? 100.0 * (double)hits / (double)(hits + miss) : 0.0,
           st_num(f, "cache.evictions"));
    printf("              downloaded %s, served from cache %s%s\n",
           st_bytes(st_num(f, "cache.bytes_downloaded"), b[2], sizeof b[2]),
           st_bytes(st_num(f, "cache.bytes_served"), b[3], sizeof b[3]),
           !strcmp(st_get(f, "cache.passthrough", dir, sizeof dir), "true")
               ? "  (disk cache unusable: passing through)" : "");
}

static void st_client(const char *f)
{
    char key[64], path[512], msg[512];
    int i;

    printf("  Downloads:  %llu in flight, %llu media reads open\n",
           st_num(f, "in_flight_downloads"), st_num(f, "open_media_reads"));
    printf("  Requests:   %llu (retries %llu, rate-limit waits %llu, "
           "errors %llu, token renewals %llu, stale served %llu)\n",
           st_num(f, "client.requests"), st_num(f, "client.retries"),
           st_num(f, "client.rate_limit_waits"), st_num(f, "client.errors"),
           st_num(f, "client.token_renewals"),
           st_num(f, "client.stale_served"));
    for (i = 0;; i++) {
        snprintf(key, sizeof key, "recent_errors.%d.path", i);
        if (!*st_get(f, key, path, sizeof path))
            break;
        if (!i)
            printf("  Recent errors:\n");
        snprintf(key, sizeof key, "recent_errors.%d.error", i);
        printf("    %s: %s\n", path, st_get(f, key, msg, sizeof msg));
    }
    if (!i)
        printf("  Recent errors: none\n");
}

int fs_statcmd_main(int argc, char **argv)
{
    char *text = NULL, *flat = NULL;
    size_t len = 0;
    int rc;

    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: recfs status MOUNTPOINT\n");
        return 2;
    }
    rc = st_read(argv[1], &text, &len);
    if (rc) {
        fprintf(stderr, "recfs status: %s is not a recfs mount (%s)\n",
                argv[1], strerror(-rc));
        return 1;
    }
    if (api_json_flatten(text, len, &flat) != API_OK) {
        fprintf(stderr, "recfs status: %s/.recfs/status.json is not "
                "valid\n", argv[1]);
        free(text);
        return 1;
    }
    st_header(argv[1], flat);
    st_cache(flat);
    st_client(flat);
    free(text);
    free(flat);
    return 0;
}
