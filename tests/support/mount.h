/* mount.h - test support: run recfs against a running emulator on a
 * temporary mountpoint, with a timeout and a guaranteed unmount.
 *
 * The binary is $RECFS_BINARY, started in the foreground (-f) with
 * -o api_url/login_url of the emulator and credentials in the
 * environment (never argv). Every call has a deadline.
 */
#ifndef RECFS_TEST_MOUNT_H
#define RECFS_TEST_MOUNT_H

#include <stddef.h>
#include <sys/types.h>

struct emu;

struct recfs_mount {
    pid_t pid;                /* recfs process (0: not running) */
    char dir[256];            /* temp dir holding mnt/, cache/, log */
    char mnt[300];            /* the mountpoint */
    char cache_dir[300];      /* cache dir (kept between mounts) */
    char log[300];            /* recfs stderr */
};

/* 1 if /dev/fuse and fusermount3 are usable (else tests exit 77). */
int mount_supported(void);

/* Mount with extra comma-separated -o options (may be NULL). The temp
 * dir is created unless m->dir is already set (then its cache is
 * reused: remount). Waits until .recfs/status.json is readable (20 s).
 * Returns 0, or -1 (the log is printed to stderr). */
int mount_start(struct recfs_mount *m, struct emu *e, const char *opts);

/* fusermount3 -u (lazy as a fallback), wait for the process (10 s), then
 * SIGKILL. Keeps the temp dir for a remount. Returns recfs' exit status
 * (or -1 when it had to be killed). */
int mount_stop(struct recfs_mount *m);
/* 0 if recfs' log holds no sanitizer report (ASan, UBSan, LSan);
 * otherwise prints the report and returns -1. Call after mount_stop. */
int mount_log_clean(const struct recfs_mount *m);
/* mount_stop + remove the temp dir. */
void mount_cleanup(struct recfs_mount *m);

/* Path inside the mount: buf = mnt + "/" + rel. Returns buf. */
char *mount_path(const struct recfs_mount *m, const char *rel, char *buf,
                 size_t n);

/* Run recfs with the given argv tail (NULL-terminated, after argv[0]) and
 * environment additions ("K=V", NULL-terminated, may be NULL; the
 * PURECLOUD_* variables are cleared first), capturing stderr into errbuf.
 * Kills it after timeout_s. Returns its exit status, or -1 on timeout. */
int recfs_run(const char *const *args, const char *const *env,
              int timeout_s, char *errbuf, size_t errlen);

/* Run a shell command with a timeout (bash -c); returns its exit status
 * (124 on timeout). Output goes to the test's stdout. */
int sh(int timeout_s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, capturing stdout (trimmed) into out. */
int sh_out(char *out, size_t n, int timeout_s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
