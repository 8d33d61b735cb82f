/* fs_edit.c - the write side (DESIGN.md §3): documents committed on
 * flush, creations (POST) and deletions, through the client's generic
 * document layer. Validation happens in the client without network I/O
 * (api_doc_check_update) so bad input never reaches the server. */
#include "fs_int.h"
#include "fs_read.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The document ref of path; 0 or -EPERM when it is not editable. */
static int doc_ref(const struct fs_path *p, struct api_ref *ref)
{
    memset(ref, 0, sizeof *ref);
    switch (p->type) {
    case FS_T_REC_META:
        *ref = (struct api_ref){API_KIND_RECORDING, p->conv, NULL, p->rec};
        return 0;
    case FS_T_ANN:
        *ref = (struct api_ref){API_KIND_ANNOTATION, p->conv, p->rec, p->id};
        return 0;
    case FS_T_UREC_META:
        *ref = (struct api_ref){API_KIND_USER_RECORDING, NULL, NULL, p->rec};
        return 0;
    case FS_T_ORPHAN_META:
        *ref = (struct api_ref){API_KIND_ORPHAN, NULL, NULL, p->rec};
        return 0;
    case FS_T_POLICY:
        *ref = (struct api_ref){API_KIND_POLICY, NULL, NULL, p->id};
        return 0;
    case FS_T_SETTINGS:
        ref->kind = API_KIND_SETTINGS;
        return 0;
    case FS_T_ROTATION:
        ref->kind = API_KIND_ROTATION_SCHEDULE;
        return 0;
    case FS_T_LK_SETTING:
        *ref = (struct api_ref){API_KIND_LOCALKEY_SETTINGS, NULL, NULL, p->id};
        return 0;
    case FS_T_SCREEN:
        *ref = (struct api_ref){API_KIND_SCREEN_SESSION, NULL, NULL, p->id};
        return 0;
    default:
        return -EPERM;
    }
}

/* Local validation failure: log, remember, -EINVAL (or the rc's errno). */
static int refuse(struct fs_ctx *ctx, const char *path,
                  const struct api_error *err)
{
    char msg[FS_ERR_MAX + 64];
    int e = api_error_to_errno(err);

    api_error_str(err, msg, sizeof msg);
    log_warn("edit of %s refused: %s%s%s", path, msg,
             err->field[0] ? " field=" : "", err->field);
    fs_node_set_error(ctx, path, msg);
    return -(e ? e : EINVAL);
}

static void after_orphan_update(struct fs_ctx *ctx, const struct fs_path *p,
                                const struct api_entry *rec)
{
    char dir[PATH_MAX];

    snprintf(dir, sizeof dir, "/orphanrecordings/%s", p->rec);
    fs_node_drop(ctx, dir);
    fs_dir_invalidate(ctx, "/orphanrecordings");
    fs_inval_entry_queue("/orphanrecordings", p->rec); /* it is gone */
    if (rec->conversation_id) {
        snprintf(dir, sizeof dir, "/conversations/%s", rec->conversation_id);
        fs_dir_invalidate(ctx, dir);
    }
}

int fs_edit_commit(struct fs_ctx *ctx, const char *path, const char *base,
                   const char *text, size_t len)
{
    struct api_error err = {0};
    struct api_entry out = {0};
    struct api_ref ref;
    struct fs_path p;
    int changed = 0, rc;

    if (ctx->opts.ro)
        return -EROFS;
    rc = fs_path_parse(path, &p);
    if (!rc)
        rc = doc_ref(&p, &ref);
    if (rc)
        return rc;
    if (len > FS_DOC_MAX)
        return -EFBIG;
    if (api_doc_check_update(ref.kind, base, text, len, &changed, &err))
        return refuse(ctx, path, &err);
    if (!changed)
        return 0;
    if (api_doc_update(ctx->client, &ref, base, text, len, &out, &err))
        return fs_fail(ctx, path, "update", &err);
    fs_node_set_error(ctx, path, NULL);
    if (p.type == FS_T_ORPHAN_META)
        after_orphan_update(ctx, &p, &out);
    else if (p.type == FS_T_SCREEN) {
        /* a stopped session may leave the listing */
        fs_dir_invalidate(ctx, "/screensessions");
        fs_inval_entry_queue("/screensessions", strrchr(path, '/') + 1);
    }
    if (p.type != FS_T_ORPHAN_META)
        rc = fs_node_put_doc(ctx, path, &out);
    log_info("updated %s", path);
    api_entry_clear(&out);
    return rc;
}

static int create_ref(const struct fs_path *p, struct api_ref *ref)
{
    memset(ref, 0, sizeof *ref);
    switch (p->dir) {
    case FS_T_ANNS:
        ref->kind = API_KIND_ANNOTATION;
        ref->conversation_id = p->conv;
        ref->recording_id = p->rec;
        return 0;
    case FS_T_POLICIES: ref->kind = API_KIND_POLICY; return 0;
    case FS_T_LK_SETTINGS: ref->kind = API_KIND_LOCALKEY_SETTINGS; return 0;
    case FS_T_LK_REQUESTS: ref->kind = API_KIND_LOCALKEY_REQUEST; return 0;
    case FS_T_KEYS: ref->kind = API_KIND_KEY; return 0;
    default: return -EPERM;
    }
}

int fs_edit_create(struct fs_ctx *ctx, const char *path, const char *text,
                   size_t len)
{
    struct api_error err = {0};
    struct api_entry out = {0};
    char dir[PATH_MAX], doc[PATH_MAX], name[FS_ID_MAX + 8];
    struct api_ref ref;
    struct fs_path p;
    int rc;

    if (ctx->opts.ro)
        return -EROFS;
    rc = fs_path_parse(path, &p);
    if (!rc)
        rc = create_ref(&p, &ref);
    if (rc)
        return rc;
    if (len > FS_DOC_MAX)
        return -EFBIG;
    if (api_doc_create(ctx->client, &ref, text, len, &out, &err)) {
        if (err.http_status == 0 && err.rc != API_ETRANSPORT &&
            err.rc != API_ETIMEOUT)
            return refuse(ctx, path, &err);
        rc = fs_fail(ctx, path, "create", &err);
        /* The API answers a duplicate name with 400 ...duplicate... */
        return strstr(err.api_code, "duplicate") ? -EEXIST : rc;
    }
    fs_path_parent(path, dir, sizeof dir);
    if (p.dir == FS_T_LK_REQUESTS || p.dir == FS_T_KEYS)
        snprintf(dir, sizeof dir, "/keys");
    snprintf(name, sizeof name, "%s.json", out.id ? out.id : "new");
    rc = fs_path_join(doc, sizeof doc, dir, name);
    if (!rc && out.id)
        rc = fs_node_put_doc(ctx, doc, &out);
    fs_dir_invalidate(ctx, dir);
    log_info("created %s", doc);
    api_entry_clear(&out);
    return rc;
}

static int delete_ref(const struct fs_path *p, struct api_ref *ref)
{
    memset(ref, 0, sizeof *ref);
    switch (p->type) {
    case FS_T_ANN:
    case FS_T_POLICY:
        return doc_ref(p, ref);
    case FS_T_ORPHAN:
        *ref = (struct api_ref){API_KIND_ORPHAN, NULL, NULL, p->rec};
        return 0;
    case FS_T_UREC:
        *ref = (struct api_ref){API_KIND_USER_RECORDING, NULL, NULL, p->rec};
        return 0;
    default:
        return -EPERM;
    }
}

int fs_edit_delete(struct fs_ctx *ctx, const char *path)
{
    struct api_error err = {0};
    struct api_ref ref;
    struct fs_path p;
    char dir[PATH_MAX];
    int rc;

    if (ctx->opts.ro)
        return -EROFS;
    rc = fs_path_parse(path, &p);
    if (!rc)
        rc = delete_ref(&p, &ref);
    if (rc)
        return rc;
    if (!ctx->opts.allow_delete) {
        fs_node_set_error(ctx, path, "deleting needs -o allow_delete");
        return -EPERM;
    }
    if (api_doc_delete(ctx->client, &ref, &err))
        return fs_fail(ctx, path, "delete", &err);
    fs_node_drop(ctx, path);
    fs_path_parent(path, dir, sizeof dir);
    fs_dir_invalidate(ctx, dir);
    log_info("deleted %s", path);
    return 0;
}
