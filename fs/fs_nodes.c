/* fs_nodes.c - the in-memory node table: what exists, with attributes,
 * listings and documents, each valid for metadata_ttl seconds.
 *
 * Existence is decided by listings: a path exists when its parent's
 * fresh listing names it, with two exceptions that are looked up by id
 * (conversations/<cid>, by-date/<day>) and media names of other formats.
 * The table lock is never held across a client call: fills build their
 * child specs outside the lock and apply them in one locked step.
 */
#include "fs_int.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FS_DAY_S 86400

struct kid {
    const char *name;
    enum fs_type type;
    mode_t mode;
    int64_t size;
    time_t mtime;
    const struct api_entry *e; /* borrowed: json, ids; may be NULL */
    const char *link;
    const char *conv;
};

static unsigned hash_path(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % FS_HASH_BUCKETS;
}

static struct fs_node *find(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n = ctx->tab[hash_path(path)];

    while (n && strcmp(n->path, path))
        n = n->hnext;
    return n;
}

static void names_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void fs_names_free(char **names, size_t n)
{
    names_free(names, n);
}

static void node_free(struct fs_node *n)
{
    free(n->path);
    free(n->json);
    free(n->link);
    names_free(n->kids, n->nkids);
    free(n->id);
    free(n->conv);
    free(n->media_type);
    free(n->data);
    free(n->err);
    free(n);
}

/* Lock held. Returns the node for path, created empty if absent. */
static struct fs_node *get_or_add(struct fs_ctx *ctx, const char *path)
{
    unsigned h = hash_path(path);
    struct fs_node *n = find(ctx, path);

    if (n)
        return n;
    n = calloc(1, sizeof *n);
    if (!n || !(n->path = strdup(path))) {
        free(n);
        return NULL;
    }
    n->size = -1;
    n->hnext = ctx->tab[h];
    ctx->tab[h] = n;
    return n;
}

static void remove_node(struct fs_ctx *ctx, const char *path)
{
    struct fs_node **pp = &ctx->tab[hash_path(path)];

    while (*pp && strcmp((*pp)->path, path))
        pp = &(*pp)->hnext;
    if (*pp) {
        struct fs_node *n = *pp;
        *pp = n->hnext;
        node_free(n);
    }
}

static int fresh(time_t expires, time_t now)
{
    return expires == 0 || expires > now;
}

static time_t ttl_end(struct fs_ctx *ctx)
{
    return time(NULL) + ctx->opts.metadata_ttl;
}

int fs_ctx_init(struct fs_ctx *ctx)
{
    ctx->uid = getuid();
    ctx->gid = getgid();
    ctx->start_time = time(NULL);
    return pthread_mutex_init(&ctx->lock, NULL) ? -ENOMEM : 0;
}

void fs_ctx_destroy(struct fs_ctx *ctx)
{
    fs_media_destroy(ctx);
    for (size_t i = 0; i < FS_HASH_BUCKETS; i++) {
        while (ctx->tab[i]) {
            struct fs_node *n = ctx->tab[i];
            ctx->tab[i] = n->hnext;
            node_free(n);
        }
    }
    names_free(ctx->seen_convs, ctx->nseen);
    ctx->seen_convs = NULL;
    ctx->nseen = 0;
    pthread_mutex_destroy(&ctx->lock);
}

static int dup_into(char **dst, const char *src)
{
    char *c = NULL;

    if (src && !(c = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

/* Lock held. Apply one child spec under dir. */
static int apply_kid(struct fs_ctx *ctx, const char *dir, const struct kid *k,
                     time_t exp)
{
    char path[PATH_MAX];
    struct fs_node *n;
    int rc;

    if (fs_path_join(path, sizeof path, dir, k->name))
        return -ENAMETOOLONG;
    n = get_or_add(ctx, path);
    if (!n)
        return -ENOMEM;
    if (n->scratch)
        return 0; /* a local file shadows nothing; keep it */
    n->type = k->type;
    n->mode = k->mode;
    n->mtime = k->mtime;
    n->expires = exp;
    if (k->size >= 0 || !fs_type_is_media(k->type))
        n->size = k->size;
    rc = dup_into(&n->link, k->link);
    if (!k->e && fs_type_is_doc(k->type)) {
        free(n->json); /* lazy document: fetched again when needed */
        n->json = NULL;
    }
    if (!rc && k->e) {
        n->kind = k->e->kind;
        rc = dup_into(&n->id, k->e->id);
        if (!rc)
            rc = dup_into(&n->conv, k->conv ? k->conv
                                            : k->e->conversation_id);
        if (!rc)
            rc = dup_into(&n->media_type, k->e->media);
        if (!rc && k->e->json && fs_type_is_doc(k->type)) {
            rc = dup_into(&n->json, k->e->json);
            n->json_len = k->e->json_len;
            n->size = (int64_t)k->e->json_len;
        }
    }
    return rc;
}

/* Replace the listing of dir with kids (and their attributes). */
static int apply(struct fs_ctx *ctx, const char *dir, const struct kid *kids,
                 size_t nk, time_t dir_mtime)
{
    char **names = calloc(nk + 1, sizeof *names);
    time_t exp = ttl_end(ctx);
    struct fs_node *d;
    int rc = 0;

    if (!names)
        return -ENOMEM;
    pthread_mutex_lock(&ctx->lock);
    d = get_or_add(ctx, dir);
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nk && !rc; i++) {
        rc = apply_kid(ctx, dir, &kids[i], exp);
        if (!rc && !(names[i] = strdup(kids[i].name)))
            rc = -ENOMEM;
        if (kids[i].mtime > dir_mtime)
            dir_mtime = kids[i].mtime;
    }
    if (rc)
        goto out;
    names_free(d->kids, d->nkids);
    d->kids = names;
    d->nkids = nk;
    names = NULL;
    d->kids_expires = exp;
    d->mode = S_IFDIR | 0755;
    if (dir_mtime)
        d->mtime = dir_mtime;
    if (!d->expires || d->expires < exp)
        d->expires = exp;
out:
    pthread_mutex_unlock(&ctx->lock);
    names_free(names, nk);
    return rc;
}

static mode_t file_mode(struct fs_ctx *ctx, enum fs_type t)
{
    if (fs_type_is_writable(t) && !ctx->opts.ro)
        return S_IFREG | 0644;
    return S_IFREG | 0444;
}

static struct kid dir_kid(const char *name, enum fs_type t, time_t mtime)
{
    struct kid k = {name, t, S_IFDIR | 0755, 0, mtime, NULL, NULL, NULL};
    return k;
}

static struct kid doc_kid(struct fs_ctx *ctx, const char *name,
                          enum fs_type t, const struct api_entry *e)
{
    struct kid k = {name, t, file_mode(ctx, t), -1, e ? e->mtime : 0, e,
                    NULL, NULL};
    return k;
}

int fs_fail(struct fs_ctx *ctx, const char *path, const char *what,
            const struct api_error *err)
{
    char msg[FS_ERR_MAX + 64];
    int e = api_error_to_errno(err);

    if (!e)
        e = EIO;
    api_error_str(err, msg, sizeof msg);
    if (e != ENOENT)
        log_warn("%s %s: %s%s%s", what, path, msg,
                 err->context_id[0] ? " contextId=" : "", err->context_id);
    fs_node_set_error(ctx, path, msg);
    return -e;
}

static int media_is_file_less(const char *media)
{
    return media && (!strcmp(media, "chat") || !strcmp(media, "email") ||
                     !strcmp(media, "message"));
}

static const char *media_name(struct fs_ctx *ctx, char *buf, size_t n)
{
    const char *ext = api_format_ext(ctx->opts.format);

    snprintf(buf, n, "media.%s", ext ? ext : "bin");
    return buf;
}

/* Children of a recording-like directory: metadata.json, media,
 * annotations/ (conversation recordings only). */
static int fill_recdir(struct fs_ctx *ctx, const char *dir,
                       const struct api_entry *e, enum fs_type meta,
                       enum fs_type media, const char *conv)
{
    struct kid kids[3];
    char mname[32];
    size_t nk = 0;

    kids[nk] = doc_kid(ctx, "metadata.json", meta, e);
    kids[nk++].conv = conv;
    if (!media_is_file_less(e->media)) {
        kids[nk] = doc_kid(ctx, media_name(ctx, mname, sizeof mname), media,
                           e);
        kids[nk].mode = S_IFREG | 0444;
        kids[nk++].conv = conv;
    }
    if (meta == FS_T_REC_META)
        kids[nk++] = dir_kid("annotations", FS_T_ANNS, e->mtime);
    return apply(ctx, dir, kids, nk, e->mtime);
}

/* A listing of recording-like directories (conversation, userrecordings,
 * orphanrecordings). */
static int fill_recset(struct fs_ctx *ctx, const char *dir,
                       const struct api_list *l, enum fs_type one,
                       enum fs_type meta, enum fs_type media,
                       const char *conv, const struct kid *extra)
{
    struct kid *kids = calloc(l->n + 1, sizeof *kids);
    char path[PATH_MAX];
    size_t nk = 0;
    int rc = 0;

    if (!kids)
        return -ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        kids[nk] = dir_kid(l->v[i].id, one, l->v[i].mtime);
        kids[nk].e = &l->v[i];
        kids[nk++].conv = conv;
    }
    if (extra)
        kids[nk++] = *extra;
    rc = apply(ctx, dir, kids, nk, 0);
    for (size_t i = 0; i < l->n && !rc; i++) {
        rc = fs_path_join(path, sizeof path, dir, l->v[i].id);
        if (!rc)
            rc = fill_recdir(ctx, path, &l->v[i], meta, media, conv);
    }
    free(kids);
    return rc;
}

static int list_fail(struct fs_ctx *ctx, const char *dir,
                     const struct api_error *err)
{
    return fs_fail(ctx, dir, "list", err);
}

/* Lock held. Append name to v (no duplicates). */
static void names_add(char ***v, size_t *n, const char *name)
{
    char **nv;

    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], name))
            return;
    nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return;
    *v = nv;
    if ((nv[*n] = strdup(name)))
        (*n)++;
}

/* A conversation looked up by id is listed in conversations/ from now
 * on (also in a listing that is still fresh). */
static void seen_add(struct fs_ctx *ctx, const char *cid)
{
    struct fs_node *convs;

    pthread_mutex_lock(&ctx->lock);
    names_add(&ctx->seen_convs, &ctx->nseen, cid);
    convs = find(ctx, "/conversations");
    if (convs && convs->kids_expires)
        names_add(&convs->kids, &convs->nkids, cid);
    pthread_mutex_unlock(&ctx->lock);
}

/* conversations/<cid>: its recordings (404 -> ENOENT). */
static int fill_conv(struct fs_ctx *ctx, const char *dir, const char *cid)
{
    struct api_ref ref = {API_KIND_RECORDING, cid, NULL, NULL};
    struct api_list l = {0};
    struct api_error err = {0};
    int rc;

    if (api_doc_list(ctx->client, &ref, &l, &err) != API_OK) {
        rc = list_fail(ctx, dir, &err);
        if (rc == -ENOENT) {
            pthread_mutex_lock(&ctx->lock);
            remove_node(ctx, dir);
            pthread_mutex_unlock(&ctx->lock);
        }
        return rc;
    }
    rc = fill_recset(ctx, dir, &l, FS_T_REC, FS_T_REC_META, FS_T_REC_MEDIA,
                     cid, NULL);
    api_list_clear(&l);
    if (!rc)
        seen_add(ctx, cid);
    return rc;
}

static int fill_convs(struct fs_ctx *ctx, const char *dir)
{
    time_t now = time(NULL);
    time_t start = now - ctx->opts.recent_days * FS_DAY_S;
    struct api_list l = {0};
    struct api_error err = {0};
    struct kid *kids;
    size_t nk = 0, nseen;
    char **seen;
    int rc;

    if (api_conversations_query(ctx->client, start, now + 3600, &l, &err))
        return list_fail(ctx, dir, &err);
    pthread_mutex_lock(&ctx->lock);
    nseen = ctx->nseen;
    seen = calloc(nseen + 1, sizeof *seen);
    for (size_t i = 0; seen && i < nseen; i++)
        seen[i] = strdup(ctx->seen_convs[i]);
    pthread_mutex_unlock(&ctx->lock);
    kids = calloc(l.n + nseen + 1, sizeof *kids);
    rc = (kids && seen) ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < l.n; i++) {
        if (l.v[i].has_recording == 0)
            continue;
        kids[nk] = dir_kid(l.v[i].id, FS_T_CONV,
                           l.v[i].mtime ? l.v[i].mtime : l.v[i].start);
        kids[nk].e = &l.v[i];
        kids[nk++].conv = l.v[i].id;
    }
    for (size_t i = 0; !rc && i < nseen; i++) {
        size_t j;
        for (j = 0; j < nk && strcmp(kids[j].name, seen[i] ? seen[i] : "");
             j++)
            ;
        if (seen[i] && j == nk)
            kids[nk++] = dir_kid(seen[i], FS_T_CONV, 0);
    }
    if (!rc)
        rc = apply(ctx, dir, kids, nk, 0);
    free(kids);
    names_free(seen, nseen);
    api_list_clear(&l);
    return rc;
}

static int fill_day(struct fs_ctx *ctx, const char *dir, const char *day)
{
    struct api_list l = {0};
    struct api_error err = {0};
    struct kid *kids;
    size_t nk = 0;
    time_t t0;
    int rc = 0;

    if (!fs_day_parse(day, &t0))
        return -ENOENT;
    if (api_conversations_query(ctx->client, t0, t0 + FS_DAY_S, &l, &err))
        return list_fail(ctx, dir, &err);
    kids = calloc(l.n + 1, sizeof *kids);
    char (*links)[FS_ID_MAX + 32] = calloc(l.n + 1, sizeof *links);
    if (!kids || !links)
        rc = -ENOMEM;
    for (size_t i = 0; !rc && i < l.n; i++) {
        if (l.v[i].has_recording == 0)
            continue;
        snprintf(links[nk], sizeof links[nk], "../../conversations/%s",
                 l.v[i].id);
        kids[nk].name = l.v[i].id;
        kids[nk].type = FS_T_DAY_LINK;
        kids[nk].mode = S_IFLNK | 0777;
        kids[nk].size = (int64_t)strlen(links[nk]);
        kids[nk].mtime = l.v[i].mtime ? l.v[i].mtime : l.v[i].start;
        kids[nk].e = &l.v[i];
        kids[nk].link = links[nk];
        nk++;
    }
    if (!rc)
        rc = apply(ctx, dir, kids, nk, 0);
    free(kids);
    free(links);
    api_list_clear(&l);
    return rc;
}

static int fill_bydate(struct fs_ctx *ctx, const char *dir)
{
    long n = ctx->opts.recent_days + 1;
    char (*days)[11] = calloc((size_t)n, sizeof *days);
    struct kid *kids = calloc((size_t)n, sizeof *kids);
    time_t now = time(NULL);
    int rc = -ENOMEM;

    if (days && kids) {
        for (long i = 0; i < n; i++) {
            time_t t = now - (time_t)(n - 1 - i) * FS_DAY_S;
            fs_day_format(t, days[i], sizeof days[i]);
            kids[i] = dir_kid(days[i], FS_T_DAY, t - t % FS_DAY_S);
        }
        rc = apply(ctx, dir, kids, (size_t)n, 0);
    }
    free(days);
    free(kids);
    return rc;
}

/* A flat directory of "<id>.json" documents of one kind. */
static int fill_docdir(struct fs_ctx *ctx, const char *dir, enum api_kind kind,
                       enum fs_type doc, const struct kid *extra,
                       size_t nextra)
{
    struct api_ref ref = {kind, NULL, NULL, NULL};
    struct fs_path p;
    struct api_list l = {0};
    struct api_error err = {0};
    struct kid *kids;
    char (*names)[FS_ID_MAX + 8];
    size_t nk = 0;
    int rc = 0;

    if (kind == API_KIND_ANNOTATION) {
        fs_path_parse(dir, &p);
        ref.conversation_id = p.conv;
        ref.recording_id = p.rec;
    }
    if (api_doc_list(ctx->client, &ref, &l, &err) != API_OK)
        return list_fail(ctx, dir, &err);
    kids = calloc(l.n + nextra + 1, sizeof *kids);
    names = calloc(l.n + 1, sizeof *names);
    if (!kids || !names)
        rc = -ENOMEM;
    for (size_t i = 0; !rc && i < l.n; i++) {
        snprintf(names[i], sizeof names[i], "%s.json", l.v[i].id);
        kids[nk++] = doc_kid(ctx, names[i], doc, &l.v[i]);
    }
    for (size_t i = 0; !rc && i < nextra; i++)
        kids[nk++] = extra[i];
    if (!rc)
        rc = apply(ctx, dir, kids, nk, 0);
    free(kids);
    free(names);
    api_list_clear(&l);
    return rc;
}

static int fill_root(struct fs_ctx *ctx)
{
    struct kid kids[] = {
        dir_kid("conversations", FS_T_CONVS, 0),
        dir_kid("by-date", FS_T_BYDATE, 0),
        dir_kid("userrecordings", FS_T_URECS, 0),
        dir_kid("orphanrecordings", FS_T_ORPHANS, 0),
        dir_kid("policies", FS_T_POLICIES, 0),
        doc_kid(ctx, "settings.json", FS_T_SETTINGS, NULL),
        dir_kid("keys", FS_T_KEYS, 0),
        dir_kid("localkeys", FS_T_LOCALKEYS, 0),
        dir_kid("screensessions", FS_T_SCREENS, 0),
        dir_kid(".recfs", FS_T_CTL, 0),
    };

    return apply(ctx, "/", kids, sizeof kids / sizeof kids[0],
                 ctx->start_time);
}

static int fill_recset_kind(struct fs_ctx *ctx, const char *dir,
                            enum fs_type set)
{
    enum api_kind kind =
        set == FS_T_URECS ? API_KIND_USER_RECORDING : API_KIND_ORPHAN;
    struct api_ref ref = {kind, NULL, NULL, NULL};
    struct api_list l = {0};
    struct api_error err = {0};
    struct kid summary;
    int rc;

    summary = doc_kid(ctx, "summary.json", FS_T_UREC_SUMMARY, NULL);
    if (api_doc_list(ctx->client, &ref, &l, &err) != API_OK)
        return list_fail(ctx, dir, &err);
    if (set == FS_T_URECS)
        rc = fill_recset(ctx, dir, &l, FS_T_UREC, FS_T_UREC_META,
                         FS_T_UREC_MEDIA, NULL, &summary);
    else
        rc = fill_recset(ctx, dir, &l, FS_T_ORPHAN, FS_T_ORPHAN_META,
                         FS_T_ORPHAN_MEDIA, NULL, NULL);
    api_list_clear(&l);
    return rc;
}

/* Fetch the listing of directory path (type from its parsed path). */
static int fill_dir(struct fs_ctx *ctx, const char *path,
                    const struct fs_path *p)
{
    char parent[PATH_MAX];
    struct kid k[2];

    switch (p->type) {
    case FS_T_ROOT: return fill_root(ctx);
    case FS_T_CONVS: return fill_convs(ctx, path);
    case FS_T_CONV: return fill_conv(ctx, path, p->conv);
    case FS_T_REC:
    case FS_T_UREC:
    case FS_T_ORPHAN:
        fs_path_parent(path, parent, sizeof parent);
        if (p->type == FS_T_REC)
            return fill_conv(ctx, parent, p->conv);
        return fill_recset_kind(ctx, parent,
                                p->type == FS_T_UREC ? FS_T_URECS
                                                     : FS_T_ORPHANS);
    case FS_T_ANNS:
        return fill_docdir(ctx, path, API_KIND_ANNOTATION, FS_T_ANN, NULL, 0);
    case FS_T_BYDATE: return fill_bydate(ctx, path);
    case FS_T_DAY: return fill_day(ctx, path, p->day);
    case FS_T_URECS:
    case FS_T_ORPHANS: return fill_recset_kind(ctx, path, p->type);
    case FS_T_POLICIES:
        return fill_docdir(ctx, path, API_KIND_POLICY, FS_T_POLICY, NULL, 0);
    case FS_T_KEYS:
        k[0] = doc_kid(ctx, "rotationschedule.json", FS_T_ROTATION, NULL);
        return fill_docdir(ctx, path, API_KIND_KEY, FS_T_KEY, k, 1);
    case FS_T_LK_SETTINGS:
        return fill_docdir(ctx, path, API_KIND_LOCALKEY_SETTINGS,
                           FS_T_LK_SETTING, NULL, 0);
    case FS_T_SCREENS:
        return fill_docdir(ctx, path, API_KIND_SCREEN_SESSION, FS_T_SCREEN,
                           NULL, 0);
    case FS_T_LOCALKEYS:
        k[0] = dir_kid("settings", FS_T_LK_SETTINGS, ctx->start_time);
        k[1] = dir_kid("requests", FS_T_LK_REQUESTS, ctx->start_time);
        return apply(ctx, path, k, 2, ctx->start_time);
    case FS_T_LK_REQUESTS:
        return apply(ctx, path, NULL, 0, ctx->start_time);
    case FS_T_CTL:
        k[0] = doc_kid(ctx, "status.json", FS_T_STATUS, NULL);
        return apply(ctx, path, k, 1, ctx->start_time);
    default:
        return -ENOTDIR;
    }
}

/* 1 if path is in the table and fresh; copies attributes if out. */
static int lookup_fresh(struct fs_ctx *ctx, const char *path,
                        struct fs_attr *out)
{
    struct fs_node *n;
    int ok = 0;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (n && n->mode && (n->scratch || fresh(n->expires, time(NULL)))) {
        ok = 1;
        if (out) {
            out->type = n->scratch ? FS_T_OTHER : n->type;
            out->mode = n->mode;
            out->size = n->scratch ? (int64_t)n->data_len : n->size;
            out->mtime = n->mtime;
            out->kind = n->kind;
            out->scratch = n->scratch;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return ok;
}

static int listing_fresh(struct fs_ctx *ctx, const char *dir)
{
    struct fs_node *n;
    int ok;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, dir);
    ok = n && n->kids_expires && fresh(n->kids_expires, time(NULL));
    pthread_mutex_unlock(&ctx->lock);
    return ok;
}

static int ensure(struct fs_ctx *ctx, const char *path, struct fs_attr *out);

/* A fresh listing of directory path. */
static int ensure_listing(struct fs_ctx *ctx, const char *path)
{
    struct fs_path p;
    int rc;

    if (listing_fresh(ctx, path))
        return 0;
    rc = fs_path_parse(path, &p);
    if (rc)
        return rc;
    if (p.type != FS_T_ROOT && p.type != FS_T_CONV) {
        rc = ensure(ctx, path, NULL);
        if (rc)
            return rc;
        if (listing_fresh(ctx, path))
            return 0; /* filled together with its parent */
    }
    return fill_dir(ctx, path, &p);
}

/* Media of another format than the listed one: add the node if the
 * recording has media. */
static int add_other_media(struct fs_ctx *ctx, const char *path,
                           const struct fs_path *p)
{
    char dir[PATH_MAX], listed[PATH_MAX], mname[32];
    struct fs_node *src, *n;
    enum api_format f;
    int rc = -ENOENT;

    if (api_format_from_media_name(p->name, &f) && ctx->opts.format !=
        API_FORMAT_NONE)
        return -ENOENT;
    fs_path_parent(path, dir, sizeof dir);
    fs_path_join(listed, sizeof listed, dir, media_name(ctx, mname,
                                                        sizeof mname));
    pthread_mutex_lock(&ctx->lock);
    src = find(ctx, listed);
    if (src && (n = get_or_add(ctx, path))) {
        n->type = p->type;
        n->mode = S_IFREG | 0444;
        n->mtime = src->mtime;
        n->expires = src->expires;
        n->kind = src->kind;
        rc = dup_into(&n->id, src->id);
        if (!rc)
            rc = dup_into(&n->conv, src->conv);
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

static int add_day(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n;
    int rc = -ENOMEM;

    pthread_mutex_lock(&ctx->lock);
    n = get_or_add(ctx, path);
    if (n) {
        n->type = FS_T_DAY;
        n->mode = S_IFDIR | 0755;
        n->expires = ttl_end(ctx);
        rc = 0;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* Make sure path exists (fresh); copy attributes to out (may be NULL). */
static int ensure(struct fs_ctx *ctx, const char *path, struct fs_attr *out)
{
    char parent[PATH_MAX];
    struct fs_path p;
    int rc;

    if (lookup_fresh(ctx, path, out))
        return 0;
    rc = fs_path_parse(path, &p);
    if (rc)
        return rc;
    if (p.type == FS_T_ROOT || p.type == FS_T_CONV)
        rc = fill_dir(ctx, path, &p);
    else if (p.type == FS_T_DAY)
        rc = add_day(ctx, path);
    else if (!fs_path_parent(path, parent, sizeof parent))
        rc = ensure_listing(ctx, parent);
    if (rc)
        return rc;
    if (lookup_fresh(ctx, path, out))
        return 0;
    if (fs_type_is_media(p.type) && !add_other_media(ctx, path, &p) &&
        lookup_fresh(ctx, path, out))
        return 0;
    return -ENOENT;
}

/* Fetch a lazy singleton document (settings, rotation, summary). */
static int fetch_lazy_doc(struct fs_ctx *ctx, const char *path,
                          enum fs_type t)
{
    struct api_ref ref = {API_KIND_SETTINGS, NULL, NULL, NULL};
    struct api_entry e = {0};
    struct api_error err = {0};
    int rc;

    if (t == FS_T_ROTATION)
        ref.kind = API_KIND_ROTATION_SCHEDULE;
    else if (t == FS_T_UREC_SUMMARY)
        ref.kind = API_KIND_FAX_SUMMARY;
    if (api_doc_get(ctx->client, &ref, &e, &err) != API_OK)
        return fs_fail(ctx, path, "get", &err);
    rc = fs_node_put_doc(ctx, path, &e);
    api_entry_clear(&e);
    return rc;
}

static int needs_doc(struct fs_ctx *ctx, const char *path, enum fs_type *t)
{
    struct fs_node *n;
    int need = 0;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (n && !n->scratch && fs_type_is_doc(n->type) &&
        n->type != FS_T_STATUS && !n->json) {
        need = 1;
        *t = n->type;
    }
    pthread_mutex_unlock(&ctx->lock);
    return need;
}

int fs_node_attr(struct fs_ctx *ctx, const char *path, struct fs_attr *out)
{
    enum fs_type t;
    int rc = ensure(ctx, path, out);

    if (rc)
        return rc;
    if (needs_doc(ctx, path, &t)) {
        rc = fetch_lazy_doc(ctx, path, t);
        if (!rc)
            rc = ensure(ctx, path, out) ? -ENOENT : 0;
    }
    return rc;
}

static int scratch_names(struct fs_ctx *ctx, const char *dir, char ***v,
                         size_t *n)
{
    char parent[PATH_MAX];

    for (size_t b = 0; b < FS_HASH_BUCKETS; b++) {
        for (struct fs_node *x = ctx->tab[b]; x; x = x->hnext) {
            char **nv;
            if (!x->scratch || fs_path_parent(x->path, parent,
                                              sizeof parent) ||
                strcmp(parent, dir))
                continue;
            nv = realloc(*v, (*n + 1) * sizeof *nv);
            if (!nv)
                return -ENOMEM;
            *v = nv;
            if (!(nv[*n] = strdup(strrchr(x->path, '/') + 1)))
                return -ENOMEM;
            (*n)++;
        }
    }
    return 0;
}

int fs_dir_names(struct fs_ctx *ctx, const char *path, char ***names,
                 size_t *n)
{
    struct fs_node *d;
    char **v = NULL;
    size_t nv = 0;
    int rc = ensure_listing(ctx, path);

    *names = NULL;
    *n = 0;
    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    d = find(ctx, path);
    if (!d) {
        rc = -ENOENT;
        goto out;
    }
    v = calloc(d->nkids + 1, sizeof *v);
    rc = v ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < d->nkids; i++, nv++)
        if (!(v[i] = strdup(d->kids[i])))
            rc = -ENOMEM;
    if (!rc)
        rc = scratch_names(ctx, path, &v, &nv);
out:
    pthread_mutex_unlock(&ctx->lock);
    if (rc) {
        names_free(v, nv);
        return rc;
    }
    *names = v;
    *n = nv;
    return 0;
}

int fs_doc_copy(struct fs_ctx *ctx, const char *path, char **json,
                size_t *len)
{
    struct fs_attr a;
    struct fs_node *n;
    int rc = fs_node_attr(ctx, path, &a);

    *json = NULL;
    *len = 0;
    if (rc)
        return rc;
    if (a.type == FS_T_STATUS) {
        *json = fs_status_json(ctx, len);
        return *json ? 0 : -ENOMEM;
    }
    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (!n || !n->json)
        rc = -EIO;
    else if (!(*json = malloc(n->json_len + 1)))
        rc = -ENOMEM;
    else {
        memcpy(*json, n->json, n->json_len + 1);
        *len = n->json_len;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int fs_link_target(struct fs_ctx *ctx, const char *path, char *buf,
                   size_t n)
{
    struct fs_node *x;
    int rc = ensure(ctx, path, NULL);

    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    x = find(ctx, path);
    if (!x || !x->link)
        rc = -EINVAL;
    else
        snprintf(buf, n, "%s", x->link);
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int fs_node_ids(struct fs_ctx *ctx, const char *path, char *id, char *conv,
                size_t n, enum api_kind *kind)
{
    struct fs_node *x;
    int rc = ensure(ctx, path, NULL);

    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    x = find(ctx, path);
    if (!x || x->scratch || !x->id) {
        rc = -ENODATA;
    } else {
        if (id)
            snprintf(id, n, "%s", x->id);
        if (conv)
            snprintf(conv, n, "%s", x->conv ? x->conv : "");
        if (kind)
            *kind = x->kind;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_node_set_error(struct fs_ctx *ctx, const char *path, const char *msg)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = msg ? get_or_add(ctx, path) : find(ctx, path);
    if (n)
        dup_into(&n->err, msg);
    pthread_mutex_unlock(&ctx->lock);
}

int fs_node_get_error(struct fs_ctx *ctx, const char *path, char *buf,
                      size_t n)
{
    struct fs_node *x;
    int rc = -ENODATA;

    pthread_mutex_lock(&ctx->lock);
    x = find(ctx, path);
    if (x && x->err) {
        snprintf(buf, n, "%s", x->err);
        rc = 0;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_node_set_size(struct fs_ctx *ctx, const char *path, int64_t size)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (n)
        n->size = size;
    pthread_mutex_unlock(&ctx->lock);
}

int fs_node_put_doc(struct fs_ctx *ctx, const char *path,
                    const struct api_entry *e)
{
    struct fs_path p;
    struct fs_node *n;
    int rc = fs_path_parse(path, &p);

    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    n = get_or_add(ctx, path);
    if (!n) {
        rc = -ENOMEM;
        goto out;
    }
    n->type = p.type;
    n->mode = file_mode(ctx, p.type);
    n->expires = ttl_end(ctx);
    if (e->mtime)
        n->mtime = e->mtime;
    n->kind = e->kind;
    rc = dup_into(&n->json, e->json ? e->json : "");
    n->json_len = e->json ? e->json_len : 0;
    n->size = (int64_t)n->json_len;
    if (!rc && e->id)
        rc = dup_into(&n->id, e->id);
out:
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_node_drop(struct fs_ctx *ctx, const char *path)
{
    pthread_mutex_lock(&ctx->lock);
    remove_node(ctx, path);
    pthread_mutex_unlock(&ctx->lock);
}

void fs_dir_invalidate(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (n)
        n->kids_expires = 1; /* stale, but still a directory */
    pthread_mutex_unlock(&ctx->lock);
}

int fs_scratch_create(struct fs_ctx *ctx, const char *path, mode_t mode)
{
    struct fs_node *n;
    int rc = 0;

    pthread_mutex_lock(&ctx->lock);
    n = get_or_add(ctx, path);
    if (!n) {
        rc = -ENOMEM;
    } else if (n->mode && !n->scratch && fresh(n->expires, time(NULL))) {
        rc = -EEXIST;
    } else {
        n->scratch = 1;
        n->type = FS_T_OTHER;
        n->mode = S_IFREG | (mode & 07777);
        n->mtime = time(NULL);
        n->expires = 0;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int fs_scratch_exists(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n;
    int yes;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    yes = n && n->scratch;
    pthread_mutex_unlock(&ctx->lock);
    return yes;
}

int fs_scratch_get(struct fs_ctx *ctx, const char *path, char **data,
                   size_t *len)
{
    struct fs_node *n;
    int rc = 0;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    *data = NULL;
    *len = 0;
    if (!n || !n->scratch)
        rc = -ENOENT;
    else if (!(*data = malloc(n->data_len + 1)))
        rc = -ENOMEM;
    else {
        if (n->data_len)
            memcpy(*data, n->data, n->data_len);
        (*data)[n->data_len] = '\0';
        *len = n->data_len;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int fs_scratch_set(struct fs_ctx *ctx, const char *path, const char *data,
                   size_t len)
{
    struct fs_node *n;
    char *copy = malloc(len + 1);
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (!n || !n->scratch) {
        rc = -ENOENT;
        free(copy);
    } else {
        free(n->data);
        n->data = copy;
        n->data_len = len;
        n->mtime = time(NULL);
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

int fs_scratch_remove(struct fs_ctx *ctx, const char *path)
{
    struct fs_node *n;
    int rc = -ENOENT;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (n && n->scratch) {
        remove_node(ctx, path);
        rc = 0;
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/* Move a scratch file to another scratch name (replacing it). */
int fs_scratch_rename(struct fs_ctx *ctx, const char *from, const char *to)
{
    struct fs_node *a, *b;
    int rc = 0;

    pthread_mutex_lock(&ctx->lock);
    a = find(ctx, from);
    b = get_or_add(ctx, to);
    if (!a || !a->scratch)
        rc = -ENOENT;
    else if (!b)
        rc = -ENOMEM;
    else {
        free(b->data);
        b->data = a->data;
        b->data_len = a->data_len;
        a->data = NULL;
        b->scratch = 1;
        b->type = FS_T_OTHER;
        b->mode = a->mode;
        b->mtime = a->mtime;
        b->expires = 0;
        remove_node(ctx, from);
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_scratch_ghost(struct fs_ctx *ctx, const char *path, int seconds)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = find(ctx, path);
    if (n && n->scratch) {
        n->scratch = 0;
        n->type = FS_T_OTHER;
        n->mode = S_IFREG | 0444;
        n->size = 0;
        n->expires = time(NULL) + seconds;
    }
    pthread_mutex_unlock(&ctx->lock);
}
