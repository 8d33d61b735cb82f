/* fs_optable.h - the ONE table of recfs options, and the lists of FUSE
 * and mount(8) options recfs passes through or ignores.
 *
 * The option parser (fs_cli.c), the config file and environment
 * (fs_config.c), `recfs --help` and the unit tests all read these tables,
 * so an option cannot be accepted without being documented (and the
 * reverse). Pure data and lookups: no FUSE, no I/O except the help
 * printer.
 */
#ifndef RECFS_FS_OPTABLE_H
#define RECFS_FS_OPTABLE_H

#include <stddef.h>
#include <stdio.h>

enum fs_optkind {
    FS_OPT_STR,  /* string, stored in a char * field */
    FS_OPT_LONG, /* integer >= 0, stored in a long field */
    FS_OPT_FLAG, /* boolean: bare name, or =yes/no/true/false/1/0 */
};

/* Where an option may come from (flags). */
#define FS_OPT_NO_ARGV 0x1   /* credentials: config file/env only */
#define FS_OPT_NO_CONFIG 0x2 /* selects the config: argv/env only */
#define FS_OPT_FUSE_TOO 0x4  /* also handed to FUSE (ro) */

struct fs_optdef {
    const char *name;   /* "cache_size" */
    const char *arg;    /* "SIZE" as shown in --help; NULL for flags */
    const char *group;  /* --help section */
    const char *defval; /* default as shown in --help, or NULL */
    const char *help;   /* one line */
    const char *env;    /* environment variable, or NULL */
    enum fs_optkind kind;
    size_t off;         /* offset of the field in struct fs_opts */
    unsigned flags;     /* FS_OPT_* */
};

/* A FUSE or mount option recfs accepts and hands to libfuse. */
struct fs_fuseopt {
    const char *name;   /* "max_threads" or "-f" */
    const char *arg;    /* "N" when it takes a value, else NULL */
    const char *help;
};

size_t fs_optable_count(void);
/* Entry i (< fs_optable_count()); borrowed, static. */
const struct fs_optdef *fs_optable_at(size_t i);
/* The entry named name (exact match), or NULL. */
const struct fs_optdef *fs_optable_find(const char *name);
/* Index of def in the table (for struct fs_opts.given). */
size_t fs_optable_index(const struct fs_optdef *def);

size_t fs_fuseopt_count(void);
const struct fs_fuseopt *fs_fuseopt_at(size_t i);
/* The FUSE option or switch named name ("allow_other", "-f"), or NULL. */
const struct fs_fuseopt *fs_fuseopt_find(const char *name);

/* 1 if name is a mount(8)/fstab option recfs accepts and ignores
 * (_netdev, noauto, user, nofail, x-systemd.*, ...). */
int fs_mountopt_ignored(const char *name);

/* The known option name closest to name (edit distance <= 2, or a
 * prefix), for "did you mean" messages; NULL if none is close. Borrowed,
 * static. */
const char *fs_optable_suggest(const char *name);

/* Print the full --help text (usage, every option of both tables grouped,
 * defaults, credential sources, commands, examples). */
void fs_optable_help(FILE *out, const char *prog);

#endif
