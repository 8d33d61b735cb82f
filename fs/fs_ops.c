/* fs_ops.c - the FUSE operations (high-level API) and the session loop.
 * Thin: decode, call a helper of fs_nodes/fs_handle/fs_edit, return 0 or
 * -errno. The only file that includes <fuse.h>. */
#include "fs_ops.h"
#include "fs_handle.h"
#include "fs_kio.h"
#include "fs_read.h"
#include "log.h"

/* The build selects FUSE API 35, under which fuse_loop_mt() is the 3.2
 * entry point taking the old config layout: handed a 3.12 config, it
 * read max_idle_threads = 0 and started one thread per request. This is
 * the only file including <fuse.h>; use the 3.12 loop API here. */
#undef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#include <fuse.h>
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define XATTR_PREFIX "user.recfs."

static struct fs_ctx *ctx_get(void)
{
    return fuse_get_context()->private_data;
}

static struct fs_handle *fh(const struct fuse_file_info *fi)
{
    return (struct fs_handle *)(uintptr_t)fi->fh;
}

static void fill_stat(struct fs_ctx *ctx, const struct fs_attr *a,
                      struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = a->mode;
    st->st_nlink = S_ISDIR(a->mode) ? 2 : 1;
    st->st_uid = ctx->uid;
    st->st_gid = ctx->gid;
    st->st_size = a->size > 0 ? a->size : 0;
    st->st_blksize = 1 << 20;
    st->st_blocks = (st->st_size + 511) / 512;
    st->st_mtime = st->st_ctime = st->st_atime =
        a->mtime ? a->mtime : ctx->start_time;
}

static int fs_getattr(const char *path, struct stat *st,
                      struct fuse_file_info *fi)
{
    struct fs_ctx *ctx = ctx_get();
    struct fs_attr a;
    int rc;

    fs_read_lease_drop();
    if (fs_replace_pending(ctx, path))
        return -ENOENT;
    rc = fs_node_attr(ctx, path, &a);

    if (rc)
        return rc;
    if (fi && fi->fh && fh(fi)->kind != FS_H_MEDIA)
        a.size = fs_handle_size(fh(fi));
    else if (a.type == FS_T_STATUS) {
        size_t len = 0;
        char *s = fs_status_json(ctx, &len);
        a.size = s ? (int64_t)len : 0;
        free(s);
    } else if (fs_type_is_media(a.type) && !a.scratch) {
        rc = fs_media_size(ctx, path, &a.size);
        if (rc)
            return rc;
    }
    fill_stat(ctx, &a, st);
    return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
    return fs_link_target(ctx_get(), path, buf, size);
}

/* A directory handle holds its stream (fs_dirstream.c), started by the
 * first readdir and again on a rewind to offset 0, served by offset.
 * Offsets are what lets libfuse 3.14 pass readdirplus attributes to the
 * kernel: in its offset-less mode it drops them. */
struct fs_dirh {
    struct fs_dirstream *ds;
};

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
    struct fs_dirh *d = calloc(1, sizeof *d);

    (void)path;
    if (!d)
        return -ENOMEM;
    fi->fh = (uint64_t)(uintptr_t)d;
    return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
    struct fs_dirh *d = (struct fs_dirh *)(uintptr_t)fi->fh;

    (void)path;
    if (d)
        fs_dirstream_close(d->ds);
    free(d);
    return 0;
}

/* With FUSE_READDIR_PLUS the attributes go along (FUSE_FILL_DIR_PLUS), so
 * `ls -l` of a big directory costs no lookup/getattr per entry. Entry i
 * has offset i + 3 ("." 1, ".." 2). A reply waits for its first entry
 * only: entries still on the way go in a later one, so the caller works
 * on the first pages of a large listing while the rest arrives. */
static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
                      off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
    struct fs_ctx *ctx = ctx_get();
    struct fs_dirh *d = (struct fs_dirh *)(uintptr_t)fi->fh;
    const struct fs_dirent *e;
    struct stat st;
    int plus = !!(flags & FUSE_READDIR_PLUS);
    int rc = 0, given = 0;

    if (!d)
        return -EBADF;
    if (off == 0 || !d->ds) {
        fs_dirstream_close(d->ds);
        d->ds = NULL;
        rc = fs_dirstream_open(ctx, path, &d->ds);
        if (rc)
            return rc;
    }
    if (off < 1 && filler(buf, ".", NULL, 1, 0))
        return 0;
    if (off < 2 && filler(buf, "..", NULL, 2, 0))
        return 0;
    given = off < 2;
    for (size_t i = off > 2 ? (size_t)off - 2 : 0;; i++) {
        rc = fs_dirstream_get(d->ds, i, !given, &e);
        if (rc <= 0)
            break;
        int with = plus && e->has_attr;
        if (with)
            fill_stat(ctx, &e->a, &st);
        if (filler(buf, e->name, with ? &st : NULL, (off_t)i + 3,
                   with ? FUSE_FILL_DIR_PLUS : 0))
            break;
        given = 1;
    }
    /* an error after some entries is reported by the next call */
    return rc < 0 && !given ? rc : 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    struct fs_handle *h;
    int keep = 0, direct = 1;
    int rc;

    fs_read_lease_drop();
    rc = fs_handle_open(ctx_get(), path, fi->flags, &h, &keep, &direct);

    if (rc)
        return rc;
    fi->fh = (uint64_t)(uintptr_t)h;
    fi->keep_cache = (unsigned)keep;
    fi->direct_io = (unsigned)direct;
    return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fs_ctx *ctx = ctx_get();
    struct fs_handle *h;
    int rc, keep = 0, direct = 0;

    if (fs_replace_take(ctx, path))
        rc = fs_handle_open(ctx, path, O_WRONLY | O_TRUNC, &h, &keep,
                            &direct);
    else
        rc = fs_handle_create(ctx, path, mode, fi->flags, &h);
    if (rc)
        return rc;
    fi->fh = (uint64_t)(uintptr_t)h;
    fi->direct_io = 1;
    return 0;
}

/* A pipe per FUSE thread, for replies from memory: vmsplice() puts the
 * pages of a downloaded block in it (references, no copy) and libfuse
 * splices them on to the kernel, which copies them once into the
 * reader's pages. A pipe left holding bytes (a reply that failed
 * half-way) is replaced, never reused. */
#define FS_PIPE_SZ (1 << 20)

struct fs_pipe {
    int fd[2];
};

static pthread_key_t pipe_key;
static pthread_once_t pipe_once = PTHREAD_ONCE_INIT;

static void pipe_close(struct fs_pipe *p)
{
    if (p->fd[0] >= 0) {
        close(p->fd[0]);
        close(p->fd[1]);
    }
    p->fd[0] = p->fd[1] = -1;
}

static void pipe_exit(void *arg)
{
    pipe_close(arg);
    free(arg);
}

static void pipe_init(void)
{
    (void)pthread_key_create(&pipe_key, pipe_exit);
}

/* This thread's empty pipe, or NULL. */
static struct fs_pipe *pipe_get(void)
{
    struct fs_pipe *p;
    int n = 0;

    pthread_once(&pipe_once, pipe_init);
    p = pthread_getspecific(pipe_key);
    if (!p) {
        p = malloc(sizeof *p);
        if (!p)
            return NULL;
        p->fd[0] = p->fd[1] = -1;
        if (pthread_setspecific(pipe_key, p) != 0) {
            free(p);
            return NULL;
        }
    }
    if (p->fd[0] >= 0 && (ioctl(p->fd[0], FIONREAD, &n) != 0 || n != 0))
        pipe_close(p);
    if (p->fd[0] < 0) {
        if (pipe2(p->fd, O_CLOEXEC | O_NONBLOCK) != 0)
            return NULL;
        if (fcntl(p->fd[1], F_SETPIPE_SZ, FS_PIPE_SZ) < FS_PIPE_SZ) {
            pipe_close(p);
            return NULL;
        }
    }
    return p;
}

/* Put len bytes at mem into this thread's pipe; its read end, or -1. */
static int pipe_fill(const unsigned char *mem, size_t len)
{
    struct fs_pipe *p = len <= FS_PIPE_SZ ? pipe_get() : NULL;
    size_t done = 0;

    if (!p)
        return -1;
    while (done < len) {
        struct iovec iov = {(void *)(mem + done), len - done};
        ssize_t n = vmsplice(p->fd[1], &iov, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            pipe_close(p);
            return -1;
        }
        done += (size_t)n;
    }
    return p->fd[0];
}

/* Media blocks go to the kernel without a copy of ours: from the cache
 * file by splice, or from the download buffer through this thread's
 * pipe (both pinned by this thread's lease until its next operation);
 * everything else through a buffer. */
static int fs_read_buf(const char *path, struct fuse_bufvec **bufp,
                       size_t size, off_t off, struct fuse_file_info *fi)
{
    struct fs_ctx *ctx = ctx_get();
    struct fuse_bufvec *bv = malloc(sizeof *bv);
    struct fs_read_ref r;
    ssize_t n;
    int rc;

    (void)path;
    fs_read_lease_drop();
    if (!bv)
        return -ENOMEM;
    *bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT(0);
    rc = fs_handle_read_ref(ctx, fh(fi), size, off, &r);
    if (rc == 0 && r.len && r.mem) {
        int pfd = pipe_fill(r.mem, r.len);
        if (pfd < 0) { /* no pipe: copy the bytes after all */
            fs_read_lease_drop();
            rc = -ENOSYS;
        } else {
            bv->buf[0].size = r.len;
            bv->buf[0].flags = FUSE_BUF_IS_FD;
            bv->buf[0].fd = pfd;
        }
    } else if (rc == 0) {
        bv->buf[0].size = r.len;
        if (r.len) {
            bv->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
            bv->buf[0].fd = r.fd;
            bv->buf[0].pos = r.fd_off;
        }
    }
    if (rc == -ENOSYS) {
        bv->buf[0].mem = malloc(size ? size : 1);
        n = bv->buf[0].mem ? fs_handle_read(ctx, fh(fi), bv->buf[0].mem,
                                            size, off)
                           : -ENOMEM;
        rc = n < 0 ? (int)n : 0;
        bv->buf[0].size = n < 0 ? 0 : (size_t)n;
    }
    if (rc) {
        free(bv->buf[0].mem);
        free(bv);
        return rc;
    }
    *bufp = bv;
    return 0;
}

static int fs_write(const char *path, const char *buf, size_t size,
                    off_t off, struct fuse_file_info *fi)
{
    (void)path;
    return (int)fs_handle_write(fh(fi), buf, size, off);
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    return fs_handle_flush(ctx_get(), fh(fi));
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)datasync;
    return fs_flush(path, fi);
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    fs_read_lease_drop();
    fs_handle_free(ctx_get(), fh(fi));
    return 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct fs_ctx *ctx = ctx_get();
    struct fs_handle *h;
    int keep, direct, rc;

    if (fi && fi->fh)
        return fs_handle_truncate(fh(fi), size);
    rc = fs_handle_open(ctx, path, O_WRONLY, &h, &keep, &direct);
    if (rc)
        return rc;
    rc = fs_handle_truncate(h, size);
    if (!rc && h->kind == FS_H_DOC)
        h->wrote = 1; /* truncate(1) of a document is an edit */
    if (!rc)
        rc = fs_handle_flush(ctx, h);
    fs_handle_free(ctx, h);
    return rc;
}

static int fs_unlink(const char *path)
{
    struct fs_ctx *ctx = ctx_get();
    struct fs_path p;
    int rc;

    if (fs_scratch_remove(ctx, path) == 0)
        return 0;
    if (ctx->opts.ro)
        return -EROFS;
    rc = fs_path_parse(path, &p);
    if (rc)
        return rc;
    rc = fs_node_attr(ctx, path, &(struct fs_attr){0});
    if (rc)
        return rc;
    /* rm -r of an orphan / user recording: its files go with the
     * directory, which rmdir deletes. */
    if ((p.dir == FS_T_ORPHAN || p.dir == FS_T_UREC) &&
        p.type != FS_T_OTHER)
        return ctx->opts.allow_delete ? 0 : -EPERM;
    /* mv from another filesystem removes the target before copying:
     * hold the document back so the copy becomes an edit of it. */
    if (fs_type_is_doc(p.type) && fs_pid_is_mv(fuse_get_context()->pid))
        return fs_replace_hold(ctx, path);
    return fs_edit_delete(ctx, path);
}

static int fs_rmdir(const char *path)
{
    struct fs_ctx *ctx = ctx_get();
    int rc;

    if (ctx->opts.ro)
        return -EROFS;
    rc = fs_node_attr(ctx, path, &(struct fs_attr){0});
    return rc ? rc : fs_edit_delete(ctx, path);
}

static int fs_mkdir(const char *path, mode_t mode)
{
    (void)path;
    (void)mode;
    return ctx_get()->opts.ro ? -EROFS : -EPERM;
}

static int fs_symlink(const char *from, const char *to)
{
    (void)from;
    (void)to;
    return ctx_get()->opts.ro ? -EROFS : -EPERM;
}

/* Document copied to a scratch name (vim's backup by rename). */
static int doc_to_scratch(struct fs_ctx *ctx, const char *from,
                          const char *to)
{
    char *data = NULL;
    size_t len = 0;
    int rc = fs_doc_copy(ctx, from, &data, &len);

    if (!rc)
        rc = fs_scratch_create(ctx, to, 0644);
    if (!rc)
        rc = fs_scratch_set(ctx, to, data, len);
    free(data);
    return rc;
}

/* Scratch file renamed onto a document name: commit it. */
static int scratch_to_doc(struct fs_ctx *ctx, const char *from,
                          const char *to, const struct fs_path *pt)
{
    char *data = NULL, *base = NULL;
    size_t len = 0, blen = 0;
    int rc = fs_scratch_get(ctx, from, &data, &len);

    if (rc)
        return rc;
    if (fs_node_attr(ctx, to, &(struct fs_attr){0}) == 0 &&
        fs_type_is_doc(pt->type)) {
        if (!fs_type_is_writable(pt->type))
            rc = -EACCES;
        else
            rc = fs_doc_copy(ctx, to, &base, &blen);
        if (!rc)
            rc = fs_edit_commit(ctx, to, base, data, len);
    } else if (!fs_name_is_scratch(pt->dir, pt->name)) {
        rc = fs_edit_create(ctx, to, data, len);
    } else {
        rc = -EPERM;
    }
    if (!rc)
        fs_scratch_remove(ctx, from);
    free(data);
    free(base);
    return rc;
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
    struct fs_ctx *ctx = ctx_get();
    struct fs_path pf, pt;
    int rc;

    if (ctx->opts.ro)
        return -EROFS;
    if (flags & RENAME_EXCHANGE)
        return -EINVAL;
    rc = fs_path_parse(to, &pt);
    if (rc || fs_path_parse(from, &pf))
        return rc ? rc : -ENOENT;
    if ((flags & RENAME_NOREPLACE) &&
        (fs_scratch_exists(ctx, to) ||
         !fs_node_attr(ctx, to, &(struct fs_attr){0})))
        return -EEXIST;
    if (fs_scratch_exists(ctx, from)) {
        if (pt.type == FS_T_OTHER && fs_name_is_scratch(pt.dir, pt.name))
            return fs_scratch_rename(ctx, from, to);
        return scratch_to_doc(ctx, from, to, &pt);
    }
    if (fs_type_is_doc(pf.type) && pt.type == FS_T_OTHER &&
        fs_name_is_scratch(pt.dir, pt.name))
        return doc_to_scratch(ctx, from, to);
    return fs_type_is_dir(pf.type) ? -EXDEV : -EPERM;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fs_ctx *ctx = ctx_get();

    (void)mode;
    (void)fi;
    if (ctx->opts.ro)
        return -EROFS;
    return fs_node_attr(ctx, path, &(struct fs_attr){0});
}

static int fs_chown(const char *path, uid_t uid, gid_t gid,
                    struct fuse_file_info *fi)
{
    (void)uid;
    (void)gid;
    return fs_chmod(path, 0, fi);
}

static int fs_utimens(const char *path, const struct timespec tv[2],
                      struct fuse_file_info *fi)
{
    struct fs_path p;
    int rc = fs_chmod(path, 0, fi);

    (void)tv;
    /* touch(1) closes the new file before setting its times: a name that
     * became a document on that close (keys/, annotations/) is gone. */
    if (rc == -ENOENT && !fs_path_parse(path, &p) &&
        fs_dir_accepts_files(p.dir) && !fs_name_is_scratch(p.dir, p.name))
        return 0;
    return rc;
}

static int fs_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    memset(st, 0, sizeof *st);
    st->f_bsize = 4096;
    st->f_frsize = 4096;
    st->f_namemax = 255;
    return 0;
}

/* The value of one of our xattrs into val (cap n); 0 or -ENODATA. */
static int xattr_value(struct fs_ctx *ctx, const char *path,
                       const char *name, char *val, size_t n)
{
    char id[FS_ID_MAX + 1], conv[FS_ID_MAX + 1];
    enum api_kind kind;
    struct fs_path p;
    int rc;

    if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)))
        return -ENODATA;
    name += strlen(XATTR_PREFIX);
    if (!strcmp(name, "error"))
        return fs_node_get_error(ctx, path, val, n);
    if (!strcmp(name, "cached")) {
        if (fs_path_parse(path, &p) || !fs_type_is_media(p.type))
            return -ENODATA;
        snprintf(val, n, "%llu",
                 (unsigned long long)fs_media_cached(ctx, path));
        return 0;
    }
    rc = fs_node_ids(ctx, path, id, conv, sizeof id, &kind);
    if (rc)
        return rc;
    if (!strcmp(name, "id"))
        snprintf(val, n, "%s", id);
    else if (!strcmp(name, "kind"))
        snprintf(val, n, "%s", api_kind_name(kind));
    else if (!strcmp(name, "conversation_id") && conv[0])
        snprintf(val, n, "%s", conv);
    else
        return -ENODATA;
    return 0;
}

static int xattr_reply(const char *val, size_t len, char *out, size_t size)
{
    if (size == 0)
        return (int)len;
    if (size < len)
        return -ERANGE;
    memcpy(out, val, len);
    return (int)len;
}

static int fs_getxattr(const char *path, const char *name, char *value,
                       size_t size)
{
    struct fs_ctx *ctx = ctx_get();
    char val[FS_ERR_MAX + 64];
    int rc;

    /* ls -l asks every entry for security.selinux and the POSIX ACLs.
     * Those namespaces are not supported here (EOPNOTSUPP, as on a
     * filesystem without them): ls then remembers that for the whole
     * device and stops asking, 2-3 FUSE round trips fewer per entry.
     * Other user.* names simply do not exist (ENODATA). */
    if (strncmp(name, "user.", 5))
        return -EOPNOTSUPP;
    if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)))
        return -ENODATA;
    rc = fs_node_attr(ctx, path, &(struct fs_attr){0});
    if (!rc)
        rc = xattr_value(ctx, path, name, val, sizeof val);
    if (rc == -ENOENT && !strcmp(name, XATTR_PREFIX "error"))
        rc = fs_node_get_error(ctx, path, val, sizeof val);
    if (rc)
        return rc == -ENOENT ? -ENOENT : -ENODATA;
    return xattr_reply(val, strlen(val), value, size);
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
    static const char *const names[] = {"id", "kind", "conversation_id",
                                        "cached", "error"};
    struct fs_ctx *ctx = ctx_get();
    char out[256], val[FS_ERR_MAX + 64], full[64];
    size_t len = 0;
    int rc = fs_node_attr(ctx, path, &(struct fs_attr){0});

    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(full, sizeof full, XATTR_PREFIX "%s", names[i]);
        if (xattr_value(ctx, path, full, val, sizeof val))
            continue;
        memcpy(out + len, full, strlen(full) + 1);
        len += strlen(full) + 1;
    }
    return xattr_reply(out, len, list, size);
}

static int fs_setxattr(const char *path, const char *name, const char *value,
                       size_t size, int flags)
{
    (void)path;
    (void)value;
    (void)size;
    (void)flags;
    return strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) ? -ENOTSUP
                                                             : -EPERM;
}

static int fs_removexattr(const char *path, const char *name)
{
    return fs_setxattr(path, name, NULL, 0, 0);
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct fs_ctx *ctx = ctx_get();

    /* the kernel keeps names and attributes as long as we keep the
     * listing they came from (a version change invalidates explicitly):
     * a 1 s timeout made ls -l of a large directory stat every entry
     * again once the listing took longer than a second */
    cfg->entry_timeout = (double)ctx->opts.metadata_ttl;
    cfg->attr_timeout = (double)ctx->opts.metadata_ttl;
    cfg->negative_timeout = 1.0;
    cfg->use_ino = 0;
    cfg->kernel_cache = 0;
    cfg->hard_remove = 1;
    conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    /* plus on every readdir, not only when the kernel guesses a stat
     * will follow: our attributes come with the listing anyway */
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    /* lookups and listings of one directory run in parallel (8 readers
     * of different recordings); one fill serves them all (fs_nodes.c) */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) {
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
        fs_kio_want_parallel_dirops(); /* libfuse 3.14 drops it: fs_kio.c */
    }
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE;
    conn->max_readahead = 1 << 20;
    conn->max_read = ctx->opts.max_read; /* libfuse checks it matches */
    return ctx;
}

static void fs_destroy(void *private_data)
{
    (void)private_data;
    fs_fills_drain(); /* a listing a readdir left behind */
}

static const struct fuse_operations fs_operations = {
    .getattr = fs_getattr,
    .readlink = fs_readlink,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .chmod = fs_chmod,
    .chown = fs_chown,
    .truncate = fs_truncate,
    .open = fs_open,
    .read_buf = fs_read_buf,
    .write = fs_write,
    .statfs = fs_statfs,
    .flush = fs_flush,
    .release = fs_release,
    .fsync = fs_fsync,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .releasedir = fs_releasedir,
    .init = fs_init,
    .destroy = fs_destroy,
    .create = fs_create,
    .utimens = fs_utimens,
};

/* ------------------------------------------------------------------ */
/* Kernel cache invalidation. A notification sent from inside a handler of
 * a related operation can deadlock (fuse_lowlevel.h), so requests are
 * queued and carried out by one thread of ours. One mount per process:
 * the queue is static. Two kinds: a path's pages and attributes
 * (name == NULL), and a name in a directory. The kernel knows a
 * directory by the node id libfuse gave it, which is its st_ino here
 * (use_ino=0): a stat() of the directory through the mount tells it.
 * That stat blocks until a worker answers, so the thread is stopped only
 * after the unmount (which fails such a stat with ENOTCONN). */
#define INVAL_MAX 65536

struct inval_item {
    struct inval_item *next;
    char *name;   /* NULL: invalidate the path itself */
    char path[];
};

static struct {
    pthread_mutex_t lk;
    pthread_cond_t cv;
    struct fuse *f;        /* NULL: not running */
    const char *mnt;       /* mountpoint (absolute) */
    struct inval_item *head, **tail;
    int n, stop;
    pthread_t thread;
} inval = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
           NULL, NULL, 0, 0, 0};

static void inval_push(const char *path, const char *name)
{
    size_t pl = strlen(path) + 1;
    struct inval_item *it;

    pthread_mutex_lock(&inval.lk);
    for (it = inval.head; it && !name; it = it->next)
        if (!it->name && !strcmp(it->path, path))
            goto out; /* already queued */
    if (!inval.f || inval.n >= INVAL_MAX)
        goto out; /* the kernel's own timeouts cover it */
    it = malloc(sizeof *it + pl);
    if (!it)
        goto out;
    memcpy(it->path, path, pl);
    it->name = name ? strdup(name) : NULL;
    if (name && !it->name) {
        free(it);
        goto out;
    }
    it->next = NULL;
    *inval.tail = it;
    inval.tail = &it->next;
    inval.n++;
    pthread_cond_signal(&inval.cv);
out:
    pthread_mutex_unlock(&inval.lk);
}

void fs_inval_queue(const char *path)
{
    inval_push(path, NULL);
}

void fs_inval_entry_queue(const char *dir, const char *name)
{
    inval_push(dir, name);
}

/* The kernel's node id of dir ("/x/y"), 0 if it has none. Cached for a
 * run of items under the same directory. */
static fuse_ino_t inval_dir_ino(const char *dir)
{
    char full[PATH_MAX];
    struct stat st;

    if (snprintf(full, sizeof full, "%s%s", inval.mnt,
                 strcmp(dir, "/") ? dir : "") >= (int)sizeof full ||
        stat(full, &st) != 0)
        return 0;
    return (fuse_ino_t)st.st_ino;
}

static void *inval_main(void *arg)
{
    char last[PATH_MAX] = "";
    fuse_ino_t ino = 0;

    (void)arg;
    pthread_mutex_lock(&inval.lk);
    while (!inval.stop) {
        struct inval_item *it = inval.head;
        if (!it) {
            last[0] = '\0';
            pthread_cond_wait(&inval.cv, &inval.lk);
            continue;
        }
        inval.head = it->next;
        if (!inval.head)
            inval.tail = &inval.head;
        inval.n--;
        pthread_mutex_unlock(&inval.lk);
        if (!it->name) {
            /* -ENOENT: the kernel does not know the path; nothing cached */
            (void)fuse_invalidate_path(inval.f, it->path);
            log_debug("invalidated the kernel cache of %s", it->path);
        } else {
            if (strcmp(last, it->path)) {
                ino = inval_dir_ino(it->path);
                snprintf(last, sizeof last, "%s", it->path);
            }
            /* -ENOENT: the kernel has no such name cached */
            if (ino)
                (void)fuse_lowlevel_notify_inval_entry(
                    fuse_get_session(inval.f), ino, it->name,
                    strlen(it->name));
        }
        free(it->name);
        free(it);
        pthread_mutex_lock(&inval.lk);
    }
    pthread_mutex_unlock(&inval.lk);
    return NULL;
}

static void inval_start(struct fuse *f, const char *mountpoint)
{
    pthread_mutex_lock(&inval.lk);
    inval.f = f;
    inval.mnt = mountpoint;
    inval.tail = &inval.head;
    inval.stop = 0;
    if (pthread_create(&inval.thread, NULL, inval_main, NULL) != 0)
        inval.f = NULL; /* page cache still dropped on the next open */
    pthread_mutex_unlock(&inval.lk);
}

static void inval_stop(void)
{
    int running;

    pthread_mutex_lock(&inval.lk);
    running = inval.f != NULL;
    inval.stop = 1;
    pthread_cond_signal(&inval.cv);
    pthread_mutex_unlock(&inval.lk);
    if (running)
        pthread_join(inval.thread, NULL);
    pthread_mutex_lock(&inval.lk);
    inval.f = NULL;
    while (inval.head) {
        struct inval_item *it = inval.head;
        inval.head = it->next;
        free(it->name);
        free(it);
    }
    inval.tail = &inval.head;
    inval.n = 0;
    pthread_mutex_unlock(&inval.lk);
}

static void fuse_log_sink(enum fuse_log_level level, const char *fmt,
                          va_list ap)
{
    char buf[512];

    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    log_write(level <= FUSE_LOG_ERR ? LOG_LEVEL_ERR
              : level <= FUSE_LOG_WARNING ? LOG_LEVEL_WARN
              : level <= FUSE_LOG_INFO ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
              "libfuse", "%s", buf);
}

/* The kernel's readahead window of a FUSE mount starts at 128 KiB (the
 * bdi default; max_readahead can only lower it), so a sequential reader
 * costs one request per 128 KiB. Where permitted (root), widen this
 * mount's window to 512 KiB: 4x fewer requests, context switches and
 * replies (about 15 % of the daemon's CPU on a cold read). Not 1 MiB: a
 * reply of 1 MiB plus its header exceeds the default pipe-max-size, and
 * libfuse then copies instead of splicing cached blocks. The mount's
 * device comes from /proc/self/mountinfo: a stat() of our own mountpoint
 * would wait on this not-yet-running daemon. */
#define FS_READAHEAD_KB 512

static void widen_readahead(const char *mountpoint)
{
    char line[4096], dev[32] = "", mnt[PATH_MAX], path[96];
    FILE *f = fopen("/proc/self/mountinfo", "re");
    int fd;

    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char d[32];
        if (sscanf(line, "%*s %*s %31s %*s %4095s", d, mnt) == 2 &&
            !strcmp(mnt, mountpoint) && strstr(line, " - fuse"))
            snprintf(dev, sizeof dev, "%s", d); /* the last one wins */
    }
    fclose(f);
    if (!dev[0])
        return;
    snprintf(path, sizeof path, "/sys/class/bdi/%s/read_ahead_kb", dev);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || dprintf(fd, "%d\n", FS_READAHEAD_KB) < 0)
        log_debug("readahead of %s left at the default (%s)", mountpoint,
                  strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* The exit status of a session loop: libfuse's loops return the number
 * of the signal that stopped them (SIGINT on Ctrl-C in the foreground,
 * SIGTERM from kill or systemd). That is a requested stop, as an unmount
 * is, and not a failure: 0, with a line in the log saying why. */
static int loop_result(int res)
{
    if (res == SIGINT || res == SIGTERM || res == SIGHUP) {
        log_info("stopped by %s; unmounting",
                 res == SIGINT ? "SIGINT" : res == SIGTERM ? "SIGTERM"
                                                           : "SIGHUP");
        return 0;
    }
    if (res)
        log_err("the FUSE session ended with an error (%d)", res);
    return res ? 1 : 0;
}

int fs_mount_run(struct fs_ctx *ctx, struct fuse_args *args,
                 const struct fs_run_opts *ro, int (*start)(struct fs_ctx *))
{
    struct fuse_loop_config *lc = NULL;
    struct fuse *f;
    int rc = 1;

    fuse_set_log_func(fuse_log_sink);
    f = fuse_new(args, &fs_operations, sizeof fs_operations, ctx);
    if (!f)
        return 1;
    if (fuse_mount(f, ro->mountpoint)) {
        fprintf(stderr, "recfs: cannot mount on %s\n", ro->mountpoint);
        goto out_destroy;
    }
    if (fs_kio_install(fuse_get_session(f)))
        log_warn("cannot route the FUSE session's I/O; the kernel will run "
                 "one lookup or listing at a time per directory");
    widen_readahead(ro->mountpoint);
    if (fuse_daemonize(ro->foreground) || start(ctx))
        goto out_unmount;
    if (fuse_set_signal_handlers(fuse_get_session(f)))
        goto out_unmount;
    inval_start(f, ro->mountpoint);
    if (ro->singlethread) {
        rc = loop_result(fuse_loop(f));
    } else {
        lc = fuse_loop_cfg_create();
        if (lc) {
            fuse_loop_cfg_set_max_threads(lc, ro->max_threads);
            /* keep the workers: libfuse's default lets each idle thread
             * exit, i.e. one thread creation per request under load */
            fuse_loop_cfg_set_idle_threads(lc, ro->max_threads);
            fuse_loop_cfg_set_clone_fd(lc, (unsigned)ro->clone_fd);
            rc = loop_result(fuse_loop_mt(f, lc));
            fuse_loop_cfg_destroy(lc);
        }
    }
    fuse_remove_signal_handlers(fuse_get_session(f));
out_unmount:
    fuse_unmount(f);
    inval_stop(); /* after the unmount: see inval_dir_ino() */
out_destroy:
    fuse_destroy(f);
    return rc;
}
