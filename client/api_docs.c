/* api_docs.c - documents and listings: the document cache in front of
 * GETs (fresh within metadata_ttl; an expired copy is served when the API
 * is unreachable), paging with concurrent page fetches, and writes that
 * refresh/drop cached keys.
 *
 * Cache keys are "<api_url><path+query>" of the GET that produced the
 * body; a paged GET listing is one document, all its pages, under
 * "<path>?pageSize=100&pages" (api_paging.c), so one prefix drop
 * ("<api_url>/api/v2/userrecordings?") removes it.
 */
#include "cache.h"
#include "client_int.h"
#include "decode.h"
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

/* Bumped when a write starts and when it succeeds (process-wide:
 * conservative when several clients exist). A GET that was in flight
 * meanwhile may carry the old state: its answer is returned to its
 * caller but not stored, so it cannot replace what the write left in
 * the cache (read-your-writes for the next reader). */
static atomic_ulong write_gen;
/* Held by a GET for "no write since I started? then store", and by a
 * write for each bump of write_gen with the cache drops that follow it:
 * a GET's store can then never land after the drops of a write it did
 * not see (without it, a GET preempted between its check and its store
 * put the pre-edit document back for the TTL). */
static pthread_mutex_t store_lk = PTHREAD_MUTEX_INITIALIZER;

void (*api_before_store_hook)(struct api_client *c, const char *key_path);

static int cache_key(struct api_client *c, const char *path, char *buf,
                     size_t n)
{
    int len = snprintf(buf, n, "%s%s", c->api_url, path);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

void api_cache_drop(struct api_client *c, const char *path, int prefix)
{
    char key[API_URL_MAX];

    if (c->cache && cache_key(c, path, key, sizeof(key)) == 0)
        cache_doc_drop(c->cache, key, prefix);
}

static void cache_store(struct api_client *c, const char *path,
                        const char *body, size_t len)
{
    char key[API_URL_MAX];

    if (c->cache && cache_key(c, path, key, sizeof(key)) == 0 &&
        cache_doc_put(c->cache, key, body, len) != 0)
        log_debug("document cache: store failed");
}

/* The API could not be reached (or failed) in a way that justifies an
 * offline copy. */
static int offline_failure(const struct api_error *err)
{
    if (!err)
        return 1;
    return err->rc == API_ETRANSPORT || err->rc == API_ETIMEOUT ||
           (err->rc == API_EHTTP && err->http_status >= 500);
}

static enum api_rc fetch_get(struct api_client *c, void *arg, char **body,
                             size_t *len, struct api_error *err)
{
    struct api_call call = {.method = "GET", .path = arg};
    struct http_resp resp = {0};
    enum api_rc rc;

    rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK) {
        if (!resp.body) {
            resp.body = strdup("");
            if (!resp.body)
                rc = api_fail(err, API_ENOMEM, "out of memory");
        }
        *body = resp.body;
        *len = resp.len;
        resp.body = NULL;
    }
    http_resp_clear(&resp);
    return rc;
}

enum api_rc api_cached_fetch(struct api_client *c, const char *key_path,
                             int bypass, api_fetch_fn fetch, void *arg,
                             char **body, size_t *len, struct api_error *err)
{
    char key[API_URL_MAX];
    char *old = NULL;
    size_t old_len = 0;
    time_t stored = 0, now = time(NULL);
    struct api_error local = {0};
    unsigned long gen = atomic_load(&write_gen);
    enum api_rc rc;

    *body = NULL;
    *len = 0;
    if (c->cache && cache_key(c, key_path, key, sizeof(key)) == 0 &&
        cache_doc_get(c->cache, key, &old, &old_len, &stored) == 0 &&
        !bypass && now >= stored && now - stored < c->cfg.metadata_ttl_s) {
        atomic_fetch_add(&c->st_cache_hits, 1);
        *body = old;
        *len = old_len;
        return API_OK;
    }
    rc = fetch(c, arg, body, len, &local);
    if (rc == API_OK) {
        /* a 200 with a broken body (truncated or malformed by a proxy)
         * must not be served again for the TTL: only JSON is stored */
        if (atomic_load(&write_gen) == gen && dec_body_valid(*body, *len)) {
            if (api_before_store_hook)
                api_before_store_hook(c, key_path);
            pthread_mutex_lock(&store_lk);
            if (atomic_load(&write_gen) == gen)
                cache_store(c, key_path, *body, *len);
            pthread_mutex_unlock(&store_lk);
        }
    } else if (old && !bypass && offline_failure(&local)) {
        char pbuf[256];
        log_warn("%s: API failed (%s), serving the cached copy "
                 "(may be stale)", log_redact_url(key_path, pbuf,
                 sizeof(pbuf)), local.message);
        atomic_fetch_add(&c->st_stale, 1);
        atomic_store(&c->st_offline, 1);
        *body = old;
        *len = old_len;
        return API_OK;
    } else if (err && err->rc == API_OK) {
        *err = local;
    }
    free(old);
    return rc;
}

enum api_rc api_get_body(struct api_client *c, const char *path, int bypass,
                         char **body, size_t *len, struct api_error *err)
{
    return api_cached_fetch(c, path, bypass, fetch_get, (void *)path, body,
                            len, err);
}

enum api_rc api_get_entry(struct api_client *c, enum api_kind kind,
                          const char *path, int bypass,
                          struct api_entry *out, struct api_error *err)
{
    char *body = NULL;
    size_t len = 0;
    enum api_rc rc;

    rc = api_get_body(c, path, bypass, &body, &len, err);
    if (rc == API_OK)
        rc = dec_entry(kind, body, len, out, err);
    free(body);
    return rc;
}

enum api_rc api_doc_render(const char *raw, size_t raw_len, char **json,
                           size_t *json_len)
{
    return dec_render(raw, raw_len, json, json_len, NULL);
}

/* ------------------------------------------------------------------ */
/* Writes                                                             */

void api_cache_drop_list(struct api_client *c, const char *path)
{
    char key[API_PATH_MAX + 2];

    api_cache_drop(c, path, 0);
    if ((size_t)snprintf(key, sizeof(key), "%s?", path) < sizeof(key))
        api_cache_drop(c, key, 1);
}

enum api_rc api_get_unpaged(struct api_client *c, enum api_kind kind,
                            const char *path, struct api_list *out,
                            struct api_error *err)
{
    struct dec_page pg;
    char *body = NULL;
    size_t len = 0;
    enum api_rc rc;

    rc = api_get_body(c, path, 0, &body, &len, err);
    if (rc == API_OK)
        rc = dec_list_append(kind, body, len, out, c->cfg.max_entries, &pg,
                             err);
    free(body);
    if (rc != API_OK)
        api_list_clear(out);
    return rc;
}

enum api_rc api_send(struct api_client *c, const char *method,
                     const char *path, const char *body, enum api_kind kind,
                     struct api_entry *out, const char *doc_path,
                     const char *list_path, struct api_error *err)
{
    struct api_call call = {.method = method, .path = path, .body = body,
                            .body_len = body ? strlen(body) : 0};
    struct http_resp resp = {0};
    enum api_rc rc;

    /* Before sending: drop what the write may change, so a process
     * killed while the request is in flight (the write may still land)
     * leaves no cached copy that a remount would trust. */
    pthread_mutex_lock(&store_lk);
    atomic_fetch_add(&write_gen, 1);
    if (c->cache && list_path)
        api_cache_drop_list(c, list_path);
    if (c->cache && doc_path)
        api_cache_drop(c, doc_path, 0);
    pthread_mutex_unlock(&store_lk);
    rc = api_call_do(c, &call, &resp, err);
    if (rc == API_OK && out)
        rc = dec_entry(kind, resp.body ? resp.body : "", resp.len, out, err);
    /* After it, whatever the outcome (a failed or timed-out write may
     * have landed): drop again what a GET that ran meanwhile may have
     * stored; on success, the answer is the document now. */
    pthread_mutex_lock(&store_lk);
    atomic_fetch_add(&write_gen, 1);
    if (c->cache) {
        if (list_path)
            api_cache_drop_list(c, list_path);
        if (rc == API_OK && doc_path && out && strcmp(method, "DELETE") != 0)
            cache_store(c, doc_path, resp.body, resp.len);
        else if (doc_path)
            api_cache_drop(c, doc_path, 0);
    }
    pthread_mutex_unlock(&store_lk);
    http_resp_clear(&resp);
    return rc;
}
