/* log.h - the one log module of recfs, shared by client/ and fs/.
 *
 * Levels follow fuse_log (LOG_ERR..LOG_DEBUG numerically match syslog).
 * Every line records the calling function. Thread-safe.
 * Never pass tokens, secrets, or pre-signed URLs (query strings) to these
 * functions: use log_redact_url() for URLs.
 */
#ifndef RECFS_LOG_H
#define RECFS_LOG_H

#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERR = 3,
    LOG_LEVEL_WARN = 4,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
};

enum log_sink {
    LOG_SINK_STDERR = 0,
    LOG_SINK_SYSLOG = 1,
};

/* Set the threshold (default LOG_LEVEL_INFO) and sink (default stderr). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_sink(enum log_sink sink);
/* Parse "err|warn|info|debug"; returns 0 and sets *out, or -1. */
int log_level_parse(const char *s, enum log_level *out);

void log_write(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...) log_write(LOG_LEVEL_ERR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __func__, __VA_ARGS__)

/* Copy url into buf (size n) without its query string and fragment, so a
 * pre-signed URL can be logged. Always NUL-terminates. Returns buf. */
char *log_redact_url(const char *url, char *buf, size_t n);

#endif
