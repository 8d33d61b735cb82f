/* mount.c - run recfs on a temporary mountpoint (see mount.h). */
#include "mount.h"
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int mount_supported(void)
{
    return access("/dev/fuse", R_OK | W_OK) == 0 &&
           system("command -v fusermount3 >/dev/null 2>&1") == 0;
}

static void print_log(const struct recfs_mount *m)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", m->log);
    if (system(cmd) < 0)
        perror("system");
}

static int is_mounted(const struct recfs_mount *m)
{
    char p[512];
    struct stat st;

    snprintf(p, sizeof p, "%s/.recfs/status.json", m->mnt);
    return stat(p, &st) == 0;
}

static void child_exec(struct recfs_mount *m, struct emu *e, const char *opts)
{
    const char *bin = getenv("RECFS_BINARY");
    char o[1024];
    int fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    setenv("PURECLOUD_CLIENT_ID", e->client_id, 1);
    setenv("PURECLOUD_SECRET", e->client_secret, 1);
    unsetenv("PURECLOUD_ACCESS_TOKEN");
    snprintf(o, sizeof o, "api_url=%s,login_url=%s,cache_dir=%s%s%s",
             e->api_url, e->login_url, m->cache_dir, opts ? "," : "",
             opts ? opts : "");
    execl(bin ? bin : "recfs", "recfs", "-f", "-o", o, m->mnt, (char *)NULL);
    _exit(127);
}

static int make_dirs(struct recfs_mount *m)
{
    const char *tmp = getenv("TMPDIR");

    if (!m->dir[0]) {
        snprintf(m->dir, sizeof m->dir, "%s/recfs-test.XXXXXX",
                 tmp ? tmp : "/tmp");
        if (!mkdtemp(m->dir))
            return -1;
    }
    snprintf(m->mnt, sizeof m->mnt, "%s/mnt", m->dir);
    snprintf(m->cache_dir, sizeof m->cache_dir, "%s/cache", m->dir);
    snprintf(m->log, sizeof m->log, "%s/recfs.log", m->dir);
    if (mkdir(m->mnt, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

int mount_start(struct recfs_mount *m, struct emu *e, const char *opts)
{
    int status;

    if (make_dirs(m))
        return -1;
    m->pid = fork();
    if (m->pid < 0)
        return -1;
    if (m->pid == 0)
        child_exec(m, e, opts);
    for (int i = 0; i < 200; i++) {
        if (is_mounted(m))
            return 0;
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            m->pid = 0;
            fprintf(stderr, "recfs exited early:\n");
            print_log(m);
            return -1;
        }
        sleep_ms(100);
    }
    fprintf(stderr, "recfs did not mount within 20 s:\n");
    print_log(m);
    mount_stop(m);
    return -1;
}

int mount_stop(struct recfs_mount *m)
{
    char cmd[1024];
    int status = 0;

    if (!m->pid)
        return -1;
    snprintf(cmd, sizeof cmd, "fusermount3 -u '%s' 2>/dev/null || "
             "fusermount3 -uz '%s' 2>/dev/null", m->mnt, m->mnt);
    if (system(cmd) < 0)
        perror("system");
    for (int i = 0; i < 100; i++) {
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            m->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        sleep_ms(100);
    }
    kill(m->pid, SIGKILL);
    waitpid(m->pid, &status, 0);
    m->pid = 0;
    if (system(cmd) < 0)
        perror("system");
    return -1;
}

int mount_log_clean(const struct recfs_mount *m)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd, "grep -q -E 'Sanitizer|runtime error:' '%s' "
             "2>/dev/null", m->log);
    if (system(cmd) != 0)
        return 0;
    snprintf(cmd, sizeof cmd, "grep -A 30 -E 'Sanitizer|runtime error:' "
             "'%s' >&2", m->log);
    if (system(cmd) < 0)
        perror("system");
    return -1;
}

void mount_cleanup(struct recfs_mount *m)
{
    char cmd[1024];

    mount_stop(m);
    if (m->dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
        if (system(cmd) < 0)
            perror("system");
        m->dir[0] = '\0';
    }
}

char *mount_path(const struct recfs_mount *m, const char *rel, char *buf,
                 size_t n)
{
    snprintf(buf, n, "%s/%s", m->mnt, rel);
    return buf;
}

static void run_child(const char *const *args, const char *const *env,
                      int errfd)
{
    const char *bin = getenv("RECFS_BINARY");
    const char *argv[32] = {"recfs"};
    int i = 1;

    dup2(errfd, 2);
    dup2(errfd, 1);
    unsetenv("PURECLOUD_CLIENT_ID");
    unsetenv("PURECLOUD_SECRET");
    unsetenv("PURECLOUD_ACCESS_TOKEN");
    unsetenv("PURECLOUD_ENVIRONMENT");
    for (; env && *env; env++)
        putenv((char *)*env);
    for (; args && *args && i < 31; args++)
        argv[i++] = *args;
    argv[i] = NULL;
    execv(bin ? bin : "recfs", (char *const *)argv);
    _exit(127);
}

int recfs_run(const char *const *args, const char *const *env,
              int timeout_s, char *errbuf, size_t errlen)
{
    char path[] = "/tmp/recfs-run.XXXXXX";
    int fd = mkstemp(path), status = 0;
    pid_t pid;
    ssize_t r;

    if (fd < 0)
        return -1;
    unlink(path);
    pid = fork();
    if (pid == 0)
        run_child(args, env, fd);
    for (int i = 0; i < timeout_s * 10; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            pid = 0;
            break;
        }
        sleep_ms(100);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    r = pread(fd, errbuf, errlen - 1, 0);
    errbuf[r > 0 ? r : 0] = '\0';
    close(fd);
    if (pid > 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int vsh(char *out, size_t n, int timeout_s, const char *fmt,
               va_list ap)
{
    char cmd[8192], wrapped[128];
    FILE *p;
    size_t len = 0;
    int status;

    /* The command travels in the environment: no quoting problems. */
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    setenv("RECFS_SH_CMD", cmd, 1);
    snprintf(wrapped, sizeof wrapped,
             "timeout -k 2 %d bash -c \"$RECFS_SH_CMD\"", timeout_s);
    if (!out) {
        status = system(wrapped);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    p = popen(wrapped, "r");
    if (!p)
        return -1;
    len = fread(out, 1, n - 1, p);
    out[len] = '\0';
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = '\0';
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int sh(int timeout_s, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vsh(NULL, 0, timeout_s, fmt, ap);
    va_end(ap);
    return rc;
}

int sh_out(char *out, size_t n, int timeout_s, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vsh(out, n, timeout_s, fmt, ap);
    va_end(ap);
    return rc;
}
