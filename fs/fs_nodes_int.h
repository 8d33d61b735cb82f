/* fs_nodes_int.h - shared by the node table files (fs_nodes.c,
 * fs_fill.c, fs_scratch.c). "Lock held" = the caller holds ctx->lock. */
#ifndef RECFS_FS_NODES_INT_H
#define RECFS_FS_NODES_INT_H

#include "fs_int.h"
#include "fs_read.h"

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

/* Attributes the kernel may keep of a listed entry (readdirplus): 1 and
 * *a, or 0 when they are not known yet (lazy size, generated content). */
int fs_attr_listed(enum fs_type type, mode_t mode, int64_t size,
                   time_t mtime, enum api_kind kind, struct fs_attr *a);
/* fs_dir_entries of the listing the table holds now (no fetch). */
int fs_dir_entries_held(struct fs_ctx *ctx, const char *path,
                        struct fs_dirent **out, size_t *n);

/* Streamed fills (fs_nodes.c, for fs_dirstream.c). fs_fill_stream starts
 * the fill of directory path on a thread of its own (or joins the one in
 * flight) and returns it referenced; NULL with *rc == 0 when the listing
 * is fresh, path is not a directory whose pages are streamed or memory
 * is short (list it with fs_dir_entries), NULL with *rc < 0 on error. */
struct fill_wait;
struct fill_wait *fs_fill_stream(struct fs_ctx *ctx, const char *path,
                                 int *rc);
/* Copies of the entries w published after the first `have` (*v, *n;
 * wait: until there is one or the fill ended). *done when nothing more
 * will come: 1 when the fill ended (then the fill's outcome is returned,
 * 0 or its -errno, and the table holds the listing), 2 when the stream
 * is complete (fs_fill_publish_end: the entries published are the whole
 * directory, returned 0 while the fill may still be applying them);
 * else 0 or -ENOMEM. */
int fs_fill_pull(struct fill_wait *w, size_t have, int wait,
                 struct fs_dirent **v, size_t *n, int *done);
void fs_fill_put(struct fill_wait *w);
/* The streamed fill this thread runs (NULL if none, or if its readers
 * wait for the whole listing): a fill hands it to the threads that
 * fetch its pages, for fs_fill_publish. */
struct fill_wait *fs_fill_current(void);
/* Called for a fill with the entries of each page in order (copied),
 * from any thread: w publishes them if it is streamed. v NULL: n
 * entries could not be handed over; w publishes nothing more and its
 * stream ends with the fill. */
void fs_fill_publish(struct fill_wait *w, const struct fs_dirent *v,
                     size_t n);
/* The last page of w's listing has been published: w's stream ends with
 * extra (a name the fill adds after its pages, or NULL) and the local
 * files of the directory, so that its readers are done without waiting
 * for the fill to store the listing and apply it to the table. */
void fs_fill_publish_end(struct fill_wait *w, const char *extra);
/* Room for need entries in *v (capacity *cap, grown by doubling). */
int fs_dirents_reserve(struct fs_dirent **v, size_t *cap, size_t need);

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
