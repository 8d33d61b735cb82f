/* fs_kio.h - the session's I/O with the kernel, as libfuse does it, plus
 * the INIT flags libfuse 3.14 fails to send (see fs_kio.c). */
#ifndef RECFS_FS_KIO_H
#define RECFS_FS_KIO_H

#include <fuse_lowlevel.h>

/* fs_init asked the kernel for parallel lookups and listings of one
 * directory (FUSE_CAP_PARALLEL_DIROPS in conn->want). */
void fs_kio_want_parallel_dirops(void);
/* Route se's reads and writes through fs_kio (after fuse_mount, before
 * the loop). 0 or -errno (then libfuse's own I/O stays). */
int fs_kio_install(struct fuse_session *se);

#endif
