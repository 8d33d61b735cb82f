/* fs_prefetch.c - `recfs prefetch [-j N] [-q] PATH...`: read every media
 * file under PATHs of a mounted recfs once, so the daemon's disk cache
 * holds them (reading through the mount is what fills the cache). An
 * ordinary client of the mount: no FUSE, no network code here.
 *
 * Workers take files from a shared list; the main thread prints progress
 * (a bar on a terminal, a line every few seconds otherwise) and on SIGINT
 * tells the workers to stop after their current read.
 */
#include "fs_cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define PF_MAX_FILES 1000000
#define PF_MAX_JOBS 32
#define PF_BUF (1024 * 1024)
#define PF_FUSE_MAGIC 0x65735546
#define PF_MAX_DEPTH 16

struct pf_file {
    char *path;
    uint64_t size; /* from stat */
    int err;       /* errno of the failed read, 0 if fine */
};

struct pf_run {
    struct pf_file *files;
    size_t nfiles, cap;
    uint64_t total_bytes;
    atomic_size_t next;      /* next file to take */
    atomic_size_t done;      /* files finished (fetched or failed) */
    atomic_size_t failed;
    atomic_uint_fast64_t bytes;
    int quiet;
};

static volatile sig_atomic_t pf_stop;

static void pf_on_sigint(int sig)
{
    (void)sig;
    pf_stop = 1;
}

static int pf_is_media(const char *name)
{
    size_t len = strlen(name);

    if (name[0] == '.')
        return 0; /* .recfs/, editor scratch files */
    return !(len >= 5 && !strcmp(name + len - 5, ".json"));
}

static int pf_add(struct pf_run *r, const char *path, uint64_t size)
{
    if (r->nfiles == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct pf_file *nf;

        if (cap > PF_MAX_FILES)
            return -E2BIG;
        nf = realloc(r->files, cap * sizeof *nf);
        if (!nf)
            return -ENOMEM;
        r->files = nf;
        r->cap = cap;
    }
    r->files[r->nfiles].path = strdup(path);
    if (!r->files[r->nfiles].path)
        return -ENOMEM;
    r->files[r->nfiles].size = size;
    r->files[r->nfiles].err = 0;
    r->nfiles++;
    r->total_bytes += size;
    return 0;
}

/* Walk a directory (no symlinks followed: by-date/ links point into
 * conversations/, which would be read twice). */
static int pf_walk(struct pf_run *r, const char *dir, int depth)
{
    DIR *d;
    struct dirent *de;
    int rc = 0;

    if (depth > PF_MAX_DEPTH || pf_stop)
        return 0;
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "recfs prefetch: %s: %s\n", dir, strerror(errno));
        return -errno;
    }
    while (!rc && (de = readdir(d)) && !pf_stop) {
        char path[PATH_MAX];
        struct stat st;

        if (!pf_is_media(de->d_name))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
            (int)sizeof path || lstat(path, &st))
            continue;
        if (S_ISDIR(st.st_mode))
            rc = pf_walk(r, path, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = pf_add(r, path, (uint64_t)st.st_size);
    }
    closedir(d);
    return rc == -ENOMEM || rc == -E2BIG ? rc : 0;
}

/* A command-line PATH: must be inside a FUSE mount. */
static int pf_collect(struct pf_run *r, const char *path)
{
    struct statfs sf;
    struct stat st;

    if (stat(path, &st) || statfs(path, &sf)) {
        fprintf(stderr, "recfs prefetch: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if ((unsigned long)sf.f_type != PF_FUSE_MAGIC) {
        fprintf(stderr, "recfs prefetch: %s is not inside a recfs mount\n",
                path);
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return pf_walk(r, path, 0) ? -1 : 0;
    return pf_add(r, path, (uint64_t)st.st_size) ? -1 : 0;
}

static int pf_read_file(struct pf_run *r, const char *path, char *buf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;

    if (fd < 0)
        return errno;
    while (!pf_stop && (got = read(fd, buf, PF_BUF)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            return e;
        }
        atomic_fetch_add(&r->bytes, (uint64_t)got);
    }
    close(fd);
    return pf_stop ? EINTR : 0;
}

static void *pf_worker(void *arg)
{
    struct pf_run *r = arg;
    char *buf = malloc(PF_BUF);

    while (buf && !pf_stop) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->nfiles)
            break;
        r->files[i].err = pf_read_file(r, r->files[i].path, buf);
        if (r->files[i].err == EINTR && pf_stop)
            break; /* interrupted: neither done nor failed */
        if (r->files[i].err)
            atomic_fetch_add(&r->failed, 1);
        atomic_fetch_add(&r->done, 1);
    }
    free(buf);
    return NULL;
}

static double pf_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "12.3 MiB" into buf. */
static const char *pf_bytes(uint64_t v, char *buf, size_t n)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    int u = 0;

    while (d >= 1024 && u < 4) {
        d /= 1024;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
    return buf;
}

static void pf_progress(struct pf_run *r, double t0, int tty, int final)
{
    uint64_t bytes = atomic_load(&r->bytes);
    size_t done = atomic_load(&r->done);
    double el = pf_now() - t0, rate = el > 0.05 ? (double)bytes / el : 0;
    char b1[32], b2[32], b3[32], eta[32] = "--:--";
    uint64_t left = r->total_bytes > bytes ? r->total_bytes - bytes : 0;

    if (rate > 0) {
        long s = (long)((double)left / rate);
        snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
    }
    pf_bytes(bytes, b1, sizeof b1);
    pf_bytes(r->total_bytes, b2, sizeof b2);
    pf_bytes((uint64_t)rate, b3, sizeof b3);
    if (tty) {
        int width = 24, fill = r->total_bytes ? (int)((double)width *
                    (double)(bytes > r->total_bytes ? r->total_bytes : bytes)
                    / (double)r->total_bytes) : (done == r->nfiles) * width;
        fprintf(stderr, "\r[%.*s%*s] %zu/%zu files  %s/%s  %s/s  ETA %s\033[K",
                fill, "########################", width - fill, "", done,
                r->nfiles, b1, b2, b3, eta);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "prefetch: %zu/%zu files, %s/%s, %s/s, ETA %s\n",
                done, r->nfiles, b1, b2, b3, eta);
    }
}

/* Print progress until the workers finish or SIGINT. */
static void pf_watch(struct pf_run *r, double t0)
{
    int tty = isatty(STDERR_FILENO);
    double period = tty ? 0.2 : 5.0, last = pf_now();
    struct timespec tick = {0, 100 * 1000 * 1000};

    while (!pf_stop && atomic_load(&r->done) < r->nfiles) {
        nanosleep(&tick, NULL);
        if (!r->quiet && pf_now() - last >= period) {
            pf_progress(r, t0, tty, 0);
            last = pf_now();
        }
    }
    if (!r->quiet)
        pf_progress(r, t0, tty, 1);
}

static int pf_summary(struct pf_run *r, double t0)
{
    size_t done = atomic_load(&r->done), failed = atomic_load(&r->failed);
    double el = pf_now() - t0;
    char b1[32], b2[32];

    fprintf(stderr, "prefetch: %s%zu of %zu files, %s in %.1f s (%s/s)",
            pf_stop ? "interrupted: " : "", done - failed, r->nfiles,
            pf_bytes(atomic_load(&r->bytes), b1, sizeof b1), el,
            pf_bytes(el > 0 ? (uint64_t)((double)atomic_load(&r->bytes) / el)
                            : 0, b2, sizeof b2));
    fprintf(stderr, failed ? ", %zu failed:\n" : "\n", failed);
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].err && r->files[i].err != EINTR)
            fprintf(stderr, "  %s: %s\n", r->files[i].path,
                    strerror(r->files[i].err));
    if (pf_stop)
        return 130;
    return failed ? 1 : 0;
}

static int pf_usage(void)
{
    fprintf(stderr, "usage: recfs prefetch [-j THREADS] [-q] PATH...\n"
            "Reads every media file under the PATHs (inside a recfs mount) "
            "so that the\ndisk cache holds them. -j: parallel readers "
            "(default 4, max %d); -q: no progress.\n", PF_MAX_JOBS);
    return 2;
}

static int pf_run_workers(struct pf_run *r, int jobs)
{
    pthread_t tid[PF_MAX_JOBS];
    int started = 0;
    double t0 = pf_now();

    for (; started < jobs; started++)
        if (pthread_create(&tid[started], NULL, pf_worker, r))
            break;
    if (!started) {
        fprintf(stderr, "recfs prefetch: cannot start threads\n");
        return 1;
    }
    pf_watch(r, t0);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    return pf_summary(r, t0);
}

int fs_prefetch_main(int argc, char **argv)
{
    struct pf_run r = {0};
    struct sigaction sa = {0};
    int jobs = 4, opt, rc = 0, bad = 0;
    char *end;

    optind = 1;
    while ((opt = getopt(argc, argv, "+j:qh")) != -1) {
        if (opt == 'q') {
            r.quiet = 1;
            continue;
        }
        if (opt != 'j')
            return pf_usage();
        jobs = (int)strtol(optarg, &end, 10);
        if (*end)
            return pf_usage();
    }
    if (optind >= argc || jobs < 1 || jobs > PF_MAX_JOBS)
        return pf_usage();
    sa.sa_handler = pf_on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (int i = optind; i < argc && !pf_stop; i++)
        bad += pf_collect(&r, argv[i]) != 0;
    if (pf_stop) {
        fprintf(stderr, "prefetch: interrupted while listing (%zu files "
                "found, none read)\n", r.nfiles);
        rc = 130;
    } else if (r.nfiles || !bad)
        rc = pf_run_workers(&r, jobs);
    if (bad && rc == 0)
        rc = 1; /* a PATH could not be walked (reported above) */
    for (size_t i = 0; i < r.nfiles; i++)
        free(r.files[i].path);
    free(r.files);
    return rc;
}
