/* fs_replace.c - `mv` from another filesystem onto a document.
 *
 * mv cannot rename across filesystems: it removes the target, then copies
 * the source into a new file of the same name. For a document that would
 * be a DELETE followed by a create — the document would come back under a
 * new id, or not at all, and without -o allow_delete the removal already
 * fails with EPERM. So when the process removing a document is mv, the
 * removal is held back: nothing is sent, the name disappears locally for
 * a short window, and a file created under that name within the window
 * opens the document itself (the copy is then an ordinary edit, validated
 * and committed on close). If nothing is created, the document reappears.
 * `rm` and every other program get DESIGN.md's semantics unchanged. */
#include "fs_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HOLD_SECONDS 5

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fs_pid_is_mv(pid_t pid)
{
    char p[64], comm[32] = "";
    FILE *f;

    snprintf(p, sizeof p, "/proc/%ld/comm", (long)pid);
    f = fopen(p, "r");
    if (!f)
        return 0;
    if (!fgets(comm, sizeof comm, f))
        comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    return strcmp(comm, "mv") == 0;
}

/* The slot holding path, or NULL. Called with ctx->lock held. */
static struct fs_held *find(struct fs_ctx *ctx, const char *path, double t)
{
    for (size_t i = 0; i < FS_HELD_MAX; i++) {
        struct fs_held *h = &ctx->held[i];

        if (h->path[0] && h->until > t && strcmp(h->path, path) == 0)
            return h;
    }
    return NULL;
}

int fs_replace_hold(struct fs_ctx *ctx, const char *path)
{
    double t = now_s();
    struct fs_held *slot = NULL;

    if (strlen(path) >= sizeof ctx->held[0].path)
        return -ENAMETOOLONG;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < FS_HELD_MAX && !slot; i++) {
        if (!ctx->held[i].path[0] || ctx->held[i].until <= t)
            slot = &ctx->held[i];
    }
    if (slot) {
        strcpy(slot->path, path);
        slot->until = t + HOLD_SECONDS;
    }
    pthread_mutex_unlock(&ctx->lock);
    return slot ? 0 : -EBUSY;
}

int fs_replace_pending(struct fs_ctx *ctx, const char *path)
{
    int held;

    pthread_mutex_lock(&ctx->lock);
    held = find(ctx, path, now_s()) != NULL;
    pthread_mutex_unlock(&ctx->lock);
    return held;
}

int fs_replace_take(struct fs_ctx *ctx, const char *path)
{
    struct fs_held *h;

    pthread_mutex_lock(&ctx->lock);
    h = find(ctx, path, now_s());
    if (h)
        h->path[0] = '\0';
    pthread_mutex_unlock(&ctx->lock);
    return h != NULL;
}
