/* api_session.c - client lifecycle, the clock, the OAuth token, stats.
 *
 * Token renewal: one renewal at a time. A caller that finds the token due
 * (or invalidated by a 401 of the current generation) renews it while the
 * others wait on tok_cond; a 401 for an older generation just picks up
 * the newer token. So N threads hitting an expired token cause one POST.
 */
#include "client_int.h"
#include "decode.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Clock                                                              */

int64_t api_now_ms(struct api_client *c)
{
    struct timespec ts;

    if (c->clock.now_ms)
        return c->clock.now_ms(c->clock.arg);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api_sleep_ms(struct api_client *c, long ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    if (c->clock.sleep_ms) {
        c->clock.sleep_ms(c->clock.arg, ms);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->sleep_lock);
    while (!atomic_load(&c->shutdown) &&
           pthread_cond_timedwait(&c->sleep_cond, &c->sleep_lock, &ts) !=
               ETIMEDOUT)
        ;
    pthread_mutex_unlock(&c->sleep_lock);
}

void api_client_set_clock(struct api_client *c, const struct api_clock *ck)
{
    if (ck)
        c->clock = *ck;
    else
        memset(&c->clock, 0, sizeof(c->clock));
}

/* ------------------------------------------------------------------ */
/* Configuration                                                      */

static void config_defaults(struct api_config *k)
{
    if (k->connect_timeout_ms <= 0)
        k->connect_timeout_ms = 10000;
    if (k->request_timeout_ms <= 0)
        k->request_timeout_ms = 60000;
    if (k->low_speed_limit <= 0)
        k->low_speed_limit = 1024;
    if (k->low_speed_time_s <= 0)
        k->low_speed_time_s = 30;
    if (k->max_retries < 0)
        k->max_retries = 0;
    else if (k->max_retries == 0)
        k->max_retries = 4;
    if (k->transcode_timeout_ms <= 0)
        k->transcode_timeout_ms = 120000;
    if (k->max_body_bytes == 0)
        k->max_body_bytes = 64u << 20;
    if (k->max_entries == 0)
        k->max_entries = 1000000;
    if (k->max_connections <= 0)
        k->max_connections = 8;
    if (k->metadata_ttl_s <= 0)
        k->metadata_ttl_s = 60;
}

static char *dup_trimmed(const char *url)
{
    char *s = strdup(url);
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

/* Resolve api_url/login_url from the config. */
static enum api_rc resolve_urls(struct api_client *c,
                                const struct api_config *cfg,
                                struct api_error *err)
{
    char buf[256];
    const char *env = cfg->environment ? cfg->environment : "mypurecloud.com";

    if (cfg->api_url) {
        c->api_url = dup_trimmed(cfg->api_url);
    } else {
        if (!api_region_api_url(env, buf, sizeof(buf)))
            return api_fail(err, API_EINVAL,
                            "unknown Genesys Cloud region \"%s\"", env);
        c->api_url = strdup(buf);
    }
    if (cfg->login_url) {
        c->login_url = dup_trimmed(cfg->login_url);
    } else if (c->api_url && strstr(c->api_url, "//api.")) {
        const char *p = strstr(c->api_url, "//api.");
        snprintf(buf, sizeof(buf), "%.*s//login.%s",
                 (int)(p - c->api_url), c->api_url, p + 6);
        c->login_url = strdup(buf);
    } else if (c->api_url) {
        c->login_url = strdup(c->api_url);
    }
    if (!c->api_url || !c->login_url)
        return api_fail(err, API_ENOMEM, "out of memory");
    return API_OK;
}

static enum api_rc check_url(const char *what, const char *url,
                             struct api_error *err)
{
    if (strncmp(url, "https://", 8) == 0)
        return API_OK;
    if (strncmp(url, "http://", 7) == 0 && api_url_is_loopback(url))
        return API_OK;
    return api_fail(err, API_EINVAL,
                    "%s must be https:// (plain http only for loopback)",
                    what);
}

static enum api_rc copy_secrets(struct api_client *c,
                                const struct api_config *cfg,
                                struct api_error *err)
{
    if (cfg->access_token && cfg->access_token[0]) {
        c->fixed_token = strdup(cfg->access_token);
        if (!c->fixed_token)
            return api_fail(err, API_ENOMEM, "out of memory");
    } else if (!cfg->client_id || !cfg->client_secret ||
               !cfg->client_id[0] || !cfg->client_secret[0]) {
        return api_fail(err, API_EINVAL,
                        "no credentials: need a client id and secret or an "
                        "access token");
    }
    if (cfg->client_id && cfg->client_secret) {
        c->client_id = strdup(cfg->client_id);
        c->client_secret = strdup(cfg->client_secret);
        if (!c->client_id || !c->client_secret)
            return api_fail(err, API_ENOMEM, "out of memory");
    }
    if (cfg->cacert) {
        c->cacert = strdup(cfg->cacert);
        if (!c->cacert)
            return api_fail(err, API_ENOMEM, "out of memory");
    }
    return API_OK;
}

static enum api_rc client_init(struct api_client *c,
                               const struct api_config *cfg,
                               struct api_error *err)
{
    enum api_rc rc;
    struct http_opts ho;

    c->cfg = *cfg;
    config_defaults(&c->cfg);
    rc = resolve_urls(c, cfg, err);
    if (rc == API_OK)
        rc = check_url("api_url", c->api_url, err);
    if (rc == API_OK)
        rc = check_url("login_url", c->login_url, err);
    if (rc == API_OK)
        rc = copy_secrets(c, cfg, err);
    if (rc != API_OK)
        return rc;
    /* no dangling borrowed pointers in the copy */
    c->cfg.environment = c->cfg.api_url = c->cfg.login_url = NULL;
    c->cfg.client_id = c->cfg.client_secret = c->cfg.access_token = NULL;
    c->cfg.cacert = c->cacert;
    ho = (struct http_opts){
        .cacert = c->cacert,
        .insecure = cfg->insecure,
        .connect_timeout_ms = c->cfg.connect_timeout_ms,
        .low_speed_limit = c->cfg.low_speed_limit,
        .low_speed_time_s = c->cfg.low_speed_time_s,
        .max_connections = c->cfg.max_connections,
    };
    c->http = http_new(&ho);
    if (!c->http)
        return api_fail(err, API_ENOMEM, "cannot initialise libcurl");
    if (cfg->insecure)
        log_warn("TLS certificate verification is DISABLED (insecure): "
                 "anyone on the network path can read the token and data");
    return API_OK;
}

struct api_client *api_client_new(const struct api_config *cfg,
                                  struct api_error *err)
{
    struct api_client *c;
    pthread_condattr_t ca;

    api_error_clear(err);
    c = calloc(1, sizeof(*c));
    if (!c) {
        api_fail(err, API_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->tok_lock, NULL);
    pthread_cond_init(&c->tok_cond, NULL);
    pthread_mutex_init(&c->sleep_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->sleep_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (client_init(c, cfg, err) != API_OK) {
        api_client_free(c);
        return NULL;
    }
    return c;
}

static void free_secret(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = '\0';
    }
    free(s);
}

void api_client_free(struct api_client *c)
{
    if (!c)
        return;
    http_free(c->http);
    free(c->api_url);
    free(c->login_url);
    free(c->client_id);
    free_secret(c->client_secret);
    free_secret(c->fixed_token);
    free_secret(c->token);
    free(c->cacert);
    pthread_mutex_destroy(&c->tok_lock);
    pthread_cond_destroy(&c->tok_cond);
    pthread_mutex_destroy(&c->sleep_lock);
    pthread_cond_destroy(&c->sleep_cond);
    free(c);
}

void api_client_set_cache(struct api_client *c, struct cache *cache)
{
    c->cache = cache;
}

void api_client_shutdown(struct api_client *c)
{
    atomic_store(&c->shutdown, 1);
    http_shutdown(c->http);
    pthread_mutex_lock(&c->sleep_lock);
    pthread_cond_broadcast(&c->sleep_cond);
    pthread_mutex_unlock(&c->sleep_lock);
    pthread_mutex_lock(&c->tok_lock);
    pthread_cond_broadcast(&c->tok_cond);
    pthread_mutex_unlock(&c->tok_lock);
}

const char *api_client_api_url(const struct api_client *c)
{
    return c->api_url;
}

void api_client_stats(struct api_client *c, struct api_stats *out)
{
    out->requests = atomic_load(&c->st_requests);
    out->retries = atomic_load(&c->st_retries);
    out->rate_limit_waits = atomic_load(&c->st_rate_waits);
    out->errors = atomic_load(&c->st_errors);
    out->token_renewals = atomic_load(&c->st_renewals);
    out->doc_cache_hits = atomic_load(&c->st_cache_hits);
    out->stale_served = atomic_load(&c->st_stale);
    out->media_bytes = atomic_load(&c->st_media_bytes);
    out->offline = atomic_load(&c->st_offline);
}

/* ------------------------------------------------------------------ */
/* OAuth token                                                        */

/* Renew at expires_in - 60 s, or at half-life for short-lived tokens. */
static int64_t renew_after_ms(long expires_in)
{
    if (expires_in <= 0)
        expires_in = 60;
    if (expires_in - 60 >= expires_in / 2)
        return (int64_t)(expires_in - 60) * 1000;
    return (int64_t)expires_in * 500;
}

/* POST the client-credentials grant. Called without tok_lock held. */
static enum api_rc fetch_token(struct api_client *c, char **token,
                               long *expires_in, struct api_error *err)
{
    static const char form[] = "grant_type=client_credentials";
    struct api_call call = {.method = "POST", .body = form,
                            .body_len = sizeof(form) - 1, .login = 1,
                            .idempotent = 1};
    struct http_resp resp = {0};
    enum api_rc rc;

    rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK)
        rc = dec_token(resp.body, resp.len, token, expires_in, err);
    if (rc != API_OK && err && err->rc == API_EHTTP &&
        (err->http_status == 400 || err->http_status == 401))
        err->http_status = 401; /* bad client credentials: EACCES */
    http_resp_clear(&resp);
    return rc;
}

/* With tok_lock held: renew (dropping the lock meanwhile). */
static enum api_rc renew_locked(struct api_client *c, struct api_error *err)
{
    char *tok = NULL;
    long expires_in = 0;
    enum api_rc rc;

    c->tok_renewing = 1;
    pthread_mutex_unlock(&c->tok_lock);
    rc = fetch_token(c, &tok, &expires_in, err);
    pthread_mutex_lock(&c->tok_lock);
    c->tok_renewing = 0;
    if (rc == API_OK) {
        if (c->token)
            atomic_fetch_add(&c->st_renewals, 1);
        free_secret(c->token);
        c->token = tok;
        c->tok_gen++;
        c->tok_renew_at = api_now_ms(c) + renew_after_ms(expires_in);
        log_debug("token renewed (valid %ld s)", expires_in);
    }
    pthread_cond_broadcast(&c->tok_cond);
    return rc;
}

enum api_rc api_token_get(struct api_client *c, char **token, uint64_t *gen,
                          struct api_error *err)
{
    enum api_rc rc = API_OK;

    *token = NULL;
    if (c->fixed_token) {
        *gen = 0;
        *token = strdup(c->fixed_token);
        return *token ? API_OK : api_fail(err, API_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&c->tok_lock);
    for (;;) {
        if (atomic_load(&c->shutdown)) {
            rc = api_fail(err, API_ETRANSPORT, "client shut down");
            break;
        }
        if (c->token && api_now_ms(c) < c->tok_renew_at) {
            *token = strdup(c->token);
            *gen = c->tok_gen;
            if (!*token)
                rc = api_fail(err, API_ENOMEM, "out of memory");
            break;
        }
        if (c->tok_renewing) {
            pthread_cond_wait(&c->tok_cond, &c->tok_lock);
            continue;
        }
        rc = renew_locked(c, err);
        if (rc != API_OK)
            break;
    }
    pthread_mutex_unlock(&c->tok_lock);
    return rc;
}

int api_token_invalidate(struct api_client *c, uint64_t gen)
{
    if (c->fixed_token)
        return -1;
    pthread_mutex_lock(&c->tok_lock);
    if (gen == c->tok_gen)
        c->tok_renew_at = 0;
    pthread_mutex_unlock(&c->tok_lock);
    return 0;
}

enum api_rc api_client_login(struct api_client *c, struct api_error *err)
{
    struct http_resp resp = {0};
    struct api_call call = {.method = "GET",
                            .path = "/api/v2/recording/settings",
                            .idempotent = 1};
    char *tok = NULL;
    uint64_t gen;
    enum api_rc rc;

    api_error_clear(err);
    if (!c->fixed_token) {
        rc = api_token_get(c, &tok, &gen, err);
        free_secret(tok);
        return rc;
    }
    rc = api_call_do(c, &call, &resp, err);
    http_resp_clear(&resp);
    return rc;
}
