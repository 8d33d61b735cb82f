/* fs_ops.h - mount and run the FUSE session (fs_ops.c). */
#ifndef RECFS_FS_OPS_H
#define RECFS_FS_OPS_H

#include "fs_int.h"

struct fuse_args;

struct fs_run_opts {
    const char *mountpoint;
    int foreground;
    int singlethread;
    int clone_fd;
    unsigned max_threads;
};

/* Create the session from args (FUSE options only), mount, daemonize
 * unless foreground, call start(ctx) in the final process (open the disk
 * cache, start threads; non-zero = unmount and fail), then run the loop
 * until unmounted. Returns the process exit code. */
int fs_mount_run(struct fs_ctx *ctx, struct fuse_args *args,
                 const struct fs_run_opts *ro, int (*start)(struct fs_ctx *));

#endif
