/* fs_read.h - read-side helpers used by the FUSE layer (fs_ops.c):
 * directory entries with attributes (readdirplus), zero-copy media reads
 * and deferred kernel cache invalidation. No FUSE types here.
 */
#ifndef RECFS_FS_READ_H
#define RECFS_FS_READ_H

#include "fs_int.h"

/* One directory entry; a has_attr entry carries attributes the kernel may
 * cache (readdirplus), others are looked up on demand. */
struct fs_dirent {
    char *name;
    struct fs_attr a;
    int has_attr;
};

/* Entries of directory path (fs_dir_names + attributes, one lock).
 * Free with fs_dirents_free. 0 or -errno. */
int fs_dir_entries(struct fs_ctx *ctx, const char *path,
                   struct fs_dirent **out, size_t *n);
void fs_dirents_free(struct fs_dirent *v, size_t n);

/* A directory stream (fs_dirstream.c): the entries of a directory by
 * index, for readdir. A large listing being fetched is served page by
 * page as it arrives. */
struct fs_dirstream;
/* Start one (offset 0 of a readdir). 0 or -errno. */
int fs_dirstream_open(struct fs_ctx *ctx, const char *path,
                      struct fs_dirstream **out);
/* Entry i: 1 (*e, valid until the next call), 0 past the end, -errno
 * (the listing failed). wait == 0: -EAGAIN instead of waiting for an
 * entry still on the way. */
int fs_dirstream_get(struct fs_dirstream *ds, size_t i, int wait,
                     const struct fs_dirent **e);
void fs_dirstream_close(struct fs_dirstream *ds);
/* Wait until no streamed fill runs in the background (unmount). */
void fs_fills_drain(void);

/* One more reference on an open media object (dropped with
 * fs_media_close); m must already be held. */
struct fs_mobj;
void fs_media_hold(struct fs_ctx *ctx, struct fs_mobj *m);

/* Drop the kernel's cached pages and attributes of path (the server's
 * version changed), asynchronously from a thread of the FUSE layer: safe
 * to call from any handler. No-op when no mount is running. */
void fs_inval_queue(const char *path);
/* Drop the kernel's cached name dir/name (the name is gone from the
 * listing, or about to be): the kernel keeps names for metadata_ttl, so
 * without this a vanished entry would still resolve until then. Same
 * thread, same safety. */
void fs_inval_entry_queue(const char *dir, const char *name);

#endif
