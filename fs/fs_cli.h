/* fs_cli.h - the command line: `recfs [SOURCE] MOUNTPOINT [options]`
 * and the `prefetch` and `status` commands. */
#ifndef RECFS_FS_CLI_H
#define RECFS_FS_CLI_H

#include "fs_int.h"

#include <stddef.h>

struct fuse_args;

/* Parse args: recfs options go into o (through fs_opts_set, so argv is
 * the first source), mount(8) leftovers (_netdev, noauto, ...) are
 * dropped, and args keeps only what libfuse parses: switches, FUSE -o
 * options, the mountpoint. An optional SOURCE before the mountpoint (as
 * mount.fuse3 passes it) names a profile; "recfs", "none" and "default"
 * mean none. Returns 0, or -1 with a message in errbuf: unknown option
 * (with a suggestion), credentials on the command line (never echoed),
 * too many arguments. */
int fs_cli_parse(struct fuse_args *args, struct fs_opts *o, char *errbuf,
                 size_t n);

/* `recfs prefetch [-j N] [-q] PATH...` (argv[0] is "prefetch"). Returns
 * the exit status: 0 all fetched, 1 some failed, 2 usage, 130 on SIGINT. */
int fs_prefetch_main(int argc, char **argv);

/* `recfs status MOUNTPOINT` (argv[0] is "status"). Exit status 0, 1 if
 * MOUNTPOINT is not a recfs mount, 2 usage. */
int fs_statcmd_main(int argc, char **argv);

#endif
