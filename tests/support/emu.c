/* emu.c - run the emulator and use its control endpoint (see emu.h). */
#include "emu.h"
#include "api_client.h"
#include "cache.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EMU_BODY_CAP (64u << 20)

struct membuf {
    char *p;
    size_t n;
};

static size_t membuf_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct membuf *b = arg;
    size_t add = size * nmemb;
    char *np;

    if (b->n + add > EMU_BODY_CAP)
        return 0;
    np = realloc(b->p, b->n + add + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, data, add);
    b->p = np;
    b->n += add;
    b->p[b->n] = '\0';
    return add;
}

/* One HTTP request with a 60 s deadline. Returns status or -1. */
static long http_do(const char *method, const char *url, const char *body,
                    const char *auth_header, const char *content_type,
                    char **out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct membuf b = {0};
    long status = -1;

    if (out)
        *out = NULL;
    if (!h)
        return -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, membuf_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (auth_header)
        hdrs = curl_slist_append(hdrs, auth_header);
    if (content_type)
        hdrs = curl_slist_append(hdrs, content_type);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (out && status >= 0)
        *out = b.p ? b.p : strdup("");
    else
        free(b.p);
    return status;
}

static int copy_field(json_t *root, const char *key, char *dst, size_t n)
{
    const char *v = json_string_value(json_object_get(root, key));

    if (!v || strlen(v) >= n)
        return -1;
    strcpy(dst, v);
    return 0;
}

static int parse_ready_line(struct emu *e, const char *line)
{
    json_error_t jerr;
    json_t *root = json_loads(line, 0, &jerr);
    int rc = 0;

    if (!root) {
        fprintf(stderr, "emu: bad ready line: %s\n", line);
        return -1;
    }
    rc |= copy_field(root, "api_url", e->api_url, sizeof(e->api_url));
    rc |= copy_field(root, "login_url", e->login_url, sizeof(e->login_url));
    rc |= copy_field(root, "media_url", e->media_url, sizeof(e->media_url));
    rc |= copy_field(root, "control_url", e->control_url,
                     sizeof(e->control_url));
    rc |= copy_field(root, "client_id", e->client_id, sizeof(e->client_id));
    rc |= copy_field(root, "client_secret", e->client_secret,
                     sizeof(e->client_secret));
    json_decref(root);
    return rc ? -1 : 0;
}

/* Read one line from fd within timeout_ms. */
static int read_line(int fd, char *buf, size_t n, int timeout_ms)
{
    size_t len = 0;
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (len + 1 < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long spent;
        ssize_t r;

        clock_gettime(CLOCK_MONOTONIC, &t);
        spent = (t.tv_sec - t0.tv_sec) * 1000 +
                (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms || poll(&p, 1, (int)(timeout_ms - spent)) <= 0)
            return -1;
        r = read(fd, buf + len, 1);
        if (r <= 0)
            return -1;
        if (buf[len] == '\n') {
            buf[len] = '\0';
            return 0;
        }
        len++;
    }
    return -1;
}

static const char *script_path(void)
{
    const char *p = getenv("GCEMU");

    return p ? p : "scripts/emulator/gcemu.py";
}

int emu_start(struct emu *e, const char *const *extra_args)
{
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : "python3";
    const char *argv[64];
    char line[2048];
    int pipefd[2];
    size_t n = 0;

    memset(e, 0, sizeof(*e));
    if (access(script_path(), R_OK) != 0) {
        fprintf(stderr, "emu: emulator not found at %s\n", script_path());
        return -2;
    }
    snprintf(e->data_dir, sizeof(e->data_dir), "/tmp/recfs-emu-XXXXXX");
    if (!mkdtemp(e->data_dir) || pipe(pipefd) != 0)
        return -1;
    argv[n++] = py;
    argv[n++] = script_path();
    argv[n++] = "--data";
    argv[n++] = e->data_dir;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    for (size_t i = 0; extra_args && extra_args[i] && n < 62; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;

    e->pid = fork();
    if (e->pid < 0)
        return -1;
    if (e->pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execvp(py, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    if (read_line(pipefd[0], line, sizeof(line), 120000) != 0 ||
        parse_ready_line(e, line) != 0) {
        fprintf(stderr, "emu: emulator did not start\n");
        close(pipefd[0]);
        emu_stop(e);
        return -1;
    }
    /* Keep the pipe's read end open in a detached way: closing it would
     * SIGPIPE the emulator if it ever prints again. */
    fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
    return 0;
}

static void rm_rf(const char *dir)
{
    char cmd[512];

    if (!dir[0] || strncmp(dir, "/tmp/recfs-emu-", 15) != 0)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "emu: could not remove %s\n", dir);
}

void emu_stop(struct emu *e)
{
    if (e->pid > 0) {
        int status;

        kill(e->pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
                e->pid = 0;
                break;
            }
            usleep(100000);
        }
        if (e->pid > 0) {
            kill(e->pid, SIGKILL);
            waitpid(e->pid, &status, 0);
        }
        e->pid = 0;
    }
    rm_rf(e->data_dir);
    e->data_dir[0] = '\0';
}

static int control(struct emu *e, const char *method, const char *what,
                   const char *body, char **out)
{
    char url[1024];
    long st;

    if (snprintf(url, sizeof(url), "%s/%s", e->control_url, what) >=
        (int)sizeof(url))
        return -1;
    st = http_do(method, url, body, NULL,
                 body ? "Content-Type: application/json" : NULL, out);
    return (st >= 200 && st < 300) ? 0 : -1;
}

int emu_reset(struct emu *e)
{
    return control(e, "POST", "reset", "{}", NULL);
}

int emu_fault(struct emu *e, const char *fault_json)
{
    return control(e, "POST", "faults", fault_json, NULL);
}

int emu_expire_tokens(struct emu *e)
{
    return control(e, "POST", "expire-tokens", "{}", NULL);
}

static json_t *counters(struct emu *e)
{
    char *body = NULL;
    json_t *root = NULL;

    if (control(e, "GET", "counters", NULL, &body) == 0)
        root = json_loads(body, 0, NULL);
    free(body);
    return root;
}

long emu_count(struct emu *e, const char *pattern)
{
    json_t *root = counters(e), *counts, *v;
    const char *key;
    regex_t re;
    long total = 0;

    if (!root)
        return -1;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        json_decref(root);
        return -1;
    }
    counts = json_object_get(root, "counts");
    json_object_foreach(counts, key, v)
    {
        if (regexec(&re, key, 0, NULL, 0) == 0)
            total += (long)json_integer_value(v);
    }
    regfree(&re);
    json_decref(root);
    return total;
}

long emu_total(struct emu *e)
{
    json_t *root = counters(e);
    long total;

    if (!root)
        return -1;
    total = (long)json_integer_value(json_object_get(root, "total"));
    json_decref(root);
    return total;
}

int emu_media_file(struct emu *e, const char *kind, const char *id,
                   const char *format, char *path, size_t pathlen,
                   char sha256_hex[65], uint64_t *size)
{
    char what[512], *body = NULL;
    json_t *root;
    int rc = -1;

    snprintf(what, sizeof(what), "media?kind=%s&id=%s&format=%s", kind, id,
             format);
    if (control(e, "GET", what, NULL, &body) != 0)
        goto out;
    root = json_loads(body, 0, NULL);
    if (!root)
        goto out;
    if ((!path || copy_field(root, "path", path, pathlen) == 0) &&
        (!sha256_hex || copy_field(root, "sha256", sha256_hex, 65) == 0)) {
        if (size)
            *size = (uint64_t)json_integer_value(json_object_get(root, "size"));
        rc = 0;
    }
    json_decref(root);
out:
    free(body);
    return rc;
}

static int get_token(struct emu *e, char *tok, size_t n)
{
    char url[256], *body = NULL;
    CURL *h = curl_easy_init();
    struct membuf b = {0};
    long st = -1;
    json_t *root;
    int rc = -1;

    if (!h)
        return -1;
    snprintf(url, sizeof(url), "%s/oauth/token", e->login_url);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, e->client_id);
    curl_easy_setopt(h, CURLOPT_PASSWORD, e->client_secret);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "grant_type=client_credentials");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, membuf_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(h);
    body = b.p;
    if (st == 200 && body && (root = json_loads(body, 0, NULL))) {
        const char *t = json_string_value(json_object_get(root, "access_token"));
        if (t && strlen(t) < n) {
            strcpy(tok, t);
            rc = 0;
        }
        json_decref(root);
    }
    free(body);
    return rc;
}

long emu_api(struct emu *e, const char *method, const char *path,
             const char *body, char **out)
{
    char tok[512], auth[600], url[1024];

    if (out)
        *out = NULL;
    if (get_token(e, tok, sizeof(tok)) != 0)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(url, sizeof(url), "%s%s", e->api_url, path);
    return http_do(method, url, body, auth,
                   body ? "Content-Type: application/json" : NULL, out);
}

int test_sha256_file(const char *path, char hex[65])
{
    char cmd[1200];
    FILE *p;
    int rc = -1;

    if (strchr(path, '\''))
        return -1;
    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (fscanf(p, "%64s", hex) == 1 && strlen(hex) == 64)
        rc = 0;
    if (pclose(p) != 0)
        rc = -1;
    return rc;
}

struct cache *emu_client_cache(struct api_client *c, char *dir)
{
    struct cache_config cc = {.dir = dir};
    struct cache *cache = NULL;
    char eb[256];

    if (!mkdtemp(dir))
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
    else if (!(cache = cache_open(&cc, eb, sizeof eb)))
        fprintf(stderr, "cache unavailable (%s): skipping\n", eb);
    if (cache)
        api_client_set_cache(c, cache);
    else
        api_client_free(c);
    return cache;
}
