/* decode_scan.c - the fast path of listing pages: one pass over the text
 * that checks it and finds the entities, without building a jansson tree
 * (parsing 10,000 entries with jansson costs more CPU than fetching them).
 *
 * The scanner accepts a subset of what dec_load() accepts: whenever it is
 * not sure (an escape it would have to decode in a key or in a field the
 * entry needs, a \u0000 or a surrogate escape, an integer of more than 18
 * digits, a real that might overflow, nesting deeper than DEC_MAX_DEPTH,
 * anything invalid) it says so, and the caller takes the jansson path,
 * which gives the exact answer and error text. So a page it accepts
 * decodes to the same entries as through jansson: the fields an entry
 * needs are put into a small jansson object that the same code as for a
 * whole document (dec_entry_fields) reads.
 */
#include "decode_int.h"
#include "log.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sc {
    const unsigned char *p, *end;
    int depth;
};

#define SC_UNSURE (-1)

static void sc_ws(struct sc *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' ||
                             *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Length of the UTF-8 sequence at p (first byte >= 0x80) as jansson
 * accepts it (no overlong forms, no surrogates, <= U+10FFFF), 0 if bad. */
static size_t utf8_len(const unsigned char *p, const unsigned char *e)
{
    unsigned v, c = p[0];
    size_t n;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07u;
    } else {
        return 0;
    }
    if ((size_t)(e - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0u) != 0x80u)
            return 0;
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    if (n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)))
        return 0;
    if (n == 4 && (v < 0x10000 || v > 0x10FFFF))
        return 0;
    return n;
}

/* 1 for the bytes a string's fast loop must stop at. */
static unsigned char stop_tab[256];

static void stop_tab_init(void)
{
    for (int c = 0; c < 256; c++)
        stop_tab[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The first byte at or after p that stop_tab stops at (or e): eight
 * bytes at a time while none of them is a control character, '"', '\\'
 * or above 0x7f. */
static const unsigned char *plain_run(const unsigned char *p,
                                      const unsigned char *e)
{
    uint64_t x, q, b;

    while (e - p >= 8) {
        memcpy(&x, p, 8);
        q = x ^ (ONES * '"');
        b = x ^ (ONES * '\\');
        /* nonzero iff a byte is < 0x20, '"' (q has a zero byte), '\\'
         * (b has one) or >= 0x80: the byte loop below finds which */
        if ((((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
             ((b - ONES) & ~b) | x) & HIGHS)
            break;
        p += 8;
    }
    while (p < e && !stop_tab[*p])
        p++;
    return p;
}

/* A backslash escape at p (p[0] == '\\'): its length, 0 if unsure. */
static size_t escape_len(const unsigned char *p, const unsigned char *e)
{
    unsigned v = 0;

    if (e - p < 2)
        return 0;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
        return 2;
    case 'u':
        if (e - p < 6)
            return 0;
        for (int i = 2; i < 6; i++) {
            int h = hexval(p[i]);
            if (h < 0)
                return 0;
            v = v * 16 + (unsigned)h;
        }
        /* \u0000 and surrogates: jansson's rules, let it judge */
        return v == 0 || (v >= 0xD800 && v <= 0xDFFF) ? 0 : 6;
    default:
        return 0;
    }
}

/* The string at s->p ('"'): its bytes (undecoded) and whether it holds
 * an escape. */
static int sc_string(struct sc *s, const char **beg, size_t *len, int *esc)
{
    const unsigned char *p = s->p + 1, *e = s->end;
    size_t n;

    *esc = 0;
    *beg = (const char *)p;
    for (;;) {
        p = plain_run(p, e);
        if (p >= e)
            return SC_UNSURE;
        if (*p == '"')
            break;
        if (*p == '\\') {
            *esc = 1;
            n = escape_len(p, e);
        } else if (*p < 0x20) {
            n = 0; /* control character */
        } else {
            n = utf8_len(p, e);
        }
        if (!n)
            return SC_UNSURE;
        p += n;
    }
    *len = (size_t)(p - (const unsigned char *)*beg);
    s->p = p + 1;
    return 0;
}

static int is_digit(const unsigned char *p, const unsigned char *e)
{
    return p < e && *p >= '0' && *p <= '9';
}

/* The number at s->p. *is_int: an integer (value in *ival). */
static int sc_number(struct sc *s, int *is_int, long long *ival)
{
    const unsigned char *p = s->p, *e = s->end, *d0, *q;
    long long v = 0;
    int neg = 0;

    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    d0 = p;
    if (!is_digit(p, e))
        return SC_UNSURE;
    if (*p == '0') {
        p++;
        if (is_digit(p, e))
            return SC_UNSURE; /* leading zero */
    } else {
        while (is_digit(p, e))
            p++;
    }
    if (p >= e || (*p != '.' && *p != 'e' && *p != 'E')) {
        if (p - d0 > 18)
            return SC_UNSURE; /* might not fit jansson's json_int_t */
        for (q = d0; q < p; q++)
            v = v * 10 + (*q - '0');
        *ival = neg ? -v : v;
        *is_int = 1;
        s->p = p;
        return 0;
    }
    *is_int = 0;
    if (p - d0 > 20)
        return SC_UNSURE; /* might overflow */
    if (*p == '.') {
        q = ++p;
        while (is_digit(p, e))
            p++;
        if (p == q)
            return SC_UNSURE;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        q = p;
        while (is_digit(p, e))
            p++;
        if (p == q || p - q > 2)
            return SC_UNSURE; /* none, or an exponent that might overflow */
    }
    s->p = p;
    return 0;
}

static int sc_literal(struct sc *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n))
        return SC_UNSURE;
    s->p += n;
    return 0;
}

static int sc_value(struct sc *s);

/* Called with s->p at a member's value; must consume it. */
typedef int (*member_fn)(void *arg, const char *key, size_t klen, int kesc,
                         struct sc *s);
/* Called with s->p at an element; must consume it. */
typedef int (*elem_fn)(void *arg, struct sc *s);

/* After a member or an element: a ',' (1: another one follows) or the
 * closing bracket (0: done, depth restored); SC_UNSURE otherwise. */
static int sc_after(struct sc *s, unsigned char close)
{
    sc_ws(s);
    if (s->p >= s->end)
        return SC_UNSURE;
    if (*s->p == ',') {
        s->p++;
        sc_ws(s);
        return 1;
    }
    if (*s->p != close)
        return SC_UNSURE;
    s->p++;
    s->depth--;
    return 0;
}

static int sc_object_each(struct sc *s, member_fn fn, void *arg)
{
    const char *key;
    size_t klen;
    int kesc, rc;

    if (++s->depth > DEC_MAX_DEPTH)
        return SC_UNSURE;
    s->p++;
    sc_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"' ||
            sc_string(s, &key, &klen, &kesc))
            return SC_UNSURE;
        sc_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return SC_UNSURE;
        s->p++;
        sc_ws(s);
        if (fn(arg, key, klen, kesc, s))
            return SC_UNSURE;
        rc = sc_after(s, '}');
        if (rc != 1)
            return rc;
    }
}

static int sc_array_each(struct sc *s, elem_fn fn, void *arg)
{
    int rc;

    if (++s->depth > DEC_MAX_DEPTH)
        return SC_UNSURE;
    s->p++;
    sc_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (fn(arg, s))
            return SC_UNSURE;
        rc = sc_after(s, ']');
        if (rc != 1)
            return rc;
    }
}

static int skip_member(void *arg, const char *key, size_t klen, int kesc,
                       struct sc *s)
{
    (void)arg, (void)key, (void)klen, (void)kesc;
    return sc_value(s);
}

static int skip_elem(void *arg, struct sc *s)
{
    (void)arg;
    return sc_value(s);
}

static int sc_value(struct sc *s)
{
    const char *b;
    size_t n;
    int esc, is_int;
    long long v;

    if (s->p >= s->end)
        return SC_UNSURE;
    switch (*s->p) {
    case '{':
        return sc_object_each(s, skip_member, NULL);
    case '[':
        return sc_array_each(s, skip_elem, NULL);
    case '"':
        return sc_string(s, &b, &n, &esc);
    case 't':
        return sc_literal(s, "true", 4);
    case 'f':
        return sc_literal(s, "false", 5);
    case 'n':
        return sc_literal(s, "null", 4);
    default:
        return sc_number(s, &is_int, &v);
    }
}

/* A whole body: an object or array, then only whitespace. */
static int sc_document(struct sc *s, member_fn fn, elem_fn efn, void *arg)
{
    int rc;

    sc_ws(s);
    if (s->p >= s->end)
        return SC_UNSURE;
    if (*s->p == '{')
        rc = sc_object_each(s, fn, arg);
    else if (*s->p == '[')
        rc = sc_array_each(s, efn, arg);
    else
        return SC_UNSURE;
    if (rc)
        return rc;
    sc_ws(s);
    return s->p == s->end ? 0 : SC_UNSURE;
}

static void sc_init(struct sc *s, const char *buf, size_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, stop_tab_init);
    s->p = (const unsigned char *)buf;
    s->end = s->p + len;
    s->depth = 0;
}

int dec_scan_valid(const char *buf, size_t len)
{
    struct sc s;

    if (!buf)
        return 0;
    sc_init(&s, buf, len);
    return sc_document(&s, skip_member, skip_elem, NULL) == 0;
}

/* ------------------------------------------------------------------ */
/* Listing pages                                                      */

static int key_is(const char *key, size_t klen, const char *name)
{
    return strlen(name) == klen && !memcmp(key, name, klen);
}

/* Pass 1: the envelope. */
struct env {
    const unsigned char *arr; /* the entities array, NULL: none */
    size_t n;                 /* its elements */
    long long total;
    long long page_number, page_count; /* -1: absent or not an int */
    unsigned seen;            /* bits of the keys below */
};

enum { K_ENTITIES = 1, K_TOTAL = 2, K_PNUM = 4, K_PCOUNT = 8, K_PSIZE = 16 };

static int count_elem(void *arg, struct sc *s)
{
    ((struct env *)arg)->n++;
    return sc_value(s);
}

/* An integer member value; anything else is consumed and gives -1 (the
 * fields are read like json_is_integer() does). */
static int int_value(struct sc *s, long long *v)
{
    int is_int = 0;

    *v = -1;
    if (s->p < s->end && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
        if (sc_number(s, &is_int, v))
            return SC_UNSURE;
        if (!is_int)
            *v = -1;
        return 0;
    }
    return sc_value(s);
}

static int env_member(void *arg, const char *key, size_t klen, int kesc,
                      struct sc *s)
{
    static const struct {
        const char *name;
        unsigned bit;
    } keys[] = {{"entities", K_ENTITIES}, {"total", K_TOTAL},
                {"pageNumber", K_PNUM}, {"pageCount", K_PCOUNT},
                {"pageSize", K_PSIZE}};
    struct env *env = arg;
    unsigned bit = 0;

    if (s->depth != 1)
        return sc_value(s);
    if (kesc)
        return SC_UNSURE; /* might decode to one of ours */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !bit; i++)
        if (key_is(key, klen, keys[i].name))
            bit = keys[i].bit;
    if (!bit)
        return sc_value(s);
    if (env->seen & bit)
        return SC_UNSURE; /* duplicate: jansson keeps the last one */
    env->seen |= bit;
    switch (bit) {
    case K_ENTITIES:
        if (s->p < s->end && *s->p == '[') {
            env->arr = s->p;
            return sc_array_each(s, count_elem, env);
        }
        if (sc_literal(s, "null", 4) == 0)
            return 0;
        return SC_UNSURE; /* not an array: the jansson path words it */
    case K_TOTAL:
        return int_value(s, &env->total);
    case K_PNUM:
        return int_value(s, &env->page_number);
    case K_PCOUNT:
        return int_value(s, &env->page_count);
    default:
        return sc_value(s);
    }
}

static int env_elem(void *arg, struct sc *s)
{
    return count_elem(arg, s);
}

static long long int_or(long long v, int dflt)
{
    return v < 0 || v > INT32_MAX ? dflt : v;
}

/* Pass 2: the members of one entity the entry needs. */
struct want {
    const char *key;
    const struct want *sub; /* an object whose members sub are wanted */
    size_t len;             /* strlen(key) */
};
#define W(k, sub) {k, sub, sizeof(k) - 1}
#define W_END {NULL, NULL, 0}

#define WANT_MAX 12

static const struct want w_conv[] = {W("id", NULL), W_END};
static const struct want w_orphan_rec[] = {
    W("conversationId", NULL), W("startTime", NULL), W("endTime", NULL),
    W_END};
static const struct want w_recording[] = {
    W("id", NULL), W("name", NULL), W("conversationId", NULL),
    W("media", NULL), W("fileState", NULL), W("outputSizeInBytes", NULL),
    W("startTime", NULL), W("endTime", NULL), W("outputDurationMs", NULL),
    W_END};
static const struct want w_orphan[] = {
    W("id", NULL), W("name", NULL), W("recording", w_orphan_rec),
    W("mediaType", NULL), W("fileState", NULL), W("mediaSizeBytes", NULL),
    W("recoveredTime", NULL), W("createdTime", NULL), W_END};
static const struct want w_annotation[] = {
    W("id", NULL), W("name", NULL), W("durationMs", NULL), W_END};
static const struct want w_user_recording[] = {
    W("id", NULL), W("name", NULL), W("conversation", w_conv),
    W("contentLength", NULL), W("durationMilliseconds", NULL),
    W("dateModified", NULL), W("dateCreated", NULL), W_END};
static const struct want w_policy[] = {
    W("id", NULL), W("name", NULL), W("modifiedDate", NULL),
    W("createdDate", NULL), W_END};
static const struct want w_key[] = {
    W("id", NULL), W("name", NULL), W("createDate", NULL), W_END};
static const struct want w_screen[] = {
    W("id", NULL), W("name", NULL), W("conversation", w_conv),
    W("startTime", NULL), W_END};
static const struct want w_plain[] = {W("id", NULL), W("name", NULL),
                                      W_END};

/* The members dec_entry_fields reads for kind (keep in step with it; the
 * unit test test_scan_same_entries compares both paths for every kind),
 * NULL: no fast path. */
static const struct want *wanted(enum api_kind kind)
{
    switch (kind) {
    case API_KIND_RECORDING: return w_recording;
    case API_KIND_ORPHAN: return w_orphan;
    case API_KIND_ANNOTATION: return w_annotation;
    case API_KIND_USER_RECORDING: return w_user_recording;
    case API_KIND_POLICY: return w_policy;
    case API_KIND_KEY: return w_key;
    case API_KIND_SCREEN_SESSION: return w_screen;
    case API_KIND_LOCALKEY_SETTINGS: return w_plain;
    default: return NULL; /* analytics conversations read arrays */
    }
}

/* Builds the small object of the wanted members of one object. */
struct pick {
    const struct want *w;
    json_t *obj;   /* NULL on ENOMEM */
    unsigned seen; /* bit i: w[i] met */
    int unsure;    /* the jansson path must decode this entity */
    int oom;       /* an allocation failed */
    int depth;     /* s->depth of the object's members */
};

static int pick_member(void *arg, const char *key, size_t klen, int kesc,
                       struct sc *s);

/* The value of wanted member w at s->p -> a jansson value, or NULL when
 * unsure or out of memory (p->oom set). */
static json_t *pick_value(struct pick *p, const struct want *w, struct sc *s)
{
    const char *b;
    size_t n;
    int esc, is_int;
    long long iv;
    json_t *v;

    if (w->sub) {
        struct pick sub = {.w = w->sub, .depth = s->depth + 1};
        if (*s->p != '{')
            return NULL;
        if (!(sub.obj = json_object())) {
            p->oom = 1;
            return NULL;
        }
        if (sc_object_each(s, pick_member, &sub) || sub.unsure ||
            sub.oom) {
            p->oom |= sub.oom;
            json_decref(sub.obj);
            return NULL;
        }
        return sub.obj;
    }
    switch (*s->p) {
    case '"':
        if (sc_string(s, &b, &n, &esc) || esc)
            return NULL;
        v = json_stringn_nocheck(b, n);
        break;
    case 't':
        return sc_literal(s, "true", 4) ? NULL : json_true();
    case 'f':
        return sc_literal(s, "false", 5) ? NULL : json_false();
    case 'n':
        return sc_literal(s, "null", 4) ? NULL : json_null();
    case '{':
    case '[':
        return NULL;
    default:
        if (sc_number(s, &is_int, &iv) || !is_int)
            return NULL;
        v = json_integer(iv);
        break;
    }
    if (!v)
        p->oom = 1;
    return v;
}

static int pick_member(void *arg, const char *key, size_t klen, int kesc,
                       struct sc *s)
{
    struct pick *p = arg;
    struct sc s0 = *s;
    json_t *v;
    size_t i;

    if (s->depth != p->depth || p->unsure || p->oom)
        return sc_value(s);
    if (kesc) {
        p->unsure = 1; /* might decode to a wanted key */
        return sc_value(s);
    }
    for (i = 0; p->w[i].key && (p->w[i].len != klen ||
                                memcmp(key, p->w[i].key, klen));
         i++)
        ;
    if (!p->w[i].key)
        return sc_value(s);
    if (p->seen & (1u << i)) {
        p->unsure = 1; /* duplicate: jansson keeps the last */
        return sc_value(s);
    }
    p->seen |= 1u << i;
    v = pick_value(p, &p->w[i], s);
    if (v && json_object_set_new_nocheck(p->obj, p->w[i].key, v))
        p->oom = 1;
    else if (!v && !p->oom)
        p->unsure = 1;
    if (!v || p->oom) {
        *s = s0;
        return sc_value(s);
    }
    return 0;
}

/* Pass 2 state. */
struct ents {
    enum api_kind kind;
    const struct want *w;
    struct api_list *out;
    struct api_error *err;
    size_t index;
    enum api_rc rc; /* API_ENOMEM stops */
};

static int ent_elem(void *arg, struct sc *s)
{
    struct ents *st = arg;
    const unsigned char *e0 = s->p;
    struct pick p = {.w = st->w, .depth = s->depth + 1};
    json_t *d = NULL;
    json_error_t jerr;
    enum api_rc rc;

    if (*e0 == '{') {
        p.obj = json_object();
        p.oom = !p.obj;
        if (sc_object_each(s, pick_member, &p)) {
            json_decref(p.obj);
            return SC_UNSURE;
        }
        if (!p.unsure && !p.oom)
            d = p.obj;
        else
            json_decref(p.obj);
    } else if (sc_value(s)) {
        return SC_UNSURE;
    }
    if (p.oom) {
        st->rc = dec_fail(st->err, API_ENOMEM, NULL, "out of memory");
        return SC_UNSURE;
    }
    if (!d) {
        /* not an object, or not sure: jansson reads this entity (a
         * failure other than memory would be a scanner bug: then the
         * whole page goes to jansson) */
        d = json_loadb((const char *)e0, (size_t)(s->p - e0), 0, &jerr);
        if (!d && json_error_code(&jerr) == json_error_out_of_memory)
            st->rc = dec_fail(st->err, API_ENOMEM, NULL, "out of memory");
        if (!d)
            return SC_UNSURE;
    }
    rc = dec_list_entity(st->kind, d, (const char *)e0, (size_t)(s->p - e0),
                         st->index++, st->out, st->err);
    json_decref(d);
    if (rc != API_OK) {
        st->rc = rc;
        return SC_UNSURE;
    }
    return 0;
}

int dec_scan_list(enum api_kind kind, const char *body, size_t len,
                  struct api_list *out, size_t max_entries,
                  struct dec_page *page, enum api_rc *rc,
                  struct api_error *err)
{
    struct env env = {.total = -1, .page_number = -1, .page_count = -1};
    struct ents st = {.kind = kind, .w = wanted(kind), .out = out,
                      .err = err};
    struct api_entry *v;
    struct sc s;
    int bare;

    *rc = API_OK;
    if (!st.w || !body)
        return 0;
    sc_init(&s, body, len);
    sc_ws(&s);
    bare = s.p < s.end && *s.p == '[';
    if (bare)
        env.arr = s.p;
    if (sc_document(&s, env_member, env_elem, &env))
        return 0;
    page->n_entities = env.n;
    if (bare) {
        page->page_count = 1;
        page->total = -1;
        page->page_number = 0;
    } else {
        page->total = env.total >= 0 ? env.total : -1;
        page->page_number = (int)int_or(env.page_number, 0);
        page->page_count = (int)int_or(env.page_count,
                                       (env.seen & K_PSIZE) ? 0 : 1);
    }
    if (env.n > max_entries || out->n > max_entries - env.n) {
        *rc = dec_fail(err, API_EPROTO, NULL, "listing exceeds %zu entries",
                       max_entries);
        return 1;
    }
    if (env.n == 0)
        return 1;
    v = realloc(out->v, (out->n + env.n) * sizeof(*v));
    if (!v) {
        *rc = dec_fail(err, API_ENOMEM, NULL, "out of memory");
        return 1;
    }
    out->v = v;
    sc_init(&s, (const char *)env.arr,
            (size_t)((const unsigned char *)body + len - env.arr));
    s.depth = bare ? 0 : 1;
    if (sc_array_each(&s, ent_elem, &st)) {
        *rc = st.rc;
        return st.rc != API_OK;
    }
    return 1;
}
