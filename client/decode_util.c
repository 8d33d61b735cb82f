/* decode_util.c - parsing, comparing and printing helpers of the JSON
 * layer (see decode_int.h). */
#include "decode_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum api_rc dec_fail(struct api_error *err, enum api_rc rc,
                     const char *field, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->rc != API_OK)
        return rc;
    err->rc = rc;
    if (field)
        snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                            */

int dec_too_deep(const json_t *v, int max)
{
    const char *key;
    json_t *m;
    size_t i;

    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (max <= 0)
        return 1;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, m)
            if (dec_too_deep(m, max - 1))
                return 1;
        return 0;
    }
    json_array_foreach(v, i, m)
        if (dec_too_deep(m, max - 1))
            return 1;
    return 0;
}

/* jansson's text ends in " near '<token>'"; the token may be part of a
 * secret (an apiKey), so the message keeps only what precedes it. */
static void jerr_text(const json_error_t *jerr, char *buf, size_t n)
{
    char *near;

    snprintf(buf, n, "%s", jerr->text);
    near = strstr(buf, " near ");
    if (near)
        *near = '\0';
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", s[i]) || !s[i])
            return 0;
    return 1;
}

enum api_rc dec_load(const char *buf, size_t len, int user, json_t **out,
                     struct api_error *err)
{
    enum api_rc bad = user ? API_EINVAL : API_EPROTO;
    json_error_t jerr;
    char text[JSON_ERROR_TEXT_LENGTH];
    json_t *v;

    *out = NULL;
    if (!buf)
        return dec_fail(err, bad, NULL, "no document");
    if (user && len > DEC_MAX_TEXT)
        return dec_fail(err, API_EINVAL, NULL,
                        "document too large (%zu bytes, max %d)", len,
                        DEC_MAX_TEXT);
    if (user && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    if (user && blank(buf, len))
        return dec_fail(err, API_EINVAL, NULL, "empty document");
    /* User text may be any JSON value, so that "5" is reported as "not a
     * JSON object" by the caller rather than as a syntax error. */
    v = json_loadb(buf, len,
                   user ? JSON_REJECT_DUPLICATES | JSON_DECODE_ANY : 0,
                   &jerr);
    if (!v) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return dec_fail(err, API_ENOMEM, NULL, "out of memory");
        if (json_error_code(&jerr) == json_error_stack_overflow)
            return dec_fail(err, bad, NULL,
                            "JSON nested deeper than %d levels",
                            DEC_MAX_DEPTH);
        jerr_text(&jerr, text, sizeof(text));
        return dec_fail(err, bad, NULL, "invalid JSON at line %d: %s",
                        jerr.line, text);
    }
    if (dec_too_deep(v, DEC_MAX_DEPTH)) {
        json_decref(v);
        return dec_fail(err, bad, NULL, "JSON nested deeper than %d levels",
                        DEC_MAX_DEPTH);
    }
    *out = v;
    return API_OK;
}

/* ------------------------------------------------------------------ */
/* Volatile fields                                                    */

int dec_is_presigned(const char *s)
{
    const char *q = strchr(s, '?');

    if (!q)
        return 0;
    return strstr(q, "Signature=") || strstr(q, "X-Amz-") ||
           strstr(q, "?sig=") || strstr(q, "&sig=");
}

static int is_volatile_member(const char *key, const json_t *v)
{
    if (!strcmp(key, "mediaUris") || !strcmp(key, "contentLocationUri"))
        return 1;
    return json_is_string(v) && dec_is_presigned(json_string_value(v));
}

void dec_strip_volatile(json_t *v)
{
    const char *key;
    json_t *m;
    void *tmp;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach_safe(v, tmp, key, m) {
            if (is_volatile_member(key, m))
                json_object_del(v, key);
            else
                dec_strip_volatile(m);
        }
    } else if (json_is_array(v)) {
        for (i = json_array_size(v); i-- > 0;) {
            m = json_array_get(v, i);
            if (json_is_string(m) && dec_is_presigned(json_string_value(m)))
                json_array_remove(v, i);
            else
                dec_strip_volatile(m);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Equality                                                           */

static bool number_equal(const json_t *a, const json_t *b)
{
    double x, y;

    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    x = json_number_value(a);
    y = json_number_value(b);
    if (x == y)
        return true;
    return fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y));
}

static bool object_equal(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *m;

    if (json_object_size(a) != json_object_size(b))
        return false;
    json_object_foreach((json_t *)a, key, m) {
        const json_t *n = json_object_get(b, key);
        if (!n || !dec_equal(m, n))
            return false;
    }
    return true;
}

bool dec_equal(const json_t *a, const json_t *b)
{
    size_t i;

    if (json_is_number(a) && json_is_number(b))
        return number_equal(a, b);
    if (!a || !b || json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        return object_equal(a, b);
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (i = 0; i < json_array_size(a); i++)
            if (!dec_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               !memcmp(json_string_value(a), json_string_value(b),
                       json_string_length(a));
    default:
        return true; /* true, false, null */
    }
}

/* ------------------------------------------------------------------ */
/* Output                                                             */

/* Growable output buffer, malloc-owned so callers free() the result
 * whatever allocator jansson was given. */
struct dbuf {
    char *p;
    size_t len, cap;
    int failed;
};

static int dbuf_put(const char *s, size_t n, void *data)
{
    struct dbuf *b = data;
    size_t cap;
    char *p;

    if (b->failed || n > DEC_MAX_OUT - b->len - 2)
        goto fail;
    if (b->len + n + 2 > b->cap) {
        cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 2)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
            goto fail;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

static char *dump(const json_t *v, size_t flags, int newline, size_t *len)
{
    struct dbuf b = {0};

    if (json_dump_callback(v, dbuf_put, &b, flags) != 0 || b.failed ||
        dbuf_put("", 0, &b) != 0) {
        free(b.p);
        return NULL;
    }
    if (newline)
        b.p[b.len++] = '\n';
    b.p[b.len] = '\0';
    if (len)
        *len = b.len;
    return b.p;
}

/* 15 significant digits print 0.85 as "0.85" rather than
 * "0.84999999999999998"; dec_equal's tolerance absorbs the rounding. */
char *dec_pretty(const json_t *v, size_t *len)
{
    return dump(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                   JSON_REAL_PRECISION(15), 1, len);
}

char *dec_compact(const json_t *v)
{
    return dump(v, JSON_COMPACT | JSON_PRESERVE_ORDER |
                   JSON_REAL_PRECISION(17), 0, NULL);
}

char *dec_strdup_member(const json_t *obj, const char *key, int *oom)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

/* ------------------------------------------------------------------ */
/* Dates                                                              */

/* Exactly n digits at *p. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30,
                               31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* Zone suffix: "", "Z", "+HH:MM", "+HHMM", "+HH". Seconds east of UTC. */
static int parse_zone(const char *p, int require, long *off)
{
    int sign, hh, mm = 0;

    *off = 0;
    if (!*p)
        return require ? -1 : 0;
    if ((*p == 'Z' || *p == 'z') && !p[1])
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    sign = *p++ == '-' ? -1 : 1;
    if (digits(&p, 2, &hh))
        return -1;
    if (*p == ':')
        p++;
    if (*p && digits(&p, 2, &mm))
        return -1;
    if (*p || hh > 23 || mm > 59)
        return -1;
    *off = sign * (hh * 3600L + mm * 60L);
    return 0;
}

/* Fraction after '.' or ','; keeps milliseconds, ignores further digits. */
static int parse_frac(const char **p, int *ms)
{
    int n = 0, v = 0;

    *ms = 0;
    if (**p != '.' && **p != ',')
        return 0;
    (*p)++;
    while (**p >= '0' && **p <= '9' && n < 18) {
        if (n < 3)
            v = v * 10 + (**p - '0');
        n++;
        (*p)++;
    }
    if (n == 0)
        return -1;
    for (int i = n; i < 3; i++)
        v *= 10;
    *ms = v;
    return 0;
}

int dec_parse_time(const char *s, int require_zone, time_t *t, int *ms)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, frac;
    const char *p = s;
    long off;

    if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
        *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if ((*p != 'T' && *p != 't' && *p != ' ') || !*p++)
        return -1;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
        *p++ != ':' || digits(&p, 2, &sec) || parse_frac(&p, &frac) ||
        parse_zone(p, require_zone, &off))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *t = timegm(&tm) - off;
    if (ms)
        *ms = frac;
    return 0;
}

time_t dec_time_member(const json_t *obj, const char *key)
{
    time_t t;

    if (dec_parse_time(json_string_value(json_object_get(obj, key)), 0, &t,
                       NULL) != 0)
        return 0;
    return t;
}
