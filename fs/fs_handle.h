/* fs_handle.h - open file handles (fi->fh), without FUSE types.
 *
 * A handle holds a document, scratch file or status text in memory, or a
 * shared media object. Commit rules (DESIGN.md §3) live in
 * fs_handle_flush(). A handle is used by one operation at a time per
 * thread; its lock serialises concurrent reads/writes on a shared fd.
 */
#ifndef RECFS_FS_HANDLE_H
#define RECFS_FS_HANDLE_H

#include "fs_int.h"

#include <sys/types.h>

enum fs_hkind {
    FS_H_DOC,     /* an existing document (server copy in base) */
    FS_H_SCRATCH, /* a scratch file */
    FS_H_NEWDOC,  /* a new file that becomes a document on flush */
    FS_H_TEXT,    /* read-only generated text (status.json) */
    FS_H_MEDIA,   /* media through the disk cache */
};

struct fs_handle {
    enum fs_hkind kind;
    char path[PATH_MAX];
    pthread_mutex_t lk;
    char *buf;          /* content (not media) */
    size_t len, cap;
    char *base;         /* DOC: the server copy the edit starts from */
    size_t base_len;
    int append;         /* opened with O_APPEND */
    int wrote;          /* written or truncated to non-empty since the
                           last commit */
    int truncated;      /* O_TRUNC/ftruncate since the last commit */
    int done;           /* NEWDOC: created; later flushes are no-ops */
    int commit_err;     /* DOC: how the last commit ended (0 or -errno);
                           a flush with nothing new to commit answers it
                           again, so that a commit made by another fd's
                           flush (a forked child closing its copy, a dup)
                           cannot hide a failure from the writer's own
                           close() */
    struct fs_mobj *m;  /* MEDIA */
};

/* Open path with open(2) flags; 0 or -errno. *keep_cache: media whose
 * version did not change; *direct: serve without the page cache. */
int fs_handle_open(struct fs_ctx *ctx, const char *path, int flags,
                   struct fs_handle **out, int *keep_cache, int *direct);
/* create(2) of a new name. */
int fs_handle_create(struct fs_ctx *ctx, const char *path, mode_t mode,
                     int flags, struct fs_handle **out);
ssize_t fs_handle_read(struct fs_ctx *ctx, struct fs_handle *h, char *buf,
                       size_t size, off_t off);
ssize_t fs_handle_write(struct fs_handle *h, const char *buf, size_t size,
                        off_t off);
int fs_handle_truncate(struct fs_handle *h, off_t size);
/* Commit if needed (flush/fsync). 0 or -errno. */
int fs_handle_flush(struct fs_ctx *ctx, struct fs_handle *h);
void fs_handle_free(struct fs_ctx *ctx, struct fs_handle *h);
/* Zero-copy media read: *out names len bytes at fd_off of a cache file
 * holding [off, off + len) (len 0: EOF), to be spliced to the kernel
 * after the op returns. The block stays pinned by the calling thread
 * until its next fs_read_lease_drop() (call it at the start of every
 * operation) or its exit. -ENOSYS: use fs_handle_read() (not media,
 * pass-through cache, read spanning two blocks); else 0 or -errno. */
struct fs_read_ref {
    int fd;                   /* the bytes are in this file at fd_off, */
    off_t fd_off;
    const unsigned char *mem; /* or in memory here (fd < 0) */
    size_t len;
};
int fs_handle_read_ref(struct fs_ctx *ctx, struct fs_handle *h, size_t size,
                       off_t off, struct fs_read_ref *out);
/* End the calling thread's lease (see fs_handle_read_ref). */
void fs_read_lease_drop(void);

/* Current size of the content (getattr on an open handle). */
int64_t fs_handle_size(struct fs_handle *h);

#endif
