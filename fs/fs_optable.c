/* fs_optable.c - the ONE table of recfs options (see fs_optable.h), the
 * FUSE/mount pass-through lists, "did you mean", and --help. */
#include "fs_optable.h"
#include "fs_int.h"

#include <string.h>

#define OFF(field) offsetof(struct fs_opts, field)
#define G_CONN "Connection"
#define G_TREE "Tree and media"
#define G_CACHE "Cache"
#define G_EDIT "Editing"
#define G_LOG "Logging"
#define G_CONF "Configuration"
#define G_CRED "Credentials (config file or environment only, never -o)"

static const struct fs_optdef optable[] = {
    {"env", "HOST", G_CONN, "mypurecloud.com", "region host, e.g. "
     "mypurecloud.ie, usw2.pure.cloud (alias: environment)",
     "PURECLOUD_ENVIRONMENT", FS_OPT_STR, OFF(env), 0},
    {"api_url", "URL", G_CONN, NULL, "explicit API base URL (emulator, "
     "proxy); overrides env", "RECFS_API_URL", FS_OPT_STR, OFF(api_url), 0},
    {"login_url", "URL", G_CONN, NULL, "explicit OAuth base URL (token at "
     "URL/oauth/token)", "RECFS_LOGIN_URL", FS_OPT_STR, OFF(login_url), 0},
    {"cacert", "FILE", G_CONN, NULL, "extra CA bundle for TLS",
     "RECFS_CACERT", FS_OPT_STR, OFF(cacert), 0},
    {"insecure", NULL, G_CONN, "off", "skip TLS certificate checks "
     "(testing only; warned loudly)", "RECFS_INSECURE", FS_OPT_FLAG,
     OFF(insecure), 0},
    {"format", "FMT", G_TREE, "WEBM", "media format: WEBM, WAV, WAV_ULAW, "
     "OGG_VORBIS, OGG_OPUS, MP3, NONE", "RECFS_FORMAT", FS_OPT_STR,
     OFF(format_name), 0},
    {"recent_days", "N", G_TREE, "7", "days of conversations listed in "
     "conversations/ (one analytics query per listing)", "RECFS_RECENT_DAYS",
     FS_OPT_LONG, OFF(recent_days), 0},
    {"metadata_ttl", "SECONDS", G_TREE, "60", "how long listings and "
     "documents are trusted before asking again", "RECFS_METADATA_TTL",
     FS_OPT_LONG, OFF(metadata_ttl), 0},
    {"transcode_timeout", "SECONDS", G_TREE, "120", "wait for the server to "
     "transcode media, then EAGAIN", "RECFS_TRANSCODE_TIMEOUT", FS_OPT_LONG,
     OFF(transcode_timeout), 0},
    {"cache_dir", "DIR", G_CACHE, "$XDG_CACHE_HOME/recfs", "disk cache "
     "directory (kept between mounts)", "RECFS_CACHE_DIR", FS_OPT_STR,
     OFF(cache_dir), 0},
    {"cache_size", "SIZE", G_CACHE, "2G", "disk cache cap (K, M, G, T "
     "suffixes); least recently used media is evicted", "RECFS_CACHE_SIZE",
     FS_OPT_STR, OFF(cache_size_s), 0},
    {"cache_clear", NULL, G_CACHE, "off", "empty the disk cache at mount",
     "RECFS_CACHE_CLEAR", FS_OPT_FLAG, OFF(cache_clear), 0},
    {"allow_delete", NULL, G_EDIT, "off", "allow rm/rmdir of recordings, "
     "annotations, policies, orphans (else EPERM)", "RECFS_ALLOW_DELETE",
     FS_OPT_FLAG, OFF(allow_delete), 0},
    {"ro", NULL, G_EDIT, "off", "read-only mount: every change is refused",
     "RECFS_RO", FS_OPT_FLAG, OFF(ro), FS_OPT_FUSE_TOO},
    {"log_level", "LEVEL", G_LOG, "info", "err, warn, info or debug (stderr "
     "with -f, else syslog/journal)", "RECFS_LOG_LEVEL", FS_OPT_STR,
     OFF(log_level), 0},
    {"profile", "NAME", G_CONF, NULL, "use the [profile NAME] section of the "
     "config file (also: the SOURCE argument)", "RECFS_PROFILE", FS_OPT_STR,
     OFF(profile), FS_OPT_NO_CONFIG},
    {"config", "FILE", G_CONF, "$XDG_CONFIG_HOME/recfs/config", "config "
     "file (must be yours, mode 0600)", "RECFS_CONFIG", FS_OPT_STR,
     OFF(config), FS_OPT_NO_CONFIG},
    {"client_id", "ID", G_CRED, NULL, "OAuth client id (client "
     "credentials grant)", "PURECLOUD_CLIENT_ID", FS_OPT_STR, OFF(client_id),
     FS_OPT_NO_ARGV},
    {"client_secret", "SECRET", G_CRED, NULL, "OAuth client secret (also "
     "$PURECLOUD_CLIENT_SECRET)", "PURECLOUD_SECRET", FS_OPT_STR,
     OFF(client_secret), FS_OPT_NO_ARGV},
    {"access_token", "TOKEN", G_CRED, NULL, "a ready bearer token instead "
     "(not renewed)", "PURECLOUD_ACCESS_TOKEN", FS_OPT_STR,
     OFF(access_token), FS_OPT_NO_ARGV},
};

/* Aliases accepted everywhere the canonical name is. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"environment", "env"},
};

static const struct fs_fuseopt fuseopts[] = {
    {"-f", NULL, "foreground: do not daemonize, log to stderr"},
    {"-d", NULL, "debug: foreground, FUSE request trace"},
    {"-s", NULL, "single-threaded"},
    {"-h", NULL, "this help (also --help)"},
    {"--help", NULL, "this help"},
    {"-V", NULL, "version (also --version)"},
    {"--version", NULL, "version"},
    {"allow_other", NULL, "let other users see the mount (needs "
     "user_allow_other in /etc/fuse.conf unless root)"},
    {"allow_root", NULL, "let root see the mount"},
    {"auto_unmount", NULL, "unmount when recfs exits, even if killed"},
    {"default_permissions", NULL, "kernel permission checks (always on)"},
    {"fsname", "NAME", "name in mount tables (default recfs)"},
    {"subtype", "NAME", "type shown as fuse.NAME (default recfs)"},
    {"max_threads", "N", "FUSE worker threads (default 16)"},
    {"max_idle_threads", "N", "idle FUSE threads kept"},
    {"clone_fd", NULL, "one /dev/fuse descriptor per thread"},
    {"max_read", "N", "largest read request (default 524288)"},
    {"debug", NULL, "same as -d"},
    {"rw", NULL, "read-write mount (default)"},
    {"dev", NULL, "mount flag"},
    {"nodev", NULL, "mount flag"},
    {"suid", NULL, "mount flag"},
    {"nosuid", NULL, "mount flag"},
    {"exec", NULL, "mount flag"},
    {"noexec", NULL, "mount flag"},
    {"atime", NULL, "mount flag"},
    {"noatime", NULL, "mount flag"},
    {"sync", NULL, "mount flag"},
    {"async", NULL, "mount flag"},
    {"dirsync", NULL, "mount flag"},
};

/* Options mount(8) and fstab use that mean nothing to recfs. */
static const char *const ignored[] = {
    "_netdev", "auto", "noauto", "user", "nouser", "users", "owner",
    "group", "nofail", "defaults",
};

size_t fs_optable_count(void)
{
    return sizeof optable / sizeof optable[0];
}

const struct fs_optdef *fs_optable_at(size_t i)
{
    return i < fs_optable_count() ? &optable[i] : NULL;
}

size_t fs_optable_index(const struct fs_optdef *def)
{
    return (size_t)(def - optable);
}

const struct fs_optdef *fs_optable_find(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i].alias))
            name = aliases[i].name;
    for (size_t i = 0; i < fs_optable_count(); i++)
        if (!strcmp(name, optable[i].name))
            return &optable[i];
    return NULL;
}

size_t fs_fuseopt_count(void)
{
    return sizeof fuseopts / sizeof fuseopts[0];
}

const struct fs_fuseopt *fs_fuseopt_at(size_t i)
{
    return i < fs_fuseopt_count() ? &fuseopts[i] : NULL;
}

const struct fs_fuseopt *fs_fuseopt_find(const char *name)
{
    for (size_t i = 0; i < fs_fuseopt_count(); i++)
        if (!strcmp(name, fuseopts[i].name))
            return &fuseopts[i];
    return NULL;
}

int fs_mountopt_ignored(const char *name)
{
    if (!strncmp(name, "x-", 2) || !strncmp(name, "comment=", 8))
        return 1;
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        if (!strcmp(name, ignored[i]))
            return 1;
    return 0;
}

#define SUGGEST_MAXLEN 48

/* Levenshtein distance of two short strings (both < SUGGEST_MAXLEN). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[SUGGEST_MAXLEN + 1];

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void consider(const char *name, const char *cand, const char **best,
                     size_t *bestd)
{
    size_t d;

    if (cand[0] == '-' || strlen(cand) >= SUGGEST_MAXLEN)
        return;
    d = edit_distance(name, cand);
    if (d < *bestd) {
        *bestd = d;
        *best = cand;
    }
}

const char *fs_optable_suggest(const char *name)
{
    const char *best = NULL;
    size_t bestd = 3; /* accept distance <= 2 */
    size_t len = strlen(name);

    if (len >= SUGGEST_MAXLEN || len < 2)
        return NULL;
    for (size_t i = 0; i < fs_optable_count(); i++)
        consider(name, optable[i].name, &best, &bestd);
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        consider(name, aliases[i].alias, &best, &bestd);
    for (size_t i = 0; i < fs_fuseopt_count(); i++)
        consider(name, fuseopts[i].name, &best, &bestd);
    if (best && bestd >= len)
        return NULL; /* "ab" is not a typo of "ro" */
    return best;
}

static void help_opt(FILE *out, const struct fs_optdef *d)
{
    char lhs[64];

    snprintf(lhs, sizeof lhs, "%s%s%s", d->name, d->arg ? "=" : "",
             d->arg ? d->arg : "");
    if (d->flags & FS_OPT_NO_ARGV)
        fprintf(out, "    %-26s %s\n", lhs, d->help);
    else
        fprintf(out, "    -o %-23s %s\n", lhs, d->help);
    if (d->defval && d->env)
        fprintf(out, "    %-26s default %s; env $%s\n", "", d->defval,
                d->env);
    else if (d->env)
        fprintf(out, "    %-26s env $%s\n", "", d->env);
}

static void help_fuse(FILE *out)
{
    fprintf(out, "\nFUSE and mount options (passed to libfuse):\n");
    for (size_t i = 0; i < fs_fuseopt_count(); i++) {
        const struct fs_fuseopt *f = &fuseopts[i];
        char lhs[64];

        snprintf(lhs, sizeof lhs, "%s%s%s%s", f->name[0] == '-' ? "" : "-o ",
                 f->name, f->arg ? "=" : "", f->arg ? f->arg : "");
        fprintf(out, "    %-26s %s\n", lhs, f->help);
    }
    fprintf(out, "    accepted and ignored (from mount(8)/fstab):");
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        fprintf(out, " %s", ignored[i]);
    fprintf(out, " x-*, comment=*\n");
}

static void help_tail(FILE *out, const char *prog)
{
    fprintf(out,
        "\nPrecedence: command line > environment > config file (the "
        "[profile NAME]\nsection, then the lines before any section) > "
        "defaults.\n"
        "Credentials: $PURECLOUD_CLIENT_ID + $PURECLOUD_SECRET (+ "
        "$PURECLOUD_ENVIRONMENT),\n  or $PURECLOUD_ACCESS_TOKEN, or "
        "client_id/client_secret in the config file.\n"
        "\nCommands:\n"
        "    %s prefetch [-j N] [-q] PATH...  read media under PATHs of a "
        "mount into the cache\n"
        "    %s status MOUNTPOINT             cache, downloads, requests, "
        "recent errors\n"
        "\nExamples:\n"
        "    %s ~/recordings                     mount (credentials from "
        "env or config)\n"
        "    %s -o profile=acme,format=WAV ~/acme\n"
        "    %s acme /mnt/acme -o allow_other    as mount.fuse3 calls it "
        "from fstab\n"
        "    %s prefetch ~/recordings/by-date/2026-11-21\n"
        "    fusermount3 -u ~/recordings          unmount\n"
        "\nSee recfs(1).\n", prog, prog, prog, prog, prog, prog);
}

void fs_optable_help(FILE *out, const char *prog)
{
    const char *groups[] = {G_CONN, G_TREE, G_CACHE, G_EDIT, G_LOG, G_CONF,
                            G_CRED};

    fprintf(out, "usage: %s [SOURCE] MOUNTPOINT [-f] [-o OPTION[,...]]\n"
            "       %s prefetch|status ...\n"
            "       %s --help | --version\n\n"
            "Shows a Genesys Cloud organization's recordings as files.\n"
            "SOURCE (as mount(8) passes it from /etc/fstab) is a profile "
            "name, or \"recfs\" for none.\n", prog, prog, prog);
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        fprintf(out, "\n%s:\n", groups[g]);
        for (size_t i = 0; i < fs_optable_count(); i++)
            if (!strcmp(optable[i].group, groups[g]))
                help_opt(out, &optable[i]);
    }
    help_fuse(out);
    help_tail(out, prog);
}
