/* api_client.c - configuration, regions, lifecycle, errors (the ONE
 * status->errno table), the retry policy, the clock, and small value
 * helpers (formats, ids, kinds). */
#include "client_int.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Errors                                                             */

int api_error_to_errno(const struct api_error *err)
{
    if (!err || err->rc == API_OK)
        return 0;
    switch (err->rc) {
    case API_EHTTP:
        switch (err->http_status) {
        case 400:
            return EINVAL;
        case 401:
        case 403:
            return EACCES;
        case 404:
        case 410:
            return ENOENT;
        case 409:
            return EEXIST;
        case 412:
            return ESTALE;
        case 413:
            return EFBIG;
        default:
            return EIO; /* 429/5xx after retries, anything else */
        }
    case API_ETIMEOUT:
        return ETIMEDOUT;
    case API_ENOTREADY:
        return EAGAIN;
    case API_ESTALE:
        return ESTALE;
    case API_EINVAL:
        return EINVAL;
    case API_EPERM:
        return EPERM;
    case API_ENOMEM:
        return ENOMEM;
    default:
        return EIO;
    }
}

static const char *rc_name(enum api_rc rc)
{
    static const char *const names[] = {
        "ok",        "out of memory", "invalid",   "transport error",
        "timeout",   "HTTP",          "protocol error", "not ready",
        "changed",   "stale",         "not permitted",
    };
    if ((unsigned)rc < sizeof(names) / sizeof(names[0]))
        return names[rc];
    return "error";
}

const char *api_error_str(const struct api_error *err, char *buf, size_t n)
{
    int f;

    if (!err || err->rc == API_OK) {
        snprintf(buf, n, "ok");
        return buf;
    }
    if (err->rc == API_EHTTP) {
        snprintf(buf, n, "HTTP %ld %s%s%s", err->http_status,
                 err->api_code[0] ? err->api_code : "error",
                 err->message[0] ? ": " : "", err->message);
        return buf;
    }
    f = err->field[0] != '\0';
    snprintf(buf, n, "%s%s%s%s%s%s", rc_name(err->rc), f ? " (" : "",
             err->field, f ? ")" : "", err->message[0] ? ": " : "",
             err->message);
    return buf;
}

void api_error_clear(struct api_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

static void error_vset(struct api_error *err, enum api_rc rc, long status,
                       const char *fmt, va_list ap)
{
    if (!err || err->rc != API_OK)
        return;
    err->rc = rc;
    err->http_status = status;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

void api_error_set(struct api_error *err, enum api_rc rc, long status,
                   const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(err, rc, status, fmt, ap);
    va_end(ap);
}

enum api_rc api_fail(struct api_error *err, enum api_rc rc,
                     const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vset(err, rc, 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Retry policy (pure)                                                */

static long backoff_ms(int attempt, uint32_t rand)
{
    long d = API_BACKOFF_BASE_MS;

    for (int i = 0; i < attempt && d < API_BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > API_BACKOFF_CAP_MS)
        d = API_BACKOFF_CAP_MS;
    /* "equal jitter": at least half the step, never synchronised */
    return d / 2 + (long)(rand % (uint32_t)(d / 2 + 1));
}

static int retryable(const struct api_retry_in *in)
{
    switch (in->result) {
    case HTTP_OK:
        if (in->status == 429)
            return 1;
        return in->idempotent && in->status >= 500 && in->status != 501 &&
               in->status <= 599;
    case HTTP_ECONNECT:
        return 1; /* nothing reached the server */
    case HTTP_ETRANSPORT:
    case HTTP_ETIMEOUT:
        return in->idempotent;
    default:
        return 0;
    }
}

long api_retry_delay(const struct api_retry_in *in)
{
    long d;

    if (in->attempt >= in->max_retries || in->remaining_ms <= 0 ||
        !retryable(in))
        return -1;
    d = backoff_ms(in->attempt, in->rand);
    if (in->result == HTTP_OK && in->status == 429 && in->retry_after_s > 0)
        d = in->retry_after_s * 1000;
    if (d >= in->remaining_ms)
        return -1;
    return d;
}

/* ------------------------------------------------------------------ */
/* URLs                                                               */

struct origin {
    char scheme[8];
    char host[256];
    long port;
};

/* Parse scheme://host[:port] of url; -1 if not http(s) or has userinfo. */
static int origin_parse(const char *url, struct origin *o)
{
    const char *p = strstr(url, "://"), *h, *end;
    size_t n;

    if (!p || (size_t)(p - url) >= sizeof(o->scheme))
        return -1;
    n = (size_t)(p - url);
    for (size_t i = 0; i < n; i++)
        o->scheme[i] = (char)tolower((unsigned char)url[i]);
    o->scheme[n] = '\0';
    if (strcmp(o->scheme, "https") != 0 && strcmp(o->scheme, "http") != 0)
        return -1;
    h = p + 3;
    end = h + strcspn(h, "/?#");
    if (memchr(h, '@', (size_t)(end - h)))
        return -1;
    const char *colon = NULL;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb)
            return -1;
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
    }
    n = (size_t)((colon ? colon : end) - h);
    if (n == 0 || n >= sizeof(o->host))
        return -1;
    for (size_t i = 0; i < n; i++)
        o->host[i] = (char)tolower((unsigned char)h[i]);
    o->host[n] = '\0';
    o->port = strcmp(o->scheme, "https") == 0 ? 443 : 80;
    if (colon && colon + 1 < end) {
        char *e;
        o->port = strtol(colon + 1, &e, 10);
        if (e != end || o->port <= 0 || o->port > 65535)
            return -1;
    }
    return 0;
}

int api_same_origin(const char *a, const char *b)
{
    struct origin oa, ob;

    if (origin_parse(a, &oa) != 0 || origin_parse(b, &ob) != 0)
        return 0;
    return strcmp(oa.scheme, ob.scheme) == 0 &&
           strcmp(oa.host, ob.host) == 0 && oa.port == ob.port;
}

int api_url_is_loopback(const char *url)
{
    struct origin o;

    if (origin_parse(url, &o) != 0)
        return 0;
    if (strcmp(o.host, "localhost") == 0 || strcmp(o.host, "[::1]") == 0)
        return 1;
    /* strict dotted quad: "0127.0.0.1" (octal to the resolver, i.e.
     * 87.0.0.1) or "127.0.0.1x" must not pass for loopback */
    struct in_addr a4;
    return inet_pton(AF_INET, o.host, &a4) == 1 &&
           (ntohl(a4.s_addr) >> 24) == 127;
}

static const char *const regions[] = {
    "mypurecloud.com",  "mypurecloud.ie",   "mypurecloud.de",
    "mypurecloud.jp",   "mypurecloud.com.au", "usw2.pure.cloud",
    "cac1.pure.cloud",  "apne2.pure.cloud", "euw2.pure.cloud",
    "aps1.pure.cloud",  "sae1.pure.cloud",  "mec1.pure.cloud",
    "apne3.pure.cloud", "euc2.pure.cloud",  "use2.us-gov-pure.cloud",
};

const char *api_region_api_url(const char *env, char *buf, size_t n)
{
    for (size_t i = 0; env && i < sizeof(regions) / sizeof(regions[0]); i++) {
        if (strcasecmp(env, regions[i]) == 0) {
            snprintf(buf, n, "https://api.%s", regions[i]);
            return buf;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Values                                                             */

int api_id_valid(const char *s)
{
    size_t n;

    if (!s)
        return 0;
    n = strlen(s);
    if (n == 0 || n > 128 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
            return 0;
    }
    return 1;
}

const char *api_kind_name(enum api_kind kind)
{
    static const char *const names[API_KIND_COUNT] = {
        "recording",        "annotation",      "userrecording",
        "orphan",           "policy",          "settings",
        "key",              "rotationschedule", "localkeysettings",
        "localkeyrequest",  "screensession",   "faxsummary",
        "conversation",
    };
    if ((unsigned)kind < API_KIND_COUNT)
        return names[kind];
    return "unknown";
}

static const char *const format_names[API_FORMAT_COUNT] = {
    "WEBM", "WAV", "WAV_ULAW", "OGG_VORBIS", "OGG_OPUS", "MP3", "NONE",
};
static const char *const format_exts[API_FORMAT_COUNT] = {
    "webm", "wav", "ulaw.wav", "ogg", "opus", "mp3", NULL,
};

const char *api_format_name(enum api_format f)
{
    return (unsigned)f < API_FORMAT_COUNT ? format_names[f] : "NONE";
}

const char *api_format_ext(enum api_format f)
{
    return (unsigned)f < API_FORMAT_COUNT ? format_exts[f] : NULL;
}

int api_format_parse(const char *name, enum api_format *out)
{
    for (int i = 0; name && i < API_FORMAT_COUNT; i++) {
        if (strcasecmp(name, format_names[i]) == 0) {
            *out = (enum api_format)i;
            return 0;
        }
    }
    return -1;
}

int api_format_from_media_name(const char *name, enum api_format *out)
{
    if (!name || strncmp(name, "media.", 6) != 0)
        return -1;
    for (int i = 0; i < API_FORMAT_COUNT; i++) {
        if (format_exts[i] && strcmp(name + 6, format_exts[i]) == 0) {
            *out = (enum api_format)i;
            return 0;
        }
    }
    return -1;
}

const char *api_ext_from_content_type(const char *content_type)
{
    static const struct {
        const char *type, *ext;
    } map[] = {
        {"audio/webm", "webm"}, {"video/webm", "webm"}, {"audio/wav", "wav"},
        {"audio/x-wav", "wav"}, {"audio/wave", "wav"},  {"audio/vnd.wave", "wav"},
        {"audio/ogg", "ogg"},   {"audio/opus", "opus"}, {"audio/mpeg", "mp3"},
        {"audio/mp3", "mp3"},   {"video/mp4", "mp4"},   {"audio/mp4", "m4a"},
        {"application/zip", "zip"}, {"message/rfc822", "eml"},
        {"application/json", "json"},
    };
    const char *ct = content_type;
    size_t n;

    if (!ct)
        return "bin";
    n = strcspn(ct, "; ");
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strlen(map[i].type) == n && strncasecmp(ct, map[i].type, n) == 0)
            return map[i].ext;
    return "bin";
}

void api_entry_clear(struct api_entry *e)
{
    if (!e)
        return;
    free(e->id);
    free(e->name);
    free(e->conversation_id);
    free(e->media);
    free(e->file_state);
    free(e->json);
    free(e->raw);
    memset(e, 0, sizeof(*e));
}

void api_list_clear(struct api_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        api_entry_clear(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void api_media_clear(struct api_media *m)
{
    if (!m)
        return;
    free(m->url);
    free(m->content_type);
    free(m->etag);
    memset(m, 0, sizeof(*m));
}

/* Strict decimal: at least one digit, no sign, no space, no overflow.
 * *end is set past the digits. */
static int parse_u64(const char *s, const char **end, uint64_t *v)
{
    uint64_t x = 0;

    if (!isdigit((unsigned char)*s))
        return -1;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *end = s;
    *v = x;
    return 0;
}

int api_parse_content_range(const char *s, uint64_t *start, uint64_t *end,
                            int64_t *total)
{
    uint64_t a, b, t;

    if (!s || strncasecmp(s, "bytes ", 6) != 0)
        return -1;
    s += 6;
    if (parse_u64(s, &s, &a) || *s++ != '-' || parse_u64(s, &s, &b) ||
        *s++ != '/' || a > b)
        return -1;
    if (strcmp(s, "*") == 0) {
        t = 0;
    } else if (parse_u64(s, &s, &t) || *s || t <= b || t > INT64_MAX) {
        return -1;
    }
    *start = a;
    *end = b;
    *total = t ? (int64_t)t : -1;
    return 0;
}
