/* decode_flatten.c - api_json_flatten (see api_client.h): a JSON object
 * as "path<TAB>value" lines, so fs/ can show a status document without a
 * JSON parser of its own. */
#include "decode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_MAX_IN (1024 * 1024)
#define FLAT_MAX_OUT (4 * 1024 * 1024)
#define FLAT_PATH_MAX 512

struct flat_buf {
    char *p;
    size_t len, cap;
    int err; /* API_ENOMEM / API_EPROTO once something failed */
};

static void flat_put(struct flat_buf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        char *np;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > FLAT_MAX_OUT) {
            b->err = API_EPROTO;
            return;
        }
        np = realloc(b->p, cap);
        if (!np) {
            b->err = API_ENOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* A string value or key part with control characters made spaces. */
static void flat_put_clean(struct flat_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if ((unsigned char)ch < 0x20)
            ch = ' ';
        flat_put(b, &ch, 1);
    }
}

static void flat_scalar(struct flat_buf *b, const json_t *v)
{
    char num[64];

    if (json_is_string(v))
        flat_put_clean(b, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v))
        flat_put(b, num, (size_t)snprintf(num, sizeof num, "%lld",
                                          (long long)json_integer_value(v)));
    else if (json_is_real(v))
        flat_put(b, num, (size_t)snprintf(num, sizeof num, "%.17g",
                                          json_real_value(v)));
    else if (json_is_true(v))
        flat_put(b, "true", 4);
    else if (json_is_false(v))
        flat_put(b, "false", 5);
    else
        flat_put(b, "null", 4);
}

static void flat_value(struct flat_buf *b, const char *path, const json_t *v,
                       int depth);

static void flat_child(struct flat_buf *b, const char *path, const char *key,
                       const json_t *v, int depth)
{
    char sub[FLAT_PATH_MAX];
    int w = snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);

    if (w < 0 || (size_t)w >= sizeof sub) {
        b->err = API_EPROTO;
        return;
    }
    flat_value(b, sub, v, depth + 1);
}

static void flat_value(struct flat_buf *b, const char *path, const json_t *v,
                       int depth)
{
    const char *key;
    json_t *child;
    size_t i;

    if (depth > DEC_MAX_DEPTH) {
        b->err = API_EPROTO;
        return;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child)
            flat_child(b, path, key, child, depth);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child) {
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            flat_child(b, path, idx, child, depth);
        }
    } else {
        flat_put_clean(b, path, strlen(path));
        flat_put(b, "\t", 1);
        flat_scalar(b, v);
        flat_put(b, "\n", 1);
    }
}

enum api_rc api_json_flatten(const char *json, size_t len, char **out)
{
    struct flat_buf b = {0};
    json_error_t jerr;
    json_t *root;

    *out = NULL;
    if (!json || len > FLAT_MAX_IN)
        return API_EPROTO;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return API_EPROTO;
    }
    flat_put(&b, "", 0);
    flat_value(&b, "", root, 0);
    json_decref(root);
    if (b.err) {
        free(b.p);
        return (enum api_rc)b.err;
    }
    *out = b.p;
    return API_OK;
}
