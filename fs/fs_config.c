/* fs_config.c - mount options, config file and environment (pure parts
 * of DESIGN.md §4). No FUSE, no network. */
#include "fs_int.h"
#include "fs_optable.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
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
                  &o->access_token, &o->profile, &o->config,
                  &o->fuse_opts};

    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        if (*s[i])
            memset(*s[i], 0, strlen(*s[i])); /* secrets */
        free(*s[i]);
        *s[i] = NULL;
    }
    o->given = 0;
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

/* Store val into the field of def. 0, or -1 on a bad value. */
static int set_field(struct fs_opts *o, const struct fs_optdef *def,
                     const char *val)
{
    char *field = (char *)o + def->off;
    char *copy;

    switch (def->kind) {
    case FS_OPT_STR:
        copy = strdup(val);
        if (!copy)
            return -1;
        free(*(char **)(void *)field);
        *(char **)(void *)field = copy;
        return 0;
    case FS_OPT_LONG:
        return parse_long(val, 0, (long *)(void *)field);
    case FS_OPT_FLAG:
        if (!*val || !strcmp(val, "1") || !strcmp(val, "yes") ||
            !strcmp(val, "true") || !strcmp(val, "on"))
            *(int *)(void *)field = 1;
        else if (!strcmp(val, "0") || !strcmp(val, "no") ||
                 !strcmp(val, "false") || !strcmp(val, "off"))
            *(int *)(void *)field = 0;
        else
            return -1;
        return 0;
    }
    return -1;
}

void fs_opt_unknown_msg(const char *key, char *errbuf, size_t n)
{
    const char *hint = fs_optable_suggest(key);

    if (hint)
        snprintf(errbuf, n, "unknown option '%s'; did you mean '%s'?", key,
                 hint);
    else
        snprintf(errbuf, n, "unknown option '%s' (see recfs --help)", key);
}

int fs_opts_set(struct fs_opts *o, const char *key, const char *val,
                char *errbuf, size_t n)
{
    const struct fs_optdef *def = fs_optable_find(key);
    uint64_t bit;

    if (!def) {
        fs_opt_unknown_msg(key, errbuf, n);
        return -1;
    }
    bit = 1ULL << fs_optable_index(def);
    if (def->kind != FS_OPT_FLAG && !*val) {
        snprintf(errbuf, n, "option '%s' needs a value (%s=%s)", def->name,
                 def->name, def->arg);
        return -1;
    }
    if (o->given & bit) { /* an earlier source wins; still check val */
        struct fs_opts scratch;
        int bad;

        fs_opts_init(&scratch);
        bad = set_field(&scratch, def, val);
        fs_opts_clear(&scratch);
        if (!bad)
            return 0;
    } else if (!set_field(o, def, val)) {
        o->given |= bit;
        return 0;
    }
    snprintf(errbuf, n, "bad value for option '%s'", def->name);
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

#define FS_PROFILE_MAX 64

/* "[profile NAME]" -> NAME into buf. 0, or -1 if malformed. */
static int section_name(char *line, char *buf, size_t n)
{
    size_t len = strlen(line);
    char *name;

    if (len < 2 || line[len - 1] != ']')
        return -1;
    line[len - 1] = '\0';
    name = trim(line + 1);
    if (strncmp(name, "profile", 7) || !isspace((unsigned char)name[7]))
        return -1;
    name = trim(name + 8);
    if (!fs_profile_name_valid(name) || strlen(name) >= n)
        return -1;
    snprintf(buf, n, "%s", name);
    return 0;
}

/* Strip one pair of surrounding double quotes. */
static char *unquote(char *v)
{
    size_t len = strlen(v);

    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        v[len - 1] = '\0';
        return v + 1;
    }
    return v;
}

/* Prepend "key[=val]," to o->fuse_opts: earlier (profile) settings end
 * up last, where libfuse lets them win. */
static int fuse_opt_prepend(struct fs_opts *o, const char *key,
                            const char *val)
{
    const char *old = o->fuse_opts ? o->fuse_opts : "";
    size_t len = strlen(key) + (val ? strlen(val) + 1 : 0) + strlen(old) + 2;
    char *s = malloc(len);

    if (!s)
        return -1;
    snprintf(s, len, "%s%s%s%s%s", key, val ? "=" : "", val ? val : "",
             *old ? "," : "", old);
    free(o->fuse_opts);
    o->fuse_opts = s;
    return 0;
}

/* One "key = value" line of section cur (NULL: before any section). */
static int config_line(struct fs_opts *o, char *line, const char *cur,
                       const char *want, char *errbuf, size_t n)
{
    char *eq = strchr(line, '='), *key;
    const struct fs_optdef *def;
    int apply = want ? (cur && !strcmp(cur, want)) : !cur;

    if (eq)
        *eq = '\0';
    key = trim(line);
    def = fs_optable_find(key);
    if (!def && fs_fuseopt_find(key) && key[0] != '-')
        return apply ? fuse_opt_prepend(o, key, eq ? trim(eq + 1) : NULL)
                     : 0;
    if (!def) {
        fs_opt_unknown_msg(key, errbuf, n);
        return -1;
    }
    if (def->flags & FS_OPT_NO_CONFIG) {
        snprintf(errbuf, n, "option '%s' cannot be set in the config file",
                 def->name);
        return -1;
    }
    if (!apply)
        return 0;
    return fs_opts_set(o, key, eq ? unquote(trim(eq + 1)) : "", errbuf, n);
}

/* One pass over the text, applying the lines of section want (NULL: the
 * lines before any section). *found: the section was seen. */
static int config_pass(struct fs_opts *o, char *text, const char *want,
                       int *found, char *errbuf, size_t n)
{
    char cur[FS_PROFILE_MAX], *next;
    int lineno = 0, in_section = 0, rc = 0;

    for (char *line = text; line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        line = trim(line);
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            rc = section_name(line, cur, sizeof cur);
            if (rc)
                snprintf(errbuf, n, "bad section header, expected "
                         "[profile NAME]");
            in_section = 1;
            if (!rc && want && !strcmp(cur, want))
                *found = 1;
        } else {
            rc = config_line(o, line, in_section ? cur : NULL, want, errbuf,
                             n);
        }
        if (rc) {
            size_t used = strlen(errbuf);
            snprintf(errbuf + used, n - used, " (config line %d)", lineno);
        }
    }
    return rc;
}

int fs_config_parse(struct fs_opts *o, const char *text, char *errbuf,
                    size_t n)
{
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    int rc, found = 0;

    if (!copy)
        return -1;
    if (o->profile) {
        memcpy(copy, text, len + 1);
        rc = config_pass(o, copy, o->profile, &found, errbuf, n);
        if (!rc && !found) {
            snprintf(errbuf, n, "no [profile %s] in the config file",
                     o->profile);
            rc = -1;
        }
        if (rc)
            goto out;
    }
    memcpy(copy, text, len + 1);
    rc = config_pass(o, copy, NULL, &found, errbuf, n);
out:
    memset(copy, 0, len);
    free(copy);
    return rc;
}

int fs_profile_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (!len || len >= FS_PROFILE_MAX)
        return 0;
    for (; *name; name++)
        if (!isalnum((unsigned char)*name) && !strchr("._-@", *name))
            return 0;
    return 1;
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
    if (fd < 0 && errno == ENOENT && !o->profile)
        return 0;
    if (fd < 0 && errno == ENOENT) {
        snprintf(errbuf, n, "profile '%s' selected but there is no config "
                 "file %s", o->profile, path);
        return -1;
    }
    if (fd < 0) {
        snprintf(errbuf, n, "cannot open config %s: %s", path,
                 strerror(errno));
        return -1;
    }
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

int fs_opts_from_env(struct fs_opts *o, char *errbuf, size_t n)
{
    const char *v;

    for (size_t i = 0; i < fs_optable_count(); i++) {
        const struct fs_optdef *def = fs_optable_at(i);

        v = def->env ? getenv(def->env) : NULL;
        if (v && *v && fs_opts_set(o, def->name, v, errbuf, n)) {
            size_t used = strlen(errbuf);
            snprintf(errbuf + used, n - used, " (from $%s)", def->env);
            return -1;
        }
    }
    v = getenv("PURECLOUD_CLIENT_SECRET"); /* alias of PURECLOUD_SECRET */
    if (v && *v)
        return fs_opts_set(o, "client_secret", v, errbuf, n);
    return 0;
}

static int xdg_path(const char *var, const char *fallback, const char *leaf,
                    char *buf, size_t n)
{
    const char *base = getenv(var), *home = getenv("HOME");
    struct passwd pw, *res = NULL;
    char pwbuf[1024];
    int w;

    if (!home || !*home) { /* mount(8) runs helpers without HOME */
        if (!getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &res) && res)
            home = res->pw_dir;
    }

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
