/* fuzz_path.c - libFuzzer target for the path -> node parser of fs/
 * (fs_tree.h: fs_path_parse, fs_path_parent, fs_path_join,
 * fs_name_is_scratch, fs_day_parse). Paths come from the kernel, i.e.
 * from any local user.
 *
 * Invariants: a parsed path has NUL-terminated fields; any conversation /
 * recording / object id it yields passes fs_id_valid() and api_id_valid()
 * (the same rule: ids become URL path segments); the parent of a
 * canonical path (what the kernel sends: no empty component, no trailing
 * '/') parses, as the directory type the child names.
 */
#include "fuzz_util.h"

#include <errno.h>
#include <time.h>

#include "api_client.h"
#include "fs_tree.h"

static void check_id(const char *id, size_t n)
{
    FUZZ_CHECK(fuzz_terminated(id, n));
    if (*id)
        FUZZ_CHECK(fs_id_valid(id) && api_id_valid(id));
}

static void check_parsed(const struct fs_path *p)
{
    FUZZ_CHECK(p->type > FS_T_NONE && p->type < FS_T_COUNT);
    check_id(p->conv, sizeof p->conv);
    check_id(p->rec, sizeof p->rec);
    FUZZ_CHECK(fuzz_terminated(p->id, sizeof p->id));
    if (p->type != FS_T_OTHER && *p->id)
        FUZZ_CHECK(fs_id_valid(p->id));
    FUZZ_CHECK(fuzz_terminated(p->day, sizeof p->day));
    FUZZ_CHECK(fuzz_terminated(p->ext, sizeof p->ext));
    FUZZ_CHECK(fuzz_terminated(p->name, sizeof p->name));
    if (*p->day)
        FUZZ_CHECK(fs_day_parse(p->day, NULL));
}

static int canonical(const char *path)
{
    size_t n = strlen(path);

    return path[0] == '/' && !strstr(path, "//") &&
           (n == 1 || path[n - 1] != '/');
}

static void fuzz_parse(const char *path)
{
    struct fs_path p, q;
    char parent[4096], joined[4096];
    int rc;

    memset(&p, 0, sizeof p);
    rc = fs_path_parse(path, &p);
    FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -ENAMETOOLONG);
    if (rc)
        return;
    check_parsed(&p);
    if (canonical(path) && strcmp(path, "/") != 0 &&
        fs_path_parent(path, parent, sizeof parent) == 0) {
        memset(&q, 0, sizeof q);
        FUZZ_CHECK(fs_path_parse(parent, &q) == 0);
        FUZZ_CHECK(q.type == p.dir);
    }
    (void)fs_path_join(joined, sizeof joined, path, "x");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    time_t t;

    if (!s)
        return 0;
    fuzz_parse(s);
    for (int d = 0; d < FS_T_COUNT; d++)
        FUZZ_CHECK(fs_name_is_scratch((enum fs_type)d, s) >= 0);
    if (fs_day_parse(s, &t)) {
        char buf[16];
        fs_day_format(t, buf, sizeof buf);
        FUZZ_CHECK(!strcmp(buf, s));
    }
    free(s);
    return 0;
}
