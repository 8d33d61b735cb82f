/* fuzz_util.h - helpers shared by the libFuzzer targets of tests/fuzz/.
 * Header-only (static functions) so each target is one translation unit
 * plus the sources it exercises (see scripts/fuzz.sh).
 *
 * Input convention of the targets that take a document kind: the first
 * byte selects it (byte % API_KIND_COUNT, so 'A' = RECORDING, 'B' =
 * ANNOTATION, ... 'M' = CONVERSATION: 'A' is 65 = 5 * 13), the rest is
 * the body. Seeds are therefore readable text.
 */
#ifndef RECFS_FUZZ_UTIL_H
#define RECFS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: report and crash so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                       \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* NUL-terminated copy of data (which may contain NULs). Caller frees;
 * NULL on ENOMEM. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        return NULL;
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* 1 if the fixed-size field s holds a NUL within n bytes. */
static inline int fuzz_terminated(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

#endif
