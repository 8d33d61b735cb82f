/* fs_fill.c - directory listings: one client call (all pages) per
 * directory, turned into child specs for fs_apply(). */
#include "fs_nodes_int.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_DAY_S 86400

struct fs_kid fs_dir_kid(const char *name, enum fs_type t, time_t mtime)
{
    struct fs_kid k = {.name = name, .type = t, .mode = S_IFDIR | 0755,
                       .mtime = mtime};
    return k;
}

struct fs_kid fs_doc_kid(struct fs_ctx *ctx, const char *name,
                          enum fs_type t, const struct api_entry *e)
{
    struct fs_kid k = {.name = name, .type = t, .mode = fs_file_mode(ctx, t),
                       .size = -1, .mtime = e ? e->mtime : 0, .e = e};
    return k;
}

static int media_is_file_less(const char *media)
{
    return media && (!strcmp(media, "chat") || !strcmp(media, "email") ||
                     !strcmp(media, "message"));
}

/* With format=NONE the listing says "media.bin": the original's content
 * type is known only to the media request (resolve + probe), and the
 * listings (recordingmetadata, userrecordings, orphans) carry none, so
 * naming it by type would cost one request per entry on every `ls`. A
 * name must also not change under a user once listed. The bytes are the
 * original's; looking up media.<ext> of a known format fetches that one. */
const char *fs_media_name(struct fs_ctx *ctx, char *buf, size_t n)
{
    const char *ext = api_format_ext(ctx->opts.format);

    snprintf(buf, n, "media.%s", ext ? ext : "bin");
    return buf;
}

/* Children of a recording-like directory: metadata.json, media (or, for
 * a chat/email/messaging recording, transcript.json: the recordingmetadata
 * listing carries the transcript, so it costs no request), annotations/
 * (conversation recordings only). e->raw goes to metadata.json. */
static int fill_recdir(struct fs_ctx *ctx, const char *dir,
                       struct api_entry *e, enum fs_type meta,
                       enum fs_type media, const char *conv, time_t exp)
{
    struct fs_kid kids[3];
    char mname[32], *tr = NULL, *doc = NULL;
    size_t nk = 0, trlen = 0, doclen = 0;
    int rc;

    kids[nk] = fs_doc_kid(ctx, "metadata.json", meta, e);
    kids[nk].raw = &e->raw;
    kids[nk].raw_len = e->raw_len;
    kids[nk++].conv = conv;
    if (!media_is_file_less(e->media)) {
        kids[nk] = fs_doc_kid(ctx, fs_media_name(ctx, mname, sizeof mname),
                              media, e);
        kids[nk].mode = S_IFREG | 0444;
        kids[nk++].conv = conv;
    } else if (meta == FS_T_REC_META && e->raw &&
               api_doc_render(e->raw, e->raw_len, &doc, &doclen) ==
                   API_OK &&
               api_recording_transcript(doc, doclen, &tr, &trlen, NULL) ==
                   API_OK) {
        kids[nk] = fs_doc_kid(ctx, "transcript.json", FS_T_REC_TRANSCRIPT, e);
        kids[nk].json = tr;
        kids[nk].json_len = trlen;
        kids[nk++].conv = conv;
    }
    if (meta == FS_T_REC_META)
        kids[nk++] = fs_dir_kid("annotations", FS_T_ANNS, e->mtime);
    rc = fs_apply_until(ctx, dir, kids, nk, e->mtime, exp);
    free(tr);
    free(doc);
    return rc;
}

/* memdup of n bytes (NULL src: NULL). 0 or -ENOMEM. */
static int dup_bytes(char **dst, const char *src, size_t n)
{
    *dst = NULL;
    if (!src)
        return 0;
    if (!(*dst = malloc(n ? n : 1)))
        return -ENOMEM;
    memcpy(*dst, src, n);
    return 0;
}

/* The children of recording directory dir, made of the entry its
 * listing kept (no request): 1 when done (*rc), 0 when dir keeps none. */
static int fill_recdir_kept(struct fs_ctx *ctx, const char *dir, int *rc)
{
    struct api_entry e = {0};
    enum fs_type type = FS_T_OTHER, meta, media;
    unsigned long gen = 0, saved;
    char *conv = NULL;
    struct fs_node *d;
    time_t exp = 0;

    *rc = 0;
    pthread_mutex_lock(&ctx->lock);
    d = fs_tab_find(ctx, dir);
    if (d && d->raw && (d->type == FS_T_REC || d->type == FS_T_UREC ||
                        d->type == FS_T_ORPHAN)) {
        type = d->type;
        gen = d->raw_gen;
        exp = d->expires;
        e.kind = d->kind;
        e.mtime = d->mtime;
        e.raw_len = d->raw_len;
        *rc = dup_bytes(&e.raw, d->raw, d->raw_len);
        if (!*rc)
            *rc = fs_dup_into(&e.id, d->id);
        if (!*rc)
            *rc = fs_dup_into(&conv, d->conv);
        if (!*rc)
            *rc = fs_dup_into(&e.media, d->media_type);
    }
    pthread_mutex_unlock(&ctx->lock);
    if (type == FS_T_OTHER)
        return 0;
    e.conversation_id = conv;
    meta = type == FS_T_REC ? FS_T_REC_META
           : type == FS_T_UREC ? FS_T_UREC_META : FS_T_ORPHAN_META;
    media = type == FS_T_REC ? FS_T_REC_MEDIA
            : type == FS_T_UREC ? FS_T_UREC_MEDIA : FS_T_ORPHAN_MEDIA;
    /* a document stored after that listing was fetched is newer */
    saved = fs_fill_gen_swap(gen);
    if (!*rc)
        *rc = fill_recdir(ctx, dir, &e, meta, media, conv, exp);
    fs_fill_gen_swap(saved);
    api_entry_clear(&e);
    return 1;
}

/* A listing of recording-like directories (conversation, userrecordings,
 * orphanrecordings). Each directory takes its entry over: its children
 * are made when it is first looked into (fill_recdir_kept), or now if
 * they exist already (a listing again after metadata_ttl). */
static int fill_recset(struct fs_ctx *ctx, const char *dir,
                       struct api_list *l, enum fs_type one,
                       const char *conv, const struct fs_kid *extra)
{
    struct fs_kid *kids = calloc(l->n + 1, sizeof *kids);
    int *listed = calloc(l->n + 1, sizeof *listed);
    char path[PATH_MAX];
    size_t nk = 0;
    int rc = 0;

    if (!kids || !listed) {
        free(kids);
        free(listed);
        return -ENOMEM;
    }
    for (size_t i = 0; i < l->n; i++) {
        kids[nk] = fs_dir_kid(l->v[i].id, one, l->v[i].mtime);
        kids[nk].e = &l->v[i];
        kids[nk].raw = &l->v[i].raw;
        kids[nk].raw_len = l->v[i].raw_len;
        kids[nk].listed = &listed[i];
        kids[nk++].conv = conv;
    }
    if (extra)
        kids[nk++] = *extra;
    rc = fs_apply(ctx, dir, kids, nk, 0);
    for (size_t i = 0; i < l->n && !rc; i++) {
        if (!listed[i])
            continue;
        rc = fs_path_join(path, sizeof path, dir, l->v[i].id);
        if (!rc && !fill_recdir_kept(ctx, path, &rc))
            rc = -ENOENT;
    }
    free(kids);
    free(listed);
    return rc;
}

static int list_fail(struct fs_ctx *ctx, const char *dir,
                     const struct api_error *err)
{
    return fs_fail(ctx, dir, "list", err);
}

/* A conversation looked up by id is listed in conversations/ from now
 * on (also in a listing that is still fresh). */
static void seen_add(struct fs_ctx *ctx, const char *cid)
{
    struct fs_node *convs;

    pthread_mutex_lock(&ctx->lock);
    fs_names_add(&ctx->seen_convs, &ctx->nseen, cid);
    convs = fs_tab_find(ctx, "/conversations");
    if (convs && convs->kids_expires)
        fs_names_add(&convs->kids, &convs->nkids, cid);
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
            fs_tab_remove(ctx, dir);
            pthread_mutex_unlock(&ctx->lock);
        }
        return rc;
    }
    rc = fill_recset(ctx, dir, &l, FS_T_REC, cid, NULL);
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
    struct fs_kid *kids;
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
        kids[nk] = fs_dir_kid(l.v[i].id, FS_T_CONV,
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
            kids[nk++] = fs_dir_kid(seen[i], FS_T_CONV, 0);
    }
    if (!rc)
        rc = fs_apply(ctx, dir, kids, nk, 0);
    free(kids);
    fs_names_free(seen, nseen);
    api_list_clear(&l);
    return rc;
}

static int fill_day(struct fs_ctx *ctx, const char *dir, const char *day)
{
    struct api_list l = {0};
    struct api_error err = {0};
    struct fs_kid *kids;
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
        rc = fs_apply(ctx, dir, kids, nk, 0);
    free(kids);
    free(links);
    api_list_clear(&l);
    return rc;
}

static int fill_bydate(struct fs_ctx *ctx, const char *dir)
{
    long n = ctx->opts.recent_days + 1;
    char (*days)[11] = calloc((size_t)n, sizeof *days);
    struct fs_kid *kids = calloc((size_t)n, sizeof *kids);
    time_t now = time(NULL);
    int rc = -ENOMEM;

    if (days && kids) {
        for (long i = 0; i < n; i++) {
            time_t t = now - (time_t)(n - 1 - i) * FS_DAY_S;
            fs_day_format(t, days[i], sizeof days[i]);
            kids[i] = fs_dir_kid(days[i], FS_T_DAY, t - t % FS_DAY_S);
        }
        rc = fs_apply(ctx, dir, kids, (size_t)n, 0);
    }
    free(days);
    free(kids);
    return rc;
}

/* A flat directory of "<id>.json" documents of one kind. */
static int fill_docdir(struct fs_ctx *ctx, const char *dir, enum api_kind kind,
                       enum fs_type doc, const struct fs_kid *extra,
                       size_t nextra)
{
    struct api_ref ref = {kind, NULL, NULL, NULL};
    struct fs_path p;
    struct api_list l = {0};
    struct api_error err = {0};
    struct fs_kid *kids;
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
        kids[nk] = fs_doc_kid(ctx, names[i], doc, &l.v[i]);
        kids[nk].raw = &l.v[i].raw;
        kids[nk++].raw_len = l.v[i].raw_len;
    }
    for (size_t i = 0; !rc && i < nextra; i++)
        kids[nk++] = extra[i];
    if (!rc)
        rc = fs_apply(ctx, dir, kids, nk, 0);
    free(kids);
    free(names);
    api_list_clear(&l);
    return rc;
}

static int fill_root(struct fs_ctx *ctx)
{
    struct fs_kid kids[] = {
        fs_dir_kid("conversations", FS_T_CONVS, 0),
        fs_dir_kid("by-date", FS_T_BYDATE, 0),
        fs_dir_kid("userrecordings", FS_T_URECS, 0),
        fs_dir_kid("orphanrecordings", FS_T_ORPHANS, 0),
        fs_dir_kid("policies", FS_T_POLICIES, 0),
        fs_doc_kid(ctx, "settings.json", FS_T_SETTINGS, NULL),
        fs_dir_kid("keys", FS_T_KEYS, 0),
        fs_dir_kid("localkeys", FS_T_LOCALKEYS, 0),
        fs_dir_kid("screensessions", FS_T_SCREENS, 0),
        fs_dir_kid(".recfs", FS_T_CTL, 0),
    };

    return fs_apply(ctx, "/", kids, sizeof kids / sizeof kids[0],
                 ctx->start_time);
}

/* Where the pages of a recording-set listing go: the fill that fetches
 * them. The sink runs on whichever thread completes the pages (the
 * listing's page threads), not on the fill's own, so it names the fill
 * instead of asking the thread (a thread-local lookup there published
 * only the pages that the fill's own thread happened to complete). */
struct recset_sink {
    enum fs_type one;
    struct fill_wait *w;
};

/* The entries of a page of a recording-set listing, for a readdir that
 * streams them (fs_fill_publish); their attributes are the ones
 * fill_recset gives the nodes. */
static void recset_page(void *arg, const struct api_entry *v, size_t n,
                        int last)
{
    const struct recset_sink *k = arg;
    struct fs_dirent *d;

    if (!k->w)
        return; /* not a streamed fill */
    d = calloc(n + 1, sizeof *d);
    if (!d) { /* they come with the whole listing */
        fs_fill_publish(k->w, NULL, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct fs_kid kid = fs_dir_kid(v[i].id, k->one, v[i].mtime);
        d[i].name = v[i].id;
        d[i].has_attr = fs_attr_listed(kid.type, kid.mode, kid.size,
                                       kid.mtime, v[i].kind, &d[i].a);
    }
    fs_fill_publish(k->w, d, n);
    free(d);
    if (last)
        fs_fill_publish_end(k->w,
                            k->one == FS_T_UREC ? "summary.json" : NULL);
}

static int fill_recset_kind(struct fs_ctx *ctx, const char *dir,
                            enum fs_type set)
{
    enum api_kind kind =
        set == FS_T_URECS ? API_KIND_USER_RECORDING : API_KIND_ORPHAN;
    struct api_ref ref = {kind, NULL, NULL, NULL};
    struct api_list l = {0};
    struct api_error err = {0};
    struct recset_sink sink = {
        set == FS_T_URECS ? FS_T_UREC : FS_T_ORPHAN, fs_fill_current()};
    struct fs_kid summary;
    int rc;

    summary = fs_doc_kid(ctx, "summary.json", FS_T_UREC_SUMMARY, NULL);
    if (api_doc_list_stream(ctx->client, &ref, &l, recset_page, &sink,
                            &err) != API_OK)
        return list_fail(ctx, dir, &err);
    rc = fill_recset(ctx, dir, &l, sink.one, NULL,
                     set == FS_T_URECS ? &summary : NULL);
    api_list_clear(&l);
    return rc;
}

/* Fetch the listing of directory path (type from its parsed path). */
int fs_fill_dir(struct fs_ctx *ctx, const char *path,
                    const struct fs_path *p)
{
    char parent[PATH_MAX];
    struct fs_kid k[2];
    int rc;

    switch (p->type) {
    case FS_T_ROOT: return fill_root(ctx);
    case FS_T_CONVS: return fill_convs(ctx, path);
    case FS_T_CONV: return fill_conv(ctx, path, p->conv);
    case FS_T_REC:
    case FS_T_UREC:
    case FS_T_ORPHAN:
        if (fill_recdir_kept(ctx, path, &rc))
            return rc;
        fs_path_parent(path, parent, sizeof parent);
        if (p->type == FS_T_REC)
            rc = fill_conv(ctx, parent, p->conv);
        else
            rc = fill_recset_kind(ctx, parent,
                                  p->type == FS_T_UREC ? FS_T_URECS
                                                       : FS_T_ORPHANS);
        if (!rc && !fill_recdir_kept(ctx, path, &rc))
            rc = -ENOENT; /* not (any more) in its parent's listing */
        return rc;
    case FS_T_ANNS:
        return fill_docdir(ctx, path, API_KIND_ANNOTATION, FS_T_ANN, NULL, 0);
    case FS_T_BYDATE: return fill_bydate(ctx, path);
    case FS_T_DAY: return fill_day(ctx, path, p->day);
    case FS_T_URECS:
    case FS_T_ORPHANS: return fill_recset_kind(ctx, path, p->type);
    case FS_T_POLICIES:
        return fill_docdir(ctx, path, API_KIND_POLICY, FS_T_POLICY, NULL, 0);
    case FS_T_KEYS:
        k[0] = fs_doc_kid(ctx, "rotationschedule.json", FS_T_ROTATION, NULL);
        return fill_docdir(ctx, path, API_KIND_KEY, FS_T_KEY, k, 1);
    case FS_T_LK_SETTINGS:
        return fill_docdir(ctx, path, API_KIND_LOCALKEY_SETTINGS,
                           FS_T_LK_SETTING, NULL, 0);
    case FS_T_SCREENS:
        return fill_docdir(ctx, path, API_KIND_SCREEN_SESSION, FS_T_SCREEN,
                           NULL, 0);
    case FS_T_LOCALKEYS:
        k[0] = fs_dir_kid("settings", FS_T_LK_SETTINGS, ctx->start_time);
        k[1] = fs_dir_kid("requests", FS_T_LK_REQUESTS, ctx->start_time);
        return fs_apply(ctx, path, k, 2, ctx->start_time);
    case FS_T_LK_REQUESTS:
        return fs_apply(ctx, path, NULL, 0, ctx->start_time);
    case FS_T_CTL:
        k[0] = fs_doc_kid(ctx, "status.json", FS_T_STATUS, NULL);
        return fs_apply(ctx, path, k, 1, ctx->start_time);
    default:
        return -ENOTDIR;
    }
}
