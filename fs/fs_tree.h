/* fs_tree.h - path -> node mapping of the recfs tree (DESIGN.md §1).
 *
 * Pure: no I/O, no globals, no FUSE, no client calls; thread-safe.
 * fs_path_parse() says what a path *would* be; whether it exists is
 * decided by the listings (fs_nodes.c).
 */
#ifndef RECFS_FS_TREE_H
#define RECFS_FS_TREE_H

#include <stddef.h>
#include <sys/types.h>

#define FS_ID_MAX 128
#define FS_NAME_MAX 255

enum fs_type {
    FS_T_NONE = 0,
    FS_T_ROOT,            /* / */
    FS_T_CONVS,           /* /conversations */
    FS_T_CONV,            /* /conversations/<cid> */
    FS_T_REC,             /* /conversations/<cid>/<rid> */
    FS_T_REC_META,        /* .../<rid>/metadata.json */
    FS_T_REC_MEDIA,       /* .../<rid>/media.<ext> */
    FS_T_REC_TRANSCRIPT,  /* .../<rid>/transcript.json */
    FS_T_ANNS,            /* .../<rid>/annotations */
    FS_T_ANN,             /* .../annotations/<aid>.json */
    FS_T_BYDATE,          /* /by-date */
    FS_T_DAY,             /* /by-date/YYYY-MM-DD */
    FS_T_DAY_LINK,        /* /by-date/YYYY-MM-DD/<cid> */
    FS_T_URECS,           /* /userrecordings */
    FS_T_UREC_SUMMARY,    /* /userrecordings/summary.json */
    FS_T_UREC,            /* /userrecordings/<rid> */
    FS_T_UREC_META,       /* /userrecordings/<rid>/metadata.json */
    FS_T_UREC_MEDIA,      /* /userrecordings/<rid>/media.<ext> */
    FS_T_ORPHANS,         /* /orphanrecordings */
    FS_T_ORPHAN,          /* /orphanrecordings/<oid> */
    FS_T_ORPHAN_META,     /* /orphanrecordings/<oid>/metadata.json */
    FS_T_ORPHAN_MEDIA,    /* /orphanrecordings/<oid>/media.<ext> */
    FS_T_POLICIES,        /* /policies */
    FS_T_POLICY,          /* /policies/<id>.json */
    FS_T_SETTINGS,        /* /settings.json */
    FS_T_KEYS,            /* /keys */
    FS_T_KEY,             /* /keys/<id>.json */
    FS_T_ROTATION,        /* /keys/rotationschedule.json */
    FS_T_LOCALKEYS,       /* /localkeys */
    FS_T_LK_SETTINGS,     /* /localkeys/settings */
    FS_T_LK_SETTING,      /* /localkeys/settings/<id>.json */
    FS_T_LK_REQUESTS,     /* /localkeys/requests */
    FS_T_SCREENS,         /* /screensessions */
    FS_T_SCREEN,          /* /screensessions/<id>.json */
    FS_T_CTL,             /* /.recfs */
    FS_T_STATUS,          /* /.recfs/status.json */
    FS_T_OTHER,           /* any other name inside a known directory
                             (scratch files, new documents); see .dir */
    FS_T_COUNT
};

struct fs_path {
    enum fs_type type;
    enum fs_type dir;          /* type of the parent directory */
    char conv[FS_ID_MAX + 1];  /* conversation id (CONV..ANN, DAY_LINK) */
    char rec[FS_ID_MAX + 1];   /* recording / user recording / orphan id */
    char id[FS_ID_MAX + 1];    /* annotation, policy, key, ... id */
    char day[11];              /* YYYY-MM-DD (DAY, DAY_LINK) */
    char ext[32];              /* media extension after "media." */
    char name[FS_NAME_MAX + 1];/* last component ("" for /) */
};

/* Parse an absolute path. Returns 0, -ENOENT when it cannot exist in the
 * tree (unknown top-level name, malformed id or date, too deep), or
 * -ENAMETOOLONG. */
int fs_path_parse(const char *path, struct fs_path *out);

/* 1 if s is a well-formed id: 1..128 bytes of [A-Za-z0-9._-], not "."
 * or "..". Same rule as api_id_valid(). */
int fs_id_valid(const char *s);
/* 1 if s is a valid calendar date "YYYY-MM-DD"; *t = its 00:00 UTC. */
int fs_day_parse(const char *s, time_t *t);
/* Format t (UTC) as "YYYY-MM-DD" into buf (>= 11 bytes). */
void fs_day_format(time_t t, char *buf, size_t n);

int fs_type_is_dir(enum fs_type t);
/* A JSON document file (metadata, annotation, policy, ...). */
int fs_type_is_doc(enum fs_type t);
int fs_type_is_media(enum fs_type t);
/* A document the user may edit (0644); other files are 0444. */
int fs_type_is_writable(enum fs_type t);
/* Directories in which new files may be created (scratch or documents). */
int fs_dir_accepts_files(enum fs_type dir);

/* 1 if a new file called name in a directory should live in the mount
 * only: editor swap/backup/temp names (".x.swp", "4913", "x~",
 * "sedAbC123", ".#x", "*.tmp"). 0 when it names a new document (e.g.
 * "new.json" in annotations/, anything else in keys/). */
int fs_name_is_scratch(enum fs_type dir, const char *name);

/* Join dir and name into buf ("/" + "x" = "/x"). -ENAMETOOLONG if it
 * does not fit. */
int fs_path_join(char *buf, size_t n, const char *dir, const char *name);
/* The parent of path into buf ("/a/b" -> "/a", "/a" -> "/"). */
int fs_path_parent(const char *path, char *buf, size_t n);

#endif
