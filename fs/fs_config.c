/* fs_config.c - mount options, config file and environment (pure parts
 * of DESIGN.md §4). No FUSE, no network. */
#include "fs_int.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_CONFIG_MAX (64 * 1024)

void fs_opts_init(struct fs_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = API_FORMAT_WEBM;
    o->cache_size = 2ULL << 30;
    o->recent_days = -1;
    o->metadata_ttl = -1;
    o->transcode_timeout = -1;
}

void fs_opts_clear(struct fs_opts *o)
{
    char **s[] = {&o->env, &o->api_url, &o->login_url, &o->format_name,
                  &o->cache_dir, &o->cacert, &o->cache_size_s,
                  &o->log_level, &o->client_id, &o->client_secret,
                  &o->access_token};

    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        if (*s[i])
            memset(*s[i], 0, strlen(*s[i])); /* secrets */
        free(*s[i]);
        *s[i] = NULL;
    }
}

int fs_size_parse(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    switch (toupper((unsigned char)*end)) {
    case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_long(const char *s, long min, long *out)
{
    char *end;
    long v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

static int set_str(char **dst, const char *val)
{
    if (*dst)
        return 0; /* earlier source wins */
    *dst = strdup(val);
    return *dst ? 0 : -1;
}

static int set_flag(int *dst, const char *val)
{
    if (!val || !*val || !strcmp(val, "1") || !strcmp(val, "yes") ||
        !strcmp(val, "true"))
        *dst = 1;
    else if (!strcmp(val, "0") || !strcmp(val, "no") ||
             !strcmp(val, "false"))
        ; /* keep */
    else
        return -1;
    return 0;
}

static char **str_field(struct fs_opts *o, const char *key)
{
    static const struct {
        const char *key;
        size_t off;
    } map[] = {
        {"env", offsetof(struct fs_opts, env)},
        {"environment", offsetof(struct fs_opts, env)},
        {"api_url", offsetof(struct fs_opts, api_url)},
        {"login_url", offsetof(struct fs_opts, login_url)},
        {"format", offsetof(struct fs_opts, format_name)},
        {"cache_dir", offsetof(struct fs_opts, cache_dir)},
        {"cacert", offsetof(struct fs_opts, cacert)},
        {"cache_size", offsetof(struct fs_opts, cache_size_s)},
        {"log_level", offsetof(struct fs_opts, log_level)},
        {"client_id", offsetof(struct fs_opts, client_id)},
        {"client_secret", offsetof(struct fs_opts, client_secret)},
        {"access_token", offsetof(struct fs_opts, access_token)},
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(key, map[i].key))
            return (char **)((char *)o + map[i].off);
    return NULL;
}

int fs_opts_set(struct fs_opts *o, const char *key, const char *val,
                char *errbuf, size_t n)
{
    char **s = str_field(o, key);
    long *l = NULL;
    int *f = NULL;

    if (s)
        return set_str(s, val);
    if (!strcmp(key, "recent_days"))
        l = &o->recent_days;
    else if (!strcmp(key, "metadata_ttl"))
        l = &o->metadata_ttl;
    else if (!strcmp(key, "transcode_timeout"))
        l = &o->transcode_timeout;
    else if (!strcmp(key, "allow_delete"))
        f = &o->allow_delete;
    else if (!strcmp(key, "ro"))
        f = &o->ro;
    else if (!strcmp(key, "insecure"))
        f = &o->insecure;
    else if (!strcmp(key, "cache_clear"))
        f = &o->cache_clear;
    if (l) {
        long v;
        if (parse_long(val, 0, &v))
            goto bad;
        if (*l < 0)
            *l = v;
        return 0;
    }
    if (f && !set_flag(f, val))
        return 0;
    if (f)
        goto bad;
    snprintf(errbuf, n, "unknown option '%s'", key);
    return -1;
bad:
    snprintf(errbuf, n, "bad value for option '%s'", key);
    return -1;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int fs_config_parse(struct fs_opts *o, const char *text, char *errbuf,
                    size_t n)
{
    char *copy = strdup(text), *save = NULL, *line;
    int rc = 0, lineno = 0;

    if (!copy)
        return -1;
    for (line = strtok_r(copy, "\n", &save); line && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq, *key;
        lineno++;
        line = trim(line);
        if (!*line || *line == '#')
            continue;
        eq = strchr(line, '=');
        if (eq)
            *eq = '\0';
        key = trim(line);
        rc = fs_opts_set(o, key, eq ? trim(eq + 1) : "", errbuf, n);
        if (rc) {
            size_t used = strlen(errbuf);
            snprintf(errbuf + used, n - used, " (config line %d)", lineno);
        }
    }
    memset(copy, 0, strlen(text));
    free(copy);
    return rc;
}

static int read_small(int fd, char **out)
{
    char *buf = malloc(FS_CONFIG_MAX + 1);
    size_t len = 0;
    ssize_t r;

    if (!buf)
        return -1;
    while (len < FS_CONFIG_MAX &&
           (r = read(fd, buf + len, FS_CONFIG_MAX - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    *out = buf;
    return 0;
}

int fs_config_load(struct fs_opts *o, const char *path, char *errbuf,
                   size_t n)
{
    struct stat st;
    char *text = NULL;
    int fd, rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : (snprintf(errbuf, n,
                                      "cannot open config %s: %s", path,
                                      strerror(errno)), -1);
    if (fstat(fd, &st) || st.st_uid != geteuid() ||
        (st.st_mode & 077)) {
        snprintf(errbuf, n, "config file %s refused: it must be owned "
                 "by you and have mode 0600", path);
        goto out;
    }
    if (read_small(fd, &text))
        goto out;
    rc = fs_config_parse(o, text, errbuf, n);
out:
    if (text) {
        memset(text, 0, strlen(text));
        free(text);
    }
    close(fd);
    return rc;
}

void fs_opts_from_env(struct fs_opts *o)
{
    const char *v;

    if ((v = getenv("PURECLOUD_CLIENT_ID")) && *v)
        set_str(&o->client_id, v);
    if ((v = getenv("PURECLOUD_SECRET")) && *v)
        set_str(&o->client_secret, v);
    if ((v = getenv("PURECLOUD_CLIENT_SECRET")) && *v)
        set_str(&o->client_secret, v);
    if ((v = getenv("PURECLOUD_ENVIRONMENT")) && *v)
        set_str(&o->env, v);
    if ((v = getenv("PURECLOUD_ACCESS_TOKEN")) && *v)
        set_str(&o->access_token, v);
}

static int xdg_path(const char *var, const char *fallback, const char *leaf,
                    char *buf, size_t n)
{
    const char *base = getenv(var), *home = getenv("HOME");
    int w;

    if (base && *base)
        w = snprintf(buf, n, "%s/recfs%s", base, leaf);
    else if (home && *home)
        w = snprintf(buf, n, "%s/%s/recfs%s", home, fallback, leaf);
    else
        return -1;
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

int fs_default_cache_dir(char *buf, size_t n)
{
    return xdg_path("XDG_CACHE_HOME", ".cache", "", buf, n);
}

int fs_default_config_path(char *buf, size_t n)
{
    return xdg_path("XDG_CONFIG_HOME", ".config", "/config", buf, n);
}

int fs_opts_finish(struct fs_opts *o, char *errbuf, size_t n)
{
    if (o->format_name && api_format_parse(o->format_name, &o->format)) {
        snprintf(errbuf, n, "unknown format '%s' (WEBM, WAV, WAV_ULAW, "
                 "OGG_VORBIS, OGG_OPUS, MP3, NONE)", o->format_name);
        return -1;
    }
    if (o->cache_size_s && fs_size_parse(o->cache_size_s, &o->cache_size)) {
        snprintf(errbuf, n, "bad cache_size '%s'", o->cache_size_s);
        return -1;
    }
    if (o->log_level) {
        enum log_level lv;
        if (log_level_parse(o->log_level, &lv)) {
            snprintf(errbuf, n, "bad log_level '%s'", o->log_level);
            return -1;
        }
        log_set_level(lv);
    }
    if (o->recent_days < 0)
        o->recent_days = 7;
    if (o->metadata_ttl < 0)
        o->metadata_ttl = 60;
    if (o->transcode_timeout < 0)
        o->transcode_timeout = 120;
    if (!o->access_token && (!o->client_id || !o->client_secret)) {
        snprintf(errbuf, n, "no credentials: set PURECLOUD_CLIENT_ID and "
                 "PURECLOUD_SECRET (or PURECLOUD_ACCESS_TOKEN), or write "
                 "them to the config file");
        return -1;
    }
    return 0;
}
