/* fs_nodes_int.h - shared by the node table files (fs_nodes.c,
 * fs_fill.c, fs_scratch.c). "Lock held" = the caller holds ctx->lock. */
#ifndef RECFS_FS_NODES_INT_H
#define RECFS_FS_NODES_INT_H

#include "fs_int.h"

/* One child of a listing, built outside the lock. Strings borrowed. */
struct fs_kid {
    const char *name;
    enum fs_type type;
    mode_t mode;
    int64_t size;               /* -1: unknown (lazy) */
    time_t mtime;
    const struct api_entry *e;  /* json, ids; may be NULL (lazy doc) */
    const char *link;           /* symlink target */
    const char *conv;           /* conversation id for xattrs */
    const char *json;           /* document content instead of e->json
                                   (transcript.json); may be NULL */
    size_t json_len;
    char **raw;                 /* may be NULL: an entity text (malloc'd)
                                   the node takes over (*raw = NULL): a
                                   document's content to render, or a
                                   recording directory's entry */
    size_t raw_len;
    int *listed;                /* may be NULL: set to 1 when the node is
                                   a directory whose children exist */
};

/* Table primitives: lock held. */
struct fs_node *fs_tab_find(struct fs_ctx *ctx, const char *path);
/* The node for path, created empty (mode 0) if absent; NULL on ENOMEM. */
struct fs_node *fs_tab_get(struct fs_ctx *ctx, const char *path);
void fs_tab_remove(struct fs_ctx *ctx, const char *path);
/* Lock held. Append a copy of name unless present (best effort). */
void fs_names_add(char ***v, size_t *n, const char *name);

int fs_fresh(time_t expires, time_t now);
time_t fs_ttl_end(struct fs_ctx *ctx);
/* Replace *dst by a copy of src (NULL allowed). 0 or -ENOMEM. */
int fs_dup_into(char **dst, const char *src);
mode_t fs_file_mode(struct fs_ctx *ctx, enum fs_type t);

/* Set the fill generation of this thread (stores numbered at or above it
 * are newer than the data applied); returns the previous one. */
unsigned long fs_fill_gen_swap(unsigned long gen);

/* Replace the listing of dir by kids (takes the lock). dir_mtime: the
 * directory's own date if known (newest child otherwise). */
int fs_apply(struct fs_ctx *ctx, const char *dir, const struct fs_kid *kids,
             size_t nk, time_t dir_mtime);
/* fs_apply with the expiry of the data given (exp, not metadata_ttl from
 * now): children made later of a listing expire with it. */
int fs_apply_until(struct fs_ctx *ctx, const char *dir,
                   const struct fs_kid *kids, size_t nk, time_t dir_mtime,
                   time_t exp);

/* fs_fill.c */
struct fs_kid fs_dir_kid(const char *name, enum fs_type t, time_t mtime);
struct fs_kid fs_doc_kid(struct fs_ctx *ctx, const char *name,
                         enum fs_type t, const struct api_entry *e);
/* "media.<ext>" of the mount's format into buf. */
const char *fs_media_name(struct fs_ctx *ctx, char *buf, size_t n);
/* Fetch and apply the listing of directory path (parsed as p). */
int fs_fill_dir(struct fs_ctx *ctx, const char *path,
                const struct fs_path *p);

#endif
