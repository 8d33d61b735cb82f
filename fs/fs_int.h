/* fs_int.h - internals shared by the files of fs/. Never includes
 * <fuse.h>: only fs_ops*.c do.
 *
 * Locking: ctx->lock protects the node table, the scratch files, the
 * media table and the per-path errors. It is never held across network
 * I/O or a cache read.
 */
#ifndef RECFS_FS_INT_H
#define RECFS_FS_INT_H

#include "api_client.h"
#include "cache.h"
#include "fs_tree.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define FS_DOC_MAX (1024 * 1024)   /* editable document cap (EFBIG) */
#define FS_HASH_BUCKETS 65536
#define FS_ERR_MAX 256

/* Mount options (DESIGN.md §4). Strings are owned (free with
 * fs_opts_clear). */
struct fs_opts {
    char *env, *api_url, *login_url, *format_name, *cache_dir, *cacert;
    char *cache_size_s, *log_level;
    char *client_id, *client_secret, *access_token; /* env/config only */
    enum api_format format;
    uint64_t cache_size;
    long recent_days, metadata_ttl, transcode_timeout;
    unsigned max_read;  /* the effective FUSE max_read mount option */
    int allow_delete, ro, insecure, cache_clear;
    int foreground; /* -f / -d given */
    char *profile;  /* [profile NAME] of the config file, or NULL */
    char *config;   /* config file path (default: fs_default_config_path) */
    uint64_t given; /* bit i: fs_optable_at(i) set by some source */
    char *fuse_opts;/* FUSE options from the config file ("a,b=1"), or NULL */
};

/* One node of the in-memory tree (DESIGN.md §1). */
struct fs_node {
    struct fs_node *hnext;
    char *path;
    enum fs_type type;
    mode_t mode;        /* S_IFxxx | permissions */
    int64_t size;       /* -1: not known yet (lazy media, lazy doc) */
    time_t mtime;
    time_t expires;     /* 0: never */
    char *json;         /* documents */
    size_t json_len;
    char *raw;          /* a listed entity (api_entry.raw): for a document
                           without json, rendered on demand (getattr,
                           read); for a recording directory, the entry
                           its children are made of when first looked
                           into (fs_fill.c) */
    size_t raw_len;
    unsigned long raw_gen; /* fill generation of the listing raw is from */
    unsigned long put_gen; /* number of the last fs_node_put_doc, 0 */
    char *link;         /* symlinks */
    char **kids;        /* directories: names after a listing */
    size_t nkids;
    time_t kids_expires;/* 0: not listed */
    unsigned apply_gen; /* fs_apply() pass that last listed this node */
    enum api_kind kind;
    char *id, *conv;    /* api ids (xattrs, client calls) */
    char *media_type;   /* recordings: "audio", "chat", ... */
    int scratch;        /* scratch file: lives in the mount only */
    char *data;         /* scratch content */
    size_t data_len;
    char *err;          /* last error message (user.recfs.error) */
};

/* Value copy of a node handed to ops (no pointers into the table). */
struct fs_attr {
    enum fs_type type;
    mode_t mode;
    int64_t size;
    time_t mtime;
    enum api_kind kind;
    int scratch;
};

struct fs_mobj;

/* A document whose removal by mv(1) is held back (fs_replace.c). */
#define FS_HELD_MAX 16
struct fs_held {
    char path[512]; /* "" when free */
    double until;   /* CLOCK_MONOTONIC seconds */
};

struct fs_ctx {
    struct fs_opts opts;
    struct api_client *client;
    struct cache *cache;
    uid_t uid;
    gid_t gid;
    time_t start_time;
    pthread_mutex_t lock;
    struct fs_node *tab[FS_HASH_BUCKETS]; /* protected by lock */
    char **seen_convs;                    /* looked-up conversation ids */
    size_t nseen;
    struct fs_mobj *mobjs;                /* open media objects */
    struct fs_mres *mres;                 /* media resolve cache */
    atomic_long in_flight;                /* media reads running */
    struct fs_held held[FS_HELD_MAX];     /* fs_replace.c; under lock */
};

/* ---- fs_config.c (pure) ---- */
void fs_opts_init(struct fs_opts *o);
void fs_opts_clear(struct fs_opts *o);
/* Parse "2G", "512M", "100K", "1000" into bytes; 0 or -1. */
int fs_size_parse(const char *s, uint64_t *out);
/* Validate and convert the string options; message in errbuf. 0/-1. */
int fs_opts_finish(struct fs_opts *o, char *errbuf, size_t n);
/* Apply one "key = value" setting (config file or -o); 0, or -1 when the
 * key is unknown ("did you mean" in errbuf) or the value bad. Only fills
 * options no earlier source set: call for argv first, then the
 * environment, then the config file (that is the precedence). */
int fs_opts_set(struct fs_opts *o, const char *key, const char *val,
                char *errbuf, size_t n);
/* Parse config text ("key = value" lines, # comments, [profile NAME]
 * sections). Lines of the section o->profile apply first, then the lines
 * before any section; other sections are only checked. -1 if o->profile
 * is set and has no section. 0/-1. */
int fs_config_parse(struct fs_opts *o, const char *text, char *errbuf,
                    size_t n);
/* Load the config file at path if present (a missing file is fine
 * unless a profile is selected): refused (-1) unless owned by the user
 * and not accessible by others. */
int fs_config_load(struct fs_opts *o, const char *path, char *errbuf,
                   size_t n);
/* Fill unset options from the environment: each table entry's variable
 * (PURECLOUD_* credentials, RECFS_<OPTION>). 0, or -1 on a bad value. */
int fs_opts_from_env(struct fs_opts *o, char *errbuf, size_t n);
/* "unknown option 'x'; did you mean 'y'?" into errbuf. */
void fs_opt_unknown_msg(const char *key, char *errbuf, size_t n);
/* 1 if name is a usable profile name ([A-Za-z0-9._@-], < 64 chars). */
int fs_profile_name_valid(const char *name);
/* The default cache directory into buf. */
int fs_default_cache_dir(char *buf, size_t n);
int fs_default_config_path(char *buf, size_t n);

/* ---- fs_nodes.c: the node table ---- */
int fs_ctx_init(struct fs_ctx *ctx);
void fs_ctx_destroy(struct fs_ctx *ctx);
/* Make sure path exists (listing its parent if needed); copy its
 * attributes. 0 or -errno. */
int fs_node_attr(struct fs_ctx *ctx, const char *path, struct fs_attr *out);
/* Children names of a directory (fresh listing if expired), scratch
 * files included. *names: caller frees with fs_names_free. */
int fs_dir_names(struct fs_ctx *ctx, const char *path, char ***names,
                 size_t *n);
void fs_names_free(char **names, size_t n);
/* Copy of a document's JSON (fetching lazy ones). Caller frees. */
int fs_doc_copy(struct fs_ctx *ctx, const char *path, char **json,
                size_t *len);
/* The symlink target of a by-date entry. */
int fs_link_target(struct fs_ctx *ctx, const char *path, char *buf,
                   size_t n);
/* Ids of a node for xattrs and client calls: copies into the buffers
 * (may be NULL). 0 or -ENOENT. */
int fs_node_ids(struct fs_ctx *ctx, const char *path, char *id, char *conv,
                size_t n, enum api_kind *kind);
/* Record the last error for path (NULL clears). */
void fs_node_set_error(struct fs_ctx *ctx, const char *path,
                       const char *msg);
int fs_node_get_error(struct fs_ctx *ctx, const char *path, char *buf,
                      size_t n);
/* Set a media node's size once known. */
void fs_node_set_size(struct fs_ctx *ctx, const char *path, int64_t size);
/* Store a document the server answered (after a write). */
int fs_node_put_doc(struct fs_ctx *ctx, const char *path,
                    const struct api_entry *e);
/* Forget a node (and its listing) / a directory listing. */
void fs_node_drop(struct fs_ctx *ctx, const char *path);
void fs_dir_invalidate(struct fs_ctx *ctx, const char *path);

/* Scratch files (in memory, never uploaded). */
int fs_scratch_create(struct fs_ctx *ctx, const char *path, mode_t mode);
int fs_scratch_exists(struct fs_ctx *ctx, const char *path);
/* Copy of the content; caller frees. */
int fs_scratch_get(struct fs_ctx *ctx, const char *path, char **data,
                   size_t *len);
int fs_scratch_set(struct fs_ctx *ctx, const char *path, const char *data,
                   size_t len);
int fs_scratch_remove(struct fs_ctx *ctx, const char *path);
int fs_scratch_rename(struct fs_ctx *ctx, const char *from, const char *to);
/* Turn a scratch file into an empty read-only name that vanishes after
 * `seconds` and is never listed (touch(1) sets times after close). */
void fs_scratch_ghost(struct fs_ctx *ctx, const char *path, int seconds);

/* ---- fs_replace.c: mv(1) onto a document from another filesystem ---- */
/* 1 if the process is mv(1) (by its /proc comm). */
int fs_pid_is_mv(pid_t pid);
/* Hold back the removal of a document for a few seconds: 0, -EBUSY when
 * too many are held, -ENAMETOOLONG. */
int fs_replace_hold(struct fs_ctx *ctx, const char *path);
/* 1 while path is held (it then does not exist locally). */
int fs_replace_pending(struct fs_ctx *ctx, const char *path);
/* 1 (and the hold ends) if path was held: create opens the document. */
int fs_replace_take(struct fs_ctx *ctx, const char *path);

/* ---- fs_media.c ---- */
/* Resolve media size for stat (memory, then the disk cache's record,
 * then the API). */
int fs_media_size(struct fs_ctx *ctx, const char *path, int64_t *size);
/* Open the cache object of a media path. *changed = 1 when its version
 * differs from what this mount served before (drop the page cache). */
int fs_media_open(struct fs_ctx *ctx, const char *path,
                  struct fs_mobj **out, int *changed);
void fs_media_close(struct fs_ctx *ctx, struct fs_mobj *m);
struct cache_obj *fs_mobj_obj(struct fs_mobj *m);
uint64_t fs_media_cached(struct fs_ctx *ctx, const char *path);
void fs_media_destroy(struct fs_ctx *ctx);

/* ---- fs_status.c ---- */
/* .recfs/status.json; caller frees. */
char *fs_status_json(struct fs_ctx *ctx, size_t *len);

/* ---- fs_edit.c ---- */
/* Commit the content of an editable document at path (flush/rename).
 * base is the server copy the edit started from. Returns 0 or -errno;
 * on failure the reason is stored for user.recfs.error. */
int fs_edit_commit(struct fs_ctx *ctx, const char *path, const char *base,
                   const char *text, size_t len);
/* Create a document from a new file in a creating directory (POST). */
int fs_edit_create(struct fs_ctx *ctx, const char *path, const char *text,
                   size_t len);
/* unlink/rmdir of a document or recording directory. */
int fs_edit_delete(struct fs_ctx *ctx, const char *path);

/* Log once and remember the error for path; returns -errno. */
int fs_fail(struct fs_ctx *ctx, const char *path, const char *what,
            const struct api_error *err);

#endif
