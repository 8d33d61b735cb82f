/* fs_kio.c - the session's I/O with the kernel.
 *
 * libfuse 3.14 (Debian 12) takes FUSE_CAP_PARALLEL_DIROPS in conn->want
 * but never puts FUSE_PARALLEL_DIROPS in its INIT reply (later libfuse
 * versions do). Without it the kernel runs one lookup or readdir at a
 * time per directory: a lookup in userrecordings/ waited for a readdir
 * reply that was waiting for the next page of the listing, and 8
 * readers of different conversations looked them up one at a time.
 *
 * The session's reads and writes go through the functions here, which
 * do what libfuse would (read, writev, splice) and add that one flag to
 * the INIT reply when the kernel offered it and fs_init asked for it.
 * The INIT request is the first the kernel sends, and it sends nothing
 * else before the reply, so the request seen by io_read is the one the
 * reply answers. */
#include "fs_kio.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* offset of flags in fuse_init_in and fuse_init_out (major, minor,
 * max_readahead, flags: the same in every protocol version) */
#define INIT_FLAGS_OFF 12

static atomic_int want_parallel;
static _Atomic uint64_t init_unique; /* the INIT request's (0: none) */
static _Atomic uint32_t init_kflags; /* what the kernel offered */

void fs_kio_want_parallel_dirops(void)
{
    atomic_store(&want_parallel, 1);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
    ssize_t n = read(fd, buf, len);
    struct fuse_in_header h;
    uint32_t flags;

    (void)userdata;
    if (n >= (ssize_t)(sizeof h + INIT_FLAGS_OFF + 4) &&
        !atomic_load(&init_unique)) {
        memcpy(&h, buf, sizeof h);
        if (h.opcode == FUSE_INIT) {
            memcpy(&flags, (char *)buf + sizeof h + INIT_FLAGS_OFF, 4);
            atomic_store(&init_kflags, flags);
            atomic_store(&init_unique, h.unique);
        }
    }
    return n;
}

/* The INIT reply: header in iov[0], fuse_init_out in iov[1]. */
static void fix_init_reply(struct iovec *iov, int count)
{
    uint64_t u = atomic_load(&init_unique);
    struct fuse_out_header oh;
    uint32_t flags;

    if (!u || u == UINT64_MAX || count < 2 ||
        iov[0].iov_len < sizeof oh || iov[1].iov_len < INIT_FLAGS_OFF + 4)
        return;
    memcpy(&oh, iov[0].iov_base, sizeof oh);
    if (oh.unique != u)
        return;
    atomic_store(&init_unique, UINT64_MAX); /* done, whatever follows */
    if (oh.error != 0 || !atomic_load(&want_parallel) ||
        !(atomic_load(&init_kflags) & FUSE_PARALLEL_DIROPS))
        return;
    memcpy(&flags, (char *)iov[1].iov_base + INIT_FLAGS_OFF, 4);
    if (!(flags & FUSE_PARALLEL_DIROPS)) {
        flags |= FUSE_PARALLEL_DIROPS;
        memcpy((char *)iov[1].iov_base + INIT_FLAGS_OFF, &flags, 4);
        log_debug("init: parallel lookups and listings per directory");
    }
}

static ssize_t io_writev(int fd, struct iovec *iov, int count,
                         void *userdata)
{
    (void)userdata;
    if (atomic_load(&init_unique) != UINT64_MAX)
        fix_init_reply(iov, count);
    return writev(fd, iov, count);
}

static ssize_t io_splice(int fdin, off_t *offin, int fdout, off_t *offout,
                         size_t len, unsigned int flags, void *userdata)
{
    (void)userdata;
    return splice(fdin, offin, fdout, offout, len, flags);
}

int fs_kio_install(struct fuse_session *se)
{
    static const struct fuse_custom_io io = {
        .writev = io_writev,
        .read = io_read,
        .splice_receive = io_splice,
        .splice_send = io_splice,
    };
    int fd = fuse_session_fd(se);

    return fd < 0 ? -EBADF : fuse_session_custom_io(se, &io, fd);
}
