/* emu.h - test support: run the Genesys Cloud emulator and talk to its
 * control endpoint. Linked into every C test (tests/support/).
 *
 * Uses libcurl and jansson directly (tests may). Every call has a timeout.
 */
#ifndef RECFS_TEST_EMU_H
#define RECFS_TEST_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct emu {
    pid_t pid;
    char data_dir[256];       /* temp dir, removed by emu_stop */
    char api_url[128];
    char login_url[128];
    char media_url[128];
    char control_url[128];
    char client_id[64];
    char client_secret[64];
};

/* Start scripts/emulator/gcemu.py (path from $GCEMU, python from $PYTHON)
 * on 127.0.0.1:0 with a fresh temp data dir and the given extra argv
 * (NULL-terminated, may be NULL; e.g. {"--seed","demo",NULL}). Waits for
 * its JSON line (timeout 60 s). Returns 0, or -1 (message on stderr).
 * Returns 77-worthy condition as -2 when python3 or the emulator is
 * missing. */
int emu_start(struct emu *e, const char *const *extra_args);
/* Kill the emulator (SIGTERM, then SIGKILL) and remove its data dir. */
void emu_stop(struct emu *e);

/* Control endpoint helpers (all return 0 on success, -1 on failure). */
int emu_reset(struct emu *e);                 /* counters + faults */
/* Add a fault: fault_json is a JSON object as documented in the emulator
 * README (e.g. {"match":"GET /api/v2/userrecordings","count":2,
 * "status":503}). */
int emu_fault(struct emu *e, const char *fault_json);
int emu_expire_tokens(struct emu *e);
/* Number of requests whose "METHOD /path-template" key matches the POSIX
 * extended regex `pattern` (e.g. "^GET /api/v2/userrecordings$",
 * "^GET /media/"). Returns the count, or -1. */
long emu_count(struct emu *e, const char *pattern);
/* Total number of requests received (API + login + media). */
long emu_total(struct emu *e);

/* Path of the emulator's source file for media (kind "recording",
 * "orphan" or "userrecording", id, format name e.g. "WAV"), and its
 * sha256 (hex). Returns 0 or -1. */
int emu_media_file(struct emu *e, const char *kind, const char *id,
                   const char *format, char *path, size_t pathlen,
                   char sha256_hex[65], uint64_t *size);

/* Perform an API request as an ordinary client would (gets a token with
 * the emulator's credentials). method "GET"/"PUT"/..., path like
 * "/api/v2/userrecordings?pageSize=5", body may be NULL. Returns the HTTP
 * status (or -1); *out (caller frees, may be NULL) is the body. */
long emu_api(struct emu *e, const char *method, const char *path,
             const char *body, char **out);

/* sha256 of a file as hex; 0 or -1. */
int test_sha256_file(const char *path, char hex[65]);

/* A disk cache in a new directory made from the mkdtemp template dir
 * (filled in), set as client c's document cache; or NULL (with a
 * message, c freed) when it cannot be had: the caller skips. */
struct cache;
struct api_client;
struct cache *emu_client_cache(struct api_client *c, char *dir);

#endif
