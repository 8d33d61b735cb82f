/* fs_scratch.c - scratch files: editor swap, backup and temp files that
 * live in the mount only (never uploaded), kept in the node table. */
#include "fs_nodes_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fs_scratch_create(struct fs_ctx *ctx, const char *path, mode_t mode)
{
    struct fs_node *n;
    int rc = 0;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_get(ctx, path);
    if (!n) {
        rc = -ENOMEM;
    } else if (n->mode && !n->scratch && fs_fresh(n->expires, time(NULL))) {
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
    n = fs_tab_find(ctx, path);
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
    n = fs_tab_find(ctx, path);
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
    n = fs_tab_find(ctx, path);
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
    n = fs_tab_find(ctx, path);
    if (n && n->scratch) {
        fs_tab_remove(ctx, path);
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
    a = fs_tab_find(ctx, from);
    b = fs_tab_get(ctx, to);
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
        fs_tab_remove(ctx, from);
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

void fs_scratch_ghost(struct fs_ctx *ctx, const char *path, int seconds)
{
    struct fs_node *n;

    pthread_mutex_lock(&ctx->lock);
    n = fs_tab_find(ctx, path);
    if (n && n->scratch) {
        n->scratch = 0;
        n->type = FS_T_OTHER;
        n->mode = S_IFREG | 0444;
        n->size = 0;
        n->expires = time(NULL) + seconds;
    }
    pthread_mutex_unlock(&ctx->lock);
}
