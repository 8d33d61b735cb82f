/* fs_tree.c - path -> node mapping (see fs_tree.h). Pure. */
#include "fs_tree.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FS_MAX_DEPTH 6

struct comps {
    const char *v[FS_MAX_DEPTH];
    size_t len[FS_MAX_DEPTH];
    int n;
};

int fs_id_valid(const char *s)
{
    size_t n = 0;

    if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (n >= FS_ID_MAX)
            return 0;
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
            return 0;
    }
    return 1;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int fs_day_parse(const char *s, time_t *t)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    struct tm tm = {0};
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
        (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return 0;
    if (d > mdays[m - 1] + (m == 2 && is_leap(y)))
        return 0;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    if (t)
        *t = timegm(&tm);
    return 1;
}

void fs_day_format(time_t t, char *buf, size_t n)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d", &tm);
}

static int split(const char *path, struct comps *c)
{
    const char *p = path;

    c->n = 0;
    if (*p != '/')
        return -ENOENT;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > FS_NAME_MAX)
            return -ENAMETOOLONG;
        if (c->n == FS_MAX_DEPTH)
            return -ENOENT;
        c->v[c->n] = p;
        c->len[c->n++] = len;
        p += len;
    }
    return 0;
}

/* Copy component i into dst (cap n); 0 or -ENOENT if too long. */
static int comp_copy(const struct comps *c, int i, char *dst, size_t n)
{
    if (c->len[i] >= n)
        return -ENOENT;
    memcpy(dst, c->v[i], c->len[i]);
    dst[c->len[i]] = '\0';
    return 0;
}

static int comp_is(const struct comps *c, int i, const char *s)
{
    return c->len[i] == strlen(s) && !memcmp(c->v[i], s, c->len[i]);
}

/* "<id>.json" -> id; 1 on success. */
static int json_id(const char *name, char *id, size_t n)
{
    size_t len = strlen(name);

    if (len <= 5 || strcmp(name + len - 5, ".json") || len - 5 >= n)
        return 0;
    memcpy(id, name, len - 5);
    id[len - 5] = '\0';
    return fs_id_valid(id);
}

static int media_ext(const char *name, char *ext, size_t n)
{
    if (strncmp(name, "media.", 6) || !name[6] || strlen(name + 6) >= n)
        return 0;
    strcpy(ext, name + 6);
    return 1;
}

/* A name inside a known directory `dir` that is not one of its fixed
 * names: OTHER when the directory accepts files, else -ENOENT. */
static int other(struct fs_path *p, enum fs_type dir)
{
    p->dir = dir;
    if (!fs_dir_accepts_files(dir))
        return -ENOENT;
    p->type = FS_T_OTHER;
    return 0;
}

/* Children of a recording-like directory (REC, UREC, ORPHAN). */
static int parse_rec_child(struct fs_path *p, enum fs_type dir,
                           enum fs_type meta, enum fs_type media)
{
    p->dir = dir;
    if (!strcmp(p->name, "metadata.json"))
        p->type = meta;
    else if (media_ext(p->name, p->ext, sizeof p->ext))
        p->type = media;
    else if (dir == FS_T_REC && !strcmp(p->name, "transcript.json"))
        p->type = FS_T_REC_TRANSCRIPT;
    else if (dir == FS_T_REC && !strcmp(p->name, "annotations"))
        p->type = FS_T_ANNS;
    else
        return other(p, dir);
    return 0;
}

static int parse_conversations(const struct comps *c, struct fs_path *p)
{
    if (c->n == 1)
        return p->type = FS_T_CONVS, p->dir = FS_T_ROOT, 0;
    if (comp_copy(c, 1, p->conv, sizeof p->conv) || !fs_id_valid(p->conv))
        return -ENOENT;
    if (c->n == 2)
        return p->type = FS_T_CONV, p->dir = FS_T_CONVS, 0;
    if (comp_copy(c, 2, p->rec, sizeof p->rec) || !fs_id_valid(p->rec))
        return -ENOENT;
    if (c->n == 3)
        return p->type = FS_T_REC, p->dir = FS_T_CONV, 0;
    if (c->n == 4)
        return parse_rec_child(p, FS_T_REC, FS_T_REC_META, FS_T_REC_MEDIA);
    if (!comp_is(c, 3, "annotations") || c->n != 5)
        return -ENOENT;
    p->dir = FS_T_ANNS;
    if (json_id(p->name, p->id, sizeof p->id))
        return p->type = FS_T_ANN, 0;
    return other(p, FS_T_ANNS);
}

static int parse_bydate(const struct comps *c, struct fs_path *p)
{
    if (c->n == 1)
        return p->type = FS_T_BYDATE, p->dir = FS_T_ROOT, 0;
    if (comp_copy(c, 1, p->day, sizeof p->day) || !fs_day_parse(p->day, 0))
        return -ENOENT;
    if (c->n == 2)
        return p->type = FS_T_DAY, p->dir = FS_T_BYDATE, 0;
    if (c->n > 3 || comp_copy(c, 2, p->conv, sizeof p->conv) ||
        !fs_id_valid(p->conv))
        return -ENOENT;
    return p->type = FS_T_DAY_LINK, p->dir = FS_T_DAY, 0;
}

/* userrecordings/ and orphanrecordings/ */
static int parse_recset(const struct comps *c, struct fs_path *p,
                        enum fs_type set, enum fs_type one,
                        enum fs_type meta, enum fs_type media)
{
    if (c->n == 1)
        return p->type = set, p->dir = FS_T_ROOT, 0;
    if (c->n == 2 && set == FS_T_URECS && !strcmp(p->name, "summary.json"))
        return p->type = FS_T_UREC_SUMMARY, p->dir = set, 0;
    if (comp_copy(c, 1, p->rec, sizeof p->rec) || !fs_id_valid(p->rec))
        return -ENOENT;
    if (c->n == 2)
        return p->type = one, p->dir = set, 0;
    if (c->n > 3)
        return -ENOENT;
    return parse_rec_child(p, one, meta, media);
}

/* A flat directory of "<id>.json" documents. */
static int parse_docdir(const struct comps *c, int depth, struct fs_path *p,
                        enum fs_type dir, enum fs_type doc)
{
    if (c->n == depth)
        return p->type = dir, 0;
    if (c->n > depth + 1)
        return -ENOENT;
    p->dir = dir;
    if (dir == FS_T_KEYS && !strcmp(p->name, "rotationschedule.json"))
        return p->type = FS_T_ROTATION, 0;
    if (doc != FS_T_NONE && json_id(p->name, p->id, sizeof p->id))
        return p->type = doc, 0;
    return other(p, dir);
}

static int parse_localkeys(const struct comps *c, struct fs_path *p)
{
    p->dir = FS_T_ROOT;
    if (c->n == 1)
        return p->type = FS_T_LOCALKEYS, 0;
    p->dir = FS_T_LOCALKEYS;
    if (comp_is(c, 1, "settings"))
        return parse_docdir(c, 2, p, FS_T_LK_SETTINGS, FS_T_LK_SETTING);
    if (comp_is(c, 1, "requests"))
        return parse_docdir(c, 2, p, FS_T_LK_REQUESTS, FS_T_NONE);
    return -ENOENT;
}

static int parse_top(const struct comps *c, struct fs_path *p)
{
    if (comp_is(c, 0, "conversations"))
        return parse_conversations(c, p);
    if (comp_is(c, 0, "by-date"))
        return parse_bydate(c, p);
    if (comp_is(c, 0, "userrecordings"))
        return parse_recset(c, p, FS_T_URECS, FS_T_UREC, FS_T_UREC_META,
                            FS_T_UREC_MEDIA);
    if (comp_is(c, 0, "orphanrecordings"))
        return parse_recset(c, p, FS_T_ORPHANS, FS_T_ORPHAN,
                            FS_T_ORPHAN_META, FS_T_ORPHAN_MEDIA);
    p->dir = FS_T_ROOT;
    if (comp_is(c, 0, "policies"))
        return parse_docdir(c, 1, p, FS_T_POLICIES, FS_T_POLICY);
    if (comp_is(c, 0, "keys"))
        return parse_docdir(c, 1, p, FS_T_KEYS, FS_T_KEY);
    if (comp_is(c, 0, "screensessions"))
        return parse_docdir(c, 1, p, FS_T_SCREENS, FS_T_SCREEN);
    if (comp_is(c, 0, "localkeys"))
        return parse_localkeys(c, p);
    if (comp_is(c, 0, ".recfs")) {
        if (c->n == 1)
            return p->type = FS_T_CTL, 0;
        if (c->n == 2 && comp_is(c, 1, "status.json"))
            return p->type = FS_T_STATUS, p->dir = FS_T_CTL, 0;
        return -ENOENT;
    }
    if (c->n != 1)
        return -ENOENT;
    if (!strcmp(p->name, "settings.json"))
        return p->type = FS_T_SETTINGS, 0;
    return other(p, FS_T_ROOT);
}

int fs_path_parse(const char *path, struct fs_path *out)
{
    struct comps c;
    int rc;

    memset(out, 0, sizeof *out);
    rc = split(path, &c);
    if (rc)
        return rc;
    if (c.n == 0) {
        out->type = FS_T_ROOT;
        out->dir = FS_T_NONE;
        return 0;
    }
    comp_copy(&c, c.n - 1, out->name, sizeof out->name);
    rc = parse_top(&c, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int fs_type_is_dir(enum fs_type t)
{
    switch (t) {
    case FS_T_ROOT: case FS_T_CONVS: case FS_T_CONV: case FS_T_REC:
    case FS_T_ANNS: case FS_T_BYDATE: case FS_T_DAY: case FS_T_URECS:
    case FS_T_UREC: case FS_T_ORPHANS: case FS_T_ORPHAN:
    case FS_T_POLICIES: case FS_T_KEYS: case FS_T_LOCALKEYS:
    case FS_T_LK_SETTINGS: case FS_T_LK_REQUESTS: case FS_T_SCREENS:
    case FS_T_CTL:
        return 1;
    default:
        return 0;
    }
}

int fs_type_is_doc(enum fs_type t)
{
    switch (t) {
    case FS_T_REC_META: case FS_T_REC_TRANSCRIPT: case FS_T_ANN:
    case FS_T_UREC_SUMMARY: case FS_T_UREC_META: case FS_T_ORPHAN_META:
    case FS_T_POLICY: case FS_T_SETTINGS: case FS_T_KEY:
    case FS_T_ROTATION: case FS_T_LK_SETTING: case FS_T_SCREEN:
    case FS_T_STATUS:
        return 1;
    default:
        return 0;
    }
}

int fs_type_is_media(enum fs_type t)
{
    return t == FS_T_REC_MEDIA || t == FS_T_UREC_MEDIA ||
           t == FS_T_ORPHAN_MEDIA;
}

int fs_type_is_writable(enum fs_type t)
{
    switch (t) {
    case FS_T_REC_META: case FS_T_ANN: case FS_T_UREC_META:
    case FS_T_ORPHAN_META: case FS_T_POLICY: case FS_T_SETTINGS:
    case FS_T_ROTATION: case FS_T_LK_SETTING: case FS_T_SCREEN:
        return 1;
    default:
        return 0;
    }
}

int fs_dir_accepts_files(enum fs_type dir)
{
    switch (dir) {
    case FS_T_ROOT: case FS_T_REC: case FS_T_ANNS: case FS_T_UREC:
    case FS_T_ORPHAN: case FS_T_POLICIES: case FS_T_KEYS:
    case FS_T_LK_SETTINGS: case FS_T_LK_REQUESTS: case FS_T_SCREENS:
        return 1;
    default:
        return 0;
    }
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);

    return a >= b && !strcmp(s + a - b, suf);
}

static int looks_like_temp(const char *name)
{
    static const char *const sufs[] = {"~", ".swp", ".swx", ".swo",
                                       ".tmp", ".bak", ".orig", ".new"};
    size_t len = strlen(name), i;

    if (name[0] == '.' || name[0] == '#')
        return 1;
    for (i = 0; i < sizeof sufs / sizeof sufs[0]; i++)
        if (ends_with(name, sufs[i]))
            return 1;
    for (i = 0; i < len && isdigit((unsigned char)name[i]); i++)
        ;
    if (i == len)
        return 1; /* vim's "4913" probe */
    if (len == 9 && !strncmp(name, "sed", 3)) {
        for (i = 3; i < len && isalnum((unsigned char)name[i]); i++)
            ;
        if (i == len)
            return 1;
    }
    return 0;
}

int fs_name_is_scratch(enum fs_type dir, const char *name)
{
    char id[FS_ID_MAX + 1];

    if (looks_like_temp(name))
        return 1;
    switch (dir) {
    case FS_T_ANNS: case FS_T_POLICIES: case FS_T_LK_SETTINGS:
        return !json_id(name, id, sizeof id);
    case FS_T_KEYS: case FS_T_LK_REQUESTS:
        return 0;
    default:
        return 1;
    }
}

int fs_path_join(char *buf, size_t n, const char *dir, const char *name)
{
    int w = snprintf(buf, n, "%s%s%s", dir,
                     (dir[0] && dir[strlen(dir) - 1] == '/') ? "" : "/",
                     name);

    return (w < 0 || (size_t)w >= n) ? -ENAMETOOLONG : 0;
}

int fs_path_parent(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    size_t len;

    if (!slash)
        return -ENOENT;
    len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= n)
        return -ENAMETOOLONG;
    memcpy(buf, path, len);
    buf[len] = '\0';
    return 0;
}
