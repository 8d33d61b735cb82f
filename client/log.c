/* log.c - levels and sinks for the one log module (see log.h). */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static atomic_int log_level_cur = LOG_LEVEL_INFO;
static atomic_int log_sink_cur = LOG_SINK_STDERR;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
    atomic_store(&log_level_cur, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_level_cur);
}

void log_set_sink(enum log_sink sink)
{
    if (sink == LOG_SINK_SYSLOG)
        openlog("recfs", LOG_PID, LOG_DAEMON);
    atomic_store(&log_sink_cur, (int)sink);
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        {"err", LOG_LEVEL_ERR},     {"error", LOG_LEVEL_ERR},
        {"warn", LOG_LEVEL_WARN},   {"warning", LOG_LEVEL_WARN},
        {"info", LOG_LEVEL_INFO},   {"debug", LOG_LEVEL_DEBUG},
    };
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

static const char *level_tag(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERR:
        return "error";
    case LOG_LEVEL_WARN:
        return "warning";
    case LOG_LEVEL_INFO:
        return "info";
    default:
        return "debug";
    }
}

void log_write(enum log_level level, const char *func, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if ((int)level > atomic_load(&log_level_cur))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (atomic_load(&log_sink_cur) == LOG_SINK_SYSLOG) {
        syslog((int)level, "%s: %s: %s", level_tag(level), func, msg);
        return;
    }
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "recfs[%s.%03ldZ] %s: %s: %s\n", stamp,
            ts.tv_nsec / 1000000L, level_tag(level), func, msg);
    pthread_mutex_unlock(&log_lock);
}

char *log_redact_url(const char *url, char *buf, size_t n)
{
    size_t len;

    if (n == 0)
        return buf;
    if (!url) {
        buf[0] = '\0';
        return buf;
    }
    len = strcspn(url, "?#");
    if (len >= n)
        len = n - 1;
    memcpy(buf, url, len);
    buf[len] = '\0';
    return buf;
}
