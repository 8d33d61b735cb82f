/* fs_cli.c - command-line parsing for mounting (see fs_cli.h). Every
 * option is checked against the tables of fs_optable.c. */
#include "fs_cli.h"
#include "fs_optable.h"

#include <fuse_opt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_POS 2

struct cli_state {
    struct fs_opts *o;
    char *pos[CLI_MAX_POS]; /* owned copies */
    int npos;
    char *err;
    size_t n;
};

/* "-o name[=value]": 1 keep for libfuse, 0 consumed, -1 error. */
static int cli_option(struct cli_state *st, const char *arg)
{
    char name[128];
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct fs_optdef *def;
    const struct fs_fuseopt *fo;

    snprintf(name, sizeof name, "%.*s", (int)len, arg);
    def = fs_optable_find(name);
    if (def && (def->flags & FS_OPT_NO_ARGV)) {
        snprintf(st->err, st->n, "credentials are not accepted on the "
                 "command line: use PURECLOUD_CLIENT_ID/PURECLOUD_SECRET or "
                 "the config file");
        return -1;
    }
    if (def) {
        /* the command line is read first: an option it already set was
         * set by an earlier -o, and a later one wins (as with mount) */
        st->o->given &= ~(1ULL << fs_optable_index(def));
        return fs_opts_set(st->o, name, eq ? eq + 1 : "", st->err, st->n)
                   ? -1
                   : (def->flags & FS_OPT_FUSE_TOO) ? 1 : 0;
    }
    fo = fs_fuseopt_find(name);
    if (fo && (fo->arg != NULL) != (eq != NULL)) {
        snprintf(st->err, st->n, fo->arg ? "option '%s' needs a value"
                 : "option '%s' takes no value", name);
        return -1;
    }
    if (fo)
        return 1;
    if (fs_mountopt_ignored(arg))
        return 0;
    fs_opt_unknown_msg(name, st->err, st->n);
    return -1;
}

static int cli_proc(void *data, const char *arg, int key,
                    struct fuse_args *outargs)
{
    struct cli_state *st = data;

    (void)outargs;
    if (key == FUSE_OPT_KEY_NONOPT) {
        if (st->npos == CLI_MAX_POS) {
            snprintf(st->err, st->n, "too many arguments: '%s' (usage: "
                     "recfs [SOURCE] MOUNTPOINT [options])", arg);
            return -1;
        }
        st->pos[st->npos] = strdup(arg);
        return st->pos[st->npos++] ? 0 : -1;
    }
    if (arg[0] != '-')
        return cli_option(st, arg);
    if (fs_fuseopt_find(arg))
        return 1;
    snprintf(st->err, st->n, "unknown option '%s' (see recfs --help)", arg);
    return -1;
}

/* SOURCE from fstab: a profile name, or a placeholder for none. */
static int cli_source(struct fs_opts *o, const char *src, char *err,
                      size_t n)
{
    if (!*src || !strcmp(src, "recfs") || !strcmp(src, "none") ||
        !strcmp(src, "default"))
        return 0;
    if (!fs_profile_name_valid(src)) {
        snprintf(err, n, "source '%s' is not a profile name (letters, "
                 "digits, '.', '_', '-', '@')", src);
        return -1;
    }
    return fs_opts_set(o, "profile", src, err, n); /* -o profile wins */
}

/* Hand the mountpoint back to libfuse ("./-x" so it is not a switch). */
static int cli_add_mountpoint(struct fuse_args *args, const char *mnt)
{
    char buf[4096];

    if (mnt[0] != '-')
        return fuse_opt_add_arg(args, mnt);
    snprintf(buf, sizeof buf, "./%s", mnt);
    return fuse_opt_add_arg(args, buf);
}

int fs_cli_parse(struct fuse_args *args, struct fs_opts *o, char *errbuf,
                 size_t n)
{
    static const struct fuse_opt none[] = {FUSE_OPT_END};
    struct cli_state st = {o, {NULL, NULL}, 0, errbuf, n};
    char *mnt;
    int rc = -1;

    errbuf[0] = '\0';
    if (fuse_opt_parse(args, &st, none, cli_proc)) {
        if (!errbuf[0])
            snprintf(errbuf, n, "bad options (see recfs --help)");
        goto out;
    }
    if (st.npos == 2 && cli_source(o, st.pos[0], errbuf, n))
        goto out;
    mnt = st.npos ? st.pos[st.npos - 1] : NULL;
    if (mnt && cli_add_mountpoint(args, mnt)) {
        snprintf(errbuf, n, "out of memory");
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < st.npos; i++)
        free(st.pos[i]);
    return rc;
}
